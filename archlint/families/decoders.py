"""Decoder dialects of the pre-Llama generation and of encoder lineages turned decoder:
GPT-Neo, TrOCR's text decoder, ModernBERT-decoder, HRM-Text's recurrent stacks, Doge.

Each class states only what differs from the generic reader (which already takes the
generated `tf_structure` facts: norms, biases, learned position tables and their offset),
with the transformers modeling file it follows (`modeling_<model_type>.py`, transformers
5.23). Keys the modeling code reads to switch a module on or off are read here, so that a
config other than the type's default is counted as transformers builds it.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from archlint.families import Generic, tf_tables
from archlint.families.base import from_modeling
from archlint.families.dialects import ClassicTransformer, Llama
from archlint.spec import (
    AttentionSpec,
    Coverage,
    FFNSpec,
    LayerSpec,
    ModelSpec,
    Positional,
)


class GPTNeo(Generic):
    """GPT-Neo (`modeling_gpt_neo`): GPT-2's block with unbiased q/k/v, alternating global and
    local layers (`attention_types`, expanded to `attention_layers`). A local layer masks its
    scores to the last `window_size` tokens, but GPTNeoModel caches every token in every layer
    (one DynamicLayer per layer: the config has no `layer_types` for a sliding cache), so
    the cache of every layer grows with the context, as transformers keeps it."""

    name = "gpt_neo"
    model_types: ClassVar[tuple[str, ...]] = ("gpt_neo",)
    known = True

    def layer_types(self, n_layers: int) -> list[str]:
        self.cv.asked.update(("attention_types", "attention_layers", "window_size"))
        self.prov["layer_types"] = from_modeling(
            "gpt_neo", "local layers mask to window_size over an uncapped cache"
        )
        return ["full"] * n_layers

    def window(self) -> int | None:
        return None


class TrOCR(Generic):
    """TrOCR's text decoder (`modeling_trocr`, TrOCRForCausalLM): a post-norm block of
    self-attention, cross-attention over the image encoder (`encoder_attn`, k/v projected
    from `cross_attention_hidden_size`, else the hidden size) and a plain FFN, three biased
    LayerNorms per block and none after the last; a learned position table of
    max_position_embeddings + 2 rows unless `use_learned_position_embeddings` is false
    (sinusoidal, no parameters); a LayerNorm on the embedding when `layernorm_embedding`."""

    name = "trocr"
    model_types: ClassVar[tuple[str, ...]] = ("trocr",)
    known = True

    def num_layers(self) -> int:
        return self.read_int("num_layers", "decoder_layers", "num_hidden_layers") or 0

    def positional(self, index: int) -> Positional:
        learned = self.read(
            "positional", "use_learned_position_embeddings", default=True,
            why="TrOCRConfig: use_learned_position_embeddings defaults to True",
        )
        return "learned" if learned else "sinusoidal"

    def learned_positions(self) -> bool:
        return self.positional(0) == "learned"

    def embedding_norm(self) -> bool:
        return bool(self.read("embedding_norm", "layernorm_embedding", default=True))

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("intermediate_size", "decoder_ffn_dim")
        return spec.model_copy(update={"intermediate_size": width or spec.intermediate_size})

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        width = self.read_int("cross_attention_hidden_size", "cross_attention_hidden_size")
        cross = spec.attention.model_copy(
            update={"source": "encoder", "kv_input_size": width or None}
        )
        return spec.model_copy(update={"norms": 3, "cross_attention": cross})


class ModernBertDecoder(Generic):
    """ModernBERT-decoder (`modeling_modernbert_decoder`, ModernBertDecoderForCausalLM): the
    ModernBERT block (fused Wi of 2 × intermediate_size, Wo) whose first layer has no
    attention norm (nn.Identity), a norm on the embedding and one after the last block; the
    LM head is a prediction head (dense h → h, biased with `classifier_bias`, and a norm)
    before the tied `decoder` projection, biased with `decoder_bias`. Norms carry a bias only
    with `norm_bias`."""

    name = "modernbert_decoder"
    model_types: ClassVar[tuple[str, ...]] = ("modernbert-decoder",)
    known = True

    def norm_bias(self) -> bool:
        return bool(self.read("norm_bias", "norm_bias", default=False))

    def embedding_norm(self) -> bool:
        self.prov["embedding_norm"] = from_modeling("modernbert_decoder", "embeddings.norm")
        return True

    def final_norm(self) -> bool:
        return True

    def head_bias(self) -> bool:
        return bool(self.read("head_bias", "decoder_bias", default=True))

    def task_head_params(self) -> int:
        h = self.hidden_size()
        dense_bias = h if self.read("classifier_bias", "classifier_bias", default=False) else 0
        norm = h * (2 if self.norm_bias() else 1)
        return h * h + dense_bias + norm

    def norms_per_layer(self) -> int:
        return 2

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), index == 0)

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        return spec.model_copy(update={"norms": 1 if index == 0 else 2})


class HrmText(Generic):
    """HRM-Text (`modeling_hrm_text`, Wang et al. 2025, "Hierarchical Reasoning Model"): two
    stacks of `num_layers_per_stack` blocks (L, the fast one, and H, the slow one), run as a
    recurrence: per H cycle the L stack `L_cycles` times, then the H stack once. Each stack's
    weights exist once; every invocation of a block is a layer of its own for the compute and
    the cache (HrmTextConfig inflates num_hidden_layers to per_stack × H_cycles ×
    (L_cycles + 1) cache slots; a config that already carries `num_layers_per_stack` holds
    the inflated count). Blocks: q/k/v/o plus a sigmoid output gate (gate_proj h → heads ×
    head_dim), a gated MLP, weightless RMSNorms; the model adds `z_L_init` (h), the L
    stack's initial state, saved with the weights."""

    name = "hrm_text"
    model_types: ClassVar[tuple[str, ...]] = ("hrm_text",)
    known = True

    def _cycles(self) -> tuple[int, int, int]:
        """(blocks per stack, H cycles, L cycles)."""
        per_stack = self.read_int("num_layers_per_stack", "num_layers_per_stack")
        if per_stack is None:
            per_stack = self.read_int("num_layers_per_stack", "num_hidden_layers") or 0
        high = self.read_int("H_cycles", "H_cycles", default=2) or 1
        low = self.read_int("L_cycles", "L_cycles", default=3) or 1
        return per_stack, high, low

    def num_layers(self) -> int:
        per_stack, high, low = self._cycles()
        return self.derive(
            "num_layers", per_stack * high * (low + 1),
            "num_layers_per_stack × H_cycles × (L_cycles + 1) block invocations",
        )

    def _block(self, index: int) -> str:
        per_stack, _, low = self._cycles()
        stack = "H" if (index // max(per_stack, 1)) % (low + 1) == low else "L"
        return f"{stack}.{index % max(per_stack, 1)}"

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        return super().attention(index, layer_type).model_copy(update={"output_gate": True})

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._block(index), index == 0)

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        extra = self.hidden_size() if index == 0 else 0  # z_L_init
        return spec.model_copy(update={"shared_block": self._block(index), "extra_params": extra})


