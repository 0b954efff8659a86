"""Correctness of a bench layer before any timing: the Triton path against the PyTorch path on
the same weights, inputs and (pinned) routing, for a prefill and one decode step, and the cache
each path wrote."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from archlint.bench.kernelmods import kernel_module
from archlint.bench.layer import BenchLayer
from archlint.spec import ModelSpec


def rel_err(out: Any, ref: Any) -> float:
    """‖out − ref‖ / ‖ref‖ in float64; NaN anywhere gives NaN."""
    o, r = out.double(), ref.double()
    if not bool(o.isfinite().all()):
        return float("nan")
    denom = float(r.norm())
    return float((o - r).norm()) / denom if denom else float((o - r).norm())


def check_layer(
    spec: ModelSpec,
    index: int,
    *,
    dtype: str,
    device: str,
    batch: int = 2,
    context: int | None = None,
    seed: int = 0,
    config: dict[str, Any] | None = None,
    encoder_tokens: int | None = None,
) -> dict[str, Any]:
    """Prefill `context` tokens and decode one more on both paths over the same weights; the
    relative errors of the Triton path's outputs and caches against the PyTorch path's.

    The default context makes windows and chunks wrap (window + 64) so the ring buffer is
    exercised; otherwise 192. Routing is pinned to the PyTorch path's choice; how often the
    Triton path would choose differently on its own is reported as `routing_agreement`.
    On a GPU every autotuned kernel runs one fixed small tile here (`kernels._util.fixed_tiles`):
    the check is of the function computed, and tuning tiles at these shapes only costs compile
    time (a whole tf32x3 set for the fp32 check).
    """
    import torch

    layer = BenchLayer(spec, index, dtype=dtype, device=device, seed=seed, config=config,
                       encoder_tokens=encoder_tokens)
    limit = layer.window or layer.chunk
    n = context or ((limit + 64) if limit else 192)
    caches = {p: layer.alloc_cache(batch, n + 1) for p in ("torch", "triton")}
    x = layer.random_input(batch, n)
    xd = layer.random_input(batch)
    out: dict[str, Any] = {"dtype": dtype, "batch": batch, "context": n}
    if dtype == "fp32":
        # Triton runs fp32 tl.dot in plain tf32 by default (errors ~1e-3 at real sizes).
        # "tf32x3" splits each operand into three tf32 products: fp32-level accuracy on tensor
        # cores (measured on the H100: 2e-7 to 7e-7 for Llama-3.1 and Mixtral layers), where
        # "ieee" FMA dots did not finish compiling in 8 minutes. Only fp32 dots are affected,
        # so the bf16 path that is timed is unchanged. A user's explicit setting wins.
        out["fp32_dot_precision"] = os.environ.setdefault("TRITON_F32_DEFAULT", "tf32x3")
    fixed = contextlib.nullcontext()
    if device.startswith("cuda"):  # one small tile per kernel, no autotuning (kernels/_util)
        fixed = kernel_module("_util").fixed_tiles()
    with torch.no_grad(), fixed:
        ref_p = layer.prefill(x, caches["torch"], "torch")
        route_p = layer.last_routing
        tri_p = layer.prefill(x, caches["triton"], "triton", routing=route_p)
        ref_d = layer.decode(xd, caches["torch"], n, "torch")
        route_d = layer.last_routing
        tri_d = layer.decode(xd, caches["triton"], n, "triton", routing=route_d)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        out["prefill_rel_err"] = rel_err(tri_p, ref_p)
        out["decode_rel_err"] = rel_err(tri_d, ref_d)
        out["cache_rel_err"] = max(
            (rel_err(caches["triton"].tensors[k], caches["torch"].tensors[k])
             for k in caches["torch"].tensors), default=0.0)
        if layer.moe and route_p is not None:
            own = layer.own_routing(x, "triton")
            same = (own.sort(-1).values == route_p[1].sort(-1).values).all(-1)
            out["routing_agreement"] = float(same.float().mean())
    del layer, caches
    return out


def check_ok(result: dict[str, Any]) -> bool:
    """fp32: every error < 5e-3 with the kernels' tf32 dots (Triton's default for fp32 on tensor
    cores; measured 2e-4 to 1e-3 at real sizes, growing with the reduction length), < 1e-4 with
    TRITON_F32_DEFAULT=ieee or tf32x3; bf16/fp16: < 2e-2. NaN never passes."""
    if result["dtype"] == "fp32":
        tol = 5e-3 if result.get("fp32_dot_precision", "tf32") == "tf32" else 1e-4
    else:
        tol = 2e-2
    errs = [result[k] for k in ("prefill_rel_err", "decode_rel_err", "cache_rel_err")]
    return all(e == e and e < tol for e in errs)


__all__ = ["check_layer", "check_ok", "rel_err"]
