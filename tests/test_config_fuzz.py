"""Config mutation fuzz: one key of a real config changed at a time never crashes the run.

Every config in fixtures/models and fixtures/zoo, each of its keys (top level, and one level into
nested objects: `text_config.*`, `rope_scaling.*`, `quantization_config.*` ...) replaced by one
hostile value at a time: removed, null, 0, -1, a 4000-digit integer, a boolean, a numeric
string, a list, an object, NaN, Infinity, a fraction, 40 levels of nesting. The contract
(issue 13): every outcome is a report (analysis, lint, the JSON report, which must be strict
JSON, and the text report) or one ArchlintError line; nothing else escapes.

Default run: FAST hypothesis examples drawn from those cases. `pytest -m slow
tests/test_config_fuzz.py` runs every case once (ARCHLINT_CONFIG_FUZZ_REPORT=path writes the
outcome counts there; RELIABILITY.md quotes such a run).
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archlint.analysis.profile import Options
from archlint.api import analyze_checkpoint
from archlint.checkpoint import Checkpoint
from archlint.errors import ArchlintError

ROOT = Path(__file__).resolve().parent.parent
FAST = int(os.environ.get("ARCHLINT_CONFIG_FUZZ_FAST", "300"))
OUTCOMES: Counter[str] = Counter()


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


_MISSING = object()
MUTATIONS: dict[str, Any] = {
    "missing": _MISSING,
    "null": None,
    "zero": 0,
    "negative": -1,
    "huge": 10**4000,  # json.loads reads 4000 digits (the int limit is 4300)
    "boolean": True,
    "numeric-string": "64",
    "list": [1, 2],
    "object": {"a": 1},
    "nan": math.nan,
    "infinity": math.inf,
    "fraction": 2.5,
    "deep": _deep(40),
}


def _fixture_files() -> list[Path]:
    return sorted([*(ROOT / "fixtures" / "models").glob("*.json.gz"),
                   *(ROOT / "fixtures" / "zoo").glob("*.json.gz")])


#: tensor tables larger than this are dropped from the seed (DeepSeek-R1's 91k tensors cost
#: seconds of lint per case); the config-vs-tensor rules still run on the smaller ones.
MAX_SEED_TENSORS = 1500


@cache
def _base(path: Path) -> Checkpoint | None:
    try:
        checkpoint = Checkpoint.load(path)
    except Exception:  # a zoo file in another format: not a fuzz seed
        return None
    if not isinstance(checkpoint.config, dict):
        return None
    if checkpoint.tensors is not None and len(checkpoint.tensors) > MAX_SEED_TENSORS:
        checkpoint = Checkpoint(model_id=checkpoint.model_id, source=checkpoint.source,
                                config=checkpoint.config, config_text=checkpoint.config_text)
    return checkpoint


def _key_paths(config: dict[str, Any]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for key, value in config.items():
        paths.append((key,))
        if isinstance(value, dict):
            paths.extend((key, inner) for inner in value)
    return paths


@cache
def cases() -> list[tuple[Path, tuple[str, ...]]]:
    out = []
    for path in _fixture_files():
        base = _base(path)
        if base is not None:
            out.extend((path, keys) for keys in _key_paths(base.config or {}))
    return out


def mutated(config: dict[str, Any], keys: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(config)
    node = out
    for key in keys[:-1]:
        node = node[key]
    if value is _MISSING:
        del node[keys[-1]]
    else:
        node[keys[-1]] = copy.deepcopy(value)
    return out


def _no_constants(name: str) -> Any:
    raise AssertionError(f"the JSON report holds the non-standard constant {name}")


def outcome(path: Path, keys: tuple[str, ...], mutation: str) -> str:
    """Run one case through analysis, lint and the JSON report; return its outcome's name."""
    from archlint.lint.engine import run_rules
    from archlint.lint.registry import load_rules
    from archlint.report.document import build_document
    from archlint.report.explain import explain
    from archlint.report.reporters import RenderContext, render

    base = _base(path)
    assert base is not None
    checkpoint = copy.copy(base)
    checkpoint.config = mutated(base.config or {}, keys, MUTATIONS[mutation])
    checkpoint.problems = list(base.problems)
    checkpoint.notes = list(base.notes)
    try:
        analysis = analyze_checkpoint(checkpoint, Options())
        analysis.findings = run_rules(analysis, rules=load_rules(plugins=False))
        document = build_document(analysis, explain(analysis.spec, analysis.profile))
        text = render("json", document, RenderContext())
        render("text", document, RenderContext(width=100))
    except ArchlintError as err:
        line = err.one_line()
        assert line and "\n" not in line, line
        return f"error {type(err).__name__}"
    json.loads(text, parse_constant=_no_constants)
    return "report"


@settings(max_examples=FAST, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(case=st.integers(min_value=0), mutation=st.sampled_from(sorted(MUTATIONS)))
def test_one_mutated_key_is_a_report_or_one_error(case: int, mutation: str) -> None:
    path, keys = cases()[case % len(cases())]
    OUTCOMES[outcome(path, keys, mutation)] += 1


#: crash classes the exhaustive campaign found (every fixture x key x mutation, 36,907 cases,
#: 2026-12-06): a 0-token window reached the report's attention line as a window of None
FOUND = [
    ("zoo/alpindale__recurrentgemma-9b.json.gz", ("attention_window_size",), "zero"),
    ("zoo/ataeff__recurrentgemma-2b-it.json.gz", ("attention_window_size",), "zero"),
    ("zoo/yikuan8__Clinical-Longformer.json.gz", ("attention_window",), "zero"),
]


@pytest.mark.parametrize("fixture, keys, mutation", FOUND)
def test_found_crash_classes_are_one_error(fixture: str, keys: tuple[str, ...],
                                           mutation: str) -> None:
    assert outcome(ROOT / "fixtures" / fixture, keys, mutation) == "error ConfigError"


@pytest.mark.parametrize("config", [
    # the generic reader's other window key, on a declared sliding layer
    {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
     "vocab_size": 100, "intermediate_size": 128, "window_size": 0,
     "layer_types": ["sliding_attention", "full_attention"]},
    # Gemma-2's sliding layers with sliding_window null and window_size 0
    {"model_type": "gemma2", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
     "vocab_size": 100, "intermediate_size": 128, "window_size": 0, "sliding_window": None},
])
def test_a_zero_token_window_is_one_error(config: dict[str, Any]) -> None:
    checkpoint = Checkpoint(model_id="x", source="catalog", config=config)
    with pytest.raises(ArchlintError, match="window_size must be a positive integer"):
        analyze_checkpoint(checkpoint, Options())


def test_the_fuzz_covers_every_fixture_config() -> None:
    seeded = {path for path, _ in cases()}
    assert len(seeded) >= 25  # fixtures/models alone holds 29 checkpoints, most with a config
    assert len(cases()) >= 1000


@pytest.mark.slow
@pytest.mark.usefixtures("campaign")
def test_every_mutation_of_every_key() -> None:
    """The campaign: every (fixture, key, mutation) once."""
    counts: Counter[str] = Counter()
    for path, keys in cases():
        for mutation in MUTATIONS:
            counts[outcome(path, keys, mutation)] += 1
    report = os.environ.get("ARCHLINT_CONFIG_FUZZ_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as fh:
            json.dump({"cases": sum(counts.values()), "outcomes": dict(counts.most_common())},
                      fh)
    OUTCOMES.update(counts)
