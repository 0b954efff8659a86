"""The JSON report: a stable schema (`archlint schema` prints it). Exact integers throughout."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from archlint import __version__
from archlint.analysis.compute import Flops
from archlint.analysis.memory import KVCache
from archlint.analysis.params import ParamCounts
from archlint.analysis.roofline import Roofline
from archlint.api import Analysis
from archlint.lint.finding import Finding
from archlint.spec import AttentionSpec, Coverage, FFNSpec, FieldSource, LayerSpec, TowerSpec

SCHEMA_VERSION = 1


class ModelInfo(BaseModel):
    id: str
    revision: str | None = Field(description="resolved commit sha (null for local or bundled data)")
    source: Literal["hub", "local", "catalog", "cache"]
    model_type: str
    family: str = Field(description="the adapter that read the config")
    known_family: bool
    architecture: Literal["decoder", "encoder", "encoder-decoder"]
    architectures: list[str]
    weights_format: str
    tensors_known: bool = Field(description="a tensor table (headers) was read")
    notes: list[str]
    fetch: dict[str, int] = Field(default_factory=dict, description="requests and bytes fetched")


class AttentionSummary(BaseModel):
    kind: Literal["mha", "mqa", "gqa", "mla", "linear", "none"] = Field(
        description="the dominant attention of the model"
    )
    sliding_window_layers: int = Field(description="layers with a sliding window or a chunk")
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


class FFNSummary(BaseModel):
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


class LayerGroup(BaseModel):
    first: int
    last: int
    count: int
    attention: AttentionSpec
    ffn: FFNSpec


class Memory(BaseModel):
    weights_bytes: int
    weights_method: Literal["tensors", "index", "estimate"]
    weights_detail: str
    activation_dtype: str = Field(description="the serving dtype (vLLM dtype='auto')")
    state_dtype: str = Field(default="", description="recurrent/SSM state dtype")


class Report(BaseModel):
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
    explanations: list[str]
    warnings: list[str] = Field(
        default_factory=list, description="settings the model cannot honour"
    )
    provenance: dict[str, FieldSource]
    findings: list[Finding]
    coverage: Coverage
    towers: list[TowerSpec]


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


def build_report(a: Analysis, explanations: list[str]) -> Report:
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
        explanations=explanations,
        warnings=list(prof.warnings),
        provenance=spec.provenance,
        findings=list(a.findings),
        coverage=spec.coverage,
        towers=spec.towers,
    )


def render_json(a: Analysis, explanations: list[str]) -> str:
    return build_report(a, explanations).model_dump_json(indent=2)


def json_schema() -> dict[str, Any]:
    return Report.model_json_schema()
