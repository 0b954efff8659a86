"""Hybrid GGUF architectures → the config dialect of the transformers model they came from.

llama.cpp stores a hybrid stack's layer mix in two places: the tensors (`blk.N.ssm_*` on a
Mamba layer, `blk.N.attn_*` on an attention layer, `blk.N.shortconv.*` on LFM2's convolution
blocks, `blk.N.ffn_*` where a layer has an MLP) and the metadata (`attention.head_count_kv` is
a per-layer array with 0 on the recurrent layers: `llama-model.cpp` load_hparams sets
`recurrent_layer_arr[i] = n_head_kv(i) == 0` for granitehybrid and lfm2; nemotron_h also
stores a per-layer `feed_forward_length` that is 0 where a block has no MLP). The tensors
decide which layer is what (they are what llama.cpp loads) and the metadata sizes them; where
both are present and disagree the tensors win and a note says so.

The SSM keys follow llama.cpp's converter (`convert_hf_to_gguf.py`, Mamba2Model and its
subclasses): `ssm.inner_size` is d_inner, `ssm.time_step_rank` is the Mamba-2 head count (a
Mamba-2 layer has no Δ low-rank projection), `ssm.group_count` the B/C groups, `ssm.state_size`
d_state, `ssm.conv_kernel` d_conv. Qwen3-Next reuses the same keys for its Gated DeltaNet:
conv kernel, key head dim (state_size), key heads (group_count), value heads (time_step_rank)
and value heads × value head dim (inner_size).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from archlint.checkpoint import TensorInfo

_BLOCK = re.compile(r"^blk\.(\d+)\.(.+?)(?:\.(?:weight|bias))?$")

#: Where the GGUF architecture name differs from the transformers `model_type` it is read as.
HYBRID_MODEL_TYPES: dict[str, str] = {
    "granitehybrid": "granitemoehybrid",
    "nemotron_h": "nemotron_h",
    "nemotron_h_moe": "nemotron_h",
    "falcon-h1": "falcon_h1",
    "lfm2": "lfm2",
    "qwen3next": "qwen3_next",
}

#: The transformers class llama.cpp's converter registers for each (`@ModelBase.register`):
#: what a runtime serving the same model from its Hugging Face checkpoint would load (vLLM
#: keys some defaults on it, e.g. Nemotron-H's float32 SSM state).
HYBRID_ARCHITECTURES: dict[str, str] = {
    "granitehybrid": "GraniteMoeHybridForCausalLM",
    "nemotron_h": "NemotronHForCausalLM",
    "nemotron_h_moe": "NemotronHForCausalLM",
    "falcon-h1": "FalconH1ForCausalLM",
    "lfm2": "Lfm2ForCausalLM",
    "qwen3next": "Qwen3NextForCausalLM",
}


def _inferred(detail: str) -> dict[str, Any]:
    return {"kind": "inferred", "key": "gguf tensors", "detail": detail}


def _derived(detail: str) -> dict[str, Any]:
    return {"kind": "derived", "detail": detail}


def layer_parts(tensors: list[TensorInfo] | None) -> dict[int, set[str]]:
    """Layer number → the GGUF parts it stores (`attn_q`, `ssm_in`, `ssm_conv1d.bias`...):
    each part under its name without `.weight`, and `part.bias` for a bias."""
    parts: dict[int, set[str]] = {}
    for tensor in tensors or ():
        match = _BLOCK.match(tensor.name)
        if match is None:
            continue
        part = match.group(2)
        if tensor.name.endswith(".bias"):
            part += ".bias"
        parts.setdefault(int(match.group(1)), set()).add(part)
    return parts


def _has(parts: set[str], *prefixes: str) -> bool:
    return any(p.startswith(prefixes) for p in parts)


def _attention(parts: set[str]) -> bool:
    return _has(parts, "attn_q", "attn_k", "attn_v", "attn_qkv") and not _has(parts, "ssm_")


def _any_part(layers: dict[int, set[str]], part: str) -> bool:
    return any(part in parts for parts in layers.values())


class HybridTranslator:
    """Writes one hybrid architecture's config keys through the GGUF builder's `put`."""

    def __init__(self, builder: Any, tensors: list[TensorInfo] | None) -> None:
        self.b = builder
        self.layers = layer_parts(tensors)
        self.n = builder.config.get("num_hidden_layers")
        self.have_tensors = bool(self.layers)

    # -- per-layer kinds ---------------------------------------------------------------------
    def kinds(self, from_tensors: Callable[[set[str]], str],
              from_metadata: Callable[[int], str | None], what: str) -> list[str] | None:
        """The kind of every layer: from its tensors when the file has them, else from the
        metadata; a note when both say something and disagree."""
        if not isinstance(self.n, int) or not 0 < self.n <= 100_000:
            return None
        declared = [from_metadata(i) for i in range(self.n)]
        if self.have_tensors:
            kinds = [from_tensors(self.layers.get(i, set())) for i in range(self.n)]
            differ = [i for i in range(self.n) if declared[i] is not None
                      and declared[i] != kinds[i]]
            if differ:
                self.b.notes.append(
                    f"layer kinds: the tensors and the metadata disagree on layer(s) "
                    f"{differ[:8]} ({what}); read from the tensors, as llama.cpp loads them")
            return kinds
        if any(k is None for k in declared):
            return None
        return [k for k in declared if k is not None]

    def per_layer(self, config_key: str) -> list[Any] | None:
        value = self.b.config.get(f"{config_key}_per_layer")
        return value if isinstance(value, list) and len(value) == self.n else None

    def kv_zero(self, i: int) -> bool | None:
        """Whether layer i has no KV heads per `attention.head_count_kv` (None: not per layer)."""
        kv = self.per_layer("num_key_value_heads")
        return None if kv is None else not kv[i]

    def put_kinds(self, key: str, kinds: list[str] | None, metadata_rule: str) -> bool:
        """Writes the layer kinds; False when neither tensors nor metadata gave them."""
        if kinds is None:
            return False
        origin = _inferred("which layers hold blk.N.ssm_* / attn_* / shortconv.* / ffn_* "
                           "tensors") if self.have_tensors else _derived(metadata_rule)
        self.b.put(key, kinds, origin)
        return True

    # -- SSM dims ----------------------------------------------------------------------------
    def ssm_dims(self, names: dict[str, str]) -> int | None:
        """Mamba-2 dims under the dialect's `names` (field → config key); returns d_inner."""
        inner, inner_key = self.b.get("ssm.inner_size")
        heads, heads_key = self.b.get("ssm.time_step_rank")
        for field, suffix in (("d_state", "ssm.state_size"), ("conv_kernel", "ssm.conv_kernel"),
                              ("n_groups", "ssm.group_count")):
            value, key = self.b.get(suffix)
            if field in names and isinstance(value, int):
                self.b.put(names[field], value, self.b.declared(key))
        if not isinstance(inner, int) or inner <= 0:
            return None
        if "d_inner" in names:
            self.b.put(names["d_inner"], inner, self.b.declared(inner_key))
        hidden = self.b.config.get("hidden_size")
        if "expand" in names and isinstance(hidden, int) and hidden > 0:
            expand = inner // hidden if inner % hidden == 0 else inner / hidden
            self.b.put(names["expand"], expand,
                       _derived(f"gguf:{inner_key} / embedding_length"))
        if isinstance(heads, int) and heads > 0:
            # Mamba-2 has no Δ rank: the converter stores the head count here
            # (add_ssm_time_step_rank(n_heads); build_mamba2_layer reads it as n_head)
            self.b.put(names["num_heads"], heads, self.b.declared(heads_key))
            self.b.put(names["head_dim"], inner // heads,
                       _derived(f"gguf:{inner_key} / gguf:{heads_key}"))
        return inner

    def biases(self, names: dict[str, str]) -> None:
        """Bias flags from the tensors the file stores (config key → GGUF part `x.bias`)."""
        if not self.have_tensors:
            return
        for config_key, part in names.items():
            self.b.put(config_key, _any_part(self.layers, part),
                       _inferred(f"blk.N.{part} is {'' if _any_part(self.layers, part) else 'not '}"
                                 "stored"))


