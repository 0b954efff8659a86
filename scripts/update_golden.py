"""Write tests/golden/: the `archlint MODEL --format json` report of every fixture model and
planted repo, and in tests/golden/rules/ each rule's messages on its failing fixtures as a user
reads them (ruff's snapshots), which `tests/test_golden.py` compares byte for byte.

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

A rule snapshot (`tests/golden/rules/<CODE>.txt`) lists, per failing fixture of
`fixtures/rules/build.py` linted with only that rule selected, each finding as the concise format
prints it (`file:line:col: CODE message`, the tensor for a finding inside a shard) with its
severity and message id: a change of wording or of a unit shows as a reviewed diff.
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
RULE_GOLDEN = GOLDEN / "rules"


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


def rule_fixtures() -> dict[str, object]:
    """fixtures/rules/build.py's FIXTURES (it imports the tests' helpers: the root goes on
    the path)."""
    import importlib.util

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    path = ROOT / "fixtures" / "rules" / "build.py"
    spec = importlib.util.spec_from_file_location("archlint_rule_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return dict(module.FIXTURES)  # type: ignore[attr-defined]


def _finding_line(finding: object) -> str:
    loc = finding.location  # type: ignore[attr-defined]
    where = loc.file or "config.json"
    if loc.line:
        where += f":{loc.line}:{loc.column or 1}"
    if loc.tensor:
        where += f" (tensor {loc.tensor})"
    return (f"{where}: {finding.code} {finding.message}"  # type: ignore[attr-defined]
            f"  [{finding.severity.value}, {finding.message_id}]")  # type: ignore[attr-defined]


def rule_snapshots() -> dict[str, str]:
    """Snapshot file name -> each failing fixture's findings of that rule, as users read them."""
    from archlint.api import analyze_checkpoint
    from archlint.lint.config import parse_config
    from archlint.lint.engine import run_rules
    from archlint.lint.registry import builtin_rules

    rules = builtin_rules()
    names = {r.code: r.name for r in rules}
    result: dict[str, str] = {}
    for code, fixtures in sorted(rule_fixtures().items()):
        lines = [f"# {code} {names.get(code, '?')}"]
        for case in fixtures.bad:  # type: ignore[attr-defined]
            config = parse_config({"select": [code], **case.config})
            findings = run_rules(analyze_checkpoint(case.checkpoint()), config=config, rules=rules)
            lines += ["", f"## {case.name}"] + [_finding_line(f) for f in findings]
        result[f"{code}.txt"] = "\n".join(lines) + "\n"
    return result


def _write(directory: Path, wanted: dict[str, str], pattern: str) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in set(p.name for p in directory.glob(pattern)) - set(wanted):
        (directory / stale).unlink()
    changed = 0
    for name, text in wanted.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed += 1
    return changed


def main() -> None:
    wanted = reports()
    changed = _write(GOLDEN, wanted, "*.json")
    print(f"{len(wanted)} golden reports in {GOLDEN.relative_to(ROOT)}, {changed} rewritten")
    snapshots = rule_snapshots()
    changed = _write(RULE_GOLDEN, snapshots, "*.txt")
    where = RULE_GOLDEN.relative_to(ROOT)
    print(f"{len(snapshots)} rule snapshots in {where}, {changed} rewritten")


if __name__ == "__main__":
    main()
