"""The serving plan: how vLLM lays out one GPU's memory for this model, what KV capacity is
left, what that buys (concurrency, context, batch), and what the parallel layout costs in
communication. Pure functions of the spec, the parameter/byte tables and the options.

Memory per GPU, as vLLM's V1 worker budgets it (vllm/v1/worker/gpu_worker.py
`determine_available_memory`, v0.10+; the V0 worker of v0.6–v0.9 did the same sum and logged
"the rest of the memory reserved for KV Cache" / "# GPU blocks"):

    KV memory = capacity × gpu_memory_utilization
                − weights on this rank                     (parallel.rank_weights)
                − peak activation of the profiling forward (activation_peak below)
                − non-torch memory                         (NON_TORCH_* below)

CUDA-graph memory is captured after the KV cache is allocated in v0.10–v0.20, so it comes out of
the (1 − utilization) headroom, not out of the KV budget; vLLM ≥ 0.21 profiles it first and
subtracts it (about 0.5–1% of the GPU), which this model does not do.

The KV memory is cut into blocks of `block_size` tokens (16 by default) of every attention layer
of a KV-cache group; with layers of several kinds (full + sliding, attention + Mamba) vLLM's hybrid
allocator groups them into groups of equal layer count with one shared block pool and one page
size (vllm/v1/core/kv_cache_utils.py `_get_kv_cache_config_uniform_page_size`), raising the
attention block size until an attention page holds a Mamba state page (then padding the latter).
`GPU KV cache size` is blocks ÷ groups × block size (v0.10–v0.11 reporting).
"""

from __future__ import annotations

from dataclasses import field
from math import ceil
from typing import Literal

from archlint.analysis.hardware import GIB, GPU
from archlint.analysis.memory import KVCache
from archlint.analysis.parallel import (
    Layout,
    RankWeights,
    kv_bytes_per_token_rank,
    kv_heads_per_rank,
    mxfp4_expert_scale,
    rank_weights,
)
from archlint.analysis.params import ParamCounts
from archlint.records import Record, record
from archlint.spec import ModelSpec

