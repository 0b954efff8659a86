"""Command line: a thin layer over the library. Subcommands import their work lazily so
`archlint --help` and the analytic report stay fast; the report goes to stdout (or --output),
progress and summaries to stderr. Exit codes: 0 clean, 1 findings at or above --fail-on,
2 usage/input/network error."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from archlint import __version__
from archlint.cli_options import (
    Terminal,
    color_option,
    emit,
    profile_options,
    resolve_color,
    source_options,
    terminal_width,
    text_or_json,
    verbosity_options,
)
from archlint.errors import ArchlintError, ConfigError
from archlint.report import reporters
from archlint.report.format_choice import FormatChoice

#: `check --format json` without --report: the findings alone (archlint.report.concise).
FINDINGS_JSON = "findings-json"
SUBCOMMANDS = ("report", "check", "compare", "bench", "rules", "rule", "schema", "catalog", "scan",
               "version")


#: Subcommands in their own modules, imported only when they run: name → (module, attribute,
#: the first paragraph of its help, which `archlint --help` lists without importing it;
#: tests/test_cli.py checks it against the real command).
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "compare": ("archlint.compare_cli", "compare_command",
                "Compare MODELS side by side (Hub ids, local paths or catalog names): attention,"),
    "scan": ("archlint.scan_cli", "scan_command",
             "Analyse many models: one JSON line per model (failures carry their reason), a "
             "progress"),
    "bench": ("archlint.bench.cli", "bench_command",
              "Allocate the real KV cache for --batch sequences of --context tokens in a serving"),
}

#: The top-level modules of the optional extras (pyproject.toml: gpu, plot, ray): a subcommand
#: whose import misses one of these is left out; any other ImportError is a bug and is raised.
EXTRA_MODULES = frozenset({"torch", "triton", "matplotlib", "ray"})


def _listed(name: str) -> click.Command:
    """A lazy subcommand as `--help` lists it (its short help, nothing imported)."""
    return click.Command(name, help=LAZY_COMMANDS[name][2])


def _check_not_a_typo(word: str, commands: list[str]) -> None:
    """`archlint chek .` is a misspelt subcommand, not a model called "chek": a bare word
    close to a subcommand that is neither a path nor a bundled model is an error."""
    if word.startswith("-") or "/" in word or "." in word or Path(word).exists():
        return
    import difflib  # here: a path or Hub id, the usual argument, never needs it

    close = difflib.get_close_matches(word, commands, n=1, cutoff=0.75)
    if not close:
        return
    from archlint.source import catalog

    if word in catalog.names() or word in catalog.aliases():
        return
    raise click.UsageError(f"unknown command {word!r}; did you mean {close[0]!r}?")


class DefaultGroup(click.Group):
    """`archlint MODEL` means `archlint report MODEL`; the subcommands of LAZY_COMMANDS are
    imported when invoked, so `archlint --help` and the report import none of them."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.list_commands(ctx) \
                and args[0] not in ("--help", "-h", "--version"):
            _check_not_a_typo(args[0], self.list_commands(ctx))
            args = ["report", *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in LAZY_COMMANDS:
            return self.commands.get(cmd_name)
        module, attr, _ = LAZY_COMMANDS[cmd_name]
        import importlib

        try:
            command: click.Command = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            if (exc.name or "").partition(".")[0] not in EXTRA_MODULES:
                raise  # a broken module, ours or a dependency's, not a missing extra: say so
            return None
        self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        listed = dict(self.commands)
        for name in LAZY_COMMANDS:
            listed.setdefault(name, _listed(name))
        saved, self.commands = self.commands, listed
        try:
            super().format_commands(ctx, formatter)
        finally:
            self.commands = saved


def _flush_cache() -> None:
    """Wait for a background cache write (large tensor tables are written after the report)."""
    cache = sys.modules.get("archlint.source.cache")
    if cache is not None:
        cache.flush()


def git_root(start: Path) -> Path | None:
    """The top of the git work tree containing ``start`` (a ``.git`` directory or file)."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _lint_config(model_dir: Path | None, config_file: Path | None, isolated: bool,
                 stop: Path | None, rules: list[Any]) -> Any:
    """The lint configuration, checked against this run's `rules`: none with --isolated;
    --config FILE; else the first archlint config in the checked local directory or an
    ancestor up to the repository root. A remote model never picks up the current
    directory's config."""
    from archlint.lint.config import LintConfig, find_config_file, load_config, parse_config

    if isolated:
        return LintConfig()
    if config_file is not None:
        from archlint.lint.config import config_section

        section = config_section(config_file)
        config = parse_config(section or {}, source=str(config_file))
        config.resolve(rules)
        return config
    if model_dir is None:
        return LintConfig()
    here = model_dir.resolve()
    for folder in (here, *here.parents):
        if find_config_file(folder, folder) is not None:
            # checked against the rules this run loads: the default registry would import
            # plugin entry points even under --no-plugins
            return load_config(folder, cwd=folder, rules=rules)
        if stop is not None and folder == stop.resolve():
            break
    return LintConfig()


def _settle_lint(model_dir: Path | None, config_file: Path | None, isolated: bool,
                 stop: Path | None, *, select: tuple[str, ...], ignore: tuple[str, ...],
                 no_plugins: bool) -> tuple[Any, list[Any]]:
    """This run's rules, loaded once, and its lint configuration read once, checked against
    them, with --select/--ignore applied and resolved: (config, rules)."""
    from archlint.lint.registry import load_rules

    rules = load_rules(plugins=not no_plugins)
    config = _lint_config(model_dir, config_file, isolated, stop, rules)
    if select:
        config = config.model_copy(update={"select": [s for x in select for s in x.split(",")]})
    if ignore:
        config = config.model_copy(
            update={"ignore": list(config.ignore) + [s for x in ignore for s in x.split(",")]}
        )
    config.resolve(rules)
    return config, rules


@click.group(
    cls=DefaultGroup,
    invoke_without_command=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="archlint")
def cli() -> None:
    """What a model architecture really is and what it will cost, from config.json and
    safetensors headers alone (no weights downloaded, no model code run).

    \b
      archlint mistralai/Mixtral-8x7B-v0.1           report + findings
      archlint check ./my-model --format sarif       CI on a model repo
      archlint compare llama3 mixtral deepseek-v3    spec comparison table
      archlint bench mistralai/Mixtral-8x7B-v0.1     one layer on a GPU

    MODEL is a Hub id (org/name, optionally @revision), a local directory, a config.json,
    a .safetensors file, or a bundled catalog name (`archlint catalog`).
    Exit codes: 0 clean, 1 findings at or above --fail-on, 2 could not run.
    Set ARCHLINT_DEBUG=1 to see tracebacks.
    """


def _collector_held(command: Any) -> Any:
    """Run one model's report with the cyclic garbage collector paused, and freeze what it
    made when it ends (`gc.freeze`): a large model's run holds ~1M objects in big columns that
    form no cycles and live until the process exits, and every collection walks them again
    (Kimi-K2 cold: ~50 gen-0 passes over new columns, ~60 ms; ~0.1 s of CPU with them,
    measured). A later run in the same process (the tests) first hands the frozen objects back
    to the collector, and so does the process's exit, so that the exit collection still sees
    everything (extension types count what is left alive then: nanobind reports it as leaks).
    """
    import atexit
    import functools
    import gc

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        was_enabled = gc.isenabled()
        gc.unfreeze()
        atexit.unregister(gc.unfreeze)  # registered once, whatever the number of runs
        atexit.register(gc.unfreeze)
        gc.disable()
        try:
            return command(*args, **kwargs)
        finally:
            gc.freeze()
            if was_enabled:
                gc.enable()

    return run


def _report_command(name: str, help_text: str, default_format: str) -> Any:
    check = name == "check"

    @cli.command(name, help=help_text)
    @click.argument("model", required=not check, default="." if check else None)
    @click.option(
        "--format",
        "--output-format",
        "-f",
        "fmt",
        type=FormatChoice(),
        default=default_format,
        show_default=True,
        help="Output format (text: the whole report; concise: one finding per line).",
    )
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the report here instead of stdout.",
    )
    @profile_options
    @source_options
    @click.option("--select", multiple=True, help="Only these rules (codes, names, prefixes).")
    @click.option("--ignore", multiple=True, help="Skip these rules.")
    @click.option(
        "--fail-on",
        type=click.Choice(["error", "warning", "info", "never"]),
        help="Exit 1 when a finding is at least this severe (default from config, else error).",
    )
    @click.option("--no-lint", is_flag=True, help="Profile only; run no rules.")
    @click.option(
        "--no-plugins",
        is_flag=True,
        envvar="ARCHLINT_NO_PLUGINS",
        help="Load only the built-in rules.",
    )
    @click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Use this archlint.toml/pyproject.toml instead of discovering one.",
    )
    @click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
    @click.option(
        "--root",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Repository root that SARIF/GitHub/JUnit paths are relative to (default: the git "
        "top level, else the current directory).",
    )
    @click.option(
        "--report", "full_report", is_flag=True,
        help="With check: the whole report (text, or with --format json the JSON report) "
        "instead of the findings alone.",
    )
    @click.option("--statistics", is_flag=True, help="Count findings per rule instead.")
    @click.option(
        "--plot",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Also write the KV-cache-vs-context plot (PNG or SVG; extra 'plot').",
    )
    @color_option
    @click.option("--no-color", "no_color", is_flag=True, help="Same as --color never.")
    @verbosity_options
    @_collector_held
    def command(
        model: str,
        fmt: str,
        output: Path | None,
        options: Any,
        source: Any,
        select: tuple[str, ...],
        ignore: tuple[str, ...],
        fail_on: str | None,
        no_lint: bool,
        no_plugins: bool,
        config_file: Path | None,
        isolated: bool,
        root: Path | None,
        full_report: bool,
        statistics: bool,
        plot: Path | None,
        color: str,
        no_color: bool,
        verbosity: int,
    ) -> None:
        from archlint.api import analyze_checkpoint
        from archlint.report.progress import header_progress
        from archlint.source import load_checkpoint

        fmt = _output_format(fmt, check=check, full_report=full_report, statistics=statistics)
        ckpt = None
        reuse = _reuse_plan(model, source, options, no_lint=no_lint, plot=plot is not None,
                            config_file=config_file, isolated=isolated, root=root,
                            no_plugins=no_plugins, select=select, ignore=ignore)
        try:
            with header_progress(model, enabled=False if verbosity < 0 else None) as progress, \
                    _reusing(reuse):
                source.progress = progress
                ckpt = load_checkpoint(model, source)
            _exit_if_reused(reuse, ckpt, fmt=fmt, output=output, root=root,
                            color="never" if no_color else color, verbosity=verbosity,
                            statistics=statistics, no_lint=no_lint, fail_on=fail_on)
            analysis = analyze_checkpoint(ckpt, options)
        except ConfigError as exc:
            # A local repo's config.json refused: a finding of the checked repo (AL019) with
            # its report written, in the formats that need only findings; else the one line.
            refused = None if no_lint or fmt not in REFUSED_CONFIG_FORMATS \
                else _refused_config_file(model, exc)
            if refused is None:
                raise
            sys.exit(_report_refused_config(
                refused, exc, ckpt, fmt=fmt, output=output, root=root, config_file=config_file,
                isolated=isolated, no_plugins=no_plugins, fail_on=fail_on,
                color="never" if no_color else color, verbosity=verbosity,
                statistics=statistics))
        for warning in analysis.profile.warnings:
            if verbosity >= 0:
                click.echo(f"archlint: warning: {warning}", err=True)
        local = Path(model).expanduser() if ckpt.source == "local" else None
        model_dir = (local if local.is_dir() else local.parent) if local is not None else None
        repo = root or git_root(model_dir or Path.cwd()) or Path.cwd()
        rules: list[Any] = []
        threshold = fail_on or "error"
        if not no_lint:
            # a Hub report's reuse lookup settled the configuration and rules already (this
            # is its cache miss): its copy, not the file read and the rules loaded again
            config, rules = (reuse.config, reuse.rules) if reuse is not None else _settle_lint(
                model_dir, config_file, isolated, repo, select=select, ignore=ignore,
                no_plugins=no_plugins)
            if verbosity > 0:
                click.echo(f"archlint: config: {config.source or 'defaults'}; repository root: "
                           f"{repo}", err=True)
            from archlint.lint.engine import run_rules

            analysis.findings = run_rules(analysis, config=config, rules=rules)
            threshold = fail_on or str(config.fail_on)
        colour = "never" if no_color else color
        emit(_render(fmt, analysis, rules, local, colour, output, repo, statistics, reuse),
             output, quiet=verbosity < 0)
        _flush_cache()
        if plot is not None:
            from archlint.plots import plot_kv_vs_context

            # The report's plot draws no GPU memory line (compare's does).
            plot_kv_vs_context([analysis], plot, options.model_copy(update={"gpu": None}))
            if verbosity >= 0:
                click.echo(f"archlint: wrote {plot}", err=True)
        if not no_lint and threshold != "never":
            from archlint.lint.engine import exit_code
            from archlint.lint.finding import Severity

            code = exit_code(analysis.findings, Severity(threshold))
            if code:
                if verbosity >= 0 and fmt != "concise":
                    click.echo(
                        f"archlint: {len(analysis.findings)} finding(s); failing on "
                        f"{threshold} and above",
                        err=True,
                    )
                sys.exit(code)

    return command


def _reuse_plan(model: str, source: Any, options: Any, *, no_lint: bool, plot: bool,
                config_file: Path | None, isolated: bool, root: Path | None, no_plugins: bool,
                select: tuple[str, ...], ignore: tuple[str, ...]) -> Any:
    """The analysis-cache lookup of a Hub report (archlint.reuse), None for any other.
    The lint configuration and rules are settled first, as the key depends on them; a
    configuration that fails is left to the ordinary path to report, in its order."""
    from archlint import reuse as reuse_mod

    if not reuse_mod.applies(model, source):
        return None
    config: Any = None
    rules: list[Any] = []
    if not no_lint:
        try:
            config, rules = _settle_lint(None, config_file, isolated, None, select=select,
                                         ignore=ignore, no_plugins=no_plugins)
        except ArchlintError:
            return None
    return reuse_mod.plan(source, options, config, rules, no_lint=no_lint, plot=plot)


def _reusing(reuse: Any) -> Any:
    """The fetch's context: answered from the stored analysis under ``reuse.key``, if any."""
    if reuse is None:
        from contextlib import nullcontext

        return nullcontext()
    from archlint import reuse as reuse_mod
    from archlint.source.cache import reusing_analyses

    return reusing_analyses(reuse.key, reuse_mod.load_document)


def _exit_if_reused(reuse: Any, ckpt: Any, **how: Any) -> None:
    """When the fetch answered with this commit's stored analysis: its report, and exit.
    (A stored report that does not load is never handed out: the cache deletes it and
    answers with the commit's checkpoint, analysed as usual.)"""
    if reuse is None:
        return
    from archlint import reuse as reuse_mod
    from archlint.source.cache import AnalysedCheckpoint

    if isinstance(ckpt, AnalysedCheckpoint):
        sys.exit(_report_reused(reuse, ckpt, reuse_mod.document(ckpt), **how))


def _report_reused(reuse: Any, ckpt: Any, doc: Any, *, fmt: str, output: Path | None,
                   root: Path | None, color: str, verbosity: int, statistics: bool,
                   no_lint: bool, fail_on: str | None) -> int:
    """A report rendered from the stored document of this commit; the exit code."""
    from archlint import reuse as reuse_mod
    from archlint.lint.engine import exit_code
    from archlint.lint.finding import Severity

    for warning in reuse_mod.warnings(ckpt):
        if verbosity >= 0:
            click.echo(f"archlint: warning: {warning}", err=True)
    repo = root or git_root(Path.cwd()) or Path.cwd()
    if verbosity > 0 and not no_lint:
        click.echo(f"archlint: config: {reuse.config.source or 'defaults'}; repository root: "
                   f"{repo}", err=True)
    emit(reporters.render(fmt, doc, _context(reuse.rules, None, color, output, repo,
                                             statistics)), output, quiet=verbosity < 0)
    _flush_cache()
    threshold = fail_on or str(getattr(reuse.config, "fail_on", "error"))
    if no_lint or threshold == "never":
        return 0
    code = exit_code(doc.findings, Severity(threshold))
    if code and verbosity >= 0 and fmt != "concise":
        click.echo(f"archlint: {len(doc.findings)} finding(s); failing on {threshold} and "
                   "above", err=True)
    return code

def _output_format(fmt: str, *, check: bool, full_report: bool, statistics: bool) -> str:
    """The format that renders: check's JSON is its findings, as its text is, unless --report
    asks for the whole report; --statistics counts in the concise layout (or JSON)."""
    if check and fmt == "json" and not full_report:
        return FINDINGS_JSON
    if full_report and fmt == "concise":
        fmt = "text"
    if statistics and fmt == "text":
        return "concise"
    return fmt


def _render(
    fmt: str,
    analysis: Any,
    rules: list[Any],
    local: Path | None,
    color: str,
    output: Path | None,
    repo_root: Path,
    statistics: bool = False,
    reuse: Any = None,
) -> str:
    """Build the report document once and render it in ``fmt`` (and keep it, with ``reuse``,
    for the next run on this commit)."""
    from archlint.report.document import build_document
    from archlint.report.explain import explain

    doc = build_document(analysis, explain(analysis.spec, analysis.profile))
    if reuse is not None:
        from archlint import reuse as reuse_mod

        reuse_mod.store(reuse, analysis, doc)
    model_dir = (local if local.is_dir() else local.parent) if local is not None else None
    return reporters.render(fmt, doc, _context(rules, model_dir, color, output, repo_root,
                                               statistics))


def _context(rules: list[Any], model_dir: Path | None, color: str, output: Path | None,
             repo_root: Path, statistics: bool) -> reporters.RenderContext:
    from archlint.lint.docs import rule_docs

    to_terminal = output is None and sys.stdout.isatty()
    return reporters.RenderContext(
        rules=tuple(rule_docs(rules)),
        repo_root=repo_root,
        model_dir=model_dir,
        color=resolve_color(color, to_terminal),
        width=terminal_width() if to_terminal or "COLUMNS" in os.environ else None,
        cwd=Path.cwd(),
        statistics=statistics,
    )


# -- a local config.json that cannot be read or accepted: AL019 ---------------------------------

#: The formats that need only the findings and the model id (archlint.report.concise,
#: findings_formats); the others describe an architecture there is none of, and keep the line.
REFUSED_CONFIG_FORMATS = ("concise", "sarif", "github", "junit", "findings-json")
REFUSED_CONFIG_CODE = "AL019"


@dataclass(frozen=True)
class _ModelId:
    id: str


@dataclass(frozen=True)
class FindingsDocument:
    """The part of a report document the findings formats read (``findings`` and ``model.id``):
    what a check has to say when there is no architecture to report, nothing faked."""

    findings: list[Any]
    model: _ModelId


def _refused_config_file(model: str, exc: ConfigError) -> Path | None:
    """The local config file ``exc`` refuses, when ``model`` is a local directory, config file
    or safetensors file and the message is about its config (``config.json: ...``,
    ``config.json is not valid JSON ...``); None for anything else (an unreadable path, a
    remote model, a config inferred from tensors)."""
    try:
        path = Path(model).expanduser()
        if path.is_dir():
            config = path / "config.json"
        elif path.suffix == ".json" and not path.name.endswith(".archlint.json"):
            config = path
        elif path.suffix == ".safetensors":
            config = path.parent / "config.json"
        else:
            return None
        if not config.is_file():
            return None
    except (OSError, RuntimeError, ValueError):
        return None
    if not exc.message.startswith((f"{config.name}:", f"{config.name} ", "config.json:")):
        return None
    return config


def _report_refused_config(config_path: Path, exc: ConfigError, ckpt: Any, *, fmt: str,
                           output: Path | None, root: Path | None, config_file: Path | None,
                           isolated: bool, no_plugins: bool, fail_on: str | None, color: str,
                           verbosity: int, statistics: bool) -> int:
    """Write the report of a repo whose config was refused: one AL019 error finding at the
    refused key (or the file), made by the rule from the problem; returns the exit code."""
    from types import SimpleNamespace

    from archlint.checkpoint import Checkpoint
    from archlint.lint.engine import exit_code
    from archlint.lint.finding import Severity
    from archlint.lint.registry import builtin_rules
    from archlint.lint.rule import RuleContext, iter_findings
    from archlint.problems import config_problem
    from archlint.source.config_file import MAX_CONFIG_BYTES

    model_dir = config_path.parent
    repo = root or git_root(model_dir) or Path.cwd()
    # the repo's own config still decides --fail-on's default (and a broken one is exit 2)
    from archlint.lint.registry import load_rules

    config = _lint_config(model_dir, config_file, isolated, repo,
                          load_rules(plugins=not no_plugins))
    threshold = fail_on or str(getattr(config, "fail_on", "error"))
    text = None
    try:
        if config_path.stat().st_size <= MAX_CONFIG_BYTES:
            text = config_path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        pass  # no text: the finding names the file only
    parsed = getattr(ckpt, "config", None)
    from archlint.redact import redact

    # as the one line it replaces was: no credential in the text, whatever the format escapes
    problem = config_problem(redact(exc.message), file=config_path.name, config=parsed)
    stub = Checkpoint(model_id=model_dir.resolve().name if config_path.name == "config.json"
                      else config_path.stem, source="local", config_text=text,
                      problems=[problem])
    rule = next(r for r in builtin_rules() if r.code == REFUSED_CONFIG_CODE)
    # Not subject to --select/--ignore: no other rule could run, so an empty report would say
    # the repo passed a check that never happened.
    ctx = RuleContext(analysis=SimpleNamespace(checkpoint=stub),  # type: ignore[arg-type]
                      rule=rule, severity=rule.default_severity)
    findings = list(iter_findings(rule(), ctx))
    doc = FindingsDocument(findings=findings, model=_ModelId(stub.model_id))
    context = _context([rule], model_dir, color, output, repo, statistics)
    emit(reporters.render(fmt, doc, context), output,  # type: ignore[arg-type]
         quiet=verbosity < 0)
    if threshold == "never":
        return 0
    code = exit_code(findings, Severity(threshold))
    if code and verbosity >= 0 and fmt != "concise":
        click.echo(f"archlint: {len(findings)} finding(s); failing on {threshold} and above",
                   err=True)
    return code


_report_command(
    "report", "Report what MODEL is and costs, and lint it (the default command).", "text"
)
_report_command(
    "check",
    "Lint a model (default: the current directory; a local repo in CI, or any MODEL): one "
    "finding per line (path:line:col: CODE message) and the exit code. --report prints the "
    "whole report; same options as `report`.",
    "concise",
)


@cli.command("schema")
@color_option
def schema_command(color: str) -> None:
    """Print the JSON Schema of `--format json`."""
    import json

    from archlint.report.document import json_schema

    Terminal(color)  # JSON is never styled; the option is accepted as on every subcommand
    click.echo(json.dumps(json_schema(), indent=2))


_LIST_FORMAT = text_or_json()


@cli.command("version")
@_LIST_FORMAT
@color_option
def version_command(fmt: str, color: str) -> None:
    """Print archlint's version (and, with --format json, Python's and the platform's)."""
    if fmt == "json":
        import json
        import platform

        click.echo(json.dumps({"archlint": __version__, "python": platform.python_version(),
                               "platform": platform.platform()}, indent=2))
        return
    out = Terminal(color)
    click.echo(f"{out.style('archlint', bold=True)} {__version__}", color=True)


@cli.command("catalog")
@_LIST_FORMAT
@color_option
def catalog_command(fmt: str, color: str) -> None:
    """List the models bundled for offline use, with their short names."""
    from archlint.source import catalog

    aliases: dict[str, list[str]] = {}
    for alias, target in catalog.aliases().items():
        aliases.setdefault(target, []).append(alias)
    manifest = catalog.manifest()["models"]
    rows = []
    for name in catalog.names():
        entry = manifest[name]
        has = "tensors" if entry["has_tensors"] else "index" if entry["has_index"] else "config"
        rows.append({"id": name, "data": has, "aliases": sorted(aliases.get(name, []))})
    if fmt == "json":
        import json

        click.echo(json.dumps(rows, indent=2))
        return
    out = Terminal(color)
    id_width = max(len(row["id"]) for row in rows)
    # aliases continue under their column, or under the id when that column is too narrow
    indent = id_width + 11
    if out.width is not None and indent > out.width - 20:
        indent = 4
    for row in rows:
        line = out.fit(f"{row['id']:{id_width}s}  {row['data']:7s}  {', '.join(row['aliases'])}",
                       indent=indent)
        click.echo(_styled_head(line, str(row["id"]), out, bold=True), color=True)


def _styled_head(line: str, head: str, out: Terminal, **styles: Any) -> str:
    """``line`` (already fitted to the width) with its leading ``head`` styled."""
    return out.style(head, **styles) + line[len(head):] if line.startswith(head) else line


_SEVERITY_COLOUR = {"error": "red", "warning": "yellow", "info": "blue"}


@cli.command("rules")
@click.option("--no-plugins", is_flag=True, help="Only the built-in rules.")
@_LIST_FORMAT
@color_option
def rules_command(no_plugins: bool, fmt: str, color: str) -> None:
    """List every rule: code, name, default severity, source package."""
    from archlint.lint.registry import load_rules

    rows = [{"code": rule.code, "name": rule.name, "severity": rule.default_severity.value,
             "summary": rule.summary(),
             "origin": getattr(rule, "origin", None) or getattr(rule, "__module__", "")}
            for rule in load_rules(plugins=not no_plugins)]
    if fmt == "json":
        import json

        click.echo(json.dumps(rows, indent=2))
        return
    out = Terminal(color)
    for r in rows:
        line = out.fit(f"{r['code']:8s} {r['name']:40s} {r['severity']:8s} {r['origin']}",
                       indent=9)
        click.echo(_styled_head(line, str(r["code"]), out, bold=True,
                                fg=_SEVERITY_COLOUR.get(str(r["severity"]))), color=True)


@cli.command("rule")
@click.argument("code")
@color_option
def rule_command(code: str, color: str) -> None:
    """Print the documentation of one rule (by code or name)."""
    from archlint.lint.docs import rule_doc_text
    from archlint.lint.registry import get_rule

    out = Terminal(color)
    lines = rule_doc_text(get_rule(code)).split("\n")
    # the doc's markdown headings ("## What it does") stand out at a terminal
    click.echo("\n".join(out.style(line, bold=True) if line.startswith("#") else line
                         for line in lines), color=True)


def main() -> None:
    debug = os.environ.get("ARCHLINT_DEBUG", "").strip() not in ("", "0")
    try:
        try:
            cli.main(standalone_mode=False, prog_name="archlint")
        finally:  # a report that did not reach the disk is an error, exit code included
            sys.stdout.flush()
    except click.exceptions.Abort:
        click.echo("archlint: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code in (1, 2) else exc.exit_code)
    except ArchlintError as exc:
        if debug:
            import traceback  # here: ~5 ms of imports every run would pay for a debug switch

            traceback.print_exc()
        click.echo(f"archlint: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
    except OSError as exc:  # stdout on a full disk (ENOSPC), a closed terminal (EIO)
        click.echo(f"archlint: cannot write the output: {exc.strerror or exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # a bug: still one line unless debugging
        if debug:
            import traceback

            traceback.print_exc()
        from archlint.redact import redact
        from archlint.report.escape import for_line

        reason = redact(for_line(str(exc)))[:200]
        click.echo(
            f"archlint: internal error: {type(exc).__name__}: {reason} "
            "(set ARCHLINT_DEBUG=1 for the traceback; please report it)",
            err=True,
        )
        sys.exit(2)
