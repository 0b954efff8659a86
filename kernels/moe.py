"""Fused mixture-of-experts: routing, per-expert alignment, two grouped GEMMs, weighted combine.

Pipeline for T tokens, E experts, top-K, hidden C, expert width F:
  1. route   softmax top-k (Mixtral, Qwen-MoE) or sigmoid grouped top-k with the
             e_score_correction_bias (DeepSeek-V3 "noaux_tc"). Vectorised torch: [T, E] is small.
  2. align   the T*K (token, expert) slots sorted by expert, each expert's run padded to a
             multiple of BLOCK_M, so every row block of the GEMMs belongs to one expert.
             Torch ops with no host synchronisation (the grid is an upper bound; blocks past
             the end exit at once), so the whole layer can be captured in a CUDA graph.
  3. GEMM 1  for each block: X[tokens] [BM, C] @ W13[e]^T -> gate, up [BM, F]; h = silu(gate)*up
             fused in the epilogue (gate and up tiles are computed by the same program).
  4. GEMM 2  h [BM, F] @ W2[e]^T -> [BM, C], times the slot's routing weight, to its slot row.
  5. combine sum of the K slot rows of each token (+ shared experts, run as one more "expert"
             that every token visits with weight 1).

Weights: w13 [E, 2F, C] (gate rows then up rows, HF gate_proj/up_proj stacked), w2 [E, C, F].
Roofline (decode): bytes = n_distinct_experts * 3 * C * F * elem (every touched expert's weights
read once); FLOPs = 2 * T * K * 3 * C * F (+ shared).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from . import moe_tma
from ._util import (
    element_size,
    fit_shared,
    fixed_tile,
    interpreting,
    launch,
    num_sms,
    pipeline_stages,
    shared_memory_limit,
)


# --------------------------------------------------------------------------------------------
# routing
# --------------------------------------------------------------------------------------------
def route_softmax_topk(logits: torch.Tensor, top_k: int, renormalize: bool = True):
    """[T, E] router logits -> (weights fp32 [T, K], expert ids int32 [T, K])."""
    w, ids = torch.topk(torch.softmax(logits.float(), dim=-1), top_k, dim=-1)
    if renormalize:
        w = w / w.sum(-1, keepdim=True)
    return w, ids.to(torch.int32)


def route_sigmoid_grouped_topk(
    logits: torch.Tensor, top_k: int, bias: torch.Tensor, n_group: int, topk_group: int,
    renormalize: bool = True, scaling: float = 1.0,
):
    """DeepSeek-V3 routing: experts chosen on sigmoid(logits) + bias within the `topk_group`
    best groups (a group scores the sum of its two best), weighted by the unbiased sigmoid."""
    t, e = logits.shape
    scores = torch.sigmoid(logits.float())
    choice = scores + bias.float()
    gscore = choice.view(t, n_group, e // n_group).topk(2, dim=-1).values.sum(-1)  # [T, n_group]
    keep = torch.zeros_like(gscore).scatter_(1, gscore.topk(topk_group, dim=-1).indices, 1.0)
    keep = keep[:, :, None].expand(t, n_group, e // n_group).reshape(t, e)
    ids = choice.masked_fill(keep == 0, float("-inf")).topk(top_k, dim=-1).indices
    w = scores.gather(1, ids)
    if renormalize:
        w = w / w.sum(-1, keepdim=True)
    return w * scaling, ids.to(torch.int32)


# --------------------------------------------------------------------------------------------
# alignment
# --------------------------------------------------------------------------------------------
def align_by_expert(topk_ids: torch.Tensor, num_experts: int, block_m: int):
    """Sort the T*K slots by expert and pad each expert's run to a multiple of block_m.

    Returns sorted_slots [L] (slot index, or T*K for padding), block_expert [L / block_m]
    (expert of each row block, num_experts past the end), with L an upper bound on the padded
    length: T*K + min(E, T*K) * (block_m - 1). No .item(): nothing waits for the device.
    """
    flat = topk_ids.reshape(-1).to(torch.int64)
    n = flat.numel()
    dev = flat.device
    counts = torch.zeros(num_experts, dtype=torch.int64, device=dev)
    counts.scatter_add_(0, flat, torch.ones_like(flat))  # bincount without its host sync
    padded = (counts + block_m - 1) // block_m * block_m
    ends = torch.cumsum(padded, 0)
    starts = ends - padded
    order = torch.argsort(flat, stable=True)  # slots grouped by expert
    sorted_e = flat[order]
    first = torch.cumsum(counts, 0) - counts  # first sorted index of each expert
    dest = starts[sorted_e] + torch.arange(n, device=dev) - first[sorted_e]
    bound = n + min(num_experts, n) * (block_m - 1)
    bound = triton.cdiv(bound, block_m) * block_m
    sorted_slots = torch.full((bound,), n, dtype=torch.int32, device=dev)
    sorted_slots[dest] = order.to(torch.int32)
    block_start = torch.arange(0, bound, block_m, device=dev)
    block_expert = torch.searchsorted(ends, block_start, right=True).to(torch.int32)
    return sorted_slots, block_expert


# --------------------------------------------------------------------------------------------
# grouped GEMMs
# --------------------------------------------------------------------------------------------
@triton.heuristics({"EVEN_K": lambda a: a["C"] % a["BLOCK_K"] == 0})
@triton.jit
def _moe_gate_up(
    X, W13, B13, Hout, SortedSlots, BlockExpert,
    stride_xt, stride_xc, stride_we, stride_wn, stride_wc, stride_be, stride_hm, stride_hf,
    NUM_SLOTS, C, F, NUM_SLOTS_BUCKET, TOP_K, NUM_EXPERTS, limit,  # bucket: autotune key only
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, EVEN_K: tl.constexpr,
    HAS_BIAS: tl.constexpr = False, CLAMPED: tl.constexpr = False,
):
    """grid (L / BLOCK_M, cdiv(F, BLOCK_N)). Hout[row] = silu(x W_gate^T) * (x W_up^T).
    EVEN_K (C % BLOCK_K == 0, true for every real model): no mask along K. HAS_BIAS adds the
    expert's gate/up biases B13 [E, 2F]; CLAMPED is gpt-oss's SwiGLU (reference.swiglu)."""
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    expert = tl.load(BlockExpert + pid_m)
    if expert >= NUM_EXPERTS:
        return
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    slots = tl.load(SortedSlots + rows)  # [BLOCK_M]
    valid = slots < NUM_SLOTS
    tok = slots // TOP_K
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    a_ptrs = X + tok[:, None] * stride_xt + offs_k[None, :] * stride_xc  # [BM, BK]
    w_base = W13 + expert.to(tl.int64) * stride_we
    g_ptrs = w_base + offs_n[None, :] * stride_wn + offs_k[:, None] * stride_wc  # [BK, BN]
    u_ptrs = g_ptrs + F * stride_wn
    nmask = offs_n[None, :] < F
    acc_g = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    acc_u = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    for k in range(0, tl.cdiv(C, BLOCK_K)):
        if EVEN_K:
            a = tl.load(a_ptrs, mask=valid[:, None], other=0.0)
            wg = tl.load(g_ptrs, mask=nmask, other=0.0)
            wu = tl.load(u_ptrs, mask=nmask, other=0.0)
        else:
            kmask = offs_k < C - k * BLOCK_K
            a = tl.load(a_ptrs, mask=valid[:, None] & kmask[None, :], other=0.0)
            wg = tl.load(g_ptrs, mask=kmask[:, None] & nmask, other=0.0)
            wu = tl.load(u_ptrs, mask=kmask[:, None] & nmask, other=0.0)
        acc_g += tl.dot(a, wg)
        acc_u += tl.dot(a, wu)
        a_ptrs += BLOCK_K * stride_xc
        g_ptrs += BLOCK_K * stride_wc
        u_ptrs += BLOCK_K * stride_wc
    if HAS_BIAS:
        b_base = B13 + expert.to(tl.int64) * stride_be
        acc_g += tl.load(b_base + offs_n, mask=offs_n < F, other=0.0).to(tl.float32)[None, :]
        acc_u += tl.load(b_base + F + offs_n, mask=offs_n < F, other=0.0).to(tl.float32)[None, :]
    if CLAMPED:  # gpt-oss: gate <= limit, |up| <= limit, gate·sigmoid(1.702 gate)·(up + 1)
        acc_g = tl.minimum(acc_g, limit)
        acc_u = tl.minimum(tl.maximum(acc_u, -limit), limit)
        h = acc_g / (1.0 + tl.exp(-1.702 * acc_g)) * (acc_u + 1.0)
    else:
        h = acc_g / (1.0 + tl.exp(-acc_g)) * acc_u  # SiLU(gate) * up
    tl.store(Hout + rows[:, None] * stride_hm + offs_n[None, :] * stride_hf,
             h.to(Hout.dtype.element_ty), mask=nmask)


@triton.heuristics({"EVEN_K": lambda a: a["F"] % a["BLOCK_K"] == 0})
@triton.jit
def _moe_down(
    Hin, W2, B2, Y, SortedSlots, BlockExpert, TopkWeights,
    stride_hm, stride_hf, stride_we, stride_wn, stride_wf, stride_be, stride_ys, stride_yc,
    NUM_SLOTS, C, F, NUM_SLOTS_BUCKET, NUM_EXPERTS,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, EVEN_K: tl.constexpr,
    HAS_BIAS: tl.constexpr = False,
):
    """grid (L / BLOCK_M, cdiv(C, BLOCK_N)). Y[slot] = weight[slot] * (h W2[e]^T + b2[e])."""
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    expert = tl.load(BlockExpert + pid_m)
    if expert >= NUM_EXPERTS:
        return
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    slots = tl.load(SortedSlots + rows)
    valid = slots < NUM_SLOTS
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    a_ptrs = Hin + rows[:, None] * stride_hm + offs_k[None, :] * stride_hf  # [BM, BK]
    w_ptrs = (W2 + expert.to(tl.int64) * stride_we + offs_n[None, :] * stride_wn
              + offs_k[:, None] * stride_wf)  # [BK, BN]
    nmask = offs_n[None, :] < C
    acc = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    for k in range(0, tl.cdiv(F, BLOCK_K)):
        if EVEN_K:
            a = tl.load(a_ptrs)
            w = tl.load(w_ptrs, mask=nmask, other=0.0)
        else:
            kmask = offs_k < F - k * BLOCK_K
            a = tl.load(a_ptrs, mask=kmask[None, :], other=0.0)
            w = tl.load(w_ptrs, mask=kmask[:, None] & nmask, other=0.0)
        acc += tl.dot(a, w)
        a_ptrs += BLOCK_K * stride_hf
        w_ptrs += BLOCK_K * stride_wf
    if HAS_BIAS:
        acc += tl.load(B2 + expert.to(tl.int64) * stride_be + offs_n, mask=offs_n < C,
                       other=0.0).to(tl.float32)[None, :]
    wt = tl.load(TopkWeights + slots, mask=valid, other=0.0).to(tl.float32)
    acc = acc * wt[:, None]
    tl.store(Y + slots[:, None] * stride_ys + offs_n[None, :] * stride_yc,
             acc.to(Y.dtype.element_ty), mask=valid[:, None] & nmask)


# (BLOCK_N, BLOCK_K, num_warps, num_stages) tried per BLOCK_M
_TABLE = {
    16: [(64, 128, 4, 4), (32, 128, 4, 4), (128, 64, 4, 4), (64, 256, 4, 3)],
    32: [(64, 128, 4, 4), (128, 64, 4, 4), (64, 64, 4, 4)],
    64: [(128, 64, 4, 4), (64, 64, 4, 4), (128, 64, 8, 3), (256, 64, 8, 3), (64, 128, 4, 4),
         (128, 64, 8, 4)],
    128: [(128, 64, 8, 4), (256, 64, 8, 3), (128, 128, 8, 3), (128, 64, 4, 4),
          # compute-bound mid counts (Mixtral at 1,024 tokens, 256 rows an expert): shallower
          # and deeper pipelines of the 128x128 tile, and a 64-wide one with more blocks
          (128, 64, 8, 3), (128, 64, 8, 5), (64, 64, 4, 4), (64, 128, 4, 3)],
}
# A small tile that fits shared memory at any BLOCK_M even in fp32 (the correctness check):
# 2 stages × (128·32 + 2·64·32) × 4 B = 64 KiB.
_FALLBACK = (64, 32, 4, 2)
_CONFIGS = [
    triton.Config({"BLOCK_N": bn, "BLOCK_K": bk}, num_warps=w, num_stages=s)
    for bn, bk, w, s in sorted({t for v in _TABLE.values() for t in v} | {_FALLBACK})
]


def _shape(c):
    """A pointer tile as `_TABLE` lists it: (BLOCK_N, BLOCK_K, warps, stages)."""
    return (c.kwargs["BLOCK_N"], c.kwargs["BLOCK_K"], c.num_warps, c.num_stages)


_FALLBACK_CONFIGS = [c for c in _CONFIGS if _shape(c) == _FALLBACK]


def _shared_bytes(config, block_m: int, elem: int, weights: int = 2, tma: bool = False) -> int:
    """Pipelined operand tiles: buffers × (activation tile + `weights` weight tiles: 2 for
    gate/up, 1 for down) × elem, plus, fed by TMA, one 8-byte mbarrier per buffer. Equal to
    the compiler's figures for bf16 (kernels/autotune_check.py, Triton 3.6 and 3.9, sm_90):
    196,608 B for gate/up 128×128×64 in 4 stages; TMA gate/up 128×64 at BLOCK_M 128, 4 stages,
    196,640; TMA down 256×64 at BLOCK_M 64, 3 stages, 122,904. fp32 is counted with one more
    buffer (`pipeline_stages`)."""
    bn, bk = config.kwargs["BLOCK_N"], config.kwargs["BLOCK_K"]
    stages = pipeline_stages(config.num_stages, elem)
    return stages * (block_m * bk + weights * bn * bk) * elem + (8 * stages if tma else 0)


def _weight_tiles(named_args) -> int:
    """Weight tiles per K step of the kernel these are the arguments of: the down GEMM (its
    activations are `Hin`) streams one, the gate/up GEMM two."""
    return 1 if "Hin" in named_args else 2


def prune_moe_configs(configs, named_args, **kwargs):
    """Keep the tiles listed for this BLOCK_M (small M: narrow N, deep K to stream weights)
    that fit shared memory at the operands' element size (fp32 doubles it); else the
    fallback tile."""
    bm = kwargs["BLOCK_M"]
    elem = element_size(named_args)
    weights = _weight_tiles(named_args)
    return _listed_fit(configs, _shape, _TABLE[bm], _FALLBACK,
                       lambda c: _shared_bytes(c, bm, elem, weights), named_args)


def _listed_fit(configs, shape, listed, fallback, shared_bytes, named_args):
    """The configs whose `shape` is `listed` (the tiles of this BLOCK_M) that fit the
    device's shared memory, else the one whose shape is `fallback` (`fit_shared`)."""
    want = set(listed)
    return fit_shared([c for c in configs if shape(c) in want], shared_bytes,
                      [c for c in configs if shape(c) == fallback],
                      shared_memory_limit(named_args))


