"""The report document: one record (`Report`, archlint.records) that every format renders.

Built once per run from the analysis (:func:`build_document`): the model's identity, the
attention/FFN summaries, layer groups, parameters, memory, KV cache, FLOPs, roofline, the
description in words, the explanations, provenance and the findings. `--format json` is this
model as JSON (a stable schema: `archlint schema` prints it); text, Markdown, SARIF, GitHub and
JUnit read only it. Exact integers throughout.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from archlint import __version__
from archlint.analysis.compute import Flops
from archlint.analysis.gguf import LlamaCppKV, QuantMix
from archlint.analysis.memory import KVCache
from archlint.analysis.params import ParamCounts
from archlint.analysis.roofline import Roofline
from archlint.analysis.serving import ServingPlan
from archlint.lint.finding import Finding
from archlint.records import Record, described, field_names, record
from archlint.report import describe
from archlint.report.escape import for_line
from archlint.report.explain import coverage_lines
from archlint.spec import (
    AttentionSpec,
    Coverage,
    FFNSpec,
    FieldSource,
    LayerSpec,
    ModelSpec,
    TowerSpec,
)

if TYPE_CHECKING:
    from archlint.api import Analysis

__all__ = ["Report", "Summary", "build_document", "clean", "json_schema"]

SCHEMA_VERSION = 1


@record
class ModelInfo(Record):
    id: str
    revision: str | None = described("resolved commit sha (null for local or bundled data)")
    source: Literal["hub", "local", "catalog", "cache"]
    model_type: str
    family: str = described(description="the adapter that read the config")
    known_family: bool
    architecture: Literal["decoder", "encoder", "encoder-decoder"]
    architectures: list[str]
    weights_format: str
    tensors_known: bool = described(description="a tensor table (headers) was read")
    notes: list[str]
    fetch: dict[str, int] = described("requests and bytes fetched", default_factory=dict)


@record
class AttentionSummary(Record):
    kind: Literal["mha", "mqa", "gqa", "mla", "linear", "none"] = described(
        description="the dominant attention of the model"
    )
    sliding_window_layers: int = described(description="layers with a sliding window or a chunk")
    layers_by_kind: dict[str, int]
    query_heads: int
    kv_heads: int
    head_dim: int
    v_head_dim: int
    kv_lora_rank: int | None
    q_lora_rank: int | None
    qk_rope_head_dim: int | None
    window: int | None
    chunk: int | None
    positional: str
    rope_theta: float | None
    rope_scaling: dict[str, Any] | None
    rotary_fraction: float | None
    sinks: bool
    softcap: float | None
    qk_norm: bool


@record
class FFNSummary(Record):
    kind: Literal["dense", "moe", "none"]
    experts: int
    experts_per_token: int
    shared_experts: int
    expert_intermediate_size: int
    intermediate_size: int
    dense_layers: int
    moe_layers: int
    router: str | None
    gated: bool
    activation: str | None


@record
class LayerGroup(Record):
    first: int
    last: int
    count: int
    attention: AttentionSpec
    ffn: FFNSpec


@record
class Memory(Record):
    weights_bytes: int
    weights_method: Literal["tensors", "index", "estimate"]
    weights_detail: str
    activation_dtype: str = described(description="the serving dtype (vLLM dtype='auto')")
    state_dtype: str = described(default="", description="recurrent/SSM state dtype")


@record
class Summary(Record):
    """The model in words, as every human-readable format shows it (one description)."""

    layers: str
    attention: str
    position: str
    ffn: str
    norm: str
    quantization: str | None
    coverage: list[str] = described(
        description="what archlint could not understand (the figures may be incomplete)"
    )


@record
class GGUFInfo(Record):
    """A GGUF checkpoint's own facts: its file(s), what else its repo offers, the quant mix."""

    version: int
    file_type: str | None
    files: list[str]
    chosen: dict[str, str] | None = described(description="which model of the repo, and why")
    repo_models: list[dict[str, Any]] = described(
        description="the repo's GGUF models: model, quant, parts, bytes")
    quant_mix: QuantMix | None


