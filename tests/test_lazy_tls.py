"""The shared Hub client loads no CA bundle until an https connection needs one (issue 16: the
load cost ~65 ms of every start-up, plain-http endpoints included), and the context it then
builds verifies as httpx's default does (certificate required, host name checked)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from archlint.source import http as archlint_http

hf_http = pytest.importorskip("huggingface_hub.utils._http")
pytest.importorskip("httpx2")


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _client_context(client: object) -> object:
    return client._transport._pool._ssl_context  # type: ignore[attr-defined]


@pytest.fixture()
def lazy_client() -> Iterator[object]:
    """A client from the factory archlint installs (re-installed here: a test that ran earlier
    may have made the shared session before archlint.source.http was imported)."""
    hf_http.close_session()
    archlint_http._install_lazy_tls()
    client = hf_http._GLOBAL_CLIENT_FACTORY()
    yield client
    client.close()


def test_plain_http_request_builds_no_tls_context(lazy_client: object) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        context = _client_context(lazy_client)
        assert isinstance(context, archlint_http._TLSOnDemand)
        response = lazy_client.get(  # type: ignore[attr-defined]
            f"http://127.0.0.1:{server.server_address[1]}/")
        assert (response.status_code, response.content) == (200, b"ok")
        assert context._context is None  # nothing loaded for http
    finally:
        server.shutdown()
        server.server_close()


def test_context_built_on_demand_verifies_like_httpx_default(lazy_client: object) -> None:
    context = _client_context(lazy_client)
    assert isinstance(context, archlint_http._TLSOnDemand)
    assert context._context is None
    assert context.verify_mode == ssl.CERT_REQUIRED  # the first read builds it
    assert context.check_hostname is True
    assert isinstance(context._context, ssl.SSLContext)
    assert context.cert_store_stats()["x509_ca"] > 0  # a CA bundle was loaded
