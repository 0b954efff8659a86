"""Hostile repos and faulty servers (issue 13): the one-line reproduction of each defect, run as
the CLI runs it. The mechanisms have their own tests next to their modules (test_escape.py,
test_network_faults.py, test_validate.py, ...); these check that the reported case stays fixed
end to end: one clear line and exit 2, or a right report; bounded time; nothing from the repo
reaches the output unescaped; the token goes nowhere else."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from hubserver import HubServer

from tests.helpers import TINY_LLAMA, fixture
from tests.test_cli import run

ESC = "\x1b"
#: a line the GitHub Actions runner would execute as a workflow command
COMMAND_LINE = re.compile(r"^\s*(::|##\[)", re.MULTILINE)


def write_config(directory: Path, **values: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = {**TINY_LLAMA, **values}
    (directory / "config.json").write_text(json.dumps(config))
    return directory


# -- 1. escaping is linear-time -----------------------------------------------------------------


def test_defect1_megabyte_escape_introducers_in_model_type_finish_quickly(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the one-liner: {"model_type": "\x1b]" * 150000, ...}; minutes before the fix
    model = write_config(tmp_path / "q", model_type="\x1b]" * 150_000)
    for fmt in ("text", "github"):
        started = time.monotonic()
        code, out, err = run([str(model), "-f", fmt, "--no-lint"], capsys, monkeypatch)
        assert time.monotonic() - started < 60
        assert code in (0, 2), err
        assert ESC not in out and ESC not in err


def test_defect1_project_spec_quantities_do_not_backtrack() -> None:
    from archlint.lint.project_spec import parse_bytes, parse_count

    for parse in (parse_count, parse_bytes):
        started = time.monotonic()
        with pytest.raises(ValueError, match="expected"):
            parse("1" + " " * 60_000 + "x")  # 10 s before the fix
        assert time.monotonic() - started < 1.0


# -- 2. --timeout bounds a dripping server --------------------------------------------------------


def test_defect2_dripping_listing_is_bounded_by_timeout(
        hub_server: HubServer, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    hub_server.add_model("acme/dripping", fixture("openai/gpt-oss-20b"))
    hub_server.add_fault("drip", "/api/models", times=1000, drip_s=0.05)
    _one_line_within_timeout_bound("acme/dripping", hub_server, capsys, monkeypatch)


@pytest.mark.parametrize(("kind", "path"), [("drip_head", "/api/models"),
                                             ("drip_head", "config.json"),
                                             ("slow_redirect", "model.safetensors")])
def test_defect2_a_dripping_status_line_or_redirect_loop_is_bounded_by_timeout(
        hub_server: HubServer, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, kind: str, path: str) -> None:
    hub_server.add_model("acme/slow-head", fixture("openai/gpt-oss-20b"))
    hub_server.add_fault(kind, path, times=1000, drip_s=0.05 if kind == "drip_head" else 0.25)
    _one_line_within_timeout_bound("acme/slow-head", hub_server, capsys, monkeypatch)


def _one_line_within_timeout_bound(repo: str, hub_server: HubServer,
                                   capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`archlint REPO --timeout 0.3` against the faulty server: one line naming the repo,
    exit 2, inside RELIABILITY.md's bound ((FETCH_DEADLINE_TIMEOUTS + 1) x timeout)."""
    from archlint.source.http import FETCH_DEADLINE_TIMEOUTS

    timeout = 0.3
    started = time.monotonic()
    code, out, err = run([repo, "--endpoint", hub_server.endpoint, "--timeout",
                          str(timeout), "--no-cache"], capsys, monkeypatch)
    elapsed = time.monotonic() - started
    assert code == 2 and out == ""
    assert elapsed < (FETCH_DEADLINE_TIMEOUTS + 1) * timeout + 2.0, f"{elapsed:.1f} s"
    assert err.count("\n") == 1 and repo in err


# -- 4. the token stays with the endpoint -------------------------------------------------------

TOKEN = "hf_" + "T0kenValueForTests" * 2  # the shape of a real token: hf_ + letters and digits


