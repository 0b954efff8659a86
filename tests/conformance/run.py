"""The conformance run: every in-scope model_type, archlint's config-only figures against
transformers' modules, one verdict each.

Config per type: a real config from `fixtures/models/` or `fixtures/zoo/` (Checkpoint files;
the first by file name when several share a model_type), else the defaults of the
configuration class (`archlint/families/transformers_tables.json.gz`, generated from the
pinned transformers), completed where they cannot build with one real checkpoint's values
(`completions`, recorded in fixtures/zoo/SOURCES.json). Parameters are compared on that
config; the cache on a copy shrunk by `shrink.shrink_layers` — both sides always read the
same config.

Verdicts: exact (parameters within 0.1 %, KV per token and constant state equal, in elements)
| params off | KV off | state off | several of these | KV not observed (parameters exact,
the cache could not be observed in transformers) | crash (a Python exception escaped
archlint) | archlint error (an honest one-line error) | transformers cannot build (the type
is then outside the rates, as the issue scopes it).
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import signal
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_DIRS = (ROOT / "fixtures" / "models", ROOT / "fixtures" / "zoo")
PARAMS_TOLERANCE = 0.001
PER_TYPE_TIMEOUT_S = 120
#: How many times a copy whose cache could not be observed is shrunk less (floor doubled).
SHRINK_LESS_TRIES = 3
#: The whole run (about 35 s on 2 cores; the issue allows 5 minutes).
RUN_TIMEOUT_S = 600


@dataclass
class Row:
    model_type: str
    category: str
    source: str  # fixture file name or "defaults"
    verdict: str
    detail: str = ""
    tf_total: int | None = None
    al_total: int | None = None
    params_rel: float | None = None
    tf_kv: list[float] | None = None  # [full, window, state] elements
    al_kv: list[float] | None = None
    shrunk: dict[str, Any] = field(default_factory=dict)
    tf_components: dict[str, int] = field(default_factory=dict)
    al_components: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    tried: list[str] = field(default_factory=list)  # configs transformers could not build


def real_configs() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """model_type -> [(fixture name, config), ...] from the committed Checkpoint fixtures,
    real-size repos before tiny test repos."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for directory in FIXTURE_DIRS:
        if not directory.is_dir():
            continue
        paths = sorted(directory.glob("*.json.gz"), key=lambda p: ("tiny" in p.name, p.name))
        for path in paths:
            try:
                data = json.loads(gzip.decompress(path.read_bytes()))
            except (OSError, ValueError):
                continue
            config = data.get("config") if isinstance(data, dict) else None
            if not isinstance(config, dict):
                continue
            model_type = config.get("model_type")
            if isinstance(model_type, str):
                out.setdefault(model_type, []).append((f"{directory.name}/{path.name}", config))
    return out


class TypeTimeout(BaseException):
    """A type over its time. Not an Exception: the harness's fallbacks and transformers'
    own code catch Exception broadly, and a timeout they swallowed would let a type run on
    without any bound (the CI run that never finished)."""


def _timeout(*_: Any) -> None:
    raise TypeTimeout(f"over {PER_TYPE_TIMEOUT_S} s")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1.0)


def check(
    model_type: str,
    candidates: list[tuple[str, dict[str, Any]]],
    retry: tuple[str, ...] = (),
) -> Row:
    """One model type, end to end, on the first candidate config transformers can build
    (and, for a verdict in `retry`, the next candidate after that one too); never raises."""
    row = _check_one(model_type, *candidates[0])
    for source, config in candidates[1:]:
        if row.verdict != NOT_BUILT and row.verdict not in retry:
            break
        again = _check_one(model_type, source, config)
        if again.verdict == NOT_BUILT and row.verdict != NOT_BUILT:
            # a fallback transformers cannot build tells less than the row it would replace
            row.tried = [*row.tried, f"{again.source}: {again.detail}"]
            continue
        again.tried = [*row.tried, f"{row.source}: {row.detail}"]
        row = again
    return row


NOT_BUILT = "transformers cannot build"
KV_NOT_OBSERVED = "KV not observed"


def completed_config(model_type: str, config: dict[str, Any]) -> dict[str, Any] | None:
    """The config as transformers' configuration class completes it (its defaults filled),
    for shrink; None where the class refuses it (the run then reports that itself)."""
    from tests.conformance import tf_side

    try:
        done = tf_side.build_config(model_type, config).to_dict()
    except Exception:
        return None
    return done if isinstance(done, dict) else None


