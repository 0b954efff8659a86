"""The header cache: Checkpoints fetched from the Hub, keyed by endpoint host, repo and commit.

A commit's files never change, so an entry never goes stale: a second run on a pinned sha makes
no request, and on a branch one listing call (to learn the branch's current commit). The last
resolution of each branch or tag is kept too, but only for offline mode, which has no other
way to turn `main` into a commit.

Layout under the root (`$ARCHLINT_CACHE`, else `~/.cache/archlint`):

    checkpoints/<host>/<org%2Fname>/<sha>.json.gz     a Checkpoint (Checkpoint.dump's format)
    refs/<host>/<org%2Fname>/<rev>.json               {"sha": ..., "resolved_at": unix time}
    analyses/<host>/<org%2Fname>/<sha>[.<variant>].<key>.json.gz
                                                      a report of that commit (see below)

An analysis entry keeps what a report of a commit computed (its report document, the
checkpoint's own notes), keyed by the commit and a hash of everything else the report depends
on (archlint's version and code, the options, the lint configuration and rule set: the caller's
`key`). Inside `reusing_analyses(key)`, `get` answers a commit that has one with an
`AnalysedCheckpoint` (no tensor table read: Kimi-K2's 139k rows cost ~0.7 s to load), so a warm
report skips the parsing, the analysis and the rules. At most MAX_ANALYSES_PER_COMMIT keys are
kept per commit; an entry is bounded and checked like the others and discarded when it fails.

A large entry (DeepSeek-V3's 92k-tensor table: ~0.5 s of JSON, gzip and fsync) is written by a
background thread, off the fetch's critical path: `put(..., background=True)`. The thread is not
a daemon, so the interpreter finishes the write before it exits; `flush()` waits for pending
writes explicitly, and a `get` of an entry still being written waits for that write first.

Every write is a temp file renamed into place, so a reader (another process included) sees the
old entry or the new one, never half of one; two writers of one key write the same bytes. Reads
trust nothing: the entry must be a regular file under MAX_ENTRY_BYTES (a link to /dev/zero is
not), it is decompressed to at most MAX_ENTRY_JSON_BYTES (a gzip bomb stops there), and the gzip
CRC, the JSON, the format version, the key it claims and the type of every tensor field are
checked; an entry failing any check, for any reason, is deleted and treated as absent (the
caller refetches; offline, the model is reported missing). A ref whose `resolved_at` is not a
time between the epoch and a day from now is discarded the same way.
Nothing secret is stored: the key uses the endpoint's host and port only (never userinfo), and
a Checkpoint holds no token.
"""

from __future__ import annotations

import gc
import json
import math
import os
import re
import stat as stat_mod
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from archlint.checkpoint import Checkpoint, TensorTable

_FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
_DEFAULT_REF = "@default"  # the repo's default branch; '@' alone is not a valid git ref name

#: a cache entry's size on disk, and its JSON once decompressed. DeepSeek-R1's 91k-tensor entry
#: is ~3 MB gzipped and ~12 MB of JSON; these leave room for 20x that and bound a tampered one.
MAX_ENTRY_BYTES = 64 * 2**20
MAX_ENTRY_JSON_BYTES = 256 * 2**20
#: a ref resolved later than this many seconds from now is not a real resolution.
_REF_FUTURE_SLACK_S = 86_400

#: Entries with at least this many tensors are written in the background when the caller asks:
#: below it a write takes a few milliseconds and a thread would cost more than it saves.
BACKGROUND_MIN_TENSORS = 5_000

