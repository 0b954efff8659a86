"""Encoder-decoders beyond the BART/T5/Whisper dialects (archlint.families.encdec_wrappers)
against transformers' own modules.

Each config (at sizes unlike the types' defaults) is built by transformers on the meta
device and its weights counted as `save_pretrained` writes them: parameters with tied weights
once, plus persistent buffers. archlint's config-only count of the same config must equal
it. The caches are checked against hand calculations: the decoder's self-attention K and V
per generated token, the cross-attention's per encoder token.
"""

from __future__ import annotations

import warnings

import pytest

from archlint.analysis.memory import kv_cache
from archlint.analysis.params import count_from_spec
from archlint.families import build_spec
from tests.helpers import transformers_weights

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")




POP2PIANO = {
    "model_type": "pop2piano",
    "vocab_size": 300,
    "composer_vocab_size": 7,
    "d_model": 64,
    "d_kv": 16,
    "d_ff": 96,
    "num_layers": 3,
    "num_decoder_layers": 2,
    "num_heads": 2,
    "feed_forward_proj": "gated-gelu",
}

MOONSHINE = {
    "model_type": "moonshine",
    "vocab_size": 500,
    "hidden_size": 48,
    "intermediate_size": 80,
    "encoder_num_hidden_layers": 3,
    "decoder_num_hidden_layers": 2,
    "encoder_num_attention_heads": 4,
    "decoder_num_attention_heads": 6,
    "decoder_num_key_value_heads": 2,
    "attention_bias": True,
}

SPEECH_TO_TEXT = {
    "model_type": "speech_to_text",
    "vocab_size": 400,
    "d_model": 32,
    "encoder_layers": 3,
    "decoder_layers": 2,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 4,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 48,
    "num_conv_layers": 3,
    "conv_kernel_sizes": [5, 3, 3],
    "conv_channels": 40,
    "input_feat_per_channel": 20,
    "input_channels": 2,
}


@pytest.mark.parametrize(
    ("config", "class_name"),
    [
        (POP2PIANO, "Pop2PianoForConditionalGeneration"),
        (MOONSHINE, "MoonshineForConditionalGeneration"),
        (SPEECH_TO_TEXT, "Speech2TextForConditionalGeneration"),
    ],
    ids=lambda v: v["model_type"] if isinstance(v, dict) else "",
)
def test_params_equal_transformers(config: dict, class_name: str) -> None:
    spec = build_spec(dict(config))
    assert spec.architecture == "encoder-decoder" and spec.known_family
    assert count_from_spec(spec).total == transformers_weights(config, class_name)


def test_pop2piano_untied_head_and_composer_table() -> None:
    """modeling_pop2piano: lm_head is its own weight whatever tie_word_embeddings says (the
    configuration forces it True), and mel_conditioner holds composer_vocab_size × d_model."""
    spec = build_spec(dict(POP2PIANO))
    assert not spec.tie_word_embeddings
    encoder = next(s for s in spec.stacks if s.name == "encoder")
    assert encoder.extra_params == 7 * 64


def test_moonshine_front_end_and_caches() -> None:
    """modeling_moonshine: conv1 (1 → d, kernel 127, no bias), GroupNorm(1, d), conv2
    (d → 2d, kernel 7), conv3 (2d → d, kernel 3). MoonshineAttention writes each layer's
    head counts into the shared config, where the decoder's layers (built after the
    encoder's) read them: the decoder gets the encoder's 4 heads and 4 KV heads of
    48 / 4 = 12, not the declared 6 and 2. Decoder caches: 2 layers × K+V × 4 × 12, per token
    and per encoder token alike."""
    spec = build_spec(dict(MOONSHINE))
    d = 48
    (tower,) = spec.towers
    assert tower.params == 127 * d + 2 * d + (7 * d * 2 * d + 2 * d) + (3 * 2 * d * d + d)
    kv = kv_cache(spec, dtype="int8", dtype_bytes=1, context=10, batch=1)
    assert kv.bytes_per_token == 2 * 2 * 4 * 12
    assert kv.cross_bytes_per_encoder_token == 2 * 2 * 4 * 12
    assert {layer.attention.num_kv_heads for layer in spec.layers + spec.encoder_layers} == {4}
    assert any("encoder's" in note for note in spec.notes)


