"""Structural facts of transformers' modeling code per model_type, as a shipped table.

`scripts/gen_structure_table.py` writes `transformers_structure.json.gz` by building each
type's default model on the meta device and looking at its first block: gated or plain MLP,
RMSNorm or LayerNorm (with or without bias), biased projections, q/k norms, norms per block,
learned position table. The generic reader takes them as defaults for a type no adapter
covers. No transformers import here: the table is read once, on first use.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources
from typing import Any

TABLE = "transformers_structure.json.gz"


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    raw = resources.files(__package__).joinpath(TABLE).read_bytes()
    data: dict[str, Any] = json.loads(gzip.decompress(raw))
    return data


def facts(model_type: str) -> dict[str, Any]:
    """The observed facts (empty when the type was not observed)."""
    entry = _table()["types"].get(model_type)
    return dict(entry) if isinstance(entry, dict) else {}


def version() -> str:
    return str(_table()["transformers_version"])
