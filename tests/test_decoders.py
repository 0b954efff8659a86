"""Classic and attention-variant decoders (issue 10) against hand counts from transformers'
modeling files (transformers 5.23): each expected figure is written out from the modules the
file builds, for a config of other sizes than the type's default, so the reading holds beyond
the one config the conformance harness compares."""

from __future__ import annotations

from archlint.analysis.params import count_from_spec
from archlint.families import build_spec


def _count(config: dict) -> int:
    return count_from_spec(build_spec(config)).total


def _block(d: int, ffn: int, norms: int = 2) -> int:
    """q, k, v, out (biased d × d), fc1/fc2 (biased), `norms` biased LayerNorms."""
    return 4 * (d * d + d) + (d * ffn + ffn) + (ffn * d + d) + norms * 2 * d


def test_opt_position_table_keeps_two_extra_rows() -> None:
    """modeling_opt: OPTLearnedPositionalEmbedding(max_position_embeddings + 2, hidden); tied
    head; a final LayerNorm (do_layer_norm_before)."""
    d, ffn, layers, vocab, positions = 512, 1536, 3, 1000, 300
    config = {
        "model_type": "opt", "hidden_size": d, "ffn_dim": ffn, "num_hidden_layers": layers,
        "num_attention_heads": 8, "vocab_size": vocab, "max_position_embeddings": positions,
        "word_embed_proj_dim": d,
    }
    want = vocab * d + (positions + 2) * d + layers * _block(d, ffn) + 2 * d
    assert _count(config) == want


def test_biogpt_position_table_keeps_two_extra_rows() -> None:
    """modeling_biogpt: BioGptLearnedPositionalEmbedding(max_position_embeddings + 2, hidden),
    final layer_norm, tied output projection."""
    d, ffn, layers, vocab, positions = 256, 1024, 2, 500, 128
    config = {
        "model_type": "biogpt", "hidden_size": d, "intermediate_size": ffn,
        "num_hidden_layers": layers, "num_attention_heads": 4, "vocab_size": vocab,
        "max_position_embeddings": positions,
    }
    want = vocab * d + (positions + 2) * d + layers * _block(d, ffn) + 2 * d
    assert _count(config) == want


def test_ctrl_ffn_width_is_dff() -> None:
    """modeling_ctrl: the FFN is Linear(n_embd, dff) → ReLU → Linear(dff, n_embd); positions
    are a sinusoidal buffer (no parameters); lm_head is tied with a bias of vocab_size."""
    d, dff, layers, vocab = 320, 1000, 2, 700
    config = {
        "model_type": "ctrl", "n_embd": d, "dff": dff, "n_layer": layers, "n_head": 4,
        "vocab_size": vocab, "n_positions": 64,
    }
    want = vocab * d + layers * _block(d, dff) + 2 * d + vocab
    assert _count(config) == want


def _transformers_count(class_name: str, config: dict) -> int:
    """Parameters of transformers' own model for `config`, built on the meta device."""
    import warnings

    import pytest

    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = transformers.AutoConfig.for_model(**config)
        with torch.device("meta"):
            model = getattr(transformers, class_name)(cfg)
    return sum(p.numel() for p in model.parameters())


def test_trocr_cross_attention_width_and_switches() -> None:
    """TrOCR's cross-attention k/v read an encoder of cross_attention_hidden_size; with
    sinusoidal positions and no embedding norm those modules hold no parameters."""
    config = {
        "model_type": "trocr", "d_model": 256, "decoder_layers": 2,
        "decoder_attention_heads": 4, "decoder_ffn_dim": 640, "vocab_size": 900,
        "max_position_embeddings": 100, "cross_attention_hidden_size": 192,
        "use_learned_position_embeddings": False, "layernorm_embedding": False,
    }
    assert _count(config) == _transformers_count("TrOCRForCausalLM", config)


def test_modernbert_decoder_first_layer_has_no_attention_norm() -> None:
    config = {
        "model_type": "modernbert-decoder", "hidden_size": 128, "intermediate_size": 320,
        "num_hidden_layers": 4, "num_attention_heads": 4, "vocab_size": 50400,
        "norm_bias": True, "classifier_bias": True, "decoder_bias": False,
    }
    assert _count(config) == _transformers_count("ModernBertDecoderForCausalLM", config)


