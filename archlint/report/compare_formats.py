"""Formatters for the comparison table (:class:`archlint.compare.Table`).

terminal (rich), markdown (GFM, paste-ready), csv, json, html (one self-contained page: inline
CSS, the table, the plots as inline SVG). Cells whose row differs across the columns are
highlighted (terminal: bold yellow, html: a tinted cell, markdown: bold) and the row label
carries a ``*`` marker that survives plain-text output. Column headers are model ids and
cell texts may quote config values: both are untrusted and go through
:mod:`archlint.report.escape` for their format. JSON and CSV carry exact values (integers for
counts and bytes).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from typing import Any

from archlint.compare import Row, Table
from archlint.report.escape import for_html, for_markdown_cell, for_plain_text, for_terminal

__all__ = ["FORMATS", "render", "render_csv", "render_html", "render_json", "render_markdown",
           "render_terminal"]

FORMATS = ("terminal", "text", "markdown", "csv", "json", "html")  # text: terminal's name elsewhere
DIFF_MARK = " *"
DIFF_NOTE = "* the row differs across the compared models"
VARIANT_NOTE = "highlighted: what-if cells that differ from their baseline column"


def _header(table: Table) -> str:
    parts = [f"context {table.context:,} tokens", f"batch {table.batch}"]
    if table.gpu:
        parts.append(f"GPU {table.gpu}")
    if table.kv_dtype:
        parts.append(f"KV cache {table.kv_dtype}")
    return ", ".join(parts)


def _highlight(row: Row) -> list[bool]:
    return row.highlight if len(row.highlight) == len(row.cells) else [False] * len(row.cells)


def _flagged(row: Row, table: Table) -> bool:
    """Whether the row label carries the marker: some cell differs (with what-if variants:
    some variant changed it)."""
    if table.deltas:
        return any(_highlight(row))
    return row.differs and len(table.columns) > 1


def _footer_lines(table: Table) -> list[str]:
    lines: list[str] = []
    if table.deltas:  # what-if mode: highlighted cells are the ones a variant changed
        if any(any(r.highlight) for r in table.rows):
            lines.append(VARIANT_NOTE)
    elif len(table.columns) > 1 and any(r.differs for r in table.rows):
        lines.append(DIFF_NOTE)
    lines.extend(table.notes)
    for label, deltas in zip(table.columns, table.deltas, strict=False):
        if deltas:
            lines.append(f"{label}:")
            lines.extend(f"  {d}" for d in deltas)
    return lines


# -- terminal --------------------------------------------------------------------------------------
def _wrap_id(label: str, room: int) -> str:
    """A Hub id too long for its column breaks after the organisation (`org/` over `name`),
    not inside a word, which is where the table would fold it."""
    org, slash, name = label.partition("/")
    if not slash or len(label) <= room:
        return label
    return f"{org}/\n{name}"


def render_terminal(table: Table, *, color: bool = False, width: int | None = None) -> str:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table as RichTable
    from rich.text import Text

    def safe(s: str) -> str:
        return escape(for_terminal(s))

    out = io.StringIO()
    console = Console(file=out, force_terminal=color, no_color=not color, color_system=(
        "standard" if color else None), width=width or max(100, 28 + 30 * len(table.columns)),
        highlight=False, emoji=False, legacy_windows=False)
    rt = RichTable(show_lines=False, header_style="bold")
    rt.add_column("", style="bold", no_wrap=True)
    share = (console.width - 34) // max(1, len(table.columns))
    for label in table.columns:
        rt.add_column(safe(_wrap_id(label, share)), overflow="fold")
    group = None
    for row in table.rows:
        if group is not None and row.group != group:
            rt.add_section()
        group = row.group
        flag = _flagged(row, table)
        label_text = Text(for_terminal(row.label) + (DIFF_MARK if flag else ""))
        cells = [Text(for_terminal(c.text), style="bold yellow" if hi and color else "")
                 for c, hi in zip(row.cells, _highlight(row), strict=True)]
        rt.add_row(label_text, *cells)
    console.print(Text(for_terminal("archlint compare — " + _header(table))), soft_wrap=True)
    console.print(rt)
    for line in _footer_lines(table):
        console.print(Text(for_terminal(line)), soft_wrap=True)
    return out.getvalue()


# -- markdown --------------------------------------------------------------------------------------
def render_markdown(table: Table) -> str:
    header = ["", *(for_markdown_cell(c) for c in table.columns)]
    lines = [f"*{for_markdown_cell(_header(table))}*", "",
             "| " + " | ".join(header) + " |",
             "|" + "|".join([":---"] * (len(table.columns) + 1)) + "|"]
    for row in table.rows:
        label = for_markdown_cell(row.label)
        cells = []
        for c, hi in zip(row.cells, _highlight(row), strict=True):
            text = for_markdown_cell(c.text)
            cells.append(f"**{text}**" if hi and text else text)
        lines.append("| " + " | ".join([label, *cells]) + " |")
    footer = _footer_lines(table)
    if footer:
        lines.append("")
        for line in footer:
            if line == DIFF_NOTE:
                lines.append("Bold: the value differs across the compared models.  ")
            elif line == VARIANT_NOTE:
                lines.append("Bold: the what-if variant changes the value.  ")
            elif line.startswith("  "):
                lines.append("- " + for_markdown_cell(line.strip()))
            else:
                lines.append(for_markdown_cell(line) + "  ")
    return "\n".join(lines) + "\n"


# -- csv -------------------------------------------------------------------------------------------
_FORMULA = re.compile(r"^[=+\-@\t\r]")


def _csv_value(value: Any, text: str) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return value
    cell = for_plain_text(text).replace("\n", " ")
    # A spreadsheet runs cells that start with = + - @ as formulas (CSV injection).
    return "'" + cell if _FORMULA.match(cell) else cell


def render_csv(table: Table) -> str:
    """One line per row: key, label, unit, differs, then one exact value per column (integers
    for counts and bytes; the human text for descriptive rows)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["key", "label", "unit", "differs",
                     *(_csv_value(None, c) for c in table.columns)])
    for row in table.rows:
        writer.writerow([row.key, row.label, row.unit or "", str(row.differs).lower(),
                         *(_csv_value(c.value, c.text) for c in row.cells)])
    return out.getvalue()


