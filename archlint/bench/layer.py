"""One decoder layer of a model at its real dimensions, built from its LayerSpec.

`BenchLayer(spec, index)` is a pre-norm block of two parts on a swappable backend:
    h   = x + Mixer(Norm(x))            (`parallel` blocks feed both parts the same norm)
    out = h + FFN(Norm(h))              (no FFN: out = h, as in Mamba stacks)
The mixer is one of attention.py's `Attention` (MHA/GQA/MQA, windows, chunks, sinks, softcap,
output gate, cross-attention, KV sharing) or `MLA`, or recurrent.py's `Mamba2` or
`GatedDeltaNet`; the FFN is ffn.py's `DenseFFN`, `MoE` or none. `forward(x, cache, start,
path)` runs it with the ops of `path` (backends.py: "triton" or "torch") over the same weights.

Dimension letters (kernels/reference.py's): B batch, L/S sequence, T = B·L tokens, C hidden,
H query heads, G KV heads, D head dim (qk), Dv value head dim, R MLA latent rank, P rope dim,
E experts, K top-k, F expert width.
"""

from __future__ import annotations

from typing import Any

from archlint.bench.attention import MLA, Attention, Step
from archlint.bench.backends import BACKENDS, Ops, backend
from archlint.bench.cache import Init, LayerCache, allocate, store
from archlint.bench.ffn import DenseFFN, MoE, NoFFN
from archlint.bench.modelmath import config_value
from archlint.bench.recurrent import RECURRENT
from archlint.dtypes import named_dtype_bytes, torch_name
from archlint.spec import AttentionSpec, FFNSpec, LayerSpec, ModelSpec

#: the dtypes a layer runs in (archlint.dtypes names them for torch)
DTYPES = ("bf16", "fp16", "fp32")
DTYPE_BYTES = {name: int(named_dtype_bytes(name)) for name in DTYPES}

#: Encoder tokens a cross-attention layer attends to when the caller names none: one
#: 448-pixel image tile of Llama-3.2-Vision (1601 patches with the class token).
ENCODER_TOKENS = 1601


def torch_dtype(name: str) -> Any:
    import torch

    if name not in DTYPES:
        raise ValueError(f"dtype {name!r}: the layer runs in one of {sorted(DTYPES)}")
    return getattr(torch, torch_name(name))


def build_mixer(init: Init, spec: ModelSpec, att: AttentionSpec, *, eps: float,
                encoder_tokens: int, config: dict[str, Any] | None) -> Any:
    if att.kind == "linear":
        lin = att.linear
        variant = lin.variant if lin else "?"
        if lin is None or variant not in RECURRENT:
            raise NotImplementedError(
                f"a {variant} layer: no kernel for it yet (benchable constant-state mixers: "
                f"{', '.join(sorted(RECURRENT))}); pick another layer with --layer")
        if variant == "mamba2":
            return RECURRENT[variant](init, lin, spec.hidden_size, eps=eps,
                                      chunk_size=int(config_value(config, "chunk_size", 256)))
        return RECURRENT[variant](init, lin, spec.hidden_size, eps=eps)
    if att.kind == "none":
        raise NotImplementedError("the layer has no token mixer")
    if att.kind == "mla":
        return MLA(init, att, spec.hidden_size, eps=eps)
    return Attention(init, att, spec.hidden_size, eps=eps, encoder_tokens=encoder_tokens)


