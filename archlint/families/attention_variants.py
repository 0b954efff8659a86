"""Decoders whose attention or FFN differs from Llama's in a way the generic reader misses:
GLM-4.x, Qwen3.5, DeepSeek-V3.2 (DSA indexer), SmolLM3 (NoPE layers), ERNIE-4.5, OLMo-3,
Seed-OSS, Helium (o_proj from the hidden size), Apertus, EXAONE-4.

Each class states only what differs, with the transformers modeling file it follows
(`modeling_<model_type>.py`, transformers 5.23). Where transformers' code has no config key
for a structural fact (GLM's unbiased o_proj, ERNIE's absent q/k norm) the fact is recorded
as a default with that file as its source.
"""

from __future__ import annotations

from typing import ClassVar

from archlint.families import mtp
from archlint.families.base import Adapter, from_modeling, from_remote_code
from archlint.families.dialects import DeepSeek, Gemma, Llama, Llama4, Olmo2, Qwen3Next
from archlint.families.remote_code import kv_channels_head
from archlint.spec import (
    AttentionSpec,
    FFNSpec,
    FieldSource,
    LayerSpec,
    Positional,
    RecurrentSpec,
)


class _LlamaVariant(Llama):
    """A Llama-shaped decoder whose q/k norms and biases are fixed by its modeling code.

    `qk_norm_key`: the config key that switches per-head q/k RMSNorms on (None: the modeling
    code has none, or `qk_norm_always`). `bias_key` biases q/k/v, and o_proj too unless
    `o_bias_key` names its own key (Seed-OSS) or `o_bias_follows` is False (GLM)."""

    qk_norm_key: ClassVar[str | None] = None
    qk_norm_always: ClassVar[bool] = False
    bias_key: ClassVar[str] = "attention_bias"
    o_bias_key: ClassVar[str | None] = None
    o_bias_follows: ClassVar[bool] = True
    norms: ClassVar[int] = 2

    def _type(self) -> str:
        return str(self.cv.lookup("model_type")[0])

    def qk_norm(self) -> bool:
        if self.qk_norm_always:
            self.prov["qk_norm"] = from_modeling(self._type(), "q_norm/k_norm per head")
            return True
        if self.qk_norm_key is None:
            self.prov["qk_norm"] = from_modeling(self._type(), "no q/k norm")
            return False
        return bool(self.read("qk_norm", self.qk_norm_key, default=False))

    def qkv_bias(self) -> bool:
        return bool(self.read("qkv_bias", self.bias_key, default=False))

    def o_bias(self) -> bool:
        if self.o_bias_key is not None:
            return bool(self.read("o_bias", self.o_bias_key, default=False))
        if not self.o_bias_follows:
            self.prov["o_bias"] = from_modeling(self._type(), "o_proj has no bias")
            return False
        return self.qkv_bias()

    def norms_per_layer(self) -> int:
        return self.norms


class Glm(_LlamaVariant):
    """GLM-4 (`glm`, GLM-4-9B-0414's `glm4` adds post-attention and post-MLP norms): biased
    q/k/v (`attention_bias`), unbiased o_proj, fused gate_up_proj, partial RoPE."""

    name = "glm"
    model_types: ClassVar[tuple[str, ...]] = ("glm",)
    o_bias_follows = False


class Glm4(Glm):
    name = "glm4"
    model_types: ClassVar[tuple[str, ...]] = ("glm4",)
    norms = 4


