"""Shrink a config's layer count for the cache observation, keeping its layer pattern.

Parameters are compared on the full config (building on the meta device costs no memory);
the KV cache and recurrent state are compared on a shrunken copy, given to archlint and to
transformers alike, so the comparison stays like for like. A meta forward costs ~70 ms per
layer, which is what makes shrinking worth it.

How the pattern is kept: with L layers, every per-layer value in the config — a list or string
of length L (`layer_types`, `hybrid_override_pattern`, `layers_block_type`, `no_rope_layers`...;
a list may also carry one entry per multi-token-prediction layer after the stack, DeepSeek-V4's
`compress_ratios`, which keeps those) — is cut to its first K entries (a dict keyed by layer
index, Gemma-4's `per_layer_config`, keeps the layers below K), where K is the shortest prefix
that holds every distinct entry of every such value. Layer-index lists (`mlp_only_layers`,
`attn_layer_indices`...) keep the indices below K, and K is raised until each list keeps at
least one; `per_layer_config` (entries by layer index) drops the entries of the layers cut away.
Periodic keys (`*_period`, `*_offset`, `*_interval`, `*_step`, `*_freq`,
`first_k_dense_replace`, `sliding_window_pattern`...) raise K to value + 1, so that the first
period is complete; a pattern list shorter than the stack, cycled over it (RecurrentGemma's
`block_types`), raises K to its length. K is at least 2 and never above L; when K == L nothing
changes.
Nested text/decoder configs are shrunk the same way; encoder-decoders cut both stacks (also
when each stack has its own sub-config: `encoder_config`, `decoder_config`).

A layer-index list the config leaves to its class default (Mllama's `cross_attention_layers`
[3, 8, ... 38], which most real Mllama configs do not write) is a pattern all the same:
cut alone, the copy keeps 2 layers while transformers still reads the default indices, so
no cross-attention layer is left to observe and a regression there is invisible. With
`completed` (the same config as transformers' configuration class completes it:
`PreTrainedConfig.to_dict()`), such a list the config leaves out is written into the copy
first, at every level, and kept consistent with the cut like a declared one.
"""

from __future__ import annotations

import copy
import re
from typing import Any

LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers", "decoder_layers")
STACK_KEYS = ("encoder_layers", "num_decoder_layers", "decoder_layers")
_PERIODIC = re.compile(
    r"(period|offset|interval|_step$|freq|first_k_dense|pattern$|every|_ratio_layers)"
)
_INDEXES = re.compile(r"(layer|idx|indices|ids)")
_CYCLE = re.compile(r"(types|pattern|block)")
NESTED = ("text_config", "llm_config", "language_config", "decoder", "thinker_config",
          "encoder_config", "decoder_config")
MIN_LAYERS = 2
#: HRM-Text's blocks per stack: its num_hidden_layers is per_stack × H_cycles × (L_cycles + 1)
#: cache slots, and a null per-stack count makes the config read num_hidden_layers as it
PER_STACK_KEY = "num_layers_per_stack"
#: Gemma-3n's count of trailing layers that read an earlier layer's cache (see _shrink_in)
SHARED_TAIL_KEY = "num_kv_shared_layers"
MTP_KEY = "num_nextn_predict_layers"


def _num_layers(cfg: dict[str, Any]) -> tuple[str, int] | None:
    for key in LAYER_KEYS:
        value = cfg.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return key, value
    return None


#: a string is a per-layer pattern only under a key that says so (`hybrid_override_pattern`);
#: any other string that happens to be L characters long (a 13-letter `model_type` in a
#: 13-layer config) is left whole
_PATTERN_STRING = re.compile(r"(pattern|types|layers|block)")


def _per_layer(key: str, value: Any, n: int, tail: int = 0) -> bool:
    """`value` holds one entry per layer of an `n`-layer stack (and, for a list, possibly one
    per multi-token-prediction layer after them: `tail`)."""
    if n <= 1 or not isinstance(value, (list, str)):
        return False
    if isinstance(value, list):
        return len(value) in (n, n + tail)
    return len(value) == n and _PATTERN_STRING.search(key) is not None


