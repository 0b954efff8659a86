"""A Hub fetch imports only what it uses: resolve URLs are huggingface_hub's own (`hf_hub_url`),
built without importing huggingface_hub.file_download; the GGUF readers only for .gguf files."""

from __future__ import annotations

import pytest
from huggingface_hub import hf_hub_url

from archlint.source.http import RetryPolicy, _Fetcher
from tests.helpers import fresh_python

NAMES = [
    "config.json",
    "model-00001-of-00003.safetensors",
    "original/params.json",  # a subfolder: "/" stays a separator
    "weights with spaces.safetensors",
    "modèle#1?.gguf",  # non-ASCII, and characters a URL would read as fragment and query
    "100%.bin",
]


@pytest.mark.parametrize("endpoint", ["https://huggingface.co", "http://127.0.0.1:8123",
                                      "https://mirror.example/hub"])
@pytest.mark.parametrize("name", NAMES)
def test_file_url_is_hf_hub_url(endpoint: str, name: str) -> None:
    sha = "a0a0eab8b12e3fffc4ac15b6bc0755ebc71e0f85"
    fetcher = _Fetcher(repo_id="org/model", revision=None, endpoint=endpoint, token=False,
                       timeout=10.0, retry=RetryPolicy())
    fetcher.sha = sha
    assert fetcher.file_url(name) == hf_hub_url("org/model", name, revision=sha,
                                                endpoint=endpoint)


def test_file_url_does_not_import_file_download() -> None:
    code = ("import sys\n"
            "from archlint.source.http import RetryPolicy, _Fetcher\n"
            "f = _Fetcher(repo_id='o/m', revision=None, endpoint='http://127.0.0.1:1',\n"
            "             token=False, timeout=1.0, retry=RetryPolicy())\n"
            "f.sha = '0' * 40\n"
            "f.file_url('config.json')\n"
            "print('huggingface_hub.file_download' in sys.modules)")
    assert fresh_python(code) == "False"


LISTINGS = [
    ({"config.json": 10, "model.safetensors": 100}, False, False),
    ({"config.json": 10, "model.safetensors": 100}, True, False),  # asked, but no .gguf at all
    ({"model-Q4_K_M.gguf": 100, "README.md": 1}, False, True),  # GGUF only
    ({"config.json": 10, "model.safetensors": 100, "model-Q8_0.GGUF": 100}, False, False),
    ({"config.json": 10, "model.safetensors": 100, "model-Q8_0.gguf": 100}, True, True),
]


@pytest.mark.parametrize(("files", "wanted", "expected"), LISTINGS)
def test_reads_gguf_as_gguf_hub_decides(files: dict[str, int | None], wanted: bool,
                                        expected: bool) -> None:
    from archlint.source.gguf_hub import is_gguf_repo
    from archlint.source.hub import _reads_gguf

    # the rule as gguf_hub states it: a GGUF-only repo, or a GGUF file asked for and present
    asked = wanted and any(f.lower().endswith(".gguf") for f in files)
    assert (is_gguf_repo(files) or asked) is expected
    assert _reads_gguf(files, wanted=wanted) is expected


def test_a_safetensors_listing_does_not_import_the_gguf_readers() -> None:
    code = ("import sys\n"
            "from archlint.source.hub import _reads_gguf\n"
            "r = _reads_gguf({'config.json': 1, 'model.safetensors': 2}, wanted=True)\n"
            "print(r, 'archlint.source.gguf_hub' in sys.modules)")
    assert fresh_python(code) == "False False"
