"""Checkpoint → ModelSpec → Profile: one loaded model analysed, with no I/O and no rules.

The entry points (`archlint.api`) and the scan's rows (`archlint.scan_rows`) both build on
this, so it sits below them both: the API can offer the scan without an import loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archlint.analysis.profile import Options, Profile, profile
from archlint.checkpoint import Checkpoint
from archlint.families import build_spec
from archlint.families.validate import check_layers, values_checked
from archlint.spec import ModelSpec

__all__ = ["Analysis", "analyze_checkpoint", "spec_of"]


@dataclass
class Analysis:
    """One model read and profiled: the raw checkpoint, its spec, its profile at the options
    it was analysed with, and (once the rules ran) its findings."""

    checkpoint: Checkpoint
    spec: ModelSpec
    profile: Profile
    findings: list[Any] = field(default_factory=list)


def spec_of(ckpt: Checkpoint) -> ModelSpec:
    """The ModelSpec of a checkpoint: from its config, or inferred from tensors alone."""
    if ckpt.config is not None:
        origins = (ckpt.gguf or {}).get("origins") if ckpt.weights_format == "gguf" else None
        return build_spec(ckpt.config, origins=origins)
    from archlint.inference import config_from_tensors

    return build_spec(config_from_tensors(ckpt), inferred=True)


def analyze_checkpoint(ckpt: Checkpoint, options: Options | None = None) -> Analysis:
    """The :class:`Analysis` of an already loaded checkpoint (no rules run)."""
    with values_checked(ckpt):
        spec = spec_of(ckpt)
        check_layers(spec, ckpt)
        costs = profile(spec, ckpt, options or Options())
    return Analysis(checkpoint=ckpt, spec=spec, profile=costs)
