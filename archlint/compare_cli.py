"""`archlint compare`: a spec comparison table across models, with what-if variants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from archlint.cli import _emit, _make_source, _profile_options, _source_options


@click.command("compare")
@click.argument("models", nargs=-1, required=True)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["terminal", "markdown", "csv", "json", "html"]),
    default="terminal",
    show_default=True,
    help="Output format.",
)
@click.option("--rows", multiple=True, help="Rows to show (comma list, or 'all').")
@_profile_options
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
@_source_options
def compare_command(
    models: tuple[str, ...],
    fmt: str,
    rows: tuple[str, ...],
    context: int,
    batch: int,
    kv_dtype: str | None,
    gpu: str,
    gpu_file: str | None,
    variants: tuple[str, ...],
    window: int | None,
    plot: Path | None,
    plots_dir: Path | None,
    output: Path | None,
    **source: Any,
) -> None:
    """Compare MODELS side by side (Hub ids, local paths or catalog names): attention,
    windows, positions, FFN/MoE, params, weights, KV cache, FLOPs and the decode roofline.
    Cells that differ across models are highlighted."""
    from archlint.analysis.hardware import find_gpu
    from archlint.compare import run_compare

    chosen = None if gpu.lower() == "none" else find_gpu(gpu, gpu_file)
    all_variants = list(variants) + ([f"window:{window}"] if window else [])
    text = run_compare(
        list(models),
        fmt=fmt,
        rows=list(rows) or None,
        context=context,
        batch=batch,
        gpu=chosen,
        variants=all_variants,
        kv_dtype=kv_dtype,
        plot=plot,
        plots_dir=plots_dir,
        source_options=_make_source(**source),
        color=None if output is None else False,
    )
    _emit(text, output)
