"""Encoder-decoders: one reading of the two stacks for every dialect.

An encoder-decoder is an encoder stack and a decoder stack whose layers add cross-attention
to the encoder's output (`AttentionSpec.source == "encoder"`): the decoder's self-attention
cache grows per generated token, the cross-attention cache per encoder token (sized apart in
`archlint.analysis.memory`). The stacks may differ in depth, heads and FFN width (Blenderbot:
2 encoder layers, 24 decoder layers) and each holds its own modules around the blocks
(`StackSpec`). What no config key states — an embedding norm or a final norm in a stack, a
position table held as a parameter or a buffer, a token table of the encoder's own, the
biases and norms of each stack's blocks — comes from transformers' modules through the
generated structure table (`stacks` facts, `scripts/gen_structure_table.py`), so a type
that reuses BART's keys is read the way its modeling code builds it.

Dialects: BART's keys (`encoder_layers`, `decoder_layers`, `encoder_attention_heads`,
`encoder_ffn_dim`, `d_model`: modeling_bart and the many files copied from it), T5's
(`num_layers`, `num_decoder_layers`, `num_heads`, `d_kv`, `d_ff`: modeling_t5), Whisper's
(modeling_whisper: BART's keys and an audio front-end).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from archlint.families.base import Adapter, classify_heads
from archlint.spec import (
    AttentionSpec,
    FFNSpec,
    FieldSource,
    LayerSpec,
    Positional,
    StackSpec,
    TowerSpec,
)

Stack = Literal["encoder", "decoder"]


class EncoderDecoder(Adapter):
    """The shared assembly: encoder layers, decoder layers with cross-attention, per-stack
    depth, heads and width, and the modules each stack holds around its blocks. Dialects
    name their keys (`stack_keys`) and defaults for what the structure table does not say."""

    #: per stack: the config keys of (layers, heads, FFN width), first found wins
    STACK_KEYS: ClassVar[dict[str, dict[str, tuple[str, ...]]]] = {}
    #: a stack's facts when transformers' structure table has none for the type
    stack_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._stack: Stack = "decoder"

    def architecture(self) -> str:
        return "encoder-decoder"

    # -- the stack being read ----------------------------------------------------------------
    def stack_fact(self, name: str, default: Any = None) -> Any:
        """A fact of the stack being read (`stacks.<stack>.<name>` in the structure table),
        else the dialect's default."""
        stacks = self.structure_fact("stacks", None)
        facts = stacks.get(self._stack) if isinstance(stacks, dict) else None
        if isinstance(facts, dict) and name in facts:
            return facts[name]
        return self.stack_defaults.get(name, default)

    #: the provenance field each stack key is recorded under (the encoder's prefixed)
    FIELDS: ClassVar[dict[str, str]] = {
        "layers": "num_layers",
        "heads": "num_heads",
        "kv_heads": "num_kv_heads",
        "head_dim": "head_dim",
        "ffn": "intermediate_size",
    }

    def stack_int(
        self, what: str, prov: dict[str, FieldSource] | None = None
    ) -> int | None:
        """The stack's `what` (layers, heads, kv_heads, head_dim, ffn) from its keys."""
        keys = self.STACK_KEYS.get(self._stack, {}).get(what, ())
        if not keys:
            return None
        field = self.FIELDS[what]
        if self._stack == "encoder":
            field = "encoder_layers" if what == "layers" else f"encoder_{field}"
        return self.read_int(field, *keys, prov=prov)

    def num_layers(self) -> int:
        return self.stack_int("layers") or 0

    def norm_kind(self) -> str:
        return str(self.stack_fact("norm", "layernorm"))

    def norm_bias(self) -> bool:
        return bool(self.stack_fact("norm_bias", self.norm_kind() == "layernorm"))

    def gated_ffn(self) -> bool:
        return bool(self.stack_fact("gated_mlp", False))

    def qkv_bias(self) -> bool:
        return bool(self.stack_fact("qkv_bias", True))

    def o_bias(self) -> bool:
        return bool(self.stack_fact("o_bias", self.qkv_bias()))

    def norms_per_layer(self) -> int:
        return int(self.stack_fact("norms_per_layer", 3 if self._stack == "decoder" else 2))

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        prov = dict(spec.provenance)
        heads = self.stack_int("heads", prov) or spec.num_heads
        head_dim = self.stack_int("head_dim", prov) or self.hidden_size() // max(heads, 1)
        kv = self.stack_int("kv_heads", prov) or heads
        return spec.model_copy(
            update={
                "provenance": prov,
                "num_heads": heads,
                "num_kv_heads": kv,
                "head_dim": head_dim,
                "v_head_dim": head_dim,
                "kind": classify_heads(heads, kv),
            }
        )

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        prov = dict(spec.provenance)
        width = self.stack_int("ffn", prov) or spec.intermediate_size
        bias = bool(self.stack_fact("mlp_bias", True))
        update: dict[str, Any] = {"intermediate_size": width, "bias": bias, "provenance": prov}
        if spec.kind == "moe":
            update["expert_intermediate_size"] = width
        return spec.model_copy(update=update)

    def layer_extra_params(self) -> int:
        """Longformer-style separate global q/k/v projections in a stack's self-attention
        (LED's encoder, modeling_led `LEDEncoderSelfAttention`): three more biased d × d."""
        if not self.stack_fact("global_qkv", False):
            return 0
        d = self.hidden_size()
        return 3 * (d * d + (d if self.qkv_bias() else 0))

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        spec = spec.model_copy(update={"extra_params": self.layer_extra_params()})
        if self._stack == "encoder":
            return spec
        # cross-attention: queries from the decoder, keys/values from the encoder's output,
        # cached once per encoder token
        cross = spec.attention.model_copy(update={"source": "encoder"})
        return spec.model_copy(update={"cross_attention": cross})

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._stack)

    def encoder_layers(self) -> list[LayerSpec]:
        self._stack = "encoder"
        try:
            count = self.num_layers()
            return self.decoder_layers(self.layer_types(count))
        finally:
            self._stack = "decoder"

    # -- around the blocks -------------------------------------------------------------------
    def stacks(self) -> list[StackSpec]:
        out = []
        for name in ("encoder", "decoder"):
            self._stack = name  # type: ignore[assignment]
            try:
                out.append(self.stack_spec(name))  # type: ignore[arg-type]
            finally:
                self._stack = "decoder"
        return out

    def stack_spec(self, name: Stack) -> StackSpec:
        positions = self.stack_fact("positions")
        rows = 0
        if isinstance(positions, dict) and isinstance(positions.get("key"), str):
            rows = (self.read_int(f"{name}_positions", positions["key"]) or 0) + int(
                positions.get("offset") or 0
            )
        tokens = self.stack_fact("tokens")
        token_rows = self._size(tokens) if tokens is not None else 0
        extra = sum(self._numel(shape) for shape in self.stack_fact("extra", []) or [])
        return StackSpec(
            name=name,
            embedding_norm=bool(self.stack_fact("embedding_norm", False)),
            final_norm=bool(self.stack_fact("final_norm", True)),
            position_rows=rows,
            token_rows=token_rows,
            extra_params=extra,
        )

    def _size(self, dim: Any) -> int:
        """A dimension the structure table names by its config key (or a literal)."""
        if isinstance(dim, int):
            return dim
        if dim == "d_model":
            return self.hidden_size()
        return self.read_int(f"stack.{dim}", str(dim)) or 0

    def _numel(self, shape: list[Any]) -> int:
        out = 1
        for dim in shape:
            out *= self._size(dim)
        return out

    def max_positions(self) -> int | None:
        positions = self.stack_fact("positions")
        if isinstance(positions, dict) and isinstance(positions.get("key"), str):
            return self.read_int("max_position_embeddings", positions["key"])
        return super().max_positions()