_KEY = ["NUM_SLOTS_BUCKET", "C", "F", "NUM_EXPERTS", "HAS_BIAS"]


def _tuned(fn):
    return triton.autotune(configs=_CONFIGS, key=[*_KEY, "BLOCK_M"],
                           prune_configs_by={"early_config_prune": prune_moe_configs})(fn)


_gate_up_tuned = _tuned(_moe_gate_up)
_down_tuned = _tuned(_moe_down)

# The TMA-fed persistent forms (moe_tma.py), for BLOCK_M >= TMA_MIN_BLOCK_M in 2-byte dtypes:
# (BLOCK_N, BLOCK_K, warps, stages, persistent) per BLOCK_M, per GEMM. The gate/up GEMM holds
# two accumulators (gate and up), so its widest tile is 128 (2 x 128 x 128 fp32 = 128
# registers a thread at 8 warps); the down GEMM has one and takes 256.
TMA_MIN_BLOCK_M = 64
#: False: the pointer kernels everywhere (the sweep's baseline)
USE_TMA = True
_TMA_GATE_UP = {
    64: [(128, 64, 4, 4, 1), (128, 64, 8, 4, 1), (64, 64, 4, 4, 1), (128, 64, 4, 4, 0)],
    128: [(128, 64, 8, 4, 1), (128, 64, 8, 3, 1), (128, 128, 8, 2, 1), (64, 64, 4, 4, 1),
          (128, 64, 8, 4, 0), (128, 64, 8, 3, 0)],
}
_TMA_DOWN = {
    64: [(128, 64, 4, 4, 1), (256, 64, 8, 3, 1), (128, 64, 8, 4, 1), (128, 64, 4, 4, 0)],
    128: [(256, 64, 8, 3, 1), (128, 64, 8, 4, 1), (128, 128, 8, 3, 1), (256, 64, 8, 4, 1),
          (256, 64, 8, 3, 0), (128, 64, 8, 4, 0)],
}
_TMA_FALLBACK = (64, 32, 4, 2, 1)


