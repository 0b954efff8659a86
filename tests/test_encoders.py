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
]


@pytest.mark.parametrize(("model_type", "overrides"), CASES)
def test_encoder_matches_transformers(model_type: str, overrides: dict[str, Any]) -> None:
    config = {"model_type": model_type, "num_hidden_layers": 2, **overrides}
    row = run._check_one(model_type, "test", config)
    assert row.verdict == "exact", (row.verdict, row.detail, row.tf_total, row.al_total)
