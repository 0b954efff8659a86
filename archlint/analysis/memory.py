"""KV-cache sizing, following vLLM's conventions (the runtime most users deploy on).

Per layer and token, in the cache dtype (vLLM `kv_cache_dtype=auto`: the model's activation
dtype):
- softmax attention: num_kv_heads × (head_dim + v_head_dim) elements (K and V; the factor 2
  when they share a head size). Llama-2-70B: 2 × 80 × 8 × 128 × 2 B = 327,680 B/token.
- MLA: one latent of kv_lora_rank + qk_rope_head_dim per token per layer, no factor 2
  (DeepSeek-V2 §2.1.2; vLLM's MLA layout). DeepSeek-V3: 61 × 576 × 2 B = 70,272 B/token.
- sliding-window layers hold at most `window` tokens, chunked-local layers (Llama 4) at most
  `chunk` tokens: their cache stops growing.
- linear-attention / SSM layers hold a constant recurrent state (Gated DeltaNet: one
  key_head_dim × value_head_dim matrix per value head, plus the causal-conv window), in the
  model's dtype whatever the KV-cache dtype (vLLM's separate `mamba_cache_dtype=auto`). A
  declared `mamba_ssm_cache_dtype` (Nemotron-H: float32) applies to the recurrent part only:
  vLLM's `MambaStateDtypeCalculator._mamba_state_dtype` keeps the conv window in the
  `mamba_cache_dtype` and gives the temporal (SSM) state the SSM dtype.
- a layer that reads another layer's K/V (Gemma-3n, Hunyuan CLA) caches nothing itself;
  cross-attention layers cache the encoder's tokens, per encoder token, not per generated one
  (reported apart from the per-token cache).
- DeepSeek-V3.2's sparse-attention indexer adds its fp8 keys beside the MLA latent.
- DeepSeek-V4's layers cache one K=V head (`kv_single`: head_dim once) over their sliding
  window, and, where a compressor runs (CSA, HCA), one compressed entry per `rate` tokens
  that grows with the context (kind `compressed`, head_dim / rate per token; CSA's indexer
  keys add indexer_head_dim / rate).
- a Transformer-XL memory (XLNet's `mems`) holds each layer's input hidden state, d_model
  per token (`cache_width`), not K/V: keys and values are recomputed from it each step.
- encoder-only models have no KV cache.
"""

from __future__ import annotations

from archlint.mixers import mixer
from archlint.records import Record, record
from archlint.spec import AttentionSpec, ModelSpec


# The byte figures are floats (a dtype may be 0.5 or 1.0625 bytes per element); the
# constructors below pass floats, as the pydantic model coerced its ints (the JSON keeps `0.0`).
@record
class LayerKV(Record):
    index: int
    kind: str  # full | sliding | chunked | mla | linear | shared | cross | compressed | none
    bytes_per_token: float  # while the layer's cache still grows
    cap_tokens: int | None  # window/chunk; None = grows with context
    state_bytes: float = 0  # constant state (linear/SSM layers), per sequence
    bytes_per_encoder_token: float = 0  # cross-attention: per encoder (image/audio) token


@record
class KVCache(Record):
    dtype: str
    dtype_bytes: float
    state_dtype: str  # linear/SSM state (the model's dtype, not --kv-dtype)
    bytes_per_token: int  # layers that grow without bound only
    bytes_at_context: int  # total for `context` tokens × `batch` sequences
    context: int
    batch: int
    layers_full: int
    layers_windowed: int
    layers_linear: int
    mha_equivalent_bytes_per_token: int  # same layers, same heads, one KV head per query head
    bytes_per_token_local: int  # what windowed layers add per token until they are capped
    state_bytes: int  # constant linear/SSM state per sequence
    layers_shared: int = 0  # layers reading another layer's K/V (no cache of their own)
    layers_cross: int = 0  # cross-attention layers (cache per encoder token)
    cross_bytes_per_encoder_token: int = 0  # not in bytes_at_context: scales with the input
    # the MTP modules' own cache per token, windows uncapped, when serving drafts with them
    # (vLLM's MTP proposer keeps a KV cache per module's attention, as for a layer): optional,
    # so in neither bytes_per_token nor bytes_at_context
    mtp_bytes_per_token: int = 0
    per_layer: list[LayerKV]


