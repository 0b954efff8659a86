"""The bundled catalog: Checkpoints of the reference models shipped inside the package, so
archlint answers for them with no network. Built by scripts/make_fixtures.py."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from archlint.checkpoint import Checkpoint


@lru_cache(maxsize=1)
def manifest() -> dict[str, Any]:
    text = resources.files("archlint.catalog").joinpath("index.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def resolve_name(name: str) -> str | None:
    """Catalog model id for a Hub id (case-insensitive) or a short alias, or None."""
    data = manifest()
    models: dict[str, Any] = data["models"]
    key = name.strip().split("@", 1)[0]
    if key in models:
        return key
    lowered = {m.lower(): m for m in models}
    if key.lower() in lowered:
        return lowered[key.lower()]
    alias = data.get("aliases", {}).get(key.lower())
    return alias if alias in models else None


def load(model_id: str) -> Checkpoint:
    entry = manifest()["models"][model_id]
    raw = resources.files("archlint.catalog").joinpath(entry["file"]).read_bytes()
    import gzip

    ckpt = Checkpoint.from_dict(json.loads(gzip.decompress(raw)))
    ckpt.source = "catalog"
    return ckpt


def names() -> list[str]:
    return sorted(manifest()["models"])


def aliases() -> dict[str, str]:
    return dict(manifest().get("aliases", {}))
