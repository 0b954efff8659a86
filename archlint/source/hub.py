"""Read a model from the Hugging Face Hub: config.json, the shard index and safetensors headers.

Never the weights. Three sequential round trips at most for a sharded model:

1. one listing call resolves the revision to a commit sha and lists every file with its size;
2. config.json, the index and the header of every root-level `*.safetensors` file, concurrently
   (a header longer than the first ranged read costs one more range inside the same task);
3. only for shards the index names that step 2 did not guess (e.g. weights in a subfolder).

All I/O goes through huggingface_hub's shared HTTP client (`get_session`), its URL builder
(`hf_hub_url`), its auth headers (`build_hf_headers`: HF_TOKEN, `hf auth login`, `token=False`)
and its error classifier (`hf_raise_for_status`), so endpoints, tokens, offline mode and typed
errors behave as they do in huggingface_hub. Retries are ours: bounded, with backoff, honouring
(a capped) `Retry-After`; huggingface_hub's own backoff sleeps for whatever the server asks.

The token goes into request headers and nowhere else: not into messages, logs, the Checkpoint or
the cache.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import SimpleQueue
from typing import Any
from urllib.parse import quote, urljoin

from huggingface_hub import constants as hf_constants

# huggingface_hub.utils exports all of these from 0.24 on; since 1.0 it does so lazily, which
# mypy cannot see.
from archlint import errors
from archlint.checkpoint import Checkpoint, ShardInfo, TensorTable
from archlint.source import index as index_mod
from archlint.source import safetensors_header as st
from archlint.source.cache import HeaderCache, is_full_sha, paused_gc
from archlint.source.config_file import MAX_CONFIG_BYTES, parse_config
from archlint.source.http import (
    RetryPolicy,
    _Fetcher,
)

# -- limits ------------------------------------------------------------------------------------

#: listing bodies read at most. A listing with sizes is ~150 bytes per file; 64 MiB is ~400k files.
MAX_LISTING_BYTES = 64 * 2**20
#: concurrent requests of one fetch. A 163-shard model (DeepSeek-V3) needs ~166 requests after
#: the listing: 16 workers take >= 11 sequential waves of one round trip, 64 take 3. Still a
#: bound: a forged index naming 2048 shards is read 64 at a time.
DEFAULT_MAX_WORKERS = 64
#: first-read estimate once the index is known: bytes of header per tensor are about the bytes
#: of its index entry (~96 for DeepSeek-V3: name, shard file, quotes) plus this margin
#: (a header entry is ~117-131 bytes there), and a fixed allowance for `__metadata__`.
HEADER_BYTES_PER_TENSOR_MARGIN = 64
HEADER_SLACK_BYTES = 4096
#: first-read guess before the index is known, from the listing's size of the index: its
#: headers hold ~1.4x the index's bytes (1.37-1.59 per DeepSeek-R1 shard), so this many index
#: bytes per guessed shard, at least GUESS_MIN_BYTES and at most GUESS_MAX_BYTES.
GUESS_HEADER_PER_INDEX_BYTE = 1.75
GUESS_MIN_BYTES = 64 * 2**10
#: The guessed reads leave with the index request (round 2), so they cannot wait for its
#: weight_map: a header longer than its guess costs a whole round trip more. Kimi-K2's 61
#: shards hold ~300 KB of header each, past FIRST_READ_BYTES (the cap until session 8), and
#: paid that round on every shard. Past this mean (~7,800 tensors a shard) the round is cheap
#: next to the bytes; a forged index size is bounded by the model's header budget anyway.
GUESS_MAX_BYTES = 2**20
#: how recent a branch's cached resolution must be to answer when the Hub cannot be reached:
#: long enough to ride out an outage blip, short enough that the branch has rarely moved since.
#: (Explicit offline mode takes the last known resolution, however old, and says when it was.)
REF_FALLBACK_TTL_S = 10 * 60

#: huggingface_hub's validate_repo_id rule: [namespace/]name of word chars, '-' and '.', no '--'
#: or '..', at most 96 characters.
_REPO_ID = re.compile(r"^(?:\w[\w.-]*/)?\w[\w.-]*$")
#: weight files in formats archlint never opens; present without safetensors → weights "unknown".
_OTHER_WEIGHT_SUFFIXES = (".gguf", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".npz")

SAFETENSORS_INDEX = "model.safetensors.index.json"
SAFETENSORS_SINGLE = "model.safetensors"
BIN_INDEX = "pytorch_model.bin.index.json"


DEFAULT_RETRY = RetryPolicy()


# -- the fetch ---------------------------------------------------------------------------------


def resolve_endpoint(endpoint: str | None) -> str:
    """The Hub base URL: the argument, else HF_ENDPOINT now, else huggingface_hub's default."""
    value = endpoint or os.environ.get("HF_ENDPOINT") or hf_constants.ENDPOINT
    return value.rstrip("/")