def test_defect4_next_page_on_a_foreign_host_gets_no_token(
        hub_env: Path, fast_retries: None) -> None:
    from archlint import scan as scan_mod
    from tests.test_scan import ListingHub

    class ForeignNextHandler(ListingHub.handler_class):  # type: ignore[name-defined,misc]
        def _api(self, segments: list[str], query: dict[str, list[str]], head: bool) -> None:
            if segments in ([], [""]) and "cursor" not in query:  # page 1 links to another host
                body = json.dumps([{"id": "acme/one", "sha": self.hub.repos["acme/one"].sha}])
                link = f'<{self.hub.foreign}/api/models?author=acme&cursor=0>; rel="next"'
                return self._send(200, body.encode(), {"Link": link}, head)
            return super()._api(segments, query, head)

    class ForeignNextHub(ListingHub):
        handler_class = ForeignNextHandler
        foreign = ""

    with ForeignNextHub() as hub, ListingHub() as foreign:
        hub.foreign = foreign.endpoint
        hub.known_tokens.add(TOKEN)
        hub.add_model("acme/one", fixture("openai/gpt-oss-20b"))
        foreign.add_model("acme/two", fixture("openai/gpt-oss-20b"))
        ids = list(scan_mod.hub_query(author="acme", endpoint=hub.endpoint, token=TOKEN))

    assert [i.split("@")[0] for i in ids] == ["acme/one", "acme/two"]
    assert [r.authorization for r in hub.requests()] == [f"Bearer {TOKEN}"]
    assert [r.authorization for r in foreign.requests()] == [None]


