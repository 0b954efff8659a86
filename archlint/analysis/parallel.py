"""Weights and KV cache per GPU under tensor (T), pipeline (P) and expert (E) parallelism, laid
out the way vLLM shards a model (vllm/model_executor/layers/linear.py, vocab_parallel_embedding.py,
fused_moe/layer.py; vllm/distributed/utils.py `get_pp_indices`):

- column-parallel linears (q, k, v, gate/up) and row-parallel ones (o, down) hold 1/T of their
  weight; K/V projections hold max(1, kv_heads / T) heads per rank: when there are fewer KV
  heads than ranks each head is replicated (QKVParallelLinear), and so is its cache;
- the input embedding and the LM head are vocab-parallel: the vocabulary, padded to a multiple
  of 64, split by T;
- norms, MoE routers and MLA's down-projections (q_a, kv_a: ReplicatedLinear) are replicated on
  every rank, and MLA's cached latent is replicated too (every rank caches all of it);
- routed experts are split by E (whole experts per rank) with `--enable-expert-parallel`,
  else every expert is split by T like a dense MLP;
- layers are split by P in contiguous stages (`get_pp_indices`: ⌊L/P⌋ each, the remainder to
  the last stages); the first stage holds the embedding, the last the final norm and the head
  (a tied head needs its own copy there when P > 1).

Quantities are per rank, for the most loaded rank. Weight bytes are at the *served* dtype:
16/32-bit floating weights are loaded in the serving dtype (an fp32 checkpoint's weights in
bf16), quantized ones as stored.
"""

from __future__ import annotations

from math import ceil

from archlint.analysis.memory import compressed_kv, layer_kv
from archlint.analysis.params import ParamCounts, attention_params
from archlint.records import Record, record
from archlint.spec import AttentionSpec, ModelSpec

#: vLLM's DEFAULT_VOCAB_PADDING_SIZE (vocab_parallel_embedding.py).
VOCAB_PADDING = 64


@record
class Layout(Record):
    tp: int = 1
    pp: int = 1
    ep: int = 1  # 1: experts split by T; E > 1: whole experts over E ranks

    @property
    def gpus(self) -> int:
        return self.tp * self.pp


@record
class RankWeights(Record):
    """Bytes one GPU holds, by component, for the most loaded pipeline stage."""

    layout: Layout
    bytes: int
    by_component: dict[str, int]
    layers: int  # decoder layers on this rank's stage
    stage: str  # "first", "last", "only"


def served_bytes_by_component(
    params: ParamCounts, stored: dict[str, int], serving_bytes: float
) -> dict[str, int]:
    """Bytes per component once loaded: 16/32-bit floating weights at `serving_bytes` per
    element, everything else (quantized blocks, scales) as stored. Without a tensor table the
    estimate's split is already at the serving dtype when the caller built it so."""
    if not params.float_weight_elements_by_component:
        return dict(stored)
    out = {}
    for component, nbytes in stored.items():
        floats = params.float_weight_bytes_by_component.get(component, 0)
        elements = params.float_weight_elements_by_component.get(component, 0)
        out[component] = round(nbytes - floats + elements * serving_bytes)
    return out


def kv_heads_per_rank(att: AttentionSpec, tp: int) -> float:
    """KV heads a rank holds: kv/T, at least one (replicated when kv < T). MLA: its latent
    (counted as one head here) on every rank."""
    if att.kind == "mla":
        return 1
    return max(1.0, att.num_kv_heads / tp) if att.num_kv_heads else 0


