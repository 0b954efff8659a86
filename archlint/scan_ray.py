"""`archlint scan --ray [ADDRESS]`: a scan fanned out over a Ray cluster (extra `ray`).

The driver (the `archlint scan` process) reads the model list, splits it into shards by a
stable hash of each model id (`archlint.scan_rows.shard_of`), and runs one Ray task per shard. A
task analyses its models with a few threads and appends each row to its own shard file,
flushed line by line, in a directory every node can reach (`--ray-dir`: a shared filesystem,
or an object-store mount such as gcsfuse/s3fs). Ray retries a task whose worker died
(`max_retries`); the retry reads the rows its shard file already holds and skips those models,
so a killed worker loses nothing and no model is written twice (rows are idempotent by id and
commit). All workers draw on one request budget per Hub host (a named actor, a token bucket
of `--ray-rps` requests per second), so adding machines never floods the Hub. When every task
is done the driver reduces the shard files to one output, one row per model, and one summary.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archlint import errors
from archlint.scan_rows import output_lines
from archlint.source import SourceOptions, split_revision

__all__ = ["ray_rows"]

#: requests one model costs before its row says how many it really took (listing + config)
REQUESTS_AHEAD = 2
TASK_RETRIES = 3


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise errors.UsageError("--ray needs Ray: pip install 'archlint[ray]'") from None
    return ray


class RequestBudget:
    """A token bucket per Hub host, shared by every task of the cluster (run as a Ray actor).
    `acquire` blocks the caller until its requests fit the rate; `settle` charges (or returns)
    the difference once a model's real request count is known."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(rate, REQUESTS_AHEAD))
        self.tokens: dict[str, float] = {}
        self.stamp: dict[str, float] = {}
        self.spent: dict[str, int] = {}

    def _refill(self, host: str) -> None:
        now = time.monotonic()
        last = self.stamp.get(host, now)
        self.tokens[host] = min(self.burst, self.tokens.get(host, self.burst)
                                + (now - last) * self.rate)
        self.stamp[host] = now

    def acquire(self, host: str, n: int) -> float:
        """Seconds the caller must wait before sending `n` requests (tokens are taken now)."""
        self._refill(host)
        self.tokens[host] -= n
        self.spent[host] = self.spent.get(host, 0) + n
        return max(0.0, -self.tokens[host] / self.rate)

    def settle(self, host: str, n: int) -> None:
        self.tokens[host] = self.tokens.get(host, self.burst) - n
        self.spent[host] = self.spent.get(host, 0) + n

    def total(self) -> dict[str, int]:
        return dict(self.spent)


def _host(source: SourceOptions) -> str:
    from archlint.source.hub import resolve_endpoint

    return urlsplit(resolve_endpoint(source.endpoint)).netloc


def read_shard(path: Path) -> dict[str, dict[str, Any]]:
    """The rows a shard file holds, the last per id (a line cut by a kill is ignored)."""
    rows: dict[str, dict[str, Any]] = {}
    for line in output_lines(path):
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(row, dict) and isinstance(row.get("id"), str):
            previous = rows.get(row["id"])
            if previous is None or previous.get("status") != "ok" or row.get("status") == "ok":
                rows[row["id"]] = row
    return rows


def scan_shard(index: int, refs: list[str], path: str, source: SourceOptions, options: Any,
               threads: int, budget: Any, recheck: bool) -> dict[str, int]:
    """One Ray task: analyse `refs` into the shard file `path`, skipping the models it already
    holds as ok rows (at the commit their ref points at now, when `recheck`)."""
    import ray

    from archlint.scan_rows import _current_sha, _find_rules_runner, analyze_row

    shard = Path(path)
    shard.parent.mkdir(parents=True, exist_ok=True)
    shard.with_suffix(".pid").write_text(str(os.getpid()), encoding="utf-8")
    held = read_shard(shard)
    with shard.open("rb+" if shard.exists() else "wb") as check:  # a kill may cut a line
        check.seek(0, 2)
        if check.tell():
            check.seek(-1, 2)
            if check.read(1) != b"\n":
                check.write(b"\n")
    rules = _find_rules_runner()
    host = _host(source)
    lock = threading.Lock()
    counts = {"ok": 0, "failed": 0, "held": 0}

    def one(ref: str) -> None:
        name = split_revision(ref)[0]
        row = held.get(name)
        if row is not None and row.get("status") == "ok" and (
                not recheck or row.get("revision") == _current_sha(ref, source)):
            with lock:
                counts["held"] += 1
            return
        wait_s = ray.get(budget.acquire.remote(host, REQUESTS_AHEAD))
        if wait_s:
            time.sleep(wait_s)
        row = analyze_row(ref, source=source, options=options, rules=rules)
        extra = int(row.get("requests") or 0) - REQUESTS_AHEAD
        if extra:
            budget.settle.remote(host, extra)
        with lock:
            out.write(json.dumps(row, ensure_ascii=True, separators=(",", ":")) + "\n")
            out.flush()
            counts["ok" if row["status"] == "ok" else "failed"] += 1

    with shard.open("a", encoding="utf-8") as out, \
            ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for future in [pool.submit(one, ref) for ref in refs]:
            future.result()
    return {"shard": index, **counts}


def ray_rows(refs: list[str], *, address: str, shards: int | None, work_dir: Path,
             source: SourceOptions, options: Any, threads: int, rps: float,
             resume: bool) -> Iterator[dict[str, Any]]:
    """Every model's row (one per id) after a Ray run over `shards` tasks (default 4 per CPU
    of the cluster). `address`: a cluster (`auto`: the one `ray start` made on this machine,
    or $RAY_ADDRESS), or `local` for a one-machine cluster started here."""
    ray = _import_ray()
    from archlint.scan_rows import shard_of

    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address, log_to_driver=False,
                 include_dashboard=False)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    count = shards or max(1, min(len(refs), 4 * cpus))
    groups: list[list[str]] = [[] for _ in range(count)]
    for ref in refs:
        groups[shard_of(split_revision(ref)[0], count)].append(ref)
    work_dir.mkdir(parents=True, exist_ok=True)
    paths = [work_dir / f"shard-{k:05d}-of-{count:05d}.jsonl" for k in range(count)]
    if not resume:
        for stale in work_dir.glob("shard-*"):
            stale.unlink()
    budget = ray.remote(RequestBudget).options(num_cpus=0).remote(rps)
    task = ray.remote(scan_shard).options(max_retries=TASK_RETRIES, retry_exceptions=True,
                                          num_cpus=1)
    from archlint.source.cache import default_cache_dir

    # Workers are other processes (other machines): they get the driver's settings spelled
    # out, not read again from an environment that may differ.
    worker_source = SourceOptions(**{**source.__dict__, "progress": None,
                                     "cache_dir": source.cache_dir or default_cache_dir()})
    pending = [task.remote(k, group, str(paths[k]), worker_source, options, threads, budget,
                           resume)
               for k, group in enumerate(groups) if group]
    failed: list[str] = []
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        try:
            ray.get(ready[0])
        except Exception as exc:  # retries exhausted: its models get failed rows below
            failed.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    for path, group in zip(paths, groups, strict=True):
        rows = read_shard(path)
        yield from rows.values()
        for ref in group:  # a model no attempt of its task finished: said, not dropped
            name, rev = split_revision(ref)
            if name not in rows:
                yield {"v": 1, "id": name, "revision": rev, "status": "error",
                       "reason": "task_failed", "error": failed[0] if failed else "no row",
                       "requests": 0, "bytes": 0, "cache_hit": False, "elapsed_ms": 0}
