"""Report formats behind one interface: ``render(doc, context) -> str``, registered by name.

A format is a function of the report document (:class:`archlint.report.document.Report`) and a
:class:`RenderContext` (the rules' docs, where the repository is, colour and width). The
built-in formats are named here and imported only when used; a package adds one through the
``archlint.reporters`` entry-point group (``name = "package.module:render"``), and
``--format`` offers every registered name. Whatever a format returns, no line of it may start a
GitHub workflow command unless the format is ``github`` (whose lines are exactly that).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archlint import __version__
from archlint.errors import UsageError

if TYPE_CHECKING:
    from archlint.lint.docs import RuleDoc
    from archlint.report.document import Report

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "RenderContext", "Renderer", "get", "names", "render"]

ENTRY_POINT_GROUP = "archlint.reporters"


@dataclass(frozen=True)
class RenderContext:
    """What a format needs besides the document.

    ``rules``: the docs of the rules that ran (SARIF rule descriptors, JUnit test cases).
    ``repo_root``: the repository the report's paths are relative to; ``model_dir``: the local
    model directory its findings' files are relative to (None for a remote model).
    ``color``: whether ANSI styles may be written; ``width``: columns for formats that lay out
    text (None: the format's default). ``cwd``: where paths printed for a person are relative
    to (the concise format); ``statistics``: counts per rule instead of each finding."""

    rules: tuple[RuleDoc, ...] = ()
    repo_root: Path | None = None
    model_dir: Path | None = None
    color: bool = False
    width: int | None = None
    tool_version: str = __version__
    cwd: Path | None = None
    statistics: bool = False


Renderer = Callable[["Report", RenderContext], str]

#: name → "module:function" of the built-in formats (imported when used).
BUILTIN: dict[str, str] = {
    "text": "archlint.report.text:render",
    "concise": "archlint.report.concise:render",
    "json": "archlint.report.json_report:render",
    "markdown": "archlint.report.markdown:render",
    "sarif": "archlint.report.findings_formats:render_sarif_report",
    "github": "archlint.report.findings_formats:render_github_report",
    "junit": "archlint.report.findings_formats:render_junit_report",
    # the findings alone as JSON: `check --format json` (ruff's --output-format json)
    "findings-json": "archlint.report.concise:render_json",
}
# The one format whose lines are workflow commands.
_COMMANDS_FORMAT = "github"


def _plugins() -> dict[str, object]:
    from importlib.metadata import entry_points

    found: dict[str, object] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in BUILTIN:  # a built-in name cannot be replaced by a plugin
            found.setdefault(ep.name, ep)
    return found


def names() -> tuple[str, ...]:
    """Every format name: the built-ins, then plugins' (entry points are listed, not loaded)."""
    return (*BUILTIN, *sorted(_plugins()))


def _load(target: str) -> Renderer:
    module, _, attr = target.partition(":")
    renderer: Renderer = getattr(importlib.import_module(module), attr)
    return renderer


def get(name: str) -> Renderer:
    """The renderer registered as ``name``; UsageError for an unknown name or a plugin that
    does not load."""
    if name in BUILTIN:
        return _load(BUILTIN[name])
    ep = _plugins().get(name)
    if ep is None:
        raise UsageError(f"unknown format {name!r}", hint="formats: " + ", ".join(names()))
    try:
        loaded = ep.load()  # type: ignore[attr-defined]
    except Exception as exc:  # a plugin's failure is reported, not a crash
        raise UsageError(f"cannot load report format {name!r}: {type(exc).__name__}: {exc}"
                         ) from None
    if not callable(loaded):
        raise UsageError(f"report format {name!r} is not a function")
    plugin: Renderer = loaded
    return plugin


def _guard_line(line: str) -> str:
    return "\\" + line if line.lstrip().startswith(("::", "##[")) else line


def no_workflow_commands(text: str) -> str:
    """``text`` with a backslash in front of every line that the Actions runner would read as
    a workflow command (``::error ...``, ``##[error]``) once it trims leading whitespace."""
    if "::" not in text and "##[" not in text:
        return text
    return "\n".join(_guard_line(line) for line in text.split("\n"))


def render(name: str, doc: Report, context: RenderContext) -> str:
    """The document in format ``name``."""
    text = get(name)(doc, context)
    if not isinstance(text, str):
        raise UsageError(f"report format {name!r} returned {type(text).__name__}, not text")
    return text if name == _COMMANDS_FORMAT else no_workflow_commands(text)