def test_gpt_neo_local_layers_cache_every_token() -> None:
    """GPTNeoModel builds one DynamicLayer per layer: local layers mask, they do not cap."""
    config = {
        "model_type": "gpt_neo", "hidden_size": 256, "num_layers": 4, "num_heads": 4,
        "attention_types": [[["global", "local"], 2]], "window_size": 16, "vocab_size": 500,
    }
    spec = build_spec(config)
    assert [layer.attention.window for layer in spec.layers] == [None] * 4
    assert _count(config) == _transformers_count("GPTNeoForCausalLM", config)


def test_hrm_text_stacks_share_weights_across_cycles() -> None:
    """Two stacks of 3 blocks, run H_cycles × (L_cycles + 1) = 2 × 3 times: 18 block
    invocations (layers, cache slots), weights of 6 blocks."""
    config = {
        "model_type": "hrm_text", "hidden_size": 128, "intermediate_size": 256,
        "num_hidden_layers": 3, "num_attention_heads": 4, "head_dim": 32, "vocab_size": 600,
        "H_cycles": 2, "L_cycles": 2,
    }
    spec = build_spec(config)
    assert spec.num_layers == 18
    assert len({layer.shared_block for layer in spec.layers}) == 6
    assert _count(config) == _transformers_count("HrmTextForCausalLM", config)


def test_harness_sizes_a_cacheless_model_from_its_kv_projections() -> None:
    """OpenAI GPT's forward takes no cache: the harness reads K and V off c_attn (3 × d,
    two thirds of it K and V) per block: 2 × d elements per token per layer."""
    import pytest

    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    from tests.conformance import tf_side

    cfg = transformers.OpenAIGPTConfig(n_embd=64, n_layer=3, n_head=4, vocab_size=100)
    with torch.device("meta"):
        model = transformers.OpenAIGPTLMHeadModel(cfg)
    full, window, state, kinds = tf_side.observe_cache(model, "decoder")
    assert (full, window, state, len(kinds)) == (3 * 2 * 64, 0.0, 0.0, 3)


def test_doge_dense_and_cdmoe_counts() -> None:
    """Doge's dynamic-mask attention (A, dt_proj) and residual scales; with is_moe the
    CDMoE's retrieval experts are counted and marked as not understood for active use."""
    base = {
        "model_type": "doge", "hidden_size": 128, "intermediate_size": 256,
        "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
        "vocab_size": 500,
    }
    assert _count(base) == _transformers_count("DogeForCausalLM", base)
    moe = {**base, "is_moe": True, "num_experts": 100, "num_experts_per_tok": 8}
    assert _count(moe) == _transformers_count("DogeForCausalLM", moe)
    assert not build_spec(moe).coverage.complete


def test_gemma3n_per_layer_ffn_widths() -> None:
    """Gemma-3n's intermediate_size may be one width per layer; the last
    num_kv_shared_layers layers have no k/v projections."""
    config = {
        "model_type": "gemma3n_text", "hidden_size": 128, "num_hidden_layers": 6,
        "intermediate_size": [256, 256, 384, 384, 512, 512], "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 32, "vocab_size": 512,
        "vocab_size_per_layer_input": 64, "hidden_size_per_layer_input": 16,
        "num_kv_shared_layers": 2, "laurel_rank": 8,
        "activation_sparsity_pattern": [0.0] * 6,
        "layer_types": ["sliding_attention", "full_attention"] * 3,
    }
    assert _count(config) == _transformers_count("Gemma3nForCausalLM", config)


def test_longcat_flash_two_sublayers_per_block_and_zero_experts() -> None:
    """LongCat-Flash: num_layers blocks of two MLA + MLP sublayers (2 × num_layers cache
    layers), one shortcut MoE per block whose router and gate_up_proj also span the
    zero_expert_num identity experts."""
    config = {
        "model_type": "longcat_flash", "hidden_size": 256, "num_layers": 3,
        "num_attention_heads": 4, "ffn_hidden_size": 384, "expert_ffn_hidden_size": 64,
        "n_routed_experts": 8, "zero_expert_num": 4, "moe_topk": 2, "q_lora_rank": 96,
        "kv_lora_rank": 64, "qk_nope_head_dim": 32, "qk_rope_head_dim": 16,
        "v_head_dim": 32, "vocab_size": 700,
    }
    spec = build_spec(config)
    assert spec.num_layers == 6
    assert [layer.ffn.kind for layer in spec.layers] == ["moe", "dense"] * 3
    assert _count(config) == _transformers_count("LongcatFlashForCausalLM", config)
    assert _count({**config, "router_bias": True}) == _transformers_count(
        "LongcatFlashForCausalLM", {**config, "router_bias": True}
    )