# -- one function per architecture -------------------------------------------------------------

def granitehybrid(t: HybridTranslator) -> bool:
    """Granite-4.0-H / Bamba (granitemoehybrid): layer_types "mamba" / "attention"; `mamba_*`
    SSM keys; experts (may be 0) beside a shared SwiGLU MLP of `shared_intermediate_size`;
    RoPE only where the converter set `rope.scaling.finetuned` (Bamba, non-hybrid stacks)."""
    kinds = t.kinds(lambda p: "attention" if _attention(p) else "mamba",
                    lambda i: None if t.kv_zero(i) is None else
                    ("mamba" if t.kv_zero(i) else "attention"),
                    "attention.head_count_kv is 0 on a recurrent layer")
    if not t.put_kinds("layer_types", kinds, "attention.head_count_kv: 0 on Mamba layers"):
        return False
    t.ssm_dims({"d_state": "mamba_d_state", "conv_kernel": "mamba_d_conv",
                "n_groups": "mamba_n_groups", "expand": "mamba_expand",
                "num_heads": "mamba_n_heads", "head_dim": "mamba_d_head"})
    t.biases({"mamba_conv_bias": "ssm_conv1d.bias", "mamba_proj_bias": "ssm_in.bias"})
    b = t.b
    experts, experts_key = b.get("expert_count")
    if isinstance(experts, int):
        b.put("num_local_experts", experts, b.declared(experts_key))
    shared, shared_key = b.get("expert_shared_feed_forward_length")
    if isinstance(shared, int):
        b.put("shared_intermediate_size", shared, b.declared(shared_key))
    elif "intermediate_size" in b.config:  # Bamba: the dense MLP is feed_forward_length
        b.put("shared_intermediate_size", b.config["intermediate_size"],
              b.origins["intermediate_size"])
    # the converter sets rope.scaling.finetuned only where the model uses RoPE (Bamba, a
    # stack with no Mamba layer); llama.cpp's granite loaders default it to true
    rope, rope_key = b.get("rope.scaling.finetuned")
    if rope is None:
        b.put("position_embedding_type", "rope",
              _derived("no rope.scaling.finetuned: llama.cpp's granite default (true)"))
    else:
        b.put("position_embedding_type", "rope" if rope else "nope", b.declared(rope_key))
    return True


