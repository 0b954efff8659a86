"""What-if variants: the same model with another attention layout or KV-cache dtype.

``apply_variant(spec, "gqa:8")`` returns a deep copy whose every softmax-attention layer
(decoder, encoder and MTP stacks; linear-attention/SSM layers are left alone) uses the new
layout; the Profile is then recomputed analytically (``profile(new_spec, None, options)``).
:func:`variant_columns` turns a model and its variants into comparison columns.

Variants (combine with ``+``, e.g. ``gqa:8+kv:fp8``):

- ``mha``: one KV head per query head. ``mqa``: one KV head. ``gqa:N``: N KV heads
  (N must divide the query heads). An MLA layer converted to these keeps its qk/v head dims.
- ``mla:R`` / ``mla:R:ROPE``: MLA with ``kv_lora_rank`` R and a decoupled RoPE key of ROPE
  dims (default 64, DeepSeek-V2/V3); the query/key head dim is kept and split into
  ``nope = head_dim - ROPE`` and ROPE (when head_dim ≤ ROPE the RoPE part is added on top);
  queries stay full-rank. The cache holds R + ROPE values per token per layer.
- ``window:W``: sliding window W on every softmax layer (replacing any chunking);
  ``chunk:C``: chunked local attention; ``full``: no window, no chunk.
- ``kv:DTYPE``: the KV cache in DTYPE (fp8, fp16, bf16, fp32, fp4); the spec is unchanged.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from archlint.analysis.profile import Options, profile
from archlint.checkpoint import Checkpoint
from archlint.compare import Column
from archlint.dtypes import NAMED_DTYPE_BYTES, canonical_name
from archlint.errors import UsageError
from archlint.spec import AttentionSpec, FieldSource, LayerSpec, ModelSpec

if TYPE_CHECKING:
    from archlint.api import Analysis

__all__ = [
    "apply_variant",
    "parse_variant",
    "variant_columns",
    "variant_kv_dtype",
]

DEFAULT_MLA_ROPE = 64
_STEP = re.compile(r"^(mha|mqa|full|gqa:\d+|mla:\d+(?::\d+)?|window:\d+|chunk:\d+|kv:[\w.]+)$")


def parse_variant(variant: str) -> list[str]:
    """"GQA:8 + kv:fp8" → ["gqa:8", "kv:fp8"]; raises UsageError on anything else."""
    steps = [s.strip().lower() for s in variant.split("+")]
    if not steps or any(not s for s in steps):
        raise UsageError(f"empty what-if variant in {variant!r}")
    for step in steps:
        if not _STEP.match(step):
            raise UsageError(
                f"unknown what-if variant {step!r}",
                hint="use mha, mqa, gqa:N, mla:RANK[:ROPE], window:W, chunk:C, full, kv:DTYPE "
                     "(joined with +)")
        if step.startswith("kv:"):
            name = step[3:]
            if name not in NAMED_DTYPE_BYTES and canonical_name(name) not in NAMED_DTYPE_BYTES:
                raise UsageError(f"unknown KV-cache dtype {name!r} in {variant!r}",
                                 hint="use fp8, fp16, bf16, fp32 or fp4")
        elif ":" in step and any(int(n) < 1 for n in step.split(":")[1:]):
            raise UsageError(f"what-if variant {step!r} needs a positive number")
    return steps


def variant_kv_dtype(variant: str) -> str | None:
    """The KV dtype a variant asks for (the last ``kv:`` step), or None."""
    dtype = None
    for step in parse_variant(variant):
        if step.startswith("kv:"):
            dtype = step[3:]
    return dtype


def _mark(att: AttentionSpec, fields: Sequence[str], variant: str) -> None:
    source = FieldSource(kind="derived", detail=f"what-if variant {variant}")
    for name in fields:
        att.provenance[name] = source


def _clear_mla(att: AttentionSpec) -> None:
    att.kv_lora_rank = att.q_lora_rank = att.qk_rope_head_dim = att.qk_nope_head_dim = None


def _set_kv_heads(att: AttentionSpec, kv_heads: int, step: str) -> None:
    heads = att.num_heads
    if kv_heads > heads or heads % kv_heads:
        raise UsageError(f"{step}: {kv_heads} KV heads do not divide {heads} query heads")
    _clear_mla(att)
    att.num_kv_heads = kv_heads
    att.kind = "mha" if kv_heads == heads else "mqa" if kv_heads == 1 else "gqa"
    _mark(att, ("kind", "num_kv_heads"), step)


def _to_mla(att: AttentionSpec, rank: int, rope: int | None, step: str) -> None:
    if att.kind == "mla":
        att.kv_lora_rank = rank
        if rope is not None and rope != att.qk_rope_head_dim:
            nope = att.qk_nope_head_dim or 0
            att.qk_rope_head_dim = rope
            att.head_dim = nope + rope
        _mark(att, ("kv_lora_rank", "qk_rope_head_dim", "head_dim"), step)
        return
    rope = DEFAULT_MLA_ROPE if rope is None else rope
    qk = att.head_dim
    nope = qk - rope if qk > rope else qk
    att.kind = "mla"
    att.kv_lora_rank = rank
    att.qk_rope_head_dim = rope
    att.qk_nope_head_dim = nope
    att.head_dim = nope + rope
    att.q_lora_rank = None
    att.num_kv_heads = att.num_heads
    att.fused_qkv = False
    _mark(att, ("kind", "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "head_dim",
                "num_kv_heads"), step)


def _apply_step(att: AttentionSpec, step: str) -> None:
    name, _, arg = step.partition(":")
    if name == "mha":
        _set_kv_heads(att, att.num_heads, step)
    elif name == "mqa":
        _set_kv_heads(att, 1, step)
    elif name == "gqa":
        _set_kv_heads(att, int(arg), step)
    elif name == "mla":
        rank, _, rope = arg.partition(":")
        _to_mla(att, int(rank), int(rope) if rope else None, step)
    elif name == "window":
        att.window, att.chunk = int(arg), None
        _mark(att, ("window", "chunk"), step)
    elif name == "chunk":
        att.window, att.chunk = None, int(arg)
        _mark(att, ("window", "chunk"), step)
    elif name == "full":
        att.window = att.chunk = None
        _mark(att, ("window", "chunk"), step)


def _softmax_layers(spec: ModelSpec) -> list[LayerSpec]:
    return [layer for layer in (*spec.layers, *spec.encoder_layers, *spec.mtp_layers)
            if layer.attention.kind not in ("linear", "none")]


def apply_variant(spec: ModelSpec, variant: str) -> ModelSpec:
    """A deep copy of ``spec`` with the variant applied to every softmax-attention layer."""
    steps = parse_variant(variant)
    new = spec.model_copy(deep=True)
    layers = _softmax_layers(new)
    attention_steps = [s for s in steps if not s.startswith("kv:")]
    if attention_steps and not layers:
        raise UsageError(f"{variant}: the model has no softmax-attention layer to change")
    for step in attention_steps:
        for layer in layers:
            _apply_step(layer.attention, step)
    new.notes.append(f"what-if variant {variant}")
    return new


def _bare(ckpt: Checkpoint) -> Checkpoint:
    """A config-only copy (the variant's numbers are analytic; tensors describe the original)."""
    return Checkpoint(model_id=ckpt.model_id, source=ckpt.source, revision=ckpt.revision,
                      config=ckpt.config, weights_format="none")


def variant_columns(analysis: Analysis, variants: Sequence[str], options: Options,
                    first: int = 0) -> list[Column]:
    """[analytic baseline, one column per variant]: the spec profiled without tensors, so
    every difference between the columns comes from the variant alone. ``first`` is the
    baseline's index in the table (the variants name it as their ``baseline``). A ``kv:``
    step sets that column's KV-cache dtype; otherwise the column keeps ``options``'."""
    model_id = analysis.checkpoint.model_id
    bare = _bare(analysis.checkpoint)
    # dataclasses.replace: an Analysis like the given one (variants import no api)
    out = [Column(dataclasses.replace(analysis, checkpoint=bare, findings=[],
                                      profile=profile(analysis.spec, None, options)),
                  options, model_id)]
    for variant in variants:
        label = "+".join(parse_variant(variant))
        try:
            spec = apply_variant(analysis.spec, label)
        except UsageError as exc:
            raise UsageError(f"{model_id}: {exc.message}", hint=exc.hint) from exc
        own_kv = variant_kv_dtype(label)
        opts = options.model_copy(update={"kv_dtype": own_kv}) if own_kv else options
        variant_analysis = dataclasses.replace(analysis, checkpoint=bare, spec=spec, findings=[],
                                               profile=profile(spec, None, opts))
        out.append(Column(variant_analysis, opts, f"{model_id} as {label}", variant=label,
                          baseline=first))
    return out