def build_ffn(init: Init, ffn: FFNSpec, hidden: int, *, fp32: bool,
              config: dict[str, Any] | None) -> Any:
    if ffn.kind == "none":
        return NoFFN()
    if ffn.kind == "dense":
        return DenseFFN(init, ffn, hidden)
    limit = config_value(config, "swiglu_limit", None)
    return MoE(init, ffn, hidden,
               routed_scaling=float(config_value(config, "routed_scaling_factor", 1.0) or 1.0),
               swiglu_limit=float(limit) if limit else None, fp32=fp32)


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
        state_dtype: str | None = None,
        encoder_tokens: int | None = None,
    ) -> None:
        if not 0 <= index < len(spec.layers):
            raise ValueError(f"layer {index} out of range: the model has {len(spec.layers)}")
        if spec.architecture != "decoder":
            raise NotImplementedError("only decoder layers are benchmarked")
        self.spec, self.index = spec, index
        self.layer: LayerSpec = spec.layers[index]
        self.att: AttentionSpec = self.layer.attention
        self.ffn_spec: FFNSpec = self.layer.ffn
        self.dtype_name = dtype
        self.dtype = torch_dtype(dtype)
        self.state_dtype = torch_dtype(state_dtype or dtype)
        self.device = device
        self.C = spec.hidden_size
        self.eps = spec.norm_eps or 1e-5  # the spec's (declared or transformers' default)
        init = Init(self.dtype, device, seed * 1000 + index,
                    norm_bias=spec.norm_bias or spec.norm == "layernorm")
        self.gen = init.gen
        self.w = init.w
        self.notes: list[str] = []
        init.norm("ln1", self.C)
        if self.ffn_spec.kind != "none":
            init.norm("ln2", self.C)
        if spec.norm == "layernorm":
            self.notes.append("LayerNorm: torch.nn.functional.layer_norm on both paths")
        if self.layer.norms > 2:
            self.notes.append(f"{self.layer.norms} norms in the block: built as 2 (pre-norm)")
        self.mixer = build_mixer(init, spec, self.att, eps=self.eps,
                                 encoder_tokens=encoder_tokens or ENCODER_TOKENS, config=config)
        self.ffn = build_ffn(init, self.ffn_spec, self.C, fp32=dtype == "fp32", config=config)
        self.notes += self.mixer.notes + self.ffn.notes
        self.moe = self.ffn.moe
        self.window, self.chunk = self.mixer.window, self.mixer.chunk
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._ops: dict[str, Ops] = {name: backend(name) for name in BACKENDS}

    @property
    def last_routing(self) -> tuple[Any, Any] | None:
        return getattr(self.ffn, "last_routing", None)

    # -- sizes for the roofline -------------------------------------------------------------
    def weight_bytes(self) -> dict[str, int]:
        """Bytes of the weights by part: 'experts' is all routed experts; the rest is read by
        every token."""
        out = {"dense": 0, "experts": 0}
        for name, t in self.w.items():
            out["experts" if name.startswith("experts_") else "dense"] += (
                t.numel() * t.element_size())
        return out

    def expert_bytes(self) -> int:
        return self.ffn.expert_bytes(DTYPE_BYTES[self.dtype_name]) if self.moe else 0

    def kv_bytes_per_token(self) -> int:
        return int(self.mixer.kv_bytes_per_token(DTYPE_BYTES[self.dtype_name]))

    def linear_flops_per_token(self) -> int:
        """2 × the parameters one token multiplies by (experts: its top-k and the shared;
        a cross-attention layer's K/V projection runs on encoder tokens, not these)."""
        n = sum(t.numel() for name, t in self.w.items()
                if t.dim() >= 2 and not name.startswith("experts_") and name != "kv")
        return 2 * (n + self.ffn.routed_params_per_token())

    # -- cache ------------------------------------------------------------------------------
    def cache_cap(self, capacity: int) -> int:
        return int(self.mixer.cap(capacity))

    def alloc_cache(self, batch: int, capacity: int, *, measure: bool = False) -> LayerCache:
        """The layer's own cache, its bytes from the allocator when `measure` (else storage
        sizes, no device synchronisation); a KV-shared layer's borrowed K/V is made once per
        shape and shared by every cache of this layer (both paths read the same keys)."""
        shapes = self.mixer.cache_shapes(batch, capacity, self.dtype, self.state_dtype)
        tensors, used = allocate(shapes, self.device, self.gen, measure=measure)
        cache = LayerCache(capacity=capacity, cap=self.cache_cap(capacity), tensors=tensors,
                           bytes=used)
        borrowed = self.mixer.borrowed_shapes(batch, capacity, self.dtype)
        if borrowed:
            key = ("borrowed", batch, capacity)
            if key not in self._memo:
                self._memo[key] = allocate(borrowed, self.device, self.gen, measure=False)[0]
            cache.borrowed = self._memo[key]
        return cache

    store = staticmethod(store)
    _store = staticmethod(store)  # the name the tests use

    def valid(self, cache: LayerCache, pos: int) -> int:
        return int(self.mixer.valid(cache, pos))

    _valid = valid

    def encoder_states(self, batch: int) -> Any:
        """Random encoder outputs [B, E, C] for a cross-attention layer (one set per batch)."""
        if not getattr(self.mixer, "cross", False):
            return None
        key = ("encoder", batch)
        if key not in self._memo:
            self._memo[key] = Init(self.dtype, self.device, 7, norm_bias=False).rand(
                batch, self.mixer.encoder_tokens, self.C, fan_in=1)
        return self._memo[key]

    # -- the block --------------------------------------------------------------------------
    def norm(self, name: str, x: Any, ops: Ops, residual: Any = None) -> Any:
        import torch.nn.functional as F

        w = self.w[name]
        if self.spec.norm == "layernorm":
            if residual is not None:
                x = x + residual
            y = F.layer_norm(x, (x.shape[-1],), w, self.w.get(name + "_b"), self.eps)
            return (y, x) if residual is not None else y
        return ops.rmsnorm(x, w, self.eps, residual=residual)

    def step(self, b: int, n: int, start: int) -> Step:
        return Step(b, n, start, self.device, self._memo)

    def forward(self, x: Any, cache: LayerCache, start: int, path: str,
                routing: tuple[Any, Any] | None = None) -> Any:
        """x [B, n, C] at positions start..start+n-1 -> [B, n, C]; writes the cache.
        n > 1: prefill (start must be 0); n == 1: decode against the cache."""
        if path not in self._ops:
            raise ValueError(f"path {path!r}: triton or torch")
        ops = self._ops[path]
        b, n, c = x.shape
        x2 = x.reshape(b * n, c)
        xn = self.norm("ln1", x2, ops)
        a = self.mixer.forward(xn, self.step(b, n, start), cache, ops, self.encoder_states(b))
        if isinstance(self.ffn, NoFFN):
            return (x2 + a).view(b, n, c)
        if self.layer.parallel:
            return (x2 + a + self.ffn.forward(xn, ops, routing)).view(b, n, c)
        hn, res = self.norm("ln2", a, ops, residual=x2)
        return (res + self.ffn.forward(hn, ops, routing)).view(b, n, c)

    def prefill(self, x: Any, cache: LayerCache, path: str,
                routing: tuple[Any, Any] | None = None) -> Any:
        return self.forward(x, cache, 0, path, routing)

    def decode(self, x: Any, cache: LayerCache, pos: int, path: str,
               routing: tuple[Any, Any] | None = None) -> Any:
        """x [B, C]: one new token per sequence at position `pos`."""
        return self.forward(x[:, None], cache, pos, path, routing)[:, 0]

    def own_routing(self, x: Any, path: str) -> Any:
        """The experts `path` would choose on its own for a prefill of x [B, n, C]."""
        b, n, c = x.shape
        ops = self._ops[path]
        x2 = x.reshape(-1, c)
        a = self.mixer.forward(self.norm("ln1", x2, ops), self.step(b, n, 0),
                               self.alloc_cache(b, n + 1), ops, self.encoder_states(b))
        hn, _ = self.norm("ln2", a, ops, residual=x2)
        return self.ffn.route(hn)[1]

    def random_input(self, *shape: int) -> Any:
        import torch

        t = torch.empty(*shape, self.C, dtype=self.dtype, device=self.device)
        return t.normal_(0.0, 1.0, generator=self.gen)

    # -- the floor of one call --------------------------------------------------------------
    def cache_traffic(self, cache: LayerCache, batch: int, tokens: int, pos: int,
                      decode: bool) -> float:
        """Bytes of the cache one call moves: a decode reads what it attends to (or reads
        and writes the recurrent state); a prefill writes its slots (the state once)."""
        m = self.mixer
        if isinstance(m, tuple(RECURRENT.values())):
            return float(m.state_bytes(cache) * (2 if decode else 1))
        elem = DTYPE_BYTES[self.dtype_name]
        per_token = (m.R + m.P) * elem if isinstance(m, MLA) else m.G * (m.D + m.Dv) * elem
        if decode:
            return float(batch * self.valid(cache, pos) * per_token)
        if getattr(m, "shared", False):  # reads the producer's keys for these positions
            return float(batch * tokens * per_token)
        return float(batch * cache.cap * per_token)

    def mixer_flops(self, batch: int, tokens: int, kv_tokens: int, decode: bool) -> float:
        m = self.mixer
        if isinstance(m, tuple(RECURRENT.values())):
            return float(m.flops(batch, tokens))
        flops = float(m.attention_flops(batch, tokens, kv_tokens, decode))
        if getattr(m, "cross", False) and not decode:  # the encoder's K/V projection
            flops += 2.0 * batch * m.encoder_tokens * self.w["kv"].numel()
        return flops


__all__ = ["DTYPES", "DTYPE_BYTES", "BenchLayer", "LayerCache", "torch_dtype"]
