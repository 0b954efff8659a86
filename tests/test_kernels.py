"""Triton kernels against their plain-torch references, on the CPU under TRITON_INTERPRET=1.

Tiny shapes (the interpreter runs each program in numpy). fp32 and fp16 only: the interpreter
does not emulate bf16 tl.dot. Tolerance: relative error ||out - ref|| / ||ref|| against a float32
reference, below 1e-5 for fp32 inputs and 3e-3 for fp16 (a few ulps of fp16 accumulated over a
softmax or a GEMM); NaN never passes. Outputs that the API lets us pass are poisoned with NaN
first, so an element the kernel forgot to write fails.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
from pathlib import Path

import pytest

# Before triton is imported: its own library functions are wrapped for the interpreter only when
# the variable is set at import time. (Left set: these kernels exist here only interpreted.)
os.environ["TRITON_INTERPRET"] = "1"

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

pytestmark = pytest.mark.kernels

TOL = {torch.float32: 1e-5, torch.float16: 3e-3}
DTYPES = [torch.float32, torch.float16]


@pytest.fixture(scope="module")
def K():
    """The kernel modules, (re)imported with TRITON_INTERPRET=1 set: @triton.jit reads it when a
    kernel is defined, so modules imported earlier without it are reloaded. Importing `_util`
    also fits Triton 3.6's interpreter to NumPy >= 2.4 (`_util.interpreter_compat`)."""
    try:
        base = "archlint.kernels"
        importlib.import_module(base + "._util")
    except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        base = "kernels"
    mods = {}
    for name in ("_util", "work", "attention_prefill", "attention_decode", "mla", "moe_tma",
                 "moe", "rmsnorm", "rope", "reference", "ssd", "gated_delta"):
        mods[name] = importlib.reload(importlib.import_module(f"{base}.{name}"))
    return type("Kernels", (), mods)


def test_kernels_compile_for_hopper():
    """Every kernel compiles for sm_90 with this Triton, no GPU needed (the interpreter cannot
    see compiler-only errors: a plain global read inside a kernel once passed every CPU test
    and failed on the H100). Runs in a subprocess without TRITON_INTERPRET."""
    import subprocess

    script = Path(__file__).resolve().parents[1] / "kernels" / "compile_check.py"
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                       timeout=600)
    if r.returncode == 3:
        pytest.skip(r.stderr.strip())
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]


def check(out, ref, dtype):
    out, ref = out.double(), ref.double()
    assert not torch.isnan(out).any(), "NaN in output (unwritten element or bad softmax)"
    err = ((out - ref).norm() / ref.norm().clamp_min(1e-30)).item()
    assert err < TOL[dtype], f"relative error {err:.3g} >= {TOL[dtype]}"