def test_speech_to_text_subsampler() -> None:
    """modeling_speech_to_text Conv1dSubsampler: in 20 × 2 = 40 channels; convolutions
    40 → 40 (k 5), 20 → 40 (k 3), 20 → 2 × 32 (k 3), each biased (a GLU halves the channels
    after each)."""
    spec = build_spec(dict(SPEECH_TO_TEXT))
    (tower,) = spec.towers
    assert tower.params == (40 * 40 * 5 + 40) + (20 * 40 * 3 + 40) + (20 * 64 * 3 + 64)


BERT_ENCODER = {
    "model_type": "bert", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 96, "vocab_size": 120, "max_position_embeddings": 40,
}


def _composite(decoder: dict) -> dict:
    return {"model_type": "encoder-decoder", "encoder": dict(BERT_ENCODER), "decoder": decoder}


@pytest.mark.parametrize(
    "decoder",
    [
        # BERT as a decoder (BertLMHeadModel): cross-attention in each layer, the MLM head
        {**BERT_ENCODER, "num_hidden_layers": 3, "vocab_size": 90, "is_decoder": True,
         "add_cross_attention": True},
        # a GPT-2 decoder of another width: enc_to_dec_proj maps 64 → 48
        {"model_type": "gpt2", "n_embd": 48, "n_layer": 2, "n_head": 4, "vocab_size": 70,
         "n_positions": 32, "add_cross_attention": True, "is_decoder": True},
    ],
    ids=["bert2bert", "bert2gpt2"],
)
def test_composite_equals_transformers(decoder: dict) -> None:
    """EncoderDecoderModel: AutoModel(encoder) with its pooler + AutoModelForCausalLM(decoder)
    with cross-attention, counted by transformers on meta."""
    config = _composite(decoder)
    spec = build_spec(config)
    assert spec.architecture == "encoder-decoder"
    assert count_from_spec(spec).total == transformers_weights(config, "EncoderDecoderModel")


