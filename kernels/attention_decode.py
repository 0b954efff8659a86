"""Split-KV flash-decoding: one new query token per sequence against a KV cache.

Decode is bound by reading the cache once (Dao et al. 2023, "Flash-Decoding"): the work is split
along the sequence so that enough programs stream it at once, then a second small kernel merges
the per-split partial results by their log-sum-exp.

GQA: one program holds *all* query heads of one KV group as the rows of one tile (padded to 16
for tl.dot), so each K/V tile is read from memory once per group, not once per query head.
Sliding window: only the last W positions of each sequence are read.

Bytes (the roofline the bench reports TB/s against; the cache dominates):
    bytes = sum_b min(len_b, W) * G * (Dk + Dv) * elem + B * H * (Dk + Dv) * elem
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._util import (
    LOG2E,
    default_scale,
    element_size,
    fit_shared,
    fixed_tile,
    interpreting,
    launch,
    num_sms,
    pipeline_stages,
    shared_memory_limit,
    tanh,
)

NEG_INIT = tl.constexpr(-1.0e30)  # see attention_prefill.py


@triton.jit
def _decode_split(
    Q, K, V, SeqLens, OutP, LseP,
    stride_qb, stride_qh, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_ob, stride_oh, stride_os, stride_od,
    stride_lb, stride_lh, stride_ls,
    G, window, sm_scale, qk_scale, softcap,
    GROUP: tl.constexpr, BLOCK_G: tl.constexpr, D: tl.constexpr, BLOCK_D: tl.constexpr,
    DV: tl.constexpr, BLOCK_DV: tl.constexpr, NUM_SPLITS,  # runtime: sweeps cost no compile
    HAS_WINDOW: tl.constexpr, HAS_SOFTCAP: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """grid (B * G, NUM_SPLITS). Writes normalised partial outputs [BLOCK_G, DV] and their
    base-2 log-sum-exp for the GROUP query heads of KV head g over one slice of the sequence."""
    tl.static_assert(BLOCK_G >= 16 and BLOCK_G >= GROUP, "query heads padded to a tl.dot tile")
    pid_bg = tl.program_id(0)
    split = tl.program_id(1)
    off_b = pid_bg // G
    off_g = pid_bg % G
    seq_len = tl.load(SeqLens + off_b).to(tl.int32)
    start = 0
    if HAS_WINDOW:
        start = tl.maximum(0, seq_len - window)
    per_split = tl.cdiv(tl.cdiv(seq_len - start, NUM_SPLITS), BLOCK_N) * BLOCK_N
    lo = start + split * per_split
    hi = tl.minimum(lo + per_split, seq_len)

    offs_g = tl.arange(0, BLOCK_G)  # [BLOCK_G] query heads of this group
    offs_d = tl.arange(0, BLOCK_D)
    offs_dv = tl.arange(0, BLOCK_DV)
    offs_n = tl.arange(0, BLOCK_N)
    heads = off_g * GROUP + offs_g
    q = tl.load(Q + off_b * stride_qb + heads[:, None] * stride_qh + offs_d[None, :] * stride_qd,
                mask=(offs_g[:, None] < GROUP) & (offs_d[None, :] < D), other=0.0)

    k_base = K + off_b * stride_kb + off_g * stride_kh
    v_base = V + off_b * stride_vb + off_g * stride_vh
    m_i = tl.zeros([BLOCK_G], dtype=tl.float32) + NEG_INIT
    l_i = tl.zeros([BLOCK_G], dtype=tl.float32)
    acc = tl.zeros([BLOCK_G, BLOCK_DV], dtype=tl.float32)
    for start_n in range(lo, hi, BLOCK_N):
        cols = start_n + offs_n
        kt = tl.load(k_base + cols[None, :] * stride_kn + offs_d[:, None] * stride_kd,
                     mask=(cols[None, :] < hi) & (offs_d[:, None] < D), other=0.0)  # [D, N]
        qk = tl.dot(q, kt)  # [BLOCK_G, BLOCK_N]
        if HAS_SOFTCAP:
            qk = softcap * tanh(qk * (sm_scale / softcap)) * 1.4426950408889634
        else:
            qk = qk * qk_scale
        qk = tl.where(cols[None, :] < hi, qk, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(qk, 1))
        p = tl.math.exp2(qk - m_new[:, None])
        alpha = tl.math.exp2(m_i - m_new)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(v_base + cols[:, None] * stride_vn + offs_dv[None, :] * stride_vd,
                    mask=(cols[:, None] < hi) & (offs_dv[None, :] < DV), other=0.0)  # [N, DV]
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new

    empty = l_i == 0.0  # this split saw no key (short sequence): weight 0 in the merge
    out = acc / tl.where(empty, 1.0, l_i)[:, None]
    lse = tl.where(empty, float("-inf"), m_i + tl.math.log2(tl.where(empty, 1.0, l_i)))
    row_ok = offs_g < GROUP
    tl.store(OutP + off_b * stride_ob + heads[:, None] * stride_oh + split * stride_os
             + offs_dv[None, :] * stride_od, out,
             mask=row_ok[:, None] & (offs_dv[None, :] < DV))
    tl.store(LseP + off_b * stride_lb + heads * stride_lh + split * stride_ls, lse, mask=row_ok)


@triton.jit
def merge_splits(
    OutP, LseP, Sinks, Out,
    stride_ob, stride_oh, stride_os, stride_od,
    stride_lb, stride_lh, stride_ls,
    stride_yb, stride_yh, stride_yd,
    H, NUM_SPLITS,
    BLOCK_S: tl.constexpr, DV: tl.constexpr, BLOCK_DV: tl.constexpr,
    HAS_SINKS: tl.constexpr,
):
    """grid (B * H): out = sum_s 2^(lse_s - M) o_s / (sum_s 2^(lse_s - M) [+ 2^(sink - M)]).
    A sink (gpt-oss) only adds to the denominator. Also used by MLA decode."""
    pid = tl.program_id(0)
    off_b = pid // H
    off_h = pid % H
    offs_s = tl.arange(0, BLOCK_S)
    offs_dv = tl.arange(0, BLOCK_DV)
    lse = tl.load(LseP + off_b * stride_lb + off_h * stride_lh + offs_s * stride_ls,
                  mask=offs_s < NUM_SPLITS, other=float("-inf"))  # [BLOCK_S]
    m = tl.max(lse, 0)
    if HAS_SINKS:
        sink = tl.load(Sinks + off_h).to(tl.float32) * 1.4426950408889634
        m = tl.maximum(m, sink)
    w = tl.math.exp2(lse - m)  # [BLOCK_S]; -inf splits give 0
    denom = tl.sum(w, 0)
    if HAS_SINKS:
        denom += tl.math.exp2(sink - m)
    o = tl.load(OutP + off_b * stride_ob + off_h * stride_oh + offs_s[:, None] * stride_os
                + offs_dv[None, :] * stride_od,
                mask=(offs_s[:, None] < NUM_SPLITS) & (offs_dv[None, :] < DV), other=0.0)
    y = tl.sum(o * w[:, None], 0) / denom
    tl.store(Out + off_b * stride_yb + off_h * stride_yh + offs_dv * stride_yd,
             y.to(Out.dtype.element_ty), mask=offs_dv < DV)


_TUNED = [
    triton.Config({"BLOCK_N": bn}, num_warps=w, num_stages=s)
    for bn, w, s in [(64, 4, 3), (64, 4, 4), (128, 4, 3), (128, 8, 3), (32, 4, 4), (256, 8, 2)]
]
_FALLBACKS = [triton.Config({"BLOCK_N": bn}, num_warps=4, num_stages=s)
              for bn, s in [(32, 2), (16, 1)]]
_CONFIGS = _TUNED + _FALLBACKS


def decode_shared_bytes(config, block_g: int, block_d: int, block_dv: int, elem: int) -> int:
    """The query tile and a K and a V tile per pipeline buffer (see `pipeline_stages`)."""
    stages = pipeline_stages(config.num_stages, elem)
    return (block_g * block_d + stages * config.kwargs["BLOCK_N"] * (block_d + block_dv)) * elem


def prune_decode_configs(configs, named_args, **kwargs):
    """Large KV tiles only for head dims <= 128 (registers/shared memory per stage), and only
    tiles that fit shared memory at the operands' element size."""
    d = kwargs["BLOCK_D"] + kwargs["BLOCK_DV"]
    elem = element_size(named_args)
    tuned = [c for c in configs if c not in _FALLBACKS]
    keep = [c for c in tuned if c.kwargs["BLOCK_N"] * d <= 256 * 256] or tuned[:1]
    return fit_shared(keep, lambda c: decode_shared_bytes(
        c, kwargs["BLOCK_G"], kwargs["BLOCK_D"], kwargs["BLOCK_DV"], elem), _FALLBACKS,
        shared_memory_limit(named_args))


