#!/usr/bin/env python3
"""Benchmark archlint's Triton kernels against the PyTorch path, side by side in one run.

    PYTHONUNBUFFERED=1 python benchmarks/gpu_kernels.py --json out.json [--only decode,moe]
    TRITON_INTERPRET=1 python benchmarks/gpu_kernels.py --smoke      # CPU: plumbing only

Method (see the device notes' METHOD.md): measure the two ceilings first (device-to-device copy
bandwidth counting read + write; a bf16 8192^3 matmul); check every kernel in fp32 against its
reference (tf32 dots: relative error < 5e-3) and in bf16 at the benchmarked shape against the
PyTorch path (< 2e-2); then time with CUDA events after warm-up (autotuning happens there),
median of many runs, inputs drawn fresh and rotated among several sets where they are small
enough that one set would sit in L2 (50 MB on an H100).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
try:
    import archlint.kernels.attention_decode  # noqa: F401

    PKG = "archlint.kernels"
except Exception:  # a bare checkout (the device machine): import kernels/ as a package
    sys.path.insert(0, str(ROOT))
    PKG = "kernels"

import importlib  # noqa: E402

sys.path.insert(0, str(ROOT))
TIMING = importlib.import_module("archlint.bench.timing")  # one timing method for both benches

AP = importlib.import_module(f"{PKG}.attention_prefill")
AD = importlib.import_module(f"{PKG}.attention_decode")
MLA = importlib.import_module(f"{PKG}.mla")
MOE = importlib.import_module(f"{PKG}.moe")
RMS = importlib.import_module(f"{PKG}.rmsnorm")
ROPE = importlib.import_module(f"{PKG}.rope")
REF = importlib.import_module(f"{PKG}.reference")
SSD = importlib.import_module(f"{PKG}.ssd")
GDN = importlib.import_module(f"{PKG}.gated_delta")

CUDA = torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET", "0") in ("", "0")
DEV = "cuda" if CUDA else "cpu"
ROWS: list[dict] = []
CEIL: dict = {}


def log(*a):
    print(*a, flush=True)


# --------------------------------------------------------------------------------------------
# timing and checking
# --------------------------------------------------------------------------------------------
def time_ms(fn, input_sets, reps=30, warmup=5):
    """Median ms of fn(*inputs), cycling through input_sets: archlint.bench.timing's method
    (CUDA events around each call after warm-up), the one the layer bench uses."""
    if not CUDA:  # smoke run in the interpreter: plumbing only, no meaningful times
        fn(*input_sets[0])
        return float("nan")
    passes = max(1, -(-warmup // len(input_sets)))  # warm-up calls, in whole passes
    t = TIMING.time_fn(fn, input_sets, warmup=passes, min_runs=reps, max_runs=reps,
                       budget_s=0.0)
    return t.median_s * 1e3


def rel_err(out, ref):
    out, ref = out.double(), ref.double()
    if torch.isnan(out).any():
        return float("nan")
    return ((out - ref).norm() / ref.norm().clamp_min(1e-30)).item()


def check(name, out, ref, tol):
    e = rel_err(out, ref)
    ok = e == e and e < tol
    log(f"  check {name}: rel err {e:.2e} (< {tol:g}) {'ok' if ok else 'FAIL'}")
    ROWS.append({"kind": "check", "name": name, "rel_err": e, "tol": tol, "ok": ok})
    return ok


# fp32 inputs: tl.dot and cuBLAS use tf32 (10-bit mantissa); one GEMM lands near 1e-3, the two
# chained GEMMs of an expert near 2.3e-3 (seen on the H100), so fp32 checks allow 5e-3.
TF32_TOL = 5e-3


def n_sets(bytes_per_set):
    """Rotate among several input sets while one set would fit in L2 (50 MB)."""
    return 1 if bytes_per_set > 256e6 else 3


@contextlib.contextmanager
def row(section, name):
    """One row of a section: an exception inside is recorded as that row's error and the
    section goes on with its next row (a tile or shape the chip refuses costs that row only).
    A CUDA error that poisons the context still ends the run: nothing in-process helps."""
    try:
        yield
    except Exception as e:
        traceback.print_exc()
        ROWS.append({"kind": "error", "section": section, "name": name, "error": repr(e)[:500]})
        log(f"  {section:8s} {name:40s} ERROR {type(e).__name__}: {str(e)[:200]}")
        if CUDA:
            torch.cuda.empty_cache()


def record(section, name, **kw):
    row = {"kind": "bench", "section": section, "name": name, **kw}
    ROWS.append(row)
    parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in kw.items()]
    log(f"  {section:8s} {name:40s} " + " ".join(parts))


BF16 = torch.bfloat16 if CUDA else torch.float16  # the interpreter has no bf16 tl.dot


def randn(*shape, dtype=None, scale=1.0):
    """Fresh normal values made directly in `dtype` (no fp32 temporary: 22 GB of DeepSeek
    experts would need 45 GB that way)."""
    x = torch.randn(*shape, device=DEV, dtype=dtype or BF16)
    return x.mul_(scale) if scale != 1.0 else x


def time_graph_ms(fn, input_sets, reps=50):
    """Median ms of CUDA-graph replays of fn (launch gaps removed); one graph per input set
    (archlint.bench.timing.time_graphs). Only for code with no host synchronisation; NaN if
    capture fails."""
    if not CUDA:
        return float("nan")
    try:
        t = TIMING.time_graphs(fn, input_sets, warmup=1, min_runs=reps, max_runs=reps,
                               budget_s=0.0)
        return t.median_s * 1e3
    except Exception as e:
        log(f"  (graph capture failed: {type(e).__name__}: {str(e)[:100]})")
        return float("nan")


def kernel_report():
    """Registers, spills and shared memory of every compiled kernel (resource report; read
    with no device time). Defensive: the cache layout is Triton-internal."""
    import triton

    out = []
    for mod in (AP, AD, MLA, MOE, RMS, ROPE, SSD, GDN):
        for name in dir(mod):
            fn = getattr(mod, name)
            while fn is not None and not isinstance(fn, triton.runtime.jit.JITFunction):
                fn = getattr(fn, "fn", None)
            if fn is None or not hasattr(fn, "device_caches"):
                continue
            for entry in fn.device_caches.values():
                for key, k in entry[0].items():
                    try:
                        out.append({"kernel": fn.__name__, "key": str(key)[-200:],
                                    "num_warps": k.metadata.num_warps,
                                    "num_stages": k.metadata.num_stages,
                                    "shared": k.metadata.shared, "n_regs": k.n_regs,
                                    "n_spills": k.n_spills})
                    except Exception as e:
                        out.append({"kernel": fn.__name__, "error": repr(e)[:100]})
    return out


def best_config(tuned):
    c = getattr(tuned, "best_config", None)
    return str(c) if c is not None else ""


def tuning_table(tuned) -> dict:
    """The autotuner's own timing of every tile it tried for the last key, in ms: the first of
    the figures Triton keeps per tile in `configs_timings` (its median; an empty dict where a
    version keeps none), so a tile it passed over is a measured figure, not a guess."""
    timings = getattr(tuned, "configs_timings", None) or {}
    return {str(c): (t[0] if isinstance(t, (list, tuple)) else t) for c, t in timings.items()}


# --------------------------------------------------------------------------------------------
# ceilings
# --------------------------------------------------------------------------------------------
def ceilings(smoke):
    n = (1 << 20) if smoke else (1 << 30)  # 1 GiB of bf16... elements
    src = randn(n // 2)
    dst = torch.empty_like(src)
    ms = time_ms(lambda: dst.copy_(src), [()], reps=20)
    CEIL["copy_TBps"] = 2 * src.numel() * 2 / ms / 1e9
    m = 512 if smoke else 8192
    a, b = randn(m, m), randn(m, m)
    ms = time_ms(lambda: a @ b, [()], reps=20)
    CEIL["bf16_mm_TFLOPs"] = 2 * m**3 / ms / 1e9
    log(f"ceilings: copy {CEIL['copy_TBps']:.3f} TB/s (read+write), "
        f"bf16 matmul {CEIL['bf16_mm_TFLOPs']:.0f} TFLOP/s")


# --------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------
def sdpa_backend(name):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([getattr(SDPBackend, name)])


def try_time(label, fn, sets, **kw):
    try:
        return time_ms(fn, sets, **kw)
    except Exception as e:  # a backend that refuses this shape: say so, keep going
        log(f"  ({label} unavailable: {type(e).__name__}: {str(e)[:120]})")
        return float("nan")


def _decode_point(smoke, b, h, g, s, d):
    """One decode shape: checked in bf16, timed with a splits sweep, against SDPA."""
    lens = torch.full((b,), s, device=DEV, dtype=torch.int32)
    nbytes = 2 * b * g * s * d * 2
    sets = [(randn(b, h, d), randn(b, g, s, d), randn(b, g, s, d))
            for _ in range(n_sets(nbytes))]
    q, kc, vc = sets[0]
    check(f"decode bf16 B{b} S{s}", AD.decode_attention(q, kc, vc, lens),
          REF.sdpa_decode(q.float(), kc.float(), vc.float()) if smoke or b * s <= 262144
          else REF.sdpa_decode(q, kc, vc), 2e-2)
    ours = time_ms(lambda q, k, v, lens=lens: AD.decode_attention(q, k, v, lens), sets)
    cfg = best_config(AD._decode_tuned)
    auto = AD.pick_num_splits(b * g, s)
    sweep = {}
    for ns in sorted({1, 2, 4, 8, 16, auto}):
        sweep[ns] = time_ms(lambda q, k, v, ns=ns, lens=lens: AD.decode_attention(q, k, v, lens,
                                                                        num_splits=ns), sets)
    graph = time_graph_ms(lambda q, k, v, lens=lens: AD.decode_attention(q, k, v, lens),
                          sets)
    sdpa = try_time("sdpa", lambda q, k, v: REF.sdpa_decode(q, k, v), sets)
    flash = float("nan")
    if CUDA:
        with sdpa_backend("FLASH_ATTENTION"):
            flash = try_time("sdpa flash", lambda q, k, v: REF.sdpa_decode(q, k, v), sets)
    w = s // 8
    win = time_ms(lambda q, k, v, lens=lens, w=w: AD.decode_attention(q, k, v, lens, window=w),
                  sets)
    # a window call is short enough that eager timing measures the host's launch path:
    # time it (and the full one, for the ratio) as CUDA-graph replays too
    win_graph = time_graph_ms(
        lambda q, k, v, lens=lens, w=w: AD.decode_attention(q, k, v, lens, window=w), sets)
    tb = lambda ms, nb=nbytes: nb / ms / 1e9  # noqa: E731
    best = min(ours, *sweep.values())
    record("decode", f"B{b} Hq{h}/Hkv{g} D{d} ctx{s}", ours_ms=ours, ours_TBps=tb(ours),
           graph_ms=graph, auto_splits=auto,
           splits_sweep_ms={k: round(v, 4) for k, v in sweep.items()},
           best_TBps=tb(best), config=cfg,
           sdpa_ms=sdpa, sdpa_TBps=tb(sdpa), sdpa_flash_ms=flash, sdpa_flash_TBps=tb(flash),
           frac_of_copy=tb(ours) / CEIL["copy_TBps"], window_ms=win,
           window_graph_ms=win_graph, window_graph_TBps=tb(win_graph, nbytes / 8),
           ratio_window_graph=win_graph / graph,
           target_met=bool(flash == flash and ours <= flash))


def bench_decode(smoke):
    log("== decode attention (split-KV, GQA packed) ==")
    # fp32 check, with window, sinks and ragged lengths
    b, h, g, s, d = (2, 8, 2, 100, 64) if smoke else (4, 32, 8, 2048, 128)
    with row("decode", "fp32 checks"):
        q = randn(b, h, d, dtype=torch.float32)
        kc, vc = randn(b, g, s, d, dtype=torch.float32), randn(b, g, s, d, dtype=torch.float32)
        lens = torch.tensor([s - 37 * i for i in range(b)], device=DEV, dtype=torch.int32)
        sinks = randn(h, dtype=torch.float32)
        check("decode fp32", AD.decode_attention(q, kc, vc, lens),
              REF.decode_attention_ref(q, kc, vc, lens), TF32_TOL)
        check("decode fp32 window+sinks",
              AD.decode_attention(q, kc, vc, lens, window=300, sinks=sinks),
              REF.decode_attention_ref(q, kc, vc, lens, window=300, sinks=sinks), TF32_TOL)
    shapes = [(2, 8, 2, 256, 64)] if smoke else [(64, 32, 8, 8192, 128), (8, 32, 8, 32768, 128)]
    for b, h, g, s, d in shapes:
        with row("decode", f"B{b} Hq{h}/Hkv{g} D{d} ctx{s}"):
            _decode_point(smoke, b, h, g, s, d)


def _prefill_point(b, h, g, s, d):
    """One prefill shape, full causal and window S/8: checked in bf16, timed against SDPA's
    backends."""
    sets = [(randn(b, h, s, d), randn(b, g, s, d), randn(b, g, s, d))
            for _ in range(n_sets(3 * b * h * s * d * 2))]
    q, k, v = sets[0]
    fl = AP.prefill_flops(b, h, s, s, d, d, causal=True)
    tf = lambda ms, f=fl: f / ms / 1e9  # noqa: E731
    kw = {"enable_gqa": True} if g != h else {}
    sd = lambda q, k, v, kw=kw: torch.nn.functional.scaled_dot_product_attention(  # noqa: E731
        q, k, v, is_causal=True, **kw)
    ref = sd(q, k, v)
    check(f"prefill bf16 Hkv{g}", AP.prefill_attention(q, k, v), ref, 2e-2)
    ours = time_ms(lambda q, k, v: AP.prefill_attention(q, k, v), sets)
    # the tile launched: the measured pick of this shape class, or the autotuner's
    res = {"ours_ms": ours, "ours_TFLOPs": tf(ours), "config": AP.LAST_CONFIG["config"]}
    for be in ("FLASH_ATTENTION", "CUDNN_ATTENTION", "EFFICIENT_ATTENTION"):
        if not CUDA:
            continue
        with sdpa_backend(be):
            ms = try_time(be, sd, sets)
        res[f"{be.split('_')[0].lower()}_ms"] = ms
        res[f"{be.split('_')[0].lower()}_TFLOPs"] = tf(ms)
    w = s // 8
    pos = torch.arange(s, device=DEV)
    band = (pos[None, :] <= pos[:, None]) & (pos[None, :] > pos[:, None] - w)
    check(f"prefill bf16 Hkv{g} window {w}", AP.prefill_attention(q, k, v, window=w),
          torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=band, **kw),
          2e-2)
    win = time_ms(lambda q, k, v, w=w: AP.prefill_attention(q, k, v, window=w), sets)
    res.update(window_ms=win, ratio_window=win / ours,
               window_config=AP.LAST_CONFIG["config"],
               window_TFLOPs=AP.prefill_flops(b, h, s, s, d, d, causal=True, window=w)
               / win / 1e9)
    # issue 17's prefill target: >= 0.8x cuDNN attention, measured in the same run
    res["frac_of_cudnn"] = res.get("cudnn_ms", float("nan")) / ours
    flash = res.get("flash_ms", float("nan"))
    res["target_met"] = bool(flash == flash and ours <= flash)
    res["window_target_met"] = bool(win / ours <= 0.3)
    record("prefill", f"B{b} H{h}/Hkv{g} D{d} S{s} causal", **res)


def bench_prefill(smoke):
    log("== prefill attention (flash, causal) ==")
    b, h, g, s, d = (1, 4, 2, 64, 32) if smoke else (1, 8, 2, 1024, 128)
    with row("prefill", "fp32 checks"):
        q = randn(b, h, s, d, dtype=torch.float32)
        k, v = randn(b, g, s, d, dtype=torch.float32), randn(b, g, s, d, dtype=torch.float32)
        sinks = randn(h, dtype=torch.float32)
        check("prefill fp32 causal GQA", AP.prefill_attention(q, k, v), REF.attention_ref(q, k, v),
              TF32_TOL)
        check("prefill fp32 window+softcap+sinks",
              AP.prefill_attention(q, k, v, window=s // 8, softcap=30.0, sinks=sinks),
              REF.attention_ref(q, k, v, window=s // 8, softcap=30.0, sinks=sinks), TF32_TOL)
    b, h, s, d = (1, 4, 128, 32) if smoke else (4, 32, 4096, 128)
    for g in (h, 8 if not smoke else 2):
        with row("prefill", f"B{b} H{h}/Hkv{g} D{d} S{s}"):
            _prefill_point(b, h, g, s, d)


def bench_mla(smoke):
    log("== MLA decode (absorbed, latent cache) ==")
    b, h, r, p, s = (2, 16, 64, 16, 100) if smoke else (4, 128, 512, 64, 1024)
    ql, qr = randn(b, h, r, dtype=torch.float32), randn(b, h, p, dtype=torch.float32)
    cache = randn(b, s, r + p, dtype=torch.float32)
    lens = torch.tensor([s - 13 * i for i in range(b)], device=DEV, dtype=torch.int32)
    scale = 1 / math.sqrt(192)
    check("mla decode fp32", MLA.mla_decode(ql, qr, cache[..., :r], cache[..., r:], lens,
                                            sm_scale=scale),
          REF.mla_decode_ref(ql, qr, cache[..., :r], cache[..., r:], lens, sm_scale=scale),
          TF32_TOL)
    dn, dv, m = (32, 16, 64) if smoke else (128, 128, 512)
    qn, qp = randn(1, h, m, dn, dtype=torch.float32), randn(1, h, m, p, dtype=torch.float32)
    c, kr = randn(1, m, r, dtype=torch.float32), randn(1, m, p, dtype=torch.float32)
    wuk = randn(h, dn, r, dtype=torch.float32, scale=r**-0.5)
    wuv = randn(h, dv, r, dtype=torch.float32, scale=r**-0.5)
    check("mla prefill fp32", MLA.mla_prefill(qn, qp, c, kr, wuk, wuv, sm_scale=scale),
          REF.mla_decompress_ref(qn, qp, c, kr, wuk, wuv, sm_scale=scale), TF32_TOL)

    b, h, r, p, s, dn, dv = (2, 16, 64, 16, 256, 32, 16) if smoke else (64, 128, 512, 64, 8192,
                                                                      128, 128)
    lens = torch.full((b,), s, device=DEV, dtype=torch.int32)
    nbytes = MLA.mla_decode_bytes(b, s, r, p)
    sets = []
    for _ in range(n_sets(nbytes)):
        cache = randn(b, s, r + p)
        sets.append((randn(b, h, r), randn(b, h, p), cache[..., :r], cache[..., r:]))
    ql, qr, c, kr = sets[0]
    lat = lambda ql, qr, c, kr: REF.mla_decode_ref(ql, qr, c, kr, lens, sm_scale=scale)  # noqa
    # torch absorbed path (batched): scores in fp32, softmax, latent output
    def torch_absorbed(ql, qr, c, kr):
        sc = (torch.einsum("bhr,bsr->bhs", ql, c) + torch.einsum("bhp,bsp->bhs", qr, kr)).float()
        return torch.einsum("bhs,bsr->bhr", torch.softmax(sc * scale, -1).to(c.dtype), c)
    ours_out = MLA.mla_decode(ql, qr, c, kr, lens, sm_scale=scale)
    check(f"mla decode bf16 B{b} S{s}", ours_out, torch_absorbed(ql, qr, c, kr), 2e-2)
    del lat
    ours = time_ms(lambda ql, qr, c, kr: MLA.mla_decode(ql, qr, c, kr, lens, sm_scale=scale),
                   sets)
    cfg = best_config(MLA._mla_tuned)
    tiles = tuning_table(MLA._mla_tuned)
    sweep = {}
    for ns in (1, 2, 3, 4, 8):
        sweep[ns] = time_ms(lambda ql, qr, c, kr, ns=ns: MLA.mla_decode(
            ql, qr, c, kr, lens, sm_scale=scale, num_splits=ns), sets)
        sweep[f"{ns}_config"] = best_config(MLA._mla_tuned)
    absorbed = try_time("torch absorbed", torch_absorbed, sets, reps=10)
    # decompress + SDPA (the naive path), in batch chunks so K/V fit in memory
    wuk, wuv = randn(h, dn, r, scale=r**-0.5), randn(h, dv, r, scale=r**-0.5)
    qn = randn(b, h, dn)
    chunk = 2 if smoke else 8

    def decompress_sdpa(ql, qr, c, kr):
        outs = []
        for i in range(0, b, chunk):
            k_n = torch.einsum("bsr,hdr->bhsd", c[i:i + chunk], wuk)
            v = torch.einsum("bsr,hdr->bhsd", c[i:i + chunk], wuv)
            kk = torch.cat([k_n, kr[i:i + chunk, None].expand(-1, h, -1, -1)], -1)
            qq = torch.cat([qn[i:i + chunk], qr[i:i + chunk]], -1)[:, :, None]
            outs.append(torch.nn.functional.scaled_dot_product_attention(qq, kk, v, scale=scale))
        return torch.cat(outs)

    naive = try_time("decompress+sdpa", decompress_sdpa, sets, reps=5, warmup=1)
    tb = nbytes / ours / 1e9
    fl = MLA.mla_decode_flops(b, h, s, r, p)
    best = min(v for v in sweep.values() if isinstance(v, float))
    # issue 17: >= 60% of the attainable roofline, the larger of the byte and the FLOP floors
    floor_ms = max(nbytes / (CEIL["copy_TBps"] * 1e9), fl / (CEIL["bf16_mm_TFLOPs"] * 1e9))
    record("mla", f"B{b} H{h} R{r} P{p} ctx{s}", ours_ms=ours, ours_TBps=tb, config=cfg,
           splits_sweep=sweep, best_TBps=nbytes / best / 1e9, tiles_ms=tiles,
           frac_of_copy=tb / CEIL["copy_TBps"], ours_TFLOPs=fl / ours / 1e9,
           torch_absorbed_ms=absorbed, decompress_sdpa_ms=naive, floor_ms=floor_ms,
           frac_of_roofline=floor_ms / ours,
           target_met=bool(floor_ms / ours >= 0.6 and ours < naive))


def _moe_check_fp32():
    """fp32 check on a cut-down Mixtral and DeepSeek (same kernels, smaller matrices)."""
    for name, e, k, c, f, t, ds in [("mixtral-small", 8, 2, 256, 512, 64, False),
                                    ("deepseek-small", 64, 8, 256, 128, 64, True)]:
        x = randn(t, c, dtype=torch.float32)
        w13 = randn(e, 2 * f, c, dtype=torch.float32, scale=c**-0.5)
        w2 = randn(e, c, f, dtype=torch.float32, scale=f**-0.5)
        logits = randn(t, e, dtype=torch.float32)
        sh = {}
        if ds:
            w, ids = MOE.route_sigmoid_grouped_topk(logits, k, randn(e, dtype=torch.float32,
                                                                     scale=0.1), 8, 4, True, 2.5)
            sh = {"shared_w13": randn(2 * f, c, dtype=torch.float32, scale=c**-0.5),
                  "shared_w2": randn(c, f, dtype=torch.float32, scale=f**-0.5)}
        else:
            w, ids = MOE.route_softmax_topk(logits, k)
        for bm in (16, 64):
            check(f"moe fp32 {name} BM{bm}", MOE.fused_moe(x, w13, w2, w, ids, block_m=bm, **sh),
                  REF.moe_ref(x, w13, w2, w, ids, **sh), TF32_TOL)


def _moe_inputs(t, c, e, k, grouped, bias):
    """Three (x, routing weights, expert ids) sets of `t` tokens: softmax top-k (Mixtral) or
    DeepSeek-V3's sigmoid grouped top-k."""
    sets = []
    for _ in range(3):
        x = randn(t, c)
        logits = randn(t, e, dtype=torch.float32)
        if grouped:
            w, ids = MOE.route_sigmoid_grouped_topk(logits, k, bias, 8, 4, True, 2.5)
        else:
            w, ids = MOE.route_softmax_topk(logits, k)
        sets.append((x, w, ids))
    return sets


