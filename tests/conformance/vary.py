"""A config at other sizes than the one it came with, to check that archlint's reading of a
model type holds beyond its default (or one real) configuration.

The conformance run compares archlint with transformers on one config per model type; a
formula that only holds there (a width that happens to equal the hidden size, a head_dim that
happens to be hidden / heads, an even layer count that hides an off-by-one in a pattern) passes
it. Held-out real models are other sizes of the same types, so the run is repeated on a copy
whose sizes moved, given to both sides alike:

- attention heads doubled, key/value heads kept (an MHA config stays MHA when it never named
  its KV heads; a GQA config doubles its group), so the KV ratio changes; latent attention
  (MLA: `kv_lora_rank`) doubles a `num_key_value_heads` equal to the head count with it, as
  every query head has its own K/V from the latent (transformers' MLA modules repeat the
  expanded K/V by heads / num_key_value_heads, so a kept count does not run);
- the hidden size doubled where the head size is derived from it (no `head_dim` key), so the
  head size stays what the model was trained with; kept where `head_dim` is declared, so that
  heads × head_dim differs from the hidden size;
- FFN widths × 3/2 (rounded to a multiple of 16), vocabularies + 1,024;
- one more layer when the stack has no per-layer list (so an odd count meets every
  periodic pattern), under every name that holds that depth.

Every nested text/decoder/tower config that names a hidden size and a head count moves the
same way. Where transformers refuses that config (a validator that wants MHA, ESMC and
dots3; a Mamba head layout tied to the hidden size, Bamba and Mamba-2), the run falls back to
the next of `variants`: the KV heads doubled with the query heads (the ratio kept), then the
head count and hidden size kept (widths, vocabulary and depth still move). A varied config
transformers cannot build at all is skipped, never counted.
"""

from __future__ import annotations

import copy
from typing import Any

HEADS = ("num_attention_heads", "n_head", "n_heads", "num_heads", "encoder_attention_heads",
         "decoder_attention_heads")
KV_HEADS = ("num_key_value_heads", "num_kv_heads", "n_head_kv", "n_kv_heads")
HIDDEN = ("hidden_size", "n_embd", "d_model", "dim")
WIDTHS = ("intermediate_size", "ffn_dim", "n_inner", "d_ff", "encoder_ffn_dim",
          "decoder_ffn_dim", "moe_intermediate_size", "shared_expert_intermediate_size")
VOCAB = ("vocab_size",)
LAYERS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers", "num_blocks")
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


def _vary_one(
    cfg: dict[str, Any], changes: dict[str, tuple[Any, Any]], prefix: str, mode: str
) -> None:
    heads = _first(cfg, HEADS)
    hidden = _first(cfg, HIDDEN)
    if heads is None or hidden is None:
        return
    derived_head = not _int(cfg.get("head_dim"))
    if derived_head and cfg[hidden] % cfg[heads]:
        return  # the head size is not hidden / heads: leave a config we cannot reason about
    kv_moves = [
        key for key in KV_HEADS
        if _int(cfg.get(key)) and (
            mode == "kv" or (_int(cfg.get("kv_lora_rank")) and cfg[key] == cfg[heads])
        )
    ]
    for key in (*HEADS, *kv_moves) if mode != "sizes" else ():
        if _int(cfg.get(key)):
            changes[prefix + key] = (cfg[key], cfg[key] * 2)
            cfg[key] *= 2
    if derived_head and mode != "sizes":
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
        # every name that holds the same depth moves with it (xLSTMConfig saves both
        # num_hidden_layers and num_blocks: its cache reads one, its stack the other)
        depth = cfg[layers]
        for key in LAYERS:
            if _int(cfg.get(key)) and cfg[key] == depth:
                changes[prefix + key] = (depth, depth + 1)
                cfg[key] = depth + 1


MODES = ("heads", "kv", "sizes")

#: booleans that add or remove parameters or cache (biases, q/k norms, tying, windows)
SWITCHES = ("attention_bias", "attention_out_bias", "qkv_bias", "use_qkv_bias", "mlp_bias",
            "use_bias", "bias", "add_bias_linear", "use_qk_norm", "qk_layernorm",
            "tie_word_embeddings", "use_sliding_window")