class Bart(EncoderDecoder):
    """BART / mBART / Marian / Pegasus, and every type whose modeling code is copied from
    BART's (the generated `dialect` fact routes Blenderbot, M2M-100, NLLB, MVP, PLBart, LED,
    BigBird-Pegasus, Pegasus-X, FSMT here): LayerNorm with bias, plain MLP `fc1`/`fc2`,
    biased projections unless the stack's facts say otherwise, positions learned with 2
    reserved rows (BartLearnedPositionalEmbedding) when the table does not say."""

    name = "bart"
    model_types: ClassVar[tuple[str, ...]] = ("bart", "mbart", "marian", "pegasus")
    STACK_KEYS: ClassVar[dict[str, dict[str, tuple[str, ...]]]] = {
        stack: {
            "layers": (f"{stack}_layers",),
            "heads": (f"{stack}_attention_heads",),
            "ffn": (f"{stack}_ffn_dim",),
        }
        for stack in ("encoder", "decoder")
    }
    stack_defaults: ClassVar[dict[str, Any]] = {
        "embedding_norm": True,
        "final_norm": False,
        "positions": {"key": "max_position_embeddings", "offset": 2},
    }

    def positional(self, index: int) -> Positional:
        return "learned" if self.stack_fact("positions") else "nope"

    #: the base model holds one `shared` token table its stacks' embed_tokens are tied to
    #: (`own_token_rows`); Speech2Text, whose encoder reads filterbanks, holds none
    shared_token_table: ClassVar[bool] = True

    def stack_spec(self, name: Stack) -> StackSpec:
        spec = super().stack_spec(name)
        return own_token_rows(self, name, spec) if self.shared_token_table else spec

    def rope_theta(self) -> float | None:
        return None

    def is_moe_layer(self, index: int) -> bool:
        """NLLB-MoE (modeling_nllb_moe): layer i of a stack is sparse when
        (i + 1) % `<stack>_sparse_step` == 0 (no sparse layer when the step is 0)."""
        if self.num_experts() <= 1:
            return False
        step = self.read_int(f"{self._stack}_sparse_step", f"{self._stack}_sparse_step") or 0
        return step > 0 and (index + 1) % step == 0

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe":
            return spec
        # NllbMoeTop2Router: a linear d → experts (biased when router_bias), top-2 by design
        return spec.model_copy(
            update={
                "router_bias": bool(self.read("router_bias", "router_bias", default=False)),
                "experts_per_token": spec.experts_per_token
                or self.derive("experts_per_token", 2, "NllbMoeTop2Router routes to 2"),
            }
        )


