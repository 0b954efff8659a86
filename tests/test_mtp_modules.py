"""Multi-token-prediction modules (archlint/families/mtp.py) against figures from outside
archlint: transformers 5.23's own MTP modules (`modeling_layers.MtpLayer`, `MtpModel`) built
on the meta device, published parameter counts, and the tensor names of real checkpoints.

The configs are transformers' configuration defaults of each family (what its configuration
class builds when a key is omitted: GLM-5's geometry for `glm_moe_dsa`) with the MTP count
the released checkpoints declare; a Step config is given in the hub configs' form (layer_types
padded with the MTP layers' entries, `moe_layers_enum`), as Step3p7TextConfig reads it."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from archlint.analysis.params import count_from_spec
from archlint.families import build_spec, tf_tables
from archlint.tensors import component_of
from tests.helpers import fixture


def defaults(model_type: str, **update: Any) -> dict[str, Any]:
    config = dict(tf_tables.defaults_for(model_type) or {})
    config.update(model_type=model_type, **update)
    return config


def torch_modules() -> Any:
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return torch


def owned_count(modules: list[Any], shared: set[int] = frozenset()) -> int:  # type: ignore[assignment]
    """Parameters and persistent buffers (a router's e_score_correction_bias is saved with
    the weights; rotary inv_freq is not), those of `shared` modules left out."""
    params = sum(p.numel() for m in modules for p in m.parameters() if id(p) not in shared)
    buffers = sum(
        b.numel() for m in modules for name, b in m.named_buffers() if "inv_freq" not in name
    )
    return params + buffers


def mtp_layers(model_type: str, module: str, config: Any, indices: list[int]) -> list[Any]:
    """transformers' MtpLayer around the family's decoder layer at each of `indices`."""
    torch = torch_modules()
    from transformers.modeling_layers import MtpLayer

    modeling = importlib.import_module(f"transformers.models.{module}.modeling_{module}")
    layer_cls = next(getattr(modeling, n) for n in dir(modeling) if n.endswith("DecoderLayer"))
    norm_cls = next(getattr(modeling, n) for n in dir(modeling) if n.endswith("RMSNorm"))
    with torch.device("meta"):
        return [MtpLayer(config, layer_cls, norm_cls, i) for i in indices]


# -- GLM-5 (glm_moe_dsa): the module without embedding and head copies -----------------------

#: GLM-5's README: "GLM-5 scales from 355B parameters (32B active) to 744B parameters (40B
#: active)" (the model without its MTP layer, as the technical report's table counts it,
#: "# MTP Layers 1" listed apart); rounding ±0.5B
GLM5_MAIN = 744e9
#: GLM-5.1 (same architecture and shapes), a third-party architecture page reading the
#: checkpoint: "754B total / ~40B active"; rounding ±0.5B. Counting the embedding and head
#: copies DeepSeek-V3's layer 61 holds would give 755.8B.
GLM5_STORED = 754e9
#: with the two keys GLM-5's config.json adds to the class defaults that shape parameters:
#: one MTP layer, and the router's correction bias (`topk_method` noaux_tc)
GLM5 = defaults("glm_moe_dsa", num_nextn_predict_layers=1, topk_method="noaux_tc")


def test_glm5_counts_its_mtp_layer_as_its_checkpoint_stores_it() -> None:
    """GLM-5.2's layer 78 is 791 tensors (a public MTP build plan reading the checkpoint):
    input/post-attention norms, MLA with its DSA indexer (q_a/q_b, kv_a, kv_b, o_proj, two
    latent norms; wq_b, wk, k_norm weight and bias, weights_proj), the router and its
    correction bias, 256 × 3 experts, 3 shared-expert projections, then enorm, hnorm,
    eh_proj and shared_head.norm: no embed_tokens, no shared_head.head."""
    spec = build_spec(GLM5)
    params = count_from_spec(spec)
    assert len(spec.mtp_layers) == 1
    assert "num_nextn_predict_layers" not in spec.coverage.unknown_keys
    assert abs(params.main_model - GLM5_MAIN) <= 0.5e9
    assert abs(params.total - GLM5_STORED) <= 0.5e9


def test_glm5_mtp_module_is_transformers_mtp_layer() -> None:
    """The block a routed stack layer builds (GLM-5's layer 78 is routed with its own
    indexer), inside transformers' MtpLayer: enorm, hnorm, eh_proj, post norm."""
    from tests.conformance import tf_side

    config = tf_side.build_config("glm_moe_dsa", GLM5)
    (layer,) = mtp_layers("glm_moe_dsa", "glm_moe_dsa", config, [config.num_hidden_layers - 1])
    assert count_from_spec(build_spec(GLM5)).by_component["mtp"] == owned_count([layer])


