"""AL2xx: attention and context. These read the config-level spec, so they run on
config-only checkpoints too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, TypeGuard

from archlint.lint.finding import Finding, Severity
from archlint.lint.quantities import parse_count
from archlint.lint.rule import Rule, RuleContext, RuleOptions, option
from archlint.records import record
from archlint.units import fmt_bytes, fmt_count

from ._base import source_key


@record
class MhaOptions(RuleOptions):
    parsers: ClassVar[dict[str, Any]] = {"min_params": parse_count}

    min_params: int = option(7_000_000_000, "smallest model (parameters; 7B, 7e9) to flag")
    kv_heads: int = option(8, "the KV head count to suggest", ge=1)


class MhaAtScale(Rule):
    """A large decoder keeps one KV head per query head (MHA) where GQA would shrink the cache.

    ## What it does
    For decoder models of at least `min_params` parameters whose attention is multi-head
    (`num_key_value_heads == num_attention_heads`), reports the KV cache per token and what
    grouped-query attention with `kv_heads` KV heads would need (the factor is
    `num_attention_heads / kv_heads`).

    ## Why is this bad?
    At long context and large batch the KV cache, not the weights, fills GPU memory and
    dominates decode bandwidth. GQA (Llama 2 70B onwards, Mistral, Qwen) cuts it by the group
    factor at a small quality cost; for a model still being designed it is the cheapest
    serving win there is.

    ## Example
    ```json
    {"hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 32,
     "num_hidden_layers": 32}
    ```
    512 KiB/token in bf16; 8 KV heads would need 128 KiB (4×).

    ## References
    - Ainslie et al. 2023, GQA: arXiv 2305.13245
    - Shazeer 2019, MQA: arXiv 1911.02150
    """

    code = "AL201"
    name = "mha-at-scale"
    default_severity = Severity.WARNING
    Options = MhaOptions
    messages: ClassVar[dict[str, str]] = {
        "mha": "{params}-parameter model with {heads} KV heads (one per query head): "
               "{now}/token of KV cache; GQA with {kv} KV heads would need {then} ({factor}× less)",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        spec, options = ctx.spec, ctx.options
        if spec.architecture != "decoder" or spec.dominant_attention() != "mha":
            return
        total = ctx.profile.params.total
        if total < options.min_params:
            return
        att = next(layer.attention for layer in spec.layers if layer.attention.kind == "mha")
        if att.num_heads <= options.kv_heads:
            return
        factor = att.num_heads / options.kv_heads
        now = ctx.profile.kv.bytes_per_token
        where = ctx.at_config(source_key(att.provenance, "num_kv_heads"),
                              source_key(att.provenance, "num_heads"), "num_attention_heads")
        yield ctx.finding("mha", where, params=fmt_count(total), heads=att.num_kv_heads,
                          now=fmt_bytes(now), kv=options.kv_heads,
                          then=fmt_bytes(now / factor), factor=f"{factor:g}")


class SlidingWindowIneffective(Rule):
    """Sliding-window keys that do nothing.

    ## What it does
    Flags `sliding_window` set while `use_sliding_window` is false (info: the Qwen2
    template does this, but readers and tools that do not know the flag treat the model as
    windowed), and a window at least as long as `max_position_embeddings` on layers that use
    it (the window never limits anything).

    ## Why is this bad?
    Runtimes that see a window pick sliding-window kernels and cache layouts (vLLM caps the
    cache per layer; some features such as prefix caching behave differently) for a model
    that attends globally, and memory estimates are wrong in either direction.

    ## Example
    ```json
    {"use_sliding_window": false, "sliding_window": 4096}
    ```

    ## References
    - Beltagy et al. 2020, Longformer (sliding-window attention): arXiv 2004.05150
    - transformers `Qwen2Config.use_sliding_window`
    """

    code = "AL202"
    name = "sliding-window-ineffective"
    default_severity = Severity.WARNING
    messages: ClassVar[dict[str, str]] = {
        "disabled": "sliding_window = {window} is set but use_sliding_window is false: the "
                    "window is unused",
        "covers-context": "sliding_window = {window} is not shorter than "
                          "max_position_embeddings = {max_pos}: the window never applies",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        key = ctx.config_key("sliding_window")
        window = ctx.config_value("sliding_window")  # "is set": as the file declares it
        use_key = ctx.config_key("use_sliding_window")
        # transformers' default when omitted: Qwen2's window is off unless switched on
        use = ctx.config_value("use_sliding_window", defaults=True)
        if use is False and isinstance(window, int) and not isinstance(window, bool) and window:
            yield ctx.finding("disabled", ctx.at_config(key, use_key), severity=Severity.INFO,
                              window=window)
            return
        max_pos = ctx.spec.max_position_embeddings
        windows = {layer.attention.window for layer in ctx.spec.layers if layer.attention.window}
        if max_pos and windows and min(windows) >= max_pos:
            yield ctx.finding("covers-context", ctx.at_config(key), window=min(windows),
                              max_pos=max_pos)


#: RoPE scaling types whose `factor` multiplies the trained context (linear position
#: interpolation, YaRN). llama3 and longrope scale per frequency band; dynamic NTK rescales at
#: run time: their `factor` is not a context multiplier.
_MULTIPLYING = {"linear", "yarn"}


class ContextBeyondRope(Rule):
    """`max_position_embeddings` is longer than the RoPE configuration supports.

    ## What it does
    With linear or YaRN `rope_scaling`, the supported context is
    `original_max_position_embeddings × factor`; a longer `max_position_embeddings` is
    flagged. Without any scaling, a root-level `original_max_position_embeddings` shorter
    than `max_position_embeddings` is flagged too.

    ## Why is this bad?
    Servers size the context from `max_position_embeddings` and accept prompts the model
    has never seen positions for; quality collapses past the scaled length instead of
    failing loudly.

    ## Example
    ```json
    {"max_position_embeddings": 131072,
     "rope_scaling": {"rope_type": "yarn", "factor": 4.0,
                      "original_max_position_embeddings": 8192}}
    ```
    YaRN × 4 of 8192 supports 32768 positions.

    ## References
    - Peng et al. 2023, YaRN: arXiv 2309.00071
    - Chen et al. 2023, Position Interpolation: arXiv 2306.15595
    """

    code = "AL203"
    name = "context-beyond-rope"
    default_severity = Severity.WARNING
    messages: ClassVar[dict[str, str]] = {
        "scaled": "max_position_embeddings = {max_pos} but {kind} rope_scaling × {factor:g} of "
                  "{original} supports {supported}",
        "unscaled": "max_position_embeddings = {max_pos} but the model was trained to "
                    "original_max_position_embeddings = {original} and no rope_scaling is set",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        spec = ctx.spec
        max_pos = spec.max_position_embeddings
        rope_layers = [layer.attention for layer in spec.layers
                       if layer.attention.positional == "rope" and layer.attention.kind != "none"]
        if not max_pos or not rope_layers:
            return
        scaling = rope_layers[0].rope_scaling
        where = ctx.at_config(source_key(spec.provenance, "max_position_embeddings"))
        if scaling:
            kind = str(scaling.get("rope_type") or scaling.get("type") or "")
            factor = scaling.get("factor")
            original = scaling.get("original_max_position_embeddings") or \
                ctx.config_value("original_max_position_embeddings")
            if kind in _MULTIPLYING and _number(factor) and _number(original):
                supported = int(original * factor)
                if max_pos > supported:
                    yield ctx.finding("scaled", where, max_pos=max_pos, kind=kind,
                                      factor=float(factor), original=original,
                                      supported=supported)
            return
        # declared only: a class default (Phi-3's 4096) is no statement of the trained length
        original = ctx.config_value("original_max_position_embeddings")
        if _number(original) and max_pos > original:
            yield ctx.finding("unscaled", where, max_pos=max_pos, original=original)


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


class PartialRotary(Rule):
    """Partial rotary embeddings: RoPE rotates only part of each head.

    ## What it does
    Notes (info) models whose `partial_rotary_factor` / `rotary_pct` / `rotary_dim` rotates
    fewer than all head dimensions.

    ## Why is this bad?
    It is not: GPT-NeoX, GPT-J, Phi and Qwen3-Next do it on purpose. But kernels and
    runtimes must honour it (a fused RoPE kernel that rotates the whole head silently
    changes the model), and context-extension recipes apply to the rotated part only.

    ## Example
    ```json
    {"partial_rotary_factor": 0.25, "head_dim": 256}
    ```
    RoPE on 64 of 256 dimensions.

    ## References
    - Black et al. 2022, GPT-NeoX-20B §2.1: arXiv 2204.06745
    """

    code = "AL204"
    name = "partial-rotary"
    default_severity = Severity.INFO
    messages: ClassVar[dict[str, str]] = {
        "partial": "RoPE rotates {pct:.0%} of each head ({dims} of {head_dim} dimensions)",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for layer in ctx.spec.layers:
            att = layer.attention
            if att.rotary_fraction and att.positional == "rope" and att.head_dim:
                where = ctx.at_config("partial_rotary_factor", "rotary_pct", "rotary_dim")
                yield ctx.finding("partial", where, pct=att.rotary_fraction,
                                  dims=round(att.rotary_fraction * att.head_dim),
                                  head_dim=att.head_dim)
                return


class AlibiPositions(Rule):
    """ALiBi position biases instead of rotary or learned positions.

    ## What it does
    Notes (info) models that encode position with ALiBi (BLOOM, MPT, Falcon variants).

    ## Why is this bad?
    It is a design choice, not a defect; but RoPE scaling recipes do not apply, some
    attention kernels (FlashAttention before 2.4, several inference engines' fast paths) do
    not support ALiBi, and the bias costs a per-head slope tensor at every step.

    ## Example
    ```json
    {"model_type": "mpt", "attn_config": {"alibi": true}}
    ```

    ## References
    - Press et al. 2021, ALiBi: arXiv 2108.12409
    """

    code = "AL205"
    name = "alibi-positions"
    default_severity = Severity.INFO
    messages: ClassVar[dict[str, str]] = {
        "alibi": "positions are ALiBi biases: RoPE scaling does not apply and some attention "
                 "kernels lack ALiBi support",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        if any(layer.attention.positional == "alibi" for layer in ctx.spec.layers):
            yield ctx.finding("alibi", ctx.at_config("alibi", "attn_config.alibi", "model_type"))


@record
class HeadDimKernelOptions(RuleOptions):
    max_head_dim: int = option(256, "largest head dimension the target kernels support", ge=8)


class HeadDimKernelSupport(Rule):
    """The attention head dimension is outside what fused attention kernels support.

    ## What it does
    Flags head dimensions above `max_head_dim` (256: FlashAttention-2 and -3) or not a
    multiple of 8.

    ## Why is this bad?
    Runtimes fall back to slower attention implementations (or refuse the model), so the
    model serves at a fraction of the throughput its size suggests.

    ## Example
    ```json
    {"hidden_size": 5120, "num_attention_heads": 16}
    ```
    head_dim 320.

    ## References
    - FlashAttention-2 README ("all head dimensions up to 256"):
      https://github.com/Dao-AILab/flash-attention
    """

    code = "AL206"
    name = "head-dim-kernel-support"
    default_severity = Severity.WARNING
    Options = HeadDimKernelOptions
    messages: ClassVar[dict[str, str]] = {
        "too-large": "head_dim {head_dim} is above {limit}: fused attention kernels "
                     "(FlashAttention-2/3) do not support it",
        "not-multiple": "head_dim {head_dim} is not a multiple of 8: fused attention kernels "
                        "pad or refuse it",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        seen: set[int] = set()
        for layer in ctx.spec.layers:
            att = layer.attention
            if att.kind in ("linear", "none") or not att.head_dim or att.head_dim in seen:
                continue
            seen.add(att.head_dim)
            where = ctx.at_config(source_key(att.provenance, "head_dim"), "head_dim",
                                  "num_attention_heads")
            if att.head_dim > ctx.options.max_head_dim:
                yield ctx.finding("too-large", where, head_dim=att.head_dim,
                                  limit=ctx.options.max_head_dim)
            elif att.head_dim % 8:
                yield ctx.finding("not-multiple", where, head_dim=att.head_dim)


RULES: list[type[Rule]] = [
    MhaAtScale, SlidingWindowIneffective, ContextBeyondRope, PartialRotary, AlibiPositions,
    HeadDimKernelSupport,
]