class Doge(Generic):
    """Doge (`modeling_doge`, SmallDoge): Llama's block with per-head q/k RMSNorms, a
    dynamic-mask attention (per KV head a learned `A` and `dt_proj`: kv_heads × head_dim →
    kv_heads, biased with `attention_bias`; the mask keeps `keep_window_size` keys of an
    uncapped cache) and two residual scales per block (`input_residual`,
    `post_attention_residual`, h each). The FFN is a gated MLP unless `is_moe`: then
    DogeCDMoE, that MLP as a shared expert plus `num_experts` single-neuron retrieval experts
    (`up_embed`, `down_embed`: experts × h each) picked through a product-key router
    (`router_gate`: h → 2 × floor(sqrt(experts))). Those are counted in the layer's
    parameters, but archlint has no formula for how few of them a token reads: the
    coverage block says so."""

    name = "doge"
    model_types: ClassVar[tuple[str, ...]] = ("doge",)
    known = True

    def is_moe_layer(self, index: int) -> bool:
        return False

    def _cdmoe(self) -> bool:
        return bool(self.read("is_moe", "is_moe", default=False))

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att, h = spec.attention, self.hidden_size()
        kv = att.num_kv_heads
        extra = kv + kv * att.head_dim * kv + (kv if att.qkv_bias else 0)  # A, dt_proj
        extra += 2 * h  # the two residual scales
        if self._cdmoe():
            experts = self.read_int("num_experts", "num_experts") or 0
            extra += 2 * experts * h + h * 2 * math.isqrt(experts)
        return spec.model_copy(update={"extra_params": extra})

    def coverage(self, spec: ModelSpec) -> Coverage:
        cov = super().coverage(spec)
        if not self._cdmoe():
            return cov
        return cov.with_item(
            part="CDMoE retrieval experts",
            how="not_understood",
            detail="parameters counted; the share a token reads (active parameters, FLOPs) "
            "is not modelled",
        )


