"""The rule base class and the context a rule's `check` receives.

A rule is a class: `code` (AL101), `name` (kebab-case, usable wherever a code is),
`default_severity`, an `Options` class (a pydantic model; built-in rules use record dataclasses
that pydantic validates), `messages` keyed by id (tests assert ids, not prose), and a
docstring whose Markdown sections (*What it does*, *Why is this bad?*, *Example*,
*References*) are its documentation everywhere: `archlint rule CODE`, SARIF, the docs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from archlint.lint.finding import Finding, Location, Severity
from archlint.lint.json_lines import pointer_from_key, position_of
from archlint.records import MISSING, Record, described, record

if TYPE_CHECKING:
    from archlint.analysis.profile import Profile
    from archlint.api import Analysis
    from archlint.checkpoint import Checkpoint, TensorInfo
    from archlint.families.base import ConfigView
    from archlint.lint.project_spec import DeclaredSpec
    from archlint.spec import ModelSpec
    from archlint.tensors import TensorIndex

#: Headings every rule docstring carries, in this order (ruff's rule-doc convention).
DOC_SECTIONS: tuple[str, ...] = ("What it does", "Why is this bad?", "Example", "References")

#: Third-party codes: 2-4 capital letters and 3-4 digits. `AL` is reserved for built-ins.
CODE_PATTERN = re.compile(r"^[A-Z]{2,4}\d{3,4}$")
BUILTIN_PREFIX = "AL"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@record
class RuleOptions(Record):
    """The base of a built-in rule's options: a record dataclass that pydantic validates when a
    config sets options (unknown keys refused), and that costs no pydantic otherwise. A field's
    ``parsers`` entry (field name → function) reads what people write (``"7B"``) first."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    parsers: ClassVar[dict[str, Any]] = {}


@record
class NoOptions(RuleOptions):
    """A rule without options: any key given for it is an error."""


def option(default: Any = MISSING, description: str = "", *, default_factory: Any = MISSING,
           **constraints: Any) -> Any:
    """An option field: its default, its description (`archlint rule CODE`) and pydantic's
    constraints by name (``ge=1``), all read from the field's metadata (`records.described`)."""
    return described(description, default, default_factory=default_factory, **constraints)


