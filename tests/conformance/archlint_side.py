"""archlint's config-only figures for one config: what a user gets from a repo with only
config.json (no safetensors headers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ALFigures:
    total: int
    by_component: dict[str, int]
    kv_full: float  # elements per token, unbounded layers
    kv_window: float  # elements per token, windowed/chunked layers
    state: float  # constant state elements per sequence
    layer_kinds: list[str]
    architecture: str
    family: str


def figures(config: dict[str, Any]) -> ALFigures:
    from archlint.api import analyze_checkpoint
    from archlint.checkpoint import Checkpoint

    ckpt = Checkpoint(
        model_id=f"conformance/{config.get('model_type')}",
        source="local",
        config=config,
        weights_format="none",
    )
    analysis = analyze_checkpoint(ckpt)
    prof, spec = analysis.profile, analysis.spec
    params = prof.params_from_config
    kv = prof.kv
    # Elements, not bytes: the serving dtype convention (fp32 checkpoints served in bf16)
    # must not read as a layout difference.
    full = sum(layer.bytes_per_token for layer in kv.per_layer if layer.cap_tokens is None)
    window = sum(layer.bytes_per_token for layer in kv.per_layer if layer.cap_tokens is not None)
    full += _indexer_correction(spec, kv.per_layer, kv.dtype_bytes)
    # counted in elements from the spec: the conv window and the SSM state may be held in
    # different dtypes (a declared mamba_ssm_cache_dtype), so bytes / one size would not do
    state = _state_elements(spec)
    # Multi-token-prediction modules (DeepSeek-V3's layer 61) are in the checkpoint but
    # transformers never builds them (it drops them on load): left out on both sides.
    return ALFigures(
        total=params.total - params.by_component.get("mtp", 0),
        by_component={k: v for k, v in params.by_component.items() if v and k != "mtp"},
        kv_full=full / kv.dtype_bytes,
        kv_window=window / kv.dtype_bytes,
        state=state,
        layer_kinds=[layer.kind for layer in kv.per_layer],
        architecture=spec.architecture,
        family=spec.family,
    )


def _state_elements(spec: Any) -> float:
    """Constant state elements per sequence: every linear/SSM mixer's conv window plus its
    recurrent state, as archlint's own mixer formulas lay them out (none for encoders)."""
    from archlint.mixers import mixer

    if spec.architecture == "encoder":
        return 0.0
    return float(sum(
        mixer(mix.linear).state(mix.linear).total
        for layer in spec.layers
        for mix in layer.mixers()
        if mix.kind == "linear" and mix.linear is not None
    ))


def _indexer_correction(spec: Any, per_layer: list[Any], dtype_bytes: float) -> float:
    """Bytes to add so that bytes / dtype_bytes counts a DSA indexer's cached keys as
    elements: vLLM (and archlint) cache them in fp8 with one fp32 scale per 128 values
    (`indexer_bytes_per_token`), not in the KV dtype, so dividing their bytes by the KV
    dtype's size would not give the `index_head_dim` keys transformers' cache holds."""
    from archlint.analysis.memory import indexer_bytes_per_token

    layers = {layer.index: layer for layer in spec.layers}
    extra = 0.0
    for entry in per_layer:
        layer = layers.get(entry.index)
        att = layer.attention if layer is not None else None
        if att is None or att.indexer is None or entry.kind != "mla":
            continue
        extra += att.indexer.head_dim * dtype_bytes - indexer_bytes_per_token(att)
    return extra
