"""Shared pieces of the benchmark scripts: the machine, the local test Hub, sections, timing.

Every script prints a Markdown section (and writes it to `--out FILE` when asked);
`benchmarks/run_all.py` runs them all and assembles BENCHMARKS.md.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
FIXTURES = REPO / "fixtures" / "models"
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
ARCHLINT = str(VENV_BIN / "archlint") if (VENV_BIN / "archlint").exists() else "archlint"

if str(TESTS) not in sys.path:  # hubserver.py and test_scan.ListingHub live with the tests
    sys.path.insert(0, str(TESTS))

#: fixtures whose tensor tables have tens of thousands of rows (DeepSeek-R1 92k, Qwen3-Next 76k)
BIG_TABLES = ("deepseek-ai__DeepSeek-R1", "Qwen__Qwen3-Next-80B-A3B-Instruct")


def fixture_ids(*, exclude_big: bool = False) -> list[str]:
    """Hub ids of the fixtures (`org/name`), sorted."""
    names = sorted(p.name.removesuffix(".json.gz") for p in FIXTURES.glob("*.json.gz"))
    if exclude_big:
        names = [n for n in names if n not in BIG_TABLES]
    return [n.replace("__", "/", 1) for n in names]


def load_fixture(repo_id: str) -> Any:
    from archlint.checkpoint import Checkpoint

    return Checkpoint.load(FIXTURES / f"{repo_id.replace('/', '__')}.json.gz")


def listing_hub(**kwargs: Any) -> Any:
    """The local test Hub with model search (`/api/models?author=`), see tests/test_scan.py."""
    from test_scan import ListingHub

    return ListingHub(**kwargs)


def isolated_env(cache: Path, endpoint: str | None = None) -> dict[str, str]:
    """The environment of a measured child: no token, not offline, its own archlint cache."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE")}
    env["ARCHLINT_CACHE"] = str(cache)
    env["HF_HUB_DISABLE_TELEMETRY"] = "1"
    env["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
    if endpoint:
        env["HF_ENDPOINT"] = endpoint
    return env


def run_measured(cmd: Sequence[str], *, env: dict[str, str] | None = None,
                 cwd: Path | None = None, stdin: Any = None,
                 timeout: float = 1800) -> tuple[int, float, float, str, str]:
    """Run `cmd`; (returncode, wall seconds, peak RSS MiB of the child, stdout, stderr)."""
    import tempfile
    import time

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, cwd=cwd, stdout=out, stderr=err,
                                stdin=stdin if stdin is not None else subprocess.DEVNULL)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            raise
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (proc.returncode, wall, usage.ru_maxrss / 1024,
                out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def self_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True,
                               text=True, timeout=30).stdout.strip()
        return f"{rev}{' + uncommitted work tree' if dirty else ''}" if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict[str, str]:
    import huggingface_hub

    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu_model(),
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "huggingface_hub": huggingface_hub.__version__,
        "archlint": git_rev(),
        "hyperfine": (subprocess.run(["hyperfine", "--version"], capture_output=True,
                                     text=True).stdout.strip()
                      if shutil.which("hyperfine") else "not installed"),
    }


def machine_line() -> str:
    m = machine()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{m['date']} · {m['nproc']} x {m['cpu']} · {m['memory']} RAM · Python {m['python']} "
            f"· huggingface_hub {m['huggingface_hub']} · archlint {m['archlint']} · load average "
            f"{load} (1/5/15 min, when the section was written)")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def time_calls(fn: Callable[[], Any], runs: int) -> list[float]:
    import time

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def verdict(value: float, target: float) -> str:
    return "✅ meets" if value <= target else "❌ misses"


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def emit(section: str, out: str | None) -> None:
    print(section)
    if out:
        Path(out).write_text(section, encoding="utf-8")


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
