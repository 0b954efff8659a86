"""Property tests: hostile bytes never crash the header or index reader.

The contract (safetensors format spec, plus archlint's error policy): for ANY input,
`parse_safetensors_prefix` returns a ParsedHeader or raises HeaderError, and `parse_index`
returns a ParsedIndex or raises HeaderError; nothing else escapes (no KeyError, TypeError,
RecursionError, MemoryError, UnicodeError, OverflowError...). Valid headers built from random
tensor tables parse back exactly and with no problems.

Default run: FAST examples per property (seconds). `pytest -m slow tests/test_fuzz.py` runs the
campaign with SLOW examples per property; ARCHLINT_FUZZ_EXAMPLES overrides SLOW and
ARCHLINT_FUZZ_REPORT=path writes per-property case counts and outcomes there (RELIABILITY.md
quotes such a run).
"""

from __future__ import annotations

import json
import ntpath
import os
import posixpath
import struct
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import safetensors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archlint.checkpoint import TensorInfo
from archlint.dtypes import DTYPE_BITS
from archlint.errors import HeaderError
from archlint.source.index import check_shards, parse_index, safe_shard_name
from archlint.source.safetensors_header import ParsedHeader, parse_safetensors_prefix

FAST = 150
SLOW = int(os.environ.get("ARCHLINT_FUZZ_EXAMPLES", "5000"))
OUTCOMES: dict[str, Counter[str]] = {}

ROOT = Path(__file__).resolve().parent.parent


# -- the contract --------------------------------------------------------------------------------

def outcome_of_header(buf: bytes, file_size: int | None) -> str:
    try:
        parsed = parse_safetensors_prefix(buf, file_name="f.safetensors", file_size=file_size)
    except HeaderError as err:
        assert err.code in {"AL001", "AL002", "AL003"}, err
        assert "\n" not in str(err)
        return f"fatal {err.code}"
    assert isinstance(parsed, ParsedHeader)
    for t in parsed.tensors:  # what is kept is well-typed for everything downstream
        assert isinstance(t.name, str) and isinstance(t.dtype, str)
        assert all(type(d) is int and d >= 0 for d in t.shape)
        assert type(t.start) is int and type(t.end) is int and 0 <= t.start <= t.end
        t.name.encode("utf-8")  # printable: no unpaired surrogates
    return "ok" if not parsed.problems else "problems " + ",".join(
        sorted({p.code for p in parsed.problems}))


def outcome_of_index(data: bytes | str) -> str:
    try:
        idx = parse_index(data, file_name="model.safetensors.index.json")
    except HeaderError as err:
        assert err.code == "AL016", err
        return "fatal AL016"
    assert all(safe_shard_name(s) for s in idx.shards)
    assert set(idx.weight_map.values()) <= set(idx.shards)
    check_shards(idx, {}, set())
    return "ok" if not idx.problems else "problems"


def record(name: str, outcome: str) -> None:
    OUTCOMES.setdefault(name, Counter())[outcome] += 1


# -- strategies ----------------------------------------------------------------------------------

DTYPES = sorted(DTYPE_BITS)
names = st.text(st.characters(codec="utf-8"), max_size=12)
shapes = st.lists(st.integers(0, 9), max_size=4)


