"""archlint as a CI check and a daily tool (issue 14): locations relative to the repository
root, real lines in the index, a report for every repo, ruff-style check output, config
discovery, colour and width, suggestions, the API, the Action and the docs' commands."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, TINY_LLAMA

PLANTED = ROOT / "fixtures" / "planted" / "tiny-llama"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "TERM")}
    base["PYTHONPATH"] = os.pathsep.join([str(ROOT), base.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "archlint", *args], cwd=cwd, text=True,
                          capture_output=True, env={**base, **env}, timeout=180)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A git repository with the planted model in models/tiny and a subdirectory."""
    root = tmp_path / "repo"
    shutil.copytree(PLANTED, root / "models" / "tiny")
    (root / "sub").mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _sarif_uris(text: str) -> list[str]:
    log = json.loads(text)
    return [loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"] for loc in r["locations"]]


def test_sarif_from_a_subdirectory_is_relative_to_the_git_root(repo: Path) -> None:
    proc = run(["check", "../models/tiny", "--format", "sarif"], repo / "sub")
    assert proc.returncode == 1, proc.stderr
    uris = _sarif_uris(proc.stdout)
    assert uris and all(u.startswith("models/tiny/") for u in uris)
    assert "models/tiny/model.safetensors.index.json" in uris
    github = run(["check", "../models/tiny", "--format", "github"], repo / "sub").stdout
    assert all("file=models/tiny/" in line for line in github.splitlines())
    junit = run(["check", "../models/tiny", "--format", "junit"], repo / "sub").stdout
    assert "models/tiny/config.json:" in junit
    # --root names another root explicitly
    rooted = run(["check", "tiny", "--format", "sarif", "--root", "."], repo / "models")
    assert all(u.startswith("tiny/") for u in _sarif_uris(rooted.stdout))


def test_index_findings_have_real_lines_and_shards_no_region(repo: Path) -> None:
    proc = run(["check", "models/tiny", "--format", "sarif"], repo)
    results = json.loads(proc.stdout)["runs"][0]["results"]
    index_text = (repo / "models/tiny/model.safetensors.index.json").read_text().splitlines()
    # AL011: the index maps model.norm.weight to the wrong shard; its key's line in the file
    al011 = next(r for r in results if r["ruleId"] == "AL011")
    region = al011["locations"][0]["physicalLocation"]["region"]
    want = next(i for i, line in enumerate(index_text, 1) if '"model.norm.weight"' in line)
    assert region["startLine"] == want
    assert region["startColumn"] == index_text[want - 1].index('"model.norm.weight"') + 1
    # AL014: metadata.total_size
    al014 = next(r for r in results if r["ruleId"] == "AL014")
    want = next(i for i, line in enumerate(index_text, 1) if '"total_size"' in line)
    assert al014["locations"][0]["physicalLocation"]["region"]["startLine"] == want
    # AL401 sits in a binary shard: the file, no region, the tensor named
    al401 = next(r for r in results if r["ruleId"] == "AL401")
    physical = al401["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"].endswith(".safetensors")
    assert "region" not in physical
    assert "model.layers.1.mlp.down_proj.weight" in json.dumps(al401)


def test_lfs_pointer_repo_gets_its_report(tmp_path: Path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({
        "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 128}))
    # what git-lfs leaves in a checkout without `lfs: true` (https://git-lfs.com/spec/v1)
    (model / "model.safetensors").write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 12345\n")
    proc = run(["check", "m", "--format", "sarif", "--output", "out.sarif"], tmp_path)
    assert proc.returncode == 1, proc.stderr
    log = json.loads((tmp_path / "out.sarif").read_text())
    al001 = [r for r in log["runs"][0]["results"] if r["ruleId"] == "AL001"]
    assert len(al001) == 1 and "Git LFS pointer" in al001[0]["message"]["text"]
    assert run(["check", "nope"], tmp_path).returncode == 2  # archlint's own input error


def test_check_prints_findings_like_ruff(repo: Path) -> None:
    proc = run(["check", "../models/tiny"], repo / "sub")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("Found 10 findings (")
    for line in lines[:-1]:
        assert re.match(r"^\.\./models/tiny/[\w.-]+(:\d+:\d+)?: AL\d{3} \S", line), line
    assert "../models/tiny/config.json:8:3: AL101 " in proc.stdout  # "num_hidden_layers" key
    assert "what this means" not in proc.stdout
    assert "what this means" in run(["check", "../models/tiny", "--report"], repo / "sub").stdout
    stats = run(["check", "../models/tiny", "--statistics"], repo / "sub").stdout.splitlines()
    assert stats[-1].startswith("Found 10 findings")
    assert all(re.match(r"^\s*\d+  AL\d{3}  [a-z0-9-]+$", line) for line in stats[:-1])
    # check defaults to the current directory
    here = run(["check"], repo / "models" / "tiny")
    assert here.returncode == 1 and "config.json:8:3: AL101" in here.stdout


def test_check_json_is_the_findings_like_ruff(repo: Path) -> None:
    concise = run(["check", "../models/tiny"], repo / "sub").stdout.splitlines()[:-1]
    proc = run(["check", "../models/tiny", "--format", "json"], repo / "sub")
    assert proc.returncode == 1
    findings = json.loads(proc.stdout)
    assert isinstance(findings, list)
    # the same findings, in the same order, as the concise lines (path:line:col: CODE message)
    assert [f"{f['filename']}" + (f":{f['location']['line']}:{f['location']['column']}"
                                  if f["location"]["line"] else "") + f": {f['code']} "
            f"{f['message']}" for f in findings] == concise
    full = json.loads(run(["check", "../models/tiny", "--format", "json", "--report"],
                          repo / "sub").stdout)
    assert [{k: v for k, v in f.items() if k != "filename"} for f in findings] == \
        full["findings"]
    stats = json.loads(run(["check", "../models/tiny", "-f", "json", "--statistics"],
                           repo / "sub").stdout)
    assert sum(row["count"] for row in stats) == len(findings) == 10
    assert {"code", "name", "count"} == set(stats[0])


def test_config_discovery_is_for_the_local_path_only(tmp_path: Path) -> None:
    (tmp_path / "archlint.toml").write_text('[spec]\nkv_heads = 4\n')  # Llama-3-8B has 8
    remote = run(["check", "llama3", "--catalog"], tmp_path)
    assert remote.returncode == 0, remote.stdout  # the cwd's [spec] is not Llama-3's
    forced = run(["check", "llama3", "--catalog", "--config", "archlint.toml"], tmp_path)
    assert forced.returncode == 1 and "AL5" in forced.stdout
    model = tmp_path / "tiny"
    shutil.copytree(PLANTED, model)
    (model / "archlint.toml").write_text('ignore = ["AL101"]\n')
    assert "AL101" not in run(["check", "tiny"], tmp_path).stdout
    assert "AL101" in run(["check", "tiny", "--isolated"], tmp_path).stdout


def test_per_file_and_per_tensor_ignores(tmp_path: Path) -> None:
    """archlint's `# noqa`: rules silenced for files and tensor names matching a pattern.
    The planted repo's defects (fixtures/planted/EXPECTED.json): AL401 on the fp32 tensor
    model.layers.1.mlp.down_proj.weight, AL011 on the index entry of model.norm.weight, AL1xx
    on config.json keys, AL014 on the index's total_size."""
    model = tmp_path / "tiny"
    shutil.copytree(PLANTED, model)
    before = {f["code"] for f in json.loads(run(["check", "tiny", "-f", "json"], tmp_path)
                                            .stdout)}
    assert {"AL401", "AL011", "AL101", "AL111", "AL112", "AL014", "AL502"} <= before
    toml = model / "archlint.toml"  # the planted repo's own: its [spec] makes AL502, AL507
    toml.write_text(toml.read_text() + "\n"
        '[per-tensor-ignores]\n'
        '"model.layers.*.mlp.down_proj.weight" = ["AL401"]\n'
        '"model.norm.*" = "AL011"\n'
        '"lm_head.*" = ["ALL"]\n'
        '[per-file-ignores]\n'
        '"config.json" = ["AL1"]\n')
    after = {f["code"] for f in json.loads(run(["check", "tiny", "-f", "json"], tmp_path)
                                           .stdout)}
    assert after == before - {"AL401", "AL011", "AL101", "AL111", "AL112"}
    (model / "archlint.toml").write_text('[per-tensor-ignores]\n"x.*" = ["AL9999"]\n')
    bad = run(["check", "tiny"], tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "per-tensor-ignores 'x.*'" in bad.stderr and "archlint.toml" in bad.stderr


def test_colour_follows_no_color_force_color_and_term(tmp_path: Path) -> None:
    args = ["llama3", "--catalog"]
    assert not ANSI.search(run(args, tmp_path).stdout)  # a pipe: no colour
    assert ANSI.search(run(args, tmp_path, FORCE_COLOR="1").stdout)
    assert not ANSI.search(run(args, tmp_path, FORCE_COLOR="1", NO_COLOR="1").stdout)
    assert ANSI.search(run([*args, "--color", "always"], tmp_path, TERM="dumb").stdout)
    assert not ANSI.search(run([*args, "--color", "never"], tmp_path, FORCE_COLOR="1").stdout)


def _styled_commands(tmp_path: Path) -> dict[str, list[str]]:
    (tmp_path / "ids.txt").write_text("llama3\nmixtral\n")
    commands = {
        "rules": ["rules"],
        "rule": ["rule", "AL101"],
        "catalog": ["catalog"],
        "version": ["version"],
        # the scan's summary tables are on stderr, the JSON lines in the file
        "scan": ["scan", "--from", "ids.txt", "--catalog", "-o", "rows.jsonl"],
    }
    try:
        import torch  # noqa: F401  (bench needs the gpu extra; on a CPU it checks KV bytes)
    except ImportError:
        pass
    else:
        commands["bench"] = ["bench", "llama3", "--catalog", "--device", "cpu", "--batch", "1",
                             "--context", "16"]
    return commands


@pytest.mark.parametrize("name", ["rules", "rule", "catalog", "version", "scan", "bench"])
def test_colour_on_every_subcommand(tmp_path: Path, name: str) -> None:
    commands = _styled_commands(tmp_path)
    if name not in commands:
        pytest.skip("bench needs torch (the gpu extra)")
    args = commands[name]

    def styled(*extra: str, **env: str) -> bool:
        proc = run([*args, *extra], tmp_path, **env)
        assert proc.returncode == 0, proc.stderr
        return bool(ANSI.search(proc.stdout + proc.stderr))

    assert not styled()  # a pipe
    assert styled(FORCE_COLOR="1")  # https://force-color.org
    assert not styled(FORCE_COLOR="1", NO_COLOR="1")  # https://no-color.org wins
    assert styled("--color", "always", TERM="dumb")
    assert not styled("--color", "never", FORCE_COLOR="1")


def test_json_is_never_styled(tmp_path: Path) -> None:
    for args in (["schema"], ["rules", "-f", "json"], ["catalog", "--format", "json"],
                 ["version", "--output-format", "json"]):
        proc = run([*args, "--color", "always"], tmp_path)
        assert proc.returncode == 0 and not ANSI.search(proc.stdout), args
        json.loads(proc.stdout)


@pytest.mark.parametrize("name", ["rules", "catalog", "scan", "bench"])
def test_columns_bound_every_subcommand(tmp_path: Path, name: str) -> None:
    commands = _styled_commands(tmp_path)
    if name not in commands:
        pytest.skip("bench needs torch (the gpu extra)")
    proc = run(commands[name], tmp_path, COLUMNS="60")
    assert proc.returncode == 0, proc.stderr
    lines = (proc.stdout + proc.stderr).splitlines()
    if name == "scan":  # its tables; the one-line summary above them is a log line, unwrapped
        lines = [line for line in lines if line[:1] in "┏┃┡│└"]
    assert lines and max(len(line) for line in lines) <= 60
    wide = run(commands[name], tmp_path, COLUMNS="200")
    if name == "rules":  # one rule, one line, when the width allows
        assert len(wide.stdout.splitlines()) < len(proc.stdout.splitlines())
    if name == "catalog":  # a model id is never split, whatever the width
        assert any(line.startswith("meta-llama/Meta-Llama-3-8B ") for line in lines)


@pytest.mark.parametrize("columns", [80, 120])
def test_columns_bound_the_text_report(tmp_path: Path, columns: int) -> None:
    out = run(["deepseek-v3", "--catalog"], tmp_path, COLUMNS=str(columns)).stdout
    assert max(len(line) for line in out.splitlines()) <= columns
    assert "deepseek-ai/DeepSeek-V3" in out  # the id is never split mid-token


def test_suggestions(tmp_path: Path) -> None:
    typo = run(["chek", "."], tmp_path)
    assert typo.returncode == 2 and "did you mean 'check'" in typo.stderr
    assert "did you mean 'llama3'" in run(["lama3"], tmp_path).stderr
    assert "did you mean 'llama3'" in run(["lama3", "--catalog"], tmp_path).stderr
    assert "did you mean 'layer-count-mismatch'" in \
        run(["rule", "layer-count-mismach"], tmp_path).stderr
    rows = run(["compare", "llama3", "--catalog", "--rows", "kv_per_tokn"], tmp_path)
    assert rows.returncode == 2 and "did you mean 'kv_per_token'" in rows.stderr
    option = run(["llama3", "--formt", "json"], tmp_path)
    assert option.returncode == 2 and "--format" in option.stderr


def test_a_hub_id_that_404s_gets_a_suggestion(hub_server, tmp_path: Path) -> None:
    """The local test Hub has no repos: a near miss of a bundled id is suggested with the
    one line, an unrelated id gets none."""
    env = {"HF_ENDPOINT": hub_server.endpoint, "ARCHLINT_CACHE": str(tmp_path / "cache")}
    near = run(["meta-llama/Meta-Llama-3-8b"], tmp_path, **env)
    assert near.returncode == 2 and near.stderr.count("\n") == 1, near.stderr
    assert "repository not found" in near.stderr
    assert "did you mean 'meta-llama/Meta-Llama-3-8B'?" in near.stderr
    far = run(["nobody/nothing-like-it"], tmp_path, **env)
    assert far.returncode == 2 and "did you mean" not in far.stderr


def test_token_and_verbose(hub_server, tmp_path: Path) -> None:
    """--token reaches the Hub (a private repo answers only to its member's token, as the
    Hub's 404 for private repos does); -v says which config and repository root are used."""
    from tests.helpers import fixture

    hub_server.add_model("Qwen/Qwen3-8B", fixture("Qwen/Qwen3-8B"), private=True,
                         allowed_tokens={"hf_member"})
    env = {"HF_ENDPOINT": hub_server.endpoint, "ARCHLINT_CACHE": str(tmp_path / "cache"),
           "HF_TOKEN_PATH": str(tmp_path / "no-token")}
    denied = run(["Qwen/Qwen3-8B", "--no-cache"], tmp_path, **env)
    assert denied.returncode == 2 and "repository not found" in denied.stderr
    allowed = run(["Qwen/Qwen3-8B", "--no-cache", "--token", "hf_member", "-f", "json"],
                  tmp_path, **env)
    assert allowed.returncode in (0, 1), allowed.stderr
    assert json.loads(allowed.stdout)["model"]["id"] == "Qwen/Qwen3-8B"
    assert "hf_member" not in allowed.stdout + allowed.stderr  # never echoed
    model = tmp_path / "tiny"
    shutil.copytree(PLANTED, model)
    verbose = run(["check", "tiny", "-v"], tmp_path)
    assert f"config: {model / 'archlint.toml'}" in verbose.stderr
    assert "repository root:" in verbose.stderr
    assert "config:" not in run(["check", "tiny"], tmp_path).stderr


def test_shell_completion_as_documented(tmp_path: Path) -> None:
    """docs/ci.md's bash line produces click's completion script, and it completes."""
    line = next(x for x in _doc_block("Shell completion", "sh").splitlines() if "bash" in x)
    command = re.search(r'"\$\((.*)\)"', line).group(1)  # type: ignore[union-attr]
    env_name, _, value = command.split()[0].partition("=")
    assert (env_name, value) == ("_ARCHLINT_COMPLETE", "bash_source")
    script = run([], tmp_path, **{env_name: value})
    assert "complete " in script.stdout and "_ARCHLINT_COMPLETE" in script.stdout
    words = run([], tmp_path, _ARCHLINT_COMPLETE="bash_complete", COMP_WORDS="archlint ch",
                COMP_CWORD="1")
    assert "check" in words.stdout


def test_conventions(tmp_path: Path) -> None:
    from archlint import __version__

    assert run(["version"], tmp_path).stdout.strip() == f"archlint {__version__}"
    rules = json.loads(run(["rules", "--format", "json"], tmp_path).stdout)
    assert {"code": "AL101", "name": "layer-count-mismatch"}.items() <= \
        next(r for r in rules if r["code"] == "AL101").items()
    catalog = json.loads(run(["catalog", "--output-format", "json"], tmp_path).stdout)
    assert any(entry["id"] == "meta-llama/Meta-Llama-3-8B" and "llama3" in entry["aliases"]
               for entry in catalog)
    a = json.loads(run(["llama3", "--catalog", "--output-format", "json",
                        "--max-model-len", "4096", "--kv-cache-dtype", "fp8"], tmp_path).stdout)
    b = json.loads(run(["llama3", "--catalog", "-f", "json", "--context", "4096",
                        "--kv-dtype", "fp8"], tmp_path).stdout)
    assert a["kv_cache"] == b["kv_cache"] and a["kv_cache"]["context"] == 4096
    # one name for the text output across subcommands
    assert run(["compare", "llama3", "--catalog", "--format", "text"], tmp_path).returncode == 0
    # --output-format on every subcommand with a --format (ruff's name)
    as_json = run(["compare", "llama3", "--catalog", "--output-format", "json"], tmp_path)
    assert as_json.returncode == 0 and json.loads(as_json.stdout)
    for sub in (["rules"], ["catalog"], ["version"], ["check", str(PLANTED)]):
        proc = run([*sub, "--output-format", "json"], tmp_path)
        assert proc.returncode in (0, 1) and json.loads(proc.stdout) is not None, sub
    quiet = run(["llama3", "--catalog", "-q", "-o", "r.txt"], tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_deepseek_v3_has_one_total_everywhere(tmp_path: Path) -> None:
    """One total in the table, the bullets, markdown, JSON and compare; MTP explained once.
    By hand: 671,026,419,200 main model (DeepSeek-V3's card: "671B total parameters") plus
    the MTP module (layer 61) is the total, and 671B appears only as the main model."""
    doc = json.loads(run(["deepseek-v3", "--catalog", "-f", "json"], tmp_path).stdout)
    params = doc["params"]
    assert params["main_model"] == 671_026_419_200
    assert params["total"] == params["main_model"] + params["by_component"]["mtp"]
    total = f"{params['total'] / 1e9:.0f}B"
    texts = {fmt: run(["deepseek-v3", "--catalog", "-f", fmt], tmp_path, COLUMNS="200").stdout
             for fmt in ("text", "markdown")}
    texts["compare"] = run(["compare", "deepseek-v3", "--catalog", "-f", "markdown"],
                           tmp_path).stdout
    for fmt, text in texts.items():
        totals = set(re.findall(r"\b(\d+(?:\.\d+)?B) total\b", text))
        assert totals <= {total}, (fmt, totals)
        assert re.search(rf"(total|Params \(total\))\W+{total}", text), fmt
        assert all(m.group(0) == "671B main model"
                   for m in re.finditer(r"671B[\w ]{0,11}", text)), fmt
    assert texts["text"].count("multi-token-prediction") == 1


def test_plots_without_matplotlib_say_which_extra(tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    (blocker / "matplotlib").mkdir(parents=True)
    (blocker / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "archlint", "llama3", "--catalog", "--plot",
                           str(tmp_path / "kv.png")], cwd=tmp_path, text=True,
                          capture_output=True, env={**os.environ, **env}, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("archlint: plots need matplotlib")
    assert "archlint[plot]" in proc.stderr and "internal error" not in proc.stderr


def test_api_returns_the_json_report_with_findings(tmp_path: Path) -> None:
    from archlint import api
    from archlint.report.document import Report

    doc = api.report(str(PLANTED))
    assert isinstance(doc, Report)
    codes = {f.code for f in doc.findings}
    assert {"AL011", "AL101", "AL401"} <= codes  # planted defects, fixtures/planted/EXPECTED.json
    cli = json.loads(run([str(PLANTED), "--format", "json"], tmp_path).stdout)
    assert doc.model_dump(mode="json")["findings"] == cli["findings"]
    assert [f.code for f in api.check(str(PLANTED))] == [f["code"] for f in cli["findings"]]
    from archlint.source import SourceOptions

    table = api.compare(["llama3", "mixtral"], source=SourceOptions(prefer="catalog"))
    assert table.columns == ["meta-llama/Meta-Llama-3-8B", "mistralai/Mixtral-8x7B-v0.1"]
    # analyze() is the intermediate objects; its findings only when asked for
    assert api.analyze(str(PLANTED)).findings == []
    assert [f.code for f in api.analyze(str(PLANTED), lint=True).findings] == \
        [f.code for f in doc.findings]
    import io

    from archlint.scan import scan

    out = io.StringIO()  # the scan's library form, as docs/api.md shows it
    summary = scan(["llama3", "nope/none"], out=out,
                   source_options=SourceOptions(prefer="catalog", offline=True))
    rows = {row["id"]: row for row in map(json.loads, out.getvalue().splitlines())}
    assert (summary.ok, summary.failed) == (1, 1)
    # Llama-3-8B: the index's total_size 16,060,522,496 B of bf16 = 8,030,261,248 parameters;
    # KV per token = 32 layers x 2 (K, V) x 8 KV heads x 128 dims x 2 bytes = 131,072
    assert rows["llama3"]["status"] == "ok" and rows["llama3"]["params_total"] == 8_030_261_248
    assert rows["llama3"]["kv_bytes_per_token"] == 131_072
    assert rows["nope/none"]["status"] != "ok" and rows["nope/none"]["reason"]
    # api.scan is the same scan, its rows returned as dicts
    listed = api.scan(["llama3", "nope/none"],
                      source=SourceOptions(prefer="catalog", offline=True))
    assert {row["id"]: row["status"] for row in listed} == {"llama3": "ok", "nope/none": "error"}
    assert next(r for r in listed if r["id"] == "llama3")["params_total"] == 8_030_261_248


def test_api_docs_are_generated_from_the_docstrings() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_api_docs
    finally:
        sys.path.pop(0)
    assert (ROOT / "docs" / "api.md").read_text(encoding="utf-8") == make_api_docs.render(), \
        "docs/api.md is out of date: run scripts/make_api_docs.py"


def test_gpu_extra_installs_where_torch_does() -> None:
    import tomllib
    from packaging.requirements import Requirement

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["gpu"]
    triton = next(Requirement(r) for r in extra if r.startswith("triton"))
    assert triton.marker is not None
    assert not triton.marker.evaluate({"sys_platform": "darwin", "platform_machine": "arm64"})
    assert not triton.marker.evaluate({"sys_platform": "win32", "platform_machine": "AMD64"})
    assert triton.marker.evaluate({"sys_platform": "linux", "platform_machine": "x86_64"})


# -- the Action and the docs, run locally -------------------------------------------------------
def _bin_dir(tmp_path: Path) -> Path:
    """An `archlint` executable for the Action's shell steps: this checkout's CLI."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    exe = bindir / "archlint"
    exe.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m archlint \"$@\"\n")
    exe.chmod(0o755)
    return bindir


def test_action_steps_run_locally(repo: Path, tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    install = next(s for s in steps if s.get("name", "").startswith("Install"))
    assert "$ACTION_PATH" in install["run"] and install["env"]["ACTION_PATH"] == \
        "${{ github.action_path }}"  # from the action's own checkout, not an index
    check = next(s for s in steps if s.get("id") == "check")
    out = tmp_path / "github_output"
    out.write_text("")
    env = {**os.environ, "PATH": f"{_bin_dir(tmp_path)}{os.pathsep}{os.environ['PATH']}",
           "MODEL_PATH": "models/tiny", "FAIL_ON": "error", "EXTRA_ARGS": "",
           "ANNOTATIONS": "true", "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(out)}
    proc = subprocess.run(["bash", "-e", "-c", check["run"]], cwd=repo, env=env, text=True,
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert outputs["exit-code"] == "1"
    sarif = json.loads(Path(outputs["sarif-file"]).read_text())
    assert all(u.startswith("models/tiny/") for u in _sarif_uris(json.dumps(sarif)))
    assert proc.stdout.splitlines()[0].startswith("::error file=models/tiny/")
    result = next(s for s in steps if s.get("name") == "Result")
    done = subprocess.run(["bash", "-e", "-c", result["run"]], env={**env, "CODE": "1"},
                          text=True, capture_output=True)
    assert done.returncode == 1
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action"))
    assert upload["with"]["sarif_file"] == "${{ steps.check.outputs.sarif-file }}"


def _doc_commands() -> list[str]:
    text = (ROOT / "docs" / "ci.md").read_text()
    return re.findall(r"^\s*(?:- )?run: (archlint [^\n]+)$", text, re.M)


def _doc_block(heading: str, lang: str) -> str:
    """The first ```lang block of docs/ci.md's section ``heading``."""
    text = (ROOT / "docs" / "ci.md").read_text()
    section = text[text.index(f"\n## {heading}\n"):]
    return re.search(rf"```{lang}\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def _offline_env(tmp_path: Path, *bin_dirs: Path) -> dict[str, str]:
    """pip and pre-commit without a package index: archlint's dependencies (and setuptools, to
    build it) are found where this interpreter has them, as already installed; nothing is
    downloaded, so a clone installs as it would on a runner."""
    import sysconfig

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env.update(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONPATH=sysconfig.get_paths()["purelib"], PRE_COMMIT_HOME=str(tmp_path / "pch"),
               PATH=os.pathsep.join([*map(str, bin_dirs), os.environ["PATH"]]))
    return env


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=archlint", "-c", "user.email=ci@example.invalid",
                    *args], cwd=cwd, check=True, capture_output=True)


def _clone_of_this_checkout(dest: Path) -> Path:
    """A git repository holding this checkout's files as they are (uncommitted edits too)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            text=True, capture_output=True)
    names = listed.stdout.splitlines() if listed.returncode == 0 else None
    if names is None:  # not a git checkout: the tree without the environment
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__"))
    else:
        for name in names:
            if (ROOT / name).is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, dest / name)
    _git("init", "-q", cwd=dest)
    _git("add", "-A", cwd=dest)
    _git("commit", "-q", "-m", "archlint", cwd=dest)
    return dest


def test_docs_install_and_workflow_run_as_written(tmp_path: Path) -> None:
    """The install block, the workflow's own steps (two checkouts, `uses: ./.archlint`, pip from
    the checkout) and every `archlint` command of docs/ci.md, run with the archlint they
    install into a fresh environment."""
    pytest.importorskip("setuptools", reason="building the clone offline needs setuptools")
    model = tmp_path / "model"
    shutil.copytree(PLANTED, model)
    _git("init", "-q", cwd=model)
    clone = _clone_of_this_checkout(model / ".archlint")  # where the workflow checks it out
    workflow = yaml.safe_load(_doc_block("GitHub Action", "yaml"))
    steps = workflow["jobs"]["archlint"]["steps"]
    checkout = next(s for s in steps if s.get("with", {}).get("path") == ".archlint")
    assert checkout["uses"].startswith("actions/checkout@")
    local = next(s for s in steps if s.get("uses", "").startswith("./"))
    assert (model / local["uses"] / "action.yml").is_file()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = _offline_env(tmp_path, venv / "bin")
    (tmp_path / "archlint").symlink_to(clone)  # the install block's "$PWD/archlint"
    install = subprocess.run(["bash", "-e", "-c", _doc_block("Installing", "sh")], cwd=tmp_path,
                             env=env, text=True, capture_output=True, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    without_action = re.findall(r"- run: (python -m pip install [^\n]+)",
                                _doc_block("GitHub Action", "yaml") + (ROOT / "docs" / "ci.md")
                                .read_text())
    assert without_action
    proc = subprocess.run(["bash", "-e", "-c", without_action[0]], cwd=model, env=env,
                          text=True, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import archlint; print(archlint.__file__)"], env=env, text=True,
                           capture_output=True, cwd=tmp_path)
    assert where.stdout.startswith(str(venv)), where  # the installed copy, not this checkout
    commands = _doc_commands()
    assert len(commands) >= 3
    for command in commands:
        proc = subprocess.run(["bash", "-c", command], cwd=model, env=env, text=True,
                              capture_output=True, timeout=300)
        assert proc.returncode == 1, (command, proc.stderr)  # the planted model has findings
    assert json.loads((model / "archlint.sarif").read_text())["version"] == "2.1.0"
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    files = re.compile(next(h for h in hooks if h["id"] == "archlint")["files"])
    assert files.search("models/tiny/config.json") and files.search("model.safetensors")
    assert not files.search("README.md")


def test_docs_pre_commit_runs_the_hook_from_a_local_clone(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit", reason="pre-commit is in the test extra")
    model = tmp_path / "model"
    shutil.copytree(PLANTED, model)
    _git("init", "-q", cwd=model)
    _git("add", "-A", cwd=model)
    clone = _clone_of_this_checkout(tmp_path / "archlint")
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "pre-commit").write_text(f"#!/bin/sh\nexec {sys.executable} -m pre_commit \"$@\"\n")
    (shim / "pre-commit").chmod(0o755)
    env = {**_offline_env(tmp_path, shim), "ARCHLINT_REPO": str(clone)}
    proc = subprocess.run(["bash", "-c", _doc_block("pre-commit", "sh")], cwd=model, env=env,
                          text=True, capture_output=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    config = yaml.safe_load((model / ".pre-commit-config.yaml").read_text())
    assert config["repos"][0]["rev"] == subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=clone, text=True, capture_output=True).stdout.strip()
    assert "archlint....." in proc.stdout and "Failed" in proc.stdout
    # the hook's output is check's: one finding per line, then the summary
    assert "config.json:8:3: AL101 " in proc.stdout and "Found 10 findings" in proc.stdout
    assert "what this means" not in proc.stdout


def test_html_page_is_responsive() -> None:
    from archlint.compare_cli import run_compare
    from archlint.source import SourceOptions

    html = run_compare(["llama3", "deepseek-v3"], fmt="html",
                       source_options=SourceOptions(prefer="catalog"))
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<div class="scroll"><table' in html and "overflow-x:auto" in html
    # the phone rules come after the rules they override (the same specificity: order decides)
    assert html.index("@media (max-width:600px)") > html.index("tbody th{background")
    assert "figure svg{max-width:100%;height:auto" in html


# -- a config.json the reader or validator refuses: AL019 with the report written ----------------
def _llama_config(**changes: object) -> dict[str, object]:
    return {**TINY_LLAMA, **changes}


def _key_position(text: str, key: str) -> tuple[int, int]:
    """Where a person sees `"key":` in the file: 1-based line and column of its quote."""
    for number, line in enumerate(text.splitlines(), 1):
        if f'"{key}":' in line:
            return number, line.index(f'"{key}":') + 1
    raise AssertionError(key)


_BAD_CONFIGS = {
    "negative layers": json.dumps(_llama_config(num_hidden_layers=-1), indent=2),
    "300 KB model_type": json.dumps(_llama_config(model_type="\x1b]8;;" * 50_000), indent=2),
    "text_config null": json.dumps(_llama_config(text_config=None), indent=2),
    # the second comma of `"hidden_size": 64,,` on line 3 is where json stops
    "invalid JSON": '{\n  "model_type": "llama",\n  "hidden_size": 64,,\n}\n',
    "not JSON at all": "model_type = llama\n",
    "not an object": "[1, 2]\n",
}
# (line, column) each refusal must be reported at, found by hand from the text above
_WHERE = {
    "negative layers": _key_position(_BAD_CONFIGS["negative layers"], "num_hidden_layers"),
    "300 KB model_type": _key_position(_BAD_CONFIGS["300 KB model_type"], "model_type"),
    "text_config null": _key_position(_BAD_CONFIGS["text_config null"], "text_config"),
    "invalid JSON": (3, len('  "hidden_size": 64,') + 1),
    "not JSON at all": (1, 1),
    "not an object": (1, 1),  # the whole file: the region starts at its first line
}


@pytest.fixture()
def bad_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "models" / "m").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


@pytest.mark.parametrize("case", list(_BAD_CONFIGS))
def test_refused_config_gets_its_report(bad_repo: Path, case: str) -> None:
    from tests.test_formats import assert_github_sarif

    text = _BAD_CONFIGS[case]
    (bad_repo / "models" / "m" / "config.json").write_text(text)
    proc = run(["check", "models/m", "--format", "sarif", "-o", "out.sarif"], bad_repo)
    assert proc.returncode == 1, proc.stderr
    log = json.loads((bad_repo / "out.sarif").read_text())
    assert_github_sarif(log, bad_repo)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "AL019" and result["level"] == "error"
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "models/m/config.json"
    line, column = _WHERE[case]
    assert (physical["region"]["startLine"], physical["region"]["startColumn"]) == (line, column)
    message = result["message"]["text"]
    assert message.startswith("config.json") and len(message) < 300  # never the 300 KB value
    assert "\x1b" not in (bad_repo / "out.sarif").read_text()
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == ["AL019"]


def test_refused_config_in_every_findings_format(bad_repo: Path) -> None:
    (bad_repo / "models" / "m" / "config.json").write_text(_BAD_CONFIGS["negative layers"])
    line, column = _WHERE["negative layers"]
    concise = run(["check", "m"], bad_repo / "models")  # paths from the current directory
    assert concise.returncode == 1
    assert concise.stdout.splitlines() == [
        f"m/config.json:{line}:{column}: AL019 config.json: num_hidden_layers must be a "
        "positive integer (got -1)", "Found 1 finding (1 error)."]
    github = run(["check", "models/m", "--format", "github"], bad_repo)
    assert github.returncode == 1
    assert github.stdout.startswith(
        f"::error file=models/m/config.json,line={line},col={column},title=AL019 config-invalid")
    junit = run(["check", "models/m", "--format", "junit", "-o", "junit.xml"], bad_repo)
    assert junit.returncode == 1
    import xml.etree.ElementTree as ET

    suite = ET.parse(bad_repo / "junit.xml").getroot()
    (case,) = suite.iter("testcase")
    assert case.get("name") == "AL019 config-invalid" and case.find("failure") is not None
    # --fail-on never: the report, exit 0; the whole-report formats keep the one line, exit 2
    assert run(["check", "models/m", "--fail-on", "never"], bad_repo).returncode == 0
    for fmt in ("json", "text"):  # check's JSON is its findings; the JSON report: --report
        proc = run(["check", "models/m", "--format", fmt, "--report", "-o", f"out.{fmt}"],
                   bad_repo)
        assert proc.returncode == 2 and not (bad_repo / f"out.{fmt}").exists()
        assert proc.stderr.strip() == "archlint: config.json: num_hidden_layers must be a " \
            "positive integer (got -1)"


def test_valid_config_has_no_config_finding(bad_repo: Path) -> None:
    (bad_repo / "models" / "m" / "config.json").write_text(json.dumps(_llama_config()))
    proc = run(["check", "models/m", "--format", "sarif"], bad_repo)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["runs"][0]["results"] == []


def test_refused_config_of_a_hub_model_keeps_the_one_line(
        hub_server: object, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A Hub model is not a repo the user checks: its refused config stays exit 2, one line."""
    from archlint.checkpoint import Checkpoint
    from tests.test_cli import run as run_in_process

    config = _llama_config(num_hidden_layers=-1)
    broken = Checkpoint(model_id="org/broken", source="hub", config=config,
                        config_text=json.dumps(config))
    hub_server.add_model("org/broken", broken)  # type: ignore[attr-defined]
    monkeypatch.chdir(tmp_path)
    endpoint = hub_server.endpoint  # type: ignore[attr-defined]
    code, _, err = run_in_process(["check", "org/broken", "--endpoint", endpoint,
                                   "--format", "sarif", "-o", "out.sarif"], capsys, monkeypatch)
    assert code == 2 and not (tmp_path / "out.sarif").exists()
    assert err.count("\n") == 1 and "num_hidden_layers must be a positive integer" in err, err
