"""Channel mixers of a bench layer: the dense FFN and the mixture of experts.

`DenseFFN`: SwiGLU (w13 = gate rows then up rows, w2) or a plain GELU MLP; cuBLAS GEMMs on both
paths. `MoE`: its router (softmax top-k, or DeepSeek's sigmoid grouped top-k with the
correction bias and routed scaling), the routed experts (fused kernel on the Triton path, a loop
over experts on the PyTorch path), shared experts (Qwen-MoE's behind a sigmoid gate), and
gpt-oss's expert biases with its clamped SwiGLU (`swiglu_limit` in the config). Routing is the
same vectorised torch code on both paths and can be pinned to one path's choice.
"""

from __future__ import annotations

from typing import Any

from archlint.bench.cache import Init
from archlint.bench.kernelmods import kernel_module
from archlint.spec import FFNSpec


class NoFFN:
    moe = False

    def __init__(self) -> None:
        self.notes: list[str] = []

    def forward(self, x: Any, ops: Any, routing: Any = None) -> Any:
        import torch

        return torch.zeros_like(x)

    def routed_params_per_token(self) -> int:
        return 0


class DenseFFN:
    moe = False

    def __init__(self, init: Init, ffn: FFNSpec, hidden: int) -> None:
        f = ffn.intermediate_size
        self.gated = ffn.gated
        if ffn.gated:
            init.param("w13", 2 * f, hidden)
        else:
            init.param("w1", f, hidden)
        init.param("w2", hidden, f)
        self.w = init.w
        self.notes: list[str] = []

    def forward(self, x: Any, ops: Any, routing: Any = None) -> Any:
        import torch.nn.functional as F

        if self.gated:
            gu = F.linear(x, self.w["w13"])
            f = gu.shape[1] // 2
            hid = F.silu(gu[:, :f]) * gu[:, f:]
        else:
            hid = F.gelu(F.linear(x, self.w["w1"]))
        return F.linear(hid, self.w["w2"])

    def routed_params_per_token(self) -> int:
        return 0


class MoE:
    """Weights: router [E, C], experts_w13 [E, 2F, C], experts_w2 [E, C, F] (+ biases), shared
    experts as one SwiGLU of the shared width."""

    moe = True

    def __init__(self, init: Init, ffn: FFNSpec, hidden: int, *, routed_scaling: float,
                 swiglu_limit: float | None, fp32: bool) -> None:
        e, f = ffn.num_experts, ffn.expert_intermediate_size or ffn.intermediate_size
        self.ffn, self.C = ffn, hidden
        self.E, self.K, self.F = e, ffn.experts_per_token, f
        self.routed_scaling = routed_scaling
        self.notes: list[str] = []
        if not ffn.gated:
            self.notes.append("ungated experts: built as SwiGLU experts (the fused kernel's form)")
        init.param("router", e, hidden)
        self.router_linear_bias = None
        self.correction_bias = None
        if ffn.router == "sigmoid":
            self.correction_bias = init.rand(e, fan_in=100).float()
        elif ffn.router_bias:
            self.router_linear_bias = init.rand(e, fan_in=hidden)
        init.param("experts_w13", e, 2 * f, hidden)
        init.param("experts_w2", e, hidden, f)
        self.bias = ffn.bias
        if ffn.bias:  # gpt-oss: gate_up_proj_bias [E, 2F], down_proj_bias [E, C]
            init.param("experts_b13", e, 2 * f, fan_in=hidden)
            init.param("experts_b2", e, hidden, fan_in=f)
        self.limit = swiglu_limit
        if ffn.activation not in (None, "silu", "swiglu"):
            self.notes.append(f"expert activation {ffn.activation}: run as SwiGLU")
        fs = ffn.shared_intermediate_size or (ffn.num_shared_experts * f)
        self.Fs = fs if ffn.num_shared_experts or ffn.shared_intermediate_size else 0
        if self.Fs:
            init.param("shared_w13", 2 * self.Fs, hidden)
            init.param("shared_w2", hidden, self.Fs)
            if ffn.shared_expert_gate:
                init.param("shared_gate", 1, hidden)
        self.w = init.w
        # fp32 tiles are twice as large: BLOCK_M=128 (chosen for >96 slots per expert, as in
        # a shared expert) fits no tuned config in 228 KB of shared memory; 16 does.
        self.block_m = 16 if fp32 else None
        self.last_routing: tuple[Any, Any] | None = None

    def route(self, x: Any) -> tuple[Any, Any]:
        import torch.nn.functional as F

        moe = kernel_module("moe")
        ffn = self.ffn
        logits = F.linear(x, self.w["router"], self.router_linear_bias)
        renorm = ffn.norm_topk_prob if ffn.norm_topk_prob is not None else True
        if ffn.router == "sigmoid":
            n_group, topk_group = ffn.grouped_topk or (1, 1)
            return moe.route_sigmoid_grouped_topk(  # type: ignore[no-any-return]
                logits, self.K, self.correction_bias, n_group, topk_group,
                renormalize=renorm, scaling=self.routed_scaling)
        return moe.route_softmax_topk(logits, self.K, renormalize=renorm)  # type: ignore

    def forward(self, x: Any, ops: Any, routing: Any = None) -> Any:
        import torch
        import torch.nn.functional as F

        w, ids = routing if routing is not None else self.route(x)
        self.last_routing = (w, ids)
        gated_shared = "shared_gate" in self.w
        kw: dict[str, Any] = {}
        if self.Fs and not gated_shared:
            kw.update(shared_w13=self.w["shared_w13"], shared_w2=self.w["shared_w2"])
        if self.bias:
            kw.update(b13=self.w["experts_b13"], b2=self.w["experts_b2"])
        if self.limit is not None:
            kw["limit"] = self.limit
        y = ops.moe(x, self.w["experts_w13"], self.w["experts_w2"], w, ids,
                    block_m=self.block_m, **kw)
        if gated_shared:
            s = kernel_module("reference").gated_mlp_ref(x, self.w["shared_w13"],
                                                         self.w["shared_w2"])
            y = y + torch.sigmoid(F.linear(x, self.w["shared_gate"])) * s
        return y

    def routed_params_per_token(self) -> int:
        return self.K * 3 * self.C * self.F

    def expert_bytes(self, elem: int) -> int:
        """One routed expert's three matrices (and its biases)."""
        return (3 * self.C * self.F + (2 * self.F + self.C if self.bias else 0)) * elem
