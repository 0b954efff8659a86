"""Scan many models: bounded concurrency, one JSON line per model, resumable, summarised.

    archlint scan --from ids.txt --output scan.jsonl --concurrency 8
    archlint scan --author deepseek-ai --limit 50 --output ds.jsonl --resume

Each model is fetched (config + safetensors headers, through the header cache), analysed, reduced
to one small row and written at once; the analysis is dropped before the next model is taken, so
memory does not grow with the number of models. Rows are written in completion order and flushed
line by line, so a scan that is killed can be resumed: `--resume` reads the previous output and
skips every model already done *at the same commit* (a model whose branch moved is analysed again,
and its new row, later in the file, supersedes the old one). Failures are rows too, with a stable
`reason` code and the one-line message.

The progress bar and the summary go to stderr; stdout (or `--output`) carries only JSON lines.

Beyond one process: `jobs` worker processes (`--jobs`, default the cores; archlint.scan_procs)
share the models of one scan; `shard=(k, K)` (`--shard k/K`) keeps the models whose id hashes
to shard k of K, so K machines can split one list without talking to each other; and
`archlint.scan_ray` runs the shards as tasks on a Ray cluster (`--ray`).
"""

from __future__ import annotations

import heapq
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from archlint import errors
from archlint.report import strict_json
from archlint.scan_rows import (
    _current_sha,
    _find_rules_runner,
    analyze_row,
    message_of,
    output_lines,
    shard_of,
)
from archlint.source import SourceOptions, split_revision
from archlint.source.cache import is_full_sha

__all__ = ["ScanSummary", "hub_query", "parse_shard", "read_done", "read_model_list",
           "run_scan_cli", "scan", "shard_of"]

#: rows kept for the "worst findings" table: a bounded heap, whatever the number of models.
WORST_KEPT = 10
#: tasks submitted ahead of the ones running: enough to keep the pool busy, few enough that a
#: 100k-model input is never all in memory as futures.
QUEUE_FACTOR = 2
#: a known list gets at most one worker process per this many models
MODELS_PER_JOB = 8

# -- input ---------------------------------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """`k/K` (1 <= k <= K) → (k - 1, K)."""
    k, sep, total = text.partition("/")
    if not sep or not k.strip().isdigit() or not total.strip().isdigit():
        raise errors.UsageError(f"--shard takes k/K, e.g. 1/4 (got {text!r})")
    index, count = int(k), int(total)
    if not 1 <= index <= count:
        raise errors.UsageError(f"--shard {text}: k must be between 1 and K")
    return index - 1, count


def default_jobs() -> int:
    """Worker processes when --jobs is not given: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _check_writable(name: str) -> None:
    """Refuse a summary path that cannot be written, before any model is scanned."""
    path = Path(name)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise errors.InputError(f"{name}: is a directory, cannot write the summary there")
    if (path.exists() and not os.access(path, os.W_OK)) or not os.access(parent, os.W_OK):
        raise errors.InputError(f"{name}: cannot write the summary (permission denied or no "
                                "such directory)")


def read_model_list(lines: Iterable[str]) -> Iterator[str]:
    """Model references from a file's lines: one per line, blank lines and `#` comments skipped."""
    try:
        for raw in lines:
            line = raw.split("#", 1)[0].strip()
            if line:
                yield line
    except UnicodeDecodeError as exc:  # a model list that is not UTF-8 text
        raise errors.InputError(f"the model list is not UTF-8 text ({exc.reason} at byte "
                                f"{exc.start} of a read)") from None


#: the real Hub's largest page of `GET /api/models`.
_PAGE_MAX = 1000


