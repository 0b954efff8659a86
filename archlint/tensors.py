"""Tensor names → component, role and logical parameter count.

Names follow the Hugging Face modeling files (`model.layers.N.self_attn.q_proj.weight`,
`transformer.h.N.attn.c_attn.weight`, ...). The rules are ordered: the first match wins, so
norms are recognised before attention (`post_attention_layernorm`), routers before dense
FFNs (`mlp.gate.weight` vs `mlp.gate_proj.weight`), and shared experts before experts.

Quantized storage is unpacked to logical parameters:
- FP8 block quantization: `weight_scale_inv` / `weight_scale` are scales, not parameters.
- MXFP4 (gpt-oss): `*_blocks` are U8 holding two 4-bit values per byte; `*_scales` are E8M0
  scales per 32 values (OCP Microscaling spec v1.0).
- GPTQ/AWQ: `qweight` I32 packs 32/bits values; `qzeros`, `scales`, `g_idx` are metadata.
- compressed-tensors pack-quantized: `weight_packed` packs 32/bits values per I32.
- bitsandbytes 4-bit: U8 `weight` holds two values per byte; `absmax`/`quant_map` metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

from archlint.checkpoint import TensorInfo

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

_LAYER = re.compile(r"(?:^|\.)(?:layers|h|blocks|block|layer)\.(\d+)\.")

# (pattern, component) — first match wins; patterns search the full name.
_RULE_TEXT: tuple[tuple[str, Component], ...] = (
    (r"(^|\.)(mtp|nextn)\.", "mtp"),
    (
        r"(vision_tower|vision_model|visual|multi_modal_projector|image_newline|audio_tower|"
        r"audio_encoder|mm_projector|embed_vision|embed_audio|vision_embed|audio_model)",
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


@dataclass(frozen=True, slots=True)
class TensorRole:
    component: Component
    role: Role
    layer: int | None
    pack_factor: int  # logical values per stored element (1 unless packed)


def layer_of(name: str) -> int | None:
    match = _LAYER.search(name)
    return int(match.group(1)) if match else None


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


_INDEX_SEGMENT = re.compile(r"\.\d+\.")


@lru_cache(maxsize=4096)
def _classify_shape(
    pattern: str, dtype: str, quant_bits: float | None
) -> tuple[Component, Role, int]:
    return component_of(pattern), _role_of(pattern), pack_factor(pattern, dtype, quant_bits)


def classify(tensor: TensorInfo, quant_bits: float | None = None) -> TensorRole:
    """Component, role and packing of a tensor. The regexes run once per name *pattern*:
    layer and expert numbers are folded to 0 first (none of the rules depend on them), so
    DeepSeek-V3's 92k names cost ~100 regex passes instead of ~1M."""
    pattern = _INDEX_SEGMENT.sub(".0.", _INDEX_SEGMENT.sub(".0.", tensor.name))
    component, role, pack = _classify_shape(pattern, tensor.dtype, quant_bits)
    return TensorRole(component, role, layer_of(tensor.name), pack)


def logical_params(tensor: TensorInfo, role: TensorRole) -> int:
    """Parameters this tensor represents (0 for scales, zero points, indices and buffers)."""
    if role.role != "weight":
        return 0
    return tensor.numel * role.pack_factor
