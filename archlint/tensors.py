"""Tensor names: the one table of what a name says (component, role, layer, expert, packing,
and the role a shape check gives it), and the per-checkpoint index every consumer shares.

Names follow the Hugging Face modeling files (`model.layers.N.self_attn.q_proj.weight`,
`transformer.h.N.attn.c_attn.weight`, ...). The component rules are ordered: the first match
wins, so norms are recognised before attention (`post_attention_layernorm`), routers before
dense FFNs (`mlp.gate.weight` vs `mlp.gate_proj.weight`), and shared experts before experts.

Quantized storage is unpacked to logical parameters:
- FP8 block quantization: `weight_scale_inv` / `weight_scale` are scales, not parameters.
- MXFP4 (gpt-oss): `*_blocks` are U8 holding two 4-bit values per byte; `*_scales` are E8M0
  scales per 32 values (OCP Microscaling spec v1.0).
- GPTQ/AWQ: `qweight` I32 packs 32/bits values; `qzeros`, `scales`, `g_idx` are metadata.
- compressed-tensors pack-quantized: `weight_packed` packs 32/bits values per I32.
- bitsandbytes 4-bit: U8 `weight` holds two values per byte; `absmax`/`quant_map` metadata.

Classification runs once per name *pattern*: a name split at its number segments (`.61.`,
`.255.`) leaves a text that repeats across layers and experts (DeepSeek-V3's 92k names have
~100 patterns), so every regex below runs ~100 times per model, and each tensor costs one
`re.split` plus a dictionary lookup. None of the rules depend on the numbers themselves; the
numbers that matter (layer, expert) are read from the slots the pattern says they are in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, compress
from math import prod
from operator import and_, attrgetter
from typing import Literal, get_args

from archlint.checkpoint import Checkpoint, TensorInfo, TensorTable
from archlint.dtypes import DTYPE_BITS
from archlint.gguf_names import gguf_pieces

Component = Literal[
    "embedding",
    "attention",
    "dense_ffn",
    "routed_experts",
    "shared_experts",
    "router",
    "norms",
    "head",
    "mtp",
    "towers",
    "other",
]
Role = Literal["weight", "scale", "zero_point", "index", "buffer"]
COMPONENTS: tuple[Component, ...] = get_args(Component)

#: A number segment of a name: `.N` followed by `.` (a leading or trailing number is not one).
_NUMBER_SEGMENT = re.compile(r"\.(\d+)(?=\.)")
#: The segment naming a layer stack, just before the layer number (`model.layers.3.`,
#: `transformer.h.3.`, T5's `block.3.`, BERT's `layer.3.`).
_STACK_WORDS = frozenset({"layers", "h", "blocks", "block", "layer"})

# (pattern, component) — first match wins; patterns search the full name.
_RULE_TEXT: tuple[tuple[str, Component], ...] = (
    # MTP modules under their own prefix: `mtp.` (Qwen3-Next, MiMo-V2), ERNIE-4.5's
    # `mtp_block.N`, `mtp_emb_norm.N`, `mtp_hidden_norm.N`, `mtp_linear_proj.N`, Hunyuan-V4's
    # `mtp_layers.N` (stacks past num_hidden_layers are mapped in analysis.params)
    (r"(^|\.)(mtp|nextn)(_[a-z]+)*\.", "mtp"),
    # Vision/audio encoders and their projectors into the language model (LLaVA, Gemma 3/3n,
    # Llama 4, Qwen2-VL `visual.`, Qwen2-Audio, DeepSeek-VL2 `view_seperator` [sic]).
    (
        r"(vision_tower|vision_model|visual|multi_modal_projector|image_newline|audio_tower|"
        r"audio_encoder|mm_projector|embed_vision|embed_audio|vision_embed|audio_model|"
        r"view_seperator)",
        "towers",
    ),
    (
        r"(^|\.)(lm_head|embed_out|output)\.(weight|bias)$|shared_head\.head\.|"
        r"(^|\.)cls\.predictions",
        "head",
    ),
    (
        r"(embed_tokens|wte|word_embeddings|tok_embeddings|embed_in|(^|\.)shared\.weight|"
        r"wpe|position_embeddings|embed_positions|token_type_embeddings|relative_attention_bias)",
        "embedding",
    ),
    (r"(norm|ln_|_ln\b|\.ln\d?\.|layernorm|layer_norm|(^|\.)ln_f\.|rms)", "norms"),
    (r"shared_expert_gate", "shared_experts"),
    (r"(shared_experts?|shared_mlp)\.", "shared_experts"),
    (
        r"(\.experts\.|\.experts_|mlp\.experts|\.ffn\.experts|block_sparse_moe\.experts)",
        "routed_experts",
    ),
    (
        r"(\.router\.|block_sparse_moe\.gate\.|mlp\.gate\.(weight|bias|e_score)|"
        r"\.gate\.e_score_correction_bias|moe\.gate\.|ffn\.router)",
        "router",
    ),
    (
        r"(self_attn|self_attention|\.attn\.|attention\.|linear_attn|\.mixer\.|q_proj|k_proj|"
        r"v_proj|o_proj|c_attn|query_key_value|Wqkv|\.EncDecAttention\.|\.SelfAttention\.|"
        r"encoder_attn)",
        "attention",
    ),
    (
        r"(mlp|feed_forward|ffn|dense_h_to_4h|dense_4h_to_h|c_fc|c_proj|fc1|fc2|fc_in|fc_out|"
        r"DenseReluDense|intermediate\.dense|output\.dense|\.wi\b|\.wo\b|\.wi_)",
        "dense_ffn",
    ),
    (r"(inv_freq|rotary_emb|pooler|masked_bias|\.bias$)", "other"),
)
_COMPONENT_RULES: tuple[tuple[re.Pattern[str], Component], ...] = tuple(
    (re.compile(pattern), component) for pattern, component in _RULE_TEXT
)

_SCALE = re.compile(
    r"(weight_scale_inv|weight_scale|_scales$|\.scales$|absmax|quant_map|"
    r"input_scale|weight_global_scale|k_scale|v_scale)"
)
_ZERO = re.compile(r"(qzeros|weight_zero_point|zeros$)")
_INDEX = re.compile(r"(g_idx|weight_shape|quant_state|nested_)")
# GPT-2 stores its causal mask as `attn.bias`; `attn.c_attn.bias` is a real qkv bias.
_BUFFER = re.compile(r"(inv_freq|masked_bias|(^|\.)attn\.bias$|\.position_ids$)")

# -- the names the shape checks look for ---------------------------------------------------------
# Hugging Face `nn.Linear` weights are stored `[out, in]`; GPT-2's `Conv1D` (c_attn, c_fc,
# c_proj in `modeling_gpt2.py`) stores `[in, out]`.

#: A block under one of these prefixes is a vision/audio tower or an encoder stack, not one of
#: the decoder's blocks.
_FOREIGN = re.compile(r"(vision|visual|audio|image|encoder|multi_modal|projector)")
_MTP_PREFIX = re.compile(r"^(?:model\.)?mtp\.")

#: (pattern on the part after `layers.N.`, shape role) — first match wins.
_SHAPE_ROLES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"(?:^|\.)(?:shared_experts?|shared_mlp)\.(?:gate_proj|w1)\.weight$", "shared_gate"),
    (r"(?:^|\.)(?:shared_experts?|shared_mlp)\.(?:up_proj|w3)\.weight$", "shared_up"),
    (r"(?:^|\.)(?:shared_experts?|shared_mlp)\.(?:down_proj|w2)\.weight$", "shared_down"),
    (r"(?:^|\.)experts\.\d+\.(?:gate_proj|w1)\.(?:weight|qweight|weight_packed)$", "expert_gate"),
    (r"(?:^|\.)experts\.\d+\.(?:up_proj|w3)\.(?:weight|qweight|weight_packed)$", "expert_up"),
    (r"(?:^|\.)experts\.\d+\.(?:down_proj|w2)\.(?:weight|qweight|weight_packed)$", "expert_down"),
    # GGUF stacked experts (archlint.gguf_names): `[E, out, in]`.
    (r"(?:^|\.)experts\.stacked_gate_up_proj\.weight$", "fused_gate_up"),
    (r"(?:^|\.)experts\.stacked_gate_proj\.weight$", "stacked_gate"),
    (r"(?:^|\.)experts\.stacked_up_proj\.weight$", "stacked_up"),
    (r"(?:^|\.)experts\.stacked_down_proj\.weight$", "fused_down"),
    (r"(?:^|\.)experts\.gate_up_proj(?:_blocks)?$", "fused_gate_up"),
    (r"(?:^|\.)experts\.down_proj(?:_blocks)?$", "fused_down"),
    (r"(?:^|\.)(?:mlp|block_sparse_moe|feed_forward|moe)\.(?:gate|router)\.weight$", "router"),
    (r"(?:^|\.)(?:q_a_proj)\.weight$", "q_a"),
    (r"(?:^|\.)(?:q_b_proj)\.weight$", "q_b"),
    (r"(?:^|\.)(?:kv_a_proj_with_mqa)\.weight$", "kv_a"),
    (r"(?:^|\.)(?:kv_b_proj)\.weight$", "kv_b"),
    (r"(?:self_attn|attention|attn|self_attention)\.(?:q_proj|wq)\.weight$", "q"),
    (r"(?:self_attn|attention|attn|self_attention)\.(?:k_proj|wk)\.weight$", "k"),
    (r"(?:self_attn|attention|attn|self_attention)\.(?:v_proj|wv)\.weight$", "v"),
    (r"(?:self_attn|attention|attn|self_attention)\.(?:qkv_proj|query_key_value|c_attn|Wqkv|"
     r"W_pack)\.weight$", "qkv"),
    (r"(?:self_attn|attention|attn|self_attention)\.(?:o_proj|wo|out_proj|dense|c_proj)\.weight$",
     "o"),
    (r"(?:mlp|feed_forward|ffn)\.(?:gate_up_proj)\.weight$", "gate_up"),
    (r"(?:mlp|feed_forward|ffn)\.(?:gate_proj|w1)\.weight$", "gate"),
    (r"(?:mlp|feed_forward|ffn)\.(?:up_proj|w3|c_fc|dense_h_to_4h|fc1|fc_in)\.weight$", "up"),
    (r"(?:mlp|feed_forward|ffn)\.(?:down_proj|w2|c_proj|dense_4h_to_h|fc2|fc_out)\.weight$",
     "down"),
))
_EMBED = re.compile(
    r"(?:^|\.)(?:embed_tokens|wte|word_embeddings|tok_embeddings|embed_in)\.weight$")
_HEAD = re.compile(r"^(?:lm_head|embed_out|output)\.weight$|^(?:model\.)?(?:language_model\.)?"
                   r"lm_head\.weight$")
#: GPT-2 Conv1D modules, stored [in, out].
_CONV1D = re.compile(r"(?:^|\.)(?:c_attn|c_fc|c_proj)\.weight$")


@dataclass(frozen=True, slots=True)
class TensorRole:
    component: Component
    role: Role
    layer: int | None
    pack_factor: int  # logical values per stored element (1 unless packed)


def component_of(name: str) -> Component:
    for pattern, component in _COMPONENT_RULES:
        if pattern.search(name):
            return component
    return "other"


def _role_of(name: str) -> Role:
    if _BUFFER.search(name):
        return "buffer"
    if _SCALE.search(name):
        return "scale"
    if _ZERO.search(name):
        return "zero_point"
    if _INDEX.search(name):
        return "index"
    return "weight"


def pack_factor(name: str, dtype: str, quant_bits: float | None) -> int:
    """Logical values stored per element of a packed tensor (1 for ordinary tensors)."""
    if name.endswith("_blocks") and dtype == "U8":
        return 2  # MXFP4: two fp4 values per byte
    if (name.endswith("qweight") or name.endswith("weight_packed")) and dtype in ("I32", "U32"):
        return 32 // int(quant_bits or 4)
    if dtype == "U8" and quant_bits == 4 and name.endswith(".weight"):
        return 2  # bitsandbytes nf4/fp4
    return 1


def _last_segment(text: str) -> str:
    return text[text.rfind(".") + 1:]


@dataclass(frozen=True, slots=True, eq=False)  # one object per pattern: identity is equality
class NamePattern:
    """Everything a tensor name says apart from its numbers, for all names sharing the text
    between their number segments. Slots index the name's number segments in order."""

    text: str  # the name with every number segment written as 0
    numbers: int  # how many number segments it has
    component: Component
    role: Role
    layer_slot: int | None  # the number after the first `layers|h|blocks|block|layer` segment
    block_slot: int | None  # the layer slot, unless the stack is a tower's or an encoder's
    expert_slot: int | None  # within a block: the number after `experts`
    shape_role: str | None  # within a block: q, k, v, o, gate, up, expert_down, router, ...
    mtp: bool  # under a top-level `mtp.` module (DeepSeek-V3.2's layout)
    foreign: bool  # a tower or encoder name outside any decoder block
    embed: bool
    head: bool
    conv1d: bool  # c_attn / c_fc / c_proj weight (GPT-2 stores these [in, out])
    mixer: str | None  # the token-mixer kind the name shows (MIXER_NAME_HINTS), if any