def gen(seed):
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "case",
    [
        # b, h, g, m, s, dqk, dv, options
        (1, 4, 2, 40, 40, 32, 32, {}),  # GQA causal, ragged last block
        (2, 4, 1, 24, 50, 32, 16, {"window": 7}),  # MQA, chunked prefill, window, Dv != Dqk
        (1, 2, 2, 20, 20, 48, 32, {"softcap": 5.0}),  # 48 = 32 + 16 split
        (1, 4, 2, 37, 37, 32, 32, {"sinks": True, "window": 16}),
        (1, 2, 2, 19, 19, 16, 16, {"causal": False}),
    ],
)
def test_prefill(K, dtype, case):
    b, h, g, m, s, dqk, dv, opts = case
    opts = dict(opts)
    r = gen(hash((b, h, m, s, dqk)) % 1000)
    q = torch.randn(b, h, m, dqk, generator=r).to(dtype)
    k = torch.randn(b, g, s, dqk, generator=r).to(dtype)
    v = torch.randn(b, g, s, dv, generator=r).to(dtype)
    if opts.pop("sinks", False):
        opts["sinks"] = torch.randn(h, generator=r)
    out = torch.full((b, h, m, dv), float("nan"), dtype=dtype)
    K.attention_prefill.prefill_attention(q, k, v, out=out, **opts)
    check(out, K.reference.attention_ref(q.float(), k.float(), v.float(), **opts), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "case",
    [
        # b, h, g, m, s, pack, options: GROUP = h / g query heads share a KV head
        (2, 8, 2, 40, 40, 2, {}),  # 4 heads a group, 2 per tile: causal, ragged last block
        (1, 8, 2, 37, 37, 4, {"sinks": True, "window": 9}),  # per-row sinks, window edge
        (1, 4, 1, 24, 50, 2, {"window": 7}),  # MQA, chunked prefill onto a cache
        (1, 4, 2, 19, 19, 2, {"causal": False}),
    ],
)
def test_prefill_packed_heads(K, dtype, case):
    """Several query heads of one KV group in one tile (rows head-major): every row reads its
    own head's query, sink and output, and the key range of its positions."""
    b, h, g, m, s, pack, opts = case
    opts = dict(opts)
    r = gen(hash((b, h, m, s, pack)) % 1000)
    q = torch.randn(b, h, m, 32, generator=r).to(dtype)
    k = torch.randn(b, g, s, 32, generator=r).to(dtype)
    v = torch.randn(b, g, s, 16, generator=r).to(dtype)
    if opts.pop("sinks", False):
        opts["sinks"] = torch.randn(h, generator=r)
    out = torch.full((b, h, m, 16), float("nan"), dtype=dtype)
    K.attention_prefill.prefill_attention(q, k, v, out=out, pack_heads=pack, **opts)
    check(out, K.reference.attention_ref(q.float(), k.float(), v.float(), **opts), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "case",
    [
        # b, h, g, m, s, pack, options
        (1, 4, 2, 40, 40, 1, {}),  # causal, ragged last block
        (1, 4, 2, 40, 40, 2, {"window": 9}),  # window, 2 heads a tile
        (2, 4, 1, 24, 50, 1, {"window": 7}),  # MQA, chunked prefill onto a cache
        (1, 4, 4, 33, 33, 1, {"causal": False, "window": 5}),  # band without the causal cut
    ],
)
def test_prefill_merged_loop(K, dtype, case):
    """MERGE: the visited key tiles in one masked loop (instead of edge / interior /
    diagonal stages) computes the same function, a fixed 16x16 tile launched directly."""
    b, h, g, m, s, pack, opts = case
    ap = K.attention_prefill
    r = gen(hash((b, h, m, s, pack, 7)) % 1000)
    q = torch.randn(b, h, m, 32, generator=r).to(dtype)
    k = torch.randn(b, g, s, 32, generator=r).to(dtype)
    v = torch.randn(b, g, s, 16, generator=r).to(dtype)
    out = torch.full((b, h, m, 16), float("nan"), dtype=dtype)
    ap.prefill_attention(q, k, v, out=out, tile=ap._config(16 * pack, 16, 4, 1, pack, True),
                         **opts)
    check(out, K.reference.attention_ref(q.float(), k.float(), v.float(), **opts), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "case",
    [
        # b, h, g, m, s, s_max, pack, options
        (2, 4, 2, 40, 40, 40, 1, {}),  # GQA causal, ragged last block
        (1, 8, 2, 37, 37, 48, 2, {"window": 9}),  # a cache's view (S < S_max), 2 heads a tile
        (2, 4, 1, 24, 50, 64, 1, {"window": 7}),  # MQA, chunked prefill onto a cache view
        (1, 4, 4, 33, 33, 33, 1, {"causal": False}),
    ],
)
def test_prefill_tma_tiles(K, dtype, case):
    """TMA: interior key tiles read K/V through descriptors over the cache's rows (each head's
    first row from the batch and head strides, also for a view of a longer cache whose unread
    tail is NaN), masked tiles through pointers; same function as the reference."""
    b, h, g, m, s, s_max, pack, opts = case
    ap = K.attention_prefill
    if ap.TensorDescriptor is None:
        pytest.skip("this Triton has no host-side tensor descriptors")
    r = gen(hash((b, h, m, s, s_max, 11)) % 1000)
    q = torch.randn(b, h, m, 32, generator=r).to(dtype)
    kc = torch.full((b, g, s_max, 32), float("nan")).to(dtype)
    vc = torch.full((b, g, s_max, 32), float("nan")).to(dtype)
    kc[:, :, :s] = torch.randn(b, g, s, 32, generator=r).to(dtype)
    vc[:, :, :s] = torch.randn(b, g, s, 32, generator=r).to(dtype)
    k, v = kc[:, :, :s], vc[:, :, :s]
    assert ap.tma_ready(k, v, {"D2": 0, "DV": 32, "BLOCK_DV": 32})
    out = torch.full((b, h, m, 32), float("nan"), dtype=dtype)
    ap.prefill_attention(q, k, v, out=out,
                         tile=ap._config(16 * pack, 16, 4, 1, pack, False, False, True), **opts)
    check(out, K.reference.attention_ref(q.float(), k.float(), v.float(), **opts), dtype)