def offline_requested(offline: bool) -> bool:
    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    hf_offline = getattr(hf_constants, "is_offline_mode", None)  # a function since hf 1.0
    hf_says = hf_offline() if callable(hf_offline) else bool(hf_constants.HF_HUB_OFFLINE)
    return offline or env in {"1", "ON", "YES", "TRUE"} or hf_says


def fetch_checkpoint(
    repo_id: str,
    revision: str | None = None,
    *,
    endpoint: str | None = None,
    token: str | bool | None = None,
    cache_dir: Path | None = None,
    offline: bool = False,
    max_workers: int = DEFAULT_MAX_WORKERS,
    timeout: float = 10.0,
    max_header_bytes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    use_cache: bool = True,
    gguf_file: str | None = None,
    gguf_quant: str | None = None,
) -> Checkpoint:
    """Config, index and safetensors headers of `repo_id` at `revision` (default branch if None);
    for a GGUF-only repo, the header of the model `gguf_file`/`gguf_quant` name (else the
    default choice, archlint.source.gguf_checkpoint.choose_model).

    Answers from the header cache when it can: a pinned commit sha needs no request at all, a
    branch or tag one listing call. `offline` (or HF_HUB_OFFLINE) answers only from the cache, for
    a branch at its last known commit, and raises OfflineError when the model is not there; a
    Hub that cannot be reached is answered the same way if the branch was resolved within
    REF_FALLBACK_TTL_S (with a note saying so), else NetworkError. `token=False` sends no token;
    None uses huggingface_hub's (HF_TOKEN or `hf auth login`). `use_cache=False` neither reads
    nor writes the cache. `progress(done, total)` is called after each header read.
    The result's `fetch_stats` holds requests, bytes, retries, elapsed_ms and cache_hit.
    """
    if (not _REPO_ID.match(repo_id) or ".." in repo_id or "--" in repo_id
            or len(repo_id) > 96):
        raise errors.UsageError(f"{repo_id!r} is not a Hub repo id (expected 'org/name')")
    if revision is not None and (not revision or len(revision) > 256 or "\n" in revision):
        raise errors.UsageError(f"{revision!r} is not a revision")
    base = resolve_endpoint(endpoint)
    cache = HeaderCache(cache_dir) if use_cache else None
    # A GGUF repo holds many models: a non-default choice is its own cache entry.
    variant = (f"gguf-file-{gguf_file}" if gguf_file else f"gguf-quant-{gguf_quant.upper()}"
               if gguf_quant else None)

    if cache is not None and revision is not None and is_full_sha(revision):
        hit = cache.get(base, repo_id, revision.lower(), variant)
        if hit is not None:
            hit.fetch_stats = {"requests": 0, "bytes": 0, "cache_hit": 1}
            return hit
    if offline_requested(offline):
        return _offline(cache, base, repo_id, revision, variant)

    fetcher = _Fetcher(repo_id=repo_id, revision=revision, endpoint=base, token=token,
                       timeout=timeout, retry=DEFAULT_RETRY)
    started = time.monotonic()
    listing_url = f"{base}/api/models/{repo_id}"
    if revision is not None:
        listing_url += f"/revision/{quote(revision, safe='')}"
    try:
        info = fetcher.get_json(listing_url + "?blobs=true", what="the file listing",
                                limit=MAX_LISTING_BYTES)
    except errors.NetworkError as err:
        recent = _from_cache(cache, base, repo_id, revision, max_age_s=REF_FALLBACK_TTL_S,
                             why=f"the Hub could not be reached ({err.one_line()})",
                             variant=variant)
        if recent is None:
            raise
        return recent
    sha, files = _parse_listing(info, fetcher)
    fetcher.sha = sha
    if cache is not None:
        cache.put_ref(base, repo_id, revision, sha)
        hit = cache.get(base, repo_id, sha, variant)
        if hit is not None:
            hit.fetch_stats = _stats(fetcher, started, cache_hit=1)
            return hit

    with paused_gc():  # ~1M containers, no cycles: see paused_gc
        if _reads_gguf(files, wanted=bool(gguf_file or gguf_quant)):
            from archlint.source.gguf_hub import fetch_gguf

            checkpoint = fetch_gguf(fetcher, files, gguf_file=gguf_file, gguf_quant=gguf_quant,
                                    max_workers=max_workers, max_header_bytes=max_header_bytes,
                                    progress=progress)
        else:
            checkpoint = _fetch_files(fetcher, files, max_workers=max_workers,
                                      max_header_bytes=max_header_bytes, progress=progress)
    checkpoint.fetch_stats = _stats(fetcher, started)
    if cache is not None:
        # off the critical path
        cache.put(base, repo_id, sha, checkpoint, background=True, variant=variant)
    return checkpoint


