"""KV cache and FLOPs: hand-checkable formulas (calculations written next to each test)."""

from __future__ import annotations

from archlint.analysis.compute import _causal_attended_sum
from archlint.spec import AttentionSpec
from tests.helpers import analysis


def test_gqa_kv_per_token_llama3() -> None:
    # 2 (K,V) × 32 layers × 8 KV heads × 128 dims × 2 bytes = 131,072 B (fixture SOURCE)
    kv = analysis("meta-llama/Meta-Llama-3-8B").profile.kv
    assert kv.bytes_per_token == 131_072
    assert kv.mha_equivalent_bytes_per_token == 4 * 131_072


def test_mqa_falcon() -> None:
    # 1 KV head × 64 × 32 layers × 2 × 2 B = 8,192 B
    assert analysis("tiiuae/falcon-7b").profile.kv.bytes_per_token == 8_192


def test_mha_bloom() -> None:
    # 2 × 70 × 14336 × 2 B = 4,014,080 B
    assert analysis("bigscience/bloom").profile.kv.bytes_per_token == 4_014_080


def test_mla_deepseek_v3() -> None:
    # 61 layers × (512 + 64) × 2 B = 70,272 B — one latent, no factor 2 (vLLM's MLA layout)
    kv = analysis("deepseek-ai/DeepSeek-V3").profile.kv
    assert kv.bytes_per_token == 70_272


def test_sliding_window_is_capped() -> None:
    # Mistral-7B-v0.1: every layer windowed at 4096: nothing grows without bound; at 32k
    # context the cache holds 4096 tokens × 131,072 B.
    kv = analysis("mistralai/Mistral-7B-Instruct-v0.1", context=32_768).profile.kv
    assert kv.bytes_per_token == 0
    assert kv.layers_windowed == 32
    assert kv.bytes_at_context == 4096 * 131_072


def test_use_sliding_window_false_is_not_windowed() -> None:
    # Qwen2.5: sliding_window 131072 but use_sliding_window false. 2 × 28 × 4 × 128 × 2 B
    kv = analysis("Qwen/Qwen2.5-7B-Instruct").profile.kv
    assert kv.layers_windowed == 0
    assert kv.bytes_per_token == 57_344


def test_alternating_windows_gpt_oss() -> None:
    # 12 full layers grow: 12 × 8 × (64 + 64) × 2 B = 24,576 B/token; 12 sliding layers at 128.
    kv = analysis("openai/gpt-oss-20b", context=4096, batch=2).profile.kv
    assert kv.bytes_per_token == 24_576
    assert kv.bytes_per_token_local == 24_576
    assert kv.bytes_at_context == 2 * (24_576 * 4096 + 24_576 * 128)


def test_chunked_llama4() -> None:
    # 12 NoPE/global layers grow: 12 × 8 × 256 × 2 B = 49,152; 36 chunked layers cap at 8192.
    kv = analysis("meta-llama/Llama-4-Scout-17B-16E-Instruct", context=16_384).profile.kv
    assert kv.bytes_per_token == 49_152
    assert kv.bytes_at_context == 49_152 * 16_384 + 36 * 8 * 256 * 2 * 8192


def test_linear_state_qwen3_next() -> None:
    # 12 full layers × 2 KV heads × (256 + 256) × 2 B = 24,576 B/token; 36 DeltaNet layers
    # hold 32 heads × 128 × 128 state + (4 - 1) × (2·16·128 + 32·128) conv, × 2 B each.
    kv = analysis("Qwen/Qwen3-Next-80B-A3B-Instruct", context=1000).profile.kv
    state = 36 * (32 * 128 * 128 + 3 * (2 * 16 * 128 + 32 * 128)) * 2
    assert kv.bytes_per_token == 24_576
    assert kv.state_bytes == state
    assert kv.bytes_at_context == 24_576 * 1000 + state


def test_kv_dtype_leaves_linear_state_in_model_dtype() -> None:
    # --kv-dtype fp8 halves the attention cache; the DeltaNet state stays bf16 (vLLM sizes it by
    # mamba_ssm_cache_dtype=auto, the model dtype): 12 × 2 × 512 × 1 B per token.
    kv = analysis("Qwen/Qwen3-Next-80B-A3B-Instruct", context=1000, kv_dtype="fp8").profile.kv
    state = 36 * (32 * 128 * 128 + 3 * (2 * 16 * 128 + 32 * 128)) * 2
    assert (kv.dtype, kv.state_dtype) == ("fp8_e4m3", "bf16")
    assert kv.bytes_per_token == 12_288
    assert kv.state_bytes == state
    assert kv.bytes_at_context == 12_288 * 1000 + state


def test_encoder_only_has_no_cache() -> None:
    kv = analysis("google-bert/bert-base-uncased").profile.kv
    assert kv.bytes_per_token == 0 and kv.bytes_at_context == 0


def test_kv_dtype_override() -> None:
    kv = analysis("meta-llama/Meta-Llama-3-8B", kv_dtype="fp8").profile.kv
    assert kv.bytes_per_token == 65_536


def test_flops_per_token_is_2n_plus_attention() -> None:
    # Llama-3-8B at context 1: 2 × (8,030,261,248 − 128256 × 4096) + 32 layers × 2 × 32 heads ×
    # (128 + 128) × 1 attended token.
    a = analysis("meta-llama/Meta-Llama-3-8B", context=1)
    n = 8_030_261_248 - 128_256 * 4096
    assert a.profile.flops.per_token == 2 * n + 32 * 2 * 32 * 256
    assert a.profile.flops.training_per_token == 6 * n


def test_causal_sums() -> None:
    full = AttentionSpec(kind="mha", num_heads=1, num_kv_heads=1, head_dim=1, v_head_dim=1)
    win = full.model_copy(update={"window": 3})
    chunk = full.model_copy(update={"chunk": 3})
    assert _causal_attended_sum(full, 5) == 1 + 2 + 3 + 4 + 5
    assert _causal_attended_sum(win, 5) == 1 + 2 + 3 + 3 + 3
    assert _causal_attended_sum(chunk, 5) == 1 + 2 + 3 + 1 + 2