def _attention_fractions(att: AttentionSpec, hidden: int, tp: int) -> tuple[float, float]:
    """(fraction of the layer's attention parameters one rank holds, of which replicated)."""
    total = attention_params(att, hidden)
    if total <= 0:
        return 1.0, 0.0
    if att.kind == "mla":
        replicated = hidden * ((att.q_lora_rank or 0) + (att.kv_lora_rank or 0)
                               + (att.qk_rope_head_dim or 0))
        replicated += (att.q_lora_rank or 0) + (att.kv_lora_rank or 0)  # their norms
        replicated = min(replicated, total)
        return (replicated + (total - replicated) / tp) / total, replicated / total
    if att.kind in ("linear", "none"):
        return 1.0 / tp, 0.0
    kv_params = (
        0 if att.kv_shared_from is not None
        else hidden * att.num_kv_heads * (att.head_dim + att.v_head_dim)
    )
    kv_rank = kv_params * kv_heads_per_rank(att, tp) / att.num_kv_heads if att.num_kv_heads else 0
    rest = total - kv_params
    return (rest / tp + kv_rank) / total, 0.0


def _round_up(x: int, multiple: int) -> int:
    return -(-x // multiple) * multiple


#: Padding vLLM's MXFP4 fused-MoE kernels impose on each expert's (intermediate per rank,
#: hidden) sizes, by kernel backend (vllm/model_executor/layers/quantization/mxfp4.py,
#: `Mxfp4MoEMethod.create_weights`): Marlin — chosen on GPUs below compute capability 9.0 and
#: wherever triton_kernels is missing — needs n % 256 and k % 128 of both expert GEMMs, so the
#: intermediate size is rounded up to 128 and the hidden size to 256; FlashInfer on Blackwell
#: rounds both to 256; the Triton backend (Hopper/Blackwell default without FlashInfer) only
#: rounds the intermediate size to 64.
MXFP4_MOE_PADDING = {"marlin": (128, 256), "flashinfer": (256, 256), "triton": (64, 1)}


def mxfp4_expert_scale(spec: ModelSpec, layout: Layout, backend: str | None) -> float:
    """Factor by which an MXFP4 checkpoint's routed-expert bytes grow once vLLM pads them for
    `backend` (MXFP4_MOE_PADDING; 1.0 for other checkpoints or an unknown backend). Per expert
    and rank vLLM allocates w13 [2·I', H'/2] + scales [2·I', H'/32] + bias [2·I'] bf16 and
    w2 [H', I'/2] + scales [H', I'/32] + bias [H'] bf16, I' and H' the padded intermediate
    (per rank) and hidden sizes: bytes(I, H) = 3·I·H·(1/2 + 1/32) + 2·2·I + 2·H. The factor is
    bytes(I', H') / bytes(I, H), T sharding the intermediate size unless experts are split
    by E (gpt-oss-20b on Marlin, T=1: I = H = 2880 → I' = 2944, H' = 3072, factor 1.0904)."""
    quant = spec.quantization
    moe = spec.first_moe()
    if backend not in MXFP4_MOE_PADDING or quant is None or quant.method != "mxfp4" or moe is None:
        return 1.0
    inter_pad, hidden_pad = MXFP4_MOE_PADDING[backend]
    shard = layout.tp if layout.ep <= 1 else 1
    inter = ceil(moe.expert_intermediate_size / shard)
    hidden = spec.hidden_size

    def nbytes(i: int, h: int) -> float:
        return 3 * i * h * (1 / 2 + 1 / 32) + 4 * i + 2 * h

    if not inter or not hidden:
        return 1.0
    return nbytes(_round_up(inter, inter_pad), _round_up(hidden, hidden_pad)) / nbytes(inter,
                                                                                       hidden)


def _padded_vocab_share(vocab: int, tp: int) -> float:
    padded = ceil(vocab / VOCAB_PADDING) * VOCAB_PADDING
    return ceil(padded / tp) / vocab if vocab else 1 / tp


def pp_stage_layers(num_layers: int, pp: int) -> list[int]:
    """Layers per stage as vLLM's get_pp_indices splits them: ⌊L/P⌋ each, the remainder
    given to the last stages."""
    base, rest = divmod(num_layers, pp)
    return [base + (1 if i >= pp - rest else 0) for i in range(pp)]


def rank_weights(
    spec: ModelSpec, params: ParamCounts, served: dict[str, int], layout: Layout,
    expert_scale: float = 1.0,
) -> RankWeights:
    """The most loaded rank's weight bytes under `layout` (see module docstring); routed
    experts grown by `expert_scale` (the kernel's padding: mxfp4_expert_scale)."""
    tp, pp = layout.tp, layout.pp
    layers = spec.layers or []
    n = len(layers) or 1
    # per-layer attention share on a rank (layers differ: windows, KV heads, kinds)
    att_share = (
        sum(_attention_fractions(layer.attention, spec.hidden_size, tp)[0] for layer in layers) / n
        if layers else 1 / tp
    )
    vocab_share = _padded_vocab_share(spec.vocab_size, tp)
    if spec.first_moe() is not None and layout.ep > 1:
        experts = spec.first_moe().num_experts  # type: ignore[union-attr]
        expert_share = ceil(experts / layout.ep) / experts
    else:
        expert_share = 1 / tp
    per_layer_share = {
        "attention": att_share,
        "dense_ffn": 1 / tp,
        "routed_experts": expert_share * expert_scale,
        "shared_experts": 1 / tp,
        "router": 1.0,
        "norms": 1.0,
        "other": 1.0,
    }
    stages = pp_stage_layers(n, pp)
    candidates: list[tuple[int, dict[str, int], int, str]] = []
    for i, count in enumerate(stages):
        first, last = i == 0, i == pp - 1
        frac = count / n
        comp: dict[str, float] = {}
        for component, share in per_layer_share.items():
            comp[component] = served.get(component, 0) * share * frac
        if first:
            comp["embedding"] = served.get("embedding", 0) * vocab_share
        if last:
            head = served.get("head", 0)
            if not head and spec.tie_word_embeddings and pp > 1:
                head = round(served.get("embedding", 0) * spec.vocab_size * spec.hidden_size
                             / max(params.embedding, 1))
            comp["head"] = head * vocab_share
        # towers (vision/audio encoders) run on the first stage, sharded by T like the LM
        if first:
            comp["towers"] = served.get("towers", 0) / tp
        rounded = {k: round(v) for k, v in comp.items() if v}
        stage = "only" if pp == 1 else "first" if first else "last" if last else "middle"
        candidates.append((sum(rounded.values()), rounded, count, stage))
    total, comp_best, count, stage = max(candidates, key=lambda c: c[0])
    return RankWeights(layout=layout, bytes=total, by_component=comp_best, layers=count,
                       stage=stage)


def kv_bytes_per_token_rank(
    spec: ModelSpec, dtype_bytes: float, layout: Layout
) -> dict[str, float]:
    """Per-token KV bytes one rank caches, by layer kind (full/sliding/chunked/mla), on the most
    loaded stage: each layer's cache as `memory.layer_kv` sizes it, its KV heads split by T
    (replicated below one per rank), MLA latents and DSA indexer keys whole."""
    stages = pp_stage_layers(len(spec.layers) or 1, layout.pp)
    keep = max(stages)
    out: dict[str, float] = {}
    for layer in spec.layers[:keep] if layout.pp > 1 else spec.layers:
        att = layer.attention
        if att.kind in ("linear", "none") or att.kv_shared_from is not None:
            continue
        if att.source == "encoder":
            continue
        lkv = layer_kv(layer.index, att, dtype_bytes, 0.0)
        per, kind = lkv.bytes_per_token, lkv.kind
        if att.kind != "mla" and att.num_kv_heads:  # MLA latents (and indexer keys) stay whole
            per = per * kv_heads_per_rank(att, layout.tp) / att.num_kv_heads
        out[kind] = out.get(kind, 0.0) + per
        compressed = compressed_kv(layer.index, att, dtype_bytes)
        if compressed is not None:  # one K=V head's entries: whole on every rank
            out["compressed"] = out.get("compressed", 0.0) + compressed.bytes_per_token
    return out