# -- json ------------------------------------------------------------------------------------------
def _clean(obj: Any) -> Any:
    if isinstance(obj, str):
        return for_plain_text(obj)
    if isinstance(obj, dict):
        return {for_plain_text(str(k)): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def render_json(table: Table) -> str:
    from archlint.report.strict_json import dumps

    return dumps(_clean(table.to_dict()), indent=2, ensure_ascii=False) + "\n"


# -- html ------------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f24}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
h1{font-size:1.4rem;margin:0 0 .3rem}
p.meta{color:#57606a;margin:0 0 1rem}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.35rem .6rem;text-align:left;vertical-align:top}
thead th{background:#f6f8fa;position:sticky;top:0}
tbody th{background:#fafbfc;font-weight:600;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.diff{background:#fff8c5;font-weight:600}
tr.group td,tr.group th{border-top:2px solid #8c959f}
ul.notes{color:#57606a}
figure{margin:1.5rem 0}
figure{max-width:100%}
figure svg{max-width:100%;height:auto;display:block}
figcaption{font-weight:600;margin-bottom:.3rem}
/* a phone: compact one-line cells scrolling under a sticky, wrapping row-label column
   (last, so that it overrides the rules above) */
@media (max-width:600px){body{margin:.75rem}th,td{padding:.25rem .4rem}
td{white-space:nowrap}tbody th,thead th:first-child{position:sticky;left:0;z-index:1}
tbody th{white-space:normal;min-width:6.5rem;max-width:8rem}}
"""
_XML_PROLOG = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.IGNORECASE)


def _inline_svg(svg: str) -> str:
    """An SVG document as an element that can sit inside HTML: no XML prolog or DOCTYPE, and
    nothing that could run (the SVG comes from matplotlib; labels in it are escaped by it)."""
    svg = _XML_PROLOG.sub("", svg)
    start = svg.find("<svg")
    if start < 0:
        return ""
    svg = re.sub(r"<metadata\b.*?</metadata>\s*", "", svg[start:],
                 flags=re.IGNORECASE | re.DOTALL)
    return re.sub(r"<script\b.*?</script>", "", svg, flags=re.IGNORECASE | re.DOTALL)


def render_html(table: Table, figures: Sequence[tuple[str, str]] = ()) -> str:
    """One self-contained page. ``figures``: (caption, SVG document text) pairs."""
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>archlint compare</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             "<h1>archlint compare</h1>", f'<p class="meta">{for_html(_header(table))}</p>',
             '<div class="scroll"><table class="compare">', "<thead><tr><th></th>"]
    parts.extend(f'<th scope="col">{for_html(c)}</th>' for c in table.columns)
    parts.append("</tr></thead><tbody>")
    group = None
    for row in table.rows:
        cls = ' class="group"' if group is not None and row.group != group else ""
        group = row.group
        flag = _flagged(row, table)
        title = ' title="differs across models"' if flag else ""
        parts.append(f'<tr{cls} data-key="{for_html(row.key)}"><th scope="row"{title}>'
                     f"{for_html(row.label)}{'&nbsp;*' if flag else ''}</th>")
        for c, hi in zip(row.cells, _highlight(row), strict=True):
            classes = [n for n, on in (("num", isinstance(c.value, (int, float))),
                                       ("diff", hi)) if on]
            attr = f' class="{" ".join(classes)}"' if classes else ""
            parts.append(f"<td{attr}>{for_html(c.text)}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table></div>")
    footer = _footer_lines(table)
    if footer:
        parts.append('<ul class="notes">')
        parts.extend(f"<li>{for_html(line.strip())}</li>" for line in footer)
        parts.append("</ul>")
    for caption, svg in figures:
        parts.append(f"<figure><figcaption>{for_html(caption)}</figcaption>"
                     f"{_inline_svg(svg)}</figure>")
    parts.extend(["</body>", "</html>"])
    return "\n".join(parts) + "\n"


def render(table: Table, fmt: str, **kwargs: Any) -> str:
    """Dispatch by format name: terminal, markdown, csv, json, html."""
    renderers: dict[str, Callable[..., str]] = {
        "terminal": render_terminal, "text": render_terminal, "markdown": render_markdown,
        "csv": render_csv,
        "json": render_json, "html": render_html}
    try:
        renderer = renderers[fmt]
    except KeyError:
        from archlint.errors import UsageError

        raise UsageError(f"unknown format {fmt!r}", hint="formats: " + ", ".join(renderers)) \
            from None
    return renderer(table, **kwargs)
