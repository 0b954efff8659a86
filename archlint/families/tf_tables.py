"""transformers' configuration defaults, as a table shipped with archlint.

`scripts/gen_transformers_tables.py` writes `transformers_tables.json.gz` from transformers'
configuration classes (the version it used is recorded inside): per `model_type`, the
defaults of a default-constructed config (nested sub-configs as dicts with their own
`model_type`), the keys whose default is computed from other keys (`derived`: Llama's
`head_dim` is `hidden_size // num_attention_heads`, so it is no constant to fill in), the
`attribute_map` (dialect alias -> canonical name), sub-config keys, the Auto-mapping model
classes and a category. Nothing here imports transformers; the table is read once, on first
use.
"""

from __future__ import annotations

import copy
import gzip
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from archlint.families.sidecar import read_sidecar, text_crc32

TABLE = "transformers_tables.json.gz"
#: Where each type's entry lies in the decompressed table (`index_of`, written beside it by the
#: generator): a report decodes the two or three entries it reads, not the 1 MB of all 800.
INDEX = "transformers_tables.index.json"

#: Categories the generator assigns (see its `categorise`); the first four hold a language
#: model and are in archlint's scope.
IN_SCOPE = ("decoder", "encoder", "encoder-decoder", "multimodal")


@lru_cache(maxsize=1)
def _table_bytes() -> bytes:
    return resources.files(__package__).joinpath(TABLE).read_bytes()


@lru_cache(maxsize=1)
def _text() -> bytes:
    return gzip.decompress(_table_bytes())


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_text())
    return data


@lru_cache(maxsize=1)
def _index() -> dict[str, Any] | None:
    """The shipped index, or None (then the whole table is decoded) when it is missing or was
    written for other table bytes (`sidecar`)."""
    index = read_sidecar(__package__, INDEX, _table_bytes())
    if index is None or not isinstance(index.get("types"), dict):
        return None
    return index


def index_of(text: bytes) -> dict[str, Any]:
    """The index of a table written as the generator writes it (compact, sorted keys): per
    type its entry's [start, end) in `text`, found by re-serialising each entry in order and
    checked byte for byte. ValueError if `text` is not such a table."""
    data = json.loads(text)
    types = data["types"]
    head = json.dumps({k: v for k, v in data.items() if k != "types"} | {"types": {}},
                      separators=(",", ":"), sort_keys=True).encode()
    pos = text.index(b'"types":{') + len(b'"types":{')
    if not head.endswith(b'"types":{}}') or text[:pos] != head[:-2]:
        raise ValueError("the table does not end with its types")
    spans: dict[str, list[int]] = {}
    for name in sorted(types):
        key = json.dumps(name).encode() + b":"
        value = json.dumps(types[name], separators=(",", ":"), sort_keys=True).encode()
        if text[pos:pos + len(key) + len(value)] != key + value:
            raise ValueError(f"entry {name!r} is not where sorted compact JSON puts it")
        spans[name] = [pos + len(key), pos + len(key) + len(value)]
        pos += len(key) + len(value) + 1
    return {"crc32": text_crc32(text), "transformers_version": data["transformers_version"],
            "types": spans}


@lru_cache(maxsize=4096)  # bounded: model types are repo text
def _entry_at(model_type: str) -> Any:
    index = _index()
    if index is None:
        return _table()["types"].get(model_type)
    span = index["types"].get(model_type)
    return json.loads(_text()[span[0]:span[1]]) if span else None


def _entry(model_type: str) -> dict[str, Any] | None:
    entry = _entry_at(model_type)
    return entry if isinstance(entry, dict) else None


def transformers_version() -> str:
    """The transformers release the table was generated from."""
    index = _index()
    return str(index["transformers_version"] if index else _table()["transformers_version"])


def model_types() -> list[str]:
    index = _index()
    return sorted(index["types"] if index else _table()["types"])


def known(model_type: str) -> bool:
    return _entry(model_type) is not None


def defaults_for(model_type: str) -> dict[str, Any] | None:
    """A copy of what `ConfigClass()` holds for this model type (None if unknown or if the
    class cannot be built without arguments). Keys in `derived_keys` are computed from
    others in transformers; do not treat them as constants."""
    entry = _entry(model_type)
    if entry is None or "defaults" not in entry:
        return None
    defaults: dict[str, Any] = copy.deepcopy(entry["defaults"])
    return defaults


def derived_keys(model_type: str) -> frozenset[str]:
    entry = _entry(model_type) or {}
    return frozenset(entry.get("derived") or ())


def overridden_keys(model_type: str) -> frozenset[str]:
    """Keys whose declared value the class replaces with one it computes (UnlimitedOcrText's
    head_dim is always hidden_size // num_attention_heads): a config's value for them is
    not what transformers builds."""
    entry = _entry(model_type) or {}
    return frozenset(entry.get("overridden") or ())


def attribute_map(model_type: str) -> dict[str, str]:
    """Dialect alias -> canonical attribute (`n_embd` -> `hidden_size` for GPT-2)."""
    entry = _entry(model_type) or {}
    return dict(entry.get("attribute_map") or {})


def sub_configs(model_type: str) -> dict[str, str | None]:
    """Sub-config key -> the model_type its default has (`text_config` -> `llama` for LLaVA)."""
    entry = _entry(model_type) or {}
    return dict(entry.get("sub_configs") or {})


def config_class(model_type: str) -> str | None:
    entry = _entry(model_type) or {}
    name = entry.get("config_class")
    return str(name) if name else None


def model_classes(model_type: str) -> dict[str, str]:
    """Auto-mapping name (causal_lm, base, seq2seq_causal_lm, image_text_to_text, ...) ->
    model class name."""
    entry = _entry(model_type) or {}
    return dict(entry.get("models") or {})


def category(model_type: str) -> str | None:
    """decoder | encoder | encoder-decoder | multimodal | vision | vision-text | audio | video |
    time-series | component (another type's sub-config) | other; None for an unknown type."""
    entry = _entry(model_type)
    return str(entry["category"]) if entry and "category" in entry else None


def modalities(model_type: str) -> list[str]:
    entry = _entry(model_type) or {}
    return list(entry.get("modalities") or [])


def part_of(model_type: str) -> list[str]:
    """For a component type: the model types whose sub-config it is."""
    entry = _entry(model_type) or {}
    return list(entry.get("part_of") or [])


def in_scope(model_type: str) -> bool:
    """Whether the type holds a language model (what archlint's analyser describes)."""
    return category(model_type) in IN_SCOPE
