"""Encoder-decoders: two stacks, cross-attention, each stack's own modules around its blocks.

Expected figures are hand counts of the modules transformers' modeling code builds for the
config in each test (the module list is written out beside the sum); the conformance harness
checks the same types against transformers itself (tests/conformance)."""

from __future__ import annotations

from archlint.analysis.memory import kv_cache
from archlint.analysis.params import count_from_spec
from archlint.families import build_spec


def _blenderbot(**over: object) -> dict[str, object]:
    config: dict[str, object] = {
        "model_type": "blenderbot",
        "d_model": 64,
        "encoder_layers": 2,
        "decoder_layers": 3,
        "encoder_attention_heads": 4,
        "decoder_attention_heads": 4,
        "encoder_ffn_dim": 128,
        "decoder_ffn_dim": 128,
        "vocab_size": 100,
        "max_position_embeddings": 32,
    }
    config.update(over)
    return config


def test_blenderbot_stacks_differ_in_depth() -> None:
    """modeling_blenderbot: a shared token table (tied head), a learned position table per
    stack with no reserved rows, a final LayerNorm per stack, no embedding norm; biased
    q/k/v/out projections, fc1/fc2, LayerNorms with bias."""
    spec = build_spec(_blenderbot())
    d, ffn = 64, 128
    attention = 4 * (d * d + d)
    mlp = d * ffn + ffn + ffn * d + d
    norm = 2 * d
    encoder_layer = attention + mlp + 2 * norm
    decoder_layer = 2 * attention + mlp + 3 * norm  # self-attention, cross-attention
    expected = (
        100 * d  # tokens
        + 2 * 32 * d  # positions, one table per stack
        + 2 * encoder_layer
        + 3 * decoder_layer
        + 2 * norm  # encoder.layer_norm, decoder.layer_norm
    )
    assert count_from_spec(spec).total == expected == 228416
    assert len(spec.encoder_layers) == 2 and len(spec.layers) == 3


def test_cache_per_token_and_per_encoder_token() -> None:
    """The decoder's self-attention caches K and V per generated token; its cross-attention
    caches the encoder's K and V once per encoder token; the encoder caches nothing."""
    spec = build_spec(_blenderbot(decoder_attention_heads=8))
    kv = kv_cache(spec, dtype="int8", dtype_bytes=1, context=10, batch=1)
    per_layer = 2 * 64  # K and V, 8 heads × 8 dims
    assert kv.bytes_per_token == 3 * per_layer
    assert kv.cross_bytes_per_encoder_token == 3 * per_layer
    assert kv.layers_cross == 3
    assert kv.bytes_at_context == 10 * 3 * per_layer


def test_fsmt_source_table_and_untied_head() -> None:
    """modeling_fsmt: the encoder reads its own source table (src_vocab_size), the decoder
    the target table, and output_projection is untied by default; sinusoidal positions are
    kept in an nn.Embedding of max_position_embeddings + 2 rows per stack; no stack norms."""
    config = {
        "model_type": "fsmt",
        "d_model": 32,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "encoder_ffn_dim": 64,
        "decoder_ffn_dim": 64,
        "src_vocab_size": 50,
        "tgt_vocab_size": 60,
        "max_position_embeddings": 16,
    }
    d, ffn = 32, 64
    attention = 4 * (d * d + d)
    mlp = d * ffn + ffn + ffn * d + d
    expected = (
        50 * d  # encoder.embed_tokens
        + 60 * d  # decoder.embed_tokens
        + 60 * d  # decoder.output_projection
        + 2 * 18 * d  # embed_positions, each stack
        + attention + mlp + 2 * 2 * d  # encoder layer
        + 2 * attention + mlp + 3 * 2 * d  # decoder layer
    )
    assert count_from_spec(build_spec(config)).total == expected == 27968


def test_unknown_type_with_stack_keys_reads_two_stacks() -> None:
    """A type no table knows, with BART's keys: read with BART's modules (an embedding norm
    per stack, learned positions with 2 reserved rows), best-effort."""
    config = _blenderbot(model_type="my_seq2seq")
    spec = build_spec(config)
    d = 64
    attention = 4 * (d * d + d)
    mlp = 2 * d * 128 + 128 + d
    expected = (
        100 * d
        + 2 * 34 * d
        + 2 * (attention + mlp + 4 * d)
        + 3 * (2 * attention + mlp + 6 * d)
        + 2 * 2 * d  # layernorm_embedding, each stack
    )
    assert spec.architecture == "encoder-decoder" and not spec.known_family
    assert count_from_spec(spec).total == expected


