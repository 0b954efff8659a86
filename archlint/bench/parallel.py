"""Tensor- and expert-parallel sharding of one bench layer, as vLLM shards it, and its
execution over torch.distributed (gloo on CPUs in the tests, NCCL on GPUs).

The plan is plain Python (no torch): which rows and columns each rank holds, and the
all-to-all dispatch of an expert-parallel MoE.

- Tensor parallelism (Megatron-LM, Shoeybi et al. 2019, §3; vLLM's ColumnParallelLinear /
  RowParallelLinear / QKVParallelLinear): attention is column-parallel by heads (rank r holds
  query heads [r·H/tp, (r+1)·H/tp) and the KV heads they read; when tp > G each KV head is
  replicated on tp/G ranks), o_proj row-parallel over the same heads; the dense FFN column-
  parallel over its width (gate and up rows [r·F/tp, (r+1)·F/tp)), down_proj row-parallel over
  the same columns. One all-reduce of the [T, C] output after each of the two.
- Expert parallelism (vLLM's `--enable-expert-parallel`; DeepSeek-V3's EP): rank r holds
  experts [r·E/ep, (r+1)·E/ep) and its own T/ep tokens; each (token, expert) slot is sent to
  the rank that holds its expert (all-to-all dispatch), computed there, and sent back to the
  token's rank (all-to-all combine), where the K weighted outputs are summed.

NVLink multicast is kept off wherever processes are started (`MULTICAST_OFF`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

#: NVLink SHARP / multicast off in NCCL, PyTorch symmetric memory and NVSHMEM: the lent
#: machines require it (a program using multicast can take the host's GPUs down).
MULTICAST_OFF = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1",
                 "NVSHMEM_DISABLE_NVLS": "1"}


def multicast_off_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` (default os.environ) with multicast forced off: for this process and workers."""
    out = dict(os.environ if env is None else env)
    out.update(MULTICAST_OFF)
    return out


def _split(n: int, parts: int, rank: int, what: str) -> tuple[int, int]:
    if n % parts:
        raise ValueError(f"{what} {n} do not split evenly over {parts} ranks")
    size = n // parts
    return rank * size, (rank + 1) * size


@dataclass(frozen=True)
class AttentionShard:
    q_heads: tuple[int, int]  # [first, last) query heads
    kv_heads: tuple[int, int]  # [first, last) KV heads held (replicated when tp > G)


def attention_shard(heads: int, kv_heads: int, tp: int, rank: int) -> AttentionShard:
    """Query heads split evenly; KV heads split when G >= tp, else each rank holds the one
    KV head its query heads read (vLLM's QKVParallelLinear replicates it tp/G times)."""
    q = _split(heads, tp, rank, "query heads")
    if kv_heads >= tp:
        kv = _split(kv_heads, tp, rank, "KV heads")
    else:
        if tp % kv_heads:
            raise ValueError(f"{kv_heads} KV heads cannot be replicated evenly over {tp} ranks")
        g = rank // (tp // kv_heads)
        kv = (g, g + 1)
    return AttentionShard(q, kv)


def ffn_shard(width: int, tp: int, rank: int) -> tuple[int, int]:
    """Columns [first, last) of the FFN's width a rank holds (gate, up rows; down columns)."""
    return _split(width, tp, rank, "FFN columns")


def expert_shard(experts: int, ep: int, rank: int) -> tuple[int, int]:
    """Experts [first, last) a rank holds (vLLM's contiguous placement)."""
    return _split(experts, ep, rank, "experts")


