"""The library's entry points: model reference → Checkpoint → ModelSpec → Profile → Findings.

:func:`report` returns the typed report (the same document ``--format json`` prints, findings
included); :func:`check`, :func:`compare` and :func:`scan` are the library forms of the
commands (:func:`archlint.scan.scan` is the scan with every option: Hub queries, resuming,
shards, Ray); :func:`analyze` returns the intermediate :class:`Analysis` (checkpoint, spec,
profile; findings only with ``lint=True``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from archlint.analysis.profile import Options
from archlint.pipeline import Analysis, analyze_checkpoint, spec_of
from archlint.source import SourceOptions, load_checkpoint

if TYPE_CHECKING:
    from archlint.compare import Table
    from archlint.lint.finding import Finding
    from archlint.report.document import Report

__all__ = ["Analysis", "analyze", "analyze_checkpoint", "check", "compare", "load_checkpoint",
           "report", "scan", "spec_of"]


def analyze(
    ref: str, options: Options | None = None, source: SourceOptions | None = None, *,
    lint: bool = False, config: Any = None,
) -> Analysis:
    """One model read and profiled, as the objects the report is built from: ``.checkpoint``
    (what was read), ``.spec`` (the architecture), ``.profile`` (parameters, memory, KV cache,
    FLOPs at ``options``). The rules run only with ``lint=True`` (their findings in
    ``.findings``; ``config`` as for :func:`report`): for the report itself, findings included,
    use :func:`report`. ``ref``, ``options`` and ``source`` are :func:`report`'s."""
    analysis = analyze_checkpoint(load_checkpoint(ref, source), options)
    if lint:
        analysis.findings = _findings(analysis, ref, config)
    return analysis


# -- the documented entry points -----------------------------------------------------------------
def report(ref: str, options: Options | None = None, source: SourceOptions | None = None, *,
           lint: bool = True, config: Any = None) -> Report:
    """The report of one model: the same typed document ``archlint MODEL --format json`` prints.

    ``ref`` is a Hub id (``org/name``, optionally ``@revision``), a local directory or file, or
    a bundled catalog name. ``options`` sets context, batch, KV-cache dtype and GPU
    (:class:`archlint.analysis.profile.Options`); ``source`` the Hub endpoint, token, cache and
    offline mode (:class:`archlint.source.SourceOptions`). With ``lint`` (default) the rules
    run and their findings are in ``.findings``; ``config`` is a
    :class:`archlint.lint.config.LintConfig` (default: the local directory's archlint.toml, none
    for a remote model). Returns a record (a dataclass, :mod:`archlint.records`):
    ``.model_dump()`` gives plain data, ``.model_dump_json()`` the JSON report. Raises
    :class:`archlint.errors.ArchlintError` subclasses for bad input and unreachable models.
    """
    from archlint.report.document import build_document
    from archlint.report.explain import explain

    analysis = analyze(ref, options, source, lint=lint, config=config)
    return build_document(analysis, explain(analysis.spec, analysis.profile))


def check(ref: str, options: Options | None = None, source: SourceOptions | None = None, *,
          config: Any = None) -> list[Finding]:
    """The findings of the lint rules on one model (what ``archlint check`` reports), each
    with its code, severity, message and location."""
    return list(report(ref, options, source, config=config).findings)


def compare(refs: Sequence[str], *, rows: Sequence[str] | None = None,
            options: Options | None = None, variants: Sequence[str] = (),
            source: SourceOptions | None = None) -> Table:
    """The comparison table of several models (``archlint compare``): one column per model,
    and per what-if variant (``variants=["gqa:8", "kv:fp8"]``), one row per property; each
    cell keeps its exact value beside its text. ``rows`` picks rows by key (default: the
    default rows; ``["all"]``). Render it with :mod:`archlint.report.compare_formats`."""
    from archlint.compare import as_columns, compare_table

    options = options or Options()
    analyses = [analyze(ref, options, source) for ref in refs]
    if not variants:
        return compare_table(as_columns(analyses, options), rows, options)
    from archlint.variants import variant_columns

    columns: list[Any] = []
    for a in analyses:
        columns.extend(variant_columns(a, variants, options, first=len(columns)))
    return compare_table(columns, rows, options)


def scan(refs: Iterable[str], options: Options | None = None,
         source: SourceOptions | None = None, *, concurrency: int = 8,
         jobs: int = 1) -> list[dict[str, Any]]:
    """The rows of ``archlint scan`` for ``refs``, one plain dict per model in the order they
    finished: the model's kinds, parameters, KV bytes per token, weights and severity counts,
    or, for a model that failed, ``status: "error"`` with a stable ``reason`` code; no model's
    failure stops the others. ``concurrency`` models are read at once on threads, ``jobs``
    worker processes. For a Hub query, resuming, sharding or Ray, and for the rows written as
    they come, use :func:`archlint.scan.scan`."""
    import io
    import json

    from archlint.scan import scan as scan_models

    out = io.StringIO()
    scan_models(refs, out=out, options=options, source_options=source,
                concurrency=concurrency, jobs=jobs, summary_tables=False)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def _findings(analysis: Analysis, ref: str, config: Any) -> list[Any]:
    from pathlib import Path

    from archlint.lint.config import LintConfig, load_config
    from archlint.lint.engine import run_rules

    if config is None:
        local = Path(ref).expanduser()
        if analysis.checkpoint.source == "local":
            folder = local if local.is_dir() else local.parent
            config = load_config(folder, cwd=folder)
        else:
            config = LintConfig()
    return run_rules(analysis, config=config)
