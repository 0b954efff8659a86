"""Tensor name → role lookup across families, for the config ⇄ weights rules.

Hugging Face `nn.Linear` weights are stored `[out, in]`; GPT-2's `Conv1D` (c_attn, c_fc,
c_proj in `modeling_gpt2.py`) stores `[in, out]`. Fused expert tensors (gpt-oss, Llama 4) are
`[E, in, out]` in bf16 and `[E, out, in/32, 16]` as MXFP4 `_blocks` (two fp4 per byte, 32
values per block). Packed integer tensors (GPTQ `qweight`, bitsandbytes U8) have no logical
shape here and are skipped by the shape checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from archlint.checkpoint import TensorInfo

# A decoder block: `<prefix>.(layers|h|blocks).N.<rest>`; the prefix must not be a
# vision/audio tower, an encoder stack or an `mtp.` module (handled separately).
_BLOCK = re.compile(r"(?:^|\.)(?:layers|h|blocks)\.(\d+)\.")
_FOREIGN = re.compile(r"(vision|visual|audio|image|encoder|multi_modal|projector)")
_MTP_PREFIX = re.compile(r"^(?:model\.)?mtp\.")

#: (pattern on the part after `layers.N.`, role) — first match wins.
_ROLES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"(?:^|\.)(?:shared_experts?|shared_mlp)\.(?:gate_proj|w1)\.weight$", "shared_gate"),
    (r"(?:^|\.)(?:shared_experts?|shared_mlp)\.(?:up_proj|w3)\.weight$", "shared_up"),
    (r"(?:^|\.)(?:shared_experts?|shared_mlp)\.(?:down_proj|w2)\.weight$", "shared_down"),
    (r"(?:^|\.)experts\.\d+\.(?:gate_proj|w1)\.(?:weight|qweight|weight_packed)$", "expert_gate"),
    (r"(?:^|\.)experts\.\d+\.(?:up_proj|w3)\.(?:weight|qweight|weight_packed)$", "expert_up"),
    (r"(?:^|\.)experts\.\d+\.(?:down_proj|w2)\.(?:weight|qweight|weight_packed)$", "expert_down"),
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
_EXPERT_INDEX = re.compile(r"(?:^|\.)experts\.(\d+)\.")
_EMBED = re.compile(
    r"(?:^|\.)(?:embed_tokens|wte|word_embeddings|tok_embeddings|embed_in)\.weight$")
_HEAD = re.compile(r"^(?:lm_head|embed_out|output)\.weight$|^(?:model\.)?(?:language_model\.)?"
                   r"lm_head\.weight$")
#: GPT-2 Conv1D modules, stored [in, out].
_CONV1D = re.compile(r"(?:^|\.)(?:c_attn|c_fc|c_proj)\.weight$")
#: Dtypes whose stored shape is not the logical one (packed integers).
PACKED_DTYPES = frozenset({"U8", "I32", "U32", "I8", "I16", "U16"})


@dataclass
class LayerTensors:
    index: int
    roles: dict[str, TensorInfo] = field(default_factory=dict)
    experts: dict[int, dict[str, TensorInfo]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)


@dataclass
class TensorIndex:
    layers: dict[int, LayerTensors]
    mtp_modules: set[int]  # indices under an `mtp.layers.N` prefix
    has_mtp_prefix: bool
    embed: TensorInfo | None
    lm_head: TensorInfo | None
    by_name: dict[str, TensorInfo]
    conv1d: bool = False  # GPT-2 Conv1D layout for c_attn / c_fc / c_proj

    def layer(self, index: int) -> LayerTensors | None:
        return self.layers.get(index)


def build_index(tensors: list[TensorInfo]) -> TensorIndex:
    layers: dict[int, LayerTensors] = {}
    mtp: set[int] = set()
    has_mtp = False
    embed = head = None
    by_name: dict[str, TensorInfo] = {}
    for tensor in tensors:
        name = tensor.name
        by_name[name] = tensor
        if _MTP_PREFIX.match(name):
            has_mtp = True
            block = _BLOCK.search(name)
            if block:
                mtp.add(int(block.group(1)))
            continue
        block = _BLOCK.search(name)
        if block is not None:
            if block.start() and _FOREIGN.search(name, 0, block.start()):
                continue
            index = int(block.group(1))
            layer = layers.get(index)
            if layer is None:
                layer = layers[index] = LayerTensors(index)
            rest = name[block.end():]
            layer.names.append(name)
            role = _role_in_layer(rest)
            if role is None:
                continue
            if role.startswith("expert_"):
                expert = int(_EXPERT_INDEX.search(rest).group(1))  # type: ignore[union-attr]
                layer.experts.setdefault(expert, {})[role] = tensor
            else:
                layer.roles.setdefault(role, tensor)
            continue
        if _FOREIGN.search(name):
            continue
        if embed is None and _EMBED.search(name):
            embed = tensor
        elif head is None and _HEAD.search(name):
            head = tensor
    return TensorIndex(layers, mtp, has_mtp, embed, head, by_name)


_DIGITS = re.compile(r"\d+")


def _role_in_layer(rest: str, _cache: dict[str, str | None] = {}) -> str | None:  # noqa: B006
    """The role of a name's part after `layers.N.`; names differing only in numbers (expert
    indices) share one regex pass, which matters for 90k-tensor checkpoints."""
    key = _DIGITS.sub("#", rest)
    if key not in _cache:
        _cache[key] = next((role for pattern, role in _ROLES if pattern.search(rest)), None)
    return _cache[key]


def weight_role(name: str, _cache: dict[str, bool] = {}) -> bool:  # noqa: B006
    """True when `name` is a parameter (not a quantization scale, zero point, index or
    buffer), per archlint.tensors; cached on the name with its numbers blanked."""
    key = _DIGITS.sub("#", name)
    if key not in _cache:
        from archlint.tensors import _role_of

        _cache[key] = _role_of(name) == "weight"
    return _cache[key]


def tensor_index(analysis: Any) -> TensorIndex | None:
    """The index of an analysis' tensors, built once per analysis."""
    tensors = analysis.checkpoint.tensors
    if tensors is None:
        return None
    cached = getattr(analysis, "_archlint_tensor_index", None)
    if cached is not None and cached[0] is tensors:
        return cached[1]  # type: ignore[no-any-return]
    index = build_index(tensors)
    index.conv1d = analysis.spec.model_type == "gpt2"
    analysis._archlint_tensor_index = (tensors, index)
    return index


