"""GPUs for the roofline: memory, HBM bandwidth and dense bf16 peak, from vendor datasheets.

Memory and bandwidth are the vendor's decimal figures (80 GB = 80e9 B); the usable memory is
a little lower in practice, so "fits" is an upper bound. Peaks are dense (no 2:4 sparsity).
Users add or override GPUs with a TOML or JSON file named by `--gpu-file` or
`$ARCHLINT_GPUS`: `[gpus.B200] memory_gb = 192, bandwidth_tbs = 8.0, bf16_tflops = 2250`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ValidationError

from archlint.errors import UsageError


class GPU(BaseModel):
    name: str
    memory_bytes: int
    bandwidth: float  # bytes/s
    bf16_flops: float  # FLOP/s, dense
    source: str = ""


def _gpu(name: str, gb: float, tbs: float, tflops: float, source: str) -> GPU:
    return GPU(
        name=name,
        memory_bytes=int(gb * 1e9),
        bandwidth=tbs * 1e12,
        bf16_flops=tflops * 1e12,
        source=source,
    )


BUILTIN: dict[str, GPU] = {
    g.name.lower(): g
    for g in (
        _gpu(
            "H100",
            80,
            3.35,
            989,
            "NVIDIA H100 SXM5 datasheet: 80 GB HBM3, 3.35 TB/s, 989 TFLOPS bf16 dense",
        ),
        _gpu(
            "H200",
            141,
            4.8,
            989,
            "NVIDIA H200 SXM datasheet: 141 GB HBM3e, 4.8 TB/s, 989 TFLOPS bf16 dense",
        ),
        _gpu(
            "A100",
            80,
            2.039,
            312,
            "NVIDIA A100 80GB SXM datasheet: 2,039 GB/s, 312 TFLOPS bf16 dense",
        ),
        _gpu(
            "L40S",
            48,
            0.864,
            362.05,
            "NVIDIA L40S datasheet: 48 GB GDDR6, 864 GB/s, 362.05 TFLOPS bf16 dense",
        ),
        _gpu(
            "MI300X",
            192,
            5.3,
            1307.4,
            "AMD Instinct MI300X datasheet: 192 GB HBM3, 5.3 TB/s, 1,307.4 TFLOPS bf16 dense",
        ),
        _gpu(
            "RTX4090",
            24,
            1.008,
            165.2,
            "NVIDIA Ada whitepaper (RTX 4090): 24 GB, 1,008 GB/s, "
            "165.2 TFLOPS bf16 (fp32 accumulate)",
        ),
    )
}
ALIASES = {
    "h100-sxm": "h100",
    "h200-sxm": "h200",
    "a100-80gb": "a100",
    "rtx-4090": "rtx4090",
    "4090": "rtx4090",
    "mi300": "mi300x",
}


def _load_file(path: Path) -> dict[str, GPU]:
    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
        data = tomllib.loads(text)
    out = {}
    for name, row in (data.get("gpus") or {}).items():
        out[name.lower()] = _gpu(
            name,
            float(row["memory_gb"]),
            float(row["bandwidth_tbs"]),
            float(row["bf16_tflops"]),
            str(row.get("source", path.name)),
        )
    return out


def gpu_table(extra_file: str | None = None) -> dict[str, GPU]:
    table = dict(BUILTIN)
    path = extra_file or os.environ.get("ARCHLINT_GPUS")
    if path:
        try:
            table.update(_load_file(Path(path)))
        except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
            raise UsageError(f"cannot read GPU table {path}: {exc}") from exc
    return table


def find_gpu(name: str, extra_file: str | None = None) -> GPU:
    table = gpu_table(extra_file)
    key = name.strip().lower().replace(" ", "")
    key = ALIASES.get(key, key)
    if key not in table:
        raise UsageError(
            f"unknown GPU {name!r}; known: {', '.join(g.name for g in table.values())}",
            hint="add one with --gpu-file",
        )
    return table[key]


#: The roofline GPU when none is named (the CLI's --gpu default and the plots' roofline).
DEFAULT_GPU = "H100"


def resolve_gpu(gpu: GPU | str | None, extra_file: str | None = None) -> GPU | None:
    """The one place a GPU argument becomes a GPU: a GPU passes through, None and "none"
    mean no roofline, any other name is looked up (built-ins, then ``extra_file``)."""
    if gpu is None or isinstance(gpu, GPU):
        return gpu
    if gpu.strip().lower() == "none":
        return None
    return find_gpu(gpu, extra_file)


def default_gpu() -> GPU:
    """The GPU a plot's roofline uses when the run names none."""
    return find_gpu(DEFAULT_GPU)
