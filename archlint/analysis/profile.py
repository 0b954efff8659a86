"""Profile: everything the analytic path derives from a ModelSpec (+ tensor table)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from archlint.analysis.compute import Flops, flops
from archlint.analysis.hardware import GPU
from archlint.analysis.memory import KVCache, kv_cache
from archlint.analysis.params import ParamCounts, count_from_spec, count_from_tensors
from archlint.analysis.roofline import Roofline, roofline
from archlint.checkpoint import Checkpoint
from archlint.dtypes import canonical_name, named_dtype_bytes
from archlint.errors import UsageError
from archlint.spec import ModelSpec

DEFAULT_CONTEXT = 8192
DEFAULT_BATCH = 1
#: Weight dtype assumed when a config declares none: transformers loads fp32 by default, but
#: checkpoints on the Hub are overwhelmingly bf16/fp16; the report marks it as assumed.
ASSUMED_DTYPE = "bf16"


class Options(BaseModel):
    context: int = DEFAULT_CONTEXT
    batch: int = DEFAULT_BATCH
    kv_dtype: str | None = None  # None: the model's activation dtype (vLLM "auto")
    gpu: GPU | None = None


class WeightBytes(BaseModel):
    bytes: int
    method: Literal["tensors", "index", "estimate"]
    detail: str


class Profile(BaseModel):
    params: ParamCounts
    params_from_config: ParamCounts  # the analytic count, kept beside a tensor count
    weights: WeightBytes
    activation_dtype: str
    kv: KVCache
    flops: Flops
    roofline: Roofline | None = None


def activation_dtype(spec: ModelSpec) -> str:
    if spec.dtype in ("bf16", "fp16", "fp32"):
        return spec.dtype
    return ASSUMED_DTYPE


def weight_bytes(ckpt: Checkpoint | None, spec: ModelSpec, params: ParamCounts) -> WeightBytes:
    if params.stored_bytes is not None:
        return WeightBytes(
            bytes=params.stored_bytes,
            method="tensors",
            detail="sum of shape × dtype over every stored tensor",
        )
    total = ckpt.index_total_size() if ckpt is not None else None
    if total is not None and ckpt is not None and ckpt.weights_format == "safetensors":
        return WeightBytes(
            bytes=total, method="index", detail=f"metadata.total_size of {ckpt.index_name}"
        )
    dtype = activation_dtype(spec)
    per = named_dtype_bytes(dtype)
    quant = spec.quantization
    if quant and quant.bits:
        # Quantized linear weights at `bits`; embedding, head and norms stay in `dtype`.
        kept = (
            params.embedding
            + params.by_component.get("head", 0)
            + params.by_component.get("norms", 0)
            + params.by_component.get("router", 0)
        )
        packed = params.total - kept
        estimate = kept * per + packed * quant.bits / 8
        return WeightBytes(
            bytes=round(estimate),
            method="estimate",
            detail=f"{quant.method} {quant.bits:g}-bit linear weights, rest {dtype}; "
            "scales not counted",
        )
    return WeightBytes(
        bytes=round(params.total * per),
        method="estimate",
        detail=f"parameters × {per:g} B ({dtype})",
    )


def cache_dtype(name: str | None, activation: str) -> tuple[str, float]:
    """The KV-cache dtype and its bytes per element: `name` when given, else the activation
    dtype (vLLM's `kv_cache_dtype=auto`). Raises UsageError for an unknown name."""
    key = canonical_name(name) if name else activation
    try:
        return key, named_dtype_bytes(key)
    except KeyError:
        hint = "bf16, fp16, fp8, fp32 or fp4"
        raise UsageError(f"unknown --kv-dtype {name!r}", hint=hint) from None


def costs(
    spec: ModelSpec, params: ParamCounts, weights: WeightBytes, activation: str, options: Options
) -> tuple[KVCache, Flops, Roofline | None]:
    """What depends on context, batch, cache dtype and GPU: the KV cache, the FLOPs and the
    roofline. Cheap; `compare` re-evaluates it per table without recounting parameters."""
    kv_name, kv_bytes = cache_dtype(options.kv_dtype, activation)
    kv = kv_cache(
        spec,
        dtype=kv_name,
        dtype_bytes=kv_bytes,
        context=options.context,
        batch=options.batch,
        state_dtype=cache_dtype(None, activation),
    )
    fl = flops(spec, params.active_excluding_embedding, options.context)
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
            max_context_limit=max(spec.max_position_embeddings or 0, options.context),
        )
    return kv, fl, roof


def profile(spec: ModelSpec, ckpt: Checkpoint | None, options: Options) -> Profile:
    analytic = count_from_spec(spec)
    params = count_from_tensors(ckpt, spec) if ckpt is not None and ckpt.tensors else analytic
    weights = weight_bytes(ckpt, spec, params)
    act = activation_dtype(spec)
    kv, fl, roof = costs(spec, params, weights, act, options)
    return Profile(
        params=params,
        params_from_config=analytic,
        weights=weights,
        activation_dtype=act,
        kv=kv,
        flops=fl,
        roofline=roof,
    )


def reprofile(spec: ModelSpec, base: Profile, options: Options) -> Profile:
    """``base`` (a Profile of ``spec``) at other options: the parameters and weight bytes are
    kept (recounting a tensor table is the slow part), the KV cache, FLOPs and roofline are
    re-evaluated by :func:`costs`. A what-if variant's column and every compare/plot cell at
    the table's context, batch, cache dtype and GPU use it."""
    kv, fl, roof = costs(spec, base.params, base.weights, base.activation_dtype, options)
    return base.model_copy(update={"kv": kv, "flops": fl, "roofline": roof})
