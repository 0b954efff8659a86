"""Index reader (model.safetensors.index.json) and the index ⇄ shard-header checks.

Expected codes and byte totals are hand-computed: total_size is the sum of tensor bytes
(elements * dtype bits / 8), the convention transformers' save_pretrained writes.
"""

from __future__ import annotations

import json
import time

import pytest

from archlint.checkpoint import TensorInfo
from archlint.errors import HeaderError
from archlint.source.index import (
    MAX_INDEX_BYTES,
    MAX_SHARDS,
    ParsedIndex,
    check_shards,
    parse_index,
    safe_shard_name,
)

S1, S2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"


def index_text(weight_map: dict[str, object], total_size: object = 24) -> str:
    return json.dumps({"metadata": {"total_size": total_size}, "weight_map": weight_map})


def parse(text: str | bytes) -> ParsedIndex:
    return parse_index(text, file_name="model.safetensors.index.json")


def codes(problems: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(p.code for p in problems)


def t(name: str, shard: str, begin: int, end: int, dtype: str = "F32") -> TensorInfo:
    return TensorInfo(name, dtype, ((end - begin) * 8 // 32,), shard, begin, end)


# -- parse_index ---------------------------------------------------------------------------------

def test_valid_index() -> None:
    idx = parse(index_text({"a": S1, "b": S1, "c": S2}))
    assert idx.weight_map == {"a": S1, "b": S1, "c": S2}
    assert idx.shards == [S1, S2]
    assert idx.total_size == 24
    assert idx.problems == []
    assert idx.raw["metadata"] == {"total_size": 24}


def test_bytes_with_bom_and_no_metadata() -> None:
    idx = parse(b"\xef\xbb\xbf" + json.dumps({"weight_map": {"a": S1}}).encode())
    assert (idx.total_size, idx.shards, idx.problems) == (None, [S1], [])


SAFE = ["model.safetensors", "sub/dir/model-00001-of-00002.safetensors", "a..b.safetensors",
        "...safetensors", "ünïcode.safetensors", "~/x.safetensors"]
UNSAFE = ["", "../model.safetensors", "sub/../../etc/passwd", "..", ".", "./model.safetensors",
          "/etc/passwd", "//server/share/x", "C:\\Windows\\x", "C:model.safetensors",
          "c:/x.safetensors", "sub\\..\\x", "a\x00b", "a/", "a//b", "line\nbreak",
          "esc\x1b[31m", "\ud800.safetensors", "sub/.",
          "x:y.safetensors", "model.safetensors:stream", "\\\\?\\C:\\x"]


@pytest.mark.parametrize("name", SAFE)
def test_safe_shard_names(name: str) -> None:
    assert safe_shard_name(name)


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_shard_names(name: str) -> None:
    assert not safe_shard_name(name)


def test_non_string_is_not_a_safe_name() -> None:
    assert not safe_shard_name(None)  # type: ignore[arg-type]
    assert not safe_shard_name(3)  # type: ignore[arg-type]


def test_unsafe_shard_reported_once_and_dropped() -> None:
    idx = parse(index_text({"a": S1, "b": "../../x", "c": "../../x", "d": "/abs"}))
    assert idx.weight_map == {"a": S1}
    assert idx.shards == [S1]
    assert codes(idx.problems) == ["AL015", "AL015"]
    assert "2 tensor(s)" in idx.problems[0].message
    assert idx.dropped == 3


FATAL = [
    pytest.param(b"\xff\xfe{}", id="not-utf8"),
    pytest.param("", id="empty"),
    pytest.param("[]", id="array"),
    pytest.param('"weight_map"', id="string"),
    pytest.param("{", id="truncated"),
    pytest.param('{"weight_map":{}} trailing', id="trailing-data"),
    pytest.param('{"weight_map":{}}{"weight_map":{}}', id="two-objects"),
    pytest.param("{}", id="no-weight-map"),
    pytest.param('{"weight_map":[["a","b"]]}', id="weight-map-array"),
    pytest.param('{"weight_map":null}', id="weight-map-null"),
    pytest.param('{"weight_map":' + "[" * 100_000 + "]" * 100_000 + "}", id="deep-100k"),
    pytest.param('{"a":' * 50_000 + "1" + "}" * 50_000, id="objects-50k-deep"),
]


@pytest.mark.parametrize("data", FATAL)
def test_fatal_index(data: str | bytes) -> None:
    with pytest.raises(HeaderError) as info:
        parse(data)
    assert info.value.code == "AL016"
    assert "\n" not in str(info.value)


def test_index_size_cap() -> None:
    with pytest.raises(HeaderError, match="limit"):
        parse(b" " * (MAX_INDEX_BYTES + 1))


def test_too_many_shards_is_fatal() -> None:
    weight_map = {f"t{i}": f"s{i}.safetensors" for i in range(MAX_SHARDS + 1)}
    with pytest.raises(HeaderError, match=str(MAX_SHARDS)):
        parse(index_text(weight_map))
    ok = {f"t{i}": f"s{i}.safetensors" for i in range(MAX_SHARDS)}
    assert len(parse(index_text(ok)).shards) == MAX_SHARDS


RECOVERABLE = [
    pytest.param(index_text({"a": S1}, total_size=True), ["AL006"], id="total-size-bool"),
    pytest.param(index_text({"a": S1}, total_size=24.0), ["AL006"], id="total-size-float"),
    pytest.param(index_text({"a": S1}, total_size=-1), ["AL006"], id="total-size-negative"),
    pytest.param(index_text({"a": S1}, total_size="24"), ["AL016"], id="total-size-string"),
    pytest.param('{"metadata":{"total_size":NaN},"weight_map":{"a":"x"}}', ["AL006", "AL006"],
                 id="total-size-nan"),
    pytest.param('{"metadata":[],"weight_map":{"a":"x"}}', ["AL016"], id="metadata-array"),
    pytest.param('{"weight_map":{}}', ["AL016"], id="empty-weight-map"),
    pytest.param('{"weight_map":{"a":1,"b":"x"}}', ["AL016"], id="shard-not-string"),
    pytest.param('{"weight_map":{"a":null,"b":"x"}}', ["AL016"], id="shard-null"),
    pytest.param('{"weight_map":{"a":"x","a":"y"}}', ["AL012"], id="dup-tensor-two-shards"),
    pytest.param('{"weight_map":{"a":"x","a":"x"}}', ["AL016"], id="dup-tensor-same-shard"),
    pytest.param('{"weight_map":{"a":"x"},"weight_map":{"a":"x"}}', ["AL016"],
                 id="dup-weight-map"),
    pytest.param('{"weight_map":{"a\\udc00":"x","b":"x"}}', ["AL016"],
                 id="lone-surrogate-tensor"),
    pytest.param('{"weight_map":{"a":"..\\\\x","b":"x"}}', ["AL015"], id="backslash-shard"),
]


@pytest.mark.parametrize(("text", "expected"), RECOVERABLE)
def test_recoverable_index(text: str, expected: list[str]) -> None:
    idx = parse(text)
    assert codes(idx.problems) == expected, idx.problems
    assert all(p.file == "model.safetensors.index.json" for p in idx.problems)


def test_duplicate_tensor_keeps_last_shard() -> None:
    idx = parse('{"weight_map":{"a":"x","a":"y"}}')
    assert idx.weight_map == {"a": "y"}
    assert idx.problems[0].pointer == "/weight_map/a"


# -- check_shards --------------------------------------------------------------------------------

def consistent() -> tuple[ParsedIndex, dict[str, list[TensorInfo]]]:
    # a: 8 bytes and b: 4 bytes in S1, c: 12 bytes in S2 → total_size 24 by hand.
    idx = parse(index_text({"a": S1, "b": S1, "c": S2}, total_size=24))
    shards = {S1: [t("a", S1, 0, 8), t("b", S1, 8, 12)], S2: [t("c", S2, 0, 12)]}
    return idx, shards


def test_consistent_checkpoint_has_no_problems() -> None:
    idx, shards = consistent()
    assert check_shards(idx, shards, {S1, S2, "config.json"}) == []
    assert check_shards(idx, shards, None) == []


def test_shard_file_missing() -> None:
    idx, shards = consistent()
    problems = check_shards(idx, {S1: shards[S1]}, {S1})
    assert codes(problems) == ["AL013"]  # and total_size is not compared on a partial read


def test_index_tensor_missing_from_its_shard() -> None:
    idx, shards = consistent()
    shards[S1] = [t("a", S1, 0, 8)]
    problems = check_shards(idx, shards, None)
    assert codes(problems) == ["AL011", "AL014"]  # b is gone: 20 bytes, not 24
    assert problems[0].pointer == "/weight_map/b"


def test_index_points_to_the_wrong_shard() -> None:
    idx, shards = consistent()
    shards[S1] = [t("a", S1, 0, 8)]
    shards[S2] = [t("b", S2, 0, 4), t("c", S2, 4, 16)]
    problems = check_shards(idx, shards, None)
    assert codes(problems) == ["AL011"]
    assert S2 in problems[0].message


def test_tensor_in_two_shards() -> None:
    idx, shards = consistent()
    shards[S2] = [t("a", S2, 0, 8), t("c", S2, 8, 20)]
    problems = check_shards(idx, shards, None)
    assert codes(problems) == ["AL012", "AL014"]  # 8 + 4 + 8 + 12 = 32 stored, index says 24


def test_tensor_not_in_index() -> None:
    idx, shards = consistent()
    shards[S2] = [t("c", S2, 0, 12), t("extra", S2, 12, 16)]
    problems = check_shards(idx, shards, None)
    assert codes(problems) == ["AL014", "AL017"]
    assert problems[0].file == S2 or problems[1].file == S2


def test_total_size_mismatch_only() -> None:
    idx = parse(index_text({"a": S1, "b": S1, "c": S2}, total_size=25))
    _, shards = consistent()
    problems = check_shards(idx, shards, None)
    assert codes(problems) == ["AL014"]
    assert "+" in problems[0].message or "-1" in problems[0].message


def test_total_size_not_compared_when_entries_were_dropped() -> None:
    idx = parse(index_text({"a": S1, "b": S1, "c": S2, "d": "../evil"}, total_size=99))
    _, shards = consistent()
    assert check_shards(idx, shards, None) == []


def test_total_size_uses_nbytes_without_offsets() -> None:
    idx = parse(index_text({"a": S1}, total_size=6))
    shards = {S1: [TensorInfo("a", "BF16", (3,), S1)]}  # 3 x 16 bits = 6 bytes
    assert check_shards(idx, shards, None) == []


def test_unread_shards_are_not_guessed_about() -> None:
    idx, shards = consistent()
    assert check_shards(idx, {S1: shards[S1]}, None) == []


def test_deepseek_sized_index_checks_fast() -> None:
    """163 shards x 564 tensors (DeepSeek-V3's ~92k); measured well under a second."""
    weight_map, shards, total = {}, {}, 0
    for s in range(163):
        name = f"model-{s + 1:05d}-of-000163.safetensors"
        shards[name] = []
        for i in range(564):
            tensor = f"model.layers.{s}.mlp.experts.{i}.weight"
            weight_map[tensor] = name
            shards[name].append(TensorInfo(tensor, "F8_E4M3", (8,), name, i * 8, i * 8 + 8))
            total += 8
    started = time.perf_counter()
    idx = parse(index_text(weight_map, total_size=total))
    problems = check_shards(idx, shards, set(shards))
    assert problems == [] and len(idx.shards) == 163 and len(idx.weight_map) == 163 * 564
    assert time.perf_counter() - started < 5.0


@pytest.mark.parametrize("weight_map", [
    {"a": "s1.safetensors", "b": "s2.safetensors", "c": "s1.safetensors"},
    {"a": "s1.safetensors", "b": "../x.safetensors"},
    {"a": "s1.safetensors", "b": 3},
    {"a": "s1.safetensors", "b": ["s1.safetensors"]},
    {"a": "s1.safetensors", "b": {"x": 1}},
    {f"t{i}": f"s{i % 3}.safetensors" for i in range(50)},
])
def test_weight_map_one_pass_matches_the_entry_by_entry_reading(
        weight_map: dict[str, object]) -> None:
    from archlint.problems import ProblemCollector
    from archlint.source.index import _read_weight_map

    quick, slow = ProblemCollector("i.json"), ProblemCollector("i.json")
    # check_unicode=True always takes the entry-by-entry loop; no name here holds a surrogate
    assert (_read_weight_map(weight_map, False, "i.json", quick)
            == _read_weight_map(weight_map, True, "i.json", slow))
    assert quick.finish() == slow.finish()