def _reads_gguf(files: dict[str, int | None], *, wanted: bool) -> bool:
    """Whether the fetch reads a GGUF header: a GGUF-only repo (gguf_hub.is_gguf_repo), or one
    with .gguf files among others when a GGUF model was asked for. Without a .gguf file in
    the listing the answer is no, and archlint.source.gguf_hub (the GGUF parsers, ~5-12 ms of
    imports between the listing and the first file reads) is not imported."""
    if not any(f.lower().endswith(".gguf") for f in files):
        return False
    from archlint.source.gguf_hub import is_gguf_repo

    return wanted or is_gguf_repo(files)


#: a `Link` header longer than this is not a pagination link (real ones are ~200 bytes).
MAX_LINK_HEADER_CHARS = 8192


def next_link(headers: Any, base_url: str) -> str | None:
    """The `rel="next"` target of a `Link` header (RFC 8288), absolute; None if there is none."""
    value = str((headers or {}).get("Link") or "")
    if not value or len(value) > MAX_LINK_HEADER_CHARS:
        return None
    for link in value.split(","):
        target, _, params = link.partition(";")
        target = target.strip()
        rels = [p.strip() for p in params.split(";")]
        if target.startswith("<") and target.endswith(">") and any(
                r.replace('"', "").replace(" ", "").lower() == "rel=next" for r in rels):
            return urljoin(base_url, target[1:-1])
    return None


