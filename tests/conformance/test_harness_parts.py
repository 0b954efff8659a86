"""The harness's own pieces: shrinking keeps the layer pattern and nothing else, varying moves
the sizes it says it moves."""

from __future__ import annotations

import pytest

from tests.conformance import shrink, vary


def test_shrink_cuts_per_layer_values_only() -> None:
    config = {
        "model_type": "nystromformer",  # 13 letters in a 13-layer stack: not a pattern
        "num_hidden_layers": 13,
        "hidden_act": "gelu_new_13ch",
        "layer_types": ["full_attention"] * 13,
    }
    small, changes = shrink.shrink_layers(config)
    assert changes == {"num_hidden_layers": (13, 2)}
    assert small["model_type"] == "nystromformer"
    assert small["hidden_act"] == "gelu_new_13ch"
    assert small["layer_types"] == ["full_attention"] * 2


def test_shrink_keeps_every_kind_of_a_pattern_string() -> None:
    pattern = "MMMM*MMMM-MM"  # Nemotron-H style: the first attention at 4, the first MLP at 9
    small, changes = shrink.shrink_layers(
        {"num_hidden_layers": 12, "hybrid_override_pattern": pattern}
    )
    assert changes == {"num_hidden_layers": (12, 10)}
    assert small["hybrid_override_pattern"] == pattern[:10]


def test_vary_doubles_heads_keeps_kv_heads_and_derived_head_size() -> None:
    config = {"hidden_size": 2048, "num_attention_heads": 16, "num_key_value_heads": 8,
              "intermediate_size": 5632, "vocab_size": 32000, "num_hidden_layers": 22,
              "text_config": {"hidden_size": 64, "num_attention_heads": 4}}
    varied, changes = vary.vary(config)
    assert varied["num_attention_heads"] == 32 and varied["num_key_value_heads"] == 8
    assert varied["hidden_size"] == 4096  # head size 2048/16 = 4096/32 = 128 kept
    assert varied["intermediate_size"] == 8448  # 5632 * 3/2, a multiple of 16
    assert varied["vocab_size"] == 33024 and varied["num_hidden_layers"] == 23
    assert varied["text_config"] == {"hidden_size": 128, "num_attention_heads": 8}
    assert config["num_attention_heads"] == 16  # the input is left alone
    assert changes["text_config.hidden_size"] == (64, 128)


def test_vary_keeps_hidden_size_where_head_dim_is_declared() -> None:
    varied, _ = vary.vary({"hidden_size": 2560, "num_attention_heads": 20, "head_dim": 128,
                           "layer_types": ["full_attention"] * 24, "num_hidden_layers": 24})
    assert varied["hidden_size"] == 2560 and varied["num_attention_heads"] == 40
    assert varied["num_hidden_layers"] == 24  # a per-layer list pins the layer count


def test_vary_moves_mla_kv_heads_with_the_query_heads() -> None:
    """MLA gives every query head its own K/V from the latent: a num_key_value_heads equal to
    the head count moves with it (DeepseekV2Config's default 32/32), a GQA count elsewhere
    does not."""
    varied, changes = vary.vary({"hidden_size": 5120, "num_attention_heads": 32,
                                 "num_key_value_heads": 32, "kv_lora_rank": 512,
                                 "qk_rope_head_dim": 64, "num_hidden_layers": 4})
    assert varied["num_attention_heads"] == 64 and varied["num_key_value_heads"] == 64
    assert changes["num_key_value_heads"] == (32, 64)
    gqa, _ = vary.vary({"hidden_size": 2048, "num_attention_heads": 16,
                        "num_key_value_heads": 16, "num_hidden_layers": 4})
    assert gqa["num_key_value_heads"] == 16