@st.composite
def valid_files(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str, tuple[int, ...], int]]]:
    """A spec-conforming file and the (name, dtype, shape, nbytes) table it was built from."""
    table = []
    tensor_names = names.filter(lambda n: n != "__metadata__")
    for name in draw(st.lists(tensor_names, unique=True, max_size=8)):
        dtype, shape = draw(st.sampled_from(DTYPES)), tuple(draw(shapes))
        numel = 1
        for d in shape:
            numel *= d
        if numel * DTYPE_BITS[dtype] % 8:  # odd count of sub-byte values: not whole bytes
            dtype = "U8"
        table.append((name, dtype, shape, numel * DTYPE_BITS[dtype] // 8))
    header: dict[str, Any] = {}
    if draw(st.booleans()):
        header["__metadata__"] = draw(st.dictionaries(names, names, max_size=3))
    offset = 0
    for name, dtype, shape, nbytes in table:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    body = json.dumps(header, ensure_ascii=draw(st.booleans())).encode()
    body += b" " * draw(st.integers(0, 7))
    return struct.pack("<Q", len(body)) + body + bytes(offset), table


def mutate(buf: bytes, data: st.DataObject) -> bytes:
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "length", "splice"]))
    if kind == "flip":
        out = bytearray(buf)
        for _ in range(data.draw(st.integers(1, 4))):
            out[data.draw(st.integers(0, len(out) - 1))] = data.draw(st.integers(0, 255))
        return bytes(out)
    if kind == "truncate":
        return buf[: data.draw(st.integers(0, len(buf)))]
    if kind == "insert":
        at = data.draw(st.integers(0, len(buf)))
        return buf[:at] + data.draw(st.binary(min_size=1, max_size=16)) + buf[at:]
    if kind == "length":
        forged = data.draw(st.one_of(st.integers(0, 2**64 - 1), st.integers(0, len(buf) + 16)))
        return struct.pack("<Q", forged) + buf[8:]
    token = data.draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"true", b"1.5",
                                       b"-1", b"1e400", b"null", b'"x"', b"{}", b"[]",
                                       b"18446744073709551616", b"9" * 5000]))
    return buf.replace(b"0", token, 1) if data.draw(st.booleans()) else buf.replace(b"1", token)


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                      st.floats(allow_nan=False), names)
json_values = st.recursive(json_leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(names, kids, max_size=4)), max_leaves=20)


# -- properties (each: strategy, check) ----------------------------------------------------------

def prop_any_bytes(buf: bytes) -> str:
    return outcome_of_header(buf, len(buf) if buf[:1] != b"\x00" else None)


def prop_length_then_any_body(body: bytes) -> str:
    return outcome_of_header(struct.pack("<Q", len(body)) + body, len(body) + 8)


def prop_brace_then_any_text(text: str) -> str:
    body = ("{" + text).encode("utf-8", "surrogatepass")
    return outcome_of_header(struct.pack("<Q", len(body)) + body, None)


def prop_valid_roundtrip(case: tuple[bytes, list[tuple[str, str, tuple[int, ...], int]]]) -> str:
    buf, table = case
    parsed = parse_safetensors_prefix(buf, file_name="f", file_size=len(buf))
    assert parsed.problems == []
    got = [(t.name, t.dtype, t.shape, t.end - t.start) for t in parsed.tensors]  # type: ignore
    assert got == table
    return "ok"


def prop_differential(data: st.DataObject) -> str:
    """Against the reference reader (the safetensors package, Rust): where we see no problem it
    loads the file, and where it loads the file we never fail outright. We are stricter only
    in problems (duplicate keys, non-0x20 padding), never in what we refuse."""
    buf, _ = data.draw(valid_files())
    if data.draw(st.booleans()):
        buf = mutate(buf, data)
    try:
        parsed = parse_safetensors_prefix(buf, file_name="f", file_size=len(buf))
        ours = "ok" if not parsed.problems else "problems"
    except HeaderError:
        ours = "fatal"
    try:
        safetensors.deserialize(buf)
        theirs = "loads"
    except Exception:  # the reference raises SafetensorError and friends
        theirs = "refuses"
    assert not (ours == "ok" and theirs == "refuses"), buf[:200]
    assert not (ours == "fatal" and theirs == "loads"), buf[:200]
    return f"{ours}/{theirs}"


def prop_mutated_valid(data: st.DataObject) -> str:
    buf, _ = data.draw(valid_files())
    bad = mutate(buf, data)
    return outcome_of_header(bad, data.draw(st.sampled_from([None, len(bad)])))


def prop_json_object_as_header(value: Any) -> str:
    body = json.dumps({"t": value, "__metadata__": value}).encode()
    return outcome_of_header(struct.pack("<Q", len(body)) + body, None)


def prop_nesting(depth: int) -> str:
    body = ('{"a":' + "[" * depth + "]" * depth + "}").encode()
    return outcome_of_header(struct.pack("<Q", len(body)) + body, len(body) + 8)


