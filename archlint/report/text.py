"""The terminal report: a person reads it in ten seconds. Rendered with rich; every string
that came from the model repo is stripped of control sequences and rich markup."""

from __future__ import annotations

from typing import TextIO

from archlint.api import Analysis
from archlint.report.escape import for_terminal
from archlint.report.explain import coverage_lines, mixer_names
from archlint.report.units import fmt_bytes, fmt_count, fmt_flops, fmt_rate, fmt_seconds


def _safe(text: object) -> str:
    from rich.markup import escape

    return escape(for_terminal(str(text)))


def _attention_line(a: Analysis) -> str:
    spec = a.spec
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


def _position_line(a: Analysis) -> str:
    att = next(
        (
            layer.attention
            for layer in a.spec.layers
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
    nope = sum(1 for layer in a.spec.layers if layer.attention.positional == "nope")
    if nope:
        text += f" · NoPE on {nope} layers"
    if a.spec.max_position_embeddings:
        text += f" · max {a.spec.max_position_embeddings:,} tokens"
    return text


def _ffn_line(a: Analysis) -> str:
    spec = a.spec
    moe = spec.first_moe()
    dense = [layer.ffn for layer in spec.layers if layer.ffn.kind == "dense"]
    kind = (
        "gated" if (moe or (dense[0] if dense else None) or spec.layers[0].ffn).gated else "plain"
    )
    if moe is None:
        width = dense[0].intermediate_size if dense else 0
        return f"dense {kind} MLP · width {width:,} · {dense[0].activation if dense else ''}"
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


def _kv_token_row(mem: object, kv: object) -> None:
    """The per-token KV row; for a stack with no layer that grows without bound it says what
    grows until when, instead of a bare 0 B."""
    from archlint.analysis.memory import KVCache, kv_bytes_at

    assert isinstance(kv, KVCache)
    add = mem.add_row  # type: ignore[attr-defined]
    if kv.bytes_per_token or not (kv.bytes_per_token_local or kv.state_bytes):
        add(
            "KV cache / token",
            fmt_bytes(kv.bytes_per_token),
            f"{kv.dtype}; {kv.layers_full} layers that grow with context",
        )
        return
    caps = sorted({lkv.cap_tokens for lkv in kv.per_layer if lkv.cap_tokens})
    if kv.bytes_per_token_local:
        cap = f"{caps[-1]:,}" if len(caps) == 1 else f"{caps[0]:,}–{caps[-1]:,}"
        add(
            "KV cache / token",
            f"{fmt_bytes(kv.bytes_per_token_local)} up to {cap} tokens",
            f"{kv.dtype}; all {kv.layers_windowed} attention layers are windowed: the cache "
            f"grows until {cap} tokens, then stays at "
            f"{fmt_bytes(kv_bytes_at(kv, caps[-1]))} per sequence",
        )
    else:
        add(
            "KV cache / token",
            "0 B (constant state)",
            f"{kv.layers_linear} recurrent layers hold {fmt_bytes(kv.state_bytes)} per sequence",
        )


def render_text(
    a: Analysis, explanations: list[str], out: TextIO, *, color: bool | None = None
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(
        file=out,
        force_terminal=color,
        no_color=color is False,
        highlight=False,
        width=110 if not out.isatty() else None,
        soft_wrap=False,
    )
    ckpt, spec, prof = a.checkpoint, a.spec, a.profile
    rev = f"@{ckpt.revision[:12]}" if ckpt.revision else ""
    console.print(
        f"[bold]{_safe(ckpt.model_id)}[/bold]{_safe(rev)}  "
        f"[dim]source: {ckpt.source}{' (bundled snapshot)' if ckpt.source == 'catalog' else ''}"
        f" · family: {_safe(spec.family)} ({_safe(spec.model_type)})[/dim]"
    )
    for line in coverage_lines(spec):
        console.print(f"  [bold yellow]coverage:[/bold yellow] {_safe(line)}")
    for warning in prof.warnings:
        console.print(f"  [red]warning:[/red] {_safe(warning)}")
    for note in list(ckpt.notes) + list(spec.notes) + list(prof.notes):
        console.print(f"  [yellow]note:[/yellow] {_safe(note)}")

    arch = Table(show_header=False, box=None, pad_edge=False)
    arch.add_column(style="bold cyan", no_wrap=True)
    arch.add_column()
    arch.add_row(
        "layers",
        f"{spec.num_layers} {spec.architecture} layers"
        + (f" + {len(spec.encoder_layers)} encoder" if spec.encoder_layers else "")
        + (f" + {len(spec.mtp_layers)} MTP" if spec.mtp_layers else "")
        + f" · hidden {spec.hidden_size:,} · vocab {spec.vocab_size:,}"
        + (" · tied head" if spec.tie_word_embeddings else ""),
    )
    arch.add_row("attention", _attention_line(a))
    arch.add_row("position", _position_line(a))
    arch.add_row("ffn", _ffn_line(a))
    arch.add_row(
        "norm",
        f"{spec.norm}{' (with bias)' if spec.norm_bias else ''}"
        + (" · parallel attention+FFN" if spec.layers and spec.layers[0].parallel else ""),
    )
    if spec.quantization:
        q = spec.quantization
        arch.add_row(
            "quantization",
            f"{_safe(q.method)}"
            + (f" {q.bits:g}-bit" if q.bits else "")
            + (f" · blocks {q.block_size}" if q.block_size else ""),
        )
    console.print(arch)

    p = prof.params
    table = Table(
        title="parameters" + (" (from tensors)" if p.method == "tensors" else " (from config)"),
        title_justify="left",
        show_edge=False,
    )
    table.add_column("component")
    table.add_column("params", justify="right")
    table.add_column("share", justify="right")
    for name, count in p.by_component.items():
        if count:
            table.add_row(name.replace("_", " "), fmt_count(count), f"{count / p.total:.1%}")
    table.add_row("[bold]total[/bold]", f"[bold]{fmt_count(p.total)}[/bold]", "")
    table.add_row(
        "[bold]active / token[/bold]",
        f"[bold]{fmt_count(p.active)}[/bold]",
        f"{p.active / p.total:.1%}" if p.total else "",
    )
    table.add_row("active excl. input embedding", fmt_count(p.active_excluding_embedding), "")
    console.print(table)

    kv = prof.kv
    mem = Table(title="memory & compute", title_justify="left", show_header=False, show_edge=False)
    mem.add_column(style="bold")
    mem.add_column(justify="right")
    mem.add_column(style="dim")
    mem.add_row("weights", fmt_bytes(prof.weights.bytes), prof.weights.detail)
    if p.by_dtype:
        mem.add_row(
            "stored dtypes",
            ", ".join(
                f"{k} {fmt_count(v)}"
                for k, v in sorted(p.by_dtype.items(), key=lambda kv_: -kv_[1])
            ),
            "",
        )
    _kv_token_row(mem, kv)
    mem.add_row(
        f"KV cache @ {kv.context:,} tok × {kv.batch}",
        fmt_bytes(kv.bytes_at_context),
        "windows/chunks capped, linear state included",
    )
    fl = prof.flops
    mem.add_row(
        "FLOPs / token",
        fmt_flops(fl.per_token),
        f"forward at {kv.context:,} context"
        + (f"; {fl.decode_attention}" if fl.decode_attention else ""),
    )
    mem.add_row(
        "prefill FLOPs",
        fmt_flops(fl.prefill),
        f"{kv.context:,}-token prompt, logits for the last position"
        + (f"; {fl.prefill_attention}" if fl.prefill_attention else ""),
    )
    mem.add_row(
        "training FLOPs / token",
        fmt_flops(prof.flops.training_per_token),
        "6 × active matmul params (LM head included)",
    )
    roof = prof.roofline
    if roof:
        mem.add_row(
            f"decode bound on {roof.gpu}",
            fmt_rate(roof.decode_tokens_per_s),
            f"batch {roof.batch}, {roof.decode_bound}-bound, "
            f"{fmt_seconds(roof.decode_step_seconds)}/step",
        )
        mem.add_row("prefill bound", fmt_seconds(roof.prefill_seconds), f"batch {roof.batch}")
        fit = "fits" if roof.fits else "does NOT fit"
        if roof.free_bytes_after_weights <= 0:
            detail = (
                f"the weights alone ({fmt_bytes(prof.weights.bytes)}) exceed its "
                f"{fmt_bytes(roof.memory_bytes)}: shard across GPUs or quantize"
            )
        else:
            detail = (
                f"max batch {roof.max_batch:,} at {kv.context:,} tok; "
                f"max context {roof.max_context:,} at batch {roof.batch}"
            )
        mem.add_row(f"on one {roof.gpu}", fit, detail)
    console.print(mem)

    if explanations:
        console.print("[bold]what this means[/bold]")
        for line in explanations:
            console.print(f"  • {line}")
    findings = list(a.findings)
    if findings:
        console.print(f"[bold]findings ({len(findings)})[/bold]")
        colour = {"error": "red", "warning": "yellow", "info": "blue"}
        for f in findings:
            sev = f.severity.value
            where = f.location.file or ""
            if f.location.line:
                where += f":{f.location.line}"
            console.print(
                f"  [{colour[sev]}]{sev:7s}[/{colour[sev]}] {f.code} {f.name}: "
                f"{_safe(f.message)} [dim]{_safe(where)}[/dim]"
            )
