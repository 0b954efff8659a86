"""Compile every kernel for Hopper (sm_90) on a machine with no GPU: `python -m
archlint.kernels.compile_check` (or `python kernels/compile_check.py` from a checkout).

Catches what the interpreter cannot: the interpreter runs kernels as Python, so code that only
the compiler rejects (a plain global read inside @triton.jit, a shape the MMA lowering refuses)
passes the CPU tests and fails on the GPU. Uses Triton's ahead-of-time entry point
(`triton.compile` on an `ASTSource` for a `GPUTarget`) and the ptxas bundled with Triton, so it
needs neither a GPU nor a driver. Prints registers and spills per kernel as ptxas reports them.
Must run with TRITON_INTERPRET unset (the interpreter replaces @triton.jit).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import triton

try:
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
except ImportError:  # pragma: no cover - a Triton without the ahead-of-time entry point
    print("this Triton has no triton.compiler.ASTSource / GPUTarget", file=sys.stderr)
    sys.exit(3)

if __package__ in (None, ""):  # run as a file from a checkout: import kernels/ as a package
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from kernels import _util, gated_delta, mla, moe, moe_tma, rmsnorm, rope, ssd
    from kernels import attention_decode as ad  # type: ignore[no-redef]
    from kernels import attention_prefill as ap
else:
    from . import _util, gated_delta, mla, moe, moe_tma, rmsnorm, rope, ssd
    from . import attention_decode as ad
    from . import attention_prefill as ap

FLOATS = {"sm_scale", "qk_scale", "softcap", "eps", "weight_offset", "limit", "scale"}
DIVISIBLE = ("C", "F", "M_Q", "N_KV")  # ints the JIT would see as multiples of 16


def _jit(fn):
    while not isinstance(fn, triton.runtime.jit.JITFunction):
        fn = fn.fn  # autotune / heuristics wrappers
    return fn


def compile_kernel(fn, ptrs: dict[str, str], consts: dict, num_warps=4, num_stages=3,
                   precision: str | None = None):
    """Compile like the JIT would for contiguous inputs: pointers and strides divisible by
    16, innermost strides equal to 1 (passed as constants). `precision` is the fp32 dot
    precision (TRITON_F32_DEFAULT: tf32, tf32x3, ieee)."""
    fn = _jit(fn)
    consts = dict(consts)
    for n in fn.arg_names:  # innermost strides: 1, as the JIT specialises them
        if n.startswith("stride_") and n[-1] in "kdcf" and n not in consts and (
                n.endswith(("qk", "kk", "vk", "ok", "q2k", "k2k", "qd", "kd", "vd", "od", "qld",
                            "qrd", "cd", "krd", "xc", "wc", "hf", "wf", "yc"))):
            consts[n] = 1
    sig = {}
    for n in fn.arg_names:
        if n in consts:
            sig[n] = "constexpr"
        elif n in ptrs:  # a pointer's dtype, or a whole "tensordesc<bf16[128, 64]>" (TMA)
            sig[n] = ptrs[n] if ptrs[n].startswith("tensordesc") else "*" + ptrs[n]
        else:
            sig[n] = "fp32" if n in FLOATS else "i32"
    attrs = {(fn.arg_names.index(n),): [["tt.divisibility", 16]] for n, t in sig.items()
             if t.startswith("*") or (t == "i32" and (n.startswith("stride_") or n in DIVISIBLE))}
    k = triton.compile(ASTSource(fn, sig, consts, attrs), target=GPUTarget("cuda", 90, 32),
                       options={"num_warps": num_warps, "num_stages": num_stages,
                                **({"default_dot_input_precision": precision}
                                   if precision else {})})
    return fn.__name__, k


def ptxas_report(ptx: str) -> str:
    """Registers and spills from the ptxas bundled with Triton ('' when it is not there)."""
    ptxas = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "ptxas")
    if not os.path.exists(ptxas):
        return ""
    with tempfile.NamedTemporaryFile("w", suffix=".ptx", delete=False) as f:
        f.write(ptx)
    try:
        r = subprocess.run([ptxas, "-arch=sm_90a", "-v", f.name, "-o", os.devnull],
                           capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(f.name)
    keep = [ln.split(":", 1)[-1].strip() for ln in r.stderr.splitlines()
            if "registers" in ln or "spill" in ln]
    return " | ".join(keep)


def cases():
    b = "bf16"
    attn = {n: b for n in ("Q1", "K1", "Q2", "K2", "V", "Out", "Kd", "Vd")} | {"Sinks": "fp32"}
    base = dict(GROUP=4, GROUP2=4, D1=128, D2=0, DV=128, BLOCK_DV=128, CAUSAL=True,
                HAS_WINDOW=False, HAS_SOFTCAP=False, HAS_SINKS=False, BLOCK_M=128, BLOCK_N=64,
                PACK=1, MERGE=False, WS=False, TMA=False)
    yield "prefill causal", ap._prefill_fwd, attn, base, 8, 3
    yield "prefill causal, K/V by TMA", ap._prefill_fwd, attn | dict(
        Kd="tensordesc<bf16[64, 128]>", Vd="tensordesc<bf16[64, 128]>"), base | dict(
        TMA=True), 8, 3
    yield "prefill GQA window, 2 heads a tile", ap._prefill_fwd, attn, base | dict(
        HAS_WINDOW=True, HAS_SINKS=True, PACK=2), 8, 3
    yield "prefill GQA window, one merged loop", ap._prefill_fwd, attn, base | dict(
        HAS_WINDOW=True, PACK=2, BLOCK_N=32, MERGE=True), 4, 3
    yield "prefill window+softcap+sinks", ap._prefill_fwd, attn, base | dict(
        HAS_WINDOW=True, HAS_SOFTCAP=True, HAS_SINKS=True, BLOCK_M=64), 4, 3
    yield "prefill MLA 128+64", ap._prefill_fwd, attn, base | dict(D2=64, GROUP2=128,
                                                                    BLOCK_M=64), 4, 3
    dec = dict(Q=b, K=b, V=b, SeqLens="i32", OutP="fp32", LseP="fp32")
    yield "decode", ad._decode_split, dec, dict(
        GROUP=4, BLOCK_G=16, D=128, BLOCK_D=128, DV=128, BLOCK_DV=128, HAS_WINDOW=True,
        HAS_SOFTCAP=True, BLOCK_N=64), 4, 3
    yield "decode merge", ad.merge_splits, dict(OutP="fp32", LseP="fp32", Sinks="fp32", Out=b), \
        dict(BLOCK_S=8, DV=128, BLOCK_DV=128, HAS_SINKS=True), 4, 1
    yield "mla decode", mla._mla_decode_split, dict(
        QL=b, QR=b, CKV=b, KR=b, SeqLens="i32", OutP="fp32", LseP="fp32"), dict(
        R=512, P=64, BLOCK_H=64, BLOCK_N=64), 8, 2
    yield "mla decode split latent", mla._mla_decode_split, dict(
        QL=b, QR=b, CKV=b, KR=b, SeqLens="i32", OutP="fp32", LseP="fp32"), dict(
        R=512, P=64, BLOCK_H=64, BLOCK_N=64, SPLIT_R=True), 8, 2
    yield "moe gate_up", moe._moe_gate_up, dict(
        X=b, W13=b, B13=b, Hout=b, SortedSlots="i32", BlockExpert="i32"), dict(
        BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, EVEN_K=True), 8, 4
    yield "moe down", moe._moe_down, dict(
        Hin=b, W2=b, B2=b, Y=b, SortedSlots="i32", BlockExpert="i32", TopkWeights="fp32"), dict(
        BLOCK_M=16, BLOCK_N=64, BLOCK_K=128, EVEN_K=False), 4, 4
    yield "moe gate_up bias+clamp", moe._moe_gate_up, dict(
        X=b, W13=b, B13=b, Hout=b, SortedSlots="i32", BlockExpert="i32"), dict(
        BLOCK_M=64, BLOCK_N=128, BLOCK_K=64, EVEN_K=True, HAS_BIAS=True, CLAMPED=True), 4, 4
    yield "moe down bias", moe._moe_down, dict(
        Hin=b, W2=b, B2=b, Y=b, SortedSlots="i32", BlockExpert="i32", TopkWeights="fp32"), dict(
        BLOCK_M=64, BLOCK_N=128, BLOCK_K=64, EVEN_K=True, HAS_BIAS=True), 4, 4
    tma = dict(SortedSlots="i32", BlockExpert="i32")
    yield "moe gate_up TMA persistent", moe_tma._moe_gate_up_tma, tma | dict(
        X=b, Wd="tensordesc<bf16[128, 64]>", B13=b, Hout=b), dict(
        BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, EVEN_K=True), 8, 4
    yield "moe down TMA persistent", moe_tma._moe_down_tma, tma | dict(
        Hd="tensordesc<bf16[128, 64]>", Wd="tensordesc<bf16[256, 64]>", B2=b, Y=b,
        TopkWeights="fp32"), dict(BLOCK_M=128, BLOCK_N=256, BLOCK_K=64, HAS_BIAS=True), 8, 3
    yield "ssd scan (mamba2)", ssd._ssd_fwd, dict(
        X=b, DT="fp32", A="fp32", B=b, C=b, D="fp32", S="fp32", Y=b), dict(
        N=128, P=64, BLOCK_P=64, BLOCK_Q=64), 4, 2
    yield "gated delta rule", gated_delta._gated_delta_fwd, dict(
        Q=b, K=b, V=b, G="fp32", Beta="fp32", S="fp32", Out=b), dict(
        DK=128, BLOCK_K=128, BLOCK_V=32), 4, 1
    yield "rmsnorm", rmsnorm._rmsnorm_fwd, dict(X=b, Res=b, W=b, Y=b, ResOut=b), dict(
        HAS_RESIDUAL=True, BLOCK_C=4096), 8, 1
    yield "rope", rope._rope_fwd, dict(Q=b, K=b, QO=b, KO=b, Pos="i64", InvFreq="fp32"), dict(
        D=128, R2=64, BLOCK_R2=64, BLOCK_D=128, BLOCK_H=16, NEOX=True), 4, 1


def fp32_fit_cases():
    """fp32 checks under TRITON_F32_DEFAULT=tf32x3 at the shapes that ran out of shared memory
    on the H200 (DeepSeek-V3's MLA prefill: 128 + 64 / 128): the tile the kernel's pruning
    keeps with the largest estimate, compiled, must fit one block."""
    f = "fp32"
    attn = {n: f for n in ("Q1", "K1", "Q2", "K2", "V", "Out", "Kd", "Vd")} | {"Sinks": "fp32"}
    meta = dict(GROUP=128, GROUP2=128, D1=128, D2=64, DV=128, BLOCK_DV=128, CAUSAL=True,
                HAS_WINDOW=False, HAS_SOFTCAP=False, HAS_SINKS=False)

    class F32:  # what the pruning reads of a tensor argument
        def element_size(self):
            return 4

    kept = ap.prune_prefill_configs(ap._CONFIGS, {"Q1": F32(), "M_Q": 192}, **meta)
    best = max(kept, key=lambda c: ap.prefill_shared_bytes(c, 192, 128, 4))
    yield ("prefill MLA fp32 tf32x3 (pruned)", ap._prefill_fwd, attn,
           meta | {"PACK": 1, "MERGE": False, "WS": False, "TMA": False} | best.kwargs,
           best.num_warps, best.num_stages,
           ap.prefill_shared_bytes(best, 192, 128, 4))
    kept = mla.prune_mla_configs(mla._CONFIGS, {"QL": F32(), "H": 128}, R=512, P=64)
    best = max(kept, key=lambda c: mla.mla_shared_bytes(c, 512, 64, 4))
    yield ("mla decode fp32 tf32x3 (pruned)", mla._mla_decode_split, dict(
        QL=f, QR=f, CKV=f, KR=f, SeqLens="i32", OutP="fp32", LseP="fp32"),
        dict(R=512, P=64) | best.kwargs, best.num_warps, best.num_stages,
        mla.mla_shared_bytes(best, 512, 64, 4))
    kept = moe.prune_moe_configs(moe._CONFIGS, {"X": F32()}, BLOCK_M=16)
    best = max(kept, key=lambda c: moe._shared_bytes(c, 16, 4))
    yield ("moe gate_up fp32 tf32x3 (pruned)", moe._moe_gate_up, dict(
        X=f, W13=f, B13=f, Hout=f, SortedSlots="i32", BlockExpert="i32"),
        dict(BLOCK_M=16, EVEN_K=True) | best.kwargs, best.num_warps, best.num_stages,
        moe._shared_bytes(best, 16, 4))


def check_fp32_fit() -> int:
    """Compile each fp32 case; fail when the compiler needs more shared memory than a block
    has or than the pruning estimated."""
    budget = _util.SHARED_MEMORY_BUDGET
    failed = 0
    for label, fn, ptrs, consts, w, s, estimate in fp32_fit_cases():
        _, k = compile_kernel(fn, ptrs, consts, w, s, precision="tf32x3")
        ok = k.metadata.shared <= min(budget, estimate)
        failed += not ok
        tile = "x".join(str(consts[n]) for n in ("BLOCK_M", "BLOCK_H", "BLOCK_N", "BLOCK_K")
                        if n in consts)
        print(f"{'ok  ' if ok else 'FAIL'} {label:34s} {tile} w{w} s{s} "
              f"shared={k.metadata.shared} estimate={estimate} budget={budget}", flush=True)
    return failed


def main() -> int:
    if os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
        print("unset TRITON_INTERPRET: the interpreter replaces @triton.jit", file=sys.stderr)
        return 2
    failed = 0
    for label, fn, ptrs, consts, w, s in cases():
        try:
            name, k = compile_kernel(fn, ptrs, consts, w, s)
            wgmma = k.asm["ptx"].count("wgmma.mma_async")
            print(f"ok   {label:30s} {name} w{w} s{s} shared={k.metadata.shared} "
                  f"wgmma={wgmma}  {ptxas_report(k.asm['ptx'])}", flush=True)
        except Exception as e:  # report every kernel, then fail
            failed += 1
            print(f"FAIL {label:30s} {type(e).__name__}: {str(e)[:2000]}", flush=True)
    failed += check_fp32_fit()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