def _moe_target_met(t, frac, speedup):
    """The issue's targets: decode-sized batches near the weight roofline, mid-sized ones 2x
    the per-expert loop, prefill-sized ones at least level with it."""
    if t <= 64:
        return frac >= 0.5
    if t <= 1024:
        return speedup >= 2.0
    return speedup >= 1.0


def _moe_point(name, t, e, k, c, f, fs, wts, bias):
    """One model at `t` tokens: checked in bf16, then fused (eager and graph) against the
    looped reference, recorded with its roofline fraction."""
    w13, w2, sh = wts
    sets = _moe_inputs(t, c, e, k, bool(fs), bias)
    x, w, ids = sets[0]
    check(f"moe bf16 {name} T{t}", MOE.fused_moe(x, w13, w2, w, ids, **sh),
          REF.moe_ref(x, w13, w2, w, ids, **sh), 2e-2)

    def fused(x, w, ids, bm=None):
        return MOE.fused_moe(x, w13, w2, w, ids, block_m=bm, **sh)

    def looped(x, w, ids):
        return REF.moe_ref(x, w13, w2, w, ids, **sh)

    ours = time_ms(fused, sets)
    graph = time_graph_ms(fused, sets)
    bm = MOE.pick_block_m(t * k, e)
    tma = MOE.wants_tma(x, bm, w13, w2)  # the TMA-fed persistent GEMMs (kernels/moe_tma.py)
    pair = ((MOE._gate_up_tma_tuned, MOE._down_tma_tuned) if tma
            else (MOE._gate_up_tuned, MOE._down_tuned))
    cfgs = [best_config(p) for p in pair]
    tiles = [tuning_table(p) for p in pair]
    # the same call with the pointer GEMMs (the previous form): a same-run A/B
    pointer = (time_ms(lambda x, w, ids: MOE.fused_moe(x, w13, w2, w, ids, use_tma=False, **sh),
                       sets) if tma else None)
    bm_sweep = {}
    if t >= 1024:
        for bm in (64, 128):
            bm_sweep[bm] = time_ms(lambda x, w, ids, bm=bm: fused(x, w, ids, bm), sets)
    loop = time_ms(looped, sets, reps=10, warmup=2)
    nb = MOE.moe_weight_bytes(ids, e, c, f) + (3 * c * fs * 2 if fs else 0)
    roof_ms = nb / (CEIL["copy_TBps"] * 1e9)
    fl = MOE.moe_flops(t, k, c, f) + (2.0 * t * 3 * c * fs if fs else 0)
    speedup = loop / ours
    frac = roof_ms / (graph if graph == graph and graph < ours else ours)
    record("moe", f"{name} T{t}", ours_ms=ours, graph_ms=graph, loop_ms=loop,
           speedup=speedup, block_m=bm, tma=tma, pointer_ms=pointer, configs=cfgs,
           tiles_ms=tiles,
           bm_sweep_ms=bm_sweep, graph_frac_of_weight_roofline=roof_ms / graph,
           weight_roofline_ms=roof_ms, frac_of_weight_roofline=frac,
           ours_TFLOPs=fl / ours / 1e9, target_met=bool(_moe_target_met(t, frac, speedup)))