def list_model_pages(params: dict[str, str], *, endpoint: str | None, token: str | bool | None,
                     timeout: float, max_pages: int = 100_000) -> Iterator[list[Any]]:
    """`GET /api/models?…` page by page, following `Link: rel="next"`: each page one bounded,
    deadline-bound request (the listing's limits), the token sent only to the endpoint's origin.
    """
    base = resolve_endpoint(endpoint)
    url: str | None = f"{base}/api/models?" + "&".join(
        f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
    for _ in range(max_pages):
        if url is None:
            return
        fetcher = _Fetcher(repo_id="the model listing", revision=None, endpoint=base,
                           token=token, timeout=timeout, retry=DEFAULT_RETRY)
        body = fetcher.get(url, what="a page of the model listing", limit=MAX_LISTING_BYTES + 1)
        if len(body.data) > MAX_LISTING_BYTES:
            raise errors.HubError(f"a page of the model listing of {base} is larger than "
                                  f"{MAX_LISTING_BYTES // 2**20} MiB")
        try:
            page = json.loads(body.data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
            raise errors.HubError(f"the model listing of {base} is not valid JSON ({err})"
                                  ) from None
        if not isinstance(page, list):
            raise errors.HubError(f"the model listing of {base} is not a JSON list")
        yield page
        url = next_link(body.headers, url)


def current_commit(repo_id: str, revision: str | None, *, endpoint: str | None,
                   token: str | bool | None, timeout: float) -> str:
    """The commit sha `revision` (default branch when None) points at now: one listing request,
    through the same retries, deadline, limits and error mapping as a fetch."""
    base = resolve_endpoint(endpoint)
    fetcher = _Fetcher(repo_id=repo_id, revision=revision, endpoint=base, token=token,
                       timeout=timeout, retry=DEFAULT_RETRY)
    url = f"{base}/api/models/{repo_id}"
    if revision is not None:
        url += f"/revision/{quote(revision, safe='')}"
    info = fetcher.get_json(url, what="the model's commit", limit=MAX_LISTING_BYTES)
    return _parse_listing(info, fetcher)[0]


def _stats(fetcher: _Fetcher, started: float, *, cache_hit: int = 0) -> dict[str, int]:
    return {
        "requests": fetcher.stats.requests,
        "bytes": fetcher.stats.bytes,
        "retries": fetcher.stats.retries,
        "elapsed_ms": round((time.monotonic() - started) * 1000),
        "cache_hit": cache_hit,
    }


def _offline(cache: HeaderCache | None, base: str, repo_id: str,
             revision: str | None, variant: str | None = None) -> Checkpoint:
    label = f"{repo_id}@{revision}" if revision else repo_id
    if cache is None:
        raise errors.OfflineError(f"{label}: offline mode and the cache is disabled")
    if revision is not None and is_full_sha(revision):
        raise errors.OfflineError(f"{label}: offline mode and this commit is not in the cache")
    hit = _from_cache(cache, base, repo_id, revision, max_age_s=None, why="offline",
                      variant=variant)
    if hit is None:
        raise errors.OfflineError(f"{label}: offline mode and this model is not in the cache")
    return hit


def _from_cache(cache: HeaderCache | None, base: str, repo_id: str, revision: str | None, *,
                max_age_s: float | None, why: str,
                variant: str | None = None) -> Checkpoint | None:
    """The cached Checkpoint for a branch/tag's last known commit, if resolved recently enough
    (`variant`: which model of the commit, for a GGUF repo's non-default choice)."""
    if cache is None or (revision is not None and is_full_sha(revision)):
        return None
    ref = cache.get_ref(base, repo_id, revision)
    if ref is None or (max_age_s is not None and time.time() - ref.resolved_at > max_age_s):
        return None
    hit = cache.get(base, repo_id, ref.sha, variant)
    if hit is None:
        return None
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ref.resolved_at))
    hit.notes.append(f"{why}: {revision or 'the default branch'} taken as commit {ref.sha[:12]}, "
                     f"its last known head (resolved {when}), from the archlint cache")
    hit.fetch_stats = {"requests": 0, "bytes": 0, "cache_hit": 1}
    return hit


def _parse_listing(info: Any, fetcher: _Fetcher) -> tuple[str, dict[str, int | None]]:
    """Commit sha and {file: size} from the listing JSON (untrusted: every field is checked)."""
    if not isinstance(info, dict):
        raise errors.HubError(f"{fetcher.repo_id}: the file listing is not a JSON object")
    sha = info.get("sha")
    if not isinstance(sha, str) or not is_full_sha(sha):
        raise errors.HubError(f"{fetcher.repo_id}: the file listing names no commit sha")
    files: dict[str, int | None] = {}
    siblings = info.get("siblings")
    for sibling in siblings if isinstance(siblings, list) else []:
        if not isinstance(sibling, dict) or not isinstance(sibling.get("rfilename"), str):
            continue
        size = sibling.get("size")
        if not _is_size(size):
            lfs = sibling.get("lfs")
            size = lfs.get("size") if isinstance(lfs, dict) else None
        files[sibling["rfilename"]] = size if _is_size(size) else None
    return sha.lower(), files


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass
class _Header:
    name: str
    file_size: int | None
    parsed: st.ParsedHeader


