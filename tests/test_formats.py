"""SARIF, GitHub annotations and JUnit: structure, counts, stable fingerprints, no injection."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archlint.lint.docs import RuleDoc
from archlint.lint.finding import Finding, Location, Severity
from archlint.report.escape import for_plain_text
from archlint.report.findings_formats import (
    artifact_path,
    render_github,
    render_junit,
    render_sarif,
)

CONFIG = '{\n  "hidden_size": 4096,\n  "num_attention_heads": 32,\n  "num_key_value_heads": 8\n}\n'

RULES = [
    RuleDoc(
        code="AL001",
        name="kv-heads-divide",
        default_severity=Severity.ERROR,
        summary="Query heads must be a multiple of KV heads.",
        full_doc=(
            "Query heads must be a multiple of KV heads.\n\n## What it does\n\n"
            "Checks that `num_attention_heads % num_key_value_heads == 0`.\n\n"
            "## Why is this bad?\n\nGQA groups query heads evenly over KV heads.\n"
        ),
        help_uri="https://example.org/rules/AL001",
    ),
    RuleDoc(
        code="AL002",
        name="head-dim-declared",
        default_severity=Severity.WARNING,
        summary="head_dim should be declared.",
        full_doc="head_dim should be declared.",
    ),
    RuleDoc(
        code="AL003",
        name="rope-scaling-known",
        default_severity=Severity.INFO,
        summary="Unknown rope_scaling type.",
        full_doc="Unknown rope_scaling type.",
    ),
]


def finding(
    code: str = "AL001",
    severity: Severity = Severity.ERROR,
    message: str = "32 query heads do not divide over 7 KV heads",
    **loc: Any,
) -> Finding:
    name = {r.code: r.name for r in RULES}.get(code, "some-rule")
    return Finding(
        code=code, name=name, severity=severity, message=message, location=Location(**loc)
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "config.json").write_text(CONFIG)
    (tmp_path / "model.safetensors.index.json").write_text('{"weight_map": {}}\n')
    return tmp_path


def sarif(findings: list[Finding], repo_root: Path | None, **kw: Any) -> dict[str, Any]:
    text = render_sarif(
        findings,
        kw.pop("rules", RULES),
        tool_version="0.1.0",
        repo_root=repo_root,
        model_id="acme/model",
        **kw,
    )
    text.encode("utf-8")  # writable as UTF-8 (no lone surrogates)
    data: dict[str, Any] = json.loads(text)
    return data


def uri_of(result: dict[str, Any]) -> str:
    uri: str = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    return uri


def fingerprints(log: dict[str, Any]) -> list[str]:
    return [r["partialFingerprints"]["primaryLocationLineHash"] for r in log["runs"][0]["results"]]


# -- SARIF -----------------------------------------------------------------------------------------


def assert_github_sarif(log: dict[str, Any], repo_root: Path | None) -> None:
    """The properties GitHub's "SARIF support for code scanning" marks as required, non-empty."""
    assert log["$schema"].startswith("https://")
    assert log["version"] == "2.1.0"
    assert isinstance(log["runs"], list) and log["runs"]
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "archlint"
    assert driver["version"] == "0.1.0"
    # A page that exists or none: the package's Documentation/Repository URL if it declares one
    from archlint.report.findings_formats import information_uri

    uri = information_uri()
    assert driver.get("informationUri") == uri and (uri is None or uri.startswith("https://"))
    rules = driver["rules"]
    assert isinstance(rules, list)
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert rule["id"]
        assert 0 < len(rule["name"]) <= 255
        assert 0 < len(rule["shortDescription"]["text"]) <= 1024
        assert 0 < len(rule["fullDescription"]["text"]) <= 1024
        assert rule["help"]["text"]
        assert rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in {"note", "warning", "error"}
        assert isinstance(rule["properties"]["tags"], list)
        assert all(isinstance(t, str) for t in rule["properties"]["tags"])
    assert isinstance(run["results"], list)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in {"note", "warning", "error"}
        assert result["message"]["text"]
        assert 1 <= len(result["locations"]) <= 10
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert uri and not uri.startswith("/") and "\\" not in uri and ":" not in uri
        assert ".." not in uri.split("/")
        if repo_root is not None:
            assert (repo_root / uri).is_file()
        region = physical.get("region")
        if uri.endswith(".safetensors"):  # binary: the file and the tensor, no text region
            assert region is None
        else:
            assert region["startLine"] >= 1 and region["endLine"] >= region["startLine"]
            assert region["startColumn"] >= 1 and region["endColumn"] > region["startColumn"]
        fp = result["partialFingerprints"]
        assert fp["primaryLocationLineHash"]
        assert all(isinstance(v, str) and v for v in fp.values())


