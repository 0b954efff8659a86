"""Constant-state token mixers as parts of a bench layer: Mamba-2 and Gated DeltaNet.

Both keep, per sequence, a causal-conv window [channels, K − 1] and a recurrent state whose
shapes are `archlint.mixers`' (vLLM's MambaSpec): the cache does not grow with the context.
The conv (depthwise, causal, then SiLU) and the gated RMSNorm are the same torch code on both
paths; the scan is the part that differs (backends.py: `ssd_scan`, `gated_delta`).

- `Mamba2` (transformers' Mamba2Mixer): in_proj → z (d), xBC (d + 2·G·N), dt (H); conv over
  xBC; Δ = softplus(dt + dt_bias), A = −exp(A_log); y = SSD(x, Δ, A, B, C) + D·x; gated
  RMSNorm rmsnorm(y · silu(z)) per group; out_proj.
- `GatedDeltaNet` (transformers' Qwen3NextGatedDeltaNet): in_proj_qkvz → q, k (Hk·Dk each),
  v, z (Hv·Dv each); in_proj_ba → β logits and a (Hv each); conv over q, k, v; q and k
  l2-normalised and repeated from Hk to Hv heads; g = −exp(A_log)·softplus(a + dt_bias),
  β = sigmoid(b); the gated delta rule; rmsnorm(o)·silu(z) per head; out_proj.
A prefill at position 0 starts from an empty state (a new sequence), as a server does.
"""

from __future__ import annotations

from typing import Any

from archlint.bench.cache import Init, LayerCache
from archlint.bench.kernelmods import kernel_module
from archlint.mixers import mixer
from archlint.spec import RecurrentSpec


def causal_conv(x: Any, w: Any, bias: Any, conv_state: Any, start: int) -> Any:
    """Depthwise causal conv of x [B, n, Ch] with w [Ch, K] then SiLU, continuing from the
    window conv_state [B, Ch, K − 1] (the last K − 1 inputs; zeros for a new sequence), which
    is updated in place."""
    import torch
    import torch.nn.functional as F

    k = w.shape[1]
    if start == 0:
        conv_state.zero_()
    xt = x.transpose(1, 2)  # [B, Ch, n]
    full = torch.cat([conv_state.to(xt.dtype), xt], dim=-1)  # [B, Ch, K - 1 + n]
    y = F.conv1d(full, w[:, None, :], bias, groups=w.shape[0])  # [B, Ch, n]
    conv_state.copy_(full[..., -(k - 1):])
    return F.silu(y).transpose(1, 2)


