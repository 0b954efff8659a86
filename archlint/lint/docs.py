"""Rule documentation: the docstring sections, the Markdown page `archlint rule CODE` prints,
and :class:`RuleDoc`, what a report format says about a rule (SARIF rule descriptors, JUnit).

It lives with the rules, not with the reports: the formats in :mod:`archlint.report` take
RuleDocs; lint never imports report.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from archlint.lint.finding import Severity
from archlint.lint.rule import DOC_SECTIONS, Rule

__all__ = ["RuleDoc", "missing_doc_sections", "rule_doc_text", "rule_docs", "rule_docstring",
           "rule_markdown"]


@dataclass(frozen=True)
class RuleDoc:
    """What a report says about one rule; the rules engine builds these from rule classes.

    ``summary`` is the first line of the rule's docstring, ``full_doc`` the whole docstring as
    Markdown (*What it does / Why is this bad? / Example*).
    """

    code: str
    name: str
    default_severity: Severity
    summary: str
    full_doc: str
    help_uri: str | None = None
    tags: tuple[str, ...] = field(default=())


def rule_docstring(rule: type[Rule]) -> str:
    return textwrap.dedent("\n".join((rule.__doc__ or "").splitlines()[1:])).strip() \
        if rule.__doc__ else ""


def missing_doc_sections(rule: type[Rule]) -> list[str]:
    doc = rule.__doc__ or ""
    return [s for s in DOC_SECTIONS if f"## {s}" not in doc]


def _option_fields(options: type) -> list[tuple[str, Any, str | None]]:
    """(name, default, description) of each option: a record dataclass's fields (description
    in their metadata) or a pydantic model's (plugins)."""
    if dataclasses.is_dataclass(options):
        return [(f.name, f.default_factory() if f.default_factory is not dataclasses.MISSING
                 else f.default, f.metadata.get("description"))
                for f in dataclasses.fields(options)]
    return [(name, info.get_default(call_default_factory=True), info.description)
            for name, info in options.model_fields.items()]  # type: ignore[attr-defined]


def _options_text(rule: type[Rule]) -> str:
    fields = _option_fields(rule.Options)
    if not fields:
        return ""
    lines = ["## Options", ""]
    for name, default, description in fields:
        text = f"- `{name}` (default `{default!r}`)"
        if description:
            text += f": {description}"
        lines.append(text)
    return "\n".join(lines)


def rule_markdown(rule: type[Rule]) -> str:
    """The rule's full documentation as Markdown: summary, docstring sections, options."""
    parts = [rule.summary(), "", rule_docstring(rule)]
    options = _options_text(rule)
    if options:
        parts += ["", options]
    return "\n".join(parts).strip() + "\n"


def rule_doc_text(rule: type[Rule]) -> str:
    """What `archlint rule AL101` prints."""
    head = (f"# {rule.code} {rule.name}\n\n"
            f"Default severity: {rule.default_severity.value}. "
            f"From: {rule.distribution}.\n\n")
    messages = "\n## Messages\n\n" + "\n".join(
        f"- `{mid}`: {text}" for mid, text in rule.messages.items())
    return head + rule_markdown(rule) + messages + "\n"


def rule_docs(rules: Iterable[type[Rule]]) -> list[RuleDoc]:
    """RuleDocs for the report formatters (SARIF rule descriptors, JUnit)."""
    return [RuleDoc(code=r.code, name=r.name, default_severity=r.default_severity,
                    summary=r.summary(), full_doc=rule_markdown(r), help_uri=r.help_uri,
                    tags=tuple(r.tags))
            for r in rules]