def _tma_config(t, hook):
    bn, bk, w, s, persist = t
    return triton.Config({"BLOCK_N": bn, "BLOCK_K": bk, "PERSIST": int(persist)},
                         num_warps=w, num_stages=s, pre_hook=hook)


def _tma_shape(c):
    kw = c.kwargs
    return (kw["BLOCK_N"], kw["BLOCK_K"], c.num_warps, c.num_stages, int(kw["PERSIST"]))


def _tma_tuned(fn, table, hook, weights):
    """Autotuned TMA form: the tiles listed for the call's BLOCK_M that fit shared memory
    (`weights` weight tiles per K step: 2 for gate/up, 1 for down)."""
    configs = [_tma_config(t, hook) for t in sorted({t for v in table.values() for t in v}
                                                    | {_TMA_FALLBACK})]

    def prune(configs, named_args, **kwargs):
        bm = kwargs["BLOCK_M"]
        return _listed_fit(configs, _tma_shape, table[bm], _TMA_FALLBACK,
                           lambda c: _shared_bytes(c, bm, 2, weights, tma=True), named_args)

    return triton.autotune(configs=configs, key=[*_KEY, "BLOCK_M"],
                           prune_configs_by={"early_config_prune": prune})(fn)


_gate_up_tma_tuned = _tma_tuned(moe_tma._moe_gate_up_tma, _TMA_GATE_UP,
                                moe_tma.set_gate_up_blocks, 2)
