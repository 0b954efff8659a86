"""`archlint compare`: a spec comparison table across models, with what-if variants.

The command: load the models, turn them (and their variants) into columns, build the table
(:mod:`archlint.compare`), render it (:mod:`archlint.report.compare_formats`), write plots
(:mod:`archlint.plots`). :func:`run_compare` is all of it minus argument parsing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from archlint.analysis.hardware import plot_gpu
from archlint.analysis.profile import Options
from archlint.cli_options import color_option, emit, profile_options, resolve_color, source_options
from archlint.compare import Column, as_columns, compare_table
from archlint.errors import UsageError
from archlint.report import compare_formats

if TYPE_CHECKING:
    from archlint.api import Analysis
    from archlint.source import SourceOptions

__all__ = ["compare_command", "run_compare"]

PLOTS_MISSING = "plots omitted: install archlint[plot] (matplotlib)"


def _color_default() -> bool:
    """Whether stdout is a terminal (NO_COLOR, FORCE_COLOR and TERM are resolve_color's)."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(sys.stdout, "isatty", lambda: False)())


def _columns(analyses: Sequence[Analysis], variants: Sequence[str], options: Options
             ) -> list[Column]:
    if not variants:
        return as_columns(analyses, options)
    from archlint.variants import variant_columns

    columns: list[Column] = []
    for a in analyses:
        columns.extend(variant_columns(a, variants, options, first=len(columns)))
    return columns


def _figures(columns: list[Column], options: Options, notes: list[str]) -> list[tuple[str, str]]:
    try:
        from archlint.plots import svg_figures

        return svg_figures(columns, options)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "matplotlib":
            raise  # a broken module, not the missing plot extra: say so
        notes.append(PLOTS_MISSING)
        return []


def run_compare(refs: Sequence[str], *, fmt: str = "terminal", rows: Sequence[str] | None = None,
                options: Options | None = None, variants: Sequence[str] = (),
                plot: str | Path | None = None, plots_dir: str | Path | None = None,
                source_options: SourceOptions | None = None, color: bool | None = None,
                width: int | None = None, analyses: Sequence[Analysis] | None = None) -> str:
    """``archlint compare``: load each ref, add what-if variants, build the table, format it.

    Returns the document for stdout/--output. ``options`` (context, batch, KV dtype, GPU)
    travel whole to the table and the plots. ``plot`` writes one overview figure (3 panels)
    to that file; ``plots_dir`` writes each plot there (PNG); the html format embeds them.
    ``analyses`` (already loaded) replace loading ``refs``. Raises UsageError/InputError/...
    (archlint.errors) for the CLI to map to exit code 2.
    """
    from archlint.api import analyze

    options = options or Options()
    fmt = fmt.lower()
    if fmt not in compare_formats.FORMATS:
        raise UsageError(f"unknown format {fmt!r}",
                         hint="formats: " + ", ".join(compare_formats.FORMATS))
    if analyses is None:
        if not refs:
            raise UsageError("compare needs at least one model")
        analyses = [analyze(ref, options, source_options) for ref in refs]
    columns = _columns(analyses, variants, options)
    table = compare_table(columns, rows, options)
    if variants:
        table.notes.append("what-if columns and their baselines are analytic (from the config)")
    # The plots always have a GPU: its memory line and its roofline.
    plot_options = options.model_copy(update={"gpu": plot_gpu(options.gpu)})
    if plot is not None:
        from archlint.plots import plot_overview

        plot_overview(columns, plot, plot_options)
    if plots_dir is not None:
        from archlint.plots import write_all

        write_all(columns, plots_dir, plot_options)
    if fmt == "html":
        return compare_formats.render_html(table, _figures(columns, plot_options, table.notes))
    if fmt == "terminal":
        if width is None and (_color_default() or "COLUMNS" in os.environ):
            from archlint.cli_options import terminal_width

            width = terminal_width()  # $COLUMNS first, as the report's text format reads it
        return compare_formats.render_terminal(
            table, color=_color_default() if color is None else color, width=width)
    return compare_formats.render(table, fmt)


@click.command("compare")
@click.argument("models", nargs=-1, required=True)
@click.option(
    "--format",
    "--output-format",
    "-f",
    "fmt",
    type=click.Choice(compare_formats.FORMATS),
    default="terminal",
    show_default=True,
    help="Output format.",
)
@click.option("--rows", multiple=True, help="Rows to show (comma list, or 'all').")
@profile_options
@click.option(
    "--as",
    "variants",
    multiple=True,
    help="What-if variant: mha, mqa, gqa:8, mla:512, window:4096, kv:fp8 (repeatable; "
    "combine with +).",
)
@click.option("--window", type=click.IntRange(min=1), help="Shortcut for --as window:N.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the KV-vs-context plot (PNG or SVG).",
)
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write every plot into this directory.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path))
@source_options
@color_option
def compare_command(
    models: tuple[str, ...],
    fmt: str,
    rows: tuple[str, ...],
    options: Options,
    variants: tuple[str, ...],
    window: int | None,
    plot: Path | None,
    plots_dir: Path | None,
    output: Path | None,
    source: Any,
    color: str,
) -> None:
    """Compare MODELS side by side (Hub ids, local paths or catalog names): attention,
    windows, positions, FFN/MoE, params, weights, KV cache, FLOPs and the decode roofline.
    Cells that differ across models are highlighted."""
    all_variants = list(variants) + ([f"window:{window}"] if window else [])
    text = run_compare(
        list(models),
        fmt=fmt,
        rows=list(rows) or None,
        options=options,
        variants=all_variants,
        plot=plot,
        plots_dir=plots_dir,
        source_options=source,
        color=resolve_color(color, output is None and _color_default()),
    )
    emit(text, output)