def test_prefill_picks_match_only_their_class(K):
    """Each measured pick (kernels/prefill_picks.py) fits a Hopper block's shared memory,
    packs heads only where the group divides, and applies only to its class: the same call
    with another head dim, a short query, another chip or fp32 goes to the autotuner."""
    ap = K.attention_prefill
    limit = K._util.SHARED_MEMORY_BUDGET
    assert ap.PICKS
    for entry in ap.PICKS:
        m = entry["match"]
        meta = {k: m[k] for k in ("D1", "D2", "DV", "GROUP", "GROUP2", "CAUSAL", "HAS_WINDOW",
                                  "HAS_SOFTCAP", "HAS_SINKS")} | {"BLOCK_DV": m["DV"]}
        window = m["window"][0]
        c = ap.pick_prefill_config(meta, m["min_m"], window, m["elem"], m["capability"], limit)
        assert c is not None and _shape(c)[:2] == tuple(entry["config"][:2])
        assert m["GROUP"] % ap._pack(c) == 0
        assert ap.prefill_shared_bytes(c, m["D1"] + m["D2"], m["DV"], m["elem"]) <= limit
        assert ap.pick_prefill_config(meta, m["min_m"] // 2, window, 2, m["capability"],
                                      limit) is None
        assert ap.pick_prefill_config(meta, m["min_m"], window, 4, m["capability"],
                                      limit) is None
        assert ap.pick_prefill_config(meta, m["min_m"], window, 2, [8, 0], limit) is None
        wide = meta | {"D1": 2 * m["D1"], "DV": 2 * m["DV"], "BLOCK_DV": 2 * m["DV"]}
        assert ap.pick_prefill_config(wide, m["min_m"], window, 2, m["capability"],
                                      limit) is None


def test_packed_tiles_only_where_the_group_divides(K):
    ap = K.attention_prefill
    b16 = {"Q1": torch.empty(1, dtype=torch.bfloat16), "M_Q": 4096}
    meta = dict(D1=128, D2=0, BLOCK_DV=128)
    gqa = ap.prune_prefill_configs(ap._CONFIGS, b16, GROUP=4, GROUP2=4, **meta)
    assert set(ap._PACKED) <= set(gqa) and set(ap._TUNED) <= set(gqa)
    mha = ap.prune_prefill_configs(ap._CONFIGS, b16, GROUP=1, GROUP2=1, **meta)
    assert mha == ap._TUNED


def test_prefill_window_skips_tiles(K):
    """A window's query block visits O(W) keys: poison keys outside the window with NaN; a
    kernel that loads them (instead of skipping the tiles) returns NaN."""
    b, h, s, d, w = 1, 1, 96, 16, 8
    q, k, v = (torch.randn(b, h, s, d) for _ in range(3))
    k2, v2 = k.clone(), v.clone()
    # tiles of 16 keys: queries 80..95 (the last block) need keys >= 73 only
    k2[:, :, :64] = float("nan")
    v2[:, :, :64] = float("nan")
    out = K.attention_prefill.prefill_attention(q, k2, v2, window=w)
    ref = K.reference.attention_ref(q, k, v, window=w)
    check(out[:, :, 80:], ref[:, :, 80:], torch.float32)


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "case",
    [
        # b, h, g, s_max, d, lens step, options
        (3, 8, 2, 70, 32, 7, {}),
        (2, 4, 4, 90, 64, 11, {"window": 20, "sinks": True}),
        (2, 6, 1, 45, 32, 40, {"softcap": 3.0, "num_splits": 3}),  # a split with no keys
    ],
)
def test_decode(K, dtype, case):
    b, h, g, s, d, step, opts = case
    opts = dict(opts)
    r = gen(s + d)
    q = torch.randn(b, h, d, generator=r).to(dtype)
    kc = torch.randn(b, g, s, d, generator=r).to(dtype)
    vc = torch.randn(b, g, s, d, generator=r).to(dtype)
    lens = torch.tensor([s - i * step for i in range(b)], dtype=torch.int32)
    if opts.pop("sinks", False):
        opts["sinks"] = torch.randn(h, generator=r)
    out = torch.full((b, h, d), float("nan"), dtype=dtype)
    K.attention_decode.decode_attention(q, kc, vc, lens, out=out, **opts)
    opts.pop("num_splits", None)
    ref = K.reference.decode_attention_ref(q.float(), kc.float(), vc.float(), lens, **opts)
    check(out, ref, dtype)


