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
