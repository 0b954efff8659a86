"""The layer builder of `archlint bench` on the CPU, at tiny dimensions.

The real models' specs (catalog, offline) are shrunk so that every feature they use stays on:
GQA, sliding windows that wrap the ring buffer, sinks, MLA with its latent cache, MoE with
softmax or sigmoid grouped routing and shared experts, chunked attention. The PyTorch path runs
on plain CPU torch; the Triton path runs under TRITON_INTERPRET=1 in float32 (marked `kernels`;
it takes a few seconds a layer). Skips cleanly without torch (or triton for the kernel tests).
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from archlint.analysis.profile import Options  # noqa: E402
from archlint.api import analyze  # noqa: E402
from archlint.source import SourceOptions  # noqa: E402

MODELS = ["mixtral", "llama3.1", "mistral", "gpt-oss", "deepseek-v3", "qwen3-next", "llama4"]


def tiny(spec, *, window=24, chunk=None):
    """The spec with tiny dimensions and every feature kept (powers of two where kernels need
    them)."""
    layers = []
    for layer in spec.layers[:4]:
        att = layer.attention
        upd = {}
        if att.kind == "linear":
            upd = dict(linear=att.linear.model_copy(update=dict(
                num_key_heads=2, num_value_heads=4, key_head_dim=16, value_head_dim=16)))
        elif att.kind == "mla":
            upd = dict(num_heads=4, num_kv_heads=4, head_dim=48, v_head_dim=16, q_lora_rank=32,
                       kv_lora_rank=32, qk_rope_head_dim=16, qk_nope_head_dim=32)
        else:
            upd = dict(num_heads=4, num_kv_heads=2 if att.num_kv_heads < att.num_heads else 4,
                       head_dim=16, v_head_dim=16)
        if att.window:
            upd["window"] = window
        if chunk:
            upd["chunk"] = chunk
        ffn = layer.ffn
        fupd = dict(intermediate_size=48)
        if ffn.kind == "moe":
            e = 16 if ffn.grouped_topk else 8
            fupd.update(num_experts=e, expert_intermediate_size=32,
                        experts_per_token=min(ffn.experts_per_token, 4))
            if ffn.grouped_topk:
                fupd["grouped_topk"] = (4, 2)
            if ffn.num_shared_experts:
                fupd["shared_intermediate_size"] = 32
        layers.append(layer.model_copy(update=dict(
            attention=att.model_copy(update=upd), ffn=ffn.model_copy(update=fupd))))
    return spec.model_copy(update=dict(hidden_size=64, num_layers=len(layers), layers=layers))


def _analysis(name, **kw):
    return analyze(name, Options(context=64, batch=2), SourceOptions(offline=True))


def _layer_index(spec):
    """A layer that has the model's interesting parts (MoE for DeepSeek-V3: layer 3)."""
    for i, layer in enumerate(spec.layers):
        if layer.ffn.kind == "moe" or layer.attention.window:
            return i
    return 0


def zoo(kind):
    """(spec, layer index, config) of a mixer kind no catalog model has yet, on the tiny
    Llama-3.1 stack: a Mamba-2 layer (no FFN, as in Mamba-2 stacks), a cross-attention layer
    over encoder tokens, and a layer that reads layer 0's K/V (Gemma-3n/CLA KV sharing)."""
    from archlint.spec import AttentionSpec, FFNSpec, RecurrentSpec

    base = tiny(_analysis("llama3.1").spec)
    layers = list(base.layers)
    if kind == "mamba2":
        lin = RecurrentSpec(variant="mamba2", d_inner=128, d_state=16, num_heads=8,
                            head_dim=16, n_groups=2, conv_kernel=4)
        layers[0] = layers[0].model_copy(update=dict(
            attention=AttentionSpec(kind="linear", positional="none", linear=lin),
            ffn=FFNSpec(kind="none")))
        index = 0
    elif kind == "cross":
        layers[0] = layers[0].model_copy(update=dict(
            attention=layers[0].attention.model_copy(update=dict(source="encoder"))))
        index = 0
    else:
        layers[1] = layers[1].model_copy(update=dict(
            attention=layers[1].attention.model_copy(update=dict(kv_shared_from=0))))
        index = 1
    return base.model_copy(update=dict(layers=layers)), index


def _profiled(spec, context=64, batch=2):
    from types import SimpleNamespace

    from archlint.analysis.profile import profile

    prof = profile(spec, None, Options(context=context, batch=batch))
    return SimpleNamespace(spec=spec, profile=prof,
                           checkpoint=SimpleNamespace(config=None, model_id="zoo"))


@pytest.mark.parametrize("kind", ["mamba2", "cross", "shared"])
def test_zoo_layers_reference_path_decode_continues_prefill(kind):
    """Decoding token n-1 after a prefill of 0..n-2 gives the full prefill's last row: the
    recurrent state (Mamba-2), the encoder cache (cross-attention) and the borrowed K/V
    (KV sharing) carry over exactly."""
    from archlint.bench.checks import rel_err
    from archlint.bench.layer import BenchLayer

    spec, idx = zoo(kind)
    layer = BenchLayer(spec, idx, dtype="fp32", device="cpu", encoder_tokens=24)
    b, n = 2, 40
    x = layer.random_input(b, n)
    with torch.no_grad():
        y = layer.prefill(x, layer.alloc_cache(b, n + 1), "torch")
        cache = layer.alloc_cache(b, n + 1)
        layer.prefill(x[:, : n - 1], cache, "torch")
        yd = layer.decode(x[:, -1], cache, n - 1, "torch")
    assert bool(y.isfinite().all()) and rel_err(yd, y[:, -1]) < 1e-4


def test_zoo_caches_match_the_prediction():
    """The bytes each new kind's bench cache holds equal the profile's prediction, written
    out by hand from vLLM's layouts: Mamba-2 conv window (d + 2·G·N)·(K−1) + SSM state H·P·N
    per sequence; cross-attention 2·G·D per encoder token; a KV-shared layer nothing; Qwen3-Next's
    Gated DeltaNet conv (2·Hk·Dk + Hv·Dv)·(K−1) + state Hv·Dk·Dv."""
    from archlint.bench.layer import BenchLayer
    from archlint.bench.run import measure_cache

    b, ctx, e = 2, 64, 24
    expected = {
        "mamba2": ((128 + 2 * 2 * 16) * 3 + 8 * 16 * 16) * 4 * b,
        "cross": 2 * 2 * 16 * e * 4 * b,  # G=2, D=16, fp32
        "shared": 0,
    }
    for kind, want in expected.items():
        spec, idx = zoo(kind)
        a = _profiled(spec, ctx, b)
        layer = BenchLayer(spec, idx, dtype="fp32", device="cpu", encoder_tokens=e)
        # the profile sizes the cache in the model's bf16; the comparison rescales to fp32
        cache, kv = measure_cache(layer, a.profile, layer=idx, batch=b, context=ctx,
                                  dtype="fp32")
        assert cache.bytes == want, (kind, cache.bytes, want)
        assert kv["predicted_bytes"] == want and kv["ok"], (kind, kv)
    qn = tiny(_analysis("qwen3-next").spec)
    layer = BenchLayer(qn, 0, dtype="bf16", device="cpu")
    cache = layer.alloc_cache(b, ctx)
    assert cache.bytes == ((2 * 2 * 16 + 4 * 16) * 3 + 4 * 16 * 16) * 2 * b


@pytest.mark.parametrize("name", MODELS)
def test_reference_path_runs_and_matches_itself(name):
    from archlint.bench.checks import rel_err
    from archlint.bench.layer import BenchLayer

    spec = tiny(_analysis(name).spec)
    idx = _layer_index(spec)
    layer = BenchLayer(spec, idx, dtype="fp32", device="cpu")
    b, n = 2, 40
    cache = layer.alloc_cache(b, n + 1)
    x = layer.random_input(b, n)
    with torch.no_grad():
        y = layer.prefill(x, cache, "torch")
        assert y.shape == (b, n, 64) and bool(y.isfinite().all())
        # decoding token n-1 again from a cache that holds 0..n-2 gives the prefill's last row
        cache2 = layer.alloc_cache(b, n + 1)
        layer.prefill(x[:, : n - 1], cache2, "torch")
        routing = None
        if layer.moe:
            layer.prefill(x, layer.alloc_cache(b, n + 1), "torch")
            w, ids = layer.last_routing
            routing = (w.view(b, n, -1)[:, -1], ids.view(b, n, -1)[:, -1])
        yd = layer.decode(x[:, -1], cache2, n - 1, "torch", routing=routing)
    assert rel_err(yd, y[:, -1]) < 1e-4


