"""Token mixers with softmax attention, as parts of a bench layer: standard attention and MLA.

`Attention` covers MHA/GQA/MQA (K/V heads shared by index, never repeated), sliding windows
(a ring buffer of the window), Llama 4's chunked attention (attend within the current chunk;
the cache holds one chunk), gpt-oss's sinks, Gemma-2's softcap, qk-norm, partial rotary, RoPE
scaled as configured, Qwen3-Next's output gate (q_proj also emits a sigmoid gate on the
attention output), cross-attention to encoder tokens (`source="encoder"`: K/V of the E encoder
tokens written once at prefill, every decoder token attends to all of them) and KV sharing
(`kv_shared_from`: no k/v projections and no cache of its own; it reads the K/V a producer
layer wrote, as Gemma-3n and CLA do).

`MLA` is DeepSeek-V2/V3's multi-head latent attention: the latent cache, absorbed decode
(W_UK folded into the query, W_UV after) and decompressed prefill.

Each part's `forward(xn, step, cache, ops)` takes the normed input [T, C] and returns its
output [T, C]; `ops` (backends.py) is the only thing that differs between the two paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archlint.bench.cache import Init, LayerCache, store
from archlint.bench.modelmath import attention_pairs, rope_frequencies, softmax_scale
from archlint.spec import AttentionSpec


@dataclass
class Step:
    """One call: `n` tokens of `b` sequences at positions start..start+n-1. `memo` caches the
    small index tensors across calls (positions, sequence lengths) so that timed calls
    allocate nothing new and a CUDA graph can capture them."""

    b: int
    n: int
    start: int
    device: Any
    memo: dict[tuple[Any, ...], Any]

    @property
    def tokens(self) -> int:
        return self.b * self.n

    def positions(self) -> Any:
        import torch

        key = ("pos", self.b, self.n, self.start)
        if key not in self.memo:
            self.memo[key] = (torch.arange(self.start, self.start + self.n, device=self.device,
                                           dtype=torch.int64).repeat(self.b).contiguous())
        return self.memo[key]

    def lens(self, valid: int) -> Any:
        import torch

        key = ("lens", self.b, valid)
        if key not in self.memo:
            self.memo[key] = torch.full((self.b,), valid, dtype=torch.int32, device=self.device)
        return self.memo[key]


class Rotary:
    """RoPE of a layer: inv_freq for its rotated dims, the softmax scale with the YaRN factor."""

    def __init__(self, att: AttentionSpec, rot_dim: int, device: Any, *, neox: bool) -> None:
        import torch

        self.neox = neox
        if rot_dim:
            inv, attn_factor = rope_frequencies(att, rot_dim)
            self.inv_freq = torch.tensor(inv, dtype=torch.float32, device=device)
        else:
            attn_factor = 1.0
            self.inv_freq = None
        self.sm_scale = softmax_scale(att, attn_factor)

    def __call__(self, q: Any, k: Any, positions: Any, ops: Any) -> tuple[Any, Any]:
        if self.inv_freq is None:
            return q, k
        return ops.rope(q, k, positions, self.inv_freq, self.neox)  # type: ignore[no-any-return]


class Attention:
    """MHA/GQA/MQA with every variant above; weights qkv [(H + 2G)·D (+ H·Dv gate), C], o."""

    def __init__(self, init: Init, att: AttentionSpec, hidden: int, *, eps: float,
                 encoder_tokens: int = 0) -> None:
        h, g, d, dv = att.num_heads, att.num_kv_heads, att.head_dim, att.v_head_dim
        if h % g:
            raise ValueError(f"{h} query heads do not divide into {g} KV heads")
        self.att, self.eps = att, eps
        self.H, self.G, self.D, self.Dv = h, g, d, dv
        self.window, self.chunk = att.window, att.chunk
        self.cross = att.source == "encoder"
        self.shared = att.kv_shared_from is not None
        self.encoder_tokens = encoder_tokens
        self.kv_width = 0 if self.shared else g * d + g * dv
        self.gate_width = h * dv if att.output_gate else 0
        width = h * d + self.kv_width + self.gate_width
        if self.cross:  # queries from the decoder, keys/values from the encoder states
            init.param("q", h * d + self.gate_width, hidden)
            init.param("kv", self.kv_width, hidden)
        else:
            init.param("qkv", width, hidden)
            if att.qkv_bias:
                init.param("qkv_b", width, fan_in=hidden)
        if att.qk_norm:
            init.norm("q_norm", d)
            init.norm("k_norm", d)
        init.param("o", hidden, h * dv)
        if att.o_bias:
            init.param("o_b", hidden, fan_in=h * dv)
        if att.sinks:
            import torch

            init.param("sinks", h, fan_in=1, dtype=torch.float32)
        self.w = init.w
        frac = att.rotary_fraction or 1.0
        rot = int(d * frac) // 2 * 2 if att.positional == "rope" and not self.cross else 0
        self.rotary = Rotary(att, rot, init.device, neox=True)
        self.notes: list[str] = []
        if att.qk_norm and not att.qk_norm_per_head:
            self.notes.append("qk-norm over the whole projection: built per head")
        if self.shared:
            self.notes.append(f"K/V read from layer {att.kv_shared_from}'s cache (random "
                              "contents standing in for what that layer wrote)")
        if self.cross:
            self.notes.append(f"cross-attention over {encoder_tokens} encoder tokens "
                              "(random encoder states); gates on the sub-layers not modelled")

    # -- cache ------------------------------------------------------------------------------
    def cap(self, capacity: int) -> int:
        if self.cross:
            return self.encoder_tokens
        limit = self.window or self.chunk
        return min(capacity, limit) if limit else capacity

    def cache_shapes(self, batch: int, capacity: int, dtype: Any, state_dtype: Any
                     ) -> dict[str, tuple[tuple[int, ...], Any]]:
        if self.shared:
            return {}
        cap = self.cap(capacity)
        return {"k": ((batch, cap, self.G, self.D), dtype),
                "v": ((batch, cap, self.G, self.Dv), dtype)}

    def borrowed_shapes(self, batch: int, capacity: int, dtype: Any
                        ) -> dict[str, tuple[tuple[int, ...], Any]]:
        """The producer layer's K/V a shared layer reads (not counted as its own)."""
        if not self.shared:
            return {}
        return {"k": ((batch, capacity, self.G, self.D), dtype),
                "v": ((batch, capacity, self.G, self.Dv), dtype)}

    def kv_bytes_per_token(self, elem: int) -> int:
        return 0 if self.shared or self.cross else self.G * (self.D + self.Dv) * elem

    def valid(self, cache: LayerCache, pos: int) -> int:
        """Keys a decode query at position `pos` sees once its own key is stored."""
        if self.cross:
            return self.encoder_tokens
        if self.chunk:
            return pos % self.chunk + 1
        return min(pos + 1, cache.cap)

    # -- work -------------------------------------------------------------------------------
    def attention_flops(self, batch: int, tokens: int, kv_tokens: int, decode: bool) -> float:
        per_pair = 2.0 * self.H * (self.D + self.Dv)
        if decode:
            return batch * kv_tokens * per_pair
        if self.cross:
            return batch * tokens * self.encoder_tokens * per_pair
        return batch * attention_pairs(tokens, tokens, window=self.window,
                                       chunk=self.chunk) * per_pair

    def kv_read_tokens(self, cache: LayerCache, pos: int) -> int:
        return self.valid(cache, pos)

    # -- forward ----------------------------------------------------------------------------
    def _project(self, xn: Any, step: Step, ops: Any, encoder: Any) -> tuple[Any, ...]:
        import torch.nn.functional as F

        h, g, d, dv, t = self.H, self.G, self.D, self.Dv, step.tokens
        if self.cross:
            qg = F.linear(xn, self.w["q"])
            q, gate = qg[:, : h * d], (qg[:, h * d :] if self.gate_width else None)
            k = v = None
            if step.start == 0:  # the encoder's K/V, once per input
                kv = F.linear(encoder.reshape(-1, encoder.shape[-1]), self.w["kv"])
                e = encoder.shape[1]
                k = kv[:, : g * d].reshape(step.b * e, g, d)
                v = kv[:, g * d :].reshape(step.b, e, g, dv)
            return q.reshape(t, h, d), k, v, gate
        qkv = F.linear(xn, self.w["qkv"], self.w.get("qkv_b"))  # [T, width]
        q = qkv[:, : h * d].view(t, h, d)
        k = v = None
        if not self.shared:
            k = qkv[:, h * d : h * d + g * d].view(t, g, d)
            v = qkv[:, h * d + g * d : h * d + self.kv_width].view(step.b, step.n, g, dv)
        gate = qkv[:, h * d + self.kv_width :] if self.gate_width else None
        return q, k, v, gate

    def forward(self, xn: Any, step: Step, cache: LayerCache, ops: Any,
                encoder: Any = None) -> Any:
        import torch
        import torch.nn.functional as F

        h, g, d, dv = self.H, self.G, self.D, self.Dv
        b, n, t = step.b, step.n, step.tokens
        q, k, v, gate = self._project(xn, step, ops, encoder)
        if self.att.qk_norm:
            q = ops.rmsnorm(q.reshape(t * h, d), self.w["q_norm"], self.eps).view(t, h, d)
            if k is not None:
                k = ops.rmsnorm(k.reshape(-1, d), self.w["k_norm"], self.eps).view(-1, g, d)
        if self.cross:
            kc, vc = cache.tensors["k"], cache.tensors["v"]
            if k is not None:
                kc.copy_(k.view(b, -1, g, d))
                vc.copy_(v)
        else:
            if k is not None:
                q, k = self.rotary(q, k, step.positions(), ops)
            else:
                q, _ = self.rotary(q, q[:, :1], step.positions(), ops)
            src = cache.borrowed if self.shared else cache.tensors
            kc, vc = src["k"], src["v"]
            if k is not None:
                store(kc, k.view(b, n, g, d), step.start)
                store(vc, v, step.start)
        sinks, softcap, scale = self.w.get("sinks"), self.att.softcap, self.rotary.sm_scale
        if n == 1:  # decode: attend over the cache
            valid = self.valid(cache, step.start)
            o = ops.decode_attention(q.view(b, h, d), kc, vc, valid, step.lens(valid),
                                     scale=scale, sinks=sinks, softcap=softcap)
            o = o.reshape(t, h * dv)
        else:
            out = torch.empty(b, n, h, dv, dtype=xn.dtype, device=xn.device)
            q4 = q.view(b, n, h, d)
            if self.cross:
                ops.prefill_attention(q4, kc, vc, out, scale=scale, causal=False,
                                      sinks=sinks, softcap=softcap)
            elif self.chunk and n > self.chunk:
                if step.start:
                    raise NotImplementedError("chunked prefill onto a cache")
                k4 = k.view(b, n, g, d) if k is not None else kc[:, :n]
                v4 = v if v is not None else vc[:, :n]
                for c0 in range(0, n, self.chunk):
                    c1 = min(n, c0 + self.chunk)
                    ops.prefill_attention(q4[:, c0:c1], k4[:, c0:c1], v4[:, c0:c1],
                                          out[:, c0:c1], scale=scale, sinks=sinks,
                                          softcap=softcap)
            else:
                if step.start:
                    raise NotImplementedError("prefill onto a cache")
                k4 = k.view(b, n, g, d) if k is not None else kc[:, :n]
                v4 = v if v is not None else vc[:, :n]
                ops.prefill_attention(q4, k4, v4, out, scale=scale, window=self.window,
                                      sinks=sinks, softcap=softcap)
            o = out.view(t, h * dv)
        if gate is not None:
            o = o * torch.sigmoid(gate)
        return F.linear(o, self.w["o"], self.w.get("o_b"))