_down_tma_tuned = _tma_tuned(moe_tma._moe_down_tma, _TMA_DOWN, moe_tma.set_down_blocks, 1)


def tma_config(shape) -> triton.Config:
    """The TMA tile (BLOCK_N, BLOCK_K, warps, stages, persistent) as a Config (sweeps)."""
    return _tma_config(tuple(shape), None)


def wants_tma(x: torch.Tensor, bm: int, w13: torch.Tensor, w2: torch.Tensor) -> bool:
    """The TMA forms on a GPU of capability 9.0+, 2-byte operands, BLOCK_M >= 64, where
    descriptors over x and the expert weights are possible (`moe_tma.tma_ok`). The one
    predicate `grouped_swiglu` and the bench's report of which tiles ran both ask."""
    return (USE_TMA and not interpreting() and x.is_cuda and x.element_size() == 2
            and bm >= TMA_MIN_BLOCK_M and torch.cuda.get_device_capability(x.device) >= (9, 0)
            and moe_tma.tma_ok(x, w13, w2))


def pick_block_m(num_slots: int, num_experts: int) -> int:
    """Rows per block from the mean slots per expert: 16 when decoding, 128 for long prefill."""
    per_expert = num_slots / max(1, min(num_experts, num_slots))
    for bm, cap in ((16, 16), (32, 32), (64, 96)):
        if per_expert <= cap:
            return bm
    return 128


