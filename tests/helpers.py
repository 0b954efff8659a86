"""Shared test helpers: load the project's own fixtures (fixtures/, never the steering folder)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from archlint.analysis.profile import Options
from archlint.api import Analysis, analyze_checkpoint
from archlint.checkpoint import Checkpoint

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "fixtures" / "models"


@cache
def fixture(model_id: str) -> Checkpoint:
    """Cached: the DeepSeek tensor table has 92k rows; tests must not mutate the result."""
    return Checkpoint.load(MODELS / (model_id.replace("/", "__", 1) + ".json.gz"))


def analysis(model_id: str, **options: object) -> Analysis:
    return analyze_checkpoint(fixture(model_id), Options(**options))  # type: ignore[arg-type]
