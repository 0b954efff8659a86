"""What transformers itself says about a config: parameters by component and the cache layout.

Nothing here imports archlint: the figures are read off transformers' modules, built on the
meta device (no memory, no weights), and off the cache objects a short meta-device forward
fills in. Never trust_remote_code: only classes transformers ships are built.

Component mapping (parameter → archlint component), first match wins, on the dotted path
of the module that owns the parameter:
- towers: in a multimodal model, anything outside the language model (`get_decoder()`),
  its input embedding and its output head: vision/audio encoders, projectors, resamplers;
- embedding: parameters of `nn.Embedding` modules and of modules named `*embed*` /
  `*position*` / `relative_attention_bias` (token, position, segment tables; T5's bias);
- head: the output embedding (`get_output_embeddings()`), counted once when tied;
- shared_experts: paths through `shared_expert(s)` / `shared_mlp` (Qwen-MoE's
  `shared_expert_gate` included, as archlint counts it);
- routed_experts: paths through `experts`;
- router: a `gate` / `router` module whose parent also holds `experts`;
- norms: modules whose class or name says Norm — except q/k norms (`q_norm`, `k_layernorm`,
  MLA's `q_a_layernorm`/`kv_a_layernorm`) and the norms inside a recurrent mixer (`mixer`,
  `linear_attn`, `mamba`...), which go to attention as archlint counts them;
- attention (the token mixer): paths through `self_attn`, `attn`, `attention`, `cross_attn`,
  `encoder_attn`, `mixer`, `linear_attn`, `mamba`, `ssm`, `conv`...;
- dense_ffn: paths through `mlp`, `feed_forward`, `ffn`, `fc1/fc2`, `intermediate`,
  `DenseReluDense`...;
- other: the rest (BERT's pooler, stray biases).
Tied parameters are counted once (`named_parameters()` yields a shared tensor once, as
`save_pretrained` stores it once).

Cache layout: a meta-device forward of `TOKENS` tokens with `use_cache=True`; per cache layer,
K and V elements per token (keys.numel + values.numel over batch 1 and TOKENS tokens; values
that are the keys once: the same tensor, or a block whose attention has one `kv_proj` as wide
as the keys and no `v_proj`, DeepSeek-V4's shared-KV MQA, which vLLM caches once), split
into layers that grow with the context and sliding-window ones; DSA indexer keys are added to
the per-token figure; compressed entries emitted once per `compress_rate` tokens
(DeepSeek-V4) are read off a second forward as long as the largest rate; a cache holding
more positions than the forward fed (CPM-Ant's prompt prefix) is read as growth between
forwards of TOKENS and 2·TOKENS tokens;
linear-attention / SSM layers give their conv and recurrent states; a reference
sliding-window layer's prefill (kept apart from its window, every prompt token for good)
grows with the context.
A model whose forward returns no cache is run again with the cache object it would build,
which it fills in place; state a module keeps on itself (RecurrentGemma) or a cache keeps
beside its layers (MiniMaxCache.linear_cache) is added. An
all-recurrent stack is run with position ids and per-kind masks given (its forward would ask
the cache for a length only attention layers know).
Two conventions follow vLLM, which archlint sizes for:
- MLA (`kv_a_proj_with_mqa` present): vLLM caches the compressed latent, transformers the
  expanded per-head K/V; the per-token figure is the latent width, read off the module
  (`kv_a_proj_with_mqa.out_features` = kv_lora_rank + qk_rope_head_dim).
- conv state: transformers keeps d_conv columns, vLLM d_conv − 1 (the newest input is not
  state); the observed conv state is scaled by (d_conv − 1)/d_conv.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

TOKENS = 3

_TOWER_HINT = re.compile(
    r"(vision|visual|image|audio|speech|multi_modal|mm_projector|projector|resampler|perceiver|"
    r"qformer|patch|connector|encoder)"
)
_EMBED = re.compile(r"(embed|position|relative_attention_bias|wte|wpe|word_emb)", re.I)
_SHARED = re.compile(r"(^|\.)(shared_experts?|shared_mlp|shared_expert_gate)(\.|$)")
_EXPERTS = re.compile(r"(^|\.)experts(\.|$)")
_MIXER = re.compile(
    r"(^|\.)(self_attn|attn|attention|self_attention|selfattention|cross_attn|cross_attention|"
    r"crossattention|encoder_attn|encdecattention|mixer|linear_attn|mamba|ssm|conv|"
    r"token_mixer|temporal_block|recurrent_block|rwkv|time_mix|short_conv|mamba2?_block|"
    r"self_attention_layer)(\.|$)",
    re.I,
)
_QK_NORM = re.compile(r"^(q|k|query|key|q_a|kv_a)_?(norm|layernorm|ln)$", re.I)
_RECURRENT = re.compile(r"(^|\.)(mixer|linear_attn|mamba|ssm|time_mix|short_conv)(\.|$)")
_FFN = re.compile(
    r"(^|\.)(mlp|feed_forward|feedforward|ffn|fc1|fc2|fc_in|fc_out|intermediate|output|"
    r"densereludense|moe|block_sparse_moe|channel_mix|ffn_layer|c_fc|c_proj|wi|wo)(\.|$)",
    re.I,
)


@dataclass
class TFFigures:
    model_class: str
    total: int
    by_component: dict[str, int]
    kv_full: float | None = None  # elements per token, layers that grow with the context
    kv_window: float | None = None  # elements per token, sliding-window layers
    state: float | None = None  # constant recurrent + conv state elements per sequence
    kv_error: str | None = None  # why the cache was not observed
    cache_layers: list[str] = field(default_factory=list)  # cache layer kinds, in order


MODEL_PRIORITY = {
    "decoder": ("causal_lm", "base"),
    "encoder": ("base", "masked_lm"),
    "encoder-decoder": ("seq_to_seq_causal_lm", "base"),
    "multimodal": (
        "image_text_to_text",
        "multimodal_lm",
        "speech_seq_2_seq",
        "seq_to_seq_causal_lm",
        "causal_lm",
        "vision_2_seq",
        "base",
    ),
}


def model_class_for(
    models: dict[str, str], category: str, config: dict[str, Any] | None = None
) -> str | None:
    """The class to count. An encoder checkpoint holds the class its `architectures` names
    when that is one of the type's own (BertForMaskedLM has no pooler but an MLM head;
    ModernBertForMaskedLM adds a head to the base model), as a real repo's weights do."""
    named = (config or {}).get("architectures")
    if category == "encoder" and isinstance(named, list) and named and named[0] in (
        models.values()
    ):
        return str(named[0])
    for key in MODEL_PRIORITY.get(category, ("base",)):
        if key in models:
            return models[key]
    return None


