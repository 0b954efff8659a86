"""Multi-head latent attention (DeepSeek-V2/V3): decode on the latent cache, and prefill.

The cache holds, per token, one latent c_KV of R = kv_lora_rank (512) and one rope key of
P = qk_rope_head_dim (64), shared by all H heads. With the up-projections absorbed
(DeepSeek-V2 paper, section 2.1.2; W_UK folded into the query, W_UV applied after):
    score_h(t) = (q_nope_h W_UK_h) . c_t + q_rope_h . k_rope_t
    out_h      = (sum_t p_h(t) c_t) W_UV_h^T
so decode is MQA with a 576-wide key and a 512-wide value that is the key's first 512 columns.
One program packs BLOCK_H heads of one sequence and reads each latent tile once for all of them.

Per decode step (B sequences of length S):
    bytes = B * S * (R + P) * elem          (the cache, read once; queries and outputs are small)
    FLOPs = 2 * B * H * S * (R + P + R)     (QK over R+P, PV over R)
DeepSeek-V3 (H=128): 242 FLOP/byte in bf16, close to the H100's ridge (~800 TFLOP/s / 3 TB/s).

Prefill decompresses K_nope and V per head (one GEMM each) and runs the prefill kernel with the
shared rope key passed as a second, head-broadcast key part (stride 0: no copy per head).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._util import (
    LOG2E,
    element_size,
    fit_shared,
    fixed_tile,
    interpreting,
    launch,
    num_sms,
    pipeline_stages,
    shared_memory_limit,
)
from .attention_decode import merge
from .attention_prefill import prefill_attention
from .reference import mla_decompress

NEG_INIT = tl.constexpr(-1.0e30)  # see attention_prefill.py


@triton.jit
def _mla_decode_split(
    QL, QR, CKV, KR, SeqLens, OutP, LseP,
    stride_qlb, stride_qlh, stride_qld,
    stride_qrb, stride_qrh, stride_qrd,
    stride_cb, stride_cn, stride_cd,
    stride_krb, stride_krn, stride_krd,
    stride_ob, stride_oh, stride_os, stride_od,
    stride_lb, stride_lh, stride_ls,
    H, qk_scale,
    NUM_SPLITS,  # runtime: a sweep over splits compiles nothing new
    R: tl.constexpr, P: tl.constexpr,
    BLOCK_H: tl.constexpr, BLOCK_N: tl.constexpr, SPLIT_R: tl.constexpr = False,
):
    """grid (cdiv(H, BLOCK_H), B, NUM_SPLITS): head blocks of one sequence are neighbours in
    launch order, so the latent tiles they share are read from L2 after the first.

    SPLIT_R splits the latent into two halves of R / 2 columns, each loaded once per key tile
    and used twice: for its part of the scores (QK over R / 2 + R / 2 + P) and for its half of
    the output (PV over R / 2 + R / 2), two independent accumulator chains (FlashMLA's split
    of the 512 output columns over two warpgroups, in one Triton program)."""
    tl.static_assert(BLOCK_H >= 16 and BLOCK_N >= 16, "tl.dot tiles of at least 16")
    pid_h = tl.program_id(0)
    off_b = tl.program_id(1)
    split = tl.program_id(2)
    seq_len = tl.load(SeqLens + off_b).to(tl.int32)
    per_split = tl.cdiv(tl.cdiv(seq_len, NUM_SPLITS), BLOCK_N) * BLOCK_N
    lo = split * per_split
    hi = tl.minimum(lo + per_split, seq_len)

    heads = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)  # [BLOCK_H]
    offs_p = tl.arange(0, P)
    offs_n = tl.arange(0, BLOCK_N)
    hmask = heads[:, None] < H
    qr = tl.load(QR + off_b * stride_qrb + heads[:, None] * stride_qrh
                 + offs_p[None, :] * stride_qrd, mask=hmask, other=0.0)  # [BLOCK_H, P]
    c_base = CKV + off_b * stride_cb
    kr_base = KR + off_b * stride_krb
    m_i = tl.zeros([BLOCK_H], dtype=tl.float32) + NEG_INIT
    l_i = tl.zeros([BLOCK_H], dtype=tl.float32)
    o_base = OutP + off_b * stride_ob + heads[:, None] * stride_oh + split * stride_os
    if SPLIT_R:
        m_i, l_i = _latent_loop_split(
            QL, off_b, stride_qlb, stride_qlh, stride_qld, heads, hmask, qr, c_base, kr_base,
            stride_cn, stride_cd, stride_krn, stride_krd, o_base, stride_od, lo, hi, qk_scale,
            m_i, l_i, offs_n, offs_p, R, BLOCK_H, BLOCK_N)
    else:
        offs_r = tl.arange(0, R)
        ql = tl.load(QL + off_b * stride_qlb + heads[:, None] * stride_qlh
                     + offs_r[None, :] * stride_qld, mask=hmask, other=0.0)  # [BLOCK_H, R]
        acc = tl.zeros([BLOCK_H, R], dtype=tl.float32)
        for start_n in range(lo, hi, BLOCK_N):
            cols = start_n + offs_n
            nmask = cols < hi
            c = tl.load(c_base + cols[:, None] * stride_cn + offs_r[None, :] * stride_cd,
                        mask=nmask[:, None], other=0.0)  # [BLOCK_N, R]: key and value at once
            kr = tl.load(kr_base + cols[:, None] * stride_krn + offs_p[None, :] * stride_krd,
                         mask=nmask[:, None], other=0.0)  # [BLOCK_N, P]
            qk = tl.dot(ql, tl.trans(c)) + tl.dot(qr, tl.trans(kr))  # [BLOCK_H, BLOCK_N]
            qk = tl.where(nmask[None, :], qk * qk_scale, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(qk, 1))
            p = tl.math.exp2(qk - m_new[:, None])
            alpha = tl.math.exp2(m_i - m_new)
            l_i = l_i * alpha + tl.sum(p, 1)
            acc = acc * alpha[:, None] + tl.dot(p.to(c.dtype), c)
            m_i = m_new
        inv = 1.0 / tl.where(l_i == 0.0, 1.0, l_i)
        tl.store(o_base + offs_r[None, :] * stride_od, acc * inv[:, None], mask=hmask)

    empty = l_i == 0.0
    lse = tl.where(empty, float("-inf"), m_i + tl.math.log2(tl.where(empty, 1.0, l_i)))
    tl.store(LseP + off_b * stride_lb + heads * stride_lh + split * stride_ls, lse,
             mask=heads < H)


@triton.jit
def _latent_loop_split(
    QL, off_b, stride_qlb, stride_qlh, stride_qld, heads, hmask, qr, c_base, kr_base,
    stride_cn, stride_cd, stride_krn, stride_krd, o_base, stride_od, lo, hi, qk_scale, m_i,
    l_i, offs_n, offs_p, R: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """The key loop of `_mla_decode_split` with the latent in two halves a | b (SPLIT_R);
    stores this split's normalised output and returns the softmax state."""
    RH: tl.constexpr = R // 2
    offs_h = tl.arange(0, RH)
    q_base = QL + off_b * stride_qlb + heads[:, None] * stride_qlh
    ql_a = tl.load(q_base + offs_h[None, :] * stride_qld, mask=hmask, other=0.0)
    ql_b = tl.load(q_base + (RH + offs_h[None, :]) * stride_qld, mask=hmask, other=0.0)
    acc_a = tl.zeros([BLOCK_H, RH], dtype=tl.float32)
    acc_b = tl.zeros([BLOCK_H, RH], dtype=tl.float32)
    for start_n in range(lo, hi, BLOCK_N):
        cols = start_n + offs_n
        nmask = cols < hi
        c_rows = c_base + cols[:, None] * stride_cn
        c_a = tl.load(c_rows + offs_h[None, :] * stride_cd, mask=nmask[:, None], other=0.0)
        c_b = tl.load(c_rows + (RH + offs_h[None, :]) * stride_cd, mask=nmask[:, None],
                      other=0.0)  # [BLOCK_N, R / 2] each: key and value halves at once
        kr = tl.load(kr_base + cols[:, None] * stride_krn + offs_p[None, :] * stride_krd,
                     mask=nmask[:, None], other=0.0)  # [BLOCK_N, P]
        qk = tl.dot(ql_a, tl.trans(c_a)) + tl.dot(ql_b, tl.trans(c_b)) + tl.dot(qr, tl.trans(kr))
        qk = tl.where(nmask[None, :], qk * qk_scale, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(qk, 1))
        p = tl.math.exp2(qk - m_new[:, None])
        alpha = tl.math.exp2(m_i - m_new)
        l_i = l_i * alpha + tl.sum(p, 1)
        pc = p.to(c_a.dtype)
        acc_a = acc_a * alpha[:, None] + tl.dot(pc, c_a)
        acc_b = acc_b * alpha[:, None] + tl.dot(pc, c_b)
        m_i = m_new
    inv = 1.0 / tl.where(l_i == 0.0, 1.0, l_i)
    tl.store(o_base + offs_h[None, :] * stride_od, acc_a * inv[:, None], mask=hmask)
    tl.store(o_base + (RH + offs_h[None, :]) * stride_od, acc_b * inv[:, None], mask=hmask)
    return m_i, l_i