_decode_tuned = triton.autotune(
    configs=_CONFIGS,
    key=["G", "GROUP", "D", "DV", "NUM_SPLITS", "HAS_WINDOW"],
    prune_configs_by={"early_config_prune": prune_decode_configs},
)(_decode_split)


def pick_num_splits(programs: int, max_len: int, min_per_split: int = 256) -> int:
    """Splits so that about 2 programs per multiprocessor stream the cache, rounded down to a
    power of two, each split >= 256 keys. On the H100 (132 SMs): B=64 x 8 KV heads -> 1 split,
    B=8 -> 4 (a sweep of 1..16 splits measured both within 1% of the best)."""
    want = max(1, (2 * num_sms()) // max(1, programs))
    want = 1 << (want.bit_length() - 1)
    return max(1, min(want, triton.cdiv(max_len, min_per_split), 64))


def decode_attention(
    q: torch.Tensor,  # [B, H, D]
    k_cache: torch.Tensor,  # [B, G, S_max, D]
    v_cache: torch.Tensor,  # [B, G, S_max, Dv]
    seq_lens: torch.Tensor,  # [B] int32, keys valid per sequence (the current token included)
    *,
    sm_scale: float | None = None,
    window: int | None = None,
    softcap: float | None = None,
    sinks: torch.Tensor | None = None,  # [H]
    num_splits: int | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:  # [B, H, Dv]
    """Decode attention over a contiguous-per-sequence cache (any strides; no host sync)."""
    bsz, h, d = q.shape
    g, s_max, dv = k_cache.shape[1], k_cache.shape[2], v_cache.shape[3]
    if h % g:
        raise ValueError(f"{h} query heads do not divide into {g} KV heads")
    group = h // g
    span = min(s_max, window) if window else s_max
    splits = num_splits or pick_num_splits(bsz * g, span)
    scale = sm_scale if sm_scale is not None else default_scale(d)
    block_dv = max(16, triton.next_power_of_2(dv))
    out_p = torch.empty(bsz, h, splits, dv, device=q.device, dtype=torch.float32)
    lse_p = torch.empty(bsz, h, splits, device=q.device, dtype=torch.float32)
    args = (
        q, k_cache, v_cache, seq_lens, out_p, lse_p,
        *q.stride(), *k_cache.stride(), *v_cache.stride(), *out_p.stride(), *lse_p.stride(),
        g, int(window or 0), scale, scale * LOG2E, float(softcap or 1.0),
    )
    meta = dict(
        GROUP=group, BLOCK_G=max(16, triton.next_power_of_2(group)), D=d,
        BLOCK_D=max(16, triton.next_power_of_2(d)), DV=dv, BLOCK_DV=block_dv,
        NUM_SPLITS=splits, HAS_WINDOW=window is not None, HAS_SOFTCAP=softcap is not None,
    )
    if interpreting():
        _decode_split[(bsz * g, splits)](*args, **meta, BLOCK_N=16)
    else:
        fixed = fixed_tile(_FALLBACKS, lambda c: decode_shared_bytes(
            c, meta["BLOCK_G"], meta["BLOCK_D"], block_dv, q.element_size()), {"q": q})
        launch(_decode_tuned, (bsz * g, splits), args, meta, fixed)
    if out is None:
        out = torch.empty(bsz, h, dv, device=q.device, dtype=q.dtype)
    merge(out_p, lse_p, out, sinks)
    return out


def merge(out_p: torch.Tensor, lse_p: torch.Tensor, out: torch.Tensor,
          sinks: torch.Tensor | None = None) -> None:
    """Merge per-split partials out_p [B, H, S, Dv] (fp32) and lse_p [B, H, S] into out."""
    bsz, h, splits, dv = out_p.shape
    merge_splits[(bsz * h,)](
        out_p, lse_p, sinks if sinks is not None else lse_p, out,
        *out_p.stride(), *lse_p.stride(), *out.stride(), h, splits,
        BLOCK_S=max(2, triton.next_power_of_2(splits)), DV=dv,
        BLOCK_DV=max(16, triton.next_power_of_2(dv)), HAS_SINKS=sinks is not None,
        num_warps=4,
    )