def hub_query(*, author: str | None = None, search: str | None = None, limit: int | None = None,
              endpoint: str | None = None, token: str | bool | None = None,
              timeout: float = 10.0) -> Iterator[str]:
    """`org/name@sha` for each model the Hub lists (`GET /api/models`), lazily, page by page.

    The listed commit is pinned, so the scan is one consistent snapshot and a cached or already
    scanned model costs no request at all.
    """
    from archlint.source.hub import list_model_pages, resolve_endpoint

    base = resolve_endpoint(endpoint)
    params = {k: v for k, v in (("author", author), ("search", search)) if v}
    params["limit"] = str(min(limit, _PAGE_MAX) if limit else _PAGE_MAX)
    params["expand"] = "sha"
    listed = 0
    try:
        for page in list_model_pages(params, endpoint=base, token=token, timeout=timeout):
            for info in page:
                if limit is not None and listed >= limit:
                    return
                model_id = info.get("id") if isinstance(info, dict) else None
                if not isinstance(model_id, str) or not model_id:
                    continue
                sha = info.get("sha")
                listed += 1
                yield f"{model_id}@{sha}" if isinstance(sha, str) and is_full_sha(sha) \
                    else model_id
    except errors.ArchlintError as exc:  # the Hub client's one mapping (transport, JSON)
        raise errors.NetworkError(f"the model listing of {base} failed after {listed} models "
                                  f"({exc.message})") from None


# -- resume ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Done:
    """What resume keeps of a finished row: enough to skip it and to count it in the summary."""

    revision: str | None
    attention: str | None
    ffn: str | None
    findings: tuple[tuple[str, int], ...]


def read_done(path: Path) -> dict[str, _Done]:
    """Models finished with status ok in a previous output (the last row of an id wins).

    Unparsable lines (a run killed mid-write, a line too long to be a row) are ignored; failed
    rows are not "done": they are tried again. Bounded: see `output_lines`.
    """
    done: dict[str, _Done] = {}
    for line in output_lines(path):
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            continue
        if row.get("status") != "ok":
            done.pop(row["id"], None)
            continue
        found = row["findings"] if isinstance(row.get("findings"), dict) else {}
        done[row["id"]] = _Done(
            revision=row.get("revision") if isinstance(row.get("revision"), str) else None,
            attention=row.get("attention") if isinstance(row.get("attention"), str) else None,
            ffn=row.get("ffn") if isinstance(row.get("ffn"), str) else None,
            findings=tuple((str(k), int(v)) for k, v in found.items()
                           if isinstance(v, int) and not isinstance(v, bool)),
        )
    return done


# -- one model -------------------------------------------------------------------------------------


# -- summary ---------------------------------------------------------------------------------------


