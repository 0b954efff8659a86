"""Before and after: the same commands run by a baseline archlint (a git revision) and by this
work tree, in turn (A B A B ...), so that a machine whose speed drifts (a shared, loaded one)
moves both alike; each figure is the median of the pairs' own ratio, beside each side's median.

The baseline is `git archive REV` unpacked into a temporary directory and imported ahead of the
editable install (a small launcher drops setuptools' editable finder and puts the baseline
first on `sys.path`); the work tree runs through the same launcher, so both pay its cost.
Commands, each a fresh process (wall, and the child's user + sys CPU from `wait4`):

- `--help`, and a local report of gpt-oss-20b (3 shards, 459 tensors, sparse data) in JSON;
- Hub reports over the stand-in Hub (benchmarks/hubproc.py, its own process) at each latency,
  cold (an empty cache) then warm (the cache that cold run filled: one listing request);
- a scan of `--scan-models` pinned models answered from the header cache (no request);

and, in this process, the CPU per tensor of the analysis and the rules on the Kimi-K2
stand-in (139,583 tensors) for both trees (each in a child process of its own).

    .venv/bin/python benchmarks/before_after.py [--baseline 6e1bdd4] [--runs 5]
        [--latencies 0.02 0.1] [--scan-models 300] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import KIMI_K2, PYTHON, REPO, emit, isolated_env, machine_line, md_table

LAUNCHER = """\
import sys
root = sys.argv.pop(1)
if root != "-":
    sys.meta_path[:] = [f for f in sys.meta_path
                        if "Editable" not in getattr(f, "__name__", type(f).__name__)]
    sys.path.insert(0, root)
sys.argv[0] = "archlint"
from archlint.cli import main
main()
"""

PER_TENSOR = """\
import copy, sys, time
root = sys.argv[1]
if root != "-":
    sys.meta_path[:] = [f for f in sys.meta_path
                        if "Editable" not in getattr(f, "__name__", type(f).__name__)]
    sys.path.insert(0, root)
sys.path.insert(1, sys.argv[2])
from _common import load_fixture
from archlint.api import analyze_checkpoint
from archlint.lint.engine import run_rules
from archlint.lint.registry import load_rules
rules = load_rules(plugins=False)
base = load_fixture(sys.argv[3])
best = []
for _ in range(int(sys.argv[4])):
    ck = copy.copy(base)
    ck.tensors = list(base.tensors)
    started = time.process_time()
    run_rules(analyze_checkpoint(ck), rules=rules)
    best.append(time.process_time() - started)
print(min(best) / len(base.tensors) * 1e6)
"""

HUB_MODELS = [("openai/gpt-oss-20b", 3), ("deepseek-ai/DeepSeek-V2-Lite", 4),
              ("Qwen/Qwen3-Next-80B-A3B-Instruct", 41), ("deepseek-ai/DeepSeek-R1", 163),
              (KIMI_K2, 61)]


def baseline_tree(rev: str, into: Path) -> Path:
    """`rev`'s archlint importable from `into/pkg` (rules and kernels where the editable
    install maps them: archlint.rules, archlint.kernels)."""
    tree = into / "tree"
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    pkg = into / "pkg"
    pkg.mkdir()
    shutil.copytree(tree / "archlint", pkg / "archlint")
    for sub in ("rules", "kernels"):
        if (tree / sub).exists() and not (pkg / "archlint" / sub).exists():
            (pkg / "archlint" / sub).symlink_to(tree / sub)
    return pkg


def timed(cmd: list[str], env: dict[str, str]) -> tuple[int, float, float]:
    """(exit status, wall s, CPU s of the child)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return (os.waitstatus_to_exitcode(status), time.perf_counter() - started,
            usage.ru_utime + usage.ru_stime)


class Pairs:
    """Interleaved runs of the baseline (A) and the work tree (B) of one command."""

    def __init__(self, launcher: Path, roots: tuple[str, str]) -> None:
        self.launcher, self.roots = launcher, roots

    def run(self, args: list[str], env_of: Any, runs: int, *, prepare: Any = None) -> dict:
        out: dict[str, list[float]] = {"a_wall": [], "b_wall": [], "a_cpu": [], "b_cpu": []}
        codes = set()
        for i in range(runs + 1):  # the first pair warms the page cache, not counted
            for side, root in zip("ab", self.roots, strict=True):
                env = env_of(side)
                if prepare is not None:
                    prepare(side, env)
                code, wall, cpu = timed([PYTHON, str(self.launcher), root, *args], env)
                codes.add(code)
                if i:
                    out[f"{side}_wall"].append(wall)
                    out[f"{side}_cpu"].append(cpu)
        out["codes"] = sorted(codes)  # type: ignore[assignment]
        return out


def ratio_row(label: str, r: dict) -> list[str]:
    ratio = statistics.median(a / b for a, b in zip(r["a_wall"], r["b_wall"], strict=True))
    cpu_ratio = statistics.median(a / b for a, b in zip(r["a_cpu"], r["b_cpu"], strict=True))
    med = statistics.median
    return [label, f"{med(r['a_wall']):.3f} s ({med(r['a_cpu']):.3f} s CPU)",
            f"{med(r['b_wall']):.3f} s ({med(r['b_cpu']):.3f} s CPU)", f"{ratio:.2f}x",
            f"{cpu_ratio:.2f}x", ",".join(map(str, r["codes"]))]


def local_rows(pairs: Pairs, runs: int, tmp: Path) -> list[list[str]]:
    from cold_start import materialise

    model = materialise("openai/gpt-oss-20b", 3, tmp / "models")
    env = isolated_env(tmp / "local-cache")
    rows = [ratio_row("`archlint --help`", pairs.run(["--help"], lambda _: env, runs))]
    rows.append(ratio_row("`archlint <gpt-oss-20b dir> --format json`",
                          pairs.run([str(model), "--format", "json"], lambda _: env, runs)))
    return rows