@pytest.mark.parametrize(
    ("root", "encoder", "model_class"),
    [
        # ViTModel as AutoModel builds it: patch conv with bias, class token, position table,
        # final LayerNorm and pooler; 48 wide, a 64-wide decoder: enc_to_dec_proj too
        ("vision-encoder-decoder",
         {"model_type": "vit", "hidden_size": 48, "num_hidden_layers": 2,
          "num_attention_heads": 4, "intermediate_size": 80, "image_size": 32,
          "patch_size": 8}, "VisionEncoderDecoderModel"),
        # Wav2Vec2Model: conv feature extractor (its default convolutions), feature
        # projection, positional conv, masked_spec_embed
        ("speech-encoder-decoder",
         {"model_type": "wav2vec2", "hidden_size": 64, "num_hidden_layers": 2,
          "num_attention_heads": 4, "intermediate_size": 96,
          "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4},
         "SpeechEncoderDecoderModel"),
        # a declared output_hidden_size unlike the decoder's width: enc_to_dec_proj, from
        # the encoder's hidden_size (SpeechEncoderDecoderModel's rule)
        ("speech-encoder-decoder",
         {"model_type": "wav2vec2", "hidden_size": 64, "num_hidden_layers": 2,
          "num_attention_heads": 4, "intermediate_size": 96, "output_hidden_size": 48},
         "SpeechEncoderDecoderModel"),
    ],
    ids=["vit2bert", "wav2vec2bert", "wav2vec2bert-output-width"],
)
def test_composite_vision_and_speech_encoders_equal_transformers(
    root: str, encoder: dict, model_class: str
) -> None:
    """The encoder tower is the generated table's `encoder` module, evaluated at another
    size than the one it was fitted on, whatever the decoder (a BERT here, fitted on none)."""
    config = {"model_type": root, "encoder": encoder,
              "decoder": {**BERT_ENCODER, "is_decoder": True, "add_cross_attention": True}}
    spec = build_spec(config)
    assert [t.name for t in spec.towers] == ["encoder"] and spec.towers[0].understood
    assert count_from_spec(spec).total == transformers_weights(config, model_class)


def test_composite_encoder_lists_unlike_the_table_are_estimated() -> None:
    """The table fits a list's length, not its values: a Wav2Vec2 with other convolutions is
    read by the encoder formulas, marked an estimate, rather than counted as the default's."""
    config = {"model_type": "speech-encoder-decoder",
              "encoder": {"model_type": "wav2vec2", "hidden_size": 64, "num_hidden_layers": 2,
                          "num_attention_heads": 4, "intermediate_size": 96,
                          "conv_dim": [32, 32], "conv_kernel": [5, 3], "conv_stride": [4, 2]},
              "decoder": {**BERT_ENCODER, "is_decoder": True, "add_cross_attention": True}}
    spec = build_spec(config)
    assert not spec.towers[0].understood and not spec.coverage.complete


def test_composite_caches_per_encoder_token() -> None:
    """A 3-layer BERT decoder of 4 heads × 16: K and V per generated token and, in its
    cross-attentions, per encoder token."""
    spec = build_spec(_composite({**BERT_ENCODER, "num_hidden_layers": 3,
                                  "add_cross_attention": True, "is_decoder": True}))
    kv = kv_cache(spec, dtype="int8", dtype_bytes=1, context=10, batch=1)
    assert kv.bytes_per_token == 3 * 2 * 4 * 16
    assert kv.cross_bytes_per_encoder_token == 3 * 2 * 4 * 16


def test_composite_unknown_encoder_is_estimated_and_marked() -> None:
    """A vision encoder the tower reader has no formula for is estimated, and the coverage
    says so (a partial report, not a confident one)."""
    config = {"model_type": "vision-encoder-decoder",
              "encoder": {"model_type": "my_vision", "hidden_size": 64,
                          "num_hidden_layers": 2, "patch_size": 4},
              "decoder": {**BERT_ENCODER, "add_cross_attention": True, "is_decoder": True}}
    spec = build_spec(config)
    assert not spec.coverage.complete
    assert any(item.part.startswith("encoder tower") and item.how == "assumed"
               for item in spec.coverage.items)


def test_composite_errors_in_one_line() -> None:
    from archlint.errors import ConfigError

    with pytest.raises(ConfigError, match="decoder"):
        build_spec({"model_type": "encoder-decoder", "encoder": dict(BERT_ENCODER)})
    with pytest.raises(ConfigError, match="tie_encoder_decoder"):
        build_spec({**_composite(dict(BERT_ENCODER)), "tie_encoder_decoder": True})


MOSHI = {"model_type": "moshi", "vocab_size": 300, "hidden_size": 64, "ffn_dim": 160,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
         "head_dim": 16, "num_codebooks": 2, "audio_vocab_size": 50}


def test_moshi_temporal_transformer_equals_transformers() -> None:
    """MoshiForCausalLM: fc1 at ffn_dim (gate and value), fc2 from ffn_dim // 2, a token
    table of vocab_size + 1 rows, an untied lm_head."""
    spec = build_spec(dict(MOSHI))
    assert count_from_spec(spec).total == transformers_weights(MOSHI, "MoshiForCausalLM")
    assert spec.layers[0].ffn.intermediate_size == 80


def test_kyutai_lm_and_codec_equal_transformers() -> None:
    """KyutaiSpeechToTextForConditionalGeneration: the LM (a token table of vocab +
    num_codebooks × codebook_vocab_size + 1 rows) read by its adapter, and its Mimi codec as
    a tower from the generated table (at MimiConfig's defaults here: an estimate, which the
    coverage says)."""
    config = {"model_type": "kyutai_speech_to_text", "vocab_size": 200, "hidden_size": 64,
              "ffn_dim": 160, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 4, "head_dim": 16, "num_codebooks": 3,
              "codebook_vocab_size": 30, "audio_pad_token_id": 200 + 3 * 30}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = transformers.AutoConfig.for_model(**config)
        with torch.device("meta"):
            model = transformers.KyutaiSpeechToTextForConditionalGeneration(cfg)
    lm = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("codec_model"))
    codec = sum(p.numel() for n, p in model.named_parameters() if n.startswith("codec_model"))
    spec = build_spec(config)
    assert count_from_spec(spec).total - sum(t.params for t in spec.towers) == lm
    assert [t.params for t in spec.towers if t.name == "codec"] == [codec]
    assert not any(item.how == "not_understood" for item in spec.coverage.items)


