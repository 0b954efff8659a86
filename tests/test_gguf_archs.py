"""Each architecture archlint knows, read from a GGUF file's metadata alone (files written by
gguf-py's writer with the keys llama.cpp's converter writes; values from the models' published
configs), with the KV cache in vLLM's and in llama.cpp's conventions worked out by hand."""

from __future__ import annotations

from pathlib import Path

from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

from archlint.analysis.gguf import llama_cpp_kv
from archlint.analysis.memory import kv_cache
from archlint.api import analyze
from tests.gguf_files import write_gguf

U32, F32 = V.UINT32, V.FLOAT32


def model(tmp_path: Path, arch: str, kv: dict[str, object], tensors=None):  # type: ignore[no-untyped-def]
    path = tmp_path / f"{arch}.gguf"
    keys = {f"{arch}.{k}" if not k.startswith(("general.", "tokenizer.")) else k: v
            for k, v in kv.items()}
    write_gguf(path, arch, keys, tensors or [("token_embd.weight", (256, 32), Q.F16)])  # type: ignore[arg-type]
    return analyze(str(path))


def test_deepseek2_mla_both_layouts(tmp_path: Path) -> None:
    """DeepSeek-V3's config: 61 layers, 128 heads, q_lora_rank 1536, kv_lora_rank 512, rope 64,
    nope 128, v 128, 3 dense layers, 256 experts top-8 + 1 shared of width 2048."""
    a = model(tmp_path, "deepseek2", {
        "block_count": (61, U32), "embedding_length": (7168, U32),
        "feed_forward_length": (18432, U32), "attention.head_count": (128, U32),
        "attention.head_count_kv": (1, U32), "attention.q_lora_rank": (1536, U32),
        "attention.kv_lora_rank": (512, U32), "attention.key_length": (576, U32),
        "attention.value_length": (512, U32), "attention.key_length_mla": (192, U32),
        "attention.value_length_mla": (128, U32), "rope.dimension_count": (64, U32),
        "leading_dense_block_count": (3, U32), "expert_count": (256, U32),
        "expert_used_count": (8, U32), "expert_shared_count": (1, U32),
        "expert_feed_forward_length": (2048, U32), "expert_gating_func": (2, U32),
        "vocab_size": (129280, U32)})
    att = a.spec.layers[0].attention
    assert (att.kind, att.kv_lora_rank, att.q_lora_rank, att.qk_rope_head_dim,
            att.qk_nope_head_dim, att.v_head_dim) == ("mla", 512, 1536, 64, 128, 128)
    nope = att.provenance["qk_nope_head_dim"]  # key_length_mla 192 − rope 64
    assert nope.kind == "derived" and "key_length_mla" in nope.detail
    assert att.provenance["kv_lora_rank"].key == "gguf:deepseek2.attention.kv_lora_rank"
    ffn = a.spec.layers[3].ffn
    assert (a.spec.layers[2].ffn.kind, ffn.kind, ffn.num_experts, ffn.experts_per_token,
            ffn.num_shared_experts, ffn.router) == ("dense", "moe", 256, 8, 1, "sigmoid")
    # vLLM: one latent of 512 + 64 per token per layer (DESIGN.md: 70,272 B/token in bf16)
    assert a.profile.kv.bytes_per_token == 61 * 576 * 2 == 70_272
    # llama.cpp, absorbed layout: K row 576 + V row 512 values, f16, per cell
    lkv = a.profile.llama_cpp_kv
    assert lkv.mla_layout.startswith("absorbed")
    assert lkv.bytes_total == 61 * (576 + 512) * 2 * 8192