class ProphetNet(Bart):
    """ProphetNet (modeling_prophetnet): BART-like stacks under its own keys
    (`num_encoder_layers`, `num_encoder_attention_heads`, `encoder_ffn_dim`, `hidden_size`),
    a learned position table and an embedding LayerNorm per stack, `ngram` stream embeddings
    in the decoder (a stack fact), and in each decoder self-attention a biased linear
    hidden → num_buckets × heads for its relative positions (`relative_pos_embeddings`)."""

    name = "prophetnet"
    model_types: ClassVar[tuple[str, ...]] = ("prophetnet",)
    STACK_KEYS: ClassVar[dict[str, dict[str, tuple[str, ...]]]] = {
        stack: {
            "layers": (f"num_{stack}_layers",),
            "heads": (f"num_{stack}_attention_heads",),
            "ffn": (f"{stack}_ffn_dim",),
        }
        for stack in ("encoder", "decoder")
    }

    def layer_extra_params(self) -> int:
        if self._stack == "encoder":
            return super().layer_extra_params()
        buckets = self.read_int("num_buckets", "num_buckets", default=32) or 0
        heads = self.stack_int("heads") or 0
        return buckets * heads * (self.hidden_size() + 1)


class T5(EncoderDecoder):
    """T5 / mT5 / UMT5 / LongT5 / Switch Transformers (modeling_t5 and its copies): relative
    position buckets (a bias table in the first block of each stack, per head; UMT5 one per
    block), unbiased projections, weight-only RMS LayerNorm, ReLU (v1.0) or gated GELU (v1.1)
    feed-forward, a final norm in each stack, no position table."""

    name = "t5"
    model_types: ClassVar[tuple[str, ...]] = ("t5", "mt5", "longt5")
    STACK_KEYS: ClassVar[dict[str, dict[str, tuple[str, ...]]]] = {
        "encoder": {"layers": ("num_layers",), "heads": ("num_heads",), "ffn": ("d_ff",),
                    "head_dim": ("d_kv",)},
        "decoder": {"layers": ("num_decoder_layers", "num_layers"), "heads": ("num_heads",),
                    "ffn": ("d_ff",), "head_dim": ("d_kv",)},
    }
    stack_defaults: ClassVar[dict[str, Any]] = {
        "embedding_norm": False,
        "final_norm": True,
        "positions": None,
        "norm": "rmsnorm",
        "norm_bias": False,
        "qkv_bias": False,
        "o_bias": False,
        "mlp_bias": False,
    }

    def positional(self, index: int) -> Positional:
        return "relative"

    def rope_theta(self) -> float | None:
        return None

    def gated_ffn(self) -> bool:
        return str(self.cv.lookup("feed_forward_proj")[0] or "relu").startswith("gated")

    def fixed_activation(self) -> str | None:
        """T5Config's dense_act_fn: the part of `feed_forward_proj` after "gated-", except
        that "gated-gelu" means gelu_new (T5Config.__init__, for the v1.1 checkpoints)."""
        proj = str(self.cv.lookup("feed_forward_proj")[0] or "relu")
        return "gelu_new" if proj == "gated-gelu" else proj.split("-")[-1]

    def norms_per_layer(self) -> int:
        return 3 if self._stack == "decoder" else 2  # one per sub-layer


