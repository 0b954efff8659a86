"""Vision and audio towers of multimodal models, their projectors, and every other module
outside the language model.

The first source is the generated tower table (`scripts/gen_tower_table.py` writes
`tower_table.json.gz` from transformers' own modules): per multimodal wrapper type, every
non-language parameter group (`model.vision_tower.encoder.layers.*.mlp.fc1.weight`) with its
tensor count and each dim as a small expression of config keys (dotted paths:
`vision_config.hidden_size`), fitted by perturbing the keys and rebuilding the model, and
checked on every build. Here those expressions are evaluated on the repo's config (data, never
code: the only operations are products, powers, floor division and sums), a key the config
omits taking transformers' default: the sub-config class's for a sub-config the repo declares,
the wrapper's own default sub-config for one it omits (LLaVA builds a CLIP-L/336, not
CLIPVisionConfig()'s ViT-B).

Where the table does not apply (a type it lacks, or a sub-config of another model type than
the one it was fitted on), the hand formulas below are used, named per encoder; an encoder
with none is estimated with the plain ViT formula and marked `understood=False` (with headers,
the tensor table counts it exactly).

Letters: h = tower hidden size, I = its MLP width, L = layers, C = input channels,
p = patch size, t = text hidden size.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from typing import Any

from archlint.families import tf_tables
from archlint.families.sidecar import gzip_crc32, read_sidecar
from archlint.spec import TowerSpec

#: wrapper keys the tower reader consumes (for the coverage block)
TOWER_KEYS = (
    "vision_config",
    "audio_config",
    "projector_hidden_act",
    "multimodal_projector_bias",
    "spatial_merge_size",
    "vision_feature_layer",
    "vision_feature_select_strategy",
    "mm_tokens_per_image",
)


class TowerConfig:
    """A sub-config with transformers' defaults behind it."""

    def __init__(
        self, config: dict[str, Any], fallback_type: str | None, wrapper_default: Any = None
    ) -> None:
        self.config = config
        wrapped = wrapper_default if isinstance(wrapper_default, dict) else {}
        self.model_type = str(
            config.get("model_type") or wrapped.get("model_type") or fallback_type or "unknown"
        )
        # the wrapper's own default sub-config first (LLaVA builds a CLIP-L/336, not
        # CLIPVisionConfig()'s ViT-B), then the sub-config class's defaults
        self.defaults = {**(tf_tables.defaults_for(self.model_type) or {}), **wrapped}

    def get(self, *keys: str, default: Any = 0) -> Any:
        for key in keys:
            value = self.config.get(key)
            if value is not None:
                return value
        for key in keys:
            value = self.defaults.get(key)
            if value is not None:
                return value
        return default

    def int(self, *keys: str, default: int = 0) -> int:
        value = self.get(*keys, default=default)
        if isinstance(value, (list, tuple)) and value:
            value = value[0]
        return value if isinstance(value, int) and not isinstance(value, bool) else default


def _layer(h: int, mlp: int, *, gated: bool, bias: bool, norm_bias: bool) -> int:
    """One pre-norm encoder block: two norms, q/k/v/o, and a (gated) MLP."""
    norms = 2 * (2 * h if norm_bias else h)
    attention = 4 * h * h + (4 * h if bias else 0)
    if gated:
        ffn = 3 * h * mlp + ((2 * mlp + h) if bias else 0)
    else:
        ffn = 2 * h * mlp + ((mlp + h) if bias else 0)
    return norms + attention + ffn


