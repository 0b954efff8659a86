"""Encoder-decoders whose stacks are read from their own keys beyond the three dialects of
`encdec` (BART's, T5's, Whisper's): the audio and music transcribers built on those stacks.

Each adapter names the modules its transformers modeling file builds around the blocks (a
convolutional front-end of the encoder, a conditioning table, an untied output projection),
reading the same config keys that file reads. A front-end that is one stack's input (the
encoder's subsampling convolutions) is counted as that model's tower, as Whisper's is.
"""

from __future__ import annotations

from typing import Any, ClassVar

from archlint.errors import ConfigError
from archlint.families import tf_tables
from archlint.families.base import Adapter, classify_heads, mha_from_key
from archlint.families.dialects import Llama
from archlint.families.encdec import T5, Bart, EncoderDecoder, Stack, T5Gemma
from archlint.families.towers import TowerConfig, read_towers, table_towers
from archlint.spec import (
    AttentionSpec,
    Coverage,
    CoverageItem,
    FFNSpec,
    LayerSpec,
    ModelSpec,
    Positional,
    StackSpec,
    TowerSpec,
)


class Pop2Piano(T5):
    """Pop2Piano (modeling_pop2piano): T5 stacks (T5's keys, gated or ReLU FFN per
    `feed_forward_proj`) plus `mel_conditioner`, an nn.Embedding of `composer_vocab_size`
    rows × d_model, and an `lm_head` that is always its own weight
    (`Pop2PianoForConditionalGeneration._tied_weights_keys` ties the two stacks' token tables
    to `shared`, never the head; the configuration forces tie_word_embeddings=True to mean
    only the output scaling)."""

    name = "pop2piano"
    model_types: ClassVar[tuple[str, ...]] = ("pop2piano",)

    def own_tie(self) -> bool:
        return False


    def stack_spec(self, name: Stack) -> StackSpec:
        spec = super().stack_spec(name)
        if name != "encoder":
            return spec
        rows = self.read_int("composer_vocab_size", "composer_vocab_size", default=21) or 0
        extra = spec.extra_params + rows * self.hidden_size()
        return spec.model_copy(update={"extra_params": extra})


class Moonshine(EncoderDecoder):
    """Moonshine (modeling_moonshine): an audio encoder-decoder with rotary positions
    (`rope_parameters`, partial by `partial_rotary_factor`). Per stack: layers, heads and KV
    heads under `encoder_`/`decoder_num_hidden_layers`, `..._num_attention_heads`,
    `..._num_key_value_heads` (KV heads default to the heads); one `hidden_size` and one
    `intermediate_size`. q/k/v biased when `attention_bias`, o_proj never. Encoder MLP
    fc1/fc2 (biased, GELU); decoder MLP fc1 to 2 × intermediate (gate and value) and fc2,
    biased. Every LayerNorm has no bias: two per encoder layer, three per decoder layer, one
    at the end of each stack. The decoder's token table is `proj_out`'s when tied. The
    encoder reads the waveform through conv1 (1 → d, kernel 127, no bias), a GroupNorm(1, d),
    conv2 (d → 2d, kernel 7) and conv3 (2d → d, kernel 3): the audio front-end tower."""

    name = "moonshine"
    model_types: ClassVar[tuple[str, ...]] = ("moonshine",)
    # The heads of both stacks are the encoder's: MoonshineAttention writes its head counts
    # into the shared config (`config.update`, under the attribute_map names that alias the
    # decoder's keys) and the decoder layers, built after the encoder's, read them back, so
    # transformers builds (and loads) a decoder with the encoder's heads and KV heads.
    STACK_KEYS: ClassVar[dict[str, dict[str, tuple[str, ...]]]] = {
        stack: {
            "layers": (f"{stack}_num_hidden_layers",),
            "heads": ("encoder_num_attention_heads",),
            "kv_heads": ("encoder_num_key_value_heads", "encoder_num_attention_heads"),
        }
        for stack in ("encoder", "decoder")
    }

    def num_layers(self) -> int:
        if self._stack == "decoder":
            self._note_heads()
        return super().num_layers()

    def _note_heads(self) -> None:
        heads = [
            self.cv.lookup(f"{stack}_{key}")[0]
            for key in ("num_attention_heads", "num_key_value_heads")
            for stack in ("encoder", "decoder")
        ]
        differ = heads[0] != heads[1] or (heads[3] is not None and heads[2] != heads[3])
        note = (
            "decoder head counts differ from the encoder's: transformers builds the decoder "
            "with the encoder's (MoonshineAttention rewrites the shared config), read so"
        )
        if differ and note not in self.notes:
            self.notes.append(note)
    stack_defaults: ClassVar[dict[str, Any]] = {
        "embedding_norm": False,
        "final_norm": True,
        "positions": None,
        "norm": "layernorm",
        "norm_bias": False,
        "mlp_bias": True,
    }

    def gated_ffn(self) -> bool:
        return self._stack == "decoder"

    def qkv_bias(self) -> bool:
        return bool(self.read("qkv_bias", "attention_bias", default=False))

    def o_bias(self) -> bool:
        return False

    def positional(self, index: int) -> Positional:
        return "rope"

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        if spec.cross_attention is None:
            return spec
        # the cross-attention reads the encoder's states unrotated
        cross = spec.cross_attention.model_copy(update={"positional": "none"})
        return spec.model_copy(update={"cross_attention": cross})

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        return super().attention(index, layer_type).model_copy(update={"o_bias": False})

    def towers(self) -> list[TowerSpec]:
        d = self.hidden_size()
        conv = d * 127 + 2 * d + (d * 2 * d * 7 + 2 * d) + (2 * d * d * 3 + d)
        return [TowerSpec(name="audio front-end", kind="moonshine", params=conv, hidden_size=d)]


