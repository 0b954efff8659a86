"""Numbers for humans: 46.7B params, 128 KiB/token, 1.2 TFLOP. JSON keeps exact integers.

The one home of number formatting: the report, `compare` and the rules' messages all format
through these, so a finding and the report line beside it write the same figure the same way
(DESIGN.md: "humans get them rounded with units (46.7 B, 128 KiB/token)"). A leaf module:
it imports nothing, so every layer may use it."""

from __future__ import annotations


def fmt_count(n: float) -> str:
    """Parameter-style counts: 46_702_792_704 → '46.7B' (decimal, as model cards write)."""
    n = float(n)
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            value = n / scale
            return f"{value:.1f}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return f"{n:.0f}"


def fmt_bytes(n: float) -> str:
    """Binary units: 131072 → '128 KiB'; 93_405_585_408 → '87.0 GiB'."""
    n = float(n)
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            value = n / scale
            text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
            return f"{text.removesuffix('.0')} {unit}"
    return f"{n:.0f} B"


def fmt_gib(n: float) -> str:
    """Bytes in GiB whatever their size (81_559 MiB → '79.6 GiB'): for a sum whose terms
    should read in one unit, as a memory budget does."""
    return f"{n / 2**30:.1f} GiB"


def fmt_flops(n: float) -> str:
    n = float(n)
    for unit, scale in (
        ("PFLOP", 1e15),
        ("TFLOP", 1e12),
        ("GFLOP", 1e9),
        ("MFLOP", 1e6),
        ("KFLOP", 1e3),
    ):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} FLOP"


def fmt_rate(n: float, unit: str = "tok/s") -> str:
    if n >= 1e6:
        return f"{n / 1e6:.1f}M {unit}"
    if n >= 1e4:
        return f"{n / 1e3:.0f}k {unit}"
    return f"{n:,.0f} {unit}" if n >= 10 else f"{n:.2g} {unit}"


def fmt_seconds(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def fmt_ratio(x: float) -> str:
    return f"{x:.0f}x" if x >= 10 or float(x).is_integer() else f"{x:.1f}x"