class ChatGLM(Glm):
    """ChatGLM2/3 and GLM-4-9B's own dialect (`chatglm`, the Hub repos' remote
    `modeling_chatglm.py`; transformers has no such model type). Each GLMBlock: an input norm,
    a fused `query_key_value` of `kv_channels` × (`num_attention_heads` + 2 ×
    `multi_query_group_num`) outputs (MHA's 3 × heads without `multi_query_attention`), biased
    with `add_bias_linear` or `add_qkv_bias`; `dense` back to the hidden size, biased with
    `add_bias_linear` only; a post-attention norm; `dense_h_to_4h` to 2 × `ffn_hidden_size`
    (SwiGLU) and `dense_4h_to_h`, biased with `add_bias_linear`. The norms are RMSNorm with
    `rmsnorm` (else LayerNorm), the final one exists with `post_layer_norm`; the tables have
    `padded_vocab_size` rows and `output_layer` is its own matrix. RoPE covers half of each head
    (`rotary_dim = kv_channels // 2`) at base 10000 × `rope_ratio`."""

    name = "chatglm"
    model_types: ClassVar[tuple[str, ...]] = ("chatglm",)
    tie_default = False
    norms = 2

    def num_layers(self) -> int:
        return self.read_int("num_layers", "num_layers", "num_hidden_layers") or 0

    def vocab_size(self) -> int:
        return self.read_int("vocab_size", "padded_vocab_size", "vocab_size") or 0

    def norm_kind(self) -> str:
        return "rmsnorm" if self.read("norm", "rmsnorm", default=True) else "layernorm"

    def final_norm(self) -> bool:
        return bool(self.read("final_norm", "post_layer_norm", default=True))

    def kv_heads(self, heads: int, prov: dict[str, FieldSource]) -> int:
        if not self.read("num_kv_heads", "multi_query_attention", default=False, prov=prov):
            return heads
        return self.read_int("num_kv_heads", "multi_query_group_num", prov=prov) or heads

    def qkv_bias(self) -> bool:
        linear = bool(self.read("o_bias", "add_bias_linear", default=False))
        return linear or bool(self.read("qkv_bias", "add_qkv_bias", default=False))

    def o_bias(self) -> bool:
        return bool(self.read("o_bias", "add_bias_linear", default=False))

    def qk_norm(self) -> bool:
        self.prov["qk_norm"] = from_remote_code("modeling_chatglm.py", "no q/k norm")
        return False

    def rope_theta(self) -> float | None:
        ratio = self.read("rope_theta", "rope_ratio", default=1)
        ratio = ratio if isinstance(ratio, (int, float)) and not isinstance(ratio, bool) else 1
        self.prov["rope_theta"] = from_remote_code(
            "modeling_chatglm.py", "RotaryEmbedding base 10000 × rope_ratio"
        )
        return 10000.0 * float(ratio)

    def rotary_fraction(self) -> float | None:
        self.prov["rotary_fraction"] = from_remote_code(
            "modeling_chatglm.py", "rotary_dim = kv_channels // 2"
        )
        return 0.5

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        return kv_channels_head(self, super().attention(index, layer_type))

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        prov = dict(spec.provenance)
        width = self.read_int("intermediate_size", "ffn_hidden_size", prov=prov)
        bias = bool(self.read("ffn_bias", "add_bias_linear", default=False, prov=prov))
        return spec.model_copy(
            update={
                "gated": True,
                "activation": spec.activation or "silu",  # swiglu: silu(x0) * x1
                "intermediate_size": width or spec.intermediate_size,
                "bias": bias,
                "provenance": prov,
            }
        )


class Glm4Moe(_LlamaVariant):
    """GLM-4.5/4.6/4.7 (`glm4_moe`): DeepSeek-V3-style MoE (sigmoid router whose
    `e_score_correction_bias` is a persistent buffer, saved with the weights; `n_shared_experts`;
    `first_k_dense_replace` dense layers), q/k norms only with `use_qk_norm`; `attention_bias`
    biases q/k/v only (o_proj is built with bias=False, as in GLM-4: GLM-4.5-Air's and
    GLM-4.7's configs set it). transformers does not build the `num_nextn_predict_layers` MTP
    block; its weights ship in the checkpoint."""

    name = "glm4_moe"
    model_types: ClassVar[tuple[str, ...]] = ("glm4_moe", "glm4v_moe_text")
    qk_norm_key = "use_qk_norm"
    o_bias_follows = False

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe":
            return spec
        spec.provenance["router"] = from_modeling(
            self._type(), "sigmoid router with e_score_correction_bias (noaux_tc)"
        )
        return spec.model_copy(update={"router": "sigmoid", "router_bias": True})

    def mtp_layers(self) -> list[LayerSpec]:
        # transformers' form, the blocks only: whether a GLM checkpoint stores its MTP
        # layer's own embed_tokens and shared_head.head differs by release (GLM-4.5 does,
        # GLM-4.6 does not)
        return mtp.modules(self)


class SeedOss(_LlamaVariant):
    """Seed-OSS: biased q/k/v (`attention_bias`), o_proj bias from `attention_out_bias`."""

    name = "seed_oss"
    model_types: ClassVar[tuple[str, ...]] = ("seed_oss",)
    o_bias_key = "attention_out_bias"