class Speech2Text(Bart):
    """Speech2Text (modeling_speech_to_text): BART's keys and blocks (biased projections,
    fc1/fc2, LayerNorms with bias), sinusoidal positions kept as a buffer (no parameters),
    no embedding norm, a LayerNorm at the end of each stack, the head tied to the decoder's
    token table. The encoder reads the filterbank through `Conv1dSubsampler`:
    `num_conv_layers` convolutions of `conv_kernel_sizes`, each followed by a GLU that halves
    the channels: in = input_feat_per_channel × input_channels, then conv_channels / 2;
    out = conv_channels, the last 2 × d_model; each biased. Counted as the audio front-end."""

    name = "speech_to_text"
    model_types: ClassVar[tuple[str, ...]] = ("speech_to_text",)
    shared_token_table = False  # Speech2TextModel has no `shared`: nothing to untie
    stack_defaults: ClassVar[dict[str, Any]] = {
        "embedding_norm": False,
        "final_norm": True,
        "positions": None,
    }

    def positional(self, index: int) -> Positional:
        return "sinusoidal"

    def max_positions(self) -> int | None:
        return self.read_int("max_position_embeddings", "max_target_positions")

    def towers(self) -> list[TowerSpec]:
        d = self.hidden_size()
        feats = self.read_int("input_feat_per_channel", "input_feat_per_channel", default=80) or 0
        channels = self.read_int("input_channels", "input_channels", default=1) or 1
        mid = self.read_int("conv_channels", "conv_channels", default=1024) or 0
        kernels = self.cv.lookup("conv_kernel_sizes")[0]
        if not isinstance(kernels, (list, tuple)):
            kernels = [5, 5]
        # one convolution per kernel size; the last `num_conv_layers` - 1 decides which
        # one widens to 2 × d_model
        n = self.read_int("conv_layers", "num_conv_layers", default=len(kernels)) or 0
        params = 0
        for i, k in enumerate(kernels):
            cin = feats * channels if i == 0 else mid // 2
            cout = mid if i < n - 1 else 2 * d
            params += cin * cout * int(k) + cout
        return [TowerSpec(name="audio front-end", kind="speech_to_text", params=params,
                          hidden_size=d)]




#: the sub-config key the tower reader takes a composite's encoder under, per composite type
_ENCODER_TOWER_KEY = {
    "vision-encoder-decoder": "vision_config",
    "speech-encoder-decoder": "audio_config",
}