def test_nllb_moe_sparse_layers_per_stack() -> None:
    """modeling_nllb_moe: layer i of a stack is sparse when (i + 1) % <stack>_sparse_step is
    0; a sparse layer holds `num_experts` biased fc1/fc2 experts and an unbiased d → experts
    router; the others a dense fc1/fc2."""
    config = {
        "model_type": "nllb-moe",
        "d_model": 16,
        "encoder_layers": 4,
        "decoder_layers": 2,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "encoder_ffn_dim": 32,
        "decoder_ffn_dim": 32,
        "encoder_sparse_step": 2,
        "decoder_sparse_step": 2,
        "num_experts": 4,
        "vocab_size": 10,
        "max_position_embeddings": 8,
    }
    spec = build_spec(config)
    assert [layer.ffn.kind for layer in spec.encoder_layers] == ["dense", "moe"] * 2
    assert [layer.ffn.kind for layer in spec.layers] == ["dense", "moe"]
    counts = count_from_spec(spec).by_component
    mlp = 16 * 32 + 32 + 32 * 16 + 16
    assert counts["routed_experts"] == 3 * 4 * mlp
    assert counts["router"] == 3 * 16 * 4
    assert counts["dense_ffn"] == 3 * mlp


def test_t5gemma_nested_stacks() -> None:
    """modeling_t5gemma: each stack configured by its own nested config; Gemma-2 blocks with
    pre/post RMSNorms around self-attention and the MLP (and cross-attention in the
    decoder), GQA with an explicit head_dim, GeGLU; the encoder's own token table, the
    decoder's tied to the LM head; a final RMSNorm per stack. Sliding layers cache at most
    the window."""
    stack = {
        "hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
        "intermediate_size": 48, "vocab_size": 40, "sliding_window": 8,
        "layer_types": ["sliding_attention", "full_attention"], "num_hidden_layers": 2,
    }
    config = {"model_type": "t5gemma", "encoder": dict(stack), "decoder": dict(stack),
              "vocab_size": 40, "tie_word_embeddings": True}
    spec = build_spec(config)
    d = 32
    attention = d * (4 * 16 + 2 * 2 * 16) + 4 * 16 * d
    mlp = 3 * d * 48
    encoder_layer = attention + mlp + 4 * d
    decoder_layer = 2 * attention + mlp + 6 * d
    expected = 2 * 40 * d + 2 * encoder_layer + 2 * decoder_layer + 2 * d
    assert count_from_spec(spec).total == expected
    kv = kv_cache(spec, dtype="int8", dtype_bytes=1, context=100, batch=1)
    per_layer = 2 * 2 * 16  # K and V, 2 KV heads × 16
    assert kv.bytes_per_token == per_layer  # the full layer; the sliding one is capped
    assert kv.bytes_at_context == 100 * per_layer + 8 * per_layer
    assert kv.cross_bytes_per_encoder_token == 2 * per_layer


def test_bart_untied_embeddings_give_each_stack_its_own_table() -> None:
    # BartConfig's defaults (transformers 5.23): vocabulary 50,265, d_model 1,024, 12 + 12
    # layers, FFN 4,096. BartForConditionalGeneration built on meta from them holds
    # 406,291,456 parameters tied and 560,705,536 with tie_word_embeddings=False: the
    # shared table, encoder.embed_tokens, decoder.embed_tokens and lm_head are then four
    # matrices (modeling_utils drops every `_tied_weights_keys` entry), three more than
    # tied: 3 × 50,265 × 1,024 = 3 × 51,471,360 = 154,414,080.
    config = {"model_type": "bart", "vocab_size": 50265, "d_model": 1024,
              "encoder_layers": 12, "decoder_layers": 12, "encoder_attention_heads": 16,
              "decoder_attention_heads": 16, "encoder_ffn_dim": 4096, "decoder_ffn_dim": 4096,
              "max_position_embeddings": 1024}
    tied = count_from_spec(build_spec({**config, "tie_word_embeddings": True})).total
    untied = count_from_spec(build_spec({**config, "tie_word_embeddings": False})).total
    assert tied == 406_291_456
    assert untied == 560_705_536
    assert untied - tied == 3 * 50265 * 1024


