"""Byte Latent Transformer (`blt`; transformers 5.23 `modeling_blt`, BltConfig with four
sub-configs), read as the byte-level model it generates with.

BltForCausalLM runs, per step:

- an entropy patcher (`patcher_config`, with `patch_in_forward`): a small byte LM of its own
  (token table, Llama blocks, norm, head) that decides the patch boundaries;
- the local encoder (`encoder_config`): Llama blocks over the bytes, whose input is the byte
  table plus `encoder_hash_tok_embedding` (hash n-gram rows: encoder_hash_byte_group_vocab ×
  the group sizes × encoder_hash_byte_group_nb_functions), then cross-attention from patches
  to bytes (every layer with `cross_attn_all_layers`, else one) and `patch_embedding_projection`
  (h → h × cross_attn_k);
- the global transformer (`global_config`): Llama blocks over patches (a
  `token_embedding_projection` when h × cross_attn_k differs from its width);
- the local decoder (`decoder_config`): `patch_embedding_projection` (global width → h ×
  cross_attn_k), cross-attention from bytes to patches before each block (every layer with
  `cross_attn_all_layers`), Llama blocks, a final norm and the untied LM head.

The spec's layers are the byte-level stacks (encoder, then decoder blocks), the ones whose K/V
transformers caches per byte (both grow with the context: BLT masks them to
`local_attention_window_len` but keeps every position). Cross-attention reads the patch
states, recomputed each step. The patcher and the global transformer are counted as
parameters (`other`); their attention is not sized: the global stack works per patch (so
its K/V would grow with patches, not bytes) and transformers recomputes both every step.
"""

from __future__ import annotations

from typing import Any, ClassVar

from archlint.families.base import Adapter
from archlint.spec import (
    AttentionSpec,
    CoverageItem,
    FFNSpec,
    FieldSource,
    LayerSpec,
    ModelSpec,
)

ENCODER, DECODER, GLOBAL, PATCHER = (
    "encoder_config", "decoder_config", "global_config", "patcher_config"
)
def llama_stack_params(hidden: int, heads: int, kv_heads: int, width: int, layers: int) -> int:
    """`layers` of BltTransformerLayer: q/k/v/o without biases (head size hidden // heads),
    a gated MLP of `width`, two RMSNorms."""
    head = hidden // heads if heads else 0
    attention = 2 * hidden * heads * head + 2 * hidden * kv_heads * head
    return layers * (attention + 3 * hidden * width + 2 * hidden)


