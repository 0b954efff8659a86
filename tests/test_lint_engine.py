"""The lint engine and registry: running rules, severities, exit codes, plugins (entry points),
rule docs, JSON-pointer lines, and the planted-defect repo end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from archlint.api import analyze, analyze_checkpoint
from archlint.checkpoint import Checkpoint
from archlint.errors import ArchlintError, UsageError
from archlint.lint import registry
from archlint.lint.config import LintConfig, load_config
from archlint.lint.engine import exit_code, run_rules
from archlint.lint.finding import Finding, Location, Severity
from archlint.lint.json_lines import line_of, pointer_lines
from archlint.lint.registry import (
    PluginError,
    PluginWarning,
    builtin_rules,
    get_rule,
    load_rules,
    rule_doc_text,
    rule_docs,
)
from archlint.lint.rule import Rule, RuleContext

ROOT = Path(__file__).resolve().parents[1]
PLANTED = ROOT / "fixtures" / "planted"
BUILTIN = builtin_rules()

TINY_CONFIG = """{
  "model_type": "llama",
  "hidden_size": 64,
  "num_hidden_layers": 2,
  "num_attention_heads": 4,
  "num_key_value_heads": 4,
  "intermediate_size": 128,
  "vocab_size": 256,
  "rope_scaling": {
    "rope_type": "yarn",
    "factor": 4.0
  },
  "architectures": ["LlamaForCausalLM", "Other"],
  "torch_dtype": "bfloat16"
}
"""


def tiny_analysis(text: str = TINY_CONFIG) -> Any:
    return analyze_checkpoint(
        Checkpoint(model_id="t/tiny", source="local", config=json.loads(text), config_text=text)
    )


# -- pointer → line ----------------------------------------------------------------------------


def test_pointer_lines_of_a_hand_written_config() -> None:
    lines = pointer_lines(TINY_CONFIG)
    assert lines["/model_type"] == 2
    assert lines["/num_key_value_heads"] == 6
    assert lines["/rope_scaling"] == 9
    assert lines["/rope_scaling/factor"] == 11
    assert lines["/architectures"] == 13
    assert lines["/architectures/1"] == 13
    assert lines["/torch_dtype"] == 14
    assert line_of(TINY_CONFIG, "/nope") is None
    assert line_of(None, "/model_type") is None


def test_pointer_lines_escape_and_tolerate_garbage() -> None:
    text = '{\n "a/b": 1,\n "t~x": {"y": [1,\n 2]}\n}'
    lines = pointer_lines(text)
    assert lines["/a~1b"] == 2
    assert lines["/t~0x/y/1"] == 4
    assert pointer_lines('{\n "a": 1,\n "b": ') == {"/a": 2, "/b": 3}


# -- a test rule pack --------------------------------------------------------------------------


class CountLayers(Rule):
    """Reports the layer count (test rule).

    ## What it does
    Reports. ## Why is this bad?
    """

    code = "XT001"
    name = "count-layers"
    default_severity = Severity.INFO
    messages: ClassVar[dict[str, str]] = {"count": "{n} layers"}

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        yield ctx.finding("count", ctx.at_config("num_hidden_layers"), n=ctx.spec.num_layers)
        yield ctx.finding(
            "count",
            ctx.at_config("num_hidden_layers"),
            severity=Severity.ERROR,
            n=ctx.spec.num_layers,
        )


class Crashes(Rule):
    """Crashes (test rule)."""

    code = "XT002"
    name = "crashes"
    messages: ClassVar[dict[str, str]] = {"x": "x"}

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        raise RuntimeError("boom\nsecond line")


def test_run_rules_locations_and_per_finding_severity() -> None:
    findings = run_rules(tiny_analysis(), rules=[CountLayers])
    assert [f.severity for f in findings] == [Severity.ERROR, Severity.INFO]
    # line 4 of TINY_CONFIG, the key's quote after two spaces of indent: column 3
    assert findings[0].location == Location(
        file="config.json", pointer="/num_hidden_layers", line=4, column=3
    )
    assert findings[0].message == "2 layers" and findings[0].message_id == "count"


def test_config_severity_override_wins_for_every_finding() -> None:
    config = LintConfig(severity={"count-layers": Severity.WARNING})
    findings = run_rules(tiny_analysis(), config=config, rules=[CountLayers])
    assert [f.severity for f in findings] == [Severity.WARNING, Severity.WARNING]


def test_a_crashing_rule_is_reported_and_others_still_run() -> None:
    findings = run_rules(tiny_analysis(), rules=[Crashes, CountLayers])
    codes = [f.code for f in findings]
    assert "AL000" in codes and codes.count("XT001") == 2
    crash = next(f for f in findings if f.code == "AL000")
    assert "XT002" in crash.message and "boom" in crash.message and "\n" not in crash.message


class NeedsGpu(Rule):
    """Asks for an unknown GPU (test rule)."""

    code = "XT003"
    name = "needs-gpu"
    messages: ClassVar[dict[str, str]] = {"x": "x"}

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        from archlint.analysis.hardware import find_gpu

        find_gpu("TPU9")
        return iter(())


def test_usage_errors_from_a_rule_propagate() -> None:
    with pytest.raises(UsageError, match="TPU9"):
        run_rules(tiny_analysis(), rules=[NeedsGpu, CountLayers])


def test_select_ignore_run_only_chosen_rules() -> None:
    analysis = tiny_analysis()
    findings = run_rules(analysis, config=LintConfig(ignore=["XT"]), rules=[CountLayers])
    assert findings == []
    partial = tiny_analysis(
        TINY_CONFIG.replace('"torch_dtype"', '"partial_rotary_factor": 0.5,\n  "torch_dtype"')
    )
    findings = run_rules(partial, config=LintConfig(select=["AL2"]), rules=BUILTIN)
    assert [f.code for f in findings] == ["AL204"]
    assert run_rules(partial, config=LintConfig(select=["AL3"]), rules=BUILTIN) == []
    ignored = LintConfig(select=["AL2"], ignore=["partial-rotary"])
    assert run_rules(partial, config=ignored, rules=BUILTIN) == []


def test_exit_code() -> None:
    info = Finding(code="X", name="x", severity=Severity.INFO, message="m")
    warn = info.model_copy(update={"severity": Severity.WARNING})
    assert exit_code([], Severity.INFO) == 0
    assert exit_code([info], Severity.WARNING) == 0
    assert exit_code([info, warn], Severity.WARNING) == 1
    assert exit_code([warn], Severity.ERROR) == 0
    assert exit_code([warn], "warning") == 1
    assert exit_code([warn], "never") == 0


# -- registry and plugins ----------------------------------------------------------------------


class _Dist:
    def __init__(self, name: str) -> None:
        self.name = name


class _EntryPoint:
    def __init__(self, name: str, value: str, dist: str, target: Any) -> None:
        self.name, self.value, self.dist, self._target = name, value, _Dist(dist), target

    def load(self) -> Any:
        if isinstance(self._target, BaseException):
            raise self._target
        return self._target


def _plugin_rule(code: str, name: str) -> type[Rule]:
    return type(
        f"Rule{code}",
        (Rule,),
        {
            "__doc__": "Plugin rule.",
            "code": code,
            "name": name,
            "messages": {"m": "m"},
            "check": lambda self, ctx: iter(()),
        },
    )


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> list[_EntryPoint]:
    eps: list[_EntryPoint] = [_EntryPoint("builtin", "archlint.rules", "archlint", None)]
    monkeypatch.setattr(registry, "_entry_points", lambda: eps)
    monkeypatch.delenv("ARCHLINT_PLUGINS", raising=False)
    return eps


def test_plugins_are_not_loaded_under_pytest_unless_asked(entry_points: list[_EntryPoint]) -> None:
    entry_points.append(_EntryPoint("x", "xpack", "xpack", _plugin_rule("XP001", "xp-one")))
    assert [r.code for r in load_rules()] == [r.code for r in BUILTIN]
    assert "XP001" in [r.code for r in load_rules(plugins=True)]
    assert "XP001" not in [r.code for r in load_rules(plugins=False)]


def test_plugin_module_with_rules_list_and_distribution_recorded(
    entry_points: list[_EntryPoint],
) -> None:
    module = type("M", (), {})  # stands in for a module object
    import types

    module = types.ModuleType("xpack.rules")
    module.RULES = [_plugin_rule("XP001", "xp-one"), _plugin_rule("XP002", "xp-two")]  # type: ignore[attr-defined]
    entry_points.append(_EntryPoint("x", "xpack.rules", "xpack", module))
    rules = load_rules(plugins=True)
    assert [r.code for r in rules][-2:] == ["XP001", "XP002"]
    assert rules[-1].distribution == "xpack"
    assert get_rule("xp-two", rules) is rules[-1]


def test_duplicate_code_across_packages_names_both(entry_points: list[_EntryPoint]) -> None:
    entry_points.append(_EntryPoint("a", "apack", "apack", _plugin_rule("XP001", "a-rule")))
    entry_points.append(_EntryPoint("b", "bpack", "bpack", _plugin_rule("XP001", "b-rule")))
    with pytest.raises(PluginError) as err:
        load_rules(plugins=True)
    assert "apack" in str(err.value) and "bpack" in str(err.value)


def test_duplicate_name_with_a_builtin_is_an_error(entry_points: list[_EntryPoint]) -> None:
    entry_points.append(
        _EntryPoint("a", "apack", "apack", _plugin_rule("XP001", "layer-count-mismatch"))
    )
    with pytest.raises(PluginError, match=r"archlint.*apack"):
        load_rules(plugins=True)


def test_plugin_that_fails_to_import_is_a_warning(entry_points: list[_EntryPoint]) -> None:
    entry_points.append(_EntryPoint("bad", "badpack", "badpack", ImportError("no numpy")))
    entry_points.append(_EntryPoint("x", "xpack", "xpack", _plugin_rule("XP001", "xp-one")))
    with pytest.warns(PluginWarning, match="badpack"):
        rules = load_rules(plugins=True)
    assert "XP001" in [r.code for r in rules]
    assert any("badpack" in w for w in registry.LOAD_WARNINGS)


def test_only_and_env_select_distributions(
    entry_points: list[_EntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    entry_points.append(_EntryPoint("a", "apack", "a_pack", _plugin_rule("XA001", "a-one")))
    entry_points.append(_EntryPoint("b", "bpack", "bpack", _plugin_rule("XB001", "b-one")))
    codes = [r.code for r in load_rules(plugins=True, only=["a-pack"])]
    assert "XA001" in codes and "XB001" not in codes
    monkeypatch.setenv("ARCHLINT_PLUGINS", "bpack")
    codes = [r.code for r in load_rules(plugins=True)]
    assert "XB001" in codes and "XA001" not in codes
    assert codes[: len(BUILTIN)] == [r.code for r in BUILTIN]  # built-ins always load


@pytest.mark.parametrize(
    ("code", "name", "why"),
    [
        ("AL999", "mine", "reserved"),
        ("X1", "mine", "must match"),
        ("XP001", "Not Kebab", "kebab-case"),
    ],
)
def test_invalid_plugin_rules_are_refused(
    entry_points: list[_EntryPoint], code: str, name: str, why: str
) -> None:
    entry_points.append(_EntryPoint("a", "apack", "apack", _plugin_rule(code, name)))
    with pytest.raises(PluginError, match=why):
        load_rules(plugins=True)
    assert issubclass(PluginError, ArchlintError)


def test_get_rule_by_code_or_name() -> None:
    assert get_rule("AL101", BUILTIN).name == "layer-count-mismatch"
    assert get_rule("layer-count-mismatch", BUILTIN).code == "AL101"
    assert get_rule("al101", BUILTIN).code == "AL101"
    with pytest.raises(UsageError):
        get_rule("AL9999", BUILTIN)


def test_rule_doc_text_and_rule_docs() -> None:
    rule = get_rule("AL201", BUILTIN)
    text = rule_doc_text(rule)
    for heading in (
        "# AL201 mha-at-scale",
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## References",
        "## Options",
        "`min_params`",
        "## Messages",
    ):
        assert heading in text
    docs = rule_docs(BUILTIN)
    assert [d.code for d in docs] == [r.code for r in BUILTIN]
    doc = next(d for d in docs if d.code == "AL201")
    assert doc.name == "mha-at-scale" and doc.default_severity is Severity.WARNING
    assert doc.summary == rule.summary() and "## Why is this bad?" in doc.full_doc


# -- the planted repo, end to end --------------------------------------------------------------


def test_planted_repo_reports_every_planted_defect_and_nothing_else() -> None:
    expected = json.loads((PLANTED / "EXPECTED.json").read_text())
    repo = PLANTED / expected["repo"]
    analysis = analyze(str(repo))
    config = load_config(repo, cwd=repo, rules=BUILTIN)
    findings = run_rules(analysis, config=config, rules=BUILTIN)
    got = sorted((f.code, f.message_id) for f in findings)
    want = sorted((e["code"], e["message_id"]) for e in expected["findings"])
    assert got == want, [f"{f.code} {f.message}" for f in findings]
    by_code = {f.code: f for f in findings}
    # config.json as written by scripts/make_planted_repo.py: num_hidden_layers on line 8.
    assert by_code["AL101"].location.line == 8
    assert by_code["AL101"].location.pointer == "/num_hidden_layers"
    assert by_code["AL011"].location.file == "model.safetensors.index.json"
    assert by_code["AL401"].location.tensor == "model.layers.1.mlp.down_proj.weight"
    assert by_code["AL401"].location.file == "model-00002-of-00002.safetensors"
    assert "-20,608" in by_code["AL112"].message
    assert config.fail_on == "warning"
    assert exit_code(findings, config.fail_on) == 1


def test_planted_repo_is_what_the_script_writes(tmp_path: Path) -> None:
    import importlib.util

    path = ROOT / "scripts" / "make_planted_repo.py"
    spec = importlib.util.spec_from_file_location("make_planted_repo", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    stored = sorted(p.relative_to(PLANTED) for p in PLANTED.rglob("*") if p.is_file())
    assert written == stored
    for rel in written:
        assert (tmp_path / rel).read_bytes() == (PLANTED / rel).read_bytes(), rel
