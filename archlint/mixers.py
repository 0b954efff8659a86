"""Constant-state token mixers: one class per variant, owning its formulas.

Each variant answers three questions about one layer, from its `RecurrentSpec` and the model's
hidden size: how many parameters it has, what state it keeps per sequence (as vLLM's
`MambaSpec` lays it out: a causal-conv window and a recurrent/SSM state, each a list of
shapes), and how many FLOPs one token costs. A new variant is one class here plus its entry in
`MIXERS`; the analysis never branches on variant names.

Dimension letters: h = hidden size, d = d_inner (the mixer's inner width), n = d_state,
H = heads, P = head size, G = B/C groups, K = conv kernel width, R = Δ rank.
"""

from __future__ import annotations

from dataclasses import dataclass

from archlint.spec import RecurrentSpec


@dataclass(frozen=True)
class State:
    """Elements kept per sequence: the conv window and the recurrent state."""

    conv: int
    recurrent: int

    @property
    def total(self) -> int:
        return self.conv + self.recurrent


class Mixer:
    """Interface of one variant. All methods are pure functions of (spec, hidden)."""

    variant: str = ""

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        raise NotImplementedError

    def state(self, r: RecurrentSpec) -> State:
        raise NotImplementedError

    def flops_per_token(self, r: RecurrentSpec) -> float:
        """Non-matmul work per token (state update and read); the projections' 2N FLOPs are
        counted with the parameters."""
        return 2.0 * self.state(r).recurrent


def _conv_window(channels: int, kernel: int) -> int:
    """vLLM keeps the last K−1 inputs of a causal depthwise conv (conv_state shape
    (K−1, channels)); transformers' caches keep K, of which one is the incoming token."""
    return channels * max(kernel - 1, 0)


class GatedDeltaNet(Mixer):
    """Qwen3-Next / Qwen3.5 `GatedDeltaNet`: in_proj_qkvz (h → 2·Hk·Dk + 2·Hv·Dv), in_proj_ba
    (h → 2·Hv), a depthwise conv over q,k,v (2·Hk·Dk + Hv·Dv channels, no bias), dt_bias and
    A_log (Hv each), a gated RMSNorm over Dv, out_proj (Hv·Dv → h). State: Hv × Dk × Dv per
    layer (Yang et al. 2024, "Gated Delta Networks", §3), plus the conv window."""

    variant = "gated_deltanet"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        key_dim = r.num_key_heads * r.key_head_dim
        value_dim = r.num_value_heads * r.value_head_dim
        return (
            hidden * (2 * key_dim + 2 * value_dim)
            + hidden * 2 * r.num_value_heads
            + (2 * key_dim + value_dim) * r.conv_kernel
            + 2 * r.num_value_heads
            + r.value_head_dim
            + value_dim * hidden
        )

    def state(self, r: RecurrentSpec) -> State:
        conv_dim = 2 * r.num_key_heads * r.key_head_dim + r.num_value_heads * r.value_head_dim
        return State(
            conv=_conv_window(conv_dim, r.conv_kernel),
            recurrent=r.num_value_heads * r.key_head_dim * r.value_head_dim,
        )

    def flops_per_token(self, r: RecurrentSpec) -> float:
        # decay, delta-rule update (k vᵀ) and read (q S): ~4 multiply-adds per state element
        return 4.0 * r.num_value_heads * r.key_head_dim * r.value_head_dim


class Mamba1(Mixer):
    """Mamba-1 selective SSM (Gu & Dao 2023, arXiv 2312.00752, Alg. 2), as transformers'
    `MambaMixer`: in_proj (h → 2d), depthwise conv1d (d channels, width K, bias), x_proj
    (d → R + 2n), dt_proj (R → d, bias), A_log (d × n), D (d), out_proj (d → h). Jamba adds
    RMSNorms on Δ, B and C. State: conv window d × (K−1) and SSM state d × n."""

    variant = "mamba1"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        d, n, k, rank = r.d_inner, r.d_state, r.conv_kernel, r.dt_rank
        bias = r.proj_bias
        total = hidden * 2 * d + (2 * d if bias else 0)  # in_proj
        total += d * k + (d if r.conv_bias else 0)  # conv1d
        total += d * (rank + 2 * n)  # x_proj
        total += rank * d + d  # dt_proj with bias
        total += d * n + d  # A_log, D
        total += d * hidden + (hidden if bias else 0)  # out_proj
        if r.bc_dt_norms:
            total += rank + 2 * n
        return total

    def state(self, r: RecurrentSpec) -> State:
        return State(conv=_conv_window(r.d_inner, r.conv_kernel), recurrent=r.d_inner * r.d_state)

    def flops_per_token(self, r: RecurrentSpec) -> float:
        # discretise (exp, ×), update h = Āh + B̄x and read y = Ch: ~6 ops per state element
        return 6.0 * r.d_inner * r.d_state


