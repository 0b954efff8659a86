#!/usr/bin/env python3
"""Coverage-guided fuzzing of the safetensors header and index readers with atheris (libFuzzer).

The contract under test is the one tests/test_fuzz.py checks with hypothesis: for any bytes,
the readers return a result or raise HeaderError, nothing else. Every input is tried three
ways: as a whole file, as a header body behind a correct 8-byte length prefix (so the fuzzer
reaches the JSON checks instead of dying at the length), and as an index file.

    pip install atheris                      # Linux/macOS, CPython 3.8-3.12; not a test dep
    mkdir -p /tmp/st-corpus && cp fixtures/broken/*.safetensors /tmp/st-corpus/
    python scripts/fuzz_atheris.py /tmp/st-corpus -runs=100000 -max_len=4096

Any libFuzzer flag works (-max_total_time=600, -rss_limit_mb=2048, -timeout=10). A crash
writes ./crash-<sha1>; reproduce it with `python scripts/fuzz_atheris.py ./crash-<sha1>`.
"""

from __future__ import annotations

import contextlib
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    import atheris
except ImportError:  # keep the script importable (and its message useful) without atheris
    atheris = None

if atheris is not None:
    with atheris.instrument_imports():
        from archlint.errors import HeaderError
        from archlint.source.index import check_shards, parse_index
        from archlint.source.safetensors_header import parse_safetensors_prefix


def test_one_input(data: bytes) -> None:
    """One fuzz case: anything but HeaderError escaping is a bug libFuzzer reports."""
    for attempt in (_as_file, _as_header_body, _as_index):
        with contextlib.suppress(HeaderError):
            attempt(data)


def _as_file(data: bytes) -> None:
    parse_safetensors_prefix(data, file_name="fuzz.safetensors", file_size=len(data))


def _as_header_body(data: bytes) -> None:
    parse_safetensors_prefix(struct.pack("<Q", len(data)) + data, file_name="fuzz.safetensors")


def _as_index(data: bytes) -> None:
    index = parse_index(data, file_name="model.safetensors.index.json")
    check_shards(index, {}, set(index.shards[:1]))


def main() -> None:
    if atheris is None:
        sys.exit("fuzz_atheris.py needs atheris: pip install atheris (Linux/macOS, CPython "
                 "3.8-3.12). The hypothesis suite runs without it: pytest -m slow "
                 "tests/test_fuzz.py")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
