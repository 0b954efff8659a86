"""Strict safetensors header reader: valid files from the reference writer, and every malformed
header we could think of, each with the stable code the format spec violation must produce.

Expected values are hand-computed from the format spec (huggingface/safetensors README, "Format"):
8-byte little-endian u64 N, N bytes of JSON starting with '{' and padded with 0x20, tensors'
data_offsets relative to the buffer after the header, END - BEGIN == elements * bits / 8,
buffer fully indexed with no holes.
"""

from __future__ import annotations

import io
import json
import runpy
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import safetensors
from safetensors import TensorSpec, serialize
from safetensors.numpy import save

from archlint.dtypes import DTYPE_BITS
from archlint.errors import HeaderError, InputError
from archlint.problems import MAX_PROBLEMS_PER_CODE, PROBLEM_NAMES
from archlint.source.safetensors_header import (
    DEFAULT_MAX_HEADER_BYTES,
    FIRST_READ_BYTES,
    HARD_MAX_HEADER_BYTES,
    ParsedHeader,
    header_length,
    parse_header,
    parse_safetensors_prefix,
    read_header_from,
    read_local_header,
)

ROOT = Path(__file__).resolve().parent.parent


# -- builders ------------------------------------------------------------------------------------

def entry(dtype: str, shape: list[int], begin: int, end: int) -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def raw(text: str | bytes, *, data: int = 0, length: int | None = None) -> bytes:
    """A file by hand: prefix + header text + `data` zero bytes. `length` forges N."""
    body = text.encode() if isinstance(text, str) else text
    n = len(body) if length is None else length
    return struct.pack("<Q", n) + body + bytes(data)


def build(header: dict[str, object], *, data: int = 0, pad: str = "") -> bytes:
    return raw(json.dumps(header, separators=(",", ":")) + pad, data=data)


def parse(buf: bytes, *, exact_size: bool = True) -> ParsedHeader:
    return parse_safetensors_prefix(buf, file_name="m.safetensors",
                                    file_size=len(buf) if exact_size else None)


def codes(parsed: ParsedHeader) -> set[str]:
    return {p.code for p in parsed.problems}


# -- valid files from the reference writer -------------------------------------------------------

def test_numpy_save_roundtrip() -> None:
    buf = save({"a": np.zeros((2, 3), np.float32), "b": np.zeros((5,), np.float16)},
               metadata={"format": "pt"})
    parsed = parse(buf)
    assert parsed.problems == []
    assert parsed.metadata == {"format": "pt"}
    by_name = {t.name: t for t in parsed.tensors}
    # F32 2x3 = 24 bytes, F16 5 = 10 bytes; together they fill the buffer exactly.
    assert (by_name["a"].dtype, by_name["a"].shape) == ("F32", (2, 3))
    assert by_name["a"].end - by_name["a"].start == 24
    assert by_name["b"].end - by_name["b"].start == 10
    assert parsed.header_len == len(buf) - 8 - 34
    assert {t.shard for t in parsed.tensors} == {"m.safetensors"}


# torch-style names the writer accepts → the code the format spec writes; bits from the spec.
WRITER_DTYPES = {
    "bool": ("BOOL", 8), "int8": ("I8", 8), "uint8": ("U8", 8), "int16": ("I16", 16),
    "uint16": ("U16", 16), "int32": ("I32", 32), "uint32": ("U32", 32), "int64": ("I64", 64),
    "uint64": ("U64", 64), "float16": ("F16", 16), "float32": ("F32", 32),
    "float64": ("F64", 64), "bfloat16": ("BF16", 16), "float8_e4m3fn": ("F8_E4M3", 8),
    "float8_e4m3fnuz": ("F8_E4M3FNUZ", 8), "float8_e5m2": ("F8_E5M2", 8),
    "float8_e5m2fnuz": ("F8_E5M2FNUZ", 8), "float8_e8m0fnu": ("F8_E8M0", 8),
    "complex64": ("C64", 64),
}


@pytest.mark.parametrize("torch_name", sorted(WRITER_DTYPES))
def test_reference_writer_every_dtype(torch_name: str) -> None:
    code, bits = WRITER_DTYPES[torch_name]
    nbytes = 2 * 4 * bits // 8
    store = np.zeros(nbytes, np.uint8)
    spec = TensorSpec(dtype=torch_name, shape=[2, 4], data_ptr=store.ctypes.data, data_len=nbytes)
    parsed = parse(bytes(serialize({"w": spec})))
    assert parsed.problems == []
    assert [(t.dtype, t.shape, t.start, t.end) for t in parsed.tensors] == [(code, (2, 4), 0,
                                                                              nbytes)]
    assert DTYPE_BITS[code] == bits