class UMT5(T5):
    """UMT5 (modeling_umt5): T5 blocks, each with its own relative-position bias table
    (`has_relative_attention_bias` on every block, buckets × heads), not only the first."""

    name = "umt5"
    model_types: ClassVar[tuple[str, ...]] = ("umt5",)

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        if index == 0:  # the first block's table is the model-level relative bias
            return spec
        buckets = self.read_int("relative_attention_buckets", "relative_attention_num_buckets")
        return spec.model_copy(update={"extra_params": (buckets or 0) * spec.attention.num_heads})

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), index == 0)


class SwitchTransformers(T5):
    """Switch Transformers (modeling_switch_transformers): T5 blocks whose FFN is, in sparse
    layers, `num_experts` ungated experts (wi, wo) behind a top-1 router (a linear d → experts,
    biased when `router_bias`). Layer i of a stack is sparse when i % step == 1 (every layer
    when step is 1), step = layers // `num_sparse_<stack>_layers` (the layer count when 0),
    as SwitchTransformersConfig derives it."""

    name = "switch_transformers"
    model_types: ClassVar[tuple[str, ...]] = ("switch_transformers",)

    def stack_spec(self, name: Stack) -> StackSpec:
        return own_token_rows(self, name, super().stack_spec(name))

    def _sparse_step(self) -> int:
        layers = self.num_layers()
        sparse = self.read_int(
            f"{self._stack}_sparse_layers", f"num_sparse_{self._stack}_layers", default=0
        )
        return layers // sparse if sparse else layers

    def is_moe_layer(self, index: int) -> bool:
        if self.num_experts() <= 1:
            return False
        step = self._sparse_step()
        return step > 0 and (index % step == 1 or step == 1)

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe":
            return spec
        return spec.model_copy(
            update={
                "router_bias": bool(self.read("router_bias", "router_bias", default=False)),
                "experts_per_token": 1,
                "provenance": {
                    **spec.provenance,
                    "experts_per_token": FieldSource(
                        kind="default", detail="Switch Transformers route each token to 1 expert"
                    ),
                },
            }
        )

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self.is_moe_layer(index))