def _pattern(text: str) -> NamePattern:
    """Classify one pattern: a name with its number segments written as 0. GGUF names
    (`blk.N.attn_q.weight`) are classified as the Hugging Face names they stand for
    (archlint.gguf_names, which keeps the number slots); the tensor keeps its own name."""
    pieces = tuple(_NUMBER_SEGMENT.split(text)[0::2])
    pieces = gguf_pieces(pieces) or pieces
    text = ".0".join(pieces)
    layer_slot = expert_slot = None
    for slot, before in enumerate(pieces[:-1]):
        if _last_segment(before) in _STACK_WORDS:
            layer_slot = slot
            break
    block_slot = layer_slot
    mtp = bool(_MTP_PREFIX.match(text))
    shape_role = None
    if block_slot is not None and not mtp:
        prefix = ".0".join(pieces[:block_slot + 1])
        start = prefix.rfind(".") if "." in prefix else 0
        if start and _FOREIGN.search(prefix, 0, start):
            block_slot = None
        else:
            rest = ".0".join(pieces[block_slot + 1:])[1:]
            shape_role = next((r for p, r in _SHAPE_ROLES if p.search(rest)), None)
            if shape_role is not None and shape_role.startswith("expert_"):
                expert_slot = next(s for s in range(block_slot + 1, len(pieces) - 1)
                                   if _last_segment(pieces[s]) == "experts")
    foreign = block_slot is None and not mtp and bool(_FOREIGN.search(text))
    outside = block_slot is None and not mtp and not foreign
    return NamePattern(
        text=text,
        numbers=len(pieces) - 1,
        component=component_of(text),
        role=_role_of(text),
        layer_slot=layer_slot,
        block_slot=block_slot,
        expert_slot=expert_slot,
        shape_role=shape_role,
        mtp=mtp,
        foreign=foreign,
        embed=outside and bool(_EMBED.search(text)),
        head=outside and bool(_HEAD.search(text)),
        conv1d=bool(_CONV1D.search(text)),
        mixer=_mixer_hint(text),
    )


