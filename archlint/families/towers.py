"""Vision and audio towers of multimodal models, and their projectors.

A tower is read from its sub-config (`vision_config`, `audio_config`), a key it omits taking
the default of transformers' configuration class for the sub-config's model type (the
generated table). Parameter formulas follow transformers' modeling files, named per encoder;
an encoder archlint has no formula for is estimated with the plain ViT formula and marked
`understood=False` (with headers, the tensor table counts it exactly).

Letters: h = tower hidden size, I = its MLP width, L = layers, C = input channels,
p = patch size, t = text hidden size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archlint.families import tf_tables
from archlint.spec import TowerSpec


#: wrapper keys the tower reader consumes (for the coverage block)
TOWER_KEYS = (
    "vision_config",
    "audio_config",
    "projector_hidden_act",
    "multimodal_projector_bias",
    "spatial_merge_size",
    "vision_feature_layer",
    "vision_feature_select_strategy",
    "mm_tokens_per_image",
)


class TowerConfig:
    """A sub-config with transformers' defaults behind it."""

    def __init__(
        self, config: dict[str, Any], fallback_type: str | None, wrapper_default: Any = None
    ) -> None:
        self.config = config
        wrapped = wrapper_default if isinstance(wrapper_default, dict) else {}
        self.model_type = str(
            config.get("model_type") or wrapped.get("model_type") or fallback_type or "unknown"
        )
        # the wrapper's own default sub-config first (LLaVA builds a CLIP-L/336, not
        # CLIPVisionConfig()'s ViT-B), then the sub-config class's defaults
        self.defaults = {**(tf_tables.defaults_for(self.model_type) or {}), **wrapped}

    def get(self, *keys: str, default: Any = 0) -> Any:
        for key in keys:
            value = self.config.get(key)
            if value is not None:
                return value
        for key in keys:
            value = self.defaults.get(key)
            if value is not None:
                return value
        return default

    def int(self, *keys: str, default: int = 0) -> int:
        value = self.get(*keys, default=default)
        if isinstance(value, (list, tuple)) and value:
            value = value[0]
        return value if isinstance(value, int) and not isinstance(value, bool) else default


def _layer(h: int, mlp: int, *, gated: bool, bias: bool, norm_bias: bool) -> int:
    """One pre-norm encoder block: two norms, q/k/v/o, and a (gated) MLP."""
    norms = 2 * (2 * h if norm_bias else h)
    attention = 4 * h * h + (4 * h if bias else 0)
    if gated:
        ffn = 3 * h * mlp + ((2 * mlp + h) if bias else 0)
    else:
        ffn = 2 * h * mlp + ((mlp + h) if bias else 0)
    return norms + attention + ffn