@pytest.mark.parametrize("norm", ["group", "layer"])
def test_speecht5_speech_to_text_equals_transformers(norm: str) -> None:
    """SpeechT5ForSpeechToText: the speech pre-net (convolutions, feature projection,
    weight-normed positional conv, masked_spec_embed), the encoder's relative table and
    input LayerNorm, the text decoder with cross-attention, lm_head tied."""
    config = {"model_type": "speecht5", "vocab_size": 60, "hidden_size": 48,
              "encoder_layers": 2, "decoder_layers": 3, "encoder_attention_heads": 4,
              "decoder_attention_heads": 4, "encoder_ffn_dim": 80, "decoder_ffn_dim": 72,
              "conv_dim": [16, 24, 32], "conv_kernel": [5, 3, 2], "conv_stride": [3, 2, 2],
              "num_feat_extract_layers": 3, "conv_bias": norm == "layer",
              "feat_extract_norm": norm, "num_conv_pos_embeddings": 8,
              "num_conv_pos_embedding_groups": 4, "encoder_max_relative_position": 20}
    spec = build_spec(dict(config))
    expected = transformers_weights(config, "SpeechT5ForSpeechToText")
    assert count_from_spec(spec).total == expected
    kv = kv_cache(spec, dtype="int8", dtype_bytes=1, context=10, batch=1)
    assert kv.bytes_per_token == kv.cross_bytes_per_encoder_token == 3 * 2 * 48


def test_speecht5_other_heads_refused_in_one_line() -> None:
    from archlint.errors import ConfigError

    with pytest.raises(ConfigError, match="SpeechT5ForTextToSpeech"):
        build_spec({"model_type": "speecht5", "architectures": ["SpeechT5ForTextToSpeech"]})


DIA = {
    "model_type": "dia",
    "delay_pattern": [0, 1, 2],
    "encoder_config": {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
                       "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": 8,
                       "vocab_size": 40},
    "decoder_config": {"hidden_size": 48, "intermediate_size": 64, "num_hidden_layers": 3,
                       "num_attention_heads": 6, "num_key_value_heads": 2, "head_dim": 8,
                       "cross_hidden_size": 32, "cross_num_attention_heads": 4,
                       "cross_num_key_value_heads": 2, "cross_head_dim": 12,
                       "num_channels": 3, "vocab_size": 20, "pad_token_id": 19,
                       "eos_token_id": 18, "bos_token_id": 17},
}


def test_dia_equals_transformers() -> None:
    """DiaForConditionalGeneration at widths 32 (encoder) and 48 (decoder): parameters, and
    the caches transformers fills on a CPU forward (decoder ids carry a channel axis): self
    K/V per generated token, cross K/V per encoder token."""
    spec = build_spec(json_copy(DIA))
    assert count_from_spec(spec).total == transformers_weights(json_copy(DIA),
                                                               "DiaForConditionalGeneration")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = transformers.AutoConfig.for_model(**json_copy(DIA))
        model = transformers.DiaForConditionalGeneration(cfg).eval()
    tokens, channels = 4, 3
    with torch.no_grad():
        out = model(input_ids=torch.zeros((1, tokens), dtype=torch.long),
                    decoder_input_ids=torch.zeros((1, tokens, channels), dtype=torch.long),
                    use_cache=True)
    cache = out.past_key_values

    def per_token(sub: object) -> int:
        return sum(layer.keys.numel() + layer.values.numel() for layer in sub.layers) // tokens

    kv = kv_cache(spec, dtype="int8", dtype_bytes=1, context=10, batch=1)
    assert kv.bytes_per_token == per_token(cache.self_attention_cache) == 3 * 2 * 2 * 8
    assert kv.cross_bytes_per_encoder_token == per_token(cache.cross_attention_cache)


def json_copy(value: dict) -> dict:
    import json

    return json.loads(json.dumps(value))


def _t5gemma2_text(**over: object) -> dict:
    text = {"hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 3,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
            "vocab_size": 300, "sliding_window": 8,
            "layer_types": ["sliding_attention", "sliding_attention", "full_attention"]}
    text.update(over)
    return text


