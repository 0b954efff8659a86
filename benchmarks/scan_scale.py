"""Scan scale: many models through `archlint.scan`, time and peak memory.

1. Hub: N models (default 1,000) served by the local test Hub (its own process) with a latency
   added to every request, found by a Hub query (`--author`, one paginated listing), cold cache,
   at a stated concurrency.
2. Cache: 100 / 1,000 / 10,000 models answered from the header cache (pinned commits, an endpoint
   where nothing listens: no request can be made), to show the cost per model stays flat.

The models are the fixtures (fixtures/models) cycled under new names, minus the two whose
tensor tables have 76k-92k rows (their cost is in the round-trips section: seconds each, and
they would swamp the average). Each scan runs in a fresh child process, whose peak RSS
(`wait4` rusage) is reported.

    .venv/bin/python benchmarks/scan_scale.py [--hub-models 1000] [--latency 0.1]
        [--concurrency 16 32] [--cache-sizes 100 1000 10000] [--out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import (
    ARCHLINT,
    emit,
    fixture_ids,
    isolated_env,
    load_fixture,
    machine_line,
    md_table,
    run_measured,
)
from hubproc import HubProcess

#: tensor tables served sharded as in their real repos (others: config only or one file)
SHARDS = {"openai/gpt-oss-20b": 3, "deepseek-ai/DeepSeek-V2-Lite": 4}


def run_child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One `archlint scan ARGS` in a fresh process: wall time, peak RSS, its summary JSON."""
    code, wall, rss, _, err = run_measured([ARCHLINT, "scan", "--no-auth", "--gpu", "none",
                                            *args], env=env)
    if code not in (0, 1):
        raise RuntimeError(f"archlint scan failed ({code}): {err[-2000:]}")
    summary_path = args[args.index("--summary-json") + 1]
    summary = json.loads(Path(summary_path).read_text())
    return {"wall": wall, "rss": rss, "summary": summary}


def ray_cluster(cpus: int) -> Any:
    """A local Ray cluster of `cpus` worker CPUs for `--ray auto` (`ray start --head`)."""
    import contextlib
    import subprocess

    from _common import PYTHON

    ray_cli = [PYTHON, "-c", "import sys; from ray.scripts.scripts import main; sys.exit(main())"]

    @contextlib.contextmanager
    def running() -> Any:
        subprocess.run([*ray_cli, "start", "--head", "--num-cpus", str(cpus),
                        "--include-dashboard", "false", "--disable-usage-stats"],
                       check=True, capture_output=True, timeout=300)
        try:
            yield
        finally:
            subprocess.run([*ray_cli, "stop", "--force"], capture_output=True, timeout=120)

    return running()


def hub_part(n: int, latency: float, concurrencies: list[int], jobs: list[int],
             ray_workers: list[int]) -> list[list[Any]]:
    ids = fixture_ids(exclude_big=True)
    by_fixture: dict[str, list[str]] = {i: [] for i in ids}
    for k in range(n):
        fixture = ids[k % len(ids)]
        by_fixture[fixture].append(f"bench/{fixture.split('/')[1]}-{k:05d}")
    repos = [{"fixture": f, "names": names, "shards": SHARDS.get(f, 1)}
             for f, names in by_fixture.items() if names]
    rows = []
    runs = [(c, f"--jobs {j}", ["--jobs", str(j)], None) for c in concurrencies for j in jobs]
    runs += [(c, f"Ray, {w} worker{'s' if w > 1 else ''}", ["--ray", "auto"], w)
             for c in concurrencies for w in ray_workers]
    with HubProcess(latency_s=latency, repos=repos) as hub:
        for concurrency, how, extra, workers in runs:
            with tempfile.TemporaryDirectory() as tmp:
                hub.reset()
                out = Path(tmp) / "scan.jsonl"
                args = ["--endpoint", hub.endpoint, "--author", "bench", *extra,
                        "--concurrency", str(concurrency), "--output", str(out),
                        "--summary-json", str(Path(tmp) / "s.json")]
                env = isolated_env(Path(tmp) / "cache")
                if workers is None:
                    result = run_child(args, env)
                else:
                    with ray_cluster(workers):
                        result = run_child(args, env)
                lines = out.read_text().splitlines()
                s = result["summary"]
                floor = n / concurrency * 2 * latency  # listing + config, per model
                rows.append([f"{n:,} (Hub, {latency * 1000:.0f} ms/request, cold cache)",
                             how, concurrency, f"{result['wall']:.1f} s",
                             f"{n / result['wall']:.0f}",
                             f"{floor:.1f} s", f"{result['rss']:.0f} MiB",
                             f"{s['ok']} ok / {s['failed']} failed", s["requests"],
                             len(lines)])
                print(rows[-1], file=sys.stderr, flush=True)
    return rows


