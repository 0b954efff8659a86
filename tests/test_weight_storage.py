"""What real checkpoints store, per component, when only the config is read: each component's
bytes from the format its config declares (archlint/analysis/storage.py), against hand
calculations from the config and against the real checkpoints' bytes (tensor tables of the
fixtures, and DeepSeek-V4-Flash's published shard sizes)."""

from __future__ import annotations

import pytest

from archlint.analysis.profile import Options
from archlint.analysis.storage import storage_by_component
from archlint.api import Analysis, analyze_checkpoint
from archlint.checkpoint import Checkpoint
from archlint.families import build_spec
from tests.helpers import TINY_LLAMA, fixture
from tests.test_zoo_configs import config_only, zoo

V4 = "deepseek-ai/DeepSeek-V4-Flash"
#: DeepSeek-V4-Flash's 46 shards at revision 60d8d70770c6776ff598c94bb586a859a38244f1, file
#: sizes as a public loader pins them with their sha256 (FLASH_SHARDS, found with the search
#: tool; the same 159.6 GB another audit reports from the Hub API): tensors plus each shard's
#: 8-byte length and JSON header (~110 B per tensor entry, ~7.7 MB for 69,300 tensors)
V4_FLASH_SHARD_BYTES = 159_617_149_040

FP8_BLOCK = 1 + 1 / (128 * 128)  # e4m3 + one ue8m0 byte per 128×128 block
MXFP4 = 0.5 + 1 / 32  # e2m1 two per byte + one e8m0 byte per 32


def config_analysis(ckpt: Checkpoint) -> Analysis:
    return analyze_checkpoint(config_only(ckpt), Options(batch=1))


def v4_flash_attention_params(config: dict, h: int, layers: int) -> int:
    """Every layer's attention parameters (projections, compressors, indexers, sinks, and
    the norms inside attention) from transformers' DeepseekV4 model built on the meta device:
    its attention and norm counts less the block and final norms (2 per layer + 1, h each),
    which the hand count below states on their own."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from archlint.families import tf_tables
    from tests.conformance import tf_side

    cls = tf_side.model_class_for(tf_tables.model_classes("deepseek_v4"), "decoder", config)
    model = tf_side.build_model(cls, tf_side.build_config("deepseek_v4", config))
    counts = tf_side.component_counts(model, multimodal=False)[1]
    return counts["attention"] + counts["norms"] - (layers * 2 * h + h)


def v4_flash_by_hand(attention: int) -> dict[str, float]:
    """DeepSeek-V4-Flash's config, component by component: experts `expert_dtype: fp4`,
    linear weights fp8 with ue8m0 scales (`scale_fmt`), the rest `torch_dtype` bf16;
    `attention` the parameters of every layer's attention (v4_flash_attention_params)."""
    h, vocab, layers, experts, width, streams = 4096, 129280, 43, 256, 2048, 4
    hyper = 2 * ((2 + streams) * streams * streams * h + (2 + streams) * streams + 3)
    head_mix = streams * streams * h + streams + 1
    # the MTP block: a sliding layer's attention, its MoE, its norms and hyper-connections,
    # e_proj + h_proj (2h²), enorm/hnorm/norm (3h) and its own HyperHead
    mtp_attention = (1024 * h + 1024 + 32768 * 1024 + 512 * h + 512 + 8192 * h + h * 8192
                     + 64)
    mtp = (mtp_attention * FP8_BLOCK + experts * 3 * width * h * MXFP4
           + 3 * width * h * FP8_BLOCK + experts * h * 2 + (2 * h + 3 * h) * 2
           + (hyper + head_mix) * 2 + 2 * h * h * FP8_BLOCK)
    return {
        "embedding": vocab * h * 2,
        "head": vocab * h * 2,
        "norms": (layers * 2 * h + h) * 2,
        "router": layers * experts * h * 2,
        "other": (layers * hyper + head_mix) * 2,
        "attention": attention * FP8_BLOCK,
        "shared_experts": layers * 3 * width * h * FP8_BLOCK,
        "routed_experts": layers * experts * 3 * width * h * MXFP4,
        "mtp": mtp,
    }


def test_v4_flash_weights_by_component_by_hand() -> None:
    ckpt = zoo(V4)
    weights = config_analysis(ckpt).profile.weights
    assert weights.method == "estimate"
    hand = v4_flash_by_hand(v4_flash_attention_params(ckpt.config, h=4096, layers=43))
    for component, expected in hand.items():
        assert weights.by_component[component] == pytest.approx(expected, abs=1), component
    assert "routed experts: mxfp4" in weights.detail and "expert_dtype = fp4" in weights.detail