class Rule:
    """Base class of every lint rule (built-in or plugin).

    A subclass sets the class attributes and implements `check`, yielding findings made by
    `ctx.finding(message_id, location, **values)`; a finding may ask for a severity of its
    own (`severity=`), which a `severity = {...}` entry in the user's config overrides. A
    plugin registers its rules under the `archlint.rules` entry-point group:

    ```python
    class NoBias(Rule):
        \"\"\"Projections carry biases. ## What it does ... ## References ...\"\"\"
        code = "XY101"            # ^[A-Z]{2,4}\\d{3,4}$, not starting with AL
        name = "no-bias"
        default_severity = Severity.WARNING
        messages = {"bias": "{count} bias tensors"}

        def check(self, ctx):
            ...
            yield ctx.finding("bias", ctx.at_config("attention_bias"), count=n)
    ```
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    default_severity: ClassVar[Severity] = Severity.WARNING
    Options: ClassVar[type[Any]] = NoOptions
    messages: ClassVar[dict[str, str]] = {}
    #: Skip silently when the checkpoint has no tensor table (config-only, .bin weights).
    needs_tensors: ClassVar[bool] = False
    #: Documentation link (SARIF helpUri); None when the rule has no page of its own.
    help_uri: ClassVar[str | None] = None
    #: Categories for reports (SARIF `properties.tags`), e.g. ("consistency",).
    tags: ClassVar[tuple[str, ...]] = ()
    #: Set by the registry: the distribution that provided the rule (`origin` is an alias).
    distribution: ClassVar[str] = "archlint"
    origin: ClassVar[str] = "archlint"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        raise NotImplementedError

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0].strip() if doc else ""


# -- the context --------------------------------------------------------------------------------

@dataclass
class RuleContext:
    """What a rule sees: the analysis, its own validated options, the declared spec (if the
    repo declares one), and helpers that make findings with locations."""

    analysis: Analysis
    rule: type[Rule]
    options: Any = None
    severity: Severity = Severity.WARNING
    severity_overridden: bool = False  # config `severity = {...}` wins over what a rule asks
    declared: DeclaredSpec | None = None
    findings: list[Finding] = field(default_factory=list)
    config_view: ConfigView | None = None  # see `view`

    @property
    def checkpoint(self) -> Checkpoint:
        return self.analysis.checkpoint

    @property
    def tensors(self) -> TensorIndex | None:
        """The checkpoint's tensor table, classified once and shared by the parameter count
        and every rule (None when the table is unknown)."""
        from archlint.tensors import tensor_index

        return tensor_index(self.analysis.checkpoint)

    @property
    def spec(self) -> ModelSpec:
        return self.analysis.spec

    @property
    def profile(self) -> Profile:
        return self.analysis.profile

    @property
    def config(self) -> dict[str, Any]:
        """The raw config dict: for a rule that reports its text. To read a key's value, use
        `config_value`, which reads it as the spec did."""
        return self.analysis.checkpoint.config or {}

    @property
    def view(self) -> ConfigView:
        """The one view of the config (`archlint.families.ConfigView`): each key read from
        text_config or the wrapper as transformers reads it, under its aliases, a declared
        null kept null; built once per checkpoint (the engine shares it across rules)."""
        if self.config_view is None:
            from archlint.families import config_view

            self.config_view = config_view(self.config)
        return self.config_view

    def config_value(self, *keys: str, defaults: bool = False) -> Any:
        """The value of the first of `keys` the config declares, read as the adapters read it
        (None when declared null or absent). With `defaults`, a key the config omits takes
        transformers' default for its model type: for a rule about what the model does
        (Qwen2's `use_sliding_window` is false unless stated), not about what a file says."""
        value, _, from_default = self.view.lookup_sourced(*keys)
        return None if from_default and not defaults else value

    # -- locations ----------------------------------------------------------------------------
    def config_key(self, *keys: str | None) -> str | None:
        """The dotted path in config.json that declares the first of `keys`, as `config_value`
        reads them (text_config's key before the wrapper's, the wrapper's for its own keys)."""
        return self.view.declared_key(*(key for key in keys if key))

    def at_config(self, *keys: str | None) -> Location:
        """A location in config.json: pointer and line of the first key present, else the file.
        For a GGUF checkpoint, the GGUF file and the metadata key the config key came from."""
        gguf = self.checkpoint.gguf if self.checkpoint.weights_format == "gguf" else None
        if gguf:
            return _at_gguf_key(gguf, keys)
        key = self.config_key(*keys)
        if key is None:
            return Location(file="config.json")
        pointer = pointer_from_key(key)
        line, column = position_of(self.checkpoint.config_text, pointer)
        return Location(file="config.json", pointer=pointer, line=line, column=column)

    def at_tensor(self, tensor: TensorInfo | str) -> Location:
        if isinstance(tensor, str):
            return Location(file=self._shard_of(tensor), tensor=tensor)
        return Location(file=tensor.shard or self._shard_of(tensor.name), tensor=tensor.name)

    def at_file(self, file: str | None, pointer: str | None = None) -> Location:
        """A location in ``file``, with the line and column of ``pointer`` when the file is
        the config or the index (the JSON texts the checkpoint keeps)."""
        texts = {"config.json": self.checkpoint.config_text}
        if self.checkpoint.index_name:
            texts[self.checkpoint.index_name] = self.checkpoint.index_text
        line, column = position_of(texts.get(file or ""), pointer)
        return Location(file=file, pointer=pointer, line=line, column=column)

    def _shard_of(self, name: str) -> str | None:
        weight_map = (self.checkpoint.index or {}).get("weight_map") or {}
        shard = weight_map.get(name)
        return shard if isinstance(shard, str) else None

    # -- findings -----------------------------------------------------------------------------
    def finding(self, message_id: str, location: Location | None = None, *,
                severity: Severity | None = None, **values: Any) -> Finding:
        """A finding from the rule's message template `message_id`, formatted with `values`."""
        template = self.rule.messages[message_id]
        return Finding(code=self.rule.code, name=self.rule.name,
                       severity=self.severity if self.severity_overridden or severity is None
                       else severity,
                       message=template.format(**values), message_id=message_id,
                       location=location or Location(file="config.json"))


def iter_findings(rule: Rule, ctx: RuleContext) -> Iterator[Finding]:
    """Run one rule; tolerate rules that return None."""
    result = rule.check(ctx)
    if result is None:
        return
    yield from result


def _at_gguf_key(gguf: dict[str, Any], keys: tuple[str | None, ...]) -> Location:
    """The GGUF metadata key behind the first of `keys` (a config key, or a `gguf:` key as
    provenance records it), as a pointer into the GGUF file."""
    files = gguf.get("files") or [None]
    origins = gguf.get("origins") or {}
    for key in keys:
        if not key:
            continue
        source = key if key.startswith("gguf:") else (origins.get(key) or {}).get("key") or ""
        if source.startswith("gguf:"):
            pointer = "/" + source[5:].replace("~", "~0").replace("/", "~1")  # RFC 6901
            return Location(file=files[0], pointer=pointer)
    return Location(file=files[0])
