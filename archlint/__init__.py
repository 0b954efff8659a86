"""archlint: what a model architecture really is and what it will cost, from headers alone.

The library is usable without the CLI::

    from archlint import api
    doc = api.report("mistralai/Mixtral-8x7B-v0.1")   # what --format json prints
    doc.params.total, doc.findings
    api.check("./my-model")                          # the findings only
    api.compare(["llama3", "mixtral"])               # the comparison table

(``archlint.compare``, ``archlint.scan`` and ``archlint.report`` are modules; the functions
live in ``archlint.api``.)

docs/api.md lists every entry point (generated from the docstrings by scripts/make_api_docs.py).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
_API = ("Analysis", "analyze", "check", "load_checkpoint")
__all__ = ["Analysis", "__version__", "analyze", "check", "load_checkpoint"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import archlint.checkpoint` (and `archlint --help`) stays cheap.
    if name in _API:
        from archlint import api

        return getattr(api, name)
    raise AttributeError(name)
