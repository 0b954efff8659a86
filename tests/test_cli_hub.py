"""The CLI against the local test Hub, through the real huggingface_hub client: the report
names the resolved commit, a second run is served from the cache with the server stopped,
and Hub errors are one line with exit code 2."""

from __future__ import annotations

import json

from tests.helpers import fixture
from tests.test_cli import run


def test_hub_report_then_cache_with_server_stopped(hub_server, capsys, monkeypatch) -> None:
    repo = hub_server.add_model("openai/gpt-oss-20b", fixture("openai/gpt-oss-20b"), shards=3)
    args = ["openai/gpt-oss-20b", "--endpoint", hub_server.endpoint, "-f", "json", "--no-lint"]
    code, out, err = run(args, capsys, monkeypatch)
    assert code == 0, err
    report = json.loads(out)
    assert report["model"]["source"] == "hub"
    assert report["model"]["revision"] == repo.sha
    assert report["params"]["total"] == 20_914_757_184  # logical, MXFP4 unpacked
    assert report["memory"]["weights_bytes"] == 13_761_264_768  # exact, from the headers
    hub_server.stop()
    pinned = ["openai/gpt-oss-20b@" + repo.sha, *args[1:]]
    code, out, err = run(pinned, capsys, monkeypatch)
    assert code == 0, err
    assert json.loads(out)["model"]["source"] == "cache"


def test_missing_repo_is_one_line(hub_server, capsys, monkeypatch) -> None:
    args = ["nobody/nothing", "--endpoint", hub_server.endpoint, "--no-lint"]
    code, _, err = run(args, capsys, monkeypatch)
    assert code == 2
    assert "nobody/nothing" in err and err.strip().count("\n") == 0