def prop_index_any_bytes(data: bytes) -> str:
    return outcome_of_index(data)


def prop_index_any_json(value: Any) -> str:
    return outcome_of_index(json.dumps({"metadata": value, "weight_map": value}))


def prop_index_weight_map(weight_map: dict[str, Any]) -> str:
    return outcome_of_index(json.dumps({"weight_map": weight_map}))


def prop_check_shards(case: tuple[dict[str, str], dict[str, list[str]]]) -> str:
    weight_map, shard_names = case
    idx = parse_index(json.dumps({"metadata": {"total_size": 4}, "weight_map": weight_map}),
                      file_name="i.json")
    shards = {s: [TensorInfo(n, "U8", (1,), s, i, i + 1) for i, n in enumerate(ns)]
              for s, ns in shard_names.items()}
    problems = check_shards(idx, shards, set(shard_names))
    assert {p.code for p in problems} <= {"AL011", "AL012", "AL013", "AL014", "AL017"}
    return "ok" if not problems else "problems"


def prop_shard_names_stay_inside(name: str) -> str:
    if not safe_shard_name(name):
        return "refused"
    assert posixpath.normpath(posixpath.join("/repo", name)).startswith("/repo/")
    assert ntpath.normpath(ntpath.join("C:\\repo", name)).startswith("C:\\repo\\")
    return "accepted"


path_chars = st.sampled_from([*"ab./\\:~\x00\n ", "..", "C:", "\ud800", "é"])
tensor_names = st.sampled_from(["a", "b", "c", "d"])
shard_files = st.sampled_from(["s1", "s2", "s3"])

# -- GGUF -----------------------------------------------------------------------------------------

def outcome_of_gguf(buf: bytes, file_size: int | None) -> str:
    """parse_gguf's contract: a ParsedGGUF, a one-line HeaderError AL020, or (only when the
    buffer is a strict prefix of the file) NeedMoreBytes asking for more than it has."""
    from archlint.source.gguf_header import NeedMoreBytes, ParsedGGUF, parse_gguf

    try:
        parsed = parse_gguf(buf, file_name="f.gguf", file_size=file_size)
    except HeaderError as err:
        assert err.code == "AL020" and "\n" not in str(err), err
        return "fatal"
    except NeedMoreBytes as more:
        assert file_size is not None and len(buf) < file_size
        assert len(buf) < more.needed <= more.estimate <= file_size
        return "need-more"
    assert isinstance(parsed, ParsedGGUF)
    for t in parsed.tensors:
        assert isinstance(t.name, str) and all(type(d) is int and d >= 0 for d in t.shape)
    return "accepted"


def _valid_gguf() -> bytes:
    return (ROOT / "fixtures" / "broken" / "gguf" / "valid.gguf").read_bytes()


def prop_gguf_any_bytes(body: bytes) -> str:
    return outcome_of_gguf(b"GGUF\x03\x00\x00\x00" + body, None)


def prop_gguf_mutated(data: st.DataObject) -> str:
    buf = bytearray(_valid_gguf())
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(buf) - 1))
        buf[at] = data.draw(st.integers(0, 255))
    return outcome_of_gguf(bytes(buf), len(buf))


def prop_gguf_prefix(cut: int) -> str:
    """Any prefix of a valid file either parses (the header fits) or asks for more."""
    whole = _valid_gguf()
    got = outcome_of_gguf(whole[:cut], len(whole))
    assert got in ("accepted", "need-more")
    return got