class T5Gemma(EncoderDecoder):
    """T5Gemma (modeling_t5gemma): two Gemma-2 stacks, each configured by its own nested
    config (`encoder`, `decoder`: hidden size, heads, KV heads, head_dim, GeGLU width,
    sliding/full `layer_types`). Blocks: pre- and post-norms around self-attention and the
    MLP (4 RMSNorms), in the decoder also around cross-attention (6); unbiased projections.
    The encoder has a token table of its own; the decoder's is the LM head's when tied;
    each stack ends with an RMSNorm. Stacks of different widths are not described (the
    cross-attention's k/v would read the encoder's width): a note says so."""

    name = "t5gemma"
    model_types: ClassVar[tuple[str, ...]] = ("t5gemma",)
    STACK_KEYS: ClassVar[dict[str, dict[str, tuple[str, ...]]]] = {
        stack: {
            "layers": (f"{stack}.num_hidden_layers",),
            "heads": (f"{stack}.num_attention_heads",),
            "kv_heads": (f"{stack}.num_key_value_heads",),
            "head_dim": (f"{stack}.head_dim",),
            "ffn": (f"{stack}.intermediate_size",),
        }
        for stack in ("encoder", "decoder")
    }
    stack_defaults: ClassVar[dict[str, Any]] = {
        "embedding_norm": False,
        "final_norm": True,
        "positions": None,
        "norm": "rmsnorm",
        "norm_bias": False,
        "gated_mlp": True,
        "mlp_bias": False,
    }

    def stack_prefix(self) -> str:
        """Where the stack being read keeps its keys (its nested config)."""
        return self._stack

    def hidden_size(self) -> int:
        hidden = self.read_int("hidden_size", "decoder.hidden_size", "hidden_size") or 0
        encoder = self.read_int("encoder_hidden_size", "encoder.hidden_size") or hidden
        if encoder != hidden and not any("widths differ" in n for n in self.notes):
            self.notes.append(
                f"encoder width {encoder} and decoder width {hidden} differ: the encoder's "
                "blocks and the cross-attention's k/v are counted at the decoder's width"
            )
        return hidden

    def vocab_size(self) -> int:
        return self.read_int("vocab_size", "decoder.vocab_size", "vocab_size") or 0

    def qkv_bias(self) -> bool:
        return bool(self.read("qkv_bias", f"{self.stack_prefix()}.attention_bias", default=False))

    def o_bias(self) -> bool:
        return self.qkv_bias()

    def norms_per_layer(self) -> int:
        return 6 if self._stack == "decoder" else 4

    def layer_types(self, n_layers: int) -> list[str]:
        declared = self.cv.lookup(f"{self.stack_prefix()}.layer_types")[0]
        if isinstance(declared, list) and len(declared) == n_layers:
            return [self._normalise_layer_type(str(t)) for t in declared]
        return ["full"] * n_layers

    def window(self) -> int | None:
        return self.read_int("window", f"{self.stack_prefix()}.sliding_window")

    def rope_theta(self) -> float | None:
        value = self.read("rope_theta", f"{self.stack_prefix()}.rope_parameters.rope_theta",
                          f"{self.stack_prefix()}.rope_theta", default=10000.0)
        return float(value) if isinstance(value, (int, float)) else None

    def max_positions(self) -> int | None:
        return self.read_int("max_position_embeddings", "decoder.max_position_embeddings")

    def stack_spec(self, name: Stack) -> StackSpec:
        rows = self.read_int("encoder_vocab_size", "encoder.vocab_size") if name == "encoder" else 0
        return StackSpec(name=name, final_norm=True, token_rows=rows or 0)

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        softcap = self.read("softcap", f"{self.stack_prefix()}.attn_logit_softcapping")
        return spec.model_copy(update={"softcap": softcap})

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        if spec.cross_attention is None:
            return spec
        # cross-attention attends to every encoder token: no window, no rotary positions
        cross = spec.cross_attention.model_copy(update={"window": None, "positional": "none"})
        return spec.model_copy(update={"cross_attention": cross})