class Ernie45(_LlamaVariant):
    """ERNIE-4.5 dense and MoE: `use_bias` on every projection, no q/k norm. The MoE reads
    `moe_num_experts`, `moe_k`, `moe_num_shared_experts` (each `moe_intermediate_size`
    wide), MoE layers from `moe_layer_start_index` to `moe_layer_end_index` every
    `moe_layer_interval`, and a softmax router whose `e_score_correction_bias` is a
    parameter (`moe_statics`)."""

    name = "ernie4_5"
    model_types: ClassVar[tuple[str, ...]] = ("ernie4_5", "ernie4_5_moe")
    bias_key = "use_bias"

    def is_moe_layer(self, index: int) -> bool:
        if self.num_experts() <= 1:
            return False
        start = self.read_int("moe_layer_start_index", "moe_layer_start_index", default=0) or 0
        end = self.read_int("moe_layer_end_index", "moe_layer_end_index")
        step = self.read_int("moe_layer_interval", "moe_layer_interval", default=1) or 1
        if end is None or end < 0:
            end = self.num_layers() - 1
        return start <= index <= end and (index - start) % step == 0

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe":
            return spec
        prov = dict(spec.provenance)
        top_k = self.read_int("experts_per_token", "moe_k", prov=prov) or spec.experts_per_token
        shared = self.read_int("num_shared_experts", "moe_num_shared_experts", prov=prov) or 0
        width = spec.expert_intermediate_size
        prov["shared_intermediate_size"] = FieldSource(
            kind="derived", detail="moe_num_shared_experts × moe_intermediate_size"
        )
        prov["router_bias"] = from_modeling(self._type(), "moe_statics.e_score_correction_bias")
        return spec.model_copy(
            update={
                "experts_per_token": top_k,
                "num_shared_experts": shared,
                "shared_intermediate_size": shared * width,
                "router_bias": True,
                "provenance": prov,
            }
        )

    def mtp_layers(self) -> list[LayerSpec]:
        """ERNIE-4.5's MTP depths (`num_nextn_predict_layers`; PaddleFormers'
        `multi_token_pred_depth`): model.mtp_block.{i} is ErnieDecoderLayer(config, i), so
        it has stack layer i's kind (dense where i < moe_layer_start_index), beside
        mtp_emb_norm.{i}, mtp_hidden_norm.{i} and mtp_linear_proj.{i} (2h → h, biased with
        `use_bias`); no post norm of its own (the main model's final norm follows) and no
        embedding or head copies (PaddleFormers' Ernie4_5_Model)."""
        count = mtp.module_count(self) or self.read_int(
            "mtp_layers", "multi_token_pred_depth") or 0
        n = self.num_layers()
        kinds = self.layer_types(n)
        bias = self.hidden_size() if self.qkv_bias() else 0
        out = []
        for i in range(min(count, n)):
            block = self.layer(i, kinds[i])
            out.append(block.model_copy(
                update={"index": n + i, "extra_params": block.extra_params + bias}))
        return out

    def mtp_module_norms(self) -> int:
        return 2  # mtp_emb_norm, mtp_hidden_norm


class SmolLM3(_LlamaVariant):
    """SmolLM3: Llama with NoPE layers. `no_rope_layers[i]` is 1 where layer i uses RoPE;
    absent, every `no_rope_layer_interval`-th layer (4) is NoPE."""

    name = "smollm3"
    model_types: ClassVar[tuple[str, ...]] = ("smollm3",)

    def positional(self, index: int) -> Positional:
        return Llama4.positional(self, index)  # type: ignore[arg-type]

    def _nope(self, n_layers: int) -> list[bool]:
        return Llama4._nope(self, n_layers)  # type: ignore[arg-type]


class Helium(_LlamaVariant):
    """Helium (Kyutai): Llama's blocks, but HeliumAttention builds o_proj as
    hidden_size -> hidden_size (modeling_helium.py), not num_heads x head_dim -> hidden_size
    as Llama does, so a config whose heads x head_dim differs from the hidden size has an
    o_proj of hidden_size inputs; q/k/v follow `attention_bias`, o_proj has no bias."""

    name = "helium"
    model_types: ClassVar[tuple[str, ...]] = ("helium",)
    o_bias_follows = False

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        spec.provenance["o_input_size"] = from_modeling("helium", "o_proj reads hidden_size")
        return spec.model_copy(update={"o_input_size": self.hidden_size()})


class Apertus(_LlamaVariant):
    """Apertus: an ungated MLP (up → xIELU → down) whose activation holds two learned scalars
    (`alpha_p`, `alpha_n`) per layer, per-head q/k RMSNorms, `attention_layernorm` and
    `feedforward_layernorm` pre-norms."""

    name = "apertus"
    model_types: ClassVar[tuple[str, ...]] = ("apertus",)
    qk_norm_always = True

    def gated_ffn(self) -> bool:
        self.prov["ffn.gated"] = from_modeling("apertus", "up_proj → act → down_proj (no gate)")
        return False

    def layer(self, index: int, layer_type: str):  # type: ignore[no-untyped-def]
        spec = super().layer(index, layer_type)
        act = str(self.cv.lookup("hidden_act")[0] or "")
        # xIELU's activation module holds parameters alpha_p, alpha_n and persistent buffers
        # beta, eps: four scalars per layer, saved with the weights
        return spec.model_copy(update={"extra_params": 4 if act == "xielu" else 0})


