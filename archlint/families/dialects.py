"""Family adapters: each maps one config dialect onto the ModelSpec.

Each class states only what differs from the generic reader, with the modeling code it
follows named in its docstring (transformers' `modeling_<family>.py` unless said otherwise).
"""

from __future__ import annotations

from typing import ClassVar

from archlint.families import dsa, mtp
from archlint.families.base import Adapter
from archlint.spec import (
    AttentionSpec,
    FFNSpec,
    FieldSource,
    IndexerSpec,
    LayerSpec,
    LinearAttentionSpec,
    Positional,
)


class Llama(Adapter):
    """Llama 1/2/3/3.1/3.2 and the many configs that reuse its keys (Mistral, Mixtral, Yi)."""

    name = "llama"
    model_types: ClassVar[tuple[str, ...]] = (
        "llama",
        "mistral",
        "mixtral",
        "granite",
        "granitemoe",
        "internlm2",
        "yi",
    )
    tie_default = False


class Qwen(Llama):
    """Qwen2/2.5 (implicit q/k/v bias), Qwen3 (q/k RMSNorm per head), Qwen2/3-MoE."""

    name = "qwen"
    model_types: ClassVar[tuple[str, ...]] = (
        "qwen2",
        "qwen3",
        "qwen2_moe",
        "qwen3_moe",
        "qwen2_vl_text",
        "qwen2_5_vl_text",
        "qwen3_vl_text",
        "qwen3_vl_moe_text",
        "qwen2_5_omni_text",
    )

    def qkv_bias(self) -> bool:
        mt = str(self.cv.lookup("model_type")[0])
        # Qwen2's attention always has q/k/v biases (no config key); Qwen3 reads attention_bias.
        if mt.startswith("qwen2"):
            self.prov["qkv_bias"] = FieldSource(kind="default", detail="Qwen2 q/k/v always biased")
            return True
        return super().qkv_bias()

    def o_bias(self) -> bool:
        return False

    def qk_norm(self) -> bool:
        return str(self.cv.lookup("model_type")[0]).startswith("qwen3") or super().qk_norm()

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        mt = str(self.cv.lookup("model_type")[0])
        if spec.kind == "moe" and spec.num_shared_experts and mt.startswith("qwen2"):
            # Qwen2-MoE gates its shared expert with a sigmoid (shared_expert_gate: h → 1).
            spec = spec.model_copy(update={"shared_expert_gate": True})
        return spec

    def layer_types(self, n_layers: int) -> list[str]:
        if self.window() is None:
            return ["full"] * n_layers
        # Qwen2: with use_sliding_window, layers from max_window_layers on use the window.
        first = self.read_int("max_window_layers", "max_window_layers", default=0) or 0
        return ["sliding" if i >= first else "full" for i in range(n_layers)]


class Phi3(Llama):
    """Phi-3: fused qkv_proj and gate_up_proj; window on every layer when set."""

    name = "phi3"
    model_types: ClassVar[tuple[str, ...]] = ("phi3",)


class Olmo2(Llama):
    """OLMo-2: post-norms only, q/k RMSNorm over the whole projection."""

    name = "olmo2"
    model_types: ClassVar[tuple[str, ...]] = ("olmo2",)

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        return super().attention(index, layer_type).model_copy(update={"qk_norm_per_head": False})

    def qk_norm(self) -> bool:
        return True


class Starcoder2(Adapter):
    """StarCoder2: LayerNorm with bias, plain GELU MLP (c_fc/c_proj), biases everywhere."""

    name = "starcoder2"
    model_types: ClassVar[tuple[str, ...]] = ("starcoder2",)

    def norm_kind(self) -> str:
        return "layernorm"

    def gated_ffn(self) -> bool:
        return False


