"""The cost formulas of issue 11 (and issue 10 item 5), each with its hand calculation from
the configs and tensor tables in fixtures/models/."""

from __future__ import annotations

import io

import pytest

from archlint.analysis.hardware import BUILTIN, GIB, MIB, find_gpu
from archlint.analysis.profile import Options, model_max_context, profile, state_dtype
from archlint.report.text import render_text
from tests.helpers import analysis, fixture

H100 = find_gpu("H100")


def test_gpt_oss_decode_bytes_per_tensor_dtype() -> None:
    # openai/gpt-oss-20b config: hidden 2880, 24 layers, 64 query heads × 64, 8 KV heads,
    # vocab 201,088, 32 experts (top-4) of width 2880; attention, router, norms and head are
    # bf16, the experts MXFP4 (U8 blocks of 2 values, U8 scales per 32, bf16 biases).
    attention = 2880 * (4096 + 512 + 512) + 4096 * 2880 + (4096 + 512 + 512 + 2880 + 64)
    router = 2880 * 32 + 32
    norms = 2 * 2880 * 24 + 2880
    head = 201_088 * 2880
    bf16_read = (24 * (attention + router) + norms + head) * 2  # = 2,437,381,248 B
    gate_up = 32 * 5760 * (2880 // 2) + 32 * 5760 * (2880 // 32) + 32 * 5760 * 2
    down = 32 * 2880 * (2880 // 2) + 32 * 2880 * (2880 // 32) + 32 * 2880 * 2
    experts = 24 * (gate_up + down)  # = 10,165,616,640 B
    expected = bf16_read + experts * 4 // 32  # batch 1 touches 4 of 32 experts per layer
    roof = analysis("openai/gpt-oss-20b", gpu=H100).profile.roofline
    assert roof is not None
    assert roof.decode_weight_bytes == expected == 3_708_083_328  # 3.71 GB, not 2.37 GB
    # KV at 8,192: 12 full layers × 8 × 128 × 2 B × 8,192 + 12 sliding ones × 128 tokens.
    kv = 12 * 8 * 128 * 2 * (8192 + 128)
    assert roof.decode_tokens_per_s == pytest.approx(3.35e12 / (expected + kv))  # ≈ 856 tok/s
    assert round(roof.decode_tokens_per_s) == 856


def test_deepseek_decode_bytes_from_the_tensor_table() -> None:
    # DeepSeek-R1 (the DeepSeek-V3 architecture: fp8 weights, fp32 block scales, bf16 rest).
    # Priced from the safetensors headers by name: everything is read except the input
    # embedding and the MTP layer 61; routed experts (`mlp.experts.`) at 8 of 256 per layer.
    ckpt = fixture("deepseek-ai/DeepSeek-R1")
    assert ckpt.tensors is not None
    full = routed = 0
    for t in ckpt.tensors:
        if "embed_tokens" in t.name or ".layers.61." in t.name:
            continue
        if ".mlp.experts." in t.name:
            routed += t.nbytes
        else:
            full += t.nbytes
    roof = analysis("deepseek-ai/DeepSeek-R1", gpu=H100).profile.roofline
    assert roof is not None
    assert roof.decode_weight_bytes == round(full + routed * 8 / 256)


def test_tied_head_is_a_matmul_and_a_read() -> None:
    # Llama-3.2-1B ties its head: 16 layers, hidden 2048, vocab 128,256. Total 1,235,814,400
    # params; the head matmul (128,256 × 2048 = 262,668,288) runs although its weight is the
    # embedding: 2 × 1,235,814,400 = 2,471,628,800 FLOPs/token (2.472 G, not 1.946 G), and a
    # decode step reads every weight once (bf16): 2,471,628,800 B.
    a = analysis("meta-llama/Llama-3.2-1B-Instruct", gpu=H100)
    assert a.profile.params.total == 1_235_814_400
    assert a.profile.flops.matmul_per_token == 2 * 1_235_814_400
    assert a.profile.roofline is not None
    assert a.profile.roofline.decode_weight_bytes == 2 * 1_235_814_400
    # gemma-2b (tied): the head matmul 256,000 × 2048 is in the 2N term too.
    g = analysis("google/gemma-2b-it")
    assert g.profile.flops.matmul_per_token == 2 * g.profile.params.total


def test_mla_decode_is_absorbed_prefill_naive() -> None:
    # DeepSeek-V3 at 32,768: 61 MLA layers × 128 heads. Decode (absorbed, MQA over the
    # latent): q·k over 512 + 64, value 512 per attended token:
    # 61 × 2 × 128 × 1088 × 32,768 = 556,735,135,744; + 2N = 73,251,236,864 → 630.0 G.
    fl = analysis("deepseek-ai/DeepSeek-V3", context=32_768).profile.flops
    decode_attention = 61 * 2 * 128 * (512 + 64 + 512) * 32_768
    assert fl.attention_per_token == decode_attention
    assert fl.per_token == fl.matmul_per_token + decode_attention
    assert fl.per_token == pytest.approx(630e9, rel=1e-3)
    # Prefill (naive): per head q·k over 128 + 64 and v of 128, over the causal triangle; the
    # LM head (129,280 × 7168) only for the last position.
    head = 2 * 129_280 * 7168
    naive = 61 * 2 * 128 * (192 + 128) * (32_768 * 32_769 // 2)
    assert fl.prefill == (fl.matmul_per_token - head) * 32_768 + head + naive
    assert "absorbed" in fl.decode_attention and "naive" in fl.prefill_attention


def test_prefill_logits_last_position_only() -> None:
    # Llama-3-8B at 8,192: 8,030,261,248 params, embedding = head = 128,256 × 4096 =
    # 525,336,576. Body matmuls 2 × (8,030,261,248 − 2 × 525,336,576) per prompt token, the head
    # once; attention 32 layers × 2 × 32 heads × 256 over 8192 · 8193 / 2 attended pairs.
    fl = analysis("meta-llama/Meta-Llama-3-8B", context=8192).profile.flops
    body = 2 * (8_030_261_248 - 2 * 525_336_576)
    attention = 32 * 2 * 32 * 256 * (8192 * 8193 // 2)
    assert fl.prefill == body * 8192 + 2 * 525_336_576 + attention
    every_position = (body + 2 * 525_336_576) * 8192 + attention
    assert every_position / fl.prefill == pytest.approx(1.065, abs=1e-3)  # the old +6.5%


def test_gpu_memory_is_what_the_driver_reports() -> None:
    # nvidia-smi memory.total: H200 143,771 MiB (150.75e9 B), H100 80GB SXM 81,559 MiB.
    assert BUILTIN["h200"].memory_bytes == 143_771 * 2**20 == 150_754_820_096
    assert BUILTIN["h100"].memory_bytes == 81_559 * MIB
    assert all(g.memory_source and g.interconnect for g in BUILTIN.values())
    # The text states GiB only: DeepSeek-V3's 688,471,939,903 B of weights (its config's fp8
    # weights with their fp32 block scales, the MTP layer's stored embed/head copies) =
    # 641.2 GiB against 81,559 MiB = 79.6 GiB.
    out = io.StringIO()
    render_text(analysis("deepseek-ai/DeepSeek-V3", gpu=H100), [], out, color=False)
    line = next(x for x in out.getvalue().splitlines() if "exceed" in x)
    assert f"({688_471_939_903 / GIB:.0f} GiB)" in line  # 641 GiB
    assert "79.6 GiB" in line and " GB" not in line


def test_gpu_file_accepts_mib(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "gpus.toml"
    path.write_text(
        '[gpus.B200]\nmemory_mib = 183359\nbandwidth_tbs = 8.0\nbf16_tflops = 2250\n'
        'interconnect_gbs = 900\nsource = "my nvidia-smi"\n'
    )
    gpu = find_gpu("B200", str(path))
    assert gpu.memory_bytes == 183_359 * MIB and gpu.interconnect == 900e9


def test_context_past_the_model_maximum_warns() -> None:
    # Llama-3-8B: max_position_embeddings 8192, no RoPE scaling.
    assert not analysis("meta-llama/Meta-Llama-3-8B", context=8192).profile.warnings
    assert "8,192" in analysis("meta-llama/Meta-Llama-3-8B", context=8193).profile.warnings[0]
    # DeepSeek-V3: YaRN factor 40 on original_max_position_embeddings 4096 = 163,840.
    spec = analysis("deepseek-ai/DeepSeek-V3").spec
    assert model_max_context(spec) == 40 * 4096


def test_all_windowed_text_says_what_grows() -> None:
    # Mistral-7B-v0.1: every layer windowed at 4096: 32 × 8 × 256 × 2 B = 128 KiB per token
    # until 4,096 tokens, then 4,096 × 131,072 B = 512 MiB per sequence.
    out = io.StringIO()
    a = analysis("mistralai/Mistral-7B-Instruct-v0.1", context=32_768)
    render_text(a, [], out, color=False)
    row = next(x for x in out.getvalue().splitlines() if "KV cache / token" in x)
    assert "128 KiB up to 4,096 tokens" in row and " 0 B" not in row


def test_fp32_checkpoint_kv_in_half_precision() -> None:
    # OLMo-2-0325-32B declares float32: vLLM serves it in bf16, so its cache is
    # 2 × 64 layers × 8 KV heads × 128 × 2 B = 262,144 B/token (it was 524,288 at 4 B).
    prof = analysis("allenai/OLMo-2-0325-32B").profile
    assert (prof.activation_dtype, prof.kv.bytes_per_token) == ("bf16", 262_144)
    assert any("float32 checkpoint" in note for note in prof.notes)
    # --dtype float32 sizes it in fp32 again: 524,288 B/token.
    fp32 = analysis("allenai/OLMo-2-0325-32B", dtype="float32").profile
    assert (fp32.kv.bytes_per_token, fp32.notes) == (524_288, [])


def test_ssm_state_dtype_follows_mamba_ssm_cache_dtype() -> None:
    spec = analysis("Qwen/Qwen3-Next-80B-A3B-Instruct").spec
    # auto: the serving dtype; a config declaring it (Nemotron-H configs: "float32") wins.
    assert state_dtype(spec, {}, "bf16") == "bf16"
    assert state_dtype(spec, {"mamba_ssm_cache_dtype": "float32"}, "bf16") == "fp32"
    nemotron = spec.model_copy(update={"architectures": ["NemotronHForCausalLM"]})
    assert state_dtype(nemotron, {}, "bf16") == "fp32"  # vLLM's Nemotron-H default
    prof = profile(spec, fixture("Qwen/Qwen3-Next-80B-A3B-Instruct"), Options(context=1000))
    assert prof.state_dtype == "bf16"


def test_a_plot_draws_against_the_named_gpu_else_the_default() -> None:
    from archlint.analysis.hardware import plot_gpu

    a100 = find_gpu("A100")
    assert plot_gpu(a100) is a100 and plot_gpu("a100") == a100
    # `archlint report --help`: "--gpu ... [default: H100]"; a plot with none uses it
    assert plot_gpu(None) == H100 and plot_gpu("none") == H100