def out_in(tensor: TensorInfo, conv1d: bool = False) -> tuple[int, int] | None:
    """(out_features, in_features) of a 2-D linear weight, None when packed or not 2-D.
    `conv1d`: the model is GPT-2, whose c_attn/c_fc/c_proj are Conv1D ([in, out]); other
    families reuse those names for nn.Linear (StarCoder2, GPTBigCode)."""
    if len(tensor.shape) != 2 or tensor.dtype in PACKED_DTYPES:
        return None
    rows, cols = tensor.shape
    if conv1d and _CONV1D.search(tensor.name):
        return cols, rows
    return rows, cols


def fused_expert_dims(tensor: TensorInfo) -> tuple[int, int, int] | None:
    """(experts, out, in) of a fused expert tensor: `[E, out, in/32, 16]` MXFP4 blocks or
    `[E, in, out]` unquantized (gpt-oss / Llama 4 modeling code multiplies x @ W)."""
    shape = tensor.shape
    if tensor.name.endswith("_blocks") and len(shape) == 4:
        return shape[0], shape[1], shape[2] * shape[3] * 2
    if len(shape) == 3 and tensor.dtype not in PACKED_DTYPES:
        return shape[0], shape[2], shape[1]
    return None


def layer_span(indices: list[int]) -> str:
    """`[0, 1, 2, 5]` → `0-2, 5` (for messages about many layers)."""
    if not indices:
        return ""
    indices = sorted(indices)
    parts: list[str] = []
    start = prev = indices[0]
    for i in [*indices[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ", ".join(parts)
