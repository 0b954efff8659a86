"""The conformance ratchet: every in-scope model_type, archlint against transformers.

It stays green while archlint improves: a type recorded exact in expected.json must stay
exact, and no type may make archlint raise a Python exception unless it already did when
expected.json was written (an honest one-line error is fine). Regenerate both expected.json
and CONFORMANCE.md with `python scripts/conformance.py --write` after an improvement.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch")

from tests.conformance import run

EXPECTED = Path(__file__).with_name("expected.json")

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module")
def rows() -> dict[str, run.Row]:
    got, _ = run.run_all()
    by_type = {r.model_type: r for r in got}
    # A type that ran out of time on a busy machine is checked once more, alone, before a
    # timeout can read as a regression.
    jobs = {job[0]: job for job in run.plan()[0]}
    for model_type, row in list(by_type.items()):
        if row.detail.startswith("timeout") and model_type in jobs:
            by_type[model_type] = run.check(*jobs[model_type])
    return by_type


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(EXPECTED.read_text())


def test_same_transformers(expected: dict) -> None:
    import transformers

    from archlint.families import tf_tables

    assert expected["transformers_version"] == transformers.__version__
    assert tf_tables.transformers_version() == transformers.__version__


def test_exact_types_stay_exact(rows: dict[str, run.Row], expected: dict) -> None:
    regressed = {
        t: f"{rows[t].verdict}: {rows[t].detail}" if t in rows else "no longer checked"
        for t in expected["exact"]
        if t not in rows or rows[t].verdict != "exact"
    }
    assert not regressed, regressed


def test_no_new_crashes(rows: dict[str, run.Row], expected: dict) -> None:
    known = set(expected["crash"])
    crashes = {t: r.detail for t, r in rows.items() if r.verdict == "crash" and t not in known}
    assert not crashes, crashes


def test_every_in_scope_type_is_checked(rows: dict[str, run.Row], expected: dict) -> None:
    assert set(expected["sources"]) <= set(rows)