class Gemma(Adapter):
    """Gemma 1/2/3: GeGLU, tied embeddings, explicit head_dim; Gemma 2 alternates local/global
    (even layers local), Gemma 3 has one global layer in every `sliding_window_pattern`."""

    name = "gemma"
    model_types: ClassVar[tuple[str, ...]] = ("gemma", "gemma2", "gemma3", "gemma3_text")

    def _generation(self) -> int:
        mt = str(self.cv.lookup("model_type")[0])
        return 3 if mt.startswith("gemma3") else 2 if mt == "gemma2" else 1

    def layer_types(self, n_layers: int) -> list[str]:
        if self._generation() == 2 and not self.cv.has("layer_types") and self.window():
            self.prov["layer_types"] = FieldSource(
                kind="default", detail="Gemma 2: even layers sliding, odd layers global"
            )
            return ["sliding" if i % 2 == 0 else "full" for i in range(n_layers)]
        if self._generation() == 3 and not self.cv.has("layer_types") and self.window():
            pattern = self.read_int(
                "sliding_window_pattern",
                "sliding_window_pattern",
                "_sliding_window_pattern",
                default=6,
                why="Gemma 3 default: 5 local layers per global layer",
            )
            return ["full" if (i + 1) % (pattern or 6) == 0 else "sliding" for i in range(n_layers)]
        return super().layer_types(n_layers)

    def qk_norm(self) -> bool:
        return self._generation() == 3

    def norms_per_layer(self) -> int:
        return 2 if self._generation() == 1 else 4


class Cohere(Adapter):
    """Command-R: parallel block, LayerNorm without bias; Cohere 2 adds 3:1 local/global."""

    name = "cohere"
    model_types: ClassVar[tuple[str, ...]] = ("cohere", "cohere2")

    def norm_kind(self) -> str:
        return "layernorm"

    def parallel_block(self) -> bool:
        return True

    def norms_per_layer(self) -> int:
        return 1

    def norm_bias(self) -> bool:
        return False


class DeepSeek(Adapter):
    """DeepSeek-V2/V3/R1, Kimi-K2: MLA, first-k dense layers, shared + routed experts, MTP.

    Follows modeling_deepseek_v3: q through a LoRA (q_a → norm → q_b) unless q_lora_rank is
    null; kv_a_proj_with_mqa emits the latent (kv_lora_rank) plus one shared RoPE key.
    """

    name = "deepseek"
    model_types: ClassVar[tuple[str, ...]] = ("deepseek_v2", "deepseek_v3", "kimi_k2")
    tie_default = False
    #: DSA layers (`dsa`) are MLA layers with an indexer
    LAYER_TYPE_NAMES: ClassVar[dict[str, str]] = {
        **Adapter.LAYER_TYPE_NAMES,
        **dict.fromkeys(dsa.INDEXED_NAMES, "full"),
    }

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._indexer(index) is not None)

    def _indexer(self, index: int) -> IndexerSpec | None:
        return dsa.indexer(self, index, self.num_layers())

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        base = super().attention(index, layer_type)
        prov = dict(base.provenance)
        nope = self.read_int("qk_nope_head_dim", "qk_nope_head_dim", prov=prov) or 0
        rope = self.read_int("qk_rope_head_dim", "qk_rope_head_dim", prov=prov) or 0
        v_dim = self.read_int("v_head_dim", "v_head_dim", prov=prov) or nope
        q_rank = self.read_int("q_lora_rank", "q_lora_rank", prov=prov) or None
        kv_rank = self.read_int("kv_lora_rank", "kv_lora_rank", prov=prov)
        if kv_rank is None:
            return base
        prov["head_dim"] = FieldSource(kind="derived", detail="qk_nope_head_dim + qk_rope_head_dim")
        indexer = self._indexer(index)
        if indexer is not None:
            prov["indexer"] = self.declared("index_n_heads")
        return base.model_copy(
            update=dict(
                kind="mla",
                indexer=indexer,
                num_kv_heads=base.num_heads,
                head_dim=nope + rope,
                v_head_dim=v_dim,
                q_lora_rank=q_rank,
                kv_lora_rank=kv_rank,
                qk_rope_head_dim=rope,
                qk_nope_head_dim=nope,
                provenance=prov,
            )
        )

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind == "moe":
            method = self.cv.lookup("topk_method")[0]
            spec = spec.model_copy(update={"router_bias": method == "noaux_tc"})
        return spec

    def mtp_layers(self) -> list[LayerSpec]:
        """DeepSeek-V3's checkpoints store each MTP layer with its own copies of the
        embedding and the LM head (model.layers.61.embed_tokens, shared_head.head: vocab × h
        each, bf16; DeepSeek-R1's tensor table holds them), which the module shares with the
        main model at run time: counted with the module, as the checkpoint holds them."""
        return mtp.modules(self, copies=2 * self.vocab_size() * self.hidden_size())


