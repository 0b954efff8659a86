"""Run the rules over an analysis: select, configure, check, collect findings.

A rule that raises is a bug in that rule, not in the model: the engine turns the exception
into one `AL000 rule-crashed` error finding naming the rule, and the other rules still run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archlint.errors import ArchlintError
from archlint.lint.config import LintConfig
from archlint.lint.finding import Finding, Location, Severity
from archlint.lint.rule import Rule, RuleContext, iter_findings

if TYPE_CHECKING:
    from archlint.api import Analysis

CRASH_CODE = "AL000"
CRASH_NAME = "rule-crashed"

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def run_rules(analysis: Analysis, *, config: LintConfig | None = None,
              rules: list[type[Rule]] | None = None) -> list[Finding]:
    """Every finding of the enabled rules, most severe first, then by code.

    `rules` defaults to the registry (`load_rules()`); `config` to the defaults. Config
    references and options are validated against `rules` first (UsageError, one line).
    """
    if rules is None:
        from archlint.lint.registry import load_rules

        rules = load_rules()
    if config is None:
        config, plan = LintConfig(), _default_plan(rules)
    else:
        config.resolve(rules)
        plan = _plan(config, rules)
    findings: list[Finding] = []
    has_tensors = analysis.checkpoint.tensors is not None
    from archlint.families import config_view  # the spec was read with it: loaded already

    view = config_view(analysis.checkpoint.config or {})  # one per checkpoint, every rule's
    for rule_cls, options, severity, overridden in plan:
        if rule_cls.needs_tensors and not has_tensors:
            continue
        ctx = RuleContext(
            analysis=analysis, rule=rule_cls, options=options, severity=severity,
            severity_overridden=overridden, declared=config.spec, config_view=view)
        try:
            for finding in iter_findings(rule_cls(), ctx):
                if not isinstance(finding, Finding):
                    findings.append(_crash(rule_cls, f"yielded a {type(finding).__name__}, "
                                                     "not a Finding"))
                    break
                if not config.suppressed(rule_cls, finding):
                    findings.append(finding)
        except ArchlintError:
            raise  # the user's input (an unknown GPU, a bad table): exit 2, not a finding
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a crashing rule (even sys.exit) must not hide the others
            detail = str(exc).splitlines()[0] if str(exc) else ""
            findings.append(_crash(rule_cls, f"crashed: {type(exc).__name__}: {detail}"))
    findings.extend(_plugin_failures())
    order = {rule.code: i for i, rule in enumerate(rules)}
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], order.get(f.code, -1), f.code))
    return findings


_Plan = list[tuple[type[Rule], object, Severity, bool]]
#: the default configuration's plan of the last rule list (a scan passes one list for every
#: model): validating each rule's options per model was ~10% of a scan's rule time
_default: tuple[tuple[type[Rule], ...], _Plan] | None = None


def _plan(config: LintConfig, rules: list[type[Rule]]) -> _Plan:
    """The enabled rules in order, each with its options and severity under `config`."""
    out: _Plan = []
    for rule_cls in rules:
        if not config.enabled(rule_cls):
            continue
        override = config.severity_for(rule_cls)
        out.append((rule_cls, config.options_for(rule_cls), override or rule_cls.default_severity,
                    override is not None))
    return out


def _default_plan(rules: list[type[Rule]]) -> _Plan:
    global _default
    known, key = _default, tuple(rules)
    if known is not None and known[0] == key:
        return known[1]
    config = LintConfig()
    config.resolve(rules)
    plan = _plan(config, rules)
    _default = (key, plan)
    return plan


def _crash(rule_cls: type[Rule], what: str) -> Finding:
    return Finding(code=CRASH_CODE, name=CRASH_NAME, severity=Severity.ERROR,
                   message=f"rule {rule_cls.code} ({rule_cls.name}) {what}",
                   message_id="crashed", location=Location(file="config.json"))


def _plugin_failures() -> list[Finding]:
    """One AL000 error per plugin that failed to load: the run did not check what it was asked
    to, so it must not pass (a plugin calling sys.exit(0) at import once made CI green)."""
    from archlint.lint.registry import LOAD_WARNINGS

    return [Finding(code=CRASH_CODE, name=CRASH_NAME, severity=Severity.ERROR, message=message,
                    message_id="plugin-failed", location=Location(file="config.json"))
            for message in LOAD_WARNINGS]


def exit_code(findings: list[Finding], fail_on: Severity | str) -> int:
    """1 when any finding is at least as severe as `fail_on`, else 0 (`never`: always 0)."""
    if isinstance(fail_on, str) and not isinstance(fail_on, Severity):
        if fail_on == "never":
            return 0
        fail_on = Severity(fail_on)
    return 1 if any(f.severity.rank >= fail_on.rank for f in findings) else 0
