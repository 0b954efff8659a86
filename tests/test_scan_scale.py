"""scan across processes and machines: `--jobs` (worker processes), `--shard k/K` (a stable
hash of the id), and the Ray runner (`--ray`) on a local Ray cluster started by the test, with
a worker killed mid-run. Hub traffic goes to the local test Hub on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_scan import TINY, ListingHub, opts, rows_of

from archlint import scan as scan_mod
from archlint.errors import UsageError
from tests.helpers import fixture_checkpoint


@pytest.fixture
def many(hub_env: Path, fast_retries: None) -> Iterator[tuple[ListingHub, list[str]]]:
    """24 small repos (the tiny Llama under 24 names) and one that does not exist."""
    with ListingHub() as server:
        ckpt = fixture_checkpoint(TINY)
        names = [f"org{i % 3}/tiny-{i:02d}" for i in range(24)]
        for name in names:
            server.add_model(name, ckpt)
        yield server, [*names, "nobody/missing"]


def test_shard_of_is_a_stable_hash_of_the_id() -> None:
    # The shard is SHA-256's first 8 bytes mod K, written out here from hashlib itself.
    for model in ("meta-llama/Llama-3.1-8B", "deepseek-ai/DeepSeek-V3", "a/b"):
        expected = int(hashlib.sha256(model.encode()).hexdigest()[:16], 16) % 7
        assert scan_mod.shard_of(model, 7) == expected
    assert scan_mod.parse_shard("1/4") == (0, 4) and scan_mod.parse_shard("4/4") == (3, 4)
    for bad in ("0/4", "5/4", "x/2", "3"):
        with pytest.raises(UsageError):
            scan_mod.parse_shard(bad)


def test_shards_partition_the_models(many: tuple[ListingHub, list[str]]) -> None:
    hub, models = many
    seen: list[str] = []
    for k in range(3):
        out = io.StringIO()
        scan_mod.scan(models, out=out, source_options=opts(hub), shard=(k, 3), concurrency=4)
        ids = [r["id"] for r in rows_of(out.getvalue())]
        assert all(scan_mod.shard_of(i, 3) == k for i in ids)
        seen += ids
    assert sorted(seen) == sorted(models)  # every model in exactly one shard


def test_jobs_spread_models_over_processes_with_the_same_rows(
        many: tuple[ListingHub, list[str]]) -> None:
    hub, models = many
    out = io.StringIO()
    summary = scan_mod.scan(models, out=out, source_options=opts(hub), jobs=2, concurrency=4)
    rows = rows_of(out.getvalue())
    assert sorted(r["id"] for r in rows) == sorted(models)
    assert summary.ok == 24 and summary.failed == 1
    assert {r["reason"] for r in rows if r["status"] != "ok"} == {"not_found"}
    # one row per model: the tiny Llama's 2 layers, its sha from the Hub
    assert {r["layers"] for r in rows if r["status"] == "ok"} == {2}
    assert all(r["revision"] == hub.repos[r["id"]].sha for r in rows if r["status"] == "ok")


def test_request_budget_spreads_requests_over_time() -> None:
    from archlint.scan_ray import RequestBudget

    budget = RequestBudget(rate=10.0, burst=2.0)
    assert budget.acquire("hub", 2) == 0.0  # the burst
    assert budget.acquire("hub", 2) == pytest.approx(0.2, abs=0.02)  # 2 tokens at 10/s
    assert budget.acquire("other", 2) == 0.0  # budgets are per host
    budget.settle("hub", 3)  # the model took 5 requests, not 2
    assert budget.total() == {"hub": 7, "other": 2}