def build_config(model_type: str, config: dict[str, Any]) -> Any:
    from transformers import CONFIG_MAPPING

    cls = CONFIG_MAPPING[model_type]
    # A deep copy: configuration classes rewrite nested sub-config dicts in place (Qwen2.5-VL's
    # text_config), and archlint must read the config as the repo ships it.
    data = copy.deepcopy({k: v for k, v in config.items() if k not in ("auto_map",)})
    return cls.from_dict(data)


def build_model(class_name: str, config: Any) -> Any:
    import torch
    import transformers

    cls = getattr(transformers, class_name)
    # bf16 because grouped-GEMM MoE kernels refuse fp32 even on meta; the dtype changes no
    # shape or count.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("meta"):
            model = cls(config)
    finally:
        torch.set_default_dtype(previous)
    model.eval()
    return model


def _module_ids(module: Any) -> set[int]:
    return {id(p) for p in module.parameters()} if module is not None else set()


def _language_model(model: Any) -> Any:
    for getter in ("get_decoder",):
        try:
            lm = getattr(model, getter)()
            if lm is not None and lm is not model:
                return lm
        except Exception:
            continue
    return None


def component_counts(model: Any, multimodal: bool) -> tuple[int, dict[str, int]]:
    """Total parameters and the per-component split (the mapping in the module docstring)."""
    counts: dict[str, int] = {}
    owner: dict[int, tuple[str, Any, Any]] = {}
    for mod_name, module in model.named_modules():
        for p_name, param in module.named_parameters(recurse=False):
            owner.setdefault(id(param), (mod_name, module, p_name))
    head_ids = set()
    try:
        head = model.get_output_embeddings()
        head_ids = _module_ids(head)
    except Exception:
        head = None
    try:
        in_ids = _module_ids(model.get_input_embeddings())
    except Exception:
        in_ids = set()
    lm_ids: set[int] | None = None
    if multimodal:
        lm = _language_model(model)
        if lm is not None:
            lm_ids = _module_ids(lm) | in_ids | head_ids
    modules = dict(model.named_modules())
    total = 0
    for _name, param in model.named_parameters():
        n = param.numel()
        total += n
        mod_name, module, _ = owner[id(param)]
        comp = classify(mod_name, module, id(param), modules, in_ids, head_ids, lm_ids)
        counts[comp] = counts.get(comp, 0) + n
    return total, counts


