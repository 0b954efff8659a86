"""Strict reader for safetensors headers: the 8-byte length prefix and the JSON header.

The safetensors format (huggingface/safetensors, README, section "Format"):

- 8 bytes: ``N``, an unsigned little-endian 64-bit integer, the size of the header;
- ``N`` bytes: a UTF-8 JSON object. It "MUST begin with a ``{`` character (0x7B)" and "MAY be
  trailing padded with whitespace (0x20)". Each key is a tensor name mapping to
  ``{"dtype": str, "shape": [int, ...], "data_offsets": [BEGIN, END]}``; the special key
  ``__metadata__`` holds "a free form string-to-string map. Arbitrary JSON is not allowed";
- the rest of the file is the byte buffer. ``data_offsets`` are relative to its start, END is
  one past the last byte, so a tensor holds ``END - BEGIN`` bytes = elements * dtype bits / 8.
  "The byte buffer needs to be entirely indexed, and cannot contain holes. This prevents the
  creation of polyglot files."

A header comes from a model repo and is untrusted. Defects that leave nothing usable raise
:class:`~archlint.errors.HeaderError` (one line, stable code). Recoverable defects become
:class:`~archlint.checkpoint.Problem` entries with the same stable codes, and every tensor that
could be read is kept. Nothing here reads, or allocates for, more than the header itself.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import repeat
from math import prod
from operator import gt, mul, sub
from pathlib import Path
from typing import Any, BinaryIO

from archlint.checkpoint import Problem, ShardInfo, TensorInfo, TensorTable
from archlint.dtypes import DTYPE_BITS
from archlint.errors import HeaderError, InputError
from archlint.problems import SHORT_CHARS, ProblemCollector, json_pointer, short

#: Absolute ceiling, whatever the caller configures. The reference Rust reader refuses headers
#: over 100,000,000 bytes (``MAX_HEADER_SIZE``, checked: "header too large"), so no loadable file
#: needs more; 100 MiB rounds that up to a binary unit.
HARD_MAX_HEADER_BYTES = 100 * 1024 * 1024

#: Default cap: the same 25 MB that huggingface_hub uses (``SAFETENSORS_MAX_HEADER_LENGTH``), so
#: any header the Hub tooling reads, archlint reads too. For scale: DeepSeek-R1's 91,991 tensors
#: serialise to ~12.3 MB of header even if all were in ONE file, so this is 2x headroom over the
#: largest checkpoint we know while keeping the parse of a hostile header bounded in memory.
DEFAULT_MAX_HEADER_BYTES = 25_000_000

#: All of one model's headers together (every shard's 8 + N bytes), whatever each one's cap:
#: DeepSeek-R1's 163 shards hold 28.4 MiB of headers, the most of any checkpoint we know, so
#: this is 4.5x headroom; it is above HARD_MAX_HEADER_BYTES so one header at the hard maximum
#: still fits. Without it, 2,048 shards of 25 MB each would all be read and parsed (12 such
#: headers took 48 s and 1.7 GB).
MAX_TOTAL_HEADER_BYTES = 128 * 2**20

#: First ranged request when nothing better is known. A header costs ~134 bytes per tensor
#: (measured on DeepSeek-R1's tensor table); a typical shard holds a few hundred tensors (~560
#: for DeepSeek-V3, i.e. ~75 KB), so 256 KiB brings ~1,950 tensors' worth of header in one trip.
#: A second trip (a round trip of tens of ms) costs more than the extra ~150 KiB, so we err on
#: the large side. The Hub reader sizes its first reads from the index when it can (`hub.py`,
#: `first_read_guess` and `first_reads_from_index`), past this when the index says more.
FIRST_READ_BYTES = 256 * 1024

#: The smallest header that can be valid: ``{}``.
MIN_HEADER_BYTES = 2

#: The format's integers are u64 (Rust ``usize`` on 64-bit targets).
U64_MAX = 2**64 - 1

_TENSOR_FIELDS = ("dtype", "shape", "data_offsets")


@dataclass
class ParsedHeader:
    """One safetensors header, read strictly."""

    header_len: int  # N from the 8-byte little-endian prefix
    metadata: dict[str, str] | None  # "__metadata__"
    tensors: TensorTable  # shard = file name, start/end = data_offsets
    problems: list[Problem] = field(default_factory=list)

    def shard_info(self, name: str, file_size: int | None = None) -> ShardInfo:
        return ShardInfo(name=name, header_len=self.header_len, file_size=file_size,
                         metadata=self.metadata, tensor_count=len(self.tensors))


def describe(value: Any) -> str:
    """Name a JSON value's kind for a message without echoing large content."""
    if isinstance(value, BadNumber):
        return f"the literal {value}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"the string {short(value, 40)}"
    return "an array" if isinstance(value, list) else "an object"


