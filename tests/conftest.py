"""Shared pytest fixtures. Hub section: a local test Hub and an isolated Hub environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hubserver import HubServer
from hypothesis import settings

# -- hypothesis -------------------------------------------------------------------------------

# The suite gates every landing, so its property tests draw the same cases on every run (a red CI
# is then a real regression, reproducible with the same command). HYPOTHESIS_PROFILE=explore
# draws fresh cases, which is how new counterexamples are found; add each one as an @example.
settings.register_profile("default", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# -- hub ---------------------------------------------------------------------------------------

@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ambient Hub settings: no token, not offline, an empty archlint cache. Returns it."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                 "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "hf-token"))
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(tmp_path / "hf-token"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    cache = tmp_path / "archlint-cache"
    monkeypatch.setenv("ARCHLINT_CACHE", str(cache))
    return cache


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries with millisecond backoff, so fault tests finish fast (the bounds stay the same)."""
    from archlint.source import hub

    monkeypatch.setattr(hub, "DEFAULT_RETRY",
                        hub.RetryPolicy(base_backoff_s=0.01, max_backoff_s=0.05,
                                        retry_after_cap_s=0.3))


@pytest.fixture
def hub_server(hub_env: Path, fast_retries: None) -> Iterator[HubServer]:
    """A started local test Hub (tests/hubserver.py), stopped at teardown."""
    with HubServer() as server:
        yield server


# -- campaigns ---------------------------------------------------------------------------------

@pytest.fixture
def campaign(request: pytest.FixtureRequest) -> None:
    """A fuzz campaign (the fuzz and config-fuzz suites' long runs) runs only when asked for
    (`-m slow`), whatever the default addopts say."""
    if "slow" not in (request.config.option.markexpr or ""):
        pytest.skip(f"{request.node.name}: a fuzz campaign, run with -m slow")


# -- fuzz accounting ---------------------------------------------------------------------------

def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many generated cases the fuzz properties ran (RELIABILITY.md quotes it)."""
    import sys

    module = sys.modules.get("test_fuzz") or sys.modules.get("tests.test_fuzz")
    outcomes = getattr(module, "OUTCOMES", None)
    if outcomes:
        total = sum(sum(counter.values()) for counter in outcomes.values())
        terminalreporter.write_line(
            f"fuzz: {total:,} generated cases over {len(outcomes)} properties, "
            "each ending in a report or one clean error")
