"""Plots for ``archlint compare`` (and reports): KV cache vs context, memory breakdown, decode
roofline. PNG or SVG by the file's extension.

matplotlib is an optional extra (``archlint[plot]``): it is imported inside the functions that
draw, with the non-interactive Agg backend, so importing this module (and the analytic path)
never imports it. The numbers come from the same analysis functions as the table
(:func:`archlint.compare.profile_at`, :func:`archlint.analysis.memory.kv_bytes_at`,
:func:`archlint.analysis.roofline.roofline`).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archlint.analysis.hardware import GPU, find_gpu
from archlint.analysis.memory import kv_bytes_at
from archlint.analysis.profile import DEFAULT_BATCH, DEFAULT_CONTEXT, Profile
from archlint.analysis.roofline import roofline
from archlint.compare import DEFAULT_GPU, TIMES, column_label, fmt_context, profile_at
from archlint.report.escape import for_plain_text
from archlint.tensors import component_of, layer_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from archlint.api import Analysis

__all__ = [
    "BREAKDOWN",
    "DPI",
    "FIGSIZE",
    "component_bytes",
    "plot_kv_vs_context",
    "plot_memory_breakdown",
    "plot_overview",
    "plot_roofline",
    "svg_figures",
    "write_all",
]

FIGSIZE = (8.0, 5.0)  # inches; PNGs are FIGSIZE x DPI pixels
DPI = 120
GIB = 2**30
MIN_CONTEXT = 1024
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
#: memory-breakdown stack, bottom to top: (key, legend label, colour)
BREAKDOWN: tuple[tuple[str, str, str], ...] = (
    ("embedding", "embedding", "#8dd3c7"),
    ("attention", "attention", "#80b1d3"),
    ("dense_ffn", "dense FFN", "#fdb462"),
    ("routed_experts", "routed experts", "#fb8072"),
    ("shared_experts", "shared experts", "#bc80bd"),
    ("head", "LM head", "#b3de69"),
    ("towers", "vision/audio towers", "#ffed6f"),
    ("other", "other (norms, router, MTP)", "#d9d9d9"),
    ("kv", "KV cache", "#4d4d4d"),
)
_OTHER = ("norms", "router", "mtp", "other")
_NUMBER = re.compile(r"\.\d+\.")


# -- data (no matplotlib) ----------------------------------------------------------------------
def _label(analysis: Analysis, limit: int = 40) -> str:
    """A legend/axis label: the column label without its organisation ("Meta-Llama-3-8B",
    "Meta-Llama-3-8B as gqa:8"), sanitized, mathtext-safe, shortened."""
    text = for_plain_text(column_label(analysis)).replace("\n", " ")
    head, sep, tail = text.partition(" as ")
    head = head.rstrip("/").rsplit("/", 1)[-1] or head
    text = head + sep + tail
    text = text.replace("$", r"\$")
    return text if len(text) <= limit else text[: limit - 1] + "…"


_STYLES = ("-", "--", "-.", (0, (5, 1, 1, 1, 1, 1)))


def _style(i: int) -> Any:
    """Line styles cycle so that models with identical curves (Llama-3-8B and Mixtral's
    KV cache) stay visible on top of each other."""
    return _STYLES[(i // 10) % len(_STYLES)] if i >= 10 else _STYLES[i % len(_STYLES)]


def _legend_columns(longest: int) -> int:
    return 3 if longest <= 22 else 2 if longest <= 40 else 1


def _legend(ax: Axes) -> None:
    """Below the axes, outside the data, in as many columns as fit."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    ncol = _legend_columns(max(len(label) for label in labels))
    ax.legend(handles, labels, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14),
              ncol=min(ncol, len(handles)), frameon=False)


def _gpu(gpu: GPU | str | None) -> GPU:
    if isinstance(gpu, GPU):
        return gpu
    return find_gpu(gpu or DEFAULT_GPU)


