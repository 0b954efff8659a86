"""The Ray runner (`archlint scan --ray`) on a local Ray cluster started by the test
(`ray.init(num_cpus=2)`), the stand-in Hub on 127.0.0.1, a worker killed mid-run: nothing lost,
nothing duplicated. Starting Ray takes 10-40 s on a 2-core machine; the test is skipped where
the `ray` extra is not installed."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_scan import TINY, ListingHub, opts, rows_of

from archlint import scan as scan_mod
from tests.helpers import fixture_checkpoint

ray = pytest.importorskip("ray", reason="the Ray runner needs the 'ray' extra")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()




def _kill_a_worker_mid_run(work_dir: Path, done: threading.Event) -> list[int]:
    """Wait until a shard file holds a row, then SIGKILL the worker process writing it."""
    killed: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not done.is_set():
        for shard in sorted(work_dir.glob("shard-*.jsonl")):
            pid_file = shard.with_suffix(".pid")
            if shard.stat().st_size and pid_file.exists():
                pid = int(pid_file.read_text())
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return killed
        time.sleep(0.02)
    return killed


def test_ray_runner_survives_a_killed_worker(ray_cluster: None, hub_env: Path,
                                             fast_retries: None, tmp_path: Path) -> None:
    with ListingHub(latency_s=0.05) as hub:
        ckpt = fixture_checkpoint(TINY)
        names = [f"org/tiny-{i:02d}" for i in range(30)]
        for name in names:
            hub.add_model(name, ckpt)
        work_dir = tmp_path / "shards"
        done = threading.Event()
        killed: list[int] = []
        killer = threading.Thread(target=lambda: killed.extend(
            _kill_a_worker_mid_run(work_dir, done)))
        killer.start()
        out = io.StringIO()
        try:
            summary = scan_mod.scan(
                [*names, "nobody/missing"], out=out, source_options=opts(hub),
                ray={"address": "auto", "work_dir": work_dir, "rps": 1000.0, "shards": 2,
                     "resume": False, "threads": 2})
        finally:
            done.set()
            killer.join()
        rows = rows_of(out.getvalue())
    assert killed, "no worker was killed: the test did not exercise a retry"
    ids = [r["id"] for r in rows]
    assert sorted(ids) == sorted([*names, "nobody/missing"])  # nothing lost, no duplicates
    assert summary.ok == 30 and summary.failed == 1
    # the shard files together hold each model at most once per attempt, never twice as ok
    lines = [json.loads(line) for path in work_dir.glob("shard-*.jsonl")
             for line in path.read_text().splitlines() if line.strip()]
    ok_ids = [row["id"] for row in lines if row["status"] == "ok"]
    assert len(ok_ids) == len(set(ok_ids)) == 30


