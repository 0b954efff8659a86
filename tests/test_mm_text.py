"""The language-model side of multimodal wrappers (issue 10): the text_config archlint's
decoder adapters read, counted the way transformers builds it.

Expected numbers come from outside archlint: transformers' own modules built on the meta
device IN the test (the conformance harness's class choice and component split,
tests/conformance/tf_side.py), on the wrapper's default config with a 2-layer language model
and on a varied copy (other hidden size / heads / vocabulary); and a hand count of the tying
and the q/k/v biases from the modeling code.
"""

from __future__ import annotations

import copy

import pytest

from archlint.api import analyze_checkpoint
from archlint.checkpoint import Checkpoint
from archlint.families import tf_tables
from archlint.families.towers import wrapper_tie


def _small(model_type: str, **text: int) -> dict:
    config = copy.deepcopy(tf_tables.defaults_for(model_type) or {})
    config["model_type"] = model_type
    # layer_types is computed from the layer count in transformers (no constant to keep)
    config["text_config"].pop("layer_types", None)
    config["text_config"].update({"num_hidden_layers": 2, **text})
    return config


def _archlint(config: dict) -> tuple[int, dict[str, int]]:
    ckpt = Checkpoint(model_id="t/mm-text", source="local", config=config, weights_format="none")
    params = analyze_checkpoint(ckpt).profile.params
    return params.total, dict(params.by_component)


def _transformers(config: dict) -> tuple[int, dict[str, int]]:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.conformance import tf_side

    model_type = config["model_type"]
    cls = tf_side.model_class_for(tf_tables.model_classes(model_type), "multimodal", config)
    model = tf_side.build_model(cls, tf_side.build_config(model_type, config))
    return tf_side.component_counts(model, multimodal=True)


def test_untied_wrappers_over_a_tying_text_config() -> None:
    """configuration_qwen3_vl_moe / configuration_qwen2_5_omni: the wrapper's
    tie_word_embeddings defaults to False and (unlike configuration_llava) is not overridden
    by the text config's True, so the wrapper's lm_head is its own weight."""
    for model_type in ("qwen3_vl_moe", "qwen2_5_omni_thinker"):
        config = _small(model_type)
        assert config["text_config"]["tie_word_embeddings"] is True
        assert wrapper_tie(config) is False
        # an explicit True at the root still ties
        assert wrapper_tie({**config, "tie_word_embeddings": True}) is True


@pytest.mark.parametrize(
    ("model_type", "text"),
    [
        ("qwen3_vl_moe", {}),
        ("qwen3_vl_moe", {"hidden_size": 1024, "vocab_size": 32000, "moe_intermediate_size": 384}),
        ("qwen2_5_omni_thinker", {}),
        (
            "qwen2_5_omni_thinker",
            {"hidden_size": 1536, "num_attention_heads": 12, "num_key_value_heads": 2,
             "vocab_size": 50000, "intermediate_size": 4096},
        ),
    ],
)
def test_language_model_equals_transformers(model_type: str, text: dict[str, int]) -> None:
    config = _small(model_type, **text)
    tf_total, tf_parts = _transformers(config)
    al_total, al_parts = _archlint(config)
    for part in ("head", "attention", "embedding", "norms"):
        assert al_parts.get(part, 0) == tf_parts.get(part, 0), part
    assert al_total == tf_total


@pytest.mark.parametrize(
    "text",
    [{}, {"hidden_size": 1024, "intermediate_size": 2816, "num_attention_heads": 8,
          "num_key_value_heads": 2, "head_dim": 128, "vocab_size": 32000}],
)
def test_wrapped_language_model_structure_equals_transformers(text: dict) -> None:
    """Cosmos3-Edge's text model has no class transformers builds on its own: its structure
    (a plain fc1/fc2 relu2 MLP, not a gated one) is observed inside the wrapper by
    scripts/gen_structure_table.py, and the generic reader counts it so."""
    config = _small("cosmos3_edge", **text)
    tf_total, tf_parts = _transformers(config)
    al_total, al_parts = _archlint(config)
    assert al_parts.get("dense_ffn", 0) == tf_parts.get("dense_ffn", 0)
    assert al_total == tf_total