def _shrink_less_if_needed(
    model_type: str,
    config: dict[str, Any],
    kv_config: dict[str, Any],
    category: str,
    tf: Any,
    changes: dict[str, tuple[int, int]],
) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """A shrunken copy whose cache transformers cannot observe (Zamba's shared block needs two
    uses to be tied: with one hybrid layer left its weight tying raises) is shrunk less, the
    layer floor doubled until the cache is observed or nothing is cut; both sides then read
    that copy."""
    from tests.conformance import shrink, tf_side

    floor = max((after for _, after in changes.values()), default=0)
    for attempt in range(SHRINK_LESS_TRIES + 1):
        if tf.kv_error is None or not changes:
            break
        floor *= 2
        again, cut = shrink.shrink_layers(config, floor, completed_config(model_type, config))
        if cut == changes or attempt == SHRINK_LESS_TRIES:
            # a stack the floor does not govern keeps the same cut (another try would build
            # the same copy: the loop that kept a CI run going for over an hour), or the
            # tries are spent: the last one reads the config uncut
            again, cut = config, {}
        kv_config, changes = (again, cut) if cut else (config, cut)
        tf_side.observe_into(tf, model_type, tf.model_class, kv_config, category)
    return kv_config, changes


def _check_one(model_type: str, source: str, config: dict[str, Any]) -> Row:
    from archlint.errors import ArchlintError
    from archlint.families import tf_tables
    from tests.conformance import archlint_side, shrink, tf_side

    started = time.monotonic()
    category = tf_tables.category(model_type) or "other"
    row = Row(model_type=model_type, category=category, source=source, verdict="")
    kv_config, changes = shrink.shrink_layers(
        config, completed=completed_config(model_type, config)
    )
    row.shrunk = {k: list(v) for k, v in changes.items()}
    old = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(PER_TYPE_TIMEOUT_S)
    try:
        try:
            tf = tf_side.figures(
                model_type, config, category, tf_tables.model_classes(model_type), kv_config
            )
        except Exception as exc:
            row.verdict = NOT_BUILT
            row.detail = _one_line(exc)
            return row
        row.tf_total, row.tf_components = tf.total, tf.by_component
        kv_config, changes = _shrink_less_if_needed(
            model_type, config, kv_config, category, tf, changes
        )
        row.shrunk = {k: list(v) for k, v in changes.items()}
        try:
            al = archlint_side.figures(config)
            al_kv = archlint_side.figures(kv_config) if changes else al
        except ArchlintError as exc:
            row.verdict = "archlint error"
            row.detail = _one_line(exc)
            return row
        except Exception as exc:
            row.verdict = "crash"
            row.detail = _one_line(exc) + " at " + _where(exc)
            return row
        row.al_total, row.al_components = al.total, al.by_component
        row.params_rel = (al.total - tf.total) / tf.total if tf.total else None
        row.al_kv = [al_kv.kv_full, al_kv.kv_window, al_kv.state]
        misses = []
        if row.params_rel is None or abs(row.params_rel) > PARAMS_TOLERANCE:
            misses.append(f"params {_pct(row.params_rel)}")
        if tf.kv_error is None:
            row.tf_kv = [tf.kv_full or 0.0, tf.kv_window or 0.0, tf.state or 0.0]
            t_full, t_win, t_state = row.tf_kv
            if not (_close(al_kv.kv_full, t_full) and _close(al_kv.kv_window, t_win)):
                misses.append(
                    f"KV {_fmt(al_kv.kv_full)}+{_fmt(al_kv.kv_window)}w vs "
                    f"{_fmt(t_full)}+{_fmt(t_win)}w elem/token"
                )
            if not _close(al_kv.state, t_state):
                misses.append(f"state {_fmt(al_kv.state)} vs {_fmt(t_state)} elem")
        if misses:
            row.verdict = "off"
            if any(m.startswith(("KV", "state")) for m in misses):
                misses.append(
                    f"layers archlint {_kinds(al_kv.layer_kinds)}, transformers' cache "
                    f"{_kinds([_TF_KIND.get(k, k) for k in tf.cache_layers])}"
                )
            row.detail = "; ".join(misses)
        elif tf.kv_error is not None:
            row.verdict = KV_NOT_OBSERVED
            row.detail = tf.kv_error
        else:
            row.verdict = "exact"
        return row
    except TypeTimeout as exc:
        row.verdict = NOT_BUILT
        row.detail = f"timeout: {exc}"
        return row
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        row.seconds = round(time.monotonic() - started, 2)


