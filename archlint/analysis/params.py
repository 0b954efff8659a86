"""Parameter counts: exact from the tensor table when there is one, analytic from the spec
otherwise. Both break down by component; "active" is what one token touches.

Active parameters (DESIGN.md convention): everything except the routed experts a token is not
sent to, i.e. routed expert weights × top_k / experts per MoE layer; multi-token-prediction
modules are excluded (they run only for speculative decoding), and so are towers (vision and
audio encoders and their projectors run once per input image or clip, not per generated
token). Reported with and without the
input embedding (OpenAI quotes gpt-oss active parameters without it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import field
from typing import Any, Literal

from archlint.analysis.storage import LINEAR
from archlint.checkpoint import Checkpoint
from archlint.dtypes import FLOAT_CODES
from archlint.mixers import mixer
from archlint.records import Record, record
from archlint.spec import AttentionSpec, FFNSpec, LayerSpec, ModelSpec
from archlint.tensors import COMPONENTS, tensor_index


@record
class ParamCounts(Record):
    method: Literal["tensors", "config"]
    total: int
    active: int
    active_excluding_embedding: int
    embedding: int
    by_component: dict[str, int]
    by_dtype: dict[str, int] = field(default_factory=dict)  # logical params by stored dtype
    stored_elements: int | None = None  # elements as stored (packed values count once)
    stored_bytes: int | None = None  # exact bytes of all tensors, scales included
    bytes_by_dtype: dict[str, int] = field(default_factory=dict)
    # stored bytes by component, scales and zero points counted with their weights
    bytes_by_component: dict[str, int] = field(default_factory=dict)
    # 16/32-bit floating weights (not scales) by component: what a runtime casts to its
    # serving dtype when it loads them (vLLM loads an fp32 checkpoint's weights in bf16)
    float_weight_bytes_by_component: dict[str, int] = field(default_factory=dict)
    float_weight_elements_by_component: dict[str, int] = field(default_factory=dict)
    packed: bool = False  # some tensors hold several logical values per element
    main_model: int = 0  # total minus MTP modules

    @property
    def routed(self) -> int:
        return self.by_component.get("routed_experts", 0)


def _active(
    total: int, routed_by_layer: dict[int, int], spec: ModelSpec | None, mtp: int, embedding: int
) -> tuple[int, int]:
    inactive = 0
    for layer, routed in routed_by_layer.items():
        ffn = _ffn_at(spec, layer)
        if ffn is not None and ffn.kind == "moe" and ffn.num_experts:
            # another modality's experts: none of them active; of the token's own, top-k
            own = max(routed - ffn.modality_expert_params, 0)
            inactive += routed - own * ffn.experts_per_token // ffn.num_experts
    active = total - mtp - inactive
    return active, active - embedding


def _counts(
    method: Literal["tensors", "config"],
    components: dict[str, int],
    routed_by_layer: dict[int, int],
    spec: ModelSpec | None,
    **stored: Any,
) -> ParamCounts:
    """Totals, active counts and the component table, the same way for both methods."""
    total = sum(components.values())
    mtp = components.get("mtp", 0)
    embedding = components.get("embedding", 0)
    # Towers (vision/audio encoders, projectors) run once per image or clip, not per
    # generated token: like MTP modules they are outside the active count.
    active, active_ex = _active(
        total - components.get("towers", 0), routed_by_layer, spec, mtp, embedding
    )
    return ParamCounts(
        method=method,
        total=total,
        active=active,
        active_excluding_embedding=active_ex,
        embedding=embedding,
        by_component={c: components.get(c, 0) for c in COMPONENTS},
        main_model=total - mtp,
        **stored,
    )


def _ffn_at(spec: ModelSpec | None, layer: int) -> FFNSpec | None:
    if spec is None:
        return None
    if 0 <= layer < len(spec.layers):
        return spec.layers[layer].ffn
    moe = spec.first_moe()
    return moe


def count_from_tensors(ckpt: Checkpoint, spec: ModelSpec | None) -> ParamCounts:
    index = tensor_index(ckpt)
    assert index is not None
    bits = spec.quantization.bits if spec and spec.quantization else None
    n_layers = spec.num_layers if spec else None
    by_component: dict[str, int] = defaultdict(int)
    by_dtype: dict[str, int] = defaultdict(int)
    bytes_by_dtype: dict[str, int] = defaultdict(int)
    bytes_by_component: dict[str, int] = defaultdict(int)
    float_bytes: dict[str, int] = defaultdict(int)
    float_elements: dict[str, int] = defaultdict(int)
    routed_by_layer: dict[int, int] = defaultdict(int)
    stored = 0
    packed = False
    for group in index.groups(bits):
        role = group.role
        count = group.logical_params
        component = role.component
        # DeepSeek stores its MTP block as an extra decoder layer past num_hidden_layers.
        if (
            n_layers is not None
            and role.layer is not None
            and role.layer >= n_layers
            and not group.pattern.text.startswith(("encoder.", "decoder."))
        ):
            component = "mtp"
        by_component[component] += count
        by_dtype[group.dtype] += count
        bytes_by_dtype[group.dtype] += group.nbytes
        if role.role != "buffer":
            bytes_by_component[component] += group.nbytes
        if role.role == "weight" and group.dtype in FLOAT_CODES:
            float_bytes[component] += group.nbytes
            float_elements[component] += group.elements
        stored += group.elements
        packed = packed or role.pack_factor > 1
        if component == "routed_experts" and role.layer is not None:
            routed_by_layer[role.layer] += count
    return _counts(
        "tensors",
        by_component,
        routed_by_layer,
        spec,
        by_dtype=dict(by_dtype),
        stored_elements=stored,
        stored_bytes=sum(bytes_by_dtype.values()),
        bytes_by_dtype=dict(bytes_by_dtype),
        bytes_by_component=dict(bytes_by_component),
        float_weight_bytes_by_component=dict(float_bytes),
        float_weight_elements_by_component=dict(float_elements),
        packed=packed,
    )


# -- analytic ----------------------------------------------------------------------------------
def attention_params(att: AttentionSpec, hidden: int) -> int:
    """Projection (+bias, +qk-norm) parameters of one token mixer.

    MLA follows DeepSeek-V2 §2.1 (arXiv 2405.04434): W_DQ, W_UQ (or a full W_Q when
    q_lora_rank is null), W_DKV plus the shared RoPE key, W_UK/W_UV, W_O, and two RMSNorms.
    Constant-state mixers (Gated DeltaNet, Mamba, short conv, RG-LRU, lightning) own their
    formulas in `archlint.mixers`. A layer that reads another layer's K/V (`kv_shared_from`)
    has no k/v projections of its own; one whose values are its keys (`value_from_key`) has
    no v projection. k/v project from `kv_input_size` when set (a cross-attention over an
    encoder of another width); o_proj reads `o_input_size` when set (Helium: hidden_size).
    """
    if att.kind == "none":
        return 0
    if att.kind == "linear":
        return mixer(att.linear).params(att.linear, hidden) if att.linear is not None else 0
    if att.kind == "mla":
        heads, qk = att.num_heads, att.head_dim
        rope, nope, rank = (
            att.qk_rope_head_dim or 0,
            att.qk_nope_head_dim or 0,
            att.kv_lora_rank or 0,
        )
        if att.q_lora_rank:
            q = hidden * att.q_lora_rank + att.q_lora_rank + att.q_lora_rank * heads * qk
        else:
            q = hidden * heads * qk
        kv = hidden * (rank + rope) + rank + rank * heads * (nope + att.v_head_dim)
        return q + kv + heads * att.v_head_dim * hidden + indexer_params(att, hidden)
    q_out = att.num_heads * att.head_dim * (2 if att.output_gate else 1)
    v_out = 0 if att.value_from_key or att.kv_single else att.v_head_dim
    kv_out = 0 if att.kv_shared_from is not None else att.num_kv_heads * (att.head_dim + v_out)
    params = _q_params(att, hidden, q_out) + (att.kv_input_size or hidden) * kv_out
    params += _o_params(att, hidden)
    if att.kv_single:
        params += att.head_dim  # the kv_norm over the one K=V head
    params += compressor_params(att, hidden)
    if att.qkv_bias:
        params += q_out + kv_out
        if not att.key_bias and att.kv_shared_from is None:
            params -= att.num_kv_heads * att.head_dim
    if att.o_bias:
        params += hidden
    if att.qk_norm:
        # a layer reading another's K/V has no k projection, so no k norm (Gemma-3n)
        k_norm = 0 if att.kv_shared_from is not None else 1
        params += (
            (1 + k_norm) * att.head_dim
            if att.qk_norm_per_head
            else q_out + k_norm * att.num_kv_heads * att.head_dim
        )
    if att.sinks:
        params += att.num_heads
    return params


def _q_params(att: AttentionSpec, hidden: int, q_out: int) -> int:
    """q_proj, or with `q_lora_rank` the low-rank query of DeepSeek-V4 (as MLA's, DeepSeek-V2
    §2.1.3): q_a (h → r), an RMSNorm over r, q_b (r → heads × head_dim)."""
    rank = att.q_lora_rank
    return hidden * rank + rank + rank * q_out if rank else hidden * q_out


def _o_params(att: AttentionSpec, hidden: int) -> int:
    """o_proj, or DeepSeek-V4's grouped low-rank output (`DeepseekV4GroupedLinear` then
    o_b_proj): each of g groups projects heads × v_head_dim / g to o_lora_rank (g blocks of
    o_lora_rank × heads·v/g: o_lora_rank × heads·v in all), then g·o_lora_rank → hidden."""
    width = att.o_input_size or att.num_heads * att.v_head_dim
    if att.o_groups and att.o_lora_rank:
        return att.o_lora_rank * width + att.o_groups * att.o_lora_rank * hidden
    return width * hidden


def compressor_params(att: AttentionSpec, hidden: int) -> int:
    """DeepSeek-V4's KV compressor (transformers' DeepseekV4HCACompressor and
    DeepseekV4CSACompressor): kv_proj and gate_proj (h → s·D, s = 2 series when the windows
    overlap), the position bias (rate × s·D) and an RMSNorm (D); a CSA indexer
    (DeepseekV4Indexer) adds its own overlapping compressor at the indexer head size Di
    (h → 2·Di twice, rate × 2·Di, Di), q_b_proj from the q latent (r → Hi·Di) and the
    scorer's weights_proj (h → Hi)."""
    c = att.compressor
    if c is None:
        return 0
    series = 2 if c.overlap else 1
    total = 2 * hidden * series * c.head_dim + c.rate * series * c.head_dim + c.head_dim
    if c.indexer_heads:
        di, heads = c.indexer_head_dim, c.indexer_heads
        total += 2 * hidden * 2 * di + c.rate * 2 * di + di
        total += (att.q_lora_rank or hidden) * heads * di + hidden * heads
    return total


