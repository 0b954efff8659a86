"""Side by side: `archlint MODEL --format json` against hf-mem (and accelerate estimate-memory)
on the same local stand-in Hub, at 20 ms and 100 ms per request, cold caches.

The Hub stand-in (benchmarks/hubproc.py, its own process) serves real safetensors headers:
gpt-oss-20b in 3 shards, DeepSeek-V2-Lite in 4, Qwen3-Next-80B in 41, DeepSeek-R1 in 163 and
the Kimi-K2 stand-in (`_common.kimi_k2_standin`, 139,583 tensors) in 61. For each latency and
model the tools run in turn (archlint, hf-mem, archlint, hf-mem, ...) so that a drift in the
machine's speed hits both alike; each archlint run starts with an empty cache (cold), then
runs once more on the cache it filled (warm: one listing request). Wall and CPU (user + sys of
the finished child, from wait4) are per fresh process, interpreter start and imports included.
*hf-mem / archlint* is the ratio of the medians (above 1: archlint is faster).

hf-mem and accelerate are installed into archlint's venv only for this benchmark (they are in
no extra): `pip install hf-mem==0.5.6 accelerate==1.16.0`; hf-mem ignores HF_ENDPOINT, so
benchmarks/_hfmem_shim.py points it at the stand-in.

    .venv/bin/python benchmarks/side_by_side.py [--runs 3] [--latencies 0.02 0.1] [--out FILE]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    ARCHLINT,
    KIMI_K2,
    PYTHON,
    REPO,
    emit,
    isolated_env,
    machine_line,
    md_table,
    median,
)
from hubproc import HubProcess

MODELS = [  # served id, shards
    ("openai/gpt-oss-20b", 3),
    ("deepseek-ai/DeepSeek-V2-Lite", 4),
    ("Qwen/Qwen3-Next-80B-A3B-Instruct", 41),
    ("deepseek-ai/DeepSeek-R1", 163),
    (KIMI_K2, 61),
]


def run_timed(cmd: list[str], env: dict[str, str]) -> tuple[int, float, float, str]:
    """(exit status, wall s, CPU s of the child: user + sys, last stderr line)."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        err.seek(0)
        lines = [x for x in err.read().decode(errors="replace").splitlines() if x.strip()]
    return (os.waitstatus_to_exitcode(status), wall, usage.ru_utime + usage.ru_stime,
            lines[-1][:160] if lines else "")


def hfmem_python() -> str | None:
    """The Python that has hf-mem: archlint's venv (this benchmark's install), or .venv-peers."""
    for python in (PYTHON, str(REPO / ".venv-peers" / "bin" / "python")):
        if Path(python).exists() and subprocess.run(
                [python, "-c", "import hf_mem"], capture_output=True).returncode == 0:
            return python
    return None


def accelerate_bin() -> str | None:
    """`accelerate` beside archlint's Python, in the venv whose site-packages it chains to
    (the shared base of a worktree's venv), or in .venv-peers."""
    found = subprocess.run([PYTHON, "-c", "import accelerate, sys; print(accelerate.__file__)"],
                           capture_output=True, text=True)
    candidates = [Path(PYTHON).parent / "accelerate"]
    if found.returncode == 0:  # .../lib/python3.X/site-packages/accelerate/__init__.py
        candidates.append(Path(found.stdout.strip()).parents[4] / "bin" / "accelerate")
    candidates.append(REPO / ".venv-peers" / "bin" / "accelerate")
    return next((str(c) for c in candidates if c.exists()), None)


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def measure(latency: float, runs: int, with_accelerate: bool,
            models: list[tuple[str, int]]) -> list[dict[str, Any]]:
    hfmem = hfmem_python()
    accelerate = accelerate_bin() if with_accelerate else None
    repos = [{"id": m, "fixture": m, "shards": s} for m, s in models]
    results = []
    with HubProcess(latency_s=latency, repos=repos) as hub, \
            tempfile.TemporaryDirectory() as tmp:
        for model, shards in models:
            times: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": [], "hf-mem": [],
                                                           "accelerate": []}
            notes: list[str] = []
            for run in range(runs):
                cache = Path(tmp) / f"cache-{run}-{model.replace('/', '_')}"
                env = isolated_env(cache, hub.endpoint)
                cmd = [ARCHLINT, model, "--format", "json", "--no-auth"]
                for kind in ("cold", "warm"):
                    code, wall, cpu, last = run_timed(cmd, env)
                    if code not in (0, 1):
                        notes.append(f"archlint {kind} exit {code}: {last}")
                    times[kind].append((wall, cpu))
                if hfmem is not None:
                    henv = isolated_env(Path(tmp), hub.endpoint)
                    henv["HFMEM_ENDPOINT"] = hub.endpoint
                    code, wall, cpu, last = run_timed(
                        [hfmem, str(REPO / "benchmarks" / "_hfmem_shim.py"), "--model-id", model,
                         "--json-output"], henv)
                    if code != 0:
                        notes.append(f"hf-mem exit {code}: {last}")
                    else:
                        times["hf-mem"].append((wall, cpu))
                if accelerate is not None and run == 0:
                    aenv = isolated_env(Path(tmp), hub.endpoint)
                    aenv["HF_HOME"] = str(Path(tmp) / f"hf-home-{run}")
                    code, wall, cpu, last = run_timed(
                        [accelerate, "estimate-memory", model, "--library_name", "transformers",
                         "--dtypes", "float16"], aenv)
                    if code == 0:
                        times["accelerate"].append((wall, cpu))
                    else:
                        notes.append(f"accelerate exit {code}: {last}")
            print(f"{latency * 1000:.0f} ms {model}: {times} {notes}", file=sys.stderr,
                  flush=True)
            results.append({"model": model, "shards": shards, "latency": latency,
                            "times": times, "notes": sorted(set(notes))})
    return results