class Whisper(Bart):
    """Whisper (modeling_whisper): an audio encoder-decoder. The decoder's self-attention cache
    grows per generated token; cross-attention caches the encoder's frames (per encoder
    token). k_proj has no bias; the encoder starts with two biased convolutions over the mel
    bins and a position table of `max_source_positions` (counted as the audio front-end
    tower); proj_out is tied to the token embedding; each stack ends with a LayerNorm."""

    name = "whisper"
    model_types: ClassVar[tuple[str, ...]] = ("whisper",)
    tie_default = True

    def stack_spec(self, name: Stack) -> StackSpec:
        rows = 0
        if name == "decoder":
            rows = self.read_int("max_position_embeddings", "max_target_positions") or 0
        return StackSpec(name=name, final_norm=True, position_rows=rows)

    def max_positions(self) -> int | None:
        return self.read_int("max_position_embeddings", "max_target_positions")

    def positional(self, index: int) -> Positional:
        return "learned"

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        return super().attention(index, layer_type).model_copy(update={"key_bias": False})

    def towers(self) -> list[TowerSpec]:
        d = self.hidden_size()
        mels = self.read_int("num_mel_bins", "num_mel_bins", default=80) or 80
        frames = self.read_int("max_source_positions", "max_source_positions", default=1500) or 0
        conv = (mels * d * 3 + d) + (d * d * 3 + d)
        return [
            TowerSpec(
                name="audio front-end",
                kind="whisper",
                params=conv + frames * d,
                hidden_size=d,
            )
        ]


class GenericEncoderDecoder(Bart):
    """A model type no adapter knows that declares BART's stack keys (`encoder_layers`,
    `decoder_layers`): read as two stacks with cross-attention, BART's modules around them
    where transformers' structure table has no facts; reported as best-effort."""

    name = "generic"
    known = False
    model_types: ClassVar[tuple[str, ...]] = ()


def has_stack_keys(config: dict[str, Any]) -> bool:
    """The config names a depth for each stack, as BART's dialect does."""
    return all(
        isinstance(config.get(k), int) and not isinstance(config.get(k), bool)
        for k in ("encoder_layers", "decoder_layers")
    )


ENCDEC_ADAPTERS: tuple[type[Adapter], ...] = (
    Bart, ProphetNet, T5, UMT5, SwitchTransformers, T5Gemma, Whisper
)


def own_token_rows(adapter: EncoderDecoder, name: Stack, spec: StackSpec) -> StackSpec:
    """A stack that reads the one shared token table holds a copy of its own when the
    config unties the embeddings: BartModel (and every model copied from it, MarianModel
    while `share_encoder_decoder_embeddings`) ties `encoder.embed_tokens` and
    `decoder.embed_tokens` to `shared` through `_tied_weights_keys`, and transformers
    5.23 (modeling_utils `get_expanded_tied_weights_keys`) follows none of a model's
    ties when `tie_word_embeddings` is False: shared, two stack tables and lm_head,
    4 × V × d (BART-base: 560,705,536 against 406,291,456 tied = 3 × 51,471,360).
    Marian with `share_encoder_decoder_embeddings: false` has no shared table: its
    encoder's embed_tokens (vocab_size rows) is its own, the decoder's the head's.
    A stack table of its own (FSMT's encoder, `src_vocab_size` rows) is the decoder's
    when tied (FSMTModel._tied_weights_keys: encoder.embed_tokens -> decoder.embed_tokens,
    as fairseq's `share_all_embeddings` over one joined dictionary), where its size
    lets it be.
    SwitchTransformersModel ties its stacks to `shared` the same way (T5Config and its
    copies force tie_word_embeddings=True; SwitchTransformersConfig does not)."""
    # inside a wrapper (Florence-2) the stack model's own config ties its tables
    tied = adapter.own_tie() if adapter.cv.prefix else adapter.tie_word_embeddings()
    vocab = adapter.vocab_size()
    if spec.token_rows and tied and spec.token_rows == vocab:
        return spec.model_copy(update={"token_rows": 0})
    if spec.token_rows or not _one_token_table(adapter):
        return spec
    if adapter.config.get("share_encoder_decoder_embeddings") is False:
        own = name == "encoder"
    else:
        own = not tied
    return spec.model_copy(update={"token_rows": vocab}) if own else spec


def _one_token_table(adapter: EncoderDecoder) -> bool:
    """No stack names a vocabulary of its own in the structure table (FSMT's encoder
    reads `src_vocab_size`): both read the table the embedding count holds."""
    stacks = adapter.structure_fact("stacks", None)
    if not isinstance(stacks, dict):
        return True
    return not any(f.get("tokens") for f in stacks.values() if isinstance(f, dict))