class CompositeEncoderDecoder(Adapter):
    """EncoderDecoderModel, SpeechEncoderDecoderModel, VisionEncoderDecoderModel
    (modeling_encoder_decoder and its speech/vision copies): any encoder and any decoder,
    each configured by its own sub-config (`encoder`, `decoder`) and built by transformers
    as `AutoModel.from_config(encoder)` and `AutoModelForCausalLM.from_config(decoder)`.

    Each sub-config is read by archlint's own adapter for its model_type and the two are
    composed: the encoder whole (its model with its pooler, as AutoModel builds it) as the
    `encoder` tower, read by its adapter when it is a text encoder archlint knows, else by
    the tower reader (a vision or audio encoder); the decoder as the language model, every
    block with a cross-attention over the encoder (a copy of its self-attention's
    projections, `add_cross_attention`) and that sub-layer's own norm. A decoder whose type
    is an encoder (BERT as a decoder: BertLMHeadModel) carries the masked-LM head its
    causal-LM class builds (the same `cls.predictions` transform, norm and bias as its
    masked-LM class) and no pooler. When the widths differ and the decoder names no
    `cross_attention_hidden_size`, `enc_to_dec_proj` (a biased linear encoder → decoder
    width) maps the encoder's states; the cross-attention's k/v are built at the decoder's
    width either way (BertCrossAttention, GPT2Attention's cross branch read hidden_size).
    The cross-attention caches K and V per encoder token."""

    name = "encoder-decoder composite"
    model_types: ClassVar[tuple[str, ...]] = (
        "encoder-decoder", "speech-encoder-decoder", "vision-encoder-decoder",
    )

    def _sub(self, key: str) -> dict[str, Any]:
        sub = self.config.get(key)
        if not isinstance(sub, dict) or not isinstance(sub.get("model_type"), str):
            raise ConfigError(
                f"config.json: {self.config.get('model_type')} needs an `{key}` sub-config "
                "with its model_type"
            )
        # the model transformers builds is the base/causal-LM class, not what the
        # sub-checkpoint's `architectures` names
        return {k: v for k, v in sub.items() if k != "architectures"}

    def build(self) -> ModelSpec:
        from archlint.analysis.params import count_from_spec
        from archlint.families import adapter_for

        if self.config.get("tie_encoder_decoder"):
            raise ConfigError(
                "config.json: tie_encoder_decoder=true shares weights between the encoder "
                "and the decoder, which archlint does not describe"
            )
        root_type = str(self.config.get("model_type"))
        enc_cfg, dec_cfg = self._sub("encoder"), self._sub("decoder")
        decoder, head_own = self._decoder(dec_cfg, adapter_for)
        dec_spec = decoder.build()
        d = dec_spec.hidden_size

        encoder = adapter_for(enc_cfg)
        if encoder.known and encoder.architecture() == "encoder":
            enc_spec = encoder.build()
            towers = [
                TowerSpec(
                    name="encoder",
                    kind=enc_spec.model_type,
                    params=count_from_spec(enc_spec).total,
                    num_layers=enc_spec.num_layers,
                    hidden_size=enc_spec.hidden_size,
                )
            ]
        elif root_type in _ENCODER_TOWER_KEY:
            towers = self._encoder_tower(root_type, enc_cfg, d)
        else:
            towers = []
        if not towers:
            raise ConfigError(
                f"config.json: the {root_type} encoder ({enc_cfg['model_type']}) is no "
                "encoder archlint can read"
            )
        enc_h = towers[0].hidden_size or d
        # SpeechEncoderDecoderModel decides by the encoder's output_hidden_size (Wav2Vec2's
        # adapter width, where its config has one) and projects from its hidden_size
        declared = enc_cfg.get("output_hidden_size")
        out_h = (
            declared  # omitted: Wav2Vec2Config derives it from hidden_size
            if root_type == "speech-encoder-decoder" and isinstance(declared, int)
            else enc_h
        )
        extra = dict(dec_spec.extra_params)
        if out_h != d and dec_cfg.get("cross_attention_hidden_size") is None:
            extra["other"] = extra.get("other", 0) + enc_h * d + d  # enc_to_dec_proj

        layers = []
        for layer in dec_spec.layers:
            cross = layer.attention.model_copy(
                update={"source": "encoder", "window": None, "positional": "none"}
            )
            layers.append(layer.model_copy(update={"cross_attention": cross,
                                                   "norms": layer.norms + 1}))
        rows = 0
        if dec_spec.positional_embedding and dec_spec.max_position_embeddings:
            rows = dec_spec.position_tables * (
                dec_spec.max_position_embeddings + dec_spec.position_offset
            )
        stacks = [
            StackSpec(name="encoder"),
            StackSpec(
                name="decoder",
                embedding_norm=dec_spec.embedding_norm,
                final_norm=dec_spec.final_norm,
                position_rows=rows,
            ),
        ]
        update: dict[str, Any] = {
            "model_type": root_type,
            "family": self.name,
            "known_family": decoder.known,
            "architecture": "encoder-decoder",
            "layers": layers,
            "stacks": stacks,
            "towers": [*dec_spec.towers, *towers],
            "extra_params": extra,
            "notes": [
                *dec_spec.notes,
                f"{root_type}: encoder {enc_cfg['model_type']} and decoder "
                f"{dec_cfg['model_type']} each read by its own adapter",
            ],
        }
        if head_own is not None:
            # the head's own tensors (transform, norm, output bias) are the task head; the
            # output matmul is the LM head, tied to the decoder's token table or not
            update.update({"task_head_params": head_own, "head_bias": False, "pooler": False})
        spec = dec_spec.model_copy(update=update)
        items = [
            *dec_spec.coverage.items,
            *(
                CoverageItem(
                    part=f"encoder tower ({t.kind})",
                    how="adapter" if t.understood else "assumed",
                    detail="" if t.understood else "parameters estimated",
                )
                for t in towers
            ),
        ]
        return spec.model_copy(
            update={"coverage": dec_spec.coverage.model_copy(update={"items": items})}
        )

    def _encoder_tower(self, root_type: str, enc_cfg: dict[str, Any], d: int) -> list[TowerSpec]:
        """A vision or audio encoder: the generated tower table's `encoder` module where the
        encoder is of the type the table was fitted on (ViT, Wav2Vec2 as AutoModel builds
        them: embeddings, final norm, pooler), whatever the decoder; else the encoder
        formulas of the tower reader. `enc_to_dec_proj` is the caller's (it depends on the
        decoder's width)."""
        fitted_on = (tf_tables.defaults_for(root_type) or {}).get("encoder")
        same_lists = isinstance(fitted_on, dict) and enc_cfg["model_type"] == fitted_on.get(
            "model_type"
        ) and all(
            value == fitted_on.get(key)
            for key, value in enc_cfg.items()
            if isinstance(value, list) and key in fitted_on
        )
        # a list's values are no variable of the table (only its length is): Wav2Vec2's
        # conv_dim at other values builds other convolutions than the ones fitted
        fitted = (
            table_towers({"model_type": root_type, "encoder": enc_cfg}, root_type, "decoder")
            if same_lists
            else None
        )
        encoder = [t for t in fitted or () if t.kind == "encoder"]
        if encoder:
            # the width enc_to_dec_proj reads: the encoder's, its class default behind it
            hidden = TowerConfig(enc_cfg, None).int("hidden_size", "d_model")
            return [t.model_copy(update={"name": "encoder", "kind": str(enc_cfg["model_type"]),
                                         "hidden_size": hidden}) for t in encoder]
        wrapper = {"model_type": root_type, _ENCODER_TOWER_KEY[root_type]: enc_cfg}
        return [
            t.model_copy(update={"name": "encoder"})
            for t in read_towers(wrapper, d, table=False)
            if t.name != "projector"
        ]

    def _decoder(self, dec_cfg: dict[str, Any], adapter_for: Any) -> tuple[Adapter, int | None]:
        """The decoder's adapter (for the class AutoModelForCausalLM builds) and, for an
        encoder type used as a decoder, its head's own parameters (None otherwise)."""
        mt = str(dec_cfg["model_type"])
        decoder = adapter_for(dec_cfg)
        # read: this reader gives every block its cross-attention, as the composite builds it
        decoder.cv.lookup("add_cross_attention", "is_decoder")
        arch = decoder.architecture()
        if arch == "decoder":
            return decoder, None
        masked = tf_tables.model_classes(mt).get("masked_lm")
        if arch != "encoder" or not masked:
            raise ConfigError(
                f"config.json: the decoder ({mt}) is no decoder archlint can read"
            )
        with_head = {**dec_cfg, "architectures": [masked]}
        # the head's own tensors: read with the output tied, so only the transform, its norm
        # and the output bias are counted
        head_own = adapter_for({**with_head, "tie_word_embeddings": True}).task_head_params()
        decoder = adapter_for(with_head)
        decoder.cv.lookup("add_cross_attention", "is_decoder")
        if decoder.task_head() is None:
            raise ConfigError(
                f"config.json: the LM head of the decoder ({mt}, {masked}) is not described"
            )
        return decoder, head_own


