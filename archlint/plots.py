"""Plots for ``archlint compare`` (and reports): KV cache vs context, memory breakdown, decode
roofline. PNG or SVG by the file's extension.

matplotlib is an optional extra (``archlint[plot]``): it is imported inside the functions that
draw, with the non-interactive Agg backend, so importing this module (and the analytic path)
never imports it. The numbers come from the same analysis functions as the table
(:meth:`archlint.compare.Column.profile`, :func:`archlint.analysis.memory.kv_bytes_at`,
:func:`archlint.analysis.roofline.roofline`). Every plot takes the columns (or bare analyses)
and one :class:`~archlint.analysis.profile.Options`: its context and batch, its GPU for the
memory line (None: no line; the roofline then uses the default GPU) and its KV dtype, which a
column's own (a ``kv:`` variant) overrides.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archlint.analysis.hardware import GPU, plot_gpu
from archlint.analysis.memory import kv_bytes_at
from archlint.analysis.profile import Options, Profile
from archlint.analysis.roofline import roofline
from archlint.compare import TIMES, Column, as_columns, fmt_context
from archlint.report.escape import for_plain_text
from archlint.tensors import tensor_index

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from archlint.api import Analysis

__all__ = [
    "BREAKDOWN",
    "DPI",
    "FIGSIZE",
    "component_bytes",
    "covered_by",
    "gib_label",
    "plot_kv_vs_context",
    "plot_memory_breakdown",
    "plot_overview",
    "plot_roofline",
    "plot_serving_memory",
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


# -- data (no matplotlib) ----------------------------------------------------------------------
def _label(column: Column, limit: int = 40) -> str:
    """A legend/axis label: the column label without its organisation ("Meta-Llama-3-8B",
    "Meta-Llama-3-8B as gqa:8"), sanitized, mathtext-safe, shortened."""
    text = for_plain_text(column.label).replace("\n", " ")
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


def component_bytes(analysis: Analysis) -> dict[str, int]:
    """Stored weight bytes by component (the BREAKDOWN keys but "kv").

    Exact from the tensor table when there is one (every tensor, scales included, under the
    component its name maps to; DeepSeek's extra decoder layer counts as MTP → "other");
    otherwise the Profile's weight split (`WeightBytes.by_component`: each component in the
    format its config declares, scaled to the index's total_size where there is one).
    """
    prof, spec, ckpt = analysis.profile, analysis.spec, analysis.checkpoint
    out = {key: 0 for key, _, _ in BREAKDOWN if key != "kv"}
    if ckpt.tensors and prof.params.method == "tensors":
        index = tensor_index(ckpt)
        assert index is not None
        for tensor, role in index.roles():
            comp: str = role.component
            layer = role.layer
            if layer is not None and layer >= spec.num_layers \
                    and not tensor.name.startswith(("encoder.", "decoder.")):
                comp = "mtp"
            out["other" if comp in _OTHER else comp] += tensor.nbytes
        return out
    # the Profile's own split: each component in the format its config declares
    # (archlint.analysis.storage), scaled to the index's total_size when there is one
    for comp, nbytes in prof.weights.by_component.items():
        out["other" if comp in _OTHER or comp not in out else comp] += nbytes
    return out


def _contexts(columns: Sequence[Column]) -> list[int]:
    top = max([131072, *(c.analysis.spec.max_position_embeddings or 0 for c in columns)])
    points = []
    k = 0
    while (c := round(MIN_CONTEXT * 2 ** (k / 4))) < top:
        points.append(c)
        k += 1
    points.append(top)
    return points


def _model_max(column: Column) -> int | None:
    return column.analysis.spec.max_position_embeddings


# -- drawing -----------------------------------------------------------------------------------
def _mpl() -> Any:
    try:
        import matplotlib
    except ImportError:
        from archlint.errors import UsageError

        raise UsageError("plots need matplotlib, which is not installed",
                         hint="pip install 'archlint[plot]'") from None

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


def covered_by(curves: Sequence[Sequence[int]]) -> list[int | None]:
    """For each curve, the index of the last later curve equal to it (drawn over it, so
    hiding it), or None: Llama-3-8B's and Mixtral's KV caches are the same bytes at every
    context (32 layers, 8 KV heads of 128)."""
    covering: list[int | None] = []
    for i, curve in enumerate(curves):
        same = [j for j in range(i + 1, len(curves)) if list(curves[j]) == list(curve)]
        covering.append(same[-1] if same else None)
    return covering


_MARKERS = ("o", "s", "^", "D", "v")


def draw_kv_vs_context(ax: Axes, columns: Sequence[Column], options: Options) -> None:
    batch = options.batch
    contexts = _contexts(columns)
    profiles = [c.profile(context=MIN_CONTEXT, batch=batch, gpu=None) for c in columns]
    colors = _colors(len(columns))
    covering = covered_by([[kv_bytes_at(prof.kv, c, batch) for c in contexts]
                           for prof in profiles])
    hidden = 0
    for i, (a, prof, color) in enumerate(zip(columns, profiles, colors, strict=True)):
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
        marks: dict[str, Any] = {}
        top = covering[i]
        if top is not None:
            # under an identical curve: say so, and mark its points (drawn above the other)
            label = f"{label} (= {_label(columns[top])})"
            marks = {"marker": _MARKERS[hidden % len(_MARKERS)], "markevery": 4,
                     "markersize": 6, "markerfacecolor": "none", "markeredgewidth": 1.5,
                     "zorder": 3}
            hidden += 1
        if inside:
            ax.plot(*zip(*inside, strict=True), color=color, linewidth=2, linestyle=_style(i),
                    label=label, **marks)
            if limit < contexts[-1]:
                at = kv_bytes_at(prof.kv, limit, batch) / GIB
                ax.plot([limit], [at], marker="o", color=color, markersize=5)
        if len(beyond) > 1:
            ax.plot(*zip(*beyond, strict=True), color=color, linewidth=1, linestyle=":",
                    label=None if inside else label)
    if options.gpu is not None:
        g = options.gpu
        ax.axhline(g.memory_bytes / GIB, color="#999999", linewidth=1, linestyle=(0, (4, 4)))
        ax.annotate(f"{g.name} memory ({g.memory_bytes / GIB:.1f} GiB)",
                    (contexts[0], g.memory_bytes / GIB), textcoords="offset points",
                    xytext=(2, 3), fontsize=8, color="#555555")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(_tokens_formatter())
    ax.yaxis.set_major_formatter(_bytes_formatter(1, "GiB"))
    ax.set_xlabel("context length (tokens)")
    dtype = f", {profiles[0].kv.dtype}" if profiles and options.kv_dtype else ""
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


def gib_label(value: float) -> str:
    """A bar's value: GiB to three significant digits, MiB below 1 GiB."""
    if value <= 0:
        return "0"

    def three(v: float) -> str:  # "1,002", not "1e+03"
        return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"

    if value >= 1:
        return three(value)
    mib = value * 1024
    return f"{three(mib)} MiB" if mib >= 1 else f"{three(mib * 1024)} KiB"


def draw_memory_breakdown(ax: Axes, columns: Sequence[Column], options: Options) -> None:
    """One group of bars per model, one bar per component (and the KV cache, hatched), on a
    log axis: a stacked linear bar flattens a 5 GiB model beside a 640 GiB one and hides a
    1 GiB KV cache on top of it; every bar here carries its value and every group its
    total."""
    context, batch = options.context, options.batch
    stacks = []
    for c in columns:
        parts: dict[str, float] = {k: v / GIB for k, v in component_bytes(c.analysis).items()}
        prof = c.profile(context=context, batch=batch, gpu=None)
        parts["kv"] = prof.kv.bytes_at_context / GIB
        stacks.append(parts)
    present = [(key, legend, color) for key, legend, color in BREAKDOWN
               if any(s.get(key, 0.0) > 0 for s in stacks)]
    width = 0.8 / max(1, len(present))
    smallest = min([v for s in stacks for v in s.values() if v > 0] or [1.0])
    for k, (key, legend, color) in enumerate(present):
        xs = [i - 0.4 + (k + 0.5) * width for i in range(len(columns))]
        heights = [s.get(key, 0.0) for s in stacks]
        label = legend if key != "kv" else f"KV cache @ {fmt_context(context)} {TIMES} {batch}"
        bars = ax.bar(xs, heights, width=width * 0.92, color=color, label=label,
                      edgecolor="#333333" if key == "kv" else "white", linewidth=0.5,
                      hatch="//" if key == "kv" else None)
        for bar, h in zip(bars, heights, strict=True):
            if h > 0:
                ax.annotate(gib_label(h), (bar.get_x() + bar.get_width() / 2, h),
                            textcoords="offset points", xytext=(0, 2), ha="center",
                            va="bottom", fontsize=6, rotation=90)
    totals = [sum(s.values()) for s in stacks]
    if options.gpu is not None:
        g = options.gpu
        ax.axhline(g.memory_bytes / GIB, color="#999999", linewidth=1, linestyle=(0, (4, 4)),
                   label=f"{g.name} memory ({g.memory_bytes / GIB:.1f} GiB)")
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels([f"{_label(c, 28)}\n{gib_label(t)} GiB in all" if t >= 1 else
                        f"{_label(c, 28)}\n{gib_label(t)} in all"
                        for c, t in zip(columns, totals, strict=True)], fontsize=8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(_bytes_formatter(1, "GiB"))
    ax.set_ylabel("memory (GiB, log scale)")
    top = max([*totals, (options.gpu.memory_bytes / GIB) if options.gpu else 0.0, 1e-9])
    ax.set_ylim(smallest / 3, top * 12)  # room above the tallest bar for its rotated label
    ax.set_title("Memory: weights by component + KV cache @ "
                 f"{fmt_context(context)} {TIMES} {batch}")
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


SERVING_PARTS: tuple[tuple[str, str, str], ...] = (
    ("weights_bytes", "weights / GPU", "#4c72b0"),
    ("activation_peak_bytes", "activation peak (profiling)", "#dd8452"),
    ("non_torch_bytes", "non-torch reserve", "#8c8c8c"),
    ("kv_memory_bytes", "KV cache", "#55a868"),
)


def draw_serving_memory(ax: Axes, columns: Sequence[Column], options: Options) -> None:
    """Stacked bars per model: one GPU's memory as vLLM lays it out under the serving plan
    (weights on the rank, activation peak, non-torch reserve, KV cache), against the GPU's
    capacity × utilization."""
    names = [_label(c, 28) for c in columns]
    xs = list(range(len(columns)))
    plans = [c.profile().serving for c in columns]
    bottoms = [0.0] * len(columns)
    for key, legend, color in SERVING_PARTS:
        heights = [getattr(p, key) / GIB if p is not None else 0.0 for p in plans]
        ax.bar(xs, heights, bottom=bottoms, color=color, label=legend, width=0.6,
               edgecolor="white", linewidth=0.5, hatch="//" if key == "kv_memory_bytes" else None)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    first = next((p for p in plans if p is not None), None)
    # Linear, as the parts add up to one GPU's memory; the axis stops above that memory, so a
    # model whose weights do not fit is a cut bar with its total written on it, instead of a
    # bar that flattens the others.
    capacity = first.capacity_bytes / GIB if first is not None else max([*bottoms, 1e-9])
    ceiling = max([capacity, *(b for b in bottoms if b <= capacity * 1.3)]) * 1.25
    for x, p in zip(xs, plans, strict=True):
        if p is None:
            continue
        if bottoms[x] > ceiling:
            ax.annotate(f"{gib_label(bottoms[x])} GiB: does not fit", (x, ceiling),
                        textcoords="offset points", xytext=(0, -4), ha="center", va="top",
                        fontsize=7, color="#b00000", rotation=90)
        else:
            ax.annotate(f"{p.kv_tokens:,} tok", (x, bottoms[x]), textcoords="offset points",
                        xytext=(0, 3), ha="center", fontsize=8)
    if first is not None:
        ax.axhline(first.capacity_bytes / GIB, color="#999999", linewidth=1,
                   linestyle=(0, (4, 4)),
                   label=f"{first.gpu} memory ({first.capacity_bytes / GIB:.1f} GiB)")
        lay = first.layout
        where = f"TP {lay.tp} × PP {lay.pp}"
        ax.set_title(f"Memory per GPU as vLLM lays it out ({where}, "
                     f"utilization {first.gpu_memory_utilization:g})")
    ax.set_xticks(xs)
    # every part's value under its bar, the thin ones (a 0.5 GiB reserve) included
    ax.set_xticklabels([f"{name}\n" + _serving_values(p) for name, p in
                        zip(names, plans, strict=True)], fontsize=7)
    ax.set_ylabel("memory per GPU (GiB)")
    ax.set_ylim(0, ceiling)
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)


_SERVING_SHORT = {"weights_bytes": "weights", "activation_peak_bytes": "act.",
                  "non_torch_bytes": "reserve", "kv_memory_bytes": "KV"}


def _serving_values(plan: Any) -> str:
    """Two lines of "part value" (GiB), bottom of the stack first."""
    if plan is None:
        return "no plan"
    parts = [f"{_SERVING_SHORT[key]} {gib_label(getattr(plan, key) / GIB)}"
             for key, _, _ in SERVING_PARTS]
    return " · ".join(parts[:2]) + "\n" + " · ".join(parts[2:])


def _roofline_curve(column: Column, gpu: GPU,
                    context: int) -> tuple[list[int], list[float], int]:
    prof = column.profile(context=context, batch=1, gpu=gpu)
    assert prof.roofline is not None
    spec = column.analysis.spec
    limit = max(spec.max_position_embeddings or 0, context)
    ys = []
    for b in BATCHES:
        roof = roofline(spec, prof.params, prof.weights.bytes, prof.kv, prof.flops.per_token,
                        prof.flops.prefill, gpu, batch=b, context=context,
                        max_context_limit=limit)
        ys.append(roof.decode_tokens_per_s)
    return list(BATCHES), ys, prof.roofline.max_batch


def draw_roofline(ax: Axes, columns: Sequence[Column], options: Options) -> None:
    g = plot_gpu(options.gpu)
    context = options.context
    colors = _colors(len(columns))
    any_oom = False
    for i, (a, color) in enumerate(zip(columns, colors, strict=True)):
        xs, ys, max_batch = _roofline_curve(a, g, context)
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


def figsize_for(kind: str, columns: Sequence[Column]) -> tuple[float, float]:
    """FIGSIZE, grown for many models: taller for a long legend under the line plots ("kv",
    "roofline"), wider for many bars ("memory"), both for the "overview"."""
    n = len(columns)
    longest = max([len(_label(c)) for c in columns] or [0]) + 18  # " (weights do not fit)"
    rows = math.ceil((n + 1) / _legend_columns(longest))
    extra = max(0, rows - 8) * 0.2
    wide = max(FIGSIZE[0], 3.5 + 0.9 * n)  # a group of bars per model
    if kind == "memory":
        return (wide, FIGSIZE[1])
    if kind == "overview":
        return (OVERVIEW_FIGSIZE[0] + wide - FIGSIZE[0], OVERVIEW_FIGSIZE[1] + extra)
    return (FIGSIZE[0], FIGSIZE[1] + extra)


def _figure(figsize: tuple[float, float] = FIGSIZE) -> tuple[Figure, Axes]:
    fig, ax = _mpl().subplots(figsize=figsize, dpi=DPI, layout="constrained")
    return fig, ax


Columns = Sequence["Column | Analysis"]


def _plot(kind: str, draw: Callable[[Axes, Sequence[Column], Options], None],
          columns: Columns, path: str | Path, options: Options | None) -> Path:
    _check_path(path)
    options = options or Options()
    cols = as_columns(columns, options)
    fig, ax = _figure(figsize_for(kind, cols))
    draw(ax, cols, options)
    return _save(fig, path)


def plot_kv_vs_context(columns: Columns, path: str | Path, options: Options | None = None) -> Path:
    """KV-cache bytes vs context (1k … max(128k, longest model context), log-log), one line
    per model at ``options.batch``; dotted past a model's own max context; the GPU memory
    line when ``options.gpu`` is set."""
    return _plot("kv", draw_kv_vs_context, columns, path, options)


def plot_memory_breakdown(columns: Columns, path: str | Path,
                          options: Options | None = None) -> Path:
    """Stacked bars per model: weight bytes by component, then the KV cache at context x batch."""
    return _plot("memory", draw_memory_breakdown, columns, path, options)


def plot_serving_memory(columns: Columns, path: str | Path,
                        options: Options | None = None) -> Path:
    """Stacked bars per model: one GPU's memory under the serving plan (needs a GPU)."""
    return _plot("memory", draw_serving_memory, columns, path, options)


def plot_roofline(columns: Columns, path: str | Path, options: Options | None = None) -> Path:
    """Decode tokens/s upper bound vs batch 1…512 (log-log) on ``options.gpu`` (default
    H100); dotted where the weights plus the batch's KV cache no longer fit."""
    return _plot("roofline", draw_roofline, columns, path, options)


OVERVIEW_FIGSIZE = (20.0, 5.5)
_DRAWERS: tuple[tuple[str, str, Callable[[Axes, Sequence[Column], Options], None]], ...] = (
    ("KV cache vs context length", "kv", draw_kv_vs_context),
    ("Memory breakdown", "memory", draw_memory_breakdown),
    ("Decode roofline", "roofline", draw_roofline),
)


def plot_overview(columns: Columns, path: str | Path, options: Options | None = None) -> Path:
    """The three plots side by side in one figure (``archlint compare --plot FILE``)."""
    _check_path(path)
    options = options or Options()
    cols = as_columns(columns, options)
    fig, axes = _mpl().subplots(1, 3, figsize=figsize_for("overview", cols), dpi=DPI,
                                layout="constrained", width_ratios=[
                                    1, figsize_for("memory", cols)[0] / FIGSIZE[0], 1])
    for ax, (_, _, draw) in zip(axes, _DRAWERS, strict=True):
        draw(ax, cols, options)
    return _save(fig, path)


def write_all(columns: Columns, directory: str | Path, options: Options | None = None,
              ext: str = "png") -> list[Path]:
    """Each plot into ``directory`` (created): kv_vs_context, memory_breakdown, roofline."""
    ext = ext.lstrip(".").lower()
    out = Path(directory)
    return [
        plot_kv_vs_context(columns, out / f"kv_vs_context.{ext}", options),
        plot_memory_breakdown(columns, out / f"memory_breakdown.{ext}", options),
        plot_roofline(columns, out / f"roofline.{ext}", options),
        *([plot_serving_memory(columns, out / f"serving_memory.{ext}", options)]
          if (options or Options()).gpu is not None else []),
    ]


def svg_figures(columns: Columns, options: Options | None = None) -> list[tuple[str, str]]:
    """(caption, SVG text) for each plot, for the HTML page."""
    plt = _mpl()
    options = options or Options()
    cols = as_columns(columns, options)
    figures = []
    drawers = list(_DRAWERS)
    if options.gpu is not None:
        drawers.append(("Memory per GPU (serving plan)", "memory", draw_serving_memory))
    for caption, kind, draw in drawers:
        fig, ax = _figure(figsize_for(kind, cols))
        draw(ax, cols, options)
        buf = io.StringIO()
        with plt.rc_context({"svg.fonttype": "none"}):
            fig.savefig(buf, format="svg", metadata={"Date": None})
        plt.close(fig)
        figures.append((caption, buf.getvalue()))
    return figures