class GptOss(Adapter):
    """gpt-oss: alternating sliding(128)/full layers, attention sinks, biased router and
    experts, MXFP4 expert weights."""

    name = "gpt_oss"
    model_types: ClassVar[tuple[str, ...]] = ("gpt_oss",)
    tie_default = False

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        return spec.model_copy(update={"sinks": True})

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        return spec.model_copy(update={"router_bias": True, "bias": True})


class Llama4(Llama):
    """Llama 4 text model: chunked local attention on RoPE layers, global NoPE layers
    (every 4th by default), MoE every `interleave_moe_layer_step` layers with one shared
    expert; dense layers use `intermediate_size_mlp`."""

    name = "llama4"
    model_types: ClassVar[tuple[str, ...]] = ("llama4", "llama4_text")

    def _nope(self, n_layers: int) -> list[bool]:
        declared = self.cv.lookup("no_rope_layers")[0]
        if isinstance(declared, list) and len(declared) == n_layers:
            return [not bool(flag) for flag in declared]  # 1 = uses RoPE
        interval = (
            self.read_int(
                "no_rope_layer_interval",
                "no_rope_layer_interval",
                default=4,
                why="Llama 4 default: every 4th layer is NoPE",
            )
            or 4
        )
        return [(i + 1) % interval == 0 for i in range(n_layers)]

    def layer_types(self, n_layers: int) -> list[str]:
        if self.chunk() is None:
            return super().layer_types(n_layers)
        return ["full" if nope else "chunked" for nope in self._nope(n_layers)]

    def positional(self, index: int) -> Positional:
        return "nope" if self._nope(self.num_layers())[index] else "rope"

    def is_moe_layer(self, index: int) -> bool:
        step = self.read_int("interleave_moe_layer_step", "interleave_moe_layer_step") or 1
        return self.num_experts() > 1 and (index + 1) % step == 0

    def qk_norm(self) -> bool:
        return False  # use_qk_norm is a weightless L2 norm: no parameters, no cache effect

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("intermediate_size_mlp", "intermediate_size_mlp")
        if spec.kind == "dense":
            return spec.model_copy(update={"intermediate_size": width or spec.intermediate_size})
        width = self.read_int("intermediate_size", "intermediate_size") or 0
        return spec.model_copy(
            update={
                "expert_intermediate_size": width,
                "num_shared_experts": 1,
                "shared_intermediate_size": width,
            }
        )


class Qwen3Next(Qwen):
    """Qwen3-Next: 3 Gated-DeltaNet layers per gated-attention layer, 512 experts + shared
    expert with a sigmoid gate, partial RoPE, MTP block under `mtp.`."""

    name = "qwen3_next"
    model_types: ClassVar[tuple[str, ...]] = ("qwen3_next",)

    def layer_types(self, n_layers: int) -> list[str]:
        declared = self.cv.lookup("layer_types")[0]
        if isinstance(declared, list):
            return super(Qwen, self).layer_types(n_layers)
        interval = (
            self.read_int("full_attention_interval", "full_attention_interval", default=4) or 4
        )
        return ["full" if (i + 1) % interval == 0 else "linear" for i in range(n_layers)]

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        return super().attention(index, layer_type).model_copy(update={"output_gate": True})

    def linear_attention(self, index: int) -> AttentionSpec:
        prov: dict[str, FieldSource] = {}
        linear = LinearAttentionSpec(
            variant="gated_deltanet",
            num_key_heads=self.read_int("linear_num_key_heads", "linear_num_key_heads", prov=prov)
            or 0,
            num_value_heads=self.read_int(
                "linear_num_value_heads", "linear_num_value_heads", prov=prov
            )
            or 0,
            key_head_dim=self.read_int("linear_key_head_dim", "linear_key_head_dim", prov=prov)
            or 0,
            value_head_dim=self.read_int(
                "linear_value_head_dim", "linear_value_head_dim", prov=prov
            )
            or 0,
            conv_kernel=self.read_int("linear_conv_kernel_dim", "linear_conv_kernel_dim", prov=prov)
            or 0,
        )
        return AttentionSpec(kind="linear", positional="none", linear=linear, provenance=prov)

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind == "moe" and spec.num_shared_experts:
            spec = spec.model_copy(update={"shared_expert_gate": True})
        return spec

    def mtp_layers(self) -> list[LayerSpec]:
        return mtp.modules(self)  # mtp.fc, pre_fc_norm_embedding/hidden, mtp.norm: no copies


