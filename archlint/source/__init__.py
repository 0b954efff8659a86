"""Where a Checkpoint comes from: a local path, the Hub (through the header cache), or the
bundled catalog when the Hub cannot answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archlint.checkpoint import Checkpoint
from archlint.errors import HubError, InputError, NetworkError, OfflineError, RepoNotFoundError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class SourceOptions:
    revision: str | None = None
    offline: bool = False
    endpoint: str | None = None
    token: str | bool | None = None  # False: send none (--no-auth)
    cache_dir: Path | None = None
    use_cache: bool = True
    prefer: str = "auto"  # auto | hub | catalog
    max_workers: int = 64  # bounded; 163 shards take 3 waves instead of 11 (BENCHMARKS.md)
    timeout: float = 10.0
    progress: Callable[[int, int], None] | None = None  # (shards done, total)
    gguf_file: str | None = None  # GGUF repo/directory: the file to analyse (--file)
    gguf_quant: str | None = None  # ... or its quantization (--quant Q4_K_M)


#: What git refuses in a ref name (git-check-ref-format(1)): a component that starts with a
#: dot or ends with `.lock`, `..`, `@{`, control characters, space and ~^:?*[\, a trailing
#: `/` or `.`, and `@` alone. The Hub resolves `@.` and `@..` to the default branch, so a
#: typo would be analysed as another revision.
_BAD_REF = re.compile(r"(^|/)\.|\.\.|@\{|[\x00-\x20\x7f~^:?*\[\\]|\.lock(/|$)|//|/$|\.$|^@$")


def split_revision(ref: str, *, check: bool = True) -> tuple[str, str | None]:
    """`org/name@rev` → (`org/name`, `rev`); revisions may contain `/` (refs/pr/3). A
    revision git could not name is one clear error (`check=False`: split only, for callers
    that want the name of a line whose own fetch reports the error)."""
    if "@" in ref:
        name, rev = ref.split("@", 1)
        if check and rev and _BAD_REF.search(rev):
            shown = rev if len(rev) <= 40 else rev[:40] + "..."
            raise InputError(f"{name}@{shown!r}: not a valid revision (a branch, tag or "
                             "commit name as git allows them)")
        return name, rev or None
    return ref, None


def _from_catalog(model_id: str, reason: str | None) -> Checkpoint:
    from archlint.source import catalog

    ckpt = catalog.load(model_id)
    if reason:
        ckpt.notes.insert(0, reason)
    return ckpt


def _expanded(ref: str) -> Path:
    try:
        return Path(ref).expanduser()
    except RuntimeError:  # `~nosuchuser/x`: no such user, no home directory to expand to
        raise InputError(f"{ref}: no home directory for {ref.split('/', 1)[0]!r}") from None


def _exists(path: Path, ref: str | None = None) -> bool:
    """Whether `path` exists; a name the OS refuses (a component over 255 bytes) does not,
    or, when `ref` names it as a path, is one clear error."""
    try:
        return path.exists()
    except (OSError, ValueError) as exc:  # ENAMETOOLONG, an embedded NUL
        if ref is None:
            return False
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"{ref[:80]}{'...' if len(ref) > 80 else ''}: {reason}") from None


def load_checkpoint(ref: str, options: SourceOptions | None = None) -> Checkpoint:
    """Resolve a user's model reference to a Checkpoint."""
    options = options or SourceOptions()
    path = _expanded(ref)
    looks_local = ref.startswith((".", "/", "~")) or _exists(path)
    if looks_local:
        if not _exists(path, ref):
            raise InputError(f"{ref} does not exist")
        from archlint.source.local import load_local

        return load_local(path, gguf_file=options.gguf_file, gguf_quant=options.gguf_quant)
    from archlint.source import catalog

    name, rev = split_revision(ref)
    rev = options.revision or rev
    in_catalog = catalog.resolve_name(name)
    if options.prefer == "catalog" or (in_catalog and not _HUB_ID.match(name)):
        if in_catalog is None:
            raise InputError(
                f"{name!r} is not in the bundled catalog",
                hint=_suggest(name) + "`archlint catalog` lists it",
            )
        return _from_catalog(in_catalog, None)
    if not _HUB_ID.match(name):
        raise InputError(
            f"{ref!r} is neither a local path, a Hub id (org/name) nor a catalog name",
            hint=_suggest(name) + "`archlint catalog` lists bundled models",
        )
    from archlint.source.hub import fetch_checkpoint

    try:
        return fetch_checkpoint(
            name,
            rev,
            endpoint=options.endpoint,
            token=options.token,
            cache_dir=options.cache_dir,
            offline=options.offline,  # fetch_checkpoint adds HF_HUB_OFFLINE
            max_workers=options.max_workers,
            timeout=options.timeout,
            progress=options.progress,
            use_cache=options.use_cache,
            gguf_file=options.gguf_file,
            gguf_quant=options.gguf_quant,
        )
    except (NetworkError, OfflineError) as exc:
        if in_catalog is None or options.prefer == "hub":
            raise
        why = "offline" if isinstance(exc, OfflineError) else "the Hub could not be reached"
        return _from_catalog(
            in_catalog, f"{why}: answered from the bundled snapshot ({exc.one_line()})"
        )
    except RepoNotFoundError as exc:
        near = _suggest(name)  # a near miss of a bundled Hub id: "meta-llama/Llama-3-8B"
        if not near:
            raise
        raise RepoNotFoundError(exc.message, hint=near.rstrip()) from None
    except HubError:
        raise


def _suggest(name: str) -> str:
    """ "did you mean 'llama3'? " for a near miss of a bundled name or alias, else ""."""
    import difflib

    from archlint.source import catalog

    known = [*catalog.names(), *catalog.aliases()]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.7) or \
        difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=1, cutoff=0.7)
    return f"did you mean {close[0]!r}? " if close else ""
