"""Language models that exist only inside a multimodal wrapper and build modules no decoder
adapter counts: read from the wrapper's `text_config`, the towers by the tower reader."""

from __future__ import annotations

from typing import Any, ClassVar

from archlint.families import Generic
from archlint.families.attention_variants import Ernie45
from archlint.families.base import Adapter, _as_int, from_modeling, mha_from_key
from archlint.families.dialects import Llama
from archlint.spec import AttentionSpec, FFNSpec, FieldSource, LayerSpec, ModelSpec


def _pair(value: Any) -> tuple[int, int] | None:
    """A per-modality pair of sizes (text, vision): a list of two ints, or one int for
    both."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        text, vision = _as_int(value[0]), _as_int(value[1])
        return (text, vision) if text is not None and vision is not None else None
    number = _as_int(value)
    return (number, number) if number is not None else None


class Ernie45VLMoeText(Ernie45):
    """ERNIE-4.5-VL-MoE's language model (modeling_ernie4_5_vl_moe, `Ernie4_5_VLMoeMoeBlock`):
    ERNIE-4.5's attention (`use_bias`) and dense MLP, and in every `mlp_layer_types` "sparse"
    layer (absent: all but the first) modality-isolated experts: `text_moe`, `moe_num_experts`
    gated experts `moe_intermediate_size[0]` wide, and `vision_moe`, as many experts
    `moe_intermediate_size[1]` wide, each with its own router (experts × h, and a 1 × experts
    `e_score_correction_bias`), top `moe_k`; shared experts `moe_num_shared_experts` ×
    `moe_intermediate_size[0]` wide. A text token is routed among the text experts only, so
    the vision group is counted in the total and in no token's active parameters."""

    name = "ernie4_5_vl_moe"
    model_types: ClassVar[tuple[str, ...]] = ("ernie4_5_vl_moe_text",)

    def _sizes(self, key: str) -> tuple[int, int] | None:
        return _pair(self.cv.lookup(key)[0])

    def num_experts(self) -> int:
        pair = self._sizes("moe_num_experts")
        return pair[0] if pair else super().num_experts()

    def is_moe_layer(self, index: int) -> bool:
        # the one per-layer pattern reading (`moe_layers`: mlp_layer_types, declared or
        # Ernie4_5_VLMoeTextConfig's ["dense"] + ["sparse"] * (L - 1)), not ERNIE-4.5's
        # moe_layer_start_index / interval keys, which the VL text config does not have
        return Adapter.is_moe_layer(self, index)

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        # the generic MoE reader found the per-modality list no integer: read here instead
        self.notes[:] = [n for n in self.notes if not n.startswith("expert_intermediate_size:")]
        if spec.kind != "moe":
            return spec
        self.cv.lookup("moe_norm_min")  # read: the top-k weights' normalising epsilon
        prov = dict(spec.provenance)
        widths = _pair(self.read("expert_intermediate_size", "moe_intermediate_size", prov=prov))
        counts = self._sizes("moe_num_experts")
        if widths is None or counts is None:
            return spec
        h, (text_width, vision_width), vision_experts = self.hidden_size(), widths, counts[1]
        mats = 3 if spec.gated else 2
        vision = vision_experts * mats * h * vision_width + vision_experts * h + vision_experts
        prov["modality_expert_params"] = FieldSource(
            kind="derived",
            detail="vision_moe: moe_num_experts × gated experts moe_intermediate_size[1] wide, "
            "its router and e_score_correction_bias",
        )
        return spec.model_copy(
            update={
                "expert_intermediate_size": text_width,
                "shared_intermediate_size": spec.num_shared_experts * text_width,
                "modality_expert_params": vision,
                "provenance": prov,
            }
        )