@dataclass
class ScanSummary:
    """Counters over every row of the output (rows skipped on resume included), in O(1) memory."""

    total: int = 0  # models taken from the input
    ok: int = 0
    failed: int = 0
    skipped: int = 0  # already done at the same commit (resume)
    elapsed_s: float = 0.0
    requests: int = 0
    bytes: int = 0
    cache_hits: int = 0
    max_in_flight: int = 0  # the most models analysed at once: never above `concurrency`
    attention: Counter[str] = field(default_factory=Counter)
    ffn: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    worst: list[tuple[int, int, str]] = field(default_factory=list)  # min-heap (errors, warns, id)
    interrupted: bool = False
    input_error: str | None = None  # the input could not be read to its end (rows kept)

    @property
    def moe(self) -> int:
        return sum(n for kind, n in self.ffn.items() if "moe" in kind.split("+"))

    @property
    def analysed(self) -> int:
        return self.ok + self.skipped

    def add_ok(self, model_id: str, attention: str | None, ffn: str | None,
               findings: dict[str, int] | None) -> None:
        self.attention[attention or "unknown"] += 1
        self.ffn[ffn or "unknown"] += 1
        if findings:
            self.findings.update(findings)
            key = (findings.get("error", 0), findings.get("warning", 0), model_id)
            if key[0] or key[1]:
                if len(self.worst) < WORST_KEPT:
                    heapq.heappush(self.worst, key)
                else:
                    heapq.heappushpop(self.worst, key)

    def add_row(self, row: dict[str, Any]) -> None:
        self.total += 1
        self.requests += int(row.get("requests") or 0)
        self.bytes += int(row.get("bytes") or 0)
        self.cache_hits += bool(row.get("cache_hit"))
        if row["status"] == "ok":
            self.ok += 1
            self.add_ok(row["id"], row.get("attention"), row.get("ffn"), row.get("findings"))
        else:
            self.failed += 1
            self.failures[str(row.get("reason"))] += 1

    def add_skipped(self, model_id: str, done: _Done) -> None:
        self.total += 1
        self.skipped += 1
        self.add_ok(model_id, done.attention, done.ffn, dict(done.findings) or None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total, "ok": self.ok, "failed": self.failed, "skipped": self.skipped,
            "elapsed_s": round(self.elapsed_s, 3), "requests": self.requests,
            "bytes": self.bytes, "cache_hits": self.cache_hits,
            "max_in_flight": self.max_in_flight, "moe": self.moe,
            "attention": dict(self.attention), "ffn": dict(self.ffn),
            "failures": dict(self.failures), "findings": dict(self.findings),
            "worst": [{"id": i, "error": e, "warning": w}
                      for e, w, i in sorted(self.worst, reverse=True)],
            "interrupted": self.interrupted, "input_error": self.input_error,
        }

    def render(self, console: Any) -> None:
        """The end-of-scan tables (rich), for stderr."""
        from rich.table import Table
        from rich.text import Text

        from archlint.report.escape import for_terminal

        def escape_terminal(text: str) -> Text:  # repo-supplied text: no markup, no escapes
            return Text(for_terminal(text))

        rate = self.total / self.elapsed_s if self.elapsed_s else 0.0
        head = (f"{self.total} models in {self.elapsed_s:.1f} s ({rate:.1f}/s): {self.ok} ok, "
                f"{self.failed} failed, {self.skipped} skipped (done earlier); "
                f"{self.requests} requests, {self.bytes / 2**20:.1f} MiB, "
                f"{self.cache_hits} from cache")
        if self.interrupted:
            head += " [interrupted]"
        if self.input_error:
            head += f" [input cut short: {self.input_error}]"
        console.print(head, markup=False, highlight=False, soft_wrap=True)
        analysed = max(1, self.analysed)
        kinds = Table(title="attention", title_justify="left")
        kinds.add_column("kind")
        kinds.add_column("models", justify="right")
        kinds.add_column("share", justify="right")
        for kind, n in self.attention.most_common():
            kinds.add_row(escape_terminal(kind), str(n), f"{100 * n / analysed:.0f}%")
        kinds.add_row("MoE (any layer)", str(self.moe), f"{100 * self.moe / analysed:.0f}%",
                      style="bold")
        console.print(kinds)
        if self.failures:
            fails = Table(title="failures", title_justify="left")
            fails.add_column("reason")
            fails.add_column("models", justify="right")
            for reason, n in self.failures.most_common():
                fails.add_row(escape_terminal(reason), str(n))
            console.print(fails)
        if self.worst:
            worst = Table(title="most findings", title_justify="left")
            worst.add_column("model")
            worst.add_column("errors", justify="right")
            worst.add_column("warnings", justify="right")
            for e, w, model_id in sorted(self.worst, reverse=True):
                worst.add_row(escape_terminal(model_id), str(e), str(w))
            console.print(worst)


# -- the scan --------------------------------------------------------------------------------------


