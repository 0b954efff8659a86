"""The report as Markdown (a model card section or a PR comment). Untrusted strings escaped."""

from __future__ import annotations

from archlint.api import Analysis
from archlint.report.escape import for_markdown_cell
from archlint.report.units import fmt_bytes, fmt_count, fmt_flops, fmt_rate


def render_markdown(a: Analysis, explanations: list[str]) -> str:
    ckpt, spec, prof = a.checkpoint, a.spec, a.profile
    p, kv = prof.params, prof.kv
    rev = f" @ `{for_markdown_cell(ckpt.revision[:12])}`" if ckpt.revision else ""
    lines = [
        f"### {for_markdown_cell(ckpt.model_id)}{rev}",
        "",
        f"source: {ckpt.source} · family: {for_markdown_cell(spec.family)}",
        "",
    ]
    lines += [f"> {for_markdown_cell(n)}" for n in list(ckpt.notes) + list(spec.notes)]
    rows = [
        ("layers", f"{spec.num_layers} · hidden {spec.hidden_size:,} · vocab {spec.vocab_size:,}"),
        ("attention", f"{spec.dominant_attention().upper()}"),
        ("params total", f"{fmt_count(p.total)} ({p.total:,})"),
        ("params active / token", f"{fmt_count(p.active)} ({p.active:,})"),
        ("active excl. input embedding", f"{fmt_count(p.active_excluding_embedding)}"),
        ("weights", f"{fmt_bytes(prof.weights.bytes)} ({prof.weights.method})"),
        ("KV cache / token", f"{fmt_bytes(kv.bytes_per_token)} ({kv.dtype})"),
        (f"KV cache @ {kv.context:,} × {kv.batch}", fmt_bytes(kv.bytes_at_context)),
        ("FLOPs / token", fmt_flops(prof.flops.per_token)),
    ]
    if prof.roofline:
        rows.append(
            (
                f"decode bound ({prof.roofline.gpu}, batch {prof.roofline.batch})",
                fmt_rate(prof.roofline.decode_tokens_per_s),
            )
        )
    lines += ["", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    if explanations:
        lines += [""] + [f"- {line}" for line in explanations]
    if a.findings:
        lines += ["", "| severity | code | message | location |", "|---|---|---|---|"]
        for f in a.findings:
            where = (f.location.file or "") + (f":{f.location.line}" if f.location.line else "")
            lines.append(
                f"| {f.severity.value} | {f.code} {f.name} | "
                f"{for_markdown_cell(f.message)} | {for_markdown_cell(where)} |"
            )
    return "\n".join(lines) + "\n"
