"""The import graph: no cycle, and no edge against the direction docs/architecture.md states.

Every ``import`` of an archlint module is an edge, including the lazy ones inside functions
(a lazy import is still a dependency, and the compare ⇄ plots ⇄ compare_formats loop was made of
them); imports under ``if TYPE_CHECKING:`` are not (they never run). The root package
``archlint`` is not a node: it only re-exports ``archlint.api`` lazily.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from tests.helpers import ROOT

#: (importer prefix, forbidden import prefix, why) — docs/architecture.md, "Import direction".
FORBIDDEN = (
    ("archlint.analysis", "archlint.source", "the Profile is a function of the spec, not of I/O"),
    ("archlint.analysis", "archlint.api", "analysis is below the entry point"),
    ("archlint.analysis", "archlint.report", "analysis computes, report formats"),
    ("archlint.analysis", "archlint.lint", "rules read the Profile, not the other way"),
    ("archlint.report", "archlint.source", "a report renders the document, it reads no repo"),
    ("archlint.report", "archlint.api", "a report renders the document, it loads nothing"),
    ("archlint.report", "archlint.cli", "formats know no command line"),
    ("archlint.lint", "archlint.report", "rules and their docs are below the formats"),
    ("archlint.lint", "archlint.source", "rules read the Checkpoint, not the Hub"),
    ("archlint.lint", "archlint.cli", "the engine knows no command line"),
    ("archlint.rules", "archlint.report", "rules are below the formats"),
    ("archlint.rules", "archlint.cli", "rules know no command line"),
    ("archlint.rules", "archlint.source", "rules read the Checkpoint, not the readers"),
    ("archlint.compare", "archlint.plots", "the table is data; the command draws"),
    ("archlint.compare", "archlint.report.compare_formats", "the table is data; formats render it"),
    ("archlint.spec", "archlint.source", "the spec is model knowledge"),
    ("archlint.families", "archlint.source", "adapters read a config dict"),
    ("archlint.source", "archlint.analysis", "sources produce Checkpoints only"),
    ("archlint.source", "archlint.report", "sources produce Checkpoints only"),
    ("archlint.source.http", "archlint.source.hub", "transport knows nothing of models"),
    ("archlint.source.http", "archlint.checkpoint", "transport knows nothing of models"),
)
#: Edges the direction rules do not allow yet, each with its issue (remove when fixed).
KNOWN: set[tuple[str, str]] = set()

#: Import loops not untangled yet (remove when fixed).
KNOWN_CYCLES: list[list[str]] = []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] in ("rules", "kernels"):  # package-dir mapping: archlint.rules, archlint.kernels
        parts = ["archlint", *parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for d in ("archlint", "rules", "kernels")
            for p in sorted((ROOT / d).rglob("*.py"))}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(sub) for sub in ast.walk(node))
    return skip


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    def resolve(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            subs = [f"{base}.{alias.name}" for alias in node.names]
            targets = [s for s in subs if s in modules] or [base]
        else:
            continue
        for target in targets:
            if target.startswith("archlint"):
                found = resolve(target)
                if found and found not in (name, "archlint"):
                    out.add(found)
    return out


@functools.cache
def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_graph_sees_lazy_imports():
    graph = import_graph()
    assert "archlint.compare" in graph["archlint.compare_cli"]
    assert "archlint.plots" in graph["archlint.compare_cli"]  # imported inside run_compare
    assert "archlint.report.document" in graph["archlint.cli"]  # imported inside _render


def test_no_import_cycle():
    assert [c for c in _cycles(import_graph()) if c not in KNOWN_CYCLES] == []


def test_cycle_detector_finds_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_no_edge_against_the_documented_direction():
    wrong = []
    for importer, imported in sorted(import_graph().items()):
        for target in sorted(imported):
            for src, dst, why in FORBIDDEN:
                if _under(importer, src) and _under(target, dst) \
                        and (importer, target) not in KNOWN:
                    wrong.append(f"{importer} imports {target}: {why}")
    assert wrong == []


def test_known_exceptions_still_exist():
    """Each KNOWN edge is real; when one is fixed, drop it from the list."""
    graph = import_graph()
    assert [edge for edge in sorted(KNOWN) if edge[1] not in graph.get(edge[0], set())] == []


def test_test_support_modules_have_one_name() -> None:
    """tests/helpers.py, hubserver.py and gguf_files.py are each imported under one module name
    (`helpers` and `tests.helpers` would be two modules with two caches), and conftest.py is
    pytest's alone: nothing imports it."""
    support = {"helpers", "hubserver", "gguf_files", "conftest"}
    names: dict[str, set[str]] = {}
    for path in sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "fixtures").rglob("*.py"),
                        *(ROOT / "scripts").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for module in modules:
                stem = module.removeprefix("tests.")
                if stem in support and module in (stem, f"tests.{stem}"):
                    names.setdefault(stem, set()).add(module)
    assert "conftest" not in names, names["conftest"]
    assert {stem: found for stem, found in names.items() if len(found) > 1} == {}


def _import_failing_with(missing: str):  # type: ignore[no-untyped-def]
    def fail(name: str, package: str | None = None) -> object:
        raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)
    return fail


def test_a_subcommand_is_hidden_only_for_a_missing_extra(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`archlint bench` without torch is left out of the command list; a subcommand whose
    module misses anything else (a typo, an uninstalled dependency, one of ours) raises, so a
    broken subcommand never silently disappears (issue 15)."""
    import importlib

    import click
    import pytest

    from archlint.cli import cli

    ctx = click.Context(cli)
    monkeypatch.setattr(importlib, "import_module", _import_failing_with("torch.cuda"))
    assert cli.get_command(ctx, "bench") is None
    for missing in ("numpyy", "archlint.bench.nothing", "pydantic"):
        monkeypatch.setattr(importlib, "import_module", _import_failing_with(missing))
        with pytest.raises(ModuleNotFoundError):
            cli.get_command(ctx, "bench")


def test_a_local_report_imports_no_pydantic(tmp_path: Path) -> None:
    """docs/architecture.md, "What the report path imports": a local report (JSON and text,
    rules on) builds records, not pydantic models; pydantic is for archlint.toml, rule options
    a config sets, and `archlint schema`. Checked in a fresh interpreter, on a local directory
    with real safetensors headers (gpt-oss-20b in 3 shards) and on a config-only one."""
    import subprocess
    import sys

    from hubserver import model_files

    from tests.helpers import fixture

    dirs = []
    for model_id, shards in (("openai/gpt-oss-20b", 3), ("meta-llama/Llama-3.2-1B-Instruct", 1)):
        target = tmp_path / model_id.replace("/", "__")
        target.mkdir()
        for name, vf in model_files(fixture(model_id), shards=shards).items():
            with (target / name).open("wb") as fh:
                fh.write(vf.head)
                fh.truncate(vf.size)  # sparse: the data region costs no disk
        dirs.append(target)
    code = ("import sys, archlint.cli as c; sys.argv = ['archlint', *sys.argv[1:]]\n"
            "try: c.main()\nexcept SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pydantic', 'pydantic_core', 'annotated_types')), file=sys.stderr)")
    for target in dirs:
        for fmt in ("json", "text"):
            proc = subprocess.run([sys.executable, "-c", code, str(target), "--format", fmt],
                                  capture_output=True, text=True, check=True, cwd=tmp_path)
            assert proc.stdout.strip()  # a report was written
            assert proc.stderr.strip().splitlines()[-1] == "[]", (target.name, fmt)