def bench_moe(smoke):
    log("== fused MoE ==")
    with row("moe", "fp32 checks"):
        _moe_check_fp32()
    models = [("mixtral", 8, 2, 4096, 14336, 0), ("deepseek-v3", 256, 8, 7168, 2048, 2048)]
    tokens = [1, 8, 64, 256, 1024, 4096]
    if smoke:
        models = [("mixtral", 8, 2, 64, 128, 0), ("deepseek-v3", 32, 8, 64, 32, 32)]
        tokens = [1, 64]
    for name, e, k, c, f, fs in models:
        sh = {}
        if fs:
            sh = {"shared_w13": randn(2 * fs, c, scale=c**-0.5),
                  "shared_w2": randn(c, fs, scale=fs**-0.5)}
        wts = (randn(e, 2 * f, c, scale=c**-0.5), randn(e, c, f, scale=f**-0.5), sh)
        bias = randn(e, dtype=torch.float32, scale=0.1)
        for t in tokens:
            with row("moe", f"{name} T{t}"):
                _moe_point(name, t, e, k, c, f, fs, wts, bias)
        del wts, sh
        if CUDA:
            torch.cuda.empty_cache()


def bench_small(smoke):
    log("== rmsnorm, rope ==")
    t, c = (64, 256) if smoke else (16384, 4096)
    x, res, wt = randn(t, c), randn(t, c), randn(c)
    y, _ = RMS.rmsnorm(x, wt, 1e-6, residual=res)
    check("rmsnorm bf16", y, REF.rmsnorm_ref(x, wt, 1e-6, residual=res)[0], 1e-2)
    ours = time_ms(lambda: RMS.rmsnorm(x, wt, 1e-6, residual=res), [()])
    eager = time_ms(lambda: REF.rmsnorm_ref(x, wt, 1e-6, residual=res), [()])
    nb = 4 * t * c * 2
    record("rmsnorm", f"T{t} C{c} +residual", ours_ms=ours, ours_TBps=nb / ours / 1e9,
           eager_ms=eager, speedup=eager / ours)
    t, hq, hk, d = (64, 4, 2, 64) if smoke else (16384, 32, 8, 128)
    q, k = randn(t, hq, d), randn(t, hk, d)
    pos = torch.arange(t, device=DEV)
    inv = 1.0 / (500000 ** (torch.arange(0, d, 2, device=DEV).float() / d))
    qo, _ = ROPE.rope(q, k, pos, inv)
    check("rope bf16", qo, REF.rope_ref(q, pos, inv), 1e-2)
    ours = time_ms(lambda: ROPE.rope(q, k, pos, inv), [()])
    eager = time_ms(lambda: (REF.rope_ref(q, pos, inv), REF.rope_ref(k, pos, inv)), [()])
    nb = 2 * t * (hq + hk) * d * 2
    record("rope", f"T{t} Hq{hq} Hk{hk} D{d}", ours_ms=ours, ours_TBps=nb / ours / 1e9,
           eager_ms=eager, speedup=eager / ours)


