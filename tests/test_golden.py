"""The JSON report of every fixture model and planted repo is byte-identical to the committed
one in tests/golden/ (made by scripts/update_golden.py). Work that means to change nothing
(speed, refactoring) must keep this green; a change made on purpose regenerates the files and
reviews their diff (the script's docstring says how)."""

from __future__ import annotations

import difflib
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"


def test_reports_match_golden_files() -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "update_golden.py"))
    wanted = script["reports"]()
    committed = {p.name for p in GOLDEN.glob("*.json")}
    assert committed == set(wanted), "golden files out of date: run scripts/update_golden.py"
    differing = []
    for name, text in sorted(wanted.items()):
        expected = (GOLDEN / name).read_text(encoding="utf-8")
        if text != expected:
            diff = difflib.unified_diff(expected.splitlines(), text.splitlines(),
                                        f"golden/{name}", "now", n=1, lineterm="")
            differing.append("\n".join(list(diff)[:40]))
    assert not differing, "\n\n".join(differing)


def test_rule_messages_match_snapshots() -> None:
    """Each rule's messages on its failing fixtures as a user reads them (tests/golden/rules/):
    a change of wording, a unit or a location is a reviewed diff, and a rule added without its
    snapshot fails here."""
    script = runpy.run_path(str(ROOT / "scripts" / "update_golden.py"))
    wanted = script["rule_snapshots"]()
    directory = GOLDEN / "rules"
    committed = {p.name for p in directory.glob("*.txt")}
    assert committed == set(wanted), "rule snapshots out of date: run scripts/update_golden.py"
    differing = []
    for name, text in sorted(wanted.items()):
        expected = (directory / name).read_text(encoding="utf-8")
        if text != expected:
            diff = difflib.unified_diff(expected.splitlines(), text.splitlines(),
                                        f"golden/rules/{name}", "now", n=1, lineterm="")
            differing.append("\n".join(list(diff)[:40]))
    assert not differing, "\n\n".join(differing)