class _PatternTable(dict[str, NamePattern]):
    """Patterns of every name seen by this process, shared across checkpoints (a scan sees the
    same few thousand patterns over and over); bounded so that hostile names cannot grow it
    forever. A missing pattern is classified on lookup, so a whole table is looked up by one
    `map` over its folded names."""

    def __missing__(self, text: str) -> NamePattern:
        if len(self) >= _MAX_PATTERNS:
            self.clear()
        pattern = self[text] = _pattern(text)
        return pattern


_MAX_PATTERNS = 200_000
_PATTERNS = _PatternTable()


def _fold(name: str) -> str:
    return _NUMBER_SEGMENT.sub(".0", name)


def _split(name: str) -> tuple[NamePattern, list[str]]:
    return _PATTERNS[_fold(name)], _NUMBER_SEGMENT.findall(name)


def name_pattern(name: str) -> NamePattern:
    """The pattern of one name (for callers that look at a handful of names)."""
    return _split(name)[0]


def is_conv1d_name(name: str) -> bool:
    return name_pattern(name).conv1d


# -- the per-checkpoint index ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TensorGroup:
    """Tensors sharing a name pattern, a dtype and a layer (a layer's experts, typically)."""

    pattern: NamePattern
    dtype: str
    role: TensorRole
    tensors: int
    elements: int  # as stored (a packed element counts once)
    nbytes: int

    @property
    def logical_params(self) -> int:
        """Parameters the group represents (0 for scales, zero points, indices and buffers)."""
        return self.elements * self.role.pack_factor if self.role.role == "weight" else 0


@dataclass
class LayerTensors:
    """The tensors of one decoder block, by the role a shape check gives them."""

    index: int
    roles: dict[str, TensorInfo] = field(default_factory=dict)
    #: expert number → role → row number in `table` (Kimi-K2 has 69k expert weights: their
    #: rows are made only if `experts` is read)
    expert_ids: dict[int, dict[str, int]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    patterns: set[NamePattern] = field(default_factory=set)
    table: TensorTable | None = field(default=None, repr=False, compare=False)

    @property
    def experts(self) -> dict[int, dict[str, TensorInfo]]:
        """Expert number → role → tensor."""
        table = self.table
        if table is None:
            return {}
        return {e: {role: table[i] for role, i in roles.items()}
                for e, roles in self.expert_ids.items()}

    def expert_shapes(self, roles: Iterable[str]) -> Iterator[tuple[str, int]]:
        """(role, row number) of the experts' tensors in `roles`, experts in number order,
        once per distinct (role, shape, dtype): what a check of shapes and dtypes needs to see,
        the first tensor of each kind standing for the rest."""
        table = self.table
        if table is None:
            return
        shapes, dtypes = table.shapes, table.dtypes
        seen: set[tuple[str, tuple[int, ...], str]] = set()
        for expert in sorted(self.expert_ids):
            by_role = self.expert_ids[expert]
            for role in roles:
                i = by_role.get(role)
                if i is not None:
                    key = (role, shapes[i], dtypes[i])
                    if key not in seen:
                        seen.add(key)
                        yield role, i

    def mixer_hints(self) -> set[str]:
        """The mixer kinds the block's tensor names show, read once per distinct pattern (the
        hints match no number segment, so a pattern shows what each of its names shows)."""
        if not self.patterns:
            return mixer_hints(self.names)
        return {p.mixer for p in self.patterns if p.mixer is not None}


@dataclass
class DecoderBlocks:
    """The decoder's blocks (towers and encoder stacks left out), the top-level `mtp.` modules,
    and the input embedding and LM head outside any block: what the shape checks compare."""

    layers: dict[int, LayerTensors]
    mtp_modules: set[int]  # indices under an `mtp.layers.N` prefix
    has_mtp_prefix: bool
    embed: TensorInfo | None
    lm_head: TensorInfo | None

    def layer(self, index: int) -> LayerTensors | None:
        return self.layers.get(index)


class TensorIndex:
    """A checkpoint's tensor table with every name classified (once per pattern): what the
    parameter count and every rule that walks tensors read. Get it with `tensor_index(ckpt)`;
    the views below are built on first use and kept."""

    def __init__(self, tensors: Sequence[TensorInfo]) -> None:
        self.tensors = tensors
        #: the columns every view below reads; rows are made only for the tensors a view hands
        #: out (a list of rows keeps its objects: `table[i] is tensors[i]`)
        self.table = table = TensorTable.of(tensors)
        names = table.names
        # The whole table in C-level passes: names joined, split once at their number
        # segments (text between them, numbers), the text re-joined with the numbers folded,
        # patterns looked up by `map`. A name holding the separator is folded on its own.
        parts = _NUMBER_SEGMENT.split("\n".join(names))
        folded = ".0".join(parts[0::2]).split("\n")
        if len(folded) == len(names):
            numbers = parts[1::2]
        else:
            folded = list(map(_fold, names))
            numbers = [n for name in names for n in _NUMBER_SEGMENT.findall(name)]
        self.patterns: list[NamePattern] = list(map(_PATTERNS.__getitem__, folded))
        #: where each tensor's numbers start in `numbers` (its pattern says how many it has)
        self._offsets = list(accumulate(map(_NUMBERS, self.patterns), initial=0))
        self._numbers = numbers
        self._blocks: DecoderBlocks | None = None
        self._layer_numbers: list[int | None] | None = None
        self._by_name: RowsByName | None = None
        self._weights: list[TensorInfo] | None = None
        self._weight_bytes: dict[str, int] | None = None
        self._counted: Counter[tuple[NamePattern, str, int | None, tuple[int, ...]]] | None = None

    def numbers_of(self, i: int) -> list[str]:
        """The number segments of tensor `i`'s name, in order (`layers.3…experts.17` → 3, 17)."""
        return self._numbers[self._offsets[i]:self._offsets[i + 1]]

    def current_for(self, tensors: Sequence[TensorInfo]) -> bool:
        """Still describes `tensors`: the same table (never edited in place), or the same list,
        as long, with the same ends (a list edited in place elsewhere than its ends must be
        reassigned to be indexed again)."""
        if tensors is not self.tensors:
            return False
        if isinstance(tensors, TensorTable):
            return True
        snap = self.table
        return len(tensors) == len(snap) and (
            not snap or (tensors[0] is snap[0] and tensors[-1] is snap[-1]))

    # -- per tensor -----------------------------------------------------------------------------
    @property
    def layer_numbers(self) -> list[int | None]:
        """Each tensor's layer-stack number (None outside any stack)."""
        if self._layer_numbers is None:
            nums = self._numbers
            self._layer_numbers = [
                None if slot is None else int(nums[start + slot])
                for slot, start in zip(map(_LAYER_SLOT, self.patterns), self._offsets, strict=False)
            ]
        return self._layer_numbers

    def roles(self, quant_bits: float | None = None) -> Iterator[tuple[TensorInfo, TensorRole]]:
        """(tensor, component/role/layer/packing) for every tensor, in table order."""
        shared: dict[tuple[NamePattern, str, int | None], TensorRole] = {}
        columns = zip(self.table, self.patterns, self.layer_numbers, strict=True)
        for tensor, pattern, layer in columns:
            key = (pattern, tensor.dtype, layer)
            role = shared.get(key)
            if role is None:
                role = shared[key] = TensorRole(
                    pattern.component, pattern.role, layer,
                    pack_factor(pattern.text, tensor.dtype, quant_bits))
            yield tensor, role

    def groups(self, quant_bits: float | None = None) -> list[TensorGroup]:
        """The table summed by (pattern, dtype, layer): one row per group of tensors that differ
        only in their expert number, in first-seen order. Bytes are summed per tensor (a 4-bit
        tensor with an odd element count rounds up to whole bytes, as it is stored)."""
        sums: dict[tuple[NamePattern, str, int | None], list[int]] = {}
        for (pattern, dtype, layer, shape), count in self._kinds().items():
            elements = prod(shape)
            bits = DTYPE_BITS.get(dtype)
            # ggml block types (GGUF) take whole blocks per row: TensorInfo.nbytes knows them
            nbytes = ((elements * bits + 7) // 8 if bits is not None
                      else TensorInfo("", dtype, shape).nbytes)
            row = sums.setdefault((pattern, dtype, layer), [0, 0, 0])
            row[0] += count
            row[1] += elements * count
            row[2] += nbytes * count
        out = []
        for (pattern, dtype, layer), (count, elements, nbytes) in sums.items():
            role = TensorRole(pattern.component, pattern.role, layer,
                              pack_factor(pattern.text, dtype, quant_bits))
            out.append(TensorGroup(pattern, dtype, role, count, elements, nbytes))
        return out

    def _kinds(self) -> Counter[tuple[NamePattern, str, int | None, tuple[int, ...]]]:
        """The tensors counted by (pattern, dtype, layer, shape), in C and once: each distinct
        key is then sized once (experts share a shape: ~100k tensors make ~1k keys)."""
        if self._counted is None:
            table = self.table
            self._counted = Counter(zip(self.patterns, table.dtypes, self.layer_numbers,
                                        table.shapes, strict=True))
        return self._counted

    def _rows_where(self, mask: Iterable[object]) -> list[TensorInfo]:
        """The rows `mask` selects (made for them only)."""
        table = self.table
        return list(map(table.__getitem__, compress(range(len(table)), mask)))

    def _is_weight(self) -> Iterator[bool]:
        """Per tensor: a parameter tensor (not a scale, zero point, index or buffer)? Read
        once per distinct pattern."""
        weight = {p: p.role == "weight" for p in set(self.patterns)}
        return map(weight.__getitem__, self.patterns)

    @property
    def weights(self) -> list[TensorInfo]:
        """The parameter tensors (not quantization scales, zero points, indices or buffers)."""
        if self._weights is None:
            self._weights = self._rows_where(self._is_weight())
        return self._weights

    def weights_of_dtype(self, dtype: str) -> list[TensorInfo]:
        """The parameter tensors stored as `dtype`, in table order (rows made only for them)."""
        return self._rows_where(map(and_, self._is_weight(),
                                    map(dtype.__eq__, self.table.dtypes)))

    @property
    def weight_bytes_by_dtype(self) -> dict[str, int]:
        """Bytes of the parameter tensors by stored dtype."""
        if self._weight_bytes is None:
            # from the kinds the parameter count sizes: each distinct shape sized once
            out: dict[str, int] = {}
            for (pattern, dtype, _layer, shape), count in self._kinds().items():
                if pattern.role == "weight":
                    out[dtype] = out.get(dtype, 0) + TensorInfo("", dtype, shape).nbytes * count
            self._weight_bytes = out
        return self._weight_bytes

    def ending_with(self, suffix: str) -> list[TensorInfo]:
        """The tensors whose name ends with `suffix` (no digit in it), in table order, tested
        once per distinct pattern: a name's last segment is never folded, so a name and its
        pattern end alike."""
        hit = {p for p in set(self.patterns) if p.text.endswith(suffix)}
        if not hit:
            return []
        return self._rows_where(map(hit.__contains__, self.patterns))

    def ids_ending_with(self, suffix: str, dtypes: Iterable[str] = ()) -> list[int]:
        """Row numbers of the tensors named `...suffix` (no digit in it), stored in one of
        `dtypes` (any dtype when empty), in table order; chosen from whole columns."""
        hit = {p for p in set(self.patterns) if p.text.endswith(suffix)}
        if not hit:
            return []
        mask: Iterable[object] = map(hit.__contains__, self.patterns)
        wanted = frozenset(dtypes)
        if wanted:
            mask = map(and_, mask, map(wanted.__contains__, self.table.dtypes))
        return list(compress(range(len(self.table)), mask))

    @property
    def name_ids(self) -> dict[str, int]:
        """Name → row number (the last of a repeated name), built in C."""
        return self.by_name.ids

    @property
    def by_name(self) -> RowsByName:
        """Name → tensor (the last of a repeated name, as a dict built from the rows keeps)."""
        if self._by_name is None:
            self._by_name = RowsByName(self.table)
        return self._by_name

    # -- decoder blocks, for the shape checks ---------------------------------------------------
    def _build_blocks(self) -> DecoderBlocks:
        layers: dict[int, LayerTensors] = {}
        mtp: set[int] = set()
        has_mtp = False
        embed = head = None
        nums = self._numbers
        table = self.table
        names = table.names
        # A block's tensors come together: the layer (and expert) of the tensor before is
        # reused while its number's text repeats, instead of an int() and a lookup per tensor.
        last_block: str | None = None
        layer = LayerTensors(-1)
        last_expert: str | None = None
        experts: dict[str, int] = {}
        # offsets: n + 1
        columns = zip(range(len(table)), self.patterns, self._offsets, strict=False)
        for i, pattern, start in columns:
            if pattern.mtp:
                has_mtp = True
                if pattern.block_slot is not None:
                    mtp.add(int(nums[start + pattern.block_slot]))
                continue
            if pattern.block_slot is not None:
                block = nums[start + pattern.block_slot]
                if block != last_block:
                    index = int(block)
                    found = layers.get(index)
                    if found is None:
                        found = layers[index] = LayerTensors(index, table=table)
                    layer, last_block, last_expert = found, block, None
                layer.names.append(names[i])
                layer.patterns.add(pattern)
                role = pattern.shape_role
                if role is None:
                    continue
                if pattern.expert_slot is not None:
                    number = nums[start + pattern.expert_slot]
                    if number != last_expert:
                        experts = layer.expert_ids.setdefault(int(number), {})
                        last_expert = number
                    experts[role] = i
                elif role not in layer.roles:
                    layer.roles[role] = table[i]
                continue
            if embed is None and pattern.embed:
                embed = table[i]
            elif head is None and pattern.head:
                head = table[i]
        return DecoderBlocks(layers, mtp, has_mtp, embed, head)

    @property
    def blocks(self) -> DecoderBlocks:
        if self._blocks is None:
            self._blocks = self._build_blocks()
        return self._blocks


class RowsByName(Mapping[str, TensorInfo]):
    """A table's rows by name, from a name → row number dict (built in C): looking a name up
    makes no row, reading one makes that row only."""

    def __init__(self, table: TensorTable) -> None:
        self._table = table
        self.ids = dict(zip(table.names, range(len(table)), strict=True))

    def __getitem__(self, name: str) -> TensorInfo:
        return self._table[self.ids[name]]

    def __contains__(self, name: object) -> bool:
        return name in self.ids

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


_NUMBERS = attrgetter("numbers")
_LAYER_SLOT = attrgetter("layer_slot")


def tensor_index(ckpt: Checkpoint) -> TensorIndex | None:
    """The index of a checkpoint's tensors (None when the table is unknown), built once and
    kept on the checkpoint until its tensor list changes."""
    tensors = ckpt.tensors
    if tensors is None:
        return None
    cached = ckpt.__dict__.get("_tensor_index")
    if isinstance(cached, TensorIndex) and cached.current_for(tensors):
        return cached
    index = TensorIndex(tensors)
    ckpt.__dict__["_tensor_index"] = index
    return index


def classify(tensor: TensorInfo, quant_bits: float | None = None) -> TensorRole:
    """Component, role and packing of one tensor (the index's `roles()` does a whole table)."""
    pattern, numbers = _split(tensor.name)
    layer = None if pattern.layer_slot is None else int(numbers[pattern.layer_slot])
    return TensorRole(pattern.component, pattern.role, layer,
                      pack_factor(pattern.text, tensor.dtype, quant_bits))


def logical_params(tensor: TensorInfo, role: TensorRole) -> int:
    """Parameters this tensor represents (0 for scales, zero points, indices and buffers)."""
    if role.role != "weight":
        return 0
    return tensor.numel * role.pack_factor


#: What a block's tensor names say about its token mixer: a constant-state mixer (the SSM,
#: delta-rule, short-conv and RG-LRU parameter names of transformers' modeling files) or
#: softmax attention. First match wins; names are searched whole.
MIXER_NAME_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(\.A_log$|\.dt_bias$|\.x_proj\.|\.dt_proj\.|mixer\.conv1d|mamba\.)"),
     "recurrent"),
    (re.compile(r"(linear_attn\.|in_proj_qkvz|in_proj_ba|\.conv\.in_proj|\.conv\.conv\.)"),
     "recurrent"),
    (re.compile(r"(rg_lru\.|temporal_block\.|recurrent_param)"), "recurrent"),
    (re.compile(r"(self_attn\.(q|k|v|qkv|kv_a)_proj|attention\.(wq|wqkv|query_key_value)|"
                r"attn\.c_attn|\.Wqkv\.|self_attn\.q_a_proj)"), "attention"),
)


def _mixer_hint(name: str) -> str | None:
    return next((kind for pattern, kind in MIXER_NAME_HINTS if pattern.search(name)), None)


def mixer_hints(names: list[str]) -> set[str]:
    """The mixer kinds a block's tensor names show ("recurrent", "attention")."""
    return {kind for kind in map(_mixer_hint, names) if kind is not None}

