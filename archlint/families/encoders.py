"""Encoder-only dialects the BERT reader cannot read by facts alone: a shared block (ALBERT),
other key names (XLM, FlauBERT), rotary local/global attention with GeGLU (ModernBERT) and
disentangled relative attention (DeBERTa).

Each follows transformers' `modeling_<family>.py`, named in its docstring. Encoders keep no
KV cache across generated tokens (`architecture() == "encoder"`): their cache and state are 0.
"""

from __future__ import annotations

from typing import ClassVar

from archlint.errors import ConfigError
from archlint.families import Generic
from archlint.families.base import Adapter
from archlint.families.dialects import Bert, ClassicTransformer, GptOss
from archlint.spec import AttentionSpec, FFNSpec, LayerSpec, ModelSpec, Positional, TowerSpec


class Albert(Bert):
    """ALBERT (modeling_albert): a factorised embedding (`embedding_size` wide tables and
    LayerNorm, then `embedding_hidden_mapping_in` up to the hidden size, always present) and
    `num_hidden_groups` groups of `inner_group_num` blocks; layer i runs group
    i // (num_hidden_layers / num_hidden_groups), so a group's weights count once however many
    layers reuse it (`shared_block`), its compute once per use."""

    name = "albert"
    model_types: ClassVar[tuple[str, ...]] = ("albert",)
    pooler_default = True

    def embedding_norm(self) -> bool:
        return True

    def positional(self, index: int) -> Positional:
        return "learned"

    def embedding_width(self) -> int | None:
        return self.read_int("embedding_size", "embedding_size", default=128)

    def embedding_projection(self) -> bool:
        return True

    def _groups(self) -> tuple[int, int]:
        groups = self.read_int("num_hidden_groups", "num_hidden_groups", default=1) or 1
        inner = self.read_int("inner_group_num", "inner_group_num", default=1) or 1
        return groups, inner

    def decoder_layers(self, kinds: list[str]) -> list[LayerSpec]:
        groups, inner = self._groups()
        block = super().layer(0, "full")
        layers = []
        for i in range(len(kinds)):
            group = int(i / (len(kinds) / groups))
            for j in range(inner):
                name = f"albert_layer_groups.{group}.albert_layers.{j}"
                layers.append(
                    block.model_copy(update={"index": len(layers), "shared_block": name})
                )
        return layers

    def build(self) -> ModelSpec:
        spec = super().build()
        # num_layers is the blocks run per token (layers × inner_group_num)
        return spec.model_copy(update={"num_layers": len(spec.layers)})


class XLM(ClassicTransformer):
    """XLM and FlauBERT (modeling_xlm, modeling_flaubert): `emb_dim` / `n_layers` / `n_heads`,
    a learned position table, a language table when `n_langs` > 1 and `use_lang_emb`, a
    LayerNorm on the embedding, post-norm blocks of biased q/k/v/out linears and a
    4 × emb_dim GELU (`gelu_activation`, else ReLU) feed-forward; no pooler, no final norm."""

    name = "xlm"
    model_types: ClassVar[tuple[str, ...]] = ("xlm", "flaubert")

    def architecture(self) -> str:
        return "encoder"

    def hidden_size(self) -> int:
        return self.read_int("hidden_size", "emb_dim", "hidden_size") or 0

    def embedding_norm(self) -> bool:
        return True

    def positional(self, index: int) -> Positional:
        return "learned"

    def type_vocab_rows(self) -> int:
        langs = self.read_int("n_langs", "n_langs", default=1) or 1
        use = bool(self.read("use_lang_emb", "use_lang_emb", default=True))
        return langs if langs > 1 and use else 0

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        gelu = bool(self.read("gelu_activation", "gelu_activation", default=True))
        width = self.derive("intermediate_size", 4 * self.hidden_size(), "XLM: 4 × emb_dim")
        return spec.model_copy(
            update={"intermediate_size": width, "activation": "gelu" if gelu else "relu"}
        )


class ModernBert(Adapter):
    """ModernBERT (modeling_modernbert): a token table with a LayerNorm and no position table
    (RoPE, `global_rope_theta` on global layers), a fused Wqkv, GeGLU (Wi emits 2 ×
    intermediate_size), LayerNorms with `norm_bias`, projections biased by `attention_bias` /
    `mlp_bias`, a final norm. Layer 0 has no attention norm (nn.Identity). Layers are global
    every `global_attn_every_n_layers` (i % n == 0), else local with a `local_attention`-token
    window, unless `layer_types` says otherwise."""

    name = "modernbert"
    model_types: ClassVar[tuple[str, ...]] = ("modernbert",)

    def architecture(self) -> str:
        return "encoder"

    def norm_kind(self) -> str:
        return "layernorm"

    def norm_bias(self) -> bool:
        return bool(self.read("norm_bias", "norm_bias", default=False))

    def embedding_norm(self) -> bool:
        return True

    def final_norm(self) -> bool:
        return True

    def positional(self, index: int) -> Positional:
        return "rope"

    def learned_positions(self) -> bool:
        return False

    def type_vocab_rows(self) -> int:
        return 0

    def rope_theta(self) -> float | None:
        value = self.read("rope_theta", "global_rope_theta", "rope_theta", default=160000.0)
        return float(value)

    def window(self) -> int | None:
        return _window(self.read_int("window", "local_attention", default=128), "local_attention")

    def layer_types(self, n_layers: int) -> list[str]:
        if isinstance(self.cv.lookup("layer_types")[0], list):
            return super().layer_types(n_layers)
        every = self.read_int(
            "global_attn_every_n_layers", "global_attn_every_n_layers", default=3
        ) or 1
        return ["sliding" if i % every else "full" for i in range(n_layers)]

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), index == 0)

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        attention = spec.attention.model_copy(update={"fused_qkv": True})
        return spec.model_copy(
            update={"attention": attention, "norms": 1 if index == 0 else 2}
        )


