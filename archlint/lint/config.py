"""Lint configuration: `[tool.archlint]` in pyproject.toml or an `archlint.toml`.

Searched in the model directory first, then the working directory; the first file that has
an archlint section wins (no merging, so what applies is always one file). In each directory
`archlint.toml` is read before `pyproject.toml`.

```toml
[tool.archlint]                    # in archlint.toml: the same keys at the top level
select = ["AL1", "AL2"]            # codes, names or code prefixes; "ALL" for everything
ignore = ["AL112", "mixed-dtypes"]
severity = { AL203 = "error" }
options = { AL301 = { ... } }      # validated by each rule's Options model
fail-on = "warning"                # error | warning | info | never

# ruff's per-file-ignores, and the same by tensor name (archlint's `# noqa`: a model repo has
# no comments to put it in); keys are shell-style patterns (fnmatch), values rule patterns
[tool.archlint.per-file-ignores]   # in archlint.toml: [per-file-ignores]
"model-0000[1-3]-*.safetensors" = ["AL401"]
[tool.archlint.per-tensor-ignores] # the tensor a finding names (an index key, a shard tensor)
"model.layers.*.mlp.down_proj.weight" = ["AL401", "mixed-dtypes"]
"lm_head.weight" = ["ALL"]

[tool.archlint.spec]               # in archlint.toml: [spec]
attention = "gqa"
kv_heads = 8
```
"""

from __future__ import annotations

from dataclasses import field, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from archlint.errors import UsageError
from archlint.lint.finding import Severity
from archlint.records import Record, record

if TYPE_CHECKING:
    from archlint.lint.finding import Finding
    from archlint.lint.project_spec import DeclaredSpec
    from archlint.lint.rule import Rule

CONFIG_FILES = ("archlint.toml", "pyproject.toml")
_KEYS = {"select", "ignore", "severity", "options", "fail-on", "fail_on", "spec",
         "per-file-ignores", "per-tensor-ignores"}
#: the index's pointer to a tensor's entry (RFC 6901: "~1" is "/", "~0" is "~")
_WEIGHT_MAP = "/weight_map/"

FailOn = Literal["error", "warning", "info", "never"]