def test_ring_buffer_store_keeps_the_last_window():
    from archlint.bench.layer import BenchLayer

    buf = torch.full((1, 4), -1.0)
    vals = torch.arange(10.0).view(1, 10)
    BenchLayer._store(buf, vals, 0)
    # positions 6..9 in slots p % 4: 8, 9, 6, 7
    assert buf.tolist() == [[8.0, 9.0, 6.0, 7.0]]
    BenchLayer._store(buf, torch.tensor([[10.0]]), 10)
    assert buf.tolist() == [[8.0, 9.0, 10.0, 7.0]]


def test_kv_allocation_matches_profile_per_layer():
    from archlint.bench.layer import BenchLayer

    for name, ctx in (("mistral", 5000), ("gpt-oss", 300), ("deepseek-v3", 100)):
        a = analyze(name, Options(context=ctx, batch=2), SourceOptions(offline=True))
        for idx in (0, 1):
            layer = BenchLayer(a.spec, idx, dtype="bf16", device="meta")
            lkv = a.profile.kv.per_layer[idx]
            tokens = ctx if lkv.cap_tokens is None else min(ctx, lkv.cap_tokens)
            predicted = lkv.bytes_per_token * tokens * 2
            shapes = [t.shape for t in layer.alloc_cache(2, ctx).tensors.values()]
            got = sum(math.prod(s) * 2 for s in shapes)
            assert got == predicted, (name, idx, shapes)


def test_rope_frequencies_known_values():
    from archlint.bench.modelmath import rope_frequencies, softmax_scale

    a = _analysis("llama3.1").spec.layers[0].attention
    inv, af = rope_frequencies(a, 128)
    assert af == 1.0 and len(inv) == 64
    assert inv[0] == pytest.approx(1.0)  # short wavelengths kept
    assert inv[-1] == pytest.approx(500000.0 ** (-126 / 128) / 8.0)  # long ones / factor
    g = _analysis("gpt-oss").spec.layers[0].attention
    _, af = rope_frequencies(g, 64)
    assert af == pytest.approx(0.1 * math.log(32) + 1)
    d = _analysis("deepseek-v3").spec.layers[0].attention
    _, af = rope_frequencies(d, 64)
    assert af == pytest.approx(1.0)
    m = 0.1 * math.log(40) + 1
    assert softmax_scale(d, af) == pytest.approx(m * m / math.sqrt(192))


_INTERPRETED = """
import json, os, sys
os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported: read at @triton.jit time
sys.path.insert(0, "tests")
import test_bench_layer as t
from archlint.bench.checks import check_layer, check_ok
out = {}
for name in sys.argv[1].split(","):
    if name in ("mamba2", "cross", "shared"):
        (spec, idx), config = t.zoo(name), None
    else:
        a = t._analysis(name)
        spec, config = t.tiny(a.spec, window=16), a.checkpoint.config
        idx = t._layer_index(spec)
    r = check_layer(spec, idx, dtype="fp32", device="cpu", batch=1, context=20,
                    config=config, encoder_tokens=24)
    r["ok"] = check_ok(r)
    out[name] = r
print(json.dumps(out))
"""


@pytest.mark.kernels
@pytest.mark.parametrize("name", ["mixtral", "gpt-oss", "deepseek-v3",
                                  "qwen3-next,mamba2,cross,shared"])