class Exaone4(_LlamaVariant):
    """EXAONE-4.0: per-head q/k RMSNorms, post-norms only (2 per block), local/global layers
    from `layer_types` or `sliding_window_pattern`."""

    name = "exaone4"
    model_types: ClassVar[tuple[str, ...]] = ("exaone4",)
    qk_norm_always = True


class Olmo3(Olmo2):
    """OLMo-3: OLMo-2's block (post-norms, q/k RMSNorm over the whole projection) with
    sliding-window layers from `layer_types`."""

    name = "olmo3"
    model_types: ClassVar[tuple[str, ...]] = ("olmo3",)

    def default_layer_types(self, n_layers: int) -> list[str]:
        # Olmo3Config's default: every 4th layer global, the others sliding
        self.prov["layer_types"] = from_modeling("olmo3", "every 4th layer full, others sliding")
        return ["full" if (i + 1) % 4 == 0 else "sliding" for i in range(n_layers)]


class Qwen35(Qwen3Next):
    """Qwen3.5 dense and MoE (text models and their multimodal wrappers): Qwen3-Next's
    Gated DeltaNet + gated-attention stack from `layer_types`; in_proj_qkv/in_proj_z/in_proj_b/
    in_proj_a hold the same weights as Qwen3-Next's fused in_proj_qkvz/in_proj_ba."""

    name = "qwen3_5"
    model_types: ClassVar[tuple[str, ...]] = (
        "qwen3_5", "qwen3_5_text", "qwen3_5_moe", "qwen3_5_moe_text",
    )


class DeepSeekV32(DeepSeek):
    """DeepSeek-V3.2 (`deepseek_v32`): DeepSeek-V3's MLA and MoE plus DSA's lightning indexer
    in every layer (read by `DeepSeek`, archlint/families/dsa.py). The router always carries
    the `e_score_correction_bias` buffer (saved with the weights), whatever `topk_method`
    says."""

    name = "deepseek_v32"
    model_types: ClassVar[tuple[str, ...]] = ("deepseek_v32",)

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe":
            return spec
        spec.provenance["router_bias"] = from_modeling("deepseek_v32", "e_score_correction_bias")
        return spec.model_copy(update={"router": "sigmoid", "router_bias": True})




def _per_layer(value: object, index: int) -> int | None:
    """An int, or a per-layer list of ints (Hunyuan's `moe_topk`, `num_shared_expert`)."""
    if isinstance(value, list):
        value = value[index] if 0 <= index < len(value) else (value[-1] if value else None)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