#: Memory vLLM's profiler attributes to non-torch allocations (cuBLAS/cuDNN workspaces, CUDA
#: context allocations outside torch) on one GPU, and what NCCL and the custom all-reduce
#: buffers add when ranks communicate. Startup logs show 0.03–0.35 GiB ("non_torch_memory takes
#: 0.03GiB" on an RTX 4060, vllm#13882; 0.20 GiB per rank at TP=4 on RTX 3090s, vllm#14447;
#: 0.25 GiB at TP=2 on RTX 4090s, vllm#13061; 0.35 GiB on an RTX 3090, vllm#10517): a reserve of
#: 0.30 GiB, 0.45 GiB with communication. docs/serving.md measures the error it leaves.
NON_TORCH_SINGLE = 0.30 * GIB
NON_TORCH_PARALLEL = 0.45 * GIB
#: Bytes per vocabulary entry held at the sampler's peak during V1's profiling run. V1's dummy
#: sampler run (vllm/v1/worker/gpu_model_runner.py `_dummy_sampler_run`) samples with
#: top_p = 0.9 and top_k = vocab - 1, so it takes the sort path of `apply_top_k_top_p`
#: (vllm/v1/sample/ops/topk_topp_sampler.py) as V0 does (V0_SAMPLER_BYTES_PER_LOGIT, 42 B),
#: except that V1 writes the cumulative sum into the sorted probabilities
#: (`torch.cumsum(probs_sort, dim=-1, out=probs_sort)`): one fp32 buffer fewer, 38 B.
#: Read against three H100 profiles of vLLM's V1 at its 1,024 default sequences (the peaks
#: llm-d-benchmark's config_explorer/empirical-vllm-memory-results.md copies from its logs):
#: Llama-3.1-8B 4.76 GiB / (1,024 × 128,256) = 38.9 B, Qwen3-0.6B 5.56 GiB / (1,024 ×
#: 151,936) = 38.4 B, gpt-oss-20b 7.38 GiB / (1,024 × 201,088) = 38.5 B per logit.
SAMPLER_BYTES_PER_LOGIT = 38
#: The same when V1 samples top-k/top-p with FlashInfer (the log's "Using FlashInfer for top-p &
#: top-k sampling", vllm/v1/sample/ops/topk_topp_sampler.py, where FlashInfer is installed and
#: not disabled): no sort; `top_k_top_p_sampling_from_logits` masks the top-k logits into a new
#: fp32 tensor and takes their softmax, so the bf16 logits (2 B), their fp32 copy (4), the
#: masked logits (4) and the probabilities (4) are live together: 14 B. Read against vLLM
#: 0.10.1.1 on one A100 80GB (dennislee22/vLLM-benchmarking, Qwen2-7B-Instruct, 2,048 tokens,
#: 256 sequences): utilization 0.25 and 0.5 leave 5.01 and 24.83 GiB of KV memory, so the GPU
#: gives vLLM (24.83 − 5.01) / 0.25 = 79.28 GiB and weights + activation + non-torch take
#: 0.25 × 79.28 − 5.01 = 14.81 GiB, 0.56 GiB beyond the 14.25 GiB of weights: 12–15 B per
#: logit for a non-torch share of 0.13–0.02 GiB, where the sort path would take 38 B (1.38 GiB).
FLASHINFER_SAMPLER_BYTES_PER_LOGIT = 14
#: The same for the V0 engine (v0.6–v0.9 `vllm/worker/model_runner.py` `profile_run`), which
#: profiles with `SamplingParams(top_p=0.99, top_k=vocab_size - 1)` so that the sampler takes
#: its sort path (`_apply_top_k_top_p`): the fp32 logits (4 B), their sorted copy (4) and int64
#: sort indices (8), softmax and cumsum of the sorted copy (4 + 4), the masks (1 + 1) and the
#: re-scattered output (4) are live together, 30 B, plus the CUDA radix sort's second buffer of
#: keys and indices (4 + 8): 42 B per logit. Read against vLLM's own profile: 1.26 GiB for
#: 256 sequences × 128,256 entries (vllm#10511, Llama-3-8B on H100 at TP=1 and TP=2, where the
#: 8,192-token forward is smaller) is 41.3 B per logit.
V0_SAMPLER_BYTES_PER_LOGIT = 42
#: GPU name fragments → vLLM's MXFP4 MoE backend on that GPU (parallel.MXFP4_MOE_PADDING):
#: compute capability below 9.0 (Ampere, Ada, Turing, Volta) gets Marlin; Hopper gets the
#: Triton kernels; Blackwell datacenter parts FlashInfer (vllm/model_executor/layers/
#: quantization/mxfp4.py `get_mxfp4_backend`). Other names: no padding modelled.
MXFP4_BACKEND_BY_GPU = (
    (("h100", "h200", "h800", "h20", "gh200"), "triton"),
    (("b200", "b300", "gb200", "gb300"), "flashinfer"),
    (("a100", "a800", "a10", "a30", "a40", "a6000", "l4", "l40", "rtx", "3090", "4090", "t4",
      "v100"), "marlin"),
)


@record
class ServingOptions(Record):
    tp: int = 1
    pp: int = 1
    ep: int = 1  # >1: --enable-expert-parallel over this many ranks
    gpu_memory_utilization: float = 0.9
    max_num_batched_tokens: int | None = None  # None: vLLM's default for the GPU
    max_num_seqs: int | None = None
    block_size: int = 16
    max_model_len: int | None = None  # None: --context
    engine: Literal["v1", "v0"] = "v1"  # whose profiling run is modelled (V0: v0.6–v0.9)
    sampler: Literal["torch", "flashinfer"] = "torch"  # V1's top-k/top-p implementation
    auto: bool = False  # --gpus auto: search the smallest layout that fits
    max_gpus: int = 8


