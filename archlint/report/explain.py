"""Plain-language readings of the numbers, the way an architecture course states them."""

from __future__ import annotations

from archlint.analysis.profile import Profile
from archlint.report.units import fmt_bytes, fmt_count, fmt_ratio
from archlint.spec import ModelSpec


def _attention(spec: ModelSpec, prof: Profile) -> list[str]:
    lines: list[str] = []
    softmax = [
        layer.attention for layer in spec.layers if layer.attention.kind not in ("linear", "none")
    ]
    if spec.architecture == "encoder-decoder":
        lines.append(
            "Encoder-decoder: the decoder's self-attention cache grows with each generated "
            "token (counted here); cross-attention keys and values are computed once from the "
            "encoder output and scale with the input length instead."
        )
    if not softmax or spec.architecture == "encoder":
        if spec.architecture == "encoder":
            lines.append(
                "Encoder-only: attention is bidirectional over the input; nothing is "
                "cached between tokens, so there is no KV cache to grow."
            )
        return lines
    att = softmax[0]
    kv = prof.kv
    if att.kind == "gqa":
        lines.append(
            f"GQA: {att.num_heads} query heads share {att.num_kv_heads} KV heads "
            f"({att.group_size} per group): KV cache {fmt_ratio(att.group_size)} smaller "
            "than MHA with the same heads."
        )
    elif att.kind == "mqa":
        lines.append(
            f"MQA: all {att.num_heads} query heads share 1 KV head: KV cache "
            f"{fmt_ratio(att.num_heads)} smaller than MHA with the same heads."
        )
    elif att.kind == "mha":
        lines.append(f"MHA: each of the {att.num_heads} query heads has its own K and V head.")
    elif att.kind == "mla" and kv.mha_equivalent_bytes_per_token:
        saving = 1 - kv.bytes_per_token / kv.mha_equivalent_bytes_per_token
        lines.append(
            f"MLA: each layer caches one {att.kv_lora_rank}-dim latent + a "
            f"{att.qk_rope_head_dim}-dim "
            f"RoPE key per token, shared by all {att.num_heads} heads: KV cache "
            f"{fmt_bytes(kv.bytes_per_token)}/token vs "
            f"{fmt_bytes(kv.mha_equivalent_bytes_per_token)} "
            f"for MHA at the same heads (-{saving:.0%})."
        )
    if (
        att.head_dim
        and att.num_heads
        and att.head_dim * att.num_heads != spec.hidden_size
        and att.kind != "mla"
    ):
        lines.append(
            f"head_dim {att.head_dim} ≠ hidden/heads ({spec.hidden_size}/{att.num_heads} = "
            f"{spec.hidden_size / att.num_heads:g}): attention width is "
            f"{att.head_dim * att.num_heads}, not {spec.hidden_size}."
        )
    windows = [layer.attention for layer in spec.layers if layer.attention.is_local]
    if windows:
        caps = sorted({a.window or a.chunk or 0 for a in windows})
        what = "use chunked attention over chunks of" if windows[0].chunk else "capped at"
        lines.append(
            f"{len(windows)} of {spec.num_layers} layers {what} "
            f"{', '.join(f'{c:,}' for c in caps)} tokens: their cache stops growing there; "
            f"{kv.layers_full} layers grow with context."
        )
    linear = [layer for layer in spec.layers if layer.attention.kind == "linear"]
    if linear:
        mixer = linear[0].attention.linear
        variant = mixer.variant if mixer else "recurrent"
        lines.append(
            f"{len(linear)} of {spec.num_layers} layers are linear attention "
            f"({variant}) "
            f"with a constant state ({fmt_bytes(kv.state_bytes)} per sequence in all): only "
            f"the {kv.layers_full} softmax layers grow with context."
        )
    return lines


def _ffn(spec: ModelSpec, prof: Profile) -> list[str]:
    moe = spec.first_moe()
    p = prof.params
    if moe is None:
        return []
    lines = [
        f"MoE: {fmt_count(p.main_model)} total, {fmt_count(p.active)} active per token: "
        f"dense-{fmt_count(p.active)} compute per token, dense-{fmt_count(p.main_model)} memory "
        f"(each token uses {moe.experts_per_token} of {moe.num_experts} routed experts"
        + (f" + {moe.num_shared_experts} shared" if moe.num_shared_experts else "")
        + ")."
    ]
    dense = [layer for layer in spec.layers if layer.ffn.kind == "dense"]
    if dense:
        lines.append(f"{len(dense)} of {spec.num_layers} layers keep a dense FFN.")
    lines.append(
        f"Active without the input embedding: {fmt_count(p.active_excluding_embedding)} "
        "(the figure OpenAI quotes; others include it)."
    )
    return lines


def _storage(spec: ModelSpec, prof: Profile) -> list[str]:
    p = prof.params
    lines = []
    if p.by_component.get("mtp"):
        lines.append(
            f"{fmt_count(p.main_model)} main model + {fmt_count(p.by_component['mtp'])} "
            "multi-token-prediction module (used only for speculative decoding; "
            "not counted as active)."
        )
    if p.packed and p.stored_elements:
        lines.append(
            f"Packed quantized weights: {fmt_count(p.stored_elements)} stored elements hold "
            f"{fmt_count(p.total)} logical parameters."
        )
    return lines


def explain(spec: ModelSpec, prof: Profile) -> list[str]:
    return _attention(spec, prof) + _ffn(spec, prof) + _storage(spec, prof)