_TUNED = [
    triton.Config({"BLOCK_H": bh, "BLOCK_N": bn} | ({"SPLIT_R": True} if sr else {}),
                  num_warps=w, num_stages=s)
    for bh, bn, w, s, sr in [
        (64, 32, 8, 2, 0), (64, 16, 8, 2, 0), (64, 32, 8, 1, 0), (64, 64, 8, 1, 0),
        (64, 64, 8, 2, 0), (64, 32, 8, 3, 0), (32, 32, 8, 2, 0), (32, 64, 8, 2, 0),
        (32, 32, 4, 2, 0), (16, 64, 4, 2, 0),
        # the latent in two halves (SPLIT_R): two accumulator chains of 256 columns. H100,
        # 2026-12-07, B64 ctx 8192: 0.544 ms against 0.534 unsplit at 64x64 w8 s2 (a tie). All
        # 128 heads in one program (each latent tile read once) ran 3.5-6.0 ms at 8 and 16
        # warps (the 128x512 fp32 accumulator spills) and is not listed.
        (64, 64, 8, 2, 1), (64, 32, 8, 2, 1), (64, 64, 8, 1, 1), (64, 32, 8, 3, 1),
    ]
]
# fp32 checks: a 16-head tile of 576-wide queries and one 16-key latent tile per buffer.
_FALLBACKS = [triton.Config({"BLOCK_H": 16, "BLOCK_N": 16}, num_warps=4, num_stages=1)]
_CONFIGS = _TUNED + _FALLBACKS