def test_qwen2_5_omni_text_qkv_bias_by_hand() -> None:
    """modeling_qwen2_5_omni's Qwen2_5OmniAttention: q/k/v Linear with bias=True, o without;
    per layer q: H*H + H, k and v: H*(kv*d) + kv*d each, o: H*H (d = H / heads)."""
    h, heads, kv, layers = 3584, 28, 4, 2
    d = h // heads
    per_layer = (h * h + h) + 2 * (h * kv * d + kv * d) + h * h
    _, parts = _archlint(_small("qwen2_5_omni_thinker"))
    assert parts["attention"] == layers * per_layer


@pytest.mark.parametrize(
    "text",
    [
        {"num_hidden_layers": 5, "mlp_layer_types": None},
        # sliding layers with their own head count (per_layer_config), a per-element gate
        {"num_hidden_layers": 4, "mlp_layer_types": ["dense", "sparse", "sparse", "sparse"],
         "layer_types": ["sliding_attention", "full_attention"] * 2, "sliding_window": 512,
         "num_sliding_attention_heads": 32, "gating": "per-element", "share_expert_dim": 768,
         "hidden_size": 2048, "n_routed_experts": 16},
        {"num_hidden_layers": 4, "gating": False, "mlp_layer_types": None},
        # a saved config: per_layer_config written out (JSON keys are strings)
        {"num_hidden_layers": 4, "mlp_layer_types": None, "sliding_window": 256,
         "layer_types": ["sliding_attention", "full_attention"] * 2,
         "per_layer_config": {"0": {"num_attention_heads": 16}, "2": {"num_attention_heads": 16}}},
    ],
)
def test_step3p7_language_model_equals_transformers(text: dict) -> None:
    """modeling_step3p7: g_proj gate (h -> heads, or heads x head_dim per element; gating
    True by default), q/k RMSNorms, one shared expert of share_expert_dim per sparse block."""
    config = copy.deepcopy(tf_tables.defaults_for("step3p7") or {})
    config["model_type"] = "step3p7"
    tc = config["text_config"]
    # computed from the layer count in transformers' __post_init__ (no constants to keep)
    derived = ("layer_types", "mlp_layer_types", "per_layer_config", "num_sliding_attention_heads")
    for key in derived:
        tc.pop(key, None)
    tc.update({k: v for k, v in text.items() if v is not None})
    tf_total, tf_parts = _transformers(config)
    al_total, al_parts = _archlint(config)
    assert al_parts.get("shared_experts", 0) == tf_parts.get("shared_experts", 0) > 0
    # archlint books g_proj as the block's "other"; transformers' split puts it in attention
    assert al_parts.get("attention", 0) + al_parts.get("other", 0) == tf_parts["attention"]
    assert al_total == tf_total


@pytest.mark.parametrize(
    "text",
    [
        {},
        {"hidden_size": 2048, "num_attention_heads": 16, "num_key_value_heads": 4,
         "head_dim": 64, "intermediate_size": 5120, "vocab_size": 32000},
        {"attention_bias": True},
    ],
)
def test_muse_glimmer_language_model_equals_transformers(text: dict) -> None:
    config = _small("muse_glimmer", **text)
    tf_total, tf_parts = _transformers(config)
    al_total, al_parts = _archlint(config)
    assert al_parts["norms"] == tf_parts["norms"]
    # archlint books gate_proj as the block's "other"; transformers' split puts it in attention
    assert al_parts["attention"] + al_parts.get("other", 0) == tf_parts["attention"]
    assert al_total == tf_total


def test_muse_glimmer_block_by_hand() -> None:
    """modeling_muse_glimmer, per block: q (h x H*d), k and v (h x kv*d each), o (H*d x h),
    gate_proj (h x H*d), no biases; four centred RMSNorms of h; the q/k and embedding norms
    have no weight. Defaults h=6656, H=32, kv=2, d=128."""
    h, heads, kv, d, layers = 6656, 32, 2, 128, 2
    attention = 3 * h * heads * d + 2 * h * kv * d
    _, parts = _archlint(_small("muse_glimmer"))
    assert parts["attention"] + parts["other"] == layers * attention
    assert parts["norms"] == layers * 4 * h + h  # the blocks' and the final norm


