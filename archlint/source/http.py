"""HTTP transport for Hub reads: one GET with bounded retries, a wall-clock deadline, streamed
bodies read under a size limit, Range/Content-Range checks, and HTTP statuses mapped to
archlint's one-line errors. What to fetch and in which order (listing, config, index, headers,
the cache) is `hub.py`'s job; this module knows nothing of models.

Requests go through `transport` (the standard library's http.client, keep-alive connections);
the headers are `hub_auth`'s (huggingface_hub's token choice and User-Agent format), and an
error status is classified as huggingface_hub's `hf_raise_for_status` classifies it (its
X-Error-Code / X-Error-Message headers), then said in archlint's one line. The token goes only
to the endpoint's origin, and is registered for redaction before any message can carry it.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import quote

from huggingface_hub import constants as hf_constants

from archlint import errors
from archlint.redact import register_secret
from archlint.source import transport
from archlint.source.hub_auth import hub_headers

# -- limits ------------------------------------------------------------------------------------

#: error bodies read at most (to keep the connection); anything longer closes it.
MAX_ERROR_BODY_BYTES = 64 * 2**10

#: slowest transfer we wait for: one attempt may take `3 * timeout + received / MIN_RATE` seconds,
#: counting only the bytes that did arrive, so a server trickling bytes just under the read
#: timeout (1 byte/s) is cut off after `3 * timeout`, whatever length it announced.
MIN_RATE_BYTES_PER_S = 100 * 2**10

#: the whole fetch of one model (listing, config, index, every header, retries and backoff
#: included) ends within this many `timeout`s: 120 s at the default 10 s, 24 s at `--timeout 2`.
#: A healthy fetch of a 163-shard model takes about a second.
FETCH_DEADLINE_TIMEOUTS = 12

#: statuses that mean "try again": timeout, rate limit, and the transient server/gateway errors.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")

#: the Hub's X-Error-Message for a token it does not accept (huggingface_hub checks the same).
_BAD_CREDENTIALS = "Invalid credentials in Authorization header"

AUTH_HINT = "authenticate with `hf auth login` or set HF_TOKEN"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff (and jitter) for transient failures."""

    #: attempts per request, first included: three retries ride out a deploy or a rate-limit
    #: window without turning a dead network into minutes of waiting.
    attempts: int = 4
    #: first backoff; doubled per retry up to `max_backoff_s`.
    base_backoff_s: float = 0.5
    max_backoff_s: float = 4.0
    #: a `Retry-After` longer than this is cut short: a CLI run should fail in seconds, not
    #: sleep for an hour because a proxy said so.
    retry_after_cap_s: float = 10.0

    def backoff(self, attempt: int) -> float:
        wait = min(self.max_backoff_s, self.base_backoff_s * 2.0 ** (attempt - 1))
        return wait * (0.5 + random.random() / 2)  # jitter: concurrent shards do not retry in step



#: exceptions meaning "the request did not complete": socket errors and timeouts (OSError,
#: transport's own among them) and http.client's protocol errors (a malformed status line).
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)

class _Retryable(Exception):
    """A response that was received but is unusable (wrong Content-Range, cut short): retry."""


class _Cancelled(Exception):
    """Another task of the same fetch failed; stop quietly."""


@dataclass
class _Body:
    data: bytes
    total_size: int | None  # the whole file's size, from Content-Range or Content-Length
    headers: Any = None  # the response's headers


@dataclass
class _Stats:
    requests: int = 0
    bytes: int = 0
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *, requests: int = 0, nbytes: int = 0, retries: int = 0) -> None:
        with self.lock:
            self.requests += requests
            self.bytes += nbytes
            self.retries += retries


def register_auth_secret(headers: dict[str, str]) -> None:
    """Have every message redact the token these request headers carry."""
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    register_secret(value.partition(" ")[2] if " " in value else value)


def same_origin(url: str, endpoint: str) -> bool:
    """Whether `url` is on the endpoint's origin (scheme, host and port; RFC 6454)."""
    return transport.origin(url) == transport.origin(endpoint)


def _parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    match = _CONTENT_RANGE.match(value or "")
    if not match:
        return None
    first, last, total = match.groups()
    return int(first), int(last), None if total == "*" else int(total)


