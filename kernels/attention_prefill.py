"""FlashAttention-style prefill (forward only): causal, GQA/MQA, sliding window, softcap, sinks.

One program computes BLOCK_M query rows of one query head, streaming KV tiles with the online
softmax (Dao et al. 2022, FlashAttention; base-2 exponent as in Triton's fused-attention
tutorial). GQA/MQA: query head h reads KV head h // GROUP, so K/V are never repeated or copied.

The KV loop has three stages with explicit bounds, so tiles outside the causal triangle or the
sliding window are never loaded:  [lo, b) masked window edge, [b, c) unmasked interior,
[c, hi) masked diagonal. For a window W the work per query block is about (W + BLOCK_M) keys
instead of the causal average S / 2.

Work (FLOPs), the formula the bench reports TFLOP/s from (causal halves it):
    FLOPs = 2 * B * H * M * S * (Dqk + Dv) * (1/2 if causal and M == S else 1)
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._util import (
    LOG2E,
    TensorDescriptor,  # None on a Triton without host-side descriptors
    default_scale,
    element_size,
    fit_shared,
    fixed_tile,
    interpreting,
    pipeline_stages,
    shared_memory_limit,
    split_pow2,
    tanh,
    tma_ok,
)
from .prefill_picks import PICKS
from .work import attention_flops, attention_pairs

# running-max start: finite, so a fully masked tile gives exp2(-inf) = 0, not NaN. A global
# read inside @triton.jit must be a tl.constexpr (the interpreter accepts a plain float; the
# compiler does not).
NEG_INIT = tl.constexpr(-1.0e30)


@triton.jit
def _kv_stage(
    acc, l_i, m_i, q1, q2,
    K1, K2, V, stride_kn, stride_kk, stride_k2n, stride_k2k, stride_vn, stride_vk,
    offs_m_pos, lo, hi, N_KV, window, sm_scale, qk_scale, softcap, Kd, Vd, row_k, row_v,
    D1: tl.constexpr, D2: tl.constexpr, BLOCK_DV: tl.constexpr, DV: tl.constexpr,
    BLOCK_N: tl.constexpr, MASKED: tl.constexpr, CAUSAL: tl.constexpr,
    HAS_WINDOW: tl.constexpr, HAS_SOFTCAP: tl.constexpr, WS: tl.constexpr = False,
    TMA: tl.constexpr = False,
):
    """Online softmax over key tiles [lo, hi), lo a multiple of BLOCK_N; acc [BLOCK_M, BLOCK_DV].
    WS asks Triton to warp-specialise the loop (`tl.range(..., warp_specialize=True)`, Triton
    >= 3.4: producer warps load K/V while consumer warps compute, FlashAttention-3's split);
    only the device sweep sets it, and only where the compiler takes it."""
    offs_n = tl.arange(0, BLOCK_N)
    offs_d1 = tl.arange(0, D1)
    offs_dv = tl.arange(0, BLOCK_DV)
    if WS:
        for start_n in tl.range(lo, hi, BLOCK_N, warp_specialize=True):
            acc, l_i, m_i = _kv_tile(
                acc, l_i, m_i, q1, q2, K1, K2, V, stride_kn, stride_kk, stride_k2n, stride_k2k,
                stride_vn, stride_vk, offs_m_pos, start_n, N_KV, window, sm_scale, qk_scale,
                softcap, offs_n, offs_d1, offs_dv, Kd, Vd, row_k, row_v, D2, DV, BLOCK_DV,
                BLOCK_N, MASKED, CAUSAL, HAS_WINDOW, HAS_SOFTCAP, TMA)
    else:
        for start_n in range(lo, hi, BLOCK_N):
            acc, l_i, m_i = _kv_tile(
                acc, l_i, m_i, q1, q2, K1, K2, V, stride_kn, stride_kk, stride_k2n, stride_k2k,
                stride_vn, stride_vk, offs_m_pos, start_n, N_KV, window, sm_scale, qk_scale,
                softcap, offs_n, offs_d1, offs_dv, Kd, Vd, row_k, row_v, D2, DV, BLOCK_DV,
                BLOCK_N, MASKED, CAUSAL, HAS_WINDOW, HAS_SOFTCAP, TMA)
    return acc, l_i, m_i


@triton.jit
def _kv_tile(
    acc, l_i, m_i, q1, q2,
    K1, K2, V, stride_kn, stride_kk, stride_k2n, stride_k2k, stride_vn, stride_vk,
    offs_m_pos, start_n, N_KV, window, sm_scale, qk_scale, softcap, offs_n, offs_d1, offs_dv,
    Kd, Vd, row_k, row_v,
    D2: tl.constexpr, DV: tl.constexpr, BLOCK_DV: tl.constexpr, BLOCK_N: tl.constexpr,
    MASKED: tl.constexpr, CAUSAL: tl.constexpr, HAS_WINDOW: tl.constexpr,
    HAS_SOFTCAP: tl.constexpr, TMA: tl.constexpr = False,
):
    """One key tile of the online softmax (the body of `_kv_stage`'s loop). With TMA the
    interior (unmasked) tiles load K and V through tensor descriptors (Kd, Vd: the cache as
    rows of one head dim, this head's first row at row_k / row_v); masked tiles keep the
    predicated pointer loads (a tile at the sequence's end would read the next head's rows)."""
    start_n = tl.multiple_of(start_n, BLOCK_N)
    cols = start_n + offs_n  # [BLOCK_N] key positions
    # interior tiles lie wholly below N_KV (the stage bounds): their loads need no predicate
    kmask = cols[None, :] < N_KV
    k1p = K1 + offs_d1[:, None] * stride_kk + cols[None, :] * stride_kn
    if MASKED:  # (constexpr branches: Triton compiles only one side)
        k1t = tl.load(k1p, mask=kmask, other=0.0)  # [D1, BLOCK_N]
    elif TMA:
        k1t = Kd.load([row_k + start_n, 0]).T  # [D1, BLOCK_N]
    else:
        k1t = tl.load(k1p)
    qk = tl.dot(q1, k1t)  # [BLOCK_M, BLOCK_N]
    if D2 > 0:
        offs_d2 = tl.arange(0, D2)
        k2p = K2 + offs_d2[:, None] * stride_k2k + cols[None, :] * stride_k2n
        if MASKED:  # noqa: SIM108
            k2t = tl.load(k2p, mask=kmask, other=0.0)  # [D2, BLOCK_N]
        else:
            k2t = tl.load(k2p)
        qk += tl.dot(q2, k2t)
    if HAS_SOFTCAP:
        qk = softcap * tanh(qk * (sm_scale / softcap)) * 1.4426950408889634
    else:
        qk = qk * qk_scale
    if MASKED:
        ok = cols[None, :] < N_KV
        if CAUSAL:
            ok = ok & (cols[None, :] <= offs_m_pos[:, None])
        if HAS_WINDOW:
            ok = ok & (cols[None, :] > offs_m_pos[:, None] - window)
        qk = tl.where(ok, qk, float("-inf"))
    m_new = tl.maximum(m_i, tl.max(qk, 1))
    p = tl.math.exp2(qk - m_new[:, None])
    alpha = tl.math.exp2(m_i - m_new)
    l_i = l_i * alpha + tl.sum(p, 1)
    acc = acc * alpha[:, None]
    if MASKED or DV != BLOCK_DV:
        v = tl.load(V + cols[:, None] * stride_vn + offs_dv[None, :] * stride_vk,
                    mask=(cols[:, None] < N_KV) & (offs_dv[None, :] < DV), other=0.0)
    elif TMA:
        v = Vd.load([row_v + start_n, 0])  # [BLOCK_N, BLOCK_DV]
    else:
        v = tl.load(V + cols[:, None] * stride_vn + offs_dv[None, :] * stride_vk)
    acc += tl.dot(p.to(v.dtype), v)
    m_i = m_new
    return acc, l_i, m_i


@triton.jit
def _prefill_fwd(
    Q1, K1, Q2, K2, V, Sinks, Out,
    stride_qz, stride_qh, stride_qm, stride_qk,
    stride_kz, stride_kh, stride_kn, stride_kk,
    stride_q2z, stride_q2h, stride_q2m, stride_q2k,
    stride_k2z, stride_k2h, stride_k2n, stride_k2k,
    stride_vz, stride_vh, stride_vn, stride_vk,
    stride_oz, stride_oh, stride_om, stride_ok,
    H, M_Q, N_KV, window, sm_scale, qk_scale, softcap,
    Kd, Vd, rows_kz, rows_kh, rows_vz, rows_vh,
    GROUP: tl.constexpr, GROUP2: tl.constexpr,
    D1: tl.constexpr, D2: tl.constexpr, DV: tl.constexpr, BLOCK_DV: tl.constexpr,
    CAUSAL: tl.constexpr, HAS_WINDOW: tl.constexpr, HAS_SOFTCAP: tl.constexpr,
    HAS_SINKS: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
    PACK: tl.constexpr = 1, MERGE: tl.constexpr = False, WS: tl.constexpr = False,
    TMA: tl.constexpr = False,
):
    """grid (B * H / PACK, cdiv(M_Q, BLOCK_M / PACK)). A tile's BLOCK_M rows are PACK query
    heads of one KV group at the same BLOCK_M / PACK positions (head-major), so one K/V tile
    feeds PACK heads: a GQA window visits W + BLOCK_M / PACK keys per query row instead of
    W + BLOCK_M at the same tile height (FlashAttention-3's PackGQA).

    MERGE runs the visited tiles [lo, hi) as one masked loop instead of three stages: a
    window visits about W / BLOCK_N + 1 tiles, and three short loops each fill and drain
    their own software pipeline (tried against the staged form by the device sweep)."""
    tl.static_assert(BLOCK_M >= 16 and BLOCK_N >= 16, "tl.dot needs tiles of at least 16")
    tl.static_assert(D1 >= 16 and (D2 == 0 or D2 >= 16), "head-dim parts must be >= 16")
    tl.static_assert(GROUP % PACK == 0 and GROUP2 % PACK == 0, "packed heads share K/V")
    BLOCK_P = BLOCK_M // PACK  # query positions per tile
    pid_zh = tl.program_id(0)
    # heaviest (last) query blocks first: better tail balance under causal masking
    start_m = tl.num_programs(1) - 1 - tl.program_id(1)
    off_z = pid_zh // (H // PACK)
    off_h = (pid_zh % (H // PACK)) * PACK  # the first of the PACK heads
    off_kh = off_h // GROUP  # GQA: the KV head these query heads share
    off_k2h = off_h // GROUP2

    rows = tl.arange(0, BLOCK_M)
    head_r = off_h + rows // BLOCK_P  # [BLOCK_M] query head of each row
    offs_m = start_m * BLOCK_P + rows % BLOCK_P  # [BLOCK_M] query index of each row
    q_off = N_KV - M_Q  # query i sits at absolute position q_off + i
    offs_m_pos = q_off + offs_m
    offs_d1 = tl.arange(0, D1)
    offs_dv = tl.arange(0, BLOCK_DV)

    q1 = tl.load(Q1 + off_z * stride_qz + head_r[:, None] * stride_qh
                 + offs_m[:, None] * stride_qm + offs_d1[None, :] * stride_qk,
                 mask=offs_m[:, None] < M_Q, other=0.0)  # [BLOCK_M, D1]
    if D2 > 0:
        offs_d2 = tl.arange(0, D2)
        q2 = tl.load(Q2 + off_z * stride_q2z + head_r[:, None] * stride_q2h
                     + offs_m[:, None] * stride_q2m + offs_d2[None, :] * stride_q2k,
                     mask=offs_m[:, None] < M_Q, other=0.0)  # [BLOCK_M, D2]
    else:
        q2 = q1  # unused
    k1 = K1 + off_z * stride_kz + off_kh * stride_kh
    k2 = K2 + off_z * stride_k2z + off_k2h * stride_k2h
    v = V + off_z * stride_vz + off_kh * stride_vh
    row_k = off_z * rows_kz + off_kh * rows_kh  # TMA: this head's first row in Kd / Vd
    row_v = off_z * rows_vz + off_kh * rows_vh

    if HAS_SINKS:
        sink = tl.load(Sinks + head_r).to(tl.float32) * 1.4426950408889634  # [BLOCK_M]
        m_i = sink
        l_i = tl.zeros([BLOCK_M], dtype=tl.float32) + 1.0  # exp2(sink - m_i) = 1
    else:
        m_i = tl.zeros([BLOCK_M], dtype=tl.float32) + NEG_INIT
        l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_DV], dtype=tl.float32)

    # key range of this query block: first/last absolute positions p0..p1
    p0 = q_off + start_m * BLOCK_P
    p1 = tl.minimum(p0 + BLOCK_P, N_KV) - 1
    if CAUSAL:
        hi = tl.minimum(N_KV, p1 + 1)
        full_hi = ((p0 + 1) // BLOCK_N) * BLOCK_N  # tiles wholly at or below the diagonal
    else:
        hi = N_KV
        full_hi = (N_KV // BLOCK_N) * BLOCK_N
    if HAS_WINDOW:
        lo = (tl.maximum(0, p0 - window + 1) // BLOCK_N) * BLOCK_N
        full_lo = tl.cdiv(tl.maximum(0, p1 - window + 1), BLOCK_N) * BLOCK_N
    else:
        lo = 0
        full_lo = 0
    b = tl.minimum(tl.maximum(full_lo, lo), hi)
    c = tl.minimum(tl.maximum(full_hi, b), hi)

    if MERGE:  # every visited tile in one masked, pipelined loop
        acc, l_i, m_i = _kv_stage(
            acc, l_i, m_i, q1, q2, k1, k2, v, stride_kn, stride_kk, stride_k2n, stride_k2k,
            stride_vn, stride_vk, offs_m_pos, lo, hi, N_KV, window, sm_scale, qk_scale, softcap,
            Kd, Vd, row_k, row_v, D1, D2, BLOCK_DV, DV, BLOCK_N, True, CAUSAL, HAS_WINDOW,
            HAS_SOFTCAP, WS, TMA)
    else:
        if HAS_WINDOW:  # window edge: masked
            acc, l_i, m_i = _kv_stage(
                acc, l_i, m_i, q1, q2, k1, k2, v, stride_kn, stride_kk, stride_k2n, stride_k2k,
                stride_vn, stride_vk, offs_m_pos, lo, b, N_KV, window, sm_scale, qk_scale, softcap,
                Kd, Vd, row_k, row_v, D1, D2, BLOCK_DV, DV, BLOCK_N, True, CAUSAL, HAS_WINDOW,
                HAS_SOFTCAP, WS, TMA)
        # interior: no mask at all
        acc, l_i, m_i = _kv_stage(
            acc, l_i, m_i, q1, q2, k1, k2, v, stride_kn, stride_kk, stride_k2n, stride_k2k,
            stride_vn, stride_vk, offs_m_pos, b, c, N_KV, window, sm_scale, qk_scale, softcap,
            Kd, Vd, row_k, row_v, D1, D2, BLOCK_DV, DV, BLOCK_N, False, CAUSAL, HAS_WINDOW,
            HAS_SOFTCAP, WS, TMA)
        # diagonal (causal) or ragged tail: masked
        acc, l_i, m_i = _kv_stage(
            acc, l_i, m_i, q1, q2, k1, k2, v, stride_kn, stride_kk, stride_k2n, stride_k2k,
            stride_vn, stride_vk, offs_m_pos, c, hi, N_KV, window, sm_scale, qk_scale, softcap,
            Kd, Vd, row_k, row_v, D1, D2, BLOCK_DV, DV, BLOCK_N, True, CAUSAL, HAS_WINDOW,
            HAS_SOFTCAP, WS, TMA)

    l_safe = tl.where(l_i > 0.0, l_i, 1.0)
    out = acc / l_safe[:, None]
    tl.store(Out + off_z * stride_oz + head_r[:, None] * stride_oh
             + offs_m[:, None] * stride_om + offs_dv[None, :] * stride_ok,
             out.to(Out.dtype.element_ty),
             mask=(offs_m[:, None] < M_Q) & (offs_dv[None, :] < DV))


def _config(bm, bn, w, s, pack=1, merge=False, ws=False, tma=False):
    meta = ({"BLOCK_M": bm, "BLOCK_N": bn} | ({"PACK": pack} if pack > 1 else {})
            | ({"MERGE": True} if merge else {}) | ({"WS": True} if ws else {})
            | ({"TMA": True} if tma else {}))
    return triton.Config(meta, num_warps=w, num_stages=s)


def config_name(config) -> str:
    """'128x64 w8 s3 pack2 merge': the tile as the sweep and benchmarks/GPU_KERNELS.md write it."""
    kw = config.kwargs
    return (f"{kw['BLOCK_M']}x{kw['BLOCK_N']} w{config.num_warps} s{config.num_stages} "
            f"pack{kw.get('PACK', 1)}" + (" merge" if kw.get("MERGE") else "")
            + (" ws" if kw.get("WS") else "") + (" tma" if kw.get("TMA") else ""))


def _pack(config) -> int:
    return config.kwargs.get("PACK", 1)


_TUNED = [
    _config(*t) for t in [
        (128, 64, 8, 3), (128, 64, 8, 4), (128, 128, 8, 3), (128, 32, 4, 4), (128, 32, 4, 3),
        (64, 64, 4, 3), (64, 64, 4, 4), (64, 32, 4, 4),
    ]
]
# GQA: two query heads of a KV group per 128-row tile (64 positions each), for any group
# size divisible by 2 (kept only there, `prune_prefill_configs`).
_PACKED = [_config(128, 64, 8, 3, 2), _config(128, 64, 8, 4, 2), _config(128, 128, 8, 3, 2),
           # the H200 sweep's winners (2026-12-04): 4 heads of 32 positions for GQA causal
           # (1.179 ms against 1.262 ms for PACK 2), 2 heads of 64 with 32-key tiles for the
           # GQA window (0.402 ms against 0.426 ms)
           _config(128, 64, 8, 3, 4), _config(128, 32, 4, 3, 2)]
# Small tiles for when no tuned one fits shared memory (fp32 checks of wide heads: the MLA
# prefill at 128 + 64 / 128 needs 172,032 B at 64x32 with 2 stages, 425,984 B at 128x64x3).
_FALLBACKS = [_config(64, 32, 4, 2), _config(32, 16, 4, 2), _config(16, 16, 4, 1)]
_CONFIGS = _TUNED + _PACKED + _FALLBACKS


def prefill_shared_bytes(config, dqk: int, block_dv: int, elem: int) -> int:
    """Shared memory of one program: the query tile, and K and V tiles per pipeline buffer.
    Equal to the compiler's figure for bf16 (e.g. 172,032 B for the MLA tile 128x64, 3 stages,
    head dims 128 + 64 / 128); an upper bound for fp32 (`pipeline_stages`)."""
    bm, bn = config.kwargs["BLOCK_M"], config.kwargs["BLOCK_N"]
    stages = pipeline_stages(config.num_stages, elem)
    return (stages * bn * (dqk + block_dv) + bm * dqk) * elem


def prune_prefill_configs(configs, named_args, **kwargs):
    """Drop tiles that cannot fit or cannot pay: tiles over the shared-memory budget at the
    operands' element size, BLOCK_M=128 for short queries (idle rows), packed heads unless
    the packed count divides both group sizes; the fallback tiles only when no tuned one
    fits."""
    dqk = kwargs["D1"] + kwargs["D2"]
    elem = element_size(named_args)
    m_q = named_args["M_Q"]
    groups = (kwargs.get("GROUP", 1), kwargs.get("GROUP2", 1))
    tuned = [c for c in configs if c not in _FALLBACKS
             and all(g % _pack(c) == 0 for g in groups)]
    small = [c for c in tuned if not (m_q <= 64 and c.kwargs["BLOCK_M"] // _pack(c) > 64)]
    small = small or tuned
    return fit_shared(small, lambda c: prefill_shared_bytes(c, dqk, kwargs["BLOCK_DV"], elem),
                      _FALLBACKS, shared_memory_limit(named_args))


#: False sends every shape to the autotuner (the tile sweep's baseline)
USE_PICKS = True
#: the tile of the last GPU call: "pick <name>" or "autotuned <name>" (the benches report it)
LAST_CONFIG = {"config": ""}


def pick_prefill_config(meta: dict, m_q: int, window: int, elem: int, capability, limit: int,
                        tma_ok: bool = False):
    """The measured tile of the first class in `prefill_picks.PICKS` that this call falls in,
    or None (then the autotuner chooses). A pick whose packing does not divide the groups,
    whose shared memory exceeds the device's `limit`, or that reads through TMA where K/V
    cannot (`tma_ok` false), is passed over."""
    for entry in PICKS:
        m = entry["match"]
        if (list(capability) != m["capability"] or elem != m["elem"] or m_q < m["min_m"]
                or not m["window"][0] <= window <= m["window"][1]
                or any(meta[k] != m[k] for k in ("D1", "D2", "DV", "GROUP", "GROUP2", "CAUSAL",
                                                 "HAS_WINDOW", "HAS_SOFTCAP", "HAS_SINKS"))):
            continue
        config = _config(*entry["config"])
        if config.kwargs.get("TMA") and not tma_ok:
            continue
        if (meta["GROUP"] % _pack(config) or meta["GROUP2"] % _pack(config)
                or prefill_shared_bytes(config, meta["D1"] + meta["D2"], meta["BLOCK_DV"],
                                        elem) > limit):
            continue
        return config
    return None


def tma_ready(k: torch.Tensor, v: torch.Tensor, meta: dict) -> bool:
    """K and V can be read through 2-D descriptors of rows: Triton has host-side descriptors,
    one head dim (no second part), a power-of-two value dim, unit inner strides, 16-byte
    aligned rows and base, and the batch and head strides whole multiples of the row stride
    (a contiguous [B, G, S, D] tensor or a cache's view of one)."""
    if meta["D2"] or meta["DV"] != meta["BLOCK_DV"] or not tma_ok(k, v):
        return False
    return all(t.stride(0) % t.stride(2) == 0 and t.stride(1) % t.stride(2) == 0 for t in (k, v))


def _rows_view(t: torch.Tensor) -> torch.Tensor:
    """[B, G, S, D] as the rows of one head dim it spans: [rows, D] with the row stride."""
    sz, sh, sn, _ = t.stride()
    b, g, s_len, d = t.shape
    rows = ((b - 1) * sz + (g - 1) * sh) // sn + s_len
    return t.as_strided((rows, d), (sn, 1))


def _tma_args(k: torch.Tensor, v: torch.Tensor, block_n: int, meta: dict) -> tuple:
    """(Kd, Vd, rows_kz, rows_kh, rows_vz, rows_vh) for a TMA tile: descriptors of [BLOCK_N,
    D] blocks over the rows of K and V, and each sequence's and head's first row."""
    if not tma_ready(k, v, meta):
        raise ValueError("a TMA tile needs K/V of one power-of-two head dim in whole rows")
    kd = TensorDescriptor.from_tensor(_rows_view(k), [block_n, meta["D1"]])
    vd = TensorDescriptor.from_tensor(_rows_view(v), [block_n, meta["BLOCK_DV"]])
    return (kd, vd, k.stride(0) // k.stride(2), k.stride(1) // k.stride(2),
            v.stride(0) // v.stride(2), v.stride(1) // v.stride(2))


_prefill_tuned = triton.autotune(
    configs=_CONFIGS,
    key=["M_Q", "N_KV", "D1", "D2", "DV", "GROUP", "CAUSAL", "HAS_WINDOW", "HAS_SOFTCAP"],
    prune_configs_by={"early_config_prune": prune_prefill_configs},
)(_prefill_fwd)


def prefill_attention(
    q: torch.Tensor,  # [B, H, M, Dqk]
    k: torch.Tensor,  # [B, G, S, Dqk]
    v: torch.Tensor,  # [B, G, S, Dv]
    *,
    causal: bool = True,
    sm_scale: float | None = None,
    window: int | None = None,
    softcap: float | None = None,
    sinks: torch.Tensor | None = None,  # [H]
    q_rope: torch.Tensor | None = None,  # [B, H, M, P]  second q part (MLA rope), optional
    k_rope: torch.Tensor | None = None,  # [B, G2, S, P] second k part; G2 may be 1 (shared)
    out: torch.Tensor | None = None,
    pack_heads: int | None = None,  # interpreter tests: query heads per tile (divides GROUP)
    tile: triton.Config | None = None,  # one fixed tile (the sweep, tests): no pick, no tuning
) -> torch.Tensor:  # [B, H, M, Dv]
    """Prefill attention. Queries are the last M of the S positions (M == S: plain prefill;
    M < S: chunked prefill onto a cache). Any strides (views are fine, nothing is copied).

    Logits are q.k (+ q_rope.k_rope) * sm_scale (default 1/sqrt(total qk dim)). A head dim that
    is not a power of two is split into two (192 = 128 + 64) as views, not padded.
    """
    bsz, h, m_q, dqk = q.shape
    g, n_kv, dv = k.shape[1], k.shape[2], v.shape[3]
    if h % g:
        raise ValueError(f"{h} query heads do not divide into {g} KV heads")
    if m_q > n_kv:
        raise ValueError("more queries than keys")
    if q_rope is None:
        d1, d2 = split_pow2(dqk)
        q1, k1 = q[..., :d1], k[..., :d1]
        q2, k2 = (q[..., d1:], k[..., d1:]) if d2 else (q1, k1)
        total_d = dqk
    else:
        if split_pow2(dqk)[1] or split_pow2(q_rope.shape[-1])[1]:
            raise ValueError("with q_rope, both parts must be powers of two")
        d1, d2 = dqk, q_rope.shape[-1]
        q1, k1, q2, k2 = q, k, q_rope, k_rope
        total_d = dqk + d2
    g2 = k2.shape[1]
    scale = sm_scale if sm_scale is not None else default_scale(total_d)
    if out is None:
        out = torch.empty(bsz, h, m_q, dv, device=q.device, dtype=q.dtype)
    sinks_arg = sinks if sinks is not None else q1  # dummy pointer when absent
    head = (
        q1, k1, q2, k2, v, sinks_arg, out,
        *q1.stride(), *k1.stride(), *q2.stride(), *k2.stride(), *v.stride(), *out.stride(),
        h, m_q, n_kv, int(window or 0), scale, scale * LOG2E, float(softcap or 1.0),
    )
    args = (*head, k1, v, 0, 0, 0, 0)  # no descriptors: dummies (TMA tiles: `_tma_args`)
    meta = dict(
        GROUP=h // g, GROUP2=h // g2, D1=d1, D2=d2, DV=dv,
        BLOCK_DV=max(16, triton.next_power_of_2(dv)), CAUSAL=causal,
        HAS_WINDOW=window is not None, HAS_SOFTCAP=softcap is not None,
        HAS_SINKS=sinks is not None,
    )
    grid = lambda mt: (bsz * h // mt.get("PACK", 1),  # noqa: E731
                       triton.cdiv(m_q, mt["BLOCK_M"] // mt.get("PACK", 1)))
    if tile is None and not interpreting():
        tile = fixed_tile(_FALLBACKS, lambda c: prefill_shared_bytes(
            c, d1 + d2, meta["BLOCK_DV"], q.element_size()), {"q": q})
    if tile is not None:
        if tile.kwargs.get("TMA"):
            args = (*head, *_tma_args(k1, v, tile.kwargs["BLOCK_N"], meta))
        _prefill_fwd[grid(tile.kwargs)](*args, **meta, **tile.kwargs, num_warps=tile.num_warps,
                                        num_stages=tile.num_stages)
        LAST_CONFIG["config"] = "fixed " + config_name(tile)
    elif interpreting():
        bm, pack = 16, (pack_heads or 1)
        _prefill_fwd[(bsz * h // pack, triton.cdiv(m_q, bm // pack))](
            *args, **meta, BLOCK_M=bm, BLOCK_N=16, PACK=pack)
        LAST_CONFIG["config"] = f"interpreter {bm}x16 pack{pack}"
    elif pack_heads:  # one fixed packing, the tile left to the autotuner (tests, benches)
        raise ValueError("pack_heads is for the interpreter; on a GPU the autotuner packs")
    else:
        config = None
        if USE_PICKS:
            config = pick_prefill_config(
                meta, m_q, int(window or 0), q.element_size(),
                torch.cuda.get_device_capability(q.device),
                shared_memory_limit({"q": q}), tma_ready(k1, v, meta))
        if config is not None:
            if config.kwargs.get("TMA"):
                args = (*head, *_tma_args(k1, v, config.kwargs["BLOCK_N"], meta))
            _prefill_fwd[grid(config.kwargs)](*args, **meta, **config.kwargs,
                                              num_warps=config.num_warps,
                                              num_stages=config.num_stages)
            LAST_CONFIG["config"] = "pick " + config_name(config)
        else:
            _prefill_tuned[grid](*args, **meta)
            LAST_CONFIG["config"] = "autotuned " + config_name(_prefill_tuned.best_config)
    return out


def prefill_flops(b: int, h: int, m: int, s: int, dqk: int, dv: int, *, causal: bool,
                  window: int | None = None) -> float:
    """Useful attention FLOPs: 2*pairs*(Dqk + Dv) per head (QK^T and PV), counting only visible
    (query, key) pairs (`work.attention_pairs`): causal with M == S visits S(S+1)/2 pairs."""
    return attention_flops(b, h, attention_pairs(m, s, causal=causal, window=window), dqk, dv)
