"""Findings for CI: SARIF 2.1.0 (GitHub code scanning), GitHub workflow annotations, JUnit XML.

Each renderer takes findings (and, where the format describes rules, :class:`RuleDoc` s) and returns
the whole document as a string; the caller writes it to stdout or ``--output``. Everything that came
from a model repo (messages, pointers, tensor names, file names, the model id) is untrusted and goes
through :mod:`archlint.report.escape` for its format.

Paths. ``Location.file`` is relative to the model directory (``model_dir``, by default the repo
root) or absolute. SARIF and annotations need a path relative to the repository root with forward
slashes that names a file that exists: a location that cannot be resolved to one (no file, a file
outside the repo, a file that is not there) falls back to the model's ``config.json``.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from archlint.lint.docs import RuleDoc
from archlint.lint.finding import Finding, Severity
from archlint.report.escape import (
    for_github_message,
    for_github_property,
    for_plain_text,
    for_xml,
)

if TYPE_CHECKING:
    from archlint.report.document import Report
    from archlint.report.reporters import RenderContext

__all__ = ["RuleDoc", "artifact_path", "render_github", "render_github_report", "render_junit",
           "render_junit_report", "render_sarif", "render_sarif_report"]

FALLBACK_FILE = "config.json"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
def information_uri() -> str | None:
    """Where code scanning links the tool name: the installed package's ``Documentation`` or
    ``Repository`` Project-URL (pyproject ``[project.urls]``); None (the field is left out)
    rather than a page that does not exist."""
    from importlib import metadata

    try:
        urls = metadata.metadata("archlint").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    found = dict(u.split(", ", 1) for u in urls if ", " in u)
    return found.get("Documentation") or found.get("Repository")
# GitHub truncates / limits these reportingDescriptor fields (SARIF support for code scanning).
_MAX_NAME = 255
_MAX_DESCRIPTION = 1024
# Files larger than this are not read to find a line's length (a safetensors shard is gigabytes).
_MAX_TEXT_FILE_BYTES = 16 * 1024 * 1024
# Version of the fingerprint recipe; bump it if the recipe changes, so old and new never collide.
_FINGERPRINT_KEY = "archlint/v1"

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
# GitHub's problem.severity vocabulary for non-security rules.
_PROBLEM_SEVERITY = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "recommendation",
}


# --------------------------------------------------------------------------------------------------
# Paths


def _is_absolute(name: str) -> bool:
    return PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute()


def _resolve(name: str | None, *, repo_root: Path | None, model_dir: Path | None) -> str | None:
    """``name`` as a repo-relative POSIX path of an existing file, or None."""
    if not name or "\x00" in name:
        return None
    name = name.replace("\\", "/")
    if repo_root is None:
        # Nothing to check against: accept a clean relative path, joined onto model_dir if given.
        if _is_absolute(name):
            return None
        rel = posixpath.normpath(name)
        if model_dir is not None:
            rel = posixpath.normpath(posixpath.join(model_dir.as_posix(), rel))
        if rel == ".." or rel.startswith("../") or _is_absolute(rel) or rel == ".":
            return None
        return rel
    root = repo_root.resolve()
    base = (model_dir if model_dir is not None else repo_root).resolve()
    try:
        # resolve(): symlinks are reported as their target (code scanning cannot show a symlink).
        real = (Path(name) if _is_absolute(name) else base / name).resolve(strict=True)
        if not real.is_file():
            return None
        return real.relative_to(root).as_posix()
    except (OSError, ValueError, RuntimeError):
        return None


def artifact_path(
    file: str | None, *, repo_root: Path | None = None, model_dir: Path | None = None
) -> str:
    """The repo-relative, forward-slash path a finding is reported against.

    ``file`` (relative to ``model_dir``, default the repo root, or absolute) when it resolves to an
    existing file inside ``repo_root``; otherwise the model's ``config.json``. Without a
    ``repo_root`` nothing can be checked on disk and any clean relative path is accepted.
    """
    for candidate in (file, FALLBACK_FILE):
        rel = _resolve(candidate, repo_root=repo_root, model_dir=model_dir)
        if rel is not None:
            return rel
    return FALLBACK_FILE


def _line_length(path: Path, line: int) -> int | None:
    """Length in code points of 1-based ``line`` of a small UTF-8 text file, else None."""
    try:
        if path.stat().st_size > _MAX_TEXT_FILE_BYTES:
            return None
        lines = path.read_bytes().decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return len(lines[line - 1]) if 1 <= line <= len(lines) else None


# --------------------------------------------------------------------------------------------------
# SARIF


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_HEADING = re.compile(r"^\s*#")


def _first_paragraph(markdown: str) -> str:
    """The first paragraph of a Markdown text that is not a heading, joined onto one line."""
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip() and not _HEADING.match(ln)]
        if lines:
            return " ".join(lines)
    return ""


def _rule_descriptor(rule: RuleDoc) -> dict[str, Any]:
    name = for_plain_text(rule.name).strip() or rule.code
    summary = for_plain_text(rule.summary).strip() or name
    doc = for_plain_text(rule.full_doc).strip()
    full = _first_paragraph(doc) or summary
    tags = ["archlint", *(t for t in dict.fromkeys(rule.tags) if t != "archlint")]
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": _truncate(name, _MAX_NAME),
        "shortDescription": {"text": _truncate(summary, _MAX_DESCRIPTION)},
        "fullDescription": {"text": _truncate(full, _MAX_DESCRIPTION)},
        "help": {"text": doc or summary, "markdown": doc or summary},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.default_severity]},
        "properties": {
            "tags": tags,
            "problem.severity": _PROBLEM_SEVERITY[rule.default_severity],
        },
    }
    if rule.help_uri:
        descriptor["helpUri"] = rule.help_uri
    return descriptor


def _normalize_message(message: str) -> str:
    return " ".join(for_plain_text(message).split())


def _fingerprint_base(finding: Finding, uri_path: str) -> str:
    """Stable identity of a finding: rule, file, pointer/tensor, message; never the line."""
    parts = (
        finding.code,
        uri_path,
        finding.location.pointer or "",
        finding.location.tensor or "",
        _normalize_message(finding.message),
    )
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


#: Files that are not text: a finding in one names its tensor and has no line/column region.
BINARY_SUFFIXES = (".safetensors", ".gguf", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")


def is_binary(name: str) -> bool:
    return name.lower().endswith(BINARY_SUFFIXES)


def _region(line: int | None, column: int | None, path: Path | None) -> dict[str, int]:
    # GitHub lists startLine/startColumn/endLine/endColumn as required; a finding without a line
    # (a file-level finding) points at line 1. The region runs from the key's column to the end
    # of the line when the file can be read, else over one character.
    start = line if line is not None and line >= 1 else 1
    first = column if column is not None and column >= 1 and line is not None else 1
    length = _line_length(path, start) if path is not None else None
    return {
        "startLine": start,
        "startColumn": first,
        "endLine": start,
        "endColumn": max(length + 1, first + 1) if length is not None else first + 1,
    }


def render_sarif(
    findings: Sequence[Finding],
    rules: Sequence[RuleDoc],
    *,
    tool_version: str,
    repo_root: Path | None,
    model_id: str,
    model_dir: Path | None = None,
) -> str:
    """A SARIF 2.1.0 log with one run, in the subset GitHub code scanning reads.

    ``rules`` become ``tool.driver.rules`` in their order; a finding whose code is not among them
    gets a descriptor made from the finding, so every result has a valid ``ruleIndex``.
    ``partialFingerprints`` hash the rule, the file, the pointer/tensor and the normalized message
    (no line number), so an alert survives edits that move lines; identical findings are told
    apart by an occurrence counter, as CodeQL does.
    """
    descriptors = [_rule_descriptor(r) for r in rules]
    index: dict[str, int] = {}
    for i, rule in enumerate(rules):
        index.setdefault(rule.code, i)
    for finding in findings:
        if finding.code not in index:
            index[finding.code] = len(descriptors)
            descriptors.append(
                _rule_descriptor(
                    RuleDoc(
                        code=finding.code,
                        name=finding.name,
                        default_severity=finding.severity,
                        summary=finding.name,
                        full_doc="",
                    )
                )
            )

    root = repo_root.resolve() if repo_root is not None else None
    seen: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for finding in findings:
        loc = finding.location
        rel = artifact_path(loc.file, repo_root=repo_root, model_dir=model_dir)
        base = _fingerprint_base(finding, rel)
        seen[base] = seen.get(base, 0) + 1
        fingerprint = f"{base}:{seen[base]}"
        message = for_plain_text(finding.message).strip() or f"{finding.code} {finding.name}"
        physical: dict[str, Any] = {"artifactLocation": {"uri": quote(rel, safe="/")}}
        if not is_binary(rel):  # a shard is bytes: the location is the file, the tensor says where
            physical["region"] = _region(loc.line, loc.column,
                                         root / rel if root is not None else None)
        location: dict[str, Any] = {"physicalLocation": physical}
        where = _logical_description(finding)
        if where:
            location["message"] = {"text": where}
        properties: dict[str, Any] = {"messageId": for_plain_text(finding.message_id)}
        if loc.pointer is not None:
            properties["pointer"] = for_plain_text(loc.pointer)
        if loc.tensor is not None:
            properties["tensor"] = for_plain_text(loc.tensor)
        results.append(
            {
                "ruleId": finding.code,
                "ruleIndex": index[finding.code],
                "level": _SARIF_LEVEL[finding.severity],
                "message": {"text": message},
                "locations": [location],
                "partialFingerprints": {
                    _FINGERPRINT_KEY: fingerprint,
                    # The one key code scanning matches on; ours is content-based, not line-based.
                    "primaryLocationLineHash": fingerprint,
                },
                "properties": properties,
            }
        )

    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "archlint",
                        **({"informationUri": uri} if (uri := information_uri()) else {}),
                        "version": for_plain_text(tool_version),
                        "rules": descriptors,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {"modelId": for_plain_text(model_id)},
            }
        ],
    }
    from archlint.report.strict_json import dumps

    return dumps(log, indent=2, ensure_ascii=False) + "\n"


def _logical_description(finding: Finding) -> str:
    parts = []
    if finding.location.pointer is not None:
        parts.append(f"at {for_plain_text(finding.location.pointer) or '/'}")
    if finding.location.tensor is not None:
        parts.append(f"tensor {for_plain_text(finding.location.tensor)}")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------------
# GitHub workflow commands


def render_github(
    findings: Iterable[Finding],
    *,
    model_id: str,
    repo_root: Path | None = None,
    model_dir: Path | None = None,
) -> str:
    """One workflow command per finding: ``::error file=F,line=N,title=T::message``.

    error -> ``::error``, warning -> ``::warning``, info -> ``::notice``. ``line`` is given only
    when known. Every property and the message are escaped, so each finding is exactly one line
    and no text from the model can start another command.
    """
    lines = []
    for finding in findings:
        loc = finding.location
        path = artifact_path(loc.file, repo_root=repo_root, model_dir=model_dir)
        props = [f"file={for_github_property(path)}"]
        if loc.line is not None and loc.line >= 1:
            props.append(f"line={loc.line}")
            if loc.column is not None and loc.column >= 1:
                props.append(f"col={loc.column}")
        title = f"{finding.code} {finding.name} [{model_id}]"
        props.append(f"title={for_github_property(title)}")
        message = finding.message
        where = _logical_description(finding)
        if where:
            message = f"{message} ({where})"
        command = _GITHUB_COMMAND[finding.severity]
        lines.append(f"::{command} {','.join(props)}::{for_github_message(message)}")
    return "".join(line + "\n" for line in lines)


# --------------------------------------------------------------------------------------------------
# JUnit XML


def _xml_text(s: str) -> str:
    return for_xml(for_plain_text(s))


def _xml_attr(s: str) -> str:
    # Attribute values are whitespace-normalized by parsers; keep them on one line explicitly.
    return for_xml(" ".join(for_plain_text(s).split()))


def _finding_line(finding: Finding, repo_root: Path | None = None,
                  model_dir: Path | None = None) -> str:
    loc = finding.location
    where = artifact_path(loc.file, repo_root=repo_root, model_dir=model_dir)
    if loc.line is not None:
        where += f":{loc.line}"
    extra = _logical_description(finding)
    if extra:
        where += f" ({extra})"
    return f"[{finding.severity.value}] {where}: {finding.message}"


def render_junit(findings: Sequence[Finding], rules: Sequence[RuleDoc], *, model_id: str,
                 repo_root: Path | None = None, model_dir: Path | None = None) -> str:
    """A JUnit XML report: one ``<testcase>`` per selected rule, ``classname`` = the model id.

    A rule with error or warning findings fails with one ``<failure>`` listing all of them; a rule
    with none passes (its info findings, if any, go to ``<system-out>``). Findings of a code that is
    not among ``rules`` get a testcase of their own, so nothing is dropped.
    """
    by_code: dict[str, list[Finding]] = {}
    for finding in findings:
        by_code.setdefault(finding.code, []).append(finding)

    cases: list[tuple[str, str, list[Finding]]] = []  # (code, name, findings)
    listed: set[str] = set()
    for rule in rules:
        if rule.code not in listed:
            listed.add(rule.code)
            cases.append((rule.code, rule.name, by_code.get(rule.code, [])))
    for code, group in by_code.items():
        if code not in listed:
            listed.add(code)
            cases.append((code, group[0].name, group))

    body: list[str] = []
    failures = 0
    for code, name, group in cases:
        failing = [f for f in group if f.severity in (Severity.ERROR, Severity.WARNING)]
        passing = [f for f in group if f.severity not in (Severity.ERROR, Severity.WARNING)]
        head = (
            f'    <testcase classname="{_xml_attr(model_id)}" '
            f'name="{_xml_attr(f"{code} {name}")}" time="0"'
        )
        if not group:
            body.append(head + "/>")
            continue
        body.append(head + ">")
        if failing:
            failures += 1
            worst = max(failing, key=lambda f: f.severity.rank)
            summary = f"{len(failing)} finding(s); first: {failing[0].message}"
            text = "\n".join(_finding_line(f, repo_root, model_dir) for f in failing)
            body.append(
                f'      <failure message="{_xml_attr(summary)}" '
                f'type="{worst.severity.value}">{_xml_text(text)}</failure>'
            )
        if passing:
            text = "\n".join(_finding_line(f, repo_root, model_dir) for f in passing)
            body.append(f"      <system-out>{_xml_text(text)}</system-out>")
        body.append("    </testcase>")

    counts = f'tests="{len(cases)}" failures="{failures}" errors="0" skipped="0" time="0"'
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<testsuites name="archlint" {counts}>',
            f'  <testsuite name="archlint: {_xml_attr(model_id)}" {counts}>',
            *body,
            "  </testsuite>",
            "</testsuites>",
            "",
        ]
    )


# --------------------------------------------------------------------------------------------------
# The three as report formats: render(doc, context) -> str


def render_sarif_report(doc: Report, context: RenderContext) -> str:
    """``--format sarif``."""
    return render_sarif(doc.findings, context.rules, tool_version=context.tool_version,
                        repo_root=context.repo_root, model_id=doc.model.id,
                        model_dir=context.model_dir)


def render_github_report(doc: Report, context: RenderContext) -> str:
    """``--format github``."""
    return render_github(doc.findings, model_id=doc.model.id, repo_root=context.repo_root,
                         model_dir=context.model_dir)


def render_junit_report(doc: Report, context: RenderContext) -> str:
    """``--format junit``."""
    return render_junit(doc.findings, context.rules, model_id=doc.model.id,
                        repo_root=context.repo_root, model_dir=context.model_dir)
