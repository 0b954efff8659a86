"""Plain-torch references for every kernel in archlint.kernels: the ground truth in tests.

Shapes use one set of letters throughout:
    B batch, T tokens, S sequence (key) length, M query length, H query heads,
    G KV heads (H % G == 0), D head dim, R MLA latent rank (kv_lora_rank), P rope dim,
    E experts, K top-k, C hidden size, F expert FFN width.

Attention references compute in float32 and return the input dtype. Where SDPA can express the
problem (no softcap, no sinks) they call it; the explicit path handles the rest.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


# --------------------------------------------------------------------------------------------
# attention
# --------------------------------------------------------------------------------------------
def attention_mask(m: int, s: int, *, causal: bool, window: int | None, device) -> torch.Tensor:
    """Boolean [M, S] mask, True where query i may see key j.

    Query i sits at absolute position s - m + i (the last M positions). Causal: j <= pos.
    Sliding window W (Mistral/Gemma-2/gpt-oss convention, HF `sliding_window`): pos - W < j,
    i.e. each query sees at most W keys, itself included.
    """
    pos = torch.arange(s - m, s, device=device)[:, None]
    j = torch.arange(s, device=device)[None, :]
    ok = torch.ones(m, s, dtype=torch.bool, device=device)
    if causal:
        ok &= j <= pos
    if window is not None:
        ok &= j > pos - window
    return ok


def attention_ref(
    q: torch.Tensor,  # [B, H, M, Dqk]
    k: torch.Tensor,  # [B, G, S, Dqk]
    v: torch.Tensor,  # [B, G, S, Dv]
    *,
    causal: bool = True,
    sm_scale: float | None = None,
    window: int | None = None,
    softcap: float | None = None,
    sinks: torch.Tensor | None = None,  # [H] float, one learned logit per head (gpt-oss)
) -> torch.Tensor:  # [B, H, M, Dv]
    """Attention by definition, float32 throughout; GQA by repeating KV heads (a copy: fine here).

    Softcap (Gemma-2): s = cap * tanh(s / cap), applied to the scaled logits before the mask.
    Sinks (gpt-oss): softmax over [s_0..s_{S-1}, sink_h]; the sink column is then dropped, so the
    sink only enlarges the denominator.
    """
    b, h, m, dqk = q.shape
    g, s = k.shape[1], k.shape[2]
    scale = sm_scale if sm_scale is not None else 1.0 / math.sqrt(dqk)
    qf, kf, vf = q.float(), k.float(), v.float()
    kf = kf.repeat_interleave(h // g, dim=1)
    vf = vf.repeat_interleave(h // g, dim=1)
    mask = attention_mask(m, s, causal=causal, window=window, device=q.device)
    if softcap is None and sinks is None:
        out = F.scaled_dot_product_attention(qf, kf, vf, attn_mask=mask, scale=scale)
        return out.to(q.dtype)
    logits = torch.einsum("bhmd,bhsd->bhms", qf, kf) * scale
    if softcap is not None:
        logits = softcap * torch.tanh(logits / softcap)
    logits = logits.masked_fill(~mask, float("-inf"))
    if sinks is not None:
        sink_col = sinks.float().view(1, h, 1, 1).expand(b, h, m, 1)
        logits = torch.cat([logits, sink_col], dim=-1)
    p = torch.softmax(logits, dim=-1)
    if sinks is not None:
        p = p[..., :-1]
    return torch.einsum("bhms,bhsd->bhmd", p, vf).to(q.dtype)


def decode_attention_ref(
    q: torch.Tensor,  # [B, H, D]
    k_cache: torch.Tensor,  # [B, G, S_max, D]
    v_cache: torch.Tensor,  # [B, G, S_max, Dv]
    seq_lens: torch.Tensor,  # [B] int, valid keys per sequence (the new token included)
    *,
    sm_scale: float | None = None,
    window: int | None = None,
    softcap: float | None = None,
    sinks: torch.Tensor | None = None,
) -> torch.Tensor:  # [B, H, Dv]
    """One query token per sequence at position seq_lens[b] - 1; a loop over the batch."""
    outs = []
    for bi in range(q.shape[0]):
        n = int(seq_lens[bi])
        o = attention_ref(
            q[bi : bi + 1, :, None, :],
            k_cache[bi : bi + 1, :, :n],
            v_cache[bi : bi + 1, :, :n],
            causal=True, sm_scale=sm_scale, window=window, softcap=softcap, sinks=sinks,
        )
        outs.append(o[:, :, 0])
    return torch.cat(outs, dim=0)


def sdpa_decode(q, k_cache, v_cache, *, sm_scale=None):
    """The PyTorch path the bench compares decode against: SDPA, GQA without repeat, full cache."""
    out = F.scaled_dot_product_attention(
        q[:, :, None, :], k_cache, v_cache, scale=sm_scale, enable_gqa=True
    )
    return out[:, :, 0]


# --------------------------------------------------------------------------------------------
# MLA (DeepSeek-V2/V3)
# --------------------------------------------------------------------------------------------
def mla_decode_ref(
    q_latent: torch.Tensor,  # [B, H, R]   q_nope absorbed through W_UK
    q_rope: torch.Tensor,  # [B, H, P]
    kv_latent: torch.Tensor,  # [B, S_max, R]  the cached c_KV (post kv_a_layernorm)
    k_rope: torch.Tensor,  # [B, S_max, P]   the cached rope key, shared by all heads
    seq_lens: torch.Tensor,  # [B]
    *,
    sm_scale: float,
) -> torch.Tensor:  # [B, H, R]  attention output in latent space (apply W_UV after)
    """MLA decode with absorbed projections, float32: scores = q_lat.c + q_rope.k_rope."""
    outs = []
    for bi in range(q_latent.shape[0]):
        n = int(seq_lens[bi])
        c = kv_latent[bi, :n].float()
        kr = k_rope[bi, :n].float()
        s = (q_latent[bi].float() @ c.T + q_rope[bi].float() @ kr.T) * sm_scale  # [H, n]
        outs.append(torch.softmax(s, dim=-1) @ c)
    return torch.stack(outs).to(q_latent.dtype)


def mla_decompress(
    kv_latent: torch.Tensor,  # [B, S, R]
    w_uk: torch.Tensor,  # [H, Dn, R]  (kv_b_proj rows for k_nope, per head)
    w_uv: torch.Tensor,  # [H, Dv, R]  (kv_b_proj rows for v, per head)
) -> tuple[torch.Tensor, torch.Tensor]:  # k_nope [B, H, S, Dn], v [B, H, S, Dv]
    """Per-head keys (without the shared rope part) and values from the cached latent: the
    up-projections W_UK and W_UV of DeepSeek-V2 (arXiv 2405.04434, eq. 10-11)."""
    return (torch.einsum("bsr,hdr->bhsd", kv_latent, w_uk),
            torch.einsum("bsr,hdr->bhsd", kv_latent, w_uv))


def mla_decompress_ref(
    q_nope: torch.Tensor,  # [B, H, M, Dn]
    q_rope: torch.Tensor,  # [B, H, M, P]
    kv_latent: torch.Tensor,  # [B, S, R]
    k_rope: torch.Tensor,  # [B, S, P]
    w_uk: torch.Tensor,  # [H, Dn, R]
    w_uv: torch.Tensor,  # [H, Dv, R]
    *,
    sm_scale: float,
    causal: bool = True,
) -> torch.Tensor:  # [B, H, M, Dv]
    """MLA the naive way: decompress K and V per head, then SDPA. The prefill path's baseline."""
    h = q_nope.shape[1]
    k_nope, v = mla_decompress(kv_latent, w_uk, w_uv)
    kr = k_rope[:, None].expand(-1, h, -1, -1)
    q = torch.cat([q_nope, q_rope], dim=-1)
    k = torch.cat([k_nope, kr], dim=-1)
    m, s = q.shape[2], k.shape[2]
    mask = attention_mask(m, s, causal=causal, window=None, device=q.device)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=sm_scale)