@dataclass
class _RawHeader:
    name: str
    file_size: int | None
    data: bytes  # the file's first bytes as read so far (at most `end`)
    end: int  # 8 + N: where the header ends, from the validated prefix
    limits: dict[str, int]

    @property
    def complete(self) -> bool:
        return len(self.data) >= self.end

    def parse(self) -> _Header:
        parsed = st.parse_header(self.data[8:self.end], file_name=self.name,
                                 file_size=self.file_size, **self.limits)
        return _Header(name=self.name, file_size=self.file_size, parsed=parsed)


def _read_prefix(fetcher: _Fetcher, name: str, size_hint: int | None,
                 max_header_bytes: int | None, first_read: int = st.FIRST_READ_BYTES,
                 budget: st.HeaderBudget | None = None) -> _RawHeader:
    """The first ranged read of one safetensors file (FIRST_READ_BYTES, or an estimate): the
    length prefix is checked and charged to the model's `budget`, and the header is complete
    when it was shorter than the read. The rest, if any, is `_read_rest`'s, once every shard's
    length is known. The JSON is parsed by the caller (`_RawHeader.parse`), in one thread:
    parsing in 64 worker threads at once only adds GIL hand-offs to the same CPU work."""
    url = fetcher.file_url(name)
    limits: dict[str, int] = {}
    if max_header_bytes is not None:
        limits["max_header_bytes"] = max_header_bytes
    first = fetcher.get(url, what=f"the header of {name}", limit=first_read,
                        byte_range=(0, first_read - 1))
    file_size = first.total_size if first.total_size is not None else size_hint
    end = 8 + st.header_length(first.data, file_name=name, file_size=file_size, **limits)
    if budget is not None:
        budget.charge(end)
    return _RawHeader(name=name, file_size=file_size, data=first.data[:end], end=end,
                      limits=limits)


def _read_rest(fetcher: _Fetcher, raw: _RawHeader) -> _RawHeader:
    """The header bytes past the first read: one more range."""
    rest = fetcher.get(fetcher.file_url(raw.name), what=f"the header of {raw.name}",
                       limit=raw.end - len(raw.data), byte_range=(len(raw.data), raw.end - 1))
    data = raw.data + rest.data
    if len(data) < raw.end:  # a server answering ranges shorter than asked, twice
        raise errors.NetworkError(f"{fetcher.who()}: the Hub sent {len(data)} of the {raw.end} "
                                  f"header bytes of {raw.name}")
    return _RawHeader(name=raw.name, file_size=raw.file_size, data=data, end=raw.end,
                      limits=raw.limits)


