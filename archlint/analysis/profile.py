"""Profile: everything the analytic path derives from a ModelSpec (+ tensor table).

The serving dtype follows vLLM's `dtype="auto"` (vllm/config/model.py, `_get_and_verify_dtype`):
a 16-bit checkpoint is served in its own dtype; a float32 checkpoint is served in half
precision, bfloat16 since v0.10.1 where the GPU supports it (float16 before), because vLLM never
serves fp32 by default. The KV cache (`kv_cache_dtype="auto"`) is in the serving dtype; `--dtype`
sets another serving dtype and `--kv-dtype` another cache dtype. Recurrent/SSM state follows
`mamba_ssm_cache_dtype="auto"`: the serving dtype, unless the config declares
`mamba_ssm_cache_dtype` (Nemotron-H configs declare "float32"; vLLM's
`NemotronHForCausalLMConfig` also defaults Nemotron-H to float32 when the key is absent).
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Literal

from archlint.analysis.compute import Flops, flops
from archlint.analysis.gguf import (
    LLAMA_CPP_KV_TYPE,
    LlamaCppKV,
    QuantMix,
    llama_cpp_kv,
    quant_mix,
)
from archlint.analysis.hardware import GPU
from archlint.analysis.memory import KVCache, kv_cache
from archlint.analysis.parallel import served_bytes_by_component
from archlint.analysis.params import (
    ParamCounts,
    count_from_spec,
    count_from_tensors,
    mtp_module_params,
)
from archlint.analysis.roofline import Roofline, roofline
from archlint.analysis.serving import ServingOptions, ServingPlan, serve
from archlint.analysis.storage import Storage, storage_by_component
from archlint.analysis.storage import describe as describe_storage
from archlint.checkpoint import Checkpoint
from archlint.dtypes import FLOAT_NAMES, canonical_name, named_dtype_bytes
from archlint.errors import UsageError
from archlint.families.base import ConfigView
from archlint.records import Record, record
from archlint.spec import ModelSpec

DEFAULT_CONTEXT = 8192
DEFAULT_BATCH = 1
#: Weight dtype assumed when a config declares none: transformers loads fp32 by default, but
#: checkpoints on the Hub are overwhelmingly bf16/fp16; the report marks it as assumed.
ASSUMED_DTYPE = "bf16"


@record
class Options(Record):
    context: int = DEFAULT_CONTEXT
    # the context is archlint's default, not the user's: a model whose maximum is shorter is
    # profiled at its maximum, as vLLM's max_model_len defaults to it (and a warning about a
    # flag nobody passed would mislead)
    context_auto: bool = False
    batch: int = DEFAULT_BATCH
    kv_dtype: str | None = None  # None: the serving dtype (vLLM "auto")
    dtype: str | None = None  # serving dtype; None: vLLM's "auto" (fp32 checkpoints → bf16)
    gpu: GPU | None = None
    kv_type: str | None = None  # llama.cpp's -ctk/-ctv; None: f16 (its default), GGUF only
    serving: ServingOptions | None = None  # the serving plan's layout and vLLM settings


@record
class WeightBytes(Record):
    bytes: int
    method: Literal["tensors", "index", "estimate"]
    detail: str
    # stored bytes per component (exact from tensors; else the estimate's split)
    by_component: dict[str, int] = field(default_factory=dict)


@record
class Profile(Record):
    params: ParamCounts
    params_from_config: ParamCounts  # the analytic count, kept beside a tensor count
    weights: WeightBytes
    activation_dtype: str  # the serving dtype (vLLM "auto" unless --dtype)
    state_dtype: str = ""  # recurrent/SSM state (vLLM mamba_ssm_cache_dtype)
    kv: KVCache
    flops: Flops
    roofline: Roofline | None = None
    serving: ServingPlan | None = None
    # settings the model cannot honour (e.g. context past its maximum)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # conventions applied (fp32 served in bf16)
    # GGUF checkpoints (or --kv-type): the quantization mix and llama.cpp's KV cache
    quant_mix: QuantMix | None = None
    llama_cpp_kv: LlamaCppKV | None = None


#: Checkpoint dtypes vLLM's "auto" serves as they are; float32 becomes bfloat16.
_SERVED_AS_IS = ("bf16", "fp16")


def activation_dtype(spec: ModelSpec, override: str | None = None) -> str:
    """The serving dtype: `override` when given, else vLLM's `auto` (see module docstring)."""
    if override:
        return cache_dtype(override, ASSUMED_DTYPE, "--dtype")[0]
    if spec.dtype in _SERVED_AS_IS:
        return spec.dtype
    return ASSUMED_DTYPE


