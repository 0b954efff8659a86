"""DSA indexers (archlint/families/dsa.py): which layers run one, read the same way for every
dialect. Expected layers are written from the configuration classes of transformers 5.23
(GlmMoeDsaConfig.__post_init__, HYV4Config), the bytes from vLLM's indexer cache."""

from __future__ import annotations

from typing import Any

from archlint.analysis.memory import indexer_bytes_per_token
from archlint.families import build_spec

MLA: dict[str, Any] = {
    "model_type": "glm_moe_dsa",
    "hidden_size": 256,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "intermediate_size": 512,
    "moe_intermediate_size": 64,
    "vocab_size": 1000,
    "n_routed_experts": 8,
    "num_experts_per_tok": 2,
    "kv_lora_rank": 64,
    "q_lora_rank": 96,
    "qk_rope_head_dim": 16,
    "qk_nope_head_dim": 32,
    "v_head_dim": 32,
    "index_n_heads": 4,
    "index_head_dim": 128,
    "index_topk": 64,
}


def _own(**config: Any) -> list[bool]:
    spec = build_spec({**MLA, **config})
    return [layer.attention.indexer is not None for layer in spec.layers]


def test_indexer_types_list() -> None:
    got = _own(num_hidden_layers=4, indexer_types=["full", "shared", "shared", "full"])
    assert got == [True, False, False, True]


def test_topk_pattern_string() -> None:
    # GlmMoeDsaConfig: {"F": "full", "S": "shared"}[c] for c in index_topk_pattern
    assert _own(num_hidden_layers=4, index_topk_pattern="FSFS") == [True, False, True, False]


def test_freq_and_offset() -> None:
    # "full" if max(i - offset + 1, 0) % freq == 0: i = 0, 1 (0), 5 (4) with freq 4, offset 2
    got = _own(num_hidden_layers=6, index_topk_freq=4, index_skip_topk_offset=2)
    assert got == [True, True, False, False, False, True]


def test_only_indexed_layers() -> None:
    got = _own(
        model_type="deepseek_v32",
        num_hidden_layers=3,
        layer_types=["indexed_attention", "full_attention", "indexed_attention"],
    )
    assert got == [True, False, True]


def test_indexer_cache_bytes() -> None:
    # vLLM DeepseekV32IndexerCache: index_head_dim fp8 values + one fp32 scale per 128
    spec = build_spec({**MLA, "num_hidden_layers": 1})
    assert indexer_bytes_per_token(spec.layers[0].attention) == 128 + 4


def test_no_indexer_keys_no_indexer() -> None:
    config = {k: v for k, v in MLA.items() if not k.startswith("index_")}
    spec = build_spec({**config, "model_type": "deepseek_v3", "num_hidden_layers": 2})
    assert all(layer.attention.indexer is None for layer in spec.layers)
