"""Config values checked before any adapter reads them: one clear line naming the key, or nothing.

A config.json is written by a stranger. The adapters read it leniently (a key may be absent, null
or spelled in a dialect), but values that cannot describe any model either crashed them
(`num_hidden_layers: -1`, `text_config: null`, a list as `hidden_act`, a 4000-digit
`vocab_size`) or, worse, produced a clean report of an impossible model (8 KV heads for 4 query
heads: "KV cache 0x smaller"). This pass refuses those with a `ConfigError` such as
``config.json: num_hidden_layers must be a positive integer (got -1)``.

It checks only values that are present and not null (null is how transformers writes "unset":
`sliding_window: null`, `head_dim: null` are normal), in the scopes the adapters read: the root
and a `text_config` object. What a value may be comes from transformers' configuration classes
(`PretrainedConfig` and the model configs: counts are positive ints, `hidden_act` a string,
`rope_scaling` a dict, `layer_types` one entry per layer) and from what a model can be
(`num_attention_heads % num_key_value_heads == 0`, as every attention implementation that groups
query heads over KV heads requires).

The caps are far above any real model (DeepSeek-V3 has 61 layers, Llama-3.1-405B 126; the
largest vocabularies are ~260k) and low enough that building one object per layer stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from archlint.errors import ConfigError

__all__ = ["MAX_HEADS", "MAX_LAYERS", "MAX_SIZE", "check_layers", "validate_config",
           "values_checked"]

#: layers of one stack. 126 is the largest real one (Llama-3.1-405B); 2,000,000 ran for minutes.
MAX_LAYERS = 10_000
#: attention (or KV) heads of one layer; real models have at most a few hundred.
MAX_HEADS = 100_000
#: any width, vocabulary, expert count or position limit: 2^48 (Llama 4 Scout's 10,485,760
#: positions is 2^23.3); a 4000-digit integer is refused instead of overflowing a float later.
MAX_SIZE = 2**48

_LAYER_KEYS = ("num_hidden_layers", "n_layer", "n_layers", "num_layers")
_HEAD_KEYS = ("num_attention_heads", "n_head", "n_heads")
_KV_HEAD_KEYS = ("num_key_value_heads", "num_kv_heads", "n_head_kv", "n_kv_heads", "kv_n_heads")
#: positive integers when set (transformers types them `int`; null means "derive it").
_SIZE_KEYS = ("hidden_size", "n_embd", "d_model", "vocab_size", "head_dim", "v_head_dim")
#: non-negative integers when set: 0 is how some configs say "none" (DeepSeek-V2-Lite's
#: `q_lora_rank: 0` is full-rank queries, a dense Qwen's `num_experts: 0`).
_COUNT_KEYS = (
    "intermediate_size", "n_inner", "ffn_dim", "d_ff", "max_position_embeddings", "n_positions",
    "num_local_experts", "num_experts", "n_routed_experts", "num_experts_per_tok",
    "moe_intermediate_size", "kv_lora_rank", "q_lora_rank", "qk_rope_head_dim",
    "qk_nope_head_dim", "attention_chunk_size", "sliding_window_pattern",
)
#: positive, finite numbers when set.
_POSITIVE_NUMBER_KEYS = (
    "rope_theta", "attn_logit_softcapping", "final_logit_softcapping", "partial_rotary_factor",
)
#: names (model_type, activation, dtype) are identifiers; the longest real one is a few dozen
#: characters.
MAX_NAME_CHARS = 256
#: strings when set.
_STRING_KEYS = (
    "model_type", "hidden_act", "activation_function", "hidden_activation", "torch_dtype",
    "dtype",
)


def _fail(where: str, key: str, requirement: str, value: Any) -> ConfigError:
    return ConfigError(f"{where}: {key} {requirement} (got {_shown(value)})")


def _shown(value: Any) -> str:
    """The offending value, short: a 4000-digit integer or a 300 KB string is not echoed."""
    if isinstance(value, bool) or value is None:
        return "true" if value is True else "false" if value is False else "null"
    if isinstance(value, int):
        digits = len(str(abs(value))) if abs(value) < 10**60 else None
        if digits is not None:
            return str(value)
        return f"an integer of about {int(abs(value)).bit_length() * 0.30103:.0f} digits"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else repr(value).replace("inf", "Infinity")
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:40] + "..."
        return repr(text)
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _integer(value: Any) -> int | None:
    """`value` as an int when it is one (an integral float such as 32.0 counts), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _positive_int(where: str, key: str, value: Any, cap: int, *, least: int = 1) -> int:
    number = _integer(value)
    if number is None or number < least:
        requirement = "a positive integer" if least == 1 else "a non-negative integer"
        raise _fail(where, key, f"must be {requirement}", value)
    if number > cap:
        raise _fail(where, key, f"must be at most {cap:,}", value)
    return number