def indexer_params(att: AttentionSpec, hidden: int) -> int:
    """DeepSeek-V3.2's lightning indexer (`Indexer` in its inference code): wq_b from the q
    latent (q_lora_rank → H·D), wk (h → D) with a LayerNorm on k (weight + bias), and a
    per-head weight projection (h → H)."""
    ix = att.indexer
    if ix is None:
        return 0
    q_in = att.q_lora_rank or hidden
    return q_in * ix.num_heads * ix.head_dim + hidden * ix.head_dim + 2 * ix.head_dim + (
        hidden * ix.num_heads
    )


def ffn_params(ffn: FFNSpec, hidden: int) -> dict[str, int]:
    """Dense: (3 if gated else 2) × hidden × width (+ biases). MoE: experts × the same at the
    expert width, the router (+bias), shared experts (+ their gate)."""
    mats = 3 if ffn.gated else 2

    def mlp(width: int) -> int:
        bias = (width * (2 if ffn.gated else 1) + hidden) if ffn.bias else 0
        return mats * hidden * width + bias

    if ffn.kind == "none":
        return {}
    if ffn.kind == "dense":
        return {"dense_ffn": mlp(ffn.intermediate_size)}
    out = {
        "routed_experts": ffn.num_experts * mlp(ffn.expert_intermediate_size)
        + ffn.modality_expert_params,
        "router": hidden * ffn.num_experts + (ffn.num_experts if ffn.router_bias else 0),
    }
    if ffn.num_shared_experts:
        out["shared_experts"] = mats * hidden * ffn.shared_intermediate_size + (
            hidden if ffn.shared_expert_gate else 0
        )
    return out