class Mamba2(Mixer):
    """Mamba-2 SSD (Dao & Gu 2024, arXiv 2405.21060, §7), as transformers' `Mamba2Mixer`:
    in_proj (h → 2d + 2·G·n + H: z, x, B, C, dt), depthwise conv1d over x, B, C
    (d + 2·G·n channels, width K, bias), dt_bias, A_log and D (H each), a gated RMSNorm over d,
    out_proj (d → h). State: conv window (d + 2·G·n) × (K−1) and SSM state H × P × n."""

    variant = "mamba2"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        d, n, g, heads, k = r.d_inner, r.d_state, r.n_groups, r.num_heads, r.conv_kernel
        conv_dim = d + 2 * g * n
        proj = 2 * d + 2 * g * n + heads
        total = hidden * proj + (proj if r.proj_bias else 0)
        total += conv_dim * k + (conv_dim if r.conv_bias else 0)
        total += 3 * heads  # dt_bias, A_log, D
        total += d if r.inner_norm else 0
        total += d * hidden + (hidden if r.proj_bias else 0)
        return total

    def state(self, r: RecurrentSpec) -> State:
        conv_dim = r.d_inner + 2 * r.n_groups * r.d_state
        head_dim = r.head_dim or (r.d_inner // r.num_heads if r.num_heads else 0)
        return State(
            conv=_conv_window(conv_dim, r.conv_kernel),
            recurrent=r.num_heads * head_dim * r.d_state,
        )

    def flops_per_token(self, r: RecurrentSpec) -> float:
        return 6.0 * self.state(r).recurrent


class ShortConv(Mixer):
    """LFM2's gated short convolution (`Lfm2ShortConv`): in_proj (h → 3h: B, C, x), a
    depthwise causal conv over h channels of width K (`conv_L_cache`), out_proj (h → h), all
    biased when `conv_bias`. State: the conv window h × (K−1); nothing recurrent."""

    variant = "short_conv"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        d, k = r.d_inner or hidden, r.conv_kernel
        bias = r.conv_bias
        return (hidden * 3 * d + (3 * d if bias else 0)) + (d * k + (d if bias else 0)) + (
            d * hidden + (hidden if bias else 0)
        )

    def state(self, r: RecurrentSpec) -> State:
        return State(conv=_conv_window(r.d_inner, r.conv_kernel), recurrent=0)

    def flops_per_token(self, r: RecurrentSpec) -> float:
        return 2.0 * r.d_inner * r.conv_kernel + 2.0 * r.d_inner


class RGLRU(Mixer):
    """Griffin's recurrent block (De et al. 2024, arXiv 2402.19427, §2.4), as transformers'
    `RecurrentGemmaRecurrentBlock`: linear_y and linear_x (h → w, bias), a depthwise conv1d
    over w (width K, bias), the RG-LRU's block-diagonal input and recurrence gates (H blocks of
    (w/H)², biased) and its `recurrent_param` (w), linear_out (w → h, bias). State: the LRU's
    w-vector and the conv window w × (K−1)."""

    variant = "rglru"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        w, k, heads = r.d_inner, r.conv_kernel, max(r.num_heads, 1)
        block = w // heads
        gates = 2 * (heads * block * block + heads * block)
        return 2 * (hidden * w + w) + (w * k + w) + gates + w + (w * hidden + hidden)

    def state(self, r: RecurrentSpec) -> State:
        return State(conv=_conv_window(r.d_inner, r.conv_kernel), recurrent=r.d_inner)

    def flops_per_token(self, r: RecurrentSpec) -> float:
        heads = max(r.num_heads, 1)
        return 4.0 * r.d_inner * (r.d_inner // heads) + 8.0 * r.d_inner


class Lightning(Mixer):
    """MiniMax-Text-01 lightning attention (arXiv 2501.08313, §2.2), as transformers'
    `MiniMaxLightningAttention`: qkv_proj (h → 3·H·P), output_gate (h → H·P), an RMSNorm over
    H·P, out_proj (H·P → h), no biases. State: one P × P key-value matrix per head."""

    variant = "lightning"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        width = r.num_heads * r.head_dim
        return hidden * 3 * width + hidden * width + (width if r.inner_norm else 0) + width * hidden

    def state(self, r: RecurrentSpec) -> State:
        return State(conv=0, recurrent=r.num_heads * r.head_dim * r.head_dim)

    def flops_per_token(self, r: RecurrentSpec) -> float:
        return 4.0 * self.state(r).recurrent


class KimiDeltaAttention(Mixer):
    """Kimi Delta Attention (Kimi Linear, arXiv 2510.26692 §3), as transformers'
    `KimiDeltaAttention`: q, k, v projections (h → H·D each), a depthwise conv over q, k, v
    (3·H·D channels, width K, no bias), a low-rank forget gate (f_a: h → D, f_b: D → H·D,
    dt_bias H·D, A_log H), the β projection (h → H), a low-rank output gate (g_a: h → D,
    g_b: D → H·D), a gated RMSNorm over D, o_proj (H·D → h). State: one D × D matrix per head
    and the conv windows of q, k and v (vLLM's KDA state: three (K−1) × H·D conv states and
    (H, D, D))."""

    variant = "kda"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        heads, dim = r.num_value_heads, r.value_head_dim
        width = heads * dim
        return (
            3 * hidden * width
            + 3 * width * r.conv_kernel
            + (hidden * dim + dim * width + width + heads)  # forget gate
            + hidden * heads  # b_proj
            + (hidden * dim + dim * width)  # output gate
            + dim  # o_norm
            + width * hidden
        )

    def state(self, r: RecurrentSpec) -> State:
        width = r.num_value_heads * r.value_head_dim
        return State(
            conv=_conv_window(3 * width, r.conv_kernel),
            recurrent=r.num_value_heads * r.key_head_dim * r.value_head_dim,
        )

    def flops_per_token(self, r: RecurrentSpec) -> float:
        # per-channel decay, delta-rule update and read: ~4 multiply-adds per state element
        return 4.0 * r.num_value_heads * r.key_head_dim * r.value_head_dim


class FullGateKDA(KimiDeltaAttention):
    """Kimi Delta Attention with full-rank gates, as transformers' `BailingHybridDeltaAttention`
    (Ling / Bailing hybrids): q, k, v (h → H·D each), a depthwise conv over them (no bias),
    the forget gate's f_proj (h → H·D) with dt_bias (H·D) and A_log (H), b_proj (h → H), the
    output gate g_proj (h → H·D), a gated RMSNorm over D, o_proj (H·D → h). State as KDA's."""

    variant = "kda_full_gates"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        heads, dim = r.num_value_heads, r.value_head_dim
        width = heads * dim
        return (
            3 * hidden * width
            + 3 * width * r.conv_kernel
            + (hidden * width + width + heads)  # forget gate
            + hidden * heads  # b_proj
            + hidden * width  # g_proj
            + dim  # o_norm
            + width * hidden
        )


class RWKV4(Mixer):
    """RWKV-4 time mixing (Peng et al. 2023, arXiv 2305.13048, §4.1), as transformers'
    `RwkvSelfAttention`: key, value and receptance (h → A each, no bias), output (A → h), the
    per-channel `time_decay` and `time_first` (A each) and the token-shift mixes
    `time_mix_key/value/receptance` (h each). State (transformers' `RwkvModel` state list, which
    vLLM has no spec for): the WKV numerator, denominator and running maximum (A each), and the
    previous token's input kept by the token shift, for the time mix and for the block's channel
    mix (h each: `d_state`, the shift width; a token shift is a causal conv of width
    `conv_kernel` 2 that keeps one input)."""

    variant = "rwkv4"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        width = r.d_inner
        return 3 * hidden * width + width * hidden + 2 * width + 3 * hidden

    def state(self, r: RecurrentSpec) -> State:
        return State(conv=2 * _conv_window(r.d_state, r.conv_kernel), recurrent=3 * r.d_inner)

    def flops_per_token(self, r: RecurrentSpec) -> float:
        # exp, multiply-add into numerator and denominator, division: ~8 ops per channel
        return 8.0 * r.d_inner


class MLSTM(Mixer):
    """xLSTM's mLSTM layer (Beck et al. 2024, arXiv 2405.04517 §2.3; the xLSTM-7B layout of
    arXiv 2503.13427), as transformers' `xLSTMLayer`: q and k (h → H·Dk), v and the output
    gate (h → H·Dv), input and forget gate pre-activations (h → H each, always biased), a
    per-head norm over H·Dv and out_proj (H·Dv → h); `proj_bias` biases the projections and
    the norm. State per head (transformers' `xLSTMCache.rnn_state`): the matrix memory
    C (Dk × Dv), the normaliser n (Dk) and the stabiliser m (1); no conv."""

    variant = "mlstm"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        qk = r.num_heads * r.key_head_dim
        v = r.num_heads * r.value_head_dim
        bias = r.proj_bias
        total = hidden * (2 * qk + 2 * v) + ((2 * qk + 2 * v) if bias else 0)
        total += 2 * (hidden * r.num_heads + r.num_heads)  # input and forget gates
        total += v * (2 if bias else 1)  # multi-head norm
        total += v * hidden + (hidden if bias else 0)
        return total

    def state(self, r: RecurrentSpec) -> State:
        heads, dk, dv = r.num_heads, r.key_head_dim, r.value_head_dim
        return State(conv=0, recurrent=heads * (dk * dv + dk + 1))

    def flops_per_token(self, r: RecurrentSpec) -> float:
        # decay and rank-1 update of C, its read by q, and the normaliser: ~4 per element of C
        return 4.0 * r.num_heads * r.key_head_dim * r.value_head_dim


class ConvHistory(Mixer):
    """The constant state an attention layer keeps beside its per-token K/V cache when it
    runs causal convolutions or a delayed projection (its weights are the attention
    layer's, counted by the adapter, so this mixer holds no parameters of its own):

    - ZAYA's Compressed Convolutional Attention (arXiv 2510.04476; transformers'
      `ZayaCCAProjection`): q and k pass two stacked causal convs (kernels t0, t1) over
      (Hq + Hkv) × D channels, `conv_kernel` = their receptive field t0 + t1 − 1; half of
      each value head is the previous token's delayed projection (Hkv × D/2, given as
      value heads × value head size);
    - Inkling's short convolutions (`InklingShortConvolution`, kernel K): on k and v
      (Hkv × D each) and on the attention and MLP inputs (h each).

    State: d_inner channels × (conv_kernel − 1) past inputs (vLLM's conv-state convention),
    plus the delayed values."""

    variant = "conv_history"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        return 0

    def state(self, r: RecurrentSpec) -> State:
        return State(
            conv=_conv_window(r.d_inner, r.conv_kernel),
            recurrent=r.num_value_heads * r.value_head_dim,
        )

    def flops_per_token(self, r: RecurrentSpec) -> float:
        return 0.0  # the convs' multiply-adds are counted with the attention layer's weights


class Unknown(Mixer):
    """A constant-state mixer archlint cannot describe: no parameters or state are claimed;
    the coverage block says so, and a tensor table (when present) still counts it exactly."""

    variant = "unknown"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        return 0

    def state(self, r: RecurrentSpec) -> State:
        return State(conv=0, recurrent=0)


BUILTIN_MIXERS: tuple[Mixer, ...] = (
    GatedDeltaNet(), Mamba1(), Mamba2(), ShortConv(), RGLRU(), Lightning(), KimiDeltaAttention(),
    FullGateKDA(), RWKV4(), MLSTM(), ConvHistory(), Unknown(),
)
#: variant → formulas; the family registry (archlint.families.registry) fills it from the
#: built-in pack and any installed plugin pack
MIXERS: dict[str, Mixer] = {m.variant: m for m in BUILTIN_MIXERS}


def mixer(r: RecurrentSpec) -> Mixer:
    """The formulas of a recurrent spec's variant; an unknown variant claims nothing."""
    return MIXERS.get(r.variant) or MIXERS.get("unknown") or Unknown()