@pytest.mark.parametrize(
    ("text", "vision"),
    [
        ({}, {}),
        # BlipConfig sets text_config.encoder_hidden_size to the vision tower's width
        ({"hidden_size": 512, "num_attention_heads": 8, "intermediate_size": 2048,
          "vocab_size": 20000, "max_position_embeddings": 256}, {"hidden_size": 1152}),
    ],
)
def test_blip_text_decoder_equals_transformers(text: dict, vision: dict) -> None:
    config = _small("blip", **text)
    config["vision_config"].update(vision)
    tf_total, _ = _transformers(config)
    al_total, _ = _archlint(config)
    assert al_total == tf_total


def test_blip_text_decoder_by_hand() -> None:
    """modeling_blip_text, BlipTextLMHeadModel at BlipConfig's defaults (h=768, I=3072,
    V=30524, 512 positions, vision width 768), 2 layers: per layer self-attention q/k/v/out
    and cross-attention q/k/v/out, each biased h x h + h; the MLP h x I + I and I x h + h;
    three LayerNorms (2h each). Embeddings: V x h + 512 x h + LayerNorm 2h; head: transform
    h x h + h, LayerNorm 2h, tied decoder with its V bias."""
    h, inner, vocab, pos, layers = 768, 3072, 30524, 512, 2
    block = 8 * (h * h + h) + (h * inner + inner) + (inner * h + h) + 3 * 2 * h
    lm = vocab * h + pos * h + 2 * h + layers * block + (h * h + h) + 2 * h + vocab
    total, parts = _archlint(_small("blip"))
    assert total - parts["towers"] == lm


@pytest.mark.parametrize(
    "text",
    # the hidden size stays: the tower table's resampler was fitted at the default one
    [{}, {"num_key_value_heads": 2, "moe_intermediate_size": [256, 128],
          "moe_num_experts": 8, "moe_k": 2, "moe_num_shared_experts": 1,
          "intermediate_size": 1024, "vocab_size": 1000}],
)
def test_ernie45_vl_moe_language_model_equals_transformers(text: dict) -> None:
    """Ernie4_5_VLMoeMoeBlock: text and vision expert groups of their own widths, each with
    its router, beside the shared experts."""
    config = _small("ernie4_5_vl_moe", **text)
    tf_total, _ = _transformers(config)
    al_total, _ = _archlint(config)
    assert al_total == tf_total


def test_ernie45_vl_moe_vision_experts_never_active_by_hand() -> None:
    """A text token reaches moe_k of the text experts and the shared ones; the vision group
    (experts × 3 × h × moe_intermediate_size[1], its router and correction bias) none."""
    h, experts, k, text_w, vision_w = 64, 4, 2, 32, 16
    config = _small("ernie4_5_vl_moe", hidden_size=h, num_attention_heads=4,
                    num_key_value_heads=2, moe_intermediate_size=[text_w, vision_w],
                    moe_num_experts=experts, moe_k=k, moe_num_shared_experts=1,
                    intermediate_size=96, vocab_size=100)
    ckpt = Checkpoint(model_id="t/ernie-vl", source="local", config=config,
                      weights_format="none")
    params = analyze_checkpoint(ckpt).profile.params
    vision = experts * 3 * h * vision_w + experts * h + experts
    text_group = experts * 3 * h * text_w
    # layer 1 is the one sparse layer of two: its routed experts, text and vision
    assert params.by_component["routed_experts"] == text_group + vision
    inactive = vision + text_group - text_group * k // experts
    towers = params.by_component.get("towers", 0)
    assert params.active == params.total - towers - inactive


@pytest.mark.parametrize(
    "changes",
    [{},
     {"hidden_size": 256, "num_attention_heads": 4, "num_hidden_layers": 5,
      "intermediate_size": 512, "vocab_size": 1000, "additional_vocab_size": 3,
      "cross_layer_interval": 2, "alpha_type": "vector", "qk_layer_norms": True,
      "vision_config": {"embed_dim": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
                        "intermediate_size": 128, "image_size": 56}},
     # IDEFICS-9B/80B's perceiver resampler, a child of the language model's module that
     # only the flag builds: a tower all the same
     {"use_resampler": True}],
    ids=["defaults", "varied", "resampler"],
)
def test_idefics_gated_cross_attention_equals_transformers(changes: dict) -> None:
    """IdeficsForVisionText2Text: Llama blocks plus num_hidden_layers // cross_layer_interval
    gated cross-attention layers (k/v from the vision width, their own MLP, norms, gates),
    and additional_vocab_size more rows in the token table and the head."""
    config = copy.deepcopy(tf_tables.defaults_for("idefics") or {})
    for key, value in changes.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) else value
    if "hidden_size" not in changes:
        config["num_hidden_layers"] = 2
    tf_total, _ = _transformers(config)
    al_total, _ = _archlint(config)
    assert al_total == tf_total


