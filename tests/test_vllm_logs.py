"""The serving plan against vLLM startup logs pasted in public issues (fixtures/vllm_logs):
KV capacity in tokens within 5% and per-GPU weight memory within 1% of what vLLM logged, with
archlint given the run's settings. The logged figures are vLLM's own lines, recorded verbatim."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from archlint.analysis.logcheck import check_run
from archlint.api import spec_of
from tests.helpers import ROOT, fixture

RUNS = json.loads((ROOT / "fixtures" / "vllm_logs" / "runs.json").read_text())["runs"]


def test_logged_figures_are_read_from_the_verbatim_lines() -> None:
    # The 'logged' numbers must be what the recorded lines say (no figure typed from elsewhere).
    for run in RUNS:
        text = "\n".join(run["lines"])
        for key, pattern in (
            ("weights_gib", r"(?:Model loading took|Loading model weights took) ([\d.]+) G"),
            ("kv_gib", r"kv_cache_size=([\d.]+)GiB"),
            ("gpu_blocks", r"GPU blocks: (\d+)"),
            ("capacity_gib", r"total_gpu_memory=([\d.]+)GiB"),
        ):
            match = re.search(pattern, text)
            if key in run["logged"]:
                assert match and float(match.group(1)) == run["logged"][key], (run["id"], key)
        if "gpu_blocks" in run["logged"]:
            assert run["logged"]["kv_tokens"] == run["logged"]["gpu_blocks"] * 16


WEIGHTS = [r for r in RUNS if "weights_gib" in r["logged"]]


@pytest.mark.parametrize("run", WEIGHTS, ids=[r["id"] for r in WEIGHTS])
def test_weights_per_gpu_within_1_percent(run: dict) -> None:
    got = check_run(run, fixture(run["model"]), spec_of(fixture(run["model"])))
    assert got.weights_error is not None and abs(got.weights_error) <= 0.01


@pytest.mark.parametrize("run", [r for r in RUNS if "kv_tokens" in r["logged"]],
                         ids=[r["id"] for r in RUNS if "kv_tokens" in r["logged"]])
def test_kv_tokens_within_5_percent(run: dict) -> None:
    got = check_run(run, fixture(run["model"]), spec_of(fixture(run["model"])))
    assert got.kv_tokens_error is not None and abs(got.kv_tokens_error) <= 0.05


REQUEST = [r for r in RUNS if "request_kv_gib" in r["logged"]]


@pytest.mark.parametrize("run", REQUEST, ids=[r["id"] for r in REQUEST])
def test_kv_one_request_needs_within_5_percent(run: dict) -> None:
    # vLLM's "To serve at least one request ... (X GiB KV cache is needed": DeepSeek-V2-Lite at
    # 32,768 tokens: 27 layers × (512 + 64) × 2 B × 32,768 = 1,019,215,872 B = 0.949 GiB.
    got = check_run(run, fixture(run["model"]), spec_of(fixture(run["model"])))
    assert got.request_kv_error is not None and abs(got.request_kv_error) <= 0.05


def test_every_run_is_checked_or_says_why() -> None:
    for run in RUNS:
        checked = {"kv_tokens", "weights_gib", "request_kv_gib"} & set(run["logged"])
        assert checked or run.get("unmatched"), run["id"]


def test_docs_table_is_current() -> None:
    from scripts.vllm_log_table import render

    assert render() in Path(ROOT / "docs" / "serving.md").read_text()