def layer_params(layer: LayerSpec, spec: ModelSpec) -> dict[str, int]:
    hidden = spec.hidden_size
    out: dict[str, int] = defaultdict(int)
    if layer.block_params is not None:
        out.update(layer.block_params)
        out["other"] += layer.extra_params
        return out
    for mix in layer.mixers():
        out["attention"] += attention_params(mix, hidden)
    out["other"] += layer.extra_params
    for key, value in ffn_params(layer.ffn, hidden).items():
        out[key] += value
    out["norms"] += layer.norms * hidden * (2 if spec.norm_bias else 1)
    return out


def mtp_module_params(layer: LayerSpec, spec: ModelSpec) -> dict[str, int]:
    """One MTP module by the component its parts would have in the main model: a full block,
    the two input norms and the shared head's norm (3h; `spec.mtp_module_norms`) and the
    2h → h projection (DeepSeek-V3 §2.2: eh_proj; DeepSeek-V4's e_proj and h_proj), the
    projection under `LINEAR` (archlint/families/mtp.py)."""
    out = dict(layer_params(layer, spec))
    out["norms"] = out.get("norms", 0) + spec.mtp_module_norms * spec.hidden_size
    out[LINEAR] = 2 * spec.hidden_size * spec.hidden_size
    return out


def _around_blocks(spec: ModelSpec, comp: dict[str, int], width: int) -> None:
    """Position tables, the norm after the embedding and the norm after the last block: an
    encoder-decoder's from each stack's own modules (`spec.stacks`), else the model's."""
    hidden = spec.hidden_size
    norm_width = 2 if spec.norm_bias else 1
    for stack in spec.stacks:
        comp["embedding"] += (stack.position_rows + stack.token_rows) * width + stack.extra_params
        comp["norms"] += (stack.embedding_norm + stack.final_norm) * hidden * norm_width
    if spec.stacks:
        return
    if spec.positional_embedding and spec.max_position_embeddings:
        rows = spec.max_position_embeddings + spec.position_offset
        comp["embedding"] += spec.position_tables * rows * width
    if spec.embedding_norm:
        comp["norms"] += width * norm_width
    final_norms = (2 if spec.architecture == "encoder-decoder" else 1) if spec.final_norm else 0
    comp["norms"] += final_norms * hidden * norm_width


