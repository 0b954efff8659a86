"""The comparison table: one column per model (or what-if variant), one row per property.

Pure data, no I/O: :func:`compare_table` turns analyses into a :class:`Table` whose cells keep
their exact value (integers for counts and bytes, so JSON and CSV stay exact) beside a human
text. Rows whose values differ across the columns are flagged; the formatters in
:mod:`archlint.report.compare_formats` highlight them. A column is a :class:`Column`: an
analysis, the :class:`~archlint.analysis.profile.Options` it is evaluated at, and its own
label (what-if variants from :mod:`archlint.variants` are columns too). The command (loading,
terminal, files, plots) is :mod:`archlint.compare_cli`; nothing here formats or does I/O.

Conventions are the Profile's (DESIGN.md): KV sizing follows vLLM, "active" counts what one
token touches, weight bytes are the stored bytes (tensor table or index when known, otherwise
parameters x the declared dtype, marked "~").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from archlint.analysis.profile import Options, Profile, reprofile
from archlint.dtypes import canonical_name
from archlint.errors import UsageError
from archlint.spec import AttentionSpec, FFNSpec, ModelSpec
from archlint.units import fmt_bytes, fmt_count, fmt_flops, fmt_rate

if TYPE_CHECKING:
    from archlint.api import Analysis

__all__ = [
    "ROWS",
    "Cell",
    "Column",
    "Row",
    "Table",
    "as_columns",
    "compare_table",
]

DASH = "—"
TIMES = "\u00d7"  # multiplication sign
MINUS = "\u2212"  # a true minus sign
EN_DASH = "\u2013"  # ranges: layers 0-2
DIVIDE = "\u00f7"


# -- data ----------------------------------------------------------------------------------------
@dataclass
class Cell:
    """One model's value for one row: exact (int/float/str/dict/None) and for humans."""

    value: Any
    text: str


@dataclass
class Row:
    key: str
    label: str
    group: str
    unit: str | None
    cells: list[Cell]
    differs: bool = False  # the exact values are not all equal
    # per cell: show it highlighted (all cells of a differing row; with what-if variants only
    # the variant cells that differ from their baseline)
    highlight: list[bool] = field(default_factory=list)


@dataclass
class Table:
    columns: list[str]  # column headers (model ids, "id as gqa:8"); untrusted text
    model_ids: list[str]
    variants: list[str | None]
    rows: list[Row]
    context: int
    batch: int
    gpu: str | None
    kv_dtype: str | None
    notes: list[str] = field(default_factory=list)
    deltas: list[list[str]] = field(default_factory=list)  # per column, vs. its baseline

    def row(self, key: str) -> Row:
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "batch": self.batch,
            "gpu": self.gpu,
            "kv_dtype": self.kv_dtype,
            "columns": [
                {"label": label, "model_id": model_id, "variant": variant}
                for label, model_id, variant in zip(
                    self.columns, self.model_ids, self.variants, strict=True)
            ],
            "rows": [
                {"key": r.key, "label": r.label, "group": r.group, "unit": r.unit,
                 "differs": r.differs, "highlight": r.highlight,
                 "values": [c.value for c in r.cells],
                 "texts": [c.text for c in r.cells]}
                for r in self.rows
            ],
            "deltas": self.deltas,
            "notes": self.notes,
        }


# -- a column: an analysis at its options, with its own label -----------------------------------
@dataclass(frozen=True)
class Column:
    """One column of the table (and one line of a plot): ``analysis`` evaluated at ``options``.

    ``label`` is the header (untrusted: a model id); ``variant`` the what-if steps that made
    the analysis (None for a model as published); ``baseline`` the index of the column a
    variant is compared against."""

    analysis: Analysis
    options: Options
    label: str
    variant: str | None = None
    baseline: int | None = None

    @property
    def model_id(self) -> str:
        return self.analysis.checkpoint.model_id

    def profile(self, **changes: Any) -> Profile:
        """The analysis' Profile at this column's options (``changes`` override fields such as
        context, batch or gpu; the column's own KV dtype is kept)."""
        options = self.options.model_copy(update=changes) if changes else self.options
        return reprofile(self.analysis.spec, self.analysis.profile, options)


