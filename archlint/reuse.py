"""A warm report of a Hub commit from its stored analysis (archlint.source.cache, "analyses").

A commit's files never change, so its report changes only with what else goes into it:
archlint's version and code, the profile options, the lint configuration, the rule set and
its selection. `plan` hashes those into the cache key; a run whose commit has an entry under
that key renders the stored report document instead of loading the tensor table, analysing
it and running the rules (Kimi-K2: 139k tensors, ~2 s of CPU), and a run that analysed a
commit stores its document. What a warm run says differently from the run that stored the
entry, it says here too: the source (`cache`), this run's fetch statistics and the notes the
fetch layer added (offline, a stale branch).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archlint import __version__

if TYPE_CHECKING:  # imported when a Hub id is reported: a local report loads neither
    from archlint.source.cache import AnalysedCheckpoint


@dataclass(frozen=True)
class Plan:
    """What a report run needs to look its analysis up and to store it."""

    key: str
    endpoint: str
    cache_root: Path | None
    variant: str | None
    rules: list[Any]
    config: Any  # the LintConfig, select/ignore applied (None with --no-lint)


def _code_fingerprint(rules: list[Any]) -> list[Any]:
    """(path, size, mtime) of every file of archlint and of the modules the rules come from:
    an edited checkout (or a plugin upgraded in place) under an unchanged version number is
    a new key. ~250 stats, ~1 ms."""
    import sys

    import archlint

    roots = {Path(p) for p in archlint.__path__}
    for rule in rules:
        file = getattr(sys.modules.get(rule.__module__), "__file__", None)
        if file:
            roots.add(Path(file))
    seen: list[Any] = []
    for root in sorted(roots):
        if root.is_file():
            st = root.stat()
            seen.append((str(root), st.st_size, st.st_mtime_ns))
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                st = os.stat(os.path.join(folder, name))
                seen.append((os.path.join(folder, name), st.st_size, st.st_mtime_ns))
    return seen


def analysis_key(options: Any, config: Any, rules: list[Any], no_lint: bool) -> str:
    """128-bit hash of everything but the commit that a report document depends on."""
    basis = {
        "version": __version__,
        "code": _code_fingerprint(rules),
        "options": options.model_dump(mode="json"),
        "lint": None if no_lint else {
            "config": config.model_dump(mode="json"),
            "rules": [(r.code, r.__module__, r.__qualname__) for r in rules],
        },
    }
    text = json.dumps(basis, sort_keys=True, default=repr)
    import hashlib  # here: a local report imports this module for `applies` only (~10 ms)

    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def plan(source: Any, options: Any, config: Any, rules: list[Any], *, no_lint: bool,
         plot: bool) -> Plan | None:
    """The lookup of a Hub report (None: nothing to reuse, as with --no-cache or --plot, whose
    figure needs the analysis itself). `config` has --select/--ignore applied and has been
    resolved against `rules`."""
    from archlint.source.hub import resolve_endpoint

    if not source.use_cache or plot:
        return None
    variant = (f"gguf-file-{source.gguf_file}" if source.gguf_file
               else f"gguf-quant-{source.gguf_quant.upper()}" if source.gguf_quant else None)
    return Plan(key=analysis_key(options, config, rules, no_lint),
                endpoint=resolve_endpoint(source.endpoint), cache_root=source.cache_dir,
                variant=variant, rules=rules, config=None if no_lint else config)


def store(p: Plan, analysis: Any, doc: Any) -> None:
    """Keep the document of an analysed commit. Only a fresh fetch or an ordinary warm one
    (a listing made) is stored: an offline or fallback answer carries a note about this run."""
    from archlint.source.cache import AnalysedCheckpoint, HeaderCache

    ckpt = analysis.checkpoint
    fresh = ckpt.source == "hub" or (ckpt.source == "cache"
                                     and ckpt.fetch_stats.get("requests", 0) > 0)
    if not fresh or not ckpt.revision or isinstance(ckpt, AnalysedCheckpoint):
        return
    try:
        HeaderCache(p.cache_root).put_analysis(
            p.endpoint, ckpt.model_id, ckpt.revision, p.variant, p.key,
            report=doc.model_dump_json(), checkpoint_notes=list(ckpt.notes),
            warnings=list(analysis.profile.warnings))
    except ValueError:  # a revision that is no commit sha: nothing to key it by
        return


def load_document(report: str) -> Any:
    """A stored report's document; None when it does not load as one (its types checked by
    archlint.records): the cache then deletes the entry and the commit is analysed again."""
    from archlint.records import RecordError
    from archlint.report.document import Report

    try:
        return Report.model_validate_json(report)
    except (RecordError, TypeError):
        return None


def document(ckpt: AnalysedCheckpoint) -> Any:
    """The stored document (loaded by the cache read, `load_document`), with what this run's
    fetch said in place of the stored run's."""
    from archlint.report.document import clean

    doc = ckpt.stored["document"]
    own = len(ckpt.stored["checkpoint_notes"])
    model = doc.model.model_copy(update={
        "source": ckpt.source,
        "fetch": dict(ckpt.fetch_stats),
        "notes": clean(list(ckpt.notes)) + doc.model.notes[own:],
    })
    return doc.model_copy(update={"model": model})


def warnings(ckpt: AnalysedCheckpoint) -> list[str]:
    return list(ckpt.stored["warnings"])


def applies(model: str, source: Any) -> bool:
    """Whether `model` is fetched from the Hub (`org/name[@rev]`, no local path of that name):
    the only reports the analysis cache keys (local files change, the catalog is bundled)."""
    from archlint.source import _HUB_ID, split_revision

    if not source.use_cache or source.prefer == "catalog" or model.startswith((".", "/", "~")):
        return False
    try:
        if Path(model).expanduser().exists():
            return False
        name, _ = split_revision(model, check=False)
    except (OSError, RuntimeError, ValueError):
        return False
    return bool(_HUB_ID.match(name))