def classify(
    path: str,
    module: Any,
    pid: int,
    modules: dict[str, Any],
    in_ids: set[int],
    head_ids: set[int],
    lm_ids: set[int] | None,
) -> str:
    import torch

    if lm_ids is not None and pid not in lm_ids:
        return "towers"
    if pid in in_ids and pid not in head_ids:
        return "embedding"
    if pid in head_ids and pid in in_ids:
        return "embedding"  # tied: stored once, as the input table
    if pid in head_ids:
        return "head"
    last = path.rsplit(".", 1)[-1]
    if isinstance(module, torch.nn.Embedding) or _EMBED.search(last):
        return "embedding"
    if _SHARED.search(path):
        return "shared_experts"
    if _EXPERTS.search(path):
        return "routed_experts"
    if last in ("gate", "router") or path.endswith(".router.classifier"):
        parent = modules.get(path.rsplit(".", 1)[0]) if "." in path else None
        if parent is not None and hasattr(parent, "experts"):
            return "router"
    if ".router." in f".{path}." or path.endswith(".router"):
        return "router"
    if _is_norm(module, last):
        # q/k norms and a recurrent mixer's inner norm belong to the mixer (archlint counts
        # them there); block and final norms (BERT's post-attention LayerNorm too) are norms.
        return "attention" if _QK_NORM.search(last) or _RECURRENT.search(path) else "norms"
    if _MIXER.search(path):
        return "attention"
    if _FFN.search(path):
        return "dense_ffn"
    return "other"


def _is_norm(module: Any, last: str) -> bool:
    return "norm" in type(module).__name__.lower() or "norm" in last.lower()


def forward_inputs(
    model: Any, category: str, device: str = "meta", tokens: int = TOKENS
) -> dict[str, Any]:
    import torch

    ids = torch.zeros((1, tokens), dtype=torch.long, device=device)
    kwargs: dict[str, Any] = {"input_ids": ids, "use_cache": True}
    if category == "encoder-decoder" or getattr(model.config, "is_encoder_decoder", False):
        kwargs["decoder_input_ids"] = ids
    return kwargs


def _forward_fallback(model: Any, category: str, device: str) -> tuple[Any, Any]:
    """(the module run, its output) when the plain forward failed: a multimodal model's
    language model alone (it may insist on pixel/audio inputs), else an encoder-decoder's
    decoder over a ready-made encoder output (`_encoder_outputs`; only decoder inputs are
    given, since a speech encoder-decoder takes no `input_ids`). Re-raises the last failure."""
    lm = _language_model(model) if category == "multimodal" else None
    if lm is not None:
        try:
            return lm, _forward(lm, forward_inputs(lm, "decoder", device))
        except Exception:
            if _encoder_outputs(model, category, device) is None:
                raise
    hidden = _encoder_outputs(model, category, device)
    if hidden is None:
        raise
    kwargs = forward_inputs(model, category, device)
    ids = kwargs.get("decoder_input_ids", kwargs["input_ids"])
    channels = getattr(getattr(model.config, "decoder_config", None), "num_channels", None)
    if isinstance(channels, int) and not isinstance(channels, bool) and channels > 0:
        # a decoder over several codebooks reads one id per channel and token (Dia's
        # num_channels): the cache is still one K/V per token
        import torch

        ids = torch.zeros((*ids.shape, channels), dtype=ids.dtype, device=ids.device)
    kwargs = {"decoder_input_ids": ids, "use_cache": True, "encoder_outputs": hidden}
    return model, _forward(model, kwargs)


def _encoder_outputs(model: Any, category: str, device: str) -> Any:
    """An encoder-decoder's encoder output given ready-made (zeros of the encoder's width),
    so that the forward runs the decoder alone: some encoders cannot run on the meta device
    or under `use_cache` (T5Gemma's bidirectional mask calls `.item()` on its padding mask;
    Switch Transformers' encoder stack refuses `use_cache` unless it is a decoder). What the
    encoder computes changes no cache shape: the cross-attention cache is sized by the
    encoder's length, which stays `TOKENS`. None when the model is no encoder-decoder."""
    import torch

    config = model.config
    if not (category == "encoder-decoder" or getattr(config, "is_encoder_decoder", False)):
        return None
    width = None
    for cfg in (getattr(config, "encoder", None), getattr(config, "encoder_config", None), config):
        for key in ("hidden_size", "d_model"):
            value = getattr(cfg, key, None) if cfg is not None else None
            if isinstance(value, int) and not isinstance(value, bool):
                width = width or value
    if width is None:
        return None
    dtype = next(model.parameters()).dtype
    hidden = torch.zeros((1, TOKENS, width), dtype=dtype, device=device)
    return _encoder_output_class()(last_hidden_state=hidden)


def _encoder_output_class() -> Any:
    """An encoder output with the fields decoders read off one: a plain encoder's, a sparse
    one's `router_logits` (Switch Transformers) and the `attention_mask` a subsampling speech
    encoder returns (Cohere ASR); all but the hidden state None."""
    from dataclasses import dataclass as _dataclass

    from transformers.modeling_outputs import MoEModelOutput

    @_dataclass
    class EncoderOutput(MoEModelOutput):
        attention_mask: Any = None

    return EncoderOutput


def _mla_latents(model: Any) -> list[int]:
    return [
        m.out_features
        for name, m in model.named_modules()
        if name.endswith("kv_a_proj_with_mqa") and hasattr(m, "out_features")
    ]


