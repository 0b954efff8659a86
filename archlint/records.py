"""Plain records: the spec, profile, report and finding data classes without pydantic.

A record is a stdlib ``@record`` dataclass (keyword-only, slotted) that also subclasses
:class:`Record`, which gives what the code and the library's users relied on when these were
pydantic models, under the same names:

- ``model_dump(mode=..., exclude=...)`` and ``model_dump_json(indent=..., exclude=...)``:
  byte for byte what pydantic 2 wrote (key order = field order, base class fields first;
  enums as their values; non-finite floats as null; floats in pydantic_core's notation);
- ``model_copy(update=..., deep=...)``: a copy with fields replaced, not re-validated (as
  pydantic's);
- ``model_validate(data)`` / ``model_validate_json(text)``: loading of archlint's *own* stored
  JSON (reuse entries, caches) with type checks from the annotations; a value of the wrong
  type raises :class:`RecordError` (a ValueError) so that the caller can discard the entry.

Why not pydantic here: a local report built ~50 model classes' validators and schemas at
import (~50 ms) and imported pydantic itself (~40 ms) to describe values archlint computes
itself. pydantic stays where untrusted structured input is validated (archlint.toml, rule
options) and for the JSON Schema (`archlint schema`: pydantic's TypeAdapter reads these
dataclasses, descriptions from ``field(metadata={"description": ...})``), imported there only.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import operator
import sys
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, get_args, get_origin

if TYPE_CHECKING:  # PEP 681, so that type checkers read a @record class as a dataclass
    from typing_extensions import dataclass_transform
else:
    def dataclass_transform(**_: Any) -> Any:
        return lambda decorator: decorator

__all__ = ["MISSING", "Record", "RecordError", "described", "dumps", "field_names", "record"]

R = TypeVar("R", bound="Record")
T = TypeVar("T")
MISSING: Any = dataclasses.MISSING


def described(description: str, default: Any = MISSING, *,
              default_factory: Any = MISSING, **constraints: Any) -> Any:
    """A field with a description for the JSON Schema (what ``Field(description=...)`` was) and
    any of pydantic's constraints by name (``ge=1``), all kept in the field's metadata."""
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={"description": description, **constraints})


@dataclass_transform(kw_only_default=True, field_specifiers=(dataclasses.field, described))
def record(cls: type[T] | None = None, /, *, frozen: bool = False) -> Any:
    """``@dataclass(slots=True, kw_only=True)``: keyword-only like pydantic's constructors (so a
    base class's defaulted fields may precede a subclass's required ones). ``__repr__`` and
    ``__eq__`` are :class:`Record`'s (one generic method each instead of two compiled per
    class: ~0.1 ms a class at import, ~50 records on every report); a frozen record gets the
    dataclass's ``__eq__`` and ``__hash__``, as a frozen pydantic model was hashable."""

    def wrap(c: type[T]) -> type[T]:
        undocumented = c.__dict__.get("__doc__") is None
        if undocumented:  # dataclass would write one from inspect.signature: ~2 ms a class
            c.__doc__ = "-"
        out: type[T] = dataclasses.dataclass(slots=True, kw_only=True, frozen=frozen,
                                             repr=False, eq=frozen)(c)
        if undocumented:
            out.__doc__ = None  # no description in the JSON Schema, as before
        return out

    return wrap if cls is None else wrap(cls)


class RecordError(ValueError):
    """A stored value that does not fit its record's types (the entry is discarded)."""


_NAMES: dict[type, tuple[str, ...]] = {}
_FLOATS: dict[type, frozenset[str]] = {}
_TYPES: dict[type, dict[str, Any]] = {}


class _Unresolved:
    """An annotation naming what its module imports only for type checkers (LintConfig's
    pydantic `DeclaredSpec`): known to be no float, and checked as if it held a container."""


