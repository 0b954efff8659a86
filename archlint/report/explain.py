"""Plain-language readings of the numbers, the way an architecture course states them."""

from __future__ import annotations

from archlint.analysis.profile import Profile
from archlint.spec import ModelSpec
from archlint.units import fmt_bytes, fmt_count, fmt_ratio

#: how people name each constant-state mixer
MIXER_LABELS = {
    "gated_deltanet": "Gated DeltaNet",
    "mamba1": "Mamba",
    "mamba2": "Mamba-2",
    "short_conv": "short convolution",
    "rglru": "RG-LRU",
    "lightning": "lightning attention",
    "kda": "Kimi Delta Attention",
    "rwkv4": "RWKV-4 time mixing",
    "mlstm": "mLSTM",
    "kda_full_gates": "Kimi Delta Attention (full-rank gates)",
    "unknown": "an undescribed recurrent mixer",
}


def mixer_names(spec: ModelSpec, *, parallel: bool = False) -> set[str]:
    """Labels of the constant-state mixers in the stack (main or parallel ones)."""
    names = set()
    for layer in spec.layers:
        mix = layer.parallel_mixer if parallel else layer.attention
        if mix is not None and mix.kind == "linear" and mix.linear is not None:
            names.add(MIXER_LABELS.get(mix.linear.variant, mix.linear.variant))
    return names


def coverage_lines(spec: ModelSpec) -> list[str]:
    """What archlint could not understand, said first: the numbers may be incomplete."""
    cov = spec.coverage
    lines = [
        f"{item.part}: {item.how.replace('_', ' ')}" + (f" ({item.detail})" if item.detail else "")
        for item in cov.items
        if item.how in ("assumed", "not_understood")
    ]
    if cov.unknown_keys:
        shown = ", ".join(cov.unknown_keys[:8]) + (" …" if len(cov.unknown_keys) > 8 else "")
        lines.append(
            f"config keys that shape the architecture were not understood: {shown}; "
            "the figures may not describe what they change"
        )
    if not spec.known_family and not lines:
        lines.append(
            f"model type {spec.model_type!r} has no adapter: read from standard keys only"
        )
    return lines


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
        compressed = len({lkv.index for lkv in kv.per_layer if lkv.kind == "compressed"})
        # layers_full counts every growing layer, the compressed ones among them
        others = kv.layers_full - compressed
        grows = "; ".join(
            ([f"{compressed} of them also cache compressed entries, which grow with context"]
             if compressed else [])
            + ([f"{others} layers grow with context"] if others or not compressed else [])
        )
        lines.append(
            f"{len(windows)} of {spec.num_layers} layers {what} "
            f"{', '.join(f'{c:,}' for c in caps)} tokens: their "
            f"{'window' if compressed else 'cache'} stops growing there; {grows}."
        )
    return lines


def _recurrent(spec: ModelSpec, prof: Profile) -> list[str]:
    """Constant-state mixers, parallel mixers, KV sharing and cross-attention."""
    kv = prof.kv
    lines: list[str] = []
    by_label: dict[str, int] = {}
    for layer in spec.layers:
        for mix in (layer.attention, layer.parallel_mixer):
            if mix is not None and mix.kind == "linear" and mix.linear is not None:
                label = MIXER_LABELS.get(mix.linear.variant, mix.linear.variant)
                by_label[label] = by_label.get(label, 0) + 1
    if by_label and spec.architecture != "encoder":
        attending = kv.layers_full + kv.layers_windowed
        mixers = " and ".join(f"{n} {label}" for label, n in sorted(by_label.items()))
        verb = "holds" if sum(by_label.values()) == 1 else "hold"
        lead = f"{attending} of {spec.num_layers} layers attend; " if attending else ""
        lines.append(
            f"{lead}{mixers} layers {verb} a constant {fmt_bytes(kv.state_bytes)} state per "
            f"sequence ({kv.state_dtype}), whatever the context"
            + ("; only the attention layers' cache grows." if kv.layers_full else ".")
        )
    parallel = [layer for layer in spec.layers if layer.parallel_mixer is not None]
    if parallel:
        lines.append(
            f"{len(parallel)} layers run attention and "
            f"{' + '.join(sorted(mixer_names(spec, parallel=True)))} side by side on the same "
            "input: both the KV cache and the recurrent state are kept."
        )
    if kv.layers_shared:
        lines.append(
            f"{kv.layers_shared} of {spec.num_layers} layers read the K/V another layer "
            "cached: they add no cache of their own."
        )
    if kv.mtp_bytes_per_token:
        lines.append(
            f"Drafting with the {len(spec.mtp_layers)} MTP module(s) (speculative decoding) "
            f"adds their own cache, {fmt_bytes(kv.mtp_bytes_per_token)} per token, beside the "
            "figures above: optional, only when serving drafts with them."
        )
    if kv.layers_cross:
        lines.append(
            f"{kv.layers_cross} cross-attention layers cache the encoder's tokens "
            f"({fmt_bytes(kv.cross_bytes_per_encoder_token)} per encoder token in all), once "
            "per input, not per generated token."
        )
    shared = {layer.shared_block for layer in spec.layers if layer.shared_block}
    if shared:
        uses = sum(1 for layer in spec.layers if layer.shared_block)
        lines.append(
            f"{len(shared)} shared block(s) reused by {uses} layers: weights counted once, "
            "compute and cache once per use."
        )
    return lines


def _towers(spec: ModelSpec, prof: Profile) -> list[str]:
    lines = []
    for tower in spec.towers:
        estimate = "" if tower.understood else " (estimated)"
        # a projector or resampler is no tower of its own: name it as it is
        label = tower.name if tower.name in ("projector", "audio front-end") else (
            f"{tower.name} tower"
        )
        lines.append(
            f"{label} ({tower.kind}) {fmt_count(tower.params)} params{estimate}: "
            "counted in total and weights, not used per generated token."
        )
    return lines


def _ffn(spec: ModelSpec, prof: Profile) -> list[str]:
    moe = spec.first_moe()
    p = prof.params
    if moe is None:
        return []
    lines = [
        f"MoE: {fmt_count(p.total)} total, {fmt_count(p.active)} active per token: "
        f"dense-{fmt_count(p.active)} compute per token, dense-{fmt_count(p.total)} memory "
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
            f"{fmt_count(p.total)} total = {fmt_count(p.main_model)} main model + "
            f"{fmt_count(p.by_component['mtp'])} multi-token-prediction module (loaded with the "
            "weights, used only for speculative decoding; not counted as active)."
        )
    if p.packed and p.stored_elements:
        lines.append(
            f"Packed quantized weights: {fmt_count(p.stored_elements)} stored elements hold "
            f"{fmt_count(p.total)} logical parameters."
        )
    return lines


def explain(spec: ModelSpec, prof: Profile) -> list[str]:
    return (
        _attention(spec, prof)
        + _recurrent(spec, prof)
        + _ffn(spec, prof)
        + _towers(spec, prof)
        + _storage(spec, prof)
    )
