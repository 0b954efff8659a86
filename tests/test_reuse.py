"""The analysis cache: a warm report of a Hub commit renders the stored document of that
commit instead of re-analysing it, and says exactly what the ordinary warm run says.

The expectation of every comparison is the ordinary path itself: the same command with the
analysis entries removed, so that the run loads the tensor table and analyses it (as archlint
did before the cache existed). Only `fetch.elapsed_ms` (a clock) is left out of the comparison.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from archlint.source import cache as cache_mod
from archlint.source.cache import HeaderCache
from tests.helpers import fixture
from tests.test_cli import run

MODEL = "openai/gpt-oss-20b"


def _comparable(out: str, fmt: str) -> str:
    if fmt != "json":
        return out
    doc = json.loads(out)
    doc["model"]["fetch"].pop("elapsed_ms", None)
    return json.dumps(doc, sort_keys=True)


def _forbid_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the commit was analysed again")

    monkeypatch.setattr("archlint.api.analyze_checkpoint", refuse)


def _retyped(raw: bytes) -> bytes:
    """The entry intact but its stored report's layer count a string: valid JSON, a valid
    entry, a document that does not load (archlint.records refuses it)."""
    entry = json.loads(gzip.decompress(raw))
    report = json.loads(entry["report"])
    report["mtp_layers"] = "three"
    entry["report"] = json.dumps(report)
    return gzip.compress(json.dumps(entry).encode())


def _analyses(cache: Path) -> list[Path]:
    return sorted((cache / "analyses").rglob("*.json.gz"))


@pytest.mark.parametrize("fmt", ["json", "text", "sarif"])
def test_warm_report_from_the_stored_analysis_is_the_ordinary_warm_report(
        hub_server, hub_env: Path, capsys, monkeypatch, fmt: str) -> None:
    hub_server.add_model(MODEL, fixture(MODEL), shards=3)
    args = [MODEL, "--endpoint", hub_server.endpoint, "-f", fmt, "--no-auth"]
    cold = run(args, capsys, monkeypatch)
    assert len(_analyses(hub_env)) == 1
    with monkeypatch.context() as patched:
        _forbid_analysis(patched)
        hub_server.reset_log()
        reused = run(args, capsys, monkeypatch)
        assert hub_server.count() == 1  # the listing only: no header, no index read
    shutil.rmtree(hub_env / "analyses")
    ordinary = run(args, capsys, monkeypatch)  # loads the table and analyses it
    assert reused[0] == ordinary[0] == cold[0]
    assert reused[2] == ordinary[2]
    assert _comparable(reused[1], fmt) == _comparable(ordinary[1], fmt)
    if fmt == "json":
        assert json.loads(reused[1])["model"]["source"] == "cache"


def test_offline_report_keeps_the_offline_note(hub_server, hub_env: Path, capsys,
                                               monkeypatch) -> None:
    hub_server.add_model(MODEL, fixture(MODEL), shards=3)
    args = [MODEL, "--endpoint", hub_server.endpoint, "-f", "json", "--no-auth"]
    run(args, capsys, monkeypatch)
    offline = [*args, "--offline"]
    with monkeypatch.context() as patched:
        _forbid_analysis(patched)
        reused = run(offline, capsys, monkeypatch)
    shutil.rmtree(hub_env / "analyses")
    ordinary = run(offline, capsys, monkeypatch)
    assert reused[0] == ordinary[0] == 0
    assert _comparable(reused[1], "json") == _comparable(ordinary[1], "json")
    assert any(n.startswith("offline:") for n in json.loads(reused[1])["model"]["notes"])
    # an offline answer carries a note about its own run: it is never stored
    assert _analyses(hub_env) == []


def test_other_options_are_another_key(hub_server, hub_env: Path, capsys, monkeypatch) -> None:
    hub_server.add_model(MODEL, fixture(MODEL), shards=3)
    args = [MODEL, "--endpoint", hub_server.endpoint, "-f", "json", "--no-auth"]
    run(args, capsys, monkeypatch)
    code, out, _ = run([*args, "--context", "4096"], capsys, monkeypatch)
    assert code == 0
    # the report of this context, not the stored one of the default context
    assert json.loads(out)["kv_cache"]["context"] == 4096
    assert len(_analyses(hub_env)) == 2
    code, out, _ = run([*args, "--select", "AL1"], capsys, monkeypatch)
    assert code == 0 and len(_analyses(hub_env)) == 3


def test_a_cache_miss_reads_and_resolves_the_lint_config_once(
        hub_server, hub_env: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """The reuse lookup settles the configuration and rules (its key depends on them); on a
    miss the ordinary path lints with that copy: the file is read once, the rules loaded once,
    and the findings are those of the same run without the cache (--no-cache)."""
    import archlint.lint.config as config_mod
    import archlint.lint.registry as registry_mod

    hub_server.add_model(MODEL, fixture(MODEL), shards=3)
    toml = tmp_path / "archlint.toml"
    toml.write_text('ignore = ["AL404"]\nseverity = { AL112 = "error" }\n', encoding="utf-8")
    args = [MODEL, "--endpoint", hub_server.endpoint, "-f", "json", "--no-auth",
            "--config", str(toml), "--select", "AL1,AL4"]
    calls = {"read": 0, "rules": 0}
    read, load = config_mod.config_section, registry_mod.load_rules

    def counted_read(path: Path) -> object:
        calls["read"] += 1
        return read(path)

    def counted_load(*a: object, **k: object) -> object:
        calls["rules"] += 1
        return load(*a, **k)

    with monkeypatch.context() as patched:
        patched.setattr(config_mod, "config_section", counted_read)
        patched.setattr(registry_mod, "load_rules", counted_load)
        code, out, _ = run(args, capsys, monkeypatch)
    assert calls == {"read": 1, "rules": 1}
    assert len(_analyses(hub_env)) == 1  # it was a miss, and the run stored its analysis
    uncached = run([*args, "--no-cache"], capsys, monkeypatch)
    assert (code, json.loads(out)["findings"]) == (uncached[0], json.loads(uncached[1])["findings"])


@pytest.mark.parametrize("damage", [
    lambda raw: raw[: len(raw) // 2],                       # torn write
    lambda raw: b"not an entry",                            # garbage
    lambda raw: gzip.compress(b"{not json"),                # valid gzip, invalid JSON
    lambda raw: gzip.compress(json.dumps({"format": 1, "model_id": MODEL}).encode()),
    lambda raw: gzip.compress(bytes(cache_mod.MAX_ANALYSIS_JSON_BYTES + 1)),  # a bomb
    lambda raw: _retyped(raw),                              # a report of the wrong types
])
def test_damaged_entry_is_discarded_and_the_commit_analysed(hub_server, hub_env: Path, capsys,
                                                            monkeypatch, damage) -> None:
    hub_server.add_model(MODEL, fixture(MODEL), shards=3)
    args = [MODEL, "--endpoint", hub_server.endpoint, "-f", "json", "--no-auth"]
    run(args, capsys, monkeypatch)
    [entry] = _analyses(hub_env)
    first = run(args, capsys, monkeypatch)
    entry.write_bytes(damage(entry.read_bytes()))
    seen = len(hub_server.requests())
    again = run(args, capsys, monkeypatch)  # analysed again, never fatal
    assert again[0] == first[0] == 0
    # discarded by the cache read: the commit is answered from its header cache entry after
    # one listing, not fetched a second time
    assert [r.path.split("?")[0] for r in hub_server.requests()[seen:]] == [f"/api/models/{MODEL}"]
    assert _comparable(again[1], "json") == _comparable(first[1], "json")
    [rewritten] = _analyses(hub_env)
    assert json.loads(gzip.decompress(rewritten.read_bytes()))["model_id"] == MODEL


def test_entry_of_another_commit_or_key_is_rejected(tmp_path: Path) -> None:
    cache = HeaderCache(tmp_path)
    endpoint, sha, key = "https://huggingface.co", "a" * 40, "0" * 32
    assert cache.put_analysis(endpoint, MODEL, sha, None, key, report="{}",
                              checkpoint_notes=[], warnings=[])
    assert cache.get_analysis(endpoint, MODEL, sha, None, key) is not None
    # copied under another commit's name: it claims the first commit, so it is not trusted
    other = cache.analysis_path(endpoint, MODEL, "b" * 40, None, key)
    shutil.copy(cache.analysis_path(endpoint, MODEL, sha, None, key), other)
    assert cache.get_analysis(endpoint, MODEL, "b" * 40, None, key) is None
    assert not other.exists()
    with pytest.raises(ValueError):
        cache.analysis_path(endpoint, MODEL, sha, None, "../../x")


def test_at_most_so_many_keys_per_commit(tmp_path: Path) -> None:
    cache = HeaderCache(tmp_path)
    endpoint, sha = "https://huggingface.co", "a" * 40
    keys = [f"{i:032x}" for i in range(cache_mod.MAX_ANALYSES_PER_COMMIT + 3)]
    for i, key in enumerate(keys):
        assert cache.put_analysis(endpoint, MODEL, sha, None, key, report="{}",
                                  checkpoint_notes=[], warnings=[])
        path = cache.analysis_path(endpoint, MODEL, sha, None, key)
        stamp = 1_700_000_000 + i
        os.utime(path, (stamp, stamp))  # a clock that moves between writes
    kept = [k for k in keys if cache.get_analysis(endpoint, MODEL, sha, None, k) is not None]
    # the last write prunes to the newest MAX_ANALYSES_PER_COMMIT
    assert len(kept) <= cache_mod.MAX_ANALYSES_PER_COMMIT
    assert keys[-1] in kept and keys[0] not in kept