class XLNet(Generic):
    """XLNet (`modeling_xlnet`, XLNetLMHeadModel; Yang et al. 2019): per layer a relative
    attention whose q, k, v, o and r (the relative-position key) are unbiased
    d_model × n_head × d_head tensors, with the content, position and segment biases
    (r_w_bias, r_r_bias, r_s_bias: n_head × d_head each) and the two segment embeddings
    (seg_embed: 2 × n_head × d_head); a plain biased FFN (layer_1 d_model → d_inner,
    layer_2 back, `ff_activation`), a LayerNorm after each. The model adds mask_emb
    (d_model); the LM head is the tied token table with a bias (lm_loss). Its cache is
    Transformer-XL's memory (`mems`: each layer's input hidden state, d_model per token,
    every token kept when mem_len is unset, as in the released configs, else the last
    mem_len), not K/V."""

    name = "xlnet"
    model_types: ClassVar[tuple[str, ...]] = ("xlnet",)
    known = True

    def gated_ffn(self) -> bool:
        return False

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("intermediate_size", "d_inner") or spec.intermediate_size
        return spec.model_copy(update={"intermediate_size": width, "bias": True, "gated": False})

    def head_bias(self) -> bool:
        return True  # lm_loss: Linear(d_model, vocab_size, bias=True), weight tied

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att, h = spec.attention, self.hidden_size()
        width = att.num_heads * att.head_dim
        extra = h * width + 3 * width + 2 * width  # r, r_{w,r,s}_bias, seg_embed
        if index == 0:
            extra += h  # mask_emb
        spec.attention.provenance["cache_width"] = from_modeling("xlnet", "mems: d_model per token")
        update: dict[str, object] = {"cache_width": h}
        memory = self.read_int("window", "mem_len")
        if memory:
            update["window"] = memory  # cache_mem keeps the last mem_len states
        return spec.model_copy(update={
            "extra_params": extra, "attention": att.model_copy(update=update),
        })

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), index == 0)


class MuseGlimmerText(Generic):
    """Muse-Glimmer's language model (`modeling_muse_glimmer`, MuseGlimmerTextDecoderLayer):
    Llama's attention plus an output gate `gate_proj` (h -> heads x head_dim, no bias
    whatever `attention_bias` says, so the block's extra parameters rather than the q-gate
    form, whose bias would follow q's), a weight-less q/k norm and a weight-less norm on
    the embeddings (no parameters), and four centred RMSNorms per block (input,
    post-attention, pre- and post-feedforward)."""

    name = "muse_glimmer_text"
    model_types: ClassVar[tuple[str, ...]] = ("muse_glimmer_text",)
    known = True

    def norms_per_layer(self) -> int:
        return 4

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att = spec.attention
        spec.attention.provenance["output_gate"] = from_modeling(
            "muse_glimmer", "self_attn.gate_proj (h -> heads x head_dim)"
        )
        gate = self.hidden_size() * att.num_heads * att.head_dim
        return spec.model_copy(update={"extra_params": spec.extra_params + gate})