class MLA:
    """DeepSeek's MLA: q (optionally through a q_lora rank), kv_a to the latent [R + P] (the
    rope key P shared by all heads), kv_b per head, o; DeepSeek's rope pairs (2i, 2i+1)."""

    def __init__(self, init: Init, att: AttentionSpec, hidden: int, *, eps: float) -> None:
        h = att.num_heads
        r, p = att.kv_lora_rank or 0, att.qk_rope_head_dim or 0
        dn = att.qk_nope_head_dim or (att.head_dim - p)
        dv = att.v_head_dim
        self.att, self.eps = att, eps
        self.H, self.R, self.P, self.Dn, self.Dv = h, r, p, dn, dv
        self.D = dn + p
        self.window = self.chunk = None
        if att.q_lora_rank:
            init.param("q_a", att.q_lora_rank, hidden)
            init.norm("q_a_norm", att.q_lora_rank)
            init.param("q_b", h * (dn + p), att.q_lora_rank)
        else:
            init.param("q", h * (dn + p), hidden)
        init.param("kv_a", r + p, hidden)
        init.norm("kv_a_norm", r)
        init.param("kv_b", h * (dn + dv), r)
        init.param("o", hidden, h * dv)
        self.w = init.w
        kv_b = self.w["kv_b"].view(h, dn + dv, r)
        self.w_uk = kv_b[:, :dn]  # [H, Dn, R] view
        self.w_uv = kv_b[:, dn:]  # [H, Dv, R] view
        self.rotary = Rotary(att, p, init.device, neox=False)
        self.notes: list[str] = []

    def cap(self, capacity: int) -> int:
        return capacity

    def cache_shapes(self, batch: int, capacity: int, dtype: Any, state_dtype: Any
                     ) -> dict[str, tuple[tuple[int, ...], Any]]:
        return {"latent": ((batch, capacity, self.R + self.P), dtype)}

    def borrowed_shapes(self, batch: int, capacity: int, dtype: Any) -> dict[str, Any]:
        return {}

    def kv_bytes_per_token(self, elem: int) -> int:
        return (self.R + self.P) * elem

    def valid(self, cache: LayerCache, pos: int) -> int:
        return min(pos + 1, cache.cap)

    def attention_flops(self, batch: int, tokens: int, kv_tokens: int, decode: bool) -> float:
        """Decode in the absorbed form (2·S·(2R + P) per head plus the absorption GEMMs);
        prefill adds the K/V decompression GEMMs to the attention over Dn + P and Dv."""
        h, r, p, dn, dv = self.H, self.R, self.P, self.Dn, self.Dv
        t = batch * tokens
        if decode:
            return 2.0 * batch * h * kv_tokens * (2 * r + p) + 2.0 * t * h * r * (dn + dv)
        return (2.0 * t * h * r * (dn + dv)
                + 2.0 * batch * h * attention_pairs(tokens, tokens) * (dn + p + dv))

    def kv_read_tokens(self, cache: LayerCache, pos: int) -> int:
        return self.valid(cache, pos)

    def forward(self, xn: Any, step: Step, cache: LayerCache, ops: Any,
                encoder: Any = None) -> Any:
        import torch.nn.functional as F

        h, r, p, dn, dv = self.H, self.R, self.P, self.Dn, self.Dv
        b, n, t = step.b, step.n, step.tokens
        if "q_a" in self.w:
            cq = ops.rmsnorm(F.linear(xn, self.w["q_a"]), self.w["q_a_norm"], self.eps)
            q = F.linear(cq, self.w["q_b"]).view(t, h, dn + p)
        else:
            q = F.linear(xn, self.w["q"]).view(t, h, dn + p)
        ckv = F.linear(xn, self.w["kv_a"])  # [T, R + P]
        c = ops.rmsnorm(ckv[:, :r], self.w["kv_a_norm"], self.eps)  # [T, R]
        q_nope = q[..., :dn]
        q_pe, k_pe = self.rotary(q[..., dn:], ckv[:, r:].view(t, 1, p), step.positions(), ops)
        lat = cache.tensors["latent"]
        store(lat[..., :r], c.view(b, n, r), step.start)
        store(lat[..., r:], k_pe.reshape(b, n, p), step.start)
        scale = self.rotary.sm_scale
        if n == 1:
            valid = self.valid(cache, step.start)
            o = ops.mla_decode(q_nope.view(b, h, dn), q_pe.view(b, h, p), lat, r, valid,
                               step.lens(valid), self.w_uk, self.w_uv, scale=scale)
            o = o.reshape(t, h * dv)
        else:
            if step.start:
                raise NotImplementedError("MLA prefill onto a cache")
            qn4 = q_nope.view(b, n, h, dn).permute(0, 2, 1, 3)
            qp4 = q_pe.view(b, n, h, p).permute(0, 2, 1, 3)
            o4 = ops.mla_prefill(qn4, qp4, c.view(b, n, r), k_pe.reshape(b, n, p), self.w_uk,
                                 self.w_uv, scale=scale)  # [B, H, n, Dv]
            o = o4.permute(0, 2, 1, 3).reshape(t, h * dv)
        return F.linear(o, self.w["o"])
