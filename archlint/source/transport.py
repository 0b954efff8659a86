"""HTTP/1.1 GETs on the standard library's `http.client`: one keep-alive connection per thread
and origin, redirects followed, proxies from the environment, TLS set up at the first https
connection, and every socket wait ended by the calling thread's deadline.

Why not huggingface_hub's shared httpx session: importing it (huggingface_hub.utils, httpx2,
httpcore2, h2, anyio) and making the client cost ~0.1 s of CPU before the first request, and
each request ~1-3 ms more in httpx's layers; a Hub read is a handful of plain GETs (issue 16).
What to request, retries, limits and the Hub's error classes are `http.py`'s job.

Behaviour kept from httpx's defaults (`follow_redirects=True`, `trust_env=True`, `verify=True`):
- redirects: 301/302/303/307/308, at most MAX_REDIRECTS hops, relative `Location` resolved
  against the request URL (RFC 9110 §10.2.2); the Authorization header is dropped when a hop
  leaves the origin (RFC 9110 §15.4: credentials are not forwarded to another host), as
  httpx does, so a CDN never sees the token;
- proxies: `http_proxy` / `https_proxy` / `all_proxy` and `no_proxy` (either case), read as
  urllib reads them; an https URL goes through a CONNECT tunnel (RFC 9110 §9.3.6);
- TLS: `ssl.create_default_context()` (certificate and host name verified; OpenSSL honours
  SSL_CERT_FILE / SSL_CERT_DIR), built once, at the first https connection: loading the CA
  bundle costs ~30-65 ms that a plain-http endpoint never needs;
- bodies: `Accept-Encoding: gzip` on whole-file reads, decoded as they arrive (never for a
  Range read: its offsets are the file's).
"""

from __future__ import annotations

import atexit
import http.client
import io
import os
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

#: redirect hops followed per request (httpx's default).
MAX_REDIRECTS = 20
#: bytes asked of the socket per read of a body: a first safetensors header read (256 KiB)
#: is a few reads, and a server ignoring `Range` costs at most one read past the budget.
READ_BYTES = 64 * 2**10
#: a redirect's or error's body up to this size is read so the connection can be reused;
#: a longer one closes it.
DRAIN_BYTES = 64 * 2**10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class TooManyRedirects(OSError):
    """More than MAX_REDIRECTS hops: a loop, or a server that never answers."""


class UnsupportedProxy(OSError):
    """A proxy URL this transport cannot use (only http:// proxies are spoken)."""


# -- a deadline for every socket wait ---------------------------------------------------------

_DEADLINE = threading.local()


def left(timeout: float | None) -> float | None:
    """`timeout`, shortened to the calling thread's deadline (never 0: that is non-blocking)."""
    deadline: float | None = getattr(_DEADLINE, "at", None)
    if deadline is None:
        return timeout
    remaining = max(0.001, deadline - time.monotonic())
    return remaining if timeout is None else min(timeout, remaining)


@contextmanager
def waits_until(deadline: float) -> Iterator[None]:
    """Every socket wait of this thread's requests ends by `deadline` (monotonic clock)."""
    previous = getattr(_DEADLINE, "at", None)
    _DEADLINE.at = deadline
    try:
        yield
    finally:
        _DEADLINE.at = previous


