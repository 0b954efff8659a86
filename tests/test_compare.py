"""The comparison table and its formats, checked against hand calculations (bundled catalog,
no network)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from archlint.analysis.hardware import find_gpu
from archlint.analysis.profile import Options
from archlint.api import Analysis, analyze
from archlint.compare import (
    DEFAULT_ROWS,
    ROW_KEYS,
    compare_table,
    describe_layers,
    fmt_context,
    pct_change,
)
from archlint.compare_cli import run_compare
from archlint.errors import UsageError
from archlint.report import compare_formats
from archlint.source import SourceOptions

CATALOG = SourceOptions(prefer="catalog")


def at(gpu: str = "H100", **fields) -> Options:
    """Options as `archlint compare` builds them (the CLI's default GPU is the H100)."""
    return Options(gpu=find_gpu(gpu), **fields)
KIB = 1024


@pytest.fixture(scope="module")
def models() -> dict[str, Analysis]:
    names = ("llama3", "mistral", "mixtral", "deepseek-v3", "gpt-oss", "llama4", "llama-7b")
    return {name: analyze(name, source=CATALOG) for name in names}


def _values(table, key: str) -> list:
    return [c.value for c in table.row(key).cells]


# -- values against hand calculations -----------------------------------------------------------
def test_llama3_kv_per_token_and_at_context(models):
    table = compare_table([models["llama3"]], options=at(context=8192, batch=4))
    per_token = 2 * 32 * 8 * 128 * 2  # K and V × layers × KV heads × head_dim × bf16/fp16 bytes
    assert per_token == 131_072
    assert _values(table, "kv_per_token") == [per_token]
    assert _values(table, "kv_at_context") == [per_token * 8192 * 4]
    assert table.row("kv_per_token").cells[0].text == "128 KiB"
    assert table.row("kv_at_context").cells[0].text == "4 GiB"  # 128 KiB × 8192 × 4


def test_llama3_params_weights_flops_decode(models):
    table = compare_table([models["llama3"]], options=at(context=8192, batch=1))
    hidden, layers, vocab, kv_dim, ffn = 4096, 32, 128_256, 8 * 128, 14_336
    per_layer = 2 * hidden * hidden + 2 * hidden * kv_dim + 3 * hidden * ffn + 2 * hidden
    embedding = vocab * hidden
    total = layers * per_layer + 2 * embedding + hidden  # untied head, final norm
    assert total == 8_030_261_248
    assert _values(table, "params_total") == [total]
    assert _values(table, "params_active") == [total]
    assert _values(table, "params_embedding") == [embedding]
    assert _values(table, "weights_bytes") == [2 * total]  # fp16, from the index
    non_embedding = total - embedding
    attention = layers * 2 * 32 * (128 + 128) * 8192  # QK^T + AV over 8192 earlier tokens
    assert _values(table, "flops_per_token") == [2 * non_embedding + attention]
    # decode, batch 1: read every non-embedding weight and the 8k-token cache once
    step = (2 * non_embedding + 131_072 * 8192) / 3.35e12
    assert _values(table, "decode_tps") == [round(1 / step, 1)]
    assert "memory-bound" in table.row("decode_tps").cells[0].text


def test_mistral_window_caps_the_cache(models):
    table = compare_table([models["mistral"]], options=at(context=32_768, batch=1))
    assert _values(table, "kv_per_token") == [131_072]  # while the window fills
    assert _values(table, "kv_at_context") == [131_072 * 4096]  # window 4096, not 32k
    assert table.row("windowing").cells[0].text == "window 4,096 on all 32"


def test_deepseek_v3_mla_latent(models):
    table = compare_table([models["deepseek-v3"]], options=at(context=8192))
    assert _values(table, "kv_per_token") == [61 * (512 + 64) * 2]  # 70,272 B, no factor 2
    assert _values(table, "kv_per_token") == [70_272]
    assert table.row("mla").cells[0].text == "kv 512 + rope 64, q 1536"
    assert table.row("attention").cells[0].text == "MLA"
    assert table.row("dense_layers").cells[0].text.startswith("first 3")
    assert _values(table, "top_k") == [8]
    assert _values(table, "shared_experts") == [1]


def test_mixtral_moe_rows(models):
    table = compare_table([models["mixtral"]], options=at())
    assert table.row("ffn").cells[0].text == "MoE 8 × 14,336 (SwiGLU)"
    assert table.row("top_k").cells[0].text.startswith("top-2")
    # active: everything but 6 of 8 experts in each of 32 layers
    total = _values(table, "params_total")[0]
    routed_per_layer = 8 * 3 * 4096 * 14_336
    assert _values(table, "params_active") == [total - 32 * routed_per_layer * 6 // 8]


def test_windowing_describes_layer_patterns(models):
    table = compare_table([models["gpt-oss"], models["llama4"]], options=at())
    gpt_oss, llama4 = (c.text for c in table.row("windowing").cells)
    assert gpt_oss == "window 128 on 12/24 (every 2nd from 0)"
    assert llama4 == "chunk 8,192 on 36/48 (all but every 4th from 3)"
    assert describe_layers([0, 1, 2, 5, 6], 10) == "0–2, 5–6"
    assert describe_layers(list(range(4)), 4) == "all"


def test_differs_flags(models):
    table = compare_table([models["llama3"], models["mixtral"]], options=at())
    assert not table.row("kv_per_token").differs  # both 32 × 8 × 128 GQA
    assert not table.row("heads").differs
    assert table.row("ffn").differs
    assert table.row("params_total").differs
    assert table.row("params_total").highlight == [True, True]
    single = compare_table([models["llama3"]], options=at())
    assert not any(any(r.highlight) for r in single.rows)


def test_rows_selection(models):
    table = compare_table([models["llama3"]], ["kv_per_token,params_total", "kv-at-context"], at())
    assert [r.key for r in table.rows] == ["kv_per_token", "params_total", "kv_at_context"]
    default = compare_table([models["llama3"]], options=at())
    assert [r.key for r in default.rows] == list(DEFAULT_ROWS)
    assert [r.key for r in compare_table([models["llama3"]], ["all"], at()).rows] == list(ROW_KEYS)
    with pytest.raises(UsageError, match="unknown row"):
        compare_table([models["llama3"]], ["kv_per_tokn"], at())


def test_kv_dtype_and_labels(models):
    table = compare_table([models["llama3"]], ["kv_per_token", "kv_at_context"],
                          at(context=131_072, batch=2, kv_dtype="fp8"))
    assert _values(table, "kv_per_token") == [65_536]
    assert _values(table, "kv_at_context") == [65_536 * 131_072 * 2]
    assert table.row("kv_at_context").label == "KV cache @ 128k × 2"
    assert fmt_context(1 << 20) == "1M" and fmt_context(5000) == "5,000"


def test_pct_change():
    assert pct_change(131_072, 32_768) == "−75%, ÷4"
    assert pct_change(131_072, 524_288) == "+300%, ×4"
    assert pct_change(100, 101.1) == "+1.1%"
    assert pct_change(5, 5) == "±0%"


# -- formats -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def table(models):
    return compare_table([models["llama3"], models["mistral"], models["deepseek-v3"]],
                         options=at(context=32_768))


def _md_cells(line: str) -> list[str]:
    assert line.startswith("|") and line.endswith("|")
    return [c.strip() for c in re.split(r"(?<!\\)\|", line[1:-1])]


def test_markdown(table):
    text = compare_formats.render_markdown(table)
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) == 2 + len(table.rows)
    for line in lines:
        assert len(_md_cells(line)) == 1 + len(table.columns)
    assert _md_cells(lines[0])[1:] == ["meta-llama/Meta-Llama-3-8B",
                                       "mistralai/Mistral-7B-Instruct-v0.1",
                                       "deepseek-ai/DeepSeek-V3"]
    kv = next(line for line in lines if line.startswith("| KV / token"))
    assert _md_cells(kv)[1] == "**128 KiB**"  # differs across the models: bold
    norm = next(line for line in lines if line.startswith("| Norm"))
    assert "**" not in norm  # all RMSNorm


def test_csv(table):
    rows = list(csv.reader(io.StringIO(compare_formats.render_csv(table))))
    assert rows[0][:4] == ["key", "label", "unit", "differs"]
    assert len(rows) == 1 + len(table.rows)
    assert all(len(r) == 4 + len(table.columns) for r in rows)
    kv = next(r for r in rows if r[0] == "kv_per_token")
    assert [int(v) for v in kv[4:]] == [131_072, 131_072, 70_272]
    kv_at = next(r for r in rows if r[0] == "kv_at_context")
    assert int(kv_at[5]) == 131_072 * 4096


def test_json(table):
    data = json.loads(compare_formats.render_json(table))
    assert data["context"] == 32_768 and data["gpu"] == "H100"
    assert [c["model_id"] for c in data["columns"]][2] == "deepseek-ai/DeepSeek-V3"
    rows = {r["key"]: r for r in data["rows"]}
    assert rows["kv_per_token"]["values"] == [131_072, 131_072, 70_272]
    assert all(isinstance(v, int) for v in rows["params_total"]["values"])
    assert rows["params_total"]["texts"][0] == "8.0B"
    assert rows["norm"]["differs"] is False


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_self_contained_with_plots(models):
    hostile = dataclasses.replace(models["llama3"].checkpoint,
                                  model_id='<script>alert("x")</script>&<b>')
    evil = Analysis(checkpoint=hostile, spec=models["llama3"].spec,
                    profile=models["llama3"].profile)
    html = run_compare([], fmt="html", options=at(), analyses=[evil, models["deepseek-v3"]])
    parser = _Collector()
    parser.feed(html)
    assert parser.tags.count("table") == 1
    # three plots inline, and with a GPU the memory per GPU under the serving plan (issue 11)
    assert parser.tags.count("svg") == 4
    assert "style" in parser.tags and "script" not in parser.tags
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<script>alert("x")</script>&<b>' in "".join(parser.text)  # shown, as text
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    assert 'class="num diff"' in html
    assert not re.search(r"(src|href)=\"https?:", html)  # nothing fetched
    assert "<link" not in html and "<metadata" not in html


def test_terminal(table):
    plain = compare_formats.render_terminal(table, color=False, width=200)
    assert "\x1b[" not in plain
    assert "meta-llama/Meta-Llama-3-8B" in plain and "KV / token *" in plain
    colored = compare_formats.render_terminal(table, color=True, width=200)
    assert "\x1b[" in colored


def test_terminal_strips_escapes(models):
    hostile = dataclasses.replace(models["llama3"].checkpoint, model_id="evil\x1b]0;pwn\x07[red]x")
    evil = Analysis(checkpoint=hostile, spec=models["llama3"].spec,
                    profile=models["llama3"].profile)
    text = run_compare([], fmt="terminal", options=at(), analyses=[evil], color=False, width=160)
    assert "\x1b" not in text and "\x07" not in text
    assert "[red]x" in text  # rich markup stays literal


def test_run_compare_from_refs_and_errors():
    text = run_compare(["llama3", "deepseek-v3"], fmt="json", options=at(context=4096),
                       rows=["kv_at_context"], source_options=CATALOG)
    data = json.loads(text)
    assert data["rows"][0]["values"] == [131_072 * 4096, 70_272 * 4096]
    with pytest.raises(UsageError):
        run_compare(["llama3"], fmt="yaml", source_options=CATALOG)
    with pytest.raises(UsageError):
        at("Z80")
    with pytest.raises(UsageError):
        run_compare([], fmt="json")


def test_analytic_path_does_not_import_matplotlib():
    code = ("import sys\n"
            "from archlint.compare_cli import run_compare\n"
            "from archlint.source import SourceOptions\n"
            "import archlint.plots, archlint.variants, archlint.report.compare_formats\n"
            "run_compare(['llama3', 'mixtral'], fmt='markdown', variants=['mha'],\n"
            "            source_options=SourceOptions(prefer='catalog'))\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_options_profile_unchanged(models):
    """compare_table recomputes at its own context without touching the analysis."""
    before = models["llama3"].profile.kv.context
    compare_table([models["llama3"]], options=at(context=65_536, batch=3))
    assert models["llama3"].profile.kv.context == before == Options().context


def test_terminal_table_honours_columns_and_breaks_ids_after_the_org(monkeypatch):
    """Piped with COLUMNS=80 (a CI log), the table is 80 columns wide, and a Hub id too long
    for its column breaks after `org/` rather than inside the organisation's name."""
    monkeypatch.setenv("COLUMNS", "80")
    out = run_compare(["llama3", "mixtral", "deepseek-v3"], fmt="terminal",
                      source_options=SourceOptions(prefer="catalog"))
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = "\n".join(lines[:6])
    for org in ("meta-llama/", "mistralai/", "deepseek-ai/"):
        assert org in header, header


def test_compare_takes_color_like_the_report(monkeypatch):
    """`compare --color always|never` as `archlint MODEL --color` (issue 14): ANSI styles
    only when asked for or on a terminal, NO_COLOR honoured under auto."""
    from click.testing import CliRunner

    from archlint.compare_cli import compare_command

    args = ["llama3", "mixtral", "--offline"]
    always = CliRunner().invoke(compare_command, [*args, "--color", "always"])
    never = CliRunner().invoke(compare_command, [*args, "--color", "never"])
    monkeypatch.setenv("NO_COLOR", "1")
    auto = CliRunner().invoke(compare_command, args)
    assert always.exit_code == never.exit_code == auto.exit_code == 0, always.output
    assert "\x1b[" in always.output
    assert "\x1b[" not in never.output and "\x1b[" not in auto.output


def test_only_a_missing_matplotlib_omits_the_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plot extra missing is a note; any other ImportError under the plots is a bug and
    is raised, not reported as a missing extra (as the subcommands' lazy import does)."""
    import types

    from archlint import compare_cli

    def failing(name: str) -> types.ModuleType:
        def svg_figures(*_: object) -> None:
            raise ImportError(f"No module named {name!r}", name=name)

        module = types.ModuleType("archlint.plots")
        module.svg_figures = svg_figures  # type: ignore[attr-defined]
        return module

    notes: list[str] = []
    monkeypatch.setitem(sys.modules, "archlint.plots", failing("matplotlib.pyplot"))
    assert compare_cli._figures([], Options(), notes) == []
    assert notes == [compare_cli.PLOTS_MISSING]
    monkeypatch.setitem(sys.modules, "archlint.plots", failing("archlint.plot_helpers"))
    with pytest.raises(ImportError):
        compare_cli._figures([], Options(), notes)