def grouped_swiglu(
    x: torch.Tensor,  # [T, C]
    w13: torch.Tensor,  # [E, 2F, C]
    w2: torch.Tensor,  # [E, C, F]
    topk_weights: torch.Tensor,  # [T, K]
    topk_ids: torch.Tensor,  # [T, K]
    block_m: int | None = None,
    b13: torch.Tensor | None = None,  # [E, 2F]
    b2: torch.Tensor | None = None,  # [E, C]
    limit: float | None = None,  # gpt-oss's swiglu_limit: the clamped SwiGLU
    use_tma: bool | None = None,  # None: the TMA forms where `wants_tma` (tests force either)
    tiles: tuple | None = None,  # (gate/up, down) Configs: fixed tiles, no tuning (sweeps)
) -> torch.Tensor:  # [T, K, C] per-slot outputs, already weighted
    t, c = x.shape
    e, f2, _ = w13.shape
    f = f2 // 2
    k = topk_ids.shape[1]
    n = t * k
    bm = block_m or pick_block_m(n, e)
    if e == 1 and k == 1:  # a shared expert: every token, in order (3 small ops, not ~12)
        bound = triton.cdiv(n, bm) * bm
        sorted_slots = torch.arange(bound, device=x.device, dtype=torch.int32).clamp_(max=n)
        block_expert = torch.zeros(bound // bm, device=x.device, dtype=torch.int32)
    else:
        sorted_slots, block_expert = align_by_expert(topk_ids, e, bm)
    rows = sorted_slots.numel()
    h = torch.empty(rows, f, device=x.device, dtype=x.dtype)
    y = torch.empty(t, k, c, device=x.device, dtype=x.dtype)
    weights = topk_weights.reshape(-1).float().contiguous()
    bucket = triton.next_power_of_2(n)
    has_bias = b13 is not None
    bias13 = b13 if has_bias else w13  # dummy pointers when absent
    bias2 = b2 if b2 is not None else w2
    a1 = (x, w13, bias13, h, sorted_slots, block_expert, *x.stride(), *w13.stride(),
          bias13.stride(0), *h.stride(), n, c, f, bucket)
    a2 = (h, w2, bias2, y.view(n, c), sorted_slots, block_expert, weights, *h.stride(),
          *w2.stride(), bias2.stride(0), c, 1, n, c, f, bucket)
    m1 = dict(HAS_BIAS=has_bias, CLAMPED=limit is not None)
    m2 = dict(HAS_BIAS=b2 is not None)
    lim = float(limit if limit is not None else 0.0)
    nblk = rows // bm
    if use_tma if use_tma is not None else wants_tma(x, bm, w13, w2):
        _tma_gemms(x, w13, w2, bias13, bias2, h, y.view(n, c), sorted_slots, block_expert,
                   weights, (n, c, f, bucket, k, e, nblk, lim, bm), m1, m2, tiles)
        return y
    if interpreting():
        _moe_gate_up[(nblk, triton.cdiv(f, 16))](*a1, TOP_K=k, NUM_EXPERTS=e, limit=lim,
                                                   BLOCK_M=bm, BLOCK_N=16, BLOCK_K=16, **m1)
        _moe_down[(nblk, triton.cdiv(c, 16))](*a2, NUM_EXPERTS=e, BLOCK_M=bm, BLOCK_N=16,
                                                BLOCK_K=16, **m2)
    else:
        fixed = fixed_tile(_FALLBACK_CONFIGS, lambda cf: _shared_bytes(cf, bm, x.element_size()),
                           {"x": x})
        t1, t2 = tiles or (fixed, fixed)
        launch(_gate_up_tuned, lambda mt: (nblk, triton.cdiv(f, mt["BLOCK_N"])), a1,
               dict(TOP_K=k, NUM_EXPERTS=e, limit=lim, BLOCK_M=bm, **m1), t1)
        launch(_down_tuned, lambda mt: (nblk, triton.cdiv(c, mt["BLOCK_N"])), a2,
               dict(NUM_EXPERTS=e, BLOCK_M=bm, **m2), t2)
    return y


def _tma_gemms(x, w13, w2, b13, b2, h, y, sorted_slots, block_expert, weights, dims, m1, m2,
               tiles):
    """The two GEMMs in their TMA-fed persistent form (moe_tma.py); `tiles` fixes both."""
    n, c, f, bucket, k, e, nblk, lim, bm = dims
    wd1 = moe_tma.descriptor(w13.view(-1, c), [16, 16])  # blocks set per tile (pre-hooks)
    wd2 = moe_tma.descriptor(w2.view(-1, f), [16, 16])
    hd = moe_tma.descriptor(h, [bm, 16])
    a1 = (x, wd1, b13, h, sorted_slots, block_expert, *x.stride(), b13.stride(0), *h.stride(),
          n, c, f, bucket, k, e, nblk, lim)
    a2 = (hd, wd2, b2, y, sorted_slots, block_expert, weights, b2.stride(0), *y.stride(),
          n, c, f, bucket, e, nblk)
    sms = num_sms(x.device.index or 0)
    g1, g2 = moe_tma.grid_fn(nblk, f, sms), moe_tma.grid_fn(nblk, c, sms)
    meta1, meta2 = dict(BLOCK_M=bm, **m1), dict(BLOCK_M=bm, **m2)
    if interpreting():
        tiles = tiles or (tma_config((16, 16, 4, 1, 1)),) * 2
    elif tiles is None:
        fixed = fixed_tile([tma_config(_TMA_FALLBACK)],
                           lambda cf: _shared_bytes(cf, bm, 2, tma=True), {"x": x})
        tiles = (fixed, fixed) if fixed is not None else None
    if tiles is None:
        _gate_up_tma_tuned[g1](*a1, **meta1)
        _down_tma_tuned[g2](*a2, **meta2)
        return
    t1, t2 = tiles
    moe_tma.set_gate_up_blocks({"Wd": wd1, **t1.kwargs})
    moe_tma.set_down_blocks({"Wd": wd2, "Hd": hd, "BLOCK_M": bm, **t2.kwargs})
    launch(_gate_up_tma_tuned, g1, a1, meta1, t1)
    launch(_down_tma_tuned, g2, a2, meta2, t2)


def fused_moe(
    x: torch.Tensor,  # [T, C]
    w13: torch.Tensor,  # [E, 2F, C]
    w2: torch.Tensor,  # [E, C, F]
    topk_weights: torch.Tensor,  # [T, K] (fp32 from the routers above)
    topk_ids: torch.Tensor,  # [T, K] int
    *,
    shared_w13: torch.Tensor | None = None,  # [2Fs, C]
    shared_w2: torch.Tensor | None = None,  # [C, Fs]
    block_m: int | None = None,
    b13: torch.Tensor | None = None,  # [E, 2F] expert biases (gpt-oss)
    b2: torch.Tensor | None = None,  # [E, C]
    limit: float | None = None,  # gpt-oss's swiglu_limit
    use_tma: bool | None = None,  # grouped_swiglu's
    tiles: tuple | None = None,  # grouped_swiglu's, for the routed experts (sweeps)
) -> torch.Tensor:  # [T, C]
    """The routed experts' weighted sum (+ the shared experts' output)."""
    t = x.shape[0]
    y = grouped_swiglu(x, w13, w2, topk_weights, topk_ids, block_m, b13, b2, limit,
                       use_tma=use_tma, tiles=tiles).sum(1, dtype=torch.float32)
    if shared_w13 is not None:
        ones = torch.ones(t, 1, device=x.device, dtype=torch.float32)
        zeros = torch.zeros(t, 1, device=x.device, dtype=torch.int32)
        y += grouped_swiglu(x, shared_w13[None], shared_w2[None], ones, zeros,
                            use_tma=use_tma)[:, 0].float()
    return y.to(x.dtype)


def moe_weight_bytes(topk_ids: torch.Tensor, num_experts: int, c: int, f: int,
                     elem: int = 2) -> int:
    """Decode roofline bytes: each distinct routed expert's three matrices read once."""
    distinct = int(torch.unique(topk_ids).numel())
    return distinct * 3 * c * f * elem


def moe_flops(t: int, k: int, c: int, f: int) -> float:
    """2 * T * K * 3 * C * F: gate, up and down projections of every routed slot."""
    return 2.0 * t * k * 3 * c * f