def _field_types(cls: type) -> dict[str, Any]:
    """Each field's type, its annotation evaluated where it was written (each base's in its
    own module, as `typing.get_type_hints`), a name its module does not define at run time
    standing as `_Unresolved`."""
    found = _TYPES.get(cls)
    if found is None:
        found = {}
        for owner in reversed(cls.__mro__):
            module = sys.modules.get(owner.__module__)
            scope = vars(module) if module is not None else {}
            for name, annotation in inspect.get_annotations(owner).items():
                if not isinstance(annotation, str):
                    found[name] = annotation
                    continue
                try:
                    found[name] = eval(annotation, scope, vars(owner))
                except NameError:
                    found[name] = _Unresolved
        _TYPES[cls] = found
    return found


def _admits(tp: Any, kinds: tuple[type, ...]) -> bool:
    """Whether a value of type `tp` may be one of `kinds` (through unions and Any)."""
    if tp is Any or tp is _Unresolved:
        return True
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return any(_admits(a, kinds) for a in get_args(tp))
    return (origin or tp) in kinds


def field_names(cls: type) -> tuple[str, ...]:
    """The record's field names in declaration order (base class fields first)."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _values(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving a record's field values as one tuple."""
    found = _GETTERS.get(cls)
    if found is None:
        names = field_names(cls)
        getter = operator.attrgetter(*names) if names else (lambda _: ())
        found = _GETTERS[cls] = (getter if len(names) != 1
                                 else lambda v, g=getter: (g(v),))  # type: ignore[misc]
    return found


def _float_fields(cls: type) -> frozenset[str]:
    """Fields declared float: an int in one is written as a float (`0.0`), as pydantic's
    type-directed serializer did (a default of 0, a count assigned by a copy)."""
    found = _FLOATS.get(cls)
    if found is None:
        hints = _field_types(cls)
        found = _FLOATS[cls] = frozenset(
            f.name for f in dataclasses.fields(cls)
            if hints[f.name] is float or hints[f.name] == float | None)
    return found


_CONTAINERS: dict[type, tuple[str, ...]] = {}


def _container_fields(cls: type) -> tuple[str, ...]:
    """Fields whose type admits a list or a dict: the only ones ``__post_init__`` looks at
    (a record is built thousands of times in a scan)."""
    found = _CONTAINERS.get(cls)
    if found is None:
        hints = _field_types(cls)
        found = _CONTAINERS[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if _admits(hints[f.name], (list, dict)))
    return found


def _fresh(value: Any) -> Any:
    """A copy of nested plain lists and dicts (records and other values shared), as pydantic's
    validation rebuilt every container it was given."""
    if type(value) is list:
        return [_fresh(v) for v in value]
    if type(value) is dict:
        return {k: _fresh(v) for k, v in value.items()}
    return value