def test_gemma3_sliding_window_cells(tmp_path: Path) -> None:
    """Gemma-3-4B's text config: 34 layers, 8 heads / 4 KV of 256, window 1024, one global
    layer in 6 (transformers' default pattern; llama.cpp fixes the same)."""
    a = model(tmp_path, "gemma3", {
        "block_count": (34, U32), "embedding_length": (2560, U32),
        "feed_forward_length": (10240, U32), "attention.head_count": (8, U32),
        "attention.head_count_kv": (4, U32), "attention.key_length": (256, U32),
        "attention.value_length": (256, U32), "attention.sliding_window": (1024, U32),
        "context_length": (131072, U32), "vocab_size": (262208, U32)})
    full = [layer.index for layer in a.spec.layers if layer.attention.window is None]
    assert full == [5, 11, 17, 23, 29]
    per_layer = 4 * (256 + 256) * 2  # K and V, f16/bf16
    ctx = 32768
    vllm = kv_cache(a.spec, dtype="bf16", dtype_bytes=2, context=ctx, batch=1)
    assert vllm.bytes_at_context == 5 * per_layer * ctx + 29 * per_layer * 1024
    lkv = llama_cpp_kv(a.spec, context=ctx)
    # llama.cpp's SWA cache: min(cells, pad(1024 + n_ubatch 512, 256)) = 1536 cells
    assert (lkv.cells, lkv.swa_cells) == (32768, 1536)
    assert lkv.bytes_total == 5 * per_layer * ctx + 29 * per_layer * 1536


def test_gpt_oss_alternates_and_has_sinks(tmp_path: Path) -> None:
    """gpt-oss-20b's config: 24 layers alternating sliding(128)/full, 64 heads / 8 KV of 64."""
    a = model(tmp_path, "gpt-oss", {
        "block_count": (24, U32), "embedding_length": (2880, U32),
        "feed_forward_length": (2880, U32), "attention.head_count": (64, U32),
        "attention.head_count_kv": (8, U32), "attention.key_length": (64, U32),
        "attention.value_length": (64, U32), "attention.sliding_window": (128, U32),
        "expert_count": (32, U32), "expert_used_count": (4, U32),
        "expert_feed_forward_length": (2880, U32), "vocab_size": (201088, U32)})
    windows = [layer.attention.window for layer in a.spec.layers]
    assert windows == [128, None] * 12
    assert a.spec.layers[0].attention.sinks
    assert a.spec.provenance["layer_types"].kind == "default"  # llama.cpp's fixed pattern


def test_mamba_state_in_f32_for_llama_cpp(tmp_path: Path) -> None:
    """Falcon-Mamba-7B: 64 Mamba-1 layers, d_inner 8192, d_state 16, d_conv 4, dt_rank 256.
    llama.cpp keeps per layer (d_conv − 1) × d_inner conv values and d_state × d_inner SSM
    values in f32 (llama-memory-recurrent.cpp)."""
    a = model(tmp_path, "mamba", {
        "block_count": (64, U32), "embedding_length": (4096, U32),
        "ssm.inner_size": (8192, U32), "ssm.state_size": (16, U32),
        "ssm.conv_kernel": (4, U32), "ssm.time_step_rank": (256, U32),
        "vocab_size": (65024, U32)})
    assert {layer.attention.kind for layer in a.spec.layers} == {"linear"}
    assert a.spec.layers[0].attention.linear.d_inner == 8192
    lkv = a.profile.llama_cpp_kv
    assert lkv.layers_recurrent == 64 and lkv.bytes_k == lkv.bytes_v == 0
    assert lkv.recurrent_state_bytes == 64 * (3 * 8192 + 16 * 8192) * 4


def test_unknown_architecture_is_an_honest_partial_report(tmp_path: Path) -> None:
    a = model(tmp_path, "futurenet", {
        "block_count": (4, U32), "embedding_length": (256, U32),
        "attention.head_count": (4, U32), "feed_forward_length": (512, U32)})
    assert not a.spec.known_family and a.spec.model_type == "gguf:futurenet"
    assert any("futurenet" in note for note in a.checkpoint.notes)
    assert a.spec.num_layers == 4


