"""Compile, for Hopper (sm_90) and with no GPU, every tile the autotuners (and the correctness
checks' fixed tiles) would compile at the shapes the device benches launch: `python
kernels/autotune_check.py [--only prefill,decode,mla,moe,moe_tma]`.

Why: `kernels/compile_check.py` compiles one tile per kernel. On the device the autotuner
compiles every tile its pruning keeps, and it survives only the errors it expects
(OutOfResources, PTXASError, CompileTimeAssertionFailure: that tile is timed as infinitely
slow); any other compiler error (an MLIR pass failure, an assertion) ends the whole bench
command. A tile that compiles but needs more shared memory than a block has is refused only at
launch: harmless inside an autotuned list, a crash when it is the one tile a pick or a fixed
check launches. So each kept tile is compiled here and fails the check when

- the compiler raises anything but the three errors the autotuner skips, or
- the pruning kept it (its shared-memory estimate fit) and the compiled kernel does not fit
  one block (`_util.SHARED_MEMORY_BUDGET`, 232,448 B on the H100 and the H200), or
- it is a fixed tile (the checks under `fixed_tiles()`, fp32 under tf32x3 and bf16) and does
  not compile or fit.

Prints each tile's shared memory beside the pruning's estimate, registers and spills (ptxas),
and per shape the number of tiles the autotuner compiles there: the compile counts the device
time estimate reads (one compile ~0.5-3 s on a CPU core, plus one timing of each tile).
Must run with TRITON_INTERPRET unset.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import sys
import time

if __package__ in (None, ""):  # run as a file from a checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from kernels import _util, mla, moe, moe_tma
    from kernels import attention_decode as ad  # type: ignore[no-redef]
    from kernels import attention_prefill as ap
    from kernels import compile_check as cc
else:
    from . import _util, mla, moe, moe_tma
    from . import attention_decode as ad
    from . import attention_prefill as ap
    from . import compile_check as cc

from triton.runtime.errors import OutOfResources, PTXASError

try:
    from triton.compiler.errors import CompileTimeAssertionFailure
except ImportError:  # pragma: no cover
    CompileTimeAssertionFailure = OutOfResources  # type: ignore[misc,assignment]

#: the errors Triton's autotuner catches while timing a tile (runtime/autotuner.py `_bench`)
SKIPPED = (OutOfResources, PTXASError, CompileTimeAssertionFailure)


class Elem:
    """What the pruning functions read of a tensor argument: its element size."""

    def __init__(self, size: int) -> None:
        self.size = size

    def element_size(self) -> int:
        return self.size


# (label, meta): the prefill shapes of benchmarks/gpu_kernels.py and gpu_layers.py's models
PREFILL = [
    ("MHA D128 causal", dict(GROUP=1, D1=128, DV=128)),
    ("MHA D128 window", dict(GROUP=1, D1=128, DV=128, HAS_WINDOW=True)),
    ("GQA4 D128 causal (Llama-3.1, Mixtral)", dict(GROUP=4, D1=128, DV=128)),
    ("GQA4 D128 window (Mistral)", dict(GROUP=4, D1=128, DV=128, HAS_WINDOW=True)),
    ("GQA4 D128 cross (not causal)", dict(GROUP=4, D1=128, DV=128, CAUSAL=False)),
    ("GQA5 D128 causal (Llama-4)", dict(GROUP=5, D1=128, DV=128)),
    ("GQA8 D64 window+sinks (gpt-oss)", dict(GROUP=8, D1=64, DV=64, HAS_WINDOW=True,
                                             HAS_SINKS=True)),
    ("GQA8 D64 causal+sinks (gpt-oss)", dict(GROUP=8, D1=64, DV=64, HAS_SINKS=True)),
    ("GQA8 D256 causal (Qwen3-Next)", dict(GROUP=8, D1=256, DV=256)),
    ("MLA 128+64/128 (DeepSeek-V3)", dict(GROUP=1, GROUP2=128, D1=128, D2=64, DV=128)),
]
# (label, meta, KV heads H): decode shapes (BLOCK_G etc. derived as decode_attention does)
DECODE = [
    ("GQA4 D128", dict(GROUP=4, D=128, DV=128)),
    ("GQA4 D128 window", dict(GROUP=4, D=128, DV=128, HAS_WINDOW=True)),
    ("GQA5 D128", dict(GROUP=5, D=128, DV=128)),
    ("GQA8 D64 window (gpt-oss)", dict(GROUP=8, D=64, DV=64, HAS_WINDOW=True)),
    ("GQA8 D256 (Qwen3-Next)", dict(GROUP=8, D=256, DV=256)),
]


def _pow2(n: int) -> int:
    """The padded tile width the launchers use: max(16, next power of two)."""
    return max(16, 1 << (n - 1).bit_length())


def _prefill_meta(m: dict) -> dict:
    out = dict(GROUP=1, GROUP2=m.get("GROUP", 1), D2=0, CAUSAL=True, HAS_WINDOW=False,
               HAS_SOFTCAP=False, HAS_SINKS=False) | m
    return out | {"BLOCK_DV": _pow2(out["DV"])}


#: (name, element size, fp32 dot precision, tuned tiles?, fixed tile?): bf16 is what the benches
#: time (every tile the pruning keeps) and what the layer checks run with fixed tiles; fp32 under
#: tf32 is gpu_kernels.py's fp32 checks (autotuned); fp32 under tf32x3 the layer checks' fp32
#: pass (archlint/bench/checks.py: fixed tiles only)
VARIANTS = [("bf16", 2, None, True, True), ("fp32 tf32", 4, "tf32", True, False),
            ("fp32 tf32x3", 4, "tf32x3", False, True)]


def _tiles(prune, fallbacks, est):
    """(variant, dtype, precision, config, fixed?) for each variant: the tiles `prune(elem)`
    keeps, and the fixed check tile; `est(config, elem)` is the shared-memory estimate."""
    for name, elem, precision, tuned, fixed in VARIANTS:
        t = "bf16" if elem == 2 else "fp32"
        one = functools.partial(est, elem=elem)
        tiles = [(c, False) for c in prune(elem)] if tuned else []
        if fixed:  # what `_util.fixed_tile` launches inside `fixed_tiles()` on a Hopper chip
            tiles.append((_util.first_fit(fallbacks, one), True))
        for c, is_fixed in tiles:
            yield name, t, precision, c, is_fixed, one(c)


def prefill_tiles():
    """(section, shape, tile, fn, ptrs, consts, warps, stages, precision, estimate, fixed)."""
    for label, m in PREFILL:
        meta = _prefill_meta(m)
        dqk = meta["D1"] + meta["D2"]

        def prune(elem, meta=meta):
            return ap.prune_prefill_configs(ap._CONFIGS, {"Q1": Elem(elem), "M_Q": 4096}, **meta)

        def est(c, elem, dqk=dqk, meta=meta):
            return ap.prefill_shared_bytes(c, dqk, meta["BLOCK_DV"], elem)

        for var, t, prec, c, fixed, e in _tiles(prune, ap._FALLBACKS, est):
            ptrs = {n: t for n in ("Q1", "K1", "Q2", "K2", "V", "Out", "Kd", "Vd")}
            consts = meta | {"PACK": 1, "MERGE": False, "WS": False, "TMA": False} | c.kwargs
            yield ("prefill", f"{label} {var}", ap.config_name(c), ap._prefill_fwd,
                   ptrs | {"Sinks": "fp32"}, consts, c.num_warps, c.num_stages, prec, e, fixed)


def decode_tiles():
    for label, m in DECODE:
        meta = dict(HAS_WINDOW=False, HAS_SOFTCAP=False) | m
        meta |= dict(BLOCK_G=_pow2(meta["GROUP"]), BLOCK_D=_pow2(meta["D"]),
                     BLOCK_DV=_pow2(meta["DV"]))

        def prune(elem, meta=meta):
            return ad.prune_decode_configs(ad._CONFIGS, {"q": Elem(elem)}, **meta)

        def est(c, elem, meta=meta):
            return ad.decode_shared_bytes(c, meta["BLOCK_G"], meta["BLOCK_D"], meta["BLOCK_DV"],
                                          elem)

        for var, t, prec, c, fixed, e in _tiles(prune, ad._FALLBACKS, est):
            ptrs = dict(Q=t, K=t, V=t, SeqLens="i32", OutP="fp32", LseP="fp32")
            yield ("decode", f"{label} {var}", f"{c.kwargs['BLOCK_N']} w{c.num_warps} "
                   f"s{c.num_stages}", ad._decode_split, ptrs, meta | c.kwargs, c.num_warps,
                   c.num_stages, prec, e, fixed)


def mla_tiles():
    r, p = 512, 64

    def prune(elem):
        return mla.prune_mla_configs(mla._CONFIGS, {"QL": Elem(elem), "H": 128}, R=r, P=p)

    def est(c, elem):
        return mla.mla_shared_bytes(c, r, p, elem)

    for var, t, prec, c, fixed, e in _tiles(prune, mla._FALLBACKS, est):
        kw = c.kwargs
        ptrs = dict(QL=t, QR=t, CKV=t, KR=t, SeqLens="i32", OutP="fp32", LseP="fp32")
        yield ("mla", f"H128 R512 P64 {var}", f"{kw['BLOCK_H']}x{kw['BLOCK_N']} "
               f"w{c.num_warps} s{c.num_stages}" + (" split" if kw.get("SPLIT_R") else ""),
               mla._mla_decode_split, ptrs, dict(R=r, P=p) | kw, c.num_warps, c.num_stages,
               prec, e, fixed)


def _moe_name(c) -> str:
    kw = c.kwargs
    return (f"{kw['BLOCK_N']}x{kw['BLOCK_K']} w{c.num_warps} s{c.num_stages}"
            + ("" if kw.get("PERSIST", True) else " grid"))


def _even_k(bias: bool, c) -> bool:
    """EVEN_K as the kernels' heuristic sets it: the bias variant stands for gpt-oss, whose
    C = F = 2880 is not a multiple of 128 (its masked-K form compiles too)."""
    return not bias or 2880 % c.kwargs["BLOCK_K"] == 0


def moe_tiles():
    kernels = (("gate_up", moe._moe_gate_up, "X", 2), ("down", moe._moe_down, "Hin", 1))
    for bias, bm, (kind, fn, first, weights) in itertools.product(
            (False, True), sorted(moe._TABLE), kernels):
        def prune(elem, bm=bm, first=first):
            return moe.prune_moe_configs(moe._CONFIGS, {first: Elem(elem)}, BLOCK_M=bm)

        def est(c, elem, bm=bm, weights=weights):
            return moe._shared_bytes(c, bm, elem, weights)

        for var, t, prec, c, fixed, e in _tiles(prune, moe._FALLBACK_CONFIGS, est):
            if kind == "gate_up":
                ptrs = dict(X=t, W13=t, B13=t, Hout=t, SortedSlots="i32", BlockExpert="i32")
            else:
                ptrs = dict(Hin=t, W2=t, B2=t, Y=t, SortedSlots="i32", BlockExpert="i32",
                            TopkWeights="fp32")
            consts = dict(HAS_BIAS=bias, BLOCK_M=bm, EVEN_K=_even_k(bias, c)) | c.kwargs
            if kind == "gate_up":
                consts["CLAMPED"] = bias
            yield ("moe", f"{kind} BLOCK_M {bm} {var}" + (" bias+clamp" if bias else ""),
                   _moe_name(c), fn, ptrs, consts, c.num_warps, c.num_stages, prec, e, fixed)


def moe_tma_tiles():
    """bf16 only: the TMA forms run for 2-byte operands (`moe.wants_tma`)."""
    b = "bf16"
    idx = dict(SortedSlots="i32", BlockExpert="i32")
    for bm, bias, (tuned, fn, kind) in itertools.product(
            sorted(moe._TMA_GATE_UP), (False, True),
            ((moe._gate_up_tma_tuned, moe_tma._moe_gate_up_tma, "gate_up"),
             (moe._down_tma_tuned, moe_tma._moe_down_tma, "down"))):
        kept = tuned.early_config_prune(tuned.configs, {"X": Elem(2)}, BLOCK_M=bm)
        weights = 2 if kind == "gate_up" else 1
        fallback = [c for c in tuned.configs if moe._tma_shape(c) == moe._TMA_FALLBACK]
        seen = set()  # PERSIST only sizes the grid (not specialised): one binary for both
        for c, is_fixed in [(c, False) for c in kept] + [(fallback[0], True)]:
            bn, bk = c.kwargs["BLOCK_N"], c.kwargs["BLOCK_K"]
            if (bn, bk, c.num_warps, c.num_stages, is_fixed) in seen:
                continue
            seen.add((bn, bk, c.num_warps, c.num_stages, is_fixed))
            if kind == "gate_up":
                ptrs = idx | dict(X=b, Wd=f"tensordesc<bf16[{bn}, {bk}]>", B13=b, Hout=b)
                consts = dict(EVEN_K=_even_k(bias, c), HAS_BIAS=bias, CLAMPED=bias)
            else:
                ptrs = idx | dict(Hd=f"tensordesc<bf16[{bm}, {bk}]>",
                                  Wd=f"tensordesc<bf16[{bn}, {bk}]>", B2=b, Y=b,
                                  TopkWeights="fp32")
                consts = dict(HAS_BIAS=bias)
            yield ("moe_tma", f"{kind} BLOCK_M {bm} bf16" + (" bias+clamp" if bias else ""),
                   _moe_name(c), fn, ptrs,
                   consts | dict(BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk), c.num_warps, c.num_stages,
                   None,
                   moe._shared_bytes(c, bm, 2, weights, tma=True), is_fixed)


SECTIONS = {"prefill": prefill_tiles, "decode": decode_tiles, "mla": mla_tiles,
            "moe": moe_tiles, "moe_tma": moe_tma_tiles}


def check_tile(fn, ptrs, consts, warps, stages, precision, estimate, fixed):
    """(status, detail): 'ok', 'skipped' (an error the autotuner skips) or 'FAIL'."""
    limit = _util.SHARED_MEMORY_BUDGET
    try:
        _, k = cc.compile_kernel(fn, ptrs, consts, warps, stages,
                                 precision=precision)
    except SKIPPED as e:
        return ("FAIL" if fixed else "skipped"), f"{type(e).__name__}: {str(e)[:300]}"
    except Exception as e:  # the autotuner would not catch it: the bench command dies
        return "FAIL", f"{type(e).__name__}: {str(e)[:600]}"
    shared = k.metadata.shared
    regs = cc.ptxas_report(k.asm["ptx"])
    detail = f"shared={shared} estimate={estimate}  {_short_regs(regs)}"
    if shared > limit:  # the pruning kept it, or a fixed check tile: either must fit
        return "FAIL", detail + f"  over the {limit} B a block has"
    return "ok", detail


def _short_regs(report: str) -> str:
    """'255 regs, 296 B spilled' from ptxas's -v lines."""
    regs = next((w.split()[1] for w in report.split(" | ") if w.startswith("Used ")), "?")
    spill = next((w.split()[0] for w in report.split(", ") if "spill stores" in w), "0")
    return f"{regs} regs" + (f", {spill} B spilled" if spill not in ("0", "") else "")