T5GEMMA2 = {
    "model_type": "t5gemma2",
    "encoder": {
        "text_config": _t5gemma2_text(),
        "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 32,
                          "intermediate_size": 40, "num_hidden_layers": 1,
                          "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
        "mm_tokens_per_image": 4,
    },
    "decoder": _t5gemma2_text(num_hidden_layers=2,
                              layer_types=["sliding_attention", "full_attention"]),
    "vocab_size": 300,
    "eoi_token_index": 299, "image_token_index": 298, "boi_token_index": 297,
}


def test_t5gemma2_equals_transformers() -> None:
    """T5Gemma2ForConditionalGeneration: Gemma-3 stacks (q/k norms, 4 norms per block), the
    decoder's merged self+cross attention (no cross weights of its own), one tied token
    table plus eoi_embedding, the SigLIP tower and its projector. Caches: the merged
    attention's K/V per token (the full layer; the sliding one capped at the window) and per
    encoder token in every decoder layer: 2 KV heads × 16."""
    spec = build_spec(json_copy(T5GEMMA2))
    expected = transformers_weights(json_copy(T5GEMMA2), "T5Gemma2ForConditionalGeneration")
    assert count_from_spec(spec).total == expected
    kv = kv_cache(spec, dtype="int8", dtype_bytes=1, context=100, batch=1)
    assert kv.cross_bytes_per_encoder_token == 2 * 2 * 2 * 16
    assert kv.layers_cross == 2


def test_t5gemma2_untied_equals_transformers() -> None:
    """tie_word_embeddings false: transformers follows none of T5Gemma2's ties, so the
    decoder holds its own token table and eoi_embedding beside the untied lm_head."""
    config = {**json_copy(T5GEMMA2), "tie_word_embeddings": False}
    expected = transformers_weights(json_copy(config), "T5Gemma2ForConditionalGeneration")
    assert count_from_spec(build_spec(config)).total == expected


def test_pix2struct_equals_transformers() -> None:
    """Pix2StructForConditionalGeneration: the image encoder (patch projection, row/column
    tables, gated blocks at heads × d_kv) as a tower, the T5-style text decoder with
    cross-attention and one relative table; untied head. Caches: 3 layers × K+V × 48 per
    token and per encoder token."""
    config = {
        "model_type": "pix2struct", "tie_word_embeddings": False,
        "vision_config": {"hidden_size": 40, "d_ff": 56, "d_kv": 8, "num_attention_heads": 4,
                          "num_hidden_layers": 2, "patch_embed_hidden_size": 24,
                          "seq_len": 30},
        "text_config": {"hidden_size": 48, "d_ff": 64, "d_kv": 12, "num_heads": 4,
                        "num_layers": 3, "vocab_size": 90,
                        "relative_attention_num_buckets": 8},
    }
    spec = build_spec(json_copy(config))
    expected = transformers_weights(json_copy(config), "Pix2StructForConditionalGeneration")
    assert count_from_spec(spec).total == expected
    kv = kv_cache(spec, dtype="int8", dtype_bytes=1, context=10, batch=1)
    assert kv.bytes_per_token == kv.cross_bytes_per_encoder_token == 3 * 2 * 48


def test_udop_equals_transformers() -> None:
    """UdopForConditionalGeneration: T5 stacks, the shared patch conv plus the decoder's own
    copy, the encoder's 2-D cell tables, per-stack relative_bias tables (the first tied)."""
    config = {"model_type": "udop", "d_model": 48, "d_kv": 12, "d_ff": 80, "num_heads": 4,
              "num_layers": 2, "num_decoder_layers": 3, "vocab_size": 120,
              "feed_forward_proj": "gated-gelu", "patch_size": 8, "image_size": 32,
              "max_2d_position_embeddings": 50,
              "relative_bias_args": [{"type": "1d"}, {"type": "horizontal"},
                                     {"type": "vertical", "relative_attention_num_buckets": 20}]}
    spec = build_spec(json_copy(config))
    expected = transformers_weights(json_copy(config), "UdopForConditionalGeneration")
    assert count_from_spec(spec).total == expected


