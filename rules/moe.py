"""AL3xx: mixture-of-experts routing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from archlint.lint.finding import Finding, Severity
from archlint.lint.rule import Rule, RuleContext, RuleOptions, option
from archlint.records import record
from archlint.spec import FFNSpec

from ._base import source_key

_EXPERT_KEYS = ("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts",
                "ffn_config.moe_num_experts")
_TOPK_KEYS = ("num_experts_per_tok", "experts_per_token", "moe_top_k", "n_activated_experts",
              "num_experts_per_token", "ffn_config.moe_top_k")


def _moe(ctx: RuleContext) -> FFNSpec | None:
    return ctx.spec.first_moe()


class TopKInvalid(Rule):
    """Experts per token is zero, missing, or more than the experts there are.

    ## What it does
    Checks `1 ≤ num_experts_per_tok ≤ num_experts` for MoE models.

    ## Why is this bad?
    `torch.topk` raises when k exceeds the experts; a missing or zero top-k routes every
    token nowhere (or makes runtimes fall back to a default that is not what was trained).

    ## Example
    ```json
    {"num_local_experts": 8, "num_experts_per_tok": 10}
    ```

    ## References
    - Shazeer et al. 2017, sparsely-gated MoE: arXiv 1701.06538
    """

    code = "AL301"
    name = "top-k-invalid"
    default_severity = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {
        "exceeds": "{top_k} experts per token but only {experts} experts",
        "missing": "MoE with {experts} experts but experts per token is {top_k}",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        ffn = _moe(ctx)
        if ffn is None:
            return
        where = ctx.at_config(source_key(ffn.provenance, "experts_per_token"), *_TOPK_KEYS)
        if ffn.experts_per_token <= 0:
            yield ctx.finding("missing", where, experts=ffn.num_experts,
                              top_k=ffn.experts_per_token)
        elif ffn.experts_per_token > ffn.num_experts:
            yield ctx.finding("exceeds", where, top_k=ffn.experts_per_token,
                              experts=ffn.num_experts)


@record
class EpOptions(RuleOptions):
    degrees: list[int] = option(description="expert-parallel degrees the expert count should "
                                            "divide by", default_factory=lambda: [2, 4, 8])


class ExpertsNotEpDivisible(Rule):
    """The expert count does not divide by common expert-parallel degrees.

    ## What it does
    Checks the number of routed experts is divisible by each of `degrees` (2, 4, 8).

    ## Why is this bad?
    Expert parallelism places `experts / degree` experts on each GPU; an uneven split leaves
    some GPUs with more experts (and more tokens) than others, or is refused outright
    (vLLM, SGLang and Megatron require divisibility), so the model cannot use the usual 8-GPU
    node layout.

    ## Example
    ```json
    {"num_local_experts": 60}
    ```
    60 experts do not split over 8 GPUs.

    ## References
    - Lepikhin et al. 2020, GShard (expert parallelism): arXiv 2006.16668
    """

    code = "AL302"
    name = "experts-not-ep-divisible"
    default_severity = Severity.INFO
    Options = EpOptions
    messages: ClassVar[dict[str, str]] = {
        "uneven": "{experts} experts do not divide evenly over {degrees} GPUs (expert "
                  "parallelism)",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        ffn = _moe(ctx)
        if ffn is None or ffn.num_experts <= 1:
            return
        bad = [d for d in ctx.options.degrees if d > 1 and ffn.num_experts % d]
        if bad:
            yield ctx.finding("uneven", ctx.at_config(*_EXPERT_KEYS), experts=ffn.num_experts,
                              degrees=", ".join(str(d) for d in bad))


class RouterAuxLossZero(Rule):
    """The router's load-balancing loss coefficient is zero.

    ## What it does
    Flags `router_aux_loss_coef` (`aux_loss_alpha`) of 0 in an MoE model that has no
    auxiliary-loss-free balancing (DeepSeek-V3's `noaux_tc` router bias).

    ## Why is this bad?
    Fine-tuning from this config applies no balancing pressure: routing collapses onto a
    few experts, which then dominate compute while the rest stop learning; expert-parallel
    serving becomes load-imbalanced.

    ## Example
    ```json
    {"num_local_experts": 8, "router_aux_loss_coef": 0.0}
    ```

    ## References
    - Fedus et al. 2021, Switch Transformers §2.2 (load-balancing loss): arXiv 2101.03961
    - Wang et al. 2024, auxiliary-loss-free balancing: arXiv 2408.15664
    """

    code = "AL303"
    name = "router-aux-loss-zero"
    default_severity = Severity.WARNING
    messages: ClassVar[dict[str, str]] = {
        "zero": "{key} is 0: no load-balancing loss for the {experts}-expert router",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        ffn = _moe(ctx)
        if ffn is None or ffn.router_bias or ffn.aux_loss_coef is None:
            return
        if isinstance(ffn.aux_loss_coef, (int, float)) and ffn.aux_loss_coef == 0:
            key = source_key(ffn.provenance, "aux_loss_coef") or "router_aux_loss_coef"
            yield ctx.finding("zero", ctx.at_config(key), key=key, experts=ffn.num_experts)


class NormTopkTop1(Rule):
    """Top-1 routing with `norm_topk_prob`: the gate weight is always 1.0.

    ## What it does
    Flags MoE configs that route each token to one expert and renormalise the selected
    probabilities.

    ## Why is this bad?
    Renormalising one probability divides it by itself: the expert output is multiplied by
    exactly 1.0, so the router receives no gradient through the gate value and learns only
    from the auxiliary loss (Switch Transformers scales by the raw probability for this
    reason).

    ## Example
    ```json
    {"num_experts": 16, "num_experts_per_tok": 1, "norm_topk_prob": true}
    ```

    ## References
    - Fedus et al. 2021, Switch Transformers §2.1: arXiv 2101.03961
    - transformers `Qwen2MoeSparseMoeBlock` (`norm_topk_prob`)
    """

    code = "AL304"
    name = "norm-topk-top1"
    default_severity = Severity.WARNING
    messages: ClassVar[dict[str, str]] = {
        "top1": "top-1 routing with norm_topk_prob = true: the routing weight is always 1.0 and "
                "the router gets no gradient through it",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        ffn = _moe(ctx)
        if ffn is None or ffn.experts_per_token != 1 or ffn.norm_topk_prob is not True:
            return
        yield ctx.finding("top1", ctx.at_config("norm_topk_prob"))


RULES: list[type[Rule]] = [TopKInvalid, ExpertsNotEpDivisible, RouterAuxLossZero, NormTopkTop1]
