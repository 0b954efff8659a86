"""Round trips: how long a sharded model's headers take over a slow link, and why.

The local test Hub (tests/hubserver.py) adds `--latency` seconds to every request. Two repos:
gpt-oss-20b's tensor table in 19 shards, and DeepSeek-R1's (91,991 tensors) in 163 shards, the
size of the real DeepSeek-V3/R1 repos. For each, a cold fetch (empty header cache) is timed
several times in this process, through `archlint.source.hub.fetch_checkpoint`, and the server's
log gives requests, bytes and the sequential round trips actually taken: a request's round is one
more than the latest round of any request that had finished before it started, so requests queued
behind a full worker pool show up as extra rounds.

    .venv/bin/python benchmarks/round_trips.py [--latency 0.1] [--runs 5] [--out FILE]

Targets: 19 shards ≤ 0.5 s, 163 shards ≤ 1 s (fetch, cold cache, 100 ms per request).

Then whole processes on small models (issue 16: faster than hf-mem): `archlint MODEL --format
json --no-auth` with an empty cache, and hf-mem 0.5.6 (through benchmarks/_hfmem_shim.py) where
it is installed, on gpt-oss-20b in 3 shards and DeepSeek-V2-Lite in 4; the server's log gives
each one's requests and sequential round trips, and the time from the process's start to its
first request (interpreter start and imports, the CPU a round trip cannot hide).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    ARCHLINT,
    REPO,
    emit,
    human_bytes,
    isolated_env,
    machine_line,
    md_table,
    median,
    verdict,
)
from hubproc import HubProcess

CASES = [  # (repo served, fixture, shards, target seconds)
    ("openai/gpt-oss-20b", "openai/gpt-oss-20b", 19, 0.5),
    ("deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1", 163, 1.0),
]

#: small models, whole processes against hf-mem (served id, shards); served under their own
#: names, which CASES does not use
SMALL = [("openai/gpt-oss-20b-3", "openai/gpt-oss-20b", 3),
         ("deepseek-ai/DeepSeek-V2-Lite", "deepseek-ai/DeepSeek-V2-Lite", 4)]


def rounds(requests: list[Any]) -> int:
    """Depth of the observed request chain (see the module docstring)."""
    done: list[tuple[float, int]] = []
    deepest = 0
    for req in sorted(requests, key=lambda r: r["started"]):
        depth = 1 + max((d for finished, d in done if finished <= req["started"]), default=0)
        done.append((req["finished"], depth))
        deepest = max(deepest, depth)
    return deepest


def measure(hub: Any, repo_id: str, *, runs: int, workers: int) -> dict[str, Any]:
    from huggingface_hub.utils import close_session

    from archlint.api import analyze_checkpoint
    from archlint.source.cache import flush
    from archlint.source.hub import fetch_checkpoint

    fetch_s, analyse_s, new_conn_s, write_s = [], [], [], []
    stats: dict[str, Any] = {}
    for run in range(runs + 1):
        if run == 0:  # the first fetch opens its connections, as a fresh `archlint` process does
            close_session()
        with tempfile.TemporaryDirectory() as cache:
            hub.reset()
            started = time.perf_counter()
            ckpt = fetch_checkpoint(repo_id, endpoint=hub.endpoint, token=False,
                                    cache_dir=Path(cache), max_workers=workers)
            fetched = time.perf_counter()
            flush()  # the cache entry: written in the background for tables of 5,000+ tensors
            written = time.perf_counter()
            analyze_checkpoint(ckpt)
            if run == 0:
                new_conn_s.append(fetched - started)
                continue
            fetch_s.append(fetched - started)
            write_s.append(written - fetched)
            analyse_s.append(time.perf_counter() - written)
            log = hub.log()
            stats = {"requests": len(log), "client_requests": ckpt.fetch_stats["requests"],
                     "bytes": sum(r["sent"] for r in log), "rounds": rounds(log),
                     "tensors": len(ckpt.tensors or []), "shards": len(ckpt.shards)}
            # warm: a second fetch of the branch answers from the cache after one listing call
            hub.reset()
            started = time.perf_counter()
            fetch_checkpoint(repo_id, endpoint=hub.endpoint, token=False, cache_dir=Path(cache))
            stats["warm_s"] = time.perf_counter() - started
            stats["warm_requests"] = len(hub.log())
            hub.reset()
            started = time.perf_counter()
            fetch_checkpoint(repo_id, ckpt.revision, endpoint=hub.endpoint, token=False,
                             cache_dir=Path(cache))
            stats["pinned_s"] = time.perf_counter() - started
            stats["pinned_requests"] = len(hub.log())
    nocache_s = []
    for _ in range(runs):  # the same fetch without the cache write (Checkpoint.dump, gzip)
        started = time.perf_counter()
        fetch_checkpoint(repo_id, endpoint=hub.endpoint, token=False, max_workers=workers,
                         use_cache=False)
        nocache_s.append(time.perf_counter() - started)
    return {**stats, "fetch_s": fetch_s, "analyse_s": analyse_s, "nocache_s": nocache_s,
            "new_conn_s": new_conn_s, "write_s": write_s}


def process_rounds(hub: Any, model: str, runs: int) -> list[list[Any]]:
    """One row per tool: requests, round trips and paths of the first run; medians of `runs`
    fresh processes for the time to the first request and the whole wall time."""
    from side_by_side import hfmem_python

    tools: list[tuple[str, list[str], dict[str, str]]] = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        hfmem = hfmem_python()
        for run in range(runs):
            tools = [("archlint", [ARCHLINT, model, "--format", "json", "--no-auth"],
                      isolated_env(Path(tmp) / f"cache-{run}", hub.endpoint))]
            if hfmem is not None:
                henv = {**isolated_env(Path(tmp) / "hfmem", hub.endpoint),
                        "HFMEM_ENDPOINT": hub.endpoint}
                tools.append(("hf-mem 0.5.6", [hfmem, str(REPO / "benchmarks" / "_hfmem_shim.py"),
                                               "--model-id", model, "--json-output"], henv))
            for i, (name, cmd, env) in enumerate(tools):
                hub.reset()
                started = time.monotonic()  # the server logs CLOCK_MONOTONIC too
                code = subprocess.run(cmd, env=env, capture_output=True).returncode
                wall = time.monotonic() - started
                log = hub.log()
                first = min((r["started"] for r in log), default=started) - started
                if run == 0:
                    rows.append([name, model, code, len(log), rounds(log), [first], [wall],
                                 sorted({r["path"].split("/")[-1].split("?")[0] for r in log})])
                else:
                    rows[-len(tools) + i][5].append(first)
                    rows[-len(tools) + i][6].append(wall)
    return [[n, m, c, req, rnd, f"{median(f) * 1000:.0f} ms", f"{median(w):.3f} s",
             ", ".join(paths)] for n, m, c, req, rnd, f, w, paths in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added per request")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="*", default=None,
                        help="max_workers values to compare (default: fetch_checkpoint's "
                        "default, the CLI's, 32)")
    parser.add_argument("--out")
    args = parser.parse_args()

    from archlint.source import SourceOptions
    from archlint.source.hub import DEFAULT_MAX_WORKERS

    default_workers = DEFAULT_MAX_WORKERS  # fetch_checkpoint's default
    cli_workers = SourceOptions().max_workers  # what the CLI passes
    workers_list = args.workers or sorted({default_workers, cli_workers, 32})
    repos = [{"id": served, "fixture": fixture, "shards": shards}
             for served, fixture, shards, _ in CASES]
    repos += [{"id": served, "fixture": fixture, "shards": shards}
              for served, fixture, shards in SMALL]
    results = []
    with HubProcess(latency_s=args.latency, repos=repos) as hub:
        for served, _, shards, target in CASES:
            for workers in workers_list:
                results.append((served, shards, target, workers,
                                measure(hub, served, runs=args.runs, workers=workers)))
        small = [row for served, _, _ in SMALL for row in process_rounds(hub, served, args.runs)]

    rows = []
    for served, shards, target, workers, r in results:
        fetch = median(r["fetch_s"])
        floor = r["rounds"] * args.latency
        mark = verdict(fetch, target) if workers == default_workers else ""
        rows.append([
            f"{served} ({shards} shards, {r['tensors']:,} tensors)",
            f"{workers}{' (default)' if workers == default_workers else ''}"
            f"{' (CLI)' if workers == cli_workers else ''}",
            f"**{fetch:.3f} s** (min {min(r['fetch_s']):.3f})", f"≤ {target} s {mark}",
            f"{median(r['write_s']):.3f} s",
            f"{median(r['nocache_s']):.3f} s", f"{r['new_conn_s'][0]:.3f} s",
            r["requests"], human_bytes(r["bytes"]), r["rounds"], f"{floor:.1f} s",
            f"{median(r['analyse_s']):.2f} s",
            f"{r['warm_s']:.3f} s / {r['warm_requests']}",
            f"{r['pinned_s'] * 1000:.0f} ms / {r['pinned_requests']}",
        ])
    section = f"""## Round trips (sharded models over a {args.latency * 1000:.0f} ms link)