def test_vary_fallbacks_keep_the_kv_ratio_then_the_heads() -> None:
    """For a type whose validator wants MHA (ESMC) or ties a layout to the hidden size
    (Mamba-2): the KV heads doubled with the query heads, then heads and hidden kept."""
    config = {"hidden_size": 1024, "num_attention_heads": 16, "num_key_value_heads": 16,
              "intermediate_size": 4096, "vocab_size": 1000, "num_hidden_layers": 4}
    modes = {mode: varied for mode, varied, _ in vary.variants(config)}
    assert list(modes) == ["heads", "kv", "sizes"]
    assert modes["heads"]["num_key_value_heads"] == 16
    assert modes["kv"]["num_attention_heads"] == 32 and modes["kv"]["num_key_value_heads"] == 32
    assert modes["sizes"]["num_attention_heads"] == 16 and modes["sizes"]["hidden_size"] == 1024
    assert modes["sizes"]["intermediate_size"] == 6144 and modes["sizes"]["num_hidden_layers"] == 5


def test_vary_moves_every_name_of_the_depth() -> None:
    """xLSTMConfig saves num_hidden_layers and num_blocks (its stack reads one, its cache the
    other): both move, a different count under another name does not."""
    varied, _ = vary.vary({"hidden_size": 4096, "num_heads": 8, "num_hidden_layers": 32,
                           "num_blocks": 32, "vocab_size": 1000})
    assert varied["num_hidden_layers"] == 33 and varied["num_blocks"] == 33


def test_thin_for_cpu_cuts_ffn_and_vocab_only() -> None:
    from tests.conformance import tf_side

    config = {"hidden_size": 6144, "vocab_size": 100352, "pad_token_id": 100277,
              "num_key_value_heads": 8, "intermediate_size": 10752,
              "ffn_config": {"ffn_hidden_size": 10752, "moe_num_experts": 16},
              "text_config": {"moe_intermediate_size": [1408, 1408], "vocab_size": 64}}
    thin = tf_side.thin_for_cpu(config)
    assert thin["hidden_size"] == 6144 and thin["num_key_value_heads"] == 8
    assert thin["intermediate_size"] == 64 and thin["ffn_config"]["ffn_hidden_size"] == 64
    assert thin["ffn_config"]["moe_num_experts"] == 16
    assert thin["vocab_size"] == 100278  # the pad token id must stay in the table
    assert thin["text_config"] == {"moe_intermediate_size": [64, 64], "vocab_size": 64}
    assert config["intermediate_size"] == 10752  # the input is left alone