def bench_ssd(smoke):
    log("== Mamba-2 chunked SSD scan (Mamba-Codestral-7B: 128 heads of 64, d_state 128, "
        "8 groups) ==")
    b, length, h, p, g, n = (1, 40, 4, 16, 2, 16) if smoke else (8, 4096, 128, 64, 8, 128)

    def inputs(dtype):
        x = randn(b, length, h, p, dtype=dtype)
        dt = torch.nn.functional.softplus(randn(b, length, h, dtype=torch.float32) - 1.0)
        a = -torch.arange(1, h + 1, device=DEV, dtype=torch.float32)
        return (x, dt, a, randn(b, length, g, n, dtype=dtype), randn(b, length, g, n, dtype=dtype),
                randn(h, dtype=torch.float32))

    x, dt, a, bb, cc, d = inputs(torch.float32)
    s0 = torch.zeros(b, h, p, n, device=DEV, dtype=torch.float32)
    ref_s = s0.clone()
    ref = REF.ssd_chunked_ref(x, dt, a, bb, cc, d, ref_s, chunk=256)
    s1 = s0.clone()
    check("ssd fp32 vs chunked torch", SSD.ssd_scan(x, dt, a, bb, cc, d, s1), ref, TF32_TOL)
    check("ssd fp32 final state", s1, ref_s, TF32_TOL)
    sets = [inputs(BF16) for _ in range(2)]
    states = [torch.zeros(b, h, p, n, device=DEV, dtype=torch.float32) for _ in range(2)]
    x, dt, a, bb, cc, d = sets[0]
    check("ssd bf16", SSD.ssd_scan(x, dt, a, bb, cc, d, states[0].clone()),
          REF.ssd_chunked_ref(x, dt, a, bb, cc, d, states[1].clone(), chunk=256), 2e-2)
    ours = time_ms(lambda *args: SSD.ssd_scan(*args, states[0]), sets, reps=10)
    torch_ms = time_ms(lambda *args: REF.ssd_chunked_ref(*args, states[1], chunk=256), sets,
                       reps=5, warmup=2)
    nbytes = (2 * b * length * h * p * 2 + 2 * b * length * g * n * 2 + b * length * h * 4
              + 2 * b * h * p * n * 4)
    fl = SSD.ssd_flops(b, length, h, p, n, 64)
    record("ssd", f"B{b} L{length} H{h} P{p} G{g} N{n}", ours_ms=ours, torch_chunked_ms=torch_ms,
           speedup=torch_ms / ours, ours_TFLOPs=fl / ours / 1e9, ours_GBps=nbytes / ours / 1e6)