class IdeficsText(Llama):
    """IDEFICS' language model (modeling_idefics `IdeficsModel`, its keys at the root):
    Llama blocks (unbiased q/k/v/o, gated MLP, two RMSNorms) and, before every
    `cross_layer_interval`-th block (num_hidden_layers // interval of them), an
    `IdeficsGatedCrossAttentionLayer`: a cross-attention to the image features (q and o
    h x h, k and v from the vision tower's `embed_dim`, per-head q/k RMSNorms when
    `qk_layer_norms`, no rotary positions), its own gated MLP at `intermediate_size`, two
    RMSNorms and the tanh gates `alpha_cross_attn` and `alpha_dense` (1 value each, or h
    when `alpha_type` is "vector"). The token table and the head each hold
    `additional_vocab_size` more rows (IdeficsDecoupledEmbedding / IdeficsDecoupledLinear).
    Cross-attention caches the image tokens, never per generated token. The vision tower
    and the perceiver resampler are read by the tower reader."""

    name = "idefics"
    model_types: ClassVar[tuple[str, ...]] = ("idefics",)

    def _interval(self) -> int:
        value = self.read_int("cross_layer_interval", "cross_layer_interval", default=1,
                              why="IdeficsConfig's default")
        return value if value and value > 0 else 1

    def _cross(self, index: int) -> bool:
        interval = self._interval()
        return index % interval == 0 and index // interval < self.num_layers() // interval

    def vocab_size(self) -> int:
        extra = self.read_int("additional_vocab_size", "additional_vocab_size", default=0) or 0
        return super().vocab_size() + max(extra, 0)

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        if not self._cross(index):
            return spec
        h = self.hidden_size()
        kv_width = self.read_int("cross_kv_input", "vision_config.embed_dim") or h
        qk_norm = bool(self.read("qk_layer_norms", "qk_layer_norms", default=False))
        prov = dict(spec.attention.provenance)
        prov["source"] = from_modeling("idefics", "gated_cross_attn_layers: cross-attention to "
                                   "the image features before every cross_layer_interval-th "
                                   "block")
        cross = spec.attention.model_copy(update={
            "source": "encoder", "positional": "none", "window": None, "qk_norm": qk_norm,
            "qk_norm_per_head": True, "kv_input_size": kv_width, "kind": "mha",
            "num_kv_heads": spec.attention.num_heads, "provenance": prov})
        vector = self.read("alpha_type", "alpha_type", default="float") == "vector"
        ffn = spec.ffn
        mlp = 3 * h * ffn.intermediate_size
        extra = mlp + 2 * h + 2 * (h if vector else 1)  # its MLP, two norms, two gates
        return spec.model_copy(update={"cross_attention": cross,
                                       "extra_params": spec.extra_params + extra})

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._cross(index))

    def build(self) -> ModelSpec:
        # read: how the gates start and which parts train, no shape
        for key in ("alpha_initializer", "freeze_text_layers", "freeze_vision_layers",
                    "freeze_lm_head", "freeze_text_module_exceptions",
                    "freeze_vision_module_exceptions"):
            self.cv.lookup(key)
        return super().build()


class EvollaText(Llama):
    """Evolla's language model (modeling_evolla `EvollaModel`, its keys at the root): Llama
    blocks, and in every block i with (i + 1) % max(num_hidden_layers //
    `aligner_num_add_layers`, 1) == 0 an `EvollaSequenceAlignerCrossAttention` over the
    resampled protein features (already at the hidden size): biased query, key_protein and
    value_protein (h x h), an out_proj biased by `aligner_enable_bias`, an RMSNorm, a
    feed-forward (a biased LayerNorm, unbiased fc1 h -> h x `aligner_ffn_mult` and fc2
    back) and two scalar gates. It caches the protein tokens, never per generated token.
    The protein encoder and its resampler are read by the tower reader."""

    name = "evolla"
    model_types: ClassVar[tuple[str, ...]] = ("evolla",)

    def _aligned(self, index: int) -> bool:
        adds = self.read_int("aligner_num_add_layers", "aligner_num_add_layers", default=8,
                             why="EvollaConfig's default") or 0
        if adds <= 0:
            return False
        return (index + 1) % max(self.num_layers() // adds, 1) == 0

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        if not self._aligned(index):
            return spec
        h = self.hidden_size()
        heads = spec.attention.num_heads or 1
        bias = bool(self.read("aligner_enable_bias", "aligner_enable_bias", default=True))
        mult = self.read("aligner_ffn_mult", "aligner_ffn_mult", default=4)
        inner = int(h * mult) if isinstance(mult, (int, float)) and mult > 0 else 4 * h
        prov = dict(spec.attention.provenance)
        prov["source"] = from_modeling("evolla", "adapter: EvollaSequenceAlignerCrossAttention "
                                   "over the protein features")
        cross = spec.attention.model_copy(update={
            "source": "encoder", "positional": "none", "window": None, "kind": "mha",
            "num_kv_heads": heads, "head_dim": h // heads, "v_head_dim": h // heads,
            "qkv_bias": True, "key_bias": True, "o_bias": bias, "qk_norm": False,
            "provenance": prov})
        # attention_norm (RMSNorm), the feed-forward's LayerNorm, fc1, fc2, two gates
        extra = h + 2 * h + 2 * h * inner + 2
        return spec.model_copy(update={"cross_attention": cross,
                                       "extra_params": spec.extra_params + extra})

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._aligned(index))

    def build(self) -> ModelSpec:
        self.cv.lookup("aligner_attention_probs_dropout_prob")  # read: no shape
        return super().build()


