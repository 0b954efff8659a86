#!/usr/bin/env python3
"""Time every prefill tile one by one at the kernel bench's shapes (B4 H32 D128 S4096; MHA and
GQA with 8 KV heads; full causal and window S/8), beside the autotuner's pick, and write the
fastest of each case as that shape class's pick (`kernels/prefill_picks.py`), so the tile the
kernel launches is chosen from measurements instead of by the autotuner's single timing.

    PYTHONUNBUFFERED=1 python benchmarks/gpu_prefill_tiles.py --json out.json \\
        --write-picks kernels/prefill_picks.py --budget-s 170
    TRITON_INTERPRET=1 python benchmarks/gpu_prefill_tiles.py --smoke --write-picks /tmp/p.py

Candidates: the tuned list, the packed-head tiles (`PACK`), a few extra shapes, the one-loop
form (`MERGE`) of the window tiles, and last (phase 2, where a compiler crash costs only that
phase) the K/V-by-TMA form (`TMA`) of each case's three fastest staged tiles and the
warp-specialised loop (`WS`) of its two fastest. `--short` (a short lease): phase 1 times only
the committed pick and four tiles, phase 2 only the TMA forms. Each tile is checked
against PyTorch's SDPA (causal, or the band mask for the window) in bf16 (< 2e-2 relative)
before it is timed; a tile the compiler refuses is recorded as refused. Timing:
archlint.bench.timing (CUDA events, median of 15 calls on 3 rotated input sets); the three
fastest tiles of a case are timed a second time, interleaved, and ranked by the mean of the two
medians (METHOD.md: a difference under the spread of two timings of one version is noise).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pprint
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from archlint.bench import timing  # noqa: E402
from archlint.bench.kernelmods import kernel_module  # noqa: E402

AP = kernel_module("attention_prefill")

# candidates beyond the tuned list: more packed shapes (4 heads of 32 positions; 2 heads with
# 32-key tiles)
EXTRA = [(128, 64, 8, 4, 4), (128, 128, 8, 3, 4), (128, 64, 4, 3, 2), (64, 64, 4, 3, 2),
         (128, 32, 4, 3, 4)]
# the one-loop form of the window's likely tiles (MERGE); pack 1 for MHA, 2 and 4 for GQA
MERGED = [(64, 64, 4, 3, 1), (64, 32, 4, 3, 1), (128, 64, 8, 3, 1), (128, 32, 4, 3, 1),
          (128, 32, 4, 3, 2), (128, 64, 8, 3, 2), (64, 64, 4, 3, 2), (128, 64, 8, 3, 4)]
B, H, S, D = 4, 32, 4096, 128
DEV, DTYPE = "cuda", torch.bfloat16
SMOKE = False  # --smoke: CPU interpreter, tiny shapes, a few small tiles (plumbing only)


def name(c):
    return AP.config_name(c)


def case_name(g, window):
    return f"Hkv{g} " + (f"window {window}" if window else "causal")


# --short: the case's committed pick and these, then the TMA forms (a short lease)
SHORT = [(128, 64, 8, 3), (128, 128, 8, 3), (64, 64, 4, 3), (128, 32, 4, 3)]


def committed_pick(g, window):
    """The tile kernels/prefill_picks.py holds for this case (None if none)."""
    for e in AP.PICKS:
        m = e["match"]
        if m["GROUP"] == H // g and m["HAS_WINDOW"] == bool(window) and m["D1"] == D:
            return AP._config(*e["config"])
    return None


def candidates(g, window, short=False):
    if SMOKE:
        return [AP._config(16, 16, 4, 1), AP._config(32, 16, 4, 1, 2),
                AP._config(16, 16, 4, 1, 1, True)]
    tiles = AP._TUNED + AP._PACKED + [AP._config(*t) for t in EXTRA]
    if window:
        tiles += [AP._config(*t, True) for t in MERGED]
    if short:
        pick = committed_pick(g, window)
        tiles = ([pick] if pick is not None else []) + [AP._config(*t) for t in SHORT]
    seen, out = set(), []
    for c in tiles:
        if (H // g) % c.kwargs.get("PACK", 1) or name(c) in seen:
            continue
        seen.add(name(c))
        out.append(c)
    return out


def reference(q, k, v, window, g):
    kw = {"enable_gqa": True} if g != H else {}
    sdpa = torch.nn.functional.scaled_dot_product_attention
    if not window:
        return sdpa(q, k, v, is_causal=True, **kw)
    pos = torch.arange(q.shape[2], device=q.device)
    band = (pos[None, :] <= pos[:, None]) & (pos[None, :] > pos[:, None] - window)
    return sdpa(q, k, v, attn_mask=band, **kw)


def rel_err(out, ref):
    out, ref = out.double(), ref.double()
    return ((out - ref).norm() / ref.norm()).item()


def time_ms(fn, sets, runs=15):
    runs = 1 if SMOKE else runs
    return timing.time_fn(fn, sets, min_runs=runs, max_runs=runs, budget_s=0.0).median_s * 1e3


def pick_entry(g, window, config, ms, auto_ms, device, stamp, baseline="autotuned"):
    group = H // g
    cap = [9, 0] if SMOKE else list(torch.cuda.get_device_capability())
    match = {"capability": cap, "elem": 2, "D1": D,
             "D2": 0, "DV": D, "GROUP": group, "GROUP2": group, "CAUSAL": True,
             "HAS_WINDOW": bool(window), "HAS_SOFTCAP": False, "HAS_SINKS": False,
             "min_m": 2048, "window": [window // 2, window * 2] if window else [0, 0]}
    kw = config.kwargs
    return {"match": match,
            "config": [kw["BLOCK_M"], kw["BLOCK_N"], config.num_warps, config.num_stages,
                       kw.get("PACK", 1), bool(kw.get("MERGE", False)),
                       bool(kw.get("WS", False)), bool(kw.get("TMA", False))],
            "measured": f"{device}, {stamp}, B{B} H{H}/Hkv{g} D{D} S{S}"
                        + (f" window {window}" if window else "")
                        + f": {ms:.3f} ms ({baseline} {auto_ms:.3f} ms)"}


def write_picks(path: Path, new: list[dict]):
    """Rewrite the PICKS list of kernels/prefill_picks.py: this run's entries replace those of
    the same class, the others are kept; the module's docstring is kept as it is."""
    text = path.read_text()
    head = text[:text.index("PICKS = [")]
    ns: dict = {}
    exec(compile(text, str(path), "exec"), ns)  # the module is plain data
    picks = [e for e in ns["PICKS"] if all(e["match"] != n["match"] for n in new)] + new
    body = pprint.pformat(picks, indent=1, width=96, sort_dicts=False)
    path.write_text(head + "PICKS = " + body + "\n")