def test_sarif_has_every_github_required_field(repo: Path) -> None:
    findings = [
        finding(file="config.json", pointer="/num_key_value_heads", line=4),
        finding("AL002", Severity.WARNING, "head_dim is not declared", file="config.json"),
        finding("AL003", Severity.INFO, "rope_scaling type 'yarn2' unknown"),
    ]
    log = sarif(findings, repo)
    assert_github_sarif(log, repo)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["AL001", "AL002", "AL003"]
    assert run["properties"]["modelId"] == "acme/model"
    assert len(run["results"]) == 3


def test_sarif_rule_descriptors(repo: Path) -> None:
    rules = sarif([], repo)["runs"][0]["tool"]["driver"]["rules"]
    al001 = rules[0]
    assert al001["name"] == "kv-heads-divide"
    assert al001["shortDescription"]["text"] == "Query heads must be a multiple of KV heads."
    assert al001["fullDescription"]["text"] == "Query heads must be a multiple of KV heads."
    assert "## Why is this bad?" in al001["help"]["markdown"]
    assert al001["helpUri"] == "https://example.org/rules/AL001"
    assert "helpUri" not in rules[1]
    assert [r["defaultConfiguration"]["level"] for r in rules] == ["error", "warning", "note"]


def test_sarif_levels(repo: Path) -> None:
    findings = [
        finding("AL001", Severity.ERROR),
        finding("AL001", Severity.WARNING),
        finding("AL001", Severity.INFO),
    ]
    levels = [r["level"] for r in sarif(findings, repo)["runs"][0]["results"]]
    assert levels == ["error", "warning", "note"]


def test_sarif_no_findings_is_valid(repo: Path) -> None:
    log = sarif([], repo)
    assert_github_sarif(log, repo)
    assert log["runs"][0]["results"] == []


def test_sarif_line_and_region(repo: Path) -> None:
    log = sarif([finding(file="config.json", pointer="/num_key_value_heads", line=4)], repo)
    region = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    line4 = CONFIG.splitlines()[3]
    assert region == {
        "startLine": 4,
        "startColumn": 1,
        "endLine": 4,
        "endColumn": len(line4) + 1,
    }


def test_sarif_unknown_line_points_at_line_one(repo: Path) -> None:
    log = sarif([finding(file="config.json")], repo)
    region = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 1


def test_sarif_uri_is_repo_relative(repo: Path) -> None:
    sub = repo / "models" / "tiny"
    sub.mkdir(parents=True)
    (sub / "config.json").write_text(CONFIG)
    findings = [
        finding(file="model.safetensors.index.json"),  # relative, exists
        finding(file=str(repo / "config.json")),  # absolute inside the repo
        finding(file=None),  # unknown
        finding(file="missing.safetensors"),  # does not exist
        finding(file="../outside.json"),  # outside the repo
        finding(file="/etc/passwd"),  # absolute outside the repo
        finding(file="sub\\..\\config.json"),  # Windows separators
    ]
    uris = [uri_of(r) for r in sarif(findings, repo)["runs"][0]["results"]]
    assert uris == [
        "model.safetensors.index.json",
        "config.json",
        "config.json",
        "config.json",
        "config.json",
        "config.json",
        "config.json",
    ]
    # A model in a subdirectory: paths are relative to the repo, not to the model.
    log = sarif([finding(file="config.json"), finding(file=None)], repo, model_dir=sub)
    assert [uri_of(r) for r in log["runs"][0]["results"]] == [
        "models/tiny/config.json",
        "models/tiny/config.json",
    ]