def observe_cache(
    model: Any, category: str, device: str = "meta"
) -> tuple[float, float, float, list[str]]:
    """(full per-token elements, windowed per-token elements, state elements, layer kinds)."""
    import torch

    if not _takes_cache(model) and not model.can_generate():
        # a model that neither takes a cache nor generates (ViLT's encoder over text and
        # image patches) keeps no K/V: nothing to observe, and a forward would only ask
        # for the images it encodes
        return 0.0, 0.0, 0.0, []
    with torch.no_grad():
        try:
            runner, out = model, _forward(model, forward_inputs(model, category, device))
        except Exception:
            given = _image_inputs(model, device) or _stream_ids(model, device)
            if not given:
                runner, out = _forward_fallback(model, category, device)
            else:
                runner = model
                out = _forward(model, {**forward_inputs(model, category, device), **given})
        cache = getattr(out, "past_key_values", None)
        if cache is None:
            cache = getattr(out, "cache_params", None)  # Mamba / Falcon-Mamba outputs
        if cache is None:
            cache = _cache_filled_in_place(runner, category, device)
    rnn = getattr(cache, "rnn_state", None)
    if isinstance(rnn, dict):
        # xLSTMCache: per layer (C, n, m) of the mLSTM, no layers list
        numel = sum(
            t.numel() for layer in rnn.values() for t in layer if isinstance(t, torch.Tensor)
        )
        return 0.0, 0.0, float(numel), ["rnn_state"] * len(rnn)
    if cache is None and _tensor_list(out, "mems"):
        # Transformer-XL recurrence (XLNet): per layer the hidden states of the tokens seen,
        # (tokens, batch, d_model), from which each step recomputes its keys and values;
        # `cache_mem` keeps the last mem_len of them (a window), all when mem_len is unset
        mems = _tensor_list(out, "mems")
        per_token = float(sum(t.numel() for t in mems)) / TOKENS
        kind = "mems (last mem_len)" if getattr(runner.config, "mem_len", None) else "mems"
        if kind == "mems":
            return per_token, 0.0, 0.0, [kind] * len(mems)
        return 0.0, per_token, 0.0, [kind] * len(mems)
    if cache is None and _tensor_list(out, "state"):
        # RWKV returns its recurrent state as a list of (batch, hidden, layers) tensors
        return 0.0, 0.0, float(sum(t.numel() for t in _tensor_list(out, "state"))), ["state"]
    if cache is None and not _takes_cache(runner):
        return _cacheless_kv(runner)
    if cache is None:
        raise RuntimeError("forward returned no past_key_values")
    full, window, state, kinds = _read_cache(model, cache)
    if _holds_more_rows(cache):
        full, window = _growth(model, runner, category, device, full, window)
    full += _compressed_per_token(runner, cache, category, device)
    return full, window, state + _module_held_state(runner), kinds


def _image_inputs(model: Any, device: str) -> dict[str, Any]:
    """One zero image for a model whose forward insists on images it cross-attends to
    (Idefics: `pixel_values` (batch, images, channels, size, size) and an
    `image_attention_mask` (batch, tokens, images)): the cache holds the text tokens'
    self-attention K/V, and the image only feeds the cross-attention layers. {} for a model
    without that form."""
    import inspect

    import torch

    params = inspect.signature(model.forward).parameters
    vision = getattr(model.config, "vision_config", None)
    size = getattr(vision, "image_size", None)
    if "image_attention_mask" not in params or not isinstance(size, int):
        return {}
    channels = getattr(vision, "num_channels", 3)
    dtype = next(model.parameters()).dtype
    return {
        "pixel_values": torch.zeros((1, 1, channels, size, size), dtype=dtype, device=device),
        "image_attention_mask": torch.ones((1, TOKENS, 1), dtype=torch.long, device=device),
    }


def _stream_ids(model: Any, device: str) -> dict[str, Any]:
    """Token ids for an embedding that reads several streams per position (Kyutai's
    speech-to-text: one id per audio codebook and the text, each offset into one table by
    `audio_tokens_offsets`): input_ids (batch, tokens, streams). The cache is still one
    K/V per position. {} for a model whose input embedding has no such offsets."""
    import torch

    try:
        embed = model.get_input_embeddings()
    except Exception:
        return {}
    offsets = getattr(embed, "audio_tokens_offsets", None)
    if not isinstance(offsets, torch.Tensor) or offsets.dim() != 1:
        return {}
    shape = (1, TOKENS, int(offsets.shape[0]))
    return {"input_ids": torch.zeros(shape, dtype=torch.long, device=device)}


def _holds_more_rows(cache: Any) -> bool:
    """A cache layer holds more positions than the forward fed: the model prepends tokens of
    its own (CPM-Ant's `prompt_length` prompt positions), which the cache keeps once per
    sequence, not once per generated token."""
    import torch

    for layer in getattr(cache, "layers", None) or []:
        keys = getattr(layer, "keys", None)
        if isinstance(keys, torch.Tensor) and keys.dim() >= 2 and keys.shape[-2] > TOKENS:
            return True
    return False


