"""The library entry point: model reference → Checkpoint → ModelSpec → Profile → Findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archlint.analysis.profile import Options, Profile, profile
from archlint.checkpoint import Checkpoint
from archlint.families import build_spec
from archlint.source import SourceOptions, load_checkpoint
from archlint.spec import ModelSpec

__all__ = ["Analysis", "analyze", "analyze_checkpoint", "load_checkpoint", "spec_of"]


@dataclass
class Analysis:
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
    spec = spec_of(ckpt)
    return Analysis(checkpoint=ckpt, spec=spec, profile=profile(spec, ckpt, options or Options()))


def analyze(
    ref: str, options: Options | None = None, source: SourceOptions | None = None
) -> Analysis:
    return analyze_checkpoint(load_checkpoint(ref, source), options)
