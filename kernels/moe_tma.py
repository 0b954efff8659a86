"""The fused MoE's two grouped GEMMs fed by TMA (Hopper's bulk tensor copy engine), persistent.

Same computation as `moe._moe_gate_up` / `moe._moe_down` (rows sorted by expert, each row block
of one expert, SwiGLU fused into the first GEMM, the routing weight into the second), with:

- the expert weights read through host-side tensor descriptors (`TensorDescriptor` over W13
  viewed as [E·2F, C] and W2 as [E·C, F]): one TMA copy per [BLOCK_N, BLOCK_K] tile instead
  of BLOCK_N·BLOCK_K/8 pointer loads, so the weight stream no longer takes the issue slots and
  address registers the wgmma loop needs (at 1,024 Mixtral tokens the GEMMs sit at the ridge:
  the expert weights' byte time and the tensor time are both ~0.93 ms on an H100);
- the down GEMM's activation rows (contiguous after the first GEMM) through a descriptor too;
  the first GEMM's rows are a gather of token rows, which Hopper's TMA cannot do (no gather
  mode before Blackwell), so they stay pointer loads;
- a persistent grid (PERSISTENT): one program per multiprocessor walks the tiles
  (m-block fastest, then n-tile: the row blocks of one expert that share a weight tile run
  side by side and read it once through L2), so no wave of the ~14 the launch would take
  ends half empty. Row blocks past the last expert (the grid is an upper bound, nothing waits
  for the device) cost one load each.

Which form runs is chosen in `moe.grouped_swiglu` (`use_tma`): on a GPU of capability 9.0 or
later with `triton.tools.tensor_descriptor` (Triton 3.4+; 3.6 on the device image, 3.9 here),
and under the CPU interpreter when asked for (tests), whose pointer kernels stay the default.
The FLOP and byte counts are moe.py's.

TMA needs 16-byte aligned row strides (C and F multiples of 8 in bf16: every real model) and a
last stride of 1; `tma_ok` checks both, else the pointer kernels run.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._util import TensorDescriptor, tma_ok  # None / False on a Triton without descriptors


@triton.jit
def _tile_of(tile, NUM_BLOCKS, BlockExpert):
    """A persistent program's tile index -> (m-block, n-tile, the m-block's expert): m-block
    fastest, so the row blocks sharing one weight tile run side by side (module docstring)."""
    pid_m = tile % NUM_BLOCKS
    return pid_m, tile // NUM_BLOCKS, tl.load(BlockExpert + pid_m)


@triton.heuristics({"EVEN_K": lambda a: a["C"] % a["BLOCK_K"] == 0})
@triton.jit(do_not_specialize=["PERSIST"])
def _moe_gate_up_tma(
    X, Wd, B13, Hout, SortedSlots, BlockExpert,
    stride_xt, stride_xc, stride_be, stride_hm, stride_hf,
    NUM_SLOTS, C, F, NUM_SLOTS_BUCKET, TOP_K, NUM_EXPERTS, NUM_BLOCKS, limit,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, EVEN_K: tl.constexpr,
    HAS_BIAS: tl.constexpr = False, CLAMPED: tl.constexpr = False, PERSIST=1,
):
    """Tiles (m-block, n-tile) of Hout[row] = SwiGLU(x W_gate^T, x W_up^T); Wd is W13 as
    [E·2F, C], block [BLOCK_N, BLOCK_K]. Columns past F read the next rows (masked at the
    store; TMA zero-fills past the tensor's end). PERSIST only sizes the grid (the caller's:
    one program per multiprocessor, or one per tile); the loop is the same, so it is a plain
    argument, never specialised: both grids launch one compiled kernel (a constexpr compiled
    the same code twice, 6 of the autotuner's 20 TMA compiles)."""
    for tile in range(tl.program_id(0), NUM_BLOCKS * tl.cdiv(F, BLOCK_N), tl.num_programs(0)):
        pid_m, pid_n, expert = _tile_of(tile, NUM_BLOCKS, BlockExpert)
        if expert < NUM_EXPERTS:
            rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
            slots = tl.load(SortedSlots + rows)
            valid = slots < NUM_SLOTS
            tok = slots // TOP_K
            offs_k = tl.arange(0, BLOCK_K)
            a_ptrs = X + tok[:, None] * stride_xt + offs_k[None, :] * stride_xc
            row_g = expert * 2 * F + pid_n * BLOCK_N
            acc_g = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
            acc_u = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
            for k in range(0, tl.cdiv(C, BLOCK_K)):
                if EVEN_K:
                    a = tl.load(a_ptrs, mask=valid[:, None], other=0.0)
                else:
                    kmask = offs_k[None, :] < C - k * BLOCK_K
                    a = tl.load(a_ptrs, mask=valid[:, None] & kmask, other=0.0)
                wg = Wd.load([row_g, k * BLOCK_K])  # [BN, BK]
                wu = Wd.load([row_g + F, k * BLOCK_K])
                acc_g = tl.dot(a, wg.T, acc_g)
                acc_u = tl.dot(a, wu.T, acc_u)
                a_ptrs += BLOCK_K * stride_xc
            offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
            if HAS_BIAS:
                b_base = B13 + expert.to(tl.int64) * stride_be
                nmask = offs_n < F
                acc_g += tl.load(b_base + offs_n, mask=nmask, other=0.0).to(tl.float32)[None, :]
                acc_u += tl.load(b_base + F + offs_n, mask=nmask,
                                 other=0.0).to(tl.float32)[None, :]
            if CLAMPED:  # gpt-oss (reference.swiglu)
                acc_g = tl.minimum(acc_g, limit)
                acc_u = tl.minimum(tl.maximum(acc_u, -limit), limit)
                h = acc_g / (1.0 + tl.exp(-1.702 * acc_g)) * (acc_u + 1.0)
            else:
                h = acc_g / (1.0 + tl.exp(-acc_g)) * acc_u
            tl.store(Hout + rows[:, None] * stride_hm + offs_n[None, :] * stride_hf,
                     h.to(Hout.dtype.element_ty), mask=offs_n[None, :] < F)


@triton.jit(do_not_specialize=["PERSIST"])
def _moe_down_tma(
    Hd, Wd, B2, Y, SortedSlots, BlockExpert, TopkWeights,
    stride_be, stride_ys, stride_yc,
    NUM_SLOTS, C, F, NUM_SLOTS_BUCKET, NUM_EXPERTS, NUM_BLOCKS,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
    HAS_BIAS: tl.constexpr = False, PERSIST=1,
):
    """Tiles (m-block, n-tile) of Y[slot] = weight[slot]·(h W2[e]^T + b2[e]); Hd is h [L, F]
    with block [BLOCK_M, BLOCK_K], Wd is W2 as [E·C, F] with block [BLOCK_N, BLOCK_K]."""
    for tile in range(tl.program_id(0), NUM_BLOCKS * tl.cdiv(C, BLOCK_N), tl.num_programs(0)):
        pid_m, pid_n, expert = _tile_of(tile, NUM_BLOCKS, BlockExpert)
        if expert < NUM_EXPERTS:
            row_w = expert * C + pid_n * BLOCK_N
            acc = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
            for k in range(0, tl.cdiv(F, BLOCK_K)):
                a = Hd.load([pid_m * BLOCK_M, k * BLOCK_K])
                w = Wd.load([row_w, k * BLOCK_K])
                acc = tl.dot(a, w.T, acc)
            offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
            if HAS_BIAS:
                acc += tl.load(B2 + expert.to(tl.int64) * stride_be + offs_n, mask=offs_n < C,
                               other=0.0).to(tl.float32)[None, :]
            rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
            slots = tl.load(SortedSlots + rows)
            valid = slots < NUM_SLOTS
            wt = tl.load(TopkWeights + slots, mask=valid, other=0.0).to(tl.float32)
            acc = acc * wt[:, None]
            tl.store(Y + slots[:, None] * stride_ys + offs_n[None, :] * stride_yc,
                     acc.to(Y.dtype.element_ty), mask=valid[:, None] & (offs_n[None, :] < C))


def descriptor(t2d: torch.Tensor, block: list[int]):
    return TensorDescriptor(t2d, list(t2d.shape), list(t2d.stride()), block)


def set_gate_up_blocks(nargs) -> None:
    """Autotune pre-hook: the weight descriptor's block is the tile's [BLOCK_N, BLOCK_K]."""
    nargs["Wd"].block_shape = [nargs["BLOCK_N"], nargs["BLOCK_K"]]


def set_down_blocks(nargs) -> None:
    nargs["Hd"].block_shape = [nargs["BLOCK_M"], nargs["BLOCK_K"]]
    nargs["Wd"].block_shape = [nargs["BLOCK_N"], nargs["BLOCK_K"]]


def grid_fn(num_blocks: int, n: int, sms: int):
    """The launch grid of a tile: one program per multiprocessor (PERSIST) or per tile."""
    def grid(mt):
        tiles = num_blocks * triton.cdiv(n, mt["BLOCK_N"])
        return (min(sms, tiles) if mt.get("PERSIST", True) else tiles,)
    return grid


__all__ = ["TensorDescriptor", "_moe_down_tma", "_moe_gate_up_tma", "descriptor", "grid_fn",
           "set_down_blocks", "set_gate_up_blocks", "tma_ok"]
