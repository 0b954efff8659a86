"""GPUs for the roofline and the serving plan: memory, HBM bandwidth, dense bf16 peak and the
GPU-to-GPU interconnect.

Memory is the capacity the driver reports (`nvidia-smi`'s `memory.total`, which is what
`torch.cuda.mem_get_info()` returns and what vLLM multiplies by `gpu_memory_utilization`), not
the marketing figure: an "80 GB" H100 SXM exposes 81,559 MiB (79.6 GiB), an H200 "141 GB"
143,771 MiB (140.4 GiB). Reports state it in GiB. Bandwidth and peaks are the vendor's datasheet
figures (decimal TB/s; dense, no 2:4 sparsity). The interconnect figure is the per-direction
bandwidth of one GPU to the others (NVLink: half the datasheet's bidirectional aggregate; PCIe:
one direction of an x16 link), which is what a ring all-reduce's per-GPU traffic moves through.

Users add or override GPUs with a TOML or JSON file named by `--gpu-file` or `$ARCHLINT_GPUS`:
`[gpus.B200] memory_mib = 183359, bandwidth_tbs = 8.0, bf16_tflops = 2250,
interconnect_gbs = 900, source = "..."` (`memory_gib` or the older decimal `memory_gb` are
accepted instead of `memory_mib`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from archlint.analysis.defaults import DEFAULT_GPU
from archlint.errors import UsageError
from archlint.records import Record, record

MIB = 2**20
GIB = 2**30


@record
class GPU(Record):
    name: str
    memory_bytes: int  # as the driver reports it
    bandwidth: float  # HBM bytes/s
    bf16_flops: float  # FLOP/s, dense
    interconnect: float = 0.0  # bytes/s per direction to the other GPUs of a node; 0: unknown
    interconnect_name: str = ""
    source: str = ""  # where the bandwidth and peak come from
    memory_source: str = ""  # where the memory capacity comes from
    interconnect_source: str = ""

    @property
    def memory_gib(self) -> float:
        return self.memory_bytes / GIB


def _gpu(
    name: str,
    mib: int,
    tbs: float,
    tflops: float,
    link_gbs: float,
    link: str,
    *,
    source: str,
    memory_source: str,
    interconnect_source: str,
) -> GPU:
    return GPU(
        name=name,
        memory_bytes=mib * MIB,
        bandwidth=tbs * 1e12,
        bf16_flops=tflops * 1e12,
        interconnect=link_gbs * 1e9,
        interconnect_name=link,
        source=source,
        memory_source=memory_source,
        interconnect_source=interconnect_source,
    )


_NVLINK4 = (
    "NVIDIA H100/H200 SXM datasheets: fourth-generation NVLink 900 GB/s "
    "(bidirectional aggregate), 450 GB/s per direction"
)
_PCIE4 = "PCI Express 4.0 x16: 16 GT/s × 16 lanes, 128b/130b coding ≈ 31.5 GB/s per direction"

BUILTIN: dict[str, GPU] = {
    g.name.lower(): g
    for g in (
        _gpu(
            "H100",
            81_559,
            3.35,
            989,
            450,
            "NVLink 4",
            source="NVIDIA H100 SXM5 datasheet: 3.35 TB/s HBM3, 989 TFLOPS bf16 dense",
            memory_source="issue 11: the H100 80GB HBM3 (SXM) reports 81,559 MiB "
            "(nvidia-smi memory.total)",
            interconnect_source=_NVLINK4,
        ),
        _gpu(
            "H200",
            143_771,
            4.8,
            989,
            450,
            "NVLink 4",
            source="NVIDIA H200 SXM datasheet: 4.8 TB/s HBM3e, 989 TFLOPS bf16 dense",
            memory_source="issue 11 / this project's H200 device: 143,771 MiB "
            "(nvidia-smi memory.total)",
            interconnect_source=_NVLINK4,
        ),
        _gpu(
            "A100",
            81_920,
            2.039,
            312,
            300,
            "NVLink 3",
            source="NVIDIA A100 80GB SXM datasheet: 2,039 GB/s, 312 TFLOPS bf16 dense",
            memory_source="nvidia-smi on an A800-SXM4-80GB (the A100 80GB board for China, "
            "same memory): 81,920 MiB (github.com/dexmal/dexbotic/issues/41)",
            interconnect_source="NVIDIA A100 datasheet: third-generation NVLink 600 GB/s "
            "(bidirectional aggregate), 300 GB/s per direction",
        ),
        _gpu(
            "A100-40GB",
            40_960,
            1.555,
            312,
            300,
            "NVLink 3",
            source="NVIDIA A100 40GB datasheet: 1,555 GB/s HBM2, 312 TFLOPS bf16 dense",
            memory_source="nvidia-smi on an A100-SXM4-40GB: 40,960 MiB (memory.total column "
            "of public nvidia-smi outputs, e.g. '0MiB /  40960MiB')",
            interconnect_source="NVIDIA A100 datasheet: third-generation NVLink 600 GB/s "
            "(bidirectional aggregate), 300 GB/s per direction",
        ),
        _gpu(
            "A10",
            23_028,
            0.6,
            125,
            31.5,
            "PCIe 4.0 x16",
            source="NVIDIA A10 datasheet: 600 GB/s GDDR6, 125 TFLOPS bf16 dense "
            "(250 with sparsity)",
            memory_source="nvidia-smi on an A10: 23,028 MiB (memory.total column of two "
            "public nvidia-smi outputs, e.g. '1MiB /  23028MiB' on driver 580.95.05)",
            interconnect_source=_PCIE4 + " (the A10 has no NVLink)",
        ),
        _gpu(
            "L40S",
            46_068,
            0.864,
            362.05,
            31.5,
            "PCIe 4.0 x16",
            source="NVIDIA L40S datasheet: 864 GB/s GDDR6, 362.05 TFLOPS bf16 dense",
            memory_source="nvidia-smi --query-gpu=memory.total on an L40S: 46,068 MiB "
            "(github.com/akash-network/provider-configs/pull/99)",
            interconnect_source=_PCIE4 + " (the L40S has no NVLink)",
        ),
        _gpu(
            "MI300X",
            196_592,
            5.3,
            1307.4,
            448,
            "Infinity Fabric",
            source="AMD Instinct MI300X datasheet: 5.3 TB/s HBM3, 1,307.4 TFLOPS bf16 dense",
            memory_source="rocminfo on an MI300X: GPU global pool 201,310,208 KiB = 196,592 MiB "
            "(github.com/ROCm/legacy-rocm-build/issues/4414)",
            interconnect_source="AMD MI300X datasheet: 7 Infinity Fabric links, 896 GB/s "
            "peak aggregate; 448 GB/s per direction",
        ),
        _gpu(
            "RTX4090",
            24_564,
            1.008,
            165.2,
            31.5,
            "PCIe 4.0 x16",
            source="NVIDIA Ada whitepaper (RTX 4090): 1,008 GB/s, 165.2 TFLOPS bf16 "
            "(fp32 accumulate)",
            memory_source="nvidia-smi on an RTX 4090: 24,564 MiB "
            "(github.com/RLinf/RLinf/issues/255)",
            interconnect_source=_PCIE4 + " (no NVLink on the RTX 4090)",
        ),
    )
}
ALIASES = {
    "h100-sxm": "h100",
    "h200-sxm": "h200",
    "a100-80gb": "a100",
    "a10040gb": "a100-40gb",
    "rtx-4090": "rtx4090",
    "4090": "rtx4090",
    "mi300": "mi300x",
}


def _memory_bytes(row: dict[str, object]) -> int:
    if "memory_mib" in row:
        return int(float(row["memory_mib"]) * MIB)  # type: ignore[arg-type]
    if "memory_gib" in row:
        return int(float(row["memory_gib"]) * GIB)  # type: ignore[arg-type]
    return int(float(row["memory_gb"]) * 1e9)  # type: ignore[arg-type]


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
    gpus = data.get("gpus") or {}
    if not isinstance(gpus, dict):
        raise ValueError("[gpus] must be a table of GPU tables")
    for name, row in gpus.items():
        if not isinstance(row, dict):
            raise ValueError(f"gpus.{name} must be a table")
        source = str(row.get("source", path.name))
        gpu = out[name.lower()] = GPU(
            name=name,
            memory_bytes=_memory_bytes(row),
            bandwidth=float(row["bandwidth_tbs"]) * 1e12,
            bf16_flops=float(row["bf16_tflops"]) * 1e12,
            interconnect=float(row.get("interconnect_gbs", 0)) * 1e9,
            interconnect_name=str(row.get("interconnect", "")),
            source=source,
            memory_source=source,
            interconnect_source=source if "interconnect_gbs" in row else "",
        )
        # a zero or NaN bandwidth would divide the roofline by nothing: refused here, by name
        for key, value in (("bandwidth_tbs", gpu.bandwidth), ("bf16_tflops", gpu.bf16_flops),
                           ("memory", gpu.memory_bytes)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"gpus.{name}.{key} must be a positive number")
        if not (math.isfinite(gpu.interconnect) and gpu.interconnect >= 0):
            raise ValueError(f"gpus.{name}.interconnect_gbs must be a non-negative number")
    return out


def gpu_table(extra_file: str | None = None) -> dict[str, GPU]:
    table = dict(BUILTIN)
    path = extra_file or os.environ.get("ARCHLINT_GPUS")
    if path:
        try:
            table.update(_load_file(Path(path)))
        except (OSError, ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
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




def resolve_gpu(gpu: GPU | str | None, extra_file: str | None = None) -> GPU | None:
    """The one place a GPU argument becomes a GPU: a GPU passes through, None and "none"
    mean no roofline, any other name is looked up (built-ins, then ``extra_file``)."""
    if gpu is None or isinstance(gpu, GPU):
        return gpu
    if gpu.strip().lower() == "none":
        return None
    return find_gpu(gpu, extra_file)


def plot_gpu(gpu: GPU | str | None) -> GPU:
    """The GPU a plot draws against (its memory line, its roofline): ``gpu`` as
    :func:`resolve_gpu` reads it, else ``DEFAULT_GPU``, since a plot always needs one."""
    return resolve_gpu(gpu) or find_gpu(DEFAULT_GPU)