def _growth(
    model: Any, runner: Any, category: str, device: str, full: float, window: float
) -> tuple[float, float]:
    """Per-token figures as growth: the forward again at twice TOKENS, and the elements the
    extra TOKENS tokens added (a constant prefix cancels out)."""
    import torch

    with torch.no_grad():
        out = _forward(runner, forward_inputs(runner, category, device, 2 * TOKENS))
    full2, window2, _, _ = _read_cache(model, out.past_key_values, 2 * TOKENS)
    # full2 counts numel / (2T), full numel / T: (numel2 - numel1) / T = 2·full2 - full
    return 2 * full2 - full, 2 * window2 - window


def _compressed_per_token(model: Any, cache: Any, category: str, device: str) -> float:
    """Elements per token of the compressed entries a cache layer emits once per
    `compress_rate` tokens (DeepSeek-V4's CSA / HCA caches: `compressed_kv` by entry name,
    the compressor's and the indexer's), which a TOKENS-token forward never fills: the
    forward is run again for as many tokens as the largest rate, and each layer's entries
    are divided by that length. 0 for a cache without such layers."""
    import torch

    rates = [getattr(layer, "compress_rate", None) for layer in getattr(cache, "layers", [])
             if isinstance(getattr(layer, "compressed_kv", None), dict)]
    rates = [r for r in rates if isinstance(r, int) and r > 0]
    if not rates:
        return 0.0
    tokens = max(rates)
    with torch.no_grad():
        out = _forward(model, forward_inputs(model, category, device, tokens))
    total = 0.0
    for layer in getattr(out.past_key_values, "layers", []):
        for entries in (getattr(layer, "compressed_kv", None) or {}).values():
            if isinstance(entries, torch.Tensor):
                total += entries.numel()
    return total / tokens


def _takes_cache(model: Any) -> bool:
    import inspect

    params = inspect.signature(model.forward).parameters
    return "past_key_values" in params or "use_cache" in params


_BLOCK = re.compile(r"(?:^|\.)(?:layers|h|layer|blocks|block)\.\d+$")
_KV_PROJ = re.compile(r"^(k|v|key|value|k_proj|v_proj|wk|wv)$", re.I)
_QKV_PROJ = re.compile(r"^(c_attn|qkv|qkv_proj|query_key_value|wqkv)$", re.I)


def _cacheless_kv(model: Any) -> tuple[float, float, float, list[str]]:
    """A model whose forward takes no cache at all (OpenAI GPT): transformers keeps no K/V,
    so what a decoding server would cache is read off its attention modules instead: per
    block, the output widths of the k and v projections (two thirds of a fused q/k/v
    projection, whose three parts are equal in these MHA models). Every such layer grows
    with the context."""
    full = 0.0
    kinds = []
    for name, block in model.named_modules():
        if not _BLOCK.search(name):
            continue
        width = 0
        for sub, module in block.named_modules():
            if not _MIXER.search("." + sub) or not hasattr(module, "weight"):
                continue
            last = sub.rsplit(".", 1)[-1]
            out = getattr(module, "out_features", None) or getattr(module, "nf", None) or 0
            if _KV_PROJ.match(last):
                width += int(out)
            elif _QKV_PROJ.match(last):
                width += int(out) * 2 // 3
        if width:
            full += width
            kinds.append("no cache (k/v projections)")
    if not kinds:
        raise RuntimeError("forward takes no cache and no k/v projection was found")
    return full, 0.0, 0.0, kinds


def _tensor_list(out: Any, name: str) -> list[Any]:
    """The per-layer tensors an output returns as a list under `name` (RWKV's `state`,
    XLNet's `mems`), or []."""
    import torch

    held = getattr(out, name, None)
    if isinstance(held, (list, tuple)) and held and all(
        isinstance(t, torch.Tensor) for t in held
    ):
        return list(held)
    return []


def _forward(model: Any, kwargs: dict[str, Any]) -> Any:
    """One forward; a stack of recurrent layers alone is run again with position ids and a
    mask per layer kind given, because transformers' forward asks the cache for its length
    (for the positions and the causal mask) and only attention layers know it (`get_seq_length`
    raises on a cache of LinearAttention layers: Bamba, Granite-4.0-H with no attention
    layer)."""
    try:
        return model(**kwargs)
    except ValueError as exc:
        if "get_seq_length" not in str(exc):
            raise
    import torch

    ids = kwargs["input_ids"]
    kinds = {"full_attention", "sliding_attention", "linear_attention"}
    for key in ("layer_types", "layers_block_type"):
        declared = getattr(model.config, key, None)
        if isinstance(declared, (list, tuple)):
            kinds.update(str(k) for k in declared)
    position_ids = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
    # None per kind: no mask tensor, which on the meta device changes no cache shape
    return model(**kwargs, position_ids=position_ids, attention_mask=dict.fromkeys(kinds))


