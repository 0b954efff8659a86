"""Decoders whose attention or FFN differs from Llama's in a way the generic reader misses:
GLM-4.x, Qwen3.5, DeepSeek-V3.2 (DSA indexer), SmolLM3 (NoPE layers), ERNIE-4.5, OLMo-3,
Seed-OSS, Apertus, EXAONE-4.

Each class states only what differs, with the transformers modeling file it follows
(`modeling_<model_type>.py`, transformers 5.23). Where transformers' code has no config key
for a structural fact (GLM's unbiased o_proj, ERNIE's absent q/k norm) the fact is recorded
as a default with that file as its source.
"""

from __future__ import annotations

from typing import ClassVar

from archlint.families.base import Adapter
from archlint.families.dialects import DeepSeek, Llama, Llama4, Olmo2, Qwen3Next
from archlint.spec import AttentionSpec, FFNSpec, FieldSource, IndexerSpec, Positional


def _modeling(model_type: str, fact: str) -> FieldSource:
    return FieldSource(kind="default", detail=f"transformers modeling_{model_type}: {fact}")


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
            self.prov["qk_norm"] = _modeling(self._type(), "q_norm/k_norm per head")
            return True
        if self.qk_norm_key is None:
            self.prov["qk_norm"] = _modeling(self._type(), "no q/k norm")
            return False
        return bool(self.read("qk_norm", self.qk_norm_key, default=False))

    def qkv_bias(self) -> bool:
        return bool(self.read("qkv_bias", self.bias_key, default=False))

    def o_bias(self) -> bool:
        if self.o_bias_key is not None:
            return bool(self.read("o_bias", self.o_bias_key, default=False))
        if not self.o_bias_follows:
            self.prov["o_bias"] = _modeling(self._type(), "o_proj has no bias")
            return False
        return self.qkv_bias()

    def norms_per_layer(self) -> int:
        return self.norms


class Glm(_LlamaVariant):
    """GLM-4 (`glm`, GLM-4-9B-0414's `glm4` adds post-attention and post-MLP norms): biased
    q/k/v (`attention_bias`), unbiased o_proj, fused gate_up_proj, partial RoPE."""

    name = "glm"
    model_types = ("glm",)
    o_bias_follows = False


class Glm4(Glm):
    name = "glm4"
    model_types = ("glm4",)
    norms = 4


class Glm4Moe(_LlamaVariant):
    """GLM-4.5/4.6/4.7 (`glm4_moe`): DeepSeek-V3-style MoE (sigmoid router whose
    `e_score_correction_bias` is a persistent buffer, saved with the weights; `n_shared_experts`;
    `first_k_dense_replace` dense layers), q/k norms only with `use_qk_norm`. transformers does
    not build the `num_nextn_predict_layers` MTP block; its weights ship in the checkpoint."""

    name = "glm4_moe"
    model_types = ("glm4_moe", "glm4v_moe_text")
    qk_norm_key = "use_qk_norm"

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe":
            return spec
        spec.provenance["router"] = _modeling(
            self._type(), "sigmoid router with e_score_correction_bias (noaux_tc)"
        )
        return spec.model_copy(update={"router": "sigmoid", "router_bias": True})

    def mtp_layers(self) -> list:  # type: ignore[type-arg]
        return DeepSeek.mtp_layers(self)  # type: ignore[arg-type]


class SeedOss(_LlamaVariant):
    """Seed-OSS: biased q/k/v (`attention_bias`), o_proj bias from `attention_out_bias`."""

    name = "seed_oss"
    model_types = ("seed_oss",)
    o_bias_key = "attention_out_bias"


class Ernie45(_LlamaVariant):
    """ERNIE-4.5 dense and MoE: `use_bias` on every projection, no q/k norm. The MoE reads
    `moe_num_experts`, `moe_k`, `moe_num_shared_experts` (each `moe_intermediate_size`
    wide), MoE layers from `moe_layer_start_index` to `moe_layer_end_index` every
    `moe_layer_interval`, and a softmax router whose `e_score_correction_bias` is a
    parameter (`moe_statics`)."""

    name = "ernie4_5"
    model_types = ("ernie4_5", "ernie4_5_moe")
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
        prov["router_bias"] = _modeling(self._type(), "moe_statics.e_score_correction_bias")
        return spec.model_copy(
            update={
                "experts_per_token": top_k,
                "num_shared_experts": shared,
                "shared_intermediate_size": shared * width,
                "router_bias": True,
                "provenance": prov,
            }
        )


