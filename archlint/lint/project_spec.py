"""The spec a model repo declares about itself, checked by the AL5xx rules.

Declared under `[tool.archlint.spec]` in pyproject.toml or `[spec]` in archlint.toml:

```toml
[tool.archlint.spec]
attention = "gqa"
kv_heads = 8
experts = 8
experts_per_token = 2
dtype = "bfloat16"
max_kv_bytes_per_token = 131072      # or "128KiB"
context = 32768
max_active_params = "13B"            # 13B / 13e9 / 13000000000
fits = { gpu = "H100", batch = 8, context = 32768 }
```
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class FitsSpec(BaseModel):
    """The model must fit one GPU with this batch and context (weights + KV cache)."""

    model_config = ConfigDict(extra="forbid")

    gpu: str
    batch: int = Field(default=1, ge=1)
    context: int | None = Field(default=None, ge=1)

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, value: str) -> str:
        from archlint.analysis.hardware import find_gpu
        from archlint.errors import UsageError

        try:
            find_gpu(value)
        except UsageError as exc:
            raise ValueError(exc.message) from None
        return value


class DeclaredSpec(BaseModel):
    """What the repo promises about its model. Every field is optional; each one set is a check."""

    model_config = ConfigDict(extra="forbid")

    attention: Literal["mha", "mqa", "gqa", "mla", "linear"] | None = None
    kv_heads: int | None = Field(default=None, ge=1)
    experts: int | None = Field(default=None, ge=0)
    experts_per_token: int | None = Field(default=None, ge=1)
    dtype: str | None = None
    max_kv_bytes_per_token: int | None = None
    context: int | None = Field(default=None, ge=1)
    max_active_params: int | None = None
    fits: FitsSpec | None = None

    @field_validator("attention", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("max_active_params", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        return None if value is None else parse_count(value)

    @field_validator("max_kv_bytes_per_token", mode="before")
    @classmethod
    def _bytes(cls, value: Any) -> Any:
        return None if value is None else parse_bytes(value)

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from archlint.dtypes import NAMED_DTYPE_BYTES, TORCH_DTYPE_TO_CODE

        key = value.strip().lower()
        if key not in NAMED_DTYPE_BYTES and key not in TORCH_DTYPE_TO_CODE:
            raise ValueError(f"unknown dtype {value!r}")
        return value