def main(argv=None) -> int:
    if _util.interpreting():
        print("unset TRITON_INTERPRET: the interpreter replaces @triton.jit", file=sys.stderr)
        return 2
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--only", default=",".join(SECTIONS))
    a.add_argument("--variant", default="", help="only shapes ending so (bf16, fp32 tf32, ...)")
    args = a.parse_args(argv)
    failed, counts, t0 = 0, {}, time.time()
    for section in args.only.split(","):
        for sec, shape, tile, fn, ptrs, consts, w, s, prec, est, fixed in SECTIONS[section]():
            if args.variant and not shape.endswith(tuple(args.variant.split(","))):
                continue
            status, detail = check_tile(fn, ptrs, consts, w, s, prec, est, fixed)
            failed += status == "FAIL"
            if not fixed:  # what the autotuner compiles at this shape on the device
                counts[(sec, shape)] = counts.get((sec, shape), 0) + 1
            kind = "fixed" if fixed else "tuned"
            print(f"{status:7s} {sec:7s} {shape:42s} {kind} {tile:26s} {detail}", flush=True)
    print("\ntiles the autotuner compiles per shape:")
    for (sec, shape), n in counts.items():
        print(f"  {sec:7s} {shape:42s} {n}")
    print(f"{failed} failed; {time.time() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