def serving_dtype_note(spec: ModelSpec, override: str | None) -> str | None:
    if override is None and spec.dtype == "fp32":
        return (
            "float32 checkpoint: served, and its KV cache sized, in bfloat16 as vLLM's "
            "dtype='auto' does (float16 before vLLM 0.10.1); --dtype float32 to size it in fp32"
        )
    return None


_NEMOTRON_H = ("NemotronHForCausalLM",)


def state_dtype(spec: ModelSpec, config: dict[str, Any] | None, serving: str) -> str:
    """The recurrent/SSM state dtype, as vLLM's `mamba_ssm_cache_dtype="auto"` resolves it."""
    declared = ConfigView(config or {}).lookup("mamba_ssm_cache_dtype")[0]
    if isinstance(declared, str) and declared != "auto":
        try:
            return cache_dtype(declared, serving, "mamba_ssm_cache_dtype")[0]
        except UsageError:
            return serving
    if any(a in _NEMOTRON_H for a in spec.architectures):
        return "fp32"
    return serving


def model_max_context(spec: ModelSpec) -> int | None:
    """The longest context the model supports, as vLLM derives `max_model_len`
    (vllm/config/model.py `_get_and_verify_max_len`): max_position_embeddings, times the
    RoPE scaling factor for scalings other than llama3/longrope/su (whose
    max_position_embeddings already states the extended length); for YaRN, the factor
    times `original_max_position_embeddings`."""
    base = spec.max_position_embeddings
    scaling = next(
        (
            layer.attention.rope_scaling
            for layer in spec.layers
            if layer.attention.rope_scaling
        ),
        None,
    )
    if not scaling or "factor" not in scaling:
        return base
    kind = scaling.get("rope_type") or scaling.get("type") or "default"
    if kind in ("su", "longrope", "llama3"):
        return base
    try:
        factor = float(scaling["factor"])
    except (TypeError, ValueError):
        return base
    if kind == "yarn" and scaling.get("original_max_position_embeddings"):
        return int(float(scaling["original_max_position_embeddings"]) * factor)
    return int(base * factor) if base else None


def _estimated_split(
    spec: ModelSpec, params: ParamCounts, plan: dict[str, Storage]
) -> dict[str, float]:
    """Bytes per component: its parameters × its stored bytes per parameter; an MTP module's
    parts each as the main model's part of that component stores them (DeepSeek-V4's MTP
    block holds mxfp4 experts beside fp8 projections)."""
    out = {c: n * plan[c].bytes_per_param for c, n in params.by_component.items()}
    if params.by_component.get("mtp") and spec.mtp_layers:
        out["mtp"] = sum(
            n * plan[part].bytes_per_param
            for layer in spec.mtp_layers
            for part, n in mtp_module_params(layer, spec).items()
        )
    return out


def weight_bytes(
    ckpt: Checkpoint | None, spec: ModelSpec, params: ParamCounts, dtype: str | None = None
) -> WeightBytes:
    """The checkpoint's stored bytes, split by component: exact from the tensor table; from
    the index's total_size split like the estimate; else estimated from the parameter count,
    each component in the format its config declares (`archlint.analysis.storage`)."""
    if params.stored_bytes is not None:
        return WeightBytes(
            bytes=params.stored_bytes,
            method="tensors",
            detail="sum of shape × dtype over every stored tensor",
            by_component=dict(params.bytes_by_component),
        )
    dtype = dtype or (spec.dtype if spec.dtype in FLOAT_NAMES else ASSUMED_DTYPE)
    plan = storage_by_component(spec, dtype)
    split = _estimated_split(spec, params, plan)
    estimate = sum(split.values())
    total = ckpt.index_total_size() if ckpt is not None else None
    if total is not None and ckpt is not None and ckpt.weights_format == "safetensors":
        scale = total / estimate if estimate else 0.0
        return WeightBytes(
            bytes=total,
            method="index",
            detail=f"metadata.total_size of {ckpt.index_name}",
            by_component={k: round(v * scale) for k, v in split.items()},
        )
    by_component = {k: round(v) for k, v in split.items()}
    if any(entry.quantized for entry in plan.values()):
        return WeightBytes(
            bytes=round(estimate),
            method="estimate",
            detail=describe_storage(plan, params.by_component),
            by_component=by_component,
        )
    return WeightBytes(
        bytes=round(estimate),
        method="estimate",
        detail=f"parameters × {named_dtype_bytes(dtype):g} B ({dtype})",
        by_component=by_component,
    )