def bench_gdn(smoke):
    log("== gated delta rule (Qwen3-Next: 32 value heads, Dk = Dv = 128) ==")
    b, length, h, dk, dv = (1, 24, 4, 16, 32) if smoke else (8, 4096, 32, 128, 128)

    def inputs(dtype):
        q = torch.nn.functional.normalize(randn(b, length, h, dk, dtype=torch.float32), dim=-1)
        k = torch.nn.functional.normalize(randn(b, length, h, dk, dtype=torch.float32), dim=-1)
        return (q.to(dtype), k.to(dtype), randn(b, length, h, dv, dtype=dtype),
                -torch.rand(b, length, h, device=DEV) * 0.1, torch.rand(b, length, h, device=DEV))

    sets = [inputs(BF16) for _ in range(2)]
    st = [torch.zeros(b, h, dk, dv, device=DEV, dtype=torch.float32) for _ in range(2)]
    q, k, v, g, beta = (t.float() for t in sets[0])
    short = slice(0, min(length, 256))  # the token loop is slow: check on the first 256 tokens
    args = [t[:, short].contiguous() for t in (q, k, v, g, beta)]
    check("gated delta fp32", GDN.gated_delta_rule(*args, st[0].clone(), scale=dk**-0.5),
          REF.gated_delta_ref(*args, st[1].clone(), scale=dk**-0.5), TF32_TOL)
    ours = time_ms(lambda *a: GDN.gated_delta_rule(*a, st[0], scale=dk**-0.5), sets, reps=10)
    loop = time_ms(lambda *a: REF.gated_delta_ref(*a, st[1], scale=dk**-0.5), sets[:1], reps=2,
                   warmup=1)
    decode = [tuple(t[:, :1].contiguous() for t in s) for s in sets]
    dec = time_graph_ms(lambda *a: GDN.gated_delta_rule(*a, st[0], scale=dk**-0.5), decode)
    state_bytes = b * h * dk * dv * 4
    record("gdn", f"B{b} L{length} H{h} Dk{dk} Dv{dv}", ours_ms=ours, torch_loop_ms=loop,
           speedup=loop / ours, ours_TFLOPs=GDN.gated_delta_flops(b, length, h, dk, dv)
           / ours / 1e9, decode_graph_ms=dec,
           decode_state_TBps=2 * state_bytes / dec / 1e9 if dec == dec else float("nan"))