def clip_like(v: TowerConfig) -> int:
    """CLIP / SigLIP vision transformers (modeling_clip, modeling_siglip): a patch conv
    (C·p²·h; SigLIP adds a bias), a learned position table ((image/p)² positions, +1 and a
    class embedding for CLIP), CLIP's pre-LayerNorm, L blocks with biased projections and a
    GELU MLP, a post-LayerNorm, and SigLIP's attention-pooling head when `vision_use_head`."""
    h, mlp, layers = v.int("hidden_size"), v.int("intermediate_size"), v.int("num_hidden_layers")
    patch, image, channels = v.int("patch_size"), v.int("image_size"), v.int("num_channels", default=3)
    clip = v.model_type.startswith("clip")
    positions = (image // patch) ** 2 if patch else 0
    total = channels * patch * patch * h + (0 if clip else h)
    total += (positions + 1) * h + h if clip else positions * h
    total += 2 * h if clip else 0  # pre_layrnorm
    total += layers * _layer(h, mlp, gated=False, bias=True, norm_bias=True)
    total += 2 * h  # post_layernorm
    if not clip and v.get("vision_use_head", default=True):
        total += h + (3 * h * h + 3 * h) + (h * h + h) + 2 * h + (2 * h * mlp + mlp + h)
    return total


def pixtral(v: TowerConfig) -> int:
    """Pixtral (modeling_pixtral): an unbiased patch conv, an RMSNorm before the blocks, L
    blocks with RMSNorms, unbiased q/k/v/o and a gated SiLU MLP; RoPE, no position table."""
    h, mlp, layers = v.int("hidden_size"), v.int("intermediate_size"), v.int("num_hidden_layers")
    patch, channels = v.int("patch_size"), v.int("num_channels", default=3)
    return channels * patch * patch * h + h + layers * _layer(
        h, mlp, gated=True, bias=False, norm_bias=False
    )


def qwen_vl(v: TowerConfig) -> int:
    """Qwen2.5-VL's vision encoder (modeling_qwen2_5_vl): an unbiased 3-D patch conv
    (C·t·p²·h), L blocks with RMSNorms, a biased fused qkv and proj, a biased gated MLP, and
    the patch merger (an RMSNorm, then h·m² → h·m² → out, biased)."""
    h, mlp, layers = v.int("hidden_size"), v.int("intermediate_size"), v.int("depth")
    patch, temporal = v.int("patch_size"), v.int("temporal_patch_size", default=2)
    channels, merge = v.int("in_channels", default=3), v.int("spatial_merge_size", default=2)
    out = v.int("out_hidden_size")
    merged = h * merge * merge
    merger = h + (merged * merged + merged) + (merged * out + out)
    return channels * temporal * patch * patch * h + layers * _layer(
        h, mlp, gated=True, bias=True, norm_bias=False
    ) + merger


ENCODERS: dict[str, Callable[[TowerConfig], int]] = {
    "clip_vision_model": clip_like,
    "siglip_vision_model": clip_like,
    "pixtral": pixtral,
    "qwen2_5_vl_vision": qwen_vl,
}


def _generic(v: TowerConfig) -> int:
    """An encoder without its own formula: L plain ViT blocks at (h, I) plus a patch conv."""
    h = v.int("hidden_size", "embed_dim", "d_model")
    mlp = v.int("intermediate_size", "encoder_ffn_dim", default=4 * h)
    layers = v.int("num_hidden_layers", "depth", "encoder_layers", "num_layers")
    patch, channels = v.int("patch_size"), v.int("num_channels", "in_channels", default=3)
    return channels * patch * patch * h + layers * _layer(
        h, mlp, gated=False, bias=True, norm_bias=True
    )


def projector(wrapper: str, root: dict[str, Any], vision_h: int, text_h: int) -> int | None:
    """The module that maps tower features into the language model, per wrapper type."""
    defaults = tf_tables.defaults_for(wrapper) or {}

    def flag(key: str, default: bool) -> bool:
        value = root.get(key, defaults.get(key, default))
        return bool(value)

    if wrapper in ("llava", "llava_next", "llava_onevision"):
        # linear_1 (vision → text) → GELU → linear_2 (text → text)
        bias = flag("multimodal_projector_bias", True)
        return vision_h * text_h + text_h * text_h + (2 * text_h if bias else 0)
    if wrapper == "gemma3":
        return vision_h * text_h + vision_h  # mm_input_projection_weight + mm_soft_emb_norm
    if wrapper == "mistral3":
        merge = int(root.get("spatial_merge_size", defaults.get("spatial_merge_size", 2)) or 2)
        bias = flag("multimodal_projector_bias", False)
        return (
            vision_h
            + vision_h * merge * merge * vision_h
            + vision_h * text_h
            + text_h * text_h
            + (2 * text_h if bias else 0)
        )
    return None


def read_towers(config: dict[str, Any], text_hidden: int) -> list[TowerSpec]:
    """The towers a wrapper config declares (or its class builds by default)."""
    wrapper = config.get("model_type")
    if not isinstance(wrapper, str):
        return []
    subs = tf_tables.sub_configs(wrapper)
    towers: list[TowerSpec] = []
    for key, name in (("vision_config", "vision"), ("audio_config", "audio")):
        raw = config.get(key)
        if key not in subs and not isinstance(raw, dict):
            continue
        # a declared sub-config is built from its type's class defaults; an absent one is the
        # wrapper's default sub-config (LLaVA's CLIP-L/336)
        sub = TowerConfig(
            raw if isinstance(raw, dict) else {},
            subs.get(key),
            None if isinstance(raw, dict) else (tf_tables.defaults_for(wrapper) or {}).get(key),
        )
        formula = ENCODERS.get(sub.model_type)
        params = (formula or _generic)(sub)
        towers.append(
            TowerSpec(
                name=name,
                kind=sub.model_type,
                params=params,
                num_layers=sub.int("num_hidden_layers", "depth", "encoder_layers"),
                hidden_size=sub.int("hidden_size", "embed_dim", "d_model"),
                understood=formula is not None,
            )
        )
        if name == "vision":
            proj = projector(wrapper, config, sub.int("hidden_size"), text_hidden)
            if proj is not None:
                towers.append(
                    TowerSpec(name="projector", kind=wrapper, params=proj, understood=True)
                )
            elif sub.model_type != "qwen2_5_vl_vision":
                towers.append(
                    TowerSpec(name="projector", kind=wrapper, params=0, understood=False)
                )
    return towers