def test_sarif_uri_is_percent_encoded(repo: Path) -> None:
    (repo / "my model").mkdir()
    (repo / "my model" / "config.json").write_text(CONFIG)
    log = sarif([finding(file="my model/config.json")], repo)
    assert uri_of(log["runs"][0]["results"][0]) == "my%20model/config.json"


def test_sarif_without_repo_root(tmp_path: Path) -> None:
    log = sarif([finding(file="shard/x.safetensors"), finding(file="/abs/x.json")], None)
    assert_github_sarif(log, None)
    uris = [uri_of(r) for r in log["runs"][0]["results"]]
    assert uris == ["shard/x.safetensors", "config.json"]


def test_artifact_path_resolves_symlinks(repo: Path) -> None:
    (repo / "link.json").symlink_to(repo / "config.json")
    assert artifact_path("link.json", repo_root=repo) == "config.json"


def test_sarif_fingerprints_stable_across_runs(repo: Path) -> None:
    findings = [
        finding(file="config.json", pointer="/num_key_value_heads", line=4),
        finding("AL002", Severity.WARNING, "head_dim is not declared", file="config.json"),
    ]
    assert fingerprints(sarif(findings, repo)) == fingerprints(sarif(findings, repo))


def test_sarif_fingerprints_ignore_line_numbers(repo: Path) -> None:
    before = finding(file="config.json", pointer="/num_key_value_heads", line=4)
    after = finding(file="config.json", pointer="/num_key_value_heads", line=2)
    moved = finding(file="config.json", pointer="/num_key_value_heads", line=None)
    spaced = finding(
        file="config.json",
        pointer="/num_key_value_heads",
        line=3,
        message="32 query heads  do not divide\nover 7 KV heads ",
    )
    fps = {fingerprints(sarif([f], repo))[0] for f in (before, after, moved, spaced)}
    assert len(fps) == 1


def test_sarif_fingerprints_differ_for_different_findings(repo: Path) -> None:
    findings = [
        finding(file="config.json", pointer="/num_key_value_heads"),
        finding(file="config.json", pointer="/num_attention_heads"),
        finding("AL002", Severity.ERROR, file="config.json", pointer="/num_key_value_heads"),
        finding(file="config.json", pointer="/num_key_value_heads", message="other"),
        finding(file="model.safetensors.index.json", pointer="/num_key_value_heads"),
        finding(tensor="model.layers.0.self_attn.k_proj.weight"),
        finding(tensor="model.layers.1.self_attn.k_proj.weight"),
        # Two identical findings: still two alerts.
        finding(message="duplicate"),
        finding(message="duplicate"),
    ]
    fps = fingerprints(sarif(findings, repo))
    assert len(set(fps)) == len(findings)
    per_key = {
        r["partialFingerprints"]["archlint/v1"] for r in sarif(findings, repo)["runs"][0]["results"]
    }
    assert len(per_key) == len(findings)


def test_sarif_unknown_rule_gets_a_descriptor(repo: Path) -> None:
    log = sarif([finding("XX999", Severity.WARNING, "from a plugin")], repo)
    assert_github_sarif(log, repo)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    result = log["runs"][0]["results"][0]
    assert rules[result["ruleIndex"]]["id"] == "XX999"
    assert rules[result["ruleIndex"]]["defaultConfiguration"]["level"] == "warning"