def _moe_bias_point(t, e, k, c, f, w13, w2, kw):
    """gpt-oss's experts at `t` tokens: checked in bf16, fused (eager and graph) against the
    looped reference."""
    sets = []
    for _ in range(3):
        w, ids = MOE.route_softmax_topk(randn(t, e, dtype=torch.float32), k)
        sets.append((randn(t, c), w, ids))
    x, w, ids = sets[0]
    check(f"moe bias+clamp bf16 T{t}", MOE.fused_moe(x, w13, w2, w, ids, **kw),
          REF.moe_ref(x, w13, w2, w, ids, **kw), 2e-2)
    ours = time_ms(lambda x, w, ids: MOE.fused_moe(x, w13, w2, w, ids, **kw), sets)
    graph = time_graph_ms(lambda x, w, ids: MOE.fused_moe(x, w13, w2, w, ids, **kw), sets)
    loop = time_ms(lambda x, w, ids: REF.moe_ref(x, w13, w2, w, ids, **kw), sets, reps=10,
                   warmup=2)
    roof_ms = MOE.moe_weight_bytes(ids, e, c, f) / (CEIL["copy_TBps"] * 1e9)
    record("moe_bias", f"gpt-oss T{t}", ours_ms=ours, graph_ms=graph, loop_ms=loop,
           speedup=loop / ours, weight_roofline_ms=roof_ms,
           graph_frac_of_weight_roofline=roof_ms / graph if graph == graph else float("nan"),
           ours_TFLOPs=MOE.moe_flops(t, k, c, f) / ours / 1e9)


