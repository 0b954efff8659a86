"""`archlint scan --jobs N`: the scan's models analysed in N worker processes.

One process analyses a model in ~10 ms of CPU under the GIL, so a cold scan in one process stops
growing with concurrency once the CPU is full (BENCHMARKS.md, "Scans are CPU-bound"). Here N
processes (started with `spawn`: no inherited threads or locks) each run `concurrency / N`
threads that take models from one shared queue and send back their rows; the parent writes
every row itself, so the output, `--resume` and the summary are exactly those of one process.

A worker that dies (killed, out of memory) is replaced; the models it had taken and not
finished are queued again once, then reported as failed rows (`reason: "worker_died"`), so
nothing is lost and nothing is written twice.
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from archlint.source import SourceOptions, split_revision

__all__ = ["process_rows"]

#: a model is queued again at most this often after the worker holding it died
MAX_REQUEUES = 1
_POLL_S = 0.2


def _worker(inbox: Any, outbox: Any, wid: int, source: SourceOptions, options: Any,
            threads: int) -> None:
    """A worker process: `threads` threads analysing models from `inbox` until a sentinel."""
    from archlint.scan_rows import _current_sha, _find_rules_runner, analyze_row

    rules = _find_rules_runner()

    def loop() -> None:
        while True:
            item = inbox.get()
            if item is None:
                return
            seq, ref, previous = item
            outbox.put(("take", wid, seq))
            name = split_revision(ref, check=False)[0]
            if previous is not None and previous == _current_sha(ref, source):
                outbox.put(("row", wid, seq, name, None))
                continue
            outbox.put(("row", wid, seq, name,
                        analyze_row(ref, source=source, options=options, rules=rules)))

    pool = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def _died_row(ref: str) -> dict[str, Any]:
    from archlint.scan_rows import ROW_VERSION

    name, rev = split_revision(ref, check=False)
    return {"v": ROW_VERSION, "id": name, "revision": rev, "status": "error",
            "reason": "worker_died", "error": "the worker process analysing it died twice",
            "requests": 0, "bytes": 0, "cache_hit": False, "elapsed_ms": 0}


def process_rows(items: Iterable[tuple[str, str | None]], *, jobs: int, concurrency: int,
                 source: SourceOptions, options: Any,
                 queue_size: int) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(model id, row or None when skipped) for every (ref, previous revision) of `items`, in
    completion order, analysed by `jobs` processes with `concurrency` models in flight in all.
    `previous`: the revision of an earlier ok row (resume); the model is skipped when its ref
    still points there."""
    ctx = multiprocessing.get_context("spawn")
    threads = max(1, math.ceil(concurrency / jobs))
    inbox: Any = ctx.Queue(maxsize=max(queue_size, jobs * threads))
    outbox: Any = ctx.Queue()
    worker_source = SourceOptions(**{**source.__dict__, "progress": None})

    def start(wid: int) -> Any:
        proc = ctx.Process(target=_worker, name=f"archlint-scan-{wid}", daemon=True,
                           args=(inbox, outbox, wid, worker_source, options, threads))
        proc.start()
        return proc

    procs = {wid: start(wid) for wid in range(jobs)}
    state = threading.Lock()
    sent: dict[int, str] = {}  # seq → ref, until its row is back
    requeued: dict[int, int] = {}
    fed: dict[str, Any] = {"count": 0, "done": False, "error": None}

    def feed() -> None:
        try:
            for seq, (ref, previous) in enumerate(items):
                with state:
                    sent[seq] = ref
                    fed["count"] = seq + 1
                inbox.put((seq, ref, previous))
        except BaseException as exc:  # the input failed: what was fed is still finished
            fed["error"] = exc
        finally:
            with state:
                fed["done"] = True
            for _ in range(jobs * threads):
                inbox.put(None)

    feeder = threading.Thread(target=feed, name="archlint-scan-feed", daemon=True)
    feeder.start()
    taken: dict[int, set[int]] = {wid: set() for wid in procs}
    try:
        while True:
            with state:
                if fed["done"] and not sent:
                    break
            try:
                message = outbox.get(timeout=_POLL_S)
            except queue.Empty:
                yield from _replace_dead(procs, taken, sent, requeued, state, inbox, start,
                                         threads, fed)
                continue
            if message[0] == "take":
                taken.setdefault(message[1], set()).add(message[2])
                continue
            _, wid, seq, name, row = message
            taken.get(wid, set()).discard(seq)
            with state:
                if sent.pop(seq, None) is None:
                    continue  # already answered (a requeued model finished twice)
            yield name, row
        if fed["error"] is not None:
            raise fed["error"]
    finally:
        for proc in procs.values():
            if proc.is_alive():
                proc.terminate()
        for proc in procs.values():
            proc.join(timeout=5)
        inbox.cancel_join_thread()
        outbox.cancel_join_thread()


def _replace_dead(procs: dict[int, Any], taken: dict[int, set[int]], sent: dict[int, str],
                  requeued: dict[int, int], state: threading.Lock, inbox: Any, start: Any,
                  threads: int, fed: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Replace each worker that died; queue its unfinished models again (once), else fail them."""
    for wid, proc in list(procs.items()):
        if proc.is_alive() or proc.exitcode == 0:
            continue
        lost = taken.pop(wid, set())
        procs[wid] = start(wid)
        taken[wid] = set()
        with state:
            finished_feeding = fed["done"]
        for seq in sorted(lost):
            with state:
                ref = sent.get(seq)
            if ref is None:
                continue
            if requeued.get(seq, 0) >= MAX_REQUEUES:
                with state:
                    sent.pop(seq, None)
                yield split_revision(ref, check=False)[0], _died_row(ref)
                continue
            requeued[seq] = requeued.get(seq, 0) + 1
            inbox.put((seq, ref, None))
        if finished_feeding:  # the sentinels were sent already: the new worker needs its own
            for _ in range(threads):
                inbox.put(None)