def hub_rows(pairs: Pairs, runs: int, latencies: list[float], tmp: Path,
             only: list[str] | None = None) -> list[list[str]]:
    from hubproc import HubProcess

    rows = []
    models = [(m, s) for m, s in HUB_MODELS if not only or any(w in m for w in only)]
    repos = [{"id": m, "fixture": m, "shards": s} for m, s in models]
    for latency in latencies:
        with HubProcess(latency_s=latency, repos=repos) as hub:
            for model, shards in models:
                args = [model, "--format", "json", "--no-auth", "--gpu", "none"]
                caches = {side: tmp / f"hub-{side}" for side in "ab"}

                def env_of(side: str) -> dict[str, str]:
                    return isolated_env(caches[side], hub.endpoint)  # noqa: B023

                def empty(side: str, _env: dict[str, str]) -> None:
                    shutil.rmtree(caches[side], ignore_errors=True)  # noqa: B023

                ms = f"{latency * 1000:.0f} ms"
                rows.append(ratio_row(f"{ms} · {model} ({shards} shards), cold",
                                      pairs.run(args, env_of, runs, prepare=empty)))
                rows.append(ratio_row(f"{ms} · {model}, warm",
                                      pairs.run(args, env_of, runs)))
    return rows


def scan_rows(pairs: Pairs, runs: int, n: int, tmp: Path) -> list[list[str]]:
    from scan_scale import fill_cache

    endpoint = "http://127.0.0.1:9"  # nothing answers: every model comes from the cache
    cache = tmp / "scan-cache"
    listing = fill_cache(cache, endpoint, n)
    env = isolated_env(cache)
    args = ["scan", "--endpoint", endpoint, "--from", str(listing), "--jobs", "1",
            "--concurrency", "4", "--output", str(tmp / "scan.jsonl"), "--no-auth",
            "--gpu", "none"]
    r = pairs.run(args, lambda _: env, runs)
    row = ratio_row(f"`archlint scan` {n:,} models from the cache (`--jobs 1`)", r)
    per_s = [n / statistics.median(r["a_wall"]), n / statistics.median(r["b_wall"])]
    return [[*row, f"{per_s[0]:.0f} → {per_s[1]:.0f} models/s"]]


def per_tensor(roots: tuple[str, str], tmp: Path, runs: int) -> tuple[float, float]:
    script = tmp / "per_tensor_child.py"
    script.write_text(PER_TENSOR)
    values = []
    for root in roots:
        proc = subprocess.run([PYTHON, str(script), root, str(REPO / "benchmarks"), KIMI_K2,
                               str(runs)], capture_output=True, text=True, check=True)
        values.append(float(proc.stdout.strip().splitlines()[-1]))
    return values[0], values[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="6e1bdd4")
    parser.add_argument("--after", default=None,
                        help="a revision for the after side too (default: this work tree, "
                             "as it is while the benchmark runs)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latencies", type=float, nargs="*", default=[0.02, 0.1])
    parser.add_argument("--scan-models", type=int, default=300)
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["local", "hub", "scan", "per_tensor"])
    parser.add_argument("--hub-models", nargs="*", default=None,
                        help="only the Hub models whose id holds one of these words")
    parser.add_argument("--out")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base = baseline_tree(args.baseline, tmp / "baseline")
        after = str(baseline_tree(args.after, tmp / "after")) if args.after else "-"
        launcher = tmp / "launch.py"
        launcher.write_text(LAUNCHER)
        roots = (str(base), after)
        pairs = Pairs(launcher, roots)
        rows: list[list[str]] = []
        if "local" not in args.skip:
            rows += local_rows(pairs, args.runs, tmp)
        if "hub" not in args.skip:
            rows += hub_rows(pairs, args.runs, args.latencies, tmp, args.hub_models)
        scan = scan_rows(pairs, args.runs, args.scan_models, tmp) if "scan" not in args.skip \
            else []
        tensor = per_tensor(roots, tmp, 3) if "per_tensor" not in args.skip else None

    head = ["command", f"before ({args.baseline})", f"after ({args.after or 'this tree'})",
            "wall before/after", "CPU before/after", "exit"]
    section = f"""## Before and after (issue 16), paired

{machine_line()}

Command: `.venv/bin/python benchmarks/before_after.py --baseline {args.baseline}
{f"--after {args.after} " if args.after else ""}--runs
{args.runs} --latencies {' '.join(map(str, args.latencies))} --scan-models {args.scan_models}\
{f" --skip {' '.join(args.skip)}" if args.skip else ""}\
{f" --hub-models {' '.join(args.hub_models)}" if args.hub_models else ""}`.
Each command run by the baseline and by this tree in turn, {args.runs} pairs after one
uncounted pair; medians, and the median of the pairs' ratios (above 1: this tree is faster).
Hub rows: the stand-in Hub in its own process with the latency added to every request; *cold*
starts from an empty cache, *warm* reuses the cache its cold run filled.

{md_table(head, rows)}
"""
    if scan:
        section += "\n" + md_table([*head, "models/s"], scan) + "\n"
    if tensor is not None:
        section += (f"\nAnalysis + lint CPU per tensor, Kimi-K2 stand-in (139,583 tensors, "
                    f"in-process, best of 3): {tensor[0]:.2f} µs before, {tensor[1]:.2f} µs "
                    f"after ({tensor[0] / tensor[1]:.2f}x).\n")
    emit(section, args.out)
    json.dump({"rows": rows, "scan": scan, "per_tensor": tensor}, sys.stderr)


if __name__ == "__main__":
    main()
