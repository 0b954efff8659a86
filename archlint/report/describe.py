"""The model described in words, once: the lines every human-readable report shows.

The report document (:mod:`archlint.report.document`) carries these as its ``summary`` so the
text, Markdown and any plugin format describe the model the same way.
"""

from __future__ import annotations

from archlint.report.explain import mixer_names
from archlint.spec import ModelSpec

__all__ = ["attention_line", "ffn_line", "layers_line", "norm_line", "position_line",
           "quantization_line"]


def layers_line(spec: ModelSpec) -> str:
    """Layer counts (decoder, encoder, MTP), hidden size, vocabulary, tied head."""
    return (
        f"{spec.num_layers} {spec.architecture} layers"
        + (f" + {len(spec.encoder_layers)} encoder" if spec.encoder_layers else "")
        + (f" + {len(spec.mtp_layers)} MTP" if spec.mtp_layers else "")
        + f" · hidden {spec.hidden_size:,} · vocab {spec.vocab_size:,}"
        + (" · tied head" if spec.tie_word_embeddings else "")
    )


def attention_line(spec: ModelSpec) -> str:
    """The dominant attention: kind, heads, head dims, windows, linear layers, extras."""
    kind = spec.dominant_attention()
    att = next((layer.attention for layer in spec.layers if layer.attention.kind == kind), None)
    if att is None:
        return "none"
    if att.kind == "mla":
        q = f"q_lora {att.q_lora_rank}" if att.q_lora_rank else "full-rank q"
        text = (
            f"MLA · {att.num_heads} heads · latent {att.kv_lora_rank} + rope {att.qk_rope_head_dim}"
            f" · {q} · qk {att.head_dim} / v {att.v_head_dim}"
        )
    elif att.kind == "linear":
        text = " + ".join(sorted(mixer_names(spec))) or "linear attention"
    else:
        text = (
            f"{att.kind.upper()} · {att.num_heads} query / {att.num_kv_heads} KV heads · "
            f"head_dim {att.head_dim}"
        )
    local = [layer.attention for layer in spec.layers if layer.attention.is_local]
    if local:
        cap = local[0].window or local[0].chunk
        what = "window" if local[0].window else "chunk"
        text += f" · {what} {cap:,} on {len(local)}/{spec.num_layers} layers"
    linear = sum(1 for layer in spec.layers if layer.attention.kind == "linear")
    if linear and att.kind != "linear":
        text += f" · {linear}/{spec.num_layers} layers {' + '.join(sorted(mixer_names(spec)))}"
    parallel = sum(1 for layer in spec.layers if layer.parallel_mixer is not None)
    if parallel:
        text += f" · ∥ {' + '.join(sorted(mixer_names(spec, parallel=True)))} in {parallel} layers"
    shared = sum(1 for layer in spec.layers if layer.attention.kv_shared_from is not None)
    if shared:
        text += f" · {shared} layers reuse another layer's KV"
    cross = sum(1 for layer in spec.layers if layer.attention.source == "encoder")
    if cross:
        text += f" · {cross} cross-attention layers"
    extras = [
        x
        for x, on in (
            ("sinks", att.sinks),
            ("qk-norm", att.qk_norm),
            (f"softcap {att.softcap}", att.softcap),
        )
        if on
    ]
    return text + (" · " + ", ".join(extras) if extras else "")


def position_line(spec: ModelSpec) -> str:
    """Positions of the first softmax layer: RoPE θ, partial rotary, scaling; NoPE; max."""
    att = next(
        (
            layer.attention
            for layer in spec.layers
            if layer.attention.kind not in ("linear", "none")
        ),
        None,
    )
    if att is None:
        return "—"
    text: str = att.positional
    if att.positional == "rope":
        text = f"RoPE θ={att.rope_theta:g}" if att.rope_theta else "RoPE"
        if att.rotary_fraction:
            text += f" on {att.rotary_fraction:.0%} of head_dim"
        if att.rope_scaling:
            kind = att.rope_scaling.get("rope_type") or att.rope_scaling.get("type")
            text += f" · {kind} ×{att.rope_scaling.get('factor', '?')}"
    nope = sum(1 for layer in spec.layers if layer.attention.positional == "nope")
    if nope:
        text += f" · NoPE on {nope} layers"
    if spec.max_position_embeddings:
        text += f" · max {spec.max_position_embeddings:,} tokens"
    return text


def ffn_line(spec: ModelSpec) -> str:
    """The FFN: dense width and activation, or MoE experts, top-k, router, shared, dense."""
    moe = spec.first_moe()
    dense = [layer.ffn for layer in spec.layers if layer.ffn.kind == "dense"]
    kind = (
        "gated" if (moe or (dense[0] if dense else None) or spec.layers[0].ffn).gated else "plain"
    )
    if moe is None:
        width = dense[0].intermediate_size if dense else 0
        act = (dense[0].activation if dense else None) or "activation not declared"
        return f"dense {kind} MLP · width {width:,} · {act}"
    text = (
        f"MoE · {moe.num_experts} experts × {moe.expert_intermediate_size:,} · "
        f"top-{moe.experts_per_token}"
        f" · {moe.router} router"
    )
    if moe.num_shared_experts:
        text += f" · {moe.num_shared_experts} shared ({moe.shared_intermediate_size:,})"
    if dense:
        text += f" · {len(dense)} dense layers ({dense[0].intermediate_size:,})"
    return text


def norm_line(spec: ModelSpec) -> str:
    """The norm, its bias, and a parallel attention+FFN block."""
    return f"{spec.norm}{' (with bias)' if spec.norm_bias else ''}" + (
        " · parallel attention+FFN" if spec.layers and spec.layers[0].parallel else ""
    )


def quantization_line(spec: ModelSpec) -> str | None:
    """The quantization method, bits and block size; None for an unquantized model."""
    q = spec.quantization
    if not q:
        return None
    return (
        f"{q.method}"
        + (f" {q.raw['file_type']}" if q.method == "gguf" and q.raw.get("file_type") else "")
        + (f" {q.bits:g}-bit" if q.bits else "")
        + (f" · blocks {q.block_size}" if q.block_size else "")
    )
