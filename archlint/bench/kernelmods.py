"""Find the kernel package: `archlint.kernels` when installed, else `kernels/` of a checkout
(the device machine runs from a bare checkout on PYTHONPATH)."""

from __future__ import annotations

import importlib
from types import ModuleType


def kernel_module(name: str) -> ModuleType:
    """`archlint.kernels.<name>`, or `kernels.<name>` from a bare checkout. Modules that import
    torch and triton do so only when asked for here."""
    try:
        return importlib.import_module(f"archlint.kernels.{name}")
    except ModuleNotFoundError as exc:  # pragma: no cover - bare checkout
        if exc.name not in ("archlint.kernels", f"archlint.kernels.{name}"):
            raise
        return importlib.import_module(f"kernels.{name}")