class _Fetcher:
    """One model fetch: the session, auth headers, limits, retries, counters and cancellation."""

    def __init__(self, *, repo_id: str, revision: str | None, endpoint: str,
                 token: str | bool | None, timeout: float, retry: RetryPolicy) -> None:
        self.repo_id = repo_id
        self.revision = revision
        self.endpoint = endpoint
        self.timeout = timeout
        self.retry = retry
        self.budget_s = FETCH_DEADLINE_TIMEOUTS * timeout
        self.deadline = time.monotonic() + self.budget_s
        self.stats = _Stats()
        self.cancel = threading.Event()
        self.headers = hub_headers(token)
        register_auth_secret(self.headers)
        self.sha: str | None = None  # set after the listing: names the commit in messages

    # -- messages ------------------------------------------------------------------------------
    def who(self) -> str:
        return f"{self.repo_id}@{self.sha[:12]}" if self.sha else self.repo_id

    # -- one GET with retries ------------------------------------------------------------------
    def get(self, url: str, *, what: str, limit: int,
            byte_range: tuple[int, int] | None = None) -> _Body:
        """GET `url` and return at most `limit` bytes of its body (of `byte_range` when given).

        Reading stops at `limit` even when the server sends more (a Range it ignored, a
        multi-GB file): the caller decides whether a cut body is an error. The token goes only
        to the endpoint's origin: a URL on any other host gets no Authorization header.
        """
        headers = dict(self.headers)
        if not same_origin(url, self.endpoint):
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        if byte_range is not None:
            headers["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        if hf_constants.is_offline_mode():  # huggingface_hub's request hook refuses the same
            raise errors.OfflineError(
                f"{self.who()}: offline mode (HF_HUB_OFFLINE) is on and this model is not in "
                "the archlint cache"
            )
        last_reason = "no attempt"
        for attempt in range(1, self.retry.attempts + 1):
            if self.cancel.is_set():
                raise _Cancelled
            self.check_deadline(what, last_reason)
            wait: float | None = None
            try:
                return self._get_once(url, headers, what=what, limit=limit, byte_range=byte_range)
            except _RetryStatus as status:
                last_reason = f"HTTP {status.code}"
                if status.retry_after is not None:
                    wait = min(status.retry_after, self.retry.retry_after_cap_s)
            except _Retryable as err:
                last_reason = str(err)
            except _TRANSPORT_ERRORS as err:
                last_reason = _describe_transport_error(err)
                if _host_unknown(err):
                    # the resolver's definitive answer: retrying only delays the offline
                    # fallback by the backoff (2-3 s with no network at all)
                    raise errors.NetworkError(
                        f"{self.who()}: could not fetch {what} from {self.endpoint}: "
                        f"{last_reason}"
                    ) from None
            # a wait cut at the deadline is the deadline's doing: say so, not "timed out"
            self.check_deadline(what, last_reason)
            if attempt == self.retry.attempts:
                break
            self.stats.add(retries=1)
            delay = wait if wait is not None else self.retry.backoff(attempt)
            if self.cancel.wait(min(delay, max(0.0, self.deadline - time.monotonic()))):
                raise _Cancelled
        raise errors.NetworkError(
            f"{self.who()}: could not fetch {what} from {self.endpoint}: {last_reason} "
            f"(gave up after {self.retry.attempts} attempts)"
        )

    def check_deadline(self, what: str, reason: str = "") -> None:
        """Raise NetworkError once the fetch's wall-clock deadline has passed."""
        if time.monotonic() >= self.deadline:
            why = f" (last: {reason})" if reason and reason != "no attempt" else ""
            raise errors.NetworkError(
                f"{self.who()}: gave up on {what} from {self.endpoint}: the fetch took longer "
                f"than {self.budget_s:g} s ({FETCH_DEADLINE_TIMEOUTS} x --timeout){why}"
            )

    def _read_body(self, response: Any, *, what: str, limit: int, skip: int,
                   started: float) -> bytes:
        """At most `limit` bytes of the body (after dropping `skip`), under both deadlines.

        The clock is checked after every piece that arrives, and no read waits longer than the
        request's timeout, so this returns or raises by the attempt's deadline (or the fetch's)
        plus one `timeout`.
        """
        parts: list[bytes] = []
        kept = 0
        received = 0
        try:
            for chunk in response.iter_bytes():
                received += len(chunk)
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk = chunk[dropped:]
                    skip -= dropped
                take = chunk[: limit - kept]
                parts.append(take)
                kept += len(take)
                if kept >= limit:
                    break
                if self.cancel.is_set():
                    raise _Cancelled
                now = time.monotonic()
                if now > started + 3 * self.timeout + received / MIN_RATE_BYTES_PER_S:
                    raise _Retryable(f"{what} arrived too slowly")
                self.check_deadline(what, "arriving too slowly")
        finally:
            self.stats.add(nbytes=received)
        return b"".join(parts)

    def _get_once(self, url: str, headers: dict[str, str], *, what: str, limit: int,
                  byte_range: tuple[int, int] | None) -> _Body:
        self.stats.add(requests=1)
        started = time.monotonic()
        # no single wait (connect, a read) may run past the fetch's deadline
        timeout = max(0.01, min(self.timeout, self.deadline - started))
        # the status line, headers and every redirect hop by the attempt's deadline (what a
        # body gets); the body by the fetch's, and by the rate check in _read_body
        head_deadline = min(self.deadline, started + 3 * self.timeout)
        with transport.waits_until(head_deadline), \
                transport.stream(url, headers, timeout) as response, \
                transport.waits_until(self.deadline):
            status = response.status_code
            if status == 416 and byte_range is not None:  # the file is shorter than the range
                parsed = _parse_content_range(response.headers.get("Content-Range"))
                return _Body(data=b"", total_size=parsed[2] if parsed else None)
            if status >= 400:
                if status in RETRY_STATUSES:
                    raise _RetryStatus(status, _retry_after(response.headers))
                # read (bounded) so that the connection can serve the next request
                self._read_body(response, what=f"the error response for {what}",
                                limit=MAX_ERROR_BODY_BYTES, skip=0, started=started)
                self._raise_for_status(response.status_code, response.headers, response.url, what)
            if status not in (200, 206):  # e.g. a redirect without a Location
                raise _Retryable(f"unexpected HTTP {status} for {what}")
            skip = 0  # bytes to drop from the front: a server that ignored Range sends byte 0
            total_size: int | None = None
            if byte_range is not None and status == 206:
                parsed = _parse_content_range(response.headers.get("Content-Range"))
                if parsed is None or parsed[0] != byte_range[0] or parsed[1] > byte_range[1]:
                    raise _Retryable(
                        f"the server answered range {byte_range[0]}-{byte_range[1]} with "
                        f"Content-Range {response.headers.get('Content-Range')!r}"
                    )
                expected = parsed[1] - parsed[0] + 1
                total_size = parsed[2]
            else:
                length = response.headers.get("Content-Length")
                total_size = int(length) if length and length.isdigit() else None
                if byte_range is not None:
                    skip = byte_range[0]
                    limit = min(limit, byte_range[1] - byte_range[0] + 1)
                expected = None
            data = self._read_body(response, what=what, limit=limit, skip=skip, started=started)
            if expected is not None and len(data) < min(expected, limit):
                raise _Retryable(f"{what} was cut short ({len(data)} of {expected} bytes)")
            return _Body(data=data, total_size=total_size, headers=response.headers)

    def _raise_for_status(self, status: int, headers: Any, url: str, what: str) -> NoReturn:
        """A 4xx in archlint's one line, by the class huggingface_hub gives it (`hub_error`)."""
        kind = hub_error(status, headers, url)
        if kind == "gated":
            raise errors.GatedRepoError(
                f"{self.repo_id}: gated model: request access at {self.endpoint}/{self.repo_id}, "
                f"then {AUTH_HINT}")
        if kind == "repo":
            if headers.get("X-Error-Message") == _BAD_CREDENTIALS:
                raise _bad_token(self.repo_id)
            raise errors.RepoNotFoundError(
                f"{self.repo_id}: repository not found on {self.endpoint} (if it is private, "
                f"{AUTH_HINT})")
        if kind == "revision":
            raise errors.RevisionNotFoundError(
                f"{self.repo_id}: revision {self.revision!r} not found on {self.endpoint}")
        if kind == "entry":
            raise errors.HubError(
                f"{self.who()}: {what} is listed but the Hub has no such file (HTTP 404)")
        if status == 401:
            raise _bad_token(self.repo_id)
        raise errors.HubError(f"{self.who()}: the Hub refused {what} (HTTP {status})")

    # -- typed reads ---------------------------------------------------------------------------
    def file_url(self, name: str) -> str:
        """The file's resolve URL at the listed commit, as huggingface_hub's `hf_hub_url` builds
        it for a model repo with an endpoint given: `{endpoint}/{repo}/resolve/{sha}/{name}`,
        the revision quoted with no safe characters and the name with "/" kept. Built here, not
        by `hf_hub_url`: importing it loads huggingface_hub.file_download (local folders,
        filelock, tqdm, yaml), ~75 ms of CPU between the listing and the first file wave."""
        assert self.sha is not None
        return f"{self.endpoint}/{self.repo_id}/resolve/{quote(self.sha, safe='')}/{quote(name)}"

    def get_json(self, url: str, *, what: str, limit: int) -> Any:
        body = self.get(url, what=what, limit=limit + 1)
        if len(body.data) > limit:
            raise errors.HubError(f"{self.who()}: {what} is larger than {limit // 2**20} MiB")
        try:
            return json.loads(body.data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise errors.HubError(f"{self.who()}: {what} is not valid JSON ({err})") from None


#: huggingface_hub's REPO_API_REGEX: a repo API or resolve URL, where a bare 401 means "no
#: such repo, or not yours" rather than a bad token.
_REPO_URL = re.compile(r"^https://[^/]+(/api/(models|datasets|spaces|kernels)/(.+)|/(.+)/resolve/(.+))")


def hub_error(status: int, headers: Any, url: str) -> str:
    """The class huggingface_hub's `hf_raise_for_status` gives an error response: "revision",
    "entry", "gated", "repo" (RepositoryNotFoundError), or "other" (HfHubHTTPError and its
    other subclasses: disabled repo, egress limit, bad request, forbidden). Checked in its
    order: the X-Error-Code header first, then X-Error-Message, then a 401 on a repo URL."""
    code, message = headers.get("X-Error-Code"), headers.get("X-Error-Message")
    named = {"RevisionNotFound": "revision", "EntryNotFound": "entry", "GatedRepo": "gated"}
    if code in named:
        return named[code]
    if code == "EgressLimitReached" or message == "Access to this resource is disabled.":
        return "other"
    if code == "RepoNotFound" or (status == 401 and message != _BAD_CREDENTIALS
                                  and _REPO_URL.search(url) is not None):
        return "repo"
    return "other"


class _RetryStatus(Exception):
    def __init__(self, code: int, retry_after: float | None) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after


def _retry_after(headers: Any) -> float | None:
    value = str(headers.get("Retry-After") or "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff
    return seconds if seconds >= 0 else None


def _bad_token(repo_id: str) -> errors.HubError:
    return errors.HubError(
        f"{repo_id}: the Hub rejected the token (invalid credentials); check HF_TOKEN or "
        "`hf auth login`, or run without authentication (--no-auth)"
    )


def _host_unknown(err: BaseException) -> bool:
    """A name lookup that says the host does not exist (EAI_NONAME, or no address for it);
    EAI_AGAIN, a resolver that could not answer for now, stays retryable."""
    definitive = {getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n)}
    return isinstance(err, socket.gaierror) and err.errno in definitive


def _describe_transport_error(err: BaseException) -> str:
    """A failed attempt in a few words: the OSError and http.client errors `transport` raises."""
    if _host_unknown(err):
        return "host not found (name lookup failed)"
    if isinstance(err, TimeoutError):  # socket.timeout is TimeoutError
        return "timed out"
    if isinstance(err, http.client.IncompleteRead):
        return "connection closed mid-response"
    if isinstance(err, ConnectionResetError):  # http.client.RemoteDisconnected among them
        return "connection reset"
    if isinstance(err, ConnectionRefusedError):
        return "connection failed"
    return type(err).__name__
