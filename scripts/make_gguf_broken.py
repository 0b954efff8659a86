#!/usr/bin/env python3
"""Write deliberately malformed GGUF files into fixtures/broken/gguf/.

Each file breaks one rule of the GGUF format (ggml `docs/gguf.md`) or one check ggml's
reader (`gguf.cpp`) makes; `fixtures/broken/gguf/EXPECTED.json` records the code archlint
must report, and tests/test_gguf_header.py reads every file back through `read_local_gguf`.
Built byte by byte (the writer in gguf-py refuses to write most of these):

    python scripts/make_gguf_broken.py
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

# run as a script or through runpy (the tests): the shared writer sits beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_cases import write_cases

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "broken" / "gguf"


def s(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def kv_u32(key: str, value: int) -> bytes:
    return s(key) + struct.pack("<II", 4, value)


def info(name: str, ne: list[int], qtype: int, offset: int) -> bytes:
    return (s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
            + struct.pack("<IQ", qtype, offset))


def gguf(kvs: list[bytes], tensors: list[bytes], *, data: int, version: int = 3,
         magic: bytes = b"GGUF", n_kv: int | None = None, n_tensors: int | None = None) -> bytes:
    head = magic + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                               len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tensors)
    return body + bytes(-len(body) % 32) + bytes(data)


_ARCH = s("general.architecture") + struct.pack("<I", 8) + s("llama")
_A = info("a.weight", [32, 2], 0, 0)  # F32 [2, 32]: 256 bytes

# file name → (bytes, expected): {"fatal": code} or {"problems": [codes]}.
CASES: dict[str, tuple[bytes, dict[str, object]]] = {
    "valid.gguf": (gguf([_ARCH], [_A], data=256), {"problems": []}),
    "bad-magic.gguf": (gguf([_ARCH], [_A], data=256, magic=b"GGML"), {"fatal": "AL020"}),
    "lfs-pointer.gguf": (b"version https://git-lfs.github.com/spec/v1\noid sha256:00\n",
                         {"fatal": "AL020"}),
    "version-1.gguf": (gguf([_ARCH], [_A], data=256, version=1), {"fatal": "AL020"}),
    "truncated-header.gguf": (gguf([_ARCH], [_A], data=0)[:40], {"fatal": "AL020"}),
    "lying-string-length.gguf": (
        gguf([s("general.name")[:0] + struct.pack("<Q", 2**40) + b"general.name"], [], data=0),
        {"fatal": "AL020"}),
    "huge-array.gguf": (
        gguf([s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2**50)], [], data=0),
        {"fatal": "AL020"}),
    "huge-kv-count.gguf": (gguf([_ARCH], [], data=0, n_kv=2**34), {"fatal": "AL020"}),
    "bad-value-type.gguf": (gguf([s("x") + struct.pack("<I", 42) + b"\0" * 8], [], data=0),
                            {"fatal": "AL020"}),
    "key-not-utf8.gguf": (gguf([s(b"\xc3\x28") + struct.pack("<IB", 0, 1)], [], data=0),
                          {"fatal": "AL020"}),
    "value-not-utf8.gguf": (gguf([_ARCH, s("general.name") + struct.pack("<I", 8)
                                  + s(b"caf\xe9")], [_A], data=256), {"problems": ["AL021"]}),
    "duplicate-key.gguf": (gguf([_ARCH, kv_u32("llama.block_count", 2),
                                 kv_u32("llama.block_count", 3)], [_A], data=256),
                           {"problems": ["AL022"]}),
    "duplicate-tensor.gguf": (gguf([_ARCH], [_A, info("a.weight", [32, 2], 0, 256)], data=512),
                              {"problems": ["AL022"]}),
    "unknown-tensor-type.gguf": (gguf([_ARCH], [info("a.weight", [32], 99, 0)], data=256),
                                 {"problems": ["AL023"]}),
    "removed-tensor-type.gguf": (gguf([_ARCH], [info("a.weight", [32], 4, 0)], data=256),
                                 {"problems": ["AL023"]}),
    "partial-block.gguf": (gguf([_ARCH], [info("a.weight", [100, 2], 12, 0)], data=512),
                           {"problems": ["AL024"]}),
    "five-dims.gguf": (gguf([_ARCH], [info("a.weight", [2, 2, 2, 2, 2], 0, 0)], data=256),
                       {"problems": ["AL024"]}),
    "overlapping-tensors.gguf": (gguf([_ARCH], [_A, info("b.weight", [32, 2], 0, 128)],
                                      data=384), {"problems": ["AL025"]}),
    "gap-between-tensors.gguf": (gguf([_ARCH], [_A, info("b.weight", [32], 0, 512)], data=640),
                                 {"problems": ["AL025"]}),
    "misaligned-offset.gguf": (gguf([_ARCH], [info("a.weight", [8], 0, 0),
                                              info("b.weight", [8], 0, 40)], data=128),
                               {"problems": ["AL025"]}),
    "truncated-data.gguf": (gguf([_ARCH], [_A], data=100), {"problems": ["AL026"]}),
    "bad-alignment.gguf": (gguf([_ARCH, kv_u32("general.alignment", 48)], [_A], data=256),
                           {"problems": ["AL027"]}),
}


def main() -> None:
    write_cases(OUT, CASES, ROOT)


if __name__ == "__main__":
    main()