def _cache_filled_in_place(model: Any, category: str, device: str) -> Any:
    """A model whose forward keeps its cache to itself (RecurrentGemma builds a DynamicCache
    and returns none): run it again with the cache object it would build, which it fills in
    place. None when the model takes no cache."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    try:
        _forward(model, {**forward_inputs(model, category, device), "past_key_values": cache})
    except TypeError:
        return None
    return cache if any(_layer_filled(layer) for layer in cache.layers) else None


def _layer_filled(layer: Any) -> bool:
    import torch

    keys = getattr(layer, "keys", None)
    return isinstance(keys, torch.Tensor) and keys.numel() > 0


#: recurrent state a module keeps on itself instead of in the cache object (RecurrentGemma's
#: recurrent block: `conv1d_state` of conv1d_width − 1 columns, as vLLM keeps it, and the
#: RG-LRU's `recurrent_states`)
MODULE_STATE_ATTRS = ("conv1d_state", "recurrent_states")


def _module_held_state(model: Any) -> float:
    import torch

    total = 0.0
    for module in model.modules():
        for attr in MODULE_STATE_ATTRS:
            value = getattr(module, attr, None)
            if isinstance(value, torch.Tensor):
                total += value.numel()
    return total


def _read_cache(
    model: Any, cache: Any, tokens: int = TOKENS
) -> tuple[float, float, float, list[str]]:
    import torch

    if hasattr(cache, "self_attention_cache"):
        cache = cache.self_attention_cache
    layers = getattr(cache, "layers", None)
    if layers is None:
        raise RuntimeError(f"cache {type(cache).__name__} has no layers")
    full = window = state = 0.0
    kinds: list[str] = []
    latents = _mla_latents(model)
    blocks = _decoder_layers(model)
    attn_i = 0
    for i, layer in enumerate(layers):
        kind = type(layer).__name__
        kinds.append(kind)
        keys = getattr(layer, "keys", None)
        values = getattr(layer, "values", None)
        if isinstance(keys, torch.Tensor) and keys.numel():
            # keys that are also the values (DeepSeek-V4's shared-KV MQA) are held once
            held = values is not None and values is not keys and not _values_are_keys(
                blocks[i] if i < len(blocks) else None, keys.numel() / tokens
            )
            per_token = (keys.numel() + (values.numel() if held else 0)) / tokens
            if latents and attn_i < len(latents):
                per_token = latents[attn_i]
            attn_i += 1
            idx = getattr(layer, "indexer_keys", None)
            if isinstance(idx, torch.Tensor) and idx.numel():
                per_token += idx.numel() / tokens
            if getattr(layer, "is_sliding", False) or "Sliding" in kind:
                window += per_token
            else:
                full += per_token
        full += _prefill_per_token(layer, tokens)
        state += _layer_state(layer, _conv_kernels(blocks[i]) if i < len(blocks) else None)
    # MiniMaxCache keeps each lightning layer's K^T V matrix beside its layers, in a list
    for t in getattr(cache, "linear_cache", None) or []:
        if isinstance(t, torch.Tensor):
            state += t.numel()
            kinds.append("linear")
    return full, window, state, kinds


def _prefill_per_token(layer: Any, tokens: int) -> float:
    """K/V elements per token a cache layer keeps apart for the prefill: a reference
    sliding-window layer (Unlimited-OCR's R-SWA, `prefill_keys` / `prefill_values`) holds
    every prompt token for good and windows only the decoded ones, so its prompt grows with
    the context like a full layer's (the forward here is all prefill). 0 for other layers."""
    import torch

    held = [getattr(layer, name, None) for name in ("prefill_keys", "prefill_values")]
    return sum(t.numel() for t in held if isinstance(t, torch.Tensor)) / tokens


def _values_are_keys(block: Any, key_width: float) -> bool:
    """The block's attention reads its values off the key projection: one `kv_proj` exactly
    as wide as the cached keys and no `v_proj` (DeepSeek-V4's shared-KV MQA, whose sliding
    layers transformers' generic cache stores twice, as keys and as values; vLLM's
    DeepSeek-V4 window cache holds one head of head_dim). A fused k/v projection is twice
    the key width and does not match."""
    attn = getattr(block, "self_attn", None)
    kv = getattr(attn, "kv_proj", None)
    width = getattr(kv, "out_features", None)
    return isinstance(width, int) and not hasattr(attn, "v_proj") and width == key_width


def _decoder_layers(model: Any) -> list[Any]:
    """The decoder blocks, in cache order (the longest ModuleList named `layers`/`h`/
    `blocks` of the language model), or [] when none is found."""
    import torch

    best: list[Any] = []
    root = _language_model(model) or model
    for name, module in root.named_modules():
        if isinstance(module, torch.nn.ModuleList) and name.rsplit(".", 1)[-1] in (
            "layers", "h", "blocks"
        ) and len(module) > len(best):
            best = list(module)
    return best


def _conv_kernels(block: Any) -> list[int]:
    """The temporal kernel sizes of a block's causal 1-d convolutions."""
    import torch

    return [
        int(m.kernel_size[0]) for m in block.modules()
        if isinstance(m, torch.nn.Conv1d) and m.kernel_size[0] > 1
    ]


def conv_state_share(width: int, kernels: list[int]) -> float:
    """The share of a conv state `width` columns wide that vLLM keeps (d_conv − 1 columns of
    past input per kernel d_conv), judged by the width against the block's own kernels:
    Mamba's and the delta nets' layers keep d_conv columns, the incoming token's among them
    ((d − 1)/d of them are state); a layer whose state is already only the history its convs
    read (Zaya's CCA: (cca_time0 − 1) + (cca_time1 − 1) columns, the new token concatenated
    after them) is whole state. Without kernels to judge by, d_conv = width."""
    history = sum(k - 1 for k in kernels)
    if kernels and width == history:
        return 1.0
    if kernels and width == sum(kernels):
        return (width - len(kernels)) / width
    return (width - 1) / width


def _layer_state(layer: Any, kernels: list[int] | None = None) -> float:
    """A linear-attention cache layer's conv states (scaled to vLLM's d_conv − 1 columns:
    `conv_state_share`, with the kernels of the block the layer caches for) and recurrent
    states."""
    import torch

    state = 0.0
    conv = getattr(layer, "conv_states", None)
    if isinstance(conv, dict):
        for t in conv.values():
            if isinstance(t, torch.Tensor) and t.numel():
                state += t.numel() * conv_state_share(int(t.shape[-1]), kernels or [])
    rec = getattr(layer, "recurrent_states", None)
    if isinstance(rec, dict):
        for t in rec.values():
            if isinstance(t, torch.Tensor):
                state += t.numel()
    return state


#: A CPU fallback forward (when a meta forward cannot run: `.item()` in a mask) allocates
#: the shrunken model for real; above this many elements it is not attempted (1e9 bf16
#: elements is 2 GB: a thinned 2-layer DBRX at --vary sizes, hidden 12,288, holds 0.76e9).
CPU_FALLBACK_MAX_PARAMS = 1_000_000_000


def build_cpu_model(class_name: str, config: Any, dtype: Any = None) -> Any:
    """The model on the CPU with uninitialised-then-zeroed weights (bf16 unless `dtype`
    says otherwise): shapes are what count."""
    import torch
    import transformers
    from transformers.initialization import no_init_weights

    cls = getattr(transformers, class_name)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype or torch.bfloat16)
    try:
        with no_init_weights():
            model = cls(config)
    finally:
        torch.set_default_dtype(previous)
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
    return model.eval()


