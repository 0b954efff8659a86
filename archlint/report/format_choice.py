"""`--format`'s click type: every registered report format, plugins listed only when needed."""

from __future__ import annotations

from typing import Any

import click

from archlint.report import reporters


class FormatChoice(click.Choice):  # type: ignore[type-arg]
    """The names of :func:`archlint.report.reporters.names`, looked up lazily.

    A built-in name is accepted as it is; the plugins' entry points are scanned only when the
    choices are shown (`--help`, an unknown name). That scan imports importlib.metadata and
    reads every installed distribution's entry points (~15-30 ms, BENCHMARKS.md cold start),
    which `archlint --help` and a report in a built-in format no longer pay.
    """

    def __init__(self) -> None:
        self._names: tuple[str, ...] | None = None
        super().__init__(reporters.BUILTIN)

    @property
    def choices(self) -> tuple[str, ...]:
        if self._names is None:
            self._names = reporters.names()
        return self._names

    @choices.setter
    def choices(self, value: Any) -> None:  # click.Choice.__init__ assigns the built-ins
        self._names = None

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value in reporters.BUILTIN:
            return value
        return super().convert(value, param, ctx)