class Hunyuan(_LlamaVariant):
    """Hunyuan v1 dense and MoE (Hunyuan-A13B, Hunyuan-Large): per-head q/k RMSNorms
    (`query_layernorm`/`key_layernorm`), and in the MoE every layer routes over `num_experts`
    experts of `moe_intermediate_size` (int or per-layer list; absent: `intermediate_size`)
    with a shared MLP of `num_shared_expert` × `intermediate_size` beside them. `moe_topk` is
    an int or a per-layer list. Cross-layer attention (`use_cla`, `cla_share_factor`; Hunyuan-
    Large, arXiv 2411.02265 §2.1.2, vLLM's HunYuanCrossAttention): within each group of
    `cla_share_factor` layers only the first projects and caches K/V, the others read it.

    `hunyuan` is the Hub repos' own dialect (Hunyuan-A13B's remote `modeling_hunyuan.py`, one
    model type for dense and MoE): a layer is the MoE block where `num_experts` (int or per-
    layer list) is above 1, its shared MLP exists only with `use_mixed_mlp_moe` and is
    `moe_intermediate_size` (else `intermediate_size`) × `num_shared_expert` wide, and the
    per-head width may be named `attention_head_dim`."""

    name = "hunyuan"
    model_types: ClassVar[tuple[str, ...]] = ("hunyuan_v1_dense", "hunyuan_v1_moe", "hunyuan")
    qk_norm_always = True

    def _remote(self) -> bool:
        return self._type() == "hunyuan"

    def num_experts(self) -> int:
        if not self._remote():
            return super().num_experts()
        # the remote code's num_experts may be a per-layer list; the widest layer sizes the spec
        value = self.read("num_experts", "num_experts", default=0)
        counts = value if isinstance(value, list) else [value]
        return max((c for c in counts if isinstance(c, int) and not isinstance(c, bool)),
                   default=0)

    def _cla_factor(self) -> int:
        if not self.read("use_cla", "use_cla", default=False):
            return 1
        return max(self.read_int("cla_share_factor", "cla_share_factor", default=1) or 1, 1)

    def _cla_attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        factor = self._cla_factor()
        if factor > 1 and index % factor:
            return spec.model_copy(update={"kv_shared_from": index - index % factor})
        return spec

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        factor = self._cla_factor()
        return (*super().layer_key(index, layer_type), index % factor > 0, index)

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = self._cla_attention(index, layer_type)
        if not self._remote() or self.cv.lookup("head_dim")[0] is not None:
            return spec
        prov = dict(spec.provenance)
        width = self.read_int("head_dim", "attention_head_dim", prov=prov)
        if not width:
            return spec
        return spec.model_copy(update={"head_dim": width, "v_head_dim": width, "provenance": prov})

    def is_moe_layer(self, index: int) -> bool:
        if self._remote():
            # the remote HunYuanDecoderLayer builds HunYuanMoE where num_experts > 1, else an MLP
            return (_per_layer(self.cv.lookup("num_experts")[0], index) or 0) > 1
        # HunYuanMoEV1DecoderLayer always builds the MoE block, even with one expert
        return str(self.cv.lookup("model_type")[0]) == "hunyuan_v1_moe"

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe":
            return spec
        prov = dict(spec.provenance)
        top_k = _per_layer(self.read("experts_per_token", "moe_topk", prov=prov), index)
        width = _per_layer(
            self.read("expert_intermediate_size", "moe_intermediate_size", prov=prov), index
        )
        shared = _per_layer(
            self.read("num_shared_experts", "num_shared_expert", default=1, prov=prov), index
        )
        shared = 1 if shared is None else shared
        remote = self._remote()
        if remote and not self.read("shared_mlp", "use_mixed_mlp_moe", default=False, prov=prov):
            shared = 0  # the remote HunYuanMoE builds shared_mlp only with use_mixed_mlp_moe
        # the remote HunYuanMLP sizes shared_mlp like the experts (moe_intermediate_size
        # first) times num_shared_expert; transformers' HunYuanMoEV1MLP by intermediate_size
        shared_width = (width or spec.intermediate_size) if remote else spec.intermediate_size
        return spec.model_copy(
            update={
                "num_experts": max(_per_layer(self.cv.lookup("num_experts")[0], index)
                                   or self.num_experts(), 1),
                "experts_per_token": top_k or 1,
                "expert_intermediate_size": width or spec.intermediate_size,
                "num_shared_experts": shared,
                "shared_intermediate_size": shared * shared_width,
                "provenance": prov,
            }
        )


class JetMoE(Adapter):
    """JetMoE (`modeling_jetmoe`): a mixture of attention heads and an MoE MLP in every layer.

    Attention: one shared `kv_proj` (h → 2 × num_key_value_heads × kv_channels) and
    `num_local_experts` attention experts, each a query projection (h → kv_heads ×
    kv_channels) and an output projection back, of which `num_experts_per_tok` run per token,
    so a token sees top_k × kv_heads query heads over kv_heads K/V heads; a router (h → E) and
    an output bias (h). MLP: the same number of GLU experts of `intermediate_size` with a
    router and an output bias. The cache holds kv_proj's output: 2 × kv_heads × kv_channels
    per token per layer. The generic formulas count q/o for top_k experts; the other experts'
    q/o, the routers and the biases are the layer's `extra_params`."""

    name = "jetmoe"
    model_types: ClassVar[tuple[str, ...]] = ("jetmoe",)

    def num_experts(self) -> int:
        return self.read_int("num_experts", "num_local_experts", "moe_num_experts") or 0

    def _top_k(self) -> int:
        return self.read_int("experts_per_token", "num_experts_per_tok", "moe_top_k") or 1

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        prov: dict[str, FieldSource] = {}
        kv = self.read_int("num_kv_heads", "num_key_value_heads", prov=prov) or 0
        dim = self.read_int("head_dim", "kv_channels", "head_dim", prov=prov) or 0
        heads = self.derive("num_heads", self._top_k() * kv, "top_k × num_key_value_heads", prov)
        return AttentionSpec(
            kind="gqa" if heads != kv else "mha",
            num_heads=heads,
            num_kv_heads=kv,
            head_dim=dim,
            v_head_dim=dim,
            positional="rope",
            rope_theta=self.rope_theta(),
            provenance=prov,
        )

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("intermediate_size", "intermediate_size", "ffn_hidden_size")
        return spec.model_copy(
            update={
                "kind": "moe" if self.num_experts() > 1 else "dense",
                "num_experts": self.num_experts(),
                "experts_per_token": self._top_k(),
                "expert_intermediate_size": width or spec.intermediate_size,
                "intermediate_size": width or spec.intermediate_size,
                "router": "softmax",
            }
        )

    def is_moe_layer(self, index: int) -> bool:
        return self.num_experts() > 1

    def layer(self, index: int, layer_type: str):  # type: ignore[no-untyped-def]
        spec = super().layer(index, layer_type)
        hidden, att = self.hidden_size(), spec.attention
        experts, width = self.num_experts(), att.num_kv_heads * att.head_dim
        counted = 2 * hidden * att.num_heads * att.head_dim  # q and o of top_k experts
        extra = 2 * experts * hidden * width - counted + experts * hidden + hidden
        extra += hidden  # the MLP's output bias (its router is the FFN's)
        return spec.model_copy(update={"extra_params": extra})