def test_mamba2_heads_from_time_step_rank(tmp_path: Path) -> None:
    """mamba2-130m's config: 24 layers, hidden 768, expand 2 (d_inner 1536), head_dim 64
    (24 heads), d_state 128, 1 group, d_conv 4. llama.cpp's converter stores the head count
    in ssm.time_step_rank. vLLM's Mamba-2 state per layer: conv (d_conv − 1) × (d_inner +
    2 × groups × d_state) + SSM heads × head_dim × d_state."""
    a = model(tmp_path, "mamba2", {
        "block_count": (24, U32), "embedding_length": (768, U32),
        "ssm.inner_size": (1536, U32), "ssm.state_size": (128, U32),
        "ssm.conv_kernel": (4, U32), "ssm.time_step_rank": (24, U32),
        "ssm.group_count": (1, U32), "vocab_size": (50288, U32)})
    lin = a.spec.layers[0].attention.linear
    assert (lin.variant, lin.d_inner, lin.num_heads, lin.head_dim, lin.d_state,
            lin.n_groups) == ("mamba2", 1536, 24, 64, 128, 1)
    per_layer = 3 * (1536 + 2 * 128) + 24 * 64 * 128
    assert a.profile.llama_cpp_kv.recurrent_state_bytes == 24 * per_layer * 4


def test_untranslated_hybrid_says_so(tmp_path: Path) -> None:
    a = model(tmp_path, "nemotron_h", {
        "block_count": (4, U32), "embedding_length": (256, U32),
        "attention.head_count": (4, U32), "feed_forward_length": (512, U32)})
    assert not a.spec.known_family
    assert any("nemotron_h" in note for note in a.checkpoint.notes)


def test_llama_cpp_cells_are_per_sequence(tmp_path: Path) -> None:
    """A public llama-server log (a 48-layer model, 8 full layers of 1 KV head × 512 and 40
    sliding layers of 8 KV heads × 256, window 1024; `-c 8192 -np 2`): "creating non-SWA KV
    cache, size = 4096 cells … 128.00 MiB (4096 cells, 8 layers, 2/2 seqs)" and "creating SWA
    KV cache, size = 1536 cells … 960.00 MiB (1536 cells, 40 layers, 2/2 seqs)"."""
    a = model(tmp_path, "gemma3", {
        "block_count": (48, U32), "embedding_length": (3840, U32),
        "feed_forward_length": (15360, U32), "attention.head_count": (16, U32),
        "attention.head_count_kv": (8, U32), "attention.key_length": (256, U32),
        "attention.value_length": (256, U32), "attention.sliding_window": (1024, U32)})
    spec = a.spec
    # the log's model: full layers with 1 KV head of 512 (set on the spec directly)
    layers = [layer.model_copy(update={"attention": layer.attention.model_copy(update={
        "num_kv_heads": 1, "head_dim": 512, "v_head_dim": 512})})
        if layer.attention.window is None else layer for layer in spec.layers]
    spec = spec.model_copy(update={"layers": layers})
    lkv = llama_cpp_kv(spec, context=4096, batch=2)
    assert (lkv.cells, lkv.swa_cells, lkv.layers_full, lkv.layers_swa) == (4096, 1536, 8, 40)
    assert lkv.bytes_total == (128 + 960) * 2**20


def _falcon_tensors(layers: int, hidden: int, kv_rows: int, width: int, two_norms: bool):  # type: ignore[no-untyped-def]
    """llama.cpp's Falcon layout (llm_build_falcon): fused attn_qkv, biased LayerNorms, an
    ungated ffn_up/ffn_down, attn_norm_2 only in the new decoder architecture (40B/180B)."""
    out = [("token_embd.weight", (256, hidden), Q.F16),
           ("output_norm.weight", (hidden,), Q.F32),
           ("output_norm.bias", (hidden,), Q.F32), ("output.weight", (256, hidden), Q.F16)]
    for i in range(layers):
        b = f"blk.{i}."
        out += [(b + "attn_norm.weight", (hidden,), Q.F32),
                (b + "attn_norm.bias", (hidden,), Q.F32),
                (b + "attn_qkv.weight", (hidden + 2 * kv_rows, hidden), Q.F16),
                (b + "attn_output.weight", (hidden, hidden), Q.F16),
                (b + "ffn_up.weight", (width, hidden), Q.F16),
                (b + "ffn_down.weight", (hidden, width), Q.F16)]
        if two_norms:
            out += [(b + "attn_norm_2.weight", (hidden,), Q.F32),
                    (b + "attn_norm_2.bias", (hidden,), Q.F32)]
    return out