def test_reference_writer_packed_f4_and_mixed_order() -> None:
    store = np.zeros(16, np.uint8)
    f4 = TensorSpec(dtype="float4_e2m1fn_x2", shape=[2, 2], data_ptr=store.ctypes.data,
                    data_len=4)  # the writer stores the logical shape [2, 4]: 8 x 4 bits
    bf = TensorSpec(dtype="bfloat16", shape=[3], data_ptr=store.ctypes.data, data_len=6)
    parsed = parse(bytes(serialize({"x": f4, "y": bf}, metadata={"format": "pt"})))
    assert parsed.problems == []
    by_name = {t.name: (t.dtype, t.shape, t.end - t.start) for t in parsed.tensors}
    assert by_name == {"x": ("F4", (2, 4), 4), "y": ("BF16", (3,), 6)}


def test_minimal_empty_header_is_valid() -> None:
    parsed = parse(raw("{}"))
    assert (parsed.header_len, parsed.tensors, parsed.problems, parsed.metadata) == (2, [], [],
                                                                                     None)


def test_space_padding_scalar_and_empty_tensors_are_valid() -> None:
    header = {"s": entry("F32", [], 0, 4), "e": entry("F16", [0, 7], 4, 4),
              "z": entry("F6_E2M3", [4], 4, 7)}  # 4 x 6 bits = 3 bytes
    parsed = parse(build(header, data=7, pad="    "))
    assert parsed.problems == []
    assert [t.name for t in parsed.tensors] == ["s", "e", "z"]


def test_extra_fields_in_entry_are_ignored_like_the_reference() -> None:
    parsed = parse(build({"a": {**entry("U8", [1], 0, 1), "note": {"x": [1]}}}, data=1))
    assert parsed.problems == []


# -- fatal: nothing usable; HeaderError with the stable code -------------------------------------

def deep(n: int) -> str:
    return '{"a":' + "[" * n + "]" * n + "}"