def _scopes(where: str, config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    nested = config.get("text_config")
    if "text_config" in config and not isinstance(nested, dict):
        raise _fail(where, "text_config", "must be a JSON object", nested)
    scopes: list[tuple[str, dict[str, Any]]] = [("", config)]
    if isinstance(nested, dict):
        scopes.append(("text_config.", nested))
    return scopes


def _check_scope(where: str, prefix: str, scope: dict[str, Any], least: int) -> None:
    layers = _check_counts(where, prefix, scope, least)
    for key in _POSITIVE_NUMBER_KEYS:
        value = scope.get(key)
        if value is not None and not _positive_number(value):
            raise _fail(where, prefix + key, "must be a positive number", value)
    for key in _STRING_KEYS:
        value = scope.get(key)
        if value is not None and not isinstance(value, str):
            raise _fail(where, prefix + key, "must be a string", value)
        if isinstance(value, str) and len(value) > MAX_NAME_CHARS:
            # a name, not a document: a 300 KB model_type was echoed whole into every
            # coverage line and JSON field of the report
            raise _fail(where, prefix + key, f"must be a name of at most {MAX_NAME_CHARS} "
                        "characters", value)
    _check_window(where, prefix, scope)
    _check_layer_types(where, prefix, scope, layers)
    _check_rope_scaling(where, prefix, scope)


def _check_counts(where: str, prefix: str, scope: dict[str, Any], least: int) -> int | None:
    """Layer, head and size counts of one scope; returns the layer count if declared."""
    def count(key: str, cap: int, lowest: int = least) -> int | None:
        value = scope.get(key)
        return None if value is None else _positive_int(where, prefix + key, value, cap,
                                                        least=lowest)

    layers = None
    for key in _LAYER_KEYS:
        stacks = scope.get(key)
        if isinstance(stacks, dict) and stacks:
            # one count per stack (LXMERT: language, vision, cross_encoder), each checked
            for name, value in stacks.items():
                _positive_int(where, f"{prefix}{key}.{name}", value, MAX_LAYERS, least=0)
            continue
        layers = count(key, MAX_LAYERS) if stacks is not None else layers
    heads = None
    for key in _HEAD_KEYS:
        heads = count(key, MAX_HEADS) if scope.get(key) is not None else heads
    for key in _KV_HEAD_KEYS:
        if isinstance(scope.get(key), list) and scope[key]:
            # one per layer (OpenELM's layer-wise scaling: num_kv_heads beside num_query_heads)
            for i, item in enumerate(scope[key]):
                _positive_int(where, f"{prefix}{key}[{i}]", item, MAX_HEADS)
            continue
        kv = count(key, MAX_HEADS)
        if heads and kv and kv > heads:
            raise ConfigError(f"{where}: {prefix}{key} = {kv} is more than the {heads} query "
                              "heads (each KV head serves a group of query heads)")
        if heads and kv and heads % kv:
            raise ConfigError(f"{where}: {prefix}{key} = {kv} does not divide the {heads} "
                              "query heads into equal groups")
    for key in _SIZE_KEYS:
        count(key, MAX_SIZE, 0 if key == "head_dim" and _rope_head_dim_convention(scope) else least)
    for key in _COUNT_KEYS:
        value = scope.get(key)
        if isinstance(value, list) and value:
            # one per layer (Gemma-3n's intermediate_size, Hunyuan's moe_intermediate_size)
            for i, item in enumerate(value):
                _positive_int(where, f"{prefix}{key}[{i}]", item, MAX_SIZE, least=0)
        else:
            count(key, MAX_SIZE, 0)
    return layers


def _rope_head_dim_convention(scope: dict[str, Any]) -> bool:
    """An MLA config whose `head_dim` is its RoPE head size, as transformers' MLA
    configuration classes write it (DeepseekV3Config, Glm5NextTextConfig: head_dim =
    qk_rope_head_dim), so 0 for a NoPE MLA (GLM-5-Next: qk_rope_head_dim 0); the attention's
    head size is qk_nope_head_dim + qk_rope_head_dim."""
    rope = scope.get("qk_rope_head_dim")
    return scope.get("kv_lora_rank") is not None and rope == scope.get("head_dim") == 0


def _positive_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return 0 < value <= MAX_SIZE
    return math.isfinite(value) and value > 0


def _check_window(where: str, prefix: str, scope: dict[str, Any]) -> None:
    """`sliding_window`: null or a positive integer; 0 only where `use_sliding_window` is
    false, so the window is unused (transformers' Qwen2-MoE default config)."""
    value = scope.get("sliding_window")
    if value is None or (value is False):
        return
    unused = scope.get("use_sliding_window") is False
    _positive_int(where, prefix + "sliding_window", value, MAX_SIZE, least=0 if unused else 1)


def _check_layer_types(where: str, prefix: str, scope: dict[str, Any], layers: int | None) -> None:
    value = scope.get("layer_types")
    if value is None:
        return
    key = prefix + "layer_types"
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise _fail(where, key, "must be a list of strings", value)
    # Step-3.5's hub configs pad the list with their MTP layers' entries, which
    # Step3p7TextConfig splits off as `mtp_layer_types` (archlint.families.mtp)
    mtp = _integer(scope.get("num_nextn_predict_layers"))
    padded = layers + mtp if layers is not None and mtp else None
    if layers is not None and len(value) not in (layers, padded):
        raise ConfigError(f"{where}: {key} names {len(value)} layers but the config has "
                          f"{layers}")


def _check_rope_scaling(where: str, prefix: str, scope: dict[str, Any]) -> None:
    for name in ("rope_scaling", "rope_parameters"):
        value = scope.get(name)
        if value is None:
            continue
        key = prefix + name
        if not isinstance(value, dict):
            raise _fail(where, key, "must be a JSON object", value)
        for kind in ("rope_type", "type"):
            if value.get(kind) is not None and not isinstance(value[kind], str):
                raise _fail(where, f"{key}.{kind}", "must be a string", value[kind])
        for number in ("factor", "original_max_position_embeddings", "rope_theta"):
            if value.get(number) is not None and not _positive_number(value[number]):
                raise _fail(where, f"{key}.{number}", "must be a positive number",
                            value[number])


def _check_quantization(where: str, config: dict[str, Any]) -> None:
    """`quantization_config`: an object whose fields the adapters read have their JSON types."""
    for name in ("quantization_config", "compression_config"):
        value = config.get(name)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise _fail(where, name, "must be a JSON object", value)
        checks: dict[str, tuple[str, Callable[[Any], bool]]] = {
            "quant_method": ("must be a string", lambda v: isinstance(v, str)),
            "format": ("must be a string", lambda v: isinstance(v, str)),
            "bits": ("must be a positive number", _positive_number),
            "num_bits": ("must be a positive number", _positive_number),
            "group_size": ("must be an integer", lambda v: _integer(v) is not None),
            "weight_block_size": ("must be a list of positive integers", _int_list),
            "modules_to_not_convert": ("must be a list of strings", _str_list),
            "ignore": ("must be a list of strings", _str_list),
            "config_groups": ("must be a JSON object of objects", _groups),
        }
        for field, (requirement, ok) in checks.items():
            if value.get(field) is not None and not ok(value[field]):
                raise _fail(where, f"{name}.{field}", requirement, value[field])


def _int_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        (n := _integer(v)) is not None and 0 < n <= MAX_SIZE for v in value)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _groups(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    for group in value.values():
        if group is None:
            continue
        if not isinstance(group, dict):
            return False
        weights = group.get("weights")
        if weights is None:
            continue
        if not isinstance(weights, dict):
            return False
        bits, size = weights.get("num_bits"), weights.get("group_size")
        if bits is not None and not _positive_number(bits):
            return False
        if size is not None and _integer(size) is None:
            return False
    return True


#: no config value needs more digits: token ids, sizes and counts fit in 64 bits.
MAX_INTEGER_DIGITS = 20


def check_layers(spec: Any, checkpoint: Any) -> None:
    """A spec with no layer at all: the layer count is missing and nothing supplied it (a
    known model type takes transformers' default; an unknown one has none), or, without a
    config.json, the tensor names hold no layer (the first problem reading them is named)."""
    if getattr(spec, "num_layers", 0) >= 1 or getattr(spec, "layers", None):
        return
    if getattr(checkpoint, "config", None) is not None:
        raise ConfigError("config.json: num_hidden_layers is missing (no layer count under any "
                          "of its names, and no default for this model type)")
    problems = getattr(checkpoint, "problems", None) or []
    why = f": {problems[0].file + ': ' if problems[0].file else ''}{problems[0].message} " \
          f"[{problems[0].code}]" if problems else ""
    raise ConfigError(f"no config.json and no layer in the tensor names{why}")


def _check_integer_sizes(where: str, value: Any, key: str, depth: int = 0) -> None:
    """Every integer anywhere in the config fits in 64 bits: a 4000-digit `vocab_size` (which
    json reads) would overflow the first float it meets. Iterative over lists, bounded depth
    (the reader already refused configs nested deeper than 64 levels)."""
    stack = [(key, value, depth)]
    while stack:
        name, node, level = stack.pop()
        if isinstance(node, int) and not isinstance(node, bool):
            if abs(node) >= 10**MAX_INTEGER_DIGITS:
                raise _fail(where, name, f"must have at most {MAX_INTEGER_DIGITS} digits", node)
        elif isinstance(node, dict) and level < 64:
            stack.extend((f"{name}.{k}" if name else str(k), v, level + 1)
                         for k, v in node.items())
        elif isinstance(node, list) and level < 64:
            stack.extend((f"{name}[{i}]", v, level + 1) for i, v in enumerate(node))


def validate_config(config: dict[str, Any], *, inferred: bool = False) -> None:
    """Raise ConfigError (one line naming the key) for a value no model can have; else None.

    `inferred`: the config was synthesised from tensor shapes (archlint.inference); it is named
    so in messages, and counts may be 0 (a header with no tensors describes no layers: the
    report says so) but are still capped (`model.layers.999999999.*` is not a billion layers).
    """
    where = "the config inferred from tensors" if inferred else "config.json"
    least = 0 if inferred else 1
    _check_integer_sizes(where, config, "")
    architectures = config.get("architectures")
    if architectures is not None and not _str_list(architectures):
        raise _fail(where, "architectures", "must be a list of strings", architectures)
    for prefix, scope in _scopes(where, config):
        _check_scope(where, prefix, scope, least)
    _check_quantization(where, config)


#: what arithmetic and the spec's own types raise on a value this pass does not know by name
#: (a dialect's `mamba_d_state: 1e300`, a list as `aux_loss_coef`).
_VALUE_FAILURES = (OverflowError, ZeroDivisionError, ValueError, TypeError, IndexError)


@contextmanager
def values_checked(checkpoint: Any) -> Iterator[None]:
    """Building the spec and its costs: a config value no reader anticipated ends as one
    ConfigError line (naming the spec field when the spec's validation says which), never as an
    internal error. The keys above are checked by name first; this is the net for the
    hundreds of dialect keys (SSM state sizes, MoE coefficients) that are not."""
    where = "config.json" if getattr(checkpoint, "config", None) is not None else "the tensors"
    try:
        yield
    except ConfigError:
        raise
    except _VALUE_FAILURES as err:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"{where}: a value cannot describe a model ({_reason(err)})") from None


def _reason(err: Exception) -> str:
    errors = getattr(err, "errors", None)
    if callable(errors):  # pydantic: name the spec field and what it needed
        try:
            first = errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ()))
            return f"{getattr(err, 'title', 'spec')}.{field}: {first.get('msg', '')}"
        except Exception:
            pass
    return f"{type(err).__name__}: {str(err)[:120]}"
