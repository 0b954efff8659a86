"""Strict reader for a sharded checkpoint's index (``model.safetensors.index.json``).

The index is the convention transformers writes next to shards (``save_pretrained``):
``{"metadata": {"total_size": <bytes of all tensors>}, "weight_map": {tensor: shard file}}``.
Shard names are paths relative to the index's folder, and they come from an untrusted repo, so
a name that could escape the repo (``../``, absolute, drive letters, backslashes, NUL) is refused
before anyone joins it to a path or a URL.

``check_shards`` then verifies the index against the shards' own headers (the safetensors format
spec makes each header the authority on what its file holds): every tensor listed is in its
shard, each tensor is stored once, every shard exists, and ``total_size`` is the sum of the
tensors' bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archlint.checkpoint import Problem, TensorInfo, TensorTable
from archlint.errors import HeaderError
from archlint.problems import ProblemCollector, json_pointer, short
from archlint.source.safetensors_header import (
    U64_MAX,
    BadNumber,
    decode_json_object,
    describe,
    has_lone_surrogate,
)

#: Cap on distinct shard files. Each shard costs at least one ranged request, so a forged index
#: listing a million shards would turn a lint into a flood of requests. The largest real
#: checkpoints we know have 191 (Llama-3.1-405B) and 163 (DeepSeek-V3) shards; 2048 is 10x that.
MAX_SHARDS = 2048

#: Cap on the index file itself. DeepSeek-R1's index (91,991 tensors) is ~9 MB; 64 MiB is ~7x
#: that and bounds the memory a hostile index can make us spend.
MAX_INDEX_BYTES = 64 * 1024 * 1024


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # run once per distinct shard name, not per tensor


@dataclass
class ParsedIndex:
    raw: dict[str, Any]
    weight_map: dict[str, str]  # only entries with a safe shard name
    total_size: int | None  # metadata.total_size, when a usable integer
    shards: list[str]  # distinct safe shard names, in order of first appearance
    problems: list[Problem] = field(default_factory=list)
    file_name: str | None = None
    dropped: int = 0  # weight_map entries left out (unsafe or non-string shard)


def safe_shard_name(name: str) -> bool:
    """True when `name` is a plain relative path that stays inside the repo folder."""
    if not isinstance(name, str) or not name:
        return False
    if "\\" in name or _CONTROL.search(name):
        return False  # backslash: a separator on Windows; controls (NUL...): never a Hub path
    if name.startswith("/") or ":" in name:
        # Absolute POSIX path; any colon: a Windows drive ("C:\\x", drive-relative "C:x") or an
        # NTFS alternate data stream ("a:b"). Windows forbids ":" in names: no real shard has one.
        return False
    if any(part in ("", ".", "..") for part in name.split("/")):
        return False
    return not has_lone_surrogate(name)  # no file system stores an unpaired surrogate


def _decode_index(data: bytes | str, file_name: str) -> str:
    if len(data) > MAX_INDEX_BYTES:
        # callers may hand over only the first MAX_INDEX_BYTES + 1 bytes of a larger file
        raise HeaderError("AL016", f"index is over the {MAX_INDEX_BYTES:,}-byte limit",
                          file=file_name)
    if isinstance(data, str):
        return data
    try:
        return bytes(data).decode("utf-8-sig")  # a BOM is harmless; tolerate it
    except UnicodeDecodeError as err:
        raise HeaderError("AL016", f"index is not valid UTF-8 (offset {err.start})",
                          file=file_name) from None


def _total_size(meta: Any, problems: ProblemCollector) -> int | None:
    ptr = json_pointer("metadata", "total_size")
    if meta is None:
        return None
    if not isinstance(meta, dict):
        problems.add("AL016", f"metadata is {describe(meta)}, not an object",
                     pointer=json_pointer("metadata"))
        return None
    if "total_size" not in meta:
        return None
    value = meta["total_size"]
    if type(value) is int and 0 <= value <= U64_MAX:
        return value
    if isinstance(value, (bool, int, float, BadNumber)):
        problems.add("AL006", f"metadata.total_size is {describe(value)}, not a non-negative "
                     "integer", pointer=ptr)
    else:
        problems.add("AL016", f"metadata.total_size is {describe(value)}, not a number",
                     pointer=ptr)
    return None


def _report_duplicates(raw: dict[str, Any], weight_map: dict[str, Any],
                       duplicates: list[tuple[dict[str, Any], dict[str, list[Any]]]],
                       problems: ProblemCollector) -> None:
    for holder, dups in duplicates:
        for key, values in dups.items():
            if holder is weight_map and len({v for v in values if isinstance(v, str)}) > 1:
                names = ", ".join(short(v, 40) for v in values if isinstance(v, str))
                problems.add("AL012", f"index maps tensor {short(key)} to several shards "
                             f"({names}); the last is used",
                             pointer=json_pointer("weight_map", key))
            else:
                where = "weight_map" if holder is weight_map else (
                    "the top level" if holder is raw else "a nested object")
                problems.add("AL016", f"key {short(key)} appears {len(values)} times in {where}; "
                             "the last is used")


def parse_index(data: bytes | str, *, file_name: str) -> ParsedIndex:
    """Parse an index strictly; raise HeaderError(AL016) when there is nothing usable."""
    text = _decode_index(data, file_name)
    raw, end, odd = decode_json_object(text, file_name=file_name, code="AL016", what="index")
    if text[end:].strip(" \t\r\n"):
        raise HeaderError("AL016", "index has data after its JSON object", file=file_name)
    weight_map = raw.get("weight_map")
    if not isinstance(weight_map, dict):
        raise HeaderError("AL016", f"index weight_map is {describe(weight_map)}, not an object "
                          "of tensor → shard file", file=file_name)
    problems = ProblemCollector(file_name)
    _report_duplicates(raw, weight_map, odd.duplicates, problems)
    if odd.constants:
        names = ", ".join(sorted(odd.constants))
        problems.add("AL006", f"index uses the non-JSON literal(s) {names}")
    total_size = _total_size(raw.get("metadata"), problems)
    if not weight_map:
        problems.add("AL016", "index weight_map is empty", pointer=json_pointer("weight_map"))
    kept, shards, dropped = _read_weight_map(weight_map, "\\u" in text, file_name, problems)
    return ParsedIndex(raw, kept, total_size, shards, problems.finish(), file_name, dropped)


def _read_weight_map(weight_map: dict[str, Any], check_unicode: bool, file_name: str,
                     problems: ProblemCollector) -> tuple[dict[str, str], list[str], int]:
    if not check_unicode:
        # the common case, in C: every value a safe shard name (~160 distinct for 92k entries)
        try:
            distinct = list(dict.fromkeys(weight_map.values()))  # first-appearance order
        except TypeError:  # an unhashable value (a list, an object): the loop below says so
            distinct = []
        if distinct and all(type(s) is str and safe_shard_name(s) for s in distinct):
            if len(distinct) > MAX_SHARDS:
                raise HeaderError("AL016", f"index lists more than {MAX_SHARDS} shard files",
                                  file=file_name)
            return dict(weight_map), distinct, 0
    kept: dict[str, str] = {}
    safe: dict[str, bool] = {}  # per distinct shard: ~160 names for ~92k tensors
    unsafe_counts: dict[str, int] = {}
    shards: list[str] = []
    dropped = 0
    # One pass, no per-entry strings: a pointer or message is built only for an entry that
    # turns out to be a problem (DeepSeek-V3's 92k entries cost ~0.6 s of pointers otherwise).
    for tensor, shard in weight_map.items():
        ok = safe.get(shard) if type(shard) is str else None
        if ok and not check_unicode:  # the common case: a known safe shard
            kept[tensor] = shard
            continue
        if not isinstance(shard, str):
            problems.add("AL016", f"weight_map entry {short(tensor)} is {describe(shard)}, not a "
                         "shard file name; ignored", pointer=json_pointer("weight_map", tensor))
            dropped += 1
            continue
        if check_unicode and has_lone_surrogate(tensor):
            problems.add("AL016", f"tensor name {short(tensor)} holds an unpaired \\u surrogate "
                         "escape; ignored", pointer=json_pointer("weight_map", tensor))
            dropped += 1
            continue
        if ok is None:
            ok = safe[shard] = safe_shard_name(shard)
            if ok:
                shards.append(shard)
                if len(shards) > MAX_SHARDS:
                    raise HeaderError("AL016", f"index lists more than {MAX_SHARDS} shard files",
                                      file=file_name)
        if not ok:
            unsafe_counts[shard] = unsafe_counts.get(shard, 0) + 1
            dropped += 1
            continue
        kept[tensor] = shard
    for shard, count in unsafe_counts.items():
        problems.add("AL015", f"shard path {short(shard)} could escape the repository (absolute, "
                     f"'..', backslash, drive letter or control character); its {count} "
                     "tensor(s) are ignored", pointer=json_pointer("weight_map"))
    return kept, shards, dropped


def check_shards(index: ParsedIndex, shard_tensors: Mapping[str, Sequence[TensorInfo]],
                 present_files: set[str] | None) -> list[Problem]:
    """Check index ⇄ shard headers.

    `shard_tensors`: shard name (as the index writes it) → tensors read from that shard's header
    (a `TensorTable`, or rows); shards not read are simply absent. `present_files`: the files
    next to the index, with the same relative names, or None when unknown.
    """
    problems = ProblemCollector(index.file_name)
    if present_files is not None:
        for shard in index.shards:
            if shard not in present_files:
                problems.add("AL013", f"index lists shard {short(shard)} but the repository has "
                             "no such file", pointer=json_pointer("weight_map"))
    tables = {shard: TensorTable.of(t) for shard, t in shard_tensors.items()}
    # Where each name is first found, from whole columns; the names found in several shards
    # (rarely any) are looked for only when the names outnumber the map built from them.
    located: dict[str, str] = {}
    for shard, table in tables.items():
        located.update(dict.fromkeys(table.names, shard))
    several: dict[str, list[str]] = {}
    if len(located) != sum(map(len, tables.values())):
        seen: dict[str, str] = {}
        for shard, table in tables.items():
            for name in table.names:
                if name in seen:
                    several.setdefault(name, [seen[name]]).append(shard)
                else:
                    seen[name] = shard
        located = seen
    _check_locations(index, tables, located, several, problems)
    _check_total_size(index, tables, problems)
    return problems.finish()


def _check_locations(index: ParsedIndex, shard_tensors: dict[str, TensorTable],
                     located: dict[str, str], several: dict[str, list[str]],
                     problems: ProblemCollector) -> None:
    weight_map = index.weight_map
    if not several and located == weight_map:  # the common case, compared in C
        return
    raw_map = index.raw.get("weight_map", {})
    if several or not located.keys() <= weight_map.keys():
        for name, first in located.items():
            shards = several.get(name) or [first]
            if len(shards) > 1:
                problems.add("AL012", f"tensor {short(name)} is stored in {len(shards)} shards: "
                             f"{', '.join(short(s, 40) for s in shards[:4])}", file=shards[1],
                             pointer=json_pointer(name))
            if name not in weight_map and name not in raw_map:
                problems.add("AL017", f"tensor {short(name)} in {short(first, 40)} is not "
                             "listed in the index weight_map", file=first,
                             pointer=json_pointer(name))
    for name, shard in weight_map.items():
        found = located.get(name)
        if found is None:
            if shard in shard_tensors:
                problems.add("AL011", f"index maps {short(name)} to {short(shard, 40)} but that "
                             "shard's header has no such tensor",
                             pointer=json_pointer("weight_map", name))
        elif found != shard and shard not in several.get(name, ()):
            problems.add("AL011", f"index maps {short(name)} to {short(shard, 40)} but it is in "
                         f"{short(found, 40)}", pointer=json_pointer("weight_map", name))


def _check_total_size(index: ParsedIndex, shard_tensors: dict[str, TensorTable],
                      problems: ProblemCollector) -> None:
    # Only a complete picture can be compared: every listed shard read, nothing dropped.
    if index.total_size is None or index.dropped or not index.shards:
        return
    if any(s not in shard_tensors for s in index.shards):
        return
    actual = 0
    for shard in index.shards:
        table = shard_tensors[shard]
        if None in table.starts or None in table.ends:
            actual += sum(t.end - t.start if t.start is not None and t.end is not None  # type: ignore[operator]
                          else t.nbytes for t in table)
        else:  # the spans of a header's table: END - BEGIN summed as two columns
            actual += sum(table.ends) - sum(table.starts)  # type: ignore[arg-type]
    if actual != index.total_size:
        problems.add("AL014", f"metadata.total_size is {index.total_size} bytes but the shards' "
                     f"tensors hold {actual} (difference {actual - index.total_size:+d})",
                     pointer=json_pointer("metadata", "total_size"))