class BlipText(ClassicTransformer):
    """BLIP's text decoder (`modeling_blip_text`, BlipTextLMHeadModel): BERT's post-norm
    block (biased q/k/v and output dense, LayerNorm after attention and after the MLP) with,
    in every layer of a decoder (`is_decoder`), a cross-attention sub-layer over the image
    features: q (h -> h), k and v (`encoder_hidden_size` -> h), output dense and LayerNorm,
    all biased. Learned positions and a LayerNorm after the embeddings, no segment table,
    no final norm and no pooler (the LM model builds none); the prediction head is a
    transform (dense h -> h, LayerNorm) before the tied decoder and its vocabulary bias."""

    name = "blip_text"
    model_types: ClassVar[tuple[str, ...]] = ("blip_text_model",)
    known = True

    def positional(self, index: int) -> Positional:
        return "learned"

    def embedding_norm(self) -> bool:
        return True

    def final_norm(self) -> bool:
        return False

    def head_bias(self) -> bool:
        return True

    def type_vocab_rows(self) -> int:
        return 0

    def pooler(self) -> bool:
        return False

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        if not self.read("is_decoder", "is_decoder", default=True):
            return spec
        h = self.hidden_size()
        enc = self._encoder_width() or h
        cross = 2 * (h * h + h) + 2 * (enc * h + h) + 2 * h  # q, out, k, v, LayerNorm
        spec.attention.provenance["cross_attention"] = from_modeling(
            "blip_text", "layer.crossattention (is_decoder)"
        )
        return spec.model_copy(update={"extra_params": spec.extra_params + cross})

    def _encoder_width(self) -> int | None:
        # inside BLIP's wrapper, BlipConfig sets text_config.encoder_hidden_size to the vision
        # tower's hidden_size (the declared vision_config, else the wrapper's default one)
        if self.cv.prefix:
            vision = self.config.get("vision_config")
            if not isinstance(vision, dict):
                wrapper = str(self.config.get("model_type") or "")
                vision = (tf_tables.defaults_for(wrapper) or {}).get("vision_config")
            width = vision.get("hidden_size") if isinstance(vision, dict) else None
            if isinstance(width, int) and not isinstance(width, bool):
                return width
        return self.read_int("encoder_hidden_size", "encoder_hidden_size")

    def build(self) -> ModelSpec:
        spec = super().build()
        h = self.hidden_size()
        extras = dict(spec.extra_params)
        # cls.predictions.transform: dense h -> h and its LayerNorm
        extras["other"] = extras.get("other", 0) + h * h + h + 2 * h
        return spec.model_copy(update={"extra_params": extras})