@record
class LintConfig(Record):
    """Which rules run, at what severity, with which options, and what the repo declares.

    A record: the defaults (no config file) cost no pydantic; a file's table is validated by
    pydantic in :func:`parse_config`, which reads this class's annotations."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    select: list[str] | None = None  # None: every rule
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)  # code or name → severity
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # code or name → options
    fail_on: FailOn = "error"
    spec: DeclaredSpec | None = None
    #: file / tensor-name pattern → the rules it silences there
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    per_tensor_ignores: dict[str, list[str]] = field(default_factory=dict)
    source: str | None = None  # the file it came from, for messages

    # -- selection -------------------------------------------------------------------------
    def enabled(self, rule: type[Rule]) -> bool:
        """Selected and not ignored; the more specific pattern wins (ruff's rule): `select =
        ["AL101"]` with `ignore = ["AL1"]` keeps AL101, `select = ["AL1"]` with `ignore =
        ["AL101"]` drops it. On a tie, ignore wins."""
        chosen = _specificity(rule, self.select) if self.select is not None else 0
        if chosen < 0:
            return False
        return chosen > _specificity(rule, self.ignore)

    def suppressed(self, rule: type[Rule], finding: Finding) -> bool:
        """Whether a per-file or per-tensor ignore silences ``rule``'s ``finding``: its file
        matches a per-file-ignores pattern, or the tensor it names (``location.tensor``, or
        the index entry its pointer is at) a per-tensor-ignores one, listing the rule."""
        from fnmatch import fnmatchcase

        loc = finding.location
        tensor = loc.tensor
        if tensor is None and loc.pointer and loc.pointer.startswith(_WEIGHT_MAP):
            tensor = loc.pointer[len(_WEIGHT_MAP):].replace("~1", "/").replace("~0", "~")
        for subject, table in ((loc.file, self.per_file_ignores),
                               (tensor, self.per_tensor_ignores)):
            if subject is None:
                continue
            for pattern, rules in table.items():
                if fnmatchcase(subject, pattern) and _specificity(rule, rules) >= 0:
                    return True
        return False

    def resolve(self, rules: list[type[Rule]]) -> None:
        """Check every code/name/prefix against the rules; validate options. UsageError (one
        line, naming the file) on the first problem."""
        where = f" in {self.source}" if self.source else ""
        listed = [("select", self.select or []), ("ignore", self.ignore)]
        for table_name, ignores in (("per-file-ignores", self.per_file_ignores),
                                    ("per-tensor-ignores", self.per_tensor_ignores)):
            listed += [(f"{table_name} {key!r}", value) for key, value in ignores.items()]
        for field_name, patterns in listed:
            for pattern in patterns:
                if pattern.upper() == "ALL":
                    continue
                if not any(_match(rule, pattern) >= 0 for rule in rules):
                    raise UsageError(f"{field_name}{where}: {pattern!r} matches no rule "
                                     "(expected a code, a name or a code prefix)")
        for field_name, table in (("severity", self.severity), ("options", self.options)):
            for key in table:
                if _find(rules, key) is None:
                    raise UsageError(f"{field_name}{where}: unknown rule {key!r}")
        for key in self.options:
            rule = _find(rules, key)
            assert rule is not None
            self.options_for(rule)

    def severity_for(self, rule: type[Rule]) -> Severity | None:
        for key, value in self.severity.items():
            if key in (rule.code, rule.name):
                return value
        return None

    def options_for(self, rule: type[Rule]) -> Any:
        raw: dict[str, Any] = {}
        for key, value in self.options.items():
            if key in (rule.code, rule.name):
                raw = value
        if not raw and is_dataclass(rule.Options):  # the defaults: no validation to run
            return rule.Options()
        try:
            return validate_options(rule.Options, raw)
        except ValueError as exc:  # pydantic's ValidationError, or a field's parser
            errors = getattr(exc, "errors", None)
            err = errors()[0] if callable(errors) else {"loc": exc.args[1:2], "msg": exc.args[0]}
            loc = ".".join(str(p) for p in err.get("loc", ())) or "(options)"
            where = f" in {self.source}" if self.source else ""
            raise UsageError(f"options{where}: {rule.code} ({rule.name}) {loc}: "
                             f"{err.get('msg', 'invalid')}") from None


def validate_options(options: type, raw: dict[str, Any]) -> Any:
    """A rule's options from its config table, by pydantic: a pydantic model (plugins,
    docs/plugins.md) validates itself; a built-in rule's record dataclass through a
    TypeAdapter, after its ``parsers`` (field → function, e.g. ``"7B"`` → 7e9) ran on the raw
    values (a parser's ValueError carries the field as its second argument)."""
    from pydantic import TypeAdapter

    if not is_dataclass(options):
        return options.model_validate(raw)  # type: ignore[attr-defined]
    values = dict(raw)
    for name, parse in getattr(options, "parsers", {}).items():
        if name in values:
            try:
                values[name] = parse(values[name])
            except ValueError as exc:
                raise ValueError(str(exc), name) from None
    return TypeAdapter(options).validate_python(values)


def _match(rule: type[Rule], pattern: str) -> int:
    """How specifically `pattern` names `rule`: -1 no match, else the matched length (a name or
    a full code counts as the most specific)."""
    if pattern.upper() == "ALL":
        return 0
    if pattern in (rule.code, rule.name):
        return 1000
    if pattern and rule.code.startswith(pattern.upper()) and pattern.upper() == pattern:
        return len(pattern)
    return -1


def _specificity(rule: type[Rule], patterns: list[str] | None) -> int:
    best = -1
    for pattern in patterns or []:
        best = max(best, _match(rule, pattern))
    return best


def _find(rules: list[type[Rule]], key: str) -> type[Rule] | None:
    for rule in rules:
        if key in (rule.code, rule.name):
            return rule
    return None


# -- files ----------------------------------------------------------------------------------------

#: a configuration file is a few hundred bytes; one beyond this is refused unread.
MAX_CONFIG_FILE_BYTES = 2**20


def _toml_loads(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    return tomllib.loads(text)


def config_section(path: Path) -> dict[str, Any] | None:
    """The archlint table of one file (`archlint.toml`, `.archlint.toml`, `pyproject.toml`'s
    `[tool.archlint]`, or a `--config FILE`), or None when the file has none. Bounded, and
    every failure is one UsageError line."""
    try:
        with path.open("rb") as handle:  # bounded before it is read: it may come with a repo
            raw = handle.read(MAX_CONFIG_FILE_BYTES + 1)
        if len(raw) > MAX_CONFIG_FILE_BYTES:
            raise UsageError(f"{path} is over {MAX_CONFIG_FILE_BYTES // 2**20} MiB: not an "
                             "archlint configuration")
        data = _toml_loads(raw.decode("utf-8"))
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise UsageError(f"{path} is not valid TOML: nested too deeply") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise UsageError(f"{path} is not valid TOML: {str(exc).splitlines()[0]}") from None
    if path.name == "pyproject.toml":
        section = (data.get("tool") or {}).get("archlint")
        if section is None:
            return None
        if not isinstance(section, dict):
            raise UsageError(f"{path}: [tool.archlint] must be a table")
        return section
    nested = (data.get("tool") or {}).get("archlint")
    return nested if isinstance(nested, dict) and len(data) == 1 else data


def parse_config(section: dict[str, Any], *, source: str | None = None) -> LintConfig:
    """A LintConfig from an archlint table; UsageError (one line) on anything unexpected."""
    where = f" in {source}" if source else ""
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise UsageError(f"unknown archlint setting {unknown[0]!r}{where} "
                         f"(known: {', '.join(sorted(_KEYS - {'fail_on'}))})")
    data: dict[str, Any] = {"source": source}
    for key in ("select", "ignore"):
        if key in section:
            value = section[key]
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{key}{where} must be a list of rule codes, names or prefixes")
            data[key] = value
    for key in ("severity", "options"):
        if key in section:
            if not isinstance(section[key], dict):
                raise UsageError(f"{key}{where} must be a table keyed by rule code or name")
            data[key] = section[key]
    for key in ("per-file-ignores", "per-tensor-ignores"):
        if key in section:
            data[key.replace("-", "_")] = _ignore_table(section[key], f"{key}{where}")
    fail_on = section.get("fail-on", section.get("fail_on"))
    if fail_on is not None:
        data["fail_on"] = fail_on
    if "spec" in section:
        data["spec"] = section["spec"]
    from pydantic import TypeAdapter, ValidationError

    # the annotation `DeclaredSpec | None` is resolved from this frame (pydantic reads the
    # caller's namespace): the module, and pydantic, are imported only when a file is read
    from archlint.lint.project_spec import DeclaredSpec  # noqa: F401

    try:
        return TypeAdapter(LintConfig).validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        loc = loc.replace("fail_on", "fail-on")
        value = err.get("input")
        shown = f" (got {value!r:.80})" if isinstance(value, (str, int, float, bool)) else ""
        raise UsageError(f"{loc}{where}: {err.get('msg', 'invalid')}{shown}") from None


def _ignore_table(value: Any, what: str) -> dict[str, list[str]]:
    """``{pattern: [rule, ...]}`` (a single rule may be a string); UsageError otherwise."""
    if not isinstance(value, dict):
        raise UsageError(f"{what} must be a table of patterns to lists of rules")
    table: dict[str, list[str]] = {}
    for pattern, rules in value.items():
        rules = [rules] if isinstance(rules, str) else rules
        if not pattern or not isinstance(rules, list) \
                or not all(isinstance(r, str) for r in rules):
            raise UsageError(f"{what}: {pattern!r} must list rule codes, names or prefixes")
        table[pattern] = rules
    return table


def find_config_file(model_dir: Path | None,
                     cwd: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The first config file with an archlint section: the model dir, then the cwd."""
    seen: set[Path] = set()
    for folder in (model_dir, cwd if cwd is not None else Path.cwd()):
        if folder is None:
            continue
        folder = folder.resolve()
        if folder in seen:
            continue
        seen.add(folder)
        for name in CONFIG_FILES:
            path = folder / name
            if path.is_file():
                section = config_section(path)
                if section is not None:
                    return path, section
    return None


def load_config(model_dir: Path | None, *, cwd: Path | None = None,
                rules: list[type[Rule]] | None = None) -> LintConfig:
    """The LintConfig for a model: from its directory's config file, else the cwd's, else the
    defaults. Rule references and options are checked against `rules` (default: the
    registry). Raises UsageError with one line on a bad file."""
    found = find_config_file(model_dir, cwd)
    if found is None:
        return LintConfig()
    path, section = found
    config = parse_config(section, source=str(path))
    if rules is None:
        from archlint.lint.registry import load_rules

        rules = load_rules()
    config.resolve(rules)
    return config
