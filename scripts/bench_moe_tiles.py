#!/usr/bin/env python3
"""The fused MoE's grouped GEMMs tile by tile at Mixtral's mid and large token counts: the
pointer kernels (autotuned, the previous form) against the TMA-fed persistent ones
(`kernels/moe_tma.py`), each TMA tile of each GEMM timed alone, beside the per-expert loop.

    PYTHONUNBUFFERED=1 python scripts/bench_moe_tiles.py --json out.json --budget-s 150

Every variant is checked against `reference.moe_ref` in bf16 (< 2e-2 relative) before it is
timed. A GEMM's tile is timed inside the whole fused call with the other GEMM held at one tile,
so the differences between rows are that GEMM's. Timing: archlint.bench.timing (CUDA events,
median of 20 calls over 3 rotated input sets). The results say which tiles to list in
`moe._TMA_GATE_UP` / `moe._TMA_DOWN` and whether the TMA form should be the default.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from archlint.bench import timing  # noqa: E402
from archlint.bench.kernelmods import kernel_module  # noqa: E402

MOE = kernel_module("moe")
REF = kernel_module("reference")
E, K, C, F = 8, 2, 4096, 14336  # Mixtral-8x7B's experts


def ms(fn, sets, reps=20):
    return timing.time_fn(fn, sets, warmup=1, min_runs=reps, max_runs=reps,
                          budget_s=0.0).median_s * 1e3


def rel(out, ref):
    out, ref = out.double(), ref.double()
    return float((out - ref).norm() / ref.norm()) if bool(out.isfinite().all()) else float("nan")


def point(t, w13, w2, rows, t0, budget):
    sets = []
    for _ in range(3):
        x = torch.randn(t, C, device="cuda", dtype=torch.bfloat16)
        w, ids = MOE.route_softmax_topk(torch.randn(t, E, device="cuda"), K)
        sets.append((x, w, ids))
    x, w, ids = sets[0]
    ref = REF.moe_ref(x, w13, w2, w, ids)
    flops = MOE.moe_flops(t, K, C, F)
    bm = MOE.pick_block_m(t * K, E)

    def run(label, **kw):
        if time.time() - t0 > budget:
            print(f"  T{t} {label}: skipped (budget)", flush=True)
            return None
        fn = lambda x, w, ids: MOE.fused_moe(x, w13, w2, w, ids, **kw)  # noqa: E731
        try:
            err = rel(fn(x, w, ids), ref)
            t_ms = ms(fn, sets) if err < 2e-2 else float("nan")
        except Exception as exc:  # a tile the compiler refuses: recorded, the sweep goes on
            err, t_ms = float("nan"), float("nan")
            label += f" refused: {type(exc).__name__}: {str(exc)[:120]}"
        row = {"tokens": t, "block_m": bm, "variant": label, "ms": t_ms, "rel_err": err,
               "tflops": flops / t_ms / 1e9 if t_ms == t_ms else None}
        rows.append(row)
        print(f"  T{t:5d} BM{bm} {label:44s} {t_ms:8.3f} ms  {row['tflops'] or 0:6.0f} TFLOP/s"
              f"  err {err:.1e}", flush=True)
        return t_ms

    loop = ms(lambda x, w, ids: REF.moe_ref(x, w13, w2, w, ids), sets, reps=10)
    rows.append({"tokens": t, "variant": "loop", "ms": loop})
    print(f"  T{t:5d} loop {loop:.3f} ms", flush=True)
    run("pointer autotuned", use_tma=False)
    run("tma autotuned", use_tma=True)
    base_gu, base_dn = (128, 64, 8, 4, 1), (256, 64, 8, 3, 1)
    if bm < 128:
        base_dn = (128, 64, 4, 4, 1)
    for shape in MOE._TMA_GATE_UP[bm]:
        run(f"tma gate_up {shape} | down {base_dn}", use_tma=True,
            tiles=(MOE.tma_config(shape), MOE.tma_config(base_dn)))
    for shape in MOE._TMA_DOWN[bm]:
        run(f"tma gate_up {base_gu} | down {shape}", use_tma=True,
            tiles=(MOE.tma_config(base_gu), MOE.tma_config(shape)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", default="moe_tiles.json")
    ap.add_argument("--tokens", default="1024,256,4096")
    ap.add_argument("--budget-s", type=float, default=150.0)
    a = ap.parse_args()
    t0 = time.time()
    torch.manual_seed(0)
    w13 = torch.randn(E, 2 * F, C, device="cuda", dtype=torch.bfloat16).mul_(C**-0.5)
    w2 = torch.randn(E, C, F, device="cuda", dtype=torch.bfloat16).mul_(F**-0.5)
    rows: list[dict] = []
    for t in (int(v) for v in a.tokens.split(",")):
        point(t, w13, w2, rows, t0, a.budget_s)
        Path(a.json).write_text(json.dumps({"gpu": torch.cuda.get_device_name(0), "rows": rows},
                                           indent=1))
    print(f"total {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
