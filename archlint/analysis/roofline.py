"""A roofline bound on decode and prefill (Williams, Waterman, Patterson 2009, "Roofline").

A decode step for B sequences reads every weight it touches once and each sequence's KV
cache once, and does B tokens' FLOPs: t ≥ max(bytes / bandwidth, FLOPs / peak); tokens/s ≤
B / t. For MoE layers a batch touches, in expectation, E·(1 − (1 − k/E)^B) distinct experts
(each token picks k of E; uniform routing assumed), so weight traffic grows with batch.
Prefill of B prompts of L tokens is bounded by FLOPs / peak and by reading the weights once.

Weight traffic is priced per component at its own stored bytes (gpt-oss-20b: bf16 attention and
head read in full, MXFP4 experts at 4.25 bits), not at the checkpoint's average bytes per
parameter; a head tied to the embedding reads the embedding matrix every step.
"""

from __future__ import annotations

from typing import Literal

from archlint.analysis.hardware import GPU
from archlint.analysis.memory import KVCache, kv_bytes_at
from archlint.analysis.params import ParamCounts
from archlint.records import Record, record
from archlint.spec import ModelSpec


@record
class Roofline(Record):
    gpu: str
    memory_bytes: int
    bandwidth: float
    peak_flops: float
    batch: int
    context: int
    decode_weight_bytes: int  # weights read per decode step at this batch
    decode_kv_bytes: int
    decode_flops: int
    decode_step_seconds: float
    decode_tokens_per_s: float  # upper bound, whole batch
    decode_bound: Literal["memory", "compute"]
    prefill_seconds: float  # lower bound for B prompts of `context` tokens
    fits: bool
    free_bytes_after_weights: int
    max_batch: int  # at `context`
    max_context: int  # at `batch`


def expected_experts_touched(experts: int, top_k: int, batch: int) -> float:
    if experts <= 0:
        return 0.0
    return experts * (1 - (1 - top_k / experts) ** batch)


def decode_weight_bytes(
    spec: ModelSpec,
    params: ParamCounts,
    weights_bytes: int,
    batch: int,
    bytes_by_component: dict[str, int] | None = None,
) -> int:
    """Bytes of weights one decode step reads: all non-routed weights, and the expected
    distinct experts per MoE layer, each component at its own stored bytes
    (`bytes_by_component`; without it, the average bytes per parameter). The input embedding
    is a gather of B rows, not a read of the table, unless the head is tied to it (then the
    head's matmul reads its vocab × hidden rows); MTP modules and vision/audio towers do not
    run (towers run once per image/clip, in prefill)."""
    if params.total == 0:
        return 0
    if not bytes_by_component:
        per_param = weights_bytes / params.total
        bytes_by_component = {k: round(v * per_param) for k, v in params.by_component.items()}
    skip = ("routed_experts", "mtp", "embedding", "towers")
    read: float = sum(v for k, v in bytes_by_component.items() if k not in skip)
    if spec.tie_word_embeddings and not params.by_component.get("head") and params.embedding:
        embedding = bytes_by_component.get("embedding", 0)
        read += embedding * min(1.0, spec.vocab_size * spec.hidden_size / params.embedding)
    routed = bytes_by_component.get("routed_experts", 0)
    moe = spec.moe_layers()
    if moe and routed:
        per_layer = routed / len(moe)
        for layer in moe:
            ffn = layer.ffn
            touched = expected_experts_touched(ffn.num_experts, ffn.experts_per_token, batch)
            read += per_layer * touched / ffn.num_experts
    return round(read)


def _max_context(kv: KVCache, free: int, batch: int, limit: int) -> int:
    if free <= 0:
        return 0
    if kv_bytes_at(kv, limit, batch) <= free:
        return limit
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if kv_bytes_at(kv, mid, batch) <= free:
            lo = mid
        else:
            hi = mid - 1
    return lo


def roofline(
    spec: ModelSpec,
    params: ParamCounts,
    weights_bytes: int,
    kv: KVCache,
    flops_per_token: int,
    prefill_flops: int,
    gpu: GPU,
    *,
    batch: int,
    context: int,
    max_context_limit: int,
    bytes_by_component: dict[str, int] | None = None,
) -> Roofline:
    weight_read = decode_weight_bytes(spec, params, weights_bytes, batch, bytes_by_component)
    kv_read = kv_bytes_at(kv, context, batch)
    step_flops = flops_per_token * batch
    t_mem = (weight_read + kv_read) / gpu.bandwidth
    t_compute = step_flops / gpu.bf16_flops
    step = max(t_mem, t_compute)
    prefill = max(prefill_flops * batch / gpu.bf16_flops, weights_bytes / gpu.bandwidth)
    free = gpu.memory_bytes - weights_bytes
    per_seq = kv_bytes_at(kv, context, 1)
    max_batch = (free // per_seq if per_seq else (10**9 if free > 0 else 0)) if free > 0 else 0
    return Roofline(
        gpu=gpu.name,
        memory_bytes=gpu.memory_bytes,
        bandwidth=gpu.bandwidth,
        peak_flops=gpu.bf16_flops,
        batch=batch,
        context=context,
        decode_weight_bytes=weight_read,
        decode_kv_bytes=kv_read,
        decode_flops=step_flops,
        decode_step_seconds=step,
        decode_tokens_per_s=batch / step if step else 0.0,
        decode_bound="memory" if t_mem >= t_compute else "compute",
        prefill_seconds=prefill,
        fits=weights_bytes + kv_read <= gpu.memory_bytes,
        free_bytes_after_weights=free,
        max_batch=int(max_batch),
        max_context=_max_context(kv, free, batch, max_context_limit),
    )