class _DeadlineReader(io.RawIOBase):
    """The socket's receive side; each wait is the request's timeout cut to the deadline, so
    a server sending its status line one byte per (timeout - 1) s is still cut off."""

    def __init__(self, owner: _DeadlineSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._owner.arm()
        return self._owner.sock.recv_into(buffer)


class _DeadlineSocket:
    """A connected socket whose sends and receives are bounded by `left(timeout)`."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.timeout: float | None = None

    def arm(self) -> None:
        self.sock.settimeout(left(self.timeout))

    def sendall(self, data: bytes) -> None:
        self.arm()
        self.sock.sendall(data)

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self), READ_BYTES)

    def close(self) -> None:
        self.sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class _DeadlineConnect:
    """connect() (a proxy tunnel and TLS handshake included) waits at most `left(timeout)`; the
    connected socket then bounds each send and receive by the request's timeout the same way."""

    timeout: float | None
    sock: Any

    def connect(self) -> None:
        timeout = self.timeout
        self.timeout = left(timeout)
        try:
            super().connect()  # type: ignore[misc]
        finally:
            self.timeout = timeout
        self.sock = _DeadlineSocket(self.sock)
        self.sock.timeout = timeout


class _Connection(_DeadlineConnect, http.client.HTTPConnection):
    pass


class _TLSConnection(_DeadlineConnect, http.client.HTTPSConnection):
    pass


# -- TLS, built at the first https connection ---------------------------------------------------

_TLS_LOCK = threading.Lock()
_TLS: list[Any] = []


def tls_context() -> Any:
    """The verifying SSL context every https connection shares (built once, on first use)."""
    with _TLS_LOCK:
        if not _TLS:
            import ssl

            context = ssl.create_default_context()
            context.set_alpn_protocols(["http/1.1"])
            _TLS.append(context)
        return _TLS[0]


# -- proxies ------------------------------------------------------------------------------------


def _proxy_for(scheme: str, host: str) -> tuple[str, int, dict[str, str]] | None:
    """(host, port, headers) of the proxy the environment names for `scheme://host`, or None.
    urllib (its ~10 ms of imports) is loaded only when some *_proxy variable is set."""
    if not any(k.lower().endswith("_proxy") and k.lower() != "no_proxy" for k in os.environ):
        return None
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    url = proxies.get(scheme) or proxies.get("all")
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not url or bypass(host, proxies):
        return None
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise UnsupportedProxy(f"proxy {parts.scheme}://{parts.hostname}: only http:// proxies "
                               "are supported")
    headers = {}
    if parts.username is not None:
        import base64

        user_pass = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(user_pass.encode()).decode()
    return parts.hostname, parts.port or 80, headers


# -- connections: idle ones kept per origin, shared by every thread ----------------------------

#: idle keep-alive connections kept per origin (a fetch's widest wave is DEFAULT_MAX_WORKERS).
MAX_IDLE_PER_ORIGIN = 64

_Key = tuple[str, str, int]
_IDLE: dict[_Key, list[http.client.HTTPConnection]] = {}
_IDLE_LOCK = threading.Lock()


def _new_connection(scheme: str, host: str, port: int) -> http.client.HTTPConnection:
    """A connection to the origin, or to the proxy the environment names for it (an https
    origin through a CONNECT tunnel; an http one with the absolute URL in the request line,
    marked by `_archlint_proxy_headers`)."""
    proxy = _proxy_for(scheme, host)
    conn: http.client.HTTPConnection
    if scheme == "https":
        if proxy is None:
            return _TLSConnection(host, port, context=tls_context())
        conn = _TLSConnection(proxy[0], proxy[1], context=tls_context())
        conn.set_tunnel(host, port, headers=proxy[2])
        return conn
    if proxy is None:
        return _Connection(host, port)
    conn = _Connection(proxy[0], proxy[1])
    conn._archlint_proxy_headers = proxy[2]  # type: ignore[attr-defined]
    return conn


def _checkout(key: _Key) -> tuple[http.client.HTTPConnection, bool]:
    """(a connection to the origin, whether it was kept alive from an earlier request)."""
    with _IDLE_LOCK:
        idle = _IDLE.get(key)
        if idle:
            return idle.pop(), True
    return _new_connection(*key), False


def _checkin(key: _Key, conn: http.client.HTTPConnection) -> None:
    with _IDLE_LOCK:
        idle = _IDLE.setdefault(key, [])
        if len(idle) < MAX_IDLE_PER_ORIGIN:
            idle.append(conn)
            return
    conn.close()


def close_connections() -> None:
    """Close every idle connection (at exit, so that no socket is left to the collector)."""
    with _IDLE_LOCK:
        conns = [c for idle in _IDLE.values() for c in idle]
        _IDLE.clear()
    for conn in conns:
        conn.close()


def _forget_connections() -> None:
    """In a forked child: the parent's idle connections are its own (two processes reading one
    socket would take each other's responses), so the child starts with none and a new lock;
    the child's copies of their descriptors close with the objects, leaving the parent's open."""
    global _IDLE_LOCK
    _IDLE.clear()
    _IDLE_LOCK = threading.Lock()


atexit.register(close_connections)
if hasattr(os, "register_at_fork"):  # as huggingface_hub resets its session in a child
    os.register_at_fork(after_in_child=_forget_connections)


# -- one response -------------------------------------------------------------------------------


class Response:
    """A response whose body is read as it arrives (`iter_bytes`), decoded from gzip when the
    server sent it so; `url` is the last hop's URL."""

    def __init__(self, raw: http.client.HTTPResponse, url: str, key: _Key,
                 conn: http.client.HTTPConnection) -> None:
        self._raw, self._key, self._conn = raw, key, conn
        self.url = url
        self.status_code = raw.status
        self.headers = raw.headers
        encoding = (raw.getheader("Content-Encoding") or "").strip().lower()
        self._gzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None

    def iter_bytes(self) -> Iterator[bytes]:
        """The body, one network read (at most READ_BYTES on the wire) per piece."""
        while chunk := self._raw.read1(READ_BYTES):
            if self._gzip is None:
                yield chunk
                continue
            try:
                decoded = self._gzip.decompress(chunk)
            except zlib.error as err:
                raise DecodingError(f"gzip body: {err}") from None
            if decoded:
                yield decoded
        if self._gzip is not None and (tail := self._gzip.flush()):
            yield tail

    def close(self) -> None:
        """Finish with the response. The connection is kept for the next request only when the
        body was read to its end and the server keeps it open (else the next request on it
        would read this one's leftovers)."""
        if not self._raw.isclosed() and self._raw.length == 0:
            self._raw.read()  # read1 leaves a fully read body open: this marks it done
        reusable = self._raw.isclosed() and not self._raw.will_close
        self._raw.close()
        if reusable and self._conn.sock is not None:
            _checkin(self._key, self._conn)
        else:
            self._conn.close()

    def drain(self) -> None:
        """Read a short body to its end (a redirect's), so that the connection can be reused."""
        length = self._raw.length
        if length is not None and length <= DRAIN_BYTES:
            self._raw.read()
        self.close()


class DecodingError(OSError):
    """A body the server said was gzip and is not."""


def _send(url: str, headers: dict[str, str], timeout: float) -> Response:
    """One GET on a connection to the URL's origin. A kept-alive connection the server closed
    meanwhile (no byte of a response came back) is replaced by a new one, once."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise http.client.InvalidURL(f"not an http(s) URL: {url}")
    key = (scheme, parts.hostname.lower(), parts.port or (443 if scheme == "https" else 80))
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    while True:
        conn, reused = _checkout(key)
        proxy_headers = getattr(conn, "_archlint_proxy_headers", None)
        conn.timeout = timeout
        if isinstance(conn.sock, _DeadlineSocket):  # kept alive: connect() sets a new one's
            conn.sock.timeout = timeout
        try:
            if proxy_headers is None:
                conn.request("GET", target, headers=headers)
            else:  # a plain-http proxy: the absolute URL in the request line
                conn.request("GET", url.split("#", 1)[0], headers={**headers, **proxy_headers})
            raw = conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            conn.close()
            if reused:
                continue
            raise
        except BaseException:
            conn.close()
            raise
        return Response(raw, url, key, conn)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of `url` (RFC 6454), the port defaulted from the scheme."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:  # a port that is not a number
        port = -1
    return scheme, (parts.hostname or "").lower(), port


@contextmanager
def stream(url: str, headers: dict[str, str], timeout: float) -> Iterator[Response]:
    """GET `url` (redirects followed), with the body left to read from the response."""
    if "Range" not in headers and "range" not in headers:
        headers = {**headers, "Accept-Encoding": "gzip"}
    for _ in range(MAX_REDIRECTS + 1):
        response = _send(url, headers, timeout)
        location = response.headers.get("Location")
        if response.status_code not in _REDIRECTS or not location:
            try:
                yield response
            finally:
                response.close()
            return
        response.drain()
        target = urljoin(url, location.strip())
        if origin(target) != origin(url):
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        url = target
    raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")
