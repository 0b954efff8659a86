"""The library's entry points: model reference → Checkpoint → ModelSpec → Profile → Findings.

:func:`report` returns the typed report (the same document ``--format json`` prints, findings
included); :func:`check` and :func:`compare` are the library forms of the commands, and
:func:`archlint.scan.scan` the scan's (it is built on this module, so it lives beside it, not
in it); :func:`analyze` returns the intermediate :class:`Analysis` (checkpoint, spec,
profile; findings only with ``lint=True``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archlint.analysis.profile import Options, Profile, profile
from archlint.checkpoint import Checkpoint
from archlint.families import build_spec
from archlint.families.validate import check_layers, values_checked
from archlint.source import SourceOptions, load_checkpoint
from archlint.spec import ModelSpec

if TYPE_CHECKING:
    from archlint.compare import Table
    from archlint.lint.finding import Finding
    from archlint.report.document import Report

__all__ = ["Analysis", "analyze", "analyze_checkpoint", "check", "compare", "load_checkpoint",
           "report", "spec_of"]


@dataclass
class Analysis:
    """One model read and profiled: the raw checkpoint, its spec, its profile at the options
    it was analysed with, and (once the rules ran) its findings."""

    checkpoint: Checkpoint
    spec: ModelSpec
    profile: Profile
    findings: list[Any] = field(default_factory=list)


def spec_of(ckpt: Checkpoint) -> ModelSpec:
    """The ModelSpec of a checkpoint: from its config, or inferred from tensors alone."""
    if ckpt.config is not None:
        origins = (ckpt.gguf or {}).get("origins") if ckpt.weights_format == "gguf" else None
        return build_spec(ckpt.config, origins=origins)
    from archlint.inference import config_from_tensors

    return build_spec(config_from_tensors(ckpt), inferred=True)


def analyze_checkpoint(ckpt: Checkpoint, options: Options | None = None) -> Analysis:
    """The :class:`Analysis` of an already loaded checkpoint (no rules run)."""
    with values_checked(ckpt):
        spec = spec_of(ckpt)
        check_layers(spec, ckpt)
        costs = profile(spec, ckpt, options or Options())
    return Analysis(checkpoint=ckpt, spec=spec, profile=costs)


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
    for a remote model). Returns a pydantic model: ``.model_dump()`` gives plain data,
    ``.model_dump_json()`` the JSON report. Raises :class:`archlint.errors.ArchlintError`
    subclasses for bad input and unreachable models.
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
