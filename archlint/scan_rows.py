"""One model of a scan → one JSON row: the analysis reduced to a few fields, failures as rows
with a stable reason code, the shard a model id hashes to, and the commit a ref points at (for
`--resume`). The scan driver (`scan.py`) and its worker back ends (`scan_procs.py`,
`scan_ray.py`) all import these from here, so none imports another."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from archlint import errors
from archlint.source import SourceOptions, split_revision
from archlint.source.cache import is_full_sha

#: JSON-lines schema version written in every row (`"v"`), bumped on an incompatible change.
ROW_VERSION = 1

# Exception → stable reason code, most specific first (GatedRepoError before its base classes).
_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (errors.GatedRepoError, "gated"),
    (errors.RepoNotFoundError, "not_found"),
    (errors.RevisionNotFoundError, "revision_not_found"),
    (errors.NotSafetensorsError, "not_a_model"),
    (errors.OfflineError, "offline"),
    (errors.NetworkError, "network"),
    (errors.HubError, "hub"),
    (errors.HeaderError, "bad_header"),
    (errors.ConfigError, "bad_config"),
    (errors.InputError, "input"),
    (errors.UsageError, "usage"),
    (errors.ArchlintError, "error"),
)


def reason_of(exc: BaseException) -> str:
    """The stable reason code of a failure (`crash:<Type>` for anything not raised on purpose)."""
    for kind, code in _REASONS:
        if isinstance(exc, kind):
            return code
    return f"crash:{type(exc).__name__}"


def message_of(exc: BaseException) -> str:
    if isinstance(exc, errors.ArchlintError):
        return exc.one_line()
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:500]



def shard_of(model_id: str, shards: int) -> int:
    """The shard (0 .. shards-1) of a model id: a stable hash (the first 8 bytes of its
    SHA-256), the same on every machine and every Python (unlike `hash()`)."""
    digest = hashlib.sha256(model_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards



def _find_rules_runner() -> Callable[[Any], list[Any]] | None:
    """The lint engine's `run_rules`, with the rule registry loaded once for the whole scan;
    None when this build has no lint engine (rows then carry `findings: null`)."""
    try:
        from archlint.lint.engine import run_rules
    except ImportError:
        return None
    rules: Any = None
    try:
        from archlint.lint.registry import load_rules

        rules = load_rules()
    except Exception:  # the engine loads the registry itself (and reports its errors per row)
        rules = None

    def run(analysis: Any) -> list[Any]:
        return list(run_rules(analysis, rules=rules))

    return run


def _kinds(values: Iterable[str]) -> str | None:
    """One label for a stack: `gqa`, or `gqa+linear` for hybrids (sorted, so it is stable)."""
    kinds = sorted(set(values))
    return "+".join(kinds) if kinds else None


def _severity_counts(findings: list[Any]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for finding in findings:
        severity = getattr(finding, "severity", None)
        counts[str(getattr(severity, "value", severity) or "unknown")] += 1
    return dict(counts)


def analyze_row(ref: str, *, source: SourceOptions, options: Any,
                rules: Callable[[Any], list[Any]] | None) -> dict[str, Any]:
    """The JSON row for one model; never raises for a failure of that model."""
    from archlint.pipeline import analyze_checkpoint
    from archlint.source import load_checkpoint

    name, rev = split_revision(ref, check=False)
    started = time.monotonic()
    row: dict[str, Any] = {"v": ROW_VERSION, "id": name, "revision": rev, "status": "ok",
                           "reason": None}
    stats: dict[str, int] = {}
    try:
        ckpt = load_checkpoint(ref, source)
        stats = dict(ckpt.fetch_stats or {})
        row["revision"] = ckpt.revision or rev
        row["source"] = ckpt.source
        analysis = analyze_checkpoint(ckpt, options)
        spec, prof = analysis.spec, analysis.profile
        layers = list(spec.layers) + list(spec.encoder_layers)
        row.update({
            "model_type": spec.model_type,
            "family": spec.family,
            "attention": _kinds(layer.attention.kind for layer in layers),
            "ffn": _kinds(layer.ffn.kind for layer in layers),
            "layers": spec.num_layers,
            "params_total": prof.params.total,
            "params_active": prof.params.active,
            "params_method": prof.params.method,
            "kv_bytes_per_token": prof.kv.bytes_per_token,
            "kv_dtype": prof.kv.dtype,
            "weights_bytes": prof.weights.bytes,
            "weights_method": prof.weights.method,
            "weights_format": ckpt.weights_format,
            "problems": len(ckpt.problems),
            "findings": None,
        })
        if rules is not None:
            try:
                row["findings"] = _severity_counts(rules(analysis))
            except Exception as exc:  # a rule crashing is reported, the row stays ok
                row["findings_error"] = message_of(exc)
        del analysis, ckpt  # nothing of the model outlives its row
    except Exception as exc:
        row.update({"status": "error", "reason": reason_of(exc), "error": message_of(exc)})
    row["requests"] = stats.get("requests", 0)
    row["bytes"] = stats.get("bytes", 0)
    row["cache_hit"] = bool(stats.get("cache_hit", 0))
    row["elapsed_ms"] = round((time.monotonic() - started) * 1000)
    return row


def _current_sha(ref: str, source: SourceOptions) -> str | None:
    """The commit `ref` points at now: free for a pinned sha, else one listing request (the
    Hub source's retries, deadline and error mapping).

    None when it cannot be told (offline, local path, a Hub error): the model is analysed again,
    and a real failure is reported by that analysis.
    """
    name, rev = split_revision(ref, check=False)
    rev = source.revision or rev
    if rev is not None and is_full_sha(rev):
        return rev.lower()
    if source.offline or Path(name).exists():
        return None
    from archlint.source.hub import current_commit

    try:
        return current_commit(name, rev, endpoint=source.endpoint, token=source.token,
                              timeout=source.timeout)
    except errors.ArchlintError:
        return None


# -- reading an output back (--resume, Ray shard files) ------------------------------------------

#: a row archlint writes is 1-2 KB (an id, a revision, a few dozen short fields and finding
#: counts); a line longer than this was not written by archlint and is skipped unread.
MAX_ROW_BYTES = 2**20
#: an output read back: ~2 million models (about every model on the Hub) at 2 KB a row is 4 GB.
MAX_RESUME_BYTES = 8 * 2**30


def output_lines(path: Path) -> Iterator[str]:
    """The lines of a previous output (none if there is no file), bounded before they are read:
    the file by its size (MAX_RESUME_BYTES, from fstat, and counted as read: it may grow), each
    line by MAX_ROW_BYTES (a longer one is skipped in pieces, never held whole). Not UTF-8 is
    replaced, not fatal: such a line is not a row and is ignored by the caller."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    except OSError as err:
        raise errors.InputError(f"cannot read {path}: {err.strerror or err}") from None
    with handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise errors.UsageError(f"{path} is not a regular file: --resume reads the previous "
                                    "output back from it")
        if info.st_size > MAX_RESUME_BYTES:
            raise errors.InputError(
                f"{path} holds {info.st_size / 2**30:.1f} GiB, more than the "
                f"{MAX_RESUME_BYTES // 2**30} GiB an output is read back for --resume; "
                "continue in a new output file")
        read = 0
        while read <= MAX_RESUME_BYTES:
            line = handle.readline(MAX_ROW_BYTES + 1)
            read += len(line)
            if not line:
                return
            if len(line) <= MAX_ROW_BYTES:
                yield line.decode("utf-8", errors="replace")
                continue
            if not line.endswith(b"\n"):
                read += _skip_line(handle, MAX_RESUME_BYTES - read)


def _skip_line(handle: Any, budget: int) -> int:
    """Move past the next newline of a seekable binary file (or `budget` bytes, or the end),
    reading MAX_ROW_BYTES at a time; returns the bytes skipped."""
    skipped = 0
    while skipped <= budget:
        chunk: bytes = handle.read(MAX_ROW_BYTES)
        if not chunk:
            break
        newline = chunk.find(b"\n")
        if newline >= 0:
            handle.seek(newline + 1 - len(chunk), os.SEEK_CUR)
            return skipped + newline + 1
        skipped += len(chunk)
    return skipped
