"""JSON archlint writes is standard JSON (RFC 8259): no NaN, Infinity or -Infinity.

Python's `json.dumps` writes those constants by default, and most JSON parsers (jq, JavaScript's
JSON.parse, Go, serde) refuse them; a report a CI step cannot parse is no report. A value that
is not finite (an unbounded context for a linear-attention model, a ratio over zero) is
written as null, which is what pydantic's model_dump_json does for the main report.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "finite"]


def finite(obj: Any) -> Any:
    """`obj` with every non-finite float replaced by None (containers copied, iteratively)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if not isinstance(obj, (dict, list, tuple)):
        return obj
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(root, 0, obj)]
    while stack:
        parent, slot, node = stack.pop()
        if isinstance(node, dict):
            copy: Any = {}
            for key, value in node.items():
                copy[key] = None
                stack.append((copy, key, value))
        elif isinstance(node, (list, tuple)):
            copy = [None] * len(node)
            stack.extend((copy, i, value) for i, value in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            copy = None
        else:
            copy = node
        parent[slot] = copy
    return root[0]


def dumps(obj: Any, **options: Any) -> str:
    """`json.dumps` of `obj` as standard JSON: non-finite floats become null."""
    return json.dumps(finite(obj), allow_nan=False, **options)
