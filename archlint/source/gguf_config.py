"""GGUF metadata → a Hugging Face-style config dict, with where each key came from.

The keys are llama.cpp's (gguf-py `constants.Keys`, read by `llama-model.cpp`
`llama_model::load_hparams`): `{arch}.block_count`, `{arch}.embedding_length`,
`{arch}.attention.head_count`... Each config key this module writes is recorded in `origins`
as "declared in GGUF metadata" with the GGUF key (`gguf:llama.block_count`); keys it derives
(a vocabulary's length, tied embeddings from a missing `output.weight`, a sliding-window
pattern llama.cpp fixes per architecture) record their rule instead. The family adapters then
read the dict exactly as they read a config.json.
"""

from __future__ import annotations

from typing import Any

from archlint.checkpoint import TensorInfo
from archlint.dtypes import CODE_TO_TORCH_DTYPE, FLOAT_CODES
from archlint.ggml_types import LLAMA_FILE_TYPES
from archlint.source.gguf_hybrids import HYBRID_MODEL_TYPES, translate_hybrid

#: `general.architecture` → transformers `model_type` (llama.cpp's arch names: gguf-py
#: `constants.MODEL_ARCH_NAMES`). An architecture not listed keeps its GGUF name and gets the
#: generic reader's best-effort report, rather than an adapter reading half-translated keys:
#: so do the recurrent stacks no adapter expresses (rwkv6/rwkv7, plamo2). The hybrids' layer
#: mix is translated in `gguf_hybrids`.
ARCH_TO_MODEL_TYPE: dict[str, str] = {
    "llama": "llama",
    "mistral3": "mistral",
    "granite": "granite",
    "granitemoe": "granitemoe",
    "internlm2": "internlm2",
    "qwen2": "qwen2",
    "qwen2moe": "qwen2_moe",
    "qwen3": "qwen3",
    "qwen3moe": "qwen3_moe",
    "phi3": "phi3",
    "olmo2": "olmo2",
    "starcoder2": "starcoder2",
    "gemma": "gemma",
    "gemma2": "gemma2",
    "gemma3": "gemma3_text",
    "command-r": "cohere",
    "cohere2": "cohere2",
    "deepseek2": "deepseek_v3",
    "gpt-oss": "gpt_oss",
    "llama4": "llama4_text",
    "falcon": "falcon",
    "gpt2": "gpt2",
    "gptj": "gptj",
    "gptneox": "gpt_neox",
    "bloom": "bloom",
    "mpt": "mpt",
    "dbrx": "dbrx",
    "bert": "bert",
    "t5": "t5",
    "mamba": "mamba",
    "mamba2": "mamba2",
    "jamba": "jamba",
    **HYBRID_MODEL_TYPES,
}

# (config key, GGUF key suffix after `{arch}.`) read as they are.
_DIRECT: tuple[tuple[str, str], ...] = (
    ("num_hidden_layers", "block_count"),
    ("hidden_size", "embedding_length"),
    ("max_position_embeddings", "context_length"),
    ("vocab_size", "vocab_size"),
    ("num_attention_heads", "attention.head_count"),
    ("num_key_value_heads", "attention.head_count_kv"),
    ("head_dim", "attention.key_length"),
    ("v_head_dim", "attention.value_length"),
    ("rms_norm_eps", "attention.layer_norm_rms_epsilon"),
    ("layer_norm_epsilon", "attention.layer_norm_epsilon"),
    ("sliding_window", "attention.sliding_window"),
    ("attn_logit_softcapping", "attn_logit_softcapping"),
    ("final_logit_softcapping", "final_logit_softcapping"),
    ("rope_theta", "rope.freq_base"),
    ("intermediate_size", "feed_forward_length"),
    ("moe_intermediate_size", "expert_feed_forward_length"),
    ("shared_expert_intermediate_size", "expert_shared_feed_forward_length"),
    ("num_experts_per_tok", "expert_used_count"),
    ("n_shared_experts", "expert_shared_count"),
    ("first_k_dense_replace", "leading_dense_block_count"),
    ("n_group", "expert_group_count"),
    ("topk_group", "expert_group_used_count"),
    ("norm_topk_prob", "expert_weights_norm"),
    ("routed_scaling_factor", "expert_weights_scale"),
    ("num_nextn_predict_layers", "nextn_predict_layers"),
    ("q_lora_rank", "attention.q_lora_rank"),
    ("kv_lora_rank", "attention.kv_lora_rank"),
    ("use_parallel_residual", "use_parallel_residual"),
    ("logit_scale", "logit_scale"),
    ("attention_chunk_size", "attention.chunk_size"),
    ("interleave_moe_layer_step", "interleave_moe_layer_step"),
    ("full_attention_interval", "full_attention_interval"),
    # Mamba / hybrid SSM dims (transformers MambaConfig / Mamba2Config names).
    ("conv_kernel", "ssm.conv_kernel"),
    ("intermediate_size_ssm", "ssm.inner_size"),
    ("state_size", "ssm.state_size"),
    ("time_step_rank", "ssm.time_step_rank"),
    ("n_groups", "ssm.group_count"),
)
#: The expert-count key each family's config uses.
_EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")