def test_v4_flash_weights_match_the_published_checkpoint() -> None:
    """Within 0.3% of the real shards: what the estimate cannot see from the config is the
    compressors' and the indexer's bf16 projections inside `attention` (309M parameters
    counted at fp8), the hyper-connections stored in fp32 (counted at bf16: 68 MB), the fp32
    sinks, APE and gate biases and the int64 hash tables (buffers, 19 MB) and the headers.
    Before the experts' own dtype was read, the estimate said 292 GB (fp8 experts)."""
    total = config_analysis(zoo(V4)).profile.weights.bytes
    assert total == pytest.approx(V4_FLASH_SHARD_BYTES, rel=0.003)
    assert total < V4_FLASH_SHARD_BYTES


def test_v4_flash_mtp_block_is_read() -> None:
    spec = config_analysis(zoo(V4)).spec
    assert len(spec.mtp_layers) == 1
    assert spec.mtp_layers[0].attention.compressor is None  # compress_ratios[43] = 0
    assert "num_nextn_predict_layers" not in spec.coverage.unknown_keys


def test_gpt_oss_config_estimate_matches_its_headers() -> None:
    """mxfp4 experts with their e8m0 scales, attention/router/embedding/head in bf16 as
    `modules_to_not_convert` says: within 0.1% of the real headers (the experts' bf16
    biases, 9.7 MB, are counted at the mxfp4 width). Counting the attention at 4 bits and no
    scales, as before, was 11% under."""
    ckpt = fixture("openai/gpt-oss-20b")
    stored = analyze_checkpoint(ckpt, Options(batch=1)).profile.weights
    estimate = config_analysis(ckpt).profile.weights
    assert stored.method == "tensors" and estimate.method == "estimate"
    assert estimate.bytes == pytest.approx(stored.bytes, rel=0.001)
    assert estimate.by_component["attention"] == stored.by_component["attention"]


def test_deepseek_fp8_block_scales_are_counted() -> None:
    """DeepSeek-R1's fp8 weights with one float32 scale_inv per 128×128 block, its MTP layer
    with the copies of the embedding and head it stores: the config estimate is within 0.02%
    of the real headers (688,574,839,360 B)."""
    ckpt = fixture("deepseek-ai/DeepSeek-R1")
    stored = analyze_checkpoint(ckpt, Options(batch=1)).profile.weights.bytes
    estimate = config_analysis(ckpt).profile.weights.bytes
    assert estimate == pytest.approx(stored, rel=0.0002)


def test_deepseek_mtp_layer_counts_what_its_checkpoint_stores() -> None:
    """DeepSeek-R1's tensor table: 684,489,845,504 parameters, the MTP layer 61 with its own
    embed_tokens and shared_head.head (2 × 129,280 × 7,168); the config count is the same."""
    profile = analyze_checkpoint(fixture("deepseek-ai/DeepSeek-R1"), Options(batch=1)).profile
    assert profile.params_from_config.total == profile.params.total == 684_489_845_504
    # the tensor table's own MTP layer (model.layers.61.*) is the outside figure
    assert profile.params_from_config.by_component["mtp"] == profile.params.by_component["mtp"]


def test_modules_to_not_convert_keep_their_components() -> None:
    config = dict(TINY_LLAMA, quantization_config={
        "quant_method": "fp8", "weight_block_size": [128, 128],
        "modules_to_not_convert": ["model.layers.*.self_attn", "lm_head"],
    })
    plan = storage_by_component(build_spec(config), "bf16")
    assert plan["attention"].bytes_per_param == 2
    assert plan["attention"].source == "quantization_config.modules_to_not_convert"
    assert plan["head"].bytes_per_param == 2
    assert plan["dense_ffn"].bytes_per_param == 1 + 4 / (128 * 128)  # fp32 scale_inv


def test_an_unquantized_config_is_stored_in_its_dtype() -> None:
    plan = storage_by_component(build_spec(dict(TINY_LLAMA)), "fp16")
    assert {entry.bytes_per_param for entry in plan.values()} == {2}
    assert not any(entry.quantized for entry in plan.values())


def test_ue8m0_scale_format_keeps_float32_scales_outside_deepseek_v4() -> None:
    """`scale_fmt: ue8m0` (DeepSeek-V3.1/V3.2's quantization_config; GLM-5's FP8 builds)
    makes the block scales powers of two, still stored as float32 `weight_scale_inv`:
    DeepSeek-V3.2-Exp-Base's and V3.2-Speciale's Hub pages list the tensor types BF16,
    F8_E4M3, F32 (no F8_E8M0), while DeepSeek-V4's own format holds one F8_E8M0 byte per
    block (`layers.0.attn.wq_a.scale` F8_E8M0 [8, 32] beside F8_E4M3 [1024, 4096])."""
    config = dict(fixture("deepseek-ai/DeepSeek-R1").config)
    config["quantization_config"] = dict(config["quantization_config"], scale_fmt="ue8m0")
    assert storage_by_component(build_spec(config), "bf16")["attention"].bytes_per_param == (
        1 + 4 / (128 * 128)
    )
    v4 = storage_by_component(config_analysis(zoo(V4)).spec, "bf16")["attention"]
    assert v4.bytes_per_param == FP8_BLOCK
