"""The per-layer MoE pattern (archlint/families/moe_layers.py), read the same way for every
dialect. Expected patterns are written from each configuration class's `__post_init__` /
decoder layer in transformers 5.23 (quoted per case), not from archlint's output."""

from __future__ import annotations

from typing import Any

import pytest

from archlint.families import build_spec

BASE: dict[str, Any] = {
    "hidden_size": 256,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "intermediate_size": 512,
    "moe_intermediate_size": 64,
    "vocab_size": 1000,
    "num_experts_per_tok": 2,
}


def _pattern(**config: Any) -> list[bool]:
    spec = build_spec({**BASE, **config})
    return [layer.ffn.kind == "moe" for layer in spec.layers]


def test_declared_list_is_read_per_layer() -> None:
    # modeling_glm4_moe_lite: MoE where mlp_layer_types[i] == "sparse"
    got = _pattern(
        model_type="glm4_moe_lite",
        num_hidden_layers=4,
        n_routed_experts=8,
        kv_lora_rank=64,
        qk_rope_head_dim=16,
        qk_nope_head_dim=32,
        v_head_dim=32,
        mlp_layer_types=["dense", "sparse", "dense", "sparse"],
    )
    assert got == [False, True, False, True]


def test_default_list_of_another_length_keeps_its_dense_prefix() -> None:
    # Glm4MoeLiteConfig: mlp_layer_types = ["dense"] + ["sparse"] * (num_hidden_layers - 1)
    got = _pattern(
        model_type="glm4_moe_lite",
        num_hidden_layers=5,
        n_routed_experts=8,
        kv_lora_rank=64,
        qk_rope_head_dim=16,
        qk_nope_head_dim=32,
        v_head_dim=32,
    )
    assert got == [False, True, True, True, True]


def test_first_k_dense_and_moe_layer_freq() -> None:
    # AXK1Config: "sparse" if i >= first_k_dense_replace and i % moe_layer_freq == 0
    got = _pattern(
        model_type="axk1",
        num_hidden_layers=6,
        n_routed_experts=8,
        first_k_dense_replace=1,
        moe_layer_freq=2,
    )
    assert got == [False, False, True, False, True, False]


def test_declared_legacy_key_beats_the_default_list() -> None:
    # DeepseekV32Config derives the list from first_k_dense_replace when none is given; the
    # table's default list was built from the default first_k_dense_replace (3)
    got = _pattern(
        model_type="deepseek_v32",
        num_hidden_layers=4,
        n_routed_experts=8,
        first_k_dense_replace=2,
        kv_lora_rank=64,
        qk_rope_head_dim=16,
        qk_nope_head_dim=32,
        v_head_dim=32,
    )
    assert got == [False, False, True, True]


def test_decoder_sparse_step_and_mlp_only_layers() -> None:
    # modeling_qwen2_moe: MoE where i not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0
    got = _pattern(
        model_type="qwen2_moe",
        num_hidden_layers=6,
        num_experts=8,
        decoder_sparse_step=2,
        mlp_only_layers=[3],
    )
    assert got == [False, True, False, False, False, True]


def test_per_layer_flags() -> None:
    # MiniMaxM3VLTextConfig: ["sparse" if f else "dense" for f in moe_layer_freq]
    got = _pattern(
        model_type="qwen3_moe", num_hidden_layers=3, num_experts=8, moe_layer_freq=[0, 1, 1]
    )
    assert got == [False, True, True]


def test_unknown_entry_is_flagged() -> None:
    spec = build_spec(
        {
            **BASE,
            "model_type": "qwen3_moe",
            "num_hidden_layers": 2,
            "num_experts": 8,
            "mlp_layer_types": ["dense", "mystery"],
        }
    )
    assert any("mystery" in note for note in spec.notes)


@pytest.mark.parametrize("experts", [0, 1])
def test_no_experts_means_dense(experts: int) -> None:
    assert _pattern(model_type="qwen3_moe", num_hidden_layers=2, num_experts=experts) == [
        False,
        False,
    ]


def test_shared_expert_key_names() -> None:
    # AriaSharedExpertsMLP: intermediate_size × moe_num_shared_experts wide
    spec = build_spec(
        {**BASE, "model_type": "aria_text", "num_hidden_layers": 1, "moe_num_experts": 8,
         "moe_topk": 2, "moe_num_shared_experts": 2, "moe_intermediate_size": None}
    )
    ffn = spec.layers[0].ffn
    assert (ffn.num_shared_experts, ffn.shared_intermediate_size) == (2, 2 * 512)
    # MiniMaxM3VLSparseMoeBlock: shared_experts of config.shared_intermediate_size; its dense
    # layers are config.dense_intermediate_size wide
    spec = build_spec(
        {**BASE, "model_type": "minimax_m3_vl_text", "num_hidden_layers": 2,
         "num_local_experts": 8, "shared_intermediate_size": 96,
         "dense_intermediate_size": 1024, "mlp_layer_types": ["dense", "sparse"]}
    )
    dense, moe = spec.layers[0].ffn, spec.layers[1].ffn
    assert dense.intermediate_size == 1024
    assert (moe.num_shared_experts, moe.shared_intermediate_size) == (1, 96)


def test_per_layer_config_overrides_one_layer() -> None:
    # configuration_utils (HeterogeneousConfigMixin): layer i's config is the model's with
    # per_layer_config[i] over it; "01" is layer 1 (read with int())
    spec = build_spec(
        {**BASE, "model_type": "qwen3_moe", "num_hidden_layers": 3, "num_experts": 8,
         "head_dim": 64,
         "per_layer_config": {"01": {"num_attention_heads": 8, "num_experts": 4}}}
    )
    heads = [layer.attention.num_heads for layer in spec.layers]
    experts = [layer.ffn.num_experts for layer in spec.layers]
    assert heads == [4, 8, 4]
    assert experts == [8, 4, 8]
