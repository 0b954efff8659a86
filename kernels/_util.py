"""Small helpers shared by the kernel files (no kernels of their own besides `tanh`)."""

from __future__ import annotations

import contextlib
import functools
import math
import os

import torch
import triton
import triton.language as tl

try:  # host-side tensor descriptors (TMA): Triton 3.4 and later
    from triton.tools.tensor_descriptor import TensorDescriptor
except ImportError:  # pragma: no cover - an older Triton: the pointer kernels only
    TensorDescriptor = None

LOG2E = 1.4426950408889634  # log2(e): softmax runs in base 2 (exp2 is one MUFU op)


def interpreting() -> bool:
    """True under TRITON_INTERPRET=1 (CPU tensors; no autotuning, one fixed config)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def interpreter_compat() -> None:
    """Triton 3.6's interpreter turns a scalar into a Python int with int(array) on a 1-element
    array, which NumPy >= 2.4 refuses (loops with run-time bounds then fail); 3.9 squeezes
    first. Re-set that one attribute the way 3.9 does; a no-op where the interpreter already
    does, or when not interpreting. Called when this module is imported, so the tests and the
    benches' --smoke runs behave alike on both versions."""
    if not interpreting():
        return
    import inspect

    import triton.runtime.interpreter as ti

    orig = getattr(ti, "_patch_lang_tensor", None)
    if orig is None or getattr(orig, "_squeezed", False):
        return
    try:
        if "data.squeeze()" in inspect.getsource(orig):
            return
    except OSError:
        return

    def patched(tensor, scope):
        orig(tensor, scope)
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.squeeze()))

    patched._squeezed = True  # type: ignore[attr-defined]
    ti._patch_lang_tensor = patched


interpreter_compat()


@functools.lru_cache(maxsize=8)
def num_sms(device_index: int = 0) -> int:
    """Multiprocessor count of a CUDA device (132 on an H100 SXM); 8 when there is none."""
    if interpreting() or not torch.cuda.is_available():
        return 8
    return torch.cuda.get_device_properties(device_index).multi_processor_count


def tma_ok(*tensors: torch.Tensor) -> bool:
    """Descriptors are possible: the package has them, last strides 1, other strides and the
    base 16-byte aligned (TMA's requirements on a global tensor)."""
    if TensorDescriptor is None:
        return False
    for t in tensors:
        e = t.element_size()
        if t.stride(-1) != 1 or t.data_ptr() % 16 or any(s * e % 16 for s in t.stride()[:-1]):
            return False
    return True


def split_pow2(d: int) -> tuple[int, int]:
    """Split a head dim into two powers of two (192 -> 128 + 64, 96 -> 64 + 32), second may be 0.

    tl.dot tiles need power-of-two sizes; splitting avoids padding 192 to 256 (a third more work).
    """
    d1 = 1 << (d.bit_length() - 1)
    d2 = d - d1
    if d1 < 16 or (d2 and (d2 & (d2 - 1) or d2 < 16)):
        raise ValueError(f"head dim {d} is not a power of two >= 16 or a sum of two such")
    return d1, d2


#: Shared memory one block may use on Hopper (227 KiB; the H100 and the H200 alike): the limit
#: where no device can be asked (the CPU interpreter, the ahead-of-time compile check).
SHARED_MEMORY_BUDGET = 232_448


@functools.lru_cache(maxsize=8)
def device_shared_memory(device_index: int) -> int:
    """Bytes of shared memory one block may use on a CUDA device: the figure Triton's launcher
    checks a compiled kernel against (`max_shared_mem`, the driver's opt-in maximum per block;
    a kernel over it raises OutOfResources at launch). 232,448 on the H100 and the H200."""
    try:
        from triton.runtime import driver

        return int(driver.active.utils.get_device_properties(device_index)["max_shared_mem"])
    except Exception:  # another backend layout: the same attribute through torch
        return int(torch.cuda.get_device_properties(device_index).shared_memory_per_block_optin)


def shared_memory_limit(named_args=None) -> int:
    """The shared-memory limit of the device a kernel's tensors live on (the current device
    when none is given); `SHARED_MEMORY_BUDGET` under the interpreter or without CUDA, so CPU
    tests prune exactly as a Hopper chip does."""
    if interpreting() or not torch.cuda.is_available():
        return SHARED_MEMORY_BUDGET
    index = next((a.device.index for a in (named_args or {}).values()
                  if isinstance(a, torch.Tensor) and a.is_cuda), None)
    return device_shared_memory(torch.cuda.current_device() if index is None else index)


