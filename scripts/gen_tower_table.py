"""Write archlint/families/tower_table.json.gz: every multimodal wrapper's non-language
modules (vision/audio towers, projectors, resamplers, stray vectors) as shapes fitted to
config keys, so that archlint counts them from config.json alone without transformers.

    python scripts/gen_tower_table.py               # all multimodal types (rewrites the table)
    python scripts/gen_tower_table.py --only llava  # a few types, printed, table untouched
    python scripts/gen_tower_table.py --tie         # only the head-tying facts, into the table

How (one mechanism for every type, no per-encoder formula):
1. The wrapper's default config (what the conformance harness uses) is built on the meta
   device with the class the harness counts (tests/conformance/tf_side.py). The language
   model is dropped the way the harness drops it: `get_decoder()`, the input embeddings and
   the output head; where `get_decoder()` is the whole base model, its children that move
   with a non-text sub-config key and not with the text layer count are kept as towers
   (`_towers_inside`: GIT's image encoder, Evolla's protein encoder). The rest is grouped
   by name, layer indices replaced by `*`
   (`model.vision_tower.encoder.layers.*.mlp.fc1.weight`).
2. Every integer key of the config and of its sub-configs (`vision_config.hidden_size`),
   and the length of every integer list, is perturbed one at a time (x2, x3, ... until two
   builds succeed). Each quantity (a group's tensor count, each dim of its shape) that moves
   is fitted, simplest first, as `c * prod(key**e) + b` (a `key1 // key2` pair when one key
   divides another: `(image_size // patch_size)**2`) or as `sum(a_k * key) + b`; a fit is kept
   only if it reproduces every build, including one with all the moving keys perturbed
   together. A quantity with no fit is recorded as unfitted (archlint then says the module
   is an estimate).
3. Every boolean key is flipped: a group present under one value only is recorded as
   conditional on it (its shapes fitted again in the flipped build's neighbourhood); a group
   whose shapes change with the flag is valid only at the default value (`requires`).
Output is deterministic (sorted keys, no timestamps) and records the transformers version.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gzip
import json
import re
import signal
import sys
import warnings
from fractions import Fraction
from itertools import product
from multiprocessing import Pool
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "archlint" / "families" / "tower_table.json.gz"
TYPE_TIMEOUT_S = 240
FACTORS = (2, 3, 4, 5, 6)
EXPONENTS = (1, 2, -1, 3, -2)
_INDEX = re.compile(r"\.(\d+)(?=\.|$)")


class TypeTimeout(BaseException):
    pass


class NoLanguageModel(BaseException):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise TypeTimeout()


# ----------------------------------------------------------------------------- building


#: children of the module `get_decoder()` returns that are towers all the same (set per type
#: by `_towers_inside`, before the builds of that type)
INSIDE: set[str] = set()


def _built(model_type: str, config: dict[str, Any]) -> tuple[Any, Any] | None:
    """The model the harness counts, and its language model (None: unbuildable)."""
    from archlint.families import tf_tables
    from tests.conformance import tf_side as tf

    try:
        cls = tf.model_class_for(tf_tables.model_classes(model_type), "multimodal", config)
        model = tf.build_model(cls, tf.build_config(model_type, config))
    except TypeTimeout:
        raise
    except Exception:
        return None
    if model is None:
        return None
    lm = tf._language_model(model)
    if lm is None:
        # no language model to tell apart (ViLT): nothing here is a tower for the harness
        raise NoLanguageModel()
    return model, lm


def _child_sizes(lm: Any) -> dict[str, int]:
    return {name: sum(p.numel() for p in child.parameters())
            for name, child in lm.named_children()}


def _towers_inside(model_type: str, config: dict[str, Any]) -> set[str]:
    """Children of the language model that are towers: where `get_decoder()` is the whole
    base model (GIT's GitModel holds `image_encoder` and `visual_projection`, Evolla's its
    `protein_encoder`, Phi-4-multimodal's `embed_tokens_extend`), a child whose size moves
    with a key of a sub-config other than text_config and not with the text layer count.
    The blocks (cross-attention ones included: Idefics' gated_cross_attn_layers) move with
    the layer count; the token table and final norm with no sub-config key."""
    if config.get("is_encoder_decoder"):
        return set()  # the decoder is the language model; what feeds it is outside it
    layers_key = next((path for path in ("text_config.num_hidden_layers", "num_hidden_layers")
                       if _has(config, path)), None)
    if layers_key is None:
        # the language model is configured elsewhere (Canary's decoder_config): no sub-config
        # key tells a tower from it
        return set()
    towers = _moving_children(model_type, config, layers_key)
    # a child only a flag builds (IDEFICS' perceiver_resampler with use_resampler), judged
    # the same way in the flagged build
    for path, (op, value) in _variables(config).items():
        if op == "bool" and "." not in path:
            flagged = _set(config, path, "key", not value)
            towers |= _moving_children(model_type, flagged, layers_key)
    return towers


def _moving_children(model_type: str, config: dict[str, Any], layers_key: str) -> set[str]:
    """Children of the language model whose size moves with a non-text sub-config key and
    not with the layer count, in the build of `config`."""
    built = _built(model_type, config)
    if built is None:
        return set()
    base = _child_sizes(built[1])
    more = _built(model_type, _set(config, layers_key, "key", _get(config, layers_key) + 1))
    if more is None:
        return set()
    with_layers = {n for n, size in _child_sizes(more[1]).items() if size != base.get(n)}
    moving: set[str] = set()
    for path, (op, value) in _variables(config).items():
        sub = path.split(".", 1)[0]
        if "." not in path or sub == "text_config" or op != "key":
            continue
        for new in _perturbed_values(op, value)[:2]:
            other = _built(model_type, _set(config, path, op, new))
            if other is not None:
                moving |= {n for n, size in _child_sizes(other[1]).items()
                           if size != base.get(n)}
                break
    return moving - with_layers


def _has(config: dict[str, Any], path: str) -> bool:
    try:
        return isinstance(_get(config, path), int)
    except (KeyError, TypeError):
        return False


def _get(config: dict[str, Any], path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        node = node[part]
    return node


def _build(model_type: str, config: dict[str, Any]) -> dict[str, list[tuple[int, ...]]] | None:
    """Pattern -> shapes (in name order) of the non-LM parameters, or None if unbuildable."""
    from tests.conformance import tf_side as tf

    built = _built(model_type, config)
    if built is None:
        return None
    model, lm = built
    ids: set[int] = tf._module_ids(lm)
    for name in INSIDE:
        ids -= tf._module_ids(getattr(lm, name, None))
    for getter in ("get_input_embeddings", "get_output_embeddings"):
        with contextlib.suppress(Exception):
            ids |= tf._module_ids(getattr(model, getter)())
    groups: dict[str, list[tuple[int, ...]]] = {}
    for name, param in model.named_parameters():
        if id(param) in ids:
            continue
        groups.setdefault(_INDEX.sub(".*", name), []).append((name, tuple(param.shape)))
    return groups


def _mixed(runs: list[tuple[dict[str, int], Any]]) -> set[str]:
    """Patterns whose instances differ in shape in some build (a merger's mlp.0 and mlp.2)."""
    return {p for _, raw in runs for p, items in raw.items() if len({s for _, s in items}) > 1}


def _quantities(raw: dict[str, list[tuple[str, tuple[int, ...]]]], mixed: set[str]):
    """Per pattern (count, shape); a mixed pattern's tensors each under their own name."""
    out: dict[str, Any] = {}
    for pattern, items in raw.items():
        if pattern in mixed:
            for name, shape in items:
                out[name] = (1, shape)
        else:
            out[pattern] = (len(items), items[0][1])
    return out


# ----------------------------------------------------------------------------- variables


def _variables(config: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Dotted path -> (op, base value): integer keys ("key"), integer lists ("len"), and
    booleans ("bool"), at the root and one sub-config deep."""
    out: dict[str, tuple[str, Any]] = {}

    def visit(prefix: str, cfg: dict[str, Any]) -> None:
        for key in sorted(cfg):
            value = cfg[key]
            path = f"{prefix}{key}"
            if isinstance(value, bool):
                out[path] = ("bool", value)
            elif isinstance(value, int):
                out[path] = ("key", value)
            elif (
                isinstance(value, list)
                and value
                and len(value) <= 64
                and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            ):
                out[path] = ("len", len(value))
                if len(value) <= 4 and len(set(value)) == 1:
                    # an [h, w] size pair: its (common) value, moved as one
                    out[f"{path}[*]"] = ("item", value[0])
            elif isinstance(value, dict) and not prefix and "model_type" in value:
                visit(f"{path}.", value)

    visit("", config)
    return out


def _set(config: dict[str, Any], path: str, op: str, value: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(config)
    *parents, last = path.removesuffix("[*]").split(".")
    node = cfg
    for part in parents:
        node = node[part]
    if op == "item":
        node[last] = [value] * len(node[last])
    elif op == "len":
        old = node[last]
        node[last] = old[:value] if value <= len(old) else old + [old[-1]] * (value - len(old))
    else:
        node[last] = value
    return cfg


def _perturbed_values(op: str, base: int) -> list[int]:
    if op == "len":
        return [base + 1, base + 2, base + 3]
    if base >= 2:
        return [base * f for f in FACTORS]
    if base in (0, 1):
        return [base + 1, base + 2, base + 3, base + 5]
    return [base - 1, base - 2, base - 3]


# ----------------------------------------------------------------------------- fitting


def _eval(expr: dict[str, Any], env: dict[str, int]) -> Fraction | None:
    """The runtime's evaluator, mirrored (archlint/families/towers.py `evaluate`)."""
    value = Fraction(expr.get("b", 0))
    if "lin" in expr:
        for var, num, den in expr["lin"]:
            value += Fraction(num, den) * env[var]
        return value
    term = Fraction(expr["c"][0], expr["c"][1])
    for factor in expr.get("f", []):
        if factor[0] == "//":
            _, a, b, e, *off = factor
            if env[b] == 0:
                return None
            term *= Fraction(env[a] // env[b]) ** e + (off[0] if off else 0)
        else:
            var, e = factor
            if env[var] == 0 and e < 0:
                return None
            term *= Fraction(env[var]) ** e
    return value + term


def _candidates(moving: list[str], exps: dict[str, list[int]]) -> list[list[Any]]:
    """Factor lists for the product form: per moving key an exponent, a key with a negative
    exponent paired with one of the opposite exponent as floor division first."""
    out: list[list[Any]] = []
    for combo in product(*(exps[k] for k in moving)):
        plain = [[k, e] for k, e in zip(moving, combo, strict=True)]
        neg = [(k, e) for k, e in zip(moving, combo, strict=True) if e < 0]
        pos = [(k, e) for k, e in zip(moving, combo, strict=True) if e > 0]
        if neg and len(neg) == 1:
            kn, en = neg[0]
            for kp, ep in pos:
                if ep == -en:
                    rest = [[k, e] for k, e in zip(moving, combo, strict=True) if k not in (kn, kp)]
                    out.append([["//", kp, kn, ep], *rest])
                    # (a // b)**e + 1: a patch grid plus a class token inside a product
                    out.append([["//", kp, kn, ep, 1], *rest])
        out.append(plain)
    # b * (a // b): a width rounded down to a multiple (heads * (hidden // heads))
    for a in moving:
        for b in moving:
            rest = [k for k in moving if k not in (a, b)]
            if a == b or len(rest) > 2:
                continue
            for combo in product(*(exps[k] for k in rest)):
                tail = [[k, e] for k, e in zip(rest, combo, strict=True)]
                out.append([["//", a, b, 1], [b, 1], *tail])
    return out


def _solve_cb(points: list[tuple[dict[str, int], int]], factors: list[Any]) -> dict | None:
    """c and b of c * prod + b through the first two points with distinct products, checked
    on every point; b = 0 tried first."""
    base = {"c": [1, 1], "b": 0, "f": factors}
    prods = []
    for env, q in points:
        p = _eval(base, env)
        if p is None:
            return None
        prods.append((p, q))
    for want_zero_b in (True, False):
        for (p0, q0) in prods:
            if p0 == 0:
                continue
            if want_zero_b:
                c, b = Fraction(q0) / p0, Fraction(0)
            else:
                other = next(((p1, q1) for p1, q1 in prods if p1 != p0), None)
                if other is None:
                    continue
                p1, q1 = other
                c = Fraction(q1 - q0) / (p1 - p0)
                b = q0 - c * p0
            if b.denominator != 1 or c == 0:
                continue
            if all(c * p + b == q for p, q in prods):
                return {"c": [c.numerator, c.denominator], "b": int(b), "f": factors}
            break
    return None


def _solve_linear(points: list[tuple[dict[str, int], int]], moving: list[str]) -> dict | None:
    """sum(a_k * key_k) + b from one-at-a-time differences, checked on every point."""
    env0, q0 = points[0]
    coef: dict[str, Fraction] = {}
    for k in moving:
        for env, q in points[1:]:
            if env[k] != env0[k] and all(env[o] == env0[o] for o in env if o != k):
                coef[k] = Fraction(q - q0, env[k] - env0[k])
                break
        else:
            return None
    b = q0 - sum(coef[k] * env0[k] for k in moving)
    if b.denominator != 1:
        return None
    expr = {"lin": [[k, coef[k].numerator, coef[k].denominator] for k in moving], "b": int(b)}
    return expr if all(_eval(expr, env) == q for env, q in points) else None


def fit(points: list[tuple[dict[str, int], int]], keys: list[str]) -> dict | None:
    """The simplest expression of `keys` through every (env, value) point, or None."""
    env0, q0 = points[0]
    moving = [
        k for k in keys
        if any(env[k] != env0[k] and q != q0 and all(env[o] == env0[o] for o in keys if o != k)
               for env, q in points)
    ]
    if not moving:
        return {"c": [0, 1], "b": q0, "f": []} if all(q == q0 for _, q in points) else None
    if len(moving) > 4:
        return None
    exps = {k: list(EXPONENTS) for k in moving}
    for factors in _candidates(moving, exps):
        found = _solve_cb(points, factors)
        if found is not None:
            return found
    return _solve_linear(points, moving)


# ----------------------------------------------------------------------------- per type


def _role(module: str, deps: set[str]) -> str:
    subs = {d.split(".", 1)[0] for d in deps if "." in d}
    if len(subs) == 1:
        sub = next(iter(subs))
        if sub.endswith("_config") and sub != "text_config":
            return sub[: -len("_config")]
    low = module.lower()
    for hint, role in (("vision", "vision"), ("visual", "vision"), ("image", "vision"),
                       ("audio", "audio"), ("speech", "audio")):
        if hint in low:
            return role
    return "projector"


def _top_module(pattern: str) -> str:
    parts = pattern.split(".")
    if parts[0] in ("model", "thinker") and len(parts) > 1:
        parts = parts[1:]
    return parts[0]


def analyse(model_type: str) -> dict[str, Any]:
    from archlint.families import tf_tables
    from tests.conformance.run import defaults_candidate

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TYPE_TIMEOUT_S)
    # the harness's defaults candidate: completed where the defaults cannot build
    # (fixtures/zoo/SOURCES.json completions: HunyuanVL's None text head_dim)
    config = defaults_candidate(model_type, tf_tables.defaults_for(model_type) or {})[1]
    # a sub-config the wrapper leaves out by default (Gemma-4's vision_config is None) is
    # built from its own class's defaults, so that its modules are fitted too; the runtime
    # counts them only when the repo's config declares it (`optional_subs`)
    optional = []
    for sub, sub_type in sorted(tf_tables.sub_configs(model_type).items()):
        sub_type = sub_type or _sub_class_type(model_type, sub)
        defaults = tf_tables.defaults_for(sub_type) if sub_type else None
        if sub in config and config[sub] is None and defaults:
            config[sub] = {**defaults, "model_type": sub_type}
            optional.append(sub)
    try:
        INSIDE.clear()
        INSIDE.update(_towers_inside(model_type, config))
        result = _analyse(model_type, config)
        if optional and "error" not in result:
            result["optional_subs"] = optional
        return result
    except NoLanguageModel:
        return {"error": "no language model (get_decoder) to tell the towers from"}
    except TypeTimeout:
        return {"error": f"timed out after {TYPE_TIMEOUT_S} s"}
    finally:
        signal.alarm(0)


def _observe(model_type: str, config: dict[str, Any], variables: dict[str, tuple[str, Any]],
             keys: list[str], base_env: dict[str, int]):
    """Builds: the base, then each key one at a time, then all moving keys together.
    Returns [(env, quantities)] and the keys that moved something."""
    base = _build(model_type, config)
    if base is None:
        return None, []
    runs = [(dict(base_env), base)]
    moved: list[str] = []
    for key in keys:
        op, value = variables[key]
        ok = 0
        for new in _perturbed_values(op, value):
            q = _build(model_type, _set(config, key, op, new))
            if q is None:
                continue
            env = dict(base_env)
            env[key] = new
            runs.append((env, q))
            ok += 1
            if q != base and key not in moved:
                moved.append(key)
            if ok >= (2 if key in moved else 1):
                break
    for factor_index in (0, 1):
        cfg, env = config, dict(base_env)
        for key in moved:
            op, value = variables[key]
            new = _perturbed_values(op, value)[factor_index]
            cfg, env[key] = _set(cfg, key, op, new), new
        q = _build(model_type, cfg) if moved else None
        if q is not None:
            runs.append((env, q))
            break
    return runs, moved


def _fit_groups(raw_runs, keys: list[str]) -> dict[str, dict[str, Any]]:
    mixed = _mixed(raw_runs)
    runs = [(env, _quantities(raw, mixed)) for env, raw in raw_runs]
    patterns = sorted({p for _, q in runs for p in q})
    out: dict[str, dict[str, Any]] = {}
    base = runs[0][1]
    for pattern in patterns:
        entry: dict[str, Any] = {}
        present = [(env, q[pattern]) for env, q in runs if pattern in q]
        base_val = base.get(pattern)
        if base_val is None:
            entry["fitted"] = False
        else:
            count_pts = [(env, q[pattern][0] if pattern in q else 0) for env, q in runs]
            count = fit(count_pts, keys)
            shape = base_val[1]
            same_rank = [(env, v) for env, v in present if len(v[1]) == len(shape)]
            dims = [fit([(env, v[1][i]) for env, v in same_rank], keys)
                    for i in range(len(shape))]
            # a build where the tensor's rank changed (a patch_size list grown by one: a 5-D
            # conv) is no point of a dim's fit: the fit then holds only at the keys' base
            # values (`fixed`)
            base_env = runs[0][0]
            moved_in = [[k for k in keys if env[k] != base_env[k]] for env, _ in present]
            fixed = sorted({ks[0] for ks, (_, v) in zip(moved_in, present, strict=True)
                            if len(v[1]) != len(shape) and len(ks) == 1})
            if count is None or any(d is None for d in dims):
                entry["fitted"] = False
            else:
                entry.update(count=count, dims=dims)
                if fixed:
                    entry["fixed"] = {k: base_env[k] for k in fixed}
        entry["base_params"] = base_val[0] * _numel(base_val[1]) if base_val else 0
        out[pattern] = entry
    return out


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _deps(expr: dict[str, Any] | None) -> set[str]:
    if not expr:
        return set()
    if "lin" in expr:
        return {t[0] for t in expr["lin"]}
    out: set[str] = set()
    for f in expr.get("f", []):
        out.update(f[1:3] if f[0] == "//" else f[:1])
    return out


def _sub_class_type(model_type: str, sub: str) -> str | None:
    """The model_type of the class transformers builds a sub-config with (the table of
    defaults names none where the default sub-config is None)."""
    from transformers import CONFIG_MAPPING

    cls = (getattr(CONFIG_MAPPING[model_type], "sub_configs", None) or {}).get(sub)
    name = getattr(cls, "model_type", None)
    return name if isinstance(name, str) and name else None


def _flags(model_type: str, config: dict[str, Any], variables: dict[str, tuple[str, Any]],
           runs: list[Any], groups: dict[str, dict[str, Any]], moved: list[str],
           ints: list[str], base_env: dict[str, int]) -> dict[str, Any]:
    """Flip every boolean: groups present under one value only get a `when`; new groups are
    fitted around the flipped build; a flag that reshapes a group is a requirement."""
    mixed = _mixed(runs)
    base_q = _quantities(runs[0][1], mixed)
    requires: dict[str, Any] = {}
    for key, (op, value) in variables.items():
        if op != "bool":
            continue
        flipped_cfg = _set(config, key, "key", not value)
        flipped_raw = _build(model_type, flipped_cfg)
        if flipped_raw is None or flipped_raw == runs[0][1]:
            continue
        flipped = _quantities(flipped_raw, mixed | _mixed([({}, flipped_raw)]))
        for pattern in sorted(set(base_q) | set(flipped)):
            if pattern not in groups and pattern in base_q:
                continue
            if pattern in base_q and pattern not in flipped:
                groups[pattern].setdefault("when", []).append([key, value])
            elif pattern in base_q and flipped[pattern] != base_q[pattern]:
                requires[key] = value
        new = sorted(set(flipped) - set(base_q))
        if new:
            # the flag adds modules: fit them around the flipped build, on the keys that
            # move the rest of the model
            sub_runs, _ = _observe(model_type, flipped_cfg, variables, moved, base_env)
            if sub_runs is not None:
                sub_groups = _fit_groups(sub_runs, ints)
                for pattern in new:
                    entry = sub_groups.get(pattern, {"fitted": False, "base_params": 0})
                    entry["when"] = [[key, not value]]
                    entry["base_params"] = 0
                    groups[pattern] = entry
    return requires


def _analyse(model_type: str, config: dict[str, Any]) -> dict[str, Any]:
    variables = _variables(config)
    ints = [k for k, (op, _) in variables.items() if op in ("key", "len", "item")]
    base_env = {k: variables[k][1] for k in ints}
    runs, moved = _observe(model_type, config, variables, ints, base_env)
    if runs is None:
        return {"error": "transformers cannot build the default config"}
    groups = _fit_groups(runs, ints)
    requires = _flags(model_type, config, variables, runs, groups, moved, ints, base_env)
    modules: dict[str, dict[str, Any]] = {}
    for pattern, entry in groups.items():
        modules.setdefault(_top_module(pattern), {})[pattern] = entry
    out_modules = {}
    for name, pats in sorted(modules.items()):
        deps: set[str] = set()
        for entry in pats.values():
            deps |= _deps(entry.get("count"))
            for d in entry.get("dims", []):
                deps |= _deps(d)
        out_modules[name] = {"role": _role(name, deps), "groups": pats}
    used = sorted(
        {d for m in out_modules.values() for e in m["groups"].values()
         for x in [e.get("count"), *e.get("dims", [])] for d in _deps(x)}
        | {w[0] for m in out_modules.values() for e in m["groups"].values()
           for w in e.get("when", [])}
        | {k for m in out_modules.values() for e in m["groups"].values()
           for k in e.get("fixed", {})}
    )
    from archlint.families import tf_tables

    return {
        "vars": {k: variables[k][0] for k in used},
        "requires": requires,
        "subs": {k: v.get("model_type") for k, v in sorted(config.items())
                 if isinstance(v, dict) and "model_type" in v},
        "class": _class_name(model_type, config, tf_tables),
        "modules": out_modules,
    }


def _class_name(model_type: str, config: dict[str, Any], tf_tables: Any) -> str | None:
    from tests.conformance import tf_side as tf

    return tf.model_class_for(tf_tables.model_classes(model_type), "multimodal", config)


def tie_facts(model_type: str) -> dict[str, Any] | None:
    """Whether a wrapper's output head is tied to its token table, measured on its model
    built on the meta device (`get_output_embeddings().weight is get_input_embeddings()
    .weight`) for every combination of the root `tie_word_embeddings` (not stated, False,
    True) and text_config's (False, True): keys "<root>/<text>" with root "-" for not stated,
    text "-" for a wrapper with no text_config (its language model reads the root keys).
    Where the head is decided (the top-level config, a text config it forwards, the language
    model's own config inside the wrapper) is transformers' business; the table is what it
    does. None where the class cannot be built from its defaults."""
    import torch
    from transformers import CONFIG_MAPPING

    from archlint.families import tf_tables
    from tests.conformance import tf_side as tf

    out: dict[str, bool] = {}
    try:
        cls = CONFIG_MAPPING[model_type]
        base = cls().to_dict()
        text = base.get("text_config")
        # the class the harness counts (Audio Flamingo 3's is no multimodal_lm class); a
        # wrapper whose language model reads the root keys (Evolla, Idefics) has no text
        # value: its key is "<root>/-"
        name = tf.model_class_for(tf_tables.model_classes(model_type), "multimodal")
        if name is None:
            return None
        import transformers

        model_cls = getattr(transformers, name)
        for root in ("-", False, True):
            for text_tie in ((False, True) if isinstance(text, dict) else ("-",)):
                cfg = {k: v for k, v in base.items() if k != "tie_word_embeddings"}
                if isinstance(text, dict):
                    cfg["text_config"] = {**text, "tie_word_embeddings": text_tie}
                if root != "-":
                    cfg["tie_word_embeddings"] = root
                with torch.device("meta"):
                    model = model_cls(cls(**cfg))
                head, table = _head_of(model), _table_of(model)
                if head is None or table is None:
                    return None  # no head to tie (ViLT)
                out[f"{str(root).lower()}/{str(text_tie).lower()}"] = head.weight is table.weight
    except Exception:
        return None
    return out


def _table_of(model: Any) -> Any:
    """The token table: the model's own, else its language model's (PP-FormulaNet's model
    does not resolve get_input_embeddings; its decoder does)."""
    from tests.conformance import tf_side as tf

    try:
        return model.get_input_embeddings()
    except Exception:
        lm = tf._language_model(model)
        return lm.get_input_embeddings() if lm is not None else None


def _head_of(model: Any) -> Any:
    """The output head: the model's own, else its one child's that has one (Nemotron-H-Omni
    keeps it in `language_model`, a NemotronHForCausalLM)."""
    head = model.get_output_embeddings()
    if head is not None:
        return head
    heads = [
        child.get_output_embeddings() for _, child in model.named_children()
        if hasattr(child, "get_output_embeddings")
    ]
    heads = [h for h in heads if h is not None]
    return heads[0] if len(heads) == 1 else None


def _write_tie(out: Path) -> int:
    from archlint.families import tf_tables

    table = json.loads(gzip.decompress(out.read_bytes()))
    seen = 0
    for model_type in tf_tables.model_types():
        if tf_tables.category(model_type) != "multimodal":
            continue
        facts = tie_facts(model_type)
        entry = table["types"].setdefault(model_type, {})
        entry.pop("tie", None)
        if facts is not None:
            entry["tie"] = facts
            seen += 1
    raw = json.dumps(table, sort_keys=True, separators=(",", ":")).encode()
    out.write_bytes(gzip.compress(raw, mtime=0))
    _write_names(out)
    print(f"tie facts for {seen} wrapper types")
    return 0


def _write_names(out: Path) -> None:
    """The entry names beside the table (archlint.families.towers.NAMES): a text model's
    report then skips the table's decompression."""
    from archlint.families.towers import NAMES, names_of

    names = json.dumps(names_of(out.read_bytes()), separators=(",", ":"))
    out.with_name(NAMES).write_text(names + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--merge", action="store_true", help="with --only: update those types")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the table")
    parser.add_argument("--tie", action="store_true", help="only rewrite the tying facts")
    args = parser.parse_args(argv)
    if args.tie:
        _quiet()
        return _write_tie(args.out)
    import transformers

    from archlint.families import tf_tables

    types = args.only or [t for t in tf_tables.model_types()
                          if tf_tables.category(t) == "multimodal"]
    with Pool(args.workers, initializer=_quiet, maxtasksperchild=8) as pool:
        results = dict(zip(types, pool.map(analyse, types, chunksize=1), strict=True))
    for model_type, result in results.items():
        facts = tie_facts(model_type)
        if facts is not None:
            result["tie"] = facts
    if args.only and not args.merge:
        print(json.dumps(results, indent=1, sort_keys=True))
        return 0
    if args.merge:
        # a partial rerun into the existing table (the full run rewrites every type)
        old = json.loads(gzip.decompress(args.out.read_bytes()))["types"]
        results = {**old, **results}
    table = {"transformers_version": transformers.__version__, "types": results}
    raw = json.dumps(table, sort_keys=True, separators=(",", ":")).encode()
    args.out.write_bytes(gzip.compress(raw, mtime=0))
    _write_names(args.out)
    errors = sorted(t for t, r in results.items() if "error" in r)
    print(f"{len(results)} types, {len(errors)} not built: {' '.join(errors)}; "
          f"{args.out.stat().st_size} bytes")
    return 0


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    import logging

    logging.disable(logging.WARNING)
    import transformers

    transformers.logging.set_verbosity_error()


if __name__ == "__main__":
    raise SystemExit(main())
