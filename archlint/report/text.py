"""The terminal report: a person reads it in ten seconds.

Rendered with rich from the report document alone. Every piece of text is a ``rich.text.Text``
(styles are attached, never written as markup), so nothing that came from a model repo can be
read as markup; the document's strings were already escaped once when it was built.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from archlint.analysis.memory import KVCache, kv_bytes_at
from archlint.analysis.serving import ServingPlan
from archlint.report.document import Report
from archlint.report.reporters import RenderContext
from archlint.units import fmt_bytes, fmt_count, fmt_flops, fmt_rate, fmt_seconds

if TYPE_CHECKING:
    from archlint.api import Analysis

__all__ = ["DEFAULT_WIDTH", "render", "render_text"]

#: Columns when the output is not a terminal (a file, a pipe, CI logs).
DEFAULT_WIDTH = 110
_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "blue"}


def _t(text: str, style: str = "") -> Text:
    return Text(text, style=style)


def _bullets(lines: list[str]) -> Table:
    """One bullet per line, a wrapped line continuing under its text, not under the bullet."""
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for line in lines:
        grid.add_row("  •", _t(line))
    return grid


def _labelled(label: str, style: str, text: str) -> Table:
    """`  label: text`, a wrapped text continuing under itself, not at column 0 (a long note
    such as the offline fallback's reason stays readable at 80 columns)."""
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row(Text.assemble("  ", (label, style)), _t(text))
    return grid


def _header(console: Console, doc: Report) -> None:
    model = doc.model
    rev = f"@{model.revision[:12]}" if model.revision else ""
    bundled = " (bundled snapshot)" if model.source == "catalog" else ""
    console.print(Text.assemble(
        (model.id, "bold"), rev, "  ",
        (f"source: {model.source}{bundled} · family: {model.family} ({model.model_type})", "dim"),
    ))
    for line in doc.summary.coverage:
        console.print(_labelled("coverage:", "bold yellow", line))
    for warning in doc.warnings:
        console.print(_labelled("warning:", "red", warning))
    for note in model.notes:
        console.print(_labelled("note:", "yellow", note))


def _architecture(doc: Report) -> Table:
    arch = Table(show_header=False, box=None, pad_edge=False)
    arch.add_column(style="bold cyan", no_wrap=True)
    arch.add_column()
    s = doc.summary
    rows = [("layers", s.layers), ("attention", s.attention), ("position", s.position),
            ("ffn", s.ffn), ("norm", s.norm)]
    if s.quantization is not None:
        rows.append(("quantization", s.quantization))
    for label, value in rows:
        arch.add_row(_t(label), _t(value))
    return arch


def _parameters(doc: Report) -> Table:
    p = doc.params
    table = Table(
        title=_t("parameters" + (" (from tensors)" if p.method == "tensors" else " (from config)")),
        title_justify="left",
        show_edge=False,
    )
    table.add_column(_t("component"))
    table.add_column(_t("params"), justify="right")
    table.add_column(_t("share"), justify="right")
    for name, count in p.by_component.items():
        if count:
            table.add_row(_t(name.replace("_", " ")), _t(fmt_count(count)),
                          _t(f"{count / p.total:.1%}"))
    table.add_row(_t("total", "bold"), _t(fmt_count(p.total), "bold"), _t(""))
    table.add_row(_t("active / token", "bold"), _t(fmt_count(p.active), "bold"),
                  _t(f"{p.active / p.total:.1%}" if p.total else ""))
    table.add_row(_t("active excl. input embedding"), _t(fmt_count(p.active_excluding_embedding)),
                  _t(""))
    return table


def _kv_token_row(kv: KVCache) -> tuple[str, str, str]:
    """The per-token KV row; for a stack with no layer that grows without bound it says what
    grows until when, instead of a bare 0 B."""
    if kv.bytes_per_token or not (kv.bytes_per_token_local or kv.state_bytes):
        return ("KV cache / token", fmt_bytes(kv.bytes_per_token),
                f"{kv.dtype}; {kv.layers_full} layers that grow with context")
    caps = sorted({lkv.cap_tokens for lkv in kv.per_layer if lkv.cap_tokens})
    if kv.bytes_per_token_local:
        cap = f"{caps[-1]:,}" if len(caps) == 1 else f"{caps[0]:,}–{caps[-1]:,}"
        return ("KV cache / token", f"{fmt_bytes(kv.bytes_per_token_local)} up to {cap} tokens",
                f"{kv.dtype}; all {kv.layers_windowed} attention layers are windowed: the cache "
                f"grows until {cap} tokens, then stays at "
                f"{fmt_bytes(kv_bytes_at(kv, caps[-1]))} per sequence")
    return ("KV cache / token", "0 B (constant state)",
            f"{kv.layers_linear} recurrent layers hold {fmt_bytes(kv.state_bytes)} per sequence")


def _memory_rows(doc: Report) -> list[tuple[str, str, str]]:
    p, kv, fl, roof = doc.params, doc.kv_cache, doc.flops, doc.roofline
    weights = doc.memory.weights_bytes
    rows = [("weights", fmt_bytes(weights), doc.memory.weights_detail)]
    if p.by_dtype:
        rows.append((
            "stored dtypes",
            ", ".join(f"{k} {fmt_count(v)}"
                      for k, v in sorted(p.by_dtype.items(), key=lambda kv_: -kv_[1])),
            "",
        ))
    rows += [
        _kv_token_row(kv),
        (f"KV cache @ {kv.context:,} tok × {kv.batch}", fmt_bytes(kv.bytes_at_context),
         "windows/chunks capped, linear state included"),
        ("FLOPs / token", fmt_flops(fl.per_token), f"forward at {kv.context:,} context"
         + (f"; {fl.decode_attention}" if fl.decode_attention else "")),
        ("prefill FLOPs", fmt_flops(fl.prefill),
         f"{kv.context:,}-token prompt, logits for the last position"
         + (f"; {fl.prefill_attention}" if fl.prefill_attention else "")),
        ("training FLOPs / token", fmt_flops(fl.training_per_token),
         "6 × active matmul params (LM head included)"),
    ]
    if roof:
        rows += [
            (f"decode bound on {roof.gpu}", fmt_rate(roof.decode_tokens_per_s),
             f"batch {roof.batch}, {roof.decode_bound}-bound, "
             f"{fmt_seconds(roof.decode_step_seconds)}/step"),
            ("prefill bound", fmt_seconds(roof.prefill_seconds), f"batch {roof.batch}"),
        ]
        if roof.free_bytes_after_weights <= 0:
            detail = (f"the weights alone ({fmt_bytes(weights)}) exceed its "
                      f"{fmt_bytes(roof.memory_bytes)}: shard across GPUs or quantize")
        else:
            detail = (f"max batch {roof.max_batch:,} at {kv.context:,} tok; "
                      f"max context {roof.max_context:,} at batch {roof.batch}")
        rows.append((f"on one {roof.gpu}", "fits" if roof.fits else "does NOT fit", detail))
    return rows


def _memory(doc: Report) -> Table:
    mem = Table(title=_t("memory & compute"), title_justify="left", show_header=False,
                show_edge=False)
    mem.add_column(style="bold")
    mem.add_column(justify="right")
    mem.add_column(style="dim")
    for label, value, detail in _memory_rows(doc):
        mem.add_row(_t(label), _t(value), _t(detail))
    return mem


def _gguf(doc: Report) -> Table | None:
    """GGUF: the file(s) and the repo's other models, the quant mix, llama.cpp's KV cache."""
    info, lkv = doc.gguf, doc.llama_cpp_kv
    if info is None and lkv is None:
        return None
    table = Table(title=_t("GGUF / llama.cpp"), title_justify="left", show_header=False,
                  show_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="dim")
    rows: list[tuple[str, str, str]] = []
    if info is not None:
        files = info.files
        rows.append(("file", files[0] if len(files) == 1 else f"{len(files)} parts",
                     f"GGUF v{info.version} · file type {info.file_type}"))
        if info.quant_mix is not None:
            rows.append(("bits / weight", f"{info.quant_mix.bits_per_weight:.2f}",
                         info.quant_mix.summary))
    if lkv is not None:
        swa = f", sliding layers {lkv.swa_cells:,} cells" if lkv.swa_cells else ""
        rows.append((
            f"llama.cpp KV @ {lkv.context:,} tok", fmt_bytes(lkv.bytes_total),
            f"K {lkv.type_k.lower()} {fmt_bytes(lkv.bytes_k)} + V {lkv.type_v.lower()} "
            f"{fmt_bytes(lkv.bytes_v)}; {lkv.cells:,} cells{swa}"
            + (f"; recurrent state {fmt_bytes(lkv.recurrent_state_bytes)} (f32)"
               if lkv.recurrent_state_bytes else "")
            + (f"; MLA {lkv.mla_layout}" if lkv.mla_layout else "")
            + " (the KV rows above follow vLLM)"))
    models = info.repo_models if info is not None else []
    if len(models) > 1:
        chosen = (info.chosen or {}).get("model") if info is not None else None
        shown = ", ".join(
            f"{'*' if m['model'] == chosen else ''}{m['quant'] or m['model']}"
            + (f" {fmt_bytes(m['bytes'])}" if m.get("bytes") else "")
            for m in models[:12])
        more = f" (+{len(models) - 12} more)" if len(models) > 12 else ""
        rows.append(("repo offers", f"{len(models)} models", shown + more))
    for label, value, detail in rows:
        table.add_row(_t(label), _t(value), _t(detail))
    return table


def _serving_rows(sp: ServingPlan) -> list[tuple[str, str, str]]:
    rows = [
        ("GPU memory", fmt_bytes(sp.capacity_bytes),
         f"× {sp.gpu_memory_utilization:g} utilization = {fmt_bytes(sp.budget_bytes)}"),
        ("− weights", fmt_bytes(sp.weights_bytes), "this rank's shard, in the serving dtype"),
        ("− activation peak", fmt_bytes(sp.activation_peak_bytes),
         f"profiling forward at {sp.max_num_batched_tokens:,} batched tokens (estimate)"),
        ("− non-torch", fmt_bytes(sp.non_torch_bytes), "CUDA context, NCCL (reserve)"),
        ("= KV cache", fmt_bytes(sp.kv_memory_bytes),
         f"{sp.num_blocks:,} blocks of {sp.block_size} tokens"
         + (f" in {sp.kv_groups} groups" if sp.kv_groups > 1 else "")),
        ("KV capacity", f"{sp.kv_tokens:,} tokens",
         f"max concurrency {sp.max_concurrency:,.2f}x at {sp.context:,} tokens/request"),
        ("max batch / context", f"{sp.max_batch:,} × {sp.context:,}",
         f"longest single context {sp.max_context:,} tokens"),
    ]
    if sp.communication is not None:
        c = sp.communication
        rows.append(("communication", f"{fmt_bytes(c.bytes_per_token)}/token",
                     f"{fmt_seconds(c.seconds_per_decode_step)}/decode step, "
                     f"{fmt_seconds(c.seconds_per_prefill)}/prefill on {c.interconnect}"))
    if sp.decode_tokens_per_s:
        rows.append(("decode bound", fmt_rate(sp.decode_tokens_per_s),
                     f"batch {sp.batch}, per replica, communication included"))
    return rows


def _serving(console: Console, sp: ServingPlan) -> None:
    """The serving section: one GPU's memory as vLLM lays it out, and what it buys."""
    lay = sp.layout
    where = f"TP={lay.tp} × PP={lay.pp}" + (f", EP={lay.ep}" if lay.ep > 1 else "")
    table = Table(title=_t(f"serving on {sp.gpus} × {sp.gpu} ({where}; per GPU, vLLM's layout)"),
                  title_justify="left", show_header=False, show_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="dim")
    for label, value, detail in _serving_rows(sp):
        table.add_row(_t(label), _t(value), _t(detail))
    console.print(table)
    for note in sp.notes:
        console.print(_labelled("note:", "yellow", note))
    if sp.search is None:
        return
    console.print(Text.assemble("  ", ("--gpus auto:", "bold"), f" {sp.search.verdict}"))
    alt = Table(show_edge=False)
    for col in ("TP×PP", "EP", "weights/GPU", "KV/GPU", "KV tokens", "max batch", "fits"):
        alt.add_column(col, justify="right")
    for choice in sp.search.alternatives:
        lay = choice.layout
        alt.add_row(f"{lay.tp}×{lay.pp}", str(lay.ep), fmt_bytes(choice.weights_bytes),
                    fmt_bytes(choice.kv_memory_bytes), f"{choice.kv_tokens:,}",
                    f"{choice.max_batch:,}", "yes" if choice.fits else "no")
    console.print(alt)


def _findings(console: Console, doc: Report) -> None:
    console.print(_t(f"findings ({len(doc.findings)})", "bold"))
    for f in doc.findings:
        sev = f.severity.value
        where = f.location.file or ""
        if f.location.line:
            where += f":{f.location.line}"
        console.print(Text.assemble(
            "  ", (f"{sev:7s}", _SEVERITY_STYLE[sev]), f" {f.code} {f.name}: {f.message} ",
            (where, "dim"),
        ))


def render(doc: Report, context: RenderContext) -> str:
    """The text report (``--format text``)."""
    out = io.StringIO()
    console = Console(
        file=out,
        force_terminal=context.color,
        no_color=not context.color,
        # The caller decided on colour (NO_COLOR, FORCE_COLOR, TERM=dumb, --color): rich must
        # neither re-decide from TERM nor fall back to 80 columns for a "dumb" terminal.
        color_system="standard" if context.color else None,
        highlight=False,
        emoji=False,
        width=context.width or DEFAULT_WIDTH,
        height=25,
        soft_wrap=False,
    )
    _header(console, doc)
    console.print(_architecture(doc))
    console.print(_parameters(doc))
    console.print(_memory(doc))
    gguf = _gguf(doc)
    if gguf is not None:
        console.print(gguf)
    if doc.serving is not None:
        _serving(console, doc.serving)
    if doc.explanations:
        console.print(_t("what this means", "bold"))
        console.print(_bullets(doc.explanations))
    if doc.findings:
        _findings(console, doc)
    return out.getvalue()


def render_text(a: Analysis, explanations: list[str], out: TextIO, *,
                color: bool | None = None) -> None:
    """The text report of one analysis, written to ``out`` (a shortcut for the library)."""
    from archlint.report.document import build_document

    out.write(render(build_document(a, explanations), RenderContext(color=bool(color))))
