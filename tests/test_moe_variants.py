"""MoE decoders whose modeling adds modules no key states (archlint/families/moe_variants.py).
Expected counts are written by hand from transformers 5.23's modeling files, quoted per case."""

from __future__ import annotations

from typing import Any

from archlint.analysis.params import attention_params
from archlint.families import build_spec

H, HEADS, KV, D = 256, 4, 2, 64
BASE: dict[str, Any] = {
    "hidden_size": H,
    "num_attention_heads": HEADS,
    "num_key_value_heads": KV,
    "head_dim": D,
    "intermediate_size": 512,
    "moe_intermediate_size": 64,
    "vocab_size": 1000,
    "num_experts": 8,
    "n_routed_experts": 8,
    "num_experts_per_tok": 2,
    "attention_bias": False,
}
QKVO = H * HEADS * D + 2 * H * KV * D + HEADS * D * H
QK_NORM = 2 * D


def _attention(config: dict[str, Any], layer: int = 0) -> int:
    """The token mixer's parameters, with what the block adds beside the formulas."""
    spec = build_spec({**BASE, **config})
    block = spec.layers[layer]
    return attention_params(block.attention, H) + block.extra_params


def test_afmoe_gate_proj() -> None:
    # AfmoeAttention: q/k/v/o, q_norm/k_norm (head_dim), gate_proj h → heads × head_dim
    got = _attention({"model_type": "afmoe", "num_hidden_layers": 1, "num_dense_layers": 0})
    assert got == QKVO + QK_NORM + H * HEADS * D


def test_beam_gate_and_bias() -> None:
    # BeamAttention: ... gate_proj h → heads × head_dim, gate_bias (heads)
    got = _attention({"model_type": "beam", "num_hidden_layers": 1,
                      "layer_types": ["full_attention"], "mlp_layer_types": ["sparse"]})
    assert got == QKVO + QK_NORM + H * HEADS * D + HEADS


def test_laguna_per_layer_heads_and_per_head_gate() -> None:
    # LagunaAttention(num_heads=num_attention_heads_per_layer[i]); g_proj h → heads (gating)
    config = {"model_type": "laguna", "num_hidden_layers": 2, "gating": True,
              "num_attention_heads_per_layer": [HEADS, 2 * HEADS],
              "layer_types": ["full_attention"] * 2, "mlp_layer_types": ["dense", "sparse"]}
    wide = H * 2 * HEADS * D + 2 * H * KV * D + 2 * HEADS * D * H
    assert _attention(config, 0) == QKVO + QK_NORM + H * HEADS
    assert _attention(config, 1) == wide + QK_NORM + H * 2 * HEADS


def test_mimo_sliding_layers_double_kv_heads() -> None:
    # MiMoV2FlashAttention: sliding layers 2 × num_key_value_heads and a sink per head
    spec = build_spec({**BASE, "model_type": "mimo_v2_flash", "num_hidden_layers": 2,
                       "v_head_dim": D, "sliding_window": 128,
                       "layer_types": ["full_attention", "sliding_attention"],
                       "mlp_layer_types": ["dense", "sparse"]})
    full, sliding = spec.layers[0].attention, spec.layers[1].attention
    assert (full.num_kv_heads, full.sinks) == (KV, False)
    assert (sliding.num_kv_heads, sliding.sinks) == (2 * KV, True)


def test_hyper_connection_counts() -> None:
    # HYV4HyperConnection: fn (2N × N·h), base (2N), scale (2); DeepseekV4HyperConnection adds
    # the N × N comb rows: fn ((2 + N)·N × N·h), base ((2 + N)·N), scale (3);
    # HyperHead: hc_fn (N × N·h), hc_base (N), hc_scale (1). N = 4, h = 2816:
    from archlint.families.moe_variants import hyper_connection_params, hyper_head_params

    assert hyper_connection_params(4, 2816, comb=False) == 8 * 4 * 2816 + 8 + 2
    assert hyper_connection_params(4, 2816, comb=True) == 24 * 4 * 2816 + 24 + 3
    assert hyper_head_params(4, 2816) == 4 * 4 * 2816 + 4 + 1


def test_axk2_fused_q_gate_and_gated_norms() -> None:
    # AXK2Attention.q_gate_proj: 2·q_lora_rank → heads × (qk_head_dim + v_head_dim), in place
    # of q_b_proj (q_lora_rank → heads × qk_head_dim); AXK2GatedRMSNorm's fc1/fc2 (h ↔ rank):
    # one in a dense block, two in an MoE block
    config = {**BASE, "model_type": "axk2", "num_hidden_layers": 2, "q_lora_rank": 32,
              "kv_lora_rank": 16, "qk_rope_head_dim": 8, "qk_nope_head_dim": 16,
              "v_head_dim": 16, "gated_norm_rank": 4, "mlp_layer_types": ["dense", "sparse"]}
    spec = build_spec(config)
    q_swap = 2 * 32 * HEADS * (24 + 16) - 32 * HEADS * 24
    assert spec.layers[0].extra_params == q_swap + 2 * H * 4
    assert spec.layers[1].extra_params == q_swap + 2 * 2 * H * 4