def clip_like(v: TowerConfig) -> int:
    """CLIP / SigLIP vision transformers (modeling_clip, modeling_siglip): a patch conv
    (C·p²·h; SigLIP adds a bias), a learned position table ((image/p)² positions, +1 and a
    class embedding for CLIP), CLIP's pre-LayerNorm, L blocks with biased projections and a
    GELU MLP, a post-LayerNorm, and SigLIP's attention-pooling head when `vision_use_head`."""
    h, mlp, layers = v.int("hidden_size"), v.int("intermediate_size"), v.int("num_hidden_layers")
    patch, image = v.int("patch_size"), v.int("image_size")
    channels = v.int("num_channels", default=3)
    clip = v.model_type.startswith("clip")
    positions = (image // patch) ** 2 if patch else 0
    total = channels * patch * patch * h + (0 if clip else h)
    total += (positions + 1) * h + h if clip else positions * h
    total += 2 * h if clip else 0  # pre_layrnorm
    total += layers * _layer(h, mlp, gated=False, bias=True, norm_bias=True)
    total += 2 * h  # post_layernorm
    if not clip and v.get("vision_use_head", default=True):
        total += h + (3 * h * h + 3 * h) + (h * h + h) + 2 * h + (2 * h * mlp + mlp + h)
    return total


def pixtral(v: TowerConfig) -> int:
    """Pixtral (modeling_pixtral): an unbiased patch conv, an RMSNorm before the blocks, L
    blocks with RMSNorms, unbiased q/k/v/o and a gated SiLU MLP; RoPE, no position table."""
    h, mlp, layers = v.int("hidden_size"), v.int("intermediate_size"), v.int("num_hidden_layers")
    patch, channels = v.int("patch_size"), v.int("num_channels", default=3)
    return channels * patch * patch * h + h + layers * _layer(
        h, mlp, gated=True, bias=False, norm_bias=False
    )


def qwen_vl(v: TowerConfig) -> int:
    """Qwen2.5-VL's vision encoder (modeling_qwen2_5_vl): an unbiased 3-D patch conv
    (C·t·p²·h), L blocks with RMSNorms, a biased fused qkv and proj, a biased gated MLP, and
    the patch merger (an RMSNorm, then h·m² → h·m² → out, biased)."""
    h, mlp, layers = v.int("hidden_size"), v.int("intermediate_size"), v.int("depth")
    patch, temporal = v.int("patch_size"), v.int("temporal_patch_size", default=2)
    channels, merge = v.int("in_channels", default=3), v.int("spatial_merge_size", default=2)
    out = v.int("out_hidden_size")
    merged = h * merge * merge
    merger = h + (merged * merged + merged) + (merged * out + out)
    return channels * temporal * patch * patch * h + layers * _layer(
        h, mlp, gated=True, bias=True, norm_bias=False
    ) + merger


ENCODERS: dict[str, Callable[[TowerConfig], int]] = {
    "clip_vision_model": clip_like,
    "siglip_vision_model": clip_like,
    "pixtral": pixtral,
    "qwen2_5_vl_vision": qwen_vl,
}


def _generic(v: TowerConfig) -> int:
    """An encoder without its own formula: L plain ViT blocks at (h, I) plus a patch conv."""
    h = v.int("hidden_size", "embed_dim", "d_model")
    mlp = v.int("intermediate_size", "encoder_ffn_dim", default=4 * h)
    layers = v.int("num_hidden_layers", "depth", "encoder_layers", "num_layers")
    patch, channels = v.int("patch_size"), v.int("num_channels", "in_channels", default=3)
    return channels * patch * patch * h + layers * _layer(
        h, mlp, gated=False, bias=True, norm_bias=True
    )


def projector(wrapper: str, root: dict[str, Any], vision_h: int, text_h: int) -> int | None:
    """The module that maps tower features into the language model, per wrapper type."""
    defaults = tf_tables.defaults_for(wrapper) or {}

    def flag(key: str, default: bool) -> bool:
        value = root.get(key, defaults.get(key, default))
        return bool(value)

    if wrapper in ("llava", "llava_next", "llava_onevision"):
        # linear_1 (vision → text) → GELU → linear_2 (text → text)
        bias = flag("multimodal_projector_bias", True)
        return vision_h * text_h + text_h * text_h + (2 * text_h if bias else 0)
    if wrapper == "gemma3":
        return vision_h * text_h + vision_h  # mm_input_projection_weight + mm_soft_emb_norm
    if wrapper == "mistral3":
        merge = int(root.get("spatial_merge_size", defaults.get("spatial_merge_size", 2)) or 2)
        bias = flag("multimodal_projector_bias", False)
        return (
            vision_h
            + vision_h * merge * merge * vision_h
            + vision_h * text_h
            + text_h * text_h
            + (2 * text_h if bias else 0)
        )
    return None


TABLE = "tower_table.json.gz"
#: The table's entry names beside it (`names_of`, written by scripts/gen_tower_table.py), with
#: the CRC-32 its gzip trailer carries (`sidecar`): a text model learns it is no wrapper without the
#: 1.5 MB decompression (~2-5 ms a report).
NAMES = "tower_table.names.json"
#: bounds on a config value an expression reads (repo text is untrusted): larger ints or
#: longer lists are not sizes, and the module is then marked an estimate
MAX_INT = 10**9
MAX_LIST = 4096
#: bounds on what an evaluated count may be (a product of untrusted ints)
MAX_COUNT = 10**15


@lru_cache(maxsize=1)
def _table_bytes() -> bytes:
    return resources.files(__package__).joinpath(TABLE).read_bytes()


@lru_cache(maxsize=1)
def _table_text() -> bytes:
    return gzip.decompress(_table_bytes())


def names_of(compressed: bytes) -> dict[str, Any]:
    """The names file of a gzipped table: its entry names and the CRC-32 of the uncompressed
    text, which says which table bytes the names belong to (`sidecar`)."""
    types = json.loads(gzip.decompress(compressed)).get("types", {})
    return {"crc32": gzip_crc32(compressed),
            "types": sorted(k for k, v in types.items() if isinstance(v, dict))}


@lru_cache(maxsize=1)
def _names() -> frozenset[str] | None:
    """The entry names, or None when the names file is missing or belongs to other bytes."""
    data = read_sidecar(__package__, NAMES, _table_bytes())
    if data is None or not isinstance(data.get("types"), list):
        return None
    return frozenset(data["types"])


@lru_cache(maxsize=1)
def _tower_table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_table_text())
    return data