@record
class Communication(Record):
    """Bytes one GPU sends per token and the time on the interconnect (ring all-reduce moves
    2(T−1)/T of the message per GPU; a pipeline boundary sends the hidden state once; expert
    parallelism sends each token's hidden state to its top-k experts and back, (E−1)/E of them
    off-rank). Latency of small messages is not modelled."""

    allreduce_bytes_per_token: float
    pipeline_bytes_per_token: float
    alltoall_bytes_per_token: float
    bytes_per_token: float
    seconds_per_decode_step: float  # at `batch`
    seconds_per_prefill: float  # one prompt of `context` tokens
    interconnect: str
    interconnect_bandwidth: float


@record
class ServingPlan(Record):
    gpu: str
    gpus: int
    layout: Layout
    capacity_bytes: int  # as the driver reports it
    gpu_memory_utilization: float
    budget_bytes: int  # capacity × utilization
    weights_bytes: int  # on the most loaded rank
    weights_by_component: dict[str, int]
    activation_peak_bytes: int
    activation_formula: str
    non_torch_bytes: int
    kv_memory_bytes: int  # what vLLM logs as "Available KV cache memory"
    kv_dtype: str
    kv_bytes_per_token: float  # this rank, all attention layers, before the allocator's blocks
    block_size: int  # attention block size after page unification
    num_blocks: int
    kv_groups: int
    kv_tokens: int  # "GPU KV cache size: N tokens"
    kv_bytes_per_request: int = 0  # one request of `context` tokens on this rank, whole blocks
    context: int
    max_concurrency: float  # "Maximum concurrency for `context` tokens per request"
    max_batch: int  # whole sequences of `context` tokens
    max_context: int  # longest single sequence
    fits: bool  # weights + `batch` sequences of `context`
    batch: int
    max_num_batched_tokens: int
    max_num_seqs: int
    communication: Communication | None = None
    decode_tokens_per_s: float = 0.0  # roofline bound per replica incl. communication
    notes: list[str] = field(default_factory=list)
    search: LayoutSearch | None = None  # --gpus auto


def vllm_defaults(gpu: GPU) -> tuple[int, int]:
    """(max_num_batched_tokens, max_num_seqs) of `vllm serve` when not given: 8192 and 1024 on
    GPUs with ≥ 70 GiB other than A100, else 2048 and 256 (vllm/engine/arg_utils.py,
    `_set_default_args`, v0.10+)."""
    if gpu.memory_bytes >= 70 * GIB and "a100" not in gpu.name.lower():
        return 8192, 1024
    return 2048, 256


def sampler_bytes_per_logit(options: ServingOptions) -> int:
    """Bytes per vocabulary entry of the profiled sampler: V0's sort path, V1's sort path, or
    V1 with FlashInfer's sampling kernels (the constants above)."""
    if options.engine == "v0":
        return V0_SAMPLER_BYTES_PER_LOGIT
    if options.sampler == "flashinfer":
        return FLASHINFER_SAMPLER_BYTES_PER_LOGIT
    return SAMPLER_BYTES_PER_LOGIT


def mxfp4_backend(gpu: GPU) -> str | None:
    """vLLM's MXFP4 MoE kernel backend on `gpu`, from its name (MXFP4_BACKEND_BY_GPU)."""
    name = gpu.name.lower()
    for fragments, backend in MXFP4_BACKEND_BY_GPU:
        if any(f in name for f in fragments):
            return backend
    return None