def component_bytes(analysis: Analysis) -> dict[str, int]:
    """Stored weight bytes by component (the BREAKDOWN keys but "kv").

    Exact from the tensor table when there is one (every tensor, scales included, under the
    component its name maps to; DeepSeek's extra decoder layer counts as MTP → "other");
    otherwise the analytic parameter counts x bytes per parameter, with quantized linear
    weights at their bit width and embedding/head/norms/router at the activation dtype, as
    the weight estimate does; scaled so the parts add up to the Profile's weight bytes.
    """
    prof, spec, ckpt = analysis.profile, analysis.spec, analysis.checkpoint
    out = {key: 0 for key, _, _ in BREAKDOWN if key != "kv"}
    if ckpt.tensors and prof.params.method == "tensors":
        # Names differ across layers and experts only in their numbers: classify each shape
        # of name once (90k-tensor checkpoints would otherwise run the regexes 90k times).
        seen: dict[str, str] = {}
        for tensor in ckpt.tensors:
            pattern = _NUMBER.sub(".#.", tensor.name)
            comp = seen.get(pattern)
            if comp is None:
                comp = seen[pattern] = component_of(tensor.name)
            layer = layer_of(tensor.name)
            if layer is not None and layer >= spec.num_layers \
                    and not tensor.name.startswith(("encoder.", "decoder.")):
                comp = "mtp"
            out["other" if comp in _OTHER else comp] += tensor.nbytes
        return out
    params = prof.params.by_component
    quant = spec.quantization
    full = {"embedding", "head", "norms", "router"}
    raw: dict[str, float] = dict.fromkeys(out, 0.0)
    for comp, count in params.items():
        weight = 1.0 if not (quant and quant.bits) or comp in full else quant.bits / 16
        raw["other" if comp in _OTHER else comp] += count * weight
    total = sum(raw.values())
    if total <= 0:
        return out
    scale = prof.weights.bytes / total
    return {key: round(value * scale) for key, value in raw.items()}


def _contexts(analyses: Sequence[Analysis]) -> list[int]:
    top = max([131072, *(a.spec.max_position_embeddings or 0 for a in analyses)])
    points = []
    k = 0
    while (c := round(MIN_CONTEXT * 2 ** (k / 4))) < top:
        points.append(c)
        k += 1
    points.append(top)
    return points


def _model_max(analysis: Analysis) -> int | None:
    return analysis.spec.max_position_embeddings


# -- drawing -----------------------------------------------------------------------------------
def _mpl() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _bytes_formatter(unit: float, name: str) -> Any:
    from matplotlib.ticker import FuncFormatter

    def fmt(value: float, _pos: int) -> str:
        v = value / unit
        if v == 0:
            return "0"
        if v >= 100 or float(v).is_integer():
            return f"{v:,.0f}"
        return f"{v:.2g}" if v < 1 else f"{v:.1f}"

    return FuncFormatter(fmt)


def _tokens_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    def fmt(value: float, _pos: int) -> str:
        if value >= 2**20:
            return f"{value / 2**20:g}M"
        if value >= 1024:
            return f"{value / 1024:g}k"
        return f"{value:g}"

    return FuncFormatter(fmt)


def _colors(n: int) -> list[Any]:
    plt = _mpl()
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def _kv_profiles(analyses: Sequence[Analysis], context: int, batch: int,
                 kv_dtype: str | None) -> list[Profile]:
    return [profile_at(a, context=context, batch=batch, kv_dtype=kv_dtype) for a in analyses]


def draw_kv_vs_context(ax: Axes, analyses: Sequence[Analysis], *, batch: int = DEFAULT_BATCH,
                       kv_dtype: str | None = None, gpu: GPU | str | None = None) -> None:
    contexts = _contexts(analyses)
    profiles = _kv_profiles(analyses, MIN_CONTEXT, batch, kv_dtype)
    colors = _colors(len(analyses))
    for i, (a, prof, color) in enumerate(zip(analyses, profiles, colors, strict=True)):
        limit = min(_model_max(a) or contexts[-1], contexts[-1])
        xs = sorted({*contexts, max(limit, contexts[0])})  # the model's max is a point
        ys = [kv_bytes_at(prof.kv, c, batch) / GIB for c in xs]
        if not any(ys):
            ax.plot([], [], color=color, label=f"{_label(a)} (no KV cache)")
            continue
        inside = [(c, y) for c, y in zip(xs, ys, strict=True) if c <= limit]
        beyond = [(c, y) for c, y in zip(xs, ys, strict=True) if c >= limit]
        kind = _kv_kind(prof)
        label = f"{_label(a)} ({kind})" if kind else _label(a)
        if inside:
            ax.plot(*zip(*inside, strict=True), color=color, linewidth=2, linestyle=_style(i),
                    label=label)
            if limit < contexts[-1]:
                at = kv_bytes_at(prof.kv, limit, batch) / GIB
                ax.plot([limit], [at], marker="o", color=color, markersize=5)
        if len(beyond) > 1:
            ax.plot(*zip(*beyond, strict=True), color=color, linewidth=1, linestyle=":",
                    label=None if inside else label)
    if gpu is not None:
        g = _gpu(gpu)
        ax.axhline(g.memory_bytes / GIB, color="#999999", linewidth=1, linestyle=(0, (4, 4)))
        ax.annotate(f"{g.name} memory ({g.memory_bytes / 1e9:.0f} GB)",
                    (contexts[0], g.memory_bytes / GIB), textcoords="offset points",
                    xytext=(2, 3), fontsize=8, color="#555555")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(_tokens_formatter())
    ax.yaxis.set_major_formatter(_bytes_formatter(1, "GiB"))
    ax.set_xlabel("context length (tokens)")
    dtype = f", {profiles[0].kv.dtype}" if profiles and kv_dtype else ""
    ax.set_ylabel(f"KV cache (GiB, batch {batch}{dtype})")
    ax.set_title("KV cache vs context length (dotted: past the model's max context)")
    ax.grid(True, which="major", alpha=0.3)
    _legend(ax)