def test_wrapper_window_is_not_the_language_models() -> None:
    """GraniteSpeechConfig.window_size sizes the Q-Former projector's windows; GraniteConfig
    has no sliding window, and GraniteModel caches every token of every layer."""
    config = {
        "model_type": "granite_speech", "window_size": 15,
        "text_config": {"model_type": "granite", "hidden_size": 256, "num_hidden_layers": 2,
                        "num_attention_heads": 4, "intermediate_size": 512,
                        "vocab_size": 600},
    }
    assert [layer.attention.window for layer in build_spec(config).layers] == [None, None]


def test_wrapper_head_dim_is_not_the_language_models() -> None:
    """MusicFlamingoConfig.head_dim (1,280 by default) sizes its audio rotary embedding; the
    Qwen2 language model derives its head size as hidden_size / num_attention_heads."""
    config = {
        "model_type": "musicflamingo",
        "text_config": {"model_type": "qwen2", "hidden_size": 512, "num_hidden_layers": 2,
                        "num_attention_heads": 8, "num_key_value_heads": 2,
                        "intermediate_size": 1024, "vocab_size": 700},
    }
    assert {layer.attention.head_dim for layer in build_spec(config).layers} == {512 // 8}
    assert {layer.attention.head_dim for layer in build_spec({**config, "head_dim": 96}).layers} \
        == {512 // 8}


def test_wrapped_base_only_text_model_is_a_decoder() -> None:
    """Molmo2TextModel has no causal-LM class of its own (transformers' tables list it as a
    base model, like an encoder), but Molmo2ForConditionalGeneration generates with it and
    its forward fills a DynamicCache: K and V of 2 KV heads x 64 in each of 3 layers."""
    config = {
        "model_type": "molmo2",
        "text_config": {"model_type": "molmo2_text", "hidden_size": 256, "num_hidden_layers": 3,
                        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
                        "intermediate_size": 512, "vocab_size": 700},
    }
    from tests.conformance import archlint_side

    got = archlint_side.figures(config)
    assert got.architecture == "decoder" and got.kv_full == 3 * 2 * 2 * 64


def test_xlnet_relative_attention_and_plain_ffn() -> None:
    """XLNet's r projection, relative and segment biases, segment embeddings, mask_emb,
    a biased two-matrix FFN and the tied head's bias, as transformers builds them."""
    config = {"model_type": "xlnet", "d_model": 256, "n_layer": 3, "n_head": 4, "d_head": 64,
              "d_inner": 640, "vocab_size": 900}
    assert _count(config) == _transformers_count("XLNetLMHeadModel", config)


def test_xlnet_caches_its_memory_of_hidden_states() -> None:
    """XLNet's cache is Transformer-XL's memory (`XLNetModel.cache_mem`): per layer the
    input hidden states, d_model per token, not K and V (2 × n_head × d_head); all of them
    with mem_len unset (xlnet-base-cased: 12 layers × 768 × 2 B), the last mem_len when set."""
    from archlint.analysis.memory import kv_cache

    base = {"model_type": "xlnet", "d_model": 768, "n_layer": 12, "n_head": 12, "d_head": 64}
    kv = kv_cache(build_spec({**base, "mem_len": None}), dtype="bf16", dtype_bytes=2,
                  context=4096, batch=1)
    assert kv.bytes_per_token == 12 * 768 * 2 and kv.layers_windowed == 0
    kv = kv_cache(build_spec({**base, "mem_len": 512}), dtype="bf16", dtype_bytes=2,
                  context=4096, batch=1)
    assert kv.bytes_per_token == 0 and kv.bytes_at_context == 12 * 768 * 2 * 512


def test_mistral_large4_nope_layers_cache_the_latent_alone() -> None:
    """MistralLarge4TextAttention: a layer with no_rope_layers[i] = 0 has no RoPE key, so
    kv_a_proj_with_mqa emits kv_lora_rank (64) alone; RoPE layers add qk_rope_head_dim
    (16). Each layer's indexer caches index_head_dim (32) keys too."""
    from tests.conformance import archlint_side

    config = {"model_type": "mistral_large4", "text_config": {
        "model_type": "mistral_large4_text", "hidden_size": 256, "num_hidden_layers": 4,
        "num_attention_heads": 4, "num_key_value_heads": 4, "kv_lora_rank": 64,
        "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32,
        "index_n_heads": 2, "index_head_dim": 32, "no_rope_layers": [1, 0, 1, 0],
        "indexer_types": ["full"] * 4, "vocab_size": 500, "n_routed_experts": 4,
        "num_experts_per_tok": 2, "moe_intermediate_size": 64, "intermediate_size": 128}}
    got = archlint_side.figures(config)
    assert got.kv_full == 2 * (64 + 16) + 2 * 64 + 4 * 32
    positional = [layer.attention.positional for layer in build_spec(config).layers]
    assert positional == ["rope", "nope", "rope", "nope"]
    # the language model's parameters (no towers, no head) as transformers builds them
    text = {k: v for k, v in config["text_config"].items() if k != "model_type"}
    want = _transformers_count("MistralLarge4TextModel", {"model_type": "mistral_large4_text",
                                                          **text})
    comps = got.by_component
    assert got.total - comps.get("towers", 0) - comps.get("head", 0) == want


def test_chatglm_remote_dialect_counts() -> None:
    """ChatGLM's own `modeling_chatglm.py` (the Hub repos' remote code), hand count at other
    sizes: embedding and output_layer V × d each; per GLMBlock query_key_value d × kv_channels ×
    (heads + 2 × groups) (MHA: 3 × heads without multi_query_attention), biased with
    add_qkv_bias or add_bias_linear; dense kv_channels × heads → d (bias with add_bias_linear);
    dense_h_to_4h d → 2 × ffn, dense_4h_to_h ffn → d (biases with add_bias_linear); two norms,
    LayerNorm (weight + bias) when rmsnorm is false; final norm with post_layer_norm."""
    d, heads, ch, groups, ffn, vocab, layers = 256, 4, 48, 2, 600, 1000, 3
    base = {
        "model_type": "chatglm", "hidden_size": d, "num_layers": layers,
        "num_attention_heads": heads, "kv_channels": ch, "multi_query_attention": True,
        "multi_query_group_num": groups, "ffn_hidden_size": ffn, "padded_vocab_size": vocab,
        "add_bias_linear": False, "add_qkv_bias": True, "rmsnorm": True,
        "post_layer_norm": True,
    }
    qkv = ch * (heads + 2 * groups)
    block = d * qkv + qkv + heads * ch * d + d * 2 * ffn + ffn * d + 2 * d
    assert _count(base) == 2 * vocab * d + layers * block + d
    mha = {**base, "multi_query_attention": False, "add_bias_linear": True, "rmsnorm": False,
           "post_layer_norm": False}
    qkv = 3 * heads * ch
    block = (d * qkv + qkv) + (heads * ch * d + d) + (d * 2 * ffn + 2 * ffn) + (ffn * d + d)
    assert _count(mha) == 2 * vocab * d + layers * (block + 2 * 2 * d)


def _hunyuan_remote(**over: object) -> dict:
    config = {
        "model_type": "hunyuan", "hidden_size": 128, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 2, "attention_head_dim": 40,
        "intermediate_size": 96, "moe_intermediate_size": [64, 80, 64], "num_experts": 6,
        "moe_topk": [2, 3, 1], "num_shared_expert": [1, 2, 1], "use_mixed_mlp_moe": True,
        "use_qk_norm": True, "vocab_size": 500, "tie_word_embeddings": True,
    }
    return {**config, **over}


def test_hunyuan_remote_dialect_per_layer_lists() -> None:
    """Hunyuan's remote `modeling_hunyuan.py` (model_type `hunyuan`, Hunyuan-A13B's repo), hand
    count at other sizes: q/o d × heads × attention_head_dim, k/v d × kv × attention_head_dim,
    query/key RMSNorms of attention_head_dim, two RMSNorms of d; HunYuanMoE where num_experts >
    1: router wg d × E, E experts 3 × d × moe_intermediate_size[i], shared_mlp 3 × d ×
    moe_intermediate_size[i] × num_shared_expert[i] with use_mixed_mlp_moe (HunYuanMLP takes
    moe_intermediate_size first for shared and routed MLPs alike); tied head; final norm.
    Active: moe_topk[i] of the E experts."""
    d, heads, kv, hd, experts, vocab = 128, 4, 2, 40, 6, 500  # intermediate_size 96 unused
    widths, topk, shared = [64, 80, 64], [2, 3, 1], [1, 2, 1]
    attn = 2 * d * heads * hd + 2 * d * kv * hd + 2 * hd + 2 * d
    total = vocab * d + d
    active = total
    for width, k, s in zip(widths, topk, shared, strict=True):
        dense = attn + d * experts + 3 * d * width * s
        total += dense + experts * 3 * d * width
        active += dense + k * 3 * d * width
    counts = count_from_spec(build_spec(_hunyuan_remote()))
    assert (counts.total, counts.active) == (total, active)
    # without use_mixed_mlp_moe the remote HunYuanMoE has no shared_mlp
    plain = count_from_spec(build_spec(_hunyuan_remote(use_mixed_mlp_moe=False))).total
    assert plain == total - sum(3 * d * w * s for w, s in zip(widths, shared, strict=True))


def test_nemotron_nas_block_configs_by_hand() -> None:
    """Nemotron-NAS (Llama-3.3-Nemotron-Super's `block_configs`, one entry per layer), counted
    by hand from the DeciLM layout: hidden 64, 4 heads of 16, vocab 100, untied head.
    - layer 0: GQA with n_heads_in_group 2 (2 KV heads): q 4,096 + k 2,048 + v 2,048 + o 4,096;
      MLP from ffn_mult 1.0: next multiple of 256 above int(2 x 1.0 x 64 / 3) = 42 -> 256,
      3 x 64 x 256 = 49,152; two norms 128 -> 61,568
    - layer 1: both halves replace_with_linear: 2 x 64 x 64 + two norms -> 8,320
    - layer 2: attention no_op (no input norm), MLP 256 + its norm -> 49,216
    - layer 3: MHA (n_heads_in_group 1): 4 x 4,096 + input norm, FFN no_op -> 16,448
    + embedding 6,400 + head 6,400 + final norm 64 = 148,416. KV (bf16): layer 0
    2 x 2 x 16 x 2 B + layer 3 2 x 4 x 16 x 2 B = 384 B/token."""
    from archlint.analysis.memory import kv_cache
    from archlint.analysis.params import count_from_spec
    from archlint.families import build_spec

    gqa = {"n_heads_in_group": 2, "no_op": False, "replace_with_linear": False}
    blocks = [
        {"attention": gqa, "ffn": {"ffn_mult": 1.0}},
        {"attention": {"replace_with_linear": True}, "ffn": {"replace_with_linear": True}},
        {"attention": {"no_op": True, "n_heads_in_group": None}, "ffn": {"ffn_mult": 1.0}},
        {"attention": {"n_heads_in_group": 1}, "ffn": {"no_op": True}},
    ]
    config = {"model_type": "nemotron-nas", "architectures": ["DeciLMForCausalLM"],
              "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 4,
              "vocab_size": 100, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
              "hidden_act": "silu", "rms_norm_eps": 1e-5, "block_configs": blocks}
    spec = build_spec(config)
    assert spec.family == "nemotron_nas"
    assert count_from_spec(spec).total == 148_416
    kinds = [(layer.attention.kind, layer.attention.num_kv_heads, layer.ffn.kind)
             for layer in spec.layers]
    assert kinds[0] == ("gqa", 2, "dense") and kinds[3][1] == 4
    assert kinds[1][0] == kinds[2][0] == "none" and kinds[1][2] == kinds[3][2] == "none"
    kv = kv_cache(spec, dtype="bf16", dtype_bytes=2, context=16, batch=1)
    assert kv.bytes_per_token == 384


def test_head_tie_is_decided_by_one_rule() -> None:
    """`Adapter.tie_word_embeddings` (a wrapper's decision first, else `own_tie`) is the one
    rule every reader of the head tie asks; families change only `own_tie`. CPM-Ant's head
    is its own weight (vocab rows beside a table with prompt rows) whatever the key says."""
    from archlint.families.base import Adapter
    from archlint.families.builtin import ADAPTERS

    def classes(cls: type) -> list[type]:
        return [cls, *(c for sub in cls.__subclasses__() for c in classes(sub))]

    assert {cls.__name__ for cls in {*ADAPTERS, *classes(Adapter)}
            if "tie_word_embeddings" in vars(cls) and cls is not Adapter} == set()
    spec = build_spec({"model_type": "cpmant", "tie_word_embeddings": True})
    assert spec.tie_word_embeddings is False
