"""Entry points of archlint's plugin groups, looked for before importlib.metadata is imported.

Every run asks for the `archlint.rules` and `archlint.families` entry points. Importing
importlib.metadata (it brings email, csv, zipfile, socket) and reading each distribution's
entry_points.txt once per group was ~10-15 ms of a ~0.15 s local report, while most
installations hold no plugin at all: archlint's own distribution declares both groups, for its
built-in packs, which the registries load directly. So the `*.dist-info` / `*.egg-info`
folders on `sys.path` are listed once and their entry_points.txt searched for a group's
section; only when some distribution declares an entry other than the built-in one is
importlib.metadata asked, exactly as before. Anything this scan cannot read (a zip or egg on
`sys.path`, a finder that provides distributions of its own) counts as "maybe" and is asked.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import Any

__all__ = ["entry_points", "maybe_declared"]

_INFO_SUFFIXES = (".dist-info", ".egg-info")


def entry_points(group: str, builtin: str) -> list[Any]:
    """importlib.metadata's entry points of `group` (every one, the built-in entry included),
    or [] when no installed distribution declares one other than `builtin` (no import)."""
    if not maybe_declared(group, builtin):
        return []
    from importlib.metadata import entry_points as metadata_entry_points

    return list(metadata_entry_points(group=group))


def maybe_declared(group: str, builtin: str) -> bool:
    """Whether some distribution may declare an entry point of `group` whose value is not
    `builtin`."""
    found = _declared(tuple(sys.path))
    return found is None or bool(found.get(group, set()) - {builtin})


@cache
def _declared(path: tuple[str, ...]) -> dict[str, set[str]] | None:
    """Group → the entry points' values over every distribution on `path` (None: some place
    cannot be scanned, ask importlib.metadata). Once per sys.path."""
    from importlib.machinery import PathFinder

    if any(finder is not PathFinder and hasattr(finder, "find_distributions")
           for finder in sys.meta_path):
        return None
    groups: dict[str, set[str]] = {}
    for entry in path:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.exists(folder):
                return None  # a zip or an egg file: importlib.metadata reads those
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith(".egg"):
                return None
            if name.endswith(_INFO_SUFFIXES):
                _read(os.path.join(folder, name, "entry_points.txt"), groups)
    return groups


def _read(path: str, groups: dict[str, set[str]]) -> None:
    """Add one entry_points.txt's `[group]` sections (``name = value`` lines) to `groups`."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return
    section: set[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = groups.setdefault(line[1:-1].strip(), set())
        elif section is not None and "=" in line and not line.startswith(("#", ";")):
            section.add(line.split("=", 1)[1].strip())
