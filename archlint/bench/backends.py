"""The two ways a bench layer computes: the Triton kernels, or eager PyTorch as a user writes it.

A layer's parts (attention, MLA, FFN, MoE, recurrent mixers) call one `Ops` object for every
step whose implementation differs between the two; everything else (projections through
cuBLAS, routing, the cache writes) is the same torch code on both. Swapping the object swaps the
path, so the two are compared on the same weights with nothing else changed.

- `TritonOps`: archlint.kernels (RMSNorm, RoPE, flash prefill, split-KV decode, MLA absorbed
  decode and decompressed prefill, fused MoE, the Mamba-2 chunked scan, the gated delta rule).
- `TorchOps`: RMSNorm/RoPE in float32 ops, SDPA (GQA without repeat) or explicit attention
  where SDPA cannot express sinks/softcap, MLA by decompressing K and V from the latent, MoE as
  a loop over experts, the SSD scan as chunked einsums, the delta rule as a loop over tokens.

Tensor layouts (kernels/reference.py's letters): token-major q4 [B, n, H, D] and k4/v4
[B, S, G, D] for prefill; q [B, H, D] against cache slots [B, cap, G, D] for decode.
"""

from __future__ import annotations

from typing import Any

from archlint.bench.kernelmods import kernel_module


class Ops:
    """What differs between the paths. `name` is "triton" or "torch"."""

    name = ""

    def rmsnorm(self, x: Any, w: Any, eps: float, residual: Any = None) -> Any:
        raise NotImplementedError

    def rope(self, q: Any, k: Any, positions: Any, inv_freq: Any, neox: bool) -> tuple[Any, Any]:
        raise NotImplementedError

    def prefill_attention(self, q4: Any, k4: Any, v4: Any, out: Any, *, scale: float,
                          causal: bool = True, window: int | None = None, sinks: Any = None,
                          softcap: float | None = None) -> None:
        """Writes out [B, n, H, Dv] (a token-major view)."""
        raise NotImplementedError

    def decode_attention(self, q: Any, kc: Any, vc: Any, valid: int, lens: Any, *,
                         scale: float, sinks: Any = None, softcap: float | None = None) -> Any:
        """q [B, H, D] against the first `valid` slots of kc/vc [B, cap, G, D] -> [B, H, Dv].
        `lens` is the same count as a [B] int32 tensor (what the kernel reads)."""
        raise NotImplementedError

    def mla_decode(self, q_nope: Any, q_pe: Any, latent: Any, rank: int, valid: int, lens: Any,
                   w_uk: Any, w_uv: Any, *, scale: float) -> Any:
        raise NotImplementedError

    def mla_prefill(self, qn4: Any, qp4: Any, cl: Any, kr: Any, w_uk: Any, w_uv: Any, *,
                    scale: float) -> Any:
        raise NotImplementedError

    def moe(self, x: Any, w13: Any, w2: Any, weights: Any, ids: Any, **kw: Any) -> Any:
        raise NotImplementedError

    def ssd_scan(self, x: Any, dt: Any, a: Any, b: Any, c: Any, d: Any, state: Any, *,
                 chunk: int) -> Any:
        raise NotImplementedError

    def gated_delta(self, q: Any, k: Any, v: Any, g: Any, beta: Any, state: Any, *,
                    scale: float) -> Any:
        raise NotImplementedError


