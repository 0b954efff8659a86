"""The Hub transport (archlint/source/transport.py, http.client) and the request headers
(archlint/source/hub_auth.py), each checked against what it replaces: huggingface_hub's own
token choice, User-Agent and error classes (`hf_raise_for_status` on an httpx2 response),
and httpx's defaults (redirects, the token kept from other origins, proxies, gzip, TLS
verification, the CA bundle loaded only for https)."""

from __future__ import annotations

import gzip
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from archlint.source import hub_auth, transport
from archlint.source.http import hub_error
from tests.helpers import fresh_python


class _Recorder(BaseHTTPRequestHandler):
    """Answers every GET from `routes` (path -> (status, headers, body)), logging each request
    as (client port, request line target, headers)."""

    protocol_version = "HTTP/1.1"
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}
    seen: ClassVar[list[tuple[int, str, dict[str, str]]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.client_address[1], self.path, dict(self.headers.items())))
        key = self.path if self.path in self.routes else self.path.split("://", 1)[-1]
        status, headers, body = self.routes.get(key, self.routes.get("*", (404, {}, b"")))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_CONNECT(self) -> None:
        """Log the tunnel request and refuse it: what the client asked is all a test needs."""
        self.seen.append((self.client_address[1], self.path, dict(self.headers.items())))
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def serve() -> Iterator[Any]:
    """`serve(routes)` starts a recording server and returns (base URL, its request log)."""
    servers: list[ThreadingHTTPServer] = []

    def start(routes: dict[str, tuple[int, dict[str, str], bytes]]
              ) -> tuple[str, list[tuple[int, str, dict[str, str]]]]:
        handler = type("Handler", (_Recorder,), {"routes": routes, "seen": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", handler.seen

    yield start
    transport.close_connections()
    for server in servers:
        server.shutdown()
        server.server_close()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    with transport.stream(url, headers or {}, 5.0) as response:
        return response.status_code, b"".join(response.iter_bytes()), response


def test_keep_alive_reuses_one_connection(serve: Any) -> None:
    base, seen = serve({"*": (200, {}, b"ok")})
    assert [_get(f"{base}/{n}")[:2] for n in range(3)] == [(200, b"ok")] * 3
    assert len({port for port, _, _ in seen}) == 1


def test_a_connection_the_server_closed_is_replaced(serve: Any) -> None:
    base, seen = serve({"*": (200, {}, b"ok")})
    _get(f"{base}/a")
    for conns in transport._IDLE.values():  # the server's side of an idle timeout
        for conn in conns:
            assert conn.sock is not None
            conn.sock.sock.shutdown(socket.SHUT_RDWR)
    assert _get(f"{base}/b")[:2] == (200, b"ok")
    assert len({port for port, _, _ in seen}) == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_does_not_share_the_parents_connections(serve: Any) -> None:
    base, seen = serve({"*": (200, {}, b"ok")})
    _get(f"{base}/parent")
    assert transport._IDLE
    pid = os.fork()
    if pid == 0:  # the child: its own connection, then exit without running pytest's atexit
        code = 0 if not transport._IDLE and _get(f"{base}/child")[1] == b"ok" else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _get(f"{base}/parent-again")[1] == b"ok"  # the parent's connection is intact
    ports = {path: port for port, path, _ in seen}
    assert ports["/child"] != ports["/parent"] == ports["/parent-again"]


def test_redirects_keep_the_token_on_the_origin_only(serve: Any) -> None:
    cdn, cdn_seen = serve({"/file": (200, {}, b"bytes")})
    hub, hub_seen = serve({"/resolve": (302, {"Location": "/moved"}, b""),
                           "/moved": (307, {"Location": f"{cdn}/file"}, b"")})
    status, body, response = _get(f"{hub}/resolve", {"Authorization": "Bearer hf_secret"})
    assert (status, body, response.url) == (200, b"bytes", f"{cdn}/file")
    assert [h.get("Authorization") for _, _, h in hub_seen] == ["Bearer hf_secret"] * 2
    assert "Authorization" not in cdn_seen[0][2]


def test_a_redirect_loop_ends(serve: Any) -> None:
    base, seen = serve({"/loop": (302, {"Location": "/loop"}, b"")})
    with pytest.raises(transport.TooManyRedirects):
        _get(f"{base}/loop")
    assert len(seen) == transport.MAX_REDIRECTS + 1


def test_whole_files_may_come_gzipped_and_ranges_never_do(serve: Any) -> None:
    payload = b'{"a": 1}' * 1000
    base, seen = serve({"/config.json": (200, {"Content-Encoding": "gzip"},
                                         gzip.compress(payload))})
    assert _get(f"{base}/config.json")[1] == payload
    assert seen[0][2]["Accept-Encoding"] == "gzip"
    _get(f"{base}/config.json", {"Range": "bytes=0-7"})
    assert seen[1][2].get("Accept-Encoding", "identity") == "identity"


def test_http_proxy_from_the_environment(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy, seen = serve({"*": (200, {}, b"via proxy")})
    monkeypatch.setenv("http_proxy", proxy.replace("127.0.0.1", "user:pw@127.0.0.1"))
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert _get("http://hub.invalid/api/models/x")[1] == b"via proxy"
    assert seen[0][1] == "http://hub.invalid/api/models/x"  # the absolute form, RFC 9112 §3.2.2
    assert seen[0][2]["Proxy-Authorization"] == "Basic dXNlcjpwdw=="  # base64 of user:pw
    transport.close_connections()  # the environment is read per new connection
    monkeypatch.setenv("no_proxy", "hub.invalid")
    with pytest.raises(OSError):  # no proxy for it now: the name does not resolve
        _get("http://hub.invalid/api/models/x")


def test_https_through_a_proxy_is_a_connect_tunnel(serve: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    proxy, seen = serve({})
    monkeypatch.setenv("https_proxy", proxy.replace("127.0.0.1", "user:pw@127.0.0.1"))
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(OSError, match="Tunnel connection failed: 502"):
        _get("https://hub.invalid/api/models/x", {"Authorization": "Bearer hf_secret"})
    assert seen[0][1] == "hub.invalid:443"  # CONNECT host:port, RFC 9110 §9.3.6
    assert seen[0][2]["Proxy-Authorization"] == "Basic dXNlcjpwdw=="  # base64 of user:pw
    assert "Authorization" not in seen[0][2]  # the Hub token is for the tunnel's far end only


def test_a_proxy_that_is_not_http_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "socks5://127.0.0.1:1080")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(transport.UnsupportedProxy, match="only http:// proxies"):
        _get("https://hub.invalid/api/models/x")


def test_plain_http_loads_no_ca_bundle() -> None:
    code = ("import threading\n"
            "from http.server import HTTPServer, BaseHTTPRequestHandler\n"
            "class H(BaseHTTPRequestHandler):\n"
            "    def do_GET(self):\n"
            "        self.send_response(200); self.send_header('Content-Length', '0')\n"
            "        self.end_headers()\n"
            "s = HTTPServer(('127.0.0.1', 0), H)\n"
            "threading.Thread(target=s.serve_forever, daemon=True).start()\n"
            "from archlint.source import transport\n"
            "with transport.stream(f'http://127.0.0.1:{s.server_address[1]}/', {}, 5) as r:\n"
            "    r.status_code\n"
            "print(transport._TLS == [])")
    assert fresh_python(code) == "True"


def test_tls_context_verifies_like_httpx_default() -> None:
    context = transport.tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.cert_store_stats()["x509_ca"] > 0 or context.get_ca_certs() is not None


# -- headers: huggingface_hub's choice of token and its User-Agent ------------------------------


def test_token_choice_is_huggingface_hubs(hub_env: Path, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    from huggingface_hub.utils import get_token_to_send

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_IMPLICIT_TOKEN", False)
    stored = tmp_path / "stored_tokens"
    monkeypatch.setattr("huggingface_hub.constants.HF_STORED_TOKENS_PATH", str(stored))
    # a browser OAuth login's entry (huggingface_hub's _save_token layout), valid for a year:
    # huggingface_hub keeps it, and archlint asks huggingface_hub for it
    oauth = ("[oauth]\nhf_token = hf_file\nrefresh_token = r\n"
             "expires_at = 2099-01-01T00:00:00+00:00\n")
    cases: list[tuple[str | None, str | None, str | None]] = [
        (None, None, None), ("hf_env", None, None), (None, "hf_file\n", None),
        ("hf_env", "hf_file", None), (None, " hf_file ", oauth), (None, "", None)]
    for env_token, file_token, stored_text in cases:
        token_file = tmp_path / "hf-token"
        token_file.unlink(missing_ok=True)
        stored.unlink(missing_ok=True)
        if file_token is not None:
            token_file.write_text(file_token)
        if stored_text is not None:
            stored.write_text(stored_text)
        if env_token is None:
            monkeypatch.delenv("HF_TOKEN", raising=False)
        else:
            monkeypatch.setenv("HF_TOKEN", env_token)
        for token in (None, False, "hf_given"):
            assert hub_auth.token_to_send(token) == get_token_to_send(token), \
                (env_token, file_token, token)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
    assert hub_auth.token_to_send(None) is None


def test_a_required_token_and_the_legacy_variable_are_huggingface_hubs(
        hub_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from huggingface_hub.errors import LocalTokenNotFoundError
    from huggingface_hub.utils import get_token_to_send

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_IMPLICIT_TOKEN", False)
    monkeypatch.setattr("huggingface_hub.constants.HF_STORED_TOKENS_PATH",
                        str(tmp_path / "stored_tokens"))
    (tmp_path / "hf-token").unlink(missing_ok=True)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy")
    for token in (None, True):
        assert hub_auth.token_to_send(token) == get_token_to_send(token) == "hf_legacy"
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN")
    with pytest.raises(LocalTokenNotFoundError):
        get_token_to_send(True)
    with pytest.raises(LocalTokenNotFoundError):  # `token=True` with no login: its error
        hub_auth.token_to_send(True)


def test_an_anonymous_or_logged_in_run_imports_nothing_of_huggingface_hubs_http_stack(
        tmp_path: Path) -> None:
    (tmp_path / "token").write_text("hf_logged_in")  # `hf auth login` with a token
    code = ("import os, sys\n"
            f"os.environ['HF_TOKEN_PATH'] = {str(tmp_path / 'token')!r}\n"
            "os.environ.pop('HF_TOKEN', None)\n"
            "os.environ.pop('HF_HUB_DISABLE_IMPLICIT_TOKEN', None)\n"
            "from archlint.source import hub_auth\n"
            "assert hub_auth.hub_headers(None)['authorization'] == 'Bearer hf_logged_in'\n"
            "hub_auth.hub_headers(False)\n"
            "print(sorted(m for m in ('httpx2', 'httpx', 'httpcore2', 'requests',\n"
            "     'huggingface_hub.utils') if m in sys.modules))")
    assert fresh_python(code) == "[]"


def test_user_agent_is_huggingface_hubs_without_telemetry() -> None:
    code = ("import os; os.environ['HF_HUB_DISABLE_TELEMETRY'] = '1'\n"
            "os.environ['HF_HUB_USER_AGENT_ORIGIN'] = 'ci'\n"
            "from huggingface_hub.utils._headers import _http_user_agent\n"
            "from archlint import __version__\n"
            "from archlint.source.hub_auth import user_agent\n"
            "print(user_agent() == _http_user_agent(library_name='archlint',\n"
            "                                       library_version=__version__))")
    assert fresh_python(code) == "True"


# -- error classes: hf_raise_for_status's ---------------------------------------------------

_REPO = "https://huggingface.co/api/models/org/name"
_FILE = "https://huggingface.co/org/name/resolve/main/config.json"


@pytest.mark.parametrize(("status", "headers", "url"), [
    (404, {"X-Error-Code": "RepoNotFound"}, _REPO),
    (401, {"X-Error-Code": "RepoNotFound"}, _REPO),
    (401, {}, _REPO),
    (401, {}, _FILE),
    (401, {}, "http://127.0.0.1:8000/api/models/org/name"),  # not the pattern: http
    (401, {"X-Error-Message": "Invalid credentials in Authorization header"}, _REPO),
    (401, {"X-Error-Code": "RepoNotFound",
           "X-Error-Message": "Invalid credentials in Authorization header"}, _REPO),
    (403, {"X-Error-Code": "GatedRepo"}, _FILE),
    (401, {"X-Error-Code": "GatedRepo"}, _FILE),
    (404, {"X-Error-Code": "RevisionNotFound"}, _REPO),
    (404, {"X-Error-Code": "EntryNotFound"}, _FILE),
    (403, {"X-Error-Message": "Access to this resource is disabled."}, _FILE),
    (403, {"X-Error-Code": "EgressLimitReached"}, _FILE),
    (403, {}, _FILE),
    (400, {}, _REPO),
    (404, {}, _FILE),
])
def test_error_classes_are_hf_raise_for_status(status: int, headers: dict[str, str],
                                               url: str) -> None:
    httpx2 = pytest.importorskip("httpx2")
    from huggingface_hub import errors as hf_errors
    from huggingface_hub.utils import hf_raise_for_status

    response = httpx2.Response(status, headers=headers, content=b"{}",
                               request=httpx2.Request("GET", url))
    with pytest.raises(hf_errors.HfHubHTTPError) as raised:
        hf_raise_for_status(response)
    expected = next((kind for kind, cls in [
        ("revision", hf_errors.RevisionNotFoundError), ("entry", hf_errors.EntryNotFoundError),
        ("gated", hf_errors.GatedRepoError), ("repo", hf_errors.RepositoryNotFoundError)]
        if isinstance(raised.value, cls)), "other")
    assert hub_error(status, headers, url) == expected
