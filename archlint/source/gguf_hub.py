"""A GGUF repo on the Hub (`org/Model-GGUF`): choose one model among its files, then read
only its header by HTTP range requests.

Round trips: the listing (one request, whatever the number of files: it carries every file's
size), then each part's first range of FIRST_READ_BYTES (all parts at once), then, only when
a header is longer, one range sized by the reader's estimate (`NeedMoreBytes.estimate`); a
further range only when that estimate fell short. Parts of a split set are read in parallel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from archlint import errors
from archlint.checkpoint import Checkpoint
from archlint.source.gguf_checkpoint import (
    checkpoint_from_gguf,
    choose_model,
    group_gguf_files,
    quant_of_name,
)
from archlint.source.gguf_header import (
    DEFAULT_MAX_HEADER_BYTES,
    FIRST_READ_BYTES,
    NeedMoreBytes,
    ParsedGGUF,
    parse_gguf,
)
from archlint.source.safetensors_header import HeaderBudget

if TYPE_CHECKING:
    from archlint.source.http import _Fetcher

#: Ranges per part before giving up: the first read, the estimate, then doubling; a header of
#: 64 MiB (the cap) needs at most 7 from a 3 MiB start even when every estimate is wrong.
MAX_RANGES_PER_FILE = 8


def is_gguf_repo(files: dict[str, int | None]) -> bool:
    """A repo whose only weights are GGUF: no config.json and no safetensors, some .gguf."""
    if "config.json" in files or any(f.endswith(".safetensors") for f in files):
        return False
    return any(f.lower().endswith(".gguf") for f in files)


def list_models(files: dict[str, int | None]) -> list[dict[str, Any]]:
    """The GGUF models of a repo: name, quantization named in the file name, parts, bytes."""
    models = group_gguf_files([f for f in files if f.lower().endswith(".gguf")])
    out = []
    for key, names in models.items():
        sizes = [files.get(n) for n in names]
        out.append({
            "model": key,
            "quant": quant_of_name(key),
            "parts": len(names),
            "bytes": sum(s for s in sizes if s is not None) if all(
                s is not None for s in sizes) else None,
        })
    return out


def _read_part(fetcher: _Fetcher, name: str, size: int | None, max_header_bytes: int,
               budget: HeaderBudget | None = None) -> tuple[ParsedGGUF, int | None]:
    url = fetcher.file_url(name)
    first = min(FIRST_READ_BYTES, size) if size else FIRST_READ_BYTES
    if budget is not None:  # the split set's headers together, charged before each read
        budget.charge(first)
    body = fetcher.get(url, what=f"the header of {name}", limit=first,
                       byte_range=(0, max(first, 1) - 1))
    file_size = body.total_size if body.total_size is not None else size
    data = body.data
    for _ in range(MAX_RANGES_PER_FILE):
        try:
            return parse_gguf(data, file_name=name, file_size=file_size,
                              max_header_bytes=max_header_bytes), file_size
        except NeedMoreBytes as more:
            want = max(more.estimate, more.needed, 2 * len(data))
            if file_size is not None:
                want = min(want, file_size)
            if want <= len(data):  # the file has no more: parse as complete (raises)
                return parse_gguf(data, file_name=name, file_size=len(data),
                                  max_header_bytes=max_header_bytes), file_size
            if budget is not None:
                budget.charge(want - len(data), new_shard=False)
            rest = fetcher.get(url, what=f"the header of {name}", limit=want - len(data),
                               byte_range=(len(data), want - 1))
            if not rest.data:
                raise errors.NetworkError(f"{fetcher.who()}: the Hub sent no bytes past "
                                          f"{len(data)} of {name}") from None
            data += rest.data
    raise errors.HeaderError("AL020", f"the header did not end within {len(data)} bytes "
                             f"after {MAX_RANGES_PER_FILE} ranges", file=name)


def fetch_gguf(fetcher: _Fetcher, files: dict[str, int | None], *, gguf_file: str | None,
               gguf_quant: str | None, max_workers: int, max_header_bytes: int | None,
               progress: Callable[[int, int], None] | None) -> Checkpoint:
    """The Checkpoint of the chosen GGUF model of a listed repo."""
    models = group_gguf_files([f for f in files if f.lower().endswith(".gguf")])
    try:
        key, why = choose_model(models, file=gguf_file, quant=gguf_quant)
    except KeyError as exc:
        offered = ", ".join(sorted({quant_of_name(k) or k for k in models}))
        raise errors.HubError(f"{fetcher.who()}: {exc.args[0]}",
                              hint=f"it offers {offered}") from None
    names = models[key]
    cap = max_header_bytes if max_header_bytes is not None else DEFAULT_MAX_HEADER_BYTES
    done = [0]
    lock = threading.Lock()
    budget = HeaderBudget(fetcher.repo_id, kind="GGUF")

    def task(name: str) -> tuple[str, ParsedGGUF, int | None]:
        parsed, size = _read_part(fetcher, name, files.get(name), cap, budget)
        if progress is not None:
            with lock:
                done[0] += 1
                count = done[0]
            progress(count, len(names))
        return name, parsed, size

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(names))),
                            thread_name_prefix="archlint-gguf") as pool:
        futures = [pool.submit(task, name) for name in names]
        try:
            parts = [f.result() for f in futures]
        except BaseException:
            fetcher.cancel.set()
            raise
    ckpt = checkpoint_from_gguf(fetcher.repo_id, "hub", parts, revision=fetcher.sha)
    ckpt.files = dict(files)
    assert ckpt.gguf is not None
    ckpt.gguf["repo_models"] = list_models(files)
    ckpt.gguf["chosen"] = {"model": key, "why": why}
    ckpt.notes.insert(0, f"analysed {key}: {why}")
    return ckpt
