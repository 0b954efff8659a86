"""Towers of multimodal models (issue 10, item 1): every module outside the language model
counted from config.json alone, by the generated tower table.

Expected numbers come from outside archlint: transformers' own modules built on the meta
device IN the test (the conformance harness's class choice and language-model split,
tests/conformance/tf_side.py), on real configs from fixtures/ and on the same configs at
other sizes (tests/conformance/vary.py); and a hand calculation of LLaVA-1.5's CLIP-L/336
tower and projector for the path without transformers.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from archlint.api import analyze_checkpoint
from archlint.checkpoint import Checkpoint
from archlint.families import towers as towers_mod
from archlint.families.towers import evaluate, read_towers, table_entry
from tests.helpers import fresh_python

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = (
    "zoo/ybelkada__llava-1.5-7b.json.gz",
    "zoo/mohitsha__llava-1.5-7b-hf.json.gz",
    "zoo/mlx-community__gemma-3-4b-it-bf16.json.gz",
    "zoo/Abc7347__copytext27binstructgmn.json.gz",
    "zoo/GD-ML__AutoDrive-R2-7B-COT-SFT.json.gz",
    "zoo/AIPrep__gem-mid-ckpt.json.gz",
    "zoo/Aekanun__thai-handwriting-llm.json.gz",
    "zoo/gghfez__Llama-3.3-90B-Vision-merged.json.gz",
    "models/meta-llama__Llama-4-Scout-17B-16E-Instruct.json.gz",
)


def _config(name: str) -> dict:
    return Checkpoint.load(ROOT / "fixtures" / name).config


def _archlint_towers(config: dict) -> int:
    ckpt = Checkpoint(model_id="t/towers", source="local", config=config, weights_format="none")
    return analyze_checkpoint(ckpt).profile.params.by_component.get("towers", 0)


def _transformers_towers(config: dict) -> int:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from archlint.families import tf_tables
    from tests.conformance import tf_side

    model_type = config["model_type"]
    cls = tf_side.model_class_for(tf_tables.model_classes(model_type), "multimodal", config)
    model = tf_side.build_model(cls, tf_side.build_config(model_type, config))
    _, counts = tf_side.component_counts(model, multimodal=True)
    return counts.get("towers", 0)


@pytest.mark.parametrize("name", FIXTURES)
def test_real_config_towers_equal_transformers(name: str) -> None:
    config = _config(name)
    assert table_entry(config["model_type"]) is not None
    assert _archlint_towers(config) == _transformers_towers(config)


@pytest.mark.parametrize("name", FIXTURES)
def test_varied_config_towers_equal_transformers(name: str) -> None:
    from tests.conformance.vary import vary

    config, changes = vary(_config(name))
    if not changes:
        pytest.skip("vary finds no size key to move in this config")
    try:
        expected = _transformers_towers(config)
    except Exception as exc:  # a varied size transformers cannot build is no evidence
        pytest.skip(f"transformers cannot build the varied config: {exc}")
    assert _archlint_towers(config) == expected


def test_llava_tower_by_hand_without_transformers() -> None:
    """LLaVA-1.5 (CLIP ViT-L/14 at 336 px, Vicuna-7B): counted in a fresh interpreter with
    no torch/transformers import, against a hand count from modeling_clip / modeling_llava:
    patch conv 3·14²·1024 (no bias), class embedding 1024, (336/14)²+1 = 577 positions,
    pre-LayerNorm, 24 blocks of (4 biased 1024² projections, 2 LayerNorms, fc1/fc2 with
    biases at 4096), post-LayerNorm; projector 1024→4096→4096 with biases."""
    h, mlp, layers = 1024, 4096, 24
    block = 4 * (h * h + h) + 2 * 2 * h + (h * mlp + mlp) + (mlp * h + h)
    tower = 3 * 14 * 14 * h + h + 577 * h + 2 * h + layers * block + 2 * h
    projector = (h * 4096 + 4096) + (4096 * 4096 + 4096)
    code = (
        "import sys, json\n"
        "from archlint.checkpoint import Checkpoint\n"
        "from archlint.families.towers import read_towers\n"
        f"c = Checkpoint.load({str(ROOT / 'fixtures' / FIXTURES[1])!r}).config\n"
        "t = read_towers(c, 4096)\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "print(json.dumps([bad, {x.name: [x.params, x.understood] for x in t}]))\n"
    )
    bad, got = json.loads(fresh_python(code))
    assert bad == []
    assert got == {"vision": [tower, True], "projector": [projector, True]}


def test_expression_evaluator_refuses_what_is_no_size() -> None:
    env = {"a": 6, "b": 0, "c": 4}
    assert evaluate({"c": [1, 1], "b": 1, "f": [["//", "a", "c", 2]]}, env) == 2
    assert evaluate({"c": [1, 2], "b": 0, "f": [["a", 1]]}, env) == 3
    assert evaluate({"lin": [["a", 1, 1], ["c", 2, 1]], "b": -1}, env) == 13
    assert evaluate({"c": [1, 1], "f": [["//", "a", "b", 1]]}, env) is None  # zero divisor
    assert evaluate({"c": [1, 4], "f": [["a", 1]]}, env) is None  # not an integer
    assert evaluate({"c": [-1, 1], "f": [["a", 1]]}, env) is None  # negative
    assert evaluate({"c": [1, 1], "f": [["a", 99]]}, env) is None  # no such power
    assert evaluate("a * b", env) is None  # strings are never evaluated


def test_hostile_values_do_not_count_and_mark_an_estimate() -> None:
    config = json.loads(json.dumps(_config(FIXTURES[1])))
    config["vision_config"]["hidden_size"] = 10**30
    config["vision_config"]["num_hidden_layers"] = "24"
    towers = read_towers(config, 4096)
    assert towers and not any(t.understood for t in towers if t.name == "vision")
    assert all(0 <= t.params < 10**12 for t in towers)


def test_another_encoder_than_the_table_falls_back() -> None:
    """A LLaVA whose vision_config is SigLIP: the table (fitted on CLIP) does not apply."""
    config = json.loads(json.dumps(_config(FIXTURES[1])))
    config["vision_config"]["model_type"] = "siglip_vision_model"
    assert towers_mod.table_towers(config, "llava") is None
    assert read_towers(config, 4096)  # the hand formulas still size it


def test_table_is_deterministic_and_versioned() -> None:
    raw = (ROOT / "archlint" / "families" / "tower_table.json.gz").read_bytes()
    table = json.loads(gzip.decompress(raw))
    assert table["transformers_version"]
    assert raw[4:8] == b"\0\0\0\0"  # gzip mtime 0: rewriting it gives the same bytes


def test_text_types_skip_the_table_decode_and_wrappers_do_not() -> None:
    """The pre-check that spares a text model the 1.5 MB decode holds for every entry of the
    table and is false for the text types the table names only as a wrapper's sub-config
    (llama is LLaVA's `subs.text_config`: a bare-text search found it)."""
    raw = (ROOT / "archlint" / "families" / "tower_table.json.gz").read_bytes()
    table = json.loads(gzip.decompress(raw))["types"]
    subs = {v for entry in table.values() for v in (entry.get("subs") or {}).values()}
    assert "llama" in subs and "llama" not in table
    assert all(towers_mod._may_hold(name) for name in table)
    assert not any(towers_mod._may_hold(name) for name in subs - set(table))


def test_names_file_belongs_to_the_shipped_table() -> None:
    """The names a text model is answered from were written for these table bytes (the gzip
    trailer's CRC-32 says which), and name exactly the table's entries."""
    folder = ROOT / "archlint" / "families"
    raw = (folder / towers_mod.TABLE).read_bytes()
    shipped = json.loads((folder / towers_mod.NAMES).read_text())
    assert shipped == towers_mod.names_of(raw)
    assert set(shipped["types"]) == set(json.loads(gzip.decompress(raw))["types"])
    assert towers_mod._names() == frozenset(shipped["types"])


def test_names_of_other_bytes_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = (ROOT / "archlint" / "families" / towers_mod.TABLE).read_bytes()
    other = gzip.compress(gzip.decompress(raw) + b" ", mtime=0)  # another CRC
    monkeypatch.setattr(towers_mod, "_table_bytes", lambda: other)
    towers_mod._names.cache_clear()
    try:
        assert towers_mod._names() is None
    finally:
        towers_mod._names.cache_clear()


def _totals(config: dict) -> tuple[int, int]:
    """archlint's config-only total and transformers' (the harness's class, on meta)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from archlint.families import tf_tables
    from tests.conformance import tf_side

    ckpt = Checkpoint(model_id="t/towers", source="local", config=config, weights_format="none")
    ours = analyze_checkpoint(ckpt).profile.params.total
    model_type = config["model_type"]
    cls = tf_side.model_class_for(tf_tables.model_classes(model_type), "multimodal", config)
    model = tf_side.build_model(cls, tf_side.build_config(model_type, config))
    return ours, tf_side.component_counts(model, multimodal=True)[0]


@pytest.mark.parametrize(
    ("model_type", "changes"),
    [
        ("git", {}),
        # another vision width and depth and a smaller text model around them
        ("git", {"vision_config": {"hidden_size": 512, "intermediate_size": 1024,
                                   "num_hidden_layers": 3, "num_attention_heads": 8},
                 "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "vocab_size": 1000}),
        ("phi4_multimodal", {}),
    ],
    ids=["git", "git-varied", "phi4_multimodal"],
)
def test_towers_inside_the_language_model_equal_transformers(
    model_type: str, changes: dict
) -> None:
    """Where get_decoder() is the whole base model (GitModel holds image_encoder and
    visual_projection; Phi-4-multimodal's embed_tokens_extend its vision and audio
    encoders), the table keeps those children as towers, and GIT's text blocks take the
    structure transformers builds for the type (biased BERT-like blocks, fc1/fc2)."""
    from archlint.families import tf_tables

    config = json.loads(json.dumps(tf_tables.defaults_for(model_type)))
    for key, value in changes.items():
        if isinstance(value, dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    ours, theirs = _totals(config)
    assert ours == theirs
