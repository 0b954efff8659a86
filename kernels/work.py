"""Work formulas of the kernels, in plain Python (no torch): what the benches count FLOPs by.

Importing this imports nothing heavy, so the bench's model math (`archlint.bench.modelmath`)
and its tests use it without torch.
"""

from __future__ import annotations


def _visible_prefix(n: int, window: int | None, chunk: int | None) -> int:
    """Σ over query positions p < n of the keys p sees causally: p + 1, at most `window`
    (Mistral's convention: itself and the W − 1 before it), or p mod `chunk` + 1 (Llama 4's
    chunked attention: only the keys of its own chunk)."""
    if chunk:
        full, rem = divmod(n, chunk)
        return full * chunk * (chunk + 1) // 2 + rem * (rem + 1) // 2
    if window and window < n:
        return window * (window + 1) // 2 + (n - window) * window
    return n * (n + 1) // 2


def attention_pairs(m: int, s: int, *, causal: bool = True, window: int | None = None,
                    chunk: int | None = None) -> int:
    """(query, key) pairs that M queries, the last M of S positions, attend to.

    Causal M == S: S(S+1)/2 (the usual "half the square"); a window W: about S·W; chunked
    attention: per chunk C, C(C+1)/2. Not causal: every query sees all S keys (a window caps
    them at W)."""
    if not causal:
        return m * (min(s, window) if window else s)
    return _visible_prefix(s, window, chunk) - _visible_prefix(s - m, window, chunk)


def attention_flops(b: int, h: int, pairs: int, dqk: int, dv: int) -> float:
    """2 · pairs · (Dqk + Dv) per head: QKᵀ and PV (FlashAttention's count)."""
    return 2.0 * b * h * pairs * (dqk + dv)
