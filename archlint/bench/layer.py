"""Build one decoder layer of a model at its real dimensions and run it on a GPU.

`run_layer(analysis, layer=, batch=, context=, dtype=, device=)` builds layer N from the
ModelSpec with seeded random weights, allocates its KV cache for `batch` sequences of `context`
tokens in a serving layout, checks the allocator's bytes against the Profile's prediction for
that layer, checks the Triton path against the PyTorch path (fp32 first, then the bench dtype),
and only then times prefill (B×L tokens) and decode (one new token per sequence against L
cached tokens) on both paths.

Dimension letters (kernels/reference.py's): B batch, L/S sequence, T = B·L tokens, C hidden,
H query heads, G KV heads, D head dim (qk), Dv value head dim, R MLA latent rank, P rope dim,
E experts, K top-k, F expert width.

The layer (pre-norm decoder block; `parallel` blocks feed both branches the same norm):
    h   = x + Attn(RMSNorm(x))
    out = h + FFN(RMSNorm(h))
Attention: GQA/MQA/MHA (K/V heads shared by index, never repeated), sliding window (cache a
ring buffer of the window), chunked-local (attend within the current chunk; cache one chunk),
sinks and softcap where the model has them, qk-norm, partial rotary, RoPE scaled as configured
(linear, llama3, YaRN; the YaRN attention factor folded into the softmax scale), the Qwen3-Next
output gate; MLA with the latent cache, absorbed decode and decompressed prefill. FFN: dense
SwiGLU (or a plain MLP), or MoE with its router (softmax top-k, or sigmoid grouped top-k with
the correction bias), top-k, and shared experts.

Two paths over the same weights:
- "triton": archlint.kernels (RMSNorm, RoPE, flash prefill, split-KV decode, MLA absorbed
  decode, fused MoE); projections and dense FFNs are cuBLAS GEMMs (torch.nn.functional.linear).
- "torch": eager PyTorch as a user would write it: RMSNorm/RoPE in float32 ops, SDPA (GQA
  without repeat) or explicit attention where SDPA cannot express sinks/softcap, MLA by
  decompressing K and V from the latent, MoE as a loop over experts.
Routing (a [T, E] softmax or sigmoid, the same vectorised torch code in both paths) can be
pinned to one path's decision when outputs are compared, so that a near-tie between two
experts does not turn a 1e-3 difference in the router's input into a different expert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from archlint.spec import AttentionSpec, FFNSpec, LayerSpec, ModelSpec

DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4}


def _torch_dtype(name: str) -> Any:
    import torch

    if name not in DTYPES:
        raise ValueError(f"dtype {name!r}: the layer runs in one of {sorted(DTYPES)}")
    return getattr(torch, DTYPES[name])


def _kernels() -> Any:
    """archlint.kernels, or kernels/ imported as a top-level package in a bare checkout."""
    import importlib

    try:
        return importlib.import_module("archlint.kernels")
    except ImportError:  # pragma: no cover - bare checkout without the package-dir mapping
        return importlib.import_module("kernels")


def _kmod(name: str) -> Any:
    import importlib

    return importlib.import_module(f"{_kernels().__name__}.{name}")


# ------------------------------------------------------------------------------------------
# RoPE frequencies (HF transformers' rope_init_functions, written out)
# ------------------------------------------------------------------------------------------
def _yarn_mscale(scale: float, mscale: float = 1.0) -> float:
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def rope_frequencies(att: AttentionSpec, rot_dim: int) -> tuple[list[float], float]:
    """(inv_freq [rot_dim/2], attention factor) for the layer's rope_theta and rope_scaling.

    default: θ^(-2i/d). linear: / factor. llama3 (Llama 3.1): long wavelengths / factor, short
    kept, a smooth ramp between. YaRN (Peng et al. 2023): per-dimension blend of interpolated
    and extrapolated frequencies between beta_fast and beta_slow rotations, and an attention
    factor 0.1·ln(factor) + 1 that scales cos and sin (so q·k by its square). "dynamic" NTK
    only changes past the original context and is treated as default here.
    """
    base = att.rope_theta or 10000.0
    half = rot_dim // 2
    inv = [base ** (-(2 * i) / rot_dim) for i in range(half)]
    rs = att.rope_scaling or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    factor = float(rs.get("factor", 1.0) or 1.0)
    attn_factor = 1.0
    if kind == "linear":
        inv = [f / factor for f in inv]
    elif kind == "llama3":
        low = float(rs.get("low_freq_factor", 1.0))
        high = float(rs.get("high_freq_factor", 4.0))
        old = float(rs.get("original_max_position_embeddings", 8192))
        low_wl, high_wl = old / low, old / high
        out = []
        for f in inv:
            wl = 2 * math.pi / f
            if wl < high_wl:
                out.append(f)
            elif wl > low_wl:
                out.append(f / factor)
            else:
                s = (old / wl - low) / (high - low)
                out.append((1 - s) * f / factor + s * f)
        inv = out
    elif kind == "yarn":
        old = float(rs.get("original_max_position_embeddings", 4096))
        beta_fast = float(rs.get("beta_fast", 32))
        beta_slow = float(rs.get("beta_slow", 1))

        def corr(rot: float) -> float:
            return (rot_dim * math.log(old / (rot * 2 * math.pi))) / (2 * math.log(base))

        lo, hi = corr(beta_fast), corr(beta_slow)
        if rs.get("truncate", True):
            lo, hi = math.floor(lo), math.ceil(hi)
        lo, hi = max(lo, 0), min(hi, rot_dim - 1)
        if lo == hi:
            hi += 0.001
        out = []
        for i, f in enumerate(inv):
            ramp = min(1.0, max(0.0, (i - lo) / (hi - lo)))
            extra = 1.0 - ramp  # weight of the extrapolated (original) frequency
            out.append(f / factor * (1 - extra) + f * extra)
        inv = out
        if "attention_factor" in rs:
            attn_factor = float(rs["attention_factor"])
        elif "mscale" in rs and "mscale_all_dim" in rs:
            attn_factor = _yarn_mscale(factor, float(rs["mscale"])) / _yarn_mscale(
                factor, float(rs["mscale_all_dim"])
            )
        else:
            attn_factor = _yarn_mscale(factor)
    return inv, attn_factor


def softmax_scale(att: AttentionSpec, attn_factor: float) -> float:
    """1/sqrt(qk head dim), times the YaRN attention factor squared (cos and sin each carry it,
    so q·k carries its square); DeepSeek's MLA also multiplies by mscale(factor,
    mscale_all_dim)² (modeling_deepseek.py DeepseekV3Attention)."""
    scale = 1.0 / math.sqrt(att.head_dim)
    rs = att.rope_scaling or {}
    if att.kind == "mla" and rs.get("mscale_all_dim"):
        m = _yarn_mscale(float(rs.get("factor", 1.0)), float(rs["mscale_all_dim"]))
        scale *= m * m
    return scale * attn_factor * attn_factor


# ------------------------------------------------------------------------------------------
# the KV cache of one layer
# ------------------------------------------------------------------------------------------
@dataclass
class LayerCache:
    """One layer's cache for `batch` sequences with room for `capacity` positions.

    Standard attention: k [B, cap, G, D], v [B, cap, G, Dv] (vLLM's per-token layout,
    contiguous per sequence); MLA: latent [B, cap, R + P]. cap = min(capacity, window or chunk):
    a windowed layer keeps a ring buffer of its window (position p in slot p % cap), a chunked
    layer one chunk.
    """

    capacity: int
    cap: int
    tensors: dict[str, Any]
    bytes: int = 0  # measured by the allocator when allocated on a GPU

    def slots(self) -> int:
        return self.cap


# ------------------------------------------------------------------------------------------
# the layer
# ------------------------------------------------------------------------------------------
def _config_value(config: dict[str, Any] | None, key: str, default: Any) -> Any:
    if not config:
        return default
    if key in config:
        return config[key]
    for nested in ("text_config", "llm_config", "language_config"):
        sub = config.get(nested)
        if isinstance(sub, dict) and key in sub:
            return sub[key]
    return default


class BenchLayer:
    """One decoder layer with seeded random weights (N(0, 1/fan_in); norms near 1)."""

    def __init__(
        self,
        spec: ModelSpec,
        index: int,
        *,
        dtype: str = "bf16",
        device: str = "cuda",
        seed: int = 0,
        config: dict[str, Any] | None = None,
    ) -> None:
        import torch

        if not 0 <= index < len(spec.layers):
            raise ValueError(f"layer {index} out of range: the model has {len(spec.layers)}")
        self.spec = spec
        self.index = index
        self.layer: LayerSpec = spec.layers[index]
        self.att: AttentionSpec = self.layer.attention
        self.ffn: FFNSpec = self.layer.ffn
        self.dtype_name = dtype
        self.dtype = _torch_dtype(dtype)
        self.device = device
        self.notes: list[str] = []
        att = self.att
        if att.kind == "linear":
            variant = att.linear.variant if att.linear else "?"
            raise NotImplementedError(
                f"layer {index} is a linear-attention/SSM layer ({variant}): no kernel for it "
                "yet; pick a softmax-attention layer with --layer"
            )
        if att.kind == "none":
            raise NotImplementedError(f"layer {index} has no attention")
        if spec.architecture != "decoder":
            raise NotImplementedError("only decoder layers are benchmarked")
        eps = _config_value(config, "rms_norm_eps", None) or _config_value(
            config, "layer_norm_epsilon", None
        )
        self.eps = float(eps or 1e-5)
        self.routed_scaling = float(_config_value(config, "routed_scaling_factor", 1.0) or 1.0)
        self.gen = None if str(device) == "meta" else torch.Generator(device=device)
        if self.gen is not None:
            self.gen.manual_seed(seed * 1000 + index)
        c = spec.hidden_size
        self.C = c
        self.w: dict[str, Any] = {}
        self._norm_weight("ln1", c)
        self._norm_weight("ln2", c)
        if spec.norm == "layernorm":
            self.notes.append("LayerNorm: torch.nn.functional.layer_norm on both paths")
        if self.layer.norms > 2:
            self.notes.append(f"{self.layer.norms} norms in the block: built as 2 (pre-norm)")
        self.window = att.window
        self.chunk = att.chunk
        if att.kind == "mla":
            self._build_mla()
        else:
            self._build_attention()
        self._build_ffn()
        self._positions: dict[tuple[int, int, int], Any] = {}
        self.last_routing: tuple[Any, Any] | None = None

    # -- weights ----------------------------------------------------------------------------
    def _rand(self, *shape: int, fan_in: int | None = None, dtype: Any = None) -> Any:
        import torch

        t = torch.empty(shape, dtype=dtype or self.dtype, device=self.device)
        std = 1.0 / math.sqrt(fan_in if fan_in else shape[-1])
        t.normal_(0.0, std, generator=self.gen)
        return t

    def _norm_weight(self, name: str, n: int) -> None:
        import torch

        t = torch.empty(n, dtype=self.dtype, device=self.device)
        t.normal_(1.0, 0.1, generator=self.gen)
        self.w[name] = t
        if self.spec.norm_bias or self.spec.norm == "layernorm":
            self.w[name + "_b"] = self._rand(n, fan_in=100)

    def _build_attention(self) -> None:
        att, c = self.att, self.C
        h, g, d, dv = att.num_heads, att.num_kv_heads, att.head_dim, att.v_head_dim
        if h % g:
            raise ValueError(f"{h} query heads do not divide into {g} KV heads")
        self.H, self.G, self.D, self.Dv = h, g, d, dv
        width = h * d + g * d + g * dv + (h * dv if att.output_gate else 0)
        self.w["qkv"] = self._rand(width, c)
        if att.qkv_bias:
            self.w["qkv_b"] = self._rand(width, fan_in=c)
        if att.qk_norm:
            self._norm_weight("q_norm", d)
            self._norm_weight("k_norm", d)
            if not att.qk_norm_per_head:
                self.notes.append("qk-norm over the whole projection: built per head")
        self.w["o"] = self._rand(c, h * dv)
        if att.o_bias:
            self.w["o_b"] = self._rand(c, fan_in=h * dv)
        if att.sinks:
            import torch

            s = torch.empty(h, dtype=torch.float32, device=self.device)
            s.normal_(0.0, 1.0, generator=self.gen)
            self.w["sinks"] = s
        frac = att.rotary_fraction or 1.0
        self.rot_dim = int(d * frac) // 2 * 2 if att.positional == "rope" else 0
        self._rope_setup(self.rot_dim)
        self.neox = True

    def _build_mla(self) -> None:
        att, c = self.att, self.C
        h = att.num_heads
        r, p = att.kv_lora_rank or 0, att.qk_rope_head_dim or 0
        dn = att.qk_nope_head_dim or (att.head_dim - p)
        dv = att.v_head_dim
        self.H, self.R, self.P, self.Dn, self.Dv = h, r, p, dn, dv
        self.D = dn + p
        if att.q_lora_rank:
            self.w["q_a"] = self._rand(att.q_lora_rank, c)
            self._norm_weight("q_a_norm", att.q_lora_rank)
            self.w["q_b"] = self._rand(h * (dn + p), att.q_lora_rank)
        else:
            self.w["q"] = self._rand(h * (dn + p), c)
        self.w["kv_a"] = self._rand(r + p, c)
        self._norm_weight("kv_a_norm", r)
        self.w["kv_b"] = self._rand(h * (dn + dv), r)
        self.w["o"] = self._rand(c, h * dv)
        kv_b = self.w["kv_b"].view(h, dn + dv, r)
        self.w_uk = kv_b[:, :dn]  # [H, Dn, R] view
        self.w_uv = kv_b[:, dn:]  # [H, Dv, R] view
        self.rot_dim = p
        self._rope_setup(p)
        self.neox = False  # DeepSeek's rope pairs (2i, 2i+1)

    def _rope_setup(self, rot_dim: int) -> None:
        import torch

        if rot_dim:
            inv, attn_factor = rope_frequencies(self.att, rot_dim)
            self.inv_freq = torch.tensor(inv, dtype=torch.float32, device=self.device)
        else:
            attn_factor = 1.0
            self.inv_freq = None
        self.sm_scale = softmax_scale(self.att, attn_factor)

    def _build_ffn(self) -> None:
        ffn, c = self.ffn, self.C
        self.moe = ffn.kind == "moe"
        if ffn.kind == "none":
            return
        if ffn.kind == "dense":
            f = ffn.intermediate_size
            if ffn.gated:
                self.w["w13"] = self._rand(2 * f, c)
            else:
                self.w["w1"] = self._rand(f, c)
            self.w["w2"] = self._rand(c, f)
            return
        e, f = ffn.num_experts, ffn.expert_intermediate_size or ffn.intermediate_size
        self.E, self.K, self.F = e, ffn.experts_per_token, f
        if not ffn.gated:
            self.notes.append("ungated experts: built as SwiGLU experts (the fused kernel's form)")
        self.w["router"] = self._rand(e, c)
        self.router_linear_bias = None
        self.correction_bias = None
        if ffn.router == "sigmoid":
            self.correction_bias = self._rand(e, fan_in=100).float()
        elif ffn.router_bias:
            self.router_linear_bias = self._rand(e, fan_in=c)
        self.w["experts_w13"] = self._rand(e, 2 * f, c)
        self.w["experts_w2"] = self._rand(e, c, f)
        if ffn.bias:
            self.notes.append("expert biases not modelled (the fused kernel has none)")
        if ffn.activation not in (None, "silu", "swiglu"):
            self.notes.append(f"expert activation {ffn.activation}: run as SwiGLU")
        fs = ffn.shared_intermediate_size or (ffn.num_shared_experts * f)
        self.Fs = fs if ffn.num_shared_experts or ffn.shared_intermediate_size else 0
        if self.Fs:
            self.w["shared_w13"] = self._rand(2 * self.Fs, c)
            self.w["shared_w2"] = self._rand(c, self.Fs)
            if ffn.shared_expert_gate:
                self.w["shared_gate"] = self._rand(1, c)

    # -- sizes for the roofline ---------------------------------------------------------------
    def weight_bytes(self) -> dict[str, int]:
        """Bytes of the weights by part: 'experts' is all routed experts; the rest is read by
        every token."""
        out = {"dense": 0, "experts": 0}
        for name, t in self.w.items():
            part = "experts" if name.startswith("experts_") else "dense"
            out[part] += t.numel() * t.element_size()
        return out

    def expert_bytes(self) -> int:
        """One routed expert's three matrices."""
        return 3 * self.C * self.F * DTYPE_BYTES[self.dtype_name] if self.moe else 0

    def kv_bytes_per_token(self) -> int:
        e = DTYPE_BYTES[self.dtype_name]
        if self.att.kind == "mla":
            return (self.R + self.P) * e
        return self.G * (self.D + self.Dv) * e

    def linear_flops_per_token(self) -> int:
        """2 × the parameters one token multiplies by (experts: its top-k and the shared)."""
        n = 0
        for name, t in self.w.items():
            if t.dim() < 2 or name.startswith("experts_"):
                continue
            n += t.numel()
        if self.moe:
            n += self.K * 3 * self.C * self.F
        return 2 * n

    # -- cache ----------------------------------------------------------------------------------
    def cache_cap(self, capacity: int) -> int:
        limit = self.window or self.chunk
        return min(capacity, limit) if limit else capacity

    def alloc_cache(self, batch: int, capacity: int, *, measure: bool = False) -> LayerCache:
        import torch

        from archlint.bench.kv import allocated_bytes

        cap = self.cache_cap(capacity)
        shapes: dict[str, tuple[int, ...]] = (
            {"latent": (batch, cap, self.R + self.P)} if self.att.kind == "mla"
            else {"k": (batch, cap, self.G, self.D), "v": (batch, cap, self.G, self.Dv)})

        def make() -> list[Any]:
            return [torch.empty(s, dtype=self.dtype, device=self.device) for s in shapes.values()]

        # Without `measure`, storage sizes suffice (no device synchronisation).
        made, used = allocated_bytes(make, str(self.device) if measure else "cpu")
        tensors = dict(zip(shapes, made, strict=True))
        for t in tensors.values():  # never zeros: a read of an unwritten slot shows up
            t.normal_(0.0, 1.0, generator=self.gen)
        return LayerCache(capacity=capacity, cap=cap, tensors=tensors, bytes=used)

    @staticmethod
    def _store(buf: Any, vals: Any, start: int) -> None:
        """Write positions start..start+n-1 (vals [B, n, ...]) into buf [B, cap, ...] at slot
        p % cap, keeping only the last cap positions (a ring for windows and chunks)."""
        cap, n = buf.shape[1], vals.shape[1]
        keep = min(n, cap)
        first = start + n - keep
        s0 = first % cap
        n1 = min(keep, cap - s0)
        buf[:, s0 : s0 + n1] = vals[:, n - keep : n - keep + n1]
        if keep > n1:
            buf[:, : keep - n1] = vals[:, n - keep + n1 :]

    def _valid(self, cache: LayerCache, pos: int) -> int:
        """Keys a decode query at position `pos` sees once its own key is stored."""
        if self.chunk:
            return pos % self.chunk + 1
        return min(pos + 1, cache.cap)

    def positions(self, batch: int, length: int, start: int) -> Any:
        import torch

        key = (batch, length, start)
        if key not in self._positions:
            self._positions[key] = (
                torch.arange(start, start + length, device=self.device, dtype=torch.int64)
                .repeat(batch)
                .contiguous()
            )
        return self._positions[key]

    def seq_lens(self, batch: int, n: int) -> Any:
        import torch

        key = (batch, -1, n)
        if key not in self._positions:
            self._positions[key] = torch.full((batch,), n, dtype=torch.int32, device=self.device)
        return self._positions[key]

    # -- pieces, per path -----------------------------------------------------------------------
    def _norm(self, x: Any, name: str, path: str, residual: Any = None) -> Any:
        import torch.nn.functional as F

        w = self.w[name]
        if self.spec.norm == "layernorm":
            if residual is not None:
                x = x + residual
            y = F.layer_norm(x, (x.shape[-1],), w, self.w.get(name + "_b"), self.eps)
            return (y, x) if residual is not None else y
        if path == "triton":
            return _kmod("rmsnorm").rmsnorm(x, w, self.eps, residual=residual)
        return _kmod("reference").rmsnorm_ref(x, w, self.eps, residual=residual)

    def _rope(self, q: Any, k: Any, positions: Any, path: str) -> tuple[Any, Any]:
        if self.inv_freq is None:
            return q, k
        if path == "triton":
            out: tuple[Any, Any] = _kmod("rope").rope(q, k, positions, self.inv_freq,
                                                     neox=self.neox)
            return out
        ref = _kmod("reference")
        return (ref.rope_ref(q, positions, self.inv_freq, neox=self.neox),
                ref.rope_ref(k, positions, self.inv_freq, neox=self.neox))

    # standard attention ------------------------------------------------------------------------
    def _attention(self, xn: Any, b: int, n: int, start: int, cache: LayerCache, path: str) -> Any:
        import torch
        import torch.nn.functional as F

        h, g, d, dv = self.H, self.G, self.D, self.Dv
        t = b * n
        qkv = F.linear(xn, self.w["qkv"], self.w.get("qkv_b"))  # [T, width]
        q = qkv[:, : h * d].view(t, h, d)
        k = qkv[:, h * d : h * d + g * d].view(t, g, d)
        v = qkv[:, h * d + g * d : h * d + g * d + g * dv].view(t, g, dv)
        gate = qkv[:, h * d + g * d + g * dv :] if self.att.output_gate else None
        if self.att.qk_norm:
            q = self._norm(q.reshape(t * h, d), "q_norm", path).view(t, h, d)
            k = self._norm(k.reshape(t * g, d), "k_norm", path).view(t, g, d)
        q, k = self._rope(q, k, self.positions(b, n, start), path)
        kc, vc = cache.tensors["k"], cache.tensors["v"]
        self._store(kc, k.view(b, n, g, d), start)
        self._store(vc, v.view(b, n, g, dv), start)
        sinks = self.w.get("sinks")
        softcap = self.att.softcap
        if n == 1:  # decode: attend over the cache
            valid = self._valid(cache, start)
            if path == "triton":
                o = _kmod("attention_decode").decode_attention(
                    q.view(b, h, d), kc.permute(0, 2, 1, 3), vc.permute(0, 2, 1, 3),
                    self.seq_lens(b, valid), sm_scale=self.sm_scale, softcap=softcap,
                    sinks=sinks,
                )
            else:
                o = self._decode_ref(q.view(b, h, d), kc[:, :valid], vc[:, :valid], sinks)
            o = o.reshape(t, h * dv)
        else:
            q4 = q.view(b, n, h, d)
            k4 = k.view(b, n, g, d)
            v4 = v.view(b, n, g, dv)
            out = torch.empty(b, n, h, dv, dtype=xn.dtype, device=xn.device)
            if self.chunk and n > self.chunk:
                if start:
                    raise NotImplementedError("chunked prefill onto a cache")
                for c0 in range(0, n, self.chunk):
                    c1 = min(n, c0 + self.chunk)
                    self._prefill_attn(q4[:, c0:c1], k4[:, c0:c1], v4[:, c0:c1],
                                       out[:, c0:c1], None, sinks, softcap, path)
            else:
                self._prefill_attn(q4, k4, v4, out, self.window, sinks, softcap, path)
            o = out.view(t, h * dv)
        if gate is not None:
            o = o * torch.sigmoid(gate)
        return F.linear(o, self.w["o"], self.w.get("o_b"))

    def _prefill_attn(self, q4: Any, k4: Any, v4: Any, out: Any, window: int | None,
                      sinks: Any, softcap: float | None, path: str) -> None:
        """q4 [B, n, H, D], k4/v4 [B, n, G, D] (token-major views) -> out [B, n, H, Dv]."""
        import torch
        import torch.nn.functional as F

        q, k, v = (x.permute(0, 2, 1, 3) for x in (q4, k4, v4))  # head-major views, no copy
        if path == "triton":
            _kmod("attention_prefill").prefill_attention(
                q, k, v, causal=True, sm_scale=self.sm_scale, window=window, softcap=softcap,
                sinks=sinks, out=out.permute(0, 2, 1, 3),
            )
            return
        n = q.shape[2]
        if sinks is None and softcap is None:
            if window is not None and window < n:
                i = torch.arange(n, device=q.device)
                mask = (i[None, :] <= i[:, None]) & (i[None, :] > i[:, None] - window)
                o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                   scale=self.sm_scale, enable_gqa=True)
            else:
                o = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                   scale=self.sm_scale, enable_gqa=True)
            out.copy_(o.permute(0, 2, 1, 3))
            return
        # sinks / softcap: explicit float32 attention, one sequence at a time (memory)
        b, h, _, d = q.shape
        g = k.shape[1]
        i = torch.arange(n, device=q.device)
        mask = i[None, :] <= i[:, None]
        if window is not None:
            mask &= i[None, :] > i[:, None] - window
        for bi in range(b):
            qg = q[bi].float().view(g, h // g, n, d)
            logits = qg @ k[bi].float()[:, None].transpose(-1, -2) * self.sm_scale
            if softcap is not None:
                logits = softcap * torch.tanh(logits / softcap)
            logits = logits.masked_fill(~mask, float("-inf"))
            p = self._softmax_sinks(logits, sinks, g, h // g)
            o = (p @ v[bi].float()[:, None]).view(h, n, -1)
            out[bi].copy_(o.permute(1, 0, 2))

    @staticmethod
    def _softmax_sinks(logits: Any, sinks: Any, g: int, grp: int) -> Any:
        """Softmax over the last dim with one extra logit per head (dropped after)."""
        import torch

        if sinks is None:
            return torch.softmax(logits, dim=-1)
        shape = list(logits.shape)
        shape[-1] = 1
        sink = sinks.float().view(g, grp, *([1] * (logits.dim() - 2))).expand(shape)
        return torch.softmax(torch.cat([logits, sink], dim=-1), dim=-1)[..., :-1]

    def _decode_ref(self, q: Any, k: Any, v: Any, sinks: Any) -> Any:
        """q [B, H, D]; k/v [B, n, G, D] cache slots -> [B, H, Dv]."""
        import torch
        import torch.nn.functional as F

        b, h, d = q.shape
        g = k.shape[2]
        kt, vt = k.permute(0, 2, 1, 3), v.permute(0, 2, 1, 3)  # [B, G, n, D]
        softcap = self.att.softcap
        if sinks is None and softcap is None:
            o = F.scaled_dot_product_attention(q[:, :, None], kt, vt, scale=self.sm_scale,
                                               enable_gqa=True)
            return o[:, :, 0]
        qg = q.float().view(b, g, h // g, d)
        logits = qg @ kt.float().transpose(-1, -2) * self.sm_scale  # [B, G, grp, n]
        if softcap is not None:
            logits = softcap * torch.tanh(logits / softcap)
        if sinks is not None:
            sink = sinks.float().view(1, g, h // g, 1).expand(b, g, h // g, 1)
            p = torch.softmax(torch.cat([logits, sink], dim=-1), dim=-1)[..., :-1]
        else:
            p = torch.softmax(logits, dim=-1)
        return (p @ vt.float()).view(b, h, -1).to(q.dtype)

    # MLA ----------------------------------------------------------------------------------------
    def _mla(self, xn: Any, b: int, n: int, start: int, cache: LayerCache, path: str) -> Any:
        import torch
        import torch.nn.functional as F

        h, r, p, dn, dv = self.H, self.R, self.P, self.Dn, self.Dv
        t = b * n
        if "q_a" in self.w:
            cq = self._norm(F.linear(xn, self.w["q_a"]), "q_a_norm", path)
            q = F.linear(cq, self.w["q_b"]).view(t, h, dn + p)
        else:
            q = F.linear(xn, self.w["q"]).view(t, h, dn + p)
        ckv = F.linear(xn, self.w["kv_a"])  # [T, R + P]
        c = self._norm(ckv[:, :r], "kv_a_norm", path)  # [T, R]
        q_nope = q[..., :dn]
        q_pe, k_pe = self._rope(q[..., dn:], ckv[:, r:].view(t, 1, p),
                                self.positions(b, n, start), path)
        lat = cache.tensors["latent"]
        self._store(lat[..., :r], c.view(b, n, r), start)
        self._store(lat[..., r:], k_pe.reshape(b, n, p), start)
        if n == 1:
            valid = self._valid(cache, start)
            if path == "triton":
                o = _kmod("mla").mla_decode_absorbed(
                    q_nope.view(b, h, dn), q_pe.view(b, h, p), lat[..., :r], lat[..., r:],
                    self.seq_lens(b, valid), self.w_uk, self.w_uv, sm_scale=self.sm_scale,
                )  # [B, H, Dv]
            else:  # eager: decompress the cached latent into K and V for every head
                cl, kr = lat[:, :valid, :r], lat[:, :valid, r:]
                k_nope = torch.einsum("bsr,hdr->bhsd", cl, self.w_uk)
                vv = torch.einsum("bsr,hdr->bhsd", cl, self.w_uv)
                kk = torch.cat([k_nope, kr[:, None].expand(-1, h, -1, -1)], dim=-1)
                qq = torch.cat([q_nope, q_pe], dim=-1).view(b, h, 1, dn + p)
                o = F.scaled_dot_product_attention(qq, kk, vv, scale=self.sm_scale)[:, :, 0]
            o = o.reshape(t, h * dv)
        else:
            if start:
                raise NotImplementedError("MLA prefill onto a cache")
            qn4 = q_nope.view(b, n, h, dn).permute(0, 2, 1, 3)
            qp4 = q_pe.view(b, n, h, p).permute(0, 2, 1, 3)
            cl = c.view(b, n, r)
            kr = k_pe.reshape(b, n, p)
            if path == "triton":
                o4 = _kmod("mla").mla_prefill(qn4, qp4, cl, kr, self.w_uk, self.w_uv,
                                              sm_scale=self.sm_scale)  # [B, H, n, Dv]
            else:
                k_nope = torch.einsum("bsr,hdr->bhsd", cl, self.w_uk)
                vv = torch.einsum("bsr,hdr->bhsd", cl, self.w_uv)
                kk = torch.cat([k_nope, kr[:, None].expand(-1, h, -1, -1)], dim=-1)
                qq = torch.cat([qn4, qp4], dim=-1)
                o4 = F.scaled_dot_product_attention(qq, kk, vv, is_causal=True,
                                                    scale=self.sm_scale)
            o = o4.permute(0, 2, 1, 3).reshape(t, h * dv)
        return F.linear(o, self.w["o"])

    # FFN ----------------------------------------------------------------------------------------
    def route(self, x: Any) -> tuple[Any, Any]:
        import torch.nn.functional as F

        moe = _kmod("moe")
        ffn = self.ffn
        logits = F.linear(x, self.w["router"], self.router_linear_bias)
        renorm = ffn.norm_topk_prob if ffn.norm_topk_prob is not None else True
        if ffn.router == "sigmoid":
            n_group, topk_group = ffn.grouped_topk or (1, 1)
            w, ids = moe.route_sigmoid_grouped_topk(
                logits, self.K, self.correction_bias, n_group, topk_group,
                renormalize=renorm, scaling=self.routed_scaling,
            )
        else:
            w, ids = moe.route_softmax_topk(logits, self.K, renormalize=renorm)
        return w, ids

    def _ffn(self, x: Any, path: str, routing: tuple[Any, Any] | None) -> Any:
        import torch
        import torch.nn.functional as F

        ffn = self.ffn
        if ffn.kind == "none":
            return torch.zeros_like(x)
        if ffn.kind == "dense":
            if ffn.gated:
                gu = F.linear(x, self.w["w13"])
                f = gu.shape[1] // 2
                hid = F.silu(gu[:, :f]) * gu[:, f:]
            else:
                hid = F.gelu(F.linear(x, self.w["w1"]))
            return F.linear(hid, self.w["w2"])
        w, ids = routing if routing is not None else self.route(x)
        self.last_routing = (w, ids)
        gated_shared = "shared_gate" in self.w
        shared = {}
        if self.Fs and not gated_shared:
            shared = {"shared_w13": self.w["shared_w13"], "shared_w2": self.w["shared_w2"]}
        if path == "triton":
            # fp32 tiles are twice as large: BLOCK_M=128 (chosen for >96 slots per expert, as
            # in a shared expert) fits no config in 228 KB of shared memory; 16 does.
            block_m = 16 if self.dtype_name == "fp32" else None
            y = _kmod("moe").fused_moe(x, self.w["experts_w13"], self.w["experts_w2"], w, ids,
                                       block_m=block_m, **shared)
        else:
            y = _kmod("reference").moe_ref(x, self.w["experts_w13"], self.w["experts_w2"], w,
                                           ids, **shared)
        if gated_shared:
            ref = _kmod("reference")
            s = ref.gated_mlp_ref(x, self.w["shared_w13"], self.w["shared_w2"])
            y = y + torch.sigmoid(F.linear(x, self.w["shared_gate"])) * s
        return y

    # the block ---------------------------------------------------------------------------------
    def forward(self, x: Any, cache: LayerCache, start: int, path: str,
                routing: tuple[Any, Any] | None = None) -> Any:
        """x [B, n, C] at positions start..start+n-1 -> [B, n, C]; writes the cache.
        n > 1: prefill (start must be 0); n == 1: decode against the cache."""
        if path not in ("triton", "torch"):
            raise ValueError(f"path {path!r}: triton or torch")
        b, n, c = x.shape
        x2 = x.reshape(b * n, c)
        xn = self._norm(x2, "ln1", path)
        attn = self._mla if self.att.kind == "mla" else self._attention
        a = attn(xn, b, n, start, cache, path)
        if self.layer.parallel:
            return (x2 + a + self._ffn(xn, path, routing)).view(b, n, c)
        hn, res = self._norm(a, "ln2", path, residual=x2)
        return (res + self._ffn(hn, path, routing)).view(b, n, c)

    def prefill(self, x: Any, cache: LayerCache, path: str,
                routing: tuple[Any, Any] | None = None) -> Any:
        return self.forward(x, cache, 0, path, routing)

    def decode(self, x: Any, cache: LayerCache, pos: int, path: str,
               routing: tuple[Any, Any] | None = None) -> Any:
        """x [B, C]: one new token per sequence at position `pos`."""
        return self.forward(x[:, None], cache, pos, path, routing)[:, 0]

    def random_input(self, *shape: int) -> Any:
        return self._rand(*shape, self.C, fan_in=1)


# ------------------------------------------------------------------------------------------
# checks
# ------------------------------------------------------------------------------------------
def rel_err(out: Any, ref: Any) -> float:
    """‖out − ref‖ / ‖ref‖ in float64; NaN anywhere gives NaN."""
    o, r = out.double(), ref.double()
    if not bool(o.isfinite().all()):
        return float("nan")
    denom = float(r.norm())
    return float((o - r).norm()) / denom if denom else float((o - r).norm())


def check_layer(
    spec: ModelSpec,
    index: int,
    *,
    dtype: str,
    device: str,
    batch: int = 2,
    context: int | None = None,
    seed: int = 0,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Prefill `context` tokens and decode one more on both paths over the same weights; the
    relative errors of the Triton path's outputs and caches against the PyTorch path's.

    The default context makes windows and chunks wrap (window + 64) so the ring buffer is
    exercised; otherwise 192. Routing is pinned to the PyTorch path's choice; how often the
    Triton path would choose differently on its own is reported as `routing_agreement`.
    """
    import torch

    layer = BenchLayer(spec, index, dtype=dtype, device=device, seed=seed, config=config)
    limit = layer.window or layer.chunk
    n = context or ((limit + 64) if limit else 192)
    caches = {p: layer.alloc_cache(batch, n + 1) for p in ("torch", "triton")}
    x = layer.random_input(batch, n)
    xd = layer.random_input(batch)
    out: dict[str, Any] = {"dtype": dtype, "batch": batch, "context": n}
    if dtype == "fp32":
        import os

        # Triton runs fp32 tl.dot in plain tf32 by default (errors ~1e-3 at real sizes).
        # "tf32x3" splits each operand into three tf32 products: fp32-level accuracy on tensor
        # cores (measured on the H100: 2e-7 to 7e-7 for Llama-3.1 and Mixtral layers), where
        # "ieee" FMA dots did not finish compiling in 8 minutes. Only fp32 dots are affected,
        # so the bf16 path that is timed is unchanged. A user's explicit setting wins.
        out["fp32_dot_precision"] = os.environ.setdefault("TRITON_F32_DEFAULT", "tf32x3")
    with torch.no_grad():
        ref_p = layer.prefill(x, caches["torch"], "torch")
        route_p = layer.last_routing
        tri_p = layer.prefill(x, caches["triton"], "triton", routing=route_p)
        ref_d = layer.decode(xd, caches["torch"], n, "torch")
        route_d = layer.last_routing
        tri_d = layer.decode(xd, caches["triton"], n, "triton", routing=route_d)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        out["prefill_rel_err"] = rel_err(tri_p, ref_p)
        out["decode_rel_err"] = rel_err(tri_d, ref_d)
        out["cache_rel_err"] = max(
            rel_err(caches["triton"].tensors[k], caches["torch"].tensors[k])
            for k in caches["torch"].tensors
        )
        if layer.moe and route_p is not None:
            xn = layer._norm(x.reshape(-1, layer.C), "ln1", "triton")
            a = (layer._mla if layer.att.kind == "mla" else layer._attention)(
                xn, batch, n, 0, layer.alloc_cache(batch, n + 1), "triton")
            hn, _ = layer._norm(a, "ln2", "triton", residual=x.reshape(-1, layer.C))
            _, own_ids = layer.route(hn)
            same = (own_ids.sort(-1).values == route_p[1].sort(-1).values).all(-1)
            out["routing_agreement"] = float(same.float().mean())
    del layer, caches
    return out


def check_ok(result: dict[str, Any]) -> bool:
    """fp32: every error < 5e-3 with the kernels' tf32 dots (Triton's default for fp32 on tensor
    cores; measured 2e-4 to 1e-3 at real sizes, growing with the reduction length), < 1e-4 with
    TRITON_F32_DEFAULT=ieee or tf32x3; bf16/fp16: < 2e-2. NaN never passes."""
    if result["dtype"] == "fp32":
        tol = 5e-3 if result.get("fp32_dot_precision", "tf32") == "tf32" else 1e-4
    else:
        tol = 2e-2
    errs = [result[k] for k in ("prefill_rel_err", "decode_rel_err", "cache_rel_err")]
    return all(e == e and e < tol for e in errs)


# ------------------------------------------------------------------------------------------
# timing
# ------------------------------------------------------------------------------------------
def _pairs(length: int, window: int | None, chunk: int | None) -> int:
    """(query, key) pairs a causal prefill of `length` tokens visits."""
    if chunk:
        full, rem = divmod(length, chunk)
        return full * chunk * (chunk + 1) // 2 + rem * (rem + 1) // 2
    if window and window < length:
        w = window
        return w * (w + 1) // 2 + (length - w) * w
    return length * (length + 1) // 2


def _phase_work(layer: BenchLayer, *, batch: int, tokens_per_seq: int, kv_tokens: int,
                decode: bool, experts_touched: int) -> tuple[float, float]:
    """(bytes, FLOPs) of one call: the floor of the roofline.

    Bytes: every non-expert weight once, each touched expert once, and the KV cache
    (decode: read `kv_tokens` per sequence; prefill: written once); activations are left out
    (a prefill is compute-bound; a decode's are KB). FLOPs: 2 × parameters × tokens through
    the linear layers, plus attention 2·pairs·(Dqk + Dv) per head (MLA decode: the absorbed
    form, 2·S·(2R + P) per head; MLA prefill adds the K/V decompression GEMMs).
    """
    wb = layer.weight_bytes()
    t = batch * tokens_per_seq
    bytes_ = wb["dense"] + experts_touched * layer.expert_bytes()
    bytes_ += batch * kv_tokens * layer.kv_bytes_per_token()
    flops = float(layer.linear_flops_per_token() * t)
    h = layer.H
    if layer.att.kind == "mla":
        r, p, dn, dv = layer.R, layer.P, layer.Dn, layer.Dv
        if decode:
            flops += 2.0 * batch * h * kv_tokens * (2 * r + p) + 2.0 * t * h * r * (dn + dv)
        else:
            flops += 2.0 * batch * tokens_per_seq * h * r * (dn + dv)
            flops += 2.0 * batch * h * _pairs(tokens_per_seq, None, None) * (dn + p + dv)
    else:
        per_pair = 2.0 * h * (layer.D + layer.Dv)
        if decode:
            flops += batch * kv_tokens * per_pair
        else:
            flops += batch * _pairs(tokens_per_seq, layer.window, layer.chunk) * per_pair
    return float(bytes_), flops


def _graph_decode(layer: BenchLayer, cache: LayerCache, pos: int, static_x: Any) -> Any:
    """Capture one Triton decode step in a CUDA graph (after warm-up/autotuning)."""
    import torch

    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(2):
            layer.decode(static_x, cache, pos, "triton")
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = layer.decode(static_x, cache, pos, "triton")
    return graph, static_out


def run_layer(
    analysis: Any,
    *,
    layer: int = 0,
    batch: int = 8,
    context: int = 4096,
    dtype: str = "bf16",
    device: str = "cuda",
    check: bool = True,
    reference: bool = True,
    graphs: bool = True,
    budget_s: float = 0.5,
    seed: int = 0,
    peaks: Any = None,
) -> dict[str, Any]:
    """Build layer `layer` of `analysis.spec` at its real size, measure its KV cache against
    the profile, check Triton against PyTorch (fp32, then `dtype`), then time prefill and
    decode on both paths. Returns a JSON-able dict (numbers exact; seconds as floats).

    On a CPU it stops after the checks and the KV cache unless `peaks` (a timing.Peaks) is
    given: then it also times with the host clock (for tests of the plumbing, not numbers)."""
    import torch

    from archlint.bench.timing import measure_peaks, time_fn

    spec: ModelSpec = analysis.spec
    config = getattr(analysis.checkpoint, "config", None)
    prof = analysis.profile
    result: dict[str, Any] = {
        "model": getattr(analysis.checkpoint, "model_id", None),
        "layer": layer,
        "num_layers": spec.num_layers,
        "batch": batch,
        "context": context,
        "dtype": dtype,
        "device": device,
    }
    lspec = spec.layers[layer]
    result["attention"] = {
        k: v for k, v in lspec.attention.model_dump(exclude={"provenance", "linear"}).items()
        if v not in (None, False)
    }
    result["ffn"] = {
        k: v for k, v in lspec.ffn.model_dump(exclude={"provenance"}).items()
        if v not in (None, False, 0)
    }
    on_gpu = device.startswith("cuda")
    if on_gpu:
        torch.cuda.reset_peak_memory_stats(device)
        peaks = peaks or measure_peaks(device)
    if peaks is not None:
        result["peaks"] = peaks.as_dict()

    # 1. correctness, fp32 first, before any speed
    if check:
        checks = []
        for dt in dict.fromkeys(["fp32", dtype]):
            try:
                r = check_layer(spec, layer, dtype=dt, device=device, seed=seed + 1,
                                config=config)
                r["ok"] = check_ok(r)
            except torch.cuda.OutOfMemoryError as exc:
                r = {"dtype": dt, "ok": False, "error": f"out of memory: {exc}"[:300]}
            checks.append(r)
            if on_gpu:
                torch.cuda.empty_cache()
        result["checks"] = checks
        result["correct"] = all(c["ok"] for c in checks)

    # 2. build at the bench dtype, KV cache measured against the prediction
    bl = BenchLayer(spec, layer, dtype=dtype, device=device, seed=seed, config=config)
    result["notes"] = bl.notes
    result["weight_bytes"] = bl.weight_bytes()
    cache = bl.alloc_cache(batch, context, measure=True)
    lkv = prof.kv.per_layer[layer] if layer < len(prof.kv.per_layer) else None
    kv: dict[str, Any] = {"measured_bytes": cache.bytes, "slots": cache.cap,
                          "layout": {k: list(t.shape) for k, t in cache.tensors.items()},
                          "cache_dtype": dtype, "profile_kv_dtype": prof.kv.dtype}
    if lkv is not None:
        tokens = context if lkv.cap_tokens is None else min(context, lkv.cap_tokens)
        pred = round((lkv.bytes_per_token * tokens + lkv.state_bytes) * batch)
        if prof.kv.dtype_bytes != DTYPE_BYTES[dtype]:  # compare like with like
            pred = round(pred * DTYPE_BYTES[dtype] / prof.kv.dtype_bytes)
            kv["note"] = f"prediction rescaled from {prof.kv.dtype} to {dtype}"
        kv["predicted_bytes"] = pred
        kv["kind"] = lkv.kind
        kv["relative_error"] = cache.bytes / pred - 1 if pred else 0.0
        kv["ok"] = abs(kv["relative_error"]) < 0.01
    result["kv"] = kv
    if peaks is None:
        return result
    if check and not result.get("correct"):
        result["timing"] = "skipped: the Triton path does not match the reference"
        return result

    paths = ["triton", "torch"] if reference else ["triton"]

    def phase(name: str, fn: Any, inputs: list[tuple[Any, ...]], tokens: int, seqs: int,
              per_seq: int, kv_tokens: int, decode: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"tokens": tokens}
        touched = 0
        if bl.moe:
            with torch.no_grad():
                fn("triton", *inputs[0])
            touched = int(torch.unique(bl.last_routing[1]).numel())  # type: ignore[index]
            out["experts_touched"] = touched
        nbytes, flops = _phase_work(bl, batch=seqs, tokens_per_seq=per_seq,
                                    kv_tokens=kv_tokens, decode=decode,
                                    experts_touched=touched)
        roof_s = max(nbytes / peaks.copy_bytes_per_s, flops / peaks.bf16_flops)
        out.update(bytes=nbytes, flops=flops, roofline_s=roof_s,
                   bound="memory" if nbytes / peaks.copy_bytes_per_s >= flops / peaks.bf16_flops
                   else "compute")
        for p in paths:
            with torch.no_grad():
                t = time_fn(lambda *a, p=p: fn(p, *a), inputs, budget_s=budget_s,
                            min_runs=3 if name == "prefill" else 10)
            s = t.median_s
            out[p] = {
                **t.as_dict(),
                "tokens_per_s": tokens / s,
                "model_tokens_per_s": tokens / (s * spec.num_layers),
                "gb_per_s": nbytes / s / 1e9,
                "tflop_per_s": flops / s / 1e12,
                "roofline_fraction": roof_s / s,
            }
        if "torch" in out:
            out["speedup"] = out["torch"]["median_s"] / out["triton"]["median_s"]
        return out

    timing: dict[str, Any] = {}
    # prefill: B sequences of L tokens into the cache (two input sets, rotated)
    xs = [(bl.random_input(batch, context),) for _ in range(2)]
    timing["prefill"] = phase(
        "prefill", lambda p, x: bl.prefill(x, cache, p), xs, batch * context, batch, context,
        cache.cap, decode=False,
    )
    del xs
    if on_gpu:
        torch.cuda.empty_cache()
    # decode: one token per sequence at position L-1 against the L-token cache the prefill
    # wrote (a window's ring holds its last W); eight input sets rotated
    pos = context - 1
    valid = bl._valid(cache, pos)
    xd = [(bl.random_input(batch),) for _ in range(8)]
    timing["decode"] = phase(
        "decode", lambda p, x: bl.decode(x, cache, pos, p), xd, batch, batch, 1, valid,
        decode=True,
    )
    timing["decode"]["kv_tokens_read"] = valid
    if graphs and on_gpu:
        try:
            static_x = xd[0][0].clone()
            with torch.no_grad():
                graph, _ = _graph_decode(bl, cache, pos, static_x)

            def replay(x: Any) -> None:
                static_x.copy_(x)
                graph.replay()

            t = time_fn(replay, xd, budget_s=budget_s, min_runs=20)
            d = timing["decode"]
            d["triton_graph"] = {
                **t.as_dict(),
                "tokens_per_s": batch / t.median_s,
                "model_tokens_per_s": batch / (t.median_s * spec.num_layers),
                "gb_per_s": d["bytes"] / t.median_s / 1e9,
                "tflop_per_s": d["flops"] / t.median_s / 1e12,
                "roofline_fraction": d["roofline_s"] / t.median_s,
            }
            if "torch" in d:
                d["speedup_graph"] = d["torch"]["median_s"] / t.median_s
        except Exception as exc:  # graph capture is best effort; eager numbers stand
            timing["decode"]["triton_graph"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    result["timing"] = timing
    bl = cache = None  # type: ignore[assignment]  # free the layer before the next one
    if on_gpu:
        result["max_memory_allocated"] = int(torch.cuda.max_memory_allocated(device))
        torch.cuda.empty_cache()
    return result


__all__ = ["BenchLayer", "LayerCache", "check_layer", "rel_err", "rope_frequencies", "run_layer"]