def test_falcon_kv_heads_in_falcon_config_terms(tmp_path: Path) -> None:
    """llama.cpp stores Falcon's KV heads as head_count_kv for 7B (1: multi-query) and for
    40B (8 of 128, grouped, with attn_norm_2); FalconConfig reads them as multi_query and as
    num_kv_heads under new_decoder_architecture. Here 4 query heads of 16 (hidden 64): the
    40B-like file caches 2 layers x (K, V) x 2 heads x 16 x 2 B = 256 B/token, the 7B-like
    one 2 x 2 x 1 x 16 x 2 = 128 B/token; the FFN width is feed_forward_length (FalconConfig's
    ffn_hidden_size), not 4 x hidden."""
    base = {"block_count": (2, U32), "embedding_length": (64, U32),
            "feed_forward_length": (96, U32), "attention.head_count": (4, U32),
            "attention.layer_norm_epsilon": (1e-5, F32), "vocab_size": (256, U32)}
    new = model(tmp_path, "falcon", {**base, "attention.head_count_kv": (2, U32)},
                _falcon_tensors(2, 64, 2 * 16, 96, two_norms=True))
    att = new.spec.layers[0].attention
    assert (att.num_heads, att.num_kv_heads, att.head_dim) == (4, 2, 16)
    assert new.profile.kv.bytes_per_token == 2 * 2 * 2 * 16 * 2 == 256
    assert new.spec.layers[0].ffn.intermediate_size == 96
    assert not [f for f in new.findings if f.severity == "error"], new.findings
    (tmp_path / "7b").mkdir()
    old = model(tmp_path / "7b", "falcon", {**base, "attention.head_count_kv": (1, U32)},
                _falcon_tensors(2, 64, 16, 96, two_norms=False))
    assert old.spec.layers[0].attention.num_kv_heads == 1
    assert old.profile.kv.bytes_per_token == 2 * 2 * 1 * 16 * 2 == 128
    assert not [f for f in old.findings if f.severity == "error"], old.findings


def test_phi3_fused_ffn_up_is_gate_and_up(tmp_path: Path) -> None:
    """llama.cpp writes Phi-3's gate_up_proj as blk.N.ffn_up with 2 x feed_forward_length rows
    (convert_hf_to_gguf Phi3MiniModel) and no ffn_gate: a gated MLP of feed_forward_length,
    and no intermediate-size finding."""
    hidden, width, kv_rows = 64, 96, 2 * 16
    tensors = [("token_embd.weight", (256, hidden), Q.F16),
               ("output_norm.weight", (hidden,), Q.F32),
               ("output.weight", (256, hidden), Q.F16)]
    for i in range(2):
        b = f"blk.{i}."
        tensors += [(b + "attn_norm.weight", (hidden,), Q.F32),
                    (b + "attn_qkv.weight", (hidden + 2 * kv_rows, hidden), Q.F16),
                    (b + "attn_output.weight", (hidden, hidden), Q.F16),
                    (b + "ffn_norm.weight", (hidden,), Q.F32),
                    (b + "ffn_up.weight", (2 * width, hidden), Q.F16),
                    (b + "ffn_down.weight", (hidden, width), Q.F16)]
    a = model(tmp_path, "phi3", {
        "block_count": (2, U32), "embedding_length": (hidden, U32),
        "feed_forward_length": (width, U32), "attention.head_count": (4, U32),
        "attention.head_count_kv": (2, U32), "attention.layer_norm_rms_epsilon": (1e-5, F32),
        "vocab_size": (256, U32)}, tensors)
    assert not [f for f in a.findings if f.code == "AL106"], a.findings
    ffn = a.spec.layers[0].ffn
    assert ffn.gated and ffn.intermediate_size == width