def _kv_kind(prof: Profile) -> str:
    kv = prof.kv
    kinds = {lkv.kind for lkv in kv.per_layer}
    parts = []
    if "mla" in kinds:
        parts.append("MLA")
    if kinds & {"sliding", "chunked"}:
        parts.append("windowed" if not kinds & {"full", "mla"} else "partly windowed")
    if "linear" in kinds:
        parts.append("linear")
    return " + ".join(parts)


def draw_memory_breakdown(ax: Axes, analyses: Sequence[Analysis], *,
                          context: int = DEFAULT_CONTEXT, batch: int = DEFAULT_BATCH,
                          kv_dtype: str | None = None, gpu: GPU | str | None = None) -> None:
    names = [_label(a, 28) for a in analyses]
    xs = list(range(len(analyses)))
    stacks = []
    for a in analyses:
        parts: dict[str, float] = {k: v / GIB for k, v in component_bytes(a).items()}
        prof = profile_at(a, context=context, batch=batch, kv_dtype=kv_dtype)
        parts["kv"] = prof.kv.bytes_at_context / GIB
        stacks.append(parts)
    bottoms = [0.0] * len(analyses)
    for key, legend, color in BREAKDOWN:
        heights = [s.get(key, 0.0) for s in stacks]
        if not any(heights):
            continue
        hatch = "//" if key == "kv" else None
        ax.bar(xs, heights, bottom=bottoms, color=color, label=legend if key != "kv"
               else f"KV cache @ {fmt_context(context)} {TIMES} {batch}", width=0.6,
               edgecolor="white", linewidth=0.5, hatch=hatch)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    for x, total in zip(xs, bottoms, strict=True):
        ax.annotate(f"{total:,.1f}" if total < 100 else f"{total:,.0f}", (x, total),
                    textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)
    if gpu is not None:
        g = _gpu(gpu)
        ax.axhline(g.memory_bytes / GIB, color="#999999", linewidth=1, linestyle=(0, (4, 4)),
                   label=f"{g.name} memory ({g.memory_bytes / 1e9:.0f} GB)")
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=20 if len(xs) > 2 else 0, ha="right" if len(xs) > 2
                       else "center", fontsize=8)
    ax.set_ylabel("memory (GiB)")
    ax.set_ylim(0, max([*bottoms, 1e-9]) * 1.15)
    ax.set_title("Memory: weights by component + KV cache @ "
                 f"{fmt_context(context)} {TIMES} {batch}")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()
    # Top of the stack first, as the bars read; outside the axes, right of them.
    ax.legend(handles[::-1], labels[::-1], fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)


def _roofline_curve(a: Analysis, gpu: GPU, context: int,
                    kv_dtype: str | None) -> tuple[list[int], list[float], int]:
    prof = profile_at(a, context=context, batch=1, gpu=gpu, kv_dtype=kv_dtype)
    assert prof.roofline is not None
    limit = max(a.spec.max_position_embeddings or 0, context)
    ys = []
    for b in BATCHES:
        roof = roofline(a.spec, prof.params, prof.weights.bytes, prof.kv, prof.flops.per_token,
                        prof.flops.prefill, gpu, batch=b, context=context,
                        max_context_limit=limit)
        ys.append(roof.decode_tokens_per_s)
    return list(BATCHES), ys, prof.roofline.max_batch