def first_read_guess(files: dict[str, int | None], guessed: list[str],
                     max_header_bytes: int | None = None) -> int:
    """First-read size for shards requested before the index arrives (see GUESS_*): never
    more than one header may be (8 + the header cap)."""
    index_size = files.get(SAFETENSORS_INDEX)
    if not index_size or not guessed:
        return st.FIRST_READ_BYTES
    estimate = index_size * GUESS_HEADER_PER_INDEX_BYTE / len(guessed) + HEADER_SLACK_BYTES
    rounded = -(-int(estimate) // 4096) * 4096
    # all the guessed first reads together stay within one model's header budget, however
    # large the listing says the index is
    fair_share = max(4096, st.MAX_TOTAL_HEADER_BYTES // len(guessed) // 4096 * 4096)
    return min(GUESS_MAX_BYTES, fair_share, _header_cap(max_header_bytes),
               max(GUESS_MIN_BYTES, rounded))


def _header_cap(max_header_bytes: int | None) -> int:
    """The most bytes one safetensors file's header may span, its 8-byte prefix included."""
    return 8 + min(st.HARD_MAX_HEADER_BYTES, max_header_bytes if max_header_bytes is not None
                   else st.DEFAULT_MAX_HEADER_BYTES)


def first_reads_from_index(weight_map: dict[str, str], index_bytes: int,
                           max_header_bytes: int | None) -> dict[str, int]:
    """Size each shard's first ranged read from the index: its tensor count times the index's
    mean bytes per entry plus a margin, plus slack for `__metadata__`; rounded up to 4 KiB and
    never over the header cap (8 + max_header_bytes), so a forged index cannot make a shard's
    read larger than its header is allowed to be, and all of them together come to at most the
    index's own bytes (itself capped at MAX_INDEX_BYTES) + 64 B per entry + 4 KiB per shard.
    Too small costs one more range, not an error.
    """
    if not weight_map:
        return {}
    counts = Counter(weight_map.values())  # counted in C: ~5 ms for 92k entries
    per_tensor = index_bytes / len(weight_map) + HEADER_BYTES_PER_TENSOR_MARGIN
    cap = _header_cap(max_header_bytes)
    sizes = {}
    for shard, count in counts.items():
        estimate = 8 + int(count * per_tensor) + HEADER_SLACK_BYTES
        sizes[shard] = min(cap, -(-estimate // 4096) * 4096)
    return sizes


def _choose_weights(files: dict[str, int | None]) -> tuple[str | None, list[str]]:
    """The index to read (if any) and the headers worth reading before it arrives.

    A safetensors index wins; without one, `model.safetensors` or the only root-level
    safetensors file; a .bin index only when there is no safetensors at all (never unpickled).
    Before the index arrives, root-level `model*.safetensors` files are guessed to be its shards:
    that is where and how transformers writes them, and guessing saves a sequential round trip.
    """
    root = sorted(f for f in files if "/" not in f and f.endswith(".safetensors"))
    if SAFETENSORS_INDEX in files:
        # transformers names shards model-00001-of-0000N (older: model_00001-...): guess those
        # only, so stray files (consolidated.safetensors, checkpoints) cost no reads
        guesses = [f for f in root if f.startswith("model")]
        return SAFETENSORS_INDEX, guesses[: index_mod.MAX_SHARDS]
    if SAFETENSORS_SINGLE in files:
        return None, [SAFETENSORS_SINGLE]
    if len(root) == 1:
        return None, root
    if not root and BIN_INDEX in files:
        return BIN_INDEX, []
    return None, []


_INDEX_DONE = None  # on the `finished` queue of _fetch_files: the index request is over


def _fetch_files(fetcher: _Fetcher, files: dict[str, int | None], *, max_workers: int,
                 max_header_bytes: int | None,
                 progress: Callable[[int, int], None] | None) -> Checkpoint:
    has_config = "config.json" in files
    has_safetensors = any(f.endswith(".safetensors") for f in files)
    if not has_config and not has_safetensors:
        raise errors.NotSafetensorsError(
            f"{fetcher.who()}: not a model repo archlint can read: no config.json, no "
            "safetensors and no GGUF weights"
        )
    index_name, guessed = _choose_weights(files)
    checkpoint = Checkpoint(model_id=fetcher.repo_id, source="hub", revision=fetcher.sha,
                            files=files)
    if not has_config:
        checkpoint.notes.append("no config.json in the repo: architecture from tensors only")

    # first-read sizes once the index is known; until then FIRST_READ_BYTES or the guess
    guess = (first_read_guess(files, guessed, max_header_bytes)
             if index_name == SAFETENSORS_INDEX else st.FIRST_READ_BYTES)
    pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="archlint-hub")
    reads = _HeaderReads(fetcher, files, pool, max_header_bytes=max_header_bytes, guess=guess,
                         progress=progress, total=len(guessed))
    try:
        # round 2: config, index and the guessed headers, all at once
        # each body is read to one byte past its parser's cap, so the parser sees an oversized
        # file and refuses it in its own words, and a hostile one costs no more than that
        config_f = (pool.submit(fetcher.get, fetcher.file_url("config.json"),
                                what="config.json", limit=MAX_CONFIG_BYTES + 1)
                    if has_config else None)
        index_f = (pool.submit(fetcher.get, fetcher.file_url(index_name), what=index_name,
                               limit=index_mod.MAX_INDEX_BYTES + 1)
                   if index_name else None)
        for name in guessed:
            reads.submit(name)
        if index_f is not None:
            index_f.add_done_callback(lambda _f: reads.finished.put(_INDEX_DONE))
        if config_f is not None:
            try:
                checkpoint.config, checkpoint.config_text = parse_config(
                    _result(config_f, fetcher).data)
            except errors.ConfigError as err:
                raise errors.ConfigError(f"{fetcher.who()}: {err.message}") from None
        wanted = guessed
        parsed_index = None
        if index_f is not None and index_name is not None:
            parsed_index, wanted = reads.follow_index(index_f, index_name, checkpoint)
        read = reads.in_order(wanted)
    except BaseException:
        fetcher.cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        # each future's done-callback holds `reads`, which holds the futures: without this the
        # raw header bytes would wait for the cyclic collector
        reads.headers.clear()
    _fill_tensors(checkpoint, read, parsed_index, index_name, files)
    return checkpoint


class _HeaderReads:
    """The safetensors headers of one model, read on a pool and parsed on the calling thread as
    they arrive. Finished tasks announce themselves on ``finished`` (header names, or
    ``_INDEX_DONE``), so a header is parsed even while the index is still on its way."""

    def __init__(self, fetcher: _Fetcher, files: dict[str, int | None], pool: ThreadPoolExecutor,
                 *, max_header_bytes: int | None, guess: int,
                 progress: Callable[[int, int], None] | None, total: int) -> None:
        self.fetcher, self.files, self.pool = fetcher, files, pool
        self.max_header_bytes, self.guess, self.progress = max_header_bytes, guess, progress
        self.budget = st.HeaderBudget(fetcher.repo_id)
        self.done_count, self.total = 0, total
        self.lock = threading.Lock()
        # a task that starts once the index is in reads what its shard's header needs (the
        # dict is replaced whole, so a task sees the old one or the new one)
        self.first_reads: dict[str, int] = {}
        self.finished: SimpleQueue[str | None] = SimpleQueue()
        self.headers: dict[str, Future[_RawHeader]] = {}
        self.parsed: dict[str, _Header] = {}
        self.failed: dict[str, Exception] = {}
        self.incomplete: dict[str, _RawHeader] = {}  # first read in, the rest not yet asked for

    def _count_done(self) -> None:
        if self.progress is not None:
            with self.lock:
                self.done_count += 1
                done, total = self.done_count, max(self.done_count, self.total)
            self.progress(done, total)

    def _header_task(self, name: str) -> _RawHeader:
        header = _read_prefix(self.fetcher, name, self.files.get(name), self.max_header_bytes,
                              self.first_reads.get(name, self.guess), self.budget)
        if header.complete:
            self._count_done()
        return header

    def _rest_task(self, raw: _RawHeader) -> _RawHeader:
        header = _read_rest(self.fetcher, raw)
        self._count_done()
        return header

    def submit(self, name: str, rest_of: _RawHeader | None = None) -> None:
        future = (self.pool.submit(self._rest_task, rest_of) if rest_of is not None
                  else self.pool.submit(self._header_task, name))
        self.headers[name] = future
        future.add_done_callback(lambda _f: self.finished.put(name))

    def absorb(self, name: str) -> None:
        """Parse a finished header task, keeping its result or its error for later."""
        future = self.headers[name]
        if self.budget.refused is not None:  # the model as a whole: before any shard's error
            raise self.budget.refused
        if (name in self.parsed or name in self.failed or name in self.incomplete
                or future.cancelled()):
            return
        try:
            raw = future.result()
            if raw.complete:
                self.parsed[name] = raw.parse()
            else:
                self.incomplete[name] = raw
        except Exception as err:  # raised below, in `wanted` order
            self.failed[name] = err

    def _absorb_next(self) -> None:
        arrived = self.finished.get()
        if arrived is not _INDEX_DONE:
            self.absorb(arrived)

    def follow_index(self, index_f: Future[Any], index_name: str,
                     checkpoint: Checkpoint) -> tuple[index_mod.ParsedIndex, list[str]]:
        """Parse headers until the index is in, then read it: the shards it names (the
        guesses it does not name cancelled, the ones not guessed asked for: round 3)."""
        while (ready := self.finished.get()) is not _INDEX_DONE:
            self.absorb(ready)
        index_data = _result(index_f, self.fetcher).data
        parsed_index = index_mod.parse_index(index_data, file_name=index_name)
        if index_name == SAFETENSORS_INDEX:
            self.first_reads = first_reads_from_index(parsed_index.weight_map, len(index_data),
                                                      self.max_header_bytes)
        checkpoint.index, checkpoint.index_name = parsed_index.raw, index_name
        wanted = [n for n in parsed_index.shards if n in self.files]
        self.total = len(wanted)
        for name, future in self.headers.items():
            if name not in wanted:
                future.cancel()  # a guess the index does not name (e.g. consolidated.*)
        if index_name == SAFETENSORS_INDEX:
            for name in wanted:  # round 3: shards the listing did not let us guess
                if name not in self.headers:
                    self.submit(name)
        return parsed_index, wanted

    def in_order(self, wanted: list[str]) -> list[_Header]:
        """The headers of ``wanted``, in that order.

        Headers are parsed in the order they arrive; the outcome is the same as reading them in
        `wanted` order: the first failure in that order is raised, as soon as it and every
        header before it are in. A header longer than its first read is completed only once
        every shard's first read is in and its length charged to the model's budget, so a
        model whose headers declare more than the budget is refused before any rest is read.
        """
        order = [name for name in wanted if name in self.headers]
        for position, name in enumerate(order):  # every first read
            while (name not in self.parsed and name not in self.failed
                   and name not in self.incomplete):
                self._absorb_next()
            if name in self.failed and not any(n in self.incomplete for n in order[:position]):
                raise self.budget.refused or self.failed[name]
        for name in order:  # the rest of the long ones
            if name in self.incomplete:
                self.submit(name, self.incomplete.pop(name))
        for name in order:
            while name not in self.parsed and name not in self.failed:
                self._absorb_next()
            if name in self.failed:
                raise self.budget.refused or self.failed[name]
        return [self.parsed[name] for name in order]


def _fill_tensors(checkpoint: Checkpoint, read: list[_Header],
                  parsed_index: index_mod.ParsedIndex | None, index_name: str | None,
                  files: dict[str, int | None]) -> None:
    """The checkpoint's tensors, shards, problems and weights format from what was read."""
    if read:
        checkpoint.tensors = TensorTable.concat(header.parsed.tensors for header in read)
    for header in read:
        checkpoint.shards.append(header.parsed.shard_info(header.name, header.file_size))
        checkpoint.problems.extend(header.parsed.problems)
    if parsed_index is not None:
        checkpoint.problems.extend(parsed_index.problems)
        if index_name == BIN_INDEX:  # names and sizes only: a .bin is never opened
            checkpoint.shards = [ShardInfo(name=n, file_size=files.get(n))
                                 for n in parsed_index.shards]
        shard_tensors = {h.name: h.parsed.tensors for h in read}
        checkpoint.problems.extend(index_mod.check_shards(parsed_index, shard_tensors,
                                                          set(files)))
    _set_weights_format(checkpoint, index_name, bool(read), files)


def _set_weights_format(checkpoint: Checkpoint, index_name: str | None, read_any: bool,
                        files: dict[str, int | None]) -> None:
    root = [f for f in files if "/" not in f]
    if index_name == BIN_INDEX:
        checkpoint.weights_format = "bin"
        checkpoint.notes.append(f"weights are PyTorch .bin (pickle): not downloaded; tensor names "
                                f"from {BIN_INDEX}, shapes not verified")
    elif read_any or index_name == SAFETENSORS_INDEX:
        checkpoint.weights_format = "safetensors"
    elif any(f.endswith(".safetensors") for f in root):
        checkpoint.weights_format = "safetensors"
        checkpoint.notes.append("several safetensors files and no model.safetensors.index.json: "
                                "tensors not read")
    elif any(f.endswith(".bin") for f in root):
        checkpoint.weights_format = "bin"
        checkpoint.notes.append("weights are PyTorch .bin (pickle): not downloaded, not verified")
    elif any(f.endswith(_OTHER_WEIGHT_SUFFIXES) for f in files):
        checkpoint.weights_format = "unknown"
        checkpoint.notes.append("weights in a format archlint does not read: not verified")
    else:
        checkpoint.weights_format = "none"
        checkpoint.notes.append("config only: the repo holds no weights; nothing verified")


def _result(future: Future[Any], fetcher: _Fetcher) -> Any:
    """A task's result; a failure cancels the fetch's other tasks before it propagates."""
    try:
        return future.result()
    except BaseException:
        fetcher.cancel.set()
        raise
