"""GGUF vs safetensors: the same model's report from each format, over the same slow link.

On the local test Hub (tests/hubserver.py, in this process), `--latency` seconds added to every
request: a GGUF repo of five quantizations of Qwen3-30B-A3B whose Q4_K_M header is the one
rebuilt from llama.cpp's load log (fixtures/gguf; 579 tensors), against the safetensors repo of
a model of the same table size (gpt-oss-20b's real tensor table, 459 tensors, in 19 shards +
index + config; the Qwen3-30B-A3B fixture has no tensor table). Cold header cache each run.
Also the local file: the fixture's header expanded to a sparse file, `analyze` from disk.

    .venv/bin/python benchmarks/gguf_report.py [--latency 0.1] [--runs 5] [--out FILE]
"""

from __future__ import annotations

import argparse
import runpy
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, emit, human_bytes, load_fixture, machine_line, md_table, median
from gguf_header import baseline_module


def rounds(requests: list[Any]) -> int:
    done: list[tuple[float, int]] = []
    deepest = 0
    for req in sorted(requests, key=lambda r: r.started):
        depth = 1 + max((d for finished, d in done if finished <= req.started), default=0)
        done.append((req.finished, depth))
        deepest = max(deepest, depth)
    return deepest


def use_reader(module: Any) -> None:
    """Point the Hub's GGUF fetch at `module`'s reader and first read (None: the current)."""
    from archlint.source import gguf_header, gguf_hub

    module = module or gguf_header
    gguf_hub.parse_gguf = module.parse_gguf
    gguf_hub.NeedMoreBytes = module.NeedMoreBytes
    gguf_hub.FIRST_READ_BYTES = module.FIRST_READ_BYTES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", default="main",
                        help="git revision whose GGUF reader is timed beside the current one")
    parser.add_argument("--out")
    args = parser.parse_args()

    from hubserver import HubServer, Repo, VirtualFile

    from archlint.api import analyze, analyze_checkpoint
    from archlint.source.gguf_header import FIRST_READ_BYTES
    from archlint.source.hub import fetch_checkpoint

    script = runpy.run_path(str(REPO / "scripts" / "make_gguf_fixtures.py"))
    name = "Qwen3-30B-A3B.Q4_K_M"
    head, size = script["build"](name)
    gguf_files = {f"Qwen3-30B-A3B-{q}.gguf": VirtualFile(head, size)
                  for q in ("Q2_K", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")}
    rows = []
    with HubServer(latency_s=args.latency) as hub, tempfile.TemporaryDirectory() as tmp:
        hub.add_model("openai/gpt-oss-20b", load_fixture("openai/gpt-oss-20b"), shards=19)
        repo = Repo("example/Qwen3-30B-A3B-GGUF")
        repo.add_commit(gguf_files)
        hub.add_repo(repo)
        cases = (("openai/gpt-oss-20b", "gpt-oss-20b safetensors, 19 shards", None),
                 ("example/Qwen3-30B-A3B-GGUF", "Qwen3-30B-A3B GGUF repo, 5 files (Q4_K_M)",
                  None),
                 ("example/Qwen3-30B-A3B-GGUF", f"the same, reader and first read of "
                  f"{args.baseline}", baseline_module(args.baseline)))
        for repo_id, label, reader in cases:
            use_reader(reader)
            fetch_s, total_s = [], []
            stats: dict[str, Any] = {}
            for run in range(args.runs):
                hub.reset_log()
                started = time.perf_counter()
                ckpt = fetch_checkpoint(repo_id, endpoint=hub.endpoint, token=False,
                                        cache_dir=Path(tmp) / f"cache{run}{label[:4]}")
                fetched = time.perf_counter()
                analyze_checkpoint(ckpt)
                fetch_s.append(fetched - started)
                total_s.append(time.perf_counter() - started)
                log = hub.requests()
                stats = {"requests": len(log), "bytes": sum(r.sent for r in log),
                         "rounds": rounds(log), "tensors": len(ckpt.tensors or [])}
            rows.append([label, stats["tensors"], stats["requests"], stats["rounds"],
                         human_bytes(stats["bytes"]), f"{median(fetch_s):.3f} s",
                         f"{median(total_s):.3f} s"])
        use_reader(None)
        path = script["expand"](name, Path(tmp))
        local = []
        for _ in range(args.runs):
            started = time.perf_counter()
            analyze(str(path))
            local.append(time.perf_counter() - started)
        rows.append([f"local {path.name} (sparse, {human_bytes(size)})", 579, 0, 0,
                     human_bytes(len(head)) + " read", "–", f"{median(local):.3f} s"])
    section = f"""## GGUF vs safetensors reports (over a {args.latency * 1000:.0f} ms link)

{machine_line()}

Command: `.venv/bin/python benchmarks/gguf_report.py --latency {args.latency} --runs {args.runs}
--baseline {args.baseline}`.
Local test Hub in this process, {args.latency * 1000:.0f} ms added to every request, cold
header cache each run, medians of {args.runs}. The GGUF header is
{human_bytes(len(head))} (a 151,936-token vocabulary; no merges) and arrives in one range
after the listing (a first range of {human_bytes(FIRST_READ_BYTES)}, `FIRST_READ_BYTES`); the
safetensors repo needs the listing, then config + index + 19 headers at once. *Report* =
fetch + `analyze_checkpoint`.

{md_table(["source", "tensors", "requests", "rounds", "bytes", "fetch", "report"], rows)}

Where the GGUF time goes: two round trips (200 ms of latency, the same floor as the
safetensors repo's); walking the 151,936 length-prefixed token strings (the header cannot be
skipped through, its length is stored nowhere: each string's u64 length is read, through u64
views of the buffer, with no check per item; UTF-8 is checked in one pass over the run; see
the reader's before/after section); and moving the first range through this test Hub, a
Python HTTP server sharing the client's GIL. The ratio to the safetensors report is the
figure to compare between runs, not the absolute times (shared, loaded machine).
"""
    emit(section, args.out)


if __name__ == "__main__":
    main()