class KimiLinear(DeepSeek):
    """Kimi-Linear (`modeling_kimi_linear`): Kimi Delta Attention layers with an MLA layer
    every few (`layer_types`, or the checkpoint's 1-indexed `linear_attn_config.full_attn_layers`
    / `kda_layers`; absent both, transformers' default puts MLA at every 4th index from 4),
    MLA without a q LoRA and without RoPE (arXiv 2510.26692 §4: NoPE in the MLA layers), and
    DeepSeek-V3's MoE after `first_k_dense_replace` dense layers (`num_experts`,
    `num_experts_per_token`, shared experts, sigmoid router)."""

    name = "kimi_linear"
    model_types: ClassVar[tuple[str, ...]] = ("kimi_linear",)

    def default_layer_types(self, n_layers: int) -> list[str]:
        full = self.cv.lookup("linear_attn_config.full_attn_layers")[0]
        if isinstance(full, list):
            self.prov["layer_types"] = self.declared("linear_attn_config.full_attn_layers")
            one_based = {v for v in full if isinstance(v, int)}
            return ["full" if i + 1 in one_based else "linear" for i in range(n_layers)]
        self.prov["layer_types"] = from_modeling("kimi_linear", "MLA at index i > 0, i % 4 == 0")
        return ["full" if i and i % 4 == 0 else "linear" for i in range(n_layers)]

    def positional(self, index: int) -> Positional:
        return "nope"

    def linear_attention(self, index: int) -> AttentionSpec:
        prov: dict[str, FieldSource] = {}
        heads = self.read_int(
            "linear.num_heads", "linear_attn_config.num_heads", "linear_num_heads", prov=prov
        ) or 0
        dim = self.read_int(
            "linear.head_dim", "linear_attn_config.head_dim", "linear_head_dim", prov=prov
        ) or 0
        kernel = self.read_int(
            "linear.conv_kernel",
            "linear_attn_config.short_conv_kernel_size",
            "linear_conv_kernel_dim",
            prov=prov,
        ) or 0
        linear = RecurrentSpec(
            variant="kda",
            num_key_heads=heads,
            num_value_heads=heads,
            key_head_dim=dim,
            value_head_dim=dim,
            conv_kernel=kernel,
            conv_bias=False,
            state_dtype=None,
        )
        return AttentionSpec(kind="linear", positional="none", linear=linear, provenance=prov)

    def is_moe_layer(self, index: int) -> bool:
        kinds = self.cv.lookup("mlp_layer_types")[0]
        if isinstance(kinds, list) and index < len(kinds):
            return kinds[index] == "sparse"
        # KimiLinearConfig's default when neither key is declared: the first layer is dense
        first = self.read_int(
            "first_k_dense_replace", "first_k_dense_replace", default=1,
            why="KimiLinearConfig: first_k_dense_replace defaults to 1",
        )
        return self.num_experts() > 1 and index >= (first or 0)

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe":
            return spec
        return spec.model_copy(update={"router": "sigmoid", "router_bias": True})

    def mtp_layers(self) -> list:  # type: ignore[type-arg]
        return []