class Sweep:
    """One sweep's state: rows for the JSON, each case's timed tiles, the picks."""

    def __init__(self, json_path: str, budget_s: float, short: bool = False):
        self.json_path, self.budget_s, self.t0 = json_path, budget_s, time.time()
        self.short = short
        self.device = "cpu (interpreter)" if SMOKE else torch.cuda.get_device_name()
        self.stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        self.rows: list[dict] = []
        self.best: dict = {}  # case -> [(ms, config)]
        self.auto: dict = {}  # case -> autotuned ms
        self.picks: dict = {}  # case -> pick entry

    def save(self):
        Path(self.json_path).write_text(json.dumps(
            {"device": self.device, "date": self.stamp, "rows": self.rows}, indent=1))

    def tile(self, c, g, window, sets, ref):
        """Check one fixed tile against the reference, then time it; None if refused."""
        case = case_name(g, window)
        try:
            q, k, v = sets[0]
            err = rel_err(AP.prefill_attention(q, k, v, window=window, tile=c), ref)
            if not err < 2e-2:
                self.rows.append({"case": case, "tile": name(c), "rel_err": err,
                                  "error": "check"})
                print(f"{case:16s} {name(c):30s} FAILED check: err {err:.1e}", flush=True)
                return None
            ms = time_ms(lambda q, k, v: AP.prefill_attention(q, k, v, window=window, tile=c),
                         sets)
            self.rows.append({"case": case, "tile": name(c), "ms": ms, "rel_err": err})
            print(f"{case:16s} {name(c):30s} {ms:.3f} ms err {err:.1e}", flush=True)
            return ms
        except Exception as e:  # a refused tile is a result
            self.rows.append({"case": case, "tile": name(c), "error": str(e)[:200]})
            print(f"{case:16s} {name(c):30s} refused: {str(e)[:100]}", flush=True)
            return None

    def case(self, phase, g, window, sets):
        case = case_name(g, window)
        q, k, v = sets[0]
        ref = reference(q, k, v, window, g)

        def call(q, k, v, tile=None):
            return AP.prefill_attention(q, k, v, window=window, tile=tile)

        if phase == 1 and not self.short:
            AP.USE_PICKS = False
            self.auto[case] = time_ms(call, sets, runs=30)
            self.rows.append({"case": case, "tile": AP.LAST_CONFIG["config"],
                              "ms": self.auto[case]})
            AP.USE_PICKS = True
            print(f"{case:16s} {AP.LAST_CONFIG['config']:30s} {self.auto[case]:.3f} ms",
                  flush=True)
        if phase == 1:
            tiles = candidates(g, window, self.short)
        else:  # K/V through TMA descriptors for the three fastest staged tiles (MERGE runs
            # every tile masked, where TMA is not used); the warp-specialised loop (WS) only
            # without --short (Triton 3.6 refused it on every tile, 2026-12-07)
            staged = [c for _, c in sorted(self.best.get(case, []), key=lambda t: t[0])
                      if not c.kwargs.get("MERGE")]
            tiles = [AP._config(c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"], c.num_warps,
                                c.num_stages, c.kwargs.get("PACK", 1), False, False, True)
                     for c in staged[:3]]
            if not self.short:
                tiles += [AP._config(c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"], c.num_warps,
                                     c.num_stages, c.kwargs.get("PACK", 1),
                                     c.kwargs.get("MERGE", False), True)
                          for _, c in sorted(self.best.get(case, []), key=lambda t: t[0])[:2]]
        timed = self.best.setdefault(case, [])
        for c in tiles:
            if time.time() - self.t0 > self.budget_s:
                print(f"{case:16s} {name(c):30s} skipped (budget)", flush=True)
                continue
            ms = self.tile(c, g, window, sets, ref)
            if ms is not None:
                timed.append((ms, c))
                if self.short and phase == 1 and c is tiles[0]:  # the committed pick
                    self.auto.setdefault(case, ms)
        if phase == 1 and timed:
            # the three fastest timed again; ranked by the mean of the two medians
            top = sorted(timed, key=lambda t: t[0])[:3]
            again = [(0.5 * (ms + time_ms(lambda q, k, v, c=c: call(q, k, v, c), sets)), c)
                     for ms, c in top]
            for ms, c in again:
                self.rows.append({"case": case, "tile": name(c), "mean_of_two_ms": ms})
            self.best[case] = timed = again + [t for t in timed if t not in top]
        if timed:
            # a phase-2 tile (TMA or warp-specialised, timed once) must win by more than 2%,
            # beyond the spread of two timings of one tile, to replace a tile timed twice
            late = ("WS", "TMA")
            plain = [t for t in timed if not any(t[1].kwargs.get(f) for f in late)]
            ms, c = min(plain or timed, key=lambda t: t[0])
            ws = [t for t in timed if any(t[1].kwargs.get(f) for f in late) and t[0] < 0.98 * ms]
            if ws:
                ms, c = min(ws, key=lambda t: t[0])
            # --short times no autotuner: the baseline is the committed pick (timed first)
            auto = self.auto.get(case, float("nan"))
            self.picks[case] = pick_entry(g, window, c, ms, auto, self.device, self.stamp,
                                          "committed pick" if self.short else "autotuned")
            print(f"{case:16s} pick {name(c)} {ms:.3f} ms ({auto:.3f} ms before)", flush=True)
        self.save()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default="prefill_tiles.json")
    ap.add_argument("--write-picks", default=None, help="kernels/prefill_picks.py to update")
    ap.add_argument("--budget-s", type=float, default=170.0,
                    help="stop timing new tiles after this many seconds (phase 2 first)")
    ap.add_argument("--smoke", action="store_true", help="CPU interpreter, tiny shapes")
    ap.add_argument("--short", action="store_true",
                    help="phase 1: the committed pick and four tiles; phase 2: TMA only")
    ap.add_argument("--cases", default="causal,window,gqa-causal,gqa-window",
                    help="which cases, in this order (a short lease: the windows first)")
    a = ap.parse_args()
    if a.smoke:
        global B, H, S, D, DEV, DTYPE, SMOKE
        B, H, S, D, DEV, DTYPE, SMOKE = 1, 4, 32, 16, "cpu", torch.float32, True
    sw = Sweep(a.json, a.budget_s, a.short)
    named = {"causal": (H, None), "window": (H, S // 8), "gqa-causal": (H // 4, None),
             "gqa-window": (H // 4, S // 8)}
    order = [named[c] for c in a.cases.split(",")]
    for phase in (1, 2):
        for g in dict.fromkeys(g for g, _ in order):  # one input set per group size
            sets = [tuple(torch.randn(B, n, S, D, device=DEV, dtype=DTYPE)
                          for n in (H, g, g)) for _ in range(3)]
            for window in [w for gg, w in order if gg == g]:
                sw.case(phase, g, window, sets)
            del sets
            if not SMOKE:
                torch.cuda.empty_cache()
        if a.write_picks and sw.picks:
            write_picks(Path(a.write_picks), list(sw.picks.values()))
            print(f"wrote {len(sw.picks)} picks to {a.write_picks} (phase {phase})", flush=True)
    sw.save()
    print(f"total {time.time() - sw.t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