def _cell(pairs: list[tuple[float, float]]) -> str:
    if not pairs:
        return "—"
    return (f"{median([w for w, _ in pairs]):.2f} s "
            f"({median([c for _, c in pairs]):.2f} s CPU)")


def section(results: list[dict[str, Any]], runs: int) -> str:
    rows, ratios = [], {}
    for r in results:
        t = r["times"]
        cold = median([w for w, _ in t["cold"]])
        ratio = (median([w for w, _ in t["hf-mem"]]) / cold) if t["hf-mem"] else None
        if ratio is not None:
            ratios.setdefault(r["latency"], []).append(ratio)
        acc = (median([w for w, _ in t["accelerate"]]) / cold) if t["accelerate"] else None
        rows.append([f"{r['latency'] * 1000:.0f} ms", r["model"], r["shards"],
                     _cell(t["cold"]), _cell(t["warm"]), _cell(t["hf-mem"]),
                     f"{ratio:.2f}x" if ratio is not None else "—",
                     _cell(t["accelerate"]), f"{acc:.1f}x" if acc is not None else "—",
                     "; ".join(r["notes"]) or ""])
    summary = [[f"{lat * 1000:.0f} ms", f"{geomean(v):.2f}x", f"{min(v):.2f}x",
                f"{max(v):.2f}x"] for lat, v in sorted(ratios.items())]
    return f"""## Side by side with hf-mem and accelerate, 20 ms and 100 ms per request

{machine_line()}

Command: `.venv/bin/python benchmarks/side_by_side.py --runs {runs}`. The stand-in Hub (its own
process) serves real safetensors headers with the stated latency added to every request; the
tools run in turn, archlint cold (empty cache) then warm (the cache it filled: one listing
request), hf-mem, and accelerate once per model. Medians of {runs} fresh processes; wall time
with the child's CPU (user + sys) in brackets. *hf-mem / archlint* is the ratio of the cold
medians (above 1: archlint is faster); *accel. / archlint* likewise.

{md_table(["latency", "model", "shards", "archlint cold", "archlint warm", "hf-mem",
           "hf-mem / archlint", "accelerate", "accel. / archlint", "notes"], rows)}

Geometric mean of *hf-mem / archlint* over the models, per latency:

{md_table(["latency", "geomean", "min", "max"], summary)}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.02, 0.1])
    parser.add_argument("--no-accelerate", action="store_true")
    parser.add_argument("--models", nargs="+", help="only the models whose id contains one")
    parser.add_argument("--out")
    args = parser.parse_args()
    models = [m for m in MODELS if not args.models or any(x in m[0] for x in args.models)]
    results = []
    for latency in args.latencies:
        results += measure(latency, args.runs, not args.no_accelerate, models)
    emit(section(results, args.runs), args.out)


if __name__ == "__main__":
    main()