#: DeepSeek-V3.2's indexer keys are cached in fp8 with one fp32 scale per 128 values
#: (vLLM's `DeepseekV32IndexerCache`: head size index_head_dim + index_head_dim // 128 × 4 B).
INDEXER_QUANT_BLOCK = 128


def indexer_bytes_per_token(att: AttentionSpec) -> int:
    ix = att.indexer
    if ix is None:
        return 0
    return ix.head_dim + ix.head_dim // INDEXER_QUANT_BLOCK * 4


def layer_kv(
    index: int,
    att: AttentionSpec,
    dtype_bytes: float,
    state_bytes: float,
    conv_bytes: float | None = None,
) -> LayerKV:
    """One layer's cache: `dtype_bytes` per KV element, `state_bytes` per recurrent-state one,
    `conv_bytes` per conv-window one (default `state_bytes`)."""
    if att.kind == "none":
        return LayerKV(index=index, kind="none", bytes_per_token=0.0, cap_tokens=None)
    if att.kind == "linear":
        held = 0.0
        if att.linear is not None:
            state = mixer(att.linear).state(att.linear)
            conv = state_bytes if conv_bytes is None else conv_bytes
            held = state.conv * conv + state.recurrent * state_bytes
        return LayerKV(
            index=index,
            kind="linear",
            bytes_per_token=0.0,
            cap_tokens=None,
            state_bytes=float(held),
        )
    if att.kv_shared_from is not None:
        # Reads the cache layer `kv_shared_from` wrote: nothing of its own (vLLM's KV sharing).
        return LayerKV(index=index, kind="shared", bytes_per_token=0.0, cap_tokens=None)
    if att.kind == "mla":
        per_token = ((att.kv_lora_rank or 0) + (att.qk_rope_head_dim or 0)) * dtype_bytes
        per_token += indexer_bytes_per_token(att)
        kind = "mla"
    else:
        values = 0 if att.kv_single else att.v_head_dim
        per_token = att.num_kv_heads * (att.head_dim + values) * dtype_bytes
        if att.cache_width is not None:
            per_token = att.cache_width * dtype_bytes
        kind = "full"
    if att.source == "encoder":
        # Cross-attention caches the encoder's (image/audio/source) tokens once per input:
        # it does not grow with generated tokens.
        return LayerKV(
            index=index, kind="cross", bytes_per_token=0.0, cap_tokens=None,
            bytes_per_encoder_token=float(per_token),
        )
    cap = att.window or att.chunk
    if att.window:
        kind = "sliding"
    elif att.chunk:
        kind = "chunked"
    return LayerKV(index=index, kind=kind, bytes_per_token=float(per_token), cap_tokens=cap)


def compressed_kv(index: int, att: AttentionSpec, dtype_bytes: float) -> LayerKV | None:
    """The entries a DeepSeek-V4 compressor caches beside its layer's window: one of
    head_dim (+ the indexer's keys, indexer_head_dim) per `rate` tokens, growing with the
    context (DeepSeek-V4 report §2.3; transformers' DeepseekV4HCACache / DeepseekV4CSACache
    `compressed_kv`). None for a layer without one."""
    c = att.compressor
    if c is None or c.rate < 1:
        return None
    width = c.head_dim + (c.indexer_head_dim if c.indexer_heads else 0)
    return LayerKV(
        index=index, kind="compressed", bytes_per_token=width / c.rate * dtype_bytes,
        cap_tokens=None,
    )