def _mtp_tail(cfg: dict[str, Any]) -> int:
    """Layers past the stack that per-layer lists may also describe: DeepSeek-V4's
    `compress_ratios` ends with its `num_nextn_predict_layers` MTP entries (transformers
    reads the first num_hidden_layers; vLLM counts them in)."""
    value = cfg.get(MTP_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def plan(cfg: dict[str, Any], n: int, at_least: int = MIN_LAYERS) -> int:
    """The K described in the module docstring (and never under `at_least`)."""
    k = max(MIN_LAYERS, at_least)
    tail = _mtp_tail(cfg)
    for key, value in cfg.items():
        if _per_layer(key, value, n, tail):
            seen: set[Any] = set()
            for i, item in enumerate(value[:n]):
                marker = repr(item)
                if marker not in seen:
                    seen.add(marker)
                    k = max(k, i + 1)
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and _INDEXES.search(key)
            and max(value) < n
        ):
            k = max(k, min(value) + 1)
            if len(value) < n:
                # keep one layer outside the list too, when there is one
                outside = [i for i in range(n) if i not in set(value)]
                k = max(k, outside[0] + 1)
        elif (
            isinstance(value, (list, str))
            and 1 < len(value) < n
            and _CYCLE.search(key)
            and all(isinstance(v, str) for v in value)
        ):
            k = max(k, len(value))  # a pattern cycled over the stack (RecurrentGemma)
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and _PERIODIC.search(key)
            and 0 < value < n
        ):
            k = max(k, value + 1)
    return min(k, n)


def _layer_keyed(value: Any) -> bool:
    """A dict keyed by layer index (transformers' `per_layer_config`: "02" or 2 is layer 2)."""
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, int) or (isinstance(k, str) and k.isdigit()) for k in value
    )


def _cut(cfg: dict[str, Any], n: int, k: int) -> None:
    for key, value in list(cfg.items()):
        if key == "per_layer_config" and _layer_keyed(value):
            # the layers cut away take their entries with them (transformers refuses an
            # entry past the stack)
            cfg[key] = {i: v for i, v in value.items() if int(i) < k}
        elif _per_layer(key, value, n, _mtp_tail(cfg)):
            cfg[key] = value[:k] + value[n:]  # the stack's first K, then any MTP entries
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and _INDEXES.search(key)
            and max(value) < n
        ):
            cfg[key] = [v for v in value if v < k]


def shrink_layers(
    config: dict[str, Any], at_least: int = MIN_LAYERS, completed: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """(shrunken copy, {dotted key: (before, after)}); `at_least` raises K (a copy that
    transformers cannot build or run is shrunk less: see `run`); `completed`: see the module
    docstring."""
    out = copy.deepcopy(config)
    changes: dict[str, tuple[int, int]] = {}
    _shrink_in(out, "", changes, at_least, completed)
    return out, changes


def _index_list(key: str, value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and _INDEXES.search(key) is not None
    )


def _implied_index_lists(
    cfg: dict[str, Any], n: int, completed: dict[str, Any] | None
) -> dict[str, list[int]]:
    """The layer-index lists transformers completes `cfg` with, valid for its `n` layers."""
    return {
        key: list(value)
        for key, value in (completed or {}).items()
        if key not in cfg and _index_list(key, value) and max(value) < n
    }


def _shrink_in(
    cfg: dict[str, Any], prefix: str, changes: dict[str, tuple[int, int]], at_least: int,
    completed: dict[str, Any] | None = None,
) -> None:
    found = _num_layers(cfg)
    if found is not None:
        key, n = found
        implied = _implied_index_lists(cfg, n, completed)
        if implied and plan({**cfg, **implied}, n, at_least) < n:
            cfg.update(implied)
        k = plan(cfg, n, at_least)
        shared = cfg.get(SHARED_TAIL_KEY)
        if isinstance(shared, int) and not isinstance(shared, bool) and 0 < shared < n and k < n:
            # the last `shared` layers read earlier layers' K/V: keep K layers with their own
            # cache and up to K sharing ones after them, so both parts are observed
            tail = min(shared, k, n - k)
            changes[prefix + SHARED_TAIL_KEY] = (shared, tail)
            cfg[SHARED_TAIL_KEY] = tail
            k += tail
        if k < n:
            _cut(cfg, n, k)
            for layer_key in LAYER_KEYS + STACK_KEYS:
                if cfg.get(layer_key) == n:
                    cfg[layer_key] = k
            changes[prefix + key] = (n, k)
            if isinstance(cfg.get(PER_STACK_KEY), int):
                # the layer count is derived from a per-stack count (below): cut alone, it
                # would leave a config transformers cannot run; the cut count becomes the
                # per-stack one, from which both sides derive the total again
                changes[prefix + PER_STACK_KEY] = (cfg[PER_STACK_KEY], k)
                cfg[PER_STACK_KEY] = None
    for stack in STACK_KEYS:
        value = cfg.get(stack)
        is_count = isinstance(value, int) and not isinstance(value, bool)
        if is_count and value > MIN_LAYERS and prefix + stack not in changes:
            changes[prefix + stack] = (value, MIN_LAYERS)
            cfg[stack] = MIN_LAYERS
    for nested in NESTED:
        sub = cfg.get(nested)
        if isinstance(sub, dict):
            done = (completed or {}).get(nested)
            _shrink_in(sub, f"{prefix}{nested}.", changes, at_least,
                       done if isinstance(done, dict) else None)
