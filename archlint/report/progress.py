"""A header-fetch progress bar on stderr, shown only to a person at a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

ProgressFn = Callable[[int, int], None]


@contextmanager
def header_progress(label: str, *, enabled: bool | None = None) -> Iterator[ProgressFn | None]:
    """Yields a `progress(done, total)` callback, or None when stderr is not a terminal
    (CI logs and pipes get no bar)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task: list[Any] = []

    def update(done: int, total: int) -> None:
        if not task:
            task.append(bar.add_task(f"reading headers of {label}", total=total))
        bar.update(task[0], completed=done, total=total)

    with bar:
        yield update