#: Sliding-window layouts llama.cpp fixes per architecture instead of storing them
#: (`llama-model.cpp`, `hparams.set_swa_pattern(n)`: layer il is local unless il % n == n-1).
_SWA_PATTERN: dict[str, int] = {"gpt-oss": 2, "cohere2": 4}


def _declared(key: str) -> dict[str, Any]:
    return {"kind": "declared", "key": f"gguf:{key}", "detail": "declared in GGUF metadata"}


def _scalar(value: Any) -> Any:
    """A per-layer array → one value when all layers agree, else None (kept as a list)."""
    if isinstance(value, list) and value and all(v == value[0] for v in value):
        return value[0]
    return value


class _Builder:
    def __init__(self, metadata: dict[str, Any], arch: str) -> None:
        self.meta = metadata
        self.arch = arch
        self.config: dict[str, Any] = {}
        self.origins: dict[str, dict[str, Any]] = {}
        self.notes: list[str] = []

    def get(self, suffix: str) -> tuple[Any, str]:
        key = f"{self.arch}.{suffix}"
        return self.meta.get(key), key

    def declared(self, key: str) -> dict[str, Any]:
        return _declared(key)

    def put(self, config_key: str, value: Any, origin: dict[str, Any]) -> None:
        self.config[config_key] = value
        self.origins[config_key] = origin

    def direct(self) -> None:
        for config_key, suffix in _DIRECT:
            value, key = self.get(suffix)
            if value is None or isinstance(value, dict):
                continue
            self.put(config_key, _scalar(value), _declared(key))
        experts, key = self.get("expert_count")
        if isinstance(experts, int) and experts > 0:
            for config_key in _EXPERT_KEYS:
                self.put(config_key, experts, _declared(key))

    def per_layer(self) -> None:
        """Per-layer arrays (OpenELM widths, hybrids' head counts with 0 on SSM layers)."""
        for config_key in ("num_attention_heads", "num_key_value_heads", "intermediate_size"):
            value = self.config.get(config_key)
            if not isinstance(value, list):
                continue
            numbers = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
            nonzero = [v for v in numbers if v > 0]
            self.config[f"{config_key}_per_layer"] = value
            self.config[config_key] = max(nonzero) if nonzero else 0
            self.origins[f"{config_key}_per_layer"] = self.origins[config_key]
            zero = len(numbers) - len(nonzero)
            if self.arch in HYBRID_MODEL_TYPES and len(set(nonzero)) <= 1:
                continue  # the zeros mark the recurrent/MLP-only layers: read as layer kinds
            self.notes.append(
                f"{self.origins[config_key]['key'][5:]} varies by layer "
                f"({min(nonzero) if nonzero else 0}..{max(nonzero) if nonzero else 0}"
                + (f", 0 on {zero} layer(s)" if zero else "")
                + f"); read as {self.config[config_key]} for every layer"
            )

    def attention_dims(self) -> None:
        heads = self.config.get("num_attention_heads")
        head_dim = self.config.get("head_dim")
        rope, rope_key = self.get("rope.dimension_count")
        if self.arch == "deepseek2":
            self.mla(rope, rope_key)
            return
        if isinstance(rope, int) and isinstance(head_dim, int) and 0 < rope < head_dim:
            self.put("partial_rotary_factor", rope / head_dim,
                     {"kind": "derived", "detail": f"gguf:{rope_key} / head_dim"})
        if self.config.get("v_head_dim") == head_dim:
            self.config.pop("v_head_dim", None)
            self.origins.pop("v_head_dim", None)
        if head_dim is None and isinstance(heads, int) and heads:
            return  # the adapters derive hidden_size // heads, as llama.cpp does

    def falcon(self, tensors: list[TensorInfo] | None) -> None:
        """Falcon's KV heads in FalconConfig's dialect: transformers reads `num_kv_heads` only
        under `new_decoder_architecture` (40B/180B: grouped KV and a second LayerNorm,
        llama.cpp's `attn_norm_2`) and otherwise one KV head when `multi_query` (7B), which
        is FalconConfig's default; `head_count_kv` is llama.cpp's one key for all three."""
        if self.arch != "falcon":
            return
        kv, kv_key = self.get("attention.head_count_kv")
        heads = self.config.get("num_attention_heads")
        if not isinstance(kv, int) or isinstance(kv, bool) or not isinstance(heads, int):
            return
        two_norms = tensors is not None and any(
            t.name.endswith(".attn_norm_2.weight") for t in tensors)
        # FalconConfig's own names for what the generic mapping put under Llama's
        self.config.pop("num_key_value_heads", None)
        self.origins.pop("num_key_value_heads", None)
        width = self.config.pop("intermediate_size", None)
        width_origin = self.origins.pop("intermediate_size", None)
        if width is not None and width_origin is not None:
            self.put("ffn_hidden_size", width, width_origin)
        origin = {"kind": "derived", "detail": f"gguf:{kv_key} = {kv}"}
        if kv == 1 and not two_norms:
            self.put("multi_query", True, origin)
        elif kv == heads and not two_norms:
            self.put("multi_query", False, origin)
        else:
            self.put("new_decoder_architecture", True, {
                "kind": "derived", "detail": f"gguf:{kv_key} = {kv} of {heads} heads"
                + (", attn_norm_2 stored" if two_norms else "")})
            self.put("num_kv_heads", kv, _declared(kv_key))

    def mla(self, rope: Any, rope_key: str) -> None:
        """DeepSeek-V2/V3 in llama.cpp: newer converters store the absorbed-MLA layout
        (`key_length` = kv_lora_rank + rope, `value_length` = kv_lora_rank) and the per-head
        sizes in `key_length_mla` / `value_length_mla`; older files store the per-head sizes
        in `key_length` / `value_length`."""
        key_mla, key_mla_key = self.get("attention.key_length_mla")
        value_mla, value_mla_key = self.get("attention.value_length_mla")
        qk, qk_origin = self.config.get("head_dim"), self.origins.get("head_dim")
        v, v_origin = self.config.get("v_head_dim"), self.origins.get("v_head_dim")
        if isinstance(key_mla, int):
            qk, qk_origin = key_mla, _declared(key_mla_key)
        if isinstance(value_mla, int):
            v, v_origin = value_mla, _declared(value_mla_key)
        for key in ("head_dim", "v_head_dim"):
            self.config.pop(key, None)
            self.origins.pop(key, None)
        if isinstance(rope, int):
            self.put("qk_rope_head_dim", rope, _declared(rope_key))
            if isinstance(qk, int) and qk_origin is not None:
                self.put("qk_nope_head_dim", qk - rope,
                         {"kind": "derived", "detail": f"{qk_origin['key']} − gguf:{rope_key}"})
        if isinstance(v, int) and v_origin is not None:
            self.put("v_head_dim", v, v_origin)
        gating, gating_key = self.get("expert_gating_func")
        if gating == 2:
            self.put("scoring_func", "sigmoid", _declared(gating_key))
            self.put("topk_method", "noaux_tc", {
                "kind": "derived", "detail": f"gguf:{gating_key} = 2 (sigmoid): DeepSeek-V3's "
                "bias-corrected top-k (exp_probs_b)"})

    def ssm(self, tensors: list[TensorInfo] | None) -> None:
        """Mamba-family dims in the dialect of the transformers config each adapter reads:
        Mamba's `intermediate_size` is d_inner; Jamba's are `mamba_*`, its attention layers
        are where `head_count_kv` is non-zero and its MoE layers where expert tensors are."""
        inner, inner_key = self.get("ssm.inner_size")
        hidden = self.config.get("hidden_size")
        if not isinstance(inner, int) or not isinstance(hidden, int) or not hidden:
            return
        expand = {"kind": "derived", "detail": f"gguf:{inner_key} / embedding_length"}
        if self.arch in ("mamba", "mamba2"):
            self.put("intermediate_size", inner, _declared(inner_key))
            self.put("expand", inner // hidden, expand)
        heads, heads_key = self.get("ssm.time_step_rank")
        if self.arch == "mamba2" and isinstance(heads, int) and heads > 0:
            # Mamba-2 has no Δ low-rank: llama.cpp's converter stores its head count there
            # (add_ssm_time_step_rank(d_inner // head_dim); build_mamba2_layer reads n_head)
            self.put("num_heads", heads, _declared(heads_key))
            self.put("head_dim", inner // heads, {"kind": "derived",
                                                  "detail": f"gguf:{inner_key} / {heads_key}"})
        if self.arch != "jamba":
            return
        self.put("mamba_expand", inner // hidden, expand)
        for config_key, suffix in (("mamba_d_state", "ssm.state_size"),
                                   ("mamba_d_conv", "ssm.conv_kernel"),
                                   ("mamba_dt_rank", "ssm.time_step_rank")):
            value, key = self.get(suffix)
            if isinstance(value, int):
                self.put(config_key, value, _declared(key))
        kv = self.config.get("num_key_value_heads_per_layer")
        if isinstance(kv, list):
            self._period("attn", [i for i, v in enumerate(kv) if v], len(kv),
                         f"gguf:{self.arch}.attention.head_count_kv (non-zero entries)")
        if tensors is not None and isinstance(self.config.get("num_hidden_layers"), int):
            moe = sorted({int(t.name.split(".")[1]) for t in tensors
                          if t.name.startswith("blk.") and "_exps." in t.name})
            self._period("expert", moe, self.config["num_hidden_layers"],
                         "layers holding ffn_*_exps tensors")

    def _period(self, kind: str, layers: list[int], n: int, source: str) -> None:
        """`{kind}_layer_period/offset` when `layers` are every p-th layer from an offset."""
        if len(layers) < 2:
            if len(layers) == 1:
                self.put(f"{kind}_layer_period", n, {"kind": "derived", "detail": source})
                self.put(f"{kind}_layer_offset", layers[0], {"kind": "derived", "detail": source})
            return
        period = layers[1] - layers[0]
        if period and layers == list(range(layers[0], n, period)):
            origin = {"kind": "derived", "detail": source}
            self.put(f"{kind}_layer_period", period, origin)
            self.put(f"{kind}_layer_offset", layers[0] % period, origin)
        else:
            self.notes.append(f"{source}: layers {layers[:6]}... follow no fixed period; "
                              "read as the adapter's default pattern")

    def rope_scaling(self) -> None:
        kind, kind_key = self.get("rope.scaling.type")
        factor, _ = self.get("rope.scaling.factor")
        if not isinstance(kind, str) or (kind in ("none", "linear") and not factor):
            return
        scaling: dict[str, Any] = {"rope_type": kind}
        for name, suffix in (("factor", "rope.scaling.factor"),
                             ("original_max_position_embeddings",
                              "rope.scaling.original_context_length")):
            value, _ = self.get(suffix)
            if value is not None:
                scaling[name] = value
        self.put("rope_scaling", scaling, _declared(kind_key))

    def windows(self, tensors: list[TensorInfo] | None) -> None:
        pattern, pattern_key = self.get("attention.sliding_window_pattern")
        if isinstance(pattern, list) and all(isinstance(v, bool) for v in pattern):
            types = ["sliding_attention" if v else "full_attention" for v in pattern]
            self.put("layer_types", types, _declared(pattern_key))
        elif isinstance(pattern, int) and not isinstance(pattern, bool) and pattern > 0:
            self.put("sliding_window_pattern", pattern, _declared(pattern_key))
        elif self.arch in _SWA_PATTERN and "sliding_window" in self.config:
            n = _SWA_PATTERN[self.arch]
            layers = self.config.get("num_hidden_layers")
            rule = {"kind": "default", "detail": f"llama.cpp's fixed pattern for {self.arch}: "
                    f"{n - 1} sliding layer(s) then 1 full (set_swa_pattern({n}))"}
            if isinstance(layers, int) and 0 < layers <= 100_000:
                types = ["full_attention" if i % n == n - 1 else "sliding_attention"
                         for i in range(layers)]
                self.put("layer_types", types, rule)

    def vocabulary(self, tensors: list[TensorInfo] | None) -> None:
        if "vocab_size" in self.config:
            return
        tokens = self.meta.get("tokenizer.ggml.tokens")
        length = tokens.get("length") if isinstance(tokens, dict) else (
            len(tokens) if isinstance(tokens, list) else None)
        if isinstance(length, int):
            self.put("vocab_size", length, {
                "kind": "declared", "key": "gguf:tokenizer.ggml.tokens",
                "detail": "declared in GGUF metadata: the length of tokenizer.ggml.tokens"})

    def tied(self, tensors: list[TensorInfo] | None) -> None:
        if tensors is None:
            return
        names = {t.name for t in tensors}
        tied = "output.weight" not in names and "token_embd.weight" in names
        self.put("tie_word_embeddings", tied, {
            "kind": "inferred", "key": "output.weight",
            "detail": "llama.cpp ties the head to token_embd when output.weight is absent"
            if tied else "output.weight is stored: an untied head"})

    def dtype(self, file_type: str | None) -> None:
        if file_type is not None and file_type in FLOAT_CODES:
            self.put("torch_dtype", CODE_TO_TORCH_DTYPE[file_type], _declared("general.file_type"))


def config_from_gguf(metadata: dict[str, Any], tensors: list[TensorInfo] | None
                     ) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]], list[str]]:
    """(config dict, origins by config key, notes) from JSON-form GGUF metadata. The config is
    None when `general.architecture` is missing (the tensors alone then describe the model)."""
    arch = metadata.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        return None, {}, ["general.architecture is missing: architecture read from tensors"]
    builder = _Builder(metadata, arch)
    # an unmapped architecture must not meet an adapter by name (nemotron_h is both a GGUF and
    # a transformers name, in different dialects): it is read by the generic reader
    model_type = ARCH_TO_MODEL_TYPE.get(arch, f"gguf:{arch}")
    builder.put("model_type", model_type, _declared("general.architecture"))
    builder.config["architectures"] = []
    if arch not in ARCH_TO_MODEL_TYPE:
        builder.notes.append(f"GGUF architecture {arch!r} is not translated to a transformers "
                             "config dialect: best-effort report from its standard keys")
    builder.direct()
    builder.per_layer()
    builder.attention_dims()
    builder.falcon(tensors)
    builder.rope_scaling()
    builder.ssm(tensors)
    translate_hybrid(builder, tensors)
    builder.windows(tensors)
    builder.vocabulary(tensors)
    builder.tied(tensors)
    file_type = metadata.get("general.file_type")
    name = LLAMA_FILE_TYPES.get(file_type) if isinstance(file_type, int) else None
    builder.dtype(name)
    if name is not None and name not in FLOAT_CODES:
        builder.put("quantization_config", {"quant_method": "gguf", "file_type": name},
                    _declared("general.file_type"))
    return builder.config, builder.origins, builder.notes