def test_sarif_hostile_text_is_cleaned(repo: Path) -> None:
    hostile = "\x1b[2J\x1b]8;;https://evil\x1b\\x\x1b]8;;\x1b\\ \u202egnp.exe \ud800\x00 ]]>"
    log = sarif(
        [finding(message=hostile, pointer=hostile, tensor=hostile, file=hostile)],
        repo,
        rules=[*RULES, RuleDoc("AL004", hostile, Severity.ERROR, hostile, hostile)],
    )
    assert_github_sarif(log, repo)
    text = json.dumps(log, ensure_ascii=False)
    for bad in ("\x1b", "\u202e", "\ud800", "\x00"):
        assert bad not in text
    assert log["runs"][0]["results"][0]["message"]["text"] == for_plain_text(hostile).strip()


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["AL001", "AL002", "AL003", "ZZ000"]),
            st.sampled_from(list(Severity)),
            st.text(max_size=30),
            st.one_of(st.none(), st.text(max_size=10)),
            st.one_of(st.none(), st.integers(min_value=-3, max_value=50)),
        ),
        max_size=8,
    )
)
def test_sarif_always_valid_for_github(repo: Path, rows: list[tuple[Any, ...]]) -> None:
    findings = [
        finding(code, sev, msg, file=file, line=line) for code, sev, msg, file, line in rows
    ]
    log = sarif(findings, repo)
    assert_github_sarif(log, repo)
    assert len(set(fingerprints(log))) == len(findings)


# -- GitHub annotations ----------------------------------------------------------------------------

_CODES = {"25": "%", "0D": "\r", "0A": "\n", "3A": ":", "2C": ","}


