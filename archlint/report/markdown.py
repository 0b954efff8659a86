"""The report as Markdown (a model card section or a PR comment), from the report document.
Every string in a cell goes through ``for_markdown_cell`` (literal text, one line)."""

from __future__ import annotations

from archlint.report.document import Report
from archlint.report.escape import for_markdown_cell
from archlint.report.reporters import RenderContext
from archlint.units import fmt_bytes, fmt_count, fmt_flops, fmt_rate

__all__ = ["render"]


def _rows(doc: Report) -> list[tuple[str, str]]:
    p, kv, mem, s = doc.params, doc.kv_cache, doc.memory, doc.summary
    rows = [
        ("layers", s.layers),
        ("attention", s.attention),
        ("position", s.position),
        ("ffn", s.ffn),
        ("params total", f"{fmt_count(p.total)} ({p.total:,})"),
        ("params active / token", f"{fmt_count(p.active)} ({p.active:,})"),
        ("active excl. input embedding", f"{fmt_count(p.active_excluding_embedding)}"),
        ("weights", f"{fmt_bytes(mem.weights_bytes)} ({mem.weights_method})"),
        ("KV cache / token", f"{fmt_bytes(kv.bytes_per_token)} ({kv.dtype})"),
        (f"KV cache @ {kv.context:,} × {kv.batch}", fmt_bytes(kv.bytes_at_context)),
        ("FLOPs / token", fmt_flops(doc.flops.per_token)),
    ]
    if doc.roofline:
        rows.append((f"decode bound ({doc.roofline.gpu}, batch {doc.roofline.batch})",
                     fmt_rate(doc.roofline.decode_tokens_per_s)))
    return rows


def render(doc: Report, context: RenderContext) -> str:
    """The Markdown report (``--format markdown``)."""
    model = doc.model
    rev = f" @ `{for_markdown_cell(model.revision[:12])}`" if model.revision else ""
    lines = [
        f"### {for_markdown_cell(model.id)}{rev}",
        "",
        f"source: {model.source} · family: {for_markdown_cell(model.family)}",
        "",
    ]
    lines += [f"> {for_markdown_cell(n)}" for n in model.notes]
    lines += ["", "| | |", "|---|---|"]
    lines += [f"| {for_markdown_cell(k)} | {for_markdown_cell(v)} |" for k, v in _rows(doc)]
    if doc.explanations:
        lines += [""] + [f"- {for_markdown_cell(line)}" for line in doc.explanations]
    if doc.findings:
        lines += ["", "| severity | code | message | location |", "|---|---|---|---|"]
        for f in doc.findings:
            where = (f.location.file or "") + (f":{f.location.line}" if f.location.line else "")
            lines.append(
                f"| {f.severity.value} | {f.code} {f.name} | "
                f"{for_markdown_cell(f.message)} | {for_markdown_cell(where)} |"
            )
    return "\n".join(lines) + "\n"