class Deberta(ClassicTransformer):
    """DeBERTa and DeBERTa-v2/v3 (modeling_deberta, modeling_deberta_v2).

    Embeddings: tokens, a position table only when `position_biased_input`, segments when
    `type_vocab_size` > 0, a LayerNorm. With `relative_attention` the encoder holds one
    relative-position table of 2 × `position_buckets` rows (when > 0), else 2 ×
    `max_relative_positions` (the position count when < 1), normalised by a LayerNorm when
    `norm_rel_ebd` says layer_norm (v2); each attention block adds, unless `share_att_key`
    (v2), a position key projection for c2p and a position query projection for p2c in
    `pos_att_type` (v1: pos_proj unbiased, pos_q_proj biased; v2: both biased). v1's fused
    in_proj is unbiased with q and v biases only, and `talking_head` adds two heads × heads
    projections."""

    name = "deberta"
    model_types: ClassVar[tuple[str, ...]] = ("deberta", "deberta-v2")

    def _v2(self) -> bool:
        return str(self.cv.lookup("model_type")[0]) == "deberta-v2"

    def architecture(self) -> str:
        return "encoder"

    def embedding_norm(self) -> bool:
        return True

    def positional(self, index: int) -> Positional:
        return "relative" if self._relative() else "learned"

    def learned_positions(self) -> bool:
        return bool(self.read("position_biased_input", "position_biased_input", default=True))

    def _relative(self) -> bool:
        return bool(self.read("relative_attention", "relative_attention", default=False))

    def _att_types(self) -> list[str]:
        raw = self.cv.lookup("pos_att_type")[0]
        if isinstance(raw, str):
            return [t.strip().lower() for t in raw.split("|")]
        return [str(t).lower() for t in raw] if isinstance(raw, list) else []

    def final_norm(self) -> bool:
        # DebertaV2Encoder.LayerNorm normalises the relative-position table
        norm = str(self.read("norm_rel_ebd", "norm_rel_ebd", default="none")).lower()
        return self._v2() and self._relative() and "layer_norm" in norm

    def relative_position_rows(self) -> int:
        if not self._relative():
            return 0
        buckets = self.read_int("position_buckets", "position_buckets", default=-1) or -1
        span = self.read_int("max_relative_positions", "max_relative_positions", default=-1)
        if span is None or span < 1:
            span = self.max_positions() or 0
        return 2 * buckets if self._v2() and buckets > 0 else 2 * span

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        if self._v2():
            return spec
        return spec.model_copy(update={"key_bias": False})  # in_proj + q_bias + v_bias

    def _position_projections(self) -> int:
        d = self.hidden_size()
        if not self._relative() or (self._v2() and self.cv.lookup("share_att_key")[0]):
            return 0
        types = self._att_types()
        c2p = d * d + (d if self._v2() else 0)
        p2c = d * d + d
        return ("c2p" in types) * c2p + ("p2c" in types) * p2c

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        extra = self._position_projections()
        if not self._v2() and self.cv.lookup("talking_head")[0]:
            heads = spec.attention.num_heads
            extra += 2 * heads * heads
        return spec.model_copy(update={"extra_params": extra})

    def build(self) -> ModelSpec:
        spec = super().build()
        return spec.model_copy(update={"relative_position_rows": self.relative_position_rows()})


def _window(value: object, key: str) -> int:
    """A window (tokens a query reads) from the config: a positive integer, else the config
    is refused naming the key (a 0-token window attends to nothing)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"config.json: {key} must be a positive integer (got {value!r})")
    return value


def _linear(fan_in: int, fan_out: int, bias: bool = True) -> int:
    """An nn.Linear's parameters: the weight and, when present, its bias."""
    return fan_in * fan_out + (fan_out if bias else 0)


class BertLike(Bert):
    """A BERT block stack whose modeling code adds modules the BERT reader does not count:
    subclasses say which, from the config keys that size them (`embedding_extras`: tables and
    projections beside the token/position/segment tables; `block_extras`: modules inside
    every block beside q/k/v/out and the FFN)."""

    name = "bert_like"
    model_types: tuple[str, ...] = ()

    def embedding_extras(self) -> dict[str, int]:
        return {}

    def block_extras(self, index: int) -> int:
        return 0

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        extra = spec.extra_params + self.block_extras(index)
        return spec.model_copy(update={"extra_params": extra})

    def build(self) -> ModelSpec:
        spec = super().build()
        extras = dict(spec.extra_params)
        for key, value in self.embedding_extras().items():
            extras[key] = extras.get(key, 0) + value
        return spec.model_copy(update={"extra_params": extras})


class RocBert(BertLike):
    """RoCBERT (modeling_roc_bert): beside BERT's tables, a pronunciation table
    (`pronunciation_vocab_size` × `pronunciation_embed_dim`) and a shape table
    (`shape_vocab_size` × `shape_embed_dim`), always built; with `concat_input`, a biased
    `map_inputs_layer` from the concatenation (hidden, plus each enabled table's width) down
    to the hidden size."""

    name = "roc_bert"
    model_types: ClassVar[tuple[str, ...]] = ("roc_bert",)

    def embedding_extras(self) -> dict[str, int]:
        d = self.hidden_size()
        pron = self.read_int("pronunciation_embed_dim", "pronunciation_embed_dim") or 0
        shape = self.read_int("shape_embed_dim", "shape_embed_dim") or 0
        tables = (self.read_int("pronunciation_vocab_size", "pronunciation_vocab_size") or 0) * pron
        tables += (self.read_int("shape_vocab_size", "shape_vocab_size") or 0) * shape
        other = 0
        if self.read("concat_input", "concat_input", default=True):
            width = d
            width += pron if self.read("enable_pronunciation", "enable_pronunciation") else 0
            width += shape if self.read("enable_shape", "enable_shape") else 0
            other = _linear(width, d)
        return {"embedding": tables, "other": other}


