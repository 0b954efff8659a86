"""Kept as a name for `archlint.units`, the one units module (it moved below the report so
that the rules' messages format numbers as the report does)."""

from archlint.units import (  # noqa: F401
    fmt_bytes,
    fmt_count,
    fmt_flops,
    fmt_gib,
    fmt_rate,
    fmt_ratio,
    fmt_seconds,
)