class TritonOps(Ops):
    name = "triton"

    def rmsnorm(self, x: Any, w: Any, eps: float, residual: Any = None) -> Any:
        return kernel_module("rmsnorm").rmsnorm(x, w, eps, residual=residual)

    def rope(self, q: Any, k: Any, positions: Any, inv_freq: Any, neox: bool) -> tuple[Any, Any]:
        out: tuple[Any, Any] = kernel_module("rope").rope(q, k, positions, inv_freq, neox=neox)
        return out

    def prefill_attention(self, q4: Any, k4: Any, v4: Any, out: Any, *, scale: float,
                          causal: bool = True, window: int | None = None, sinks: Any = None,
                          softcap: float | None = None) -> None:
        q, k, v = (x.permute(0, 2, 1, 3) for x in (q4, k4, v4))  # head-major views, no copy
        kernel_module("attention_prefill").prefill_attention(
            q, k, v, causal=causal, sm_scale=scale, window=window, softcap=softcap,
            sinks=sinks, out=out.permute(0, 2, 1, 3))

    def decode_attention(self, q: Any, kc: Any, vc: Any, valid: int, lens: Any, *,
                         scale: float, sinks: Any = None, softcap: float | None = None) -> Any:
        return kernel_module("attention_decode").decode_attention(
            q, kc.permute(0, 2, 1, 3), vc.permute(0, 2, 1, 3), lens, sm_scale=scale,
            softcap=softcap, sinks=sinks)

    def mla_decode(self, q_nope: Any, q_pe: Any, latent: Any, rank: int, valid: int, lens: Any,
                   w_uk: Any, w_uv: Any, *, scale: float) -> Any:
        return kernel_module("mla").mla_decode_absorbed(
            q_nope, q_pe, latent[..., :rank], latent[..., rank:], lens, w_uk, w_uv,
            sm_scale=scale)

    def mla_prefill(self, qn4: Any, qp4: Any, cl: Any, kr: Any, w_uk: Any, w_uv: Any, *,
                    scale: float) -> Any:
        return kernel_module("mla").mla_prefill(qn4, qp4, cl, kr, w_uk, w_uv, sm_scale=scale)

    def moe(self, x: Any, w13: Any, w2: Any, weights: Any, ids: Any, **kw: Any) -> Any:
        return kernel_module("moe").fused_moe(x, w13, w2, weights, ids, **kw)

    def ssd_scan(self, x: Any, dt: Any, a: Any, b: Any, c: Any, d: Any, state: Any, *,
                 chunk: int) -> Any:
        # the kernel's chunk is its own tile (64 tokens): the model's chunk_size changes only
        # how the work is grouped, not the result
        return kernel_module("ssd").ssd_scan(x, dt, a, b, c, d, state)

    def gated_delta(self, q: Any, k: Any, v: Any, g: Any, beta: Any, state: Any, *,
                    scale: float) -> Any:
        return kernel_module("gated_delta").gated_delta_rule(q, k, v, g, beta, state,
                                                             scale=scale)