@lru_cache(maxsize=1024)  # bounded: model types are repo text
def _may_hold(wrapper: str) -> bool:
    """Whether the table's text holds `wrapper` JSON-encoded as a key with an object value,
    as every entry it holds is. Most models are no wrapper: for them the 1.5 MB decode
    (~40-80 ms, BENCHMARKS.md cold start) is skipped, and the scan of the text (~1 ms) is made
    once per type. A bare occurrence is not enough: the common text types (llama, mistral,
    qwen2, ...) appear as values, the wrappers' `subs` text configs. The names file answers
    first, when it belongs to these table bytes."""
    names = _names()
    if names is not None and wrapper not in names:
        return False
    key = re.escape(json.dumps(wrapper).encode()) + rb"\s*:\s*\{"
    return re.search(key, _table_text()) is not None


def table_entry(wrapper: str) -> dict[str, Any] | None:
    """The generated entry of a wrapper type (None if the table lacks it or could not build
    it)."""
    if not _may_hold(wrapper):
        return None
    entry = _tower_table().get("types", {}).get(wrapper)
    return entry if isinstance(entry, dict) and "modules" in entry else None


def _valid_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INT


class _Env:
    """Config values by dotted path, with transformers' defaults behind the repo's values."""

    def __init__(self, config: dict[str, Any], wrapper: str, entry: dict[str, Any]) -> None:
        self.config = config
        self.wrapper = wrapper
        self.wrapper_defaults = tf_tables.defaults_for(wrapper) or {}
        self.subs: dict[str, str] = dict(entry.get("subs") or {})
        self.valid = True  # False once a value was out of range (the default used instead)

    def sub_type(self, sub: str) -> str | None:
        """The model type the repo's sub-config builds: its own when that is another known
        type, else the wrapper's default (older Qwen2.5-VL configs name the wrapper's type
        in vision_config, which transformers builds as its vision config all the same)."""
        raw = self.config.get(sub)
        named = raw.get("model_type") if isinstance(raw, dict) else None
        if isinstance(named, str) and named != self.wrapper and tf_tables.known(named):
            return named
        return self.subs.get(sub)

    def _lookup(self, path: str) -> Any:
        if "." not in path:
            value = self.config.get(path)
            return self.wrapper_defaults.get(path) if value is None else value
        sub, key = path.split(".", 1)
        raw = self.config.get(sub)
        if isinstance(raw, dict):
            value = raw.get(key)
            if value is None:
                sub_type = self.sub_type(sub)
                for alias, canonical in tf_tables.attribute_map(sub_type or "").items():
                    if canonical == key and raw.get(alias) is not None:
                        return raw.get(alias)
                if key in tf_tables.derived_keys(sub_type or ""):
                    return self._derived(sub, key, raw)
                value = (tf_tables.defaults_for(sub_type or "") or {}).get(key)
            return value
        default = self.wrapper_defaults.get(sub)
        return default.get(key) if isinstance(default, dict) else None

    def _derived(self, sub: str, key: str, raw: dict[str, Any]) -> Any:
        """A key the sub-config omits whose default transformers computes from another
        (ViT's `pooler_output_size = pooler_output_size or hidden_size`, Wav2Vec2's
        `output_hidden_size`): the table was fitted with it held at the default config's
        value, so it follows the one sibling key of the same default value (the repo's
        value of that key). Several or none: the fitted value, marked an estimate when any
        candidate differs from its default."""
        fitted = self.wrapper_defaults.get(sub)
        fitted = fitted if isinstance(fitted, dict) else {}
        value = fitted.get(key)
        if not _valid_int(value):
            return None
        siblings = [
            k for k, v in fitted.items()
            if k != key and _valid_int(v) and v == value and k not in tf_tables.derived_keys(
                self.sub_type(sub) or ""
            )
        ]
        if len(siblings) == 1:
            declared = raw.get(siblings[0])
            return declared if _valid_int(declared) else value
        if any(_valid_int(raw.get(k)) and raw.get(k) != value for k in siblings):
            self.valid = False
        return value

    def _default(self, path: str) -> Any:
        if "." not in path:
            return self.wrapper_defaults.get(path)
        sub, key = path.split(".", 1)
        default = self.wrapper_defaults.get(sub)
        return default.get(key) if isinstance(default, dict) else None

    def value(self, path: str, op: str) -> int | bool:
        """The value of a table variable: a key ("key"), a list's length ("len"), the common
        value of a size pair ("item", named `path[*]`), a flag ("bool")."""
        path = path.removesuffix("[*]")
        raw = self._lookup(path)
        if op == "item":
            if isinstance(raw, list) and raw and len(raw) <= MAX_LIST:
                if len(set(map(repr, raw))) != 1:
                    self.valid = False  # a non-square pair: the table was fitted on squares
                raw = raw[0]
            elif raw is not None and not _valid_int(raw):
                raw = None
            op = "key"
        if op == "bool":
            if raw is None:
                raw = self._default(path)
            return bool(raw)
        if op == "len":
            if isinstance(raw, list) and len(raw) <= MAX_LIST:
                return len(raw)
            fallback = self._default(path)
            self.valid = self.valid and raw is None
            return len(fallback) if isinstance(fallback, list) else 0
        if _valid_int(raw):
            return int(raw)
        if isinstance(raw, (list, tuple)) and raw and _valid_int(raw[0]):
            return int(raw[0])  # an [h, w] image size: square images, as the table was fitted
        fallback = self._default(path)
        if isinstance(fallback, list) and fallback:
            fallback = fallback[0]
        self.valid = self.valid and raw is None
        return int(fallback) if _valid_int(fallback) else 0


