#!/usr/bin/env python3
"""Time every prefill tile one by one at the kernel bench's shapes (B4 H32 D128 S4096; MHA and
GQA with 8 KV heads; full causal and window S/8), beside the autotuner's pick: what the tuned
list and the packed-head tiles (`PACK`) each cost, so a tile list is chosen from measurements.

    PYTHONUNBUFFERED=1 python scripts/bench_prefill_tiles.py --json out.json

Each tile is checked against the autotuned call's output (bf16, < 2e-2 relative) before it is
timed; a tile the compiler refuses is recorded as refused. Timing: archlint.bench.timing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import triton

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from archlint.bench import timing  # noqa: E402
from archlint.bench.kernelmods import kernel_module  # noqa: E402

AP = kernel_module("attention_prefill")

# candidates beyond the tuned list: more packed shapes (4 heads of 32 positions; 2 heads with
# 32-key tiles)
EXTRA = [(128, 64, 8, 3, 4), (128, 64, 8, 4, 4), (128, 128, 8, 3, 4), (128, 32, 4, 3, 2),
         (128, 64, 4, 3, 2), (64, 64, 4, 3, 2)]


def tile_call(q, k, v, config, window):
    """prefill_attention with one fixed tile (the autotuned wrapper's argument order)."""
    out = torch.empty_like(q)
    b, h, m, d = q.shape
    g = k.shape[1]
    scale = d ** -0.5
    args = (q, k, q, k, v, q, out, *q.stride(), *k.stride(), *q.stride(), *k.stride(),
            *v.stride(), *out.stride(), h, m, m, int(window or 0), scale, scale * AP.LOG2E,
            1.0)
    meta = dict(GROUP=h // g, GROUP2=h // g, D1=d, D2=0, DV=d, BLOCK_DV=d, CAUSAL=True,
                HAS_WINDOW=window is not None, HAS_SOFTCAP=False, HAS_SINKS=False)
    kw = config.kwargs
    pack = kw.get("PACK", 1)
    grid = (b * h // pack, triton.cdiv(m, kw["BLOCK_M"] // pack))
    AP._prefill_fwd[grid](*args, **meta, **kw, num_warps=config.num_warps,
                          num_stages=config.num_stages)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default="prefill_tiles.json")
    a = ap.parse_args()
    b, h, s, d = 4, 32, 4096, 128
    tiles = AP._TUNED + AP._PACKED + [AP._config(*t) for t in EXTRA]
    rows = []
    for g in (32, 8):
        sets = [tuple(torch.randn(b, n, s, d, device="cuda", dtype=torch.bfloat16)
                      for n in (h, g, g)) for _ in range(3)]
        for window in (None, s // 8):
            q, k, v = sets[0]
            ref = AP.prefill_attention(q, k, v, window=window)
            auto = timing.time_fn(lambda q, k, v, w=window: AP.prefill_attention(q, k, v, window=w),
                                  sets, min_runs=30, max_runs=30, budget_s=0.0)
            case = f"Hkv{g} " + (f"window {window}" if window else "causal")
            rows.append({"case": case, "tile": "autotuned " + str(AP._prefill_tuned.best_config),
                         "ms": auto.median_s * 1e3})
            print(f"{case:16s} autotuned {auto.median_s * 1e3:.3f} ms "
                  f"{AP._prefill_tuned.best_config}", flush=True)
            for c in tiles:
                pack = c.kwargs.get("PACK", 1)
                name = (f"{c.kwargs['BLOCK_M']}x{c.kwargs['BLOCK_N']} w{c.num_warps} "
                        f"s{c.num_stages} pack{pack}")
                if (h // g) % pack:
                    continue
                try:
                    out = tile_call(q, k, v, c, window)
                    err = ((out.double() - ref.double()).norm() / ref.double().norm()).item()
                    t = timing.time_fn(lambda q, k, v, c=c, w=window: tile_call(q, k, v, c, w),
                                       sets, min_runs=20, max_runs=20, budget_s=0.0)
                    rows.append({"case": case, "tile": name, "ms": t.median_s * 1e3,
                                 "rel_err": err})
                    print(f"{case:16s} {name:24s} {t.median_s * 1e3:.3f} ms err {err:.1e}",
                          flush=True)
                except Exception as e:  # a refused tile is a result
                    rows.append({"case": case, "tile": name, "error": str(e)[:200]})
                    print(f"{case:16s} {name:24s} refused: {str(e)[:100]}", flush=True)
        del sets
        torch.cuda.empty_cache()
    Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