#: Config keys (at any depth) that size only the FFN or the token table: a cache never has
#: their dimension (K/V are heads x head size, states are per mixer), so a CPU copy may take
#: them small. Matched on the key's name: `intermediate_size`, `moe_intermediate_size`,
#: `ffn_hidden_size` (DBRX's ffn_config), `shared_expert_intermediate_size`, ...
_THIN_KEY = re.compile(r"(^|_)(intermediate_size|ffn_hidden_size|ffn_dim)s?$")
THIN_WIDTH = 64
THIN_VOCAB = 1024
#: expert counts (and top-k, never above them), cut only when the thinned copy is still too
#: big: LongCat-Flash's 512 routed + 256 zero experts hold 1.6e9 weights at width 64
_EXPERT_KEY = re.compile(r"(^|_)(n_routed_experts|num_local_experts|num_experts|"
                         r"moe_num_experts|zero_expert_num)$")
_TOP_K_KEY = re.compile(r"(^|_)(topk|top_k|experts_per_tok|experts_per_token)$")
THIN_EXPERTS = 16


def _thinned(config: dict[str, Any], leaf: Any) -> dict[str, Any]:
    """A deep copy of `config` in which `leaf(key, value, siblings)` may replace any value of
    any nested object (it returns the replacement, or `_KEEP` to walk into the value)."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            new = leaf(str(key), value, node)
            out[key] = walk(value) if new is _KEEP else new
        return out

    return walk(copy.deepcopy(config))


_KEEP = object()


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def thin_experts(config: dict[str, Any]) -> dict[str, Any]:
    """A copy with at most THIN_EXPERTS experts of each kind and a top-k at most that: the
    cache holds no per-expert dimension (the observed cache of a thinned Mixtral is checked
    against its meta forward in tests/conformance/test_harness_parts.py)."""

    def leaf(key: str, value: Any, _: dict[str, Any]) -> Any:
        if _is_count(value) and (_EXPERT_KEY.search(key) or _TOP_K_KEY.search(key)):
            return min(value, THIN_EXPERTS)
        return _KEEP

    return _thinned(config, leaf)


def thin_for_cpu(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of `config` whose FFN widths and vocabulary are cut (to THIN_WIDTH / THIN_VOCAB,
    never below a declared token id): the CPU fallback allocates the model for real, and a
    shrunken DBRX still holds 7.8 B parameters in its 16 experts x 10,752 and 100,352 tokens.
    The forward feeds token 0, and the cache shapes (heads, head size, layers, states) do not
    depend on these keys, so the observed cache is the same (tests/conformance/
    test_harness_parts.py checks one against its meta forward)."""

    def leaf(key: str, value: Any, node: dict[str, Any]) -> Any:
        width = _THIN_KEY.search(key) is not None
        if width and _is_count(value):
            return min(value, THIN_WIDTH)
        if width and isinstance(value, list) and all(_is_count(v) for v in value):
            return [min(v, THIN_WIDTH) for v in value]
        if key == "vocab_size" and isinstance(value, int):
            ids = [v for k, v in node.items() if str(k).endswith("token_id") and _is_count(v)]
            return min(value, max([THIN_VOCAB, *(i + 1 for i in ids)]))
        return _KEEP

    return _thinned(config, leaf)