class Falcon(Adapter):
    """Falcon, old (`RefinedWebModel`, `RefinedWeb`) and new (`falcon`) keys: MQA or grouped
    KV (`new_decoder_architecture`), parallel attention, one shared LayerNorm in 7B."""

    name = "falcon"
    model_types: ClassVar[tuple[str, ...]] = ("falcon", "RefinedWebModel", "RefinedWeb")

    def fixed_activation(self) -> str | None:
        # the old RefinedWeb code's nn.GELU(); FalconConfig's `activation` defaults to it too
        return "gelu"

    def kv_heads(self, heads: int, prov: dict[str, FieldSource]) -> int:
        if (
            self.cv.lookup("new_decoder_architecture")[0]
            or str(self.cv.lookup("model_type")[0]) == "RefinedWeb"
        ):
            return (
                self.read_int("num_kv_heads", "num_kv_heads", "n_head_kv", default=heads, prov=prov)
                or heads
            )
        if self.cv.lookup("multi_query")[0]:
            prov["num_kv_heads"] = self.declared("multi_query", "multi_query: one KV head")
            return 1
        return heads

    def norm_kind(self) -> str:
        return "layernorm"

    def gated_ffn(self) -> bool:
        return False

    def parallel_block(self) -> bool:
        return bool(self.read("parallel", "parallel_attn", default=True))

    def norms_per_layer(self) -> int:
        new = (
            self.cv.lookup("new_decoder_architecture")[0]
            or str(self.cv.lookup("model_type")[0]) == "RefinedWeb"
        )
        return 2 if new or not self.parallel_block() else 1

    def positional(self, index: int) -> Positional:
        return "alibi" if self.cv.lookup("alibi")[0] else "rope"

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("intermediate_size", "ffn_hidden_size")
        if width is None:
            width = self.derive("intermediate_size", 4 * self.hidden_size(), "Falcon: 4 × hidden")
        return spec.model_copy(update={"intermediate_size": width})


class ClassicTransformer(Adapter):
    """The GPT-2 / BERT block: LayerNorm with bias, a plain (ungated) MLP, and biased
    projections. GPT-2, GPT-J, GPT-NeoX, BLOOM, BERT and BART build on it."""

    def norm_kind(self) -> str:
        return "layernorm"

    def gated_ffn(self) -> bool:
        return False

    def qkv_bias(self) -> bool:
        return True

    def ffn(self, index: int) -> FFNSpec:
        return super().ffn(index).model_copy(update={"bias": True})


class GPT2(ClassicTransformer):
    """GPT-2: learned absolute positions, LayerNorm with bias, biased Conv1D projections
    (stored transposed: [in, out]), plain GELU MLP of n_inner or 4 × n_embd."""

    name = "gpt2"
    model_types: ClassVar[tuple[str, ...]] = ("gpt2", "gpt_bigcode")

    def positional(self, index: int) -> Positional:
        return "learned"

    def kv_heads(self, heads: int, prov: dict[str, FieldSource]) -> int:
        if self.cv.lookup("multi_query")[0]:  # gpt_bigcode (StarCoder 1)
            return 1
        return heads