@record
class Report(Record):
    """The report document: built once per run (:func:`build_document`), rendered by every
    format (``--format json`` is this model as JSON). Every string from the repo in it has
    been through one escaping step (:func:`clean`)."""

    schema_version: int = SCHEMA_VERSION
    archlint_version: str = __version__
    model: ModelInfo
    attention: AttentionSummary
    ffn: FFNSummary
    layers: list[LayerGroup]
    mtp_layers: int
    params: ParamCounts
    params_from_config: ParamCounts
    memory: Memory
    kv_cache: KVCache
    flops: Flops
    roofline: Roofline | None
    serving: ServingPlan | None = described(
        default=None, description="vLLM's memory layout per GPU under the parallel layout"
    )
    summary: Summary
    explanations: list[str]
    warnings: list[str] = described(
        default_factory=list, description="settings the model cannot honour"
    )
    provenance: dict[str, FieldSource]
    findings: list[Finding]
    coverage: Coverage
    towers: list[TowerSpec]
    gguf: GGUFInfo | None = described(default=None, description="GGUF checkpoints only")
    llama_cpp_kv: LlamaCppKV | None = described(
        default=None, description="the KV cache in llama.cpp's conventions (GGUF, --kv-type)")


def _gguf(a: Analysis) -> GGUFInfo | None:
    info = a.checkpoint.gguf
    if a.checkpoint.weights_format != "gguf" or not info:
        return None
    return GGUFInfo(version=int(info.get("version") or 0), file_type=info.get("file_type"),
                    files=list(info.get("files") or []), chosen=info.get("chosen"),
                    repo_models=list(info.get("repo_models") or []),
                    quant_mix=a.profile.quant_mix)


def _groups(layers: list[LayerSpec]) -> list[LayerGroup]:
    groups: list[LayerGroup] = []
    for layer in layers:
        att = layer.attention.model_dump(exclude={"provenance"})
        ffn = layer.ffn.model_dump(exclude={"provenance"})
        last = groups[-1] if groups else None
        if (
            last
            and last.attention.model_dump(exclude={"provenance"}) == att
            and last.ffn.model_dump(exclude={"provenance"}) == ffn
            and last.last == layer.index - 1
        ):
            last.last = layer.index
            last.count += 1
        else:
            groups.append(
                LayerGroup(
                    first=layer.index,
                    last=layer.index,
                    count=1,
                    attention=layer.attention,
                    ffn=layer.ffn,
                )
            )
    return groups


def _attention(a: Analysis) -> AttentionSummary:
    spec = a.spec
    kind = spec.dominant_attention()
    softmax = (
        [layer.attention for layer in spec.layers if layer.attention.kind == kind]
        or [layer.attention for layer in spec.layers]
        or [AttentionSpec(kind="none")]
    )
    att = softmax[0]
    by_kind: dict[str, int] = {}
    for layer in spec.layers:
        label: str = layer.attention.kind
        if layer.attention.window:
            label += "+sliding"
        elif layer.attention.chunk:
            label += "+chunked"
        by_kind[label] = by_kind.get(label, 0) + 1
    local = [layer.attention for layer in spec.layers if layer.attention.is_local]
    return AttentionSummary(
        kind=kind,
        sliding_window_layers=len(local),
        layers_by_kind=by_kind,
        query_heads=att.num_heads,
        kv_heads=1 if att.kind == "mla" else att.num_kv_heads,
        head_dim=att.head_dim,
        v_head_dim=att.v_head_dim,
        kv_lora_rank=att.kv_lora_rank,
        q_lora_rank=att.q_lora_rank,
        qk_rope_head_dim=att.qk_rope_head_dim,
        window=next((x.window for x in local if x.window), None),
        chunk=next((x.chunk for x in local if x.chunk), None),
        positional=att.positional,
        rope_theta=att.rope_theta,
        rope_scaling=att.rope_scaling,
        rotary_fraction=att.rotary_fraction,
        sinks=att.sinks,
        softcap=att.softcap,
        qk_norm=att.qk_norm,
    )


