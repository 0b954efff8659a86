"""What an adapter understood: per layer group and component, and the config keys that shape
the architecture but that no reader consumed.

A key "shapes the architecture" when its name says it sets a layer pattern, a block's
structure, a state-space setting or a tower (see `SHAPING`); keys that only tune training or
generation (dropout, init, token ids, losses, eps) never do. A shaping key that is present,
not null/false/empty, and was never asked for by the adapter is reported as not understood:
the numbers may not describe what it changes.
"""

from __future__ import annotations

import re
from typing import Any

from archlint.spec import Coverage, CoverageHow, CoverageItem, LayerSpec

SHAPING = re.compile(
    r"(layer_types|layers_block_type|block_types|block_configs|hybrid_override_pattern|"
    r"_pattern$|attn_layer_|expert_layer_|_layer_indices|_layer_idx|_layers$|^layers_|"
    r"^ssm_|_ssm|^mamba_|^mamba$|^linear_|conv_kernel|conv_l_cache|d_state|state_size|"
    r"^moe_|_experts$|experts_per|^n_routed|^n_shared|num_experts|top_?k|"
    r"kv_lora|q_lora|rope_head|nope_head|index_|lru_|window|chunk|share|cla_|"
    r"cross_attention|^vision_config$|^audio_config$|^speech_config$|projector|"
    r"kv_heads|key_value|head_dim|_head_size|num_heads|attention_heads|ffn_dim|ff_dim|"
    r"intermediate|hidden_size$|^d_model$|n_embd|^dim$|"
    # remote-code dialects: Qwen-1 / ChatGLM head width and bias switch, ChatGLM-6B (v1)'s
    # 2D positions, OpenELM's layer-wise scaling lists (per-layer heads and FFN multipliers)
    r"kv_channels|^no_bias$|position_encoding_2d|query_heads|^model_dim$|ffn_multipliers|"
    r"qkv_multipliers)",
    re.IGNORECASE,
)
#: never shaping, even when the pattern matches (names of training/generation settings)
BENIGN = re.compile(
    r"(dropout|init|_eps$|epsilon|token_id|loss|jitter|scale$|scaling_factor|"
    r"(?<!ffn_)(?<!qkv_)multiplier|"
    r"_range$|use_cache|output_|return_|chunk_size_feed_forward|ignore|_labels?$|"
    r"time_step|dt_min|dt_max|dt_init|dt_limit|rescale|cache_dtype|num_logits|"
    r"use_mamba_kernels|use_mambapy|associative|_impl$|implementation|capacity|"
    r"normalization|norm_topk|router_aux|z_loss|^chunk_size$|mamba_chunk_size)",
    re.IGNORECASE,
)


def _meaningful(value: Any) -> bool:
    return value not in (None, False, 0, "", [], {})


def unknown_keys(config: dict[str, Any], asked: set[str], prefix: str = "") -> list[str]:
    """Shaping keys of `config` (and of its text_config) that no reader asked for."""
    asked_leaf = {key.split(".")[-1] for key in asked}
    out: list[str] = []
    for key, value in config.items():
        if not isinstance(key, str) or not _meaningful(value):
            continue
        if key == "text_config" and isinstance(value, dict):
            out.extend(unknown_keys(value, asked, "text_config."))
            continue
        if SHAPING.search(key) and not BENIGN.search(key) and key not in asked_leaf:
            out.append(prefix + key)
    return sorted(out)


def _span(indices: list[int]) -> str:
    if len(indices) == 1:
        return f"layer {indices[0]}"
    if indices == list(range(indices[0], indices[-1] + 1)):
        return f"layers {indices[0]}-{indices[-1]}"
    more = ", …" if len(indices) > 6 else ""
    return f"{len(indices)} layers ({', '.join(map(str, indices[:6]))}{more})"


def _describe(layer: LayerSpec) -> str:
    mixers = []
    for mix in layer.mixers():
        if mix.kind == "linear" and mix.linear is not None:
            mixers.append(mix.linear.variant)
        elif mix.source == "encoder":
            mixers.append(f"cross-attention ({mix.kind})")
        else:
            mixers.append(mix.kind)
    return " ∥ ".join(mixers) + f" + {layer.ffn.kind} FFN"


def layer_coverage(layers: list[LayerSpec], how: CoverageHow, detail: str) -> list[CoverageItem]:
    """One item per distinct block description, naming its layers."""
    groups: dict[str, list[int]] = {}
    for layer in layers:
        groups.setdefault(_describe(layer), []).append(layer.index)
    items = []
    for description, indices in groups.items():
        unknown = "unknown" in description
        items.append(
            CoverageItem(
                part=f"{_span(indices)}: {description}",
                how="not_understood" if unknown else how,
                detail="a constant-state mixer archlint cannot describe; its parameters and "
                "state are not counted from the config" if unknown else detail,
            )
        )
    return items


def missing_standard_keys(layers: list[LayerSpec], config: dict[str, Any]) -> list[CoverageItem]:
    """What the generic reader could not count because a standard key is absent: with no
    adapter there is no configuration class to supply its default (Llama's would), so the
    part is reported as not understood rather than counted as empty."""
    items = []
    headless = [layer.index for layer in layers if layer.attention.kind == "none"]
    if headless:
        items.append(CoverageItem(
            part=f"attention of {_span(headless)}", how="not_understood",
            detail="no num_attention_heads under any standard name: attention not counted",
        ))
    guessed = [layer.index for layer in layers
               if getattr(layer.ffn.provenance.get("intermediate_size"), "kind", None) == "derived"]
    if guessed:
        items.append(CoverageItem(
            part=f"FFN width of {_span(guessed)}", how="assumed",
            detail="no intermediate_size under any standard name: 4 × hidden_size assumed",
        ))
    nested = config.get("text_config")
    scopes = [config, nested if isinstance(nested, dict) else {}]
    for keys, part, detail in _STANDARD:
        if not any(scope.get(key) for scope in scopes for key in keys):
            items.append(CoverageItem(part=part, how="not_understood", detail=detail))
    return items


#: standard keys without which the generic reader counts a part as empty
_STANDARD = (
    (("hidden_size", "n_embd", "n_embed", "d_model", "dim"), "hidden size",
     "no hidden_size under any standard name: every width is unknown, nothing is counted"),
    (("vocab_size", "padded_vocab_size"), "token embedding and head",
     "no vocab_size: the vocabulary tables are not counted"),
)


def build_coverage(
    layers: list[LayerSpec],
    *,
    how: CoverageHow,
    detail: str,
    config: dict[str, Any],
    asked: set[str],
    unknown_layer_types: set[str],
    extra: list[CoverageItem] | None = None,
) -> Coverage:
    items = layer_coverage(layers, how, detail) + list(extra or [])
    if how == "generic":
        items += missing_standard_keys(layers, config)
    for name in sorted(unknown_layer_types):
        items.append(
            CoverageItem(
                part=f"layer type {name!r}",
                how="not_understood",
                detail="read as full attention",
            )
        )
    return Coverage(items=items, unknown_keys=unknown_keys(config, asked))
