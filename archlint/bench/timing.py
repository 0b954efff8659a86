"""Timing on a GPU: CUDA events, warm-up, the median of many runs over rotated fresh inputs.

Method (the device notes' METHOD.md): device work is asynchronous, so every run is bracketed by
CUDA events and read after one synchronisation; the first calls (Triton autotuning, cuBLAS
handle creation, module load) are warm-up and not timed; each run takes the next of several
input sets drawn at random (never zeros: they hide unwritten outputs and can run faster than
real data), so repeated runs do not measure the L2 cache; the reported figure is the median.

The two ceilings a roofline needs are measured here once per process, not taken from a
datasheet: device-to-device copy bandwidth (bytes read + bytes written) and a bf16 8192³
matrix product on random data. Imports torch: only `archlint bench` and its script call this.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Timing:
    median_s: float
    p10_s: float
    p90_s: float
    runs: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def time_fn(
    fn: Callable[..., Any],
    inputs: Sequence[tuple[Any, ...]],
    *,
    warmup: int = 2,
    min_runs: int = 5,
    max_runs: int = 100,
    budget_s: float = 1.0,
) -> Timing:
    """Median time of `fn(*inputs[i % len(inputs)])` with CUDA events around each run.

    `warmup` full passes over the input sets run first (autotuning happens there). Then runs
    continue until `budget_s` of measured time or `max_runs`, and at least `min_runs`.
    """
    import torch

    if not inputs:
        raise ValueError("time_fn needs at least one input set")
    if not torch.cuda.is_available():  # CPU (tests): the host clock, nothing to wait for
        return _time_host(fn, inputs, warmup=warmup, runs=min_runs)
    for _ in range(warmup):
        for args in inputs:
            fn(*args)
    torch.cuda.synchronize()
    times: list[float] = []
    spent = 0.0
    i = 0
    while len(times) < max_runs and (len(times) < min_runs or spent < budget_s):
        batch = min(10, max_runs - len(times))
        events = [
            (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
            for _ in range(batch)
        ]
        for start, end in events:
            args = inputs[i % len(inputs)]
            i += 1
            start.record()
            fn(*args)
            end.record()
        torch.cuda.synchronize()
        for start, end in events:
            t = start.elapsed_time(end) / 1e3
            times.append(t)
            spent += t
    times.sort()
    n = len(times)
    return Timing(
        median_s=statistics.median(times),
        p10_s=times[max(0, int(0.1 * n) - 1)] if n >= 10 else times[0],
        p90_s=times[min(n - 1, int(0.9 * n))] if n >= 10 else times[-1],
        runs=n,
    )


def capture_graphs(fn: Callable[..., Any], inputs: Sequence[tuple[Any, ...]]) -> list[Any]:
    """One CUDA graph of `fn(*args)` per input set, after two warm-up calls on a side stream
    (autotuning must be done before capture). Only for code with no host synchronisation."""
    import torch

    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(2):
            for args in inputs:
                fn(*args)
    torch.cuda.current_stream().wait_stream(s)
    graphs = []
    for args in inputs:
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            fn(*args)
        graphs.append(g)
    return graphs


def time_graphs(fn: Callable[..., Any], inputs: Sequence[tuple[Any, ...]],
                **kw: Any) -> Timing:
    """`time_fn` of CUDA-graph replays of fn: the host's launch time removed, which dominates
    calls shorter than ~0.3 ms (decode steps of tens of small kernels)."""
    graphs = capture_graphs(fn, inputs)
    return time_fn(lambda g: g.replay(), [(g,) for g in graphs], **kw)


def _time_host(fn: Callable[..., Any], inputs: Sequence[tuple[Any, ...]], *, warmup: int,
               runs: int) -> Timing:
    for _ in range(warmup):
        fn(*inputs[0])
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(*inputs[i % len(inputs)])
        times.append(time.perf_counter() - t0)
    times.sort()
    return Timing(median_s=statistics.median(times), p10_s=times[0], p90_s=times[-1], runs=runs)


@dataclass
class Peaks:
    """The two measured ceilings of the roofline, and what the GPU is."""

    gpu: str
    copy_bytes_per_s: float  # device-to-device, bytes read + written
    bf16_flops: float  # 8192³ matmul on random data
    memory_bytes: int
    sms: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@functools.lru_cache(maxsize=4)
def measure_peaks(device: str = "cuda") -> Peaks:
    import torch

    props = torch.cuda.get_device_properties(device)
    # copy: 1 GiB source, 10 timed copies; counts read + write (METHOD.md)
    n = 1 << 29  # bf16 elements = 1 GiB
    src = [torch.randn(n, device=device, dtype=torch.bfloat16) for _ in range(2)]
    dst = torch.empty_like(src[0])
    copy = time_fn(lambda s: dst.copy_(s), [(s,) for s in src], warmup=2, min_runs=10,
                   max_runs=20, budget_s=0.2)
    bw = 2 * n * 2 / copy.median_s
    src, dst = [], None  # free before the matmul's buffers
    m = 8192
    mats = [
        (torch.randn(m, m, device=device, dtype=torch.bfloat16),
         torch.randn(m, m, device=device, dtype=torch.bfloat16))
        for _ in range(2)
    ]
    out = torch.empty(m, m, device=device, dtype=torch.bfloat16)
    mm = time_fn(lambda a, b: torch.mm(a, b, out=out), mats, warmup=3, min_runs=10,
                 max_runs=30, budget_s=0.3)
    flops = 2 * m**3 / mm.median_s
    mats, out = [], None
    torch.cuda.empty_cache()
    return Peaks(
        gpu=props.name,
        copy_bytes_per_s=bw,
        bf16_flops=flops,
        memory_bytes=int(props.total_memory),
        sms=int(props.multi_processor_count),
    )


def environment() -> dict[str, Any]:
    """GPU, driver, torch, triton, CUDA versions and the UTC date, for the recorded table."""
    import platform
    import subprocess

    import torch

    env: dict[str, Any] = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda,
    }
    try:
        import triton

        env["triton"] = triton.__version__
    except ImportError:
        env["triton"] = None
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version,memory.total,clocks.max.sm",
                 "--format=csv,noheader"],
                capture_output=True, text=True, timeout=20, check=False,
            )
            env["nvidia_smi"] = out.stdout.strip()
            env["driver"] = out.stdout.split(",")[0].strip() if out.stdout else None
        except (OSError, subprocess.SubprocessError):
            env["driver"] = None
    return env


__all__ = ["Peaks", "Timing", "capture_graphs", "environment", "measure_peaks", "time_fn",
           "time_graphs"]
