"""The family registry, built at first use from the `archlint.families` entry-point group.

An entry point names a module (a "pack") exposing `ADAPTERS` — Adapter subclasses, each with
the `model_types` it reads — and optionally `MIXERS` — `archlint.mixers.Mixer` instances for
constant-state mixer variants. The built-in pack (`archlint.families.builtin`) is registered
the same way and always loaded. This is how the owner of a custom architecture (a repo with
`auto_map` and its own modeling code) describes it to archlint in a small package, without
archlint ever executing the repo's code (see docs/plugins.md).

- a model type or mixer variant registered twice is an error naming both packages;
- a pack that fails to import is recorded in `LOAD_WARNINGS` and the run goes on without it;
- `ARCHLINT_NO_PLUGINS=1` loads only the built-ins, and so does a test run (pytest) unless
  the test calls `load(plugins=True)`.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from functools import lru_cache
from typing import Any

from archlint.entry_scan import entry_points as _scan
from archlint.errors import ArchlintError
from archlint.mixers import MIXERS, Mixer

ENTRY_POINT_GROUP = "archlint.families"
BUILTIN_MODULE = "archlint.families.builtin"


def entry_points(*, group: str) -> list[Any]:
    """The group's entry points; importlib.metadata is imported only when an installed
    distribution declares a pack besides the built-in one (archlint.entry_scan)."""
    return _scan(group, BUILTIN_MODULE)
NO_PLUGINS_ENV = "ARCHLINT_NO_PLUGINS"

#: Packs that could not be loaded in the last `load` (one line each).
LOAD_WARNINGS: list[str] = []


class FamilyPluginError(ArchlintError):
    """A family pack that cannot be registered (duplicate model type or variant, bad pack)."""


def _plugins_default() -> bool:
    if os.environ.get(NO_PLUGINS_ENV, "").strip() not in ("", "0"):
        return False
    return "_pytest.config" not in sys.modules and "PYTEST_CURRENT_TEST" not in os.environ


def _pack_of(module: Any, origin: str) -> tuple[tuple[type, ...], tuple[Mixer, ...]]:
    from archlint.families.base import Adapter

    adapters = getattr(module, "ADAPTERS", None)
    mixers = getattr(module, "MIXERS", ())
    if not isinstance(adapters, (list, tuple)) or not all(
        inspect.isclass(a) and issubclass(a, Adapter) for a in adapters
    ):
        raise FamilyPluginError(f"{origin}: ADAPTERS must be a list of Adapter subclasses")
    if not all(isinstance(m, Mixer) and m.variant for m in mixers):
        raise FamilyPluginError(f"{origin}: MIXERS must be Mixer instances with a variant")
    return tuple(adapters), tuple(mixers)


def load(plugins: bool | None = None) -> dict[str, type]:
    """model_type → adapter class, from the built-in pack and (by default) installed packs."""
    LOAD_WARNINGS.clear()
    packs: list[tuple[str, Any]] = [("archlint", importlib.import_module(BUILTIN_MODULE))]
    if plugins if plugins is not None else _plugins_default():
        for ep in entry_points(group=ENTRY_POINT_GROUP):  # importlib.metadata's, when needed
            if ep.value == BUILTIN_MODULE:
                continue
            dist = ep.dist.name if ep.dist is not None else ep.name
            try:
                packs.append((dist, ep.load()))
            except Exception as exc:
                LOAD_WARNINGS.append(
                    f"family pack {ep.name} from {dist} failed to load: {type(exc).__name__}"
                )
    by_type: dict[str, tuple[type, str]] = {}
    variants: dict[str, tuple[Mixer, str]] = {}
    for origin, module in packs:
        adapters, mixers = _pack_of(module, origin)
        for adapter in adapters:
            for model_type in adapter.model_types:
                if model_type in by_type and by_type[model_type][0] is not adapter:
                    raise FamilyPluginError(
                        f"model type {model_type!r} is registered twice: "
                        f"{by_type[model_type][0].__name__} from {by_type[model_type][1]} and "
                        f"{adapter.__name__} from {origin}"
                    )
                by_type[model_type] = (adapter, origin)
        for mix in mixers:
            if mix.variant in variants and variants[mix.variant][0] is not mix:
                raise FamilyPluginError(
                    f"mixer variant {mix.variant!r} is registered twice: "
                    f"{variants[mix.variant][1]} and {origin}"
                )
            variants[mix.variant] = (mix, origin)
    MIXERS.clear()
    MIXERS.update({name: mix for name, (mix, _) in variants.items()})
    return {model_type: adapter for model_type, (adapter, _) in by_type.items()}


@lru_cache(maxsize=1)
def adapters_by_type() -> dict[str, type]:
    """The registry, loaded once per process (`adapters_by_type.cache_clear()` reloads)."""
    return load()
