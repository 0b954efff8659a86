"""The small generated files shipped beside a gzipped table (an index, a names list), and
how a reader knows one belongs to the table beside it.

A sidecar records the CRC-32 of the table's uncompressed text, which the gzip trailer carries
(RFC 1952, section 2.3.1: CRC32, then ISIZE, little-endian, the last 8 bytes of the member).
It is used only when the two agree: a table regenerated without its sidecar makes the sidecar
stale, and the reader falls back to the table itself. The check decompresses nothing.
"""

from __future__ import annotations

import json
import zlib
from importlib import resources
from typing import Any


def text_crc32(text: bytes) -> int:
    """The CRC-32 a gzip trailer records for `text` (what a generator writes in a sidecar)."""
    return zlib.crc32(text)


def gzip_crc32(compressed: bytes) -> int:
    """The CRC-32 of the uncompressed text, read from a one-member gzip file's trailer."""
    return int.from_bytes(compressed[-8:-4], "little")


def read_sidecar(package: str, name: str, compressed: bytes) -> dict[str, Any] | None:
    """The JSON object `name` beside `package`'s table, or None when it is missing, is not an
    object, or records another CRC-32 than the gzipped table `compressed` carries."""
    try:
        data = json.loads(resources.files(package).joinpath(name).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("crc32") != gzip_crc32(compressed):
        return None
    return data
