"""Forward FLOPs per token, per prompt, and training FLOPs.

Matmul FLOPs are 2 per multiply-accumulate: a token through N matmul parameters costs 2N
(Kaplan et al. 2020, "Scaling Laws for Neural Language Models", §2.1: C_forward ≈ 2N +
2 n_layer n_ctx d_attn). N here is the active parameter count without the input embedding
(a lookup, no FLOPs); the LM head is a matmul and stays in.

Attention scores add, per layer and token attending to L' earlier tokens, 2·h_q·d_qk·L'
(QKᵀ) + 2·h_q·d_v·L' (AV), with L' = min(L, window) for local layers (PaLM, Chowdhery et al.
2022, appendix B, counts the same terms). Linear-attention layers add a constant per token
(state update and read: ~4·h_v·d_k·d_v).

The LM head is a vocab × hidden matmul whether or not its weight is tied to the embedding; in
prefill it runs on the last position only (vLLM computes logits for the sampled position, not
for every prompt token), so a prompt of L tokens costs 2·N_body·L + 2·vocab·hidden.

MLA runs two ways in vLLM (vllm/v1/attention/backends/mla/common.py): prefill uses the naive
form (per head, q·k over qk_nope + qk_rope = 192 dims and v of v_head_dim = 128 for
DeepSeek-V3), decode the absorbed form, an MQA over the cached latent: per head q·k over
kv_lora_rank + qk_rope_head_dim (576) and a value of kv_lora_rank (512) per attended token,
W_UK and W_UV being folded into the query and output projections (same parameter count, so
the 2N term is unchanged). DeepSeek-V3 at 32k: 61 · 2 · 128 · (576 + 512) · 32,768 ≈ 557 G
FLOP of attention per decoded token, where the naive sizes would give 164 G.

Training: 6 FLOPs per parameter per token (forward 2 + backward 4; Kaplan et al. 2020;
Hoffmann et al. 2022 "6ND"), on the active non-embedding parameters.
"""

from __future__ import annotations

from archlint.mixers import mixer
from archlint.records import Record, record
from archlint.spec import AttentionSpec, ModelSpec


@record
class Flops(Record):
    per_token: int  # forward, one generated token at `context`
    prefill: int  # forward over a prompt of `context` tokens (causal), one sequence
    training_per_token: int  # 6 × active non-embedding params
    matmul_per_token: int  # the 2N part
    attention_per_token: int  # the context-dependent part at `context`
    lm_head_per_token: int = 0  # 2 × vocab × hidden (in matmul_per_token; once per prompt)
    context: int
    decode_attention: str = ""  # which attention form the decode figure assumes
    prefill_attention: str = ""


def _attended(att: AttentionSpec, position: int) -> int:
    cap = att.window or att.chunk
    return (min(position, cap) if cap else position) + _entries(att, position)


def _entries(att: AttentionSpec, position: int) -> int:
    """Compressed entries a DeepSeek-V4 query reads beside its window: one per `rate` earlier
    tokens, at most the indexer's top-k (CSA)."""
    c = att.compressor
    if c is None or c.rate < 1:
        return 0
    entries = position // c.rate
    return min(entries, c.topk) if c.topk else entries


def _entries_sum(att: AttentionSpec, length: int) -> int:
    """Σ_{t=1..L} entries(t), in closed form: Σ floor(t/r) up to the first t whose entries
    reach top-k, then top-k per token."""
    c = att.compressor
    if c is None or c.rate < 1:
        return 0
    r = c.rate

    def floor_sum(m: int) -> int:  # Σ_{t=1..m} floor(t / r)
        q = m // r
        return r * q * (q - 1) // 2 + q * (m - q * r + 1)

    if not c.topk or length < c.topk * r:
        return floor_sum(length)
    first = c.topk * r
    return floor_sum(first - 1) + (length - first + 1) * c.topk


def attention_flops(att: AttentionSpec, attended: int, *, absorbed: bool = False) -> float:
    """Score and value FLOPs of one token attending to `attended` tokens; `absorbed` prices
    MLA as vLLM decodes it (MQA over the latent), otherwise with its naive head sizes."""
    if att.kind == "linear" and att.linear is not None:
        return mixer(att.linear).flops_per_token(att.linear)
    if att.kind in ("none", "linear"):
        return 0
    if absorbed and att.kind == "mla":
        rank, rope = att.kv_lora_rank or 0, att.qk_rope_head_dim or 0
        return 2 * att.num_heads * (rank + rope + rank) * attended
    return 2 * att.num_heads * (att.head_dim + att.v_head_dim) * attended


def _causal_attended_sum(att: AttentionSpec, length: int) -> int:
    """Σ_{t=1..L} (min(t, cap) + compressed entries(t)): tokens attended over a causal
    prompt of `length`."""
    return _window_attended_sum(att, length) + _entries_sum(att, length)


def _window_attended_sum(att: AttentionSpec, length: int) -> int:
    cap = att.window or att.chunk
    if not cap or cap >= length:
        return length * (length + 1) // 2
    if att.chunk and not att.window:
        # Chunked attention restarts every chunk: full chunks, then the remainder.
        full, rest = divmod(length, cap)
        return full * cap * (cap + 1) // 2 + rest * (rest + 1) // 2
    return cap * (cap + 1) // 2 + (length - cap) * cap


def flops(
    spec: ModelSpec, active_non_embedding: int, context: int, *, head_params: int = 0
) -> Flops:
    """`active_non_embedding`: the matmul parameters one token goes through, the LM head
    included (tied or not); `head_params`: the head's share, run once per prompt in prefill
    (0: every position, as encoders classify every token)."""
    matmul = 2 * active_non_embedding
    head = 2 * head_params
    # self-attending mixers only: cross-attention scales with the encoder's length instead
    mixers = [m for layer in spec.layers for m in layer.mixers() if m.source == "self"]
    per_token_attention = sum(
        attention_flops(m, _attended(m, context), absorbed=True) for m in mixers
    )
    prefill_attention = 0.0
    for att in mixers:
        if att.kind == "linear":
            prefill_attention += attention_flops(att, 0) * context
        else:
            prefill_attention += attention_flops(att, 1) * _causal_attended_sum(att, context)
    mla = any(m.kind == "mla" for m in mixers)
    return Flops(
        per_token=round(matmul + per_token_attention),
        prefill=round((matmul - head) * context + head + prefill_attention),
        training_per_token=6 * active_non_embedding,
        matmul_per_token=matmul,
        attention_per_token=round(per_token_attention),
        lm_head_per_token=head,
        context=context,
        decode_attention="MLA absorbed (MQA over the latent), as vLLM decodes" if mla else "",
        prefill_attention="MLA naive (per-head q·k, v), as vLLM prefills" if mla else "",
    )