# -- families transformers builds an MtpModel for -----------------------------------------

def test_glm4_moe_mtp_module_is_transformers_mtp_model() -> None:
    """GLM-4.5/4.6/4.7 (`glm4_moe`): transformers' MtpModel, the blocks only."""
    config = defaults("glm4_moe", num_hidden_layers=4, first_k_dense_replace=1)
    assert mtp_count(config, "Glm4MoeForCausalLM") == mtp_param_count(config)


def test_deepseek_r1_mtp_module_is_transformers_mtp_model_with_copies() -> None:
    """DeepSeek-R1's config: transformers' MtpModel plus the embed_tokens and
    shared_head.head layer 61 also holds (R1's tensor table, tests/test_weight_storage.py)."""
    config = {k: v for k, v in fixture("deepseek-ai/DeepSeek-R1").config.items()
              if k not in ("quantization_config", "auto_map")}
    config.update(num_hidden_layers=4)
    spec = build_spec(config)
    copies = 2 * spec.vocab_size * spec.hidden_size
    assert mtp_count(config, "DeepseekV3ForCausalLM") + copies == mtp_param_count(config)


def mtp_param_count(config: dict[str, Any]) -> int:
    return count_from_spec(build_spec(config)).by_component["mtp"]


def mtp_count(config: dict[str, Any], class_name: str) -> int:
    """transformers' MtpModel for the main model `class_name` builds from `config` (four
    stack layers keep it small; the MTP block is built the same): its own parameters and
    buffers, the embedding and head it shares with the main model left out."""
    torch = torch_modules()
    import transformers
    from transformers.modeling_layers import MtpModel

    from tests.conformance import tf_side

    tf_config = tf_side.build_config(config["model_type"], config)
    with torch.device("meta"):
        main = getattr(transformers, class_name)(tf_config)
        module = MtpModel(main, tf_config.num_mtp_layers)
    return owned_count([module], {id(p) for p in main.parameters()})


# -- Step-3.5 (step3p5): depths past the stack, dense, each with its own head -----------------

#: Step-3.5-Flash declares num_nextn_predict_layers 3 (transformers' modeling_step3p7:
#: "stepfun-ai/Step-3.7-Flash sets `num_nextn_predict_layers=3`")
STEP_MTP = 3


def step_hub_config() -> dict[str, Any]:
    """Step3p7TextConfig's defaults in the hub configs' form: a full layer then three sliding
    ones (window 512) over the 45 + 3 layers, the routed layers enumerated (3 … 44)."""
    config = defaults("step3p5", num_nextn_predict_layers=STEP_MTP, sliding_window=512)
    layers = config["num_hidden_layers"]
    for key in ("mlp_layer_types", "mtp_layer_types", "mtp_mlp_layer_types"):
        config.pop(key)
    config["layer_types"] = [
        "full_attention" if i % 4 == 0 else "sliding_attention" for i in range(layers + STEP_MTP)
    ]
    config["moe_layers_enum"] = ",".join(str(i) for i in range(3, layers))
    return config


def test_step_padded_layer_types_keep_the_stack_and_give_the_mtp_depths() -> None:
    """A hub config's layer_types names 48 layers for 45: validated, its first 45 entries
    the stack's (Step3p7TextConfig splits the rest off as mtp_layer_types)."""
    config = step_hub_config()
    spec = build_spec(config)
    want = config["layer_types"]
    assert [layer.attention.window is None for layer in spec.layers] == [
        kind == "full_attention" for kind in want[:45]
    ]
    assert [layer.attention.window for layer in spec.mtp_layers] == [512, 512, 512]
    assert [layer.ffn.kind for layer in spec.mtp_layers] == ["dense"] * STEP_MTP
    assert not {"num_nextn_predict_layers", "mtp_layer_types"} & set(spec.coverage.unknown_keys)


