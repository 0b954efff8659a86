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
if str(REPO) not in sys.path:  # tests/test_scan.py imports `tests.helpers`; last, so that
    sys.path.append(str(REPO))  # a measured tree put first on sys.path still wins

#: fixtures whose tensor tables have tens of thousands of rows (DeepSeek-R1 92k, Qwen3-Next 76k)
BIG_TABLES = ("deepseek-ai__DeepSeek-R1", "Qwen__Qwen3-Next-80B-A3B-Instruct")


def fixture_ids(*, exclude_big: bool = False) -> list[str]:
    """Hub ids of the fixtures (`org/name`), sorted."""
    names = sorted(p.name.removesuffix(".json.gz") for p in FIXTURES.glob("*.json.gz"))
    if exclude_big:
        names = [n for n in names if n not in BIG_TABLES]
    return [n.replace("__", "/", 1) for n in names]


def load_fixture(repo_id: str) -> Any:
    """A fixture by its Hub id, or a stand-in (`standin:kimi-k2`, see `kimi_k2_standin`)."""
    from archlint.checkpoint import Checkpoint

    if repo_id == KIMI_K2:
        return kimi_k2_standin()
    return Checkpoint.load(FIXTURES / f"{repo_id.replace('/', '__')}.json.gz")


KIMI_K2 = "moonshotai/Kimi-K2-Instruct"


def kimi_k2_standin() -> Any:
    """A Kimi-K2-sized checkpoint (no fixture holds its 140k-tensor table): DeepSeek-R1's
    tensor table and config re-shaped to Kimi-K2-Instruct's published config.json (DeepSeek-V3
    architecture with 384 routed experts, 64 heads, one dense layer, no MTP layer, vocabulary
    163,840). Layer 0 repeats R1's dense layer 0 and layers 1-60 its MoE layer 3, with
    `experts.0`'s six FP8 tensors (weights + 128x128 block scales) for each of the 384 experts:
    20 + 60 x 2,326 + 3 = 139,583 tensors. Served in 61 shards, as the real repo is."""
    from dataclasses import replace

    from archlint.checkpoint import Checkpoint, TensorInfo

    r1 = Checkpoint.load(FIXTURES / "deepseek-ai__DeepSeek-R1.json.gz")
    heads, experts, vocab = 64, 384, 163840
    config = dict(r1.config or {}) | {
        "model_type": "kimi_k2", "num_attention_heads": heads, "num_key_value_heads": heads,
        "n_routed_experts": experts, "first_k_dense_replace": 1, "num_nextn_predict_layers": 0,
        "n_group": 1, "topk_group": 1, "vocab_size": vocab, "routed_scaling_factor": 2.827,
        "max_position_embeddings": 131072, "rope_theta": 50000.0,
        "rope_scaling": {"beta_fast": 1.0, "beta_slow": 1.0, "factor": 32.0, "mscale": 1.0,
                         "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096,
                         "type": "yarn"},
    }
    rows = {"q_b_proj": heads * 192, "kv_b_proj": heads * 256}  # (nope + rope), (nope + v)
    blocks = -(-7168 // 128)

    def reshaped(t: TensorInfo, layer: int) -> TensorInfo:
        name = t.name.replace(".layers.0.", f".layers.{layer}.", 1).replace(
            ".layers.3.", f".layers.{layer}.", 1)
        shape = t.shape
        for proj, out in rows.items():
            if f".{proj}.weight" in name:
                shape = (out, shape[1]) if name.endswith("weight") else (-(-out // 128), shape[1])
        if ".o_proj.weight" in name:
            shape = (7168, heads * 128) if name.endswith("weight") else (blocks, heads)
        if ".mlp.gate." in name:
            shape = (experts, *shape[1:])
        if name.endswith(("embed_tokens.weight", "lm_head.weight")):
            shape = (vocab, shape[1])
        return replace(t, name=name, shape=tuple(shape), shard=None, start=None, end=None)

    dense = [t for t in r1.tensors or () if t.name.startswith("model.layers.0.")]
    moe = [t for t in r1.tensors or () if t.name.startswith("model.layers.3.")
           and ".experts." not in t.name]
    expert0 = [t for t in r1.tensors or () if t.name.startswith("model.layers.3.mlp.experts.0.")]
    tensors = [reshaped(t, 0) for t in dense]
    for layer in range(1, 61):
        tensors += [reshaped(t, layer) for t in moe]
        for e in range(experts):
            tensors += [replace(reshaped(t, layer),
                                name=reshaped(t, layer).name.replace(".experts.0.",
                                                                     f".experts.{e}.", 1))
                        for t in expert0]
    tensors += [reshaped(t, 0) for t in r1.tensors or () if ".layers." not in t.name]
    return Checkpoint(model_id=KIMI_K2, source="catalog", config=config,
                      config_text=None, tensors=tensors, weights_format="safetensors",
                      notes=["stand-in: DeepSeek-R1's table re-shaped to Kimi-K2's config"])


def listing_hub(**kwargs: Any) -> Any:
    """The local test Hub with model search (`/api/models?author=`), see tests/test_scan.py."""
    from test_scan import ListingHub

    return ListingHub(**kwargs)


def isolated_env(cache: Path, endpoint: str | None = None) -> dict[str, str]:
    """The environment of a measured child: no token, not offline, its own archlint cache."""
    # PYTHONDONTWRITEBYTECODE off: an installed archlint has its bytecode compiled (as the
    # peers in site-packages have); with it set, an editable checkout recompiles every module
    # of archlint in every measured run (~0.1-0.2 s of CPU).
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE",
                        "PYTHONDONTWRITEBYTECODE")}
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