class Gemma3n(Gemma):
    """Gemma-3n's language model (`gemma3n_text`, `modeling_gemma3n`): Gemma 3's block with
    per-layer FFN widths (`intermediate_size` may be a list), one global layer in 5, and

    - KV sharing: the last `num_kv_shared_layers` layers project no K/V (and have no k_norm):
      each reads the cache of the last earlier layer of its own type;
    - AltUp (`altup_num_inputs` n streams): per layer a correction scale (h), correction
      (n × n) and prediction (n² × n) coefficients, a modality router (h → n) and its norm;
      per model 2 × (n − 1) projections h → h;
    - LAuReL: per layer a rank-`laurel_rank` residual (h → r → h) and its norm;
    - per-layer embeddings: a table of `vocab_size_per_layer_input` × (layers ×
      `hidden_size_per_layer_input` p), a projection h → layers × p and a norm over p per model;
      per layer a gate (h → p), a projection (p → h) and a norm.

    The per-layer parts are the layer's `extra_params`; the model-level ones are carried by
    layer 0's."""

    name = "gemma3n"
    model_types: ClassVar[tuple[str, ...]] = ("gemma3n_text",)

    def layer_types(self, n_layers: int) -> list[str]:
        declared = self.cv.lookup("layer_types")[0]
        if isinstance(declared, list) and len(declared) == n_layers:
            return Adapter.layer_types(self, n_layers)
        self.prov["layer_types"] = from_modeling("gemma3n", "every 5th layer full, others sliding")
        return ["full" if (i + 1) % 5 == 0 else "sliding" for i in range(n_layers)]

    def _producer(self, index: int) -> int | None:
        """The layer whose K/V layer `index` reads, or None when it has its own."""
        n = self.num_layers()
        shared = self.read_int("num_kv_shared_layers", "num_kv_shared_layers", default=0) or 0
        first = n - shared
        if not shared or index < first:
            return None
        kinds = self.layer_types(n)
        earlier = [i for i in range(first) if kinds[i] == kinds[index]]
        return earlier[-1] if earlier else None

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        return spec.model_copy(update={"kv_shared_from": self._producer(index)})

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), index == 0, self._producer(index),
                self._width(index))

    def _width(self, index: int) -> int | None:
        value, key = self.cv.lookup("intermediate_size")
        if key is None:
            # the generated defaults table has no entry for an int-or-list field
            self.prov["intermediate_size"] = from_modeling(
                "gemma3n", "default intermediate_size 16384"
            )
            return 16_384
        return _per_layer(value, index)

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self._width(index)
        return spec.model_copy(update={"intermediate_size": width or spec.intermediate_size})

    def layer(self, index: int, layer_type: str):  # type: ignore[no-untyped-def]
        spec = super().layer(index, layer_type)
        h = self.hidden_size()
        n = self.read_int("altup_num_inputs", "altup_num_inputs", default=4) or 0
        rank = self.read_int("laurel_rank", "laurel_rank", default=0) or 0
        p = self.read_int("hidden_size_per_layer_input", "hidden_size_per_layer_input") or 0
        extra = (h + n * n + n * n * n + n * h + h)  # AltUp
        extra += 2 * h * rank + h  # LAuReL
        extra += 2 * h * p + h  # per-layer input gate, projection, norm
        if index == 0:
            layers = self.num_layers()
            vocab = self.read_int("vocab_size_per_layer_input", "vocab_size_per_layer_input") or 0
            extra += vocab * layers * p + layers * p * h + p  # per-layer embeddings
            extra += 2 * max(n - 1, 0) * h * h  # AltUp (un)embedding projections
        return spec.model_copy(update={"extra_params": extra})


