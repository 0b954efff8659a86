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
    if config is None:
        config = LintConfig()
    if rules is None:
        from archlint.lint.registry import load_rules

        rules = load_rules()
    config.resolve(rules)
    findings: list[Finding] = []
    has_tensors = analysis.checkpoint.tensors is not None
    for rule_cls in rules:
        if not config.enabled(rule_cls):
            continue
        if rule_cls.needs_tensors and not has_tensors:
            continue
        override = config.severity_for(rule_cls)
        ctx = RuleContext(
            analysis=analysis, rule=rule_cls, options=config.options_for(rule_cls),
            severity=override or rule_cls.default_severity,
            severity_overridden=override is not None, declared=config.spec)
        try:
            findings.extend(iter_findings(rule_cls(), ctx))
        except ArchlintError:
            raise  # the user's input (an unknown GPU, a bad table): exit 2, not a finding
        except Exception as exc:  # a crashing rule must not hide the others' findings
            detail = str(exc).splitlines()[0] if str(exc) else ""
            findings.append(Finding(
                code=CRASH_CODE, name=CRASH_NAME, severity=Severity.ERROR,
                message=f"rule {rule_cls.code} ({rule_cls.name}) crashed: "
                        f"{type(exc).__name__}: {detail}",
                message_id="crashed", location=Location(file="config.json")))
    order = {rule.code: i for i, rule in enumerate(rules)}
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], order.get(f.code, -1), f.code))
    return findings


def exit_code(findings: list[Finding], fail_on: Severity | str) -> int:
    """1 when any finding is at least as severe as `fail_on`, else 0 (`never`: always 0)."""
    if isinstance(fail_on, str) and not isinstance(fail_on, Severity):
        if fail_on == "never":
            return 0
        fail_on = Severity(fail_on)
    return 1 if any(f.severity.rank >= fail_on.rank for f in findings) else 0
