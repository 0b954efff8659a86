"""Every network fault: bounded retries, one clear error naming the model, and no hang.

Retries use millisecond backoff here (`fast_retries`) and timeouts are 0.3 s; the number of
attempts is the production one.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hubserver import HubServer

from archlint import errors
from archlint.source import http as http_mod
from archlint.source import hub as hub_mod
from archlint.source import safetensors_header as st
from archlint.source import transport
from archlint.source.hub import fetch_checkpoint
from tests.helpers import fixture

GPT_OSS = "openai/gpt-oss-20b"
V2_LITE = "deepseek-ai/DeepSeek-V2-Lite"
TIMEOUT = 0.3
ATTEMPTS = hub_mod.DEFAULT_RETRY.attempts


@pytest.fixture
def sharded(hub_server: HubServer) -> HubServer:
    hub_server.add_model(GPT_OSS, fixture(GPT_OSS), shards=4)
    return hub_server


def fetch(hub: HubServer, repo_id: str = GPT_OSS, **kwargs: object):
    kwargs.setdefault("token", False)
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("use_cache", False)
    return fetch_checkpoint(repo_id, endpoint=hub.endpoint, **kwargs)  # type: ignore[arg-type]


def assert_one_line_naming_model(err: errors.ArchlintError, *words: str) -> None:
    line = err.one_line()
    assert "\n" not in line and GPT_OSS in line, line
    for word in words:
        assert word in line, line


def test_rate_limit_honours_retry_after_then_succeeds(sharded: HubServer) -> None:
    sharded.add_fault("status", "/api/models", status=429, retry_after="0.2", times=2)
    started = time.monotonic()
    got = fetch(sharded)
    assert got.fetch_stats["retries"] == 2 and len(got.shards) == 4
    assert 0.4 <= time.monotonic() - started < 2.0  # waited the server's 0.2 s, twice


def test_huge_retry_after_is_capped(sharded: HubServer) -> None:
    sharded.add_fault("status", "config.json", status=429, retry_after="3600")
    started = time.monotonic()
    assert fetch(sharded).config is not None
    assert time.monotonic() - started < 2.0  # capped (0.3 s under fast_retries), not an hour


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_persistent_server_errors_give_up_after_bounded_attempts(sharded: HubServer,
                                                                 status: int) -> None:
    sharded.add_fault("status", "/api/models", status=status, times=100)
    with pytest.raises(errors.NetworkError) as info:
        fetch(sharded)
    assert_one_line_naming_model(info.value, f"HTTP {status}", "listing")
    assert sharded.count() == ATTEMPTS


def test_transient_error_on_one_shard_is_retried(sharded: HubServer) -> None:
    sharded.add_fault("status", "model-00002-of-00004", status=503)
    got = fetch(sharded)
    assert len(got.shards) == 4 and got.fetch_stats["retries"] == 1


@pytest.mark.parametrize("kind", ["reset", "truncate", "wrong_range", "stall_body"])
def test_broken_range_response_is_retried(sharded: HubServer, kind: str) -> None:
    sharded.add_fault(kind, "model-00003-of-00004", stall_s=2 * TIMEOUT)
    got = fetch(sharded)
    assert len(got.shards) == 4 and got.fetch_stats["retries"] >= 1
    assert got.problems == []


@pytest.mark.parametrize(("kind", "words"), [
    ("reset", ["model-00003-of-00004", "connection"]),
    ("truncate", ["model-00003-of-00004"]),
    ("wrong_range", ["model-00003-of-00004", "Content-Range"]),
    ("stall", ["model-00003-of-00004", "timed out"]),
    ("stall_body", ["model-00003-of-00004"]),
])
def test_persistent_broken_responses_end_in_one_network_error(sharded: HubServer, kind: str,
                                                              words: list[str]) -> None:
    sharded.add_fault(kind, "model-00003-of-00004", times=100, stall_s=5.0)
    started = time.monotonic()
    with pytest.raises(errors.NetworkError) as info:
        fetch(sharded)
    elapsed = time.monotonic() - started
    assert_one_line_naming_model(info.value, *words)
    assert elapsed < ATTEMPTS * 3 * TIMEOUT + 1.5, elapsed  # timeouts fire; nothing hangs
    shard_requests = [r for r in sharded.requests() if "model-00003-of-00004" in r.path]
    assert len(shard_requests) == ATTEMPTS


def test_stalled_listing_times_out(sharded: HubServer) -> None:
    sharded.add_fault("stall", "/api/models", times=100, stall_s=5.0)
    started = time.monotonic()
    with pytest.raises(errors.NetworkError, match="timed out"):
        fetch(sharded)
    assert time.monotonic() - started < ATTEMPTS * TIMEOUT + 1.0


def test_server_ignoring_range_on_a_31_gb_file_costs_only_the_header(
        hub_server: HubServer) -> None:
    repo = hub_server.add_model(V2_LITE, fixture(V2_LITE))
    shard = repo.commits[repo.sha]["model.safetensors"]
    assert shard.size > 30 * 10**9
    hub_server.add_fault("ignore_range", "model.safetensors", times=100)

    got = fetch(hub_server, V2_LITE, timeout=5.0)

    assert len(got.tensors) == 5291 and got.shards[0].file_size == shard.size
    # the whole prefix twice at most (the first read, then the rest from byte 0 again), plus
    # one streamed chunk each: never the 31 GB
    budget = 2 * (len(shard.head) + 2 * transport.READ_BYTES)
    assert got.fetch_stats["bytes"] < budget
    assert all(r.status == 200 for r in hub_server.requests() if r.range)


def test_header_budget_is_respected_even_without_range(hub_server: HubServer) -> None:
    hub_server.add_model(V2_LITE, fixture(V2_LITE))
    hub_server.add_fault("ignore_range", "model.safetensors", times=100)
    with pytest.raises(errors.HeaderError, match="AL001"):
        fetch(hub_server, V2_LITE, max_header_bytes=st.FIRST_READ_BYTES, timeout=5.0)
    assert hub_server.bytes_sent() < 64 * 2**20  # the server stops on the closed connection


def test_unreachable_endpoint_fails_fast(hub_env: Path, fast_retries: None) -> None:
    with HubServer() as server:
        endpoint = server.endpoint  # a port that was just closed: connection refused
    started = time.monotonic()
    with pytest.raises(errors.NetworkError, match=f"{GPT_OSS}.*connection failed"):
        fetch_checkpoint(GPT_OSS, endpoint=endpoint, token=False, timeout=TIMEOUT)
    assert time.monotonic() - started < 2.0


def test_one_failing_task_stops_the_others(sharded: HubServer) -> None:
    sharded.add_fault("stall", "model-0000", times=100, stall_s=5.0)
    sharded.add_fault("status", "config.json", status=404, times=100)
    started = time.monotonic()
    with pytest.raises(errors.HubError):
        fetch(sharded)
    assert time.monotonic() - started < 2 * TIMEOUT + 1.0  # did not sit out the shard retries


def test_hub_outage_falls_back_to_a_recent_resolution_only(
        sharded: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    first = fetch(sharded, use_cache=True)
    sharded.add_fault("status", "/api/models", status=503, times=100)

    again = fetch(sharded, use_cache=True)  # resolved seconds ago: answered, and says why
    assert again.source == "cache" and again.revision == first.revision
    assert any("could not be reached" in note and "HTTP 503" in note for note in again.notes)

    monkeypatch.setattr(hub_mod, "REF_FALLBACK_TTL_S", 0)  # too old now: the error stands
    with pytest.raises(errors.NetworkError, match="HTTP 503"):
        fetch(sharded, use_cache=True)


# -- a server that drips: the fetch's wall-clock deadline ---------------------------------------

#: the longest a fetch may run: its deadline, plus one read that started just before it.
FETCH_BOUND_S = http_mod.FETCH_DEADLINE_TIMEOUTS * TIMEOUT + TIMEOUT


@pytest.mark.parametrize(
    ("path", "options"),
    [
        ("/api/models", {}),  # the listing
        ("config.json", {}),
        ("model-00001-of-00004.safetensors", {}),  # a header range
        ("config.json", {"kind": "status", "status": 404}),  # an error body that never ends
    ],
    ids=["listing", "config", "header-range", "error-body"],
)
def test_a_dripping_server_cannot_hold_the_fetch_past_its_deadline(
        sharded: HubServer, path: str, options: dict[str, object]) -> None:
    # one byte every 50 ms: each read gets data well within the 0.3 s read timeout, so only a
    # clock checked between pieces (and not after 64 KiB arrive) can end it
    kind = str(options.pop("kind", "drip"))
    sharded.add_fault(kind, path, times=1000, drip_s=0.05, **options)  # type: ignore[arg-type]
    line = _fetch_fails_within_bound(sharded)
    assert "too slowly" in line or "longer than" in line


@pytest.mark.parametrize("path", ["/api/models", "config.json",
                                  "model.safetensors.index.json",
                                  "model-00001-of-00004.safetensors"],
                         ids=["listing", "config", "index", "header-range"])
@pytest.mark.parametrize("kind", ["drip_head", "slow_redirect"])
def test_a_server_dripping_its_status_line_or_redirects_cannot_hold_the_fetch(
        sharded: HubServer, kind: str, path: str) -> None:
    # drip_head: the status line and headers one byte every 50 ms, each socket read answered
    # well inside the 0.3 s read timeout; slow_redirect: a 302 loop, each hop in 0.25 s (httpx
    # follows 20 hops per request). Before the socket reads got the request's deadline, both
    # ran for as long as the server liked (drip_head: forever).
    sharded.add_fault(kind, path, times=1000, drip_s=0.05 if kind == "drip_head" else 0.25)
    _fetch_fails_within_bound(sharded)


def test_one_dripping_response_is_retried_and_the_fetch_succeeds(sharded: HubServer) -> None:
    sharded.add_fault("drip", "config.json", times=1, drip_s=0.05)
    got = fetch(sharded)
    assert got.config is not None and got.fetch_stats["retries"] == 1


def test_the_fetch_deadline_cuts_retries_and_backoff(sharded: HubServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Slow retries (4 s backoff, a 10 s Retry-After): the deadline still ends the fetch.
    monkeypatch.setattr(hub_mod, "DEFAULT_RETRY",
                        hub_mod.RetryPolicy(base_backoff_s=4.0, max_backoff_s=4.0))
    sharded.add_fault("status", "config.json", status=503, retry_after="10", times=100)
    started = time.monotonic()
    with pytest.raises(errors.NetworkError, match="longer than"):
        fetch(sharded)
    assert time.monotonic() - started < FETCH_BOUND_S + 1.0


def _fetch_fails_within_bound(sharded: HubServer) -> str:
    """The fetch ends in one NetworkError line naming the model, inside the documented bound."""
    started = time.monotonic()
    with pytest.raises(errors.NetworkError) as caught:
        fetch(sharded)
    elapsed = time.monotonic() - started
    assert elapsed < FETCH_BOUND_S + 1.0, f"{elapsed:.1f} s"
    assert_one_line_naming_model(caught.value)
    return caught.value.one_line()


@pytest.mark.parametrize(("code", "calls"), [("EAI_NONAME", 1), ("EAI_AGAIN", 4)])
def test_a_host_that_does_not_exist_is_not_retried(monkeypatch: pytest.MonkeyPatch, code: str,
                                                   calls: int) -> None:
    """The resolver's "no such host" is final: the offline fallback follows at once instead of
    after three backoffs; "try again later" (EAI_AGAIN) keeps its retries."""
    import socket

    made = []

    def lookup_fails(*args: object, **kwargs: object) -> None:
        made.append(1)
        raise socket.gaierror(getattr(socket, code), "name lookup failed")

    fetcher = http_mod._Fetcher(repo_id="org/model", revision=None,
                                endpoint="https://hub.example", token=False, timeout=5.0,
                                retry=http_mod.RetryPolicy(base_backoff_s=0.001,
                                                           max_backoff_s=0.002))
    monkeypatch.setattr(fetcher, "_get_once", lookup_fails)
    with pytest.raises(errors.NetworkError):
        fetcher.get("https://hub.example/api/models/org/model", what="the file listing",
                    limit=1024)
    assert len(made) == calls