def activation_peak(
    spec: ModelSpec, layout: Layout, tokens: int, seqs: int, act_bytes: float,
    sampler_bytes: float = SAMPLER_BYTES_PER_LOGIT,
) -> tuple[int, str]:
    """Peak torch memory of vLLM's profiling run on one rank: a forward of `tokens` tokens,
    then the sampler on `seqs` sequences' logits. Forward: three hidden-sized buffers (the
    residual, the normed input and the layer's output, 3·H) plus the widest transient of a
    layer on this rank — attention (q, k, v, output) or the
    MLP's gate/up and activated outputs (3·I/T), or fused MoE's per-(token, expert) buffers
    (top_k·(3·I_e + H) / T). Sampler: vocab × `sampler_bytes` per sequence, on the last
    pipeline stage, not divided by T: the logits are gathered whole (to the driver rank in V0,
    all-gathered to every rank in V1) before sampling. The 3·H term was read off vLLM's own
    profile of Llama-3.1-8B (vllm#10517: 2.07 GiB at 20,000 tokens = 20,000 × 2 B ×
    (3·4096 + 3·14336 + ...)); known error: see docs/serving.md (the logs' torch peak
    increase)."""
    tp = layout.tp
    h = spec.hidden_size
    widest = 0.0
    for layer in spec.layers:
        att = layer.attention
        if att.kind == "mla":
            att_w = att.num_heads / tp * (att.head_dim * 2 + att.v_head_dim * 2)
        elif att.kind in ("linear", "none"):
            att_w = 4 * h / tp
        else:
            kv = kv_heads_per_rank(att, tp)
            att_w = (2 * att.num_heads / tp * att.head_dim
                     + 2 * kv * att.head_dim)
        ffn = layer.ffn
        if ffn.kind == "moe":
            shard = tp if layout.ep <= 1 else 1
            ffn_w = ffn.experts_per_token * (3 * ffn.expert_intermediate_size / shard + h)
            if ffn.num_shared_experts:
                ffn_w = max(ffn_w, 3 * ffn.shared_intermediate_size / tp)
        elif ffn.kind == "dense":
            ffn_w = (3 if ffn.gated else 2) * ffn.intermediate_size / tp
        else:
            ffn_w = 0
        widest = max(widest, att_w, ffn_w)
    forward = tokens * (3 * h + widest) * act_bytes
    sampler = seqs * spec.vocab_size * sampler_bytes
    formula = (
        f"max(forward {tokens:,} tok × (3·H + widest layer buffer {widest:,.0f}) × "
        f"{act_bytes:g} B, sampler {seqs:,} seqs × vocab × {sampler_bytes:g} B)"
    )
    return round(max(forward, sampler)), formula


def _groups(spec: ModelSpec) -> dict[str, int]:
    """Layers per cache kind, for the hybrid allocator's grouping."""
    counts: dict[str, int] = {}
    for layer in spec.layers:
        att = layer.attention
        if att.kind == "none" or att.kv_shared_from is not None or att.source == "encoder":
            continue
        kind = (
            "linear" if att.kind == "linear"
            else "sliding" if att.window else "chunked" if att.chunk
            else "mla" if att.kind == "mla" else "full"
        )
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def group_layout(counts: dict[str, int]) -> tuple[int, int]:
    """(group size, number of groups): one group when all layers are alike; else groups of the
    smallest kind's layer count (the largest one when within 25% of it), as vLLM groups them."""
    if not counts:
        return 1, 0
    if len(counts) == 1:
        return next(iter(counts.values())), 1
    lo, hi = min(counts.values()), max(counts.values())
    size = hi if hi < lo * 1.25 else lo
    return size, sum(ceil(c / size) for c in counts.values())


def request_bytes(per_kind: dict[str, float], caps: dict[str, int], context: int,
                  block: int) -> float:
    """KV bytes one request of `context` tokens needs on a rank, in whole blocks: full/MLA
    layers all of it; sliding/chunked layers at most their window (+ one block)."""
    total = 0.0
    for kind, per_token in per_kind.items():
        tokens = context
        if kind in caps:
            tokens = min(context, caps[kind] + block)
        total += ceil(tokens / block) * block * per_token
    return total


