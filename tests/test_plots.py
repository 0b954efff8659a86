"""Every plot renders to PNG and SVG: a valid, non-empty image of the expected size."""

from __future__ import annotations

import dataclasses
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from archlint import plots
from archlint.analysis.hardware import find_gpu
from archlint.analysis.profile import Options
from archlint.api import Analysis, analyze
from archlint.compare_cli import run_compare
from archlint.errors import UsageError
from archlint.source import SourceOptions
from archlint.variants import variant_columns

CATALOG = SourceOptions(prefer="catalog")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def analyses() -> list[Analysis]:
    # full attention, sliding window, MLA, MoE with tensors (gpt-oss: mxfp4, partly windowed)
    return [analyze(name, source=CATALOG)
            for name in ("llama3", "mistral", "deepseek-v3", "mixtral", "gpt-oss")]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def check_png(path: Path, figsize: tuple[float, float] = plots.FIGSIZE) -> None:
    assert path.is_file() and path.stat().st_size > 10_000
    assert png_size(path) == (round(figsize[0] * plots.DPI), round(figsize[1] * plots.DPI))


def check_svg(path: Path, figsize: tuple[float, float] = plots.FIGSIZE) -> str:
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == f"{figsize[0] * 72:g}pt"
    assert root.get("height") == f"{figsize[1] * 72:g}pt"
    texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert texts  # text kept as text (svg.fonttype none): labels and titles are there
    return texts


PLOTS = {
    "kv": lambda a, p: plots.plot_kv_vs_context(a, p, Options(batch=1, gpu=find_gpu("H100"))),
    "memory": lambda a, p: plots.plot_memory_breakdown(
        a, p, Options(context=8192, batch=4, gpu=find_gpu("H100"))),
    "roofline": lambda a, p: plots.plot_roofline(a, p, Options(gpu=find_gpu("A100"),
                                                               context=8192)),
}


@pytest.fixture(scope="module")
def rendered(analyses, tmp_path_factory) -> dict[str, Path]:
    """Each plot rendered once to PNG and once to SVG (rendering is the slow part)."""
    out = tmp_path_factory.mktemp("plots")
    return {f"{name}.{ext}": PLOTS[name](analyses, out / f"{name}.{ext}")
            for name in PLOTS for ext in ("png", "svg")}


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_png_and_svg(rendered, name):
    check_png(rendered[f"{name}.png"])
    check_svg(rendered[f"{name}.svg"])


def test_axis_labels_titles_legends(rendered):
    kv = check_svg(rendered["kv.svg"])
    assert "context length (tokens)" in kv and "GiB" in kv and "KV cache vs context" in kv
    assert "DeepSeek-V3 (MLA)" in kv and "Mistral-7B-Instruct-v0.1 (windowed)" in kv
    assert "Meta-Llama-3-8B" in kv and "H100 memory" in kv
    mem = check_svg(rendered["memory.svg"])
    assert "memory (GiB, log scale)" in mem and "routed experts" in mem and "8k" in mem
    assert "KV cache @ 8k × 4" in mem
    roof = check_svg(rendered["roofline.svg"])
    assert "tokens/s" in roof and "A100" in roof and "batch" in roof
    assert "Mixtral-8x7B-v0.1 (weights do not fit)" in roof  # 87 GiB > 80 GB


def test_component_bytes_add_up(analyses):
    for a in analyses:
        parts = plots.component_bytes(a)
        assert abs(sum(parts.values()) - a.profile.weights.bytes) <= len(parts)
    llama = plots.component_bytes(analyses[0])
    assert llama["embedding"] == llama["head"] == 128_256 * 4096 * 2
    assert llama["routed_experts"] == 0
    gpt_oss = plots.component_bytes(analyses[4])  # exact, from the tensor table
    assert gpt_oss["routed_experts"] > 0.6 * analyses[4].profile.weights.bytes


def test_variants_and_hostile_labels(analyses, tmp_path):
    columns = variant_columns(analyses[0], ["mha", "mla:512"], Options())
    weird = dataclasses.replace(analyses[0].checkpoint, model_id="a/$x^2$ <b>\x1b[31m & _{}")
    odd = Analysis(checkpoint=weird, spec=analyses[0].spec, profile=analyses[0].profile)
    texts = check_svg(plots.plot_kv_vs_context([*columns, odd], tmp_path / "v.svg"))
    assert "Meta-Llama-3-8B as mla:512 (MLA)" in texts
    assert "$x^2$ <b>" in texts and "\x1b" not in texts  # literal, not mathtext