def test_thinned_cpu_copy_caches_what_the_meta_forward_caches() -> None:
    """The thinned CPU copy (taken when a meta forward fails and the model is too big to
    allocate) observes the same cache as a meta forward of the unthinned config."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.conformance import tf_side

    config = {"model_type": "mixtral", "hidden_size": 256, "num_attention_heads": 8,
              "num_key_value_heads": 2, "intermediate_size": 4096, "num_local_experts": 4,
              "num_experts_per_tok": 2, "num_hidden_layers": 2, "vocab_size": 50000,
              "sliding_window": None}
    meta = tf_side.observe_cache(
        tf_side.build_model("MixtralForCausalLM", tf_side.build_config("mixtral", config)),
        "decoder",
    )
    # params far above the cap: observe_cache_cpu must take the thinned copy
    cpu = tf_side.observe_cache_cpu(
        "MixtralForCausalLM", tf_side.build_config("mixtral", config), "decoder",
        10 * tf_side.CPU_FALLBACK_MAX_PARAMS, "mixtral", config,
    )
    assert cpu == meta and meta[0] == 2 * 2 * 2 * (256 // 8)  # layers x (K, V) x heads x dim


def test_shrink_keeps_a_layer_index_list_the_config_leaves_to_its_class() -> None:
    """Most real Mllama configs do not write `cross_attention_layers`; MllamaTextConfig fills
    [3, 8, ..., 38] (transformers' configuration_mllama.py). Shrunk alone to 2 layers, the copy
    would have no cross-attention layer left; with the completed config the first one stays."""
    text = {"model_type": "mllama_text_model", "num_hidden_layers": 40}
    completed = {"text_config": {**text, "cross_attention_layers": [3, 8, 13, 18, 23, 28, 33, 38]}}
    small, changes = shrink.shrink_layers({"text_config": text}, completed=completed)
    assert changes == {"text_config.num_hidden_layers": (40, 4)}  # layers 0..3: 3 is cross
    assert small["text_config"]["cross_attention_layers"] == [3]
    plain, _ = shrink.shrink_layers({"text_config": text})
    assert "cross_attention_layers" not in plain["text_config"]


def test_conv_state_share_by_width_against_the_blocks_kernels() -> None:
    from tests.conformance import tf_side

    # Mamba, d_conv 4: transformers keeps 4 columns, vLLM d_conv - 1 = 3 of them
    assert tf_side.conv_state_share(4, [4]) == 3 / 4
    # Zaya's CCA, kernels cca_time0 = cca_time1 = 2: (2 - 1) + (2 - 1) = 2 columns, all history
    assert tf_side.conv_state_share(2, [2, 2]) == 1.0
    # Kimi's three q/k/v convs of 4, one state each: 3 of 4 columns
    assert tf_side.conv_state_share(4, [4, 4, 4]) == 3 / 4
    assert tf_side.conv_state_share(3, []) == 2 / 3  # no kernel seen: the width is d_conv


def test_switched_flips_structural_booleans_at_every_level() -> None:
    config = {"attention_bias": False, "tie_word_embeddings": True, "use_cache": True,
              "text_config": {"mlp_bias": False, "hidden_size": 8}}
    flipped, changes = vary.switched(config)
    assert changes == {"attention_bias": (False, True), "tie_word_embeddings": (True, False),
                       "text_config.mlp_bias": (False, True)}
    assert flipped["use_cache"] is True and config["attention_bias"] is False


def test_switched_one_key_at_a_time_and_kept_keys() -> None:
    config = {"attention_bias": False, "tie_word_embeddings": True,
              "text_config": {"mlp_bias": False}}
    assert vary.switch_keys(config) == ["attention_bias", "tie_word_embeddings",
                                        "text_config.mlp_bias"]
    _, one = vary.switched(config, only="text_config.mlp_bias")
    assert one == {"text_config.mlp_bias": (False, True)}
    _, kept = vary.switched(config, keep=frozenset({"tie_word_embeddings"}))
    assert "tie_word_embeddings" not in kept and "attention_bias" in kept


def test_held_by_transformers_reads_the_classes_themselves() -> None:
    # configuration_t5.py forces tie_word_embeddings=True ("we tie weights always")
    t5 = vary.held_by_transformers("t5", {"model_type": "t5", "tie_word_embeddings": True})
    assert "tie_word_embeddings" in t5 and "T5Config" in t5["tie_word_embeddings"]
    # modeling_nemotron_h.py: NemotronHForCausalLM._tied_weights_keys = {}
    nemo = vary.held_by_transformers("nemotron_h", {"tie_word_embeddings": False})
    assert "never tied" in nemo["tie_word_embeddings"]
    # LlamaForCausalLM ties lm_head to embed_tokens and LlamaConfig keeps either value
    assert vary.held_by_transformers("llama", {"tie_word_embeddings": False}) == {}
    assert vary.held_by_transformers("llama", {"tie_word_embeddings": True}) == {}


def test_completions_set_dotted_keys_and_name_their_checkpoint() -> None:
    """A completion sets only its own keys (at any depth) on a copy, and the candidate's
    label names the checkpoint the values come from; each entry cites a public url."""
    from tests.conformance import run

    defaults = {"model_type": "x", "head_dim": None, "text_config": {"head_dim": None}}
    entry = {"values": {"head_dim": 64, "text_config.head_dim": 128}, "model_id": "org/m"}
    done = run.completed_defaults(defaults, entry)
    assert done == {"model_type": "x", "head_dim": 64, "text_config": {"head_dim": 128}}
    assert defaults["text_config"]["head_dim"] is None
    for model_type, entry in run.completions().items():
        assert entry["url"].startswith("https://") and "/" in entry["model_id"], model_type
        assert entry["values"], model_type
    source, config = run.defaults_candidate("nemotron", {"num_key_value_heads": None})
    assert source == "defaults + num_key_value_heads of nvidia/Minitron-8B-Base"
    assert config["num_key_value_heads"] == 8