def test_defect4_token_in_hf_endpoint_is_not_printed(
        hub_env: Path, fast_retries: None, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://user:{TOKEN}@127.0.0.1:9")  # nothing listens
    code, out, err = run(["acme/nothing-here", "--timeout", "0.2"], capsys, monkeypatch)
    assert code == 2 and out == ""
    assert TOKEN not in err and "***" in err, err


def test_defect4_token_reflected_by_the_server_is_not_printed(
        hub_server: HubServer, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "not-token-shaped-but-the-real-one-42"
    hub_server.add_model("acme/reflect", fixture("openai/gpt-oss-20b"), allowed_tokens={secret})
    hub_server.add_fault("wrong_range", "model.safetensors", times=100,
                         content_range="bytes 0-1/{authorization}")
    monkeypatch.setenv("HF_TOKEN", secret)
    code, out, err = run(["acme/reflect", "--endpoint", hub_server.endpoint, "--timeout", "0.3",
                          "--no-cache"], capsys, monkeypatch)
    assert code == 2 and out == ""
    assert "Content-Range" in err and secret not in err, err


# -- 3 (error lines). repo text in an error line is escaped ---------------------------------------


def test_defect3_repo_file_name_in_an_error_line_is_escaped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    name = "x\x1b]8;;evil\x07y\x1b[2J\n::error::forged.safetensors"  # no "/": one file
    (tmp_path / name).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    code, out, err = run([str(tmp_path / name)], capsys, monkeypatch)
    assert code == 2 and out == ""
    assert "forged.safetensors" in err  # named, but inert
    assert ESC not in err and not COMMAND_LINE.search(err) and err.count("\n") == 1, err


def test_defect3_hostile_values_in_findings_are_one_escaped_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    hostile = "\x1b]8;;https://evil\x07X\x1b[31m\n::error::forged"
    model = write_config(tmp_path / "h", hidden_act="silu" + hostile,
                         max_position_embeddings=1_000_000,
                         rope_scaling={"rope_type": "yarn", "factor": 2.0,
                                       "original_max_position_embeddings": 1000,
                                       "extra": hostile})
    for fmt in ("json", "sarif", "github", "junit"):
        code, out, err = run([str(model), "-f", fmt], capsys, monkeypatch)
        assert code in (0, 1), err
        assert ESC not in out and ESC not in err
        lines = [line for line in out.splitlines() if not line.startswith("::") or fmt != "github"]
        assert not any(COMMAND_LINE.match(line) for line in lines), fmt


# -- 10, 11, 9 (plugins) ----------------------------------------------------------------------


class _Dist:
    def __init__(self, name: str) -> None:
        self.name = name


class _EntryPoint:
    """An entry point of the `archlint.rules` group; `load` records that it was imported."""

    def __init__(self, name: str, target: object, loaded: list[str]) -> None:
        self.name, self.value, self.dist = name, f"{name}.rules", _Dist(f"{name}-pack")
        self._target, self._loaded = target, loaded

    def load(self) -> object:
        self._loaded.append(self.name)
        if isinstance(self._target, BaseException):
            raise self._target
        return self._target


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> tuple[list[_EntryPoint], list[str]]:
    """Plugin entry points the registry sees, loaded as outside pytest (the CLI's way)."""
    from archlint.lint import registry

    eps: list[_EntryPoint] = []
    loaded: list[str] = []
    monkeypatch.setattr(registry, "_entry_points", lambda: eps)
    monkeypatch.setattr(registry, "_under_pytest", lambda: False)
    monkeypatch.delenv("ARCHLINT_PLUGINS", raising=False)
    return eps, loaded


@pytest.mark.parametrize("failure", [SystemExit(0), SystemExit(3), GeneratorExit(),
                                     ImportError("no numpy"), RecursionError()],
                         ids=["exit0", "exit3", "generator-exit", "import-error", "recursion"])
def test_defect10_a_plugin_that_fails_to_load_fails_the_run(
        tmp_path: Path, plugins: tuple[list[_EntryPoint], list[str]], failure: BaseException,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    eps, loaded = plugins
    eps.append(_EntryPoint("evil", failure, loaded))
    model = write_config(tmp_path / "m")
    code, out, err = run([str(model), "-f", "json"], capsys, monkeypatch)
    assert loaded == ["evil"]
    assert code == 1, err  # not 0: the run did not check what it was asked to
    findings = json.loads(out)["findings"]
    assert any(f["code"] == "AL000" and "evil" in f["message"] for f in findings)


def test_defect11_no_plugins_never_imports_entry_points_with_a_config_file(
        tmp_path: Path, plugins: tuple[list[_EntryPoint], list[str]],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    eps, loaded = plugins
    eps.append(_EntryPoint("spy", SystemExit(0), loaded))
    model = write_config(tmp_path / "m")
    (model / "archlint.toml").write_text('fail-on = "error"\n')
    code, _, err = run([str(model), "--no-plugins"], capsys, monkeypatch)
    assert code == 0, err
    assert loaded == []


def test_defect9_a_plugin_rule_yielding_a_non_finding_is_an_al000_finding(
        tmp_path: Path, plugins: tuple[list[_EntryPoint], list[str]],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from archlint.lint.rule import Rule

    eps, loaded = plugins
    rule = type("Odd", (Rule,), {"__doc__": "Plugin rule.", "code": "XP001", "name": "odd",
                                 "messages": {"m": "m"},
                                 "check": lambda self, ctx: iter(["not a finding", 42])})
    eps.append(_EntryPoint("odd", rule, loaded))
    model = write_config(tmp_path / "m")
    for fmt in ("json", "sarif", "text"):
        code, out, err = run([str(model), "-f", fmt], capsys, monkeypatch)
        assert code == 1 and "internal error" not in err, err
        assert "XP001" in out


# -- 7. JSON archlint writes is standard JSON --------------------------------------------------


def _refuse_constant(name: str) -> object:
    raise AssertionError(f"non-standard JSON constant {name}")


def test_defect7_compare_json_is_standard_json(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    models = ["qwen3-next", "llama3", "deepseek-v3", "gemma3", "mixtral", "gpt-oss", "llama4"]
    code, out, err = run(["compare", *models, "--catalog", "-f", "json", "--rows", "all"],
                         capsys, monkeypatch)
    assert code == 0, err
    json.loads(out, parse_constant=_refuse_constant)


def test_defect7_non_finite_numbers_are_written_as_null() -> None:
    from archlint.report.strict_json import dumps

    value = {"a": float("inf"), "b": [float("nan"), -float("inf"), 1.5], "c": (2, "x")}
    assert json.loads(dumps(value), parse_constant=_refuse_constant) == {
        "a": None, "b": [None, None, 1.5], "c": [2, "x"]}


def test_defect7_kv_heads_above_heads_is_an_error_not_a_clean_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # was: "(0 per group): KV cache 0x smaller", exit 0
    model = write_config(tmp_path / "m", num_attention_heads=4, num_key_value_heads=8)
    code, out, err = run([str(model)], capsys, monkeypatch)
    assert code == 2 and out == "" and "num_key_value_heads" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "values",
    [{"num_hidden_layers": -1}, {"num_hidden_layers": None}, {"num_hidden_layers": True},
     {"model_type": "starcoder2", "sliding_window": 0}, {"hidden_act": ["silu"]},
     {"architectures": 5}, {"attn_logit_softcapping": "50"}, {"vocab_size": 10**3999},
     {"quantization_config": "fp8"}, {"num_hidden_layers": 2_000_000}],
    ids=["layers-negative", "layers-null", "layers-bool", "window-0", "act-list",
         "architectures-int", "softcap-string", "vocab-4000-digits", "quant-string",
         "layers-2M"])
def test_defect5_config_values_are_one_line_and_nothing_on_stdout(
        tmp_path: Path, values: dict[str, object], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "m"
    model.mkdir()
    config = json.loads((write_config(tmp_path / "base") / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, **values}))
    for fmt in ("text", "json"):
        started = time.monotonic()
        code, out, err = run([str(model), "-f", fmt], capsys, monkeypatch)
        assert code == 2 and out == "", (out[:200], err)
        assert err.startswith("archlint: config.json: ") and err.count("\n") == 1, err
        assert "internal error" not in err
        assert time.monotonic() - started < 10


# -- 8 and 6. a tampered or oversized cache entry is discarded, never fatal ----------------------

CACHE_REPO = "openai/gpt-oss-20b"
CACHE_SHA = "a" * 40
CACHE_ENDPOINT = "https://huggingface.co"


def _tampered(kind: str, data: dict[str, object]) -> bytes:
    import gzip

    columns = data["tensors"]  # Checkpoint.to_dict: the tensor table as columns
    if kind == "shard-id-out-of-range":
        from archlint.checkpoint import unpack_ints

        columns["shards"] = unpack_ints(columns["shards"])  # type: ignore[index]
        columns["shards"][0] = 10**6  # type: ignore[index]
    elif kind == "shape-not-integers":
        columns["shape_table"].append(["x", None])  # type: ignore[index]
        columns["shapes"][0] = len(columns["shape_table"]) - 1  # type: ignore[index]
    elif kind == "deep-nesting":  # deeper than json.loads can recurse
        data["config"] = "DEEP"
        text = json.dumps(data).replace('"DEEP"', "[" * 100_000 + "]" * 100_000)
        return gzip.compress(text.encode())
    elif kind == "gzip-bomb":  # 300 MB of JSON whitespace in a ~300 KB file
        return gzip.compress(json.dumps(data).encode() + b" " * (300 * 2**20), 9)
    return gzip.compress(json.dumps(data).encode())


@pytest.mark.parametrize("kind", ["shard-id-out-of-range", "shape-not-integers", "deep-nesting",
                                  "gzip-bomb", "link-to-dev-zero"])
def test_defect8_a_tampered_cache_entry_is_discarded_and_refetched(
        hub_server: HubServer, hub_env: Path, kind: str) -> None:
    from archlint.source.cache import HeaderCache
    from archlint.source.hub import fetch_checkpoint

    repo = hub_server.add_model(CACHE_REPO, fixture(CACHE_REPO), shards=2)
    fetch_checkpoint(CACHE_REPO, endpoint=hub_server.endpoint, token=False)
    from archlint.source import cache as cache_mod

    cache_mod.flush()
    entry = HeaderCache(hub_env).entry_path(hub_server.endpoint, CACHE_REPO, repo.sha)
    if kind == "link-to-dev-zero":
        entry.unlink()
        entry.symlink_to("/dev/zero")
    else:
        import gzip

        entry.write_bytes(_tampered(kind, json.loads(gzip.decompress(entry.read_bytes()))))
    hub_server.reset_log()
    started = time.monotonic()
    again = fetch_checkpoint(CACHE_REPO, endpoint=hub_server.endpoint, token=False)
    assert time.monotonic() - started < 30
    assert again.source == "hub" and len(again.shards) == 2  # refetched, not trusted
    assert hub_server.count() > 1


@pytest.mark.parametrize("resolved_at", ["Infinity", "NaN", "1e300", "-5", '"x"'])
def test_defect8_a_tampered_ref_is_discarded_offline_is_missing_not_a_crash(
        hub_env: Path, resolved_at: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from archlint.source.cache import HeaderCache

    cache = HeaderCache(hub_env)
    checkpoint = fixture(CACHE_REPO)
    checkpoint.model_id, checkpoint.revision, checkpoint.source = CACHE_REPO, CACHE_SHA, "hub"
    cache.put(CACHE_ENDPOINT, "acme/cached", CACHE_SHA,
              type(checkpoint).from_dict({**checkpoint.to_dict(), "model_id": "acme/cached"}))
    ref = cache.ref_path(CACHE_ENDPOINT, "acme/cached", None)
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(f'{{"sha": "{CACHE_SHA}", "resolved_at": {resolved_at}}}')
    code, out, err = run(["acme/cached", "--offline", "--endpoint", CACHE_ENDPOINT],
                         capsys, monkeypatch)
    assert code == 2 and out == "" and "internal error" not in err and "offline" in err, err


# -- 9. other bad input is one line -------------------------------------------------------------


@pytest.mark.parametrize("ref", ["~nosuchuser-archlint/x", "a" * 300, "/tmp/" + "b" * 300,
                                 "org/" + "c" * 300],
                         ids=["no-such-user", "long-name", "long-path", "long-hub-id"])
def test_defect9_bad_model_references_are_one_line(
        ref: str, hub_env: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run([ref, "--offline"], capsys, monkeypatch)
    assert code == 2 and out == "" and err.count("\n") == 1 and "internal error" not in err, err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_defect9_timeout_must_be_a_finite_number(
        value: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(["llama3", "--catalog", "--timeout", value], capsys, monkeypatch)
    assert code == 2 and out == "" and "--timeout" in err and "internal error" not in err


@pytest.mark.parametrize("bandwidth", ["0", "nan", "-1", "inf"])
def test_defect9_gpu_file_with_impossible_bandwidth_is_one_line(
        tmp_path: Path, bandwidth: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = tmp_path / "gpus.toml"
    gpus.write_text(f"[gpus.X1]\nmemory_gb = 80\nbandwidth_tbs = {bandwidth}\n"
                    "bf16_tflops = 1000\n")
    code, out, err = run(["llama3", "--catalog", "--gpu-file", str(gpus), "--gpu", "X1"],
                         capsys, monkeypatch)
    assert code == 2 and out == "" and "bandwidth_tbs" in err and err.count("\n") == 1, err


def test_defect9_non_utf8_model_list_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models.txt"
    models.write_bytes(b"org/a\n\xff\xfe org/b\n")
    code, out, err = run(["scan", "--from", str(models), "--offline"], capsys, monkeypatch)
    assert out == ""
    assert code == 2 and "UTF-8" in err and "internal error" not in err, err


def test_defect9_unwritable_summary_json_is_refused_before_the_scan(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models.txt"
    models.write_text("llama3\n")
    target = tmp_path / "no-such-dir" / "summary.json"
    code, out, err = run(["scan", "--from", str(models), "--offline", "--summary-json",
                          str(target)], capsys, monkeypatch)
    assert code == 2 and out == "" and "summary" in err and err.count("\n") == 1, err


def test_defect9_full_disk_on_stdout_is_one_line_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "archlint", "llama3", "--catalog"],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
                              check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "No space left" in done.stderr, done.stderr
    done = subprocess.run([sys.executable, "-m", "archlint", "llama3", "--catalog", "-o",
                           "/dev/full"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2 and "internal error" not in done.stderr, done.stderr


@pytest.mark.parametrize("rev", ["..", ".", "a..b", ".hidden", "main.lock", "x y", "a~1"])
def test_defect7_a_revision_git_cannot_name_is_refused_before_any_fetch(
        rev: str, hub_server: HubServer, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The Hub resolves `@..` and `@.` to the default branch, so `archlint org/x@..` used to
    report on another revision than the one typed (exit 1 with findings); git-check-ref-format
    refuses such names, and archlint now does too, in one line, with no request sent."""
    monkeypatch.setenv("HF_ENDPOINT", hub_server.endpoint)
    code, out, err = run([f"org/x@{rev}", "--no-lint"], capsys, monkeypatch)
    assert code == 2 and out == "", (code, out, err)
    assert "not a valid revision" in err and len(err.strip().splitlines()) == 1
    assert hub_server.requests() == []


# -- 6. all of a model's headers together are bounded ---------------------------------------------

#: one model's header bytes, all shards together: hand-set here, not read from archlint
TOTAL_HEADER_LIMIT = 128 * 2**20


def declared_header(header_len: int) -> bytes:
    """A shard's first bytes: an 8-byte length prefix announcing `header_len` bytes of header."""
    return header_len.to_bytes(8, "little") + b"{"


def sharded_index(shards: list[str]) -> str:
    weight_map = {f"model.layers.{i}.weight": name for i, name in enumerate(shards)}
    return json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map})


def test_defect6_headers_over_the_model_total_are_refused_before_they_are_read_from_the_hub(
        hub_server: HubServer, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from hubserver import Repo, VirtualFile, text_file

    # the case: 12 shards announcing 24 MB headers each (288 MB > 128 MiB = 134.2 MB);
    # each is under the per-file cap (25,000,000), so only a total can refuse it
    header_len = 24_000_000
    shards = [f"model-{i:05d}-of-00012.safetensors" for i in range(1, 13)]
    files = {name: VirtualFile(declared_header(header_len), 8 + header_len + 64)
             for name in shards}
    files["model.safetensors.index.json"] = text_file(sharded_index(shards))
    files["config.json"] = text_file(json.dumps({
        "model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
        "num_hidden_layers": 2, "vocab_size": 128}))
    repo = Repo("acme/huge-headers")
    repo.add_commit(files)
    hub_server.add_repo(repo)
    code, out, err = run(["acme/huge-headers", "--endpoint", hub_server.endpoint, "--no-cache"],
                         capsys, monkeypatch)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "acme/huge-headers" in err and "128 MiB" in err, err
    # each shard's declared length is charged before the rest of its header is requested, so
    # what is read stays under the total (plus the first ranged reads, 256 KiB at most each)
    # instead of all 288 MB; the refusal cancels the reads still under way
    sent = hub_server.bytes_sent("acme/huge-headers")
    assert sent < 12 * 256 * 1024 + 2**20, sent


def sparse_shards(directory: Path, count: int, header_len: int) -> list[str]:
    shards = [f"model-{i:05d}-of-{count:05d}.safetensors" for i in range(1, count + 1)]
    for name in shards:
        with open(directory / name, "wb") as handle:
            handle.write(declared_header(header_len))
            handle.truncate(8 + header_len + 64)  # sparse: nothing behind the prefix on disk
    (directory / "model.safetensors.index.json").write_text(sharded_index(shards))
    return shards


def test_defect6_local_headers_over_the_model_total_are_refused_before_any_is_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from archlint.source import local

    model = write_config(tmp_path / "huge")
    sparse_shards(model, 12, 24_000_000)
    read: list[object] = []
    monkeypatch.setattr(local, "read_local_header", lambda path, **kw: read.append(path))
    code, out, err = run([str(model)], capsys, monkeypatch)
    assert code == 2 and out == "" and err.count("\n") == 1 and "128 MiB" in err, err
    assert read == []


def test_defect6_the_largest_real_total_is_within_the_bound(tmp_path: Path) -> None:
    from archlint.source.local import _check_header_total

    # DeepSeek-R1: 163 shards holding 28.4 MiB of headers in all (the brief's measurement),
    # about 182,700 bytes each; 4.5x of that still fits
    model = tmp_path / "r1"
    model.mkdir()
    per_shard = int(28.4 * 2**20 * 4.5 / 163)
    assert 163 * (8 + per_shard) < TOTAL_HEADER_LIMIT
    shards = sparse_shards(model, 163, per_shard)
    _check_header_total(model, shards)  # does not raise
    # one byte-heavy shard more crosses it
    extra = sparse_shards(tmp_path, 1, TOTAL_HEADER_LIMIT - 163 * (8 + per_shard))
    (model / "extra.safetensors").write_bytes((tmp_path / extra[0]).read_bytes()[:9])
    with open(model / "extra.safetensors", "r+b") as handle:
        handle.truncate((tmp_path / extra[0]).stat().st_size)
    with pytest.raises(Exception, match="128 MiB"):
        _check_header_total(model, [*shards, "extra.safetensors"])


# -- 6. scan --resume reads its previous output back under bounds ---------------------------------


def test_defect6_resume_skips_a_5_gib_line_without_holding_it(tmp_path: Path) -> None:
    import tracemalloc

    from archlint.scan import read_done

    output = tmp_path / "out.jsonl"
    ok_row = json.dumps({"id": "org/done", "status": "ok", "revision": "a" * 40}) + "\n"
    with open(output, "wb") as handle:
        handle.write(ok_row.encode())
        handle.write(b'{"id": "org/huge", "status": "ok", "x": "')
        handle.truncate(handle.tell() + 5 * 2**30)  # 5 GiB of one line (sparse: no disk)
    with open(output, "ab") as handle:
        handle.write(b'"}\n' + json.dumps({"id": "org/after", "status": "ok"}).encode() + b"\n")
    tracemalloc.start()
    try:
        done = read_done(output)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert set(done) == {"org/done", "org/after"}  # the 5 GiB line is not a row: skipped
    assert peak < 16 * 2**20, peak  # pieces of 1 MiB, never the line (was: 5 GiB whole)


def test_defect6_resume_refuses_an_oversized_or_special_file_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models.txt"
    models.write_text("llama3\n")
    output = tmp_path / "out.jsonl"
    with open(output, "wb") as handle:
        handle.truncate(9 * 2**30)  # over any real scan's output (2M rows of 2 KB: 4 GB)
    started = time.monotonic()
    code, out, err = run(["scan", "--from", str(models), "--offline", "--output", str(output),
                          "--resume"], capsys, monkeypatch)
    assert code == 2 and out == "" and err.count("\n") == 1 and "GiB" in err, err
    assert time.monotonic() - started < 5  # from its size, not by reading it
    code, out, err = run(["scan", "--from", str(models), "--offline", "--output", "/dev/zero",
                          "--resume"], capsys, monkeypatch)
    assert code == 2 and out == "" and err.count("\n") == 1 and "regular file" in err, err


@pytest.mark.parametrize("text", [
    "fail-on = " + "[" * 5000 + "]" * 5000,  # tomllib recursed to a RecursionError
    "fail-on = {" + "a = {" * 3000 + "}" * 3001,
    "[spec]\nparams = " + "9" * 5000,  # over Python's int-string limit
    "fail-on = '" + "x" * 100_000 + "'",  # a value echoed in the message: cut short
    "#" * (3 * 2**20),  # over the size bound: refused unread
], ids=["nested-arrays", "nested-tables", "5000-digits", "long-value", "3-mib"])
def test_defect9_hostile_archlint_toml_is_one_short_line(
        tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    model = write_config(tmp_path / "m")
    (model / "archlint.toml").write_text(text)
    code, out, err = run([str(model)], capsys, monkeypatch)
    assert code == 2 and out == "" and err.count("\n") == 1 and len(err) < 400, err[:400]
    assert "internal error" not in err and "archlint.toml" in err