class MarkupLM(BertLike):
    """MarkupLM (modeling_markuplm `XPathEmbeddings`): per depth level (`max_depth`) a tag
    table (`max_xpath_tag_unit_embeddings`) and a subscript table
    (`max_xpath_subs_unit_embeddings`), each `xpath_unit_hidden_size` wide; biased linears
    xpath_unitseq2_embeddings (depth × unit → hidden), xpath_unitseq2_inner (→ 4 × hidden)
    and inner2emb (4 × hidden → hidden)."""

    name = "markuplm"
    model_types: ClassVar[tuple[str, ...]] = ("markuplm",)

    def embedding_extras(self) -> dict[str, int]:
        d = self.hidden_size()
        depth = self.read_int("max_depth", "max_depth") or 0
        unit = self.read_int("xpath_unit_hidden_size", "xpath_unit_hidden_size") or 0
        tags = self.read_int("max_xpath_tag_unit_embeddings", "max_xpath_tag_unit_embeddings")
        subs = self.read_int("max_xpath_subs_unit_embeddings", "max_xpath_subs_unit_embeddings")
        tables = depth * ((tags or 0) + (subs or 0)) * unit
        linears = _linear(depth * unit, d) + _linear(depth * unit, 4 * d) + _linear(4 * d, d)
        return {"embedding": tables, "other": linears}