def fill_cache(cache: Path, endpoint: str, n: int) -> Path:
    """`n` cache entries (fixtures cycled under new names), and the ids file listing them pinned.

    Entries are written as the cache writes them (Checkpoint.dump's gzip JSON at the path
    HeaderCache.entry_path gives); the JSON is built once per fixture and only the name and
    commit are substituted, so filling 10,000 entries takes seconds.
    """
    from archlint.source.cache import HeaderCache

    hc = HeaderCache(cache)
    ids = fixture_ids(exclude_big=True)
    templates = {}
    for fixture in ids:
        ckpt = load_fixture(fixture)
        ckpt.model_id, ckpt.revision, ckpt.source = "@@NAME@@", "@@SHA@@", "hub"
        templates[fixture] = json.dumps(ckpt.to_dict(), separators=(",", ":"))
    cache.mkdir(parents=True, exist_ok=True)
    listing = cache / f"ids-{n}.txt"
    with listing.open("w") as fh:
        for k in range(n):
            fixture = ids[k % len(ids)]
            name = f"cached/{fixture.split('/')[1]}-{k:05d}"
            sha = hashlib.sha1(name.encode()).hexdigest()
            path = hc.entry_path(endpoint, name, sha)
            path.parent.mkdir(parents=True, exist_ok=True)
            body = templates[fixture].replace("@@NAME@@", name).replace("@@SHA@@", sha)
            path.write_bytes(gzip.compress(body.encode(), compresslevel=1, mtime=0))
            fh.write(f"{name}@{sha}\n")
    return listing


def cache_part(sizes: list[int], concurrency: int, jobs: list[int]) -> list[list[Any]]:
    endpoint = "http://127.0.0.1:9"  # discard port: nothing answers, so no request can succeed
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        listing = fill_cache(cache, endpoint, max(sizes))
        all_ids = listing.read_text().splitlines()
        for n, j in ((n, j) for n in sizes for j in jobs):
            ids_file = Path(tmp) / f"first-{n}.txt"
            ids_file.write_text("\n".join(all_ids[:n]) + "\n")
            out = Path(tmp) / f"scan-{n}.jsonl"
            result = run_child(["--endpoint", endpoint, "--from", str(ids_file), "--jobs", str(j),
                                "--concurrency", str(concurrency), "--output", str(out),
                                "--summary-json", str(Path(tmp) / f"s-{n}.json")],
                               isolated_env(cache))
            s = result["summary"]
            rows.append([f"{n:,} (cache)", f"--jobs {j}", concurrency, f"{result['wall']:.1f} s",
                         f"{n / result['wall']:.0f}", "—", f"{result['rss']:.0f} MiB",
                         f"{s['ok']} ok / {s['failed']} failed", s["requests"],
                         len(out.read_text().splitlines())])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub-models", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--cache-sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--cache-concurrency", type=int, default=4)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ray-workers", type=int, nargs="*", default=[])
    parser.add_argument("--out")
    args = parser.parse_args()

    rows = hub_part(args.hub_models, args.latency, args.concurrency, args.jobs,
                    args.ray_workers) if args.hub_models else []
    rows += (cache_part(args.cache_sizes, args.cache_concurrency, args.jobs)
             if args.cache_sizes else [])
    command = (f".venv/bin/python benchmarks/scan_scale.py --hub-models {args.hub_models} "
               f"--latency {args.latency} --concurrency {' '.join(map(str, args.concurrency))} "
               f"--cache-sizes {' '.join(map(str, args.cache_sizes))} "
               f"--jobs {' '.join(map(str, args.jobs))}"
               + (f" --ray-workers {' '.join(map(str, args.ray_workers))}"
                  if args.ray_workers else ""))
    mix = ", ".join(f.split("/")[1] for f in fixture_ids(exclude_big=True))
    section = f"""## Scan scale

{machine_line()}

Command: `{command}`.

Each row is one `archlint scan ... --no-auth --gpu none --output FILE --summary-json FILE`
run (a fresh process; no progress bar, stderr is not a terminal; lint rules on); *peak RSS*
is that process's maximum resident set. Models: the
{len(fixture_ids(exclude_big=True))} fixtures cycled under new names ({mix}); gpt-oss-20b is
served in 3 shards, DeepSeek-V2-Lite in 4, the rest config only (as most Hub repos look to
a scan: config plus one or a few shards). Hub rows: found by one `list_models(author=...)`
query, cold header cache, the test Hub in its own process with the stated latency on every
request; the *floor* is models ÷ concurrency x 2 round trips (listing + config) x latency.
Cache rows: pinned `id@sha` from a filled header cache, endpoint pointing at a closed port.
*How*: `--jobs N` worker processes, or `--ray auto` on a local cluster started with
`ray start --head --num-cpus W` (W Ray workers; cluster start-up not timed). *Peak RSS* is
the largest single process (a worker, or the driver), from `wait4`.

{md_table(["models", "how", "concurrency", "wall", "models/s", "latency floor", "peak RSS",
           "rows", "requests", "JSON lines"], rows)}
"""
    emit(section, args.out)


if __name__ == "__main__":
    main()