# --------------------------------------------------------------------------------------------
# MoE
# --------------------------------------------------------------------------------------------
def route_softmax_topk_ref(logits: torch.Tensor, top_k: int, renormalize: bool = True):
    """Mixtral/Qwen-MoE routing: softmax over all experts, top-k, optional renormalisation."""
    p = torch.softmax(logits.float(), dim=-1)
    w, ids = torch.topk(p, top_k, dim=-1)
    if renormalize:
        w = w / w.sum(-1, keepdim=True)
    return w, ids.to(torch.int32)


def route_sigmoid_grouped_topk_ref(
    logits: torch.Tensor,  # [T, E]
    top_k: int,
    bias: torch.Tensor,  # [E] e_score_correction_bias
    n_group: int,
    topk_group: int,
    renormalize: bool = True,
    scaling: float = 1.0,
):
    """DeepSeek-V3 routing ("noaux_tc"), a loop over tokens written for clarity.

    scores = sigmoid(logits); choice scores = scores + bias; a group's score is the sum of its
    two best choice scores; keep the best `topk_group` groups; top-k experts among them by choice
    score; weights are the *unbiased* scores of those experts, renormalised, times `scaling`
    (routed_scaling_factor). Source: DeepSeek-V3 modeling_deepseek.py MoEGate.
    """
    t, e = logits.shape
    scores = torch.sigmoid(logits.float())
    ws, idss = [], []
    for ti in range(t):
        choice = scores[ti] + bias.float()
        groups = choice.view(n_group, e // n_group)
        gscore = groups.topk(2, dim=-1).values.sum(-1)
        keep = gscore.topk(topk_group).indices
        allowed = torch.full_like(choice, float("-inf"))
        for gi in keep.tolist():
            lo = gi * (e // n_group)
            allowed[lo : lo + e // n_group] = choice[lo : lo + e // n_group]
        ids = allowed.topk(top_k).indices
        w = scores[ti, ids]
        if renormalize:
            w = w / w.sum()
        ws.append(w * scaling)
        idss.append(ids)
    return torch.stack(ws), torch.stack(idss).to(torch.int32)


GPT_OSS_ALPHA = 1.702  # transformers' GptOssExperts: glu = gate * sigmoid(1.702 * gate)


def swiglu(gate: torch.Tensor, up: torch.Tensor, limit: float | None = None) -> torch.Tensor:
    """silu(gate) * up; with `limit` (gpt-oss's `swiglu_limit`), its clamped variant:
    gate ≤ limit, |up| ≤ limit, gate·sigmoid(1.702·gate)·(up + 1) (transformers'
    GptOssExperts._apply_gate)."""
    if limit is None:
        return F.silu(gate) * up
    gate = gate.clamp(max=limit)
    up = up.clamp(-limit, limit)
    return gate * torch.sigmoid(GPT_OSS_ALPHA * gate) * (up + 1)


def gated_mlp_ref(x: torch.Tensor, w13: torch.Tensor, w2: torch.Tensor,
                  b13: torch.Tensor | None = None, b2: torch.Tensor | None = None,
                  limit: float | None = None) -> torch.Tensor:
    """SwiGLU MLP: w13 [2F, C] (gate rows then up rows), w2 [C, F]; x [T, C] -> [T, C].
    Optional biases b13 [2F], b2 [C] and gpt-oss's clamp (`swiglu`)."""
    f = w13.shape[0] // 2
    gu = F.linear(x, w13, b13)
    return F.linear(swiglu(gu[:, :f], gu[:, f:], limit), w2, b2)


def moe_ref(
    x: torch.Tensor,  # [T, C]
    w13: torch.Tensor,  # [E, 2F, C]
    w2: torch.Tensor,  # [E, C, F]
    topk_weights: torch.Tensor,  # [T, K]
    topk_ids: torch.Tensor,  # [T, K]
    *,
    shared_w13: torch.Tensor | None = None,  # [2Fs, C]
    shared_w2: torch.Tensor | None = None,  # [C, Fs]
    b13: torch.Tensor | None = None,  # [E, 2F] expert biases (gpt-oss)
    b2: torch.Tensor | None = None,  # [E, C]
    limit: float | None = None,  # gpt-oss's swiglu_limit
) -> torch.Tensor:  # [T, C]
    """MoE as a loop over experts (the usual eager PyTorch path and the bench's baseline):
    gather each expert's tokens, run its gated MLP, scale by the routing weight, scatter-add."""
    out = torch.zeros_like(x, dtype=torch.float32)
    flat_ids = topk_ids.reshape(-1)
    flat_w = topk_weights.reshape(-1)
    k = topk_ids.shape[1]
    for e in range(w13.shape[0]):
        slots = (flat_ids == e).nonzero(as_tuple=True)[0]
        if slots.numel() == 0:
            continue
        tok = slots // k
        y = gated_mlp_ref(x[tok], w13[e], w2[e], None if b13 is None else b13[e],
                          None if b2 is None else b2[e], limit)
        out.index_add_(0, tok, (y.float() * flat_w[slots, None].float()))
    if shared_w13 is not None:
        out += gated_mlp_ref(x, shared_w13, shared_w2).float()
    return out.to(x.dtype)


# --------------------------------------------------------------------------------------------
# constant-state mixers: Mamba-2 SSD and the gated delta rule
# --------------------------------------------------------------------------------------------
def ssd_scan_ref(
    x: torch.Tensor,  # [B, L, H, P]
    dt: torch.Tensor,  # [B, L, H]   Δ after softplus(dt + dt_bias)
    a: torch.Tensor,  # [H]         A = -exp(A_log)
    b: torch.Tensor,  # [B, L, G, N]
    c: torch.Tensor,  # [B, L, G, N]
    d: torch.Tensor,  # [H]
    state: torch.Tensor,  # [B, H, P, N] initial state, overwritten with the final one
) -> torch.Tensor:  # [B, L, H, P]
    """The Mamba-2 recurrence by definition, float32, one token at a time (Dao & Gu 2024,
    arXiv 2405.21060, eq. 1 with scalar A per head): h_t = exp(Δ_t A) h_{t-1} + Δ_t x_t B_tᵀ,
    y_t = h_t C_t + D x_t. Head h reads B/C group h // (H / G)."""
    length, h = x.shape[1], x.shape[2]
    grp = h // b.shape[2]
    bf = b.float().repeat_interleave(grp, dim=2)  # [B, L, H, N]
    cf = c.float().repeat_interleave(grp, dim=2)
    s = state.float().clone()
    ys = []
    for t in range(length):
        dtt = dt[:, t].float()  # [B, H]
        s = s * torch.exp(dtt * a.float())[..., None, None] + (
            (dtt[..., None] * x[:, t].float())[..., None] * bf[:, t, :, None, :])
        ys.append(torch.einsum("bhpn,bhn->bhp", s, cf[:, t]) + d.float()[:, None] * x[:, t])
    state.copy_(s)
    return torch.stack(ys, dim=1).to(x.dtype)


def _segsum(x: torch.Tensor) -> torch.Tensor:
    """[..., T] -> [..., T, T]: out[i, j] = x[j+1] + ... + x[i] for i >= j, -inf above."""
    t = x.shape[-1]
    cs = torch.cumsum(x, dim=-1)
    out = cs[..., :, None] - cs[..., None, :]
    keep = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
    return out.masked_fill(~keep, float("-inf"))


def ssd_chunked_ref(
    x: torch.Tensor, dt: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
    d: torch.Tensor, state: torch.Tensor, *, chunk: int = 256,
) -> torch.Tensor:
    """The same function by the SSD algorithm in einsums (Dao & Gu 2024, §6-7: the quadratic
    form inside chunks, a recurrence over chunk states between them), as an eager PyTorch
    user writes it (transformers' Mamba2Mixer.torch_forward follows the same steps). float32
    inside; `state` is the initial state and receives the final one."""
    bsz, length, h, p = x.shape
    grp = h // b.shape[2]
    pad = (-length) % chunk
    xf = (x.float() * dt.float()[..., None])  # discretised input Δx
    af = dt.float() * a.float()  # [B, L, H] log-decay per step
    bf = b.float().repeat_interleave(grp, dim=2)
    cf = c.float().repeat_interleave(grp, dim=2)
    if pad:  # Δ = 0 past the end: no decay, no input, outputs dropped
        xf, bf, cf = (F.pad(t, (0, 0, 0, 0, 0, pad)) for t in (xf, bf, cf))
        af = F.pad(af, (0, 0, 0, pad))
    n_chunks = (length + pad) // chunk
    xc = xf.view(bsz, n_chunks, chunk, h, p)
    bc = bf.view(bsz, n_chunks, chunk, h, -1)
    cc = cf.view(bsz, n_chunks, chunk, h, -1)
    ac = af.view(bsz, n_chunks, chunk, h).permute(0, 3, 1, 2)  # [B, H, c, l]
    acum = torch.cumsum(ac, dim=-1)
    decay = torch.exp(_segsum(ac))  # [B, H, c, l, l]
    y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", cc, bc, decay, xc)
    to_end = torch.exp(acum[..., -1:] - acum)  # [B, H, c, l]
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", bc, to_end, xc)
    states = torch.cat([state.float()[:, None], states], dim=1)  # [B, c+1, H, P, N]
    chunk_decay = torch.exp(_segsum(F.pad(acum[..., -1], (1, 0))))  # [B, H, c+1, c+1]
    states = torch.einsum("bhzc,bchpn->bzhpn", chunk_decay, states)
    y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", cc, states[:, :-1], torch.exp(acum))
    y = (y_diag + y_off).reshape(bsz, -1, h, p)[:, :length]
    state.copy_(states[:, -1])
    return (y + d.float()[:, None] * x.float()).to(x.dtype)


def gated_delta_ref(
    q: torch.Tensor,  # [B, L, H, Dk]  (l2-normalised)
    k: torch.Tensor,  # [B, L, H, Dk]  (l2-normalised)
    v: torch.Tensor,  # [B, L, H, Dv]
    g: torch.Tensor,  # [B, L, H]      log decay (≤ 0)
    beta: torch.Tensor,  # [B, L, H]   write strength in (0, 1)
    state: torch.Tensor,  # [B, H, Dk, Dv] initial state, overwritten with the final one
    *,
    scale: float,
) -> torch.Tensor:  # [B, L, H, Dv]
    """The gated delta rule, float32, one token at a time (Yang et al. 2024, "Gated Delta
    Networks", arXiv 2412.06464, eq. 10): S_t = a_t S_{t-1} (I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ
    with a_t = exp(g_t), read o_t = S_t q_t · scale. Written with S as [Dk, Dv]."""
    s = state.float().clone()
    outs = []
    for t in range(q.shape[1]):
        s = s * torch.exp(g[:, t].float())[..., None, None]
        kt, vt = k[:, t].float(), v[:, t].float()
        mem = torch.einsum("bhkv,bhk->bhv", s, kt)
        delta = (vt - mem) * beta[:, t].float()[..., None]
        s = s + kt[..., None] * delta[..., None, :]
        outs.append(torch.einsum("bhkv,bhk->bhv", s, q[:, t].float() * scale))
    state.copy_(s)
    return torch.stack(outs, dim=1).to(q.dtype)


# --------------------------------------------------------------------------------------------
# norms and rotary
# --------------------------------------------------------------------------------------------
def rmsnorm_ref(x, weight, eps: float = 1e-6, residual=None, weight_offset: float = 0.0):
    """y = x / sqrt(mean(x^2) + eps) * (weight + offset), float32 inside (Llama; Gemma: offset 1).
    With `residual`, x is first replaced by x + residual, and that sum is returned too."""
    if residual is not None:
        x = (x.float() + residual.float()).to(x.dtype)
    xf = x.float()
    y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * (weight.float() + weight_offset)
    return (y.to(x.dtype), x) if residual is not None else y.to(x.dtype)


def rope_ref(x, positions, inv_freq, *, neox: bool = True):
    """Rotary embedding on the first 2*len(inv_freq) dims of x [T, H, D]; positions [T].

    neox (Llama, HF rotate_half): pairs (i, i + R/2). GPT-J (interleaved): pairs (2i, 2i+1)."""
    r = 2 * inv_freq.shape[0]
    ang = positions.float()[:, None] * inv_freq.float()[None, :]  # [T, R/2]
    cos, sin = torch.cos(ang)[:, None, :], torch.sin(ang)[:, None, :]
    xf = x.float()
    rot, rest = xf[..., :r], xf[..., r:]
    if neox:
        x1, x2 = rot[..., : r // 2], rot[..., r // 2 :]
        out = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
    else:
        x1, x2 = rot[..., 0::2], rot[..., 1::2]
        out = torch.stack([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1).flatten(-2)
    return torch.cat([out, rest], dim=-1).to(x.dtype)