FATAL = [
    pytest.param(b"", "AL001", id="empty-file"),
    pytest.param(b"\x02\x00\x00", "AL001", id="prefix-3-bytes"),
    pytest.param(b"\x02\x00\x00\x00\x00\x00\x00", "AL001", id="prefix-7-bytes"),
    pytest.param(raw("{}", length=0), "AL001", id="length-zero"),
    pytest.param(raw("{}", length=1), "AL001", id="length-one"),
    pytest.param(raw("{}", length=DEFAULT_MAX_HEADER_BYTES + 1), "AL001", id="length-over-cap"),
    pytest.param(raw("{}", length=2**64 - 1), "AL001", id="length-u64-max"),
    pytest.param(raw("{}", length=2**63), "AL001", id="length-i64-sign-bit"),
    pytest.param(raw("{}", length=3), "AL001", id="length-past-eof"),
    pytest.param(raw("{}", length=100, data=50), "AL001", id="length-past-eof-with-data"),
    pytest.param(b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n", "AL001",
                 id="git-lfs-pointer"),
    pytest.param(b"PK\x03\x04" + bytes(60), "AL001", id="zip-pytorch-bin"),
    pytest.param(b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01" + bytes(40), "AL001", id="pickle"),
    pytest.param(b"<!DOCTYPE html><html>" + bytes(40), "AL001", id="html-error-page"),
    pytest.param(b'{"a": 1}' * 4, "AL001", id="plain-json-file"),
    pytest.param(raw("[1,2]"), "AL003", id="top-level-array"),
    pytest.param(raw('"{}"'), "AL003", id="top-level-string"),
    pytest.param(raw(" \t\n"), "AL003", id="only-whitespace"),
    pytest.param(raw("  [1]"), "AL003", id="whitespace-then-array"),
    pytest.param(raw("\ufeff{}"), "AL003", id="utf8-bom"),
    pytest.param(raw("{}".encode("utf-16")), "AL003", id="utf16-header"),
    pytest.param(raw(bytes(16)), "AL003", id="all-nul-header"),
    pytest.param(raw('{"a":'), "AL003", id="truncated-json"),
    pytest.param(raw('{"a":1,}'), "AL003", id="trailing-comma"),
    pytest.param(raw("{'a':1}"), "AL003", id="single-quotes"),
    pytest.param(raw('{"a":1 /* c */}'), "AL003", id="comment"),
    pytest.param(raw('{"a\x01":1}'), "AL003", id="raw-control-char-in-string"),
    pytest.param(raw('{"a":0x10}'), "AL003", id="hex-literal"),
    pytest.param(raw(deep(100_000)), "AL003", id="arrays-100k-deep"),
    pytest.param(raw('{"a":' * 50_000 + "1" + "}" * 50_000), "AL003", id="objects-50k-deep"),
    pytest.param(raw(b'{"\xff":1}'), "AL002", id="invalid-utf8-byte"),
    pytest.param(raw(b'{"\xc0\xaf":1}'), "AL002", id="overlong-utf8"),
    pytest.param(raw(b'{"\xed\xa0\x80":1}'), "AL002", id="utf8-encoded-surrogate"),
    pytest.param(raw(b'{"a":"\xe2\x82"}'), "AL002", id="truncated-utf8-sequence"),
    pytest.param(raw(b"{}   \xff"), "AL002", id="non-utf8-in-padding"),
]


@pytest.mark.parametrize(("buf", "code"), FATAL)
def test_fatal_header(buf: bytes, code: str) -> None:
    with pytest.raises(HeaderError) as info:
        parse(buf)
    err = info.value
    assert err.code == code
    assert err.file == "m.safetensors"
    assert "\n" not in str(err) and str(err).endswith(f"[{code}]")


def test_fatal_sniffing_names_the_real_format() -> None:
    with pytest.raises(HeaderError, match="Git LFS pointer"):
        parse(b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n")


def test_buffer_shorter_than_header_without_file_size() -> None:
    with pytest.raises(HeaderError) as info:
        parse(raw("{}", length=40), exact_size=False)
    assert info.value.code == "AL001"


# -- recoverable: problems with stable codes; readable tensors kept -----------------------------

F32x1 = entry("F32", [1], 0, 4)
HUGE = "1" + "0" * 5000  # past CPython's 4300-digit int() limit


def text(body: str, data: int = 0) -> bytes:
    return raw(body, data=data)


# (file bytes, exact file size known?, expected codes, tensor names kept)
RECOVERABLE = [
    pytest.param(build({"a": F32x1}, data=4, pad="\x00\x00"), True, {"AL004"}, ["a"],
                 id="nul-padding"),
    pytest.param(build({"a": F32x1}, data=4, pad="\n"), True, {"AL004"}, ["a"],
                 id="newline-padding"),
    pytest.param(build({"a": F32x1}, data=4, pad="  x"), True, {"AL004"}, ["a"],
                 id="garbage-after-spaces"),
    pytest.param(build({"a": F32x1}, data=4, pad='{"b":1}'), True, {"AL004"}, ["a"],
                 id="second-json-object"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                      '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4),
                 True, {"AL005"}, ["a"], id="duplicate-tensor-name"),
    pytest.param(text('{"a":{"dtype":"F16","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4),
                 True, {"AL005"}, ["a"], id="duplicate-field-in-entry"),
    pytest.param(text('{"__metadata__":{"k":"v"},"__metadata__":{"k":"w"}}'), True, {"AL005"}, [],
                 id="duplicate-metadata"),
    pytest.param(text('{"__metadata__":{"k":"v","k":"w"}}'), True, {"AL005"}, [],
                 id="duplicate-metadata-key"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,4]}}'), False,
                 {"AL006"}, [], id="nan-in-shape"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,Infinity]}}'), False,
                 {"AL006"}, [], id="infinity-in-offsets"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[1],"data_offsets":[-Infinity,4]}}'), False,
                 {"AL006"}, [], id="minus-infinity"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}'), False,
                 {"AL006"}, [], id="bool-in-shape"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[1],"data_offsets":[false,4]}}'), False,
                 {"AL006"}, [], id="bool-in-offsets"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}'), False,
                 {"AL006"}, [], id="float-in-shape"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}'), False,
                 {"AL006"}, [], id="exponent-in-offsets"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}'), False,
                 {"AL006"}, [], id="negative-dim"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}'), False,
                 {"AL006"}, [], id="negative-offset"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[null],"data_offsets":[0,4]}}'), False,
                 {"AL006"}, [], id="null-dim"),
    pytest.param(text('{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}'), False,
                 {"AL006"}, [], id="string-dim"),
    pytest.param(text('{"a":{"dtype":"U8","shape":[18446744073709551616],'
                      '"data_offsets":[0,1]}}'), False, {"AL006"}, [], id="dim-2^64"),
    pytest.param(text('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,' + HUGE + "]}}"), False,
                 {"AL006"}, [], id="5000-digit-offset"),
    pytest.param(text('{"a":{"dtype":"U8","shape":[4294967296,4294967296,2],'
                      '"data_offsets":[0,1]}}'), False, {"AL006"}, [], id="numel-over-2^64"),
    pytest.param(text('{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}}', 4), True,
                 {"AL007"}, ["a"], id="unknown-dtype"),
    pytest.param(text('{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}', 4), True,
                 {"AL007"}, ["a"], id="lowercase-dtype"),
    pytest.param(text('{"a":{"dtype":"","shape":[1],"data_offsets":[0,4]}}', 4), True,
                 {"AL007"}, ["a"], id="empty-dtype"),
    pytest.param(build({"a": entry("F32", [2, 3], 0, 20)}, data=20), True, {"AL008"}, ["a"],
                 id="size-too-small"),
    pytest.param(build({"a": entry("BF16", [4], 0, 16)}, data=16), True, {"AL008"}, ["a"],
                 id="size-too-large"),
    pytest.param(build({"a": entry("F4", [3], 0, 2)}, data=2), True, {"AL008"}, ["a"],
                 id="f4-odd-count-not-whole-bytes"),
    pytest.param(build({"a": entry("F32", [0], 0, 4)}, data=4), True, {"AL008"}, ["a"],
                 id="empty-tensor-with-bytes"),
    pytest.param(build({"a": F32x1, "b": entry("F32", [1], 8, 12)}, data=12), True, {"AL009"},
                 ["a", "b"], id="hole-between-tensors"),
    pytest.param(build({"a": entry("F32", [1], 4, 8)}, data=8), True, {"AL009"}, ["a"],
                 id="first-tensor-not-at-zero"),
    pytest.param(build({"a": entry("F32", [2], 0, 8), "b": entry("F32", [1], 4, 8)}, data=8),
                 True, {"AL009"}, ["a", "b"], id="overlap"),
    pytest.param(build({"a": F32x1, "b": F32x1}, data=4), True, {"AL009"}, ["a", "b"],
                 id="two-tensors-alias-same-bytes"),
    pytest.param(build({"a": F32x1, "b": entry("F32", [1], 8, 4)}, data=4), True, {"AL009"},
                 ["a"], id="end-before-begin"),
    pytest.param(build({"a": F32x1}, data=4 + 100), True, {"AL010"}, ["a"],
                 id="trailing-polyglot-bytes"),
    pytest.param(build({"a": entry("F32", [4], 0, 16)}, data=10), True, {"AL010"}, ["a"],
                 id="truncated-buffer"),
    pytest.param(build({"a": entry("F32", [4], 0, 2**40)}, data=0), True, {"AL008", "AL010"},
                 ["a"], id="offset-far-past-eof"),
    pytest.param(text('{"__metadata__":"pt"}'), True, {"AL018"}, [], id="metadata-string"),
    pytest.param(text('{"__metadata__":["a"]}'), True, {"AL018"}, [], id="metadata-array"),
    pytest.param(text('{"__metadata__":{"format":"pt","n":1}}'), True, {"AL018"}, [],
                 id="metadata-int-value"),
    pytest.param(text('{"__metadata__":{"cfg":{"a":"b"}}}'), True, {"AL018"}, [],
                 id="metadata-nested-object"),
    pytest.param(text('{"__metadata__":{"ok":null}}'), True, {"AL018"}, [],
                 id="metadata-null-value"),
    pytest.param(text('{"a":5}'), True, {"AL003"}, [], id="entry-is-number"),
    pytest.param(text('{"a":["F32",[1],[0,4]]}', 4), True, {"AL003"}, ["a"],
                 id="entry-is-positional-array"),
    pytest.param(text('{"a":["F32",[1]]}'), True, {"AL003"}, [], id="entry-is-short-array"),
    pytest.param(text('{"a":["F32",[true],[0,4]]}'), False, {"AL003", "AL006"}, [],
                 id="positional-array-bad-number"),
    pytest.param(raw(' \n{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', data=4), True,
                 {"AL004"}, ["a"], id="leading-whitespace"),
    pytest.param(text('{"a":null}'), True, {"AL003"}, [], id="entry-is-null"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[1]}}'), True, {"AL003"}, [],
                 id="entry-missing-offsets"),
    pytest.param(text('{"a":{}}'), True, {"AL003"}, [], id="entry-empty-object"),
    pytest.param(text('{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}'), False, {"AL003"},
                 [], id="dtype-not-string"),
    pytest.param(text('{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}'), False,
                 {"AL003"}, [], id="shape-is-string"),
    pytest.param(text('{"a":{"dtype":"F32","shape":{"0":1},"data_offsets":[0,4]}}'), False,
                 {"AL003"}, [], id="shape-is-object"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}'), False,
                 {"AL003"}, [], id="three-offsets"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}'), False,
                 {"AL003"}, [], id="one-offset"),
    pytest.param(text('{"a":{"dtype":"F32","shape":[1],"data_offsets":{"b":0,"e":4}}}'), False,
                 {"AL003"}, [], id="offsets-object"),
    pytest.param(text('{"a\\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'), False,
                 {"AL002"}, [], id="lone-surrogate-in-name"),
    pytest.param(text('{"a":{"dtype":"F3\\udc00","shape":[1],"data_offsets":[0,4]}}'), False,
                 {"AL002"}, [], id="lone-surrogate-in-dtype"),
    pytest.param(text('{"__metadata__":{"k":"\\udfff"}}'), True, {"AL002"}, [],
                 id="lone-surrogate-in-metadata"),
]