def cache_dtype(
    name: str | None, activation: str, flag: str = "--kv-dtype"
) -> tuple[str, float]:
    """The KV-cache dtype and its bytes per element: `name` when given, else the activation
    dtype (vLLM's `kv_cache_dtype=auto`). Raises UsageError for an unknown name."""
    key = canonical_name(name) if name else activation
    try:
        return key, named_dtype_bytes(key)
    except KeyError:
        hint = "bf16, fp16, fp8, fp32 or fp4"
        raise UsageError(f"unknown {flag} {name!r}", hint=hint) from None


def lm_head_params(spec: ModelSpec) -> int:
    """Parameters of the LM-head matmul: vocab × hidden whether or not the weight is tied to
    the input embedding (the matmul runs either way). Encoder-only models have none."""
    if spec.architecture == "encoder":
        return 0
    return spec.vocab_size * spec.hidden_size


def tied_head_params(spec: ModelSpec, params: ParamCounts) -> int:
    """The head matmul's parameters that the parameter count does not hold as `head` (tied
    to the embedding): they still cost FLOPs and a read per decode step."""
    if params.by_component.get("head", 0) or not spec.tie_word_embeddings:
        return 0
    return lm_head_params(spec)


def context_warnings(spec: ModelSpec, context: int) -> list[str]:
    limit = model_max_context(spec)
    if limit and context > limit:
        return [
            f"--context {context:,} exceeds the model's maximum of {limit:,} tokens "
            "(max_position_embeddings, after RoPE scaling): vLLM refuses a max_model_len "
            "past it; figures at this context are extrapolated"
        ]
    return []


def served_weights(
    spec: ModelSpec, params: ParamCounts, weights: WeightBytes, serving: str
) -> dict[str, int]:
    """Bytes per component once a runtime has loaded the checkpoint in the `serving` dtype:
    16/32-bit floating weights converted, quantized storage and scales as stored."""
    per = named_dtype_bytes(serving)
    if params.float_weight_elements_by_component:
        return served_bytes_by_component(params, weights.by_component, per)
    stored = spec.dtype if spec.dtype in FLOAT_NAMES else ASSUMED_DTYPE
    ratio = per / named_dtype_bytes(stored)
    plan = storage_by_component(spec, stored)
    return {
        k: v if k in plan and plan[k].quantized else round(v * ratio)
        for k, v in weights.by_component.items()
    }


def costs(
    spec: ModelSpec,
    params: ParamCounts,
    weights: WeightBytes,
    activation: str,
    options: Options,
    state: str | None = None,
) -> tuple[KVCache, Flops, Roofline | None]:
    """What depends on context, batch, cache dtype and GPU: the KV cache, the FLOPs and the
    roofline. Cheap; `compare` re-evaluates it per table without recounting parameters.
    `state` is the recurrent/SSM state dtype (default: the serving dtype)."""
    kv_name, kv_bytes = cache_dtype(options.kv_dtype, activation)
    kv = kv_cache(
        spec,
        dtype=kv_name,
        dtype_bytes=kv_bytes,
        context=options.context,
        batch=options.batch,
        state_dtype=cache_dtype(state or activation, activation),
        # the conv window stays in the model's dtype (vLLM's mamba_cache_dtype=auto) even
        # where the config declares an SSM-state dtype
        conv_bytes=cache_dtype(activation, activation)[1],
    )
    tied = tied_head_params(spec, params)
    fl = flops(
        spec,
        params.active_excluding_embedding + tied,
        options.context,
        head_params=lm_head_params(spec),
    )
    roof = None
    if options.gpu is not None:
        roof = roofline(
            spec,
            params,
            weights.bytes,
            kv,
            fl.per_token,
            fl.prefill,
            options.gpu,
            batch=options.batch,
            context=options.context,
            max_context_limit=max(model_max_context(spec) or 0, options.context),
            bytes_by_component=weights.by_component,
        )
    return kv, fl, roof