def element_size(named_args) -> int:
    """Bytes per element of a kernel's first tensor argument (its operands' dtype)."""
    return next((a.element_size() for a in named_args.values() if hasattr(a, "element_size")), 2)


def pipeline_stages(num_stages: int, elem: int) -> int:
    """Operand buffers a software-pipelined loop keeps in shared memory. Measured with the
    ahead-of-time compiler (kernels/compile_check.py, Triton 3.9, sm_90): bf16 tiles take
    `num_stages` buffers exactly; fp32 dots under TRITON_F32_DEFAULT=tf32x3 one more (the MLA
    prefill tile 128x64, 3 stages, needs 425,984 B, the figure the H200 reported). fp32 is
    counted with the extra buffer whatever the precision: it only runs in correctness checks,
    where a smaller tile costs nothing that matters."""
    return num_stages + (1 if elem >= 4 else 0)


def fit_shared(configs, shared_bytes, fallbacks=(), limit=SHARED_MEMORY_BUDGET):
    """The configs whose estimated shared memory fits one block of a device with `limit`
    bytes (`shared_memory_limit`); if none does, the first fitting fallback, else the one with
    the smallest estimate (never an empty list, so the autotuner always has a tile that
    launches).

    A lone survivor gets the smallest fallback beside it: with two or more candidates
    Triton's autotuner times each and skips one the compiler refuses (OutOfResources), so an
    estimate that came out low costs a slower tile, never a crash; with one it launches
    that one untimed."""
    spare = [c for c in fallbacks if shared_bytes(c) <= limit]
    keep = [c for c in configs if shared_bytes(c) <= limit] or spare[:1]
    if not keep:
        return [min([*configs, *fallbacks], key=shared_bytes)]
    smallest = min(spare, key=shared_bytes, default=None)
    if len(keep) == 1 and smallest is not None and smallest is not keep[0]:
        keep.append(smallest)
    return keep


def default_scale(d: int) -> float:
    return 1.0 / math.sqrt(d)


@triton.jit
def tanh(x):
    """tanh from exp, identical on every Triton version (libdevice's path moved between them).
    Saturates correctly: exp(2x) -> inf gives 1, exp(2x) -> 0 gives -1."""
    return 1.0 - 2.0 / (tl.exp(2.0 * x) + 1.0)


#: Set inside `fixed_tiles()`: the autotuned kernels launch one small tile (their first
#: fallback that fits) instead of asking the autotuner. For correctness checks at small shapes
#: on a GPU: the autotuner would compile and time every listed tile of every kernel for each
#: new shape and dtype (the fp32 checks under tf32x3 compile a whole second set) only to pick a
#: tile whose speed nobody reads; the tiles themselves are checked one by one under the
#: interpreter (tests/test_kernels.py) and at the bench shapes by benchmarks/gpu_kernels.py.
_FIXED = {"on": False}


@contextlib.contextmanager
def fixed_tiles(on: bool = True):
    """Within the block, every autotuned kernel runs one fixed fallback tile (see `_FIXED`)."""
    before = _FIXED["on"]
    _FIXED["on"] = on
    try:
        yield
    finally:
        _FIXED["on"] = before


def first_fit(fallbacks, shared_bytes, limit=SHARED_MEMORY_BUDGET):
    """The first of `fallbacks` (listed largest first) within `limit` bytes of shared memory,
    else the smallest."""
    return next((c for c in fallbacks if shared_bytes(c) <= limit),
                min(fallbacks, key=shared_bytes))


def fixed_tile(fallbacks, shared_bytes, named_args=None):
    """Inside `fixed_tiles()`: the `first_fit` of `fallbacks` for the device's shared memory;
    None outside it (the autotuner decides)."""
    if not _FIXED["on"]:
        return None
    return first_fit(fallbacks, shared_bytes, shared_memory_limit(named_args))


def launch(tuned, grid, args, meta, config=None):
    """Run autotuned kernel `tuned` on `grid` (a tuple, or a function of the tile's meta), or,
    given `config`, the kernel under it with that one tile and no tuning."""
    if config is None:
        tuned[grid](*args, **meta)
        return
    g = grid(config.kwargs) if callable(grid) else grid
    tuned.fn[g](*args, **meta, **config.kwargs, num_warps=config.num_warps,
                num_stages=config.num_stages)