def test_marian_split_tables_encoder_has_its_own_untying_adds_the_head() -> None:
    # MarianModel with share_encoder_decoder_embeddings=False has no `shared` table: the
    # encoder's embed_tokens (vocab_size rows) and the decoder's (decoder_vocab_size) are
    # modules of their own (modeling_marian MarianModel.__init__). MarianMTModel built on
    # meta from this config in transformers 5.23: 104,158,208 parameters tied, 133,905,920
    # untied (lm_head alone added: 58,101 × 512 = 29,747,712).
    config = {"model_type": "marian", "vocab_size": 58101, "decoder_vocab_size": 58101,
              "d_model": 512, "encoder_layers": 6, "decoder_layers": 6,
              "encoder_attention_heads": 8, "decoder_attention_heads": 8,
              "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048,
              "max_position_embeddings": 512, "share_encoder_decoder_embeddings": False}
    tied = count_from_spec(build_spec({**config, "tie_word_embeddings": True})).total
    untied = count_from_spec(build_spec({**config, "tie_word_embeddings": False})).total
    assert tied == 104_158_208
    assert untied == 133_905_920 == tied + 58101 * 512


def test_fsmt_tied_encoder_table_is_the_decoders() -> None:
    # FSMTModel._tied_weights_keys ties encoder.embed_tokens and decoder.output_projection
    # to decoder.embed_tokens (fairseq's share_all_embeddings over one joined dictionary).
    # FSMTForConditionalGeneration built on meta from this config in transformers 5.23:
    # 483,913,728 untied, 397,848,576 tied = untied - 2 × 42,024 × 1,024.
    config = {"model_type": "fsmt", "src_vocab_size": 42024, "tgt_vocab_size": 42024,
              "d_model": 1024, "encoder_layers": 12, "decoder_layers": 12,
              "encoder_attention_heads": 16, "decoder_attention_heads": 16,
              "encoder_ffn_dim": 4096, "decoder_ffn_dim": 4096,
              "max_position_embeddings": 1024, "langs": ["en", "de"]}
    untied = count_from_spec(build_spec({**config, "tie_word_embeddings": False})).total
    tied = count_from_spec(build_spec({**config, "tie_word_embeddings": True})).total
    assert untied == 483_913_728
    assert tied == 397_848_576 == untied - 2 * 42024 * 1024


def test_switch_transformers_untied_copies_the_shared_table_into_each_stack() -> None:
    # SwitchTransformersModel ties encoder.embed_tokens and decoder.embed_tokens to
    # `shared` through `_tied_weights_keys`, which transformers drops with the head's when
    # tie_word_embeddings is False (SwitchTransformersConfig, unlike T5Config, keeps it):
    # untying adds two stack tables and lm_head, 3 × 32,128 × 768 for the class defaults
    # (meta-built: 391,335,168 untied, embedding 74,023,680 = 3 × 24,674,304 + 2 norms).
    config = {"model_type": "switch_transformers", "vocab_size": 32128, "d_model": 768,
              "d_kv": 64, "d_ff": 2048, "num_layers": 12, "num_decoder_layers": 12,
              "num_heads": 12, "num_experts": 8, "num_sparse_encoder_layers": 3,
              "num_sparse_decoder_layers": 3}
    tied = count_from_spec(build_spec({**config, "tie_word_embeddings": True})).total
    untied = count_from_spec(build_spec({**config, "tie_word_embeddings": False})).total
    assert untied - tied == 3 * 32128 * 768


def test_speech_to_text_untied_adds_the_head_alone() -> None:
    # Speech2TextModel has no `shared` table (its encoder reads filterbanks): untying
    # leaves the decoder's embed_tokens and adds lm_head, 1 × vocab × d_model
    config = {"model_type": "speech_to_text", "vocab_size": 10000, "d_model": 256,
              "encoder_layers": 12, "decoder_layers": 6, "encoder_attention_heads": 4,
              "decoder_attention_heads": 4, "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048}
    tied = count_from_spec(build_spec({**config, "tie_word_embeddings": True})).total
    untied = count_from_spec(build_spec({**config, "tie_word_embeddings": False})).total
    assert untied - tied == 10000 * 256
