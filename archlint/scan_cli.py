"""`archlint scan`: many models, bounded concurrency, JSON lines, resumable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from archlint.cli_options import color_option, profile_options, resolve_color, source_options


@click.command("scan")
@click.option(
    "--from",
    "from_file",
    help="File of model ids, one per line ('-' for stdin; '#' starts a comment).",
)
@click.option("--author", help="Hub query: models of this author/org.")
@click.option("--search", help="Hub query: models whose id contains this.")
@click.option(
    "--limit", type=click.IntRange(min=1), help="At most this many models from the query."
)
@click.option("--concurrency", type=click.IntRange(min=1, max=256), default=8, show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON-lines file (default stdout).",
)
@click.option("--resume", is_flag=True, help="Skip models already in --output at the same commit.")
@click.option(
    "--summary-json", type=click.Path(dir_okay=False), help="Also write the summary here."
)
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Worker processes sharing the models [default: the cores].")
@click.option("--shard", metavar="k/K",
              help="Only the models whose id hashes to shard k of K (1 <= k <= K).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="auto", metavar="[ADDRESS]",
              help="Run the shards as tasks on a Ray cluster (extra 'ray'): ADDRESS, or "
              "'auto' (the default: $RAY_ADDRESS or the local `ray start` cluster), or "
              "'local' to start one here.")
@click.option("--ray-dir", type=click.Path(file_okay=False),
              help="Shard files, reachable by every node [default: OUTPUT.shards].")
@click.option("--ray-rps", type=click.FloatRange(min=0.1), default=50.0, show_default=True,
              help="Requests per second to the Hub host, for all Ray workers together.")
@click.option("--ray-shards", type=click.IntRange(min=1),
              help="Ray tasks [default: 4 per CPU of the cluster].")
@color_option
@profile_options
@source_options
def scan_command(
    from_file: str | None,
    author: str | None,
    search: str | None,
    limit: int | None,
    concurrency: int,
    output: Path | None,
    resume: bool,
    summary_json: str | None,
    jobs: int | None,
    shard: str | None,
    ray_address: str | None,
    ray_dir: str | None,
    ray_rps: float,
    ray_shards: int | None,
    options: Any,
    source: Any,
    color: str,
) -> None:
    """Analyse many models: one JSON line per model (failures carry their reason), a progress
    bar and a summary on stderr. Exit 1 when some models failed."""
    from archlint.scan import run_scan_cli

    _colour_for_rich(color)
    code = run_scan_cli(
        from_file=from_file,
        author=author,
        search=search,
        limit=limit,
        concurrency=concurrency,
        output=str(output) if output else None,
        resume=resume,
        source_options=source,
        options=options,
        summary_json=summary_json,
        jobs=jobs,
        shard=shard,
        ray_address=ray_address,
        ray_dir=ray_dir,
        ray_rps=ray_rps,
        ray_shards=ray_shards,
    )
    if code:
        sys.exit(code)


def _colour_for_rich(mode: str) -> None:
    """The progress bar and summary tables are rich's, on stderr, built by the scan itself; the
    decision (--color, NO_COLOR over FORCE_COLOR, TERM=dumb: resolve_color's) reaches those
    consoles through this process's environment, which rich reads."""
    import os

    if resolve_color(mode, sys.stderr.isatty()):
        os.environ.pop("NO_COLOR", None)
        os.environ["FORCE_COLOR"] = "1"
        if os.environ.get("TERM") == "dumb":  # --color always at a dumb terminal
            os.environ.pop("TERM")
    else:
        os.environ.pop("FORCE_COLOR", None)
        os.environ["NO_COLOR"] = "1"
        # rich's NO_COLOR drops colours only; a dumb terminal also gets no bold or italics
        os.environ["TERM"] = "dumb"
