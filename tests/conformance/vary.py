"""A config at other sizes than the one it came with, to check that archlint's reading of a
model type holds beyond its default (or one real) configuration.

The conformance run compares archlint with transformers on one config per model type; a
formula that only holds there (a width that happens to equal the hidden size, a head_dim that
happens to be hidden / heads, an even layer count that hides an off-by-one in a pattern) passes
it. Held-out real models are other sizes of the same types, so the run is repeated on a copy
whose sizes moved, given to both sides alike:

- attention heads doubled, key/value heads kept (an MHA config stays MHA when it never named
  its KV heads; a GQA config doubles its group), so the KV ratio changes; MLA's declared KV
  heads (equal to the heads) double with them, as its modeling requires;
- the hidden size doubled where the head size is derived from it (no `head_dim` key), so the
  head size stays what the model was trained with; kept where `head_dim` is declared, so that
  heads × head_dim differs from the hidden size;
- FFN widths × 3/2 (rounded to a multiple of 16), vocabularies + 1,024;
- one more layer when the stack has no per-layer list (so an odd count meets every
  periodic pattern).

Every nested text/decoder/tower config that names a hidden size and a head count moves the
same way. A varied config transformers cannot build is skipped, never counted.
"""

from __future__ import annotations

import copy
from typing import Any

HEADS = ("num_attention_heads", "n_head", "n_heads", "num_heads", "encoder_attention_heads",
         "decoder_attention_heads")
HIDDEN = ("hidden_size", "n_embd", "d_model", "dim")
WIDTHS = ("intermediate_size", "ffn_dim", "n_inner", "d_ff", "encoder_ffn_dim",
          "decoder_ffn_dim", "moe_intermediate_size", "shared_expert_intermediate_size")
VOCAB = ("vocab_size",)
LAYERS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
#: a list this long is per layer: the layer count cannot move without rewriting it
_PER_LAYER_HINTS = ("types", "pattern", "layers", "block", "indices", "idx", "ids")


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _first(cfg: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if _int(cfg.get(k))), None)


def _has_per_layer_list(cfg: dict[str, Any]) -> bool:
    return any(
        isinstance(v, (list, str)) and any(h in k for h in _PER_LAYER_HINTS)
        for k, v in cfg.items()
        if not k.endswith("_config")
    )


def _vary_one(cfg: dict[str, Any], changes: dict[str, tuple[Any, Any]], prefix: str) -> None:
    heads = _first(cfg, HEADS)
    hidden = _first(cfg, HIDDEN)
    if heads is None or hidden is None:
        return
    derived_head = not _int(cfg.get("head_dim"))
    if derived_head and cfg[hidden] % cfg[heads]:
        return  # the head size is not hidden / heads: leave a config we cannot reason about
    # MLA (kv_lora_rank) expands its latent to one key/value per query head: DeepSeek's
    # modeling repeats them heads // num_key_value_heads times, so KV heads equal to the
    # heads must move with them (else transformers' forward fails on the varied copy)
    mla_kv = _int(cfg.get("kv_lora_rank")) and cfg.get("num_key_value_heads") == cfg[heads]
    for key in (*HEADS, *(("num_key_value_heads",) if mla_kv else ())):
        if _int(cfg.get(key)):
            changes[prefix + key] = (cfg[key], cfg[key] * 2)
            cfg[key] *= 2
    if derived_head:
        for key in HIDDEN:
            if _int(cfg.get(key)):
                changes[prefix + key] = (cfg[key], cfg[key] * 2)
                cfg[key] *= 2
    for key in WIDTHS:
        if _int(cfg.get(key)):
            new = max(16, round(cfg[key] * 3 / 2 / 16) * 16)
            changes[prefix + key] = (cfg[key], new)
            cfg[key] = new
    for key in VOCAB:
        if _int(cfg.get(key)):
            changes[prefix + key] = (cfg[key], cfg[key] + 1024)
            cfg[key] += 1024
    layers = _first(cfg, LAYERS)
    if layers is not None and not _has_per_layer_list(cfg):
        changes[prefix + layers] = (cfg[layers], cfg[layers] + 1)
        cfg[layers] += 1


def vary(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    """(a varied deep copy, {dotted key: (old, new)}); no changes when nothing could move."""
    out = copy.deepcopy(config)
    changes: dict[str, tuple[Any, Any]] = {}
    _vary_one(out, changes, "")
    for key, value in out.items():
        if isinstance(value, dict) and key.endswith(("_config", "decoder", "encoder")):
            _vary_one(value, changes, key + ".")
    return out, changes
