"""The serving plan's layout arithmetic, by hand from the fixture configs."""

from __future__ import annotations

from archlint.analysis.hardware import find_gpu
from archlint.analysis.parallel import Layout, kv_bytes_per_token_rank, pp_stage_layers
from archlint.analysis.serving import ServingOptions, group_layout
from tests.helpers import analysis

H100 = find_gpu("H100")
# Llama-3.1-8B: hidden 4096, 32 layers, 32 query / 8 KV heads × 128, MLP 14336, vocab 128,256
EMB = 128_256 * 4096  # embedding = head = 525,336,576
ATT = 32 * (4096 * 4096 * 2 + 4096 * 1024 * 2)  # q, o + k, v = 1,342,177,280
MLP = 32 * 3 * 4096 * 14336  # 5,637,144,576
NORMS = 32 * 2 * 4096 + 4096  # 266,240


def _plan(model: str, **serving: object):  # type: ignore[no-untyped-def]
    a = analysis(model, gpu=H100, serving=ServingOptions(**serving))  # type: ignore[arg-type]
    assert a.profile.serving is not None
    return a.profile.serving


def test_weights_per_rank_under_tp() -> None:
    assert _plan("meta-llama/Llama-3.1-8B-Instruct").weights_bytes == (
        2 * EMB + ATT + MLP + NORMS) * 2  # 16,060,522,496 B (vLLM logs 14.99 GiB)
    # TP=2: vocab-parallel embedding and head (128,256 is a multiple of 64), column/row-parallel
    # linears halved, norms replicated.
    assert _plan("meta-llama/Llama-3.1-8B-Instruct", tp=2).weights_bytes == (
        (2 * EMB + ATT + MLP) // 2 + NORMS) * 2


def test_kv_heads_split_then_replicated() -> None:
    spec = analysis("meta-llama/Llama-3.1-8B-Instruct").spec
    # TP=4: 2 of the 8 KV heads per rank: 32 layers × 2 × (128 + 128) × 2 B = 32,768 B/token.
    assert kv_bytes_per_token_rank(spec, 2, Layout(tp=4)) == {"full": 32 * 2 * 256 * 2}
    # TP=16: fewer KV heads than ranks: each rank holds (a copy of) one head: 16,384 B/token.
    assert kv_bytes_per_token_rank(spec, 2, Layout(tp=16)) == {"full": 32 * 1 * 256 * 2}


def test_mla_latent_is_replicated_on_every_rank() -> None:
    # DeepSeek-V2-Lite: 27 MLA layers × (512 + 64) × 2 B = 31,104 B/token at any T.
    spec = analysis("deepseek-ai/DeepSeek-V2-Lite").spec
    for tp in (1, 2, 4):
        assert kv_bytes_per_token_rank(spec, 2, Layout(tp=tp)) == {"mla": 27 * 576 * 2}


def test_pipeline_stages_as_vllm_splits_them() -> None:
    assert pp_stage_layers(61, 4) == [15, 15, 15, 16]  # remainder to the last stages
    assert pp_stage_layers(32, 2) == [16, 16]


def test_hybrid_groups() -> None:
    # gpt-oss: 12 full + 12 sliding → groups of 12, 2 groups; Qwen3-Next 12 full + 36 linear →
    # groups of 12: 1 + 3.
    assert group_layout({"full": 12, "sliding": 12}) == (12, 2)
    assert group_layout({"full": 12, "linear": 36}) == (12, 4)
    assert group_layout({"full": 32}) == (32, 1)


def test_allreduce_bytes_per_token() -> None:
    # TP=2: 32 layers × 2 all-reduces × 4096 × 2 B, ring factor 2 (T − 1) / T = 1.
    comm = _plan("meta-llama/Llama-3.1-8B-Instruct", tp=2).communication
    assert comm is not None and comm.allreduce_bytes_per_token == 32 * 2 * 4096 * 2
    # NVLink 4 at 450 GB/s per direction: one token's 524,288 B take 1.17 µs.
    assert abs(comm.seconds_per_decode_step - 524_288 / 450e9) < 1e-12


def test_gpus_auto_says_when_nothing_fits_on_8() -> None:
    # DeepSeek-V3: 684.6e9 B of weights; /8 = 85.6e9 B per H100, above 0.9 × 85.5e9 B.
    sp = _plan("deepseek-ai/DeepSeek-V3", auto=True)
    assert sp.search is not None and sp.search.chosen is None
    assert "does not fit on 8" in sp.search.verdict
    # Llama-3.1-8B fits one H100.
    small = _plan("meta-llama/Llama-3.1-8B-Instruct", auto=True)
    assert small.search is not None and small.search.chosen == Layout(tp=1, pp=1)


def test_a_plan_that_does_not_fit_names_the_smallest_layout_that_would() -> None:
    # Mixtral-8x7B: 46,702,792,704 parameters × 2 B = 93.4e9 B, above one H100's 0.9 × 85.5e9 B
    # = 76.9e9 B; at TP=2 each rank holds about half (46.7e9 B) plus a few GB of activations and
    # reserve, which fits.
    sp = _plan("mistralai/Mixtral-8x7B-v0.1")
    assert not sp.fits
    assert "TP=2 × PP=1 (2 × H100) fits: `--gpus auto` plans it" in sp.notes[-1]
    # DeepSeek-V3 fits no layout of 8 H100s: the note says so instead of naming one.
    assert "does not fit on 8 H100" in _plan("deepseek-ai/DeepSeek-V3").notes[-1]
    # A plan that fits carries no such note.
    assert not any("--gpus auto" in n for n in _plan("meta-llama/Llama-3.1-8B-Instruct").notes)


def test_html_page_plots_memory_per_gpu() -> None:
    from archlint.analysis.profile import Options
    from archlint.plots import svg_figures

    a = analysis("meta-llama/Llama-3.1-8B-Instruct", gpu=H100, serving=ServingOptions())
    figures = svg_figures([a], Options(gpu=H100, serving=ServingOptions()))
    assert any(caption.startswith("Memory per GPU") for caption, _ in figures)


def test_dsa_indexer_keys_are_whole_on_every_rank() -> None:
    """DeepSeek-V3.2's DSA: each MLA layer also caches its lightning indexer's key, 128 fp8
    values with one fp32 scale per 128 (vLLM's indexer cache: 132 B), on every rank."""
    from archlint.families import build_spec

    config = {"model_type": "deepseek_v32", "num_hidden_layers": 4, "hidden_size": 1024,
              "num_attention_heads": 8, "kv_lora_rank": 512, "qk_rope_head_dim": 64,
              "qk_nope_head_dim": 128, "v_head_dim": 128, "q_lora_rank": 256,
              "index_n_heads": 4, "index_head_dim": 128, "index_topk": 64,
              "vocab_size": 1000, "intermediate_size": 2048, "n_routed_experts": 4,
              "num_experts_per_tok": 2, "moe_intermediate_size": 256,
              "first_k_dense_replace": 4}
    spec = build_spec(config)
    assert all(layer.attention.indexer is not None for layer in spec.layers)
    for tp in (1, 4):
        assert kv_bytes_per_token_rank(spec, 2, Layout(tp=tp)) == {
            "mla": 4 * ((512 + 64) * 2 + 128 + 4)}