class Record:
    """The shared base of every record (see the module docstring)."""

    __slots__ = ()

    def __post_init__(self) -> None:
        # a list or dict the caller passed is the record's own from here on: an adapter that
        # goes on filling its provenance dict must not change a spec already built
        for name in _container_fields(type(self)):
            value = getattr(self, name)
            if type(value) is list or type(value) is dict:
                object.__setattr__(self, name, _fresh(value))

    def __repr__(self) -> str:
        items = ", ".join(f"{n}={getattr(self, n)!r}" for n in field_names(type(self)))
        return f"{type(self).__qualname__}({items})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        values = _values(type(self))  # tuples: identity first, as the dataclass's __eq__ (NaN)
        return values(self) == values(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a pydantic model was

    def model_dump(self, *, mode: Literal["python", "json"] = "python",
                   exclude: set[str] | None = None) -> dict[str, Any]:
        """The record as plain data; ``mode="json"``: JSON-ready (enum values, lists, None for
        non-finite floats). ``exclude``: top-level field names left out."""
        return _dump_record(self, mode == "json", exclude)

    def model_dump_json(self, *, indent: int | None = None,
                        exclude: set[str] | None = None) -> str:
        """The record as JSON text, as pydantic's ``model_dump_json`` wrote it."""
        return dumps(_dump_record(self, True, exclude), indent=indent)

    def model_copy(self: R, *, update: dict[str, Any] | None = None, deep: bool = False) -> R:
        """A copy, ``update``'s fields replaced (an unknown name raises AttributeError)."""
        if deep:
            import copy

            new = copy.deepcopy(self)
        else:  # by hand: copy.copy goes through __reduce_ex__, ~5x slower on a slotted class
            new = object.__new__(type(self))
            for name in field_names(type(self)):
                object.__setattr__(new, name, getattr(self, name))
        for name, value in (update or {}).items():
            object.__setattr__(new, name, value)
        return new

    @classmethod
    def model_validate(cls: type[R], data: Any) -> R:
        """A record from plain data (archlint's own stored JSON); RecordError if it does not
        fit the annotations."""
        result: R = _converter(cls)(data, cls.__name__)
        return result

    @classmethod
    def model_validate_json(cls: type[R], text: str | bytes) -> R:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise RecordError(f"{cls.__name__}: not JSON ({exc})") from None
        return cls.model_validate(data)


# -- dumping ---------------------------------------------------------------------------------------
def _dump_record(value: Record, json_mode: bool, exclude: set[str] | None = None) -> dict[str, Any]:
    cls = type(value)
    floats = _float_fields(cls)
    out: dict[str, Any] = {}
    for name in field_names(cls):
        if exclude and name in exclude:
            continue
        item = getattr(value, name)
        if name in floats and type(item) is int:
            item = float(item)
        out[name] = _dump(item, json_mode)
    return out


def _dump(value: Any, json_mode: bool) -> Any:
    if value is None or (isinstance(value, (str, int)) and not isinstance(value, Enum)):
        return value
    if isinstance(value, float):
        return None if json_mode and not math.isfinite(value) else value
    if isinstance(value, Record):
        return _dump_record(value, json_mode)
    if isinstance(value, Enum):
        return value.value if json_mode else value
    if isinstance(value, dict):
        return {_dump(k, json_mode): _dump(v, json_mode) for k, v in value.items()}
    if isinstance(value, list):
        return [_dump(v, json_mode) for v in value]
    if isinstance(value, tuple):
        items = [_dump(v, json_mode) for v in value]
        return items if json_mode else tuple(items)
    dump = getattr(value, "model_dump", None)  # a pydantic model inside (a declared spec)
    return dump(mode="json" if json_mode else "python") if callable(dump) else value


def _float_text(value: float) -> str:
    """pydantic_core's notation for a finite float: Python's repr except that exponents have
    no zero padding (``1e-7``, not ``1e-07``) and ``1e-5 <= |x| < 1e-4`` is written out
    (``0.00001``). Checked against pydantic_core.to_json on 200k random and edge floats."""
    text = repr(value)
    if "e" not in text:
        return text
    mantissa, exp_text = text.split("e")
    exponent = int(exp_text)
    if exponent == -5:
        sign = "-" if mantissa.startswith("-") else ""
        return sign + "0.0000" + mantissa.lstrip("-").replace(".", "")
    return f"{mantissa}e{exponent:+d}" if exponent > 0 else f"{mantissa}e{exponent}"


_encode_str: Callable[[str], str] = json.encoder.encode_basestring


def dumps(data: Any, *, indent: int | None = None) -> str:
    """JSON text of plain data as pydantic's serializer writes it: UTF-8 text unescaped,
    ``null`` for non-finite floats, compact separators without ``indent``."""
    out: list[str] = []
    _write(data, out, indent, 0)
    return "".join(out)


def _write(value: Any, out: list[str], indent: int | None, depth: int) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float_text(value) if math.isfinite(value) else "null")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner, close, sep = _layout(indent, depth)
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            out.append(("," if i else "") + inner)
            out.append(_encode_str(key if isinstance(key, str) else str(key)) + sep)
            _write(item, out, indent, depth + 1)
        out.append(close + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner, close, _ = _layout(indent, depth)
        out.append("[")
        for i, item in enumerate(value):
            out.append(("," if i else "") + inner)
            _write(item, out, indent, depth + 1)
        out.append(close + "]")
    else:
        raise TypeError(f"not JSON data: {type(value).__name__}")


def _layout(indent: int | None, depth: int) -> tuple[str, str, str]:
    """(before each item, before the closing bracket, after a key) at this depth."""
    if indent is None:
        return "", "", ":"
    return "\n" + " " * (indent * (depth + 1)), "\n" + " " * (indent * depth), ": "


# -- loading our own stored JSON -------------------------------------------------------------------
Convert = Callable[[Any, str], Any]
_CONVERTERS: dict[Any, Convert] = {}


def _converter(tp: Any) -> Convert:
    """The checking converter of a type, built once per type from its annotations."""
    found = _CONVERTERS.get(tp)
    if found is None:
        found = _CONVERTERS[tp] = _build(tp)
    return found


def _fail(where: str, what: str, value: Any) -> RecordError:
    return RecordError(f"{where}: expected {what}, got {type(value).__name__}")


def _build(tp: Any) -> Convert:
    if isinstance(tp, type) and issubclass(tp, Record):
        return _record_converter(tp)
    if tp is Any:
        return lambda v, where: v
    if tp is type(None):
        return _exact(lambda v: v is None, "null")
    if tp is bool:
        return _exact(lambda v: v is True or v is False, "a boolean")
    if tp is int:
        return _exact(lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")
    if tp is float:
        return _to_float
    if tp is str:
        return _exact(lambda v: isinstance(v, str), "a string")
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _enum(tp)
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        allowed = set(args)
        return _exact(lambda v: isinstance(v, (str, int, bool, type(None))) and v in allowed,
                      f"one of {sorted(map(str, args))}")
    if origin in (Union, types.UnionType):
        return _union([_converter(a) for a in args])
    if origin is list:
        return _sequence(_converter(args[0]) if args else _converter(Any), list)
    if origin is tuple:
        return _tuple(args)
    if origin is dict:
        return _mapping(_converter(args[0]), _converter(args[1]))
    raise TypeError(f"records: no converter for {tp!r}")


def _exact(test: Callable[[Any], bool], what: str) -> Convert:
    def convert(value: Any, where: str) -> Any:
        if not test(value):
            raise _fail(where, what, value)
        return value

    return convert


def _to_float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, "a number", value)
    return float(value)


def _enum(tp: type[Enum]) -> Convert:
    def convert(value: Any, where: str) -> Any:
        try:
            return tp(value)
        except (ValueError, TypeError):
            raise _fail(where, f"a {tp.__name__}", value) from None

    return convert


def _union(options: list[Convert]) -> Convert:
    def convert(value: Any, where: str) -> Any:
        for option in options:
            try:
                return option(value, where)
            except RecordError:
                continue
        raise _fail(where, "a value of the declared union", value)

    return convert


def _sequence(item: Convert, kind: type) -> Convert:
    def convert(value: Any, where: str) -> Any:
        if not isinstance(value, list):
            raise _fail(where, "a list", value)
        return kind(item(v, f"{where}[{i}]") for i, v in enumerate(value))

    return convert


def _tuple(args: tuple[Any, ...]) -> Convert:
    if len(args) == 2 and args[1] is Ellipsis:
        return _sequence(_converter(args[0]), tuple)
    items = [_converter(a) for a in args]

    def convert(value: Any, where: str) -> Any:
        if not isinstance(value, list) or len(value) != len(items):
            raise _fail(where, f"a list of {len(items)}", value)
        pairs = enumerate(zip(items, value, strict=True))
        return tuple(c(v, f"{where}[{i}]") for i, (c, v) in pairs)

    return convert


def _mapping(key: Convert, item: Convert) -> Convert:
    def convert(value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise _fail(where, "an object", value)
        return {key(k, where): item(v, f"{where}.{k}") for k, v in value.items()}

    return convert


def _record_converter(cls: type[Record]) -> Convert:
    hints = typing.get_type_hints(cls)  # each base's annotations in its own module
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    convert_field = {name: _converter(hints[name]) for name in fields}
    required = {name for name, f in fields.items()
                if f.default is MISSING and f.default_factory is MISSING}

    def convert(value: Any, where: str) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            raise _fail(where, f"a {cls.__name__} object", value)
        unknown = value.keys() - fields.keys()
        missing = required - value.keys()
        if unknown or missing:
            raise RecordError(f"{where}: unknown fields {sorted(unknown)}, "
                              f"missing {sorted(missing)}")
        return cls(**{k: convert_field[k](v, f"{where}.{k}") for k, v in value.items()})

    return convert
