"""Checkpoint: the raw facts about a model repo, nothing interpreted.

One format for every origin: fetched from the Hub, read from a local directory, stored in the
cache, bundled in the catalog, or a test fixture. Serialised as JSON (gzip where large); tensors
are stored as compact rows because DeepSeek-V3 has ~92k of them.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from dataclasses import dataclass, field
from math import prod
from pathlib import Path
from typing import Any, Literal

from archlint.dtypes import DTYPE_BITS
from archlint.ggml_types import tensor_bytes

Source = Literal["hub", "local", "catalog", "cache"]
FORMAT_VERSION = 1


@dataclass(slots=True)
class TensorInfo:
    """One tensor as its safetensors header (or a tensor table) states it."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    shard: str | None = None
    start: int | None = None  # data_offsets, relative to the end of the header
    end: int | None = None

    @property
    def numel(self) -> int:
        return prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes implied by shape × dtype (an unknown dtype counts 0: a finding, not a crash).
        ggml block types (GGUF's Q4_K, IQ2_XS, ...) take whole blocks per row."""
        bits = DTYPE_BITS.get(self.dtype)
        if bits is None:
            return tensor_bytes(self.dtype, self.shape) or 0
        return (self.numel * bits + 7) // 8


@dataclass(slots=True)
class Problem:
    """A defect found while reading raw files; lint rules turn these into findings."""

    code: str
    message: str
    file: str | None = None
    pointer: str | None = None  # JSON pointer inside `file`, when it is a JSON file


@dataclass(slots=True)
class ShardInfo:
    name: str
    header_len: int | None = None  # N in the 8-byte prefix; data starts at 8 + N
    file_size: int | None = None
    metadata: dict[str, str] | None = None
    tensor_count: int = 0


@dataclass
class Checkpoint:
    model_id: str
    source: Source
    revision: str | None = None
    config: dict[str, Any] | None = None
    config_text: str | None = None  # raw text, for line numbers in findings
    index: dict[str, Any] | None = None  # raw index JSON (metadata + weight_map)
    index_name: str | None = None
    index_text: str | None = None  # raw text of a local index, for line numbers (not cached)
    tensors: list[TensorInfo] | None = None  # None: not known (config-only or .bin)
    shards: list[ShardInfo] = field(default_factory=list)
    files: dict[str, int | None] = field(default_factory=dict)  # repo file → size if known
    weights_format: Literal["safetensors", "bin", "gguf", "none", "unknown"] = "unknown"
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "config only, weights not verified"
    fetch_stats: dict[str, int] = field(default_factory=dict)  # requests, bytes
    # GGUF only: the file's metadata (JSON values), version, file type, where each config key
    # came from (archlint.source.gguf_config); None for other formats.
    gguf: dict[str, Any] | None = None

    # -- derived views -------------------------------------------------------------------------
    def index_total_size(self) -> int | None:
        meta = (self.index or {}).get("metadata") or {}
        value = meta.get("total_size")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        shard_ids = {s.name: i for i, s in enumerate(self.shards)}
        rows = None
        if self.tensors is not None:
            rows = [
                [
                    t.name,
                    t.dtype,
                    list(t.shape),
                    shard_ids.get(t.shard, -1) if t.shard else -1,
                    t.start,
                    t.end,
                ]
                for t in self.tensors
            ]
        return {
            "format": FORMAT_VERSION,
            "model_id": self.model_id,
            "source": self.source,
            "revision": self.revision,
            "config": self.config,
            "config_text": self.config_text,
            "index": self.index,
            "index_name": self.index_name,
            "tensors": rows,
            "shards": [
                {
                    "name": s.name,
                    "header_len": s.header_len,
                    "file_size": s.file_size,
                    "metadata": s.metadata,
                    "tensor_count": s.tensor_count,
                }
                for s in self.shards
            ],
            "files": self.files,
            "weights_format": self.weights_format,
            "problems": [
                {"code": p.code, "message": p.message, "file": p.file, "pointer": p.pointer}
                for p in self.problems
            ],
            "notes": self.notes,
            # GGUF only: other checkpoints serialise exactly as before
            **({"gguf": self.gguf} if self.gguf is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported checkpoint format {data.get('format')!r}")
        shards = [ShardInfo(**s) for s in data.get("shards") or []]
        tensors = None
        if data.get("tensors") is not None:
            tensors = [
                TensorInfo(
                    name, dtype, tuple(shape), shards[sid].name if sid >= 0 else None, start, end
                )
                for name, dtype, shape, sid, start, end in data["tensors"]
            ]
        return cls(
            model_id=data["model_id"],
            source=data["source"],
            revision=data.get("revision"),
            config=data.get("config"),
            config_text=data.get("config_text"),
            index=data.get("index"),
            index_name=data.get("index_name"),
            tensors=tensors,
            shards=shards,
            files=data.get("files") or {},
            weights_format=data.get("weights_format", "unknown"),
            problems=[Problem(**p) for p in data.get("problems") or []],
            notes=list(data.get("notes") or []),
            gguf=data.get("gguf"),
        )

    def dump(self, path: str | os.PathLike[str]) -> None:
        """Write atomically (temp file + rename): an interrupted write leaves no partial entry."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=False).encode()
        if target.name.endswith(".gz"):
            # Level 6: ~7x faster than 9 on a 92k-tensor table for ~2% more bytes.
            payload = gzip.compress(payload, compresslevel=6, mtime=0)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Checkpoint:
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return cls.from_dict(json.loads(raw))