def observe_cache_cpu(
    class_name: str, config: Any, category: str, params: int,
    model_type: str | None = None, config_dict: dict[str, Any] | None = None,
):
    import torch

    if params > CPU_FALLBACK_MAX_PARAMS and config_dict is not None and model_type:
        # too big to allocate as it is: the same cache from a copy with thin FFNs and table
        # thinned as the class reads it (its defaults included: JetMoe's zoo config names the
        # width ffn_hidden_size, the class intermediate_size)
        full = thin_for_cpu(build_config(model_type, config_dict).to_dict())
        config = build_config(model_type, full)
        params = sum(p.numel() for p in build_model(class_name, config).parameters())
        if params > CPU_FALLBACK_MAX_PARAMS:
            config = build_config(model_type, thin_experts(full))
            params = sum(p.numel() for p in build_model(class_name, config).parameters())
    if params > CPU_FALLBACK_MAX_PARAMS:
        raise RuntimeError(f"meta forward failed and the CPU copy would hold {params:,} params")
    try:
        return observe_cache(build_cpu_model(class_name, config), category, device="cpu")
    except RuntimeError as exc:
        if "expected scalar type" not in str(exc):
            raise
    # a model that builds some tensors of its own in float32 whatever the weights' dtype
    # (XLNet's relative position embedding) runs only in float32; the dtype changes no shape
    return observe_cache(build_cpu_model(class_name, config, torch.float32), category, "cpu")


def _observe_batched(class_name: str, config: Any, category: str):
    """The meta forward again with the experts run as batched matmuls: the grouped-GEMM
    kernel refuses expert widths whose rows are not 16-byte aligned (DeepseekV2Config's
    default moe_intermediate_size 1407); how the experts run changes no cache shape."""
    if getattr(config, "_experts_implementation", None) in (None, "batched_mm"):
        raise RuntimeError("no experts implementation to switch")
    config._experts_implementation = "batched_mm"
    return observe_cache(build_model(class_name, config), category)


def figures(
    model_type: str,
    config: dict[str, Any],
    category: str,
    models: dict[str, str],
    kv_config: dict[str, Any] | None = None,
) -> TFFigures:
    """Parameters from `config`, the cache from `kv_config` (a shrunken copy; default the
    same config)."""
    class_name = model_class_for(models, category, config)
    if class_name is None:
        raise LookupError("no Auto model class for this type")
    cfg = build_config(model_type, config)
    model = build_model(class_name, cfg)
    total, comps = component_counts(model, category == "multimodal")
    fig = TFFigures(model_class=class_name, total=total, by_component=comps)
    if category == "encoder":
        fig.kv_full, fig.kv_window, fig.state = 0.0, 0.0, 0.0
        return fig
    del model
    observe_into(fig, model_type, class_name, kv_config if kv_config is not None else config,
                 category)
    return fig


def observe_into(
    fig: TFFigures, model_type: str, class_name: str, kv_config: dict[str, Any], category: str
) -> None:
    """The cache of `kv_config` into `fig` (its kv_error when it cannot be observed)."""
    fig.kv_error = None
    try:
        small_cfg = build_config(model_type, kv_config)
        small = build_model(class_name, small_cfg)
        try:
            fig.kv_full, fig.kv_window, fig.state, fig.cache_layers = observe_cache(small, category)
        except Exception as meta_exc:
            small_params = sum(p.numel() for p in small.parameters())
            del small
            try:
                fig.kv_full, fig.kv_window, fig.state, fig.cache_layers = _observe_batched(
                    class_name, small_cfg, category
                )
                return fig
            except Exception:
                pass
            try:
                fig.kv_full, fig.kv_window, fig.state, fig.cache_layers = observe_cache_cpu(
                    class_name, small_cfg, category, small_params, model_type, kv_config
                )
            except Exception:
                raise meta_exc from None
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        fig.kv_error = f"{type(exc).__name__}: {msg}"
