"""The built-in rule pack (`archlint.rules`), registered through the `archlint.rules` entry
point like any plugin. Codes: AL0xx file integrity, AL1xx config ⇄ weights, AL2xx attention
and context, AL3xx MoE, AL4xx dtypes and quantization, AL5xx the repo's declared spec, AL6xx
GGUF files (`gguf`, which also holds the GGUF integrity codes AL020-AL027)."""

from __future__ import annotations

from archlint.lint.rule import Rule

from . import attention, consistency, dtypes, gguf, integrity, moe, spec

_CATEGORIES = ((integrity, "integrity"), (consistency, "consistency"), (attention, "attention"),
               (moe, "moe"), (dtypes, "dtypes"), (spec, "spec"), (gguf, "gguf"))
for _module, _tag in _CATEGORIES:
    for _rule in _module.RULES:
        _rule.tags = (_tag,)

RULES: list[type[Rule]] = [
    *integrity.RULES,
    *consistency.RULES,
    *attention.RULES,
    *moe.RULES,
    *dtypes.RULES,
    *spec.RULES,
    *gguf.RULES,
]

__all__ = ["RULES"]