def draw_roofline(ax: Axes, analyses: Sequence[Analysis], *, gpu: GPU | str | None = DEFAULT_GPU,
                  context: int = DEFAULT_CONTEXT, kv_dtype: str | None = None) -> None:
    g = _gpu(gpu)
    colors = _colors(len(analyses))
    any_oom = False
    for i, (a, color) in enumerate(zip(analyses, colors, strict=True)):
        xs, ys, max_batch = _roofline_curve(a, g, context, kv_dtype)
        points = list(zip(xs, ys, strict=True))
        fits = [p for p in points if p[0] <= max_batch]
        # The dotted part starts at the last batch that fits, so the two join.
        over = points[len(fits) - 1:] if fits else points
        label = _label(a)
        if fits:
            ax.plot(*zip(*fits, strict=True), color=color, linewidth=2, linestyle=_style(i),
                    marker="o", markersize=3, label=label)
        if len(over) > (1 if fits else 0):
            any_oom = True
            ax.plot(*zip(*over, strict=True), color=color, linewidth=1, linestyle=":",
                    label=None if fits else f"{label} (weights do not fit)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(_tokens_formatter())
    ax.set_xlabel("batch (concurrent sequences)")
    ax.set_ylabel("decode throughput bound (tokens/s)")
    ax.set_title(f"Decode roofline on {g.name} @ {fmt_context(context)} context")
    ax.grid(True, which="major", alpha=0.3)
    if any_oom:
        ax.plot([], [], color="#666666", linestyle=":", label="beyond GPU memory")
    _legend(ax)


# -- figures -----------------------------------------------------------------------------------
def _check_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        from archlint.errors import UsageError

        raise UsageError(f"plot file {path} must end in .png or .svg")
    return path


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    ext = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    plt = _mpl()
    with plt.rc_context({"svg.fonttype": "none"}):
        fig.savefig(path, format=ext[1:], dpi=DPI, metadata=_metadata(ext))
    plt.close(fig)
    return path


def _metadata(ext: str) -> dict[str, Any]:
    if ext == ".svg":
        return {"Date": None}
    return {"Software": "archlint"}


def figsize_for(kind: str, analyses: Sequence[Analysis]) -> tuple[float, float]:
    """FIGSIZE, grown for many models: taller for a long legend under the line plots ("kv",
    "roofline"), wider for many bars ("memory"), both for the "overview"."""
    n = len(analyses)
    longest = max([len(_label(a)) for a in analyses] or [0]) + 18  # " (weights do not fit)"
    rows = math.ceil((n + 1) / _legend_columns(longest))
    extra = max(0, rows - 8) * 0.2
    wide = max(FIGSIZE[0], 3.5 + 0.45 * n)
    if kind == "memory":
        return (wide, FIGSIZE[1])
    if kind == "overview":
        return (OVERVIEW_FIGSIZE[0] + wide - FIGSIZE[0], OVERVIEW_FIGSIZE[1] + extra)
    return (FIGSIZE[0], FIGSIZE[1] + extra)


def _figure(figsize: tuple[float, float] = FIGSIZE) -> tuple[Figure, Axes]:
    fig, ax = _mpl().subplots(figsize=figsize, dpi=DPI, layout="constrained")
    return fig, ax


def plot_kv_vs_context(analyses: Sequence[Analysis], path: str | Path, *,
                       batch: int = DEFAULT_BATCH, kv_dtype: str | None = None,
                       gpu: GPU | str | None = None) -> Path:
    """KV-cache bytes vs context (1k … max(128k, longest model context), log-log), one line
    per model; dotted past a model's own max context; optional GPU memory line."""
    _check_path(path)
    fig, ax = _figure(figsize_for("kv", analyses))
    draw_kv_vs_context(ax, analyses, batch=batch, kv_dtype=kv_dtype, gpu=gpu)
    return _save(fig, path)


def plot_memory_breakdown(analyses: Sequence[Analysis], path: str | Path, *,
                          context: int = DEFAULT_CONTEXT, batch: int = DEFAULT_BATCH,
                          kv_dtype: str | None = None, gpu: GPU | str | None = None) -> Path:
    """Stacked bars per model: weight bytes by component, then the KV cache at context x batch."""
    _check_path(path)
    fig, ax = _figure(figsize_for("memory", analyses))
    draw_memory_breakdown(ax, analyses, context=context, batch=batch, kv_dtype=kv_dtype, gpu=gpu)
    return _save(fig, path)


def plot_roofline(analyses: Sequence[Analysis], path: str | Path, *,
                  gpu: GPU | str | None = DEFAULT_GPU, context: int = DEFAULT_CONTEXT,
                  kv_dtype: str | None = None) -> Path:
    """Decode tokens/s upper bound vs batch 1…512 (log-log) on a GPU; dotted where the
    weights plus the batch's KV cache no longer fit."""
    _check_path(path)
    fig, ax = _figure(figsize_for("roofline", analyses))
    draw_roofline(ax, analyses, gpu=gpu, context=context, kv_dtype=kv_dtype)
    return _save(fig, path)


OVERVIEW_FIGSIZE = (20.0, 5.5)


def _overview(analyses: Sequence[Analysis], *, context: int, batch: int,
              gpu: GPU | str | None, kv_dtype: str | None) -> Figure:
    fig, axes = _mpl().subplots(1, 3, figsize=figsize_for("overview", analyses), dpi=DPI,
                                layout="constrained", width_ratios=[
                                    1, figsize_for("memory", analyses)[0] / FIGSIZE[0], 1])
    draw_kv_vs_context(axes[0], analyses, batch=batch, kv_dtype=kv_dtype, gpu=gpu)
    draw_memory_breakdown(axes[1], analyses, context=context, batch=batch, kv_dtype=kv_dtype,
                          gpu=gpu)
    draw_roofline(axes[2], analyses, gpu=gpu or DEFAULT_GPU, context=context, kv_dtype=kv_dtype)
    figure: Figure = fig
    return figure


def plot_overview(analyses: Sequence[Analysis], path: str | Path, *,
                  context: int = DEFAULT_CONTEXT, batch: int = DEFAULT_BATCH,
                  gpu: GPU | str | None = DEFAULT_GPU, kv_dtype: str | None = None) -> Path:
    """The three plots side by side in one figure (``archlint compare --plot FILE``)."""
    _check_path(path)
    return _save(_overview(analyses, context=context, batch=batch, gpu=gpu, kv_dtype=kv_dtype),
                 path)


def write_all(analyses: Sequence[Analysis], directory: str | Path, *,
              context: int = DEFAULT_CONTEXT, batch: int = DEFAULT_BATCH,
              gpu: GPU | str | None = DEFAULT_GPU, kv_dtype: str | None = None,
              ext: str = "png") -> list[Path]:
    """Each plot into ``directory`` (created): kv_vs_context, memory_breakdown, roofline."""
    ext = ext.lstrip(".").lower()
    out = Path(directory)
    return [
        plot_kv_vs_context(analyses, out / f"kv_vs_context.{ext}", batch=batch,
                           kv_dtype=kv_dtype, gpu=gpu),
        plot_memory_breakdown(analyses, out / f"memory_breakdown.{ext}", context=context,
                              batch=batch, kv_dtype=kv_dtype, gpu=gpu),
        plot_roofline(analyses, out / f"roofline.{ext}", gpu=gpu, context=context,
                      kv_dtype=kv_dtype),
    ]


def svg_figures(analyses: Sequence[Analysis], *, context: int = DEFAULT_CONTEXT,
                batch: int = DEFAULT_BATCH, gpu: GPU | str | None = DEFAULT_GPU,
                kv_dtype: str | None = None) -> list[tuple[str, str]]:
    """(caption, SVG text) for each plot, for the HTML page."""
    plt = _mpl()
    figures = []
    drawers: tuple[tuple[str, str, Callable[[Axes], None]], ...] = (
        ("KV cache vs context length", "kv",
         lambda ax: draw_kv_vs_context(ax, analyses, batch=batch, kv_dtype=kv_dtype, gpu=gpu)),
        ("Memory breakdown", "memory",
         lambda ax: draw_memory_breakdown(ax, analyses, context=context, batch=batch,
                                          kv_dtype=kv_dtype, gpu=gpu)),
        ("Decode roofline", "roofline",
         lambda ax: draw_roofline(ax, analyses, gpu=gpu, context=context, kv_dtype=kv_dtype)),
    )
    for caption, kind, draw in drawers:
        fig, ax = _figure(figsize_for(kind, analyses))
        draw(ax)
        buf = io.StringIO()
        with plt.rc_context({"svg.fonttype": "none"}):
            fig.savefig(buf, format="svg", metadata={"Date": None})
        plt.close(fig)
        figures.append((caption, buf.getvalue()))
    return figures