def test_triton_path_matches_reference_interpreted(name):
    """The whole layer through the Triton kernels (interpreted, fp32) against the PyTorch path:
    prefill of 20 tokens (the window of 16 wraps), then one decode step. gpt-oss runs with its
    expert biases and clamped SwiGLU (swiglu_limit from its config); the last case is the
    constant-state and new attention kinds (Gated DeltaNet, Mamba-2, cross-attention, KV
    sharing), in one interpreter process."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("triton")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", _INTERPRETED, name], cwd=root,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for r in json.loads(proc.stdout.strip().splitlines()[-1]).values():
        assert r["ok"], r
        assert r["prefill_rel_err"] < 1e-4 and r["decode_rel_err"] < 1e-4, r


def test_chunked_attention_reference_attends_within_chunk():
    from archlint.bench.layer import BenchLayer

    spec = tiny(_analysis("llama3.1").spec, chunk=8)
    layer = BenchLayer(spec, 0, dtype="fp32", device="cpu")
    b, n = 1, 20
    x = layer.random_input(b, n)
    with torch.no_grad():
        y = layer.prefill(x, layer.alloc_cache(b, n), "torch")
        # the last chunk (positions 16..19) alone gives the same rows: nothing crosses chunks
        # (rope depends on absolute positions, so compare via decode of position 19)
        cache = layer.alloc_cache(b, n)
        layer.prefill(x[:, :19], cache, "torch")
        yd = layer.decode(x[:, 19], cache, 19, "torch")
    assert torch.allclose(yd, y[:, -1], rtol=1e-4, atol=1e-4)
    assert layer.cache_cap(n) == 8


def test_phase_timer_plumbing_on_the_host_clock():
    """The timing half of run_layer on a CPU, torch path, host clock: every phase carries its
    work, its bound and a rate per path (the numbers mean nothing here; the plumbing is what
    is checked), an MoE layer the experts its routing hit, decode the tokens it read."""
    from archlint.bench.layer import BenchLayer
    from archlint.bench.run import _PhaseTimer, measure_cache
    from archlint.bench.timing import Peaks

    analysis = _profiled(tiny(_analysis("mixtral").spec), context=32, batch=2)
    bl = BenchLayer(analysis.spec, 0, dtype="fp32", device="cpu", seed=0)
    cache, _ = measure_cache(bl, analysis.profile, layer=0, batch=2, context=32, dtype="fp32")
    peaks = Peaks(gpu="host", copy_bytes_per_s=1e11, bf16_flops=1e12, memory_bytes=2**34,
                  sms=1)
    timer = _PhaseTimer(bl, cache, analysis.spec, peaks, budget_s=0.001, paths=["torch"])
    timing = timer.run(2, 32, graphs=False, on_gpu=False)
    assert set(timing) == {"prefill", "decode"}
    assert timing["prefill"]["tokens"] == 2 * 32 and timing["decode"]["tokens"] == 2
    for phase in timing.values():
        assert phase["bytes"] > 0 and phase["flops"] > 0
        assert phase["bound"] in ("memory", "compute")
        assert phase["torch"]["tokens_per_s"] > 0 and "triton" not in phase
        assert 1 <= phase["experts_touched"] <= 8
    assert timing["decode"]["kv_tokens_read"] == 32


def test_a_refused_kernel_is_a_failed_check_not_a_crash(monkeypatch):
    """Issue 17: the H200 refused a tile (OutOfResources: shared memory 425,984 > 232,448) and
    `archlint bench` died with an internal error. A refusal now lands in the check's row."""
    errors = pytest.importorskip("triton.runtime.errors")
    from archlint.bench import run

    def refuse(*a, **k):
        raise errors.OutOfResources(425_984, 232_448, "shared memory")

    monkeypatch.setattr(run, "check_layer", refuse)
    checks = run._run_checks(None, 0, dtype="bf16", device="cpu", seed=0, config=None,
                             encoder_tokens=None)
    assert [c["dtype"] for c in checks] == ["fp32", "bf16"]
    assert not any(c["ok"] for c in checks) and "425984" in checks[0]["error"]


def test_stages_count_the_compiles_inside_each_stage():
    """A compile is counted in the stage it finished in (Triton calls `jit_cache_hook` before
    a compile and `jit_post_compile_hook` after, both with the kernel's cache key); a hook
    call with no matching start counts nothing; `_before` returns False, which Triton reads
    as "go on and compile" (True would skip it)."""
    from archlint.bench.compilelog import CompileLog, Stages

    log = CompileLog()
    st = Stages(log)
    st.start("check")
    assert log._before(key="k1") is False
    log._before(key="k2")
    log._after(key="k1")
    log._after(key="k2")
    st.start("build")  # ends "check"
    log._after(key="never started")
    st.start("check")  # a stage run twice adds up
    log._before(key="k3")
    log._after(key="k3")
    out = st.as_dict()
    assert {k: v["count"] for k, v in out["compiles"].items()} == {"check": 3, "build": 0}
    assert set(out["wall_s"]) == {"check", "build"}
    assert log.snapshot()[0] == 3
    assert "compiles" not in Stages().as_dict()  # without a log: wall times only
