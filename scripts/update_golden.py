"""Write tests/golden/: the `archlint MODEL --format json` report of every fixture model and
planted repo, which `tests/test_golden.py` compares byte for byte.

These files are a change detector, not a source of truth: they pin what the tool printed when
they were written, so that work meant to change nothing (speed, refactoring) can show it changed
nothing. When you change a number, a finding or a field ON PURPOSE, regenerate them and review
the diff before committing it, as part of the same change:

    .venv/bin/python scripts/update_golden.py
    git diff --stat tests/golden/ && git diff tests/golden/   # every hunk should be intended

The expected values of the behaviour itself live in the other tests (index sizes, tensor
tables, model cards); never copy a number from here into one of them.

Each fixture model (`fixtures/models/*.json.gz`, a Checkpoint) is linked into a temporary
directory as `<name>.archlint.json.gz`, the name under which the CLI reads a Checkpoint file;
each planted repo (`fixtures/planted/<dir>`) is read as a local directory. The CLI runs in this
process (`archlint.cli.main`, default options, an empty cache): exit status 0 or 1 (findings)
are both normal; anything else is an error.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "fixtures" / "models"
PLANTED = ROOT / "fixtures" / "planted"
GOLDEN = ROOT / "tests" / "golden"


def sources() -> list[tuple[str, Path]]:
    """(golden file stem, what the CLI is pointed at), in a stable order."""
    models = [(p.name.removesuffix(".json.gz"), p) for p in sorted(MODELS.glob("*.json.gz"))]
    planted = [(f"planted__{p.name}", p) for p in sorted(PLANTED.iterdir()) if p.is_dir()]
    return models + planted


def _run_cli(args: list[str]) -> tuple[int, str, str]:
    from archlint.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["archlint", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def _isolated_cache() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="archlint-golden-") as tmp:
        saved = {k: os.environ.get(k) for k in ("ARCHLINT_CACHE", "ARCHLINT_NO_PLUGINS")}
        os.environ["ARCHLINT_CACHE"] = str(Path(tmp) / "cache")
        os.environ["ARCHLINT_NO_PLUGINS"] = "1"
        try:
            yield Path(tmp)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def reports() -> dict[str, str]:
    """Golden file name → the JSON report the CLI prints for that source."""
    result: dict[str, str] = {}
    with _isolated_cache() as tmp:
        for stem, path in sources():
            target = path
            if path.is_file():
                target = tmp / f"{stem}.archlint.json.gz"
                target.symlink_to(path)
            code, out, err = _run_cli([str(target), "--format", "json"])
            if code not in (0, 1):
                raise RuntimeError(f"{stem}: exit {code}: {err.strip()}")
            result[f"{stem}.json"] = out
    return result


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    wanted = reports()
    for stale in set(p.name for p in GOLDEN.glob("*.json")) - set(wanted):
        (GOLDEN / stale).unlink()
    changed = 0
    for name, text in wanted.items():
        path = GOLDEN / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed += 1
    print(f"{len(wanted)} golden reports in {GOLDEN.relative_to(ROOT)}, {changed} rewritten")


if __name__ == "__main__":
    main()
