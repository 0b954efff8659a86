"""Findings one per line, as ruff prints them: ``path:line:col: CODE message``, then a summary.

What ``archlint check`` prints by default (a pre-commit hook, a terminal): paths are relative to
the current directory when the model is local (``../models/x/config.json``), ``MODEL/FILE`` when
it is not; a finding without a known line names only its file (a binary shard: the tensor is in
the message). ``--statistics`` prints one line per rule with its count instead.

``archlint check --format json`` is the same list as JSON (:func:`render_json`, as ruff's
``--output-format json``): each finding as the full report's ``findings`` have it, plus the
``filename`` printed here; ``check --format json --report`` is the whole report.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from archlint.lint.finding import Finding
from archlint.report.document import Report
from archlint.report.reporters import RenderContext

__all__ = ["finding_path", "render", "render_json"]

_STYLE = {"error": "\x1b[31m", "warning": "\x1b[33m", "info": "\x1b[34m"}
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"


def finding_path(finding: Finding, doc: Report, context: RenderContext) -> str:
    """Where a person finds the finding, as a path they can open from the current directory."""
    name = finding.location.file or "config.json"
    if context.model_dir is None:
        return f"{doc.model.id}/{name}"
    base = context.model_dir if context.model_dir.is_dir() else context.model_dir.parent
    cwd = context.cwd or Path.cwd()
    try:
        return Path(os.path.relpath(base / name, cwd)).as_posix()
    except ValueError:  # another drive on Windows
        return (base / name).as_posix()


def _where(finding: Finding, doc: Report, context: RenderContext) -> str:
    path = finding_path(finding, doc, context)
    loc = finding.location
    if loc.line:
        return f"{path}:{loc.line}:{loc.column or 1}:"
    return f"{path}:"


def _summary(findings: list[Finding]) -> str:
    if not findings:
        return "All checks passed!"
    counts = Counter(f.severity.value for f in findings)
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}"
             for s in ("error", "warning", "info") if counts[s]]
    noun = "finding" if len(findings) == 1 else "findings"
    return f"Found {len(findings)} {noun} ({', '.join(parts)})."


def _statistics(findings: list[Finding]) -> list[str]:
    counts = Counter((f.code, f.name) for f in findings)
    width = max((len(str(n)) for n in counts.values()), default=1)
    return [f"{n:>{width}}  {code}  {name}" for (code, name), n in
            sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def render(doc: Report, context: RenderContext) -> str:
    """``--format concise`` (``archlint check``'s default)."""
    findings = list(doc.findings)
    if context.statistics:
        lines = _statistics(findings)
    else:
        lines = []
        for f in findings:
            code = f"{_BOLD}{_STYLE[f.severity.value]}{f.code}{_RESET}" if context.color else f.code
            lines.append(f"{_where(f, doc, context)} {code} {f.message}")
    lines.append(_summary(findings))
    return "\n".join(lines) + "\n"


def render_json(doc: Report, context: RenderContext) -> str:
    """``archlint check --format json``: the findings alone, a JSON array (with
    ``--statistics``: ``{"code", "name", "count"}`` per rule, most frequent first)."""
    findings = list(doc.findings)
    if context.statistics:
        counts = Counter((f.code, f.name) for f in findings)
        rows: list[dict[str, object]] = [
            {"code": code, "name": name, "count": n}
            for (code, name), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    else:
        rows = [{**f.model_dump(mode="json"), "filename": finding_path(f, doc, context)}
                for f in findings]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