def mha_equivalent(att: AttentionSpec, dtype_bytes: float) -> float:
    """What the layer would cache with one KV head per query head (the GQA/MQA/MLA baseline)."""
    if att.kind in ("linear", "none"):
        return 0
    return att.num_heads * (att.head_dim + att.v_head_dim) * dtype_bytes


def kv_cache(
    spec: ModelSpec,
    *,
    dtype: str,
    dtype_bytes: float,
    context: int,
    batch: int,
    state_dtype: tuple[str, float] | None = None,
    conv_bytes: float | None = None,
) -> KVCache:
    """The cache for `batch` sequences of `context` tokens; `state_dtype` (name, bytes) is the
    recurrent-state dtype of linear layers, by default the KV dtype, and `conv_bytes` the size
    of a conv-window element (default: the recurrent state's)."""
    state_name, state_bytes = state_dtype or (dtype, dtype_bytes)
    layers: list[LayerKV] = []
    if spec.architecture != "encoder":
        for layer in spec.layers:
            for mix in layer.mixers():
                layers.append(layer_kv(layer.index, mix, dtype_bytes, state_bytes, conv_bytes))
                compressed = compressed_kv(layer.index, mix, dtype_bytes)
                if compressed is not None:
                    layers.append(compressed)
    growing = sum(lkv.bytes_per_token for lkv in layers if lkv.cap_tokens is None)
    local = sum(lkv.bytes_per_token for lkv in layers if lkv.cap_tokens is not None)
    at_context = 0.0
    for lkv in layers:
        tokens = context if lkv.cap_tokens is None else min(context, lkv.cap_tokens)
        at_context += lkv.bytes_per_token * tokens + lkv.state_bytes
    mha = (
        sum(
            mha_equivalent(layer.attention, dtype_bytes)
            for layer in spec.layers
            if layer.attention.window is None
            and layer.attention.chunk is None
            and layer.attention.source == "self"
            and layer.attention.kv_shared_from is None
        )
        if spec.architecture != "encoder"
        else 0
    )
    # counted by layer index: a DeepSeek-V4 layer has two rows (its window and its compressed
    # entries, which grow), and it is one layer that grows with the context
    growing_layers = {lkv.index for lkv in layers if lkv.kind in ("full", "mla", "compressed")}
    windowed_layers = {lkv.index for lkv in layers if lkv.kind in ("sliding", "chunked")}
    return KVCache(
        dtype=dtype,
        dtype_bytes=float(dtype_bytes),
        state_dtype=state_name,
        bytes_per_token=round(growing),
        bytes_at_context=round(at_context * batch),
        context=context,
        batch=batch,
        layers_full=len(growing_layers),
        layers_windowed=len(windowed_layers - growing_layers),
        layers_linear=sum(1 for lkv in layers if lkv.kind == "linear"),
        mha_equivalent_bytes_per_token=round(mha),
        bytes_per_token_local=round(local),
        state_bytes=round(sum(lkv.state_bytes for lkv in layers)),
        layers_shared=sum(1 for lkv in layers if lkv.kind == "shared"),
        layers_cross=sum(1 for lkv in layers if lkv.kind == "cross"),
        cross_bytes_per_encoder_token=round(sum(lkv.bytes_per_encoder_token for lkv in layers)),
        mtp_bytes_per_token=round(sum(
            layer_kv(layer.index, mix, dtype_bytes, state_bytes, conv_bytes).bytes_per_token
            for layer in spec.mtp_layers for mix in layer.mixers()
        )),
        per_layer=layers,
    )


def kv_bytes_at(kv: KVCache, context: int, batch: int = 1) -> int:
    """The cache at another context and batch, from the per-layer table (for plots, fits)."""
    total = 0.0
    for lkv in kv.per_layer:
        tokens = context if lkv.cap_tokens is None else min(context, lkv.cap_tokens)
        total += lkv.bytes_per_token * tokens + lkv.state_bytes
    return round(total * batch)
