"""Helpers shared by the built-in rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from archlint.checkpoint import TensorInfo
from archlint.dtypes import FLOAT_CODES
from archlint.lint.finding import Finding, Location, Severity
from archlint.lint.rule import RuleContext
from archlint.spec import FieldSource
from archlint.tensors import TensorIndex

from ._shapes import layer_span


@dataclass
class _Group:
    layers: list[int] = field(default_factory=list)
    location: Location | None = None
    values: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None


class PerLayer:
    """Collects the same defect across layers into one finding ("layers 0-60").

    A rule adds (message id, values, layer, location); identical (id, values) pairs merge and
    the finding points at the first layer's tensor, with `{layers}` and `{count}` filled in.
    """

    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx
        self.groups: dict[tuple[str, tuple[tuple[str, Any], ...]], _Group] = {}

    def add(self, message_id: str, layer: int, location: Location | None = None, *,
            severity: Severity | None = None, **values: Any) -> None:
        key = (message_id, tuple(sorted(values.items())))
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(location=location, values=values, severity=severity)
        group.layers.append(layer)

    def findings(self) -> Iterator[Finding]:
        for (message_id, _), group in self.groups.items():
            count = len(group.layers)
            where = f"layer {group.layers[0]}" if count == 1 else \
                f"layers {layer_span(group.layers)}"
            yield self.ctx.finding(message_id, group.location, severity=group.severity,
                                   layers=where, count=count, **group.values)


def source_key(prov: dict[str, FieldSource], field_name: str) -> str | None:
    """The config key that declared `field_name`, when it was declared."""
    source = prov.get(field_name)
    return source.key if source is not None and source.kind == "declared" else None


def declared(prov: dict[str, FieldSource], field_name: str) -> bool:
    source = prov.get(field_name)
    return source is not None and source.kind == "declared"


def shape_text(tensor: TensorInfo) -> str:
    return "[" + ", ".join(str(d) for d in tensor.shape) + "]"


def dominant_float(index: TensorIndex | None) -> str | None:
    """The unquantized float dtype holding the most bytes among weight tensors."""
    if index is None:
        return None
    by_dtype = {d: n for d, n in index.weight_bytes_by_dtype.items() if d in FLOAT_CODES}
    return max(by_dtype, key=lambda d: by_dtype[d]) if by_dtype else None
