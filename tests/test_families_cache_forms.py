"""Cache forms beyond one K/V per token: DeepSeek-V4's compressed entries beside a window, a
layer holding a conv history beside its K/V (Inkling-2), and the config conventions those
families write (legacy DSA layer names, MLA's head_dim = qk_rope_head_dim). Expected values
are worked out by hand here from the modeling files they follow (transformers 5.23)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from archlint.analysis.compute import _causal_attended_sum
from archlint.analysis.profile import Options, profile
from archlint.errors import ConfigError
from archlint.families import build_spec
from archlint.spec import AttentionSpec, CompressorSpec

ZOO = Path(__file__).resolve().parent.parent / "fixtures" / "zoo"


def _zoo_config(name: str) -> dict:
    return json.loads(gzip.decompress((ZOO / name).read_bytes()))["config"]


def test_deepseek_v4_flash_layers_and_cache() -> None:
    spec = build_spec(_zoo_config("deepseek-ai__DeepSeek-V4-Flash.json.gz"))
    rates = [layer.attention.compressor.rate if layer.attention.compressor else 0
             for layer in spec.layers]
    # compress_ratios[:43]: two window-only layers, then 4 (CSA) and 128 (HCA) alternating
    assert rates == [0, 0] + [4, 128] * 20 + [4]
    csa = spec.layers[2].attention
    assert csa.window == 128 and csa.num_kv_heads == 1 and csa.kv_single
    assert csa.compressor is not None and csa.compressor.indexer_heads == 64
    kv = profile(spec, None, Options(batch=1)).kv
    per_layer = {(e.index, e.kind): e for e in kv.per_layer}
    # bf16: the window holds one K=V head of 512 for 128 tokens; CSA caches one entry of
    # 512 + the indexer's 128 per 4 tokens, HCA one of 512 per 128 tokens
    assert per_layer[(0, "sliding")].bytes_per_token == 512 * 2
    assert per_layer[(0, "sliding")].cap_tokens == 128
    assert per_layer[(2, "compressed")].bytes_per_token == (512 + 128) / 4 * 2
    assert per_layer[(3, "compressed")].bytes_per_token == 512 / 128 * 2
    assert (0, "compressed") not in per_layer
    assert kv.bytes_per_token == 21 * 320 + 20 * 8
    # 43 layers, each counted once: the 41 with compressed entries grow with the context
    # (beside their window), the 2 window-only ones do not
    assert (kv.layers_full, kv.layers_windowed) == (41, 2)


@pytest.mark.parametrize("rate, topk, window, length", [
    (4, 512, 128, 10_000), (128, None, 128, 1_000), (4, 3, 8, 50), (4, None, None, 7),
])
def test_attended_sum_counts_window_and_entries(rate, topk, window, length) -> None:
    att = AttentionSpec(kind="mqa", num_heads=1, num_kv_heads=1, head_dim=8, v_head_dim=8,
                        window=window, compressor=CompressorSpec(rate=rate, head_dim=8,
                                                                 topk=topk))
    # query t reads min(t, window) window tokens and floor(t / rate) entries (≤ top-k)
    direct = sum(
        min(t, window or t) + min(t // rate, topk if topk is not None else t)
        for t in range(1, length + 1)
    )
    assert _causal_attended_sum(att, length) == direct


def test_inkling2_conv_history_beside_window_and_full_kv() -> None:
    config = {
        "model_type": "inkling2_text", "hidden_size": 4608, "num_hidden_layers": 6,
        "num_attention_heads": 48, "num_key_value_heads": 8, "head_dim": 128,
        "swa_num_attention_heads": 48, "swa_num_key_value_heads": 8, "swa_head_dim": 128,
        "sliding_window_size": 1024, "conv_kernel_size": 4, "vocab_size": 201024,
        "n_routed_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 2304,
    }
    spec = build_spec(config)
    kinds = [layer.attention.window for layer in spec.layers]
    assert kinds == [1024] * 5 + [None]  # every sixth layer full (Inkling2TextConfig)
    kv = profile(spec, None, Options(batch=1, kv_dtype="bf16")).kv
    # per layer: four short convs (k and v: 8 × 128 each; attention and MLP outputs: 4608
    # each) keep kernel − 1 = 3 inputs: 3 × 11,264 elements, in bf16
    assert kv.state_bytes == 6 * 3 * (2 * 8 * 128 + 2 * 4608) * 2
    # one full layer grows by K and V of 8 × 128; five sliding ones until the window fills
    assert kv.bytes_per_token == 2 * 8 * 128 * 2
    assert kv.bytes_per_token_local == 5 * 2 * 8 * 128 * 2


def test_legacy_dsa_layer_name_keeps_the_indexer() -> None:
    config = {
        "model_type": "glm_moe_dsa", "hidden_size": 1024, "num_hidden_layers": 2,
        "num_attention_heads": 8, "vocab_size": 1000, "kv_lora_rank": 64,
        "q_lora_rank": 128, "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32,
        "index_n_heads": 4, "index_head_dim": 64, "index_topk": 32,
        "layer_types": ["deepseek_sparse_attention", "deepseek_sparse_attention"],
    }
    spec = build_spec(config)
    # transformers reads "deepseek_sparse_attention" as indexed_attention
    assert all(layer.attention.indexer is not None for layer in spec.layers)
    assert not spec.coverage.unknown_keys


def test_head_dim_zero_only_as_mla_rope_size() -> None:
    mla = {"model_type": "deepseek_v3", "hidden_size": 64, "num_hidden_layers": 1,
           "num_attention_heads": 4, "vocab_size": 10, "kv_lora_rank": 16,
           "qk_rope_head_dim": 0, "qk_nope_head_dim": 16, "v_head_dim": 16, "head_dim": 0}
    assert build_spec(mla).layers[0].attention.head_dim == 16  # nope + rope
    with pytest.raises(ConfigError, match="head_dim must be a positive integer"):
        build_spec({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 1,
                    "num_attention_heads": 4, "vocab_size": 10, "head_dim": 0})


def test_the_window_sentence_counts_compressed_and_other_growing_layers() -> None:
    """DeepSeek-V4-Flash: 43 windowed layers, 41 with compressed entries, nothing else grows.
    A stack that also had 4 full layers (layers_full counts 41 + 4 = 45) must name those 4."""
    from archlint.api import analyze_checkpoint
    from archlint.report.explain import _attention
    from tests.test_zoo_configs import config_only, zoo

    a = analyze_checkpoint(config_only(zoo("deepseek-ai/DeepSeek-V4-Flash")))
    line = next(x for x in _attention(a.spec, a.profile) if "capped at" in x)
    assert "41 of them also cache compressed entries" in line
    assert "layers grow with context" not in line
    kv = a.profile.kv.model_copy(update={"layers_full": 45})
    mixed = a.profile.model_copy(update={"kv": kv})
    line = next(x for x in _attention(a.spec, mixed) if "capped at" in x)
    assert line.endswith("41 of them also cache compressed entries, which grow with context; "
                         "4 layers grow with context.")
