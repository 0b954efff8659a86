"""AL5xx: the model against the spec its repo declares (`[tool.archlint.spec]`).

Each declared field is one rule; with no spec declared none of them reports anything."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from archlint.dtypes import CODE_TO_NAME, canonical_name
from archlint.lint.finding import Finding, Severity
from archlint.lint.rule import Rule, RuleContext
from archlint.units import fmt_bytes, fmt_count, fmt_gib

from ._base import dominant_float, source_key


class _SpecRule(Rule):
    default_severity: ClassVar[Severity] = Severity.ERROR
    field: ClassVar[str] = ""

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        declared = ctx.declared
        if declared is None or getattr(declared, self.field) is None:
            return iter(())
        return self.check_spec(ctx, getattr(declared, self.field))

    def check_spec(self, ctx: RuleContext, want: object) -> Iterator[Finding]:
        raise NotImplementedError


def _softmax_attention(ctx: RuleContext):  # type: ignore[no-untyped-def]
    for layer in ctx.spec.layers:
        if layer.attention.kind not in ("linear", "none"):
            return layer.attention
    return None


class SpecAttention(_SpecRule):
    """The model's attention kind differs from the declared `attention`.

    ## What it does
    Compares the dominant attention kind of the model (mha, mqa, gqa, mla, linear) with
    `spec.attention`.

    ## Why is this bad?
    The repo promised an architecture (in its model card, its serving plan, its kernel
    choice); a config edit that silently turns GQA into MHA changes the KV cache by the group
    factor.

    ## Example
    ```toml
    [tool.archlint.spec]
    attention = "gqa"
    ```
    with `num_key_value_heads == num_attention_heads` (MHA).

    ## References
    - Ainslie et al. 2023, GQA: arXiv 2305.13245
    """

    code = "AL501"
    name = "spec-attention"
    field = "attention"
    messages: ClassVar[dict[str, str]] = {
        "differs": "spec declares {want} attention but the model uses {got}",
    }

    def check_spec(self, ctx: RuleContext, want: object) -> Iterator[Finding]:
        got = ctx.spec.dominant_attention()
        if got != want:
            att = _softmax_attention(ctx)
            key = source_key(att.provenance, "num_kv_heads") if att else None
            yield ctx.finding("differs", ctx.at_config(key, "num_key_value_heads"),
                              want=want, got=got)


class SpecKvHeads(_SpecRule):
    """The model's KV head count differs from the declared `kv_heads`.

    ## What it does
    Compares `num_key_value_heads` (of the softmax-attention layers) with `spec.kv_heads`.

    ## Why is this bad?
    KV heads set the KV cache per token and the tensor-parallel degrees the model supports
    (KV heads are split across GPUs); a change is a serving-plan change.

    ## Example
    ```toml
    [tool.archlint.spec]
    kv_heads = 8
    ```
    with `"num_key_value_heads": 4`.

    ## References
    - Ainslie et al. 2023, GQA: arXiv 2305.13245
    """

    code = "AL502"
    name = "spec-kv-heads"
    field = "kv_heads"
    messages: ClassVar[dict[str, str]] = {
        "differs": "spec declares {want} KV heads but the model has {got}",
    }

    def check_spec(self, ctx: RuleContext, want: object) -> Iterator[Finding]:
        att = _softmax_attention(ctx)
        got = att.num_kv_heads if att else 0
        if got != want:
            key = source_key(att.provenance, "num_kv_heads") if att else None
            yield ctx.finding("differs", ctx.at_config(key, "num_key_value_heads"),
                              want=want, got=got)


class SpecExperts(_SpecRule):
    """The model's routed expert count differs from the declared `experts`.

    ## What it does
    Compares the experts per MoE layer (0 for a dense model) with `spec.experts`.

    ## Why is this bad?
    Total parameters, memory and the expert-parallel layout all follow the expert count.

    ## Example
    ```toml
    [tool.archlint.spec]
    experts = 8
    ```
    with `"num_local_experts": 16`.

    ## References
    - Fedus et al. 2021, Switch Transformers: arXiv 2101.03961
    """

    code = "AL503"
    name = "spec-experts"
    field = "experts"
    messages: ClassVar[dict[str, str]] = {
        "differs": "spec declares {want} experts but the model has {got}",
    }

    def check_spec(self, ctx: RuleContext, want: object) -> Iterator[Finding]:
        ffn = ctx.spec.first_moe()
        got = ffn.num_experts if ffn else 0
        if got != want:
            yield ctx.finding("differs", ctx.at_config("num_local_experts", "num_experts",
                                                       "n_routed_experts"), want=want, got=got)


class SpecExpertsPerToken(_SpecRule):
    """The model's experts per token differ from the declared `experts_per_token`.

    ## What it does
    Compares `num_experts_per_tok` with `spec.experts_per_token`.

    ## Why is this bad?
    Active parameters and FLOPs per token scale with top-k: the cost the repo advertises no
    longer holds.

    ## Example
    ```toml
    [tool.archlint.spec]
    experts_per_token = 2
    ```
    with `"num_experts_per_tok": 4`.

    ## References
    - Shazeer et al. 2017, sparsely-gated MoE: arXiv 1701.06538
    """

    code = "AL504"
    name = "spec-experts-per-token"
    field = "experts_per_token"
    messages: ClassVar[dict[str, str]] = {
        "differs": "spec declares {want} experts per token but the model routes to {got}",
    }

    def check_spec(self, ctx: RuleContext, want: object) -> Iterator[Finding]:
        ffn = ctx.spec.first_moe()
        got = ffn.experts_per_token if ffn else 0
        if got != want:
            yield ctx.finding("differs", ctx.at_config("num_experts_per_tok",
                                                       "experts_per_token"), want=want, got=got)


class SpecDtype(_SpecRule):
    """The model's dtype differs from the declared `dtype`.

    ## What it does
    Compares `torch_dtype` and, when the tensor table is known, the main stored float dtype
    with `spec.dtype` (`bfloat16` and `bf16` are the same).

    ## Why is this bad?
    Weight memory, numerics (fp16 overflows where bf16 does not) and kernel choice depend on
    it.

    ## Example
    ```toml
    [tool.archlint.spec]
    dtype = "bfloat16"
    ```
    with `"torch_dtype": "float16"`.

    ## References
    - transformers `PretrainedConfig.torch_dtype`
    """

    code = "AL505"
    name = "spec-dtype"
    field = "dtype"
    messages: ClassVar[dict[str, str]] = {
        "config": "spec declares {want} but torch_dtype is {got}",
        "stored": "spec declares {want} but the weights are stored as {got}",
    }

    def check_spec(self, ctx: RuleContext, want: object) -> Iterator[Finding]:
        want_name = canonical_name(str(want))
        if ctx.spec.dtype is not None and ctx.spec.dtype != want_name:
            yield ctx.finding("config", ctx.at_config("torch_dtype", "dtype"), want=want,
                              got=ctx.spec.dtype)
            return
        if ctx.checkpoint.tensors:
            stored = dominant_float(ctx.tensors)
            if stored is not None and CODE_TO_NAME.get(stored) != want_name \
                    and ctx.spec.quantization is None:
                yield ctx.finding("stored", ctx.at_config("torch_dtype", "dtype"), want=want,
                                  got=CODE_TO_NAME.get(stored, stored))


class SpecKvBytes(_SpecRule):
    """The KV cache per token exceeds the declared `max_kv_bytes_per_token`.

    ## What it does
    Compares the KV cache one token of context adds (all layers whose cache grows with
    context, in the cache dtype: the activation dtype unless `--kv-dtype` says otherwise,
    vLLM's `auto`) with `spec.max_kv_bytes_per_token`.

    ## Why is this bad?
    The KV budget decides the batch and context a deployment can serve; exceeding it means
    fewer concurrent requests than planned.

    ## Example
    ```toml
    [tool.archlint.spec]
    max_kv_bytes_per_token = "128KiB"
    ```
    for a 32-layer MHA model with 32 heads of 128 (512 KiB/token in bf16).

    ## References
    - Kwon et al. 2023, PagedAttention / vLLM: arXiv 2309.06180
    """

    code = "AL506"
    name = "spec-kv-bytes-per-token"
    field = "max_kv_bytes_per_token"
    messages: ClassVar[dict[str, str]] = {
        "exceeds": "KV cache is {got} bytes/token ({got_h}, {dtype}); spec allows {want} "
                   "({want_h})",
    }

    def check_spec(self, ctx: RuleContext, want: object) -> Iterator[Finding]:
        kv = ctx.profile.kv
        assert isinstance(want, int)
        if kv.bytes_per_token > want:
            yield ctx.finding("exceeds", ctx.at_config("num_key_value_heads",
                                                       "num_attention_heads"),
                              got=kv.bytes_per_token, got_h=fmt_bytes(kv.bytes_per_token),
                              dtype=kv.dtype, want=want, want_h=fmt_bytes(want))


class SpecContext(_SpecRule):
    """The model's maximum context is shorter than the declared `context`.

    ## What it does
    Checks `max_position_embeddings` is at least `spec.context`.

    ## Why is this bad?
    Servers cap requests at `max_position_embeddings`: the promised context is refused or
    silently truncated.

    ## Example
    ```toml
    [tool.archlint.spec]
    context = 32768
    ```
    with `"max_position_embeddings": 8192`.

    ## References
    - transformers `PretrainedConfig.max_position_embeddings`
    """

    code = "AL507"
    name = "spec-context"
    field = "context"
    messages: ClassVar[dict[str, str]] = {
        "short": "spec declares a context of {want} tokens but max_position_embeddings is "
                 "{got}",
        "unknown": "spec declares a context of {want} tokens but the config declares no "
                   "maximum",
    }

    def check_spec(self, ctx: RuleContext, want: object) -> Iterator[Finding]:
        got = ctx.spec.max_position_embeddings
        where = ctx.at_config(source_key(ctx.spec.provenance, "max_position_embeddings"))
        if got is None:
            yield ctx.finding("unknown", where, severity=Severity.WARNING, want=want)
        elif got < want:  # type: ignore[operator]
            yield ctx.finding("short", where, want=want, got=got)


class SpecActiveParams(_SpecRule):
    """Active parameters per token exceed the declared `max_active_params`.

    ## What it does
    Compares the parameters one token touches (everything but the routed experts it is not
    sent to, input embedding included) with `spec.max_active_params` (`13B`, `13e9`).

    ## Why is this bad?
    Active parameters set the FLOPs and the weight bandwidth of every decode step: the
    latency and cost the repo promised.

    ## Example
    ```toml
    [tool.archlint.spec]
    max_active_params = "13B"
    ```
    for Mixtral-8x7B (12.9B active) after raising top-k to 3.

    ## References
    - Fedus et al. 2021, Switch Transformers: arXiv 2101.03961
    """

    code = "AL508"
    name = "spec-active-params"
    field = "max_active_params"
    messages: ClassVar[dict[str, str]] = {
        "exceeds": "{got_h} active parameters per token ({got}); spec allows {want_h}",
    }

    def check_spec(self, ctx: RuleContext, want: object) -> Iterator[Finding]:
        got = ctx.profile.params.active
        assert isinstance(want, int)
        if got > want:
            yield ctx.finding("exceeds", ctx.at_config("num_experts_per_tok", "hidden_size"),
                              got=got, got_h=fmt_count(got), want_h=fmt_count(want))


class SpecFits(_SpecRule):
    """The model does not fit the declared GPU at the declared batch and context.

    ## What it does
    Profiles the model for `spec.fits` (`gpu`, `batch`, `context`; context defaults to
    `spec.context`, then `max_position_embeddings`) and checks weights + KV cache fit the
    GPU's memory (a roofline upper bound: real runtimes also need activations and
    workspace).

    ## Why is this bad?
    The deployment target stops working: out-of-memory at load, or a runtime that silently
    shrinks the batch or the context.

    ## Example
    ```toml
    [tool.archlint.spec]
    fits = { gpu = "H100", batch = 8, context = 32768 }
    ```

    ## References
    - Williams et al. 2009, Roofline
    - nvidia-smi memory.total of an H100 80GB SXM: 81,559 MiB (79.6 GiB)
    """

    code = "AL509"
    name = "spec-fits"
    field = "fits"
    messages: ClassVar[dict[str, str]] = {
        "too-big": "weights {weights} + KV cache {kv} (batch {batch}, context {context}) = "
                   "{total} exceed the {gpu}'s {memory}",
    }

    def check_spec(self, ctx: RuleContext, want: object) -> Iterator[Finding]:
        from archlint.analysis.hardware import find_gpu
        from archlint.analysis.profile import Options, profile

        fits = want
        declared = ctx.declared
        context = (fits.context or (declared.context if declared else None)  # type: ignore[attr-defined]
                   or ctx.spec.max_position_embeddings or 8192)
        gpu = find_gpu(fits.gpu)  # type: ignore[attr-defined]
        prof = profile(ctx.spec, ctx.checkpoint,
                       Options(gpu=gpu, batch=fits.batch, context=context))  # type: ignore[attr-defined]
        roof = prof.roofline
        if roof is None or roof.fits:
            return
        weights = prof.weights.bytes
        # GiB throughout: the GPU table holds the capacity the driver reports (MiB).
        yield ctx.finding("too-big", ctx.at_config(), weights=fmt_gib(weights),
                          kv=fmt_gib(roof.decode_kv_bytes), batch=roof.batch, context=context,
                          total=fmt_gib(weights + roof.decode_kv_bytes), gpu=gpu.name,
                          memory=fmt_gib(gpu.memory_bytes))


RULES: list[type[Rule]] = [
    SpecAttention, SpecKvHeads, SpecExperts, SpecExpertsPerToken, SpecDtype, SpecKvBytes,
    SpecContext, SpecActiveParams, SpecFits,
]
