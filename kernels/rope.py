"""Fused rotary position embedding for q and k in one launch (RoFormer, Su et al. 2021).

Eager PyTorch builds cos/sin, slices, negates, concatenates and multiplies: several passes and
temporaries per tensor. Here one program per token computes cos/sin of its position once and
rotates every q and k head. Scaled variants (Llama-3, YaRN, linear) differ only in `inv_freq`,
which the caller computes. Partial rotary (rotary dim < head dim) copies the tail unchanged.
Memory-bound: bytes = 2 * T * (Hq + Hk) * D * elem.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _rope_heads(X, Y, stride_xt, stride_xh, stride_yt, stride_yh, t, H, cos, sin,
                D: tl.constexpr, R2: tl.constexpr, BLOCK_H: tl.constexpr,
                BLOCK_R2: tl.constexpr, BLOCK_D: tl.constexpr, NEOX: tl.constexpr):
    """Rotate the H heads of token t: pairs (i, i + R2) for NEOX, (2i, 2i + 1) otherwise."""
    offs_h = tl.arange(0, BLOCK_H)
    offs_i = tl.arange(0, BLOCK_R2)
    if NEOX:
        i1 = offs_i
        i2 = offs_i + R2
    else:
        i1 = 2 * offs_i
        i2 = 2 * offs_i + 1
    for h0 in range(0, H, BLOCK_H):
        heads = h0 + offs_h
        m = (heads[:, None] < H) & (offs_i[None, :] < R2)
        xb = X + t * stride_xt + heads[:, None] * stride_xh
        yb = Y + t * stride_yt + heads[:, None] * stride_yh
        x1 = tl.load(xb + i1[None, :], mask=m, other=0.0).to(tl.float32)
        x2 = tl.load(xb + i2[None, :], mask=m, other=0.0).to(tl.float32)
        tl.store(yb + i1[None, :], (x1 * cos - x2 * sin).to(Y.dtype.element_ty), mask=m)
        tl.store(yb + i2[None, :], (x2 * cos + x1 * sin).to(Y.dtype.element_ty), mask=m)
        if 2 * R2 < D:  # partial rotary: copy the rest
            offs_d = tl.arange(0, BLOCK_D)
            md = (heads[:, None] < H) & (offs_d[None, :] >= 2 * R2) & (offs_d[None, :] < D)
            tl.store(yb + offs_d[None, :], tl.load(xb + offs_d[None, :], mask=md), mask=md)


@triton.jit
def _rope_fwd(
    Q, K, QO, KO, Pos, InvFreq,
    stride_qt, stride_qh, stride_kt, stride_kh,
    stride_qot, stride_qoh, stride_kot, stride_koh,
    HQ, HK,
    D: tl.constexpr, R2: tl.constexpr, BLOCK_R2: tl.constexpr, BLOCK_D: tl.constexpr,
    BLOCK_H: tl.constexpr, NEOX: tl.constexpr,
):
    """grid (T,). The last dim of q and k must be contiguous."""
    tl.static_assert(2 * R2 <= D, "rotary dim exceeds head dim")
    t = tl.program_id(0).to(tl.int64)
    offs_i = tl.arange(0, BLOCK_R2)
    pos = tl.load(Pos + t).to(tl.float32)
    ang = pos * tl.load(InvFreq + offs_i, mask=offs_i < R2, other=0.0).to(tl.float32)
    cos = tl.cos(ang)[None, :]
    sin = tl.sin(ang)[None, :]
    _rope_heads(Q, QO, stride_qt, stride_qh, stride_qot, stride_qoh, t, HQ, cos, sin,
                D, R2, BLOCK_H, BLOCK_R2, BLOCK_D, NEOX)
    _rope_heads(K, KO, stride_kt, stride_kh, stride_kot, stride_koh, t, HK, cos, sin,
                D, R2, BLOCK_H, BLOCK_R2, BLOCK_D, NEOX)


def rope(
    q: torch.Tensor,  # [T, Hq, D]
    k: torch.Tensor,  # [T, Hk, D]
    positions: torch.Tensor,  # [T] int
    inv_freq: torch.Tensor,  # [R/2] fp32: theta^(-2i/R), scaled as the config says
    *,
    neox: bool = True,
):
    """Returns rotated (q, k), new tensors. neox=True: Llama/HF rotate_half; False: GPT-J."""
    t, hq, d = q.shape
    hk = k.shape[1]
    r2 = inv_freq.shape[0]
    if q.stride(2) != 1 or k.stride(2) != 1:
        raise ValueError("rope needs the head dim contiguous")
    qo, ko = torch.empty_like(q), torch.empty_like(k)
    _rope_fwd[(t,)](
        q, k, qo, ko, positions, inv_freq,
        q.stride(0), q.stride(1), k.stride(0), k.stride(1),
        qo.stride(0), qo.stride(1), ko.stride(0), ko.stride(1), hq, hk,
        D=d, R2=r2, BLOCK_R2=triton.next_power_of_2(r2), BLOCK_D=triton.next_power_of_2(d),
        BLOCK_H=min(16, triton.next_power_of_2(max(hq, hk))), NEOX=neox, num_warps=4,
    )
    return qo, ko