class GPTJ(ClassicTransformer):
    """GPT-J: parallel block with one LayerNorm, partial rotary (`rotary_dim`), unbiased
    attention, biased MLP and lm_head."""

    name = "gptj"
    model_types: ClassVar[tuple[str, ...]] = ("gptj",)
    tie_default = False

    def qkv_bias(self) -> bool:
        return False

    def head_bias(self) -> bool:
        return True  # GPT-J's lm_head is biased

    def parallel_block(self) -> bool:
        return True

    def norms_per_layer(self) -> int:
        return 1

    def rotary_fraction(self) -> float | None:
        dim = self.read_int("rotary_dim", "rotary_dim")
        heads = self.read_int("num_heads", "n_head") or 1
        return dim / (self.hidden_size() // heads) if dim else None


class GPTNeoX(ClassicTransformer):
    """GPT-NeoX / Pythia: partial rotary (`rotary_pct`), parallel residual, biases everywhere."""

    name = "gpt_neox"
    model_types: ClassVar[tuple[str, ...]] = ("gpt_neox",)
    tie_default = False

    def qkv_bias(self) -> bool:
        return bool(self.read("qkv_bias", "attention_bias", default=True))


class Bloom(ClassicTransformer):
    """BLOOM: ALiBi (no position table), `n_embed`/`n_layer`, LayerNorm after the embedding,
    biases everywhere, tied head."""

    name = "bloom"
    model_types: ClassVar[tuple[str, ...]] = ("bloom",)

    def embedding_norm(self) -> bool:
        return True

    def fixed_activation(self) -> str | None:
        return "gelu_pytorch_tanh"  # modeling_bloom's BloomGelu: the tanh approximation

    def positional(self, index: int) -> Positional:
        return "alibi"


class MPT(Adapter):
    """MPT: `d_model`/`n_heads`/`n_layers`, nested `attn_config` (ALiBi, `kv_n_heads`),
    `expansion_ratio`, `no_bias` (norms unbiased too), tied head."""

    name = "mpt"
    model_types: ClassVar[tuple[str, ...]] = ("mpt",)

    def fixed_activation(self) -> str | None:
        return "gelu"  # modeling_mpt's MptMLP: nn.GELU(approximate="none")

    def norm_kind(self) -> str:
        return "layernorm"

    def gated_ffn(self) -> bool:
        return False

    def kv_heads(self, heads: int, prov: dict[str, FieldSource]) -> int:
        kind = self.cv.lookup("attn_config.attn_type")[0]
        if kind == "multiquery_attention":
            return 1
        return (
            self.read_int("num_kv_heads", "attn_config.kv_n_heads", default=heads, prov=prov)
            or heads
        )

    def qkv_bias(self) -> bool:
        return not bool(self.cv.lookup("no_bias")[0])

    def norm_bias(self) -> bool:
        return self.qkv_bias()

    def positional(self, index: int) -> Positional:
        return "alibi" if self.cv.lookup("attn_config.alibi")[0] else "learned"

    def learned_positions(self) -> bool:
        # With ALiBi transformers' MptModel has no position table even if learned_pos_emb is set.
        return self.positional(0) == "learned" and bool(self.cv.lookup("learned_pos_emb")[0])

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        ratio = self.read_int("expansion_ratio", "expansion_ratio", default=4) or 4
        width = self.derive(
            "intermediate_size", ratio * self.hidden_size(), "expansion_ratio × d_model"
        )
        return spec.model_copy(update={"intermediate_size": width, "bias": self.qkv_bias()})


class DBRX(Adapter):
    """DBRX: nested `attn_config` (kv_n_heads, rope_theta) and `ffn_config` (experts, top-k,
    ffn_hidden_size); fused Wqkv and fused expert tensors."""

    name = "dbrx"
    model_types: ClassVar[tuple[str, ...]] = ("dbrx",)
    tie_default = False

    def norm_bias(self) -> bool:
        return False

    def norm_kind(self) -> str:
        return "layernorm"

    def kv_heads(self, heads: int, prov: dict[str, FieldSource]) -> int:
        return (
            self.read_int("num_kv_heads", "attn_config.kv_n_heads", default=heads, prov=prov)
            or heads
        )

    def rope_theta(self) -> float | None:
        value = self.read("rope_theta", "attn_config.rope_theta", default=10000.0)
        return float(value)

    def num_experts(self) -> int:
        return self.read_int("num_experts", "ffn_config.moe_num_experts") or 0

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("expert_intermediate_size", "ffn_config.ffn_hidden_size") or 0
        top_k = self.read_int("experts_per_token", "ffn_config.moe_top_k") or 0
        return spec.model_copy(
            update={
                "expert_intermediate_size": width,
                "intermediate_size": width,
                "experts_per_token": top_k,
            }
        )


class Bert(ClassicTransformer):
    """BERT/RoBERTa: encoder-only (no KV cache growth), learned positions and segment
    embeddings, LayerNorm after the embedding, plain GELU MLP, biases everywhere.

    Also every type whose transformers modeling builds exactly these modules (the generated
    `dialect` fact routes CamemBERT, ERNIE, Data2Vec-Text, MPNet, Megatron-BERT, ...): what
    varies between them is read from the same facts (a pooler or not, the embedding norm,
    a final norm in pre-norm stacks, a factorised embedding with its projection, rotary
    instead of a position table)."""

    name = "bert"
    model_types: ClassVar[tuple[str, ...]] = (
        "bert", "roberta", "xlm-roberta", "distilbert", "electra",
    )

    pooler_default = True

    def embedding_norm(self) -> bool:
        return bool(self.structure_fact("embedding_norm", True))

    def architecture(self) -> str:
        return "encoder"

    def positional(self, index: int) -> Positional:
        if self.structure_fact("learned_positions", True):
            return "learned"
        return super().positional(index)
