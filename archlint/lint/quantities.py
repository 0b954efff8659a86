"""Counts and byte sizes as people write them in a config (`13B`, `128KiB`).

Pure functions with no pydantic: the rules' options (AL201's `min_params`) and the declared
spec (`archlint.lint.project_spec`) both parse with them.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["parse_bytes", "parse_count"]

# Matched with `fullmatch` on the stripped text, at most `_MAX_QUANTITY_CHARS` long: the patterns
# have no whitespace run at either end (`\s*X\s*$` backtracked quadratically: a 60 KB value took
# 10 s) and each class is followed by a disjoint one, so a failed match is linear.
_COUNT = re.compile(r"([0-9][0-9_]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([kKmMbBtT]?)")
_COUNT_UNITS = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}
_BYTES = re.compile(r"([0-9][0-9_]*(?:\.[0-9]+)?)\s*([kKmMgGtT]?)(i?)[bB]?")
_BYTE_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}
# "13_000_000_000_000" is 18; nothing a person writes as a count or a size is longer.
_MAX_QUANTITY_CHARS = 40


def _quantity_text(value: str) -> str | None:
    text = value.strip()
    return text if len(text) <= _MAX_QUANTITY_CHARS else None


def _shown(value: Any) -> str:
    """A value for an error message: repr, shortened (the message is one line)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_count(value: Any) -> int:
    """`13B`, `13e9`, `1.5T`, `350M`, `13_000_000_000` or an int → an integer count."""
    if isinstance(value, bool):
        raise ValueError(f"expected a count like 13B, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"expected a whole count, got {value!r}")
        return int(value)
    text = _quantity_text(value) if isinstance(value, str) else None
    match = _COUNT.fullmatch(text) if text is not None else None
    if match:
        number = float(match.group(1).replace("_", "")) * _COUNT_UNITS[match.group(2).lower()]
        if math.isfinite(number) and (number.is_integer() or match.group(2)):
            return round(number)
    raise ValueError(f"expected a count like 13B, 13e9 or 13000000000, got {_shown(value)}")


def parse_bytes(value: Any) -> int:
    """`131072`, `128KiB` (1024-based) or `128KB` (1000-based) → bytes."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size like 128KiB, got {value!r}")
    if isinstance(value, int):
        return value
    text = _quantity_text(value) if isinstance(value, str) else None
    match = _BYTES.fullmatch(text) if text is not None else None
    if match:
        base = 1024 if match.group(3) else 1000
        scale: int = base ** _BYTE_POWERS[match.group(2).lower()]
        number = float(match.group(1).replace("_", "")) * scale
        if math.isfinite(number):
            return round(number)
    raise ValueError(f"expected a byte size like 131072 or 128KiB, got {_shown(value)}")