def test_kosmos25_language_model_equals_transformers() -> None:
    """Kosmos2_5TextForCausalLM: biased attention and fc1/fc2, ffn_layernorm over ffn_dim,
    a 2-row segment table, sinusoidal buffer positions, final LayerNorm, lm_head tied."""
    config = {"model_type": "kosmos_2_5_text_model", "embed_dim": 48, "ffn_dim": 80,
              "layers": 3, "attention_heads": 4, "vocab_size": 150}
    from transformers.models.kosmos2_5 import modeling_kosmos2_5

    spec = build_spec(dict(config))
    expected = transformers_weights(dict(config), modeling_kosmos2_5.Kosmos2_5TextForCausalLM)
    assert count_from_spec(spec).total == expected


def test_kosmos2_language_model_equals_transformers() -> None:
    """Kosmos2TextForCausalLM: Kosmos-2.5's block plus inner_attn_ln in every
    self-attention, no segment table."""
    config = {"model_type": "kosmos_2_text_model", "embed_dim": 48, "ffn_dim": 80,
              "layers": 3, "attention_heads": 4, "vocab_size": 150}
    from transformers.models.kosmos2 import modeling_kosmos2

    spec = build_spec(dict(config))
    expected = transformers_weights(dict(config), modeling_kosmos2.Kosmos2TextForCausalLM)
    assert count_from_spec(spec).total == expected
    assert spec.layers[0].norms == 3


def test_voxtral_realtime_language_model_equals_transformers() -> None:
    """VoxtralRealtimeForConditionalGeneration's language model: Llama blocks with the
    time-conditioned AdaRmsNorm (hidden → 32 → hidden) in each; the audio tower and the
    projector are the tower reader's, left out here on both sides."""
    text = {"hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
            "vocab_size": 100}
    config = {"model_type": "voxtral_realtime", "text_config": text}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = transformers.AutoConfig.for_model(**json_copy(config))
        with torch.device("meta"):
            model = transformers.VoxtralRealtimeForConditionalGeneration(cfg)
    lm = sum(p.numel() for n, p in model.named_parameters()
             if "audio_tower" not in n and "multi_modal_projector" not in n)
    counts = count_from_spec(build_spec(json_copy(config)))
    assert counts.total - counts.by_component.get("towers", 0) == lm


PARAKEET = {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 4, "conv_kernel_size": 5,
            "subsampling_conv_channels": 8, "subsampling_factor": 4, "num_mel_bins": 20}
ASR_TEXT = {"hidden_size": 32, "intermediate_size": 40, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": 8,
            "vocab_size": 60, "max_position_embeddings": 24}


@pytest.mark.parametrize(
    ("config", "class_name"),
    [
        ({"model_type": "canary", "vocab_size": 60, "encoder_config": PARAKEET,
          "decoder_config": ASR_TEXT}, "CanaryForConditionalGeneration"),
        ({"model_type": "cohere_asr", **ASR_TEXT, "tie_word_embeddings": False,
          "encoder_config": {**PARAKEET, "hidden_size": 40, "num_attention_heads": 5}},
         "CohereAsrForConditionalGeneration"),
    ],
    ids=["canary", "cohere_asr"],
)
def test_asr_encoder_decoders_equal_transformers(config: dict, class_name: str) -> None:
    """The FastConformer encoder (with its BatchNorm running statistics, which the
    checkpoint holds) as the encoder tower, the text decoder with cross-attention; Cohere
    ASR's pos_emb table, proj from the encoder's width and untied proj_out."""
    spec = build_spec(json_copy(config))
    assert count_from_spec(spec).total == transformers_weights(json_copy(config), class_name)
    kv = kv_cache(spec, dtype="int8", dtype_bytes=1, context=10, batch=1)
    assert kv.bytes_per_token == kv.cross_bytes_per_encoder_token == 2 * 2 * 32


@pytest.mark.parametrize("model_type", ["seamless_m4t", "seamless_m4t_v2", "qwen2_5_omni", "pi0"])
def test_undescribed_types_refused_in_one_line(model_type: str) -> None:
    """Types whose extra models no reader counts get a one-line error, not a generic guess."""
    from archlint.errors import ConfigError

    with pytest.raises(ConfigError, match="not described") as info:
        build_spec({"model_type": model_type})
    assert "\n" not in str(info.value)