@pytest.mark.parametrize(("buf", "exact", "expected", "kept"), RECOVERABLE)
def test_recoverable_problem(buf: bytes, exact: bool, expected: set[str], kept: list[str]) -> None:
    parsed = parse(buf, exact_size=exact)
    assert codes(parsed) == expected, parsed.problems
    assert [t.name for t in parsed.tensors] == kept
    for problem in parsed.problems:
        assert problem.code in PROBLEM_NAMES
        assert problem.file == "m.safetensors"
        assert "\n" not in problem.message


def reference_loads(buf: bytes) -> bool:
    try:
        safetensors.deserialize(buf)
    except Exception:  # SafetensorError, and whatever else the reference raises
        return False
    return True


@pytest.mark.parametrize(("buf", "code"), FATAL)
def test_reference_reader_refuses_every_fatal_case(buf: bytes, code: str) -> None:
    assert not reference_loads(buf)


# The reference reader (Rust, serde_json) loads these; we load them too and report the defect.
REFERENCE_LOADS = {"newline-padding", "duplicate-tensor-name", "duplicate-metadata-key",
                   "entry-is-positional-array", "leading-whitespace"}


@pytest.mark.parametrize(("buf", "exact", "expected", "kept"), RECOVERABLE)
def test_reference_reader_on_recoverable_cases(buf: bytes, exact: bool, expected: set[str],
                                               kept: list[str], request: pytest.FixtureRequest
                                               ) -> None:
    case = request.node.callspec.id
    assert reference_loads(buf) == (case in REFERENCE_LOADS)