class MllamaText(Llama):
    """Llama-3.2-Vision's language model (`modeling_mllama` MllamaTextModel): Llama blocks,
    except the layers listed in `cross_attention_layers` (MllamaTextConfig's default
    [3, 8, ..., 38]), which are MllamaCrossAttentionDecoderLayer: no self-attention, a
    cross-attention over the vision tokens (q from the text, k/v from the projected image
    features, same head shapes as self-attention, per-head q/k RMSNorms, no rotary
    positions) and two scalar tanh gates (cross_attn_attn_gate, cross_attn_mlp_gate). Such
    a layer caches the image tokens once per image, never per generated token (vLLM's
    encoder-only cache for cross-attention). The token table holds vocab_size + 8 rows."""

    name = "mllama_text"
    model_types: ClassVar[tuple[str, ...]] = ("mllama_text_model",)
    known = True

    def _cross_layers(self) -> set[int]:
        # MllamaTextConfig's own default when the key is absent (the generated table's entry
        # for the text config type; the wrapper's default text_config does not list it)
        default = (tf_tables.defaults_for("mllama_text_model") or {}).get(
            "cross_attention_layers", [])
        value = self.read("cross_attention_layers", "cross_attention_layers", default=default,
                          why="MllamaTextConfig's default")
        if not isinstance(value, list):
            return set()
        n = self.num_layers()
        return {v for v in value if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < n}

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        if index not in self._cross_layers():
            return spec
        prov = dict(spec.attention.provenance)
        prov["source"] = from_modeling("mllama", "cross_attention_layers: cross-attention to "
                                   "the vision tokens in place of self-attention")
        cross = spec.attention.model_copy(update={
            "source": "encoder", "positional": "none", "qk_norm": True,
            "qk_norm_per_head": True, "window": None, "provenance": prov})
        return spec.model_copy(update={"attention": cross, "extra_params":
                                       spec.extra_params + 2})  # the two tanh gates

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), index in self._cross_layers())

    def build(self) -> ModelSpec:
        spec = super().build()
        extras = dict(spec.extra_params)
        # MllamaTextModel.embed_tokens: nn.Embedding(vocab_size + 8, hidden)
        extras["embedding"] = extras.get("embedding", 0) + 8 * spec.hidden_size
        return spec.model_copy(update={"extra_params": extras})


def _find_multiple(n: int, k: int) -> int:
    return n if n % k == 0 else n + k - n % k