def test_decode_window_reads_only_last_w(K):
    """Keys before the window are NaN: a kernel that reads them (rather than starting its loop
    at len - W) returns NaN."""
    b, h, g, s, d, w = 2, 4, 2, 100, 16, 24
    q = torch.randn(b, h, d)
    kc, vc = torch.randn(b, g, s, d), torch.randn(b, g, s, d)
    lens = torch.tensor([100, 61], dtype=torch.int32)
    k2, v2 = kc.clone(), vc.clone()
    for bi, n in enumerate(lens.tolist()):
        k2[bi, :, : n - w] = float("nan")
        v2[bi, :, : n - w] = float("nan")
    out = K.attention_decode.decode_attention(q, k2, v2, lens, window=w, num_splits=2)
    check(out, K.reference.decode_attention_ref(q, kc, vc, lens, window=w), torch.float32)


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("split_r", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_mla_decode(K, dtype, split_r):
    b, h, rank, p, s = 2, 20, 64, 16, 70  # 20 heads: a ragged head block
    r = gen(7)
    ql = torch.randn(b, h, rank, generator=r).to(dtype)
    qr = torch.randn(b, h, p, generator=r).to(dtype)
    cache = torch.randn(b, s, rank + p, generator=r).to(dtype)  # one buffer, two views
    c, kr = cache[..., :rank], cache[..., rank:]
    lens = torch.tensor([70, 33], dtype=torch.int32)
    out = torch.full((b, h, rank), float("nan"), dtype=dtype)
    K.mla.mla_decode(ql, qr, c, kr, lens, sm_scale=0.1, num_splits=2, out=out,
                     split_r=split_r)
    ref = K.reference.mla_decode_ref(ql.float(), qr.float(), c.float(), kr.float(), lens,
                                     sm_scale=0.1)
    check(out, ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mla_prefill_and_absorbed_decode(K, dtype):
    b, h, rank, p, dn, dv, m = 1, 4, 32, 16, 32, 16, 24
    r = gen(11)
    qn = torch.randn(b, h, m, dn, generator=r).to(dtype)
    qp = torch.randn(b, h, m, p, generator=r).to(dtype)
    c = torch.randn(b, m, rank, generator=r).to(dtype)
    kr = torch.randn(b, m, p, generator=r).to(dtype)
    wuk = (torch.randn(h, dn, rank, generator=r) / math.sqrt(rank)).to(dtype)
    wuv = (torch.randn(h, dv, rank, generator=r) / math.sqrt(rank)).to(dtype)
    scale = 1.0 / math.sqrt(dn + p)
    ref = K.reference.mla_decompress_ref(qn.float(), qp.float(), c.float(), kr.float(),
                                         wuk.float(), wuv.float(), sm_scale=scale)
    check(K.mla.mla_prefill(qn, qp, c, kr, wuk, wuv, sm_scale=scale), ref, dtype)
    # the last query row is a decode step over all m keys: absorbed == decompressed
    lens = torch.tensor([m], dtype=torch.int32)
    dec = K.mla.mla_decode_absorbed(qn[:, :, -1], qp[:, :, -1], c, kr, lens, wuk, wuv,
                                    sm_scale=scale)
    check(dec, ref[:, :, -1], dtype)


# --------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------
# autotune pruning by shared memory (what the H200 refused: 425,984 B > 232,448 B)
# --------------------------------------------------------------------------------------------
def _shape(c):
    return (*c.kwargs.values(), c.num_warps, c.num_stages)


def test_prefill_pruning_fits_shared_memory(K):
    """DeepSeek-V3's MLA prefill (head dims 128 + 64, value 128). Compiler figures for these
    tiles (triton.compile for sm_90, kernels/compile_check.py): bf16 128x64 s3 172,032 B,
    128x128 s3 294,912 B (over the 232,448 B a block has); fp32 64x32 s4 212,992 B in tf32 and
    253,952 B under tf32x3, 128x64 s3 425,984 B under tf32x3 (the H200's error)."""
    ap = K.attention_prefill
    meta = dict(D1=128, D2=64, BLOCK_DV=128)
    bf16 = ap.prune_prefill_configs(ap._CONFIGS, {"Q1": torch.empty(1, dtype=torch.bfloat16),
                                                  "M_Q": 4096}, **meta)
    assert (128, 128, 8, 3) not in map(_shape, bf16) and (128, 64, 8, 3) in map(_shape, bf16)
    assert all(c not in ap._FALLBACKS for c in bf16)
    fp32 = ap.prune_prefill_configs(ap._CONFIGS, {"Q1": torch.empty(1), "M_Q": 192}, **meta)
    assert fp32 and all(ap.prefill_shared_bytes(c, 192, 128, 4) <= 232_448 for c in fp32)
    assert (128, 64, 8, 3) not in map(_shape, fp32) and (64, 32, 4, 4) not in map(_shape, fp32)
    # head dim 128 in bf16: every tuned tile stays (the H100/H200 tuning is unchanged)
    plain = ap.prune_prefill_configs(ap._CONFIGS, {"Q1": torch.empty(1, dtype=torch.bfloat16),
                                                   "M_Q": 4096}, D1=128, D2=0, BLOCK_DV=128)
    assert plain == ap._TUNED


def test_decode_mla_moe_pruning_fits_shared_memory(K):
    """fp32 tiles of the decode, MLA decode and MoE kernels fit a block; bf16 choices keep
    their tuned tiles."""
    f32, b16 = torch.empty(1), torch.empty(1, dtype=torch.bfloat16)
    ad, mla, moe = K.attention_decode, K.mla, K.moe
    meta = dict(BLOCK_G=16, BLOCK_D=256, BLOCK_DV=256)
    kept = ad.prune_decode_configs(ad._CONFIGS, {"Q": f32}, **meta)
    assert kept and all(ad.decode_shared_bytes(c, 16, 256, 256, 4) <= 232_448 for c in kept)
    kept = mla.prune_mla_configs(mla._CONFIGS, {"QL": f32, "H": 128}, R=512, P=64)
    # 16 heads + 1 buffer of 16 keys, 576 wide, fp32: (16 + 2·16)·576·4 = 110,592 B
    assert [_shape(c) for c in kept] == [(16, 16, 4, 1)]
    kept = mla.prune_mla_configs(mla._CONFIGS, {"QL": b16, "H": 128}, R=512, P=64)
    assert (64, 64, 8, 1) in map(_shape, kept) and all(c not in mla._FALLBACKS for c in kept)
    for bm in (16, 128):
        kept = moe.prune_moe_configs(moe._CONFIGS, {"X": f32}, BLOCK_M=bm)
        assert kept and all(moe._shared_bytes(c, bm, 4) <= 232_448 for c in kept)


def test_moe_down_pruning_counts_one_weight_tile(K):
    """The down GEMM streams one weight tile per K step, not gate/up's two: its 256-wide tiles
    fit. By hand, the TMA down tile 256x64 at BLOCK_M 128, 3 stages, bf16: 3·(128·64 + 256·64)·2
    + 3·8 (one mbarrier a stage) = 147,480 B, the figure Triton 3.6 and 3.9 compile it to for
    sm_90 (kernels/compile_check.py); counted with two weight tiles it would be 245,784 B, over
    the 232,448 B of a block, and pruned."""
    moe = K.moe
    b16 = torch.empty(1, dtype=torch.bfloat16)
    tile = moe.tma_config((256, 64, 8, 3, 1))
    assert moe._shared_bytes(tile, 128, 2, 1, tma=True) == 147_480
    assert moe._shared_bytes(tile, 128, 2, 2, tma=True) == 245_784
    down = moe._down_tma_tuned.early_config_prune(moe._down_tma_tuned.configs, {"Hd": b16},
                                                  BLOCK_M=128)
    assert sorted(map(moe._tma_shape, down)) == sorted(moe._TMA_DOWN[128])
    ptr = moe.prune_moe_configs(moe._CONFIGS, {"Hin": b16}, BLOCK_M=128)
    assert (256, 64, 8, 3) in [(c.kwargs["BLOCK_N"], c.kwargs["BLOCK_K"], c.num_warps,
                                c.num_stages) for c in ptr]


def test_pruning_follows_the_device_limit(K, monkeypatch):
    """The limit is the device's, not Hopper's: on a chip with 101,376 B a block (sm_86/sm_89,
    CUDA's programming guide, compute capabilities table: 99 KB) the MLA prefill keeps only
    tiles whose estimate fits it, e.g. bf16 64x64 s3 = (3·64·(192 + 128) + 64·192)·2 =
    147,456 B is dropped and 64x32 s2 = (2·32·320 + 64·192)·2 = 65,536 B is kept."""
    ap, util = K.attention_prefill, K._util
    assert util.shared_memory_limit() == util.SHARED_MEMORY_BUDGET  # interpreter: Hopper's
    monkeypatch.setattr(ap, "shared_memory_limit", lambda named_args=None: 101_376)
    meta = dict(D1=128, D2=64, BLOCK_DV=128)
    kept = ap.prune_prefill_configs(ap._CONFIGS, {"Q1": torch.empty(1, dtype=torch.bfloat16),
                                                  "M_Q": 4096}, **meta)
    assert kept and all(ap.prefill_shared_bytes(c, 192, 128, 2) <= 101_376 for c in kept)
    assert (64, 64, 4, 3) not in map(_shape, kept)
    assert ap.prefill_shared_bytes(ap._config(64, 32, 4, 2), 192, 128, 2) == 65_536


def test_lone_survivor_is_timed_beside_a_fallback(K):
    """One fitting tile would be launched untimed by Triton's autotuner (a wrong estimate
    would then crash); with the smallest fallback beside it the autotuner times both and skips
    whichever the compiler refuses."""
    fit = K._util.fit_shared
    size = {"a": 300, "b": 100, "f1": 50, "f2": 10}
    assert fit(["a", "b"], size.get, ["f1", "f2"], limit=200) == ["b", "f2"]
    assert fit(["a", "b"], size.get, ["f1", "f2"], limit=400) == ["a", "b"]
    assert fit(["a"], size.get, ["f1", "f2"], limit=40) == ["f2"]  # only the last fallback fits
    assert fit(["a"], size.get, ["f1", "f2"], limit=60) == ["f1", "f2"]
    assert fit(["a"], size.get, ["f1"], limit=5) == ["f1"]  # nothing fits: the smallest


def test_routing(K):
    r = gen(3)
    logits = torch.randn(9, 16, generator=r)
    w, ids = K.moe.route_softmax_topk(logits, 2)
    rw, rids = K.reference.route_softmax_topk_ref(logits, 2)
    assert torch.equal(ids, rids) and torch.allclose(w, rw)
    bias = torch.randn(16, generator=r) * 0.1
    w, ids = K.moe.route_sigmoid_grouped_topk(logits, 4, bias, 4, 2, scaling=2.5)
    rw, rids = K.reference.route_sigmoid_grouped_topk_ref(logits, 4, bias, 4, 2, scaling=2.5)
    assert torch.equal(ids, rids) and torch.allclose(w, rw)


def test_align_by_expert(K):
    ids = torch.tensor([[3, 0], [3, 1], [0, 3], [3, 2]], dtype=torch.int32)
    slots, blocks = K.moe.align_by_expert(ids, 5, 4)
    n = ids.numel()
    seen = sorted(int(x) for x in slots if x < n)
    assert seen == list(range(n))  # every slot exactly once
    for bi, e in enumerate(blocks.tolist()):
        for sl in slots[bi * 4 : bi * 4 + 4].tolist():
            if sl < n:
                assert int(ids.reshape(-1)[sl]) == e  # blocks hold one expert's slots


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("block_m", [16, 32])
def test_fused_moe_softmax(K, dtype, block_m):
    t, e, k, c, f = 5, 8, 2, 48, 40
    r = gen(block_m)
    x = torch.randn(t, c, generator=r).to(dtype)
    w13 = (torch.randn(e, 2 * f, c, generator=r) * 0.2).to(dtype)
    w2 = (torch.randn(e, c, f, generator=r) * 0.2).to(dtype)
    w, ids = K.moe.route_softmax_topk(torch.randn(t, e, generator=r), k)
    out = K.moe.fused_moe(x, w13, w2, w, ids, block_m=block_m)
    check(out, K.reference.moe_ref(x.float(), w13.float(), w2.float(), w, ids), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_moe_deepseek_shared(K, dtype):
    t, e, k, c, f = 6, 16, 4, 32, 24
    r = gen(5)
    x = torch.randn(t, c, generator=r).to(dtype)
    w13 = (torch.randn(e, 2 * f, c, generator=r) * 0.2).to(dtype)
    w2 = (torch.randn(e, c, f, generator=r) * 0.2).to(dtype)
    sw13 = (torch.randn(2 * f, c, generator=r) * 0.2).to(dtype)
    sw2 = (torch.randn(c, f, generator=r) * 0.2).to(dtype)
    bias = torch.randn(e, generator=r) * 0.1
    w, ids = K.moe.route_sigmoid_grouped_topk(torch.randn(t, e, generator=r), k, bias, 4, 2,
                                              scaling=2.5)
    out = K.moe.fused_moe(x, w13, w2, w, ids, shared_w13=sw13, shared_w2=sw2)
    ref = K.reference.moe_ref(x.float(), w13.float(), w2.float(), w, ids,
                              shared_w13=sw13.float(), shared_w2=sw2.float())
    check(out, ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c,f", [(48, 40), (40, 24)])
def test_fused_moe_tma_persistent(K, dtype, c, f):
    """The TMA-fed persistent GEMMs (moe_tma.py) compute the same function as the loop: 16x16
    tiles over 8 programs (the interpreter's multiprocessor count), so each program walks
    several tiles; F = 40 leaves a partial n-tile whose gate rows run into the up rows (masked
    at the store), C = 40 a partial K step (masked A, zero-filled descriptor). With the shared
    expert, biases and the clamp."""
    if K.moe_tma.TensorDescriptor is None:
        pytest.skip("this Triton has no host-side tensor descriptors")
    t, e, k = 9, 8, 2
    r = gen(c + f)
    x = torch.randn(t, c, generator=r).to(dtype)
    w13 = (torch.randn(e, 2 * f, c, generator=r) * 1.5).to(dtype)
    w2 = (torch.randn(e, c, f, generator=r) * 0.2).to(dtype)
    b13 = torch.randn(e, 2 * f, generator=r).to(dtype)
    b2 = torch.randn(e, c, generator=r).to(dtype)
    sw13 = (torch.randn(2 * f, c, generator=r) * 0.2).to(dtype)
    sw2 = (torch.randn(c, f, generator=r) * 0.2).to(dtype)
    w, ids = K.moe.route_softmax_topk(torch.randn(t, e, generator=r), k)
    out = K.moe.fused_moe(x, w13, w2, w, ids, shared_w13=sw13, shared_w2=sw2, block_m=16,
                          use_tma=True)
    check(out, K.reference.moe_ref(x.float(), w13.float(), w2.float(), w, ids,
                                   shared_w13=sw13.float(), shared_w2=sw2.float()), dtype)
    out = K.moe.fused_moe(x, w13, w2, w, ids, b13=b13, b2=b2, limit=7.0, block_m=16,
                          use_tma=True)
    ref = K.reference.moe_ref(x.float(), w13.float(), w2.float(), w, ids, b13=b13.float(),
                              b2=b2.float(), limit=7.0)
    check(out, ref, dtype)


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_rmsnorm(K, dtype):
    r = gen(1)
    x = torch.randn(7, 100, generator=r).to(dtype)
    res = torch.randn(7, 100, generator=r).to(dtype)
    w = torch.randn(100, generator=r).to(dtype)
    check(K.rmsnorm.rmsnorm(x, w), K.reference.rmsnorm_ref(x.float(), w.float()), dtype)
    y, new_res = K.rmsnorm.rmsnorm(x, w, residual=res, weight_offset=1.0)
    ry, rres = K.reference.rmsnorm_ref(x, w, residual=res, weight_offset=1.0)
    check(y, ry, dtype)
    assert torch.equal(new_res, rres)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("neox", [True, False])
@pytest.mark.parametrize("d,rot", [(32, 32), (64, 16)])
def test_rope(K, dtype, neox, d, rot):
    r = gen(d + rot)
    q = torch.randn(5, 6, d, generator=r).to(dtype)
    k = torch.randn(5, 2, d, generator=r).to(dtype)
    pos = torch.tensor([0, 3, 9, 100, 4000])
    inv = 1.0 / (10000 ** (torch.arange(0, rot, 2).float() / rot))
    qo, ko = K.rope.rope(q, k, pos, inv, neox=neox)
    check(qo, K.reference.rope_ref(q.float(), pos, inv, neox=neox), dtype)
    check(ko, K.reference.rope_ref(k.float(), pos, inv, neox=neox), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_moe_biases_and_clamped_swiglu(K, dtype):
    """gpt-oss's experts: gate/up and down biases, SwiGLU clamped at swiglu_limit (7.0) with
    gate·sigmoid(1.702·gate)·(up + 1). Weights scaled up so that the clamp binds."""
    t, e, k, c, f = 7, 8, 4, 32, 24
    r = gen(11)
    x = torch.randn(t, c, generator=r).to(dtype)
    w13 = (torch.randn(e, 2 * f, c, generator=r) * 1.5).to(dtype)
    w2 = (torch.randn(e, c, f, generator=r) * 0.2).to(dtype)
    b13 = torch.randn(e, 2 * f, generator=r).to(dtype)
    b2 = torch.randn(e, c, generator=r).to(dtype)
    w, ids = K.moe.route_softmax_topk(torch.randn(t, e, generator=r), k)
    gate = x.float() @ w13[0, :f].float().T + b13[0, :f].float()
    assert bool((gate > 7.0).any())  # the clamp is exercised
    out = K.moe.fused_moe(x, w13, w2, w, ids, b13=b13, b2=b2, limit=7.0)
    ref = K.reference.moe_ref(x.float(), w13.float(), w2.float(), w, ids, b13=b13.float(),
                              b2=b2.float(), limit=7.0)
    check(out, ref, dtype)


def _ssd_inputs(r, b, length, h, p, g, n, dtype):
    x = torch.randn(b, length, h, p, generator=r).to(dtype)
    dt = torch.nn.functional.softplus(torch.randn(b, length, h, generator=r) - 1.0)
    a = -torch.exp(torch.randn(h, generator=r) * 0.5)
    bb = torch.randn(b, length, g, n, generator=r).to(dtype)
    cc = torch.randn(b, length, g, n, generator=r).to(dtype)
    d = torch.randn(h, generator=r)
    return x, dt, a, bb, cc, d, torch.randn(b, h, p, n, generator=r)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("length", [1, 37])
def test_ssd_scan(K, dtype, length):
    """Mamba-2's chunked scan (Triton, chunks of 16 interpreted) and the torch chunked SSD
    against the token-by-token recurrence; 37 tokens leave a ragged last chunk; 2 B/C groups
    for 4 heads; a random initial state (decode continues a prefill's state)."""
    r = gen(length)
    x, dt, a, b, c, d, s0 = _ssd_inputs(r, 2, length, 4, 16, 2, 16, dtype)
    s_ref = s0.clone()
    y_ref = K.reference.ssd_scan_ref(x.float(), dt, a, b.float(), c.float(), d, s_ref)
    s_tri = s0.clone()
    y = torch.full_like(x, float("nan"))
    K.ssd.ssd_scan(x, dt, a, b, c, d, s_tri, out=y)
    check(y, y_ref, dtype)
    check(s_tri, s_ref, dtype)
    s_chk = s0.clone()
    y_chk = K.reference.ssd_chunked_ref(x.float(), dt, a, b.float(), c.float(), d, s_chk,
                                        chunk=8)
    check(y_chk, y_ref, torch.float32)
    check(s_chk, s_ref, torch.float32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gated_delta_rule(K, dtype):
    """The recurrent gated delta rule (Triton, value columns split in blocks of 16) against
    the token loop; Dv = 40 leaves a ragged column block."""
    b, length, h, dk, dv = 2, 19, 3, 16, 40
    r = gen(5)
    q = torch.nn.functional.normalize(torch.randn(b, length, h, dk, generator=r), dim=-1)
    k = torch.nn.functional.normalize(torch.randn(b, length, h, dk, generator=r), dim=-1)
    v = torch.randn(b, length, h, dv, generator=r)
    g = -torch.rand(b, length, h, generator=r)
    beta = torch.rand(b, length, h, generator=r)
    s0 = torch.randn(b, h, dk, dv, generator=r)
    s_ref = s0.clone()
    ref = K.reference.gated_delta_ref(q, k, v, g, beta, s_ref, scale=dk**-0.5)
    s_tri = s0.clone()
    out = torch.full((b, length, h, dv), float("nan"), dtype=dtype)
    K.gated_delta.gated_delta_rule(q.to(dtype), k.to(dtype), v.to(dtype), g, beta, s_tri,
                                   scale=dk**-0.5, out=out)
    check(out, ref, dtype)
    check(s_tri, s_ref, dtype)


def test_bench_tuning_table_reads_the_autotuners_timings():
    """benchmarks/gpu_kernels.py reports the autotuner's per-tile timings: Triton keeps, per
    config, the [median, p20, p80] of `do_bench` (a list), older versions a float."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_kernels.py"
    spec = importlib.util.spec_from_file_location("bench_kernels_under_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    from types import SimpleNamespace

    tuned = SimpleNamespace(configs_timings={"tile A": [0.5, 0.4, 0.6], "tile B": 0.7})
    assert mod.tuning_table(tuned) == {"tile A": 0.5, "tile B": 0.7}
    assert mod.tuning_table(object()) == {}
