"""Families without a bundled fixture, checked with their public config values written out
here and the parameter counts their model cards publish."""

from __future__ import annotations

from archlint.analysis.profile import Options, profile
from archlint.families import build_spec
from archlint.report.explain import explain

# google/gemma-2-9b config.json (values as published on the Hub).
GEMMA2_9B = {
    "model_type": "gemma2", "architectures": ["Gemma2ForCausalLM"], "hidden_size": 3584,
    "intermediate_size": 14336, "num_hidden_layers": 42, "num_attention_heads": 16,
    "num_key_value_heads": 8, "head_dim": 256, "vocab_size": 256000, "sliding_window": 4096,
    "max_position_embeddings": 8192, "attn_logit_softcapping": 50.0,
    "final_logit_softcapping": 30.0, "query_pre_attn_scalar": 256, "torch_dtype": "float32",
    "hidden_activation": "gelu_pytorch_tanh", "rope_theta": 10000.0,
}

# databricks/dbrx-base config.json (nested attn_config / ffn_config).
DBRX = {
    "model_type": "dbrx", "d_model": 6144, "n_heads": 48, "n_layers": 40, "max_seq_len": 32768,
    "vocab_size": 100352, "attn_config": {"kv_n_heads": 8, "rope_theta": 500000, "clip_qkv": 8},
    "ffn_config": {"ffn_hidden_size": 10752, "moe_num_experts": 16, "moe_top_k": 4},
    "torch_dtype": "bfloat16",
}


def test_gemma2_alternating_windows_and_count() -> None:
    spec = build_spec(GEMMA2_9B)
    windowed = [layer.index for layer in spec.layers if layer.attention.window == 4096]
    assert windowed == list(range(0, 42, 2))  # even layers local (modeling_gemma2)
    assert spec.layers[0].attention.softcap == 50.0
    prof = profile(spec, None, Options(context=8192))
    # Hub safetensors parameter count of gemma-2-9b: 9,241,705,984 (tied embeddings).
    assert prof.params.total == 9_241_705_984
    # 21 global layers grow: 21 × 8 KV heads × (256 + 256) × 2 B — the config declares
    # float32, which vLLM's dtype="auto" serves in bfloat16, and the cache follows the
    # serving dtype (kv_cache_dtype="auto"). Before issue 10 item 5 this was × 4 B.
    assert prof.kv.bytes_per_token == 21 * 8 * 512 * 2
    assert prof.activation_dtype == "bf16" and prof.notes
    assert any("21 of 42 layers capped at 4,096 tokens" in line for line in explain(spec, prof))


def test_dbrx_nested_configs_and_moe_counts() -> None:
    spec = build_spec(DBRX)
    att, ffn = spec.layers[0].attention, spec.layers[0].ffn
    assert (att.kind, att.num_heads, att.num_kv_heads, att.head_dim) == ("gqa", 48, 8, 128)
    assert (ffn.num_experts, ffn.experts_per_token, ffn.expert_intermediate_size) == (16, 4, 10752)
    p = profile(spec, None, Options()).params
    # Databricks: "132B total parameters of which 36B parameters are active on any input".
    assert abs(p.total - 132e9) <= 0.5e9
    assert abs(p.active - 36e9) <= 0.5e9
