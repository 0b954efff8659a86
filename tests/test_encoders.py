"""Encoder-only adapters against transformers' own modules, at configs other than the
default: the conformance harness builds each config on the meta device and counts its
parameters (`tests/conformance/run.py`); archlint must land within its tolerance. The
overrides move the keys each adapter reads (a table's width, a flag that removes a module,
a per-language adapter count), so a reading that only holds at the defaults fails here."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch")

from tests.conformance import run

CASES: list[tuple[str, dict[str, Any]]] = [
    ("roc_bert", {}),
    ("roc_bert", {"concat_input": False}),
    ("roc_bert", {"enable_shape": False, "shape_embed_dim": 256, "hidden_size": 512,
                  "num_attention_heads": 8}),
    ("markuplm", {"max_depth": 20, "xpath_unit_hidden_size": 16, "hidden_size": 512,
                  "num_attention_heads": 8}),
    ("lilt", {"channel_shrink_ratio": 2, "max_2d_position_embeddings": 512}),
    ("longformer", {"attention_window": [256, 512]}),
    ("luke", {"use_entity_aware_attention": False}),
    ("luke", {"entity_emb_size": 768, "entity_vocab_size": 1000}),
    ("xmod", {"languages": ["en_XX", "de_DE", "ro_RO"], "adapter_layer_norm": True,
              "pre_norm": True, "adapter_reduction_factor": 4}),
    ("convbert", {"embedding_size": 128, "num_groups": 2, "head_ratio": 3,
                  "conv_kernel_size": 7}),
    ("openai_privacy_filter", {"num_local_experts": 16, "hidden_size": 256,
                               "intermediate_size": 384}),
    ("squeezebert", {"q_groups": 2, "k_groups": 1, "v_groups": 3, "post_attention_groups": 2,
                     "intermediate_groups": 1, "output_groups": 8}),
    ("mobilebert", {"key_query_shared_bottleneck": False, "trigram_input": False,
                    "num_feedforward_networks": 2, "classifier_activation": False,
                    "normalization_type": "layer_norm"}),
    ("mobilebert", {"use_bottleneck_attention": True, "intra_bottleneck_size": 256,
                    "embedding_size": 256}),
    ("mobilebert", {"use_bottleneck": False, "num_attention_heads": 8}),
    ("funnel", {"block_sizes": [2, 3], "block_repeats": [1, 2], "num_decoder_layers": 1,
                "d_head": 32, "d_inner": 1024}),
    ("lxmert", {"l_layers": 3, "x_layers": 2, "r_layers": 1, "visual_feat_dim": 1024,
                "visual_pos_dim": 6, "intermediate_size": 2048,
                "num_hidden_layers": {"language": 3, "cross_encoder": 2, "vision": 1}}),
    ("modernvbert", {"pixel_shuffle_factor": 2,
                     "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 384,
                                       "num_attention_heads": 6, "num_hidden_layers": 2},
                     "text_config": {"model_type": "modernbert", "num_hidden_layers": 2}}),
    ("ultravbert", {"pixel_shuffle_factor": 2,
                    "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 384,
                                      "num_attention_heads": 6, "num_hidden_layers": 2},
                    "text_config": {"model_type": "ultrabert", "num_hidden_layers": 2,
                                    "hidden_size": 512, "num_attention_heads": 4,
                                    "num_key_value_heads": 4, "intermediate_size": 1024}}),
    ("neomme", {"attention_bias": True, "mlp_bias": True, "embedding_rank": 128,
                "patch_size": 16, "num_key_value_heads": 8, "num_hidden_layers": 3,
                "layer_types": ["sliding_attention", "full_attention", "full_attention"]}),
    ("reformer", {"attn_layers": ["lsh", "lsh", "lsh"], "num_hidden_layers": 3,
                  "axial_pos_embds": False, "max_position_embeddings": 1024,
                  "feed_forward_size": 1024, "attention_head_size": 32}),
    ("reformer", {"attn_layers": ["local", "local", "lsh"], "num_hidden_layers": 3,
                  "hidden_size": 512, "axial_pos_embds_dim": [128, 384],
                  "axial_pos_shape": [32, 128]}),
    # published sizes: allenai/longformer-base-4096 (2 of its 12 layers),
    # funnel-transformer/large, studio-ousia/luke-large
    ("longformer", {"attention_window": [512] * 2, "max_position_embeddings": 4098,
                    "type_vocab_size": 1, "vocab_size": 50265}),
    ("funnel", {"block_sizes": [8, 8, 8], "d_model": 1024, "n_head": 16, "d_inner": 4096}),
    ("luke", {"hidden_size": 1024, "num_attention_heads": 16, "intermediate_size": 4096}),
    ("nystromformer", {"conv_kernel_size": 33, "max_position_embeddings": 1022}),
    ("roformer", {"max_position_embeddings": 2048, "hidden_size": 512,
                  "num_attention_heads": 16, "embedding_size": 256}),
    ("bros", {"hidden_size": 512, "num_attention_heads": 8}),
    ("gte", {"intermediate_size": 2048}),
    ("canine", {"num_hash_functions": 4, "num_hash_buckets": 4096, "downsampling_rate": 2,
                "upsampling_kernel_size": 3, "type_vocab_size": 4}),
]


@pytest.mark.parametrize(("model_type", "overrides"), CASES)
def test_encoder_matches_transformers(model_type: str, overrides: dict[str, Any]) -> None:
    config = {"model_type": model_type, **overrides}
    if model_type not in ("funnel", "lxmert", "modernvbert", "ultravbert"):  # per stack
        config.setdefault("num_hidden_layers", 2)
    row = run._check_one(model_type, "test", config)
    assert row.verdict == "exact", (row.verdict, row.detail, row.tf_total, row.al_total)


def test_per_stack_layer_counts_are_checked_not_refused() -> None:
    """LXMERT's config.json states `num_hidden_layers` as one count per stack."""
    from archlint.errors import ConfigError
    from archlint.families.validate import validate_config

    validate_config({"model_type": "lxmert",
                     "num_hidden_layers": {"language": 9, "vision": 5, "cross_encoder": 5}})
    with pytest.raises(ConfigError, match=r"num_hidden_layers\.vision"):
        validate_config({"model_type": "lxmert", "num_hidden_layers": {"vision": -1}})


@pytest.mark.parametrize(("model_type", "key", "value"), [
    ("modernbert", "local_attention", 0),
    ("longformer", "attention_window", [512, 0]),
    ("reformer", "local_attn_chunk_length", 0),
    ("canine", "local_transformer_stride", -1),
])
def test_a_window_of_no_tokens_is_one_error(model_type: str, key: str, value: Any) -> None:
    from archlint.errors import ConfigError
    from archlint.families import build_spec

    config = {"model_type": model_type, "num_hidden_layers": 2, key: value}
    with pytest.raises(ConfigError, match=key):
        build_spec(config)
