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

pydantic validates this untrusted table; the module is imported only when a config declares
a spec (a report without one imports no pydantic).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from archlint.lint.quantities import parse_bytes, parse_count

__all__ = ["DeclaredSpec", "FitsSpec", "parse_bytes", "parse_count"]

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