def evaluate(expr: Any, env: dict[str, int | bool]) -> int | None:
    """An expression of the table: {"c": [num, den], "f": [[key, e] | ["//", a, b, e(, o)]],
    "b": int} is c * prod(factors) + b, a "//" factor being (a // b)**e + o;
    {"lin": [[key, num, den]], "b": int} is sum(num/den * key) + b. None when it is not a
    non-negative integer in range (a zero divisor, a fraction, a negative or huge count)."""
    if not isinstance(expr, dict):
        return None
    try:
        value = Fraction(int(expr.get("b", 0)))
        if "lin" in expr:
            for var, num, den in expr["lin"]:
                value += Fraction(int(num), int(den)) * int(env[var])
        else:
            num, den = expr["c"]
            term = Fraction(int(num), int(den))
            for factor in expr.get("f", []):
                if factor[0] == "//":
                    _, a, b, e, *off = factor
                    if int(env[b]) == 0 or not -3 <= int(e) <= 3 or len(off) > 1:
                        return None
                    term *= Fraction(int(env[a]) // int(env[b])) ** int(e) + int(
                        off[0] if off else 0
                    )
                else:
                    var, e = factor
                    if (int(env[var]) == 0 and int(e) < 0) or not -3 <= int(e) <= 3:
                        return None
                    term *= Fraction(int(env[var])) ** int(e)
            value += term
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if value.denominator != 1 or not 0 <= value <= MAX_COUNT:
        return None
    return int(value)


def _module_name(pattern: str) -> str:
    """The wrapper's top-level module a parameter belongs to (`model.` / `thinker.` off)."""
    parts = pattern.split(".")
    if parts[0] in ("model", "thinker") and len(parts) > 1:
        parts = parts[1:]
    return parts[0]