def gated_rmsnorm(y: Any, z: Any, w: Any, eps: float, groups: int, *, norm_first: bool) -> Any:
    """RMSNorm over groups of the last dim with weight w, gated by silu(z): Mamba-2 gates first
    (rmsnorm(y·silu(z))·w), Qwen3-Next normalises first (rmsnorm(y)·w·silu(z))."""
    import torch.nn.functional as F

    shape = y.shape
    if not norm_first:
        y = y * F.silu(z.float())
    yf = y.float().reshape(*shape[:-1], groups, shape[-1] // groups)
    yf = yf * (yf.pow(2).mean(-1, keepdim=True) + eps).rsqrt()
    out = yf.reshape(shape) * w.float()
    if norm_first:
        out = out * F.silu(z.float())
    return out.to(z.dtype)


class _Recurrent:
    window = chunk = None
    cross = shared = False

    def __init__(self, spec: RecurrentSpec) -> None:
        self.rspec = spec
        self.state_spec = mixer(spec).state(spec)
        self.notes: list[str] = []

    def cap(self, capacity: int) -> int:
        return 0

    def kv_bytes_per_token(self, elem: int) -> int:
        return 0

    def valid(self, cache: LayerCache, pos: int) -> int:
        return 0

    def kv_read_tokens(self, cache: LayerCache, pos: int) -> int:
        return 0

    def borrowed_shapes(self, batch: int, capacity: int, dtype: Any) -> dict[str, Any]:
        return {}

    def state_bytes(self, cache: LayerCache) -> int:
        return sum(t.numel() * t.element_size() for t in cache.tensors.values())


class Mamba2(_Recurrent):
    def __init__(self, init: Init, spec: RecurrentSpec, hidden: int, *, eps: float,
                 chunk_size: int = 256) -> None:
        import torch

        super().__init__(spec)
        d, n, g, h = spec.d_inner, spec.d_state, spec.n_groups, spec.num_heads
        self.d, self.n, self.g, self.h = d, n, g, h
        self.p = spec.head_dim or d // h
        self.conv_dim = d + 2 * g * n
        self.k = spec.conv_kernel
        self.eps, self.chunk_size = eps, chunk_size
        proj = 2 * d + 2 * g * n + h
        init.param("in_proj", proj, hidden)
        init.param("conv_w", self.conv_dim, self.k, fan_in=self.k)
        if spec.conv_bias:
            init.param("conv_b", self.conv_dim, fan_in=100)
        f32 = torch.float32
        init.param("dt_bias", h, fan_in=1, dtype=f32)
        # A_log = log(1..H), A = -exp(A_log): Mamba-2's initialisation (transformers)
        init.w["A_log"] = torch.log(torch.arange(1, h + 1, dtype=f32, device=init.device))
        init.param("D", h, fan_in=1, dtype=f32)
        init.norm("inner_norm", d)
        init.param("out_proj", hidden, d)
        self.w = init.w

    def cache_shapes(self, batch: int, capacity: int, dtype: Any, state_dtype: Any
                     ) -> dict[str, tuple[tuple[int, ...], Any]]:
        return {"conv": ((batch, self.conv_dim, self.k - 1), state_dtype),
                "ssm": ((batch, self.h, self.p, self.n), state_dtype)}

    def flops(self, batch: int, tokens: int) -> float:
        return kernel_flops("ssd", "ssd_flops", batch, tokens, self.h, self.p, self.n,
                            min(64, tokens))

    def forward(self, xn: Any, step: Any, cache: LayerCache, ops: Any,
                encoder: Any = None) -> Any:
        import torch
        import torch.nn.functional as F

        b, n = step.b, step.n
        d, g, ns, h, p = self.d, self.g, self.n, self.h, self.p
        zxbcdt = F.linear(xn, self.w["in_proj"]).view(b, n, -1)
        z, xbc, dt = zxbcdt.split([d, self.conv_dim, h], dim=-1)
        xbc = causal_conv(xbc, self.w["conv_w"], self.w.get("conv_b"), cache.tensors["conv"],
                          step.start)
        x, bb, cc = xbc.split([d, g * ns, g * ns], dim=-1)
        dt = F.softplus(dt.float() + self.w["dt_bias"])
        a = -torch.exp(self.w["A_log"])
        state = cache.tensors["ssm"]
        if step.start == 0:
            state.zero_()
        y = ops.ssd_scan(x.reshape(b, n, h, p), dt, a, bb.reshape(b, n, g, ns),
                         cc.reshape(b, n, g, ns), self.w["D"], state, chunk=self.chunk_size)
        y = gated_rmsnorm(y.reshape(b, n, d), z, self.w["inner_norm"], self.eps, g,
                          norm_first=False)
        return F.linear(y.reshape(b * n, d), self.w["out_proj"])


class GatedDeltaNet(_Recurrent):
    def __init__(self, init: Init, spec: RecurrentSpec, hidden: int, *, eps: float) -> None:
        import torch

        super().__init__(spec)
        self.hk, self.hv = spec.num_key_heads, spec.num_value_heads
        self.dk, self.dv = spec.key_head_dim, spec.value_head_dim
        self.k = spec.conv_kernel
        self.eps = eps
        key, value = self.hk * self.dk, self.hv * self.dv
        self.conv_dim = 2 * key + value
        init.param("in_proj_qkvz", 2 * key + 2 * value, hidden)
        init.param("in_proj_ba", 2 * self.hv, hidden)
        init.param("conv_w", self.conv_dim, self.k, fan_in=self.k)
        f32 = torch.float32
        init.param("dt_bias", self.hv, fan_in=1, dtype=f32)
        init.param("A_log", self.hv, fan_in=4, dtype=f32)
        init.norm("inner_norm", self.dv)
        init.param("out_proj", hidden, value)
        self.w = init.w

    def cache_shapes(self, batch: int, capacity: int, dtype: Any, state_dtype: Any
                     ) -> dict[str, tuple[tuple[int, ...], Any]]:
        return {"conv": ((batch, self.conv_dim, self.k - 1), state_dtype),
                "ssm": ((batch, self.hv, self.dk, self.dv), state_dtype)}

    def flops(self, batch: int, tokens: int) -> float:
        return kernel_flops("gated_delta", "gated_delta_flops", batch, tokens, self.hv,
                            self.dk, self.dv)

    def forward(self, xn: Any, step: Any, cache: LayerCache, ops: Any,
                encoder: Any = None) -> Any:
        import torch
        import torch.nn.functional as F

        b, n = step.b, step.n
        key, value = self.hk * self.dk, self.hv * self.dv
        qkvz = F.linear(xn, self.w["in_proj_qkvz"]).view(b, n, -1)
        qkv, z = qkvz.split([2 * key + value, value], dim=-1)
        ba = F.linear(xn, self.w["in_proj_ba"]).view(b, n, 2, self.hv)
        qkv = causal_conv(qkv, self.w["conv_w"], None, cache.tensors["conv"], step.start)
        q, k, v = qkv.split([key, key, value], dim=-1)
        rep = self.hv // self.hk
        q = F.normalize(q.reshape(b, n, self.hk, self.dk).float(), dim=-1)
        k = F.normalize(k.reshape(b, n, self.hk, self.dk).float(), dim=-1)
        q = q.repeat_interleave(rep, dim=2).to(v.dtype)
        k = k.repeat_interleave(rep, dim=2).to(v.dtype)
        beta = torch.sigmoid(ba[:, :, 0].float())
        g = -torch.exp(self.w["A_log"]) * F.softplus(ba[:, :, 1].float() + self.w["dt_bias"])
        state = cache.tensors["ssm"]
        if step.start == 0:
            state.zero_()
        o = ops.gated_delta(q, k, v.reshape(b, n, self.hv, self.dv), g, beta, state,
                            scale=self.dk ** -0.5)
        o = gated_rmsnorm(o, z.reshape(b, n, self.hv, self.dv), self.w["inner_norm"],
                          self.eps, 1, norm_first=True)
        return F.linear(o.reshape(b * n, value), self.w["out_proj"])


def kernel_flops(module: str, name: str, *args: Any) -> float:
    return float(getattr(kernel_module(module), name)(*args))


RECURRENT = {"mamba2": Mamba2, "gated_deltanet": GatedDeltaNet}