class SpeechT5(Bart):
    """SpeechT5 for speech-to-text (modeling_speecht5 `SpeechT5ForSpeechToText`, the class
    the ASR checkpoints name): BART's stack keys at `hidden_size`; post-norm blocks with
    biased projections and feed-forwards (two LayerNorms per encoder layer, three per
    decoder layer). The encoder holds a LayerNorm over its input and a relative position
    table `pe_k` of 2 × `encoder_max_relative_position` rows × head_dim; the decoder's text
    pre-net a token table and sinusoidal positions kept as a buffer; the text post-net's
    lm_head is tied to that token table. The speech pre-net in front of the encoder (the
    speech pre-net tower): `num_feat_extract_layers` convolutions over `conv_dim`,
    `conv_kernel` (biased when `conv_bias`; a GroupNorm on the first when
    `feat_extract_norm` is "group", a LayerNorm on each when "layer"), the feature
    projection (a LayerNorm over conv_dim[-1] and a biased linear to hidden_size), the
    weight-normed positional convolution (hidden → hidden in `num_conv_pos_embedding_groups`
    groups, kernel `num_conv_pos_embeddings`: v, g over the kernel axis, bias) and
    `masked_spec_embed` when `mask_time_prob` or `mask_feature_prob` is above 0. The
    text-to-speech and speech-to-speech classes (speech decoder pre/post-nets, speaker
    embeddings) are not described: a one-line error says so."""

    name = "speecht5"
    model_types: ClassVar[tuple[str, ...]] = ("speecht5",)
    stack_defaults: ClassVar[dict[str, Any]] = {"positions": None}

    def build(self) -> ModelSpec:
        names = self.config.get("architectures")
        other = [n for n in names or [] if n != "SpeechT5ForSpeechToText"]
        if isinstance(names, list) and other:
            raise ConfigError(
                f"config.json: {other[0]} (SpeechT5's speech decoder pre/post-nets) is not "
                "described; only SpeechT5ForSpeechToText is"
            )
        # read: they shape only the text-to-speech classes' speech pre/post-nets, which
        # SpeechT5ForSpeechToText does not build
        self.cv.lookup("speech_decoder_prenet_layers", "speech_decoder_postnet_layers")
        return super().build()

    def positional(self, index: int) -> Positional:
        return "relative" if self._stack == "encoder" else "sinusoidal"

    def max_positions(self) -> int | None:
        return self.read_int("max_position_embeddings", "max_text_positions")

    def stack_spec(self, name: Stack) -> StackSpec:
        if name == "decoder":
            return StackSpec(name=name)
        heads = self.read_int("encoder_num_heads", "encoder_attention_heads") or 1
        rows = 2 * (self.read_int("relative_positions", "encoder_max_relative_position",
                                  default=160) or 0)
        return StackSpec(name=name, embedding_norm=True,
                         extra_params=rows * (self.hidden_size() // heads))

    def towers(self) -> list[TowerSpec]:
        d = self.hidden_size()
        dims = self.cv.lookup("conv_dim")[0] or [512] * 7
        kernels = self.cv.lookup("conv_kernel")[0] or [10, 3, 3, 3, 3, 2, 2]
        bias = bool(self.read("conv_bias", "conv_bias", default=False))
        norm = self.read("feat_extract_norm", "feat_extract_norm", default="group")
        layers = self.read_int("conv_layers", "num_feat_extract_layers", default=len(dims))
        params = 0
        for i in range(layers or 0):
            cin = dims[i - 1] if i > 0 else 1
            params += cin * dims[i] * kernels[i] + (dims[i] if bias else 0)
            if norm == "layer" or (norm == "group" and i == 0):
                params += 2 * dims[i]  # affine GroupNorm(c, c) / LayerNorm(c)
        params += 2 * dims[-1] + dims[-1] * d + d  # feature_projection
        kernel = self.read_int("pos_conv_kernel", "num_conv_pos_embeddings", default=128) or 0
        groups = self.read_int("pos_conv_groups", "num_conv_pos_embedding_groups",
                               default=16) or 1
        params += d * (d // groups) * kernel + kernel + d  # weight_v, weight_g, bias
        masked = any(
            float(self.read(key, key, default=0.0) or 0.0) > 0.0
            for key in ("mask_time_prob", "mask_feature_prob")
        )
        params += d if masked else 0
        return [TowerSpec(name="speech pre-net", kind="speecht5", params=params, hidden_size=d)]


class DiaStack(Llama):
    """One stack of Dia (modeling_dia `DiaEncoder`, `DiaDecoder`) read from its own
    sub-config (`dia_encoder`, `dia_decoder` types): Llama-like blocks, RMSNorm, unbiased
    q/k/v/o with GQA at `head_dim`, a gated MLP (`gate_up_proj` fused: the same weights as
    gate + up), rotary positions, a final RMSNorm. Read by `Dia`, which composes the two."""

    name = "dia"
    model_types: ClassVar[tuple[str, ...]] = ("dia_encoder", "dia_decoder")


class Dia(Adapter):
    """Dia (modeling_dia `DiaForConditionalGeneration`): a text encoder and an audio-token
    decoder of different widths, each configured by its own sub-config (`encoder_config`,
    `decoder_config`) and read by `DiaStack`. The decoder is the language model: its token
    table is `DiaMultiChannelEmbedding` (vocab_size × num_channels rows), each block adds
    a cross-attention (q from the decoder's width, k/v from `cross_hidden_size`, at
    `cross_num_attention_heads`, `cross_num_key_value_heads`, `cross_head_dim`) and a third
    RMSNorm (pre_sa, pre_ca, pre_mlp), and `logits_dense` (untied) projects to
    num_channels × vocab_size. The encoder (a byte-token table, blocks with two RMSNorms,
    a final RMSNorm, no head) is counted whole as the `encoder` tower, read by the same
    block reader at its own width, because a spec's blocks share one width."""

    name = "dia"
    model_types: ClassVar[tuple[str, ...]] = ("dia",)

    def _sub(self, key: str) -> dict[str, Any]:
        sub = self.config.get(key)
        kind = tf_tables.sub_configs("dia").get(key)
        return {**(sub if isinstance(sub, dict) else {}), "model_type": kind}

    def build(self) -> ModelSpec:
        from archlint.analysis.params import count_from_spec

        enc_cfg = {**self._sub("encoder_config"), "tie_word_embeddings": True}
        dec_cfg = {**self._sub("decoder_config"), "tie_word_embeddings": False}
        enc_spec = DiaStack(enc_cfg).build()
        decoder = DiaStack(dec_cfg)
        cv = decoder.cv  # read before build(), whose coverage lists the keys not asked for
        channels = int(cv.lookup("num_channels")[0] or 9)
        cross_h = cv.lookup("cross_hidden_size")[0] or enc_spec.hidden_size
        cross_heads = cv.lookup("cross_num_attention_heads")[0]
        cross_kv = cv.lookup("cross_num_key_value_heads")[0] or cross_heads
        cross_dim = cv.lookup("cross_head_dim")[0]
        dec_spec = decoder.build()
        layers = []
        for layer in dec_spec.layers:
            att = layer.attention
            heads = int(cross_heads or att.num_heads)
            kv = int(cross_kv or heads)
            dim = int(cross_dim or att.head_dim)
            cross = att.model_copy(update={
                "source": "encoder", "window": None, "positional": "none",
                "num_heads": heads, "num_kv_heads": kv, "head_dim": dim, "v_head_dim": dim,
                "kind": classify_heads(heads, kv),
                "kv_input_size": int(cross_h) if int(cross_h) != dec_spec.hidden_size else None,
            })
            layers.append(layer.model_copy(update={"cross_attention": cross,
                                                   "norms": layer.norms + 1}))
        encoder = TowerSpec(name="encoder", kind="dia_encoder",
                            params=count_from_spec(enc_spec).total,
                            num_layers=enc_spec.num_layers, hidden_size=enc_spec.hidden_size)
        return dec_spec.model_copy(update={
            "model_type": "dia",
            "family": self.name,
            "architecture": "encoder-decoder",
            "vocab_size": dec_spec.vocab_size * channels,
            "layers": layers,
            # the encoder's modules are all in its tower; the decoder's final norm
            "stacks": [StackSpec(name="encoder"),
                       StackSpec(name="decoder", final_norm=dec_spec.final_norm)],
            "towers": [*dec_spec.towers, encoder],
            "notes": [*dec_spec.notes, *enc_spec.notes],
        })


class T5Gemma2(T5Gemma):
    """T5Gemma 2 (modeling_t5gemma2): Gemma-3 stacks, the encoder's under
    `encoder.text_config`, the decoder's under `decoder`. Blocks: pre/post RMSNorms around
    attention and the MLP (4 per block in both stacks), per-head q/k RMSNorms, unbiased
    projections unless `attention_bias`, GeGLU. The decoder's attention is merged
    (`T5Gemma2MergedAttention`): one q/k/v/o set attends over its own tokens and the
    encoder's together, so the cross-attention holds no weights of its own while its K/V,
    from the same k_proj/v_proj, are cached per encoder token. One token table
    (encoder.text_model.embed_tokens; the decoder's and lm_head.out_proj tied to it) with
    one `eoi_embedding` vector beside it; a final RMSNorm per stack. The encoder also holds
    the vision tower (`encoder.vision_config`, the tower reader) and
    `T5Gemma2MultiModalProjector`: mm_input_projection_weight (vision × text width) and
    mm_soft_emb_norm (an RMSNorm at the vision width)."""

    name = "t5gemma2"
    model_types: ClassVar[tuple[str, ...]] = ("t5gemma2",)
    STACK_KEYS: ClassVar[dict[str, dict[str, tuple[str, ...]]]] = {
        stack: {
            "layers": (f"{prefix}.num_hidden_layers",),
            "heads": (f"{prefix}.num_attention_heads",),
            "kv_heads": (f"{prefix}.num_key_value_heads",),
            "head_dim": (f"{prefix}.head_dim",),
            "ffn": (f"{prefix}.intermediate_size",),
        }
        for stack, prefix in (("encoder", "encoder.text_config"), ("decoder", "decoder"))
    }

    def stack_prefix(self) -> str:
        return "encoder.text_config" if self._stack == "encoder" else "decoder"

    def hidden_size(self) -> int:
        hidden = self.read_int("hidden_size", "decoder.hidden_size") or 0
        encoder = self.read_int("encoder_hidden_size", "encoder.text_config.hidden_size")
        if encoder and encoder != hidden and not any("widths differ" in n for n in self.notes):
            self.notes.append(
                f"encoder width {encoder} and decoder width {hidden} differ: the encoder's "
                "blocks are counted at the decoder's width"
            )
        return hidden

    def norms_per_layer(self) -> int:
        return 4

    def qk_norm(self) -> bool:
        return True

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        return spec.model_copy(update={"qk_norm": True, "qk_norm_per_head": True})

    def stack_spec(self, name: Stack) -> StackSpec:
        if name == "encoder":  # eoi_embedding, tied once
            return StackSpec(name=name, final_norm=True, extra_params=self.hidden_size())
        if self.tie_word_embeddings():
            return StackSpec(name=name, final_norm=True)
        # T5Gemma2Model._tied_weights_keys (decoder.embed_tokens and its eoi_embedding to the
        # encoder's) are not followed when tie_word_embeddings is False: the decoder holds a
        # table and an eoi_embedding of its own, beside the untied lm_head
        return StackSpec(name=name, final_norm=True, token_rows=self.vocab_size(),
                         extra_params=self.hidden_size())

    def towers(self) -> list[TowerSpec]:
        vision = self.cv.lookup("encoder.vision_config")[0]
        if not isinstance(vision, dict):
            return []
        towers = [
            t for t in read_towers({"model_type": "t5gemma2", "vision_config": vision},
                                   self.hidden_size(), table=False)
            if t.name != "projector"
        ]
        v = towers[0].hidden_size if towers else 0
        towers.append(TowerSpec(name="projector", kind="t5gemma2",
                                params=v * self.hidden_size() + v))
        return towers

    def build(self) -> ModelSpec:
        from archlint.analysis.params import layer_params

        spec = super().build()
        # the merged attention: the decoder block's weights are its self-attention's
        layers = [
            layer.model_copy(update={"block_params": dict(layer_params(
                layer.model_copy(update={"cross_attention": None}), spec))})
            for layer in spec.layers
        ]
        return spec.model_copy(update={"layers": layers})


class Pix2Struct(T5):
    """Pix2Struct (modeling_pix2struct `Pix2StructForConditionalGeneration`): an image
    encoder (`vision_config`) and a T5-style text decoder (`text_config`). The decoder is
    the language model: `num_layers` blocks of self-attention, cross-attention over the
    encoder and a gated FFN (wi_0, wi_1, wo, always gated), each sub-layer with its own
    weight-only RMSNorm, q/k/v/o at hidden × hidden unbiased, a relative-position bias table
    (buckets × heads) in its first block only, a final norm, lm_head tied to the token table
    only when `tie_word_embeddings`. The image encoder is one stack of the model, counted as
    its tower: patch_projection (biased, patch_embed_hidden_size → hidden), row and column
    tables of `seq_len` rows, `num_hidden_layers` blocks (q/k/v/o at heads × d_kv unbiased,
    gated MLP at d_ff, two weight-only norms) and a final norm."""

    name = "pix2struct"
    model_types: ClassVar[tuple[str, ...]] = ("pix2struct",)
    STACK_KEYS: ClassVar[dict[str, dict[str, tuple[str, ...]]]] = {
        "decoder": {"layers": ("num_layers",), "heads": ("num_heads",), "ffn": ("d_ff",)},
    }

    def gated_ffn(self) -> bool:
        return True

    def encoder_layers(self) -> list[LayerSpec]:
        return []

    def stack_spec(self, name: Stack) -> StackSpec:
        if name == "encoder":
            return StackSpec(name=name)
        buckets = self.read_int("relative_attention_buckets",
                                "relative_attention_num_buckets", default=32) or 0
        heads = self.stack_int("heads") or 0
        return StackSpec(name=name, final_norm=True, extra_params=buckets * heads)

    def build(self) -> ModelSpec:
        # the one relative table is the decoder stack's (counted there), not one per stack
        return super().build().model_copy(update={"relative_attention_buckets": 0})

    def towers(self) -> list[TowerSpec]:
        raw = self.cv.lookup("vision_config")[0]
        vision = {**(tf_tables.defaults_for("pix2struct_vision_model") or {}),
                  **(raw if isinstance(raw, dict) else {})}

        def get(key: str) -> int:
            value = vision.get(key)
            return int(value) if isinstance(value, int) else 0

        h, ff, layers = get("hidden_size"), get("d_ff"), get("num_hidden_layers")
        inner = get("num_attention_heads") * get("d_kv")
        block = 4 * h * inner + 3 * h * ff + 2 * h
        params = get("patch_embed_hidden_size") * h + h + 2 * get("seq_len") * h
        params += layers * block + h
        return [TowerSpec(name="vision encoder", kind="pix2struct_vision_model",
                          params=params, num_layers=layers, hidden_size=h)]


class Udop(T5):
    """UDOP (modeling_udop `UdopForConditionalGeneration`): T5 stacks (T5's keys, relative
    bias table in each stack's first block, `feed_forward_proj`), the token table shared by
    both stacks and the head (tied), and around the blocks: `patch_embed`, a Conv2d
    (num_channels → d_model, kernel and stride patch_size, biased) that the encoder's
    `embed_patches` is tied to, while the decoder's `embed_patches` is its own copy; the
    encoder's `cell_2d_embedding` (x and y tables of max_2d_position_embeddings rows); and
    in each stack `relative_bias`, one table per `relative_bias_args` entry of
    (relative_attention_num_buckets, default 32, + 2 with prefix_bucket and not expand) ×
    heads, the first of which is tied to the encoder's first-block table."""

    name = "udop"
    model_types: ClassVar[tuple[str, ...]] = ("udop",)

    def _patch_conv(self) -> int:
        d = self.hidden_size()
        channels = self.read_int("num_channels", "num_channels", default=3) or 0
        patch = self.read_int("patch_size", "patch_size", default=16) or 0
        return channels * patch * patch * d + d

    def _bias_tables(self) -> int:
        args = self.cv.lookup("relative_bias_args")[0]
        if not isinstance(args, list):
            return 0
        heads = self.stack_int("heads") or 0
        total = 0
        for entry in args[1:]:  # the first is tied to the encoder's block-0 table
            if not isinstance(entry, dict):
                continue
            buckets = int(entry.get("relative_attention_num_buckets", 32))
            extra = 2 if entry.get("prefix_bucket") and not entry.get("expand") else 0
            total += (buckets + extra) * heads
        return total

    def stack_spec(self, name: Stack) -> StackSpec:
        spec = super().stack_spec(name)
        extra = self._patch_conv() + self._bias_tables()
        if name == "encoder":
            rows = self.read_int("max_2d_positions", "max_2d_position_embeddings",
                                 default=1024) or 0
            extra += 2 * rows * self.hidden_size()
        return spec.model_copy(update={"extra_params": spec.extra_params + extra})


class Kosmos25Text(Adapter):
    """Kosmos-2.5's language model (modeling_kosmos2_5 `Kosmos2_5TextTransformer`, read
    from `text_config`): pre-LayerNorm blocks (self_attn_layer_norm, final_layer_norm, with
    bias), biased q/k/v/out projections, a plain biased fc1/fc2 MLP with a LayerNorm over
    its `ffn_dim`-wide inner activation (`ffn_layernorm`, counted as the block's extra),
    sinusoidal positions kept as a buffer, a 2-row `segment_emb` table, a final LayerNorm,
    lm_head tied. Its vision tower and projector are read by the tower reader."""

    name = "kosmos-2.5"
    model_types: ClassVar[tuple[str, ...]] = ("kosmos_2_5_text_model",)

    def norm_kind(self) -> str:
        return "layernorm"

    def norm_bias(self) -> bool:
        return True

    def qkv_bias(self) -> bool:
        return True

    def positional(self, index: int) -> Positional:
        return "sinusoidal"

    def rope_theta(self) -> float | None:
        return None

    def ffn(self, index: int) -> FFNSpec:
        return super().ffn(index).model_copy(update={"gated": False, "bias": True})

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        return spec.model_copy(update={"extra_params": 2 * spec.ffn.intermediate_size})

    def type_vocab_rows(self) -> int:
        return 2  # segment_emb: nn.Embedding(2, embed_dim)

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        return mha_from_key(self, super().attention(index, layer_type), "attention_heads")


class Kosmos2Text(Kosmos25Text):
    """Kosmos-2's language model (modeling_kosmos2 `Kosmos2TextTransformer`, read from
    `text_config`): Kosmos-2.5's block (pre-LayerNorms with bias, biased q/k/v/out, a plain
    biased fc1/fc2 MLP with `ffn_layernorm` over its inner width, sinusoidal positions as a
    buffer, a final LayerNorm, lm_head tied) plus `inner_attn_ln`, a LayerNorm over the
    self-attention's output before out_proj (`add_inner_attn_layernorm=True` in every
    `Kosmos2TextBlock`): three hidden-wide norms per block; no segment table."""

    name = "kosmos-2"
    model_types: ClassVar[tuple[str, ...]] = ("kosmos_2_text_model",)

    def norms_per_layer(self) -> int:
        return 3

    def type_vocab_rows(self) -> int:
        return 0


class VoxtralRealtimeText(Llama):
    """Voxtral Realtime's language model (modeling_voxtral_realtime, `text_config` of type
    voxtral_realtime_text): Llama blocks plus, in each, `VoxtralRealtimeTextAdaRmsNorm`,
    the time-conditioned scale of the MLP's input: two unbiased linears hidden → 32 → hidden
    (the rank 32 is fixed in the modeling code). Its audio encoder and projector are read
    by the tower reader."""

    name = "voxtral_realtime"
    model_types: ClassVar[tuple[str, ...]] = ("voxtral_realtime_text",)
    ADA_RANK: ClassVar[int] = 32

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        extra = spec.extra_params + 2 * self.ADA_RANK * self.hidden_size()
        return spec.model_copy(update={"extra_params": extra})


def fastconformer_params(config: dict[str, Any]) -> int:
    """Parameters (and BatchNorm running statistics, which checkpoints hold) of a
    FastConformer encoder (modeling_parakeet `ParakeetEncoder`), keys the config omits taking
    ParakeetEncoderConfig's defaults. Subsampling: log2(subsampling_factor) stride-s Conv2d
    stages (the first 1 → C channels, then depthwise C → C and pointwise 1×1, all biased)
    and a biased linear C × (num_mel_bins // s^stages) → h. Per block: two feed-forwards
    (linear1 h → I, linear2 I → h, biased when attention_bias), self-attention (q/k/v/o,
    biased when attention_bias, an unbiased relative_k_proj and the bias_u/bias_v tables of
    heads × head_dim), the convolution module (pointwise h → 2h, depthwise kernel
    conv_kernel_size, BatchNorm, pointwise h → h; biased when convolution_bias) and five
    LayerNorms."""
    c = {**(tf_tables.defaults_for("parakeet_encoder") or {}), **config}

    def get(key: str, default: int = 0) -> int:
        value = c.get(key)
        return int(value) if isinstance(value, (int, float)) and value is not None else default

    h, inner, layers = get("hidden_size"), get("intermediate_size"), get("num_hidden_layers")
    heads = get("num_attention_heads", 1)
    kv = get("num_key_value_heads", heads)
    hd = get("head_dim", h // max(heads, 1))
    ab, cb = bool(c.get("attention_bias", True)), bool(c.get("convolution_bias", True))
    ff = 2 * h * inner + ((inner + h) if ab else 0)
    attn = 2 * h * heads * hd + 2 * h * kv * hd + (heads * hd + 2 * kv * hd + h if ab else 0)
    attn += h * heads * hd + 2 * heads * hd  # relative_k_proj, bias_u, bias_v
    kernel = get("conv_kernel_size", 9)
    conv = 2 * h * h + h * kernel + h * h + ((2 * h + h + h) if cb else 0)
    conv += 4 * h + 1  # BatchNorm1d: weight, bias, running mean/var, num_batches_tracked
    block = 2 * ff + attn + conv + 5 * 2 * h
    channels, k = get("subsampling_conv_channels", 256), get("subsampling_conv_kernel_size", 3)
    stride = get("subsampling_conv_stride", 2)
    stages = max(get("subsampling_factor", 8).bit_length() - 1, 1)
    sub = channels * k * k + channels
    sub += (stages - 1) * (channels * k * k + channels + channels * channels + channels)
    sub += channels * (get("num_mel_bins", 128) // stride**stages) * h + h
    return sub + layers * block


class AsrDecoderStack(Adapter):
    """The text decoder of Canary and Cohere ASR (modeling_canary `CanaryDecoder`,
    modeling_cohere_asr `CohereAsrDecoder`): pre-LayerNorm blocks of self-attention,
    cross-attention and a plain fc1/fc2 MLP (biased), q/k/v/o biased when `attention_bias`,
    three LayerNorms per block (before each sub-layer), a LayerNorm after the embedding and
    one at the end; `proj_out` is tied to the token table and biased. Read by
    `AsrEncoderDecoder`."""

    name = "asr decoder"
    model_types: ClassVar[tuple[str, ...]] = ("canary_decoder",)

    def norm_kind(self) -> str:
        return "layernorm"

    def norm_bias(self) -> bool:
        return True

    def qkv_bias(self) -> bool:
        return bool(self.read("qkv_bias", "attention_bias", default=True))

    def ffn(self, index: int) -> FFNSpec:
        return super().ffn(index).model_copy(update={"gated": False, "bias": True})

    def norms_per_layer(self) -> int:
        return 3


class AsrEncoderDecoder(Adapter):
    """Canary (modeling_canary) and Cohere ASR (modeling_cohere_asr): a FastConformer
    encoder (`encoder_config`, parakeet_encoder) and a text decoder (`AsrDecoderStack`;
    Canary's keys under `decoder_config`, Cohere ASR's at the root) whose blocks
    cross-attend the encoder at the decoder's width. The encoder is counted whole as its
    tower (`fastconformer_params`). Positions: Canary's sinusoidal table is a buffer, Cohere
    ASR's `pos_emb` an nn.Embedding of max_position_embeddings rows; Cohere ASR also maps
    the encoder's states with `proj` (a biased linear, encoder → decoder width)."""

    name = "asr encoder-decoder"
    model_types: ClassVar[tuple[str, ...]] = ("canary", "cohere_asr")

    def build(self) -> ModelSpec:
        root_type = str(self.config.get("model_type"))
        if root_type == "canary":
            sub = self.config.get("decoder_config")
            dec_cfg = {**(sub if isinstance(sub, dict) else {}), "model_type": "canary_decoder"}
        else:
            dec_cfg = {k: v for k, v in self.config.items() if k != "encoder_config"}
        decoder = AsrDecoderStack(dec_cfg)
        spec = decoder.build()
        raw = self.config.get("encoder_config")
        enc_cfg = raw if isinstance(raw, dict) else {}
        enc_h = int(enc_cfg.get("hidden_size") or (tf_tables.defaults_for("parakeet_encoder")
                                                     or {}).get("hidden_size") or 0)
        tower = TowerSpec(name="encoder", kind="parakeet_encoder",
                          params=fastconformer_params(enc_cfg), hidden_size=enc_h)
        d = spec.hidden_size
        extra = dict(spec.extra_params)
        rows = 0
        if root_type == "cohere_asr":
            extra["other"] = extra.get("other", 0) + enc_h * d + d  # proj
            rows = spec.max_position_embeddings or 0
        layers = [
            layer.model_copy(update={"cross_attention": layer.attention.model_copy(
                update={"source": "encoder", "window": None, "positional": "none"})})
            for layer in spec.layers
        ]
        return spec.model_copy(update={
            "model_type": root_type,
            "family": self.name,
            "architecture": "encoder-decoder",
            "layers": layers,
            "stacks": [StackSpec(name="encoder"),
                       StackSpec(name="decoder", embedding_norm=True, final_norm=True,
                                 position_rows=rows)],
            "head_bias": True,
            # proj_out is tied to the token table by the model's (root) config
            "tie_word_embeddings": bool(self.read("tie_word_embeddings",
                                                  "tie_word_embeddings", default=True)),
            "extra_params": extra,
            "towers": [tower],
        })


class NotDescribed(Adapter):
    """Model types whose modules archlint does not describe, refused with a one-line error
    naming what is missing rather than read by the generic reader into a confident wrong
    figure (issue 10). Each entry says which parts transformers builds that no reader here
    counts."""

    name = "not described"
    model_types: ClassVar[tuple[str, ...]] = (
        "seamless_m4t", "seamless_m4t_v2", "qwen2_5_omni", "pi0",
    )
    MISSING: ClassVar[dict[str, str]] = {
        "seamless_m4t": "its conformer speech encoder, text-to-unit encoder-decoder and "
        "HiFi-GAN vocoder",
        "seamless_m4t_v2": "its conformer speech encoder, text-to-unit encoder-decoder and "
        "HiFi-GAN vocoder",
        "qwen2_5_omni": "its thinker (audio and vision towers around the LM), talker and "
        "token2wav models",
        "pi0": "its PaliGemma backbone with the action expert and action projections",
    }

    def build(self) -> ModelSpec:
        mt = str(self.config.get("model_type"))
        raise ConfigError(
            f"config.json: model type {mt!r} is not described ({self.MISSING.get(mt, '')}); "
            "no parameter or cache figure is given"
        )


class MoshiText(Llama):
    """Moshi's temporal transformer (modeling_moshi `MoshiForCausalLM`) and Kyutai
    speech-to-text's (modeling_kyutai_speech_to_text): Llama-like blocks (RMSNorm, unbiased
    q/k/v/o, RoPE) whose gated MLP's fc1 makes gate and value together at `ffn_dim` and fc2
    reads `ffn_dim // 2`; the head is untied. The token table has one extra row (`vocab_size
    + 1`); Kyutai's holds the text tokens, `num_codebooks` × `codebook_vocab_size` audio
    tokens and the padding row. Kyutai's Mimi codec (`codec_config`) is a tower from the
    generated table (towers.py); what else the speech models hold is marked uncounted in the
    coverage: for a Moshi
    checkpoint of MoshiForConditionalGeneration its depth decoder, audio embeddings and
    Mimi (MoshiForCausalLM builds none of them)."""

    name = "moshi"
    model_types: ClassVar[tuple[str, ...]] = ("moshi", "kyutai_speech_to_text")
    tie_default = False

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        prov = dict(spec.provenance)
        width = self.read_int("intermediate_size", "ffn_dim", prov=prov) or 0
        return spec.model_copy(update={"intermediate_size": width // 2, "gated": True,
                                       "bias": False, "provenance": prov})

    def _extra_rows(self) -> int:
        if self.cv.lookup("model_type")[0] != "kyutai_speech_to_text":
            return 1
        books = self.read_int("num_codebooks", "num_codebooks", default=32) or 0
        book_vocab = self.read_int("codebook_vocab_size", "codebook_vocab_size",
                                   default=2049) or 0
        return books * book_vocab + 1

    def _uncounted(self, spec: ModelSpec) -> str | None:
        if self.cv.lookup("model_type")[0] == "kyutai_speech_to_text":
            # the generated tower table counts the Mimi codec where it applies
            if any(t.kind == "mimi" or t.name == "codec" for t in spec.towers):
                return None
            return "audio codec (mimi, codec_config)"
        names = self.config.get("architectures")
        if isinstance(names, list) and "MoshiForConditionalGeneration" in names:
            return "depth decoder, audio embeddings and audio codec (mimi)"
        return None

    def build(self) -> ModelSpec:
        spec = super().build()
        extra = dict(spec.extra_params)
        extra["embedding"] = extra.get("embedding", 0) + self._extra_rows() * spec.hidden_size
        return spec.model_copy(update={"extra_params": extra})

    def coverage(self, spec: ModelSpec) -> Coverage:
        out = super().coverage(spec)
        missing = self._uncounted(spec)
        if missing is None:
            return out
        return out.with_item(part=missing, how="not_understood", detail="not counted")


ENCDEC_WRAPPER_ADAPTERS: tuple[type[Adapter], ...] = (
    Pop2Piano, Moonshine, Speech2Text, SpeechT5, CompositeEncoderDecoder, MoshiText,
    DiaStack, Dia, T5Gemma2, Pix2Struct, Udop, Kosmos25Text, Kosmos2Text,
    VoxtralRealtimeText, AsrDecoderStack, AsrEncoderDecoder, NotDescribed,
)