class SmolLM3(_LlamaVariant):
    """SmolLM3: Llama with NoPE layers. `no_rope_layers[i]` is 1 where layer i uses RoPE;
    absent, every `no_rope_layer_interval`-th layer (4) is NoPE."""

    name = "smollm3"
    model_types = ("smollm3",)

    def positional(self, index: int) -> Positional:
        return Llama4.positional(self, index)  # type: ignore[arg-type]

    def _nope(self, n_layers: int) -> list[bool]:
        return Llama4._nope(self, n_layers)  # type: ignore[arg-type]


class Apertus(_LlamaVariant):
    """Apertus: an ungated MLP (up → xIELU → down) whose activation holds two learned scalars
    (`alpha_p`, `alpha_n`) per layer, per-head q/k RMSNorms, `attention_layernorm` and
    `feedforward_layernorm` pre-norms."""

    name = "apertus"
    model_types = ("apertus",)
    qk_norm_always = True

    def gated_ffn(self) -> bool:
        self.prov["ffn.gated"] = _modeling("apertus", "up_proj → act → down_proj (no gate)")
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
    model_types = ("exaone4",)
    qk_norm_always = True


class Olmo3(Olmo2):
    """OLMo-3: OLMo-2's block (post-norms, q/k RMSNorm over the whole projection) with
    sliding-window layers from `layer_types`."""

    name = "olmo3"
    model_types = ("olmo3",)

    def layer_types(self, n_layers: int) -> list[str]:
        declared = self.cv.lookup("layer_types")[0]
        if isinstance(declared, list) and len(declared) == n_layers:
            return super().layer_types(n_layers)
        # Olmo3Config's default: every 4th layer global, the others sliding
        self.prov["layer_types"] = _modeling("olmo3", "every 4th layer full, others sliding")
        return ["full" if (i + 1) % 4 == 0 else "sliding" for i in range(n_layers)]


class Qwen35(Qwen3Next):
    """Qwen3.5 dense and MoE (text models and their multimodal wrappers): Qwen3-Next's
    Gated DeltaNet + gated-attention stack from `layer_types`; in_proj_qkv/in_proj_z/in_proj_b/
    in_proj_a hold the same weights as Qwen3-Next's fused in_proj_qkvz/in_proj_ba."""

    name = "qwen3_5"
    model_types = ("qwen3_5", "qwen3_5_text", "qwen3_5_moe", "qwen3_5_moe_text")


class DeepSeekV32(DeepSeek):
    """DeepSeek-V3.2 (`deepseek_v32`): DeepSeek-V3's MLA and MoE plus DSA's lightning indexer
    in every layer (`index_n_heads` heads of `index_head_dim`, top `index_topk` tokens).
    Layer type `indexed_attention` is MLA with the indexer. The router always carries the
    `e_score_correction_bias` buffer (saved with the weights), whatever `topk_method` says."""

    name = "deepseek_v32"
    model_types = ("deepseek_v32",)
    LAYER_TYPE_NAMES: ClassVar[dict[str, str]] = {
        **Adapter.LAYER_TYPE_NAMES,
        "indexed_attention": "full",
    }

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        base = super().attention(index, layer_type)
        heads = self.read_int("indexer.num_heads", "index_n_heads")
        head_dim = self.read_int("indexer.head_dim", "index_head_dim")
        topk = self.read_int("indexer.topk", "index_topk")
        if base.kind != "mla" or not heads or not head_dim:
            return base
        base.provenance["indexer"] = self.declared("index_n_heads")
        return base.model_copy(
            update={"indexer": IndexerSpec(num_heads=heads, head_dim=head_dim, topk=topk or 0)}
        )

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe":
            return spec
        spec.provenance["router_bias"] = _modeling("deepseek_v32", "e_score_correction_bias")
        return spec.model_copy(update={"router": "sigmoid", "router_bias": True})


ATTENTION_VARIANT_ADAPTERS: tuple[type[Adapter], ...] = (
    Glm,
    Glm4,
    Glm4Moe,
    SeedOss,
    Ernie45,
    SmolLM3,
    Apertus,
    Exaone4,
    Olmo3,
    Qwen35,
    DeepSeekV32,
)
