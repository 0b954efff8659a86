"""The rule registry, built at load time from the `archlint.rules` entry-point group.

The built-in pack is registered through the same group (`builtin = "archlint.rules"`) that
third-party packages use; it is always loaded (imported directly, so a source checkout works
without installing). An entry point names either a module exposing `RULES` (a list of Rule
classes) or a Rule class.

- a code or name registered twice (across or within packages) is an error naming both
  distributions: flake8 drops one silently, which hides a rule;
- a plugin that fails to import is reported (a `PluginWarning` naming its distribution) and
  the run goes on without it;
- `plugins=False` (`--no-plugins`) loads only the built-ins; `ARCHLINT_PLUGINS=a,b` (or
  `only=["a", "b"]`) only those distributions; under pytest no plugin loads unless a test
  passes `plugins=True`.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import warnings
from collections.abc import Iterable
from dataclasses import is_dataclass
from typing import Any

from archlint.errors import ArchlintError, UsageError
from archlint.lint.docs import (  # re-exported: plugins written against the registry use them
    missing_doc_sections,
    rule_doc_text,
    rule_docs,
    rule_docstring,
    rule_markdown,
)
from archlint.lint.finding import Severity
from archlint.lint.rule import (
    BUILTIN_PREFIX,
    CODE_PATTERN,
    NAME_PATTERN,
    Rule,
)

ENTRY_POINT_GROUP = "archlint.rules"
BUILTIN_MODULE = "archlint.rules"
BUILTIN_DISTRIBUTION = "archlint"
PLUGINS_ENV = "ARCHLINT_PLUGINS"


class PluginError(ArchlintError):
    """A rule pack that cannot be registered (duplicate code/name, invalid rule metadata)."""


class PluginWarning(UserWarning):
    """A plugin that failed to import; the run goes on without it."""


#: Warnings of the last `load_rules` call (also issued through `warnings.warn`).
LOAD_WARNINGS: list[str] = []


def _under_pytest() -> bool:
    """Inside a test run (also at collection time, before PYTEST_CURRENT_TEST is set)."""
    return "PYTEST_CURRENT_TEST" in os.environ or "_pytest.config" in sys.modules


def _rules_of(obj: Any, origin: str) -> list[type[Rule]]:
    """Rule classes from an entry point's target: a module with RULES, a Rule class, or a list."""
    if inspect.isclass(obj) and issubclass(obj, Rule):
        return [obj]
    if inspect.ismodule(obj):
        rules = getattr(obj, "RULES", None)
        if rules is None:
            raise PluginError(f"{origin}: module {obj.__name__} has no RULES list")
        obj = rules
    if isinstance(obj, (list, tuple)) and all(inspect.isclass(r) and issubclass(r, Rule)
                                               for r in obj):
        return list(obj)
    raise PluginError(f"{origin}: entry point is neither a Rule class nor a module with RULES")


def validate_rule(rule: type[Rule], distribution: str) -> None:
    """Refuse a rule whose metadata is unusable; PluginError naming the distribution."""
    where = f"rule {rule.__name__} from {distribution}"
    builtin = distribution == BUILTIN_DISTRIBUTION
    if not CODE_PATTERN.match(rule.code or ""):
        raise PluginError(f"{where}: code {rule.code!r} must match {CODE_PATTERN.pattern}")
    if not builtin and rule.code.startswith(BUILTIN_PREFIX):
        raise PluginError(f"{where}: code {rule.code} uses the prefix {BUILTIN_PREFIX}, "
                          "reserved for built-in rules")
    if not NAME_PATTERN.match(rule.name or ""):
        raise PluginError(f"{where}: name {rule.name!r} must be kebab-case")
    if not isinstance(rule.default_severity, Severity):
        raise PluginError(f"{where}: default_severity must be a Severity")
    if not _options_class(rule.Options):
        raise PluginError(f"{where}: Options must be a pydantic model or a dataclass")
    if not rule.messages or not all(isinstance(v, str) for v in rule.messages.values()):
        raise PluginError(f"{where}: messages must map ids to templates")


def _options_class(options: Any) -> bool:
    """A pydantic model (the plugin contract, docs/plugins.md) or a dataclass pydantic can
    validate (the built-in rules'). pydantic is looked up, not imported: a plugin whose Options
    is a pydantic model has imported it already."""
    if not inspect.isclass(options):
        return False
    pydantic = sys.modules.get("pydantic")
    return is_dataclass(options) or (pydantic is not None
                                     and issubclass(options, pydantic.BaseModel))