def nemotron_h(t: HybridTranslator) -> bool:
    """Nemotron-H (nemotron_h / nemotron_h_moe): each block is one of a Mamba-2 mixer, an
    attention mixer, a squared-ReLU MLP or an MoE (`layers_block_type`)."""
    moe_arch = t.b.arch == "nemotron_h_moe"

    def from_tensors(p: set[str]) -> str:
        if _has(p, "ssm_"):
            return "mamba"
        if _attention(p):
            return "attention"
        if _has(p, "ffn_gate_inp", "ffn_up_exps", "ffn_down_exps"):
            return "moe"
        return "mlp" if _has(p, "ffn_") else "mamba"

    def from_metadata(i: int) -> str | None:
        ffn = t.per_layer("intermediate_size")
        kv_zero = t.kv_zero(i)
        if kv_zero is None:
            return None
        if not kv_zero:
            return "attention"
        if ffn is not None and ffn[i]:
            return "moe" if moe_arch else "mlp"
        return "mamba"

    kinds = t.kinds(from_tensors, from_metadata,
                    "head_count_kv > 0 on attention blocks, feed_forward_length > 0 on MLP "
                    "blocks")
    if not t.put_kinds("layers_block_type", kinds,
                       "attention.head_count_kv > 0: attention; feed_forward_length > 0: "
                       "MLP/MoE; else Mamba"):
        return False
    t.ssm_dims({"d_state": "ssm_state_size", "conv_kernel": "conv_kernel",
                "n_groups": "n_groups", "expand": "expand",
                "num_heads": "mamba_num_heads", "head_dim": "mamba_head_dim"})
    t.biases({"use_conv_bias": "ssm_conv1d.bias", "mamba_proj_bias": "ssm_in.bias",
              "mlp_bias": "ffn_up.bias", "attention_bias": "attn_q.bias"})
    b = t.b
    shared, shared_key = b.get("expert_shared_feed_forward_length")
    if isinstance(shared, int):
        b.put("moe_shared_expert_intermediate_size", shared, b.declared(shared_key))
    return True


def falcon_h1(t: HybridTranslator) -> bool:
    """Falcon-H1: attention and a Mamba-2 mixer in parallel in every layer, then a SwiGLU;
    `mamba_d_ssm` is the SSM width, `mamba_rms_norm` its gated norm (`ssm_norm` stored)."""
    t.ssm_dims({"d_state": "mamba_d_state", "conv_kernel": "mamba_d_conv",
                "n_groups": "mamba_n_groups", "d_inner": "mamba_d_ssm",
                "num_heads": "mamba_n_heads", "head_dim": "mamba_d_head"})
    t.biases({"mamba_conv_bias": "ssm_conv1d.bias", "mamba_proj_bias": "ssm_in.bias",
              "attention_bias": "attn_q.bias", "mlp_bias": "ffn_up.bias",
              "mamba_rms_norm": "ssm_norm"})
    return True