#: an analysis entry: a report document (Kimi-K2's is ~0.2 MB of JSON) with room to spare.
MAX_ANALYSIS_BYTES = 8 * 2**20
MAX_ANALYSIS_JSON_BYTES = 64 * 2**20
#: analysis keys kept per commit (option sets: contexts, GPUs, rule selections); older go.
MAX_ANALYSES_PER_COMMIT = 8
ANALYSIS_FORMAT = 1
_KEY = re.compile(r"^[0-9a-f]{32}$")
#: the analysis key `get` answers with (None: always the Checkpoint); see reusing_analyses.
#: inside `reusing_analyses`: the analysis key, and what turns a stored report's text into its
#: document (None when it does not load)
_analysis_key: ContextVar[tuple[str, Callable[[str], Any] | None] | None] = ContextVar(
    "archlint_analysis_key", default=None)

_pending: dict[Path, threading.Thread] = {}  # entry path → the thread writing it
_pending_lock = threading.Lock()


_gc_lock = threading.Lock()
_gc_pauses = 0  # fetches/loads under way that paused the cyclic GC
_gc_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large tensor table is built.

    Decoding DeepSeek-V3's headers creates ~1M containers (dicts, lists, TensorInfo) and no
    garbage cycles, but every 700 allocations start a collection and the older generations are
    rescanned as the table grows: measured, that doubled the parse (0.3 s -> 0.6 s). Nested
    and concurrent pauses (scan's threads) are counted; the last one out restores the state
    the first one found, so the collector is never left off.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def flush(timeout: float | None = None) -> bool:
    """Wait for every background cache write of this process; True when none is left.

    Call it once the user has their answer (e.g. after the report is printed): the writes
    would finish at interpreter exit anyway, this only makes the wait explicit.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _pending_lock:
            threads = list(_pending.values())
        if not threads:
            return True
        for thread in threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
            if thread.is_alive():
                return False


def _wait_for_write(path: Path) -> None:
    with _pending_lock:
        thread = _pending.get(path)
    if thread is not None:
        thread.join()


def is_full_sha(revision: str) -> bool:
    return bool(_FULL_SHA.match(revision))


def default_cache_dir() -> Path:
    env = os.environ.get("ARCHLINT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "archlint"


@dataclass(frozen=True)
class RefEntry:
    sha: str
    resolved_at: float  # unix time of the listing call that resolved it


def _host_key(endpoint: str) -> str:
    """`host[_port]` of the endpoint: no scheme, path, user or password."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "unknown").lower()
    return quote(f"{host}_{parts.port}" if parts.port else host, safe="._-")


def _repo_key(repo_id: str) -> str:
    return quote(repo_id, safe="._-")


class HeaderCache:
    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    # -- paths ---------------------------------------------------------------------------------
    def entry_path(self, endpoint: str, repo_id: str, sha: str,
                   variant: str | None = None) -> Path:
        """`variant`: which of several models of one commit (a GGUF repo's `quant=Q8_0`)."""
        if not is_full_sha(sha):
            raise ValueError(f"not a commit sha: {sha!r}")
        name = sha.lower() if variant is None else f"{sha.lower()}.{quote(variant, safe='._-')}"
        return (self.root / "checkpoints" / _host_key(endpoint) / _repo_key(repo_id)
                / f"{name}.json.gz")

    def ref_path(self, endpoint: str, repo_id: str, revision: str | None) -> Path:
        name = _DEFAULT_REF if revision is None else quote(revision, safe="._-")
        return self.root / "refs" / _host_key(endpoint) / _repo_key(repo_id) / f"{name}.json"

    def analysis_path(self, endpoint: str, repo_id: str, sha: str, variant: str | None,
                      key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not an analysis key: {key!r}")
        entry = self.entry_path(endpoint, repo_id, sha, variant)
        name = entry.name.removesuffix(".json.gz")
        return (self.root / "analyses" / entry.parent.parent.name / entry.parent.name
                / f"{name}.{key}.json.gz")

    # -- checkpoints ---------------------------------------------------------------------------
    def get(self, endpoint: str, repo_id: str, sha: str,
            variant: str | None = None) -> Checkpoint | None:
        """The cached Checkpoint (`source="cache"`), or None if absent or failing its checks.
        Inside `reusing_analyses(key)`, an `AnalysedCheckpoint` when that commit's analysis
        under `key` is stored."""
        reuse = _analysis_key.get()
        if reuse is not None:
            stored = self.get_analysis(endpoint, repo_id, sha, variant, reuse[0], load=reuse[1])
            if stored is not None:
                return AnalysedCheckpoint(
                    model_id=repo_id, source="cache", revision=sha.lower(),
                    notes=list(stored["checkpoint_notes"]), stored=stored)
        path = self.entry_path(endpoint, repo_id, sha, variant)
        _wait_for_write(path)
        try:
            stat = path.stat()
        except OSError:
            return None
        try:
            with paused_gc():
                checkpoint = _load_entry(path, stat)
        except Exception:
            # not a regular file, too large, gzip CRC/length mismatch, a bomb, truncation, bad
            # or too deep JSON, wrong format version, an out-of-range shard id, a shape that is
            # not integers: never trusted, removed so the next fetch rewrites it
            _discard(path, stat)
            return None
        if checkpoint.model_id != repo_id or (checkpoint.revision or "").lower() != sha.lower():
            _discard(path, stat)
            return None
        checkpoint.source = "cache"
        return checkpoint

    def put(self, endpoint: str, repo_id: str, sha: str, checkpoint: Checkpoint, *,
            background: bool = False, variant: str | None = None) -> bool:
        """Store `checkpoint`; False (and no entry) if the disk refused. Never raises OSError.

        `background=True` writes a large checkpoint (BACKGROUND_MIN_TENSORS tensors or more) in
        a thread and returns True at once; a refused write then leaves no entry, as above. The
        thread writes a snapshot of the checkpoint's lists, so a caller may go on appending
        notes or problems; the tensors, config and index themselves must not be modified.
        """
        path = self.entry_path(endpoint, repo_id, sha, variant)
        if not background or len(checkpoint.tensors or ()) < BACKGROUND_MIN_TENSORS:
            return _write_entry(path, checkpoint)
        snapshot = replace(
            checkpoint, tensors=_frozen_tensors(checkpoint.tensors),
            shards=list(checkpoint.shards),
            files=dict(checkpoint.files), problems=list(checkpoint.problems),
            notes=list(checkpoint.notes), fetch_stats={})
        with _pending_lock:
            earlier = _pending.get(path)
            thread = threading.Thread(target=_background_write, args=(path, snapshot, earlier),
                                      name="archlint-cache-write", daemon=False)
            _pending[path] = thread
            thread.start()
        return True

    # -- analyses ------------------------------------------------------------------------------
    def get_analysis(self, endpoint: str, repo_id: str, sha: str, variant: str | None,
                     key: str, *, load: Callable[[str], Any] | None = None
                     ) -> dict[str, Any] | None:
        """The stored analysis entry (a dict with `report`: the document's JSON text,
        `checkpoint_notes` and the profile's raw `warnings`), or None if absent or failing
        its checks (then deleted). With `load`, the report must also load as a document:
        `load(report)` is kept as `document`, and a None from it is a failed check."""
        path = self.analysis_path(endpoint, repo_id, sha, variant, key)
        try:
            seen = path.stat()
        except OSError:
            return None
        try:
            data = json.loads(_read_bounded(path, seen, MAX_ANALYSIS_BYTES,
                                            MAX_ANALYSIS_JSON_BYTES))
            if not (isinstance(data, dict) and data.get("format") == ANALYSIS_FORMAT
                    and data.get("model_id") == repo_id and data.get("sha") == sha.lower()
                    and data.get("key") == key and isinstance(data.get("report"), str)
                    and all(isinstance(data.get(k), list) and all(isinstance(n, str)
                                                                  for n in data[k])
                            for k in ("checkpoint_notes", "warnings"))):
                raise ValueError("not an analysis entry of this commit and key")
            if load is not None and (document := load(data["report"])) is None:
                raise ValueError("the stored report does not load as a document")
            if load is not None:
                data["document"] = document
        except Exception:  # unreadable, a bomb, truncated, not JSON, another key's: never trusted
            _discard(path, seen)
            return None
        return data

    def put_analysis(self, endpoint: str, repo_id: str, sha: str, variant: str | None,
                     key: str, *, report: str, checkpoint_notes: list[str],
                     warnings: list[str]) -> bool:
        """Store a report of `sha` under `key`; False if the disk refused (never raises
        OSError). Keeps the newest MAX_ANALYSES_PER_COMMIT keys of the commit."""
        path = self.analysis_path(endpoint, repo_id, sha, variant, key)
        payload = json.dumps({"format": ANALYSIS_FORMAT, "model_id": repo_id,
                              "sha": sha.lower(), "key": key, "report": report,
                              "checkpoint_notes": list(checkpoint_notes),
                              "warnings": list(warnings)}).encode()
        try:
            _atomic_write(path, zlib_gzip(payload))
            _prune_analyses(path)
        except OSError:
            return False
        return True

    # -- branch/tag → sha, for offline mode ----------------------------------------------------
    def get_ref(self, endpoint: str, repo_id: str, revision: str | None) -> RefEntry | None:
        path = self.ref_path(endpoint, repo_id, revision)
        try:
            data = json.loads(path.read_text("utf-8"))
            entry = RefEntry(sha=str(data["sha"]), resolved_at=float(data["resolved_at"]))
        except FileNotFoundError:
            return None
        except Exception:  # unreadable, not JSON, too deep, fields missing or of the wrong type
            _discard(path, None)
            return None
        when = entry.resolved_at
        if (not is_full_sha(entry.sha) or not math.isfinite(when)
                or not 0 <= when <= time.time() + _REF_FUTURE_SLACK_S):
            _discard(path, None)
            return None
        return entry

    def put_ref(self, endpoint: str, repo_id: str, revision: str | None, sha: str) -> bool:
        if revision is not None and is_full_sha(revision):
            return True  # a sha resolves to itself
        payload = json.dumps({"sha": sha, "resolved_at": time.time()}).encode()
        try:
            _atomic_write(self.ref_path(endpoint, repo_id, revision), payload)
        except OSError:
            return False
        return True


@dataclass
class AnalysedCheckpoint(Checkpoint):
    """A cached commit answered by its stored analysis (`stored`, see
    HeaderCache.get_analysis) instead of its tensor table, which is not loaded: only what the
    fetch layer sets on a hit (source, fetch_stats, notes it adds) is meaningful here."""

    stored: dict[str, Any] = field(default_factory=dict)


@contextmanager
def reusing_analyses(key: str | None,
                     load: Callable[[str], Any] | None = None) -> Iterator[None]:
    """Within it, `HeaderCache.get` answers a commit whose analysis under `key` is stored
    (and, with `load`, whose report loads as a document) with an AnalysedCheckpoint
    (`key=None`: never). A stored entry failing that is deleted and the commit's checkpoint
    answered as without it."""
    token = _analysis_key.set(None if key is None else (key, load))
    try:
        yield
    finally:
        _analysis_key.reset(token)


def zlib_gzip(payload: bytes) -> bytes:
    """gzip at level 1: an analysis entry is written on the report's path (~1 ms for 0.2 MB)."""
    deflate = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return deflate.compress(payload) + deflate.flush()


def _prune_analyses(path: Path) -> None:
    """Keep the newest MAX_ANALYSES_PER_COMMIT analysis entries of the commit of `path`."""
    prefix = path.name[:-len("0123456789abcdef0123456789abcdef.json.gz")]  # <sha>[.<variant>].
    siblings = []
    for entry in os.scandir(path.parent):
        name = entry.name
        if name.startswith(prefix) and name.endswith(".json.gz") and \
                _KEY.match(name[len(prefix):-len(".json.gz")]):
            try:
                siblings.append((entry.stat().st_mtime_ns, entry.path))
            except OSError:
                continue
    for _, old in sorted(siblings, reverse=True)[MAX_ANALYSES_PER_COMMIT:]:
        Path(old).unlink(missing_ok=True)


def _read_bounded(path: Path, seen: os.stat_result, max_bytes: int, max_json: int) -> bytes:
    """The bytes of a regular file under `max_bytes`, gunzipped to at most `max_json`."""
    if not stat_mod.S_ISREG(seen.st_mode) or seen.st_size > max_bytes:
        raise ValueError("not a regular file of bounded size")
    with path.open("rb") as fh:
        raw = fh.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValueError("entry grew past its bound")
    if raw[:2] == b"\x1f\x8b":
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        raw = inflate.decompress(raw, max_json + 1)
        if len(raw) > max_json or not inflate.eof:
            raise ValueError("entry decompresses past its bound, or is truncated")
    return raw


def _load_entry(path: Path, seen: os.stat_result) -> Checkpoint:
    """The Checkpoint in an entry file, read within the bounds above and type-checked."""
    raw = _read_bounded(path, seen, MAX_ENTRY_BYTES, MAX_ENTRY_JSON_BYTES)
    checkpoint = Checkpoint.from_dict(json.loads(raw))
    _check_types(checkpoint)
    return checkpoint


def _check_types(checkpoint: Checkpoint) -> None:
    """Every field downstream code relies on has its type (an entry is a file anyone can edit)."""
    if not isinstance(checkpoint.model_id, str) or not isinstance(checkpoint.files, dict):
        raise TypeError("model_id or files")
    if checkpoint.config is not None and not isinstance(checkpoint.config, dict):
        raise TypeError("config")
    for shard in checkpoint.shards:
        if not isinstance(shard.name, str):
            raise TypeError("shard name")
    tensors = TensorTable.of(checkpoint.tensors or ())
    # column by column, as sets of types (a JSON entry holds no subclasses): Kimi-K2's 139k
    # rows in ~15 ms (not deduplicated: (True, 4) == (1, 4) as a set member)
    dims = [d for s in tensors.shapes for d in s]
    if (_types(tensors.names) - {str} or _types(tensors.dtypes) - {str}
            or _types(dims) - {int} or (dims and min(dims) < 0)
            or (_types(tensors.starts) | _types(tensors.ends)) - {int, type(None)}):
        raise TypeError("tensor fields")


def _frozen_tensors(tensors: Any) -> Any:
    """What the background writer may read while the caller goes on: a table's columns are
    never edited in place, so a table is shared; a list of rows is copied (its length)."""
    return tensors if isinstance(tensors, TensorTable) or tensors is None else list(tensors)


def _types(values: Iterator[Any] | list[Any]) -> set[type]:
    return set(map(type, values))


def _write_entry(path: Path, checkpoint: Checkpoint) -> bool:
    try:
        checkpoint.dump(path)
    except OSError:
        return False
    return True


def _background_write(path: Path, checkpoint: Checkpoint,
                      earlier: threading.Thread | None) -> None:
    try:
        if earlier is not None:  # one writer per entry at a time; both write the same bytes
            earlier.join()
        with paused_gc():  # 92k rows of lists, no cycles
            _write_entry(path, checkpoint)
    except Exception:  # a cache is best effort: no traceback from a thread
        pass
    finally:
        with _pending_lock:
            if _pending.get(path) is threading.current_thread():
                del _pending[path]


def _atomic_write(target: Path, payload: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _discard(path: Path, seen: os.stat_result | None) -> None:
    """Delete a bad entry, unless another process replaced it since we read it."""
    try:
        if seen is not None:
            now = path.stat()
            if (now.st_ino, now.st_mtime_ns, now.st_size) != (
                seen.st_ino, seen.st_mtime_ns, seen.st_size
            ):
                return
        path.unlink(missing_ok=True)
    except OSError:
        pass
