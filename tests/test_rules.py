"""Every built-in rule: its documentation, and its failing and passing examples, each run with
only that rule selected (fixtures/rules/<module>.py, beside rules/<module>.py, states what each
example must produce; fixtures/rules/build.py gathers them)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from archlint.api import analyze_checkpoint
from archlint.lint.config import parse_config
from archlint.lint.engine import run_rules
from archlint.lint.finding import Severity
from archlint.lint.registry import builtin_rules, missing_doc_sections, rule_doc_text
from archlint.lint.rule import Rule

ROOT = Path(__file__).resolve().parents[1]


def _load_build() -> object:
    path = ROOT / "fixtures" / "rules" / "build.py"
    spec = importlib.util.spec_from_file_location("archlint_rule_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build = _load_build()
FIXTURES = build.FIXTURES  # type: ignore[attr-defined]
RULES = builtin_rules()
CASES = [
    pytest.param(code, kind, case, id=f"{code}-{kind}-{case.name}")
    for code, fixtures in FIXTURES.items()
    for kind, cases in (("bad", fixtures.bad), ("good", fixtures.good))
    for case in cases
]


def test_at_least_thirty_rules_with_unique_codes_and_names() -> None:
    assert len(RULES) >= 30
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_is_documented(rule: type[Rule]) -> None:
    assert missing_doc_sections(rule) == [], f"{rule.code} docstring lacks sections"
    assert rule.summary() and not rule.summary().startswith("#")
    assert rule.messages
    text = rule_doc_text(rule)
    assert text.startswith(f"# {rule.code} {rule.name}")
    for message_id in rule.messages:
        assert f"`{message_id}`" in text


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_has_failing_and_passing_fixtures(rule: type[Rule]) -> None:
    fixtures = FIXTURES.get(rule.code)
    assert fixtures is not None, f"{rule.code} has no fixtures"
    assert fixtures.bad, f"{rule.code} has no failing fixture"
    assert fixtures.good, f"{rule.code} has no passing fixture"
    for case in fixtures.bad:
        assert case.expect, f"{rule.code} failing fixture {case.name!r} expects nothing"
        assert set(case.expect) <= set(rule.messages)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_every_message_id_has_a_failing_fixture(rule: type[Rule]) -> None:
    fixtures = FIXTURES.get(rule.code)
    covered = {mid for case in (fixtures.bad if fixtures else []) for mid in case.expect}
    assert set(rule.messages) <= covered, f"{rule.code}: {set(rule.messages) - covered}"


def test_fixtures_name_only_registered_rules() -> None:
    assert set(FIXTURES) <= {r.code for r in RULES}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_examples_sit_beside_their_rule(rule: type[Rule]) -> None:
    """rules/attention.py's examples are in fixtures/rules/attention.py, and so on: one place
    to look, and adding a rule touches its module, its examples' module and its snapshot."""
    assert build.MODULE_OF.get(rule.code) == rule.__module__.rsplit(".", 1)[-1]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("code", "kind", "case"), CASES)
def test_fixture_alone(code: str, kind: str, case: object) -> None:
    analysis = analyze_checkpoint(case.checkpoint())  # type: ignore[attr-defined]
    config = parse_config({"select": [code], **case.config})  # type: ignore[attr-defined]
    findings = run_rules(analysis, config=config, rules=RULES)
    assert {f.code for f in findings} <= {code}
    got = sorted(f.message_id for f in findings)
    assert got == sorted(case.expect), [f.message for f in findings]  # type: ignore[attr-defined]
    for finding in findings:
        assert finding.message and "{" not in finding.message
        rule = next(r for r in RULES if r.code == code)
        assert finding.name == rule.name
        assert isinstance(finding.severity, Severity)


def test_config_findings_carry_pointer_and_line() -> None:
    """A config-key finding names config.json, the JSON pointer, and the key's 1-based line
    in the file as written."""
    case = FIXTURES["AL104"].bad[0]  # head_dim declared wrong
    ckpt = case.checkpoint()
    analysis = analyze_checkpoint(ckpt)
    (finding,) = run_rules(analysis, config=parse_config({"select": ["AL104"]}), rules=RULES)
    assert finding.location.file == "config.json"
    assert finding.location.pointer == "/head_dim"
    lines = ckpt.config_text.splitlines()
    assert lines[finding.location.line - 1].strip().startswith('"head_dim":')


def test_tensor_rules_skip_config_only_checkpoints() -> None:
    config_only = build.config_only(
        build.with_config(  # type: ignore[attr-defined]
            build.LLAMA, num_hidden_layers=80, tie_word_embeddings=True
        )
    )()  # type: ignore[attr-defined]
    analysis = analyze_checkpoint(config_only)
    findings = run_rules(analysis, config=parse_config({"select": ["AL1", "AL4"]}), rules=RULES)
    assert findings == []


def test_real_checkpoints_with_tensor_tables_are_consistent() -> None:
    """As published: DeepSeek-V2-Lite (MLA, vendor config), gpt-oss-20b (fused MXFP4 experts),
    DeepSeek-R1 (FP8 block scales, MTP as layer 61, 92k tensors) and Qwen3-Next (linear
    attention, gated q_proj, 512 experts, `mtp.` block): no config ⇄ weights or dtype finding."""
    from archlint.checkpoint import Checkpoint

    for name in ("deepseek-ai__DeepSeek-V2-Lite", "openai__gpt-oss-20b",
                 "deepseek-ai__DeepSeek-R1", "Qwen__Qwen3-Next-80B-A3B-Instruct"):
        ckpt = Checkpoint.load(ROOT / "fixtures" / "models" / f"{name}.json.gz")
        findings = run_rules(
            analyze_checkpoint(ckpt),
            config=parse_config({"select": ["AL1", "AL401", "AL402", "AL403"]}),
            rules=RULES,
        )
        assert findings == [], (name, [f.message for f in findings])


SMALL_MODELS = sorted(
    p for p in (ROOT / "fixtures" / "models").glob("*.json.gz")
    if "DeepSeek-R1" not in p.name and "Qwen3-Next" not in p.name  # 75k+ tensors: slow
)


@pytest.mark.parametrize("path", SMALL_MODELS, ids=lambda p: p.name.split(".json")[0])
def test_no_rule_crashes_on_bundled_models(path: Path) -> None:
    """Every rule, with every spec field declared, on every bundled model: findings only,
    never a crash (AL000), and every config location resolves to a line."""
    from archlint.checkpoint import Checkpoint

    ckpt = Checkpoint.load(path)
    spec = {"attention": "gqa", "kv_heads": 8, "experts": 8, "experts_per_token": 2,
            "dtype": "bfloat16", "max_kv_bytes_per_token": "128KiB", "context": 32768,
            "max_active_params": "13B", "fits": {"gpu": "H100", "batch": 8}}
    findings = run_rules(analyze_checkpoint(ckpt), config=parse_config({"spec": spec}),
                         rules=RULES)
    assert not [f for f in findings if f.code == "AL000"], [f.message for f in findings]
    for finding in findings:
        if finding.location.pointer and finding.location.file == "config.json":
            assert finding.location.line is not None, finding