PROPERTIES: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], str]]] = {
    "gguf/any-bytes": (st.binary(max_size=512), prop_gguf_any_bytes),
    "gguf/mutated-valid": (st.data(), prop_gguf_mutated),
    "gguf/prefix": (st.integers(8, 384), prop_gguf_prefix),
    "header/any-bytes": (st.binary(max_size=512), prop_any_bytes),
    "header/valid-length-any-body": (st.binary(max_size=512), prop_length_then_any_body),
    "header/brace-any-text": (st.text(max_size=256), prop_brace_then_any_text),
    "header/valid-roundtrip": (valid_files(), prop_valid_roundtrip),
    "header/mutated-valid": (st.data(), prop_mutated_valid),
    "header/differential-vs-reference": (st.data(), prop_differential),
    "header/json-values": (json_values, prop_json_object_as_header),
    "header/nesting-depth": (st.integers(1, 120_000), prop_nesting),
    "index/any-bytes": (st.binary(max_size=512), prop_index_any_bytes),
    "index/json-values": (json_values, prop_index_any_json),
    "index/weight-map": (st.dictionaries(names, json_leaf, max_size=8), prop_index_weight_map),
    "index/check-shards": (st.tuples(st.dictionaries(tensor_names, shard_files),
                                     st.dictionaries(shard_files, st.lists(tensor_names))),
                           prop_check_shards),
    "index/shard-name-containment": (st.lists(path_chars, max_size=8).map("".join),
                                     prop_shard_names_stay_inside),
}


def run_property(name: str, examples: int) -> None:
    strategy, check = PROPERTIES[name]

    @settings(max_examples=examples, deadline=2000, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(strategy)
    def run(value: Any) -> None:
        record(name, check(value))

    run()


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_property(name: str) -> None:
    run_property(name, FAST)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PROPERTIES))
@pytest.mark.usefixtures("campaign")
def test_property_campaign(name: str) -> None:
    before = sum(OUTCOMES.get(name, Counter()).values())
    run_property(name, SLOW)
    report = os.environ.get("ARCHLINT_FUZZ_REPORT")
    if report:
        counts = OUTCOMES[name]
        with open(report, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"property": name, "cases": sum(counts.values()) - before,
                                 "outcomes": dict(counts.most_common())}) + "\n")


# -- explicit hostile shapes (seed corpus for the structured strategies) ------------------------

@pytest.mark.parametrize("depth", [1_000, 10_000, 100_000, 1_000_000])
def test_deep_nesting_is_a_header_error(depth: int) -> None:
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        body = ('{"x":' + opener * depth + "1" + closer * depth + "}").encode()
        with pytest.raises(HeaderError) as info:
            parse_safetensors_prefix(struct.pack("<Q", len(body)) + body, file_name="f")
        assert info.value.code == "AL003"
        with pytest.raises(HeaderError):
            parse_index(body, file_name="i.json")


def test_huge_lengths_never_allocate() -> None:
    for n in (2**64 - 1, 2**63, 2**40, 10**9, 25_000_001):
        with pytest.raises(HeaderError) as info:
            parse_safetensors_prefix(struct.pack("<Q", n) + b"{}", file_name="f")
        assert info.value.code == "AL001"


@pytest.mark.slow
@pytest.mark.usefixtures("campaign")
def test_worst_case_headers_stay_in_bounds() -> None:
    """25 MB (the default cap) of each hostile shape, parsed in a child limited to 2 GiB of
    address space: measured peaks are 0.1-0.75 GB and 0.1-8 s (RELIABILITY.md)."""
    script = textwrap.dedent("""
        import resource, struct, sys
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        from archlint.errors import HeaderError
        from archlint.source.safetensors_header import parse_safetensors_prefix as parse
        N = 25_000_000
        shapes = {
            "deep": '{"a":' + "[" * (N // 2 - 4) + "]" * (N // 2 - 4) + "}",
            "empty-objects": '{"a":[' + "{}," * ((N - 12) // 3) + "{}]}",
            "ints": '{"a":[' + "0," * ((N - 12) // 2) + "0]}",
            "nan": '{"a":[' + "NaN," * ((N - 12) // 4) + "0]}",
            "one-string": '{"a":"' + "x" * (N - 8) + '"}',
            "tensors": "{" + ",".join('"t%d":{"dtype":"Q","shape":[1],"data_offsets":[0,1]}'
                                      % i for i in range(N // 62)) + "}",
        }
        for name, text in shapes.items():
            body = text.encode()
            assert len(body) <= N, (name, len(body))
            try:
                parse(struct.pack("<Q", len(body)) + body, file_name=name)
            except HeaderError:
                pass
            print(name, "ok", flush=True)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count(" ok") == 6