def table_towers(
    config: dict[str, Any], wrapper: str, language: str = "text_config"
) -> list[TowerSpec] | None:
    """The wrapper's non-language modules from the generated table, one TowerSpec per
    top-level module; None where the table does not apply (the caller falls back to the
    hand formulas). `language`: the sub-config of the language model (a composite's
    `decoder`), whose type does not change the towers' layout."""
    entry = table_entry(wrapper)
    if entry is None:
        return None
    env_reader = _Env(config, wrapper, entry)
    for sub, fitted_type in env_reader.subs.items():
        if sub == language:
            continue
        if env_reader.sub_type(sub) != fitted_type:
            return None  # another encoder than the table's: other tensors
    env: dict[str, int | bool] = {
        var: env_reader.value(var, op) for var, op in (entry.get("vars") or {}).items()
    }
    requires_ok = all(
        env_reader.value(key, "bool") == want for key, want in (entry.get("requires") or {}).items()
    )
    # a sub-config the wrapper builds only when declared (Gemma-4's vision_config defaults to
    # None): its modules were fitted on the sub-config class's defaults, and count only here
    absent = tuple(
        f"{sub}."
        for sub in entry.get("optional_subs") or ()
        if not isinstance(config.get(sub), dict)
    )
    towers: list[TowerSpec] = []
    for module, body in sorted((entry.get("modules") or {}).items()):
        params, exact, layers = 0, requires_ok and env_reader.valid, 0
        groups = list((body.get("groups") or {}).values())
        if absent and any(v.startswith(absent) for g in groups for v in _group_vars(g)):
            continue  # a module of an undeclared sub-config (its embedder with it)
        for group in groups:
            if not all(bool(env.get(key)) == bool(want) for key, want in group.get("when", [])):
                continue
            fixed = group.get("fixed") or {}
            if any(env.get(key) != want for key, want in fixed.items()):
                exact = False  # fitted only at these values (another value changes the rank)
                params += int(group.get("base_params") or 0)
                continue
            count = evaluate(group.get("count"), env) if "count" in group else None
            dims = [evaluate(d, env) for d in group.get("dims", [])]
            if count is None or any(d is None for d in dims):
                exact = False
                params += int(group.get("base_params") or 0)
                continue
            numel = count
            for d in dims:
                numel *= d or 0
            params += numel
            layers = max(layers, count)  # the deepest repeated group: the layer count
        if not params:
            continue
        role = str(body.get("role") or "projector")
        sub = f"{role}_config"
        hidden = env_reader.value(f"{sub}.hidden_size", "key") if sub in env_reader.subs else 0
        towers.append(
            TowerSpec(
                name=role,
                kind=(env_reader.sub_type(sub) or module) if sub in env_reader.subs else module,
                params=params,
                num_layers=layers if role != "projector" else 0,
                hidden_size=hidden if isinstance(hidden, int) else 0,
                understood=exact,
            )
        )
    # towers first (vision, audio, ...), then what joins them to the language model
    towers.sort(key=lambda t: (t.name == "projector", t.name, t.kind))
    return towers


def _group_vars(group: dict[str, Any]) -> set[str]:
    """The variables a table group reads (its count, dims, conditions, fixed values)."""
    out: set[str] = {str(w[0]) for w in group.get("when", []) if w}
    out.update(str(k) for k in group.get("fixed") or {})
    for expr in [group.get("count"), *group.get("dims", [])]:
        if not isinstance(expr, dict):
            continue
        for term in expr.get("lin", []):
            out.add(str(term[0]))
        for factor in expr.get("f", []):
            out.update(str(x) for x in (factor[1:3] if factor[0] == "//" else factor[:1]))
    return out