def test_idefics_cross_attention_caches_no_text_tokens_by_hand() -> None:
    """5 blocks of 4 heads x 64 (hidden 256), a cross-attention before blocks 0, 2: K and V
    per generated token from the 5 self-attentions only (2 x 5 x 256 elements); the two
    cross-attentions hold the image tokens (2 x 2 x 256 per image token)."""
    from archlint.analysis.memory import kv_cache
    from archlint.families import build_spec

    config = copy.deepcopy(tf_tables.defaults_for("idefics") or {})
    config.update({"hidden_size": 256, "num_attention_heads": 4, "num_hidden_layers": 5,
                   "cross_layer_interval": 2})
    kv = kv_cache(build_spec(config), dtype="int8", dtype_bytes=1, context=10, batch=1)
    assert kv.bytes_per_token == 2 * 5 * 256
    assert kv.cross_bytes_per_encoder_token == 2 * 2 * 256


@pytest.mark.parametrize(
    "changes",
    [{"num_hidden_layers": 8},
     {"hidden_size": 256, "num_attention_heads": 4, "num_key_value_heads": 2,
      "num_hidden_layers": 6, "intermediate_size": 512, "vocab_size": 1000,
      "aligner_num_add_layers": 3, "aligner_ffn_mult": 2, "aligner_enable_bias": False,
      "resampler_depth": 2, "resampler_num_latents": 8,
      "protein_encoder_config": {"hidden_size": 64, "num_hidden_layers": 2,
                                 "num_attention_heads": 4, "intermediate_size": 128}}],
    ids=["defaults", "varied"],
)
def test_evolla_aligner_layers_equal_transformers(changes: dict) -> None:
    """EvollaForProteinText2Text: Llama blocks, an aligner cross-attention (biased q/k/v,
    out_proj by aligner_enable_bias, its norm, feed-forward and gates) in every
    num_hidden_layers // aligner_num_add_layers-th block, the protein encoder a tower."""
    config = copy.deepcopy(tf_tables.defaults_for("evolla") or {})
    for key, value in changes.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) else value
    tf_total, _ = _transformers(config)
    al_total, _ = _archlint(config)
    assert al_total == tf_total


def _tied_in_transformers(model_type: str, config: dict) -> bool:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.conformance import tf_side

    cls = tf_side.model_class_for(tf_tables.model_classes(model_type), "multimodal", config)
    model = tf_side.build_model(cls, tf_side.build_config(model_type, config))
    return model.get_output_embeddings().weight is model.get_input_embeddings().weight


@pytest.mark.parametrize(
    ("model_type", "root", "text"),
    [
        # Audio Flamingo 3 never ties, whatever its text config says
        ("audioflamingo3", None, True),
        # LFM2-VL: the wrapper's key decides, over LFM2's own reading of the text config
        ("lfm2_vl", False, True),
        ("lfm2_vl", None, False),
        # language models on the root keys: Evolla never ties, IDEFICS and GIT by the key
        ("evolla", True, None),
        ("idefics", True, None),
        ("git", True, None),
    ],
)
def test_wrapper_head_tying_equals_transformers(model_type: str, root: bool | None,
                                                text: bool | None) -> None:
    """Whether the head is the token table is what transformers does for the wrapper class
    (measured into the tower table by `gen_tower_table.py --tie`), for the language model
    whatever adapter reads it."""
    config = copy.deepcopy(tf_tables.defaults_for(model_type) or {})
    config.pop("tie_word_embeddings", None)
    if root is not None:
        config["tie_word_embeddings"] = root
    if text is not None:
        config["text_config"]["tie_word_embeddings"] = text
    lm = config.get("text_config", config)
    lm.pop("layer_types", None)  # computed from the layer count in transformers
    lm["num_hidden_layers"] = 2
    ckpt = Checkpoint(model_id="t/tie", source="local", config=config, weights_format="none")
    spec = analyze_checkpoint(ckpt).spec
    assert spec.tie_word_embeddings == _tied_in_transformers(model_type, config)


