"""Decoders with special attention or FFN (issue 10) against transformers' own modules.

For each family, transformers' model for the type's default config (with fewer layers, the
same on both sides, keeping at least one layer of each kind) is built on the meta device and
its weights counted as `save_pretrained` writes them: parameters with tied weights once, plus
persistent buffers (DeepSeek-V3.2's and GLM-4.5's `e_score_correction_bias`, xIELU's `beta`
and `eps`). archlint's config-only count of the same config must equal it (MTP modules,
which transformers does not build, excluded). The KV cache per token is checked against a hand
calculation in vLLM's layout (bf16: 2 bytes per element).
"""

from __future__ import annotations

import pytest

from archlint.analysis.memory import kv_cache
from archlint.analysis.params import count_from_spec
from archlint.families import build_spec
from tests.helpers import transformers_weights

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")




# (config, KV bytes per token of the layers that grow without bound, hand calculation)
CASES = {
    # 2 layers × K+V × 2 KV heads × head_dim 128 × 2 B
    "glm": ({"model_type": "glm", "num_hidden_layers": 2}, 2 * 2 * 2 * 128 * 2),
    "glm4": ({"model_type": "glm4", "num_hidden_layers": 2}, 2 * 2 * 2 * 128 * 2),
    # head_dim = 4096 // 96 = 42: 3 layers × 2 × 8 × 42 × 2 B
    "glm4_moe": ({"model_type": "glm4_moe", "num_hidden_layers": 3}, 3 * 2 * 8 * 42 * 2),
    "seed_oss": ({"model_type": "seed_oss", "num_hidden_layers": 2}, 2 * 2 * 8 * 128 * 2),
    "ernie4_5": ({"model_type": "ernie4_5", "num_hidden_layers": 2}, 2 * 2 * 2 * 128 * 2),
    "ernie4_5_moe": (
        {"model_type": "ernie4_5_moe", "num_hidden_layers": 3, "moe_layer_end_index": 2},
        3 * 2 * 4 * 128 * 2,
    ),
    "smollm3": ({"model_type": "smollm3", "num_hidden_layers": 4}, 4 * 2 * 4 * 128 * 2),
    "apertus": ({"model_type": "apertus", "num_hidden_layers": 2}, 2 * 2 * 32 * 128 * 2),
    # layer 3 of 4 is global: 1 × 2 × 32 × 128 × 2 B (the 3 sliding layers are capped)
    "exaone4": ({"model_type": "exaone4", "num_hidden_layers": 4}, 1 * 2 * 32 * 128 * 2),
    "olmo3": ({"model_type": "olmo3", "num_hidden_layers": 4}, 1 * 2 * 32 * 128 * 2),
    # one gated-attention layer of 4: 2 × 4 KV heads × 256 × 2 B
    "qwen3_5_text": ({"model_type": "qwen3_5_text", "num_hidden_layers": 4}, 2 * 4 * 256 * 2),
    "qwen3_5_moe_text": (
        {"model_type": "qwen3_5_moe_text", "num_hidden_layers": 4},
        2 * 2 * 256 * 2,
    ),
    # MLA latent (kv_lora_rank 512 + rope 64) in bf16 + the indexer's fp8 key (128 B) and its
    # fp32 scale (4 B per 128 values), vLLM's DeepseekV32IndexerCache: 4 × (576 × 2 + 132)
    "deepseek_v32": (
        {"model_type": "deepseek_v32", "num_hidden_layers": 4},
        4 * (576 * 2 + 128 + 4),
    ),
    # transformers' Hunyuan needs head_dim declared (its default None does not build);
    # 2 layers × 2 × 8 KV heads × 128 × 2 B
    "hunyuan_v1_dense": (
        {"model_type": "hunyuan_v1_dense", "num_hidden_layers": 2, "head_dim": 128,
         "num_key_value_heads": 8},
        2 * 2 * 8 * 128 * 2,
    ),
    "hunyuan_v1_moe": (
        {
            "model_type": "hunyuan_v1_moe", "num_hidden_layers": 3, "head_dim": 128,
            "num_experts": 8, "moe_topk": [2, 2, 2], "num_key_value_heads": 8,
        },
        3 * 2 * 8 * 128 * 2,
    ),
    # transformers' default: MLA at index 4 of 5, KDA elsewhere; MLA latent 512 + 64 in bf16
    "kimi_linear": ({"model_type": "kimi_linear", "num_hidden_layers": 5}, 1 * 576 * 2),
    # 10 layers, the last 5 reading earlier caches: of the 5 that cache, layer 4 is global:
    # 1 × 2 × 2 KV heads × 256 × 2 B (the sliding ones are capped at 512 tokens)
    "gemma3n_text": (
        {"model_type": "gemma3n_text", "num_hidden_layers": 10, "num_kv_shared_layers": 5},
        1 * 2 * 2 * 256 * 2,
    ),
    # kv_proj output: 2 × 16 KV heads × kv_channels 128, 12 layers × 2 B
    "jetmoe": ({"model_type": "jetmoe"}, 12 * 2 * 16 * 128 * 2),
    # 2 layers × 2 × 20 KV heads × 128 × 2 B
    "helium": ({"model_type": "helium", "num_hidden_layers": 2}, 2 * 2 * 20 * 128 * 2),
    # heads × head_dim (40 × 128) is not the hidden size (2560): o_proj still reads 2560
    "helium_wide_heads": (
        {"model_type": "helium", "num_hidden_layers": 2, "num_attention_heads": 40},
        2 * 2 * 20 * 128 * 2,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_params_match_transformers(name: str) -> None:
    config, _ = CASES[name]
    spec = build_spec(dict(config))
    assert spec.family != "generic"
    assert count_from_spec(spec).main_model == transformers_weights(dict(config))


@pytest.mark.parametrize("name", sorted(CASES))
def test_kv_per_token_by_hand(name: str) -> None:
    config, expected = CASES[name]
    kv = kv_cache(build_spec(dict(config)), dtype="bf16", dtype_bytes=2, context=1, batch=1)
    assert kv.bytes_per_token == expected


def test_qwen3_5_gated_deltanet_state() -> None:
    """3 Gated DeltaNet layers of 4, each: conv window (2·16·128 + 32·128) × (4 − 1) and
    recurrent state 32 value heads × 128 × 128, in bf16."""
    spec = build_spec({"model_type": "qwen3_5_text", "num_hidden_layers": 4})
    kv = kv_cache(spec, dtype="bf16", dtype_bytes=2, context=1, batch=1)
    per_layer = ((2 * 16 * 128 + 32 * 128) * 3 + 32 * 128 * 128) * 2
    assert kv.state_bytes == 3 * per_layer
    assert kv.layers_linear == 3


def test_smollm3_nope_layers() -> None:
    """SmolLM3's default no_rope_layers: every 4th layer (index 3, 7, ...) skips RoPE."""
    spec = build_spec({"model_type": "smollm3", "num_hidden_layers": 8})
    assert [layer.attention.positional for layer in spec.layers] == (
        ["rope"] * 3 + ["nope"] + ["rope"] * 3 + ["nope"]
    )


def test_deepseek_v32_indexer() -> None:
    spec = build_spec({"model_type": "deepseek_v32", "num_hidden_layers": 4})
    ix = spec.layers[0].attention.indexer
    assert ix is not None and (ix.num_heads, ix.head_dim, ix.topk) == (64, 128, 2048)
    assert spec.coverage.complete


def test_hunyuan_cross_layer_attention() -> None:
    """CLA with cla_share_factor 2: layers 1 and 3 read layers 0 and 2's K/V and project
    none of their own; only 2 of 4 layers cache, 2 × (2 × 8 × 128 × 2 B) per token, and each
    sharing layer has 2 × 4096 × 1024 fewer weights (no k_proj, v_proj) and no k norm (128)."""
    base = {
        "model_type": "hunyuan_v1_dense", "num_hidden_layers": 4, "head_dim": 128,
        "num_key_value_heads": 8, "use_cla": True,
    }
    spec = build_spec({**base, "cla_share_factor": 2})
    assert [layer.attention.kv_shared_from for layer in spec.layers] == [None, 0, None, 2]
    kv = kv_cache(spec, dtype="bf16", dtype_bytes=2, context=1, batch=1)
    assert kv.bytes_per_token == 2 * 2 * 8 * 128 * 2
    plain = count_from_spec(build_spec({**base, "use_cla": False})).total
    assert plain - count_from_spec(spec).total == 2 * (2 * 4096 * 8 * 128 + 128)


def test_hunyuan_moe_topk_list() -> None:
    spec = build_spec(
        {"model_type": "hunyuan_v1_moe", "num_hidden_layers": 2, "head_dim": 128,
         "num_experts": 16, "moe_topk": [4, 8]}
    )
    assert [layer.ffn.experts_per_token for layer in spec.layers] == [4, 8]


def test_kimi_delta_attention_state() -> None:
    """4 KDA layers of 5 (32 heads of 128, conv width 4): q, k and v conv windows
    3 × 4096 × (4 − 1) and one 128 × 128 state per head, in bf16; the checkpoint's
    1-indexed `linear_attn_config.full_attn_layers` places MLA instead."""
    spec = build_spec({"model_type": "kimi_linear", "num_hidden_layers": 5})
    assert [layer.attention.kind for layer in spec.layers] == ["linear"] * 4 + ["mla"]
    kv = kv_cache(spec, dtype="bf16", dtype_bytes=2, context=1, batch=1)
    assert kv.state_bytes == 4 * (3 * 4096 * 3 + 32 * 128 * 128) * 2
    real = build_spec(
        {
            "model_type": "kimi_linear", "num_hidden_layers": 8,
            "linear_attn_config": {
                "full_attn_layers": [4, 8], "kda_layers": [1, 2, 3, 5, 6, 7],
                "num_heads": 32, "head_dim": 128, "short_conv_kernel_size": 4,
            },
        }
    )
    assert [layer.attention.kind for layer in real.layers] == (["linear"] * 3 + ["mla"]) * 2


def test_gemma3n_kv_sharing() -> None:
    """Layers 5-9 read the last earlier layer of their own type: sliding → 3, global → 4."""
    spec = build_spec(
        {"model_type": "gemma3n_text", "num_hidden_layers": 10, "num_kv_shared_layers": 5}
    )
    assert [layer.attention.kv_shared_from for layer in spec.layers] == (
        [None] * 5 + [3, 3, 3, 3, 4]
    )
    kv = kv_cache(spec, dtype="bf16", dtype_bytes=2, context=1, batch=1)
    assert kv.layers_shared == 5
    assert kv.bytes_per_token_local == 4 * 2 * 2 * 256 * 2


def test_helium_o_proj_reads_the_hidden_size() -> None:
    """HeliumAttention's o_proj is Linear(hidden_size, hidden_size) whatever heads × head_dim
    is (modeling_helium.py). By hand, hidden 2560, 40 heads, 20 KV heads, head_dim 128:
    q 2560 × 5120 + k, v 2 × 2560 × 2560 + o 2560 × 2560, no biases."""
    from archlint.analysis.params import attention_params

    spec = build_spec({"model_type": "helium", "num_hidden_layers": 1, "num_attention_heads": 40})
    att = spec.layers[0].attention
    assert att.o_input_size == 2560
    assert attention_params(att, spec.hidden_size) == (
        2560 * 5120 + 2 * 2560 * 2560 + 2560 * 2560
    )


def test_reference_sliding_window_layers_hold_the_prompt() -> None:
    """Unlimited-OCR's reference sliding-window attention (layer type
    `reference_sliding_attention`) keeps every prefill token and windows only the decoded
    ones (transformers' UnlimitedOcrDynamicReferenceSlidingWindowLayer): a context that is
    all prompt is cached whole, 2 × 10 KV heads × 128 × 2 B per token and layer (hidden 1280
    over 10 heads), never capped at the 128-token window; and the name is a known one."""
    text = {
        "model_type": "unlimited_ocr_text", "num_hidden_layers": 2, "hidden_size": 1280,
        "num_attention_heads": 10, "num_key_value_heads": 10, "sliding_window": 128,
        "layer_types": ["reference_sliding_attention"] * 2,
    }
    spec = build_spec({"model_type": "unlimited_ocr", "text_config": text})
    kv = kv_cache(spec, dtype="bf16", dtype_bytes=2, context=4096, batch=1)
    assert kv.bytes_per_token == 2 * (2 * 10 * 128 * 2)
    assert kv.layers_windowed == 0
    assert not any("reference_sliding_attention" in i.part for i in spec.coverage.items)