def mla_shared_bytes(config, r: int, p: int, elem: int) -> int:
    """The query tile (latent and rope parts) and one latent tile (key and value at once) per
    pipeline buffer (see `pipeline_stages`)."""
    bh, bn = config.kwargs["BLOCK_H"], config.kwargs["BLOCK_N"]
    return (bh + pipeline_stages(config.num_stages, elem) * bn) * (r + p) * elem


def prune_mla_configs(configs, named_args, **kwargs):
    """No head block wider than the padded head count (idle rows); only tiles that fit shared
    memory at the operands' element size."""
    h = named_args["H"]
    elem = element_size(named_args)
    tuned = [c for c in configs if c not in _FALLBACKS]
    keep = [c for c in tuned if c.kwargs["BLOCK_H"] <= max(16, triton.next_power_of_2(h))]
    return fit_shared(keep or tuned[-1:],
                      lambda c: mla_shared_bytes(c, kwargs["R"], kwargs["P"], elem), _FALLBACKS,
                      shared_memory_limit(named_args))


_mla_tuned = triton.autotune(
    configs=_CONFIGS, key=["H", "R", "P", "NUM_SPLITS"],
    prune_configs_by={"early_config_prune": prune_mla_configs},
)(_mla_decode_split)


def mla_decode(
    q_latent: torch.Tensor,  # [B, H, R]   q_nope @ W_UK (absorbed)
    q_rope: torch.Tensor,  # [B, H, P]
    kv_latent: torch.Tensor,  # [B, S_max, R]  cached c_KV
    k_rope: torch.Tensor,  # [B, S_max, P]   cached rope key (may be a view of one [.., R+P])
    seq_lens: torch.Tensor,  # [B] int32
    *,
    sm_scale: float,
    num_splits: int | None = None,
    out: torch.Tensor | None = None,
    split_r: bool = False,  # interpreter tests: the SPLIT_R form (on a GPU the autotuner picks)
) -> torch.Tensor:  # [B, H, R]  latent output; the caller applies W_UV
    """Absorbed MLA decode. `sm_scale` is DeepSeek's softmax_scale (1/sqrt(qk_nope + qk_rope),
    times the YaRN mscale^2 where the config asks for it)."""
    bsz, h, r = q_latent.shape
    p, s_max = q_rope.shape[-1], kv_latent.shape[1]
    for n, dim in (("kv_lora_rank", r), ("qk_rope_head_dim", p)):
        if dim < 16 or dim & (dim - 1):
            raise ValueError(f"{n} {dim} must be a power of two >= 16")
    if num_splits is None:
        # one program per multiprocessor is enough (the kernel holds one per SM): B=64 with 128
        # heads gives 128 programs -> 1 split (measured best of 1..8 on the H100)
        progs = bsz * triton.cdiv(h, 64)
        num_splits = max(1, min(num_sms() // progs, triton.cdiv(s_max, 512), 32))
    out_p = torch.empty(bsz, h, num_splits, r, device=q_latent.device, dtype=torch.float32)
    lse_p = torch.empty(bsz, h, num_splits, device=q_latent.device, dtype=torch.float32)
    args = (
        q_latent, q_rope, kv_latent, k_rope, seq_lens, out_p, lse_p,
        *q_latent.stride(), *q_rope.stride(), *kv_latent.stride(), *k_rope.stride(),
        *out_p.stride(), *lse_p.stride(), h, sm_scale * LOG2E,
    )
    meta = dict(R=r, P=p, NUM_SPLITS=num_splits)
    if interpreting():
        _mla_decode_split[(triton.cdiv(h, 16), bsz, num_splits)](
            *args, **meta, BLOCK_H=16, BLOCK_N=16, SPLIT_R=split_r)
    else:
        grid = lambda mt: (triton.cdiv(h, mt["BLOCK_H"]), bsz, num_splits)  # noqa: E731
        fixed = fixed_tile(_FALLBACKS, lambda c: mla_shared_bytes(c, r, p, q_latent.element_size()),
                           {"q": q_latent})
        launch(_mla_tuned, grid, args, meta, fixed)
    if out is None:
        out = torch.empty(bsz, h, r, device=q_latent.device, dtype=q_latent.dtype)
    merge(out_p, lse_p, out)
    return out


def mla_decode_absorbed(
    q_nope: torch.Tensor,  # [B, H, Dn]
    q_rope: torch.Tensor,  # [B, H, P]
    kv_latent: torch.Tensor,  # [B, S_max, R]
    k_rope: torch.Tensor,  # [B, S_max, P]
    seq_lens: torch.Tensor,  # [B]
    w_uk: torch.Tensor,  # [H, Dn, R]  (kv_b_proj rows for k_nope, per head)
    w_uv: torch.Tensor,  # [H, Dv, R]  (kv_b_proj rows for v, per head)
    *,
    sm_scale: float,
    num_splits: int | None = None,
) -> torch.Tensor:  # [B, H, Dv]
    """Full MLA decode step: absorb W_UK into the query, attend on the latent, apply W_UV."""
    q_latent = torch.einsum("bhd,hdr->bhr", q_nope, w_uk)
    o = mla_decode(q_latent, q_rope, kv_latent, k_rope, seq_lens, sm_scale=sm_scale,
                   num_splits=num_splits)
    return torch.einsum("bhr,hvr->bhv", o, w_uv)


def mla_prefill(
    q_nope: torch.Tensor,  # [B, H, M, Dn]
    q_rope: torch.Tensor,  # [B, H, M, P]
    kv_latent: torch.Tensor,  # [B, S, R]
    k_rope: torch.Tensor,  # [B, S, P]
    w_uk: torch.Tensor,  # [H, Dn, R]
    w_uv: torch.Tensor,  # [H, Dv, R]
    *,
    sm_scale: float,
    causal: bool = True,
) -> torch.Tensor:  # [B, H, M, Dv]
    """MLA prefill: decompress K_nope and V (compute-bound prefill prefers the small head dim),
    then flash attention with q = [q_nope | q_rope] and k = [k_nope | k_rope] split in two parts;
    k_rope is broadcast over heads by stride 0, never copied."""
    k_nope, v = mla_decompress(kv_latent, w_uk, w_uv)  # [B, H, S, Dn], [B, H, S, Dv]
    kr = k_rope[:, None]  # [B, 1, S, P]: one "KV head" for the rope part, shared by all heads
    return prefill_attention(q_nope, k_nope, v, causal=causal, sm_scale=sm_scale,
                             q_rope=q_rope, k_rope=kr)


def mla_decode_bytes(b: int, s: int, r: int, p: int, elem: int = 2) -> int:
    """Minimum bytes of one decode step: the latent cache read once."""
    return b * s * (r + p) * elem


def mla_decode_flops(b: int, h: int, s: int, r: int, p: int) -> float:
    """2*B*H*S*(R+P) for the scores plus 2*B*H*S*R for the latent output."""
    return 2.0 * b * h * s * (2 * r + p)
