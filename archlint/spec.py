"""ModelSpec: the typed, per-layer description of an architecture.

Every field that came from somewhere records where (`provenance`): declared in config.json
(with the key that declared it), inferred from tensor shapes, derived from other fields by a
stated rule, or a documented default. Nothing is silently overwritten: when tensors disagree
with the config, the config value stays and the disagreement becomes a finding.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Literal

from archlint.records import Record, record

AttentionKind = Literal["mha", "mqa", "gqa", "mla", "linear", "none"]
Positional = Literal["rope", "alibi", "learned", "sinusoidal", "relative", "nope", "none"]


@record(frozen=True)
class FieldSource(Record):
    """Where one value came from."""

    kind: Literal["declared", "inferred", "derived", "default"]
    key: str | None = None  # config key (dotted for nested) or tensor name
    detail: str | None = None  # the rule used for derived/default values


@record
class _Sourced(Record):
    provenance: dict[str, FieldSource] = field(default_factory=dict)


#: Built-in variants (a plugin pack may register more: the field is a plain string).
RecurrentVariant = Literal[
    "gated_deltanet",  # Qwen3-Next, Qwen3.5: gated delta rule (Yang et al. 2024)
    "mamba1",  # Mamba, Falcon-Mamba, Jamba: selective scan (Gu & Dao 2023)
    "mamba2",  # Mamba-2, Zamba2, Falcon-H1, Granite-4.0-H, Nemotron-H, Bamba: SSD (Dao & Gu 2024)
    "short_conv",  # LFM2: gated short causal convolution
    "rglru",  # RecurrentGemma / Griffin: RG-LRU after a causal conv (De et al. 2024)
    "lightning",  # MiniMax-Text-01: lightning (linear) attention with an output gate
    "kda",  # Kimi-Linear: Kimi Delta Attention
    "rwkv4",  # RWKV-4: WKV time mixing with token shift (Peng et al. 2023)
    "mlstm",  # xLSTM: matrix-memory LSTM (Beck et al. 2024)
    "kda_full_gates",  # Ling/Bailing hybrids: KDA with full-rank forget and output gates
    "unknown",  # a constant-state mixer whose parameters archlint cannot describe
]


@record
class RecurrentSpec(Record):
    """A token mixer with a constant-size state: linear attention, SSMs, short convolutions.

    One spec for every variant; each variant reads the fields it needs and owns its formulas
    (parameters, state shapes, FLOPs) in `archlint.mixers`. Fields a variant does not use stay
    at their zero defaults.
    """

    variant: str  # one of RecurrentVariant, or a plugin's
    # linear attention (gated_deltanet, kda, lightning): key/value heads and head sizes
    num_key_heads: int = 0
    num_value_heads: int = 0
    key_head_dim: int = 0
    value_head_dim: int = 0
    conv_kernel: int = 0  # causal depthwise conv width (all variants that have one)
    # SSMs (mamba1, mamba2): inner width, state size, heads and groups, dt rank
    d_inner: int = 0  # expand × hidden (Mamba), lru_width (RG-LRU), hidden (short_conv)
    d_state: int = 0
    num_heads: int = 0  # Mamba-2 heads (d_inner // head_dim), RG-LRU heads
    head_dim: int = 0  # Mamba-2 head size
    n_groups: int = 1  # Mamba-2 B/C groups
    dt_rank: int = 0  # Mamba-1 Δ projection rank
    # biases and norms that change the parameter count
    proj_bias: bool = False  # in_proj / out_proj biases
    conv_bias: bool = True
    inner_norm: bool = True  # Mamba-2's gated RMSNorm over d_inner; lightning's output norm
    bc_dt_norms: bool = False  # Jamba: RMSNorms on Δ, B and C (weights dt_rank, d_state, d_state)
    state_dtype: str | None = None  # declared SSM-state dtype (vLLM mamba_ssm_cache_dtype)


#: Name kept for code written before the zoo spec (Qwen3-Next was the first recurrent mixer).
LinearAttentionSpec = RecurrentSpec


@record
class IndexerSpec(Record):
    """DeepSeek-V3.2's lightning indexer (DSA): a small MQA scorer that picks the top-k
    tokens each query attends to; vLLM caches its keys per token beside the MLA latent."""

    num_heads: int
    head_dim: int
    topk: int


@record
class CompressorSpec(Record):
    """DeepSeek-V4's KV compressor (CSA and HCA; transformers' DeepseekV4CSACompressor /
    DeepseekV4HCACompressor): every `rate` tokens the layer caches one entry of `head_dim`
    elements beside its sliding window, a softmax-gated pool of the window's projections
    (kv_proj and gate_proj from the hidden state, a per-slot position bias, an RMSNorm).
    `overlap` (CSA): two series per token, windows of 2·rate at stride rate. `indexer_heads`
    > 0: a lightning indexer of that many query heads (queries from the q latent) picks
    `topk` entries per query; it compresses keys of its own (`indexer_head_dim`, always
    overlapping) at the same rate and caches them beside the entries."""

    rate: int
    head_dim: int
    overlap: bool = False
    indexer_heads: int = 0
    indexer_head_dim: int = 0
    topk: int | None = None


@record
class AttentionSpec(_Sourced):
    kind: AttentionKind
    num_heads: int = 0  # query heads
    num_kv_heads: int = 0
    head_dim: int = 0  # query/key head dim (for MLA: nope + rope)
    v_head_dim: int = 0
    # MLA (DeepSeek-V2/V3, Kimi-K2): latent KV compression
    q_lora_rank: int | None = None
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    qk_nope_head_dim: int | None = None
    # locality
    window: int | None = None  # sliding window (tokens)
    chunk: int | None = None  # chunked local attention (Llama 4)
    # position
    positional: Positional = "rope"
    rope_theta: float | None = None
    rope_scaling: dict[str, Any] | None = None
    rotary_fraction: float | None = None  # partial rotary (GPT-NeoX 0.25, Qwen3-Next 0.25)
    # details
    sinks: bool = False
    softcap: float | None = None
    qk_norm: bool = False
    qk_norm_per_head: bool = True  # OLMo-2 normalises the whole projection instead
    qkv_bias: bool = False
    key_bias: bool = True  # with qkv_bias: Whisper's k_proj alone has none
    o_bias: bool = False
    fused_qkv: bool = False
    output_gate: bool = False  # q_proj also emits a sigmoid gate (Qwen3-Next gated attention)
    # where keys/values come from: this layer's own tokens, or an encoder's (cross-attention
    # to image or audio tokens, or the encoder of an encoder-decoder): cached per encoder token
    source: Literal["self", "encoder"] = "self"
    # the width k/v project from when it is not the hidden size (a cross-attention over an
    # encoder of another width: TrOCR's cross_attention_hidden_size)
    kv_input_size: int | None = None
    # the width o_proj reads when it is not num_heads x v_head_dim (Helium's o_proj is
    # hidden_size x hidden_size whatever heads x head_dim is)
    o_input_size: int | None = None
    # no v projection: the values are the keys (Gemma-4's global layers with attention_k_eq_v)
    value_from_key: bool = False
    # the layer reads the K/V another layer cached (Gemma-3n, Hunyuan CLA): no cache, no k/v
    kv_shared_from: int | None = None
    # keys and values are one cached tensor, normed by one kv_norm (DeepSeek-V4's shared-KV
    # MQA: kv_proj's output is read as both): the cache holds head_dim per KV head, once
    kv_single: bool = False
    # what the layer caches per token when it is not its K/V heads: Transformer-XL's
    # recurrence (XLNet's `mems`) keeps the layer's input hidden state, d_model wide, and
    # recomputes keys and values from it each step
    cache_width: int | None = None
    # grouped low-rank output projection (DeepSeek-V4): the heads in `o_groups` groups, each
    # projected to `o_lora_rank`, then one linear from o_groups x o_lora_rank to hidden
    o_groups: int | None = None
    o_lora_rank: int | None = None
    # compressed long-range entries cached beside the window (DeepSeek-V4's CSA / HCA)
    compressor: CompressorSpec | None = None
    indexer: IndexerSpec | None = None
    linear: RecurrentSpec | None = None

    @property
    def is_local(self) -> bool:
        return self.window is not None or self.chunk is not None

    @property
    def group_size(self) -> int:
        return self.num_heads // self.num_kv_heads if self.num_kv_heads else 0


@record
class FFNSpec(_Sourced):
    kind: Literal["dense", "moe", "none"]
    gated: bool = True  # SwiGLU/GeGLU (3 matrices) vs plain MLP (2)
    activation: str | None = None
    intermediate_size: int = 0  # dense width (for MoE: unused unless dense layers exist)
    bias: bool = False
    # MoE
    num_experts: int = 0
    experts_per_token: int = 0
    expert_intermediate_size: int = 0
    num_shared_experts: int = 0
    shared_intermediate_size: int = 0  # total width of all shared experts together
    shared_expert_gate: bool = False  # Qwen-MoE's sigmoid gate on the shared expert
    # sqrtsoftplus: DeepSeek-V4 scores experts by sqrt(softplus(logit))
    router: Literal["softmax", "sigmoid", "sqrtsoftplus"] | None = None
    router_bias: bool = False
    grouped_topk: tuple[int, int] | None = None  # (n_group, topk_group), DeepSeek-V3
    norm_topk_prob: bool | None = None
    aux_loss_coef: float | None = None
    # routed experts (with their router) that only another modality's tokens reach
    # (ERNIE-4.5-VL's vision experts): in the total, never active for a text token
    modality_expert_params: int = 0


@record
class LayerSpec(Record):
    index: int
    attention: AttentionSpec
    ffn: FFNSpec
    parallel: bool = False  # attention and FFN read the same input (GPT-J, Falcon, NeoX)
    norms: int = 2  # norm modules in the block (Gemma 2/3 and OLMo-2 have 4 or post-norms)
    # a block whose weights several layers reuse (Zamba2's shared transformer): its
    # parameters count once per distinct name, its compute and cache once per use
    shared_block: str | None = None
    # extra parameters of the block the generic formulas do not cover (adapter-computed,
    # e.g. Zamba2's per-use LoRA adapters or a hybrid's in-block projections)
    extra_params: int = 0
    # the block's parameters by component when its modules are not the ones the per-mixer
    # and FFN formulas describe (SqueezeBERT's grouped 1×1 convolutions, MobileBERT's
    # bottlenecks): adapter-computed from config keys; `attention` still describes how the
    # block mixes tokens (heads, head size) for the attention-score FLOPs
    block_params: dict[str, int] | None = None
    cross_attention: AttentionSpec | None = None  # decoder layers of an encoder-decoder
    # a second token mixer reading the same input (Falcon-H1: attention ∥ Mamba-2)
    parallel_mixer: AttentionSpec | None = None

    def mixers(self) -> list[AttentionSpec]:
        """Every token mixer of the block: the main one, then cross and parallel ones."""
        return [
            m for m in (self.attention, self.cross_attention, self.parallel_mixer) if m is not None
        ]


@record
class TowerSpec(_Sourced):
    """A named non-language component: a vision or audio encoder, or the projector that maps
    its output into the language model. Counted in total parameters, weights and memory;
    not in the active parameters of a generated token (it runs once per image/audio input)."""

    name: str  # "vision", "audio", "projector", ...
    kind: str  # the encoder's model_type (siglip_vision_model, clip_vision_model, whisper ...)
    params: int  # analytic count (the tensor count replaces it when headers are present)
    num_layers: int = 0
    hidden_size: int = 0
    understood: bool = True  # False: params are an estimate from a generic encoder formula


@record
class StackSpec(Record):
    """One stack of an encoder-decoder and the modules around its blocks, which the two
    stacks hold independently (mBART: an embedding norm and a final norm in each; Pegasus-X:
    global-token embeddings in the encoder only; FSMT: a source token table of its own)."""

    name: Literal["encoder", "decoder"]
    embedding_norm: bool = False
    final_norm: bool = False
    position_rows: int = 0  # rows of a position table held as parameters (0: none or a buffer)
    token_rows: int = 0  # a token table of its own (0: it reads the shared one)
    extra_params: int = 0  # other tensors around the blocks (counted with the embedding)


CoverageHow = Literal["adapter", "generic", "assumed", "not_understood"]


@record
class CoverageItem(Record):
    """How one part of the model was read."""

    part: str  # "layers 0-31", "vision tower", "ffn of layers 1-47", ...
    how: CoverageHow
    detail: str = ""


@record
class Coverage(Record):
    """What archlint understood. `unknown_keys` are config keys that shape the architecture
    (layer patterns, block configs, SSM settings) which no reader consumed: the numbers may
    not describe those parts."""

    items: list[CoverageItem] = field(default_factory=list)
    unknown_keys: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unknown_keys and all(
            item.how in ("adapter", "generic") for item in self.items
        )

    def with_item(self, part: str, how: CoverageHow, detail: str) -> Coverage:
        """This coverage with one more item (an adapter naming what it assumed or could not
        read, on top of what the shared reader found)."""
        item = CoverageItem(part=part, how=how, detail=detail)
        return self.model_copy(update={"items": [*self.items, item]})


@record
class QuantizationSpec(Record):
    method: str  # fp8, mxfp4, gptq, awq, compressed-tensors, bitsandbytes, ...
    bits: float | None = None
    group_size: int | None = None
    block_size: list[int] | None = None
    modules_not_converted: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    # a component the checkpoint stores by another method than `method` (DeepSeek-V4's
    # `expert_dtype: fp4`: routed experts in mxfp4 beside fp8 linear weights), and the
    # config key that said so
    component_methods: dict[str, str] = field(default_factory=dict)
    component_sources: dict[str, str] = field(default_factory=dict)
    # the dtype a block-scaled checkpoint stores its scales in where its family's format
    # fixes it (DeepSeek-V4: float8_e8m0fnu `.scale` tensors); None: float32
    # `weight_scale_inv`, what FineGrainedFP8 and DeepSeek-V3's HF format hold
    scale_dtype: str | None = None


@record
class ModelSpec(_Sourced):
    model_type: str
    family: str  # the adapter that read it
    known_family: bool = True
    architectures: list[str] = field(default_factory=list)
    hidden_size: int
    num_layers: int
    vocab_size: int
    tie_word_embeddings: bool = False
    head_bias: bool = False  # the LM head has a bias vector (GPT-J, Phi-1/2)
    max_position_embeddings: int | None = None
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    norm_bias: bool = False  # LayerNorm with a bias vector (GPT-2, BLOOM, Falcon, BERT)
    norm_eps: float | None = None  # the norms' epsilon (rms_norm_eps, layer_norm_epsilon, ...)
    embedding_norm: bool = False  # a norm right after the embedding (BLOOM, BERT)
    positional_embedding: bool = False  # learned absolute position table (GPT-2, BERT, OPT)
    position_offset: int = 0  # extra rows in that table (BART and OPT reserve 2)
    position_tables: int = 1  # one per stack when both stacks learn positions (BART)
    type_vocab_size: int = 0  # BERT segment embeddings
    # factorised embedding (ALBERT, ELECTRA, RemBERT): the tables' width when narrower than
    # hidden_size, and whether a linear projects it up (FNet projects at equal widths too)
    embedding_size: int | None = None
    embedding_projection: bool = False
    relative_attention_buckets: int = 0  # T5 relative position bias table (per stack)
    relative_position_rows: int = 0  # DeBERTa's shared relative-position table (rows × hidden)
    pooler: bool = False  # BERT pooler (dense hidden → hidden)
    # an encoder checkpoint's pretraining head (the masked-LM / pretraining class its
    # `architectures` names): transform, norm, output bias, untied output projection
    task_head_params: int = 0
    # modules outside the blocks the generic formulas do not cover, by component (adapter-
    # computed from config keys: RoCBERT's shape/pronunciation tables, MarkupLM's XPath
    # embeddings, LUKE's entity embeddings)
    extra_params: dict[str, int] = field(default_factory=dict)
    final_norm: bool = True  # pre-norm stacks end with a norm; post-norm BERT does not
    dtype: str | None = None  # declared torch_dtype, canonical short name (bf16, fp16, fp32)
    architecture: Literal["decoder", "encoder", "encoder-decoder"] = "decoder"
    layers: list[LayerSpec]
    encoder_layers: list[LayerSpec] = field(default_factory=list)  # T5/BART encoder stack
    # encoder-decoders: each stack's modules around its blocks; when set, they replace the
    # model-level embedding_norm / final_norm / position-table fields in the parameter count
    stacks: list[StackSpec] = field(default_factory=list)
    mtp_layers: list[LayerSpec] = field(default_factory=list)  # multi-token prediction heads
    # each MTP module's norms outside its block: enorm, hnorm and a post norm (transformers'
    # MtpLayer), or 2 where the modules have no post norm of their own (Inkling)
    mtp_module_norms: int = 3
    quantization: QuantizationSpec | None = None
    towers: list[TowerSpec] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)
    notes: list[str] = field(default_factory=list)

    # -- summaries the report and rules share ---------------------------------------------------
    def dominant_attention(self) -> AttentionKind:
        """The kind most layers use; softmax attention wins ties against linear mixers,
        because it is what the cache and the compute are dominated by at long context."""
        counts: dict[AttentionKind, int] = {}
        for layer in self.layers:
            counts[layer.attention.kind] = counts.get(layer.attention.kind, 0) + 1
        if not counts:
            return "none"
        softmax = {k: v for k, v in counts.items() if k not in ("linear", "none")}
        if softmax and counts.get("linear", 0) > 0:
            return max(softmax, key=lambda k: softmax[k])
        return max(counts, key=lambda k: counts[k])

    def moe_layers(self) -> list[LayerSpec]:
        return [layer for layer in self.layers if layer.ffn.kind == "moe"]

    def first_moe(self) -> FFNSpec | None:
        moe = self.moe_layers()
        return moe[0].ffn if moe else None