def test_step_mtp_depths_are_transformers_mtp_layers_plus_their_heads() -> None:
    """transformers' get_mtp_config for this config (sliding, dense blocks) in MtpLayer, and
    per depth the head the checkpoint stores (`transformer.shared_head.output`, vocab × h:
    vLLM's step3p5_mtp SharedHead.head, NeMo's "MTP-local shared head")."""
    from tests.conformance import tf_side

    config = step_hub_config()
    mtp_config = tf_side.build_config("step3p5", config).get_mtp_config()
    assert mtp_config.mlp_layer_types == ["dense"] * STEP_MTP
    layers = mtp_layers("step3p5", "step3p7", mtp_config, list(range(STEP_MTP)))
    spec = build_spec(config)
    heads = STEP_MTP * spec.vocab_size * spec.hidden_size
    assert count_from_spec(spec).by_component["mtp"] == owned_count(layers) + heads


# -- tensor names of MTP modules outside `model.layers` ---------------------------------------

@pytest.mark.parametrize(
    "name",
    [
        # ERNIE-4.5-MoE checkpoints (the prefixes mlx-lm's ernie4_5_moe sanitize drops and
        # llama.cpp's converter skips)
        "model.mtp_block.0.self_attn.q_proj.weight",
        "model.mtp_block.0.mlp.experts.7.up_proj.weight",
        "model.mtp_emb_norm.0.weight",
        "model.mtp_hidden_norm.0.weight",
        "model.mtp_linear_proj.0.weight",
        # Hunyuan-V4 (transformers' modeling_hy_v4 ignores `model.mtp_layers.`)
        "model.mtp_layers.0.eh_proj.weight",
        # MiMo-V2-Flash's model_mtp.safetensors (three dense depths)
        "model.mtp.layers.2.eh_proj.weight",
        "model.mtp.layers.0.self_attn.qkv_proj.weight_scale_inv",
    ],
)
def test_mtp_tensors_are_the_mtp_component(name: str) -> None:
    """Outside the active parameters, whatever block they mirror (an MTP block's experts are
    not the stack's routed experts)."""
    assert component_of(name) == "mtp"


# -- the MTP modules' own KV cache: optional, beside the main figures -------------------------

def test_mtp_kv_is_stated_apart_from_the_main_cache() -> None:
    """DeepSeek-R1's MTP layer is an MLA layer: one latent of kv_lora_rank 512 +
    qk_rope_head_dim 64 per token, 2 B each in the bf16 cache = 1,152 B, outside the 61
    layers' 61 × 1,152 (what vLLM's MTP proposer caches beside the main model)."""
    from archlint.analysis.profile import Options
    from archlint.api import analyze_checkpoint
    from tests.test_zoo_configs import config_only

    kv = analyze_checkpoint(config_only(fixture("deepseek-ai/DeepSeek-R1")), Options(batch=1))
    assert kv.profile.kv.mtp_bytes_per_token == (512 + 64) * 2
    assert kv.profile.kv.bytes_per_token == 61 * (512 + 64) * 2


def test_step_mtp_kv_counts_each_depth() -> None:
    """Three sliding depths, K and V × 8 KV heads × head_dim 128 × 2 B each (uncapped)."""
    from archlint.analysis.memory import kv_cache

    spec = build_spec(step_hub_config())
    kv = kv_cache(spec, dtype="bf16", dtype_bytes=2, context=4096, batch=1)
    assert kv.mtp_bytes_per_token == STEP_MTP * 2 * 8 * 128 * 2


# -- Inkling (inkling_text): no post norm per layer, a shared chain norm ----------------------

