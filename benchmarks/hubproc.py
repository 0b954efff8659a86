"""The local test Hub in its own process, so its CPU (and GIL) is not charged to the client.

    repos = [{"id": "org/a", "fixture": "org/a", "shards": 19}]
    with HubProcess(latency_s=0.1, repos=repos) as hub:
        hub.endpoint; hub.log(); hub.reset()

`repos` entries: `id` (served name), `fixture` (fixtures/models id), `shards` (default 1); or
`fixture` + `names` (many served names sharing one set of files: cheap for thousands of repos).
`GET /api/models/{repo}/tree/{rev}` lists files (hf-mem reads it).
`GET /_bench/log` returns every request as [method, path, started, finished, status, sent]
(server clock), `POST`-free `GET /_bench/reset` clears it. Run as a script it serves a JSON spec.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from _common import PYTHON, listing_hub, load_fixture


def _bench_handler_class() -> type:
    from test_scan import _ListingHandler

    class BenchHandler(_ListingHandler):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:
            if self.path.startswith("/_bench/"):
                with self.hub._lock:
                    if self.path == "/_bench/reset":
                        self.hub.log.clear()
                        body = b"[]"
                    else:
                        body = json.dumps([[r.method, r.path, r.started, r.finished, r.status,
                                            r.sent] for r in self.hub.log]).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def _api(self, segments: list[str], query: dict[str, list[str]], head: bool) -> None:
            if segments in ([], [""]):
                return super()._api(segments, query, head)
            if "tree" not in segments[2:]:
                return self._model_info(segments, query, head)
            # /api/models/{repo}/tree/{rev}: the file tree (hf-mem reads it)
            at = segments.index("tree", 2)
            repo = self._repo("/".join(segments[:at]))
            if repo is None:
                return None
            sha = repo.resolve("/".join(segments[at + 1:]) or None)
            if sha is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            entries = [{"type": "file", "path": name, "size": vf.size, "oid": vf.oid[:40],
                        **({"lfs": {"oid": vf.oid, "size": vf.size, "pointerSize": 134}}
                           if vf.lfs else {})}
                       for name, vf in sorted(repo.commits[sha].items())]
            body = json.dumps(entries).encode()
            return self._send(200, body, {"Content-Type": "application/json"}, head)

        def _model_info(self, segments: list[str], query: dict[str, list[str]],
                        head: bool) -> None:
            """The listing, plus the `config` summary the real Hub includes (accelerate reads
            `model_info(...).config`): architectures, model_type, auto_map from config.json."""
            send = self._send

            def with_config(status: int, body: bytes, headers: dict[str, str],
                            head: bool) -> None:
                if status == 200:
                    info = json.loads(body)
                    repo = self.hub.repos[info["id"]]
                    vf = repo.commits[info["sha"]].get("config.json")
                    if vf is not None:
                        config = json.loads(vf.head)
                        info["config"] = {k: config[k] for k in
                                          ("architectures", "model_type", "auto_map")
                                          if k in config}
                    body = json.dumps(info).encode()
                send(status, body, headers, head)

            self._send = with_config  # type: ignore[method-assign]
            try:
                super()._api(segments, query, head)
            finally:
                del self._send

    return BenchHandler


def serve(spec: dict[str, Any]) -> None:
    from hubserver import Repo, model_files

    hub = listing_hub(latency_s=float(spec.get("latency", 0.0)))
    hub.handler_class = _bench_handler_class()
    for entry in spec["repos"]:
        ckpt = load_fixture(entry["fixture"])
        if ckpt.tensors is None and ckpt.index_name == "model.safetensors.index.json":
            # a safetensors index without its headers cannot be served: config only
            ckpt.index, ckpt.index_name = None, None
        files = model_files(ckpt, shards=int(entry.get("shards", 1)))
        for name in entry.get("names") or [entry.get("id", entry["fixture"])]:
            repo = Repo(name)
            repo.add_commit(files)
            hub.add_repo(repo)
    hub.start()
    print(hub.endpoint, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    hub.stop()


class HubProcess:
    def __init__(self, *, latency_s: float = 0.0, repos: list[dict[str, Any]]) -> None:
        self.spec = {"latency": latency_s, "repos": repos}
        self.proc: subprocess.Popen[str] | None = None
        self.endpoint = ""

    def __enter__(self) -> HubProcess:
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(self.spec, fh)
            self._spec_path = fh.name
        self.proc = subprocess.Popen([PYTHON, __file__, self._spec_path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.endpoint = self.proc.stdout.readline().strip()
        if not self.endpoint.startswith("http"):
            raise RuntimeError("the hub process did not start")
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None,
                                   TracebackType | None]) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        Path(self._spec_path).unlink(missing_ok=True)

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.endpoint + path, timeout=60) as response:
            return json.loads(response.read())

    def log(self) -> list[dict[str, Any]]:
        keys = ("method", "path", "started", "finished", "status", "sent")
        return [dict(zip(keys, row, strict=True)) for row in self._get("/_bench/log")]

    def reset(self) -> None:
        self._get("/_bench/reset")
        time.sleep(0)


if __name__ == "__main__":
    serve(json.loads(Path(sys.argv[1]).read_text()))