class PPFormulaNetText(Generic):
    """PP-FormulaNet's language model (modeling_pp_formulanet `PPFormulaNetTextModel`, its
    text_config): an mBART decoder alone, whatever its encoder keys say (the encoder is the
    vision model): `decoder_layers` blocks of `d_model` with `decoder_attention_heads`, a
    self-attention and a cross-attention to the projected image features (both biased
    q/k/v/out at d_model), a biased fc1/fc2 MLP of `decoder_ffn_dim`, three biased
    LayerNorms; a learned position table (2 rows beyond max_position_embeddings), a
    LayerNorm on the embedding and one at the end (the structure table's facts for the type).
    The cross-attention caches the image tokens, never per generated token."""

    name = "pp_formulanet_text"
    model_types: ClassVar[tuple[str, ...]] = ("pp_formulanet_text",)
    known = True

    def num_layers(self) -> int:
        return self.read_int("num_layers", "decoder_layers", default=8,
                             why="PPFormulaNetTextConfig's default") or 0

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        return mha_from_key(self, super().attention(index, layer_type), "decoder_attention_heads")

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        prov = dict(spec.provenance)
        width = self.read_int("intermediate_size", "decoder_ffn_dim", prov=prov)
        return spec.model_copy(update={"intermediate_size": width or spec.intermediate_size,
                                       "provenance": prov})

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        prov = dict(spec.attention.provenance)
        prov["source"] = from_modeling("pp_formulanet", "encoder_attn: cross-attention to the "
                                   "image features in every decoder layer")
        cross = spec.attention.model_copy(update={
            "source": "encoder", "positional": "none", "window": None, "provenance": prov})
        return spec.model_copy(update={"cross_attention": cross})

    def build(self) -> ModelSpec:
        # read: the encoder keys name no module of this decoder (the vision model encodes)
        for key in ("encoder_layers", "encoder_attention_heads", "encoder_ffn_dim",
                    "encoder_layerdrop", "decoder_layerdrop", "scale_embedding"):
            self.cv.lookup(key)
        return super().build()


class MuseSparkText(Generic):
    """Muse Spark's language model (modeling_muse_spark `MuseSparkTextDecoderLayer`, its
    text_config): GQA attention (q/k/v/o biased by `attention_bias`) with an output gate
    `gate_proj` (h -> heads x head_dim, unbiased) and weight-less q/k and output norms; three
    weighted RMSNorms per block (input, pre- and post-feed-forward; the post-attention one has
    no weight) and two residual gates of h. Its `mlp_layer_types` "sparse" blocks (absent:
    all) are a `MuseSparkMoE`: a router (experts x h; its correction bias a buffer),
    `pre_expert_proj` h -> `moe_hidden_size`, a norm there, `num_local_experts` gated experts
    `moe_intermediate_size` wide that read and write moe_hidden_size, their one
    post_expert_norm, and `post_expert_proj` back to h; a "dense" block a gated MLP of
    `intermediate_size`. The experts do not read the hidden size, so each block's parameters
    are computed here (`block_params`); the FFN spec still names experts, top-k and widths."""

    name = "muse_spark_text"
    model_types: ClassVar[tuple[str, ...]] = ("muse_spark_text",)
    known = True

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att, ffn, h = spec.attention, spec.ffn, self.hidden_size()
        q, kv = att.num_heads * att.head_dim, att.num_kv_heads * att.head_dim
        bias = (q + 2 * kv + h) if att.qkv_bias else 0
        params = {"attention": 2 * h * q + 2 * h * kv + bias + h * q,  # + the output gate
                  "norms": 3 * h, "other": 2 * h}  # three weighted norms, two residual gates
        if ffn.kind == "moe":
            moe = self.read_int("moe_hidden_size", "moe_hidden_size", default=4096,
                                why="MuseSparkTextConfig's default") or 0
            experts, width = ffn.num_experts, ffn.expert_intermediate_size
            params["routed_experts"] = experts * 3 * moe * width
            params["router"] = experts * h
            params["dense_ffn"] = 2 * h * moe  # pre_expert_proj and post_expert_proj
            params["norms"] += 2 * moe  # pre_expert_norm and the experts' post_expert_norm
        else:
            params["dense_ffn"] = 3 * h * ffn.intermediate_size
        return spec.model_copy(update={"block_params": params})

    def build(self) -> ModelSpec:
        for key in ("qk_scale_factor", "output_multiplier", "post_norm_eps",
                    "residual_gate_temperature", "layer_rope_theta", "routed_scaling_factor"):
            self.cv.lookup(key)  # read: scales and epsilons, no shape
        return super().build()


MM_TEXT_ADAPTERS = (Ernie45VLMoeText, IdeficsText, EvollaText, PPFormulaNetText, MuseSparkText)