def inkling_config(**mtp: Any) -> dict[str, Any]:
    """InklingTextConfig's defaults with four stack layers (the MTP blocks are built the
    same) and two MTP layers, the second sliding."""
    config = {k: v for k, v in defaults("inkling_text").items()
              if k not in ("layer_types", "mlp_layer_types")}
    config.update(num_hidden_layers=4, **mtp)
    return config


@pytest.mark.parametrize("chain", [False, True])
def test_inkling_mtp_layers_are_transformers_mtp_model(chain: bool) -> None:
    """MtpModel over InklingForCausalLM: dense blocks, enorm/hnorm/eh_proj, no per-layer
    post norm (the config has chain_hidden_post_norm), one shared_post_norm when it is true.
    MtpModel deep-copies the normed embedding to drop its norm at run time: a runtime copy,
    not a stored tensor, left out."""
    config = inkling_config(num_mtp_layers=2, mtp_local_layer_ids=[1],
                            chain_hidden_post_norm=chain)
    torch = torch_modules()
    import transformers
    from transformers.modeling_layers import MtpModel

    from tests.conformance import tf_side

    tf_config = tf_side.build_config("inkling_text", config)
    with torch.device("meta"):
        main = transformers.InklingForCausalLM(tf_config)
        module = MtpModel(main, 2)
    shared = {id(p) for p in main.parameters()} | {
        id(p) for p in module.embed_tokens.parameters()}
    spec = build_spec(config)
    assert [layer.attention.window for layer in spec.mtp_layers] == [None, 512]
    assert count_from_spec(spec).by_component["mtp"] == owned_count([module], shared)


def test_inkling_reads_the_checkpoints_top_level_mtp_config() -> None:
    """A checkpoint's config carries the MTP fields in a top-level `mtp_config` block, which
    InklingConfig copies into the text config (num_nextn_predict_layers → num_mtp_layers,
    local_layer_ids → mtp_local_layer_ids)."""
    text = inkling_config(num_mtp_layers=2, mtp_local_layer_ids=[1])
    block = {"num_nextn_predict_layers": 2, "local_layer_ids": [1],
             "chain_hidden_post_norm": False}
    wrapped = {"model_type": "inkling_mm_model", "mtp_config": block,
               "text_config": {k: v for k, v in text.items()
                               if k not in ("num_mtp_layers", "mtp_local_layer_ids")}}
    assert count_from_spec(build_spec(wrapped)).by_component["mtp"] == (
        count_from_spec(build_spec(text)).by_component["mtp"]
    )


# -- GLM-5.3-Flash (glm5_next_text): an indexed MoE block without hyper-connections -----------

def test_glm5_next_mtp_layer_is_an_indexed_moe_block_without_streams() -> None:
    """A public engine loading GLM-5.3-Flash's MTP layer from the checkpoint reads
    model.language_model.layers.45.{enorm, hnorm, eh_proj, input_layernorm,
    post_attention_layernorm, shared_head.norm}, layer 45's sparse (indexed) attention and
    its routed + shared experts, and no hyper-connection tensors: by hand, a stack MLA MoE
    layer (index 43, i % 4 == 3) less its two hyper-connections, plus 3h + 2h²."""
    from archlint.analysis.params import layer_params
    from archlint.families.deepseek_v4 import hyper_connection_params

    spec = build_spec(defaults("glm5_next_text", num_nextn_predict_layers=1))
    (module,) = spec.mtp_layers
    assert module.attention.kind == "mla" and module.attention.indexer is not None
    assert module.ffn.kind == "moe"
    assert "num_nextn_predict_layers" not in spec.coverage.unknown_keys
    h = spec.hidden_size
    stack = sum(layer_params(spec.layers[43], spec).values())
    streams = 2 * hyper_connection_params(4, h)  # Glm5NextTextConfig: hc_mult 4
    assert count_from_spec(spec).by_component["mtp"] == stack - streams + 3 * h + 2 * h * h


# -- Nemotron-H / Nemotron-3 (nemotron_h): a depth of single-mixer sublayers -------------------

