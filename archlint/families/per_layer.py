"""`per_layer_config`: a layer's own values for any config key (transformers 5's
HeterogeneousConfigMixin, `configuration_utils.py`: the config of layer i is the model's with
`per_layer_config[i]` applied over it; dots3 gives its sliding layers other heads and latent
ranks this way, and its pyramid MoE other expert counts). Entries are keyed by the layer
index, as an int or a string ("02" is layer 2, as transformers reads it with int()).

A layer with an entry is read by a copy of the adapter over the merged config, so every
hook reads the layer's values through the same keys; layers without one are read as usual.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archlint.families.base import Adapter

KEY = "per_layer_config"


def overrides(adapter: Adapter, index: int) -> dict[str, Any] | None:
    table = adapter.cv.lookup(KEY)[0]
    if not isinstance(table, dict):
        return None
    for key, entry in table.items():
        try:
            number = int(key)
        except (TypeError, ValueError):
            continue  # keyed by layer type (Gemma 4's rope tables): not a layer's values
        if number == index and isinstance(entry, dict) and entry:
            return entry
    return None


def signature(adapter: Adapter, index: int) -> str | None:
    """What makes this layer's values differ from the model's (None: nothing)."""
    entry = overrides(adapter, index)
    return json.dumps(entry, sort_keys=True, default=str) if entry is not None else None


def layer_adapter(adapter: Adapter, index: int) -> Adapter:
    """The adapter reading layer `index`: `adapter` itself, or a copy over the config with
    the layer's entry applied (in text_config when the language model is nested)."""
    entry = overrides(adapter, index)
    if entry is None:
        return adapter
    config = dict(adapter.config)
    if adapter.cv.prefix:
        nested = {k: v for k, v in adapter.cv.primary.items() if k != KEY}
        config["text_config"] = {**nested, **entry}
    else:
        config = {k: v for k, v in config.items() if k != KEY}
        config.update(entry)
    copy = type(adapter)(config, inferred=adapter.inferred, origins=adapter.origins)
    return copy