# -- strict JSON ---------------------------------------------------------------------------------

class BadNumber:
    """Stands in for NaN/Infinity and over-long integer literals: never usable as a number."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal if len(literal) <= 24 else literal[:20] + f"…({len(literal)} digits)"

    def __str__(self) -> str:
        return self.literal


_NON_FINITE = {name: BadNumber(name) for name in ("NaN", "Infinity", "-Infinity")}


@dataclass
class JsonOddities:
    """What the stdlib parser tolerates but strict JSON readers disagree on."""

    duplicates: list[tuple[dict[str, Any], dict[str, list[Any]]]] = field(default_factory=list)
    constants: set[str] = field(default_factory=set)  # NaN, Infinity, -Infinity


def _make_decoder(odd: JsonOddities) -> json.JSONDecoder:
    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):  # cheap test; the slow path runs only on duplicates
            seen: dict[str, list[Any]] = {}
            for key, value in pairs:
                seen.setdefault(key, []).append(value)
            odd.duplicates.append((obj, {k: v for k, v in seen.items() if len(v) > 1}))
        return obj

    def constant_hook(literal: str) -> BadNumber:
        odd.constants.add(literal)
        return _NON_FINITE[literal]  # shared: a header of a million NaNs allocates three

    def int_hook(literal: str) -> int | BadNumber:
        # u64 has at most 20 digits; longer literals would also trip CPython's 4300-digit
        # int() limit with a bare ValueError, and big ints make later arithmetic slow.
        if len(literal) > 20:
            return BadNumber(literal)
        return int(literal)

    return json.JSONDecoder(object_pairs_hook=pairs_hook, parse_constant=constant_hook,
                            parse_int=int_hook)


def decode_json_object(text: str, *, file_name: str, code: str, what: str,
                       start: int = 0) -> tuple[dict[str, Any], int, JsonOddities]:
    """Parse the JSON object at `start` in `text`; return it, where it ended, and oddities.

    Never lets RecursionError/MemoryError out: deep nesting or a blowup is a HeaderError(code).
    """
    odd = JsonOddities()
    try:
        obj, end = _make_decoder(odd).raw_decode(text, start)
    except json.JSONDecodeError as err:
        raise HeaderError(code, f"{what} is not valid JSON: {err.msg} at line {err.lineno} "
                          f"column {err.colno}", file=file_name) from None
    except RecursionError:
        raise HeaderError(code, f"{what} JSON is nested too deeply to parse",
                          file=file_name) from None
    except MemoryError:
        raise HeaderError(code, f"{what} JSON is too large to parse in memory",
                          file=file_name) from None
    except ValueError as err:  # defensive: hooks and the scanner raise nothing else
        raise HeaderError(code, f"{what} is not valid JSON: {short(str(err))}",
                          file=file_name) from None
    if not isinstance(obj, dict):
        raise HeaderError(code, f"{what} is {describe(obj)}, not a JSON object", file=file_name)
    return obj, end, odd


def has_lone_surrogate(text: str) -> bool:
    """True for strings holding \\udXXX escapes that do not pair up (not valid Unicode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _is_u64(value: Any) -> bool:
    # `type(...) is int` also rejects bool (a subclass of int) and the BadNumber stand-ins.
    return type(value) is int and 0 <= value <= U64_MAX


# -- the 8-byte prefix ---------------------------------------------------------------------------

def _effective_cap(max_header_bytes: int) -> int:
    if type(max_header_bytes) is not int or max_header_bytes < MIN_HEADER_BYTES:
        raise ValueError(f"max_header_bytes must be an int >= {MIN_HEADER_BYTES}")
    return min(max_header_bytes, HARD_MAX_HEADER_BYTES)


def _sniff(prefix: bytes) -> str:
    """Name what a non-safetensors file probably is, for the error message."""
    guesses = (
        (b"version ", "a Git LFS pointer"),  # "version https://git-lfs..."
        (b"PK\x03\x04", "a zip archive (PyTorch .bin?)"),
        (b"\x80", "a Python pickle"),
        (b"GGUF", "a GGUF file"),
        (b"<", "an HTML/XML page"),
        (b"{", "a JSON document"),
    )
    for magic, what in guesses:
        if prefix.startswith(magic):
            return f"; the file looks like {what}, not safetensors"
    return ""


def _check_length(n: int, *, file_name: str, file_size: int | None, cap: int,
                  prefix: bytes = b"") -> None:
    if n < MIN_HEADER_BYTES:
        raise HeaderError("AL001", f"header length {n} is too small (the smallest header, "
                          "'{}', is 2 bytes)", file=file_name)
    if n > HARD_MAX_HEADER_BYTES:
        raise HeaderError("AL001", f"header length {n} exceeds the hard limit of "
                          f"{HARD_MAX_HEADER_BYTES} bytes{_sniff(prefix)}", file=file_name)
    if n > cap:
        raise HeaderError("AL001", f"header length {n} exceeds the limit of {cap} bytes "
                          f"(configurable up to {HARD_MAX_HEADER_BYTES}){_sniff(prefix)}",
                          file=file_name)
    if file_size is not None and n > file_size - 8:
        raise HeaderError("AL001", f"header length {n} runs past the end of the file "
                          f"({file_size} bytes){_sniff(prefix)}", file=file_name)


def header_length(prefix: bytes, *, file_name: str, file_size: int | None = None,
                  max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> int:
    """Validate the 8-byte little-endian u64 prefix (format spec, first field); return N.

    Runs before anything else is read or allocated, so a forged length costs nothing.
    """
    cap = _effective_cap(max_header_bytes)
    if len(prefix) < 8:
        raise HeaderError("AL001", f"only {len(prefix)} bytes, shorter than the 8-byte "
                          "header-length prefix", file=file_name)
    n = int.from_bytes(prefix[:8], "little")
    _check_length(n, file_name=file_name, file_size=file_size, cap=cap, prefix=bytes(prefix[:16]))
    return n


class HeaderBudget:
    """The header bytes one model may declare across its shards (MAX_TOTAL_HEADER_BYTES).

    Each shard's declared `8 + N` is charged once its prefix is known and before the N bytes
    are read; the charge that crosses the limit raises, so a model is refused at the same total
    in whatever order its shards arrive. Thread-safe: the Hub reader charges from its workers.
    """

    def __init__(self, where: str, limit: int | None = None, *,
                 kind: str = "safetensors") -> None:
        self.where = where
        self.limit = MAX_TOTAL_HEADER_BYTES if limit is None else limit
        self.kind = kind
        self.used = 0
        self.shards = 0
        #: the error once the limit is crossed: it outranks any one shard's failure
        self.refused: InputError | None = None
        self._lock = threading.Lock()

    def charge(self, nbytes: int, *, new_shard: bool = True) -> None:
        """Count `nbytes` more header bytes (of a new shard, or more of the last one's)."""
        with self._lock:
            self.used += nbytes
            self.shards += new_shard
            if self.refused is not None:
                raise self.refused
            if self.used > self.limit:
                self.refused = InputError(
                    f"{self.where}: the {self.kind} headers declare more than "
                    f"{self.limit // 2**20} MiB in all ({self.used / 2**20:.1f} MiB by the "
                    f"first {self.shards} shards), the most archlint reads for one model "
                    "(the largest real checkpoints hold about 30 MiB)")
                raise self.refused


# -- the JSON header -----------------------------------------------------------------------------

class _HeaderReader:
    """Turns one decoded header object into tensors + problems (format spec, "Format")."""

    def __init__(self, file_name: str, problems: ProblemCollector, check_unicode: bool) -> None:
        self.file_name = file_name
        self.problems = problems
        # Lone surrogates can only come from \\u escapes: the bytes were strictly UTF-8.
        self.check_unicode = check_unicode

    def metadata(self, raw: Any) -> dict[str, str] | None:
        """`__metadata__`: "a free form string-to-string map. Arbitrary JSON is not allowed"."""
        ptr = json_pointer("__metadata__")
        if raw is None:  # absent, or null (which the reference reader accepts as absent)
            return None
        if not isinstance(raw, dict):
            self.problems.add("AL018", f"__metadata__ is {describe(raw)}, not a string-to-string "
                              "object; ignored", pointer=ptr)
            return None
        bad = [(k, v) for k, v in raw.items() if not isinstance(v, str)]
        if bad:
            key, value = bad[0]
            self.problems.add("AL018", f"__metadata__ must map strings to strings; {len(bad)} "
                              f"value(s) are not (first: {short(key)} is {describe(value)}); "
                              "those entries are ignored",
                              pointer=json_pointer("__metadata__", key))
        meta = {k: v for k, v in raw.items() if isinstance(v, str)}
        if self.check_unicode:
            meta = {k: v for k, v in meta.items() if self._valid_unicode(k, ptr) and
                    self._valid_unicode(v, ptr)}
        return meta

    def _valid_unicode(self, text: str, pointer: str) -> bool:
        if has_lone_surrogate(text):
            self.problems.add("AL002", f"string {short(text)} holds an unpaired \\u surrogate "
                              "escape (not valid Unicode); ignored", pointer=pointer)
            return False
        return True

    def tensor(self, name: str, entry: Any) -> TensorInfo | None:
        """One entry: {"dtype", "shape", "data_offsets"}; None (and a problem) when unusable.

        The common, valid case runs through a handful of type tests; messages and JSON
        pointers are only built on the way to a problem.
        """
        if self.check_unicode and not self._valid_unicode(name, json_pointer(name)):
            return None
        if type(entry) is not dict:
            if type(entry) is not list or len(entry) != 3:
                self._malformed(name, entry)
                return None
            entry = self._positional(name, entry)
        try:
            dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        except KeyError:
            self._malformed(name, entry)
            return None
        if (type(dtype) is not str or type(shape) is not list or type(offsets) is not list
                or len(offsets) != 2):
            self._malformed(name, entry)
            return None
        if not (_all_u64(shape) and _all_u64(offsets)):
            self._bad_number(name, shape, offsets)
            return None
        begin, end = offsets
        if begin > end:
            self._skip("AL009", name, f"data_offsets [{begin}, {end}] end before they "
                       "begin; skipped", "data_offsets")
            return None
        if self.check_unicode and not self._valid_unicode(dtype, json_pointer(name, "dtype")):
            return None
        return self._sized(TensorInfo(name, dtype, tuple(shape), self.file_name, begin, end))

    def _positional(self, name: str, entry: list[Any]) -> dict[str, Any]:
        """`[dtype, shape, data_offsets]`: not the spec's form, but the reference reader (serde)
        loads a struct from a sequence, so torch would load this tensor; read it the same way
        rather than hide it from the tensor table."""
        self._skip("AL003", name, "is an array, not an object; read positionally as [dtype, "
                   "shape, data_offsets] as the reference reader does")
        return dict(zip(_TENSOR_FIELDS, entry, strict=True))

    def _malformed(self, name: str, entry: Any) -> None:
        """Say precisely what is wrong with an entry that is not {dtype, shape, data_offsets}."""
        if not self.problems.wants("AL003"):
            return None  # past the cap: counted, not described
        if not isinstance(entry, dict):
            self._skip("AL003", name, f"is {describe(entry)}, not an object with "
                       "dtype/shape/data_offsets; skipped")
            return None
        missing = [k for k in _TENSOR_FIELDS if k not in entry]
        if missing:
            self._skip("AL003", name, f"lacks {', '.join(missing)}; skipped")
            return None
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str):
            self._skip("AL003", name, f"dtype is {describe(dtype)}, not a string; "
                       "skipped", "dtype")
            return None
        if not isinstance(shape, list):
            self._skip("AL003", name, f"shape is {describe(shape)}, not an array; "
                       "skipped", "shape")
            return None
        what = f"an array of {len(offsets)}" if isinstance(offsets, list) else describe(offsets)
        self._skip("AL003", name, f"data_offsets is {what}, not [BEGIN, END]; skipped",
                   "data_offsets")
        return None

    def _bad_number(self, name: str, shape: list[Any], offsets: list[Any]) -> None:
        for key, values in (("shape", shape), ("data_offsets", offsets)):
            for i, value in enumerate(values):
                if not _is_u64(value):
                    self._skip("AL006", name, f"{key}[{i}] is {describe(value)}, not an "
                               "integer in 0..2^64-1; skipped", key, str(i))
                    return None
        return None

    def _sized(self, t: TensorInfo) -> TensorInfo | None:
        """Check END - BEGIN == elements * bits / 8 (the spec's byte-size rule)."""
        numel = _checked_numel(t.shape)
        if numel is None:
            self._skip("AL006", t.name, f"shape {_shape_text(t.shape)} has more than "
                       "2^64 elements; skipped", "shape")
            return None
        bits = DTYPE_BITS.get(t.dtype)
        if bits is None:
            if self.problems.wants("AL007"):
                self._skip("AL007", t.name, f"unknown dtype {short(t.dtype)} (not one of the 22 "
                           "safetensors dtypes); kept, size unchecked", "dtype")
            return t
        span = t.end - t.start  # type: ignore[operator]
        total_bits = numel * bits
        if total_bits % 8:
            self._skip("AL008", t.name, f"{numel} elements of {t.dtype} ({bits} bits) are not a "
                       "whole number of bytes")
        elif total_bits // 8 != span and self.problems.wants("AL008"):
            self._skip("AL008", t.name, f"shape {_shape_text(t.shape)} of {t.dtype} needs "
                       f"{total_bits // 8} bytes but data_offsets span {span}")
        return t

    def _skip(self, code: str, name: str, detail: str, *pointer: str) -> None:
        """Report a problem with tensor `name` (the caller then skips or keeps it)."""
        if self.problems.wants(code):
            self.problems.add(code, f"tensor {short(name)}: {detail}",
                              pointer=json_pointer(name, *pointer))
        return None


def _all_u64(values: list[Any]) -> bool:
    # `type(v) is int` also rejects bool (a subclass of int) and the BadNumber stand-ins.
    for v in values:  # noqa: SIM110 - a plain loop is ~2x faster than all() on 2-4 items
        if type(v) is not int or v < 0 or v > U64_MAX:
            return False
    return True


def _checked_numel(shape: tuple[int, ...]) -> int | None:
    """Element count, or None past u64 (the reference reader's checked_mul overflow)."""
    if 0 in shape:
        return 0
    numel = 1
    for dim in shape:
        numel *= dim
        if numel > U64_MAX:
            return None
    return numel


def _shape_text(shape: tuple[int, ...]) -> str:
    text = str(list(shape))
    return text if len(text) <= SHORT_CHARS else text[:SHORT_CHARS] + "…]"


def _check_padding(text: str, end: int, problems: ProblemCollector) -> None:
    """The header "MAY be trailing padded with whitespace (0x20)" — and with nothing else."""
    tail = text[end:]
    if not tail or not tail.strip(" "):
        return
    first = len(tail) - len(tail.lstrip(" "))
    offset = len(text[: end + first].encode("utf-8"))
    problems.add("AL004", f"{len(tail)} characters after the JSON object are not all spaces "
                 f"(0x20): first {short(tail[first])} at byte {offset} of the header")


def _check_layout(tensors: list[TensorInfo], header_len: int, file_size: int | None,
                  problems: ProblemCollector) -> None:
    """The buffer "needs to be entirely indexed, and cannot contain holes" (spec)."""
    _check_spans([(t.start or 0, t.end or 0, t.name) for t in tensors], header_len, file_size,
                 problems)


def _check_spans(spans: list[tuple[int, int, str]], header_len: int, file_size: int | None,
                 problems: ProblemCollector) -> None:
    """_check_layout on (begin, end, name) triples."""
    cursor = 0
    spans.sort()
    for begin, end, name in spans:
        if begin != cursor and problems.wants("AL009"):
            if begin > cursor:
                problems.add("AL009", f"buffer bytes [{cursor}, {begin}) before tensor "
                             f"{short(name)} belong to no tensor (a hole)",
                             pointer=json_pointer(name))
            else:
                problems.add("AL009", f"tensor {short(name)} at [{begin}, {end}) overlaps bytes "
                             f"already used up to {cursor}", pointer=json_pointer(name))
        if end > cursor:
            cursor = end
    _check_buffer_end(cursor, header_len, file_size, problems)


def _check_buffer_end(cursor: int, header_len: int, file_size: int | None,
                      problems: ProblemCollector) -> None:
    """The tensors end where the file does: no trailing bytes (a polyglot), no truncation."""
    if file_size is None:
        return
    buffer = file_size - 8 - header_len
    if cursor < buffer:
        problems.add("AL010", f"{buffer - cursor} bytes after the last tensor (buffer ends at "
                     f"{buffer}, tensors at {cursor}) belong to no tensor: trailing data, "
                     "possibly a polyglot file")
    elif cursor > buffer:
        problems.add("AL010", f"tensors extend to byte {cursor} of the buffer but the file has "
                     f"only {buffer} bytes after the header: truncated")


def _report_oddities(obj: dict[str, Any], odd: JsonOddities, problems: ProblemCollector) -> None:
    owners = None
    for holder, dups in odd.duplicates:
        if holder is obj:
            for key, values in dups.items():
                problems.add("AL005", f"key {short(key)} appears {len(values)} times in the "
                             "header; this reader keeps the last, others may keep the first",
                             pointer=json_pointer(key))
            continue
        if owners is None:  # built only when needed: nested duplicates are rare
            owners = {id(v): k for k, v in obj.items() if isinstance(v, dict)}
        parent = owners.get(id(holder))
        for key, values in dups.items():
            ptr = json_pointer(parent, key) if parent is not None else None
            where = f"entry {short(parent)}" if parent is not None else "a nested object"
            problems.add("AL005", f"key {short(key)} appears {len(values)} times in {where}; "
                         "this reader keeps the last", pointer=ptr)
    if odd.constants:
        names = ", ".join(sorted(odd.constants))
        problems.add("AL006", f"header uses the non-JSON literal(s) {names}")


def _json_start(header: bytes, file_name: str) -> int:
    """Where the JSON object starts. The header "MUST begin with a {"; the reference reader
    (serde_json) skips leading JSON whitespace anyway, so we do too, and report it."""
    if header[:1] == b"{":
        return 0
    start = len(header) - len(header.lstrip(b" \t\n\r"))
    if header[start:start + 1] != b"{":
        first = header[start] if start < len(header) else header[0]
        raise HeaderError("AL003", f"header begins with byte 0x{first:02x}, not '{{' "
                          "(the format requires a JSON object)", file=file_name)
    return start


def parse_header(header: bytes, *, file_name: str, file_size: int | None = None,
                 max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> ParsedHeader:
    """Parse the N header bytes (without the 8-byte prefix) per the safetensors format spec."""
    if not isinstance(header, bytes):
        header = bytes(header)
    n = len(header)
    _check_length(n, file_name=file_name, file_size=file_size,
                  cap=_effective_cap(max_header_bytes))
    start = _json_start(header, file_name)
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError as err:
        raise HeaderError("AL002", f"header is not valid UTF-8 (byte 0x{header[err.start]:02x} "
                          f"at offset {err.start})", file=file_name) from None
    if start == 0 and "\\u" not in text:
        plain = _parse_plain(text, n, file_name, file_size)
        if plain is not None:
            return plain
    obj, end, odd = decode_json_object(text, file_name=file_name, code="AL003", what="header",
                                       start=start)
    problems = ProblemCollector(file_name)
    if start:
        problems.add("AL004", f"header begins with {start} whitespace byte(s) before '{{'; the "
                     "format requires '{' first (the reference reader tolerates it)")
    _check_padding(text, end, problems)
    _report_oddities(obj, odd, problems)
    reader = _HeaderReader(file_name, problems, check_unicode="\\u" in text)
    metadata = reader.metadata(obj.get("__metadata__"))
    tensors = []
    for name, entry in obj.items():
        if name != "__metadata__":
            tensor = reader.tensor(name, entry)
            if tensor is not None:
                tensors.append(tensor)
    _check_layout(tensors, n, file_size, problems)
    return ParsedHeader(n, metadata, TensorTable.of(tensors), problems.finish())


_PLAIN_DECODER = json.JSONDecoder()


def _parse_plain(text: str, header_len: int, file_name: str,
                 file_size: int | None) -> ParsedHeader | None:
    """The fast path for a header with nothing to report but (perhaps) its layout; None if it
    has anything else, and the strict path then reads it and words the problems.

    The strict path decodes with Python hooks on every object and integer (to see duplicate
    keys, long literals, NaN) and checks each tensor through several calls: ~6 us a tensor,
    ~0.5 s for DeepSeek-V3's 92k. Here the C decoder reads the JSON unhooked, and the result is
    accepted only if it is exactly what the strict path would take without a problem:

    - no ``\\u`` escape (the caller checks) and no leading whitespace; nothing but spaces after
      the object;
    - ``__metadata__`` absent, null, or an object of strings;
    - every other value exactly ``{"dtype": known dtype, "shape": [u64...],
      "data_offsets": [BEGIN <= END, u64]}`` whose span is the shape's size;
    - no key was dropped as a duplicate. A ``:`` outside a string separates exactly one key
      from its value, and without ``\\u`` escapes a ``:`` inside a string is a ``:`` in the
      decoded string, so the text holds as many ``:`` as the decoded objects hold pairs plus
      their strings hold colons; a dropped duplicate pair leaves at least its own ``:`` over.
      The strings are the keys, the dtypes (known names: no colon) and the metadata.

    Long integer literals decode to ints past u64 (or raise ValueError past CPython's digit
    limit) and NaN/Infinity to floats: both fail the checks above and go the strict way. The
    cost stays bounded: a 25 MB header of 4,299-digit literals takes ~0.5 s to decode here
    before the strict path reads it, about what 25 MB of ordinary tensors costs.
    """
    try:
        obj, end = _PLAIN_DECODER.raw_decode(text, 0)
    except (ValueError, RecursionError, MemoryError):
        return None
    if type(obj) is not dict or text[end:].strip(" "):
        return None
    colons = len(obj) + "".join(obj).count(":")
    metadata: dict[str, str] | None = None
    tensor_count = len(obj)
    if "__metadata__" in obj:
        tensor_count -= 1
        plain_meta = _plain_metadata(obj["__metadata__"])
        if plain_meta is None:
            return None
        metadata, meta_colons = plain_meta
        colons += meta_colons
    if text.count(":", 0, end) != colons + 3 * tensor_count:
        return None
    if "__metadata__" in obj:
        if type(obj["__metadata__"]) is dict and len(obj["__metadata__"]) == 3:
            return None  # read as a tensor entry, and failing as one, on the strict path
        del obj["__metadata__"]
    table = _plain_columns(obj, file_name)
    if table is None:
        return None
    problems = ProblemCollector(file_name)
    _check_table_spans(table, header_len, file_size, problems)
    return ParsedHeader(header_len, metadata, table, problems.finish())


def _plain_columns(obj: dict[str, Any], file_name: str) -> TensorTable | None:
    """The tensor entries of a decoded header as columns, checked a whole column at a time;
    None unless every entry is exactly ``{"dtype": known, "shape": [u64...], "data_offsets":
    [BEGIN <= END, u64]}`` with the shape's size as span (the strict path then words it)."""
    entries = list(obj.values())
    if _kinds(entries) - {dict} or set(map(len, entries)) - {3}:
        return None
    try:
        dtypes = [e["dtype"] for e in entries]
        shapes = [e["shape"] for e in entries]
        offsets = [e["data_offsets"] for e in entries]
    except KeyError:
        return None
    if _kinds(dtypes) - {str} or _kinds(shapes) - {list} or _kinds(offsets) - {list}:
        return None
    bits = list(map(DTYPE_BITS.get, dtypes))
    if None in bits or set(map(len, offsets)) - {2}:
        return None
    starts = [o[0] for o in offsets]
    ends = [o[1] for o in offsets]
    if _kinds(starts) - {int} or _kinds(ends) - {int}:
        return None
    if entries and (min(starts) < 0 or max(ends) > U64_MAX or any(map(gt, starts, ends))):
        return None
    dims = [d for shape in shapes for d in shape]
    if _kinds(dims) - {int} or (dims and (min(dims) < 0 or max(dims) > U64_MAX)):
        return None
    # a shape of many huge dimensions stops at the first product past u64 (no huge ints)
    numels = [prod(shape) if len(shape) <= _SHORT_SHAPE else _plain_numel(shape)
              for shape in shapes]
    if None in numels or (numels and max(numels) > U64_MAX):  # type: ignore[type-var]
        return None
    if list(map(mul, numels, bits)) != list(map(mul, map(sub, ends, starts), repeat(8))):
        return None
    return TensorTable(list(obj), dtypes, list(map(tuple, shapes)), [file_name] * len(entries),
                       starts, ends)


#: Up to this many dimensions of at most u64 each, a shape's product is a small int (512
#: bits at most): computed at C speed, then compared with u64.
_SHORT_SHAPE = 8


def _kinds(values: list[Any]) -> set[type]:
    return set(map(type, values))


def _check_table_spans(table: TensorTable, header_len: int, file_size: int | None,
                       problems: ProblemCollector) -> None:
    """`_check_spans` on a table: when the spans, ordered by BEGIN, tile the buffer from 0
    (each BEGIN is the END before it) there is no hole or overlap to word, and only the
    buffer's end is checked; otherwise `_check_spans` words what it finds."""
    starts, ends = table.starts, table.ends
    order = sorted(range(len(starts)), key=starts.__getitem__)
    begins = [starts[i] for i in order]
    finishes = [ends[i] for i in order]
    if begins and (begins[0] != 0 or begins[1:] != finishes[:-1]):
        spans = list(zip(starts, ends, table.names, strict=True))
        _check_spans(spans, header_len, file_size, problems)  # type: ignore[arg-type]
        return
    _check_buffer_end(finishes[-1] if finishes else 0, header_len, file_size, problems)


def _plain_metadata(raw_meta: object) -> tuple[dict[str, str] | None, int] | None:
    """``__metadata__`` on the fast path: (the metadata, the ``:`` its text holds), or None
    when it is neither null nor an object of strings."""
    if raw_meta is None:
        return None, 0
    if type(raw_meta) is not dict:
        return None
    colons = 0
    for key, value in raw_meta.items():
        if type(value) is not str:
            return None
        colons += 1 + key.count(":") + value.count(":")
    return dict(raw_meta), colons


def _plain_numel(shape: list[object]) -> int | None:
    """The element count of a shape of u64 dimensions, None past u64 (stopping at once, as the
    strict path does: no huge products)."""
    numel = 1
    for dim in shape:
        if type(dim) is not int or not 0 <= dim <= U64_MAX:
            return None
        numel *= dim
        if numel > U64_MAX:
            return None
    return numel


def parse_safetensors_prefix(buf: bytes, *, file_name: str, file_size: int | None = None,
                             max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> ParsedHeader:
    """Parse a header from the first bytes of a file (at least 8 + N of them)."""
    n = header_length(buf[:8], file_name=file_name, file_size=file_size,
                      max_header_bytes=max_header_bytes)
    if len(buf) < 8 + n:
        raise HeaderError("AL001", f"header length {n} needs {8 + n} bytes but only {len(buf)} "
                          "are available (truncated)", file=file_name)
    return parse_header(buf[8: 8 + n], file_name=file_name, file_size=file_size,
                        max_header_bytes=max_header_bytes)


# -- local files ---------------------------------------------------------------------------------

def _read_exact(read: Callable[[int], bytes], n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = read(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_header_from(fh: BinaryIO, *, file_name: str, file_size: int | None = None,
                     max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> ParsedHeader:
    """Read exactly 8 + N bytes from a binary stream positioned at the start of a file."""
    prefix = _read_exact(fh.read, 8)
    n = header_length(prefix, file_name=file_name, file_size=file_size,
                      max_header_bytes=max_header_bytes)
    header = _read_exact(fh.read, n)
    if len(header) < n:
        raise HeaderError("AL001", f"file ended after {len(header)} of the {n} header bytes "
                          "(truncated)", file=file_name)
    return parse_header(header, file_name=file_name, file_size=file_size,
                        max_header_bytes=max_header_bytes)


def read_local_header(path: str | os.PathLike[str], *,
                      max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> ParsedHeader:
    """Read and parse a local file's header, reading only its first 8 + N bytes."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            st = os.fstat(fh.fileno())
            size = st.st_size if stat.S_ISREG(st.st_mode) else None
            return read_header_from(fh, file_name=p.name, file_size=size,
                                    max_header_bytes=max_header_bytes)
    except OSError as err:
        raise InputError(f"cannot read {p}: {err.strerror or err}") from None


# -- writing (fixtures, the test Hub, the planted repo) -------------------------------------------

def encode_header(tensors: list[TensorInfo], metadata: dict[str, str] | None = None
                  ) -> tuple[bytes, list[TensorInfo]]:
    """The inverse of `parse_safetensors_prefix`: the 8-byte length, the JSON header (compact,
    `__metadata__` first, tensors at consecutive offsets in the given order) and space padding
    to an 8-byte boundary, as the reference writer pads. Returns the bytes a file starts with
    and the tensors with their `data_offsets`; the data buffer is `placed[-1].end` bytes."""
    header: dict[str, Any] = {"__metadata__": metadata} if metadata else {}
    placed = []
    offset = 0
    for t in tensors:
        end = offset + t.nbytes
        header[t.name] = {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [offset, end]}
        placed.append(TensorInfo(t.name, t.dtype, tuple(t.shape), t.shard, offset, end))
        offset = end
    body = json.dumps(header, separators=(",", ":")).encode()
    body += b" " * (-len(body) % 8)
    return len(body).to_bytes(8, "little") + body, placed