def test_nemotron_h_mtp_depth_is_its_sublayers_in_mtp_form() -> None:
    """NemotronHConfig's `mtp_layers_block_type` (default attention, moe): each depth is
    those sublayers, each a stack block of its kind behind its own norm, with enorm, hnorm,
    eh_proj on the first and final_layernorm on the last (NeMo's NemotronV3 MTP, named as
    the released Super V3 checkpoint's mtp.layers.*): by hand, the stack's attention block
    plus its MoE block plus 3h + 2h². Nemotron-3 Nano's real config with one depth (its
    own checkpoint has none)."""
    from archlint.analysis.params import layer_params
    from tests.test_zoo_configs import zoo

    config = dict(zoo("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16").config)
    config["num_nextn_predict_layers"] = 1
    spec = build_spec(config)
    attention = next(layer for layer in spec.layers if layer.attention.kind == "gqa")
    moe = next(layer for layer in spec.layers if layer.ffn.kind == "moe")
    h = spec.hidden_size
    by_hand = sum(layer_params(attention, spec).values()) + sum(
        layer_params(moe, spec).values()) + 3 * h + 2 * h * h
    assert count_from_spec(spec).by_component["mtp"] == by_hand
    assert not {"num_nextn_predict_layers", "mtp_layers_block_type"} & set(
        spec.coverage.unknown_keys)


# -- ERNIE-4.5 (ernie4_5_moe): the block of stack layer i, two norms and a linear -------------

@pytest.mark.parametrize("use_bias", [False, True])
def test_ernie_mtp_block_is_the_decoder_layer_of_index_i(use_bias: bool) -> None:
    """PaddleFormers' Ernie4_5_Model builds mtp_block[i] = ErnieDecoderLayer(config, i),
    mtp_emb_norm[i], mtp_hidden_norm[i] and mtp_linear_proj[i] = Linear(2h, h,
    bias=use_bias): transformers' Ernie4_5_MoeDecoderLayer(config, 0) (dense: layer 0 is
    below moe_layer_start_index) plus 2h + 2h² (+ h)."""
    torch = torch_modules()
    from tests.conformance import tf_side

    config = defaults("ernie4_5_moe", num_nextn_predict_layers=1, use_bias=use_bias)
    modeling = importlib.import_module(
        "transformers.models.ernie4_5_moe.modeling_ernie4_5_moe")
    with torch.device("meta"):
        block = modeling.Ernie4_5_MoeDecoderLayer(tf_side.build_config("ernie4_5_moe", config), 0)
    spec = build_spec(config)
    h = spec.hidden_size
    glue = 2 * h + 2 * h * h + (h if use_bias else 0)
    assert spec.mtp_layers[0].ffn.kind == "dense"
    assert count_from_spec(spec).by_component["mtp"] == owned_count([block]) + glue
    assert "num_nextn_predict_layers" not in spec.coverage.unknown_keys


# -- MiMo-V2-Flash (mimo_v2_flash): three dense sliding layers in model_mtp.safetensors --------

#: one MTP layer of MiMo-V2-Flash's model_mtp.safetensors, shape by shape, as a public probe
#: pinned to that file's sha256 lists its 16 tensors (48 for the three layers): eh_proj
#: [4096, 8192]; enorm, hnorm, final_layernorm, input_layernorm, pre_mlp_layernorm [4096];
#: self_attn.qkv_proj [14848, 4096], o_proj [4096, 8192], attention_sink_bias [64];
#: mlp.gate_proj, up_proj [16384, 4096], down_proj [4096, 16384] (scales not parameters)
MIMO_MTP_LAYER = (4096 * 8192 + 5 * 4096 + 14848 * 4096 + 4096 * 8192 + 64
                  + 3 * 16384 * 4096)


def test_mimo_v2_flash_mtp_layers_match_the_checkpoints_tensors() -> None:
    """MiMo-V2-Flash's config counts no MTP layer (vLLM fixes the number for it), so the
    modules are read where a config declares three."""
    spec = build_spec(defaults("mimo_v2_flash", num_nextn_predict_layers=3))
    assert count_from_spec(spec).by_component["mtp"] == 3 * MIMO_MTP_LAYER
    assert count_from_spec(build_spec(defaults("mimo_v2_flash"))).by_component["mtp"] == 0
