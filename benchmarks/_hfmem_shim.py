"""Run hf-mem against another Hub: it hard-codes `https://huggingface.co` (hf_mem/run.py) and
ignores HF_ENDPOINT, so every request's URL is rewritten to `HFMEM_ENDPOINT` before it is sent.
Runs under the peers' venv (.venv-peers), never archlint's.

    HFMEM_ENDPOINT=http://127.0.0.1:PORT .venv-peers/bin/python benchmarks/_hfmem_shim.py \\
        --model-id org/name --json-output
"""

from __future__ import annotations

import os
import sys

import httpx2

TARGET = os.environ["HFMEM_ENDPOINT"].rstrip("/")
_send = httpx2.AsyncClient.send


async def _send_rewritten(self: httpx2.AsyncClient, request: httpx2.Request, *args: object,
                          **kwargs: object) -> httpx2.Response:
    url = str(request.url)
    if url.startswith("https://huggingface.co/"):
        request.url = httpx2.URL(TARGET + url[len("https://huggingface.co"):])
        request.headers["Host"] = request.url.netloc.decode()
    return await _send(self, request, *args, **kwargs)  # type: ignore[arg-type]


httpx2.AsyncClient.send = _send_rewritten  # type: ignore[method-assign]

if __name__ == "__main__":
    from hf_mem.cli import main

    sys.argv[0] = "hf-mem"
    sys.exit(main())