def bench_moe_bias(smoke):
    log("== fused MoE with expert biases and clamped SwiGLU (gpt-oss-20b: 32 experts top-4, "
        "2880 x 2880) ==")
    e, k, c, f = (8, 4, 64, 64) if smoke else (32, 4, 2880, 2880)
    w13, w2 = randn(e, 2 * f, c, scale=c**-0.5), randn(e, c, f, scale=f**-0.5)
    b13, b2 = randn(e, 2 * f, scale=0.1), randn(e, c, scale=0.1)
    kw = dict(b13=b13, b2=b2, limit=7.0)
    for t in [1, 64] if smoke else [1, 64, 1024, 4096]:
        with row("moe_bias", f"gpt-oss T{t}"):
            _moe_bias_point(t, e, k, c, f, w13, w2, kw)


SECTIONS = {"decode": bench_decode, "prefill": bench_prefill, "mla": bench_mla,
            "moe": bench_moe, "small": bench_small, "ssd": bench_ssd, "gdn": bench_gdn,
            "moe_bias": bench_moe_bias}


def environment():
    import triton

    env = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "python": platform.python_version(), "torch": torch.__version__,
           "triton": triton.__version__, "device": "cpu (interpreter)"}
    if CUDA:
        env["device"] = torch.cuda.get_device_name()
        env["sms"] = torch.cuda.get_device_properties(0).multi_processor_count
        try:
            env["driver"] = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version,clocks.max.sm,power.limit",
                 "--format=csv,noheader"], capture_output=True, text=True, timeout=20
            ).stdout.strip()
        except Exception as e:
            env["driver"] = f"unknown ({e})"
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=",".join(SECTIONS))
    ap.add_argument("--json", default="bench_kernels.json")
    ap.add_argument("--smoke", action="store_true", help="tiny shapes (CPU interpreter)")
    ap.add_argument("--budget-s", type=float, default=540.0,
                    help="skip sections that would start after this many seconds")
    a = ap.parse_args()
    t0 = time.time()
    env = environment()
    log(json.dumps(env))
    torch.manual_seed(0)
    ceilings(a.smoke)
    out = {"env": env, "ceilings": CEIL, "command": " ".join(sys.argv), "rows": ROWS}
    for name in a.only.split(","):
        if time.time() - t0 > a.budget_s:
            log(f"== {name}: skipped (budget) ==")
            continue
        ts = time.time()
        try:
            SECTIONS[name](a.smoke)
        except Exception as e:  # keep the other sections' numbers
            traceback.print_exc()
            ROWS.append({"kind": "error", "section": name, "error": repr(e)[:500]})
        log(f"   ({name}: {time.time() - ts:.0f} s)")
        if CUDA:
            torch.cuda.empty_cache()
        Path(a.json).write_text(json.dumps(out, indent=1, default=str))
    if CUDA:
        out["kernels"] = kernel_report()
        spills = [k for k in out["kernels"] if k.get("n_spills")]
        log(f"compiled kernels: {len(out['kernels'])}, with spills: "
            + ", ".join(f"{k['kernel']} w{k['num_warps']} s{k['num_stages']} "
                        f"spills={k['n_spills']} regs={k['n_regs']}" for k in spills[:20]))
        Path(a.json).write_text(json.dumps(out, indent=1, default=str))
    bad = [r["name"] for r in ROWS if r["kind"] == "check" and not r["ok"]]
    errors = [r["section"] for r in ROWS if r["kind"] == "error"]
    log(f"checks failed: {bad}" if bad else "all checks ok")
    if errors:  # a section that raised lost its remaining rows: not "all ok"
        log(f"sections that raised (their later rows are missing): {errors}")
    met = {True: "MET", False: "no"}
    log("targets: " + ", ".join(f"{r['section']}:{r['name']}={met[bool(r['target_met'])]}"
                                for r in ROWS if r["kind"] == "bench" and "target_met" in r))
    log(f"total {time.time() - t0:.0f} s")
    return 1 if bad or errors else 0


if __name__ == "__main__":
    sys.exit(main())