class Gemma4(Gemma3n):
    """Gemma-4's language model (`gemma4_text`, `gemma4_unified_text`; `modeling_gemma4`):
    Gemma 3's block (4 norms, per-head q/k RMSNorms, a weightless v norm) where

    - layers follow `layer_types` (else one global layer in `sliding_window_pattern`, 6),
      the last always global;
    - global layers have their own head size and KV heads: `per_layer_config` when the
      config carries it, else `global_head_dim` (512) and, with `attention_k_eq_v`,
      `num_global_key_value_heads`; with `attention_k_eq_v` a global layer has no v_proj
      (its values are its keys, still cached as values);
    - the last `num_kv_shared_layers` layers read the cache of the last earlier layer of
      their type (no k/v projections or norms), and with `use_double_wide_mlp` their MLP is
      2 × intermediate_size wide;
    - `enable_moe_block` adds, beside the MLP, `num_experts` gated experts of
      `moe_intermediate_size` (top `top_k_experts`), a router (h → experts, a per-expert
      scale, an input scale h) and 3 more norms;
    - `hidden_size_per_layer_input` p adds per-layer embeddings: a table of
      `vocab_size_per_layer_input` × (layers × p), a projection h → layers × p and a norm
      over p per model; per layer a gate (h → p), a projection (p → h) and a norm."""

    name = "gemma4"
    model_types: ClassVar[tuple[str, ...]] = ("gemma4_text", "gemma4_unified_text")

    def layer_types(self, n_layers: int) -> list[str]:
        declared = self.cv.lookup("layer_types")[0]
        if isinstance(declared, list) and len(declared) == n_layers:
            kinds = Adapter.layer_types(self, n_layers)
        else:
            pattern = self.read_int(
                "sliding_window_pattern", "sliding_window_pattern", "_sliding_window_pattern",
                default=6, why="Gemma4TextConfig: one global layer in 6",
            ) or 6
            kinds = ["full" if (i + 1) % pattern == 0 else "sliding" for i in range(n_layers)]
        if kinds and kinds[-1] != "full":
            self.prov["layer_types"] = from_modeling("gemma4", "the last layer is always global")
            kinds[-1] = "full"
        return kinds

    def qk_norm(self) -> bool:
        return True

    def norms_per_layer(self) -> int:
        return 4

    def _global_shape(self, index: int, heads: int, kv: int) -> tuple[int, int]:
        """(head_dim, kv heads) of global layer `index`."""
        table = self.cv.primary.get("per_layer_config")
        if isinstance(table, dict):
            self.cv.asked.add("per_layer_config")
            entry = table.get(f"{index:02d}", table.get(str(index)))
            entry = entry if isinstance(entry, dict) else {}
            dim = entry.get("head_dim")
            kv_heads = entry.get("num_key_value_heads")
            return (dim if isinstance(dim, int) else heads,
                    kv_heads if isinstance(kv_heads, int) else kv)
        dim = self.read_int("global_head_dim", "global_head_dim", default=512,
                            why="Gemma4TextConfig: global_head_dim defaults to 512") or heads
        if self.read("attention_k_eq_v", "attention_k_eq_v", default=False):
            kv = self.read_int("num_global_key_value_heads", "num_global_key_value_heads") or kv
        return dim, kv

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = Adapter.attention(self, index, layer_type)
        update: dict[str, object] = {"kv_shared_from": self._producer(index)}
        if layer_type == "full":
            dim, kv = self._global_shape(index, spec.head_dim, spec.num_kv_heads)
            update.update(
                head_dim=dim, v_head_dim=dim, num_kv_heads=kv,
                value_from_key=bool(self.read("attention_k_eq_v", "attention_k_eq_v",
                                              default=False)),
            )
        return spec.model_copy(update=update)

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*Adapter.layer_key(self, index, layer_type), index)

    def ffn(self, index: int) -> FFNSpec:
        spec = Adapter.ffn(self, index)
        width = spec.intermediate_size
        if self._producer(index) is not None and self.read(
            "use_double_wide_mlp", "use_double_wide_mlp", default=False
        ):
            width = self.derive("intermediate_size", 2 * width, "use_double_wide_mlp: 2 × width")
        if not self.read("enable_moe_block", "enable_moe_block", default=False):
            return spec.model_copy(update={"kind": "dense", "intermediate_size": width})
        experts = self.read_int("num_experts", "num_experts") or 0
        return spec.model_copy(
            update={
                "kind": "moe",
                "intermediate_size": width,
                "num_experts": experts,
                "experts_per_token": self.read_int(
                    "experts_per_token", "top_k_experts", "num_experts_per_tok"
                ) or 0,
                "expert_intermediate_size": self.read_int(
                    "expert_intermediate_size", "moe_intermediate_size",
                    "expert_intermediate_size",
                ) or 0,
                "num_shared_experts": 1,  # the dense MLP beside the experts
                "shared_intermediate_size": width,
                "router_bias": True,  # per_expert_scale: one value per expert
            }
        )

    def is_moe_layer(self, index: int) -> bool:
        return False

    def layer(self, index: int, layer_type: str):  # type: ignore[no-untyped-def]
        spec = Adapter.layer(self, index, layer_type)
        h = self.hidden_size()
        extra = 0
        if spec.ffn.kind == "moe":
            extra += h + 3 * h  # the router's input scale, the three extra norms
        p = self.read_int("hidden_size_per_layer_input", "hidden_size_per_layer_input") or 0
        if p:
            extra += 2 * h * p + h  # per-layer input gate, projection, norm
            if index == 0:
                layers = self.num_layers()
                vocab = self.read_int(
                    "vocab_size_per_layer_input", "vocab_size_per_layer_input"
                ) or 0
                extra += vocab * layers * p + h * layers * p + p
        return spec.model_copy(update={"extra_params": extra})


ATTENTION_VARIANT_ADAPTERS: tuple[type[Adapter], ...] = (
    Glm,
    Glm4,
    ChatGLM,
    Glm4Moe,
    SeedOss,
    Ernie45,
    SmolLM3,
    Helium,
    Apertus,
    Exaone4,
    Olmo3,
    Qwen35,
    DeepSeekV32,
    Hunyuan,
    JetMoE,
    KimiLinear,
    Gemma3n,
    Gemma4,
)