def count_from_spec(spec: ModelSpec) -> ParamCounts:
    """Analytic count for config-only models (and what-if variants)."""
    hidden, vocab = spec.hidden_size, spec.vocab_size
    comp: dict[str, int] = defaultdict(int)
    routed_by_layer: dict[int, int] = {}
    seen_blocks: set[str] = set()
    decoder = len(spec.layers)
    for position, layer in enumerate(spec.layers + spec.encoder_layers):
        if layer.shared_block is not None:
            # A shared block's weights exist once however many layers reuse it (Zamba2).
            if layer.shared_block in seen_blocks:
                continue
            seen_blocks.add(layer.shared_block)
        counts = layer_params(layer, spec)
        for key, value in counts.items():
            comp[key] += value
        # by position, not `layer in spec.layers` (a list search comparing pydantic models
        # field by field: 183k __eq__ calls in a 270-model scan); an encoder layer equal to a
        # decoder layer has the decoder layer's counts, already recorded
        if position < decoder:
            routed_by_layer[layer.index] = counts.get("routed_experts", 0)
    for layer in spec.mtp_layers:
        comp["mtp"] += sum(mtp_module_params(layer, spec).values())
    width = spec.embedding_size or hidden  # factorised tables (ALBERT, ELECTRA) are narrower
    comp["embedding"] += vocab * width
    _around_blocks(spec, comp, width)
    comp["embedding"] += spec.type_vocab_size * width
    comp["embedding"] += spec.relative_position_rows * hidden
    if spec.embedding_projection:
        comp["embedding"] += width * hidden + hidden  # biased linear, width → hidden
    stacks = 2 if spec.architecture == "encoder-decoder" else 1
    if spec.relative_attention_buckets and spec.layers:
        comp["embedding"] += (
            stacks * spec.relative_attention_buckets * spec.layers[0].attention.num_heads
        )
    if spec.pooler:
        comp["other"] += hidden * hidden + hidden
    if not spec.tie_word_embeddings and spec.architecture != "encoder":
        comp["head"] += vocab * hidden
    if spec.head_bias and spec.architecture != "encoder":
        comp["head"] += vocab
    # an encoder's pretraining head (MLM transform, norm, output bias): not an LM head the
    # decode roofline reads as one (its tied output matmul is still the token table's)
    comp["other"] += spec.task_head_params
    for key, value in spec.extra_params.items():
        comp[key] += value
    comp["towers"] += sum(tower.params for tower in spec.towers)
    return _counts("config", comp, routed_by_layer, spec)
