#!/usr/bin/env python3
"""Write deliberately malformed safetensors files into fixtures/broken/.

Each file breaks one rule of the safetensors format spec (huggingface/safetensors README,
"Format"); `fixtures/broken/EXPECTED.json` records the code archlint must report for it, and
tests/test_safetensors_header.py reads every file back through `read_local_header`. The files
are tiny and deterministic; re-run after changing the table below:

    python scripts/make_broken_fixtures.py
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

# run as a script or through runpy (the tests): the shared writer sits beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_cases import write_cases

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "broken"


def _file(header: str | bytes, *, data: int = 0, length: int | None = None) -> bytes:
    body = header.encode() if isinstance(header, str) else header
    return struct.pack("<Q", len(body) if length is None else length) + body + bytes(data)


_A = '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}'

# file name → (bytes, expected): expected is {"fatal": code} or {"problems": [codes]}.
CASES: dict[str, tuple[bytes, dict[str, object]]] = {
    "valid.safetensors": (_file("{" + _A + "}", data=8), {"problems": []}),
    "short-prefix.safetensors": (b"\x10\x00\x00", {"fatal": "AL001"}),
    "length-past-eof.safetensors": (_file("{}", length=4096), {"fatal": "AL001"}),
    "length-u64-max.safetensors": (_file("{}", length=2**64 - 1), {"fatal": "AL001"}),
    "lfs-pointer.safetensors": (
        b"version https://git-lfs.github.com/spec/v1\n"
        b"oid sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
        b"size 1234\n", {"fatal": "AL001"}),
    "not-utf8.safetensors": (_file(b'{"\xff":{}}'), {"fatal": "AL002"}),
    "not-an-object.safetensors": (_file('[{"dtype":"F32"}]'), {"fatal": "AL003"}),
    "deep-nesting.safetensors": (_file('{"a":' + "[" * 20000 + "]" * 20000 + "}"),
                                 {"fatal": "AL003"}),
    "nul-padding.safetensors": (_file("{" + _A + "}\x00\x00\x00", data=8),
                                {"problems": ["AL004"]}),
    "duplicate-key.safetensors": (_file("{" + _A + "," + _A + "}", data=8),
                                  {"problems": ["AL005"]}),
    "bool-shape.safetensors": (
        _file('{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}', data=4),
        {"problems": ["AL006", "AL010"]}),
    "nan-offset.safetensors": (
        _file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,NaN]}}', data=4),
        {"problems": ["AL006", "AL010"]}),
    "unknown-dtype.safetensors": (
        _file('{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', data=16),
        {"problems": ["AL007"]}),
    "size-mismatch.safetensors": (
        _file('{"a":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}}', data=8),
        {"problems": ["AL008"]}),
    "hole.safetensors": (
        _file('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
              '"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}}', data=12),
        {"problems": ["AL009"]}),
    "overlap.safetensors": (
        _file('{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},'
              '"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}', data=8),
        {"problems": ["AL009"]}),
    "polyglot-trailer.safetensors": (
        _file("{" + _A + "}", data=8) + b"<html><script>alert(1)</script></html>",
        {"problems": ["AL010"]}),
    "truncated-data.safetensors": (_file("{" + _A + "}", data=5), {"problems": ["AL010"]}),
    "metadata-not-strings.safetensors": (
        _file('{"__metadata__":{"format":"pt","step":1000,"cfg":{"a":1}},' + _A + "}", data=8),
        {"problems": ["AL018"]}),
}


def main() -> None:
    write_cases(OUT, CASES, ROOT)


if __name__ == "__main__":
    main()