class TorchOps(Ops):
    name = "torch"

    def rmsnorm(self, x: Any, w: Any, eps: float, residual: Any = None) -> Any:
        return kernel_module("reference").rmsnorm_ref(x, w, eps, residual=residual)

    def rope(self, q: Any, k: Any, positions: Any, inv_freq: Any, neox: bool) -> tuple[Any, Any]:
        ref = kernel_module("reference")
        return (ref.rope_ref(q, positions, inv_freq, neox=neox),
                ref.rope_ref(k, positions, inv_freq, neox=neox))

    def prefill_attention(self, q4: Any, k4: Any, v4: Any, out: Any, *, scale: float,
                          causal: bool = True, window: int | None = None, sinks: Any = None,
                          softcap: float | None = None) -> None:
        import torch
        import torch.nn.functional as F

        q, k, v = (x.permute(0, 2, 1, 3) for x in (q4, k4, v4))
        n, s = q.shape[2], k.shape[2]
        if sinks is None and softcap is None:
            if window is not None and window < n:
                i = torch.arange(n, device=q.device)
                mask = (i[None, :] <= i[:, None]) & (i[None, :] > i[:, None] - window)
                o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale,
                                                   enable_gqa=True)
            else:
                o = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale,
                                                   enable_gqa=True)
            out.copy_(o.permute(0, 2, 1, 3))
            return
        # sinks / softcap: explicit float32 attention, one sequence at a time (memory)
        b, h, _, d = q.shape
        g = k.shape[1]
        pos = torch.arange(s - n, s, device=q.device)[:, None]
        j = torch.arange(s, device=q.device)[None, :]
        mask = j <= pos if causal else torch.ones(n, s, dtype=torch.bool, device=q.device)
        if window is not None:
            mask = mask & (j > pos - window)
        for bi in range(b):
            qg = q[bi].float().view(g, h // g, n, d)
            logits = qg @ k[bi].float()[:, None].transpose(-1, -2) * scale
            if softcap is not None:
                logits = softcap * torch.tanh(logits / softcap)
            logits = logits.masked_fill(~mask, float("-inf"))
            p = softmax_with_sinks(logits, sinks, g, h // g)
            o = (p @ v[bi].float()[:, None]).view(h, n, -1)
            out[bi].copy_(o.permute(1, 0, 2))

    def decode_attention(self, q: Any, kc: Any, vc: Any, valid: int, lens: Any, *,
                         scale: float, sinks: Any = None, softcap: float | None = None) -> Any:
        import torch
        import torch.nn.functional as F

        b, h, d = q.shape
        g = kc.shape[2]
        kt = kc[:, :valid].permute(0, 2, 1, 3)  # [B, G, n, D]
        vt = vc[:, :valid].permute(0, 2, 1, 3)
        if sinks is None and softcap is None:
            o = F.scaled_dot_product_attention(q[:, :, None], kt, vt, scale=scale,
                                               enable_gqa=True)
            return o[:, :, 0]
        qg = q.float().view(b, g, h // g, d)
        logits = qg @ kt.float().transpose(-1, -2) * scale  # [B, G, grp, n]
        if softcap is not None:
            logits = softcap * torch.tanh(logits / softcap)
        if sinks is not None:
            sink = sinks.float().view(1, g, h // g, 1).expand(b, g, h // g, 1)
            p = torch.softmax(torch.cat([logits, sink], dim=-1), dim=-1)[..., :-1]
        else:
            p = torch.softmax(logits, dim=-1)
        return (p @ vt.float()).view(b, h, -1).to(q.dtype)

    def mla_decode(self, q_nope: Any, q_pe: Any, latent: Any, rank: int, valid: int, lens: Any,
                   w_uk: Any, w_uv: Any, *, scale: float) -> Any:
        import torch
        import torch.nn.functional as F

        # eager: decompress the cached latent into K and V for every head, then SDPA
        b, h = q_nope.shape[:2]
        k, v = mla_decompressed_kv(latent[:, :valid], rank, w_uk, w_uv, h)
        qq = torch.cat([q_nope, q_pe], dim=-1).view(b, h, 1, -1)
        return F.scaled_dot_product_attention(qq, k, v, scale=scale)[:, :, 0]

    def mla_prefill(self, qn4: Any, qp4: Any, cl: Any, kr: Any, w_uk: Any, w_uv: Any, *,
                    scale: float) -> Any:
        import torch
        import torch.nn.functional as F

        h = qn4.shape[1]
        k_nope, v = kernel_module("reference").mla_decompress(cl, w_uk, w_uv)
        k = torch.cat([k_nope, kr[:, None].expand(-1, h, -1, -1)], dim=-1)
        qq = torch.cat([qn4, qp4], dim=-1)
        return F.scaled_dot_product_attention(qq, k, v, is_causal=True, scale=scale)

    def moe(self, x: Any, w13: Any, w2: Any, weights: Any, ids: Any, **kw: Any) -> Any:
        kw.pop("block_m", None)
        return kernel_module("reference").moe_ref(x, w13, w2, weights, ids, **kw)

    def ssd_scan(self, x: Any, dt: Any, a: Any, b: Any, c: Any, d: Any, state: Any, *,
                 chunk: int) -> Any:
        return kernel_module("reference").ssd_chunked_ref(x, dt, a, b, c, d, state, chunk=chunk)

    def gated_delta(self, q: Any, k: Any, v: Any, g: Any, beta: Any, state: Any, *,
                    scale: float) -> Any:
        return kernel_module("reference").gated_delta_ref(q, k, v, g, beta, state, scale=scale)


def mla_decompressed_kv(latent: Any, rank: int, w_uk: Any, w_uv: Any, heads: int
                        ) -> tuple[Any, Any]:
    """K [B, H, S, Dn + P] and V [B, H, S, Dv] of every head from a latent cache
    [B, S, R + P] (the rope key, shared by all heads, appended to each head's K)."""
    import torch

    k_nope, v = kernel_module("reference").mla_decompress(latent[..., :rank], w_uk, w_uv)
    kr = latent[..., rank:]
    return torch.cat([k_nope, kr[:, None].expand(-1, heads, -1, -1)], dim=-1), v


def softmax_with_sinks(logits: Any, sinks: Any, g: int, grp: int) -> Any:
    """Softmax over the last dim of logits [G, grp, n, s] with one extra logit per head
    (gpt-oss's sink), dropped after: the sink only enlarges the denominator."""
    import torch

    if sinks is None:
        return torch.softmax(logits, dim=-1)
    shape = list(logits.shape)
    shape[-1] = 1
    sink = sinks.float().view(g, grp, *([1] * (logits.dim() - 2))).expand(shape)
    return torch.softmax(torch.cat([logits, sink], dim=-1), dim=-1)[..., :-1]


BACKENDS: dict[str, type[Ops]] = {"triton": TritonOps, "torch": TorchOps}


def backend(name: str) -> Ops:
    """The ops of one path by name."""
    if name not in BACKENDS:
        raise ValueError(f"path {name!r}: one of {sorted(BACKENDS)}")
    return BACKENDS[name]()


__all__ = ["BACKENDS", "Ops", "TorchOps", "TritonOps", "backend", "softmax_with_sinks"]