def as_columns(items: Sequence[Column | Analysis], options: Options) -> list[Column]:
    """Columns as given; a bare analysis becomes a column at ``options`` labelled by its id."""
    return [item if isinstance(item, Column)
            else Column(item, options, item.checkpoint.model_id) for item in items]


# -- describing a spec ---------------------------------------------------------------------------
def _softmax(att: AttentionSpec) -> bool:
    return att.kind not in ("linear", "none")


def _mixer_layers(spec: ModelSpec) -> list[AttentionSpec]:
    return [layer.attention for layer in spec.layers]


def _main_attention(spec: ModelSpec) -> AttentionSpec | None:
    kind = spec.dominant_attention()
    return next((a for a in _mixer_layers(spec) if a.kind == kind), None)


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def _progression(indices: list[int]) -> tuple[int, int] | None:
    """(start, step) when the sorted indices form an arithmetic progression with step > 1."""
    if len(indices) < 2:
        return None
    step = indices[1] - indices[0]
    if step < 2 or any(b - a != step for a, b in pairwise(indices)):
        return None
    return indices[0], step


def _ranges(indices: list[int], limit: int = 4) -> str:
    spans: list[str] = []
    start = prev = indices[0]
    for i in [*indices[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        spans.append(str(start) if start == prev else f"{start}{EN_DASH}{prev}")
        if i is not None:
            start = prev = i
    if len(spans) > limit:
        spans = [*spans[:limit], "…"]
    return ", ".join(spans)


def describe_layers(indices: list[int], total: int) -> str:
    """Which layers, compactly: "all", "every 2nd from 0", "all but every 4th from 3", "0-2"."""
    if len(indices) == total:
        return "all"
    if not indices:
        return "none"
    ap = _progression(indices)
    if ap is not None and indices[-1] + ap[1] >= total:
        return f"every {_ordinal(ap[1])} from {ap[0]}"
    rest = sorted(set(range(total)) - set(indices))
    ap = _progression(rest)
    if ap is not None and rest[-1] + ap[1] >= total:
        return f"all but every {_ordinal(ap[1])} from {ap[0]}"
    return _ranges(indices)


def _attention_kind(spec: ModelSpec) -> Cell:
    counts: dict[str, int] = {}
    for att in _mixer_layers(spec):
        name = (att.linear.variant if att.linear else "linear") if att.kind == "linear" \
            else att.kind
        counts[name] = counts.get(name, 0) + 1
    if not counts:
        return Cell(None, DASH)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ordered) == 1:
        text = ordered[0][0].upper() if ordered[0][0] in ("mha", "mqa", "gqa", "mla") \
            else ordered[0][0]
    else:
        text = " + ".join(
            f"{k.upper() if k in ('mha', 'mqa', 'gqa', 'mla') else k} {TIMES}{n}"
            for k, n in ordered)
    if spec.architecture != "decoder":
        text += f" ({spec.architecture})"
    return Cell({k: n for k, n in ordered}, text)


def _heads(spec: ModelSpec) -> Cell:
    att = _main_attention(spec)
    if att is None or not _softmax(att):
        return Cell(None, DASH)
    if att.kind == "mla":
        return Cell({"query": att.num_heads, "kv": None}, f"{att.num_heads} q / latent kv")
    group = f" (group {att.group_size})" if att.kind == "gqa" and att.group_size else ""
    return Cell({"query": att.num_heads, "kv": att.num_kv_heads},
                f"{att.num_heads} q / {att.num_kv_heads} kv{group}")


def _head_dims(spec: ModelSpec) -> Cell:
    att = _main_attention(spec)
    if att is None or not _softmax(att):
        return Cell(None, DASH)
    value: dict[str, int | None] = {"qk": att.head_dim, "v": att.v_head_dim}
    if att.head_dim == att.v_head_dim:
        text = str(att.head_dim)
    else:
        text = f"qk {att.head_dim} / v {att.v_head_dim}"
    if att.kind == "mla" and att.qk_nope_head_dim is not None:
        text += f" ({att.qk_nope_head_dim} + {att.qk_rope_head_dim} rope)"
        value["rope"] = att.qk_rope_head_dim
    if att.rotary_fraction:
        text += f", rotary {att.rotary_fraction:.0%}"
    return Cell(value, text)


def _mla(spec: ModelSpec) -> Cell:
    att = next((a for a in _mixer_layers(spec) if a.kind == "mla"), None)
    if att is None:
        return Cell(None, DASH)
    q = f"q {att.q_lora_rank}" if att.q_lora_rank else "q full-rank"
    return Cell({"kv_lora_rank": att.kv_lora_rank, "q_lora_rank": att.q_lora_rank,
                 "qk_rope_head_dim": att.qk_rope_head_dim},
                f"kv {att.kv_lora_rank} + rope {att.qk_rope_head_dim}, {q}")


def _windowing(spec: ModelSpec) -> Cell:
    total = len(spec.layers)
    groups: dict[tuple[str, int], list[int]] = {}
    for position, layer in enumerate(spec.layers):
        att = layer.attention
        if att.window:
            groups.setdefault(("window", att.window), []).append(position)
        elif att.chunk:
            groups.setdefault(("chunk", att.chunk), []).append(position)
    if not groups:
        return Cell(None, "none (all global)" if total else DASH)
    value = []
    parts = []
    for (kind, size), idx in sorted(groups.items(), key=lambda g: -len(g[1])):
        where = describe_layers(idx, total)
        parts.append(f"{kind} {size:,} on {len(idx)}/{total} ({where})" if where != "all"
                     else f"{kind} {size:,} on all {total}")
        value.append({"kind": kind, "size": size, "layers": len(idx)})
    return Cell(value, "; ".join(parts))


def _positional(spec: ModelSpec) -> Cell:
    att = next((a for a in _mixer_layers(spec) if _softmax(a)), None)
    if att is None:
        return Cell(None, DASH)
    value: dict[str, Any] = {"scheme": att.positional}
    text: str = att.positional
    if att.positional == "rope":
        value["theta"] = att.rope_theta
        text = f"RoPE θ={att.rope_theta:,.0f}" if att.rope_theta else "RoPE"
        if att.rope_scaling:
            kind = att.rope_scaling.get("rope_type") or att.rope_scaling.get("type") or "scaled"
            factor = att.rope_scaling.get("factor")
            value["scaling"] = kind
            value["factor"] = factor
            if isinstance(factor, (int, float)):
                text += f", {kind} {TIMES}{factor:g}"
            else:
                text += f", {kind}"
            original = att.rope_scaling.get("original_max_position_embeddings")
            if original:
                text += f" (from {original:,})"
    else:
        text = {"alibi": "ALiBi", "learned": "learned absolute", "relative": "relative bias",
                "nope": "NoPE", "none": "none"}.get(att.positional, att.positional)
    nope = sum(1 for a in _mixer_layers(spec) if _softmax(a) and a.positional == "nope")
    if nope and att.positional != "nope":
        text += f"; NoPE on {nope} layers"
        value["nope_layers"] = nope
    return Cell(value, text)


def _norm(spec: ModelSpec) -> Cell:
    text = "RMSNorm" if spec.norm == "rmsnorm" else "LayerNorm"
    if spec.norm_bias and spec.norm == "layernorm":
        text += " (+bias)"
    att = _main_attention(spec)
    extras = []
    if att is not None and att.qk_norm:
        extras.append("qk-norm" if att.qk_norm_per_head else "qk-norm (full proj.)")
    norms = {layer.norms for layer in spec.layers}
    if any(n > 2 for n in norms):
        extras.append(f"{max(norms)} per block")
    if any(layer.parallel for layer in spec.layers):
        extras.append("parallel block")
    if extras:
        text += ", " + ", ".join(extras)
    return Cell({"norm": spec.norm, "bias": spec.norm_bias,
                 "qk_norm": bool(att and att.qk_norm)}, text)


def _mlp_name(ffn: FFNSpec) -> str:
    act = (ffn.activation or "").lower()
    if ffn.gated:
        if "gelu" in act:
            return "GeGLU"
        return "SwiGLU" if act in ("silu", "swish", "") else f"gated {act}"
    return f"MLP {act}".strip() if act else "MLP"


def _ffn(spec: ModelSpec) -> Cell:
    moe = spec.first_moe()
    if moe is not None:
        value = {"kind": "moe", "experts": moe.num_experts, "width": moe.expert_intermediate_size,
                 "gated": moe.gated}
        return Cell(value, f"MoE {moe.num_experts} {TIMES} {moe.expert_intermediate_size:,} "
                           f"({_mlp_name(moe)})")
    dense = next((layer.ffn for layer in spec.layers if layer.ffn.kind == "dense"), None)
    if dense is None:
        return Cell(None, DASH)
    return Cell({"kind": "dense", "width": dense.intermediate_size, "gated": dense.gated},
                f"dense {_mlp_name(dense)} {dense.intermediate_size:,}")


def _top_k(spec: ModelSpec) -> Cell:
    moe = spec.first_moe()
    if moe is None:
        return Cell(None, DASH)
    text = f"top-{moe.experts_per_token}"
    if moe.router:
        text += f" {moe.router}"
    if moe.grouped_topk:
        text += f", groups {moe.grouped_topk[0]}/top {moe.grouped_topk[1]}"
    return Cell(moe.experts_per_token, text)


def _shared(spec: ModelSpec) -> Cell:
    moe = spec.first_moe()
    if moe is None:
        return Cell(None, DASH)
    if not moe.num_shared_experts:
        return Cell(0, "0")
    gate = ", gated" if moe.shared_expert_gate else ""
    return Cell(moe.num_shared_experts,
                f"{moe.num_shared_experts} ({moe.shared_intermediate_size:,} wide{gate})")


def _dense_layers(spec: ModelSpec) -> Cell:
    if spec.first_moe() is None:
        return Cell(None, DASH)
    dense = [i for i, layer in enumerate(spec.layers) if layer.ffn.kind == "dense"]
    if not dense:
        return Cell(0, "0")
    width = spec.layers[dense[0]].ffn.intermediate_size
    where = "first" if dense == list(range(len(dense))) else describe_layers(dense,
                                                                              len(spec.layers))
    return Cell(len(dense), f"{where} {len(dense)} ({width:,} wide)" if where == "first"
                else f"{len(dense)} ({where}; {width:,} wide)")


# -- the row catalogue ---------------------------------------------------------------------------
@dataclass
class _Ctx:
    analysis: Analysis
    profile: Profile


def _count(n: int) -> Cell:
    return Cell(int(n), fmt_count(n))


def _bytes_cell(n: int, suffix: str = "") -> Cell:
    return Cell(int(n), fmt_bytes(n) + suffix)


def _weights(c: _Ctx) -> Cell:
    w = c.profile.weights
    by_dtype = c.profile.params.bytes_by_dtype
    if by_dtype:
        names = sorted(by_dtype, key=lambda d: -by_dtype[d])
        dtypes = "/".join(n.lower() for n in names[:2])
    else:
        spec = c.analysis.spec
        dtypes = (f"{spec.quantization.method}" if spec.quantization
                  else c.profile.activation_dtype + ("" if spec.dtype else " assumed"))
    approx = "~" if w.method == "estimate" else ""
    return Cell(int(w.bytes), f"{approx}{fmt_bytes(w.bytes)} {dtypes}")


def _kv_per_token(c: _Ctx) -> Cell:
    kv = c.profile.kv
    growing = kv.bytes_per_token + kv.bytes_per_token_local
    if c.analysis.spec.architecture == "encoder":
        return Cell(0, "0 (encoder)")
    text = fmt_bytes(growing)
    if kv.bytes_per_token_local and kv.bytes_per_token:
        text += f" ({fmt_bytes(kv.bytes_per_token)} past windows)"
    elif kv.bytes_per_token_local:
        caps = [lkv.cap_tokens for lkv in kv.per_layer if lkv.cap_tokens]
        text += f" (until {fmt_context(max(caps))}, then flat)" if caps else ""
    if kv.state_bytes:
        text += f" + {fmt_bytes(kv.state_bytes)} state"
    return Cell(int(growing), text)


def _kv_long(c: _Ctx) -> Cell:
    kv = c.profile.kv
    return Cell(int(kv.bytes_per_token), fmt_bytes(kv.bytes_per_token))


def _kv_at(c: _Ctx) -> Cell:
    kv = c.profile.kv
    return _bytes_cell(kv.bytes_at_context)


def _flops(c: _Ctx) -> Cell:
    return Cell(int(c.profile.flops.per_token), fmt_flops(c.profile.flops.per_token))


def _decode(c: _Ctx) -> Cell:
    roof = c.profile.roofline
    if roof is None:
        return Cell(None, DASH)
    tps = roof.decode_tokens_per_s
    text = f"{fmt_rate(tps)} ({roof.decode_bound}-bound)"
    if not roof.fits:
        text += ", does not fit"
    return Cell(round(tps, 1), text)


def _fits(c: _Ctx) -> Cell:
    roof = c.profile.roofline
    if roof is None:
        return Cell(None, DASH)
    if roof.free_bytes_after_weights <= 0:
        return Cell(0, "weights do not fit")
    return Cell(roof.max_batch, f"{roof.max_batch:,} sequences")


def _serving(field: str) -> Callable[[_Ctx], Cell]:
    """A cell of the serving plan (per GPU, vLLM's layout); dash without a GPU."""

    def build(c: _Ctx) -> Cell:
        sp = c.profile.serving
        if sp is None:
            return Cell(None, DASH)
        if field == "weights":
            return Cell(sp.weights_bytes, fmt_bytes(sp.weights_bytes))
        if field == "kv_memory":
            return Cell(sp.kv_memory_bytes, fmt_bytes(sp.kv_memory_bytes))
        if field == "kv_tokens":
            return Cell(sp.kv_tokens, f"{sp.kv_tokens:,} tokens")
        if field == "concurrency":
            return Cell(sp.max_concurrency, f"{sp.max_concurrency:,.2f}x")
        lay = sp.layout
        text = f"{sp.gpus} × {sp.gpu} (TP {lay.tp}, PP {lay.pp}" + (
            f", EP {lay.ep})" if lay.ep > 1 else ")")
        return Cell(sp.gpus, text)

    return build


def _spec_row(fn: Callable[[ModelSpec], Cell]) -> Callable[[_Ctx], Cell]:
    return lambda c: fn(c.analysis.spec)


@dataclass(frozen=True)
class RowDef:
    key: str
    label: str
    group: str
    unit: str | None
    build: Callable[[_Ctx], Cell]
    default: bool = True


def fmt_context(context: int) -> str:
    """8192 → "8k", 131072 → "128k", 1048576 → "1M", 5000 → "5,000"."""
    if context >= 2**20 and context % 2**20 == 0:
        return f"{context // 2**20}M"
    if context % 1024 == 0:
        return f"{context // 1024}k"
    return f"{context:,}"


def _label_kv_at(context: int, batch: int) -> str:
    return f"KV cache @ {fmt_context(context)} {TIMES} {batch}"


ROWS: tuple[RowDef, ...] = (
    RowDef("model_type", "Model type", "model", None,
           lambda c: Cell(c.analysis.spec.model_type, c.analysis.spec.model_type)),
    RowDef("layers", "Layers", "model", None,
           lambda c: Cell(c.analysis.spec.num_layers, str(c.analysis.spec.num_layers))),
    RowDef("hidden", "Hidden size", "model", None,
           lambda c: Cell(c.analysis.spec.hidden_size, f"{c.analysis.spec.hidden_size:,}")),
    RowDef("vocab", "Vocabulary", "model", None,
           lambda c: Cell(c.analysis.spec.vocab_size, f"{c.analysis.spec.vocab_size:,}")),
    RowDef("max_context", "Max context", "model", "tokens",
           lambda c: Cell(c.analysis.spec.max_position_embeddings,
                          f"{c.analysis.spec.max_position_embeddings:,}"
                          if c.analysis.spec.max_position_embeddings else DASH)),
    RowDef("attention", "Attention", "attention", None, _spec_row(_attention_kind)),
    RowDef("heads", "Heads (query / KV)", "attention", None, _spec_row(_heads)),
    RowDef("head_dim", "Head dim", "attention", None, _spec_row(_head_dims)),
    RowDef("mla", "MLA ranks", "attention", None, _spec_row(_mla)),
    RowDef("windowing", "Windowing", "attention", None, _spec_row(_windowing)),
    RowDef("positional", "Positions", "attention", None, _spec_row(_positional)),
    RowDef("norm", "Norm", "block", None, _spec_row(_norm)),
    RowDef("ffn", "FFN", "ffn", None, _spec_row(_ffn)),
    RowDef("top_k", "Routing", "ffn", None, _spec_row(_top_k)),
    RowDef("shared_experts", "Shared experts", "ffn", None, _spec_row(_shared)),
    RowDef("dense_layers", "Dense FFN layers", "ffn", None, _spec_row(_dense_layers)),
    RowDef("params_total", "Params (total)", "params", "params",
           lambda c: _count(c.profile.params.total)),
    RowDef("params_active", "Params (active/token)", "params", "params",
           lambda c: _count(c.profile.params.active)),
    RowDef("params_active_ex_embedding", "Active w/o embedding", "params", "params",
           lambda c: _count(c.profile.params.active_excluding_embedding), default=False),
    RowDef("params_embedding", "Params (embedding)", "params", "params",
           lambda c: _count(c.profile.params.embedding)),
    RowDef("weights_bytes", "Weights", "memory", "bytes", _weights),
    RowDef("kv_per_token", "KV / token", "memory", "bytes", _kv_per_token),
    RowDef("kv_per_token_long", "KV / token past windows", "memory", "bytes", _kv_long,
           default=False),
    RowDef("kv_at_context", "KV cache @ context", "memory", "bytes", _kv_at),
    RowDef("flops_per_token", "FLOPs / token", "compute", "FLOP", _flops),
    RowDef("decode_tps", "Decode bound", "roofline", "tokens/s", _decode),
    RowDef("max_batch", "Max batch @ context", "roofline", "sequences", _fits, default=False),
    RowDef("serving_layout", "Serving layout", "serving", "GPUs", _serving("layout")),
    RowDef("serving_weights", "Weights / GPU", "serving", "bytes", _serving("weights")),
    RowDef("serving_kv_memory", "KV memory / GPU", "serving", "bytes", _serving("kv_memory")),
    RowDef("serving_kv_tokens", "KV capacity / GPU", "serving", "tokens",
           _serving("kv_tokens")),
    RowDef("serving_concurrency", "Max concurrency @ context", "serving", "requests",
           _serving("concurrency")),
)
ROW_KEYS = tuple(r.key for r in ROWS)
DEFAULT_ROWS = tuple(r.key for r in ROWS if r.default)


def _select_rows(rows: Sequence[str] | None) -> list[RowDef]:
    if not rows:
        return [r for r in ROWS if r.default]
    by_key = {r.key: r for r in ROWS}
    wanted: list[str] = []
    for item in rows:
        for key in str(item).split(","):
            key = key.strip().lower().replace("-", "_")
            if not key:
                continue
            if key == "all":
                wanted.extend(ROW_KEYS)
            elif key not in by_key:
                import difflib

                close = difflib.get_close_matches(key, ROW_KEYS, n=1)
                hint = (f"did you mean {close[0]!r}? " if close else "") + "rows: " + \
                    ", ".join(ROW_KEYS)
                raise UsageError(f"unknown row {key!r}", hint=hint)
            else:
                wanted.append(key)
    return [by_key[k] for k in dict.fromkeys(wanted)]  # in order, each once


def _differs(cells: list[Cell]) -> bool:
    values = [repr(c.value) for c in cells]
    return len(set(values)) > 1


def compare_table(columns: Sequence[Column | Analysis], rows: Sequence[str] | None = None,
                  options: Options | None = None) -> Table:
    """Rows x columns at ``options`` (context, batch, KV dtype, GPU; a bare analysis becomes a
    column at them). ``rows`` picks rows by key (comma lists and "all" accepted; default: the
    rows marked default). A column with a ``baseline`` is a what-if variant of that column:
    its numeric cells then carry the change ("32 KiB (-75%)")."""
    options = options or Options()
    if options.context < 1 or options.batch < 1:
        raise UsageError("context and batch must be positive")
    selected = _select_rows(rows)
    cols = as_columns(columns, options)
    ctxs = [_Ctx(c.analysis, c.profile()) for c in cols]
    context, batch, gpu = options.context, options.batch, options.gpu
    out_rows: list[Row] = []
    for rd in selected:
        cells = [rd.build(c) for c in ctxs]
        label = rd.label
        if rd.key == "kv_at_context":
            label = _label_kv_at(context, batch)
        elif rd.key == "decode_tps" and gpu is not None:
            label = f"Decode bound, {gpu.name} (batch {batch})"
        elif rd.key == "flops_per_token":
            label = f"FLOPs / token @ {fmt_context(context)}"
        differs = _differs(cells)
        out_rows.append(Row(rd.key, label, rd.group, rd.unit, cells, differs,
                            [differs and len(cells) > 1] * len(cells)))
    table = Table(columns=[c.label for c in cols], model_ids=[c.model_id for c in cols],
                  variants=[c.variant for c in cols], rows=out_rows, context=context,
                  batch=batch, gpu=gpu.name if gpu else None,
                  kv_dtype=canonical_name(options.kv_dtype) if options.kv_dtype else None)
    if any(c.baseline is not None for c in cols):
        _apply_deltas(table, [c.baseline for c in cols])
    if any(c.analysis.profile.weights.method == "estimate" for c in ctxs):
        table.notes.append(f"~ weights estimated from parameters {TIMES} dtype "
                           "(no tensor table or index)")
    return table


# -- deltas for what-if columns ------------------------------------------------------------------
def pct_change(old: float, new: float) -> str:
    """"-75%, ÷4", "+300%, x4", "-1.1%", "±0%" (a true minus sign; the factor from 2x on)."""
    if old == 0:
        return "new" if new else "±0%"
    change = (new - old) / old * 100
    if abs(change) < 0.05:
        return "±0%"
    digits = 0 if abs(change) >= 10 else 1
    text = ("+" if change > 0 else MINUS) + f"{abs(change):.{digits}f}".removesuffix(".0") + "%"
    ratio = new / old
    if ratio >= 2:
        text += f", {TIMES}{_factor(ratio)}"
    elif 0 < ratio <= 0.5:
        text += f", {DIVIDE}{_factor(1 / ratio)}"
    return text


def _factor(x: float) -> str:
    return f"{x:.0f}" if x >= 10 or abs(x - round(x)) < 0.05 else f"{x:.1f}"


def _apply_deltas(table: Table, baselines: list[int | None]) -> None:
    table.deltas = [[] for _ in table.columns]
    for row in table.rows:
        row.highlight = [False] * len(row.cells)
        for i, base in enumerate(baselines):
            if base is None or base == i:
                continue
            old, new = row.cells[base].value, row.cells[i].value
            if repr(old) != repr(new):
                row.highlight[i] = True
            if not isinstance(old, (int, float)) or not isinstance(new, (int, float)) \
                    or isinstance(old, bool) or row.unit is None or old == new:
                continue
            change = pct_change(old, new)
            before, after = row.cells[base].text, row.cells[i].text
            # "32 KiB (-75%, ÷4)"; "208 tok/s (memory-bound; +6.3%)"
            row.cells[i].text = (f"{after[:-1]}; {change})" if after.endswith(")")
                                 else f"{after} ({change})")
            table.deltas[i].append(f"{row.label}: {before} → {after} ({change})")