def test_bad_extension(analyses, tmp_path):
    with pytest.raises(UsageError, match=r"\.png or \.svg"):
        plots.plot_roofline(analyses, tmp_path / "r.jpg")


def test_run_compare_writes_plots(tmp_path):
    """--plot FILE: one overview figure of the three panels; --plots DIR: each plot, with
    the memory per GPU under the serving plan when a GPU is given (H100 by default)."""
    run_compare(["llama3", "mistral"], fmt="csv", plot=tmp_path / "overview.png",
                plots_dir=tmp_path / "plots", source_options=CATALOG)
    check_png(tmp_path / "overview.png", plots.OVERVIEW_FIGSIZE)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "kv_vs_context.png", "memory_breakdown.png", "roofline.png", "serving_memory.png"]
    for name in ("kv_vs_context", "memory_breakdown", "roofline"):
        check_png(tmp_path / "plots" / f"{name}.png")


def test_identical_kv_curves_are_marked(analyses, tmp_path):
    """Llama-3-8B and Mixtral-8x7B both cache 32 layers x 8 KV heads x 128 dims (their
    config.json files), so their curves coincide: the one drawn under says so, and has
    markers drawn above the other."""
    assert plots.covered_by([[1, 2], [3, 4], [1, 2], [1, 2]]) == [3, None, 3, None]
    llama, mixtral = analyses[0], analyses[3]
    texts = check_svg(plots.plot_kv_vs_context([llama, mixtral, analyses[2]],
                                               tmp_path / "kv.svg"))
    assert "Meta-Llama-3-8B (= Mixtral-8x7B-v0.1)" in texts
    assert "DeepSeek-V3 (MLA)" in texts and "DeepSeek-V3 (MLA) (=" not in texts
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plots.draw_kv_vs_context(ax, plots.as_columns([llama, mixtral], Options()), Options())
    marked = [line for line in ax.get_lines() if line.get_marker() not in ("None", None, "")
              and line.get_label().startswith("Meta-Llama-3-8B (=")]
    assert marked and marked[0].get_zorder() > 2
    plt.close(fig)


def test_memory_breakdown_shows_every_part_with_its_value(analyses):
    """A log axis: gpt2-sized parts (MiB of norms) and a 640 GiB expert stack are all
    visible bars, each with its value written on it."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    options = Options(context=8192, batch=1, gpu=find_gpu("H100"))
    plots.draw_memory_breakdown(ax, plots.as_columns(analyses, options), options)
    assert ax.get_yscale() == "log"
    bottom, top = ax.get_ylim()
    bars = [b for b in ax.patches if b.get_height() > 0]
    assert bars and all(bottom < b.get_height() < top for b in bars)
    values = [t.get_text() for t in ax.texts]
    assert len(values) == len(bars)
    # Llama-3-8B's KV cache at 8k: 32 x 2 x 8 x 128 x 2 B x 8,192 tokens = 1 GiB exactly
    assert "1" in values
    # its embedding: 128,256 x 4,096 x 2 B = 1,002 MiB
    assert "1,002 MiB" in values
    plt.close(fig)
    assert plots.gib_label(0.5) == "512 MiB" and plots.gib_label(638.4) == "638"
    assert plots.gib_label(0) == "0" and plots.gib_label(2**-11) == "512 KiB"


def test_serving_memory_cuts_bars_that_do_not_fit():
    import matplotlib.pyplot as plt

    from archlint.cli_options import make_options

    fig, ax = plt.subplots()
    options = make_options(8192, 1, None, "H100", None)  # as the CLI: a serving plan, TP 1
    models = [analyze(name, options, source=CATALOG) for name in ("llama3", "deepseek-v3")]
    plots.draw_serving_memory(ax, plots.as_columns(models, options), options)
    _, top = ax.get_ylim()
    # DeepSeek-V3's weights (~640 GiB) on one 80 GB H100: cut, its total written on the bar
    assert top < 200
    assert any("does not fit" in t.get_text() for t in ax.texts)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert all("reserve" in t and "KV" in t and "weights" in t for t in ticks)
    plt.close(fig)