#: transformers' cache layer classes, in archlint's layer-kind words.
_TF_KIND = {
    "DynamicLayer": "full",
    "StaticLayer": "full",
    "DynamicSlidingWindowLayer": "sliding",
    "StaticSlidingWindowLayer": "sliding",
    "DynamicIndexedLayer": "full+indexer",
    "LinearAttentionLayer": "linear",
    "LinearAttentionAndFullAttentionLayer": "linear+full",
    "LinearAttentionAndSlidingWindowAttentionLayer": "linear+sliding",
}


def _kinds(kinds: list[str]) -> str:
    """`3×linear+1×full`-style summary, in order of first appearance."""
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return " + ".join(f"{n}×{k}" for k, n in counts.items()) or "none"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if "/archlint/" in frame.filename:
            return f"{Path(frame.filename).name}:{frame.lineno}"
    return "?"


def _pct(rel: float | None) -> str:
    return "n/a" if rel is None else f"{rel * 100:+.2f}%"


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


#: keys some configuration classes leave None by default although every real config of the
#: type sets them, and without which transformers' forward cannot run (DeepseekV2Config's
#: num_experts_per_tok: topk(k=None)). Filled on the defaults candidate, for both sides alike;
#: the value changes no parameter count and no cache size (how many experts a token visits).
FILL_WHEN_NONE = {"num_experts_per_tok": 1}


