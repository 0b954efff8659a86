"""archlint: what a model architecture really is and what it will cost, from headers alone.

The library is usable without the CLI::

    from archlint import analyze
    result = analyze("mistralai/Mixtral-8x7B-v0.1")
    result.profile.params.total
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Analysis", "__version__", "analyze", "load_checkpoint"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import archlint.checkpoint` (and `archlint --help`) stays cheap.
    if name in {"Analysis", "analyze", "load_checkpoint"}:
        from archlint import api

        return getattr(api, name)
    raise AttributeError(name)
