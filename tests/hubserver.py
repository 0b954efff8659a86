"""A local stand-in for the Hugging Face Hub, for end-to-end tests through the real client.

It serves what huggingface_hub reads (checked against its source):

- ``GET /api/models/{repo}`` and ``/api/models/{repo}/revision/{rev}`` (rev URL-encoded, so
  ``refs%2Fpr%2F3``): JSON with ``id``, ``sha``, ``private``, ``gated`` and ``siblings``
  (``rfilename``; with ``?blobs=true`` also ``size``, ``blobId`` and ``lfs``);
- ``GET``/``HEAD /{repo}/resolve/{rev}/{path}``: the file, with ``X-Repo-Commit``, ``ETag``,
  ``Content-Length``, ``Accept-Ranges`` and single ``Range`` requests (206 + ``Content-Range``,
  416 when unsatisfiable); large files can be redirected (302) to ``/cdn/...`` on the same
  server, as the real Hub redirects LFS files to its CDN;
- errors the way ``hf_raise_for_status`` classifies them: ``X-Error-Code`` ``RepoNotFound``
  (401 without a token, 404 with one), ``GatedRepo`` (401 / 403), ``RevisionNotFound`` (404),
  ``EntryNotFound`` (404), and 401 ``X-Error-Message: Invalid credentials in Authorization
  header`` for a token it does not know.

Repos are built from archlint Checkpoints (``fixtures/models/*.json.gz``): a tensor table is split
into N shards with real safetensors headers (offsets, 8-byte alignment) and a real index whose
``total_size`` is the tensors' byte sum. File bodies are virtual: the header bytes, then zeros
produced on demand, so a 30 GB shard costs only the bytes a client actually reads.

Counters (requests and body bytes per repo, every request logged), a per-request latency, and
fault injection (status codes with ``Retry-After``, connection reset mid-body, stalls, truncated
or mislabelled ranges, ``Range`` ignored) make the client's behaviour measurable. Every wait is
bounded and wakes up on ``stop()``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from archlint.checkpoint import Checkpoint, TensorInfo
from archlint.source.safetensors_header import encode_header

#: body bytes written per socket call when streaming a (virtual) file.
CHUNK = 64 * 1024
#: a file served through the CDN redirect when larger than this (the real Hub redirects LFS files,
#: which are the large ones; 10 MB is git-lfs's usual threshold in HF repos).
LFS_THRESHOLD = 10 * 1000 * 1000


# -- repos -----------------------------------------------------------------------------------------


@dataclass
class VirtualFile:
    """`head` followed by zeros up to `size` bytes; nothing beyond `head` is ever stored."""

    head: bytes
    size: int

    def __post_init__(self) -> None:
        assert self.size >= len(self.head)
        self.oid = hashlib.sha256(self.head + str(self.size).encode()).hexdigest()

    @property
    def lfs(self) -> bool:
        return self.size > LFS_THRESHOLD or not self.head.isascii()

    def chunks(self, start: int, end: int) -> Iterable[bytes]:
        """Bytes [start, end) in pieces of at most CHUNK."""
        pos = start
        while pos < end:
            stop = min(end, pos + CHUNK)
            if pos < len(self.head):
                piece = self.head[pos:min(stop, len(self.head))]
                piece += bytes(stop - pos - len(piece))
            else:
                piece = bytes(stop - pos)
            yield piece
            pos = stop


def text_file(text: str | bytes) -> VirtualFile:
    data = text.encode() if isinstance(text, str) else text
    return VirtualFile(data, len(data))


@dataclass
class Repo:
    repo_id: str
    commits: dict[str, dict[str, VirtualFile]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # branch / tag / refs/pr/N → sha
    default_branch: str = "main"
    gated: bool = False
    private: bool = False
    allowed_tokens: set[str] = field(default_factory=set)  # may read a gated/private repo

    def add_commit(self, files: dict[str, VirtualFile], *refs: str) -> str:
        digest = hashlib.sha1(self.repo_id.encode())
        for name in sorted(files):
            digest.update(f"{name}\0{files[name].oid}\0".encode())
        sha = digest.hexdigest()
        self.commits[sha] = files
        for ref in refs or (self.default_branch,):
            self.refs[ref] = sha
        return sha

    @property
    def sha(self) -> str:
        return self.refs[self.default_branch]

    def resolve(self, revision: str | None) -> str | None:
        rev = revision or self.default_branch
        if rev in self.refs:
            return self.refs[rev]
        return rev.lower() if rev.lower() in self.commits else None


def safetensors_file(tensors: list[TensorInfo], metadata: dict[str, str] | None = None
                     ) -> tuple[VirtualFile, list[TensorInfo]]:
    """A real safetensors layout for `tensors`: header with consecutive offsets, zero data."""
    head, placed = encode_header([TensorInfo(t.name, t.dtype, t.shape) for t in tensors], metadata)
    data = placed[-1].end if placed else 0
    return VirtualFile(head, len(head) + (data or 0)), placed


def split_even(tensors: list[TensorInfo], n: int) -> list[list[TensorInfo]]:
    """`n` non-empty contiguous groups of roughly equal bytes (as save_pretrained's size cap)."""
    n = max(1, min(n, len(tensors)))
    total = max(1, sum(t.nbytes for t in tensors))
    cuts = [0]
    acc = 0
    for i, t in enumerate(tensors):
        acc += t.nbytes
        if len(cuts) < n and acc * n >= total * len(cuts) and i + 1 < len(tensors):
            cuts.append(i + 1)
    for k in range(len(cuts), n):  # too few cuts (one tensor dominates): split the tail
        cuts.append(max(cuts[-1] + 1, len(tensors) - (n - k)))
    cuts = [*sorted(set(cuts))[:n], len(tensors)]
    return [tensors[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def model_files(checkpoint: Checkpoint, *, shards: int = 1,
                metadata: dict[str, str] | None = None) -> dict[str, VirtualFile]:
    """The repo files a Checkpoint describes: config, and weights when it has a tensor table.

    One shard → `model.safetensors`; more → `model-0000k-of-0000n.safetensors` plus an index.
    A .bin index is served as-is with virtual .bin files (archlint must never download them).
    """
    files: dict[str, VirtualFile] = {"README.md": text_file(f"# {checkpoint.model_id}\n")}
    if checkpoint.config is not None:
        files["config.json"] = text_file(
            checkpoint.config_text or json.dumps(checkpoint.config, indent=2))
    if checkpoint.tensors is not None:
        meta = metadata if metadata is not None else {"format": "pt"}
        groups = split_even(list(checkpoint.tensors), shards)
        if len(groups) == 1:
            files["model.safetensors"], _ = safetensors_file(groups[0], meta)
            return files
        weight_map: dict[str, str] = {}
        total = 0
        for k, group in enumerate(groups, 1):
            name = f"model-{k:05d}-of-{len(groups):05d}.safetensors"
            files[name], placed = safetensors_file(group, meta)
            for t in placed:
                weight_map[t.name] = name
                total += (t.end or 0) - (t.start or 0)
        index = {"metadata": {"total_size": total}, "weight_map": weight_map}
        files["model.safetensors.index.json"] = text_file(json.dumps(index, indent=2))
    elif checkpoint.index_name == "pytorch_model.bin.index.json" and checkpoint.index:
        files[checkpoint.index_name] = text_file(json.dumps(checkpoint.index, indent=2))
        names = sorted(set(checkpoint.index.get("weight_map", {}).values()))
        total = checkpoint.index_total_size() or 0
        for name in names:
            files[name] = VirtualFile(b"PK\x03\x04", max(4, total // max(1, len(names))))
    elif checkpoint.index is not None:
        raise ValueError(f"{checkpoint.model_id}: an index without a tensor table cannot be served")
    return files


# -- faults ----------------------------------------------------------------------------------------


@dataclass
class Fault:
    """One misbehaviour, applied to the next `times` requests whose path contains `path`.

    kinds: ``status`` (send `status`, with `retry_after` if set), ``reset`` (half the body, then
    a TCP reset), ``stall`` (say nothing for `stall_s`, then drop the connection), ``stall_body``
    (headers and a first chunk, then silence), ``truncate`` (a 206 whose body stops short),
    ``wrong_range`` (a 206 labelled with another range), ``ignore_range`` (200 with the whole
    file, however large), ``drip`` (the normal response, its body one byte every `drip_s`),
    ``drip_head`` (a status line and headers one byte every `drip_s`, never reaching a body),
    ``slow_redirect`` (after `drip_s`, a 302 back to the same URL: a redirect loop whose every
    hop answers within the read timeout). `drip_s` also drips the body of a ``status`` fault
    (an error body that never ends).
    """

    kind: str
    path: str = ""
    times: int = 1
    status: int = 503
    retry_after: str | None = None
    stall_s: float = 5.0
    drip_s: float | None = None
    #: ``wrong_range``: this Content-Range instead (``{authorization}``: the request's header,
    #: as a server that reflects what it was sent)
    content_range: str | None = None
    hits: int = 0


@dataclass
class Request:
    method: str
    path: str
    repo_id: str | None
    range: str | None
    authorization: str | None
    started: float
    finished: float = 0.0
    status: int = 0
    sent: int = 0


# -- the server ------------------------------------------------------------------------------------


class HubServer:
    """`with HubServer() as hub:` serves `hub.repos` on `hub.endpoint` until the block ends."""

    #: subclass `_Handler` and set this to add routes (e.g. model search)
    handler_class: type[_Handler]

    def __init__(self, *, latency_s: float = 0.0, redirect_lfs: bool = False) -> None:
        self.repos: dict[str, Repo] = {}
        self.faults: list[Fault] = []
        self.latency_s = latency_s
        self.redirect_lfs = redirect_lfs
        self.known_tokens: set[str] = set()  # a token outside this set is "invalid credentials"
        self.log: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- setup -------------------------------------------------------------------------------------
    def add_repo(self, repo: Repo) -> Repo:
        self.repos[repo.repo_id] = repo
        self.known_tokens |= repo.allowed_tokens
        return repo

    def add_model(self, repo_id: str, checkpoint: Checkpoint, *, shards: int = 1,
                  **repo_options: Any) -> Repo:
        repo = Repo(repo_id, **repo_options)
        repo.add_commit(model_files(checkpoint, shards=shards))
        return self.add_repo(repo)

    def add_fault(self, kind: str, path: str = "", **options: Any) -> Fault:
        fault = Fault(kind, path, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> HubServer:
        handler = type("Handler", (self.handler_class,), {"hub": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- counters ----------------------------------------------------------------------------------
    def requests(self, repo_id: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.log if repo_id is None or r.repo_id == repo_id]

    def count(self, repo_id: str | None = None) -> int:
        return len(self.requests(repo_id))

    def bytes_sent(self, repo_id: str | None = None) -> int:
        return sum(r.sent for r in self.requests(repo_id))

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()

    # -- internals ---------------------------------------------------------------------------------
    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if the server is stopping."""
        return self._stopping.wait(seconds)

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.hits < fault.times and fault.path in path:
                    fault.hits += 1
                    return fault
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    #: listen backlog: the default 5 drops SYNs when a client opens 16+ connections at once,
    #: and a dropped SYN is retried only after a second, which would swamp latency measurements.
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up (faults make it do so on purpose) is not worth a traceback."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the real Hub; every response has a length
    # TCP_NODELAY, as HTTP servers set it (nginx's `tcp_nodelay on` default): the head and a
    # small body go out in two writes, and with Nagle on the body waited for the client's
    # delayed ACK of the head, ~40 ms more on every small response (config.json, a listing)
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    # -- dispatch ----------------------------------------------------------------------------------
    def _serve(self, *, head: bool) -> None:
        url = urlsplit(self.path)
        segments = [unquote(s) for s in url.path.split("/")[1:]]
        record = Request(self.command, url.path, _repo_of(segments), self.headers.get("Range"),
                         self.headers.get("Authorization"), time.monotonic())
        with self.hub._lock:
            self.hub.log.append(record)
        self.record = record
        self.fault: Fault | None = None
        try:
            if self.hub.latency_s and self.hub.wait(self.hub.latency_s):
                return self._drop()
            fault = self.fault = self.hub.take_fault(url.path)
            if fault is not None and fault.kind == "drip" and fault.drip_s is None:
                fault.drip_s = 1.0
            if fault is not None and fault.kind == "status":
                extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return self._error(fault.status, None, f"injected {fault.status}", extra)
            if fault is not None and fault.kind == "drip_head":
                self.close_connection = True
                return self._drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"." * 8192 + b"\r\n\r\n")
            if fault is not None and fault.kind == "slow_redirect":
                if self.hub.wait(fault.drip_s or 1.0):
                    return self._drop()
                return self._send(302, b"", {"Location": self.path}, head)
            if fault is not None and fault.kind == "stall":
                self.hub.wait(fault.stall_s)
                return self._drop()
            if segments[:2] == ["api", "models"]:
                return self._api(segments[2:], parse_qs(url.query), head)
            if segments and segments[0] == "cdn":
                return self._cdn(segments[1:], head, fault)
            if "resolve" in segments[1:3]:
                return self._resolve(segments, head, fault)
            return self._error(404, None, "Not Found")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
        finally:
            record.finished = time.monotonic()

    # -- auth --------------------------------------------------------------------------------------
    def _token(self) -> str | None:
        value = self.headers.get("Authorization") or ""
        return value[7:] if value.startswith("Bearer ") else None

    def _repo(self, repo_id: str) -> Repo | None:
        """The repo if visible to this request; an error response sent otherwise (None)."""
        token = self._token()
        if token is not None and token not in self.hub.known_tokens:
            self._error(401, None, "Invalid credentials in Authorization header")
            return None
        repo = self.hub.repos.get(repo_id)
        if repo is None or (repo.private and token not in repo.allowed_tokens):
            self._error(404 if token else 401, "RepoNotFound",
                        "Repository not found" if token else "Invalid username or password.")
            return None
        return repo

    # -- routes ------------------------------------------------------------------------------------
    def _api(self, segments: list[str], query: dict[str, list[str]], head: bool) -> None:
        if "revision" in segments:
            at = segments.index("revision")
            repo_id, revision = "/".join(segments[:at]), "/".join(segments[at + 1:])
        else:
            repo_id, revision = "/".join(segments), None
        repo = self._repo(repo_id)
        if repo is None:
            return
        sha = repo.resolve(revision)
        if sha is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        blobs = query.get("blobs", ["false"])[0].lower() == "true"
        siblings = []
        for name, vf in sorted(repo.commits[sha].items()):
            entry: dict[str, Any] = {"rfilename": name}
            if blobs:
                entry["size"] = vf.size
                entry["blobId"] = hashlib.sha1(vf.oid.encode()).hexdigest()
                if vf.lfs:
                    entry["lfs"] = {"sha256": vf.oid, "size": vf.size, "pointerSize": 134}
            siblings.append(entry)
        body = json.dumps({
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id, "modelId": repo.repo_id, "author": repo.repo_id.split("/")[0],
            "sha": sha, "private": repo.private, "gated": "manual" if repo.gated else False,
            "disabled": False, "lastModified": "2025-01-01T00:00:00.000Z", "tags": [],
            "downloads": 0, "likes": 0, "library_name": "transformers", "siblings": siblings,
        }).encode()
        self._send(200, body, {"Content-Type": "application/json; charset=utf-8"}, head)

    def _resolve(self, segments: list[str], head: bool, fault: Fault | None) -> None:
        at = segments.index("resolve", 1)
        repo_id = "/".join(segments[:at])
        if at + 2 > len(segments):
            return self._error(404, None, "Not Found")
        revision, path = segments[at + 1], "/".join(segments[at + 2:])
        repo = self._repo(repo_id)
        if repo is None:
            return
        sha = repo.resolve(revision)
        if sha is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        if repo.gated and self._token() not in repo.allowed_tokens:
            status = 403 if self._token() else 401
            return self._error(status, "GatedRepo",
                               f"Access to model {repo_id} is restricted. You must have access "
                               "to it and be authenticated to access it. Please log in.")
        vf = repo.commits[sha].get(path)
        if vf is None:
            return self._error(404, "EntryNotFound", f"{path} does not exist on \"{revision}\"")
        common = {"X-Repo-Commit": sha, "ETag": f'"{vf.oid}"'}
        if self.hub.redirect_lfs and vf.lfs:
            location = f"/cdn/{quote(repo_id, safe='')}/{sha}/{quote(path)}?X-Amz-Signature=test"
            return self._send(302, b"", {**common, "Location": location,
                                         "X-Linked-Size": str(vf.size),
                                         "X-Linked-ETag": f'"{vf.oid}"'}, head)
        self._file(vf, common, head, fault)

    def _cdn(self, segments: list[str], head: bool, fault: Fault | None) -> None:
        if len(segments) < 3:
            return self._error(404, None, "Not Found")
        repo = self.hub.repos.get(segments[0])
        files = repo.commits.get(segments[1]) if repo else None
        vf = files.get("/".join(segments[2:])) if files else None
        if vf is None:
            return self._error(404, None, "NoSuchKey")
        # the real CDN sends no X-Repo-Commit, but the real client never follows the redirect
        # off the Hub's host to see that; here it stays on one host, so say what the 302 said
        self._file(vf, {"ETag": f'"{vf.oid}"', "X-Repo-Commit": segments[1]}, head, fault)

    # -- bodies ------------------------------------------------------------------------------------
    def _file(self, vf: VirtualFile, headers: dict[str, str], head: bool,
              fault: Fault | None) -> None:
        headers = {**headers, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        wanted = _parse_range(self.headers.get("Range"), vf.size)
        kind = fault.kind if fault else None
        if wanted == "unsatisfiable" and kind != "ignore_range":
            return self._error(416, None, "Range Not Satisfiable",
                               {"Content-Range": f"bytes */{vf.size}"})
        if wanted is None or wanted == "unsatisfiable" or kind == "ignore_range":
            start, end, status = 0, vf.size, 200
        else:
            start, end = wanted
            status = 206
            label_start = start + 1 if kind == "wrong_range" else start
            headers["Content-Range"] = f"bytes {label_start}-{end - 1}/{vf.size}"
            if kind == "wrong_range" and fault is not None and fault.content_range:
                headers["Content-Range"] = fault.content_range.format(
                    authorization=self.headers.get("Authorization") or "")
        headers["Content-Length"] = str(end - start)
        self._start(status, headers)
        if head:
            return
        if kind in ("reset", "truncate", "stall_body"):
            half = start + max(1, (end - start) // 2)
            self._write_chunks(vf.chunks(start, min(half, start + CHUNK)))
            if kind == "stall_body":
                self.hub.wait(fault.stall_s if fault else 5.0)
            return self._drop(reset=kind == "reset")
        self._write_chunks(vf.chunks(start, end))

    def _write_chunks(self, chunks: Iterable[bytes]) -> None:
        for piece in chunks:
            if self.hub._stopping.is_set():
                return self._drop()
            if self.fault is not None and self.fault.drip_s is not None:
                return self._drip(piece)
            self.wfile.write(piece)
            self.record.sent += len(piece)

    def _drip(self, body: bytes) -> None:
        """Write `body` one byte every `drip_s` (never finishing a long one before stop())."""
        assert self.fault is not None and self.fault.drip_s is not None
        for i in range(len(body)):
            self.wfile.write(body[i:i + 1])
            self.wfile.flush()
            self.record.sent += 1
            if self.hub.wait(self.fault.drip_s):
                return self._drop()

    def _start(self, status: int, headers: dict[str, str]) -> None:
        self.record.status = status
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
        self._start(status, {**headers, "Content-Length": str(len(body))})
        if not head:
            self._write_chunks([body])

    def _error(self, status: int, code: str | None, message: str,
               extra: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "application/json", "X-Error-Message": message, **(extra or {})}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, json.dumps({"error": message}).encode(), headers,
                   self.command == "HEAD")

    def _drop(self, *, reset: bool = False) -> None:
        """Close the connection without finishing the response (a RST when `reset`)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            if reset:  # linger 0: close() sends RST instead of FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.connection.close()


HubServer.handler_class = _Handler


def _repo_of(segments: list[str]) -> str | None:
    if segments[:2] == ["api", "models"]:
        rest = segments[2:]
        if "revision" in rest:
            rest = rest[: rest.index("revision")]
        return "/".join(rest) or None
    if segments and segments[0] == "cdn" and len(segments) > 1:
        return segments[1]
    if "resolve" in segments[1:3]:
        return "/".join(segments[: segments.index("resolve", 1)])
    return None


def _parse_range(value: str | None, size: int) -> tuple[int, int] | str | None:
    """[start, end) for one `bytes=` range; None when absent or not understood (serve all)."""
    if not value or not value.startswith("bytes=") or "," in value:
        return None
    first, _, last = value[6:].strip().partition("-")
    try:
        if first == "":
            start, end = max(0, size - int(last)), size
        else:
            start = int(first)
            end = min(size, int(last) + 1) if last else size
    except ValueError:
        return None
    if start >= size or start >= end:
        return "unsatisfiable"
    return start, end