def dispatch_counts(topk_ids: list[list[int]], experts: int, ep: int) -> list[list[int]]:
    """counts[src][dst]: (token, expert) slots rank src sends to rank dst, when token t lives
    on rank t·ep // T (tokens split evenly, in order) and expert e on rank e // (E/ep). Row
    sums are each rank's T/ep·K slots; column sums what each rank's experts compute."""
    t = len(topk_ids)
    per = experts // ep
    counts = [[0] * ep for _ in range(ep)]
    for i, ids in enumerate(topk_ids):
        src = i * ep // t
        for e in ids:
            counts[src][e // per] += 1
    return counts


def shard_bytes_tp(heads: int, kv_heads: int, head_dim: int, v_head_dim: int, hidden: int,
                   ffn_width: int, tp: int, elem: int, *, gated: bool = True) -> int:
    """Weight bytes of one rank's attention + dense-FFN shard (biases and norms left out)."""
    a = attention_shard(heads, kv_heads, tp, 0)
    hq = a.q_heads[1] - a.q_heads[0]
    g = a.kv_heads[1] - a.kv_heads[0]
    qkv = hidden * (hq * head_dim + g * (head_dim + v_head_dim))
    o = hq * v_head_dim * hidden
    f = ffn_width // tp
    ffn = hidden * f * (3 if gated else 2)
    return (qkv + o + ffn) * elem


# --------------------------------------------------------------------------------------------
# execution (torch.distributed; the process group is the caller's)
# --------------------------------------------------------------------------------------------
def tp_dense_ffn(x: Any, w13: Any, w2: Any, rank: int, tp: int, group: Any = None, *,
                 reduce: bool = True) -> Any:
    """SwiGLU FFN column- then row-parallel: this rank's gate/up rows and down columns, one
    all-reduce (`reduce=False` with rank 0 of tp=1: the unsharded reference). w13 [2F, C]
    (gate rows then up rows) and w2 [C, F] are the full weights; the shard is sliced here, as a
    loader would."""
    import torch.distributed as dist
    import torch.nn.functional as F

    f = w13.shape[0] // 2
    lo, hi = ffn_shard(f, tp, rank)
    gate, up = F.linear(x, w13[lo:hi]), F.linear(x, w13[f + lo : f + hi])
    y = F.linear(F.silu(gate) * up, w2[:, lo:hi])
    if reduce:
        dist.all_reduce(y, group=group)
    return y


def tp_attention(x: Any, wq: Any, wk: Any, wv: Any, wo: Any, heads: int, kv_heads: int,
                 rank: int, tp: int, *, scale: float, group: Any = None,
                 reduce: bool = True) -> Any:
    """Causal attention over x [B, n, C], column-parallel by heads, o_proj row-parallel, one
    all-reduce (no rotary: sharding does not change it). Full weights wq [H·D, C],
    wk/wv [G·D, C], wo [C, H·Dv]; the rank's heads are sliced here."""
    import torch.distributed as dist
    import torch.nn.functional as F

    b, n = x.shape[:2]
    d = wq.shape[0] // heads
    dv = wv.shape[0] // kv_heads
    sh = attention_shard(heads, kv_heads, tp, rank)
    (q0, q1), (g0, g1) = sh.q_heads, sh.kv_heads
    q = F.linear(x, wq[q0 * d : q1 * d]).view(b, n, q1 - q0, d).transpose(1, 2)
    k = F.linear(x, wk[g0 * d : g1 * d]).view(b, n, g1 - g0, d).transpose(1, 2)
    v = F.linear(x, wv[g0 * dv : g1 * dv]).view(b, n, g1 - g0, dv).transpose(1, 2)
    o = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale,
                                       enable_gqa=(q1 - q0) != (g1 - g0))
    o = o.transpose(1, 2).reshape(b, n, (q1 - q0) * dv)
    y = F.linear(o, wo[:, q0 * dv : q1 * dv])
    if reduce:
        dist.all_reduce(y, group=group)
    return y


def ep_moe(x_local: Any, weights: Any, ids: Any, w13: Any, w2: Any, rank: int, ep: int,
           group: Any = None) -> Any:
    """Expert-parallel MoE for this rank's tokens x_local [T/ep, C] with their routing
    (weights, ids [T/ep, K]): all-to-all dispatch of the slots to the experts' ranks, the
    local experts' SwiGLU, all-to-all combine, weighted sum. w13 [E, 2F, C] / w2 [E, C, F]
    are the full weights; only this rank's experts are used."""
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F

    e_total = w13.shape[0]
    per = e_total // ep
    e0, _ = expert_shard(e_total, ep, rank)
    k = ids.shape[1]
    flat = ids.reshape(-1).to(torch.int64)
    dest = flat // per
    order = torch.argsort(dest, stable=True)  # slots grouped by destination rank
    send_counts = torch.bincount(dest, minlength=ep)
    recv_counts = torch.empty_like(send_counts)
    dist.all_to_all_single(recv_counts, send_counts, group=group)
    sc, rc = send_counts.tolist(), recv_counts.tolist()
    tok = order // k
    send_x = x_local[tok]
    send_e = flat[order]
    recv_x = x_local.new_empty(sum(rc), x_local.shape[1])
    recv_e = flat.new_empty(sum(rc))
    dist.all_to_all_single(recv_x, send_x, rc, sc, group=group)
    dist.all_to_all_single(recv_e, send_e, rc, sc, group=group)
    out = torch.empty_like(recv_x)
    f = w13.shape[1] // 2
    for le in range(per):  # the local experts
        rows = (recv_e == e0 + le).nonzero(as_tuple=True)[0]
        if rows.numel():
            gu = F.linear(recv_x[rows], w13[e0 + le])
            out[rows] = F.linear(F.silu(gu[:, :f]) * gu[:, f:], w2[e0 + le])
    back = torch.empty_like(send_x)
    dist.all_to_all_single(back, out, sc, rc, group=group)
    y = torch.zeros_like(x_local, dtype=torch.float32)
    w = weights.reshape(-1)[order].float()
    y.index_add_(0, tok, back.float() * w[:, None])
    return y.to(x_local.dtype)


__all__ = ["MULTICAST_OFF", "AttentionShard", "attention_shard", "dispatch_counts", "ep_moe",
           "expert_shard", "ffn_shard", "multicast_off_env", "shard_bytes_tp", "tp_attention",
           "tp_dense_ffn"]