{machine_line()}

Command: `.venv/bin/python benchmarks/round_trips.py --latency {args.latency}
--runs {args.runs}`. Local test Hub (its own process) with {args.latency * 1000:.0f} ms added
to every request; cold header cache for each run; medians of {args.runs} runs. *Rounds* are
the sequential round trips observed in the server log (requests waiting for a free worker
count as a new round), so *rounds x latency* is the floor that latency alone sets.
*Analysis* is `analyze_checkpoint` on the fetched Checkpoint (CPU only, not part of the fetch
target). *Cache write after* is how long the header cache entry's background write still ran
once the fetch had returned (`archlint.source.cache.flush()`; tables under 5,000 tensors are
written before the fetch returns). *Fetch, no cache write* is the same cold fetch with
`use_cache=False`. *Default* is `fetch_checkpoint`'s `max_workers`; *CLI* is
`SourceOptions().max_workers`, what the command line passes. *First fetch, new connections*
is one more cold fetch made right after closing huggingface_hub's HTTP session, so it opens its
TCP connections (the others reuse the pool, as the latency injection does not model handshakes).
*Warm* is the same branch again with the cache filled (one listing call); *pinned* is
`MODEL@sha` from the cache (no request).

{md_table(["model", "workers", "fetch (cold)", "target", "cache write after",
           "fetch, no cache write",
           "first fetch, new connections",
           "requests", "bytes", "rounds",
           "rounds x latency", "analysis", "warm / requests", "pinned / requests"], rows)}

Small models, whole processes (cold: an empty archlint cache; hf-mem keeps none), same
{args.latency * 1000:.0f} ms link; *to first request* is from the process's start to the
server receiving its first request, *wall* the whole process (medians of {args.runs}):

{md_table(["tool", "model", "exit", "requests", "rounds", "to first request", "wall",
           "files requested"], small)}
"""
    emit(section, args.out)


if __name__ == "__main__":
    main()