def communication(spec: ModelSpec, layout: Layout, gpu: GPU, act_bytes: float, batch: int,
                  context: int) -> Communication:
    h = spec.hidden_size
    tp, pp, ep = layout.tp, layout.pp, layout.ep
    per_layer_reduces = sum(1 if layer.parallel else 2 for layer in spec.layers)
    allreduce = per_layer_reduces * h * act_bytes * 2 * (tp - 1) / tp if tp > 1 else 0.0
    pipeline = (pp - 1) * h * act_bytes
    alltoall = 0.0
    if ep > 1:
        for layer in spec.moe_layers():
            alltoall += 2 * layer.ffn.experts_per_token * h * act_bytes * (ep - 1) / ep
    total = allreduce + pipeline + alltoall
    bandwidth = gpu.interconnect or 0.0
    seconds = (lambda tokens: tokens * total / bandwidth) if bandwidth else (lambda tokens: 0.0)
    return Communication(
        allreduce_bytes_per_token=allreduce,
        pipeline_bytes_per_token=pipeline,
        alltoall_bytes_per_token=alltoall,
        bytes_per_token=total,
        seconds_per_decode_step=seconds(batch),
        seconds_per_prefill=seconds(context),
        interconnect=gpu.interconnect_name,
        interconnect_bandwidth=bandwidth,
    )


