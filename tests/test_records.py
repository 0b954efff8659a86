"""archlint.records: the plain records that replaced the pydantic models on the report path.

The reference is pydantic itself (a test may import it): the same fields declared as a
pydantic model must dump to the same bytes, and pydantic_core's float notation is matched on
edge values. Loading is for archlint's own stored JSON: a wrong type is refused.
"""

from __future__ import annotations

import math
from dataclasses import field
from enum import Enum
from typing import Literal, Optional, Union

import pytest
from pydantic import BaseModel
from pydantic_core import to_json

from archlint.records import Record, RecordError, dumps, record
from tests.helpers import analysis


class Colour(str, Enum):
    RED = "red"


@record
class Inner(Record):
    name: str
    ratio: float = 0


@record
class Outer(Record):
    kind: Literal["a", "b"]
    colour: Colour
    pair: tuple[int, int] | None = None
    inner: Inner
    items: list[Inner] = field(default_factory=list)
    table: dict[str, float] = field(default_factory=dict)
    note: str | None = None


class InnerModel(BaseModel):
    name: str
    ratio: float = 0


class OuterModel(BaseModel):
    kind: Literal["a", "b"]
    colour: Colour
    pair: tuple[int, int] | None = None
    inner: InnerModel
    items: list[InnerModel] = []
    table: dict[str, float] = {}
    note: str | None = None


VALUES = {"kind": "b", "colour": Colour.RED, "pair": (3, 4),
          "table": {"x": 1e-5, "y": float("inf"), "z": 2.5e-7, "w": 1e16, "é\n\"": 0.1}}


def _both() -> tuple[Outer, OuterModel]:
    rec = Outer(inner=Inner(name="a\u2028b\x01"), items=[Inner(name="c", ratio=3.0)], **VALUES)
    model = OuterModel(inner=InnerModel(name="a\u2028b\x01"),
                       items=[InnerModel(name="c", ratio=3.0)], **VALUES)
    return rec, model


def test_json_is_what_pydantic_wrote() -> None:
    rec, model = _both()
    for indent in (None, 2):
        assert rec.model_dump_json(indent=indent) == model.model_dump_json(indent=indent)
    assert rec.model_dump_json(exclude={"table"}) == model.model_dump_json(exclude={"table"})
    # an int default in a float field is written 0.0, as pydantic's serializer did
    assert '"ratio":0.0' in rec.model_dump_json()


def test_plain_data_is_what_pydantic_gave() -> None:
    rec, model = _both()
    assert rec.model_dump(mode="json") == _finite(model.model_dump(mode="json"))
    assert rec.model_dump() == {**model.model_dump(), "inner": {"name": "a\u2028b\x01",
                                                                "ratio": 0}}


def _finite(data: object) -> object:
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    return None if isinstance(data, float) and not math.isfinite(data) else data


@pytest.mark.parametrize("value", [1e-5, -1.5e-5, 9.99e-5, 1e-4, 1e-7, 1.5e-310, 1e16, 1e15,
                                   123456789012345678.0, 3e300, -0.0, 0.1, 1 / 3, 5e-324])
def test_float_notation_is_pydantic_cores(value: float) -> None:
    assert dumps(value) == to_json(value).decode()


def test_stored_json_loads_back_and_a_wrong_type_is_refused() -> None:
    rec = Outer(kind="a", colour=Colour.RED, pair=(3, 4), inner=Inner(name="n", ratio=2),
                table={"x": 1e-5})
    again = Outer.model_validate_json(rec.model_dump_json())
    assert again == Outer(kind="a", colour=Colour.RED, pair=(3, 4),
                          inner=Inner(name="n", ratio=2.0), table={"x": 1e-5})
    assert again.pair == (3, 4) and again.colour is Colour.RED
    assert isinstance(again.inner.ratio, float)
    # a non-finite float was written as null and, as with pydantic, does not load as a float
    for bad in ('{"kind": "c", "colour": "red", "inner": {"name": "x"}}',
                '{"kind": "a", "colour": "red", "inner": {"name": 3}}',
                '{"kind": "a", "colour": "red", "inner": {"name": "x"}, "extra": 1}',
                '{"kind": "a", "colour": "red"}', '[1]', "{not json",
                '{"kind": "a", "colour": "red", "inner": {"name": "x"}, "table": {"y": null}}'):
        with pytest.raises(RecordError):
            Outer.model_validate_json(bad)


def test_a_report_document_round_trips() -> None:
    from archlint.report.document import Report, build_document
    from archlint.report.explain import explain

    a = analysis("openai/gpt-oss-20b")
    doc = build_document(a, explain(a.spec, a.profile))
    text = doc.model_dump_json()
    assert Report.model_validate_json(text).model_dump_json() == text


def test_a_record_owns_the_containers_it_was_given() -> None:
    """pydantic rebuilt every list and dict it validated; an adapter that fills a provenance
    dict after building a spec must not change that spec."""
    table = {"x": 1.0}
    rec = Outer(kind="a", colour=Colour.RED, inner=Inner(name="n"), table=table)
    table["y"] = 2.0
    assert rec.table == {"x": 1.0}
    copy = rec.model_copy(update={"note": "n"})
    assert copy.note == "n" and rec.note is None and copy.inner is rec.inner


Ratios = list[float]  # an alias: its annotation's text names no list


@record
class Typed(Record):
    """Field types written in forms whose text says neither `float` nor `list[`."""

    scale: Optional[float] = 0  # noqa: UP045 — the spelling is the point
    ratios: Ratios = field(default_factory=list)
    weights: Union[dict[str, int], None] = None  # noqa: UP007


def test_float_and_container_fields_are_found_by_type_not_by_annotation_text() -> None:
    values = [0.5]
    got = Typed(ratios=values, weights={"a": 1})
    values.append(1.0)  # the record's list is its own
    assert got.ratios == [0.5]
    # pydantic writes an int held by an Optional[float] field as a float, as archlint does
    class Reference(BaseModel):
        scale: Optional[float] = 0  # noqa: UP045
    assert got.model_dump_json() == '{"scale":0.0,"ratios":[0.5],"weights":{"a":1}}'
    assert Reference(scale=0).model_dump_json() == '{"scale":0.0}'
