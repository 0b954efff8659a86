"""Encoder-only dialects the BERT reader cannot read by facts alone: a shared block (ALBERT),
other key names (XLM, FlauBERT), rotary local/global attention with GeGLU (ModernBERT) and
disentangled relative attention (DeBERTa).

Each follows transformers' `modeling_<family>.py`, named in its docstring. Encoders keep no
KV cache across generated tokens (`architecture() == "encoder"`): their cache and state are 0.
"""

from __future__ import annotations

from archlint.families.base import Adapter
from archlint.families.dialects import Bert, ClassicTransformer
from archlint.spec import AttentionSpec, FFNSpec, LayerSpec, ModelSpec, Positional


class Albert(Bert):
    """ALBERT (modeling_albert): a factorised embedding (`embedding_size` wide tables and
    LayerNorm, then `embedding_hidden_mapping_in` up to the hidden size, always present) and
    `num_hidden_groups` groups of `inner_group_num` blocks; layer i runs group
    i // (num_hidden_layers / num_hidden_groups), so a group's weights count once however many
    layers reuse it (`shared_block`), its compute once per use."""

    name = "albert"
    model_types = ("albert",)
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
    model_types = ("xlm", "flaubert")

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
    model_types = ("modernbert",)

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
        return self.read_int("window", "local_attention", default=128)

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
    model_types = ("deberta", "deberta-v2")

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


ENCODER_ADAPTERS: tuple[type[Adapter], ...] = (Albert, XLM, ModernBert, Deberta)

__all__ = ["ENCODER_ADAPTERS", "XLM", "Albert", "Deberta", "ModernBert"]
