"""The README's two commands are what users and CI run: keep them honest."""

from __future__ import annotations

import re

from tests.helpers import ROOT


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(python3 -m venv .venv && [^\n]+)\n```", text)


def test_readme_has_main_and_test_commands() -> None:
    commands = _commands()
    assert len(commands) >= 2
    assert any("archlint mistralai/Mixtral-8x7B-v0.1" in c for c in commands)
    assert any("pytest" in c for c in commands)


def test_ci_runs_the_readme_test_command() -> None:
    test_command = next(c for c in _commands() if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci
