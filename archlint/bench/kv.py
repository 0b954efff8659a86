"""Allocate a real KV cache in the layout a serving engine uses and measure its bytes.

Per layer (vLLM's layouts, contiguous per sequence instead of paged):
- full attention: K [B, L, kv_heads, head_dim] and V [B, L, kv_heads, v_head_dim];
- sliding window / chunk: the same, as a ring buffer of min(L, window) slots;
- MLA: one latent [B, L, kv_lora_rank + qk_rope_head_dim];
- constant-state mixers (Gated DeltaNet, Mamba, ...): the causal-conv window and the recurrent
  state of `archlint.mixers` (vLLM's MambaSpec), flattened per sequence;
- KV-shared layers: nothing (they read another layer's cache); cross-attention: nothing at a
  context (it is cached per encoder token, which `kv_bytes_at` leaves out too).
The bytes come from the allocator (torch.cuda.memory_allocated on a GPU, storage sizes on the
CPU), so they include any padding the allocator adds; they are compared with the analytic
`kv_cache.bytes_at_context`. Imports torch: only the `bench` command calls this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archlint.analysis.memory import kv_bytes_at
from archlint.analysis.profile import Profile
from archlint.dtypes import torch_name
from archlint.mixers import mixer
from archlint.spec import ModelSpec


@dataclass
class KVMeasurement:
    predicted_bytes: int
    measured_bytes: int
    tensors: int
    device: str

    @property
    def relative_error(self) -> float:
        if self.predicted_bytes == 0:
            return 0.0 if self.measured_bytes == 0 else float("inf")
        return self.measured_bytes / self.predicted_bytes - 1


def _shapes(spec: ModelSpec, batch: int, context: int) -> list[tuple[tuple[int, ...], bool]]:
    """(shape, is recurrent state) of every cache tensor, in the serving layout."""
    shapes: list[tuple[tuple[int, ...], bool]] = []
    if spec.architecture == "encoder":
        return shapes
    for layer in spec.layers:
        att = layer.attention
        if att.kind == "linear" and att.linear is not None:
            # vLLM's MambaSpec: a conv window and a recurrent state per sequence
            st = mixer(att.linear).state(att.linear)
            shapes += [((batch, n), True) for n in (st.conv, st.recurrent) if n]
            continue
        if att.kind in ("none", "linear") or att.kv_shared_from is not None:
            continue  # no cache of its own (a KV-shared layer reads another layer's)
        if att.source == "encoder":
            continue  # cached per encoder token, not part of the cache at a context
        cap = att.window or att.chunk
        tokens = min(context, cap) if cap else context
        if att.kind == "mla":
            latent = (att.kv_lora_rank or 0) + (att.qk_rope_head_dim or 0)
            shapes.append(((batch, tokens, latent), False))
        else:
            shapes.append(((batch, tokens, att.num_kv_heads, att.head_dim), False))
            shapes.append(((batch, tokens, att.num_kv_heads, att.v_head_dim), False))
    return shapes


def allocate_kv(
    spec: ModelSpec,
    batch: int,
    context: int,
    dtype: str,
    device: str,
    state_dtype: str | None = None,
) -> list[Any]:
    """The cache tensors: KV in `dtype`, recurrent state in `state_dtype` (default `dtype`)."""
    import torch

    kv, state = (getattr(torch, torch_name(d) or d) for d in (dtype, state_dtype or dtype))
    return [
        torch.empty(shape, dtype=state if is_state else kv, device=device)
        for shape, is_state in _shapes(spec, batch, context)
    ]


def allocated_bytes(make: Callable[[], list[Any]], device: str) -> tuple[list[Any], int]:
    """Run `make` (which allocates tensors) and return them with the bytes the allocator handed
    out: the CUDA allocator's delta on a GPU (padding included), storage sizes on the CPU."""
    import torch

    on_gpu = str(device).startswith("cuda")
    if on_gpu:
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated(device)
    tensors = make()
    if on_gpu:
        torch.cuda.synchronize()
        return tensors, torch.cuda.memory_allocated(device) - before
    return tensors, sum(t.untyped_storage().nbytes() for t in tensors)


def measure_kv(
    spec: ModelSpec, prof: Profile, *, batch: int, context: int, device: str = "cpu"
) -> KVMeasurement:
    predicted = kv_bytes_at(prof.kv, context, batch)
    cache, measured = allocated_bytes(
        lambda: allocate_kv(spec, batch, context, prof.kv.dtype, device, prof.kv.state_dtype),
        device,
    )
    count = len(cache)
    del cache
    return KVMeasurement(
        predicted_bytes=predicted, measured_bytes=measured, tensors=count, device=device
    )
