"""Cold start: `archlint <local dir> --format json` and `archlint --help`, wall time.

A local model directory is materialised from a fixture: config.json, the index and real
safetensors headers, the data regions as sparse zeros (a 13 GB model takes a few KB of disk).
Timed with hyperfine when installed (`apt-get install -y hyperfine`), else a subprocess loop;
`python -X importtime` gives the modules that cost the most.

    .venv/bin/python benchmarks/cold_start.py [--runs 30] [--out FILE]

Targets (this 2-core machine, issue 16): report ≤ 0.12 s median, --help ≤ 0.05 s median.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from _common import (
    ARCHLINT,
    PYTHON,
    emit,
    isolated_env,
    load_fixture,
    machine_line,
    md_table,
    median,
    run_measured,
    verdict,
)

LOCAL_MODELS = [("openai/gpt-oss-20b", 3), ("meta-llama/Llama-3.2-1B-Instruct", 1)]


def materialise(repo_id: str, shards: int, root: Path) -> Path:
    from hubserver import model_files

    target = root / repo_id.replace("/", "__")
    target.mkdir(parents=True, exist_ok=True)
    for name, vf in model_files(load_fixture(repo_id), shards=shards).items():
        with (target / name).open("wb") as fh:
            fh.write(vf.head)
            fh.truncate(vf.size)  # sparse: the data region costs no disk
    return target


def hyperfine(commands: list[tuple[str, list[str]]], runs: int, env: dict[str, str],
              tmp: Path) -> dict[str, list[float]]:
    export = tmp / "hyperfine.json"
    cmd = ["hyperfine", "--warmup", "3", "--runs", str(runs), "-N", "-i",
           "--export-json", str(export)]
    for label, argv in commands:
        cmd += ["--command-name", label, " ".join(argv)]
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    data = json.loads(export.read_text())
    return {r["command"]: r["times"] for r in data["results"]}


def loop(commands: list[tuple[str, list[str]]], runs: int,
         env: dict[str, str]) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall seconds and the child's CPU seconds (user + sys) of each run. On a shared machine
    the CPU moves less than the wall time with the load (other helpers' jobs)."""
    import resource

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    for label, argv in commands:
        for _ in range(3):
            run_measured(argv, env=env)
        for _ in range(runs):
            before = cpu()
            walls.setdefault(label, []).append(run_measured(argv, env=env)[1])
            cpus.setdefault(label, []).append(cpu() - before)
    return walls, cpus


def import_times(argv: list[str], env: dict[str, str],
                 top: int = 12) -> tuple[float, list[Any], list[Any], list[Any]]:
    """From `python -X importtime`: total import seconds; the slowest modules imported at depth
    <= 1 (cumulative); and self time summed by top-level package (where the time really goes)."""
    proc = subprocess.run([PYTHON, "-X", "importtime", *argv], env=env, capture_output=True,
                          text=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|", 2)
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append((name.strip(), int(cum_us) / 1000, int(self_us) / 1000, depth))
    total = sum(r[2] for r in rows) / 1000
    shallow = sorted((r for r in rows if r[3] <= 1), key=lambda r: -r[1])[:top]
    by_package: dict[str, float] = {}
    for name, _, self_ms, _ in rows:
        package = name.split(".")[0]
        by_package[package] = by_package.get(package, 0.0) + self_ms
    packages = sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
    own = sorted(((n, s) for n, _, s, _ in rows if n.split(".")[0] == "archlint"),
                 key=lambda r: -r[1])[:8]
    return total, [(n, c, s) for n, c, s, _ in shallow], packages, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = isolated_env(tmp / "cache")
        dirs = [materialise(m, s, tmp / "models") for m, s in LOCAL_MODELS]
        commands = [(f"archlint {d.name} --format json", [ARCHLINT, str(d), "--format", "json"])
                    for d in dirs]
        commands.append(("archlint --help", [ARCHLINT, "--help"]))
        checks = []
        for label, argv in commands:
            code, _, _, _, err = run_measured(argv, env=env)
            checks.append((label, code, (err.strip().splitlines() or [""])[-1][:200]))
        tool = "hyperfine" if shutil.which("hyperfine") else "subprocess loop"
        times, cpus = ((hyperfine(commands, args.runs, env, tmp), {}) if tool == "hyperfine"
                       else loop(commands, args.runs, env))
        imports = {label: import_times(["-m", "archlint", *argv[1:]], env)
                   for label, argv in commands}

    rows = []
    for label, _ in commands:
        t = times[label]
        target = 0.05 if label.endswith("--help") else 0.12
        cpu = f"{median(cpus[label]):.3f} s" if cpus.get(label) else "—"
        rows.append([f"`{label}`", f"**{median(t):.3f} s**", f"{min(t):.3f} s",
                     f"{max(t):.3f} s", cpu, f"≤ {target} s {verdict(median(t), target)}"])
    exit_rows = [[f"`{label}`", code, f"`{msg}`" if msg else ""] for label, code, msg in checks]
    import_sections = []
    for label, (total, top, packages, own) in imports.items():
        import_sections.append(
            f"`python -X importtime -m {label}`: {total:.3f} s of imports in all. Slowest "
            f"modules imported at depth ≤ 1 (cumulative), and self time summed by top-level "
            f"package:\n\n"
            + md_table(["module", "cumulative", "self", "", "package", "self, summed"],
                       [[f"`{n}`", f"{c:.1f} ms", f"{s:.1f} ms", "",
                         f"`{p}`" if i < len(packages) else "",
                         f"{packages[i][1]:.1f} ms" if i < len(packages) else ""]
                        for i, (n, c, s) in enumerate(top)
                        for p in [packages[i][0] if i < len(packages) else ""]])
            + "\n\narchlint's own modules by self time (record classes are built in the "
            "module that defines them): "
            + ", ".join(f"`{n}` {s:.1f} ms" for n, s in own) + ".")
    section = f"""## Cold start

{machine_line()}

Command: `.venv/bin/python benchmarks/cold_start.py --runs {args.runs}` ({tool}, 3 warm-up
runs, {args.runs} timed, `-N` no shell). Local model directories materialised from the fixtures
(config.json, index and real safetensors headers; data regions sparse): gpt-oss-20b in 3
shards (459 tensors), Llama-3.2-1B config only. *CPU* is the child's user + sys time
(subprocess loop only): on a shared machine it moves less with the load than the wall time.

{md_table(["command", "median", "min", "max", "CPU (median)", "target"], rows)}

Exit status and last stderr line of each command (a failing command's time means little):

{md_table(["command", "exit", "stderr"], exit_rows)}

{chr(10).join(s + chr(10) for s in import_sections)}"""
    emit(section, args.out)


if __name__ == "__main__":
    main()