def _unescape(s: str) -> str:
    return re.sub(r"%(25|0D|0A|3A|2C)", lambda m: _CODES[m.group(1)], s)


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Parse one line the way the Actions runner does (ActionCommand.TryParseV2)."""
    assert line.startswith("::")
    end = line.index("::", 2)
    info, message = line[2:end], line[end + 2 :]
    command, _, props_text = info.partition(" ")
    props: dict[str, str] = {}
    for prop in filter(None, props_text.split(",")):
        key, _, value = prop.partition("=")
        assert key not in props
        props[key] = _unescape(value)
    return command, props, _unescape(message)


def test_github_one_line_per_finding(repo: Path) -> None:
    findings = [
        finding(file="config.json", pointer="/num_key_value_heads", line=4),
        finding("AL002", Severity.WARNING, "head_dim is not declared", file="config.json"),
        finding("AL003", Severity.INFO, "rope_scaling type unknown"),
    ]
    out = render_github(findings, model_id="acme/model", repo_root=repo)
    lines = out.splitlines()
    assert len(lines) == 3 and out.endswith("\n")
    assert lines[0] == (
        "::error file=config.json,line=4,title=AL001 kv-heads-divide [acme/model]"
        "::32 query heads do not divide over 7 KV heads (at /num_key_value_heads)"
    )
    assert lines[1].startswith("::warning file=config.json,title=AL002 head-dim-declared")
    assert lines[2].startswith("::notice file=config.json,title=")


def test_github_no_findings_is_empty() -> None:
    assert render_github([], model_id="m") == ""


def test_github_injection_is_neutralised() -> None:
    evil = "x\r::error::pwned\n::set-env name=PATH::/tmp\r\n%0A::add-mask::y"
    findings = [
        finding(message=evil, file="a,title=z:b.json", pointer=evil),
        finding("AL002", Severity.WARNING, evil, tensor="t,line=1"),
    ]
    out = render_github(findings, model_id="evil,file=x::y\nz")
    lines = out.split("\n")
    assert lines[-1] == "" and len(lines) == 3
    for line in lines[:-1]:
        assert "\r" not in line
        command, props, message = parse_command(line)
        assert command in {"error", "warning"}
        assert set(props) <= {"file", "line", "title"}
    _, props, message = parse_command(lines[0])
    assert props["file"] == "a,title=z:b.json"
    assert props["title"] == "AL001 kv-heads-divide [evil,file=x::y\nz]"
    assert message.startswith("x\r::error::pwned\n::set-env")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(Severity)),
            st.text(max_size=40),
            st.one_of(st.none(), st.text(max_size=15)),
            st.one_of(st.none(), st.integers(min_value=-2, max_value=99)),
        ),
        max_size=6,
    ),
    st.text(max_size=20),
)
def test_github_every_finding_is_exactly_one_command(
    rows: list[tuple[Any, ...]], model_id: str
) -> None:
    findings = [finding("AL001", sev, msg, file=f, line=ln) for sev, msg, f, ln in rows]
    out = render_github(findings, model_id=model_id)
    assert "\r" not in out
    lines = out.split("\n")
    assert lines[-1] == "" and len(lines) == len(findings) + 1
    assert len(out.splitlines()) == len(findings)
    expected = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    for line, f in zip(lines[:-1], findings, strict=True):
        command, props, _ = parse_command(line)
        assert command == expected[f.severity]
        assert set(props) <= {"file", "line", "title"} and "file" in props and "title" in props
        if "line" in props:
            assert int(props["line"]) >= 1


# -- JUnit -----------------------------------------------------------------------------------------


def junit(findings: list[Finding], model_id: str = "acme/model") -> ET.Element:
    text = render_junit(findings, RULES, model_id=model_id)
    return ET.fromstring(text.encode("utf-8"))


def suite_of(root: ET.Element) -> ET.Element:
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    return suite


def test_junit_counts_and_cases() -> None:
    findings = [
        finding("AL001", Severity.ERROR, "first", file="config.json", line=4),
        finding("AL001", Severity.WARNING, "second", pointer="/x"),
        finding("AL003", Severity.INFO, "just info"),
    ]
    root = junit(findings)
    suite = suite_of(root)
    for element in (root, suite):
        assert element.get("tests") == "3"
        assert element.get("failures") == "1"
        assert element.get("errors") == "0"
        assert element.get("skipped") == "0"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "AL001 kv-heads-divide",
        "AL002 head-dim-declared",
        "AL003 rope-scaling-known",
    ]
    assert {c.get("classname") for c in cases} == {"acme/model"}
    failures = cases[0].findall("failure")
    assert len(failures) == 1
    assert failures[0].get("type") == "error"
    body = failures[0].text or ""
    assert "first" in body and "second" in body and "config.json:4" in body
    assert cases[1].find("failure") is None and list(cases[1]) == []
    assert cases[2].find("failure") is None
    assert "just info" in (cases[2].findtext("system-out") or "")


def test_junit_all_clean() -> None:
    suite = suite_of(junit([]))
    assert suite.get("tests") == "3" and suite.get("failures") == "0"
    assert all(c.find("failure") is None for c in suite.iter("testcase"))


def test_junit_unknown_code_gets_its_own_case() -> None:
    suite = suite_of(junit([finding("XX999", Severity.WARNING, "plugin says")]))
    assert suite.get("tests") == "4" and suite.get("failures") == "1"
    assert suite.findall("testcase")[-1].get("name") == "XX999 some-rule"


def test_junit_hostile_text_is_valid_xml() -> None:
    evil = 'a]]><x y="1">&amp;\x00\x1b[2J\ud800\ufffe\u202e</testsuite>'
    root = junit([finding(message=evil, file=evil, pointer=evil, tensor=evil)], model_id=evil)
    suite = suite_of(root)
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    case = suite.findall("testcase")[0]
    assert case.get("classname") == " ".join(for_plain_text(evil).split()).replace("\ufffe", "")
    assert evil.split("\x00")[0] in (case.findtext("failure") or "")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["AL001", "AL002", "AL003", "ZZ000"]),
            st.sampled_from(list(Severity)),
            st.text(max_size=30),
        ),
        max_size=8,
    ),
    st.text(max_size=20),
)
def test_junit_always_parses_with_right_counts(rows: list[tuple[Any, ...]], model_id: str) -> None:
    findings = [finding(code, sev, msg) for code, sev, msg in rows]
    suite = suite_of(junit(findings, model_id=model_id))
    codes = ["AL001", "AL002", "AL003"] + (["ZZ000"] if any(r[0] == "ZZ000" for r in rows) else [])
    failing = {c for c, sev, _ in rows if sev in (Severity.ERROR, Severity.WARNING)}
    cases = suite.findall("testcase")
    assert len(cases) == len(codes) == int(suite.get("tests") or -1)
    assert int(suite.get("failures") or -1) == len(failing)
    assert sum(1 for c in cases if c.find("failure") is not None) == len(failing)