def wrapper_tie(config: dict[str, Any]) -> bool | None:
    """Whether a multimodal wrapper's output head is tied to its token table, as transformers
    decides it. Where it is decided differs by wrapper class: the top-level model's lm_head by
    the wrapper's own `tie_word_embeddings` (Mistral3, Mllama), a True in text_config
    forwarded to it (configuration_llava and its kin, for pre-v5 saves), or a language model
    inside the wrapper by its own text config (BLIP-2). The tower table holds what transformers
    does, measured per wrapper class on its meta-built model for each root value (not
    stated, False, True) and text value (`scripts/gen_tower_table.py --tie`); the declared
    values (text_config's, else its class default) look it up. A wrapper the table has no such
    facts for: the root key (else the class default), or a True in text_config, except where
    a default instance holding False over a text config defaulting to True shows no
    forwarding (Qwen3-VL-MoE's, Qwen2.5-Omni's thinker config). None for a config that is no
    multimodal wrapper, or one whose head the table cannot decide."""
    wrapper = config.get("model_type")
    if not isinstance(wrapper, str) or tf_tables.category(wrapper) != "multimodal":
        return None
    defaults = tf_tables.defaults_for(wrapper) or {}
    root = config.get("tie_word_embeddings")
    text = config.get("text_config")
    if not isinstance(text, dict) and not isinstance(defaults.get("text_config"), dict):
        # a language model on the wrapper's root keys (Evolla, IDEFICS): measured per root
        # value alone, else the root key decides as for any model (None: the caller reads it)
        measured = _tie_facts(wrapper) or {}
        return measured.get(f"{str(root).lower() if isinstance(root, bool) else '-'}/-")
    text_tie = text.get("tie_word_embeddings") if isinstance(text, dict) else None
    if not isinstance(text_tie, bool):
        default_text = defaults.get("text_config")
        if isinstance(default_text, dict):
            text_tie = default_text.get("tie_word_embeddings")
    measured = _tie_facts(wrapper)
    if measured is not None and isinstance(text_tie, bool):
        key = f"{str(root).lower() if isinstance(root, bool) else '-'}/{str(text_tie).lower()}"
        return measured.get(key)
    if not isinstance(root, bool):
        root = defaults.get("tie_word_embeddings")
    if not isinstance(root, bool):
        return None
    default_text = defaults.get("text_config")
    if (
        defaults.get("tie_word_embeddings") is False
        and isinstance(default_text, dict)
        and default_text.get("tie_word_embeddings") is True
    ):
        return root
    return root or text_tie is True


def _tie_facts(wrapper: str) -> dict[str, bool] | None:
    entry = _tower_table().get("types", {}).get(wrapper)
    facts = entry.get("tie") if isinstance(entry, dict) else None
    if not isinstance(facts, dict):
        return None
    return {k: v for k, v in facts.items() if isinstance(k, str) and isinstance(v, bool)}


def read_towers(
    config: dict[str, Any], text_hidden: int, *, table: bool = True
) -> list[TowerSpec]:
    """The towers a wrapper config declares (or its class builds by default). `table=False`
    reads the sub-configs with the encoder formulas alone: for a sub-config an adapter lifts
    out of a larger model (T5Gemma2's encoder.vision_config, a composite's encoder), where the
    wrapper's table entry, fitted on the whole model, does not apply."""
    wrapper = config.get("model_type")
    if not isinstance(wrapper, str):
        return []
    from_table = table_towers(config, wrapper) if table else None
    if from_table is not None:
        return from_table
    subs = tf_tables.sub_configs(wrapper)
    towers: list[TowerSpec] = []
    for key, name in (("vision_config", "vision"), ("audio_config", "audio")):
        raw = config.get(key)
        if key not in subs and not isinstance(raw, dict):
            continue
        # a declared sub-config is built from its type's class defaults; an absent one is the
        # wrapper's default sub-config (LLaVA's CLIP-L/336)
        sub = TowerConfig(
            raw if isinstance(raw, dict) else {},
            subs.get(key),
            None if isinstance(raw, dict) else (tf_tables.defaults_for(wrapper) or {}).get(key),
        )
        formula = ENCODERS.get(sub.model_type)
        params = (formula or _generic)(sub)
        towers.append(
            TowerSpec(
                name=name,
                kind=sub.model_type,
                params=params,
                num_layers=sub.int("num_hidden_layers", "depth", "encoder_layers"),
                hidden_size=sub.int("hidden_size", "embed_dim", "d_model"),
                understood=formula is not None,
            )
        )
        if name == "vision":
            proj = projector(wrapper, config, sub.int("hidden_size"), text_hidden)
            if proj is not None:
                towers.append(
                    TowerSpec(name="projector", kind=wrapper, params=proj, understood=True)
                )
            elif sub.model_type != "qwen2_5_vl_vision":
                towers.append(
                    TowerSpec(name="projector", kind=wrapper, params=0, understood=False)
                )
    return towers
