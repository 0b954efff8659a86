"""Writing a generated set of broken fixture files and their manifest (shared by
make_broken_fixtures.py and make_gguf_broken.py)."""

from __future__ import annotations

import json
from pathlib import Path


def write_cases(out: Path, cases: dict[str, tuple[bytes, dict]], root: Path) -> None:
    """Each case's bytes under `out`, and `EXPECTED.json` mapping file name -> expectation."""
    out.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (payload, result) in cases.items():
        (out / name).write_bytes(payload)
        expected[name] = result
    (out / "EXPECTED.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(cases)} files to {out.relative_to(root)}")