def llama_cpp_costs(spec: ModelSpec, ckpt: Checkpoint | None,
                    options: Options) -> LlamaCppKV | None:
    """llama.cpp's KV cache, for a GGUF checkpoint or when --kv-type asks for it."""
    is_gguf = ckpt is not None and ckpt.weights_format == "gguf"
    if not is_gguf and options.kv_type is None:
        return None
    absorbed = True
    if is_gguf and ckpt is not None and ckpt.gguf:
        meta = ckpt.gguf.get("metadata") or {}
        arch = meta.get("general.architecture")
        absorbed = f"{arch}.attention.key_length_mla" in meta or f"{arch}.attention.kv_lora_rank" \
            not in meta
    return llama_cpp_kv(spec, context=options.context, batch=options.batch,
                        type_k=options.kv_type or LLAMA_CPP_KV_TYPE, absorbed_mla=absorbed)
def serving_plan(
    spec: ModelSpec,
    params: ParamCounts,
    weights: WeightBytes,
    activation: str,
    options: Options,
    kv: KVCache,
    fl: Flops,
    roof: Roofline | None,
) -> ServingPlan | None:
    """The serving section: only when a GPU and serving options are given."""
    if options.gpu is None or options.serving is None:
        return None
    served = served_weights(spec, params, weights, activation)
    return serve(
        spec,
        params,
        served,
        kv,
        options.gpu,
        options.serving,
        context=options.serving.max_model_len or options.context,
        batch=options.batch,
        act_bytes=named_dtype_bytes(activation),
        decode_flops_per_token=fl.per_token,
        decode_weight_bytes=roof.decode_weight_bytes if roof else 0,
    )


def resolved(spec: ModelSpec, options: Options) -> Options:
    """``options`` with a default context capped at the model's maximum context."""
    limit = model_max_context(spec)
    if options.context_auto and limit and limit < options.context:
        return options.model_copy(update={"context": limit, "context_auto": False})
    return options


def profile(spec: ModelSpec, ckpt: Checkpoint | None, options: Options) -> Profile:
    options = resolved(spec, options)
    analytic = count_from_spec(spec)
    params = count_from_tensors(ckpt, spec) if ckpt is not None and ckpt.tensors else analytic
    weights = weight_bytes(ckpt, spec, params)
    act = activation_dtype(spec, options.dtype)
    state = state_dtype(spec, ckpt.config if ckpt is not None else None, act)
    kv, fl, roof = costs(spec, params, weights, act, options, state)
    serving = serving_plan(spec, params, weights, act, options, kv, fl, roof)
    note = serving_dtype_note(spec, options.dtype)
    return Profile(
        params=params,
        params_from_config=analytic,
        weights=weights,
        activation_dtype=act,
        state_dtype=state,
        kv=kv,
        flops=fl,
        roofline=roof,
        serving=serving,
        warnings=context_warnings(spec, options.context),
        notes=[note] if note else [],
        quant_mix=quant_mix(ckpt) if ckpt is not None else None,
        llama_cpp_kv=llama_cpp_costs(spec, ckpt, options),
    )


def reprofile(spec: ModelSpec, base: Profile, options: Options) -> Profile:
    """``base`` (a Profile of ``spec``) at other options: the parameters and weight bytes are
    kept (recounting a tensor table is the slow part), the KV cache, FLOPs and roofline are
    re-evaluated by :func:`costs`. A what-if variant's column and every compare/plot cell at
    the table's context, batch, cache dtype and GPU use it."""
    kv, fl, roof = costs(
        spec, base.params, base.weights, base.activation_dtype, options, base.state_dtype or None
    )
    return base.model_copy(update={"kv": kv, "flops": fl, "roofline": roof,
                                   "llama_cpp_kv": None})