class _Progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool, total: int | None, console: Any) -> None:
        self.bar: Any = None
        if not enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(TextColumn("scan"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                            console=console, transient=False)
        self.task = self.bar.add_task("scan", total=total, detail="")
        self.bar.start()

    def advance(self, summary: ScanSummary) -> None:
        if self.bar is not None:
            detail = f"ok {summary.ok} · failed {summary.failed} · skipped {summary.skipped}"
            self.bar.update(self.task, advance=1, detail=detail)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def scan(
    models: Iterable[str] | None,
    *,
    author: str | None = None,
    search: str | None = None,
    limit: int | None = None,
    concurrency: int = 8,
    out: TextIO | None = None,
    state_path: Path | None = None,
    source_options: SourceOptions | None = None,
    options: Any = None,
    progress: bool = False,
    summary_tables: bool | None = None,
    summary_stream: TextIO | None = None,
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
    ray: dict[str, Any] | None = None,
) -> ScanSummary:
    """Analyse every model of `models` (or of a Hub query) and write one JSON line per model.

    `models`: references (`org/name`, `org/name@rev`, local paths); None → `HfApi.list_models`
    with `author`/`search`/`limit`. `limit` also caps an explicit list. `out`: where rows go
    (default stdout). `state_path`: a previous output to resume from: models done there at the
    commit they point at now are skipped (and counted in the summary). `progress`: a progress
    bar on stderr. `summary_tables` (default: as `progress`): print the summary tables to
    `summary_stream` (default stderr) at the end; the returned ScanSummary carries the same
    numbers either way. `jobs`: worker processes (archlint.scan_procs); `shard=(k, K)`: only
    the models whose id falls in shard k (0-based) of K (`shard_of`); `ray`: run on a Ray
    cluster instead (archlint.scan_ray; keys `address`, `work_dir`, `rps`, `shards`, `resume`).
    """
    _check_counts(jobs=jobs, concurrency=concurrency, limit=limit)
    source = source_options or SourceOptions()
    if options is None:
        from archlint.analysis.profile import Options

        options = Options()
    out = out if out is not None else sys.stdout
    refs, total = _model_refs(models, author=author, search=search, limit=limit, source=source)
    done = read_done(state_path) if state_path is not None else {}
    rules = _find_rules_runner()

    from rich.console import Console

    console = Console(file=summary_stream or sys.stderr, stderr=summary_stream is None)
    bar = _Progress(progress, total, console)
    summary = ScanSummary()
    started = time.monotonic()
    run = _Run(refs=refs, shard=shard, done=done, out=out, bar=bar, summary=summary,
               source=source, options=options, rules=rules)
    if isinstance(models, (list, tuple)):
        jobs = max(1, min(jobs, len(models) // MODELS_PER_JOB))  # a process start costs ~0.3 s
    try:
        if ray is not None or jobs > 1:
            run.on_workers(ray=ray, jobs=jobs, concurrency=concurrency)
        else:
            run.on_threads(concurrency)
    except KeyboardInterrupt:
        summary.interrupted = True
        raise
    finally:
        summary.elapsed_s = time.monotonic() - started
        bar.stop()
        if progress if summary_tables is None else summary_tables:
            summary.render(console)
    return summary


def _check_counts(*, jobs: int, concurrency: int, limit: int | None) -> None:
    if jobs < 1:
        raise errors.UsageError(f"--jobs must be at least 1 (got {jobs})")
    if concurrency < 1:
        raise errors.UsageError(f"--concurrency must be at least 1 (got {concurrency})")
    if limit is not None and limit < 0:
        raise errors.UsageError(f"--limit must not be negative (got {limit})")


def _model_refs(models: Iterable[str] | None, *, author: str | None, search: str | None,
                limit: int | None, source: SourceOptions) -> tuple[Iterable[str], int | None]:
    """The references to scan (the list, or the Hub query's), and their count when known."""
    if models is None:
        if author is None and search is None and limit is None:
            raise errors.UsageError("scan needs a model list (--from) or a Hub query "
                                    "(--author, --search or --limit)")
        return hub_query(author=author, search=search, limit=limit, endpoint=source.endpoint,
                         token=source.token, timeout=source.timeout), limit
    refs = models
    if limit is not None:
        from itertools import islice

        refs = islice(refs, limit)
    if isinstance(models, (list, tuple)):
        return refs, len(models) if limit is None else min(limit, len(models))
    return refs, limit


_Result = tuple[str, dict[str, Any] | None]


@dataclass
class _Run:
    """One scan under way: its input, what it skips, where rows go and what it has counted."""

    refs: Iterable[str]
    shard: tuple[int, int] | None
    done: dict[str, _Done]
    out: TextIO
    bar: _Progress
    summary: ScanSummary
    source: SourceOptions
    options: Any
    rules: Any
    in_flight: int = 0
    input_error: BaseException | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read_input(self) -> Iterator[str]:
        """The input, lazily; a failing input (a Hub query cut off) ends it after the rows
        already under way are written."""
        try:
            for ref in self.refs:
                ref = ref.strip()
                name = split_revision(ref, check=False)[0]
                if ref and (self.shard is None or shard_of(name, self.shard[1]) == self.shard[0]):
                    yield ref
        except Exception as exc:
            self.input_error = exc

    def raise_input_error(self) -> None:
        if self.input_error is not None:
            self.summary.input_error = message_of(self.input_error)
            raise self.input_error

    def task(self, ref: str) -> _Result:
        with self.lock:
            self.in_flight += 1
            self.summary.max_in_flight = max(self.summary.max_in_flight, self.in_flight)
        try:
            name = split_revision(ref, check=False)[0]
            previous = self.done.get(name)
            if previous is not None and previous.revision == _current_sha(ref, self.source):
                return name, None
            return name, analyze_row(ref, source=self.source, options=self.options,
                                     rules=self.rules)
        finally:
            with self.lock:
                self.in_flight -= 1

    def write(self, name: str, row: dict[str, Any] | None) -> None:
        if row is None:
            self.summary.add_skipped(name, self.done[name])
        else:
            self.out.write(strict_json.dumps(row, ensure_ascii=True, separators=(",", ":"))
                           + "\n")
            self.out.flush()
            self.summary.add_row(row)
        self.bar.advance(self.summary)

    def on_workers(self, *, ray: dict[str, Any] | None, jobs: int, concurrency: int) -> None:
        """The rows from a Ray cluster (``ray``) or from ``jobs`` worker processes."""
        if ray is not None:
            from archlint.scan_ray import ray_rows

            listed = list(self.read_input())
            self.summary.max_in_flight = len(listed)
            for ray_row in ray_rows(listed, source=self.source, options=self.options, **ray):
                self.write(ray_row["id"], ray_row)
        else:
            from archlint.scan_procs import process_rows

            items = ((ref, getattr(self.done.get(split_revision(ref, check=False)[0]),
                                   "revision", None))
                     for ref in self.read_input())
            for name, row in process_rows(items, jobs=jobs, concurrency=concurrency,
                                          source=self.source, options=self.options,
                                          queue_size=concurrency * QUEUE_FACTOR):
                self.write(name, row)
        self.raise_input_error()

    def on_threads(self, concurrency: int) -> None:
        """The rows from ``concurrency`` threads of this process, at most
        ``concurrency * QUEUE_FACTOR`` models queued at once."""
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="archlint-scan")
        pending: set[Future[_Result]] = set()
        try:
            for ref in self.read_input():
                # A local path (or a local file of ids) is only checked for done-ness by its name.
                pending.add(pool.submit(self.task, ref))
                if len(pending) >= concurrency * QUEUE_FACTOR:
                    pending = self._settle_some(pending)
            while pending:
                pending = self._settle_some(pending)
            self.raise_input_error()
        except KeyboardInterrupt:
            self.summary.interrupted = True
            for future in pending:
                future.cancel()
            raise
        finally:
            pool.shutdown(wait=not self.summary.interrupted, cancel_futures=True)

    def _settle_some(self, pending: set[Future[_Result]]) -> set[Future[_Result]]:
        """Write the rows of the futures done first; the ones still running."""
        finished, still = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            self.write(*future.result())
        return still


# -- CLI glue --------------------------------------------------------------------------------------


def run_scan_cli(
    *,
    from_file: str | None = None,
    author: str | None = None,
    search: str | None = None,
    limit: int | None = None,
    concurrency: int = 8,
    output: str | None = None,
    resume: bool = False,
    source_options: SourceOptions | None = None,
    options: Any = None,
    progress: bool | None = None,
    summary_json: str | None = None,
    jobs: int | None = None,
    shard: str | None = None,
    ray_address: str | None = None,
    ray_dir: str | None = None,
    ray_rps: float = 50.0,
    ray_shards: int | None = None,
) -> int:
    """What `archlint scan` does; returns the exit code.

    `from_file`: a file of model ids, `-` for stdin. `output`: the JSON-lines file (default
    stdout); with `resume` it is read first and appended to. `progress`: default on when stderr is
    a terminal. `summary_json`: also write the summary as JSON to this path. Exit 0 when every
    model was analysed, 1 when some failed (their rows say why), 2 for a usage error (raised as
    UsageError for the CLI's handler).
    """
    if from_file is not None and (author or search):
        raise errors.UsageError("use either --from or a Hub query (--author/--search), not both")
    if resume and not output:
        raise errors.UsageError("--resume needs --output FILE.jsonl (the file to resume)")
    if progress is None:
        progress = sys.stderr.isatty()
    shard_k = parse_shard(shard) if shard is not None else None
    ray: dict[str, Any] | None = None
    if ray_address is not None:
        ray = _ray_settings(ray_address, ray_dir=ray_dir, output=output, rps=ray_rps,
                            shards=ray_shards, resume=resume,
                            threads=max(1, concurrency // max(1, jobs or 1)))
    if summary_json:  # found unwritable only after the whole scan, it would lose the summary
        _check_writable(summary_json)
    models = _model_list(from_file) if from_file is not None else None
    # Ray keeps its own resumable state (the shard files) and rewrites the output whole.
    state_path = Path(output) if (resume and output and ray is None) else None
    out = _open_output(output, appending=state_path is not None) if output else sys.stdout
    try:
        summary = scan(models, author=author, search=search, limit=limit,
                       concurrency=concurrency, out=out, state_path=state_path,
                       source_options=source_options, options=options, progress=progress,
                       summary_tables=True, jobs=jobs or default_jobs(), shard=shard_k,
                       ray=ray)
    finally:
        if out is not sys.stdout:
            out.close()
    if summary_json:
        try:
            Path(summary_json).write_text(strict_json.dumps(summary.to_dict(), indent=2) + "\n",
                                          encoding="utf-8")
        except OSError as exc:
            raise errors.InputError(f"{summary_json}: cannot write the summary "
                                    f"({exc.strerror})") from None
    return 1 if summary.failed else 0


def _ray_settings(address: str, *, ray_dir: str | None, output: str | None, rps: float,
                  shards: int | None, resume: bool, threads: int) -> dict[str, Any]:
    """`scan(ray=...)`'s settings; the shard files go to `--ray-dir`, else beside the output,
    else to a fresh temporary folder."""
    import tempfile

    work_dir = Path(ray_dir) if ray_dir else (
        Path(output + ".shards") if output else Path(tempfile.mkdtemp(prefix="archlint-")))
    return {"address": address, "work_dir": work_dir, "rps": rps, "shards": shards,
            "resume": resume, "threads": threads}


def _model_list(from_file: str) -> Iterable[str]:
    """The ids of `--from`: stdin read lazily (`-`), a file read whole (ids are small: a total
    for the progress bar)."""
    if from_file == "-":
        return read_model_list(sys.stdin)
    try:
        handle_in = open(from_file, encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise errors.InputError(f"{from_file}: cannot read the model list "
                                f"({exc.strerror})") from None
    models = list(read_model_list(handle_in))
    handle_in.close()
    return models


def _open_output(output: str, *, appending: bool) -> TextIO:
    """The JSON-lines output: appended to when resuming (on a new line if a killed run left
    half of one), else written afresh."""
    path = Path(output)
    try:
        if appending and path.exists() and path.stat().st_size:
            with path.open("rb") as check:  # a run killed mid-line: start on a new line
                check.seek(-1, 2)
                newline_needed = check.read(1) != b"\n"
            out = path.open("a", encoding="utf-8")
            if newline_needed:
                out.write("\n")
            return out
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise errors.InputError(f"{output}: cannot write ({exc.strerror})") from None
