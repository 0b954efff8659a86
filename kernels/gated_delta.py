"""The gated delta rule (Gated DeltaNet: Qwen3-Next, Qwen3.5), recurrent form, one kernel.

Yang et al. 2024, "Gated Delta Networks" (arXiv 2412.06464), eq. 10, with the state S [Dk, Dv]
of one value head:
    S ← exp(g_t) S;   u = β_t (v_t − Sᵀ k_t);   S ← S + k_t uᵀ;   o_t = Sᵀ q_t · scale
Each column of S (one value dimension) evolves on its own: Sᵀk, the rank-1 update and Sᵀq
touch column j only through S[:, j], v_j and u_j. So one program owns one (sequence, head,
block of BLOCK_V value columns), holds S[:, block] in registers for the whole sequence and walks
the tokens in order: the state is read once and written once per call, and a decode step is
the same kernel over one token (fla's `fused_recurrent` form).

Work: four multiply-adds per state element per token and head (decay, Sᵀk, update, Sᵀq): FLOPs ≈
8·L·H·Dk·Dv; bytes = q, k, v, g, β, o once and the state twice.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._util import interpreting


@triton.jit
def _gated_delta_fwd(
    Q, K, V, G, Beta, S, Out,
    stride_qb, stride_ql, stride_qh, stride_qk,
    stride_kb, stride_kl, stride_kh, stride_kk,
    stride_vb, stride_vl, stride_vh, stride_vv,
    stride_gb, stride_gl, stride_gh,
    stride_bb, stride_bl, stride_bh,
    stride_sb, stride_sh, stride_sk, stride_sv,
    stride_ob, stride_ol, stride_oh, stride_ov,
    H, L, DV, scale,
    DK: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_V: tl.constexpr,
):
    """grid (B * H, cdiv(DV, BLOCK_V)); S [B, H, Dk, Dv] in (any float dtype; fp32 inside),
    final state out."""
    pid = tl.program_id(0)
    off_b = pid // H
    off_h = pid % H
    offs_k = tl.arange(0, BLOCK_K)
    offs_v = tl.program_id(1) * BLOCK_V + tl.arange(0, BLOCK_V)
    kmask = offs_k < DK
    vmask = offs_v < DV
    smask = kmask[:, None] & vmask[None, :]
    s_ptrs = S + off_b * stride_sb + off_h * stride_sh + offs_k[:, None] * stride_sk \
        + offs_v[None, :] * stride_sv
    state = tl.load(s_ptrs, mask=smask, other=0.0).to(tl.float32)  # [BLOCK_K, BLOCK_V]
    q_ptr = Q + off_b * stride_qb + off_h * stride_qh + offs_k * stride_qk
    k_ptr = K + off_b * stride_kb + off_h * stride_kh + offs_k * stride_kk
    v_ptr = V + off_b * stride_vb + off_h * stride_vh + offs_v * stride_vv
    o_ptr = Out + off_b * stride_ob + off_h * stride_oh + offs_v * stride_ov
    g_ptr = G + off_b * stride_gb + off_h * stride_gh
    b_ptr = Beta + off_b * stride_bb + off_h * stride_bh
    for t in range(0, L):
        q = tl.load(q_ptr + t * stride_ql, mask=kmask, other=0.0).to(tl.float32)
        k = tl.load(k_ptr + t * stride_kl, mask=kmask, other=0.0).to(tl.float32)
        v = tl.load(v_ptr + t * stride_vl, mask=vmask, other=0.0).to(tl.float32)
        g = tl.load(g_ptr + t * stride_gl).to(tl.float32)
        beta = tl.load(b_ptr + t * stride_bl).to(tl.float32)
        state = state * tl.exp(g)
        mem = tl.sum(state * k[:, None], 0)  # Sᵀk [BLOCK_V]
        u = (v - mem) * beta
        state = state + k[:, None] * u[None, :]
        o = tl.sum(state * q[:, None], 0) * scale
        tl.store(o_ptr + t * stride_ol, o.to(Out.dtype.element_ty), mask=vmask)
    tl.store(s_ptrs, state.to(S.dtype.element_ty), mask=smask)


def gated_delta_rule(
    q: torch.Tensor,  # [B, L, H, Dk] (l2-normalised)
    k: torch.Tensor,  # [B, L, H, Dk] (l2-normalised)
    v: torch.Tensor,  # [B, L, H, Dv]
    g: torch.Tensor,  # [B, L, H] log decay
    beta: torch.Tensor,  # [B, L, H]
    state: torch.Tensor,  # [B, H, Dk, Dv], updated in place (fp32 inside)
    *,
    scale: float,
    out: torch.Tensor | None = None,
) -> torch.Tensor:  # [B, L, H, Dv]
    bsz, length, h, dk = q.shape
    dv = v.shape[-1]
    if out is None:
        out = torch.empty(bsz, length, h, dv, device=q.device, dtype=q.dtype)
    block_k = triton.next_power_of_2(dk)
    block_v = 16 if interpreting() else min(32, triton.next_power_of_2(dv))
    args = (q, k, v, g, beta, state, out, *q.stride(), *k.stride(), *v.stride(), *g.stride(),
            *beta.stride(), *state.stride(), *out.stride(), h, length, dv, scale)
    _gated_delta_fwd[(bsz * h, triton.cdiv(dv, block_v))](
        *args, DK=dk, BLOCK_K=block_k, BLOCK_V=block_v,
        **({} if interpreting() else {"num_warps": 4, "num_stages": 1}))
    return out


def gated_delta_flops(b: int, length: int, h: int, dk: int, dv: int) -> float:
    """Decay, Sᵀk, the rank-1 update and Sᵀq: four multiply-adds per state element per token."""
    return 8.0 * b * length * h * dk * dv
