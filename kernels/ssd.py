"""Mamba-2's state-space dual (SSD) scan, chunked, in one kernel (Dao & Gu 2024, arXiv
2405.21060, §6-7).

The recurrence per head (scalar A, state N wide, head size P):
    h_t = exp(Δ_t A) h_{t-1} + Δ_t x_t B_tᵀ          h [P, N]
    y_t = h_t C_t + D x_t
is computed chunk by chunk: inside a chunk of Q tokens the quadratic ("attention") form
    y_i = Σ_{j ≤ i} (C_i · B_j) exp(a_i − a_j) Δ_j x_j  +  exp(a_i) h_in C_i     (a = cumsum Δ A)
on the tensor cores, and between chunks the state is carried in registers:
    h_out = exp(a_Q) h_in + Σ_j exp(a_Q − a_j) Δ_j x_j B_jᵀ.
One program owns one (sequence, head, P-block) and walks its chunks in order, so the state never
leaves the chip between chunks (the paper's steps 1-4 fused; the chunk-state pass and the
state-passing pass need no separate launches). A decode step is the same kernel over one token.

Work per call (what the bench counts): bytes = x, B, C, Δ, y once and the state read and
written; FLOPs ≈ 2·L·Q·(N + P) per head (the two chunk-local GEMMs) + 4·L·P·N (state in/out).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._util import interpreting


@triton.jit
def _ssd_fwd(
    X, DT, A, B, C, D, S, Y,
    stride_xb, stride_xl, stride_xh, stride_xp,
    stride_tb, stride_tl, stride_th,
    stride_bb, stride_bl, stride_bg, stride_bn,
    stride_cb, stride_cl, stride_cg, stride_cn,
    stride_sb, stride_sh, stride_sp, stride_sn,
    stride_yb, stride_yl, stride_yh, stride_yp,
    H, L, HEADS_PER_GROUP,
    N: tl.constexpr, P: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_Q: tl.constexpr,
):
    """grid (B * H, cdiv(P, BLOCK_P)). S [B, H, P, N] (any float dtype; fp32 inside): read as
    the initial state, written back as the final one."""
    pid = tl.program_id(0)
    off_b = pid // H
    off_h = pid % H
    off_g = off_h // HEADS_PER_GROUP
    offs_p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    offs_n = tl.arange(0, N)
    offs_q = tl.arange(0, BLOCK_Q)
    pmask = offs_p < P
    a_h = tl.load(A + off_h).to(tl.float32)
    d_h = tl.load(D + off_h).to(tl.float32)
    s_ptrs = S + off_b * stride_sb + off_h * stride_sh + offs_p[:, None] * stride_sp \
        + offs_n[None, :] * stride_sn
    state = tl.load(s_ptrs, mask=pmask[:, None], other=0.0).to(tl.float32)  # [BLOCK_P, N]
    x_base = X + off_b * stride_xb + off_h * stride_xh
    t_base = DT + off_b * stride_tb + off_h * stride_th
    b_base = B + off_b * stride_bb + off_g * stride_bg
    c_base = C + off_b * stride_cb + off_g * stride_cg
    y_base = Y + off_b * stride_yb + off_h * stride_yh
    causal = offs_q[:, None] >= offs_q[None, :]
    for start in range(0, L, BLOCK_Q):
        rows = start + offs_q
        rmask = rows < L
        dt = tl.load(t_base + rows * stride_tl, mask=rmask, other=0.0).to(tl.float32)  # [Q]
        acum = tl.cumsum(dt * a_h, 0)  # [Q] log-decay from the chunk start
        a_end = tl.sum(tl.where(offs_q == BLOCK_Q - 1, acum, 0.0), 0)  # padded rows add 0
        x = tl.load(x_base + rows[:, None] * stride_xl + offs_p[None, :] * stride_xp,
                    mask=rmask[:, None] & pmask[None, :], other=0.0)  # [Q, BLOCK_P]
        bq = tl.load(b_base + rows[:, None] * stride_bl + offs_n[None, :] * stride_bn,
                     mask=rmask[:, None], other=0.0)  # [Q, N]
        cq = tl.load(c_base + rows[:, None] * stride_cl + offs_n[None, :] * stride_cn,
                     mask=rmask[:, None], other=0.0)  # [Q, N]
        # inside the chunk: (C Bᵀ ∘ exp(a_i − a_j)) (Δ x)
        cb = tl.dot(cq, tl.trans(bq))  # [Q, Q]
        decay = tl.where(causal, tl.exp(acum[:, None] - acum[None, :]), 0.0)
        m = (cb * decay * dt[None, :]).to(x.dtype)
        y = tl.dot(m, x)  # [Q, BLOCK_P]
        # from the state entering the chunk: exp(a_i) C_i h_inᵀ
        y += tl.dot(cq, tl.trans(state.to(cq.dtype))) * tl.exp(acum)[:, None]
        y += d_h * x.to(tl.float32)
        tl.store(y_base + rows[:, None] * stride_yl + offs_p[None, :] * stride_yp,
                 y.to(Y.dtype.element_ty), mask=rmask[:, None] & pmask[None, :])
        # the state leaving the chunk
        w = (dt * tl.exp(a_end - acum))[:, None]  # [Q, 1]
        xw = (x.to(tl.float32) * w).to(bq.dtype)
        state = state * tl.exp(a_end) + tl.dot(tl.trans(xw), bq)  # [BLOCK_P, N]
    tl.store(s_ptrs, state.to(S.dtype.element_ty), mask=pmask[:, None])


def ssd_scan(
    x: torch.Tensor,  # [B, L, H, P]
    dt: torch.Tensor,  # [B, L, H]  Δ (after softplus)
    a: torch.Tensor,  # [H]  A = -exp(A_log)
    b: torch.Tensor,  # [B, L, G, N]
    c: torch.Tensor,  # [B, L, G, N]
    d: torch.Tensor,  # [H]
    state: torch.Tensor,  # [B, H, P, N]: initial state in, final state out (fp32 inside)
    *,
    chunk: int = 64,
    out: torch.Tensor | None = None,
) -> torch.Tensor:  # [B, L, H, P]
    """y of the Mamba-2 recurrence; `state` is updated in place. Any strides."""
    bsz, length, h, p = x.shape
    n = b.shape[-1]
    if n < 16 or n & (n - 1):
        raise ValueError(f"d_state {n} must be a power of two >= 16")
    if out is None:
        out = torch.empty_like(x)
    block_p = min(64, max(16, triton.next_power_of_2(p)))
    # fp32 (the correctness check): 32-token chunks, no software pipelining. Under
    # TRITON_F32_DEFAULT=tf32x3 the 64x64 tile with 2 stages needs 590,848 B of shared memory
    # (the H200 refused it); 32x64 with 1 stage 61,440 B (compile_check, sm_90).
    fp32 = x.element_size() >= 4
    block_q = 16 if interpreting() or length <= 16 else (32 if fp32 else chunk)
    stages = 1 if fp32 else 2
    args = (x, dt, a, b, c, d, state, out, *x.stride(), *dt.stride(), *b.stride(), *c.stride(),
            *state.stride(), *out.stride(), h, length, h // b.shape[2])
    grid = (bsz * h, triton.cdiv(p, block_p))
    _ssd_fwd[grid](*args, N=n, P=p, BLOCK_P=block_p, BLOCK_Q=block_q,
                   **({} if interpreting() else {"num_warps": 4, "num_stages": stages}))
    return out


def ssd_flops(b: int, length: int, h: int, p: int, n: int, chunk: int) -> float:
    """The chunked algorithm's multiply-adds ×2: C Bᵀ and its product with x inside chunks,
    and the state's read and update (each P·N per token)."""
    return 2.0 * b * h * length * (min(chunk, length) * (n + p) + 2 * p * n)