class Blt(Adapter):
    name = "blt"
    model_types: ClassVar[tuple[str, ...]] = ("blt",)
    known = True
    tie_default = False

    # -- the sub-configs ----------------------------------------------------------------------
    def _sub(self, part: str, key: str) -> Any:
        """A sub-config's key: declared, else the default transformers applies (the
        sub-config class's own for a declared sub-config, BltConfig's default one for an
        absent one: the defaults table's dotted keys)."""
        return self.read(f"{part}.{key}", f"{part}.{key}")

    def _width(self, part: str) -> int:
        """The MLP width: declared, else the sub-config class's int(8 · hidden / 3)."""
        declared = self.read_int(f"{part}.intermediate_size", f"{part}.intermediate_size")
        return declared or int(8 * int(self._sub(part, "hidden_size")) / 3)

    def _heads(self, part: str) -> tuple[int, int]:
        heads = int(self._sub(part, "num_attention_heads") or 0)
        kv = self.read_int(f"{part}.num_key_value_heads", f"{part}.num_key_value_heads")
        return heads, kv or heads

    def _stack(self, part: str) -> int:
        hidden = int(self._sub(part, "hidden_size"))
        heads, kv = self._heads(part)
        layers = int(self._sub(part, "num_hidden_layers") or 0)
        return llama_stack_params(hidden, heads, kv, self._width(part), layers)

    # -- model-level fields -------------------------------------------------------------------
    def hidden_size(self) -> int:
        return int(self._sub(DECODER, "hidden_size"))

    def num_layers(self) -> int:
        return sum(int(self._sub(p, "num_hidden_layers") or 0) for p in (ENCODER, DECODER))

    def vocab_size(self) -> int:
        return self.read_int("vocab_size", "vocab_size", default=260,
                             why="BltConfig: 260 bytes and specials") or 260

    def layer_types(self, n_layers: int) -> list[str]:
        self.cv.asked.update(("local_attention_window_len", "sliding_window"))
        self.prov["layer_types"] = FieldSource(
            kind="default",
            detail="transformers modeling_blt: local layers masked to the window, every "
                   "position cached",
        )
        return ["full"] * n_layers

    # -- the byte-level layers ----------------------------------------------------------------
    def _part(self, index: int) -> str:
        return ENCODER if index < int(self._sub(ENCODER, "num_hidden_layers") or 0) else DECODER

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        part = self._part(index)
        first = index == 0 or index == int(self._sub(ENCODER, "num_hidden_layers") or 0)
        cross = bool(self._sub(part, "cross_attn_all_layers")) or first
        return (*super().layer_key(index, layer_type), part, cross)

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        part = self._part(index)
        hidden = int(self._sub(part, "hidden_size"))
        heads, kv = self._heads(part)
        dim = hidden // heads if heads else 0
        return AttentionSpec(
            kind="mha" if kv == heads else "gqa", num_heads=heads, num_kv_heads=kv,
            head_dim=dim, v_head_dim=dim, positional="rope", rope_theta=self.rope_theta(),
        )

    def ffn(self, index: int) -> FFNSpec:
        return FFNSpec(kind="dense", gated=True, activation="silu",
                       intermediate_size=self._width(self._part(index)))

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        if not self.layer_key(index, layer_type)[-1]:
            return spec
        att = spec.attention
        # BltCrossAttention: q/k/v/o and RMSNorms over the whole q and k projections
        cross = att.model_copy(update={"source": "encoder", "qk_norm": True,
                                       "qk_norm_per_head": False, "positional": "none"})
        return spec.model_copy(update={"cross_attention": cross})

    # -- around the byte layers ---------------------------------------------------------------
    def build(self) -> ModelSpec:
        spec = super().build()
        k = self.read_int("cross_attn_k", "cross_attn_k", default=2,
                          why="BltConfig: cross_attn_k 2") or 0
        enc, dec = int(self._sub(ENCODER, "hidden_size")), self.hidden_size()
        glob = int(self._sub(GLOBAL, "hidden_size"))
        groups = self.cv.lookup("encoder_hash_byte_group_size")[0]
        sizes = len(groups) if isinstance(groups, list) else 6  # BltConfig: [3, ..., 8]
        hashes = (self.read_int("hash_vocab", "encoder_hash_byte_group_vocab") or 0) * sizes * (
            self.read_int("hash_functions", "encoder_hash_byte_group_nb_functions") or 1)
        other = enc * enc * k  # local encoder's patch_embedding_projection
        other += int(self._sub(DECODER, "hidden_size_global")) * dec * k  # the decoder's
        if enc * k != glob:
            other += enc * k * glob  # the global transformer's token_embedding_projection
        other += self._stack(GLOBAL)
        coverage = list(spec.coverage.items)
        coverage.append(CoverageItem(
            part="global transformer", how="assumed",
            detail="parameters counted; it runs once per patch and its K/V is not sized",
        ))
        if self.read("patch_in_forward", "patch_in_forward", default=True):
            pvocab = int(self._sub(PATCHER, "vocab_size"))
            phidden = int(self._sub(PATCHER, "hidden_size"))
            other += self._stack(PATCHER) + 2 * pvocab * phidden + phidden
            coverage.append(CoverageItem(
                part="entropy patcher", how="assumed",
                detail="parameters counted; it reruns over the bytes, no cache sized",
            ))
        self.cv.asked.update(("patching_mode", "patch_size", "patching_threshold",
                              "max_patch_length", "patching_batch_size"))
        extra = dict(spec.extra_params)
        extra["embedding"] = extra.get("embedding", 0) + hashes * enc
        extra["other"] = extra.get("other", 0) + other
        return spec.model_copy(update={
            "extra_params": extra,
            "coverage": spec.coverage.model_copy(update={"items": coverage}),
        })


BLT_ADAPTERS: tuple[type[Adapter], ...] = (Blt,)