class NemotronNAS(Llama):
    """Nemotron-NAS / Llama-3.x-Nemotron-Super and -Ultra (model_type `nemotron-nas`, the
    repos' DeciLM modeling code, never run here): Llama blocks made heterogeneous by
    `block_configs`, one entry per layer. Its `attention` is `no_op` (no attention and no
    input norm), `replace_with_linear` (one unbiased hidden x hidden linear, no cache) or
    GQA with num_attention_heads // `n_heads_in_group` KV heads; its `ffn` is `no_op` (no
    MLP and no post-attention norm), `replace_with_linear`, or a gated MLP whose width is
    `intermediate_size` when given, else `ffn_mult` as DeciLM's
    _ffn_mult_to_intermediate_size turns it into one: the next multiple of 256 above
    int(2 x ffn_mult x hidden / 3)."""

    name = "nemotron_nas"
    model_types: ClassVar[tuple[str, ...]] = ("nemotron-nas",)
    known = True

    def _block(self, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
        blocks = self.cv.lookup("block_configs")[0]
        if not isinstance(blocks, list) or not 0 <= index < len(blocks):
            return {}, {}
        block = blocks[index] if isinstance(blocks[index], dict) else {}
        att, ffn = block.get("attention"), block.get("ffn")
        return (att if isinstance(att, dict) else {}), (ffn if isinstance(ffn, dict) else {})

    def _width(self, ffn: dict[str, Any]) -> int | None:
        width = ffn.get("intermediate_size")
        if isinstance(width, int) and not isinstance(width, bool) and width > 0:
            return width
        mult = ffn.get("ffn_mult")
        if isinstance(mult, (int, float)) and not isinstance(mult, bool) and 0 < mult < 1e4:
            return _find_multiple(int(2 * mult * self.hidden_size() / 3), 256)
        return None

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att, ffn = self._block(index)
        h = self.hidden_size()
        extra, norms = spec.extra_params, spec.norms
        attention, mlp = spec.attention, spec.ffn
        fact = from_modeling("nemotron-nas (DeciLM)", f"block_configs[{index}]")
        if att.get("no_op") or att.get("replace_with_linear"):
            attention = AttentionSpec(kind="none", positional="none",
                                      provenance={"kind": fact})
            if att.get("replace_with_linear"):
                extra += h * h
            else:
                norms -= 1
        else:
            group = att.get("n_heads_in_group")
            if isinstance(group, int) and not isinstance(group, bool) and group > 0 \
                    and attention.num_heads % group == 0:
                prov = dict(attention.provenance)
                prov["num_kv_heads"] = fact
                kv = attention.num_heads // group
                kind = "mha" if kv == attention.num_heads else "mqa" if kv == 1 else "gqa"
                attention = attention.model_copy(update={
                    "num_kv_heads": kv, "kind": kind, "provenance": prov})
        if ffn.get("no_op") or ffn.get("replace_with_linear"):
            mlp = FFNSpec(kind="none")
            if ffn.get("replace_with_linear"):
                extra += h * h
            else:
                norms -= 1
        elif (width := self._width(ffn)) is not None:
            prov = dict(mlp.provenance)
            prov["intermediate_size"] = fact
            mlp = mlp.model_copy(update={"intermediate_size": width, "provenance": prov})
        return spec.model_copy(update={"attention": attention, "ffn": mlp, "norms": norms,
                                       "extra_params": extra})

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        att, ffn = self._block(index)
        return (*super().layer_key(index, layer_type), repr(sorted(att.items())),
                repr(sorted(ffn.items())))


class CpmAnt(Generic):
    """CPM-Ant (`modeling_cpmant`, CpmAntForCausalLM): pre-norm blocks of unbiased q/k/v/o
    (num_attention_heads × `dim_head`) and a gated FFN of width `dim_ff` (w_0, w_1, w_out),
    weight-only layer norms, a segment-aware relative position bias shared by every layer
    ((segment_types² + position_bias_num_buckets) × heads), a segment embedding
    (segment_types × h), and an input table holding `prompt_types × prompt_length` prompt
    rows beyond the vocabulary. The LM head is its own vocab × h linear: its table is
    narrower than the input one, so `tie_word_embeddings` ties nothing. Every sequence starts
    with `prompt_length` prompt positions that the cache keeps once per sequence (not counted
    as per-token KV)."""

    name = "cpmant"
    model_types: ClassVar[tuple[str, ...]] = ("cpmant",)
    known = True

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        dim = self.read_int("head_dim", "dim_head") or spec.head_dim
        return spec.model_copy(update={
            "head_dim": dim, "v_head_dim": dim, "positional": "relative",
            "qkv_bias": False, "o_bias": False,
        })

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("intermediate_size", "dim_ff") or spec.intermediate_size
        return spec.model_copy(update={"intermediate_size": width, "gated": True,
                                       "bias": False})

    def own_tie(self) -> bool:
        self.cv.asked.add("tie_word_embeddings")
        self.prov["tie_word_embeddings"] = from_modeling(
            "cpmant", "lm_head is vocab_size rows, the input table vocab + prompt rows: untied"
        )
        return False

    def build(self) -> ModelSpec:
        spec = super().build()
        h = spec.hidden_size
        heads = spec.layers[0].attention.num_heads if spec.layers else 0
        prompt = (self.read_int("prompt_types", "prompt_types") or 0) * (
            self.read_int("prompt_length", "prompt_length") or 0)
        segments = self.read_int("segment_types", "segment_types") or 0
        buckets = self.read_int("relative_attention_buckets", "position_bias_num_buckets") or 0
        self.cv.asked.add("position_bias_max_distance")
        extra = prompt * h + segments * h + (segments * segments + buckets) * heads
        return spec.model_copy(update={"extra_params": {
            **spec.extra_params, "embedding": spec.extra_params.get("embedding", 0) + extra,
        }})


DECODER_ADAPTERS = (GPTNeo, TrOCR, ModernBertDecoder, HrmText, Doge, XLNet, MuseGlimmerText,
                    BlipText, MllamaText, NemotronNAS,
                    CpmAnt)
