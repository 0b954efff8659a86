"""AL1xx: config.json ⇄ weights consistency. Tensor shapes are the ground truth; every rule
here runs only when the tensor table is known (skipped silently for config-only checkpoints)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from archlint.checkpoint import TensorInfo
from archlint.lint.finding import Finding, Location, Severity
from archlint.lint.rule import Rule, RuleContext, RuleOptions, option
from archlint.problems import short
from archlint.records import record
from archlint.spec import AttentionSpec, LayerSpec
from archlint.tensors import DecoderBlocks, LayerTensors
from archlint.units import fmt_bytes, fmt_count

from ._base import PerLayer, declared, shape_text, source_key
from ._shapes import fused_expert_dims, layer_span, out_in


class _TensorRule(Rule):
    needs_tensors = True

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        index = ctx.tensors
        if index is None or not ctx.checkpoint.config:
            return iter(())
        return self.check_tensors(ctx, index.blocks)

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        raise NotImplementedError


def _conv1d(ctx: RuleContext) -> bool:
    """GPT-2 stores c_attn / c_fc / c_proj as Conv1D ([in, out]); other families reuse those
    names for nn.Linear (StarCoder2, GPTBigCode)."""
    return ctx.spec.model_type == "gpt2"


def _att_key(ctx: RuleContext, layer: LayerSpec, field_name: str, *fallback: str) -> str | None:
    return source_key(layer.attention.provenance, field_name) or ctx.config_key(*fallback)


# -- AL101 -----------------------------------------------------------------------------------------

class LayerCountMismatch(_TensorRule):
    """The number of layers in config.json differs from the layers stored in the weights.

    ## What it does
    Collects the layer indices of `model.layers.N.*` (`transformer.h.N.*`, ...) tensors and
    compares them with `num_hidden_layers`; layers past it are accepted only as the
    multi-token-prediction modules `num_nextn_predict_layers` declares (DeepSeek-V3 stores
    them as extra decoder layers). Also flags MTP modules declared without their tensors.

    ## Why is this bad?
    With fewer layers in config than stored, transformers drops the extra layers' weights
    with a warning; with more, it initialises the missing layers randomly. Either way the
    model that runs is not the model that was trained. MTP declared without tensors breaks
    speculative decoding in vLLM/SGLang, which read `num_nextn_predict_layers`.

    ## Example
    ```json
    {"num_hidden_layers": 32}
    ```
    with tensors for `model.layers.0` ... `model.layers.29` only.

    ## References
    - transformers `PreTrainedModel.from_pretrained` (missing/unexpected keys)
    - DeepSeek-V3 technical report §2.2 (multi-token prediction): arXiv 2412.19437
    """

    code = "AL101"
    name = "layer-count-mismatch"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "missing-layers": "config declares {declared} layers but no tensors exist for layer(s) "
                          "{missing}",
        "extra-layers": "tensors exist for layer(s) {extra} past the {declared} layers config "
                        "declares",
        "mtp-missing": "{key} = {mtp} declares multi-token-prediction module(s) but no MTP "
                       "tensors are stored",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        spec = ctx.spec
        if spec.architecture != "decoder" or not index.layers:
            return
        n = spec.num_layers
        mtp = len(spec.mtp_layers)
        where = ctx.at_config(source_key(spec.provenance, "num_layers"))
        present = set(index.layers)
        missing = [i for i in range(n) if i not in present]
        if missing:
            yield ctx.finding("missing-layers", where, declared=n, missing=layer_span(missing))
        extra = sorted(i for i in present if i >= n + mtp)
        if extra:
            yield ctx.finding("extra-layers", where, declared=n, extra=layer_span(extra))
        if mtp:
            stored = any(i in present for i in range(n, n + mtp)) or index.has_mtp_prefix
            if not stored:
                key = ctx.config_key("num_nextn_predict_layers", "mtp_num_hidden_layers")
                yield ctx.finding("mtp-missing", ctx.at_config(key), severity=Severity.WARNING,
                                  key=key or "num_nextn_predict_layers", mtp=mtp)


# -- AL102 -----------------------------------------------------------------------------------------

class HiddenSizeMismatch(_TensorRule):
    """`hidden_size` differs from the width of the stored embedding.

    ## What it does
    Compares `hidden_size` (`n_embd`, `d_model`, `dim`) with the second dimension of the
    input embedding (`embed_tokens`, `wte`, `word_embeddings`, `embed_in`).

    ## Why is this bad?
    Every projection is sized from `hidden_size`; the checkpoint cannot load, or a
    tool that sizes memory from the config is wrong for every layer.

    ## Example
    ```json
    {"hidden_size": 4096}
    ```
    with `model.embed_tokens.weight` of shape `[32000, 5120]`.

    ## References
    - transformers `LlamaConfig.hidden_size`
    """

    code = "AL102"
    name = "hidden-size-mismatch"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "embedding": "hidden_size is {hidden} but {tensor} has shape {shape} (width {width})",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        embed = index.embed
        if embed is None or len(embed.shape) != 2 or embed.dtype in ("U8", "I32"):
            return
        hidden = ctx.spec.hidden_size
        if embed.shape[1] != hidden:
            where = ctx.at_config(source_key(ctx.spec.provenance, "hidden_size"))
            yield ctx.finding("embedding", where, hidden=hidden, tensor=short(embed.name),
                              shape=shape_text(embed), width=embed.shape[1])


# -- AL103 / AL104: attention projections --------------------------------------------------------

Issue = tuple[str, int, dict[str, Any]]  # (kind, layer, message values)


def _attention_issues(ctx: RuleContext, index: DecoderBlocks) -> Iterator[Issue]:
    """(kind, layer, values) for each attention layer whose q/k/v/o shapes disagree with the
    config; kind is 'heads' (AL103) or 'head_dim' / 'o_proj' (AL104)."""
    for layer in ctx.spec.layers:
        att = layer.attention
        if att.kind not in ("mha", "mqa", "gqa"):
            continue
        tensors = index.layer(layer.index)
        if tensors is None or not att.num_heads:
            continue
        yield from _layer_attention(att, tensors, layer.index, _conv1d(ctx))


def _layer_attention(att: AttentionSpec, t: LayerTensors, i: int,
                     conv1d: bool) -> Iterator[Issue]:
    heads, kv, hd = att.num_heads, att.num_kv_heads, att.head_dim
    vhd = att.v_head_dim or att.head_dim
    gate = 2 if att.output_gate else 1
    roles = t.roles
    q, k, v, qkv, o = (roles.get(r) for r in ("q", "k", "v", "qkv", "o"))
    if q is not None and k is not None and v is not None:
        qd, kd, vd = out_in(q, conv1d), out_in(k, conv1d), out_in(v, conv1d)
        if qd is None or kd is None or vd is None:
            return
        q_rows, k_rows, v_rows = qd[0], kd[0], vd[0]
        if q_rows != heads * gate * hd or k_rows != kv * hd or v_rows != kv * vhd:
            q_hd = q_rows / (heads * gate)
            if kv and q_hd == k_rows / kv and q_hd.is_integer():
                yield "head_dim", i, dict(tensor=q.name, declared=hd, implied=int(q_hd),
                                          shape=shape_text(q))
            else:
                yield "heads", i, dict(tensor=q.name, heads=heads, kv=kv, head_dim=hd,
                                       q_rows=q_rows, k_rows=k_rows, v_rows=v_rows)
            return
    elif qkv is not None:
        dims = out_in(qkv, conv1d)
        if dims is None:
            return
        rows = dims[0]
        per = heads * gate + 2 * kv
        if rows != heads * gate * hd + kv * (hd + vhd):
            implied = rows / per if per else 0
            if implied and float(implied).is_integer() and vhd == hd:
                yield "head_dim", i, dict(tensor=qkv.name, declared=hd, implied=int(implied),
                                          shape=shape_text(qkv))
            else:
                yield "fused", i, dict(tensor=qkv.name, heads=heads, kv=kv, head_dim=hd,
                                       rows=rows, expected=heads * gate * hd + kv * (hd + vhd))
            return
    if o is not None:
        od = out_in(o, conv1d)
        # o_proj reads heads x v_head_dim, unless the modeling code fixes its input width
        # (Helium: hidden_size)
        o_in = att.o_input_size or heads * vhd
        if od is not None and od[1] != o_in:
            yield "o_proj", i, dict(tensor=o.name, expected=o_in, got=od[1],
                                    shape=shape_text(o))


class AttentionHeadsMismatch(_TensorRule):
    """Query/KV head counts in config.json disagree with the q/k/v projection shapes.

    ## What it does
    For each softmax-attention layer, checks `q_proj` has `num_attention_heads × head_dim`
    rows and `k_proj`/`v_proj` have `num_key_value_heads × head_dim` rows (a fused
    `qkv_proj` / `query_key_value` / `c_attn` has the sum). When no single head_dim explains
    the shapes, the head counts are wrong.

    ## Why is this bad?
    A wrong `num_key_value_heads` makes the KV cache, the attention kernels' grouping and
    every memory estimate wrong; loading fails with a size mismatch at best.

    ## Example
    ```json
    {"num_attention_heads": 32, "num_key_value_heads": 32, "head_dim": 128}
    ```
    with `k_proj.weight` of shape `[1024, 4096]` (8 KV heads were trained).

    ## References
    - Ainslie et al. 2023, GQA: arXiv 2305.13245
    - transformers `LlamaAttention` projection shapes
    """

    code = "AL103"
    name = "attention-heads-mismatch"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "split": "{layers}: config has {heads} query / {kv} KV heads of {head_dim} but q/k/v "
                 "projections have {q_rows}/{k_rows}/{v_rows} rows",
        "fused": "{layers}: fused {tensor} has {rows} rows; {heads} query + 2 × {kv} KV heads "
                 "of {head_dim} need {expected}",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        group = PerLayer(ctx)
        for kind, layer, values in _attention_issues(ctx, index):
            if kind not in ("heads", "fused"):
                continue
            where = ctx.at_config(_att_key(ctx, ctx.spec.layers[layer], "num_kv_heads",
                                           "num_key_value_heads", "num_attention_heads"))
            tensor = values.pop("tensor")
            if kind == "heads":
                group.add("split", layer, where, **values)
            else:
                group.add("fused", layer, where, tensor=short(_generic_name(tensor, layer)),
                          **values)
        yield from group.findings()


class HeadDimMismatch(_TensorRule):
    """The head dimension in config.json disagrees with the attention projection shapes.

    ## What it does
    When the q/k/v shapes are all explained by one head dimension that is not the config's,
    reports it: as a declared `head_dim` that is wrong, or — the gpt-fast trap — a config
    without `head_dim` whose implied `hidden_size / num_attention_heads` is not what the
    weights use. A declared `head_dim` that differs from `hidden_size / heads` is fine when
    the tensors agree with it. Also checks `o_proj` takes `heads × head_dim` inputs.

    ## Why is this bad?
    Loaders that derive `head_dim` (gpt-fast's `__post_init__` overwrites it with
    `dim // n_head`) build the wrong attention; RoPE, the KV cache and FLOP counts follow the
    wrong size.

    ## Example
    ```json
    {"hidden_size": 2560, "num_attention_heads": 32}
    ```
    with `q_proj.weight` `[4096, 2560]`: the weights use head_dim 128, the config implies 80.

    ## References
    - gpt-fast `ModelArgs.__post_init__`: https://github.com/pytorch-labs/gpt-fast
    - transformers `Qwen3Config.head_dim`, `GemmaConfig.head_dim`
    """

    code = "AL104"
    name = "head-dim-mismatch"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "declared": "{layers}: head_dim is {declared} but {tensor} {shape} implies {implied}",
        "derived": "{layers}: config has no head_dim, so loaders derive hidden_size / "
                   "num_attention_heads = {declared}, but {tensor} {shape} implies {implied}; "
                   "declare head_dim = {implied}",
        "o-proj": "{layers}: {tensor} {shape} takes {got} inputs; heads × head_dim is {expected}",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        group = PerLayer(ctx)
        for kind, layer, values in _attention_issues(ctx, index):
            spec_layer = ctx.spec.layers[layer]
            tensor = values.pop("tensor")
            generic = tensor.replace(f".{layer}.", ".N.")
            if kind == "head_dim":
                is_declared = declared(spec_layer.attention.provenance, "head_dim")
                where = ctx.at_config(_att_key(ctx, spec_layer, "head_dim", "head_dim",
                                               "num_attention_heads"))
                group.add("declared" if is_declared else "derived", layer, where,
                          tensor=short(generic), **values)
            elif kind == "o_proj":
                where = ctx.at_config(_att_key(ctx, spec_layer, "head_dim", "head_dim"))
                group.add("o-proj", layer, where, tensor=short(generic), **values)
        yield from group.findings()


# -- AL105 MLA -------------------------------------------------------------------------------------

class MlaRankMismatch(_TensorRule):
    """MLA ranks in config.json disagree with the latent projection shapes.

    ## What it does
    For multi-head latent attention (DeepSeek-V2/V3, Kimi-K2) checks
    `kv_a_proj_with_mqa` has `kv_lora_rank + qk_rope_head_dim` rows, `kv_b_proj` is
    `[heads × (qk_nope_head_dim + v_head_dim), kv_lora_rank]`, and the query path matches
    `q_lora_rank` (`q_a_proj`/`q_b_proj`) or its absence (a full `q_proj`).

    ## Why is this bad?
    The KV cache of an MLA model is the latent (`kv_lora_rank + qk_rope_head_dim` per
    token per layer); a wrong rank makes every cache estimate and the absorbed-attention
    kernels in vLLM/SGLang wrong, and loading fails.

    ## Example
    ```json
    {"kv_lora_rank": 256, "qk_rope_head_dim": 64}
    ```
    with `kv_a_proj_with_mqa.weight` `[576, 2048]` (trained with rank 512).

    ## References
    - DeepSeek-V2 §2.1 (MLA): arXiv 2405.04434
    - transformers `modeling_deepseek_v3.DeepseekV3Attention`
    """

    code = "AL105"
    name = "mla-rank-mismatch"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "kv-a": "{layers}: kv_a_proj_with_mqa has {got} rows; kv_lora_rank {rank} + "
                "qk_rope_head_dim {rope} = {expected}",
        "kv-b": "{layers}: kv_b_proj is {shape}; expected [{rows}, {rank}] from {heads} heads × "
                "(qk_nope_head_dim {nope} + v_head_dim {v}) and kv_lora_rank {rank}",
        "q-a": "{layers}: q_a_proj has {got} rows but q_lora_rank is {rank}",
        "q-b": "{layers}: {tensor} has {got} rows; {heads} heads × (qk_nope_head_dim + "
               "qk_rope_head_dim) = {expected}",
        "q-lora-not-stored": "{layers}: q_lora_rank is {rank} but the weights have a full "
                             "q_proj and no q_a_proj",
        "q-lora-not-declared": "{layers}: the weights have q_a_proj/q_b_proj but q_lora_rank "
                               "is not set",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        group = PerLayer(ctx)
        for layer in ctx.spec.layers:
            att = layer.attention
            t = index.layer(layer.index)
            if att.kind != "mla" or t is None:
                continue
            rank, rope = att.kv_lora_rank or 0, att.qk_rope_head_dim or 0
            nope, v, heads = att.qk_nope_head_dim or 0, att.v_head_dim, att.num_heads
            rank_at = ctx.at_config("kv_lora_rank")
            kv_a, kv_b = t.roles.get("kv_a"), t.roles.get("kv_b")
            if kv_a is not None and (d := out_in(kv_a)) and d[0] != rank + rope:
                group.add("kv-a", layer.index, rank_at, got=d[0], rank=rank, rope=rope,
                          expected=rank + rope)
            if kv_b is not None and (d := out_in(kv_b)) and d != (heads * (nope + v), rank):
                group.add("kv-b", layer.index, rank_at, shape=shape_text(kv_b),
                          rows=heads * (nope + v), rank=rank, heads=heads, nope=nope, v=v)
            q_a, q_b, q = t.roles.get("q_a"), t.roles.get("q_b"), t.roles.get("q")
            q_at = ctx.at_config("q_lora_rank")
            expected_q = heads * (nope + rope)
            if att.q_lora_rank:
                if q_a is None and q is not None:
                    group.add("q-lora-not-stored", layer.index, q_at, rank=att.q_lora_rank)
                    continue
                if q_a is not None and (d := out_in(q_a)) and d[0] != att.q_lora_rank:
                    group.add("q-a", layer.index, q_at, got=d[0], rank=att.q_lora_rank)
                if q_b is not None and (d := out_in(q_b)) and d[0] != expected_q:
                    group.add("q-b", layer.index, ctx.at_config("num_attention_heads"),
                              tensor="q_b_proj", got=d[0], heads=heads, expected=expected_q)
            else:
                if q_a is not None:
                    group.add("q-lora-not-declared", layer.index, q_at)
                elif q is not None and (d := out_in(q)) and d[0] != expected_q:
                    group.add("q-b", layer.index, ctx.at_config("num_attention_heads"),
                              tensor="q_proj", got=d[0], heads=heads, expected=expected_q)
        yield from group.findings()


# -- AL106 dense FFN -------------------------------------------------------------------------------

class IntermediateSizeMismatch(_TensorRule):
    """`intermediate_size` disagrees with the dense MLP's gate/up/down shapes.

    ## What it does
    For each dense FFN layer checks `gate_proj`/`up_proj` (`w1`/`w3`, `c_fc`,
    `dense_h_to_4h`) produce `intermediate_size` features, a fused `gate_up_proj` twice that
    (as does the `up` tensor of a gated MLP stored without a gate: llama.cpp's Phi-3
    `ffn_up`), and `down_proj` consumes `intermediate_size`.

    ## Why is this bad?
    The FFN holds about two thirds of a dense model's parameters: parameter counts, FLOPs
    and memory estimates from the config are off, and the checkpoint cannot load.

    ## Example
    ```json
    {"intermediate_size": 11008}
    ```
    with `mlp.gate_proj.weight` `[14336, 4096]`.

    ## References
    - Shazeer 2020, GLU variants: arXiv 2002.05202
    - transformers `LlamaMLP`
    """

    code = "AL106"
    name = "intermediate-size-mismatch"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "width": "{layers}: intermediate_size is {declared} but {tensor} {shape} has width "
                 "{got}",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        group = PerLayer(ctx)
        for layer in ctx.spec.layers:
            ffn = layer.ffn
            t = index.layer(layer.index)
            if ffn.kind != "dense" or t is None or not ffn.intermediate_size:
                continue
            width = ffn.intermediate_size
            where = ctx.at_config(source_key(ffn.provenance, "intermediate_size"))
            # a gated MLP stored without a gate of its own holds both halves in its "up"
            # tensor: llama.cpp writes Phi-3's gate_up_proj as blk.N.ffn_up (convert_hf_to_gguf
            # Phi3MiniModel), ChatGLM's dense_h_to_4h makes gate and value together
            fused_up = ffn.gated and "gate" not in t.roles and "gate_up" not in t.roles
            checks = [("gate", 0, 1), ("up", 0, 2 if fused_up else 1), ("gate_up", 0, 2),
                      ("down", 1, 1)]
            for role, axis, factor in checks:
                tensor = t.roles.get(role)
                dims = out_in(tensor, _conv1d(ctx)) if tensor is not None else None
                if dims is None or tensor is None:
                    continue
                if dims[axis] != width * factor:
                    group.add("width", layer.index, where, declared=width,
                              tensor=short(_generic_name(tensor.name, layer.index)),
                              shape=shape_text(tensor), got=dims[axis] // factor)
                    break
        yield from group.findings()


# -- AL107 / AL108 / AL109: experts ---------------------------------------------------------------

def _expert_count(t: LayerTensors) -> tuple[int | None, str | None]:
    """(experts stored, how it was seen) in one layer."""
    if t.expert_ids:
        return max(t.expert_ids) + 1, "experts.N.*"
    for role in ("fused_gate_up", "fused_down", "stacked_gate", "stacked_up"):
        tensor = t.roles.get(role)
        if tensor is not None and (dims := fused_expert_dims(tensor)):
            return dims[0], tensor.name.rsplit(".", 1)[-1]
    return None, None


class ExpertCountMismatch(_TensorRule):
    """The number of experts in config.json differs from the experts stored.

    ## What it does
    In each MoE layer counts the experts (`experts.N.*` indices, or the leading dimension of
    fused expert tensors such as gpt-oss `experts.gate_up_proj_blocks [E, ...]`) and the
    router's rows, and compares them with `num_experts` / `num_local_experts` /
    `n_routed_experts`. Also flags expert tensors in layers the config makes dense, and
    MoE layers with no experts stored.

    ## Why is this bad?
    The router produces one logit per configured expert: with a mismatch, tokens are routed
    to experts that do not exist (or never to some that do). Active-parameter and memory
    figures are wrong.

    ## Example
    ```json
    {"num_local_experts": 8}
    ```
    with `block_sparse_moe.experts.0` ... `experts.6` stored and `gate.weight` `[7, 4096]`.

    ## References
    - Fedus et al. 2021, Switch Transformers: arXiv 2101.03961
    - transformers `MixtralSparseMoeBlock`, `GptOssExperts`
    """

    code = "AL107"
    name = "expert-count-mismatch"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "experts": "{layers}: config declares {declared} experts but {got} are stored "
                   "({how})",
        "router": "{layers}: router {tensor} has {got} rows for {declared} experts",
        "undeclared": "{layers}: expert tensors stored but the config makes the layer dense",
        "missing": "{layers}: config makes the layer MoE but no expert tensors are stored",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        group = PerLayer(ctx)
        experts_at = ctx.at_config("num_experts", "num_local_experts", "n_routed_experts",
                                   "moe_num_experts", "ffn_config.moe_num_experts")
        for layer in ctx.spec.layers:
            t = index.layer(layer.index)
            if t is None:
                continue
            ffn = layer.ffn
            stored, how = _expert_count(t)
            if ffn.kind != "moe":
                if stored:
                    group.add("undeclared", layer.index, experts_at)
                continue
            if stored is None:
                if not any(".experts" in n for n in t.names):
                    group.add("missing", layer.index, experts_at)
                continue
            if stored != ffn.num_experts:
                group.add("experts", layer.index, experts_at, declared=ffn.num_experts,
                          got=stored, how=how)
            router = t.roles.get("router")
            if router is not None and (d := out_in(router)) and d[0] != ffn.num_experts:
                group.add("router", layer.index, experts_at,
                          tensor=short(_generic_name(router.name, layer.index)),
                          got=d[0], declared=ffn.num_experts)
        yield from group.findings()


class ExpertShapeMismatch(_TensorRule):
    """Per-expert widths disagree with `moe_intermediate_size`.

    ## What it does
    Checks each routed expert's `gate_proj`/`up_proj` produce, and `down_proj` consumes, the
    expert width (`moe_intermediate_size`, else `intermediate_size`); for fused expert
    tensors the `gate_up` output is twice the width.

    ## Why is this bad?
    Active parameters and the FLOPs per token of an MoE model are dominated by the expert
    width; grouped-GEMM kernels are tuned to it. The checkpoint cannot load.

    ## Example
    ```json
    {"moe_intermediate_size": 768}
    ```
    with `mlp.experts.0.gate_proj.weight` `[1536, 2048]`.

    ## References
    - transformers `Qwen3MoeSparseMoeBlock`, `GptOssExperts`
    - OCP Microscaling (MX) spec v1.0 (32-element blocks, for `_blocks` tensors)
    """

    code = "AL108"
    name = "expert-shape-mismatch"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "width": "{layers}: expert width is {declared} but {tensor} {shape} implies {got}",
        "hidden": "{layers}: {tensor} {shape} does not connect to hidden_size {hidden}",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        group = PerLayer(ctx)
        hidden = ctx.spec.hidden_size
        for layer in ctx.spec.layers:
            t = index.layer(layer.index)
            ffn = layer.ffn
            if ffn.kind != "moe" or t is None or not ffn.expert_intermediate_size:
                continue
            width = ffn.expert_intermediate_size
            where = ctx.at_config(source_key(ffn.provenance, "expert_intermediate_size"),
                                  "moe_intermediate_size", "intermediate_size")
            for candidate in self._shapes(t):
                tensor, out_dim, in_dim, factor, is_down = candidate
                got = (in_dim if is_down else out_dim) // factor
                other = out_dim if is_down else in_dim
                if got != width or (in_dim if is_down else out_dim) % factor:
                    generic = _generic_name(tensor.name, layer.index)
                    group.add("width", layer.index, where, declared=width, tensor=short(generic),
                              shape=shape_text(tensor), got=got)
                    break
                if other != hidden:
                    generic = _generic_name(tensor.name, layer.index)
                    group.add("hidden", layer.index, ctx.at_config("hidden_size"),
                              tensor=short(generic), shape=shape_text(tensor), hidden=hidden)
                    break
        yield from group.findings()

    @staticmethod
    def _shapes(t: LayerTensors) -> Iterator[tuple[TensorInfo, int, int, int, bool]]:
        """(tensor, out, in, outputs per unit of width, is a down projection)."""
        for role, factor, is_down in (("fused_gate_up", 2, False), ("stacked_gate", 1, False),
                                      ("stacked_up", 1, False), ("fused_down", 1, True)):
            tensor = t.roles.get(role)
            if tensor is not None and (fused := fused_expert_dims(tensor)):
                yield tensor, fused[1], fused[2], factor, is_down
        # out_in reads only the shape and dtype, so a kind of tensor seen once is seen for
        # every expert: the first that fails is the first of its kind (its message names no
        # expert number)
        table = t.table
        for role, i in t.expert_shapes(("expert_gate", "expert_up", "expert_down")):
            tensor = table[i]  # type: ignore[index]
            if dims := out_in(tensor):
                yield tensor, dims[0], dims[1], 1, role == "expert_down"


def _generic_name(name: str, layer: int) -> str:
    name = name.replace(f".{layer}.", ".N.", 1)
    return re.sub(r"\.experts\.\d+\.", ".experts.E.", name)


class SharedExpertMismatch(_TensorRule):
    """Shared experts in config.json disagree with the shared-expert tensors.

    ## What it does
    Checks that MoE layers store shared-expert tensors exactly when the config declares
    shared experts (`n_shared_experts`, `shared_expert_intermediate_size`), and that their
    width is the declared total (`n_shared_experts × moe_intermediate_size` for DeepSeek,
    `shared_expert_intermediate_size` for Qwen-MoE).

    ## Why is this bad?
    Shared experts run for every token: a missing or mis-sized one changes active
    parameters, FLOPs and the output of every token.

    ## Example
    ```json
    {"n_shared_experts": 2, "moe_intermediate_size": 1408}
    ```
    with `mlp.shared_experts.gate_proj.weight` `[1408, 2048]` (one shared expert stored).

    ## References
    - DeepSeekMoE (shared expert isolation): arXiv 2401.06066
    - transformers `Qwen2MoeSparseMoeBlock.shared_expert`
    """

    code = "AL109"
    name = "shared-expert-mismatch"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "width": "{layers}: shared experts total width {declared} but {tensor} {shape} has "
                 "{got}",
        "missing": "{layers}: config declares {shared} shared expert(s) but none are stored",
        "undeclared": "{layers}: shared-expert tensors stored but the config declares none",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        group = PerLayer(ctx)
        at = ctx.at_config("n_shared_experts", "shared_expert_intermediate_size",
                           "num_shared_experts")
        for layer in ctx.spec.layers:
            t = index.layer(layer.index)
            ffn = layer.ffn
            if ffn.kind != "moe" or t is None:
                continue
            stored = {r: t.roles[r] for r in ("shared_gate", "shared_up", "shared_down")
                      if r in t.roles}
            if ffn.num_shared_experts and not stored:
                group.add("missing", layer.index, at, shared=ffn.num_shared_experts)
            elif stored and not ffn.num_shared_experts:
                group.add("undeclared", layer.index, at)
            elif stored:
                width = ffn.shared_intermediate_size
                for role, tensor in stored.items():
                    dims = out_in(tensor)
                    if dims is None:
                        continue
                    got = dims[1] if role == "shared_down" else dims[0]
                    if got != width:
                        group.add("width", layer.index, at, declared=width,
                                  tensor=short(_generic_name(tensor.name, layer.index)),
                                  shape=shape_text(tensor), got=got)
                        break
        yield from group.findings()


# -- AL110 / AL111 vocab and head ----------------------------------------------------------------

class VocabSizeMismatch(_TensorRule):
    """`vocab_size` differs from the rows of the embedding or the LM head.

    ## What it does
    Compares `vocab_size` with the first dimension of the input embedding and of
    `lm_head.weight` (`embed_out`, `output`).

    ## Why is this bad?
    Token ids past the table index out of bounds (a CUDA assert at best); logits for the
    padding rows are sampled; tokenizer and model disagree on the vocabulary.

    ## Example
    ```json
    {"vocab_size": 32000}
    ```
    with `model.embed_tokens.weight` `[32064, 3072]`.

    ## References
    - transformers `PreTrainedModel.resize_token_embeddings`
    """

    code = "AL110"
    name = "vocab-size-mismatch"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "rows": "vocab_size is {declared} but {tensor} has {got} rows",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        vocab = ctx.spec.vocab_size
        where = ctx.at_config(source_key(ctx.spec.provenance, "vocab_size"))
        for tensor in (index.embed, index.lm_head):
            if tensor is None or len(tensor.shape) != 2 or tensor.dtype in ("U8", "I32"):
                continue
            if tensor.shape[0] != vocab:
                yield ctx.finding("rows", where, declared=vocab, tensor=short(tensor.name),
                                  got=tensor.shape[0])


class TiedEmbeddingsMismatch(_TensorRule):
    """`tie_word_embeddings` disagrees with whether an LM head is stored.

    ## What it does
    With tied embeddings, the output projection reuses the input embedding and no
    `lm_head.weight` should be stored; untied, it must be.

    ## Why is this bad?
    Tied but stored: transformers ties the head to the embedding and ignores the stored
    head, so the model runs with different logits than the stored weights say (and the
    bytes are wasted). Untied with no head: the head is initialised randomly and the model
    emits noise.

    ## Example
    ```json
    {"tie_word_embeddings": false}
    ```
    with no `lm_head.weight` in any shard.

    ## References
    - transformers `PreTrainedModel.tie_weights`, `_tied_weights_keys`
    """

    code = "AL111"
    name = "tied-embeddings-mismatch"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "tied-but-stored": "tie_word_embeddings is true ({how}) but {tensor} is stored "
                           "({size}); it is ignored at load time",
        "untied-no-head": "tie_word_embeddings is false ({how}) but no lm_head is stored; "
                          "the head would be randomly initialised",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        spec = ctx.spec
        if spec.architecture == "encoder" or index.embed is None:
            return
        source = spec.provenance.get("tie_word_embeddings")
        how = "declared" if source is not None and source.kind == "declared" else "default"
        where = ctx.at_config("tie_word_embeddings")
        head = index.lm_head
        if spec.tie_word_embeddings and head is not None:
            yield ctx.finding("tied-but-stored", where, severity=Severity.WARNING, how=how,
                              tensor=short(head.name), size=fmt_bytes(head.nbytes))
        elif not spec.tie_word_embeddings and head is None:
            yield ctx.finding("untied-no-head", where, how=how)


# -- AL112 parameter count -------------------------------------------------------------------------

@record
class ParamDriftOptions(RuleOptions):
    warn_ratio: float = option(0.01, "relative difference at which the finding becomes a "
                                     "warning (below it: info)", ge=0)


class ParamCountDrift(_TensorRule):
    """The parameter count derived from config.json differs from the tensors' count.

    ## What it does
    Counts parameters analytically from the config (the same formulas the report uses for
    config-only models) and exactly from the tensor table, excluding multi-token-prediction
    modules, and reports the difference by component. Below `warn_ratio` it is info.

    ## Why is this bad?
    Every cost estimate made from the config alone (memory, FLOPs, active parameters, the
    size on the model card) inherits the difference; a large one means the config does not
    describe the weights (an unknown module, a bias the config does not mention).

    ## Example
    ```json
    {"attention_bias": false}
    ```
    with `self_attn.q_proj.bias` stored in every layer.

    ## References
    - Kaplan et al. 2020, §2.1 parameter counting: arXiv 2001.08361
    """

    code = "AL112"
    name = "param-count-drift"
    default_severity = Severity.INFO
    Options = ParamDriftOptions
    messages: ClassVar[dict[str, str]] = {
        "drift": "config implies {analytic} parameters, tensors hold {stored} ({delta:+,} = "
                 "{ratio:.2%}; largest in {component}: {component_delta:+,})",
    }

    def check_tensors(self, ctx: RuleContext, index: DecoderBlocks) -> Iterator[Finding]:
        stored, analytic = ctx.profile.params, ctx.profile.params_from_config
        if stored.method != "tensors" or analytic.method != "config":
            return
        delta = stored.main_model - analytic.main_model
        if delta == 0:
            return
        components = {c: stored.by_component.get(c, 0) - analytic.by_component.get(c, 0)
                      for c in stored.by_component if c != "mtp"}
        component = max(components, key=lambda c: abs(components[c])) if components else "?"
        ratio = delta / analytic.main_model if analytic.main_model else 1.0
        options: ParamDriftOptions = ctx.options
        severity = Severity.WARNING if abs(ratio) >= options.warn_ratio else Severity.INFO
        yield ctx.finding("drift", ctx.at_config(), severity=severity,
                          analytic=fmt_count(analytic.main_model),
                          stored=fmt_count(stored.main_model), delta=delta, ratio=ratio,
                          component=component, component_delta=components.get(component, 0))


class ArchitectureNotUnderstood(Rule):
    """Part of the architecture was not understood, so some figures may be wrong.

    ## What it does
    Reads the spec's coverage: layer groups whose token mixer archlint could not describe,
    towers whose parameters are estimated, layer-type names no reader knows, and config keys
    that shape the architecture (layer patterns, block configs, state-space settings) that no
    reader consumed.

    ## Why is this bad?
    A report that looks as confident as a right one but counts a Mamba layer as attention, or
    ignores a per-layer `block_configs`, is wrong by whole factors. Naming what was not
    understood lets the reader discount those figures, and tells archlint's maintainers (or
    the architecture's owner, through a family plugin) what to add.

    ## Example
    A hybrid whose config declares `hybrid_override_pattern` for a `model_type` archlint has no
    adapter for: the generic reader reads every layer as attention.

    ## References
    - docs/plugins.md: describing a custom architecture with a family pack
    """

    code = "AL113"
    name = "architecture-not-understood"
    default_severity: ClassVar[Severity] = Severity.WARNING
    messages: ClassVar[dict[str, str]] = {
        "part": "{part}: {how}{detail}",
        "keys": "config keys that shape the architecture were not understood: {keys}",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        coverage = ctx.spec.coverage
        for item in coverage.items:
            if item.how in ("assumed", "not_understood"):
                yield ctx.finding(
                    "part",
                    part=item.part,
                    how=item.how.replace("_", " "),
                    detail=f" ({item.detail})" if item.detail else "",
                )
        if coverage.unknown_keys:
            yield ctx.finding("keys", keys=", ".join(coverage.unknown_keys))


class MixerKindMismatch(Rule):
    """A layer's tensors show another token mixer than the config describes.

    ## What it does
    Reads each decoder block's tensor names for the parameters of a constant-state mixer
    (Mamba's `A_log`/`x_proj`/`dt_bias`, Gated DeltaNet's `in_proj_qkvz`, LFM2's short-conv
    projections, RG-LRU gates) and of softmax attention (`q_proj`/`k_proj`/`v_proj`, fused
    qkv), and compares them with the layer's mixer in the spec read from config.json.

    ## Why is this bad?
    Tensor shapes are the ground truth. A hybrid whose layer pattern was misread (a Mamba layer
    taken for attention) gets a KV cache many times too large and a constant state of zero;
    a config that no longer matches its weights will not load.

    ## Example
    `layers.3.mixer.A_log` is stored, but the config's `hybrid_override_pattern` puts
    attention at layer 3.

    ## References
    - transformers `modeling_mamba2.py`, `modeling_nemotron_h.py`, `modeling_qwen3_next.py`
    """

    code = "AL114"
    name = "mixer-kind-mismatch"
    default_severity: ClassVar[Severity] = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "kind": "layer {layer}: the config describes {spec} but its tensors show {tensors}",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        index = ctx.tensors
        if index is None:
            return
        blocks = index.blocks
        for layer in ctx.spec.layers:
            tensors = blocks.layer(layer.index)
            if tensors is None:
                continue
            hints = tensors.mixer_hints()
            if not hints:
                continue
            kinds = {m.kind for m in layer.mixers() if m.source == "self"}
            spec_recurrent = "linear" in kinds
            spec_attention = bool(kinds - {"linear", "none"})
            if ("recurrent" in hints) != spec_recurrent or (
                "attention" in hints
            ) != spec_attention:
                yield ctx.finding(
                    "kind",
                    Location(file="config.json", tensor=tensors.names[0]),
                    layer=layer.index,
                    spec=_kinds_text(spec_recurrent, spec_attention),
                    tensors=_kinds_text("recurrent" in hints, "attention" in hints),
                )


def _kinds_text(recurrent: bool, attention: bool) -> str:
    parts = [p for p, on in (("a constant-state mixer", recurrent), ("attention", attention)) if on]
    return " and ".join(parts) or "no token mixer"


RULES: list[type[Rule]] = [
    ArchitectureNotUnderstood,
    MixerKindMismatch,
    LayerCountMismatch, HiddenSizeMismatch, AttentionHeadsMismatch, HeadDimMismatch,
    MlaRankMismatch, IntermediateSizeMismatch, ExpertCountMismatch, ExpertShapeMismatch,
    SharedExpertMismatch, VocabSizeMismatch, TiedEmbeddingsMismatch, ParamCountDrift,
]