def filled_defaults(defaults: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for key, value in FILL_WHEN_NONE.items():
        if key in out and out[key] is None:
            out[key] = value
    return out


#: Where a type's completions are recorded (`completions`: model_type, values by dotted key,
#: the real checkpoint they come from and its url), beside the zoo configs' provenance.
SOURCES = ROOT / "fixtures" / "zoo" / "SOURCES.json"


@functools.lru_cache(maxsize=1)
def completions() -> dict[str, dict[str, Any]]:
    """model_type -> its completion entry: the keys a configuration class's defaults leave
    unbuildable (None where the modules need a number), each with the value a real checkpoint
    of the type declares. Never values chosen to make the two sides agree: a value comes from
    one named public config, which the entry's url shows."""
    data = json.loads(SOURCES.read_text())
    return {entry["model_type"]: entry for entry in data.get("completions", [])}


def completed_defaults(defaults: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """A copy of `defaults` with the entry's values set at their dotted keys
    (`text_config.head_dim` in the text sub-config)."""
    import copy

    out = copy.deepcopy(defaults)
    for dotted, value in entry["values"].items():
        *parents, last = dotted.split(".")
        node = out
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return out


def defaults_candidate(model_type: str, defaults: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The class defaults as a candidate config: completed where SOURCES.json completes the
    type (its label then names the checkpoint the values come from)."""
    config = filled_defaults(defaults)
    entry = completions().get(model_type)
    if entry is None:
        return "defaults", config
    keys = ", ".join(sorted(entry["values"]))
    return f"defaults + {keys} of {entry['model_id']}", completed_defaults(config, entry)


def plan() -> tuple[list[tuple[str, list[tuple[str, dict[str, Any]]]]], dict[str, list[str]]]:
    """(in-scope jobs: model_type and its candidate configs, out-of-scope types by
    category). Candidates: the real configs, then the class defaults."""
    from archlint.families import tf_tables

    reals = real_configs()
    jobs: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = []
    out: dict[str, list[str]] = {}
    for model_type in tf_tables.model_types():
        category = tf_tables.category(model_type) or "other"
        if not tf_tables.in_scope(model_type):
            out.setdefault(category, []).append(model_type)
            continue
        candidates = list(reals.get(model_type, []))
        defaults = tf_tables.defaults_for(model_type)
        if defaults is not None:
            candidates.append(defaults_candidate(model_type, defaults))
        if not candidates:
            out.setdefault("no defaults", []).append(model_type)
            continue
        jobs.append((model_type, candidates))
    return jobs, out


def _init_worker() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    logging.disable(logging.WARNING)
    import torch

    torch.set_num_threads(1)


def _check_job(job: tuple[Any, ...]) -> Row:
    return check(*job)


def varied_jobs(
    jobs: list[tuple[str, list[tuple[str, dict[str, Any]]]]],
) -> list[tuple[str, list[tuple[str, dict[str, Any]]], tuple[str, ...]]]:
    """The same jobs on configs at other sizes (`vary.vary`); a type none of whose configs
    could move is dropped. A varied config whose cache transformers' own forward cannot
    fill (a size its modules do not fit together at) falls back to the next variant too."""
    from tests.conformance import vary

    out = []
    for model_type, candidates in jobs:
        moved = []
        # every config's main variant first; the fallbacks (vary.variants) only where
        # transformers refuses the ones before them
        fallbacks = []
        for source, config in candidates:
            for n, (mode, varied, changes) in enumerate(vary.variants(config)):
                label = "" if mode == "heads" else f", {mode}"
                entry = (f"{source} (varied{label}: {len(changes)} keys)", varied)
                (moved if n == 0 else fallbacks).append(entry)
        moved.extend(fallbacks)
        if moved:
            out.append((model_type, moved, (KV_NOT_OBSERVED,)))
    return out


def switched_jobs(
    jobs: list[tuple[str, list[tuple[str, dict[str, Any]]]]],
) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """The same jobs with their structural booleans flipped (`vary.switched`); a type whose
    configs hold none is dropped; a flipped config transformers refuses falls back to the
    next candidate's."""
    from tests.conformance import vary

    out = []
    for model_type, candidates in jobs:
        moved = []
        for source, config in candidates:
            held = vary.held_by_transformers(model_type, config)
            flipped, changes = vary.switched(config, keep=frozenset(held))
            kept = "".join(f"; kept {k}: {why}" for k, why in held.items())
            if changes:
                moved.append(
                    (f"{source} (switched: {', '.join(sorted(changes))}{kept})", flipped)
                )
        if moved:
            out.append((model_type, moved))
    return out


def switched_each_jobs(
    jobs: list[tuple[str, list[tuple[str, dict[str, Any]]]]],
) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """One job per structural boolean a type's configs hold, that one flipped alone
    (`vary.switched(only=...)`), so that a miss of `switched_jobs` is traced to its flag;
    the candidates that hold the key, in order, as fallbacks."""
    from tests.conformance import vary

    out = []
    for model_type, candidates in jobs:
        keys: list[str] = []
        for _, config in candidates:
            keys.extend(k for k in vary.switch_keys(config) if k not in keys)
        for key in keys:
            moved = []
            for source, config in candidates:
                held = vary.held_by_transformers(model_type, config)
                flipped, changes = vary.switched(config, only=key, keep=frozenset(held))
                if changes:
                    moved.append((f"{source} (switched: {key})", flipped))
                elif key in held:
                    HELD[(model_type, key)] = held[key]
            if moved:
                out.append((model_type, moved))
    return out


#: (model_type, switch) -> why `switched_each_jobs` left it unflipped, for the script to list
HELD: dict[tuple[str, str], str] = {}


def run_all(
    workers: int | None = None, only: list[str] | None = None, *, varied: bool = False,
    switched: bool = False, switched_each: bool = False,
) -> tuple[list[Row], dict]:
    jobs, out = plan()
    if only:
        jobs = [j for j in jobs if j[0] in only]
    if varied:
        jobs = varied_jobs(jobs)
    if switched:
        jobs = switched_jobs(jobs)  # type: ignore[assignment]
    if switched_each:
        jobs = switched_each_jobs(jobs)  # type: ignore[assignment]
    workers = workers or max(1, min(2, os.cpu_count() or 1))
    # Spread the slow ones: sorted by name the big families cluster.
    _init_worker()
    import transformers  # noqa: F401  (imported once, before the fork)

    if workers == 1:
        rows = [_check_job(j) for j in jobs]
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker)
        try:
            # A whole-run bound beside the per-type alarm: a worker stuck in C code never
            # returns to Python for the alarm, and CI must fail rather than hang.
            rows = list(pool.map(_check_job, jobs, chunksize=4, timeout=RUN_TIMEOUT_S))
        except BaseException:
            for proc in list((pool._processes or {}).values()):
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    return rows, out


def rows_to_json(rows: list[Row]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
