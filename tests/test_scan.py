"""archlint scan against the local test Hub: rows, failures, resume, summary, concurrency, query.

`ListingHub` adds the Hub's model search (`GET /api/models?author=&search=&limit=`, paginated with
a `Link: rel="next"` header as the real Hub does) to tests/hubserver.py's server; the benchmarks
reuse it.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import types
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hubserver import HubServer, _Handler, model_files

from archlint import scan as scan_mod
from archlint.source import SourceOptions
from tests.helpers import fixture_checkpoint

#: the real Hub's largest page
PAGE_MAX = 1000


class _ListingHandler(_Handler):
    def _api(self, segments: list[str], query: dict[str, list[str]], head: bool) -> None:
        if segments not in ([], [""]):
            return super()._api(segments, query, head)
        author = query.get("author", [None])[0]
        search = (query.get("search", [""])[0] or "").lower()
        page = min(int(query.get("limit", [PAGE_MAX])[0]), PAGE_MAX)
        cursor = int(query.get("cursor", ["0"])[0])
        repos = [r for r in self.hub.repos.values()
                 if not r.private
                 and (author is None or r.repo_id.split("/")[0] == author)
                 and search in r.repo_id.lower()]
        chosen = repos[cursor:cursor + page]
        body = json.dumps([{"_id": r.repo_id, "id": r.repo_id, "modelId": r.repo_id,
                            "sha": r.sha, "private": False, "downloads": 0, "likes": 0,
                            "tags": []} for r in chosen]).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if cursor + page < len(repos):
            rest = {k: v[0] for k, v in query.items() if k != "cursor"}
            rest["cursor"] = str(cursor + page)
            headers["Link"] = f'<{self.hub.endpoint}/api/models?{urlencode(rest)}>; rel="next"'
        self._send(200, body, headers, head)


class _Server(ThreadingHTTPServer):
    #: listen backlog. socketserver's default of 5 drops the SYNs of a client opening 16+
    #: connections at once, and each dropped SYN costs a 1 s retransmit: a test-server artifact
    #: that made cold fetches look 1 s slower than they are.
    request_queue_size = 128


class ListingHub(HubServer):
    """HubServer plus `/api/models?author=&search=&limit=` (model search, paginated)."""

    handler_class: type[_Handler] = _ListingHandler

    def start(self) -> ListingHub:
        handler = type("Handler", (self.handler_class,), {"hub": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self


TINY = "hf-internal-testing/tiny-random-LlamaForCausalLM"
MIXTRAL = "mistralai/Mixtral-8x7B-v0.1"  # config only, MoE
QWEN_MOE = "Qwen/Qwen3-30B-A3B"
GPT_OSS = "openai/gpt-oss-20b"  # tensors: served as 4 shards
FALCON = "tiiuae/falcon-7b"  # MQA, .bin index
GOOD = [TINY, MIXTRAL, QWEN_MOE, GPT_OSS, FALCON]


@pytest.fixture
def hub(hub_env: Path, fast_retries: None) -> Iterator[ListingHub]:
    with ListingHub() as server:
        for repo_id in GOOD:
            server.add_model(repo_id, fixture_checkpoint(repo_id),
                             shards=4 if repo_id == GPT_OSS else 1)
        server.add_model("gated-org/secret", fixture_checkpoint(TINY), gated=True)
        yield server


def opts(hub: HubServer, **extra: Any) -> SourceOptions:
    return SourceOptions(endpoint=hub.endpoint, token=False, prefer="hub", **extra)


def rows_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run(hub: HubServer, models: list[str] | None, **kwargs: Any) -> tuple[list[dict[str, Any]],
                                                                         scan_mod.ScanSummary]:
    out = io.StringIO()
    summary = scan_mod.scan(models, out=out, source_options=opts(hub), **kwargs)
    return rows_of(out.getvalue()), summary


def test_one_json_line_per_model_with_failure_reasons(hub: ListingHub) -> None:
    models = [*GOOD, "nobody/missing", "gated-org/secret"]
    rows, summary = run(hub, models, concurrency=4)

    assert sorted(r["id"] for r in rows) == sorted(models)
    by_id = {r["id"]: r for r in rows}
    for repo_id in GOOD:
        row = by_id[repo_id]
        assert row["status"] == "ok" and row["reason"] is None, row
        assert row["revision"] == hub.repos[repo_id].sha
        assert row["params_total"] >= row["params_active"] > 0
        assert isinstance(row["kv_bytes_per_token"], int) and row["weights_bytes"] > 0
    assert by_id[MIXTRAL]["attention"] == "gqa" and by_id[MIXTRAL]["ffn"] == "moe"
    assert by_id[FALCON]["attention"] == "mqa" and by_id[FALCON]["ffn"] == "dense"
    assert by_id[GPT_OSS]["params_method"] == "tensors"
    assert by_id[GPT_OSS]["requests"] == 1 + 2 + 4  # listing, config + index, 4 headers
    assert by_id["nobody/missing"]["status"] == "error"
    assert by_id["nobody/missing"]["reason"] == "not_found"
    assert "repository not found" in by_id["nobody/missing"]["error"]
    assert by_id["gated-org/secret"]["reason"] == "gated"
    assert summary.total == 7 and summary.ok == 5 and summary.failed == 2
    assert summary.failures == {"not_found": 1, "gated": 1}


def test_summary_counts_attention_moe_and_failures(hub: ListingHub) -> None:
    _, summary = run(hub, [*GOOD, "nobody/missing"], concurrency=2)

    assert summary.attention == {"gqa": 3, "mha": 1, "mqa": 1}
    assert summary.moe == 3  # Mixtral, Qwen3-30B-A3B, gpt-oss
    assert summary.failures == {"not_found": 1}
    data = summary.to_dict()
    assert data["moe"] == 3 and data["ok"] == 5 and data["failed"] == 1
    console = io.StringIO()
    from rich.console import Console

    summary.render(Console(file=console, width=100))
    text = console.getvalue()
    assert "MoE (any layer)" in text and "not_found" in text and "6 models" in text


def test_resume_skips_models_done_at_the_same_commit(hub: ListingHub, tmp_path: Path) -> None:
    state = tmp_path / "scan.jsonl"
    with state.open("w") as fh:
        scan_mod.scan([*GOOD, "nobody/missing"], out=fh, source_options=opts(hub))
    first = rows_of(state.read_text())
    hub.reset_log()

    # Mixtral's branch moves to a new commit: only it (and the failure) are analysed again.
    repo = hub.repos[MIXTRAL]
    files = model_files(fixture_checkpoint(MIXTRAL))
    files["NOTES.md"] = files["README.md"]
    new_sha = repo.add_commit(files)
    with state.open("a") as fh:
        summary = scan_mod.scan([*GOOD, "nobody/missing"], out=fh, state_path=state,
                                source_options=opts(hub))

    again = rows_of(state.read_text())[len(first):]
    assert sorted(r["id"] for r in again) == [MIXTRAL, "nobody/missing"]
    assert next(r for r in again if r["id"] == MIXTRAL)["revision"] == new_sha
    assert summary.skipped == 4 and summary.ok == 1 and summary.failed == 1
    assert summary.attention == {"gqa": 3, "mha": 1, "mqa": 1}  # skipped rows still counted
    # a skipped model costs one metadata request and no file read
    assert not any("/resolve/" in r.path for r in hub.requests(GPT_OSS))
    assert len(hub.requests(GPT_OSS)) == 1


def test_resume_with_pinned_commits_makes_no_request(hub: ListingHub, tmp_path: Path) -> None:
    state = tmp_path / "scan.jsonl"
    pinned = [f"{m}@{hub.repos[m].sha}" for m in GOOD]
    with state.open("w") as fh:
        scan_mod.scan(pinned, out=fh, source_options=opts(hub))
    hub.reset_log()
    out = io.StringIO()
    summary = scan_mod.scan(pinned, out=out, state_path=state, source_options=opts(hub))
    assert out.getvalue() == "" and summary.skipped == len(GOOD)
    assert hub.count() == 0


def test_concurrency_bound_is_respected(hub_env: Path, fast_retries: None) -> None:
    with ListingHub(latency_s=0.05) as server:
        names = [f"org/tiny-{i:02d}" for i in range(12)]
        for name in names:
            server.add_model(name, fixture_checkpoint(TINY))
        _, summary = run(server, names, concurrency=3)
        listings = [r for r in server.requests() if r.path.startswith("/api/models/")]

    assert summary.ok == 12 and summary.max_in_flight == 3
    # at no instant were more than 3 models' listing calls open on the server
    events = sorted([(r.started, 1) for r in listings] + [(r.finished, -1) for r in listings])
    open_now = peak = 0
    for _, step in events:
        open_now += step
        peak = max(peak, open_now)
    assert 2 <= peak <= 3


def test_hub_query_by_author_search_and_limit(hub: ListingHub) -> None:
    for i in range(5):
        hub.add_model(f"acme/model-{i}", fixture_checkpoint(TINY))
    hub.add_model("acme/special-one", fixture_checkpoint(TINY))

    rows, _ = run(hub, None, author="acme")
    assert sorted(r["id"] for r in rows) == sorted([*(f"acme/model-{i}" for i in range(5)),
                                                    "acme/special-one"])
    assert all(r["revision"] == hub.repos[r["id"]].sha for r in rows)

    rows, _ = run(hub, None, search="special")
    assert [r["id"] for r in rows] == ["acme/special-one"]

    rows, _ = run(hub, None, author="acme", limit=2)
    assert len(rows) == 2


def test_hub_query_follows_pages(hub: ListingHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "PAGE_MAX", 2)
    for i in range(5):
        hub.add_model(f"paged/m-{i}", fixture_checkpoint(TINY))
    ids = list(scan_mod.hub_query(author="paged", endpoint=hub.endpoint, token=False))
    assert ids == [f"paged/m-{i}@{hub.repos[f'paged/m-{i}'].sha}" for i in range(5)]
    assert len([r for r in hub.requests() if r.path == "/api/models"]) == 3


def test_model_list_skips_comments_and_blanks() -> None:
    text = "# models\norg/a\n\n  org/b@main  # pinned branch\n#org/c\n"
    assert list(scan_mod.read_model_list(io.StringIO(text))) == ["org/a", "org/b@main"]


def test_read_done_ignores_a_torn_last_line_and_retries_failures(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"id":"a/b","revision":"' + "1" * 40 + '","status":"ok","attention":"gqa"}\n'
        '{"id":"c/d","status":"error","reason":"network"}\n'
        '{"id":"e/f","revision":"' + "2" * 40 + '","status":"ok"}\n'
        '{"id":"e/f","status":"error","reason":"network"}\n'
        '{"id":"g/h","stat')
    done = scan_mod.read_done(path)
    assert set(done) == {"a/b"} and done["a/b"].attention == "gqa"


def test_cli_from_file_output_and_resume(hub: ListingHub, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(f"# a list\n{TINY}\n{FALCON}\nnobody/missing\n")
    out = tmp_path / "out.jsonl"
    code = scan_mod.run_scan_cli(from_file=str(ids), output=str(out), concurrency=2,
                                 source_options=opts(hub), progress=False)
    assert code == 1  # one model failed; its row says why
    assert len(rows_of(out.read_text())) == 3
    err = capsys.readouterr().err
    assert "3 models in" in err and "2 ok, 1 failed, 0 skipped" in err and "not_found" in err

    with out.open("a") as fh:
        fh.write('{"id":"torn')  # a run killed mid-line
    code = scan_mod.run_scan_cli(from_file=str(ids), output=str(out), resume=True,
                                 source_options=opts(hub), progress=True,
                                 summary_json=str(tmp_path / "summary.json"))
    lines = out.read_text().splitlines()
    assert lines[3] == '{"id":"torn' and json.loads(lines[4])["id"] == "nobody/missing"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["skipped"] == 2 and summary["failed"] == 1 and code == 1


def test_finding_counts_when_the_lint_engine_exists(hub: ListingHub,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from archlint.lint.finding import Finding, Severity

    def run_rules(analysis: Any, **_: Any) -> list[Finding]:
        n = 2 if analysis.spec.num_layers > 20 else 0
        return [Finding(code="AL001", name="x", severity=Severity.ERROR, message="m")] * n + [
            Finding(code="AL002", name="y", severity=Severity.WARNING, message="m")]

    engine = types.ModuleType("archlint.lint.engine")
    engine.run_rules = run_rules  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "archlint.lint.engine", engine)

    rows, summary = run(hub, [TINY, MIXTRAL])
    by_id = {r["id"]: r for r in rows}
    assert by_id[MIXTRAL]["findings"] == {"error": 2, "warning": 1}
    assert by_id[TINY]["findings"] == {"warning": 1}
    assert summary.findings == {"error": 2, "warning": 2}
    assert [w["id"] for w in summary.to_dict()["worst"]] == [MIXTRAL, TINY]


def test_usage_errors() -> None:
    from archlint import errors

    with pytest.raises(errors.UsageError):
        scan_mod.scan([], concurrency=0)
    with pytest.raises(errors.UsageError):
        scan_mod.scan(None)
    with pytest.raises(errors.UsageError):
        scan_mod.run_scan_cli(from_file="x", author="y")
    with pytest.raises(errors.UsageError):
        scan_mod.run_scan_cli(from_file="x", resume=True)


def test_a_failing_hub_query_is_one_error(hub: ListingHub) -> None:
    from archlint import errors

    hub.add_fault("status", "/api/models", status=400)
    with pytest.raises(errors.NetworkError, match=r"model listing .* failed after 0 models"):
        run(hub, None, author="acme")


def test_network_failures_and_config_only_repos(hub: ListingHub) -> None:
    hub.add_model("org/flaky", fixture_checkpoint(TINY))
    hub.add_fault("status", "/api/models/org/flaky", times=10, status=503)
    hub.add_model("org/readme-only", fixture_checkpoint(TINY))
    repo = hub.repos["org/readme-only"]
    repo.add_commit({"README.md": model_files(fixture_checkpoint(TINY))["README.md"]})

    rows, summary = run(hub, ["org/flaky", "org/readme-only"])
    by_id = {r["id"]: r for r in rows}
    assert by_id["org/flaky"]["reason"] == "network"
    assert "gave up after" in by_id["org/flaky"]["error"]
    assert by_id["org/readme-only"]["reason"] == "not_a_model"
    assert summary.failures == {"network": 1, "not_a_model": 1}


def test_archlint_scan_command_end_to_end(hub: ListingHub, hub_env: Path, tmp_path: Path) -> None:
    import os
    import subprocess

    ids = tmp_path / "ids.txt"
    ids.write_text(f"{TINY}\n{MIXTRAL}\nnobody/missing\n")
    out = tmp_path / "scan.jsonl"
    env = {**os.environ, "ARCHLINT_CACHE": str(hub_env)}
    proc = subprocess.run(
        [sys.executable, "-m", "archlint", "scan", "--from", str(ids), "-o", str(out),
         "--endpoint", hub.endpoint, "--no-auth", "--gpu", "none", "--concurrency", "2"],
        env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    rows = rows_of(out.read_text())
    assert sorted(r["status"] for r in rows) == ["error", "ok", "ok"]
    assert "not_found" in proc.stderr and proc.stdout == ""