def _ffn(a: Analysis) -> FFNSummary:
    spec = a.spec
    moe = spec.first_moe()
    ffn = moe or (spec.layers[0].ffn if spec.layers else FFNSpec(kind="none"))
    dense = [layer for layer in spec.layers if layer.ffn.kind == "dense"]
    return FFNSummary(
        kind="moe" if moe else ffn.kind,
        experts=ffn.num_experts,
        experts_per_token=ffn.experts_per_token,
        shared_experts=ffn.num_shared_experts,
        expert_intermediate_size=ffn.expert_intermediate_size,
        intermediate_size=dense[0].ffn.intermediate_size if dense else ffn.intermediate_size,
        dense_layers=len(dense),
        moe_layers=len(spec.moe_layers()),
        router=ffn.router,
        gated=ffn.gated,
        activation=ffn.activation,
    )


def _summary(spec: ModelSpec) -> Summary:
    return Summary(
        layers=describe.layers_line(spec),
        attention=describe.attention_line(spec),
        position=describe.position_line(spec),
        ffn=describe.ffn_line(spec),
        norm=describe.norm_line(spec),
        quantization=describe.quantization_line(spec),
        coverage=coverage_lines(spec),
    )


def clean(value: Any) -> Any:
    """``value`` with every string in it (dict keys, list items, model fields) made one safe
    line by :func:`~archlint.report.escape.for_line`: the one escaping step repo text takes on
    its way into the report. Enums (severities) are ours and kept."""
    kind = type(value)
    if value is None or kind is int or kind is float or kind is bool or isinstance(value, Enum):
        return value
    if isinstance(value, str):
        return for_line(value)
    if isinstance(value, Record):
        return value.model_copy(update={name: clean(getattr(value, name))
                                        for name in field_names(kind)})
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(clean(v) for v in value)
    return value


def build_document(a: Analysis, explanations: list[str]) -> Report:
    """The report document of an analysis (its findings included), escaped once."""
    return clean(_build(a, explanations))


def _build(a: Analysis, explanations: list[str]) -> Report:
    ckpt, spec, prof = a.checkpoint, a.spec, a.profile
    notes = list(ckpt.notes) + list(spec.notes) + list(prof.notes)
    return Report(
        model=ModelInfo(
            id=ckpt.model_id,
            revision=ckpt.revision,
            source=ckpt.source,
            model_type=spec.model_type,
            family=spec.family,
            known_family=spec.known_family,
            architecture=spec.architecture,
            architectures=spec.architectures,
            weights_format=ckpt.weights_format,
            tensors_known=ckpt.tensors is not None,
            notes=notes,
            fetch=dict(ckpt.fetch_stats),
        ),
        attention=_attention(a),
        ffn=_ffn(a),
        layers=_groups(spec.layers),
        mtp_layers=len(spec.mtp_layers),
        params=prof.params,
        params_from_config=prof.params_from_config,
        memory=Memory(
            weights_bytes=prof.weights.bytes,
            weights_method=prof.weights.method,
            weights_detail=prof.weights.detail,
            activation_dtype=prof.activation_dtype,
            state_dtype=prof.state_dtype,
        ),
        kv_cache=prof.kv,
        flops=prof.flops,
        roofline=prof.roofline,
        serving=prof.serving,
        summary=_summary(spec),
        explanations=explanations,
        warnings=list(prof.warnings),
        provenance=spec.provenance,
        findings=list(a.findings),
        coverage=spec.coverage,
        towers=spec.towers,
        gguf=_gguf(a),
        llama_cpp_kv=prof.llama_cpp_kv,
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the report document (`archlint schema`): pydantic reads the record
    dataclasses (descriptions from their fields' metadata); imported here only."""
    from pydantic import TypeAdapter

    schema: dict[str, Any] = TypeAdapter(Report).json_schema()
    return schema