@pytest.mark.parametrize(("root", "text"), [(False, True), (True, False), (False, False)])
def test_florence2_stack_tables_follow_the_text_config(root: bool, text: bool) -> None:
    """Florence-2: the wrapper's key ties its lm_head; the BART inside ties its encoder and
    decoder tables to `shared` by its own text_config key (transformers counts 1 table tied,
    3 untied, plus the head when the wrapper unties it)."""
    config = copy.deepcopy(tf_tables.defaults_for("florence2") or {})
    config["tie_word_embeddings"] = root
    config["text_config"].update({"tie_word_embeddings": text, "encoder_layers": 1,
                                  "decoder_layers": 1})
    tf_total, _ = _transformers(config)
    al_total, _ = _archlint(config)
    assert al_total == tf_total


@pytest.mark.parametrize(
    "text",
    [{"decoder_layers": 2},
     {"decoder_layers": 3, "d_model": 256, "decoder_attention_heads": 4,
      "decoder_ffn_dim": 640, "vocab_size": 1000, "max_position_embeddings": 300}],
    ids=["defaults", "varied"],
)
def test_pp_formulanet_decoder_equals_transformers(text: dict) -> None:
    """PPFormulaNetForConditionalGeneration's language model: an mBART decoder of
    decoder_layers blocks (self- and cross-attention, fc1/fc2, three LayerNorms), a learned
    position table of max_position_embeddings + 2 rows, embedding and final LayerNorms; its
    encoder keys build nothing (the vision model encodes). The varied d_model keeps the
    vision projector's output (decoder_hidden_size) in step."""
    config = copy.deepcopy(tf_tables.defaults_for("pp_formulanet") or {})
    config["text_config"].update(text)
    if "d_model" in text:
        config["vision_config"]["decoder_hidden_size"] = text["d_model"]
    tf_total, _ = _transformers(config)
    al_total, _ = _archlint(config)
    assert al_total == tf_total


@pytest.mark.parametrize(
    "changes",
    [{}, {"hidden_size": 256, "num_attention_heads": 4, "num_hidden_layers": 3,
          "intermediate_size": 512, "image_size": 224, "patch_size": 16, "qkv_bias": False,
          "vocab_size": 1000, "modality_type_vocab_size": 3}],
    ids=["defaults", "varied"],
)
def test_vilt_equals_transformers(changes: dict) -> None:
    """ViltModel: BERT-sized blocks (q/k/v biased by qkv_bias), text embeddings with their
    LayerNorm, the image embeddings (patch conv, class token, position table, modality
    table), a final LayerNorm and the pooler."""
    config = {**copy.deepcopy(tf_tables.defaults_for("vilt") or {}), **changes}
    tf_total, _ = _transformers(config)
    al_total, _ = _archlint(config)
    assert al_total == tf_total


@pytest.mark.parametrize(
    "text",
    [{},
     # the hidden size stays: the tower table's projectors were fitted at the default one
     {"num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 64,
      "intermediate_size": 1024, "moe_hidden_size": 256, "moe_intermediate_size": 128,
      "num_local_experts": 8, "num_experts_per_tok": 2, "vocab_size": 1000,
      "mlp_layer_types": ["dense", "sparse"], "attention_bias": True}],
    ids=["defaults", "varied"],
)
def test_muse_spark_language_model_equals_transformers(text: dict) -> None:
    """MuseSparkForConditionalGeneration's language model: gated GQA attention, three
    weighted norms and two residual gates per block, and MoE blocks whose experts read and
    write moe_hidden_size between pre_expert_proj and post_expert_proj (or a dense MLP)."""
    config = _small("muse_spark", **text)
    config["text_config"].pop("layer_rope_theta", None)  # one entry per layer
    if "mlp_layer_types" not in text:
        config["text_config"].pop("mlp_layer_types", None)
    tf_total, _ = _transformers(config)
    al_total, _ = _archlint(config)
    assert al_total == tf_total
