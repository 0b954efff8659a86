"""Where a bench run's wall time goes: seconds in Triton's compiler, counted through its JIT
hooks (`triton.knobs.runtime.jit_cache_hook` before a compile, `jit_post_compile_hook` after;
Triton 3.4 and later), and seconds per stage of a row (`Stages`).

The model table must come from one device call of bounded length, and a row's time is mostly
compiles and autotuning rather than the timed runs: these figures, written beside each row,
say which. Imports triton only in `install`; a Triton without the hooks counts nothing.
"""

from __future__ import annotations

import time
from typing import Any


class CompileLog:
    """Count and wall seconds of Triton compiles since `install()` (cumulative)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self._started: dict[Any, float] = {}
        self.installed = False

    def _before(self, *, key: Any = None, **_: Any) -> bool:
        self._started[id(key)] = time.perf_counter()
        return False  # False: go on and compile (True would skip the compile)

    def _after(self, *, key: Any = None, **_: Any) -> None:
        t0 = self._started.pop(id(key), None)
        if t0 is not None:
            self.count += 1
            self.seconds += time.perf_counter() - t0

    def install(self) -> CompileLog:
        try:
            from triton import knobs
        except ImportError:
            return self
        runtime = getattr(knobs, "runtime", None)
        if runtime is None or not hasattr(runtime, "jit_post_compile_hook"):
            return self
        runtime.jit_cache_hook = self._before
        runtime.jit_post_compile_hook = self._after
        self.installed = True
        return self

    def snapshot(self) -> tuple[int, float]:
        return self.count, self.seconds


class Stages:
    """Wall seconds of named stages, and the compiles inside each (from a CompileLog)."""

    def __init__(self, log: CompileLog | None = None) -> None:
        self.log = log
        self.wall: dict[str, float] = {}
        self.compiles: dict[str, list[float]] = {}
        self._name: str | None = None
        self._t0 = 0.0
        self._c0: tuple[int, float] = (0, 0.0)

    def start(self, name: str) -> None:
        self.stop()
        self._name, self._t0 = name, time.perf_counter()
        self._c0 = self.log.snapshot() if self.log else (0, 0.0)

    def stop(self) -> None:
        if self._name is None:
            return
        self.wall[self._name] = self.wall.get(self._name, 0.0) + time.perf_counter() - self._t0
        if self.log is not None:
            n, s = self.log.snapshot()
            prev = self.compiles.get(self._name, [0, 0.0])
            self.compiles[self._name] = [prev[0] + n - self._c0[0], prev[1] + s - self._c0[1]]
        self._name = None

    def as_dict(self) -> dict[str, Any]:
        self.stop()
        out: dict[str, Any] = {"wall_s": {k: round(v, 2) for k, v in self.wall.items()}}
        if self.compiles:
            out["compiles"] = {k: {"count": int(v[0]), "seconds": round(v[1], 2)}
                               for k, v in self.compiles.items()}
        return out


#: one log per process: the hooks are global to Triton
LOG = CompileLog()

__all__ = ["LOG", "CompileLog", "Stages"]