def switched(
    config: dict[str, Any], only: str | None = None, keep: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    """(a deep copy with every SWITCHES boolean it holds flipped, {dotted key: (old, new)});
    nested objects too (a text_config's own `attention_bias`). `only`: flip just that dotted
    key (`text_config.mlp_bias`), to tell which flag moves a miss; `keep`: dotted keys left
    as they are (`held_by_transformers`)."""
    out = copy.deepcopy(config)
    changes: dict[str, tuple[Any, Any]] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if key in SWITCHES and isinstance(value, bool):
                if (only is None or only == prefix + key) and prefix + key not in keep:
                    node[key] = not value
                    changes[prefix + key] = (value, not value)
            elif isinstance(value, dict):
                walk(value, f"{prefix}{key}.")

    walk(out, "")
    return out, changes


def switch_keys(config: dict[str, Any]) -> list[str]:
    """The dotted SWITCHES keys a config holds, in the order `switched` meets them."""
    return list(switched(config)[1])


#: model types whose base model registers ties beyond the head's in `_tied_weights_keys` (the
#: shared attention blocks every hybrid layer reuses), which transformers drops with the
#: head's when `tie_word_embeddings` is False: modeling_utils.py
#: `PreTrainedModel.get_expanded_tied_weights_keys` returns {} for any model whose config
#: says False. A Zamba checkpoint stores its shared blocks once whatever that flag says (they
#: are one module trained in every hybrid slot); a meta build with the flag False holds one
#: copy per slot, not a size of the model. Found in modeling_zamba.py (`ZambaModel.__init__`:
#: `layers.(?!i).*shared_transf` tied to the first hybrid layer's) and modeling_zamba2.py
#: (`Zamba2Model.get_layers`: every hybrid layer past `num_mem_blocks` tied to its cycle slot).
UNTIE_DROPS_SHARED_BLOCKS = frozenset({"zamba", "zamba2"})

_HEAD_CLASSES = ("causal_lm", "seq_to_seq_causal_lm")


def held_by_transformers(model_type: str, config: dict[str, Any]) -> dict[str, str]:
    """{top-level switch: why the switched run leaves it as it is} for flips transformers'
    own classes do not follow, so that a miss there would measure transformers, not archlint:

    - the configuration class sets `tie_word_embeddings` back (T5Config and MT5Config:
      `kwargs["tie_word_embeddings"] = True`, "we tie weights always"; Lfm2Config reads
      `tie_embedding` over it) — read from the class itself, the flipped config rebuilt;
    - the head class has no tie to follow (`_tied_weights_keys` None or {}: xLSTM, NemotronH,
      Kimi Linear, Bailing hybrid build their own lm_head even when the config says tied);
    - `UNTIE_DROPS_SHARED_BLOCKS`.
    Imports transformers: harness only."""
    value = config.get("tie_word_embeddings")
    if not isinstance(value, bool):
        return {}
    import transformers

    from archlint.families import tf_tables
    from tests.conformance import tf_side

    try:
        built = tf_side.build_config(model_type, {**config, "tie_word_embeddings": not value})
    except Exception:
        return {}
    if getattr(built, "tie_word_embeddings", not value) != (not value):
        return {"tie_word_embeddings": f"{type(built).__name__} sets it back to {value}"}
    classes = tf_tables.model_classes(model_type) or {}
    head = next((classes[k] for k in _HEAD_CLASSES if k in classes), None)
    # the base model's ties count too (FSMTModel ties decoder.output_projection itself)
    built_classes = [getattr(transformers, n, None) for n in (head, classes.get("base")) if n]
    if not value and head and built_classes[0] is not None and not any(
        getattr(c, "_tied_weights_keys", None) for c in built_classes
    ):
        return {"tie_word_embeddings": f"{head}._tied_weights_keys is empty: never tied"}
    if value and model_type in UNTIE_DROPS_SHARED_BLOCKS:
        return {"tie_word_embeddings": "False unties the shared blocks too "
                "(modeling_utils.get_expanded_tied_weights_keys)"}
    return {}


def vary(
    config: dict[str, Any], mode: str = "heads"
) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    """(a varied deep copy, {dotted key: (old, new)}); no changes when nothing could move.
    `mode`: "heads" (the module docstring), "kv" (KV heads doubled with the query heads),
    "sizes" (heads and hidden size kept)."""
    out = copy.deepcopy(config)
    changes: dict[str, tuple[Any, Any]] = {}
    _vary_one(out, changes, "", mode)
    for key, value in out.items():
        if isinstance(value, dict) and key.endswith(("_config", "decoder", "encoder")):
            _vary_one(value, changes, key + ".", mode)
    return out, changes


def variants(
    config: dict[str, Any],
) -> list[tuple[str, dict[str, Any], dict[str, tuple[Any, Any]]]]:
    """(mode, varied config, changes) for each mode that moves something and differs from
    the ones before it, in fallback order."""
    out: list[tuple[str, dict[str, Any], dict[str, tuple[Any, Any]]]] = []
    for mode in MODES:
        varied, changes = vary(config, mode)
        if changes and all(varied != seen for _, seen, _ in out):
            out.append((mode, varied, changes))
    return out