def test_valid_surrogate_pair_escape_is_fine() -> None:
    parsed = parse(text('{"a\\ud83d\\ude00":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1))
    assert parsed.problems == []
    assert parsed.tensors[0].name == "a\U0001f600"


def test_duplicate_keeps_last_and_points_at_it() -> None:
    parsed = parse(text('{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},'
                        '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4))
    assert parsed.tensors[0].dtype == "F32"
    assert [(p.code, p.pointer) for p in parsed.problems] == [("AL005", "/a")]


def test_nested_duplicate_pointer_names_the_entry() -> None:
    parsed = parse(text('{"x/y":{"dtype":"F16","dtype":"F32","shape":[1],'
                        '"data_offsets":[0,4]}}', 4))
    assert [p.pointer for p in parsed.problems] == ["/x~1y/dtype"]


def test_metadata_keeps_the_string_values() -> None:
    parsed = parse(text('{"__metadata__":{"format":"pt","n":1}}'))
    assert parsed.metadata == {"format": "pt"}
    assert parsed.problems[0].pointer == "/__metadata__/n"


def test_metadata_null_is_absent() -> None:
    parsed = parse(text('{"__metadata__":null}'))
    assert (parsed.metadata, parsed.problems) == (None, [])


def test_bad_number_pointer_names_the_element() -> None:
    parsed = parse(text('{"a":{"dtype":"F32","shape":[1, true],"data_offsets":[0,4]}}'),
                   exact_size=False)
    assert [(p.code, p.pointer) for p in parsed.problems] == [("AL006", "/a/shape/1")]


def test_problems_are_capped_per_code() -> None:
    header = {f"t{i}": entry("Q9", [1], i, i + 1) for i in range(100)}
    parsed = parse(build(header, data=100))
    al007 = [p for p in parsed.problems if p.code == "AL007"]
    assert len(al007) == MAX_PROBLEMS_PER_CODE + 1
    assert al007[-1].message.startswith(f"{100 - MAX_PROBLEMS_PER_CODE} more AL007")
    assert len(parsed.tensors) == 100


def test_messages_quote_untrusted_names_on_one_line() -> None:
    name = "evil\n\x1b[31mred" + "x" * 500
    parsed = parse(build({name: entry("F32", [1], 0, 3)}, data=3))
    (problem,) = parsed.problems
    assert "\n" not in problem.message and "\x1b" not in problem.message
    assert len(problem.message) < 300


# -- the 8-byte prefix ---------------------------------------------------------------------------

def test_header_length_reads_little_endian_u64() -> None:
    assert header_length(b"\x10\x01\x00\x00\x00\x00\x00\x00", file_name="f") == 0x110
    assert header_length(b"\x10\x01\x00\x00\x00\x00\x00\x00extra", file_name="f") == 0x110


def test_header_length_cap_is_configurable_but_bounded() -> None:
    prefix = struct.pack("<Q", 30_000_000)
    with pytest.raises(HeaderError, match="configurable"):
        header_length(prefix, file_name="f")
    assert header_length(prefix, file_name="f", max_header_bytes=50_000_000) == 30_000_000
    big = struct.pack("<Q", HARD_MAX_HEADER_BYTES + 1)
    with pytest.raises(HeaderError, match="hard limit"):
        header_length(big, file_name="f", max_header_bytes=10 * HARD_MAX_HEADER_BYTES)
    with pytest.raises(HeaderError):
        header_length(struct.pack("<Q", 1000), file_name="f", max_header_bytes=999)


def test_header_length_checks_file_size() -> None:
    prefix = struct.pack("<Q", 100)
    assert header_length(prefix, file_name="f", file_size=108) == 100
    with pytest.raises(HeaderError, match="past the end"):
        header_length(prefix, file_name="f", file_size=107)


@pytest.mark.parametrize("bad", [True, 1, -5, 2.5, None])
def test_max_header_bytes_must_be_a_sane_int(bad: object) -> None:
    with pytest.raises(ValueError):
        header_length(struct.pack("<Q", 2), file_name="f", max_header_bytes=bad)  # type: ignore


def test_parse_header_enforces_cap_on_the_bytes_given() -> None:
    with pytest.raises(HeaderError) as info:
        parse_header(b"{" + b" " * 99 + b"}", file_name="f", max_header_bytes=50)
    assert info.value.code == "AL001"


def test_constants_are_sane() -> None:
    assert HARD_MAX_HEADER_BYTES == 100 * 1024 * 1024
    assert 8 + 1000 * 134 < FIRST_READ_BYTES <= DEFAULT_MAX_HEADER_BYTES < HARD_MAX_HEADER_BYTES
    assert sorted(PROBLEM_NAMES) == [f"AL{i:03d}" for i in range(1, 19)]
    assert len(set(PROBLEM_NAMES.values())) == 18


# -- local files ---------------------------------------------------------------------------------

class CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, n: int | None = -1) -> bytes:
        chunk = super().read(n)
        self.consumed += len(chunk)
        return chunk


def test_reads_only_the_header_bytes() -> None:
    buf = build({"a": entry("U8", [4096], 0, 4096)}, data=4096)
    fh = CountingReader(buf)
    parsed = read_header_from(fh, file_name="m", file_size=len(buf))
    assert parsed.problems == []
    assert fh.consumed == 8 + parsed.header_len


def test_read_local_header(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(save({"w": np.ones((3, 3), np.float64)}))
    parsed = read_local_header(path)
    assert [(t.name, t.dtype, t.shape, t.end - t.start) for t in parsed.tensors] == [
        ("w", "F64", (3, 3), 72)]
    assert parsed.tensors[0].shard == "model.safetensors"


def test_read_local_header_uses_the_real_file_size(tmp_path: Path) -> None:
    path = tmp_path / "poly.safetensors"
    path.write_bytes(save({"w": np.ones(2, np.uint8)}) + b"<script>")
    assert codes(read_local_header(path)) == {"AL010"}
    trunc = tmp_path / "trunc.safetensors"
    trunc.write_bytes(save({"w": np.ones(64, np.uint8)})[:-10])
    assert codes(read_local_header(trunc)) == {"AL010"}


def test_read_local_header_sparse_giant_file_stays_cheap(tmp_path: Path) -> None:
    path = tmp_path / "big.safetensors"
    head = build({"a": entry("U8", [2**36], 0, 2**36)})
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(len(head) + 2**36)  # sparse: 64 GiB that are never read
    parsed = read_local_header(path)
    assert parsed.problems == [] and parsed.tensors[0].end == 2**36


def test_read_local_header_truncated_inside_header(tmp_path: Path) -> None:
    path = tmp_path / "cut.safetensors"
    path.write_bytes(build({"a": F32x1}, data=4)[:20])
    with pytest.raises(HeaderError) as info:
        read_local_header(path)
    assert info.value.code == "AL001"


def test_read_local_header_os_errors_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        read_local_header(tmp_path / "missing.safetensors")
    with pytest.raises(InputError):
        read_local_header(tmp_path)


def test_memory_error_never_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    import archlint.source.safetensors_header as mod

    class Exploding:
        def raw_decode(self, text: str, start: int = 0) -> None:
            raise MemoryError

    monkeypatch.setattr(mod, "_make_decoder", lambda odd: Exploding())
    monkeypatch.setattr(mod, "_PLAIN_DECODER", Exploding())  # the fast path's decoder too
    with pytest.raises(HeaderError) as info:
        parse(text("{}"))
    assert info.value.code == "AL003"


# -- committed broken fixtures -------------------------------------------------------------------

BROKEN = ROOT / "fixtures" / "broken"


def _manifest() -> dict[str, dict[str, object]]:
    path = BROKEN / "EXPECTED.json"
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.mark.parametrize("name", sorted(_manifest()))
def test_broken_fixture_files(name: str) -> None:
    expected = _manifest()[name]
    if "fatal" in expected:
        with pytest.raises(HeaderError) as info:
            read_local_header(BROKEN / name)
        assert info.value.code == expected["fatal"]
    else:
        assert sorted(codes(read_local_header(BROKEN / name))) == expected["problems"]


def test_broken_fixtures_match_their_generator() -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "make_broken_fixtures.py"))
    cases = script["CASES"]
    assert sorted(cases) == sorted(_manifest())
    for name, (payload, expected) in cases.items():
        assert (BROKEN / name).read_bytes() == payload, f"re-run make_broken_fixtures.py: {name}"
        assert _manifest()[name] == expected


# -- speed ---------------------------------------------------------------------------------------

def test_deepseek_sized_model_parses_fast() -> None:
    """163 shards x 600 tensors (DeepSeek-V3's shape); ~0.4 s measured, bound generously."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for i in range(600):
        size = 7168 * 2048
        header[f"model.layers.{i // 10}.mlp.experts.{i}.down_proj.weight"] = entry(
            "F8_E4M3", [7168, 2048], offset, offset + size)
        offset += size
    buf = build(header)
    started = time.perf_counter()
    for _ in range(163):
        parsed = parse_safetensors_prefix(buf, file_name="s", file_size=len(buf) + offset)
    assert parsed.problems == [] and len(parsed.tensors) == 600
    assert time.perf_counter() - started < 5.0


# -- the fast path (plain headers) reads exactly what the strict path reads ----------------------

_E = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
_F = {"dtype": "BF16", "shape": [4], "data_offsets": [16, 24]}

FAST_PATH_CASES: list[tuple[str, str, int | None]] = [  # (label, header text, file size)
    ("plain", json.dumps({"a": _E, "b": _F}), None),
    ("plain with file size", json.dumps({"a": _E, "b": _F}),
     8 + len(json.dumps({"a": _E, "b": _F})) + 24),
    ("metadata", json.dumps({"__metadata__": {"format": "pt", "k:v": "x:y"}, "a": _E}), None),
    ("metadata null", json.dumps({"__metadata__": None, "a": _E}), None),
    ("metadata not strings", json.dumps({"__metadata__": {"n": 1}, "a": _E}), None),
    ("metadata not an object", json.dumps({"__metadata__": [1], "a": _E}), None),
    ("colon in names", json.dumps({"a:b": _E, "c::d": _F}), None),
    ("empty", "{}", None),
    ("padded", json.dumps({"a": _E}) + "    ", None),
    ("bad padding", json.dumps({"a": _E}) + "  \n", None),
    ("leading whitespace", " " + json.dumps({"a": _E}), None),
    ("duplicate tensor", '{"a":' + json.dumps(_E) + ',"a":' + json.dumps(_E) + '}', None),
    ("duplicate tensor, colon in name", '{"a:":' + json.dumps(_E) + ',"a:":'
     + json.dumps(_E) + '}', None),
    ("duplicate field", '{"a":{"dtype":"F32","dtype":"F32","shape":[2,2],'
     '"data_offsets":[0,16]}}', None),
    ("duplicate metadata key", '{"__metadata__":{"k":"1","k":"2"},"a":' + json.dumps(_E) + '}',
     None),
    ("extra field", json.dumps({"a": {**_E, "extra": {"x": 1}}}), None),
    ("missing field", json.dumps({"a": {"dtype": "F32", "shape": [4]}}), None),
    ("positional", json.dumps({"a": ["F32", [2, 2], [0, 16]]}), None),
    ("unknown dtype", json.dumps({"a": {**_E, "dtype": "F99"}}), None),
    ("size mismatch", json.dumps({"a": {**_E, "shape": [3, 2]}}), None),
    ("sub-byte dtype not whole bytes", json.dumps(
        {"a": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}), None),
    ("hole", json.dumps({"a": _E, "b": {**_F, "data_offsets": [20, 28]}}), None),
    ("overlap", json.dumps({"a": _E, "b": {**_F, "data_offsets": [8, 16]}}), None),
    ("trailing bytes", json.dumps({"a": _E}), 8 + len(json.dumps({"a": _E})) + 20),
    ("truncated data", json.dumps({"a": _E, "b": _F}), 8 + len(json.dumps({"a": _E, "b": _F}))
     + 10),
    ("end before begin", json.dumps({"a": {**_E, "data_offsets": [16, 0]}}), None),
    ("negative", json.dumps({"a": {**_E, "shape": [-2, -2]}}), None),
    ("bool shape", json.dumps({"a": {**_E, "shape": [True, 4]}}), None),
    ("float shape", json.dumps({"a": {**_E, "shape": [2.0, 2]}}), None),
    ("past u64", json.dumps({"a": {**_E, "shape": [2**64, 0]}}), None),
    ("21-digit literal", '{"a":{"dtype":"F32","shape":[100000000000000000000,0],'
     '"data_offsets":[0,0]}}', None),
    ("5000-digit literal", '{"a":{"dtype":"F32","shape":[' + "9" * 5000 + '],'
     '"data_offsets":[0,0]}}', None),
    ("numel past u64", json.dumps({"a": {**_E, "shape": [2**40, 2**40]}}), None),
    ("NaN", '{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,4]}}', None),
    ("escaped name", '{"\\u0061":' + json.dumps(_E) + '}', None),
    ("escaped colon in a duplicate", '{"a\\u003a":' + json.dumps(_E) + ',"a:":'
     + json.dumps(_E) + '}', None),
    ("lone surrogate", '{"\\ud800":' + json.dumps(_E) + '}', None),
    ("entry not an object", json.dumps({"a": 3}), None),
    ("shape not a list", json.dumps({"a": {**_E, "shape": 4}}), None),
    ("offsets of three", json.dumps({"a": {**_E, "data_offsets": [0, 8, 16]}}), None),
    ("zero-size tensors", json.dumps({"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]},
                                      "b": {"dtype": "F32", "shape": [0, 3],
                                            "data_offsets": [0, 0]}}), None),
    ("scalar", json.dumps({"a": {"dtype": "F64", "shape": [], "data_offsets": [0, 8]}}), None),
]


@pytest.mark.parametrize("label,header,file_size", FAST_PATH_CASES,
                         ids=[c[0] for c in FAST_PATH_CASES])
def test_fast_path_reads_exactly_what_the_strict_path_reads(
        label: str, header: str, file_size: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    import archlint.source.safetensors_header as mod

    def outcome() -> object:
        try:
            got = parse_header(header.encode(), file_name="f.safetensors", file_size=file_size)
        except HeaderError as err:
            return ("error", err.code, str(err))
        return (got.header_len, got.metadata, got.tensors, got.problems)

    taken: list[bool] = []
    fast = mod._parse_plain

    def spy(*args: object) -> ParsedHeader | None:
        result = fast(*args)  # type: ignore[arg-type]
        taken.append(result is not None)
        return result

    monkeypatch.setattr(mod, "_parse_plain", spy)
    either = outcome()
    monkeypatch.setattr(mod, "_parse_plain", lambda *args: None)
    strict = outcome()
    assert either == strict
    plain = label in {"plain", "plain with file size", "metadata", "metadata null",
                      "colon in names", "empty", "padded", "hole", "overlap", "trailing bytes",
                      "truncated data", "zero-size tensors", "scalar"}
    if plain:  # nothing to report but the layout: the fast path answered
        assert taken == [True]
    else:  # anything else to report goes the strict way
        assert taken in ([], [False])


def test_fast_path_matches_strict_on_every_fixture_header(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import archlint.source.safetensors_header as mod

    paths = sorted((ROOT / "fixtures" / "broken").glob("*.safetensors"))
    assert paths

    def outcomes() -> list[object]:
        results: list[object] = []
        for path in paths:
            try:
                got = read_local_header(path)
            except HeaderError as err:
                results.append(("error", err.code, str(err)))
            else:
                results.append((got.header_len, got.metadata, got.tensors, got.problems))
        return results

    either = outcomes()
    monkeypatch.setattr(mod, "_parse_plain", lambda *args: None)
    assert either == outcomes()