class Lilt(BertLike):
    """LiLT (modeling_lilt): a layout stream beside the text stream, `channel_shrink_ratio`
    (r) times narrower. Embeddings: four 2-D position tables (`max_2d_position_embeddings` ×
    hidden // 6), a box position table (`max_position_embeddings` × hidden // r), a biased
    box linear (hidden → hidden // r) and a LayerNorm. Every block adds layout q/k/v
    (hidden // r → all_head_size // r), a layout self-output (dense + LayerNorm) and a layout
    FFN (intermediate // r) with its LayerNorm, all biased."""

    name = "lilt"
    model_types: ClassVar[tuple[str, ...]] = ("lilt",)

    def _ratio(self) -> int:
        return self.read_int("channel_shrink_ratio", "channel_shrink_ratio", default=4) or 1

    def embedding_extras(self) -> dict[str, int]:
        d, r = self.hidden_size(), self._ratio()
        rows = self.read_int("max_2d_position_embeddings", "max_2d_position_embeddings") or 0
        positions = self.max_positions() or 0
        tables = 4 * rows * (d // 6) + positions * (d // r)
        return {"embedding": tables + _linear(d, d // r), "norms": 2 * (d // r)}

    def block_extras(self, index: int) -> int:
        d, r = self.hidden_size(), self._ratio()
        att = self.attention(index, "full")
        heads_width = att.num_heads * att.head_dim
        small, inner = d // r, self.ffn(index).intermediate_size // r
        qkv = 3 * _linear(small, heads_width // r)
        output = _linear(small, small) + 2 * small
        ffn = _linear(small, inner) + _linear(inner, small) + 2 * small
        return qkv + output + ffn


class Longformer(BertLike):
    """Longformer (modeling_longformer `LongformerSelfAttention`): every layer attends within
    its `attention_window` (one int, or one per layer) and holds a second biased q/k/v set
    (query_global, key_global, value_global, hidden → hidden) for the global tokens."""

    name = "longformer"
    model_types: ClassVar[tuple[str, ...]] = ("longformer",)

    def layer_types(self, n_layers: int) -> list[str]:
        return ["sliding"] * n_layers

    def _windows(self) -> list[int]:
        raw = self.read("window", "attention_window", default=512)
        n = self.num_layers()
        if isinstance(raw, list) and len(raw) == n and all(isinstance(w, int) for w in raw):
            return [_window(w, "attention_window") for w in raw]
        return [_window(raw if isinstance(raw, int) else 512, "attention_window")] * n

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._windows()[index])

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        return spec.model_copy(update={"window": self._windows()[index]})

    def block_extras(self, index: int) -> int:
        d = self.hidden_size()
        return 3 * _linear(d, d)


class Luke(BertLike):
    """LUKE (modeling_luke): entity embeddings (an `entity_vocab_size` × `entity_emb_size`
    table, an unbiased projection to the hidden size when the widths differ, their own
    position and segment tables and a LayerNorm); with `use_entity_aware_attention` every
    block adds the word-to-entity, entity-to-word and entity-to-entity queries (biased,
    hidden → all_head_size)."""

    name = "luke"
    model_types: ClassVar[tuple[str, ...]] = ("luke",)

    def embedding_extras(self) -> dict[str, int]:
        d = self.hidden_size()
        width = self.read_int("entity_emb_size", "entity_emb_size") or d
        rows = self.read_int("entity_vocab_size", "entity_vocab_size") or 0
        tables = rows * width + (self.max_positions() or 0) * d + self.type_vocab_rows() * d
        dense = _linear(width, d, bias=False) if width != d else 0
        return {"embedding": tables + dense, "norms": 2 * d}

    def block_extras(self, index: int) -> int:
        if not self.read("use_entity_aware_attention", "use_entity_aware_attention"):
            return 0
        att = self.attention(index, "full")
        return 3 * _linear(self.hidden_size(), att.num_heads * att.head_dim)


class Xmod(BertLike):
    """X-MOD (modeling_xmod): every block's output holds one bottleneck adapter per language
    in `languages` (biased hidden → hidden // `adapter_reduction_factor` → hidden), plus a
    LayerNorm before them when `adapter_layer_norm`; with `pre_norm` the encoder ends with a
    LayerNorm. A token runs its own language's adapter only."""

    name = "xmod"
    model_types: ClassVar[tuple[str, ...]] = ("xmod",)

    def final_norm(self) -> bool:
        return bool(self.read("pre_norm", "pre_norm", default=False))

    def block_extras(self, index: int) -> int:
        d = self.hidden_size()
        langs = self.read("languages", "languages", default=["en_XX"])
        count = len(langs) if isinstance(langs, (list, tuple, dict)) else 1
        factor = self.read("adapter_reduction_factor", "adapter_reduction_factor", default=2)
        width = int(d // factor) if isinstance(factor, (int, float)) and factor else d
        norm = 2 * d if self.read("adapter_layer_norm", "adapter_layer_norm") else 0
        return count * (_linear(d, width) + _linear(width, d)) + norm


class ConvBert(BertLike):
    """ConvBERT (modeling_convbert): mixed attention. Self-attention keeps
    num_attention_heads // `head_ratio` heads (at least 1) of (hidden // heads) // 2 each;
    beside q/k/v, a separable convolution over the keys (depthwise `conv_kernel_size` ×
    hidden, pointwise hidden → all_head_size, one bias), conv_kernel_layer (all_head_size →
    heads × kernel) and conv_out_layer (hidden → all_head_size), all biased; the output dense
    reads the concatenation (2 × all_head_size). With `num_groups` > 1 the FFN linears are
    grouped (weights / groups). An `embedding_size` narrower than the hidden size is
    projected up (embeddings_project)."""

    name = "convbert"
    model_types: ClassVar[tuple[str, ...]] = ("convbert",)

    def embedding_projection(self) -> bool:
        return self.embedding_width() is not None

    def _heads(self) -> tuple[int, int]:
        heads = self.read_int("num_heads", "num_attention_heads") or 1
        ratio = self.read_int("head_ratio", "head_ratio", default=2) or 1
        kept = max(heads // ratio, 1)
        return kept, (self.hidden_size() // kept) // 2

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        heads, size = self._heads()
        return spec.model_copy(update={
            "num_heads": heads, "num_kv_heads": heads, "head_dim": size, "v_head_dim": size
        })

    def block_extras(self, index: int) -> int:
        d = self.hidden_size()
        heads, size = self._heads()
        width = heads * size
        kernel = self.read_int("conv_kernel_size", "conv_kernel_size", default=9) or 1
        conv = kernel * d + d * width + width + _linear(width, heads * kernel) + _linear(d, width)
        # the output dense reads 2 × all_head_size, not the heads × head_dim counted as o_proj
        output = (2 * width - width) * d
        inner = self.ffn(index).intermediate_size
        groups = self.read_int("num_groups", "num_groups", default=1) or 1
        grouped = 2 * d * inner // groups - 2 * d * inner if groups > 1 else 0
        return conv + output + grouped


class OpenAIPrivacyFilter(GptOss):
    """OpenAI's privacy filter (modeling_openai_privacy_filter): gpt-oss blocks run as a
    bidirectional encoder (is_causal False): attention sinks, biased router and experts, a
    final RMSNorm, no position table (YaRN RoPE). Every layer attends within
    `sliding_window` tokens on either side (create_bidirectional_sliding_window_mask:
    |q - k| <= window), so a query sees 2 × window + 1 keys."""

    name = "openai_privacy_filter"
    model_types: ClassVar[tuple[str, ...]] = ("openai_privacy_filter",)

    def architecture(self) -> str:
        return "encoder"

    def window(self) -> int | None:
        side = super().window()
        if side is None:
            return None
        return self.derive("window", 2 * side + 1, "bidirectional: sliding_window each side")


class SqueezeBert(Bert):
    """SqueezeBERT (modeling_squeezebert): BERT's layout with every block linear a grouped 1×1
    convolution (biased, weights in × out / groups): q, k, v (`q_groups`, `k_groups`,
    `v_groups`), the post-attention projection (`post_attention_groups`), the FFN in and out
    (`intermediate_groups`, `output_groups`), each residual followed by a LayerNorm."""

    name = "squeezebert"
    model_types: ClassVar[tuple[str, ...]] = ("squeezebert",)

    def _groups(self, key: str) -> int:
        return self.read_int(key, key, default=1) or 1

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        d, inner = self.hidden_size(), spec.ffn.intermediate_size

        def conv(fan_in: int, fan_out: int, key: str) -> int:
            return fan_in * fan_out // self._groups(key) + fan_out

        qkv = sum(conv(d, d, key) for key in ("q_groups", "k_groups", "v_groups"))
        params = {
            "attention": qkv + conv(d, d, "post_attention_groups"),
            "dense_ffn": conv(d, inner, "intermediate_groups") + conv(inner, d, "output_groups"),
            "norms": 2 * 2 * d,
        }
        return spec.model_copy(update={"block_params": params})


class MobileBert(Bert):
    """MobileBERT (modeling_mobilebert). Blocks run at `true_hidden_size` (T:
    `intra_bottleneck_size` with `use_bottleneck`, else the hidden size D): with the
    bottleneck, an input bottleneck D → T (and a second one for q/k when
    `key_query_shared_bottleneck`), and an output bottleneck T → D with its norm. Queries and
    keys read T, values D (T with `use_bottleneck_attention`); the self-output is T → T;
    `num_feedforward_networks` FFNs of T → intermediate → T run in sequence, each with a
    norm. Norms (`normalization_type` no_norm or layer_norm) hold a weight and a bias.
    Embeddings: a token table `embedding_size` (E) wide, position and segment tables D wide,
    a biased embedding_transformation from 3 × E (`trigram_input`, else E) to D and a norm;
    the pooler's dense exists only with `classifier_activation`."""

    name = "mobilebert"
    model_types: ClassVar[tuple[str, ...]] = ("mobilebert",)

    def _true_hidden(self) -> int:
        if self.read("use_bottleneck", "use_bottleneck", default=True):
            return self.read_int("intra_bottleneck_size", "intra_bottleneck_size") or 0
        return self.hidden_size()

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        heads = spec.num_heads or 1
        size = self.derive(
            "head_dim", self._true_hidden() // heads, "true_hidden_size // heads", spec.provenance
        )
        return spec.model_copy(update={"head_dim": size, "v_head_dim": size})

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        d, t = self.hidden_size(), self._true_hidden()
        inner = spec.ffn.intermediate_size
        width = spec.attention.num_heads * spec.attention.head_dim
        bottleneck = bool(self.read("use_bottleneck", "use_bottleneck", default=True))
        shared = bool(self.read("key_query_shared_bottleneck", "key_query_shared_bottleneck"))
        bottleneck_attn = bool(self.read("use_bottleneck_attention", "use_bottleneck_attention"))
        b = self.read_int("intra_bottleneck_size", "intra_bottleneck_size") or 0
        v_in = t if bottleneck_attn else d
        attention = 2 * _linear(t, width) + _linear(v_in, width) + _linear(t, t)
        ffns = self.read_int("num_feedforward_networks", "num_feedforward_networks", default=1)
        ffn = (ffns or 1) * (_linear(t, inner) + _linear(inner, t))
        norms = 2 * t + (ffns or 1) * 2 * t  # self-output and each FFN's output
        other = 0
        if bottleneck:
            inputs = 2 if shared else 1
            other = inputs * _linear(d, b) + _linear(t, d)
            norms += inputs * 2 * b + 2 * d
        params = {"attention": attention, "dense_ffn": ffn, "norms": norms, "other": other}
        return spec.model_copy(update={"block_params": params})

    def pooler(self) -> bool:
        activate = self.read("classifier_activation", "classifier_activation", default=True)
        return super().pooler() and bool(activate)

    def build(self) -> ModelSpec:
        spec = super().build()
        d = self.hidden_size()
        e = self.read_int("embedding_size", "embedding_size") or d
        trigram = bool(self.read("trigram_input", "trigram_input", default=True))
        rows = (self.max_positions() or 0) + self.type_vocab_rows()
        extras = {
            "embedding": rows * d,
            "other": _linear((3 if trigram else 1) * e, d),
            "norms": 2 * d,
        }
        # the token table alone is E wide: positions, segments and the norm are D wide
        return spec.model_copy(update={
            "embedding_size": e, "positional_embedding": False, "type_vocab_size": 0,
            "embedding_projection": False, "embedding_norm": False, "extra_params": extras,
        })


class Funnel(Bert):
    """Funnel Transformer (modeling_funnel). `block_sizes` blocks of layers, block b's layers
    each run `block_repeats`[b] times with one set of weights; FunnelModel (and the masked-LM,
    pretraining, token-classification and QA heads built on it) adds `num_decoder_layers`
    layers that run at full length after upsampling, FunnelBaseModel (sequence
    classification, multiple choice) has none. A layer: relative multi-head attention with
    `n_head` heads of `d_head` (unbiased q_head, biased k_head/v_head, r_w/r_r/r_s biases and
    the r_kernel projection of the positions, a 2-row segment embedding per head, a biased
    post_proj) and a biased `d_inner` FFN, each followed by a LayerNorm. Embeddings: tokens
    and a LayerNorm, no position or segment table, no pooler.

    Between blocks the sequence is pooled (2× shorter per block): per-token FLOPs of later
    blocks are overstated by reading every layer at the input length."""

    name = "funnel"
    model_types: ClassVar[tuple[str, ...]] = ("funnel",)

    _BASE_ONLY = ("FunnelBaseModel", "FunnelForSequenceClassification", "FunnelForMultipleChoice")

    def _ints(self, key: str, default: list[int]) -> list[int]:
        raw = self.read(key, key, default=default)
        ok = isinstance(raw, list) and all(isinstance(n, int) and n >= 0 for n in raw)
        return list(raw) if ok else default

    def _decoder_layers(self) -> int:
        names = self.config.get("architectures")
        if isinstance(names, list) and names and names[0] in self._BASE_ONLY:
            return 0
        return self.read_int("num_decoder_layers", "num_decoder_layers", default=2) or 0

    def _runs(self) -> list[str]:
        """The weight set each run uses, in order: encoder runs, then the decoder's."""
        sizes = self._ints("block_sizes", [4, 4, 4])
        repeats = self._ints("block_repeats", [1] * len(sizes))
        runs = [
            f"encoder.blocks.{b}.{i}"
            for b, size in enumerate(sizes)
            for i in range(size)
            for _ in range(repeats[b] if b < len(repeats) else 1)
        ]
        return runs + [f"decoder.layers.{i}" for i in range(self._decoder_layers())]

    def num_layers(self) -> int:
        return len(self._runs())

    def embedding_norm(self) -> bool:
        return True

    def positional(self, index: int) -> Positional:
        return "relative"

    def learned_positions(self) -> bool:
        return False

    def type_vocab_rows(self) -> int:
        return 0

    def pooler(self) -> bool:
        return False

    def final_norm(self) -> bool:
        return False

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        size = self.read_int("head_dim", "d_head", default=64) or 0
        return spec.model_copy(update={"head_dim": size, "v_head_dim": size})

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("intermediate_size", "d_inner", default=3072) or 0
        return spec.model_copy(update={"intermediate_size": width})

    def decoder_layers(self, kinds: list[str]) -> list[LayerSpec]:
        runs = self._runs()
        block = self.layer(0, "full")
        d, att = self.hidden_size(), block.attention
        width = att.num_heads * att.head_dim
        attention = (
            d * width + 2 * _linear(d, width)  # q_head unbiased, k_head and v_head biased
            + 3 * width + d * width + 2 * width  # r_w/r_r/r_s biases, r_kernel, seg_embed
            + _linear(width, d)  # post_proj
        )
        inner = block.ffn.intermediate_size
        params = {
            "attention": attention,
            "dense_ffn": _linear(d, inner) + _linear(inner, d),
            "norms": 2 * 2 * d,
        }
        return [
            block.model_copy(update={"index": i, "shared_block": name, "block_params": params})
            for i, name in enumerate(runs)
        ]


class Lxmert(Bert):
    """LXMERT (modeling_lxmert): BERT embeddings and pooler around three stacks. `l_layers`
    BERT layers read the words; `x_layers` cross-modality layers each hold one cross
    attention (used both ways), a self-attention per modality and an FFN per modality, each
    with its output dense and LayerNorm; `r_layers` BERT layers read the image regions after
    the visual feature encoder (biased visn_fc from `visual_feat_dim` and box_fc from
    `visual_pos_dim`, each with a LayerNorm). The region encoder and its layers are the
    vision tower; the language stack is the word layers then the cross layers."""

    name = "lxmert"
    model_types: ClassVar[tuple[str, ...]] = ("lxmert",)

    def _count(self, key: str) -> int:
        return self.read_int(key, key, default=0) or 0

    def num_layers(self) -> int:
        self.cv.asked.add("num_hidden_layers")  # the per-stack object restates these keys
        return self._count("l_layers") + self._count("x_layers")

    def final_norm(self) -> bool:
        return False

    def _bert_layer(self) -> dict[str, int]:
        d = self.hidden_size()
        inner = self.ffn(0).intermediate_size
        return {
            "attention": 4 * _linear(d, d),
            "dense_ffn": _linear(d, inner) + _linear(inner, d),
            "norms": 2 * 2 * d,
        }

    def decoder_layers(self, kinds: list[str]) -> list[LayerSpec]:
        words = self._count("l_layers")
        layers = super().decoder_layers(kinds)
        one = self._bert_layer()
        cross = {key: value * (3 if key == "attention" else 2) for key, value in one.items()}
        cross["norms"] = 5 * 2 * self.hidden_size()  # three attention outputs, two FFNs
        return [
            layer if i < words else layer.model_copy(update={"block_params": cross})
            for i, layer in enumerate(layers)
        ]

    def towers(self) -> list[TowerSpec]:
        d = self.hidden_size()
        feat = self.read_int("visual_feat_dim", "visual_feat_dim", default=2048) or 0
        pos = self.read_int("visual_pos_dim", "visual_pos_dim", default=4) or 0
        regions = self._count("r_layers")
        features = _linear(feat, d) + _linear(pos, d) + 2 * 2 * d
        return [
            TowerSpec(
                name="vision",
                kind="lxmert_object_encoder",
                params=features + regions * sum(self._bert_layer().values()),
                num_layers=regions,
                hidden_size=d,
            )
        ]


def pixel_shuffle_connector(
    adapter: Adapter, towers: list[TowerSpec], *, norm: bool = False
) -> list[TowerSpec]:
    """The projector of a pixel-shuffle connector (modeling_modernvbert and
    modeling_ultravbert `*Connector`): `pixel_shuffle_factor` (f) folds f² neighbouring
    patches into one token, and an unbiased modality_projection maps vision_hidden × f² to
    the text hidden size (UltraVBERT adds an RMSNorm at the text width). It replaces a
    projector the tower reader could not size; a sized one is kept."""
    factor = adapter.read_int("pixel_shuffle_factor", "pixel_shuffle_factor", default=1) or 1
    vision = next((t for t in towers if t.name == "vision"), None)
    if vision is None:
        return towers
    text = adapter.hidden_size()
    params = vision.hidden_size * factor * factor * text + (text if norm else 0)
    kind = str(adapter.config.get("model_type") or "connector")
    sized = TowerSpec(name="projector", kind=kind, params=params, hidden_size=text)
    kept = [t for t in towers if t.name != "projector" or t.understood]
    if len(kept) < len(towers):
        kept.append(sized)
    return kept


class ModernVBert(ModernBert):
    """ModernVBERT (modeling_modernvbert): a ModernBERT text encoder (`text_config`), a
    SigLIP vision tower (`vision_config`) and a pixel-shuffle connector between them."""

    name = "modernvbert"
    model_types: ClassVar[tuple[str, ...]] = ("modernvbert",)

    def towers(self) -> list[TowerSpec]:
        return pixel_shuffle_connector(self, super().towers())


class UltraVBert(Generic):
    """UltraVBERT (modeling_ultravbert): an UltraBERT text encoder (`text_config`, read by
    the generic reader from its structure facts), a SigLIP vision tower and a pixel-shuffle
    connector whose projection is followed by an RMSNorm at the text width (UltraBERT does
    not normalise its input embeddings, so the connector sets the image tokens' scale)."""

    name = "ultravbert"
    known = False  # the text encoder is the generic reader's best effort
    model_types: ClassVar[tuple[str, ...]] = ("ultravbert",)

    def towers(self) -> list[TowerSpec]:
        return pixel_shuffle_connector(self, super().towers(), norm=True)


class NeoMME(Adapter):
    """NeoMME (modeling_neomme): a bidirectional GQA encoder. Tokens go through a factorised
    table (`embedding_rank` wide) and an unbiased projection up to the hidden size; a
    value-embedding table (vocab × kv_heads × head_dim) feeds the first and last global
    layers; image patches (3 × `patch_size`²) go through a LayerNorm and an up/down stem
    (unbiased to 2 × hidden, biased back), counted as the vision tower. All norms are
    weightless RMSNorms. A block: q/k/v (`attention_bias`), a per-head exclusive-attention
    alpha, a sigmoid output gate (gate_proj, unbiased, hidden → heads × head_dim) before
    o_proj, two residual-mixing lambdas, an ungated MLP (`mlp_bias`). Local layers attend
    within their `per_layer_config` window (else `sliding_window`) on either side."""

    name = "neomme"
    model_types: ClassVar[tuple[str, ...]] = ("neomme",)

    def architecture(self) -> str:
        return "encoder"

    def norms_per_layer(self) -> int:
        return 0  # NeoMMERMSNorm(with_scale=False): no weight

    def embedding_norm(self) -> bool:
        return False  # weightless too

    def final_norm(self) -> bool:
        return False

    def qk_norm(self) -> bool:
        return False

    def gated_ffn(self) -> bool:
        return False

    def type_vocab_rows(self) -> int:
        return 0

    def pooler(self) -> bool:
        return False

    def embedding_width(self) -> int | None:
        return self.read_int("embedding_size", "embedding_rank")

    def embedding_projection(self) -> bool:
        return False  # unbiased: counted in extra_params

    def _windows(self) -> dict[int, int | None]:
        raw = self.read("per_layer_config", "per_layer_config", default={})
        out: dict[int, int | None] = {}
        if isinstance(raw, dict):
            for key, entry in raw.items():
                if str(key).isdigit() and isinstance(entry, dict):
                    value = entry.get("sliding_window")
                    out[int(key)] = value if isinstance(value, int) else None
        return out

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._windows().get(index))

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        if layer_type != "sliding":
            return spec
        side = self._windows().get(index) or super().window() or 0
        window = self.derive("window", 2 * side + 1, "bidirectional: window each side")
        return spec.model_copy(update={"window": window})

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att = spec.attention
        extra = self.hidden_size() * att.num_heads * att.head_dim + att.num_heads + 2
        return spec.model_copy(update={"extra_params": extra})

    def towers(self) -> list[TowerSpec]:
        d = self.hidden_size()
        patch = self.read_int("patch_size", "patch_size", default=32) or 0
        width = 3 * patch * patch
        stem = 2 * width + width * 2 * d + _linear(2 * d, d)
        return [TowerSpec(name="vision", kind="neomme_patch_stem", params=stem, hidden_size=d)]

    def build(self) -> ModelSpec:
        spec = super().build()
        d, rank = self.hidden_size(), self.embedding_width() or self.hidden_size()
        att = spec.layers[0].attention if spec.layers else None
        values = spec.vocab_size * (att.num_kv_heads * att.head_dim if att else 0)
        extras = {"embedding": values, "other": rank * d}
        return spec.model_copy(update={"extra_params": extras})


class Reformer(ClassicTransformer):
    """Reformer (modeling_reformer): reversible blocks over two hidden-size streams. Layer i
    runs `attn_layers`[i] (one kind for all when the list holds one): local attention (q, k,
    v) or LSH attention (one shared query_key and v), all unbiased, `attention_head_size`
    per head, an unbiased output dense back to the hidden size, a LayerNorm; then a
    `feed_forward_size` FFN (biased) with its LayerNorm. The encoder ends with a LayerNorm
    over both streams (2 × hidden). Positions: axial factors (one table per axis,
    `axial_pos_shape`[i] × `axial_pos_embds_dim`[i]) with `axial_pos_embds`, else a
    `max_position_embeddings` table. Both kinds attend within chunks of
    `local_attn_chunk_length` / `lsh_attn_chunk_length` and their neighbours
    (`*_num_chunks_before` / `_after`), read here as a window of that many keys."""

    name = "reformer"
    model_types: ClassVar[tuple[str, ...]] = ("reformer",)

    def architecture(self) -> str:
        return "encoder"

    def positional(self, index: int) -> Positional:
        return "learned"

    def learned_positions(self) -> bool:
        return not self.read("axial_pos_embds", "axial_pos_embds", default=True)

    def type_vocab_rows(self) -> int:
        return 0

    def final_norm(self) -> bool:
        return False  # over 2 × hidden: counted in extra_params

    def _kinds(self) -> list[str]:
        raw = self.read("attn_layers", "attn_layers", default=["local", "lsh"])
        kinds = [str(k) for k in raw] if isinstance(raw, list) and raw else ["local"]
        n = self.num_layers()
        if len(set(kinds)) == 1:
            return kinds[:1] * n
        return [kinds[i] if i < len(kinds) else kinds[-1] for i in range(n)]

    def layer_types(self, n_layers: int) -> list[str]:
        return ["sliding"] * n_layers

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._kinds()[index])

    def _window(self, kind: str) -> int:
        prefix = "lsh" if kind == "lsh" else "local"
        chunk = self.read_int(f"{prefix}_chunk", f"{prefix}_attn_chunk_length", default=64)
        before = self.read_int(f"{prefix}_before", f"{prefix}_num_chunks_before", default=1)
        after = self.read_int(f"{prefix}_after", f"{prefix}_num_chunks_after", default=0)
        chunk = _window(chunk, f"{prefix}_attn_chunk_length")
        return chunk * (1 + max(before or 0, 0) + max(after or 0, 0))

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        size = self.read_int("head_dim", "attention_head_size", default=64) or 0
        window = self.derive("window", self._window(self._kinds()[index]), "chunk × chunks read")
        return spec.model_copy(update={
            "head_dim": size, "v_head_dim": size, "window": window,
            "qkv_bias": False, "o_bias": False,
        })

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("intermediate_size", "feed_forward_size", default=512) or 0
        return spec.model_copy(update={"intermediate_size": width})

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        d, att = self.hidden_size(), spec.attention
        width = att.num_heads * att.head_dim
        projections = 2 if self._kinds()[index] == "lsh" else 3
        inner = spec.ffn.intermediate_size
        params = {
            "attention": projections * d * width + width * d,
            "dense_ffn": _linear(d, inner) + _linear(inner, d),
            "norms": 2 * 2 * d,
        }
        return spec.model_copy(update={"block_params": params})

    def build(self) -> ModelSpec:
        spec = super().build()
        d = self.hidden_size()
        extras = {"norms": 2 * 2 * d}
        if not self.learned_positions():
            shape = self.read("axial_pos_shape", "axial_pos_shape", default=[64, 64])
            dims = self.read("axial_pos_embds_dim", "axial_pos_embds_dim", default=[64, 192])
            pairs = zip(shape, dims, strict=False) if isinstance(shape, list) and isinstance(
                dims, list) else ()
            # one table per axis: axial_pos_shape[i] rows of axial_pos_embds_dim[i]
            extras["embedding"] = sum(
                a * b for a, b in pairs if isinstance(a, int) and isinstance(b, int)
            )
        return spec.model_copy(update={"extra_params": extras})


class Canine(Bert):
    """CANINE (modeling_canine): tokenizer-free, so no vocabulary table. Characters are
    embedded by `num_hash_functions` hash tables of `num_hash_buckets` rows × hidden //
    hashes, a character position table of `num_hash_buckets` rows, segment tables and a
    LayerNorm. Three BERT stacks: one local layer over characters (blocks of
    `local_transformer_stride`), `num_hidden_layers` deep layers over molecules (characters
    downsampled by a `downsampling_rate`-wide strided convolution with its LayerNorm), and
    one final character layer after the upsampling convolution (2 × hidden →
    hidden over `upsampling_kernel_size`, with its LayerNorm); then BERT's pooler.

    The deep layers read a sequence `downsampling_rate` times shorter: per-character FLOPs
    of those layers are overstated by reading them at the input length."""

    name = "canine"
    model_types: ClassVar[tuple[str, ...]] = ("canine",)

    def num_layers(self) -> int:
        return (super().num_layers() or 0) + 2  # the initial and final character layers

    def vocab_size(self) -> int:
        return 0  # characters are hashed: the tables are counted in extra_params

    def learned_positions(self) -> bool:
        return False  # one row per hash bucket, not per position: in extra_params

    def final_norm(self) -> bool:
        return False  # the norms after the stacks are the convolutions': in extra_params

    def layer_types(self, n_layers: int) -> list[str]:
        return ["sliding"] + ["full"] * (n_layers - 1)

    def window(self) -> int | None:
        stride = self.read_int("window", "local_transformer_stride", default=128)
        return _window(stride, "local_transformer_stride")

    def build(self) -> ModelSpec:
        spec = super().build()
        d = self.hidden_size()
        hashes = self.read_int("num_hash_functions", "num_hash_functions", default=8) or 1
        buckets = self.read_int("num_hash_buckets", "num_hash_buckets", default=16384) or 0
        rate = self.read_int("downsampling_rate", "downsampling_rate", default=4) or 0
        kernel = self.read_int("upsampling_kernel_size", "upsampling_kernel_size", default=4) or 0
        convs = (d * d * rate + d) + (2 * d * d * kernel + d)
        extras = {
            "embedding": hashes * buckets * (d // hashes) + buckets * d,
            "other": convs,
            "norms": 2 * 2 * d,
        }
        return spec.model_copy(update={"extra_params": extras})


class Nystromformer(Generic):
    """Nyströmformer (modeling_nystromformer): the generic reader's BERT-like stack, plus a
    position table of max_position_embeddings + 2 rows and, when `conv_kernel_size` is set,
    a depthwise convolution over the values per layer (heads × kernel, unbiased)."""

    name = "nystromformer"
    model_types: ClassVar[tuple[str, ...]] = ("nystromformer",)

    def position_offset(self) -> int:
        return 2

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        kernel = self.read_int("conv_kernel_size", "conv_kernel_size")
        extra = spec.attention.num_heads * kernel if kernel else 0
        return spec.model_copy(update={"extra_params": spec.extra_params + extra})


class RoFormer(Generic):
    """RoFormer (modeling_roformer): the generic reader's rotary BERT, plus the sinusoidal
    table the encoder stores as a (frozen) parameter: max_position_embeddings rows, one head
    (hidden // heads) wide; an `embedding_size` other than the hidden size is projected up
    (embeddings_project, biased)."""

    name = "roformer"
    model_types: ClassVar[tuple[str, ...]] = ("roformer",)

    def embedding_projection(self) -> bool:
        return self.embedding_width() is not None  # embeddings_project when E != hidden

    def build(self) -> ModelSpec:
        spec = super().build()
        heads = spec.layers[0].attention.num_heads if spec.layers else 0
        table = (self.max_positions() or 0) * (self.hidden_size() // heads if heads else 0)
        extras = dict(spec.extra_params)
        extras["embedding"] = extras.get("embedding", 0) + table
        return spec.model_copy(update={"extra_params": extras})


class Bros(Generic):
    """BROS (modeling_bros): the generic reader's BERT, plus the unbiased bbox_projection
    from the 2-D box sinusoid (hidden // 4) to one head (hidden // heads)."""

    name = "bros"
    model_types: ClassVar[tuple[str, ...]] = ("bros",)

    def build(self) -> ModelSpec:
        spec = super().build()
        d = self.hidden_size()
        heads = spec.layers[0].attention.num_heads if spec.layers else 0
        extras = dict(spec.extra_params)
        extras["other"] = extras.get("other", 0) + (d // 4) * (d // heads if heads else 0)
        return spec.model_copy(update={"extra_params": extras})


class Gte(Generic):
    """GTE (modeling_gte `GteMLP`): a gated FFN whose gate and up projections are unbiased
    and whose down projection is biased."""

    name = "gte"
    model_types: ClassVar[tuple[str, ...]] = ("gte",)

    def ffn(self, index: int) -> FFNSpec:
        return super().ffn(index).model_copy(update={"bias": False})

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        return spec.model_copy(update={"extra_params": spec.extra_params + self.hidden_size()})


class Vilt(Bert):
    """ViLT (modeling_vilt `ViltModel`, the class a ViLT checkpoint's encoder is): BERT's text
    embeddings (word, position, segment tables and their LayerNorm), ViT-style pre-norm
    blocks (q/k/v biased by `qkv_bias`, a biased output dense, a biased GELU MLP, two biased
    LayerNorms: BERT's counts), a LayerNorm after the last block and a pooler. The image
    side of ViltEmbeddings is its vision tower: a biased patch conv (C x p^2 x h), a class
    token, a position table of (image_size // patch_size)^2 + 1 rows and the modality table
    (`modality_type_vocab_size` rows)."""

    name = "vilt"
    model_types: ClassVar[tuple[str, ...]] = ("vilt",)

    def qkv_bias(self) -> bool:
        return bool(self.read("qkv_bias", "qkv_bias", default=True))

    def o_bias(self) -> bool:
        return True

    def final_norm(self) -> bool:
        return True

    def pooler(self) -> bool:
        return True

    def towers(self) -> list[TowerSpec]:
        h = self.hidden_size()
        patch = self.read_int("patch_size", "patch_size", default=32) or 0
        image = self.read_int("image_size", "image_size", default=384) or 0
        channels = self.read_int("num_channels", "num_channels", default=3) or 3
        modality = self.read_int("modality_type_vocab_size", "modality_type_vocab_size",
                                 default=2) or 0
        patches = (image // patch) ** 2 if patch else 0
        params = channels * patch * patch * h + h + h + (patches + 1) * h + modality * h
        return [TowerSpec(name="vision", kind="vilt", params=params, hidden_size=h)]

    def build(self) -> ModelSpec:
        for key in ("max_image_length", "num_images"):  # read: inputs, no shape
            self.cv.lookup(key)
        return super().build()


ENCODER_ADAPTERS: tuple[type[Adapter], ...] = (
    Albert,
    Vilt,
    XLM,
    ModernBert,
    Deberta,
    RocBert,
    MarkupLM,
    Lilt,
    Longformer,
    Luke,
    Xmod,
    ConvBert,
    OpenAIPrivacyFilter,
    SqueezeBert,
    MobileBert,
    Funnel,
    Lxmert,
    ModernVBert,
    UltraVBert,
    NeoMME,
    Reformer,
    Canine,
    Nystromformer,
    RoFormer,
    Bros,
    Gte,
)

__all__ = [
    "ENCODER_ADAPTERS",
    "XLM",
    "Albert",
    "BertLike",
    "Bros",
    "Canine",
    "ConvBert",
    "Deberta",
    "Funnel",
    "Gte",
    "Lilt",
    "Longformer",
    "Luke",
    "Lxmert",
    "MarkupLM",
    "MobileBert",
    "ModernBert",
    "ModernVBert",
    "NeoMME",
    "Nystromformer",
    "OpenAIPrivacyFilter",
    "Reformer",
    "RoFormer",
    "RocBert",
    "SqueezeBert",
    "UltraVBert",
    "Xmod",
]
