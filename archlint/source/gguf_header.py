"""Strict reader for GGUF headers: metadata key/values and tensor infos, never tensor data.

The GGUF format (ggml's `docs/gguf.md`; ggml's own reader `gguf.cpp`, `gguf_init_from_file`):

- ``"GGUF"`` magic; a u32 version (1 had u32 counts and is unsupported; 2 and 3 use u64;
  3 allows big-endian files, which ggml recognises only by the byte-swapped version);
- u64 tensor count, u64 metadata count; then each key/value: a string key, a u32 value type
  and the value. Strings are a u64 byte length and that many UTF-8 bytes (no terminator);
  arrays are a u32 item type, a u64 count and the items (the spec allows arrays of arrays);
- each tensor info: a string name, a u32 dimension count, that many u64 sizes (ggml `ne`,
  the innermost first), a u32 ggml type and a u64 offset into the data section;
- padding to `general.alignment` (u32, default 32), then the data section. ggml requires every
  tensor's offset to be exactly where the previous one ends, padded to the alignment
  ("tensor '%s' has offset %u, expected %zu"), at most 4 dimensions (`GGML_MAX_DIMS`), names
  shorter than 64 bytes (`GGML_MAX_NAME`), unique keys and names, and rows that are a whole
  number of blocks of the tensor's type.

The header's length is stored nowhere: it ends where the last tensor info ends. A reader that
sees only a prefix (an HTTP range) raises :class:`NeedMoreBytes` with how many bytes it needs
at least and a guess of the whole header; the caller fetches more and parses again. Every
length (string, array, count) is checked against the bytes the *file* holds before anything
is allocated, so a forged length costs nothing.

Like the safetensors reader: defects that leave nothing usable raise
:class:`~archlint.errors.HeaderError`; recoverable ones become Problems with stable codes.
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archlint.checkpoint import ShardInfo, TensorInfo
from archlint.errors import HeaderError, InputError
from archlint.ggml_types import GGML_TYPES, REMOVED_TYPES
from archlint.problems import ProblemCollector, short

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
#: ggml's default when `general.alignment` is absent (`GGUF_DEFAULT_ALIGNMENT`).
DEFAULT_ALIGNMENT = 32
GGML_MAX_DIMS = 4
GGML_MAX_NAME = 64

#: Default cap on the header (metadata + tensor infos). The largest headers are vocabularies:
#: Gemma-3's 262,144 tokens with scores and types are ~6 MB, a 256k-token BPE vocabulary with
#: its merges ~10 MB; 64 MiB is 6x that.
DEFAULT_MAX_HEADER_BYTES = 64 * 1024 * 1024
HARD_MAX_HEADER_BYTES = 512 * 1024 * 1024
#: Real files hold ~30-60 keys; the cap only bounds a hostile count (each key costs >= 13 B).
MAX_METADATA_COUNT = 1_000_000
#: Stacked-expert GGUF files hold ~1-2k tensors (DeepSeek-V3: 1,025); an unstacked MoE ~100k.
MAX_TENSOR_COUNT = 1_000_000
#: The longest array kept item by item; longer ones (vocabularies) keep their length only.
KEEP_ARRAY_ITEMS = 4096
MAX_ARRAY_DEPTH = 8
#: First ranged read. Headers are a vocabulary and ~100 B per tensor: 32k-token files are
#: ~0.5-1 MB, a 150k-token vocabulary alone ~2.2 MB, one with its BPE merges or an SPM
#: vocabulary of 256k with scores 4-7 MB. 3 MiB brings the first two kinds in one round trip
#: without moving 6 MiB for a 0.5 MB header; a header cut inside its vocabulary is estimated
#: from the part read (the rest of the array at its average item size, plus the arrays that
#: follow it, `_Cursor.estimate`), so the larger ones take exactly one more range.
FIRST_READ_BYTES = 3 * 1024 * 1024

# value type id → (name, struct code, size); STRING (8) and ARRAY (9) are variable-sized.
_SCALARS: dict[int, tuple[str, str, int]] = {
    0: ("UINT8", "B", 1),
    1: ("INT8", "b", 1),
    2: ("UINT16", "H", 2),
    3: ("INT16", "h", 2),
    4: ("UINT32", "I", 4),
    5: ("INT32", "i", 4),
    6: ("FLOAT32", "f", 4),
    7: ("BOOL", "B", 1),
    10: ("UINT64", "Q", 8),
    11: ("INT64", "q", 8),
    12: ("FLOAT64", "d", 8),
}
STRING, ARRAY = 8, 9
TYPE_NAMES = {**{k: v[0] for k, v in _SCALARS.items()}, STRING: "STRING", ARRAY: "ARRAY"}
#: The fewest bytes one item of a type can take (a string: its u64 length; an array: u32 + u64).
_MIN_ITEM = {**{k: v[2] for k, v in _SCALARS.items()}, STRING: 8, ARRAY: 12}


class NeedMoreBytes(Exception):
    """The prefix ended inside the header: read at least `needed` bytes (about `estimate`)."""

    def __init__(self, needed: int, estimate: int) -> None:
        super().__init__(f"need {needed} bytes")
        self.needed = needed
        self.estimate = max(estimate, needed)


@dataclass(frozen=True, slots=True)
class ArraySummary:
    """A long array, validated item by item but kept as its type and length only."""

    item_type: str
    length: int

    def to_json(self) -> dict[str, Any]:
        return {"gguf_array": self.item_type, "length": self.length}


@dataclass
class ParsedGGUF:
    version: int
    byte_order: str  # "little" | "big"
    metadata: dict[str, Any]
    value_types: dict[str, str]  # key → GGUF value type ("UINT32", "ARRAY[STRING]", ...)
    tensors: list[TensorInfo]  # shape in PyTorch order (ggml ne reversed); start/end in data
    alignment: int
    data_offset: int  # where the data section starts (the header's padded length)
    ggml_type_ids: dict[str, int] = field(default_factory=dict)
    problems: list[Any] = field(default_factory=list)

    def shard_info(self, name: str, file_size: int | None = None) -> ShardInfo:
        return ShardInfo(name=name, header_len=self.data_offset, file_size=file_size,
                         metadata=None, tensor_count=len(self.tensors))

    def json_metadata(self) -> dict[str, Any]:
        """Metadata as JSON values (long arrays as {"gguf_array": type, "length": n})."""
        return {k: _jsonable(v) for k, v in self.metadata.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, ArraySummary):
        return value.to_json()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


class _Cursor:
    """Reads a header from a buffer that may be a prefix of the file."""

    def __init__(self, buf: Any, *, file_name: str, file_size: int | None, cap: int) -> None:
        self.buf = buf
        self.pos = 0
        self.file_name = file_name
        self.have = len(buf)
        self.complete = file_size is not None and self.have >= file_size
        # Where the bytes stop for good: the file's end, else the buffer's.
        self.limit = file_size if file_size is not None else self.have
        self.cap = cap
        self.order = "<"
        # progress through the current long string array, for NeedMoreBytes' estimate
        self.array_progress: tuple[int, int, int] | None = None  # (done, total, start)
        # bytes per item of the current array expected in the arrays that follow it
        # (a vocabulary's scores, token types, merges): (fixed bytes, multiple of the item)
        self.follows: tuple[int, float] = (0, 0.0)
        # bytes expected after the current value before the tensor infos (BPE merges not
        # read yet, once the tokens are known)
        self.pending = 0
        self.tensor_count = 0

    def fail(self, message: str) -> HeaderError:
        return HeaderError("AL020", message, file=self.file_name)

    def need(self, n: int, what: str) -> None:
        end = self.pos + n
        if end <= self.have:
            return
        if end > self.limit:
            raise self.fail(f"{what} needs {n} bytes at offset {self.pos} but the file has "
                            f"{self.limit} bytes (truncated or a lying length)")
        if end > self.cap:
            raise self.fail(f"the header runs past {self.cap} bytes at {what} (limit; "
                            f"configurable up to {HARD_MAX_HEADER_BYTES})")
        raise NeedMoreBytes(end, self.estimate(end))

    def estimate(self, needed: int) -> int:
        """A guess of the whole header: the rest of the current string array at the average
        item length so far, plus ~100 B per tensor info (name, dims, type, offset)."""
        guess = needed
        if self.array_progress is not None:
            done, total, start = self.array_progress
            if done:
                per = (self.pos - start) / done
                fixed, scale = self.follows
                after = total * (fixed + scale * per)
                guess = max(guess, int(self.pos + ((total - done) * per + after) * 1.25))
        guess += self.pending + 100 * self.tensor_count + 64 * 1024
        return min(guess, self.cap, self.limit)

    def fixed(self, code: str, size: int, what: str) -> Any:
        self.need(size, what)
        value = struct.unpack_from(self.order + code, self.buf, self.pos)[0]
        self.pos += size
        return value

    def u32(self, what: str) -> int:
        return int(self.fixed("I", 4, what))

    def u64(self, what: str) -> int:
        return int(self.fixed("Q", 8, what))

    def raw_string(self, what: str) -> bytes:
        n = self.u64(f"the length of {what}")
        if n > self.limit - self.pos:
            raise self.fail(f"{what} claims {n} bytes at offset {self.pos - 8}, more than the "
                            f"{self.limit - self.pos} left in the file")
        self.need(n, what)
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return data

    def check_count(self, count: int, item_size: int, what: str) -> None:
        """Refuse a count whose smallest encoding cannot fit in the rest of the file."""
        if count * item_size > self.limit - self.pos:
            raise self.fail(f"{what} claims {count} items at offset {self.pos}: at least "
                            f"{count * item_size} bytes, more than the {self.limit - self.pos} "
                            "left in the file")


class _Reader:
    def __init__(self, cur: _Cursor, problems: ProblemCollector) -> None:
        self.cur = cur
        self.problems = problems
        self.metadata: dict[str, Any] = {}  # the keys read so far
        self.vocabulary: tuple[int, float] | None = None  # tokens: (count, bytes per item)

    def text(self, raw: bytes, what: str, *, fatal: bool) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            message = (f"{what} is not valid UTF-8 (byte 0x{raw[err.start]:02x} at offset "
                       f"{err.start})")
            if fatal:
                raise self.cur.fail(message) from None
            if self.problems.wants("AL021"):
                self.problems.add("AL021", message)
            return raw.decode("utf-8", errors="replace")

    def value(self, vtype: int, key: str, depth: int = 0) -> tuple[Any, str]:
        cur = self.cur
        if vtype in _SCALARS:
            name, code, size = _SCALARS[vtype]
            value = cur.fixed(code, size, f"the value of {short(key)}")
            if vtype == 7:
                if value > 1:
                    self.problems.add("AL027", f"{short(key)}: BOOL byte {value} is neither 0 "
                                      "nor 1; read as true")
                value = bool(value)
            return value, name
        if vtype == STRING:
            return self.text(cur.raw_string(f"the value of {short(key)}"),
                             f"the value of {short(key)}", fatal=False), "STRING"
        if vtype == ARRAY:
            return self.array(key, depth)
        raise cur.fail(f"{short(key)} has value type {vtype}, which GGUF does not define "
                       "(0-12)")

    def array(self, key: str, depth: int) -> tuple[Any, str]:
        cur = self.cur
        if depth >= MAX_ARRAY_DEPTH:
            raise cur.fail(f"{short(key)}: arrays nested deeper than {MAX_ARRAY_DEPTH}")
        item = cur.u32(f"the item type of {short(key)}")
        count = cur.u64(f"the length of {short(key)}")
        if item not in _MIN_ITEM:
            raise cur.fail(f"{short(key)} is an array of type {item}, which GGUF does not "
                           "define (0-12)")
        cur.check_count(count, _MIN_ITEM[item], f"array {short(key)}")
        type_name = f"ARRAY[{TYPE_NAMES[item]}]"
        if item in _SCALARS and item != 7:
            _, code, size = _SCALARS[item]
            cur.need(count * size, f"array {short(key)}")
            if count > KEEP_ARRAY_ITEMS:
                cur.pos += count * size
                return ArraySummary(TYPE_NAMES[item], count), type_name
            values = list(struct.unpack_from(f"{cur.order}{count}{code}", cur.buf, cur.pos))
            cur.pos += count * size
            return values, type_name
        if item == STRING:
            return self.strings(key, count), type_name
        if item == ARRAY:
            self.problems.add("AL027", f"{short(key)} is an array of arrays: valid GGUF, but "
                              "ggml's reader refuses nested arrays")
        items = []
        for _ in range(count):
            value, _name = self.value(item, key, depth + 1)
            if count <= KEEP_ARRAY_ITEMS:
                items.append(value)
        if count > KEEP_ARRAY_ITEMS:
            return ArraySummary(TYPE_NAMES[item], count), type_name
        return items, type_name

    def strings(self, key: str, count: int) -> Any:
        """An array of strings, each length checked and each string strict UTF-8.

        A vocabulary is ~150k strings, so the walk does only the lengths per item, in the
        tightest loop Python allows (`_walk_lengths`); UTF-8 is checked for the whole run at
        once when every length is under 128: the u64 prefixes are then ASCII bytes, and a run
        of valid UTF-8 pieces split by ASCII bytes is valid exactly when each piece is.
        Longer strings (or a failure) are checked one by one.
        """
        cur = self.cur
        start = cur.pos
        walked = _walk_lengths(cur.buf, start, count, cur.have, cur.order)
        if walked is None:
            cur.follows = self.vocabulary_tail(key)
            pos, longest = self._walk_checked(key, count, start)
        else:
            pos, longest = walked
        cur.pos, cur.array_progress, cur.follows = pos, None, (0, 0.0)
        if key == "tokenizer.ggml.tokens" and count:
            self.vocabulary = (count, (pos - start) / count)
        buf = cur.buf
        region = bytes(buf[start:pos])
        if count > KEEP_ARRAY_ITEMS and longest < 128:
            try:
                region.decode("utf-8")
                return ArraySummary("STRING", count)
            except UnicodeDecodeError:
                pass
        items, bad, at = [], 0, 0
        for _ in range(count):
            n = int.from_bytes(region[at:at + 8], "little" if cur.order == "<" else "big")
            raw = region[at + 8:at + 8 + n]
            at += 8 + n
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                bad += 1
                text = raw.decode("utf-8", errors="replace")
            items.append(text)
        if bad:
            self.problems.add("AL021", f"{bad} of the {count} strings of {short(key)} are not "
                              "valid UTF-8")
        return items if count <= KEEP_ARRAY_ITEMS else ArraySummary("STRING", count)

    def vocabulary_tail(self, key: str) -> tuple[int, float]:
        """What llama.cpp's converters write after `tokenizer.ggml.tokens`, per token: the
        token types (i32) always; scores (f32) for SentencePiece vocabularies ("llama"); for
        BPE ("gpt2") the merges, about one per token, each two token pieces and a space
        behind its own u64 length (~2 token items). A guess for sizing the next read only."""
        if key != "tokenizer.ggml.tokens":
            return (0, 0.0)
        model = self.metadata.get("tokenizer.ggml.model")
        if model == "gpt2":
            return (4 - 7, 2.0)
        return (8, 0.0) if model == "llama" else (4, 0.0)

    def merges_pending(self, key: str) -> int:
        """Bytes of BPE merges still to come once the tokens are read (see vocabulary_tail),
        while reading any other value before them."""
        if (self.vocabulary is None or key == "tokenizer.ggml.merges"
                or "tokenizer.ggml.merges" in self.metadata
                or self.metadata.get("tokenizer.ggml.model") != "gpt2"):
            return 0
        count, per = self.vocabulary
        return int(count * max(2 * per - 7, 0))

    def _walk_checked(self, key: str, count: int, start: int) -> tuple[int, int]:
        """The walk with every item checked: says which item ends past the bytes read (and
        how much more to read) or past the file (a lying length)."""
        cur = self.cur
        buf, have, limit = cur.buf, cur.have, cur.limit
        unpack = struct.Struct(cur.order + "Q").unpack_from
        pos = start
        longest = 0
        for index in range(count):
            if pos + 8 > have:
                cur.pos, cur.array_progress = pos, (index, count, start)
                cur.need(8, f"item {index} of {short(key)}")
            n = unpack(buf, pos)[0]
            end = pos + 8 + n
            if end > have:
                cur.pos, cur.array_progress = pos, (index, count, start)
                if n > limit - pos - 8:
                    raise cur.fail(f"item {index} of {short(key)} claims {n} bytes, more than "
                                   f"the {limit - pos - 8} left in the file")
                cur.need(8 + n, f"item {index} of {short(key)}")
            longest = max(longest, n)
            pos = end
        return pos, longest


def _walk_lengths(buf: Any, pos: int, count: int, have: int, order: str
                  ) -> tuple[int, int] | None:
    """(end, OR of the lengths) of `count` length-prefixed strings from `pos`, or None when
    the run does not end inside the `have` bytes read (then the checked walk says why).

    No check per item: a length that runs past the buffer makes the next read fail (an
    IndexError, a struct.error, or an OverflowError for a forged length past 2**63) and the
    end is compared once; OR-ing the lengths bounds the longest (< 128 iff every one is).
    The u64 lengths are read through eight u64 views of the buffer, one per byte offset
    (`memoryview.cast`: an index instead of an `unpack_from` call and its tuple), when the
    file's byte order is the machine's."""
    bits = 0
    try:
        if (order == "<") == (sys.byteorder == "little"):
            whole = memoryview(buf)[:have]
            views = [whole[k:k + (have - k) // 8 * 8].cast("Q") for k in range(min(8, have))]
            for _ in range(count):
                n = views[pos & 7][pos >> 3]
                pos += 8 + n
                bits |= n
        else:
            unpack = struct.Struct(order + "Q").unpack_from
            for _ in range(count):
                n = unpack(buf, pos)[0]
                pos += 8 + n
                bits |= n
    except (IndexError, struct.error, OverflowError, TypeError, ValueError):
        return None
    return (pos, bits) if pos <= have else None


def _version(cur: _Cursor) -> int:
    cur.need(8, "the magic and version")
    magic = bytes(cur.buf[0:4])
    if magic != MAGIC:
        hint = ""
        if magic[:1] == b"{" or bytes(cur.buf[8:9]) == b"{":
            hint = "; it looks like a safetensors or JSON file"
        elif magic.startswith(b"vers"):
            hint = "; it looks like a Git LFS pointer"
        raise cur.fail(f"not a GGUF file: magic {magic!r} instead of b'GGUF'{hint}")
    little = struct.unpack_from("<I", cur.buf, 4)[0]
    big = struct.unpack_from(">I", cur.buf, 4)[0]
    cur.pos = 8
    if little in SUPPORTED_VERSIONS:
        return int(little)
    if big in SUPPORTED_VERSIONS:
        cur.order = ">"
        return int(big)
    if little == 1:
        raise cur.fail("GGUF version 1 (u32 counts, 2023) is not supported; re-convert with a "
                       "current llama.cpp")
    raise cur.fail(f"GGUF version {little} is not supported (2 and 3 are)")


def parse_gguf(buf: Any, *, file_name: str, file_size: int | None = None,
               max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> ParsedGGUF:
    """Parse the GGUF header at the start of `buf` (bytes, memoryview or mmap).

    `buf` may be a prefix of the file: when the header continues past it, NeedMoreBytes says
    how much to read. `file_size` bounds every length; without it the buffer is the file.
    """
    if type(max_header_bytes) is not int or max_header_bytes < 24:
        raise ValueError("max_header_bytes must be an int >= 24")
    cap = min(max_header_bytes, HARD_MAX_HEADER_BYTES)
    cur = _Cursor(buf, file_name=file_name, file_size=file_size, cap=cap)
    problems = ProblemCollector(file_name)
    reader = _Reader(cur, problems)
    version = _version(cur)
    n_tensors = cur.u64("the tensor count")
    n_kv = cur.u64("the metadata count")
    if n_tensors > MAX_TENSOR_COUNT:
        raise cur.fail(f"tensor count {n_tensors} exceeds the limit of {MAX_TENSOR_COUNT}")
    if n_kv > MAX_METADATA_COUNT:
        raise cur.fail(f"metadata count {n_kv} exceeds the limit of {MAX_METADATA_COUNT}")
    cur.check_count(n_kv, 13, "the metadata count")
    cur.tensor_count = n_tensors
    metadata: dict[str, Any] = {}
    reader.metadata = metadata
    types: dict[str, str] = {}
    for index in range(n_kv):
        key = reader.text(cur.raw_string(f"key {index}"), f"key {index}", fatal=True)
        vtype = cur.u32(f"the value type of {short(key)}")
        cur.pending = reader.merges_pending(key)
        value, type_name = reader.value(vtype, key)
        if key in metadata:
            problems.add("AL022", f"metadata key {short(key)} appears more than once; ggml "
                         "refuses the file (this reader keeps the last)")
        metadata[key] = value
        types[key] = type_name
    alignment = _alignment(metadata, types, problems)
    cur.check_count(n_tensors, 8 + 4 + 4 + 8, "the tensor count")
    tensors, type_ids = _tensor_infos(cur, reader, problems, n_tensors, alignment)
    data_offset = -(-cur.pos // alignment) * alignment
    _check_layout(tensors, alignment, data_offset, file_size, problems)
    return ParsedGGUF(version, "little" if cur.order == "<" else "big", metadata, types,
                      tensors, alignment, data_offset, type_ids, problems.finish())


def _alignment(metadata: dict[str, Any], types: dict[str, str],
               problems: ProblemCollector) -> int:
    if "general.alignment" not in metadata:
        return DEFAULT_ALIGNMENT
    value = metadata["general.alignment"]
    if types["general.alignment"] != "UINT32" or value == 0 or value & (value - 1):
        problems.add("AL027", f"general.alignment must be a UINT32 power of two, not "
                     f"{types['general.alignment']} {short(str(value), 20)}; ggml refuses the "
                     f"file (read with the default {DEFAULT_ALIGNMENT})")
        return DEFAULT_ALIGNMENT
    return int(value)


def _tensor_infos(cur: _Cursor, reader: _Reader, problems: ProblemCollector, count: int,
                  alignment: int) -> tuple[list[TensorInfo], dict[str, int]]:
    tensors: list[TensorInfo] = []
    type_ids: dict[str, int] = {}
    seen: set[str] = set()
    for index in range(count):
        name = reader.text(cur.raw_string(f"tensor name {index}"), f"tensor name {index}",
                           fatal=True)
        n_dims = cur.u32(f"the dimension count of {short(name)}")
        if n_dims > GGML_MAX_DIMS:
            cur.check_count(n_dims, 8, f"the dimensions of {short(name)}")
        ne = [cur.u64(f"dimension {d} of {short(name)}") for d in range(n_dims)]
        type_id = cur.u32(f"the type of {short(name)}")
        offset = cur.u64(f"the offset of {short(name)}")
        if name in seen:
            problems.add("AL022", f"tensor {short(name)} appears more than once; ggml refuses "
                         "the file")
            continue
        seen.add(name)
        if len(name.encode()) >= GGML_MAX_NAME and problems.wants("AL024"):
            problems.add("AL024", f"tensor {short(name)}: name of {len(name.encode())} bytes; "
                         f"ggml allows at most {GGML_MAX_NAME - 1}")
        if n_dims > GGML_MAX_DIMS:
            problems.add("AL024", f"tensor {short(name)} has {n_dims} dimensions; ggml allows "
                         f"at most {GGML_MAX_DIMS}")
            continue
        numel = 1
        for dim in ne:
            numel *= dim
        if numel >= 2**63:
            problems.add("AL024", f"tensor {short(name)}: {ne} elements overflow int64")
            continue
        gtype = GGML_TYPES.get(type_id)
        if gtype is None:
            if problems.wants("AL023"):
                removed = REMOVED_TYPES.get(type_id)
                why = (f"{removed}, removed from ggml" if removed else
                       "not a ggml type this reader knows")
                problems.add("AL023", f"tensor {short(name)} has ggml type {type_id} ({why}): "
                             "its bytes are unknown")
            dtype = f"GGML_TYPE_{type_id}"
            size = None
        else:
            dtype = gtype.name
            row = gtype.row_bytes(ne[0] if ne else 1)
            if row is None:
                if problems.wants("AL024"):
                    problems.add("AL024", f"tensor {short(name)}: rows of {ne[0]} values are not "
                                 f"a whole number of {gtype.name} blocks of {gtype.block_size}")
                size = None
            else:
                size = row * (numel // ne[0] if ne and ne[0] else (0 if ne else 1))
        if offset % alignment and problems.wants("AL025"):
            problems.add("AL025", f"tensor {short(name)} at data offset {offset} is not a "
                         f"multiple of the alignment {alignment}")
        type_ids.setdefault(dtype, type_id)
        tensors.append(TensorInfo(name, dtype, tuple(reversed(ne)), None, offset,
                                  None if size is None else offset + size))
    return tensors, type_ids


def _check_layout(tensors: list[TensorInfo], alignment: int, data_offset: int,
                  file_size: int | None, problems: ProblemCollector) -> None:
    """ggml's rule: in header order, each tensor starts where the previous one ends padded to
    the alignment. Overlaps and gaps are reported separately (an overlap aliases weights)."""
    expected = 0
    spans = sorted((t.start or 0, t.end, t.name) for t in tensors if t.end is not None)
    for tensor in tensors:
        if tensor.end is None:
            expected = -1  # unknown size: the rest of the chain cannot be followed
            break
        if tensor.start != expected and problems.wants("AL025"):
            problems.add("AL025", f"tensor {short(tensor.name)} has data offset {tensor.start}, "
                         f"expected {expected} (ggml requires tensors packed in header order)")
        expected = -(-(tensor.end) // alignment) * alignment
    cursor = 0
    for begin, end, name in spans:
        if begin < cursor and problems.wants("AL025"):
            problems.add("AL025", f"tensor {short(name)} at [{begin}, {end}) overlaps bytes "
                         f"already used up to {cursor}")
        cursor = max(cursor, end or 0)
    if file_size is not None and spans:
        room = file_size - data_offset
        if cursor > room:
            problems.add("AL026", f"tensors extend to byte {cursor} of the data section but "
                         f"the file has only {max(room, 0)} bytes after the header: truncated")


# -- local files ---------------------------------------------------------------------------------

def read_local_gguf(path: str | os.PathLike[str], *,
                    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> tuple[ParsedGGUF, int]:
    """Parse a local file's GGUF header through a read-only mmap (pages the header touches are
    the only ones read). Returns the header and the file size."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
                data: Any = fh.read(min(max_header_bytes, HARD_MAX_HEADER_BYTES))
                return parse_gguf(data, file_name=p.name, file_size=len(data),
                                  max_header_bytes=max_header_bytes), len(data)
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                view = memoryview(mapped)
                try:
                    parsed = parse_gguf(view, file_name=p.name, file_size=st.st_size,
                                        max_header_bytes=max_header_bytes)
                finally:
                    view.release()
                return parsed, st.st_size
    except OSError as err:
        raise InputError(f"cannot read {p}: {err.strerror or err}") from None