def lfm2(t: HybridTranslator) -> bool:
    """LFM2: gated short-convolution blocks (`shortconv.*`) and GQA blocks; llama.cpp stores
    the FFN width already adjusted (`block_auto_adjust_ff_dim` applied by the converter) and
    the convolution's cache length as `shortconv.l_cache`."""
    kinds = t.kinds(lambda p: "full_attention" if _attention(p) else "conv",
                    lambda i: None if t.kv_zero(i) is None else
                    ("conv" if t.kv_zero(i) else "full_attention"),
                    "attention.head_count_kv is 0 on a convolution layer")
    if not t.put_kinds("layer_types", kinds, "attention.head_count_kv: 0 on convolution layers"):
        return False
    b = t.b
    cache, cache_key = b.get("shortconv.l_cache")
    if isinstance(cache, int):
        b.put("conv_L_cache", cache, b.declared(cache_key))
    if "intermediate_size" in b.config:
        b.put("block_auto_adjust_ff_dim", False, _derived(
            "llama.cpp's converter stores feed_forward_length after LFM2's 2/3 × multiplier "
            "adjustment"))
    t.biases({"conv_bias": "shortconv.in_proj.bias"})
    return True


def qwen3next(t: HybridTranslator) -> bool:
    """Qwen3-Next: Gated DeltaNet layers and gated attention every `full_attention_interval`."""
    kinds = t.kinds(lambda p: "full_attention" if _attention(p) else "linear_attention",
                    lambda i: None, "")
    if t.have_tensors:
        t.put_kinds("layer_types", kinds, "")
    b = t.b
    inner, inner_key = b.get("ssm.inner_size")
    heads, heads_key = b.get("ssm.time_step_rank")
    for config_key, suffix in (("linear_conv_kernel_dim", "ssm.conv_kernel"),
                               ("linear_key_head_dim", "ssm.state_size"),
                               ("linear_num_key_heads", "ssm.group_count"),
                               ("linear_num_value_heads", "ssm.time_step_rank")):
        value, key = b.get(suffix)
        if isinstance(value, int):
            b.put(config_key, value, b.declared(key))
    if isinstance(inner, int) and isinstance(heads, int) and heads > 0:
        b.put("linear_value_head_dim", inner // heads,
              _derived(f"gguf:{inner_key} / gguf:{heads_key}"))
    return True


TRANSLATORS: dict[str, Callable[[HybridTranslator], bool]] = {
    "granitehybrid": granitehybrid,
    "nemotron_h": nemotron_h,
    "nemotron_h_moe": nemotron_h,
    "falcon-h1": falcon_h1,
    "lfm2": lfm2,
    "qwen3next": qwen3next,
}


def _drop_layer_kind_arrays(builder: Any) -> None:
    """Per-layer arrays whose only variation is 0 on some layers have been read as layer
    kinds: they leave the config (a width that varies otherwise stays, and is reported)."""
    for key in [k for k in builder.config if k.endswith("_per_layer")]:
        values = builder.config[key]
        if isinstance(values, list) and len({v for v in values if v}) <= 1:
            builder.config.pop(key)
            builder.origins.pop(key, None)


#: The generic SSM config keys the direct mapping writes (Mamba's names); each hybrid dialect
#: writes its own instead, so these are dropped first.
_GENERIC_SSM_KEYS = ("conv_kernel", "intermediate_size_ssm", "state_size", "time_step_rank",
                     "n_groups")


def translate_hybrid(builder: Any, tensors: list[TensorInfo] | None) -> None:
    """Translate a hybrid architecture's keys in place. When neither the tensors nor the
    metadata say which layer is what, the model is left to the generic reader (model_type
    `gguf:<arch>`) with a note, rather than given the adapter's default layer pattern."""
    translator = TRANSLATORS.get(builder.arch)
    if translator is None:
        return
    for key in _GENERIC_SSM_KEYS:
        builder.config.pop(key, None)
        builder.origins.pop(key, None)
    builder.put("architectures", [HYBRID_ARCHITECTURES[builder.arch]], _derived(
        "the transformers class llama.cpp's converter reads for this GGUF architecture"))
    if translator(HybridTranslator(builder, tensors)):
        _drop_layer_kind_arrays(builder)
    else:
        builder.put("model_type", f"gguf:{builder.arch}", builder.declared("general.architecture"))
        builder.config["architectures"] = []
        builder.notes.append(
            f"GGUF architecture {builder.arch!r}: neither the tensors nor a per-layer "
            "attention.head_count_kv say which layers are recurrent; best-effort report from "
            "its standard keys")