class _Registry:
    def __init__(self) -> None:
        self.rules: list[type[Rule]] = []
        self._by_key: dict[str, type[Rule]] = {}

    def add(self, rules: Iterable[type[Rule]], distribution: str) -> None:
        for rule in rules:
            validate_rule(rule, distribution)
            for key in (rule.code, rule.name):
                other = self._by_key.get(key)
                if other is not None and other is not rule:
                    raise PluginError(
                        f"rule {key} is registered twice: {other.code} ({other.name}) from "
                        f"{other.distribution} and {rule.code} ({rule.name}) from {distribution}")
            if self._by_key.get(rule.code) is rule:
                continue
            rule.distribution = distribution
            rule.origin = distribution
            self._by_key[rule.code] = self._by_key[rule.name] = rule
            self.rules.append(rule)


def builtin_rules() -> list[type[Rule]]:
    """The built-in pack, imported directly (no entry points)."""
    module = importlib.import_module(BUILTIN_MODULE)
    return _rules_of(module, BUILTIN_DISTRIBUTION)


def _entry_points() -> list[Any]:
    from archlint.entry_scan import entry_points

    return entry_points(ENTRY_POINT_GROUP, BUILTIN_MODULE)


def _distribution_of(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    name = None
    if dist is not None:
        name = getattr(dist, "name", None)
        if not name:
            try:
                name = dist.metadata["Name"]
            except (AttributeError, KeyError, TypeError):
                name = None
    return str(name) if name else f"entry point {ep.name}"


def load_rules(*, plugins: bool | None = None, only: list[str] | None = None) -> list[type[Rule]]:
    """Every registered rule: the built-in pack, then plugins (entry points) in a stable order.

    `plugins=None` means "yes, unless under pytest". `only` (or `$ARCHLINT_PLUGINS`, comma
    separated) keeps only those plugin distributions. Raises PluginError on duplicates.
    """
    LOAD_WARNINGS.clear()
    registry = _Registry()
    registry.add(builtin_rules(), BUILTIN_DISTRIBUTION)
    if plugins is None:
        plugins = not _under_pytest()
    if not plugins:
        return registry.rules
    if only is None and os.environ.get(PLUGINS_ENV, "").strip():
        only = [p.strip() for p in os.environ[PLUGINS_ENV].split(",") if p.strip()]
    wanted = {_normal(name) for name in only} if only is not None else None
    eps = sorted(_entry_points(), key=lambda ep: (_distribution_of(ep).lower(), ep.name))
    for ep in eps:
        dist = _distribution_of(ep)
        if getattr(ep, "value", "") == BUILTIN_MODULE:
            continue  # the built-in pack, loaded above
        if wanted is not None and _normal(dist) not in wanted:
            continue
        try:
            target = ep.load()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # sys.exit(0) at import must not end the run
            # a plugin that fails to load in any way (an import error, SystemExit, any
            # BaseException but Ctrl-C) is skipped and reported: run_rules makes it an AL000
            # error finding, so the exit code says the run was not complete
            message = (f"plugin {ep.name!r} from {dist} failed to load and was skipped: "
                       f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            LOAD_WARNINGS.append(message)
            warnings.warn(message, PluginWarning, stacklevel=2)
            continue
        registry.add(_rules_of(target, dist), dist)
    return registry.rules


def _normal(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def get_rule(code_or_name: str, rules: list[type[Rule]] | None = None) -> type[Rule]:
    """The rule with this code or name; UsageError when none has it."""
    pool = rules if rules is not None else load_rules()
    key = code_or_name.strip()
    for rule in pool:
        if key in (rule.code, rule.name) or key.upper() == rule.code:
            return rule
    import difflib

    names = [r.code for r in pool] + [r.name for r in pool]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6) or \
        difflib.get_close_matches(key.upper(), names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? `archlint rules` lists them" if close \
        else "`archlint rules` lists them"
    raise UsageError(f"no rule {code_or_name!r}", hint=hint)


__all__ = [
    "LOAD_WARNINGS", "PluginError", "PluginWarning", "builtin_rules", "get_rule", "load_rules",
    "missing_doc_sections", "rule_doc_text", "rule_docs", "rule_docstring", "rule_markdown",
    "validate_rule",
]
