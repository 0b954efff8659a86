"""One layer's cache for the bench, and the seeded weights its parts are built from.

Layouts (vLLM's, contiguous per sequence instead of paged):
- attention: k [B, cap, G, D], v [B, cap, G, Dv]; cap = min(capacity, window or chunk), a
  ring buffer (position p in slot p % cap) for windowed and chunked layers;
- MLA: latent [B, cap, R + P];
- cross-attention: k/v [B, E, G, D] over the E encoder tokens, written once at prefill;
- KV-shared layers: nothing of their own; they read the K/V another layer wrote
  (`LayerCache.borrowed`, not counted);
- constant-state mixers: the conv window [B, channels, K − 1] and the recurrent state
  (Mamba-2 [B, H, P, N], Gated DeltaNet [B, Hv, Dk, Dv]) in the state dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LayerCache:
    """One layer's cache for `batch` sequences with room for `capacity` positions."""

    capacity: int
    cap: int
    tensors: dict[str, Any]
    bytes: int = 0  # measured by the allocator when allocated on a GPU
    borrowed: dict[str, Any] = field(default_factory=dict)  # another layer's K/V, not ours

    def slots(self) -> int:
        return self.cap


def store(buf: Any, vals: Any, start: int) -> None:
    """Write positions start..start+n-1 (vals [B, n, ...]) into buf [B, cap, ...] at slot
    p % cap, keeping only the last cap positions (a ring for windows and chunks)."""
    cap, n = buf.shape[1], vals.shape[1]
    keep = min(n, cap)
    first = start + n - keep
    s0 = first % cap
    n1 = min(keep, cap - s0)
    buf[:, s0 : s0 + n1] = vals[:, n - keep : n - keep + n1]
    if keep > n1:
        buf[:, : keep - n1] = vals[:, n - keep + n1 :]


class Init:
    """Seeded random weights: N(0, 1/fan_in) for matrices, N(1, 0.1) for norm weights. On the
    "meta" device nothing is drawn (shapes only)."""

    def __init__(self, dtype: Any, device: str, seed: int, *, norm_bias: bool) -> None:
        import torch

        self.dtype, self.device, self.norm_bias = dtype, device, norm_bias
        self.gen = None if str(device) == "meta" else torch.Generator(device=device)
        if self.gen is not None:
            self.gen.manual_seed(seed)
        self.w: dict[str, Any] = {}

    def rand(self, *shape: int, fan_in: int | None = None, dtype: Any = None) -> Any:
        import torch

        t = torch.empty(shape, dtype=dtype or self.dtype, device=self.device)
        t.normal_(0.0, 1.0 / math.sqrt(fan_in if fan_in else shape[-1]), generator=self.gen)
        return t

    def norm(self, name: str, n: int) -> None:
        import torch

        t = torch.empty(n, dtype=self.dtype, device=self.device)
        t.normal_(1.0, 0.1, generator=self.gen)
        self.w[name] = t
        if self.norm_bias:
            self.w[name + "_b"] = self.rand(n, fan_in=100)

    def param(self, name: str, *shape: int, fan_in: int | None = None, dtype: Any = None) -> Any:
        self.w[name] = t = self.rand(*shape, fan_in=fan_in, dtype=dtype)
        return t


def allocate(shapes: dict[str, tuple[tuple[int, ...], Any]], device: str, gen: Any, *,
             measure: bool) -> tuple[dict[str, Any], int]:
    """Tensors of the given (shape, dtype), filled with N(0, 1) (never zeros: a read of an
    unwritten slot shows up), and the bytes the allocator handed out (storage sizes unless
    `measure`: then the CUDA allocator's delta, which needs a device synchronisation)."""
    import torch

    from archlint.bench.kv import allocated_bytes

    def make() -> list[Any]:
        return [torch.empty(s, dtype=dt, device=device) for s, dt in shapes.values()]

    made, used = allocated_bytes(make, str(device) if measure else "cpu")
    tensors = dict(zip(shapes, made, strict=True))
    for t in tensors.values():
        t.normal_(0.0, 1.0, generator=gen)
    return tensors, used