def plan(
    spec: ModelSpec,
    params: ParamCounts,
    served: dict[str, int],
    kv: KVCache,
    gpu: GPU,
    options: ServingOptions,
    *,
    context: int,
    batch: int,
    act_bytes: float,
    decode_flops_per_token: float = 0.0,
    decode_weight_bytes: int = 0,
) -> ServingPlan:
    """The memory layout of one GPU under `options` (see module docstring)."""
    layout = Layout(tp=options.tp, pp=options.pp, ep=options.ep)
    expert_scale = mxfp4_expert_scale(spec, layout, mxfp4_backend(gpu))
    weights: RankWeights = rank_weights(spec, params, served, layout, expert_scale)
    default_tokens, default_seqs = vllm_defaults(gpu)
    tokens = options.max_num_batched_tokens or default_tokens
    seqs = options.max_num_seqs or default_seqs
    sampler_bytes = sampler_bytes_per_logit(options)
    peak, formula = activation_peak(spec, layout, tokens, min(seqs, tokens), act_bytes,
                                    sampler_bytes)
    non_torch = round(NON_TORCH_PARALLEL if layout.gpus > 1 else NON_TORCH_SINGLE)
    budget = round(gpu.memory_bytes * options.gpu_memory_utilization)
    available = budget - weights.bytes - peak - non_torch

    per_kind = kv_bytes_per_token_rank(spec, kv.dtype_bytes, layout)
    caps: dict[str, int] = {}
    for lkv in kv.per_layer:
        if lkv.cap_tokens and lkv.kind in ("sliding", "chunked"):
            caps[lkv.kind] = max(caps.get(lkv.kind, 0), lkv.cap_tokens)
    counts = _groups(spec)
    size, groups = group_layout(counts)
    block = options.block_size
    state_per_layer = 0.0
    linear_layers = counts.get("linear", 0)
    if linear_layers:
        state_per_layer = kv.state_bytes / linear_layers / max(layout.tp, 1)
    attn_per_token_layer = (
        sum(per_kind.values()) / max(sum(c for k, c in counts.items() if k != "linear"), 1)
        if per_kind else 0.0
    )
    if state_per_layer and attn_per_token_layer:
        # attention page grown to hold one Mamba state page (vLLM aligns to the block size)
        block = block * ceil(state_per_layer / (block * attn_per_token_layer))
    per_token = sum(per_kind.values())
    page = max(block * attn_per_token_layer, state_per_layer)
    if groups and page and available > 0:
        num_blocks = int(available // (page * size))
        kv_tokens = num_blocks // groups * block if per_kind else 0
    else:
        num_blocks, kv_tokens = 0, 0
    allocated = num_blocks * page * size
    need = request_bytes(per_kind, caps, context, block)
    state_need = ceil(linear_layers / size) * page * size if linear_layers else 0.0
    need += state_need  # one state page per recurrent layer and request
    concurrency = allocated / need if need else float("inf") if allocated else 0.0
    max_batch = int(concurrency) if concurrency != float("inf") else 10**9
    limit = max(context, spec.max_position_embeddings or 0)
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if request_bytes(per_kind, caps, mid, block) + state_need <= allocated:
            lo = mid
        else:
            hi = mid - 1
    comm = communication(spec, layout, gpu, act_bytes, batch, context) if layout.gpus > 1 else None
    notes = []
    if expert_scale != 1.0:
        # say why the weights exceed the checkpoint: the kernel's padding, not a miscount
        notes.append(f"MXFP4 experts padded for vLLM's {mxfp4_backend(gpu)} MoE kernel on "
                     f"{gpu.name}: expert weights ×{expert_scale:.4f}")
    if available <= 0:
        notes.append("no memory left for the KV cache: weights + activation peak + non-torch "
                     "memory exceed capacity × utilization")
    decode_tps = 0.0
    if decode_weight_bytes:
        rank_read = decode_weight_bytes / layout.tp / layout.pp
        kv_read = per_token * context * batch
        step = max((rank_read + kv_read) / gpu.bandwidth,
                   decode_flops_per_token * batch / layout.tp / gpu.bf16_flops)
        step = step * layout.pp + (comm.seconds_per_decode_step if comm else 0.0)
        decode_tps = batch / step if step else 0.0
    return ServingPlan(
        gpu=gpu.name,
        gpus=layout.gpus,
        layout=layout,
        capacity_bytes=gpu.memory_bytes,
        gpu_memory_utilization=options.gpu_memory_utilization,
        budget_bytes=budget,
        weights_bytes=weights.bytes,
        weights_by_component=weights.by_component,
        activation_peak_bytes=peak,
        activation_formula=formula,
        non_torch_bytes=non_torch,
        kv_memory_bytes=max(available, 0),
        kv_dtype=kv.dtype,
        kv_bytes_per_token=per_token,
        block_size=block,
        num_blocks=num_blocks,
        kv_groups=groups,
        kv_tokens=kv_tokens,
        kv_bytes_per_request=round(need),
        context=context,
        max_concurrency=round(concurrency, 2) if concurrency != float("inf") else 1e9,
        max_batch=max_batch,
        max_context=lo if allocated else 0,
        fits=available > 0 and max_batch >= batch,
        batch=batch,
        max_num_batched_tokens=tokens,
        max_num_seqs=seqs,
        communication=comm,
        decode_tokens_per_s=decode_tps,
        notes=notes,
    )


@record
class LayoutChoice(Record):
    layout: Layout
    weights_bytes: int
    kv_memory_bytes: int
    kv_tokens: int
    max_batch: int
    fits: bool
    decode_tokens_per_s: float


@record
class LayoutSearch(Record):
    """`--gpus auto`: the smallest T×P (and E for MoE) on the GPU that holds the weights and
    `batch` sequences of `context`, with every alternative tried."""

    chosen: Layout | None
    max_gpus: int
    alternatives: list[LayoutChoice]
    verdict: str


def candidate_layouts(spec: ModelSpec, max_gpus: int = 8) -> list[Layout]:
    """T in powers of two dividing the attention heads, P up to the layer count, T×P ≤
    max_gpus; MoE models also try expert parallelism over the T ranks. Ordered by GPU count,
    then preferring tensor over pipeline parallelism (lower latency per token)."""
    heads = next((layer.attention.num_heads for layer in spec.layers
                  if layer.attention.num_heads), 0)
    out = []
    t = 1
    while t <= max_gpus:
        if not heads or heads % t == 0:
            p = 1
            while t * p <= max_gpus and p <= max(len(spec.layers), 1):
                out.append(Layout(tp=t, pp=p))
                if spec.first_moe() is not None and t > 1:
                    out.append(Layout(tp=t, pp=p, ep=t))
                p *= 2
        t *= 2
    return sorted(out, key=lambda x: (x.gpus, x.pp, x.ep))


def search_layouts(
    spec: ModelSpec,
    params: ParamCounts,
    served: dict[str, int],
    kv: KVCache,
    gpu: GPU,
    options: ServingOptions,
    *,
    context: int,
    batch: int,
    act_bytes: float,
    max_gpus: int = 8,
    decode_flops_per_token: float = 0.0,
    decode_weight_bytes: int = 0,
) -> LayoutSearch:
    alternatives = []
    chosen = None
    for layout in candidate_layouts(spec, max_gpus):
        trial = options.model_copy(update={"tp": layout.tp, "pp": layout.pp, "ep": layout.ep})
        p = plan(spec, params, served, kv, gpu, trial, context=context, batch=batch,
                 act_bytes=act_bytes, decode_flops_per_token=decode_flops_per_token,
                 decode_weight_bytes=decode_weight_bytes)
        alternatives.append(LayoutChoice(
            layout=layout, weights_bytes=p.weights_bytes, kv_memory_bytes=p.kv_memory_bytes,
            kv_tokens=p.kv_tokens, max_batch=p.max_batch, fits=p.fits,
            decode_tokens_per_s=p.decode_tokens_per_s,
        ))
        if p.fits and chosen is None:
            chosen = layout
    if chosen is None:
        verdict = (f"does not fit on {max_gpus} {gpu.name}: no T×P ≤ {max_gpus} holds the weights "
                   f"and {batch} sequence(s) of {context:,} tokens; quantize, lower the context "
                   "or use more nodes")
    else:
        verdict = (f"smallest layout: TP={chosen.tp} × PP={chosen.pp}"
                   + (f" with expert parallelism over {chosen.ep}" if chosen.ep > 1 else "")
                   + f" ({chosen.gpus} × {gpu.name})")
    return LayoutSearch(chosen=chosen, max_gpus=max_gpus, alternatives=alternatives,
                        verdict=verdict)



def _next_step(found: LayoutSearch) -> str:
    """The note a plan that does not fit ends with: the smallest layout that would, or why none
    of up to `max_gpus` GPUs would."""
    if found.chosen is None:
        return found.verdict
    return f"{found.verdict} fits: `--gpus auto` plans it"


def serve(
    spec: ModelSpec,
    params: ParamCounts,
    served: dict[str, int],
    kv: KVCache,
    gpu: GPU,
    options: ServingOptions,
    **kw: object,
) -> ServingPlan:
    """The plan at the given layout, or with `options.auto` at the smallest layout that fits
    (the search attached); when nothing fits, the plan at the largest layout tried."""
    if not options.auto:
        fixed = plan(spec, params, served, kv, gpu, options, **kw)  # type: ignore[arg-type]
        if fixed.fits:
            return fixed
        # a user sizing an order wants the next step, not only "does not fit"
        hint = search_layouts(spec, params, served, kv, gpu, options,
                              max_gpus=options.max_gpus, **kw)  # type: ignore[arg-type]
        return fixed.model_copy(update={"notes": [*fixed.notes, _next_step(hint)]})
    found = search_layouts(spec, params, served, kv, gpu, options, max_gpus=options.max_gpus,
                           **kw)  # type: ignore[arg-type]
    layout = found.chosen or max((c.layout for c in found.alternatives),
                                 key=lambda x: (x.gpus, x.ep), default=Layout())
    chosen = options.model_copy(update={"tp": layout.tp, "pp": layout.pp, "ep": layout.ep})
    result = plan(spec, params, served, kv, gpu, chosen, **kw)  # type: ignore[arg-type]
    return result.model_copy(update={"search": found})
