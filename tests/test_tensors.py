"""The tensor-naming table (archlint.tensors): names as the Hugging Face modeling files write
them (modeling_llama, modeling_deepseek_v3, modeling_gpt2, modeling_t5, modeling_llama4), and
the per-checkpoint index that the parameter count and the rules share."""

from __future__ import annotations

import pytest

from archlint import tensors as tn
from archlint.checkpoint import Checkpoint, TensorInfo


def _t(name: str, dtype: str = "BF16", shape: tuple[int, ...] = (8, 8)) -> TensorInfo:
    return TensorInfo(name, dtype, shape)


@pytest.mark.parametrize(("name", "component", "role", "layer"), [
    ("model.embed_tokens.weight", "embedding", "weight", None),
    ("model.layers.3.self_attn.q_proj.weight", "attention", "weight", 3),
    ("model.layers.3.post_attention_layernorm.weight", "norms", "weight", 3),
    ("model.layers.7.mlp.gate.weight", "router", "weight", 7),
    ("model.layers.7.mlp.gate.e_score_correction_bias", "router", "weight", 7),
    ("model.layers.7.mlp.experts.255.down_proj.weight", "routed_experts", "weight", 7),
    ("model.layers.7.mlp.experts.255.down_proj.weight_scale_inv", "routed_experts", "scale", 7),
    ("model.layers.7.mlp.shared_experts.up_proj.weight", "shared_experts", "weight", 7),
    ("transformer.h.11.attn.c_attn.weight", "attention", "weight", 11),
    ("transformer.h.11.attn.bias", "attention", "buffer", 11),  # GPT-2's causal mask
    ("decoder.block.5.layer.1.EncDecAttention.k.weight", "attention", "weight", 5),
    ("lm_head.weight", "head", "weight", None),
    ("model.layers.61.embed_tokens.weight", "embedding", "weight", 61),  # V3's MTP layer
    # Towers: modeling_llava, modeling_gemma3n, modeling_qwen2_vl, modeling_qwen2_audio.
    ("vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight", "towers", "weight",
     0),
    ("multi_modal_projector.linear_1.weight", "towers", "weight", None),
    ("image_newline", "towers", "weight", None),
    ("model.embed_vision.embedding.weight", "towers", "weight", None),
    ("model.audio_tower.conformer.0.attention.attn.q_proj.weight", "towers", "weight", None),
    ("visual.blocks.0.attn.qkv.weight", "towers", "weight", 0),
    ("audio_tower.layers.0.fc1.weight", "towers", "weight", 0),
    ("view_seperator", "towers", "weight", None),  # modeling_deepseek_vl_v2 spells it so
])
def test_names_classify_as_the_modeling_files_lay_them_out(
        name: str, component: str, role: str, layer: int | None) -> None:
    got = tn.classify(_t(name))
    assert (got.component, got.role, got.layer) == (component, role, layer)


def test_tower_parameters_are_counted_under_towers() -> None:
    from archlint.analysis.params import count_from_tensors

    ckpt = Checkpoint("m", "local", tensors=[
        _t("model.language_model.layers.0.mlp.up_proj.weight", shape=(16, 4)),
        _t("model.vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight", shape=(3, 5)),
        _t("model.multi_modal_projector.linear_1.weight", shape=(2, 7)),
    ])
    counts = count_from_tensors(ckpt, None)
    assert counts.by_component["towers"] == 3 * 5 + 2 * 7
    assert counts.by_component["dense_ffn"] == 16 * 4


def test_packing_follows_the_storage_format() -> None:
    # MXFP4 (OCP MX v1.0): two fp4 values per U8; GPTQ 4-bit: eight per I32.
    assert tn.classify(_t("model.layers.0.mlp.experts.down_proj_blocks", "U8")).pack_factor == 2
    assert tn.classify(_t("model.layers.0.mlp.down_proj.qweight", "I32"), 4).pack_factor == 8
    assert tn.classify(_t("model.layers.0.mlp.down_proj.weight")).pack_factor == 1


def test_decoder_blocks_group_roles_and_experts_and_leave_towers_out() -> None:
    ckpt = Checkpoint("m", "local", tensors=[
        _t("model.embed_tokens.weight"),
        _t("model.layers.0.self_attn.q_proj.weight"),
        _t("model.layers.1.mlp.experts.3.gate_proj.weight"),
        _t("model.layers.1.mlp.experts.12.down_proj.weight"),
        _t("model.vision_tower.layers.0.self_attn.q_proj.weight"),
        _t("model.mtp.layers.0.eh_proj.weight"),
        _t("lm_head.weight"),
    ])
    index = tn.tensor_index(ckpt)
    assert index is not None
    blocks = index.blocks
    assert sorted(blocks.layers) == [0, 1]
    assert blocks.layers[0].roles["q"].name == "model.layers.0.self_attn.q_proj.weight"
    assert blocks.layers[1].experts[3]["expert_gate"].name.endswith("experts.3.gate_proj.weight")
    assert blocks.layers[1].experts[12]["expert_down"].name.endswith("12.down_proj.weight")
    assert blocks.has_mtp_prefix and blocks.mtp_modules == {0}
    assert blocks.embed is ckpt.tensors[0] and blocks.lm_head is ckpt.tensors[-1]


def test_each_name_pattern_is_classified_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # 4 layers x 64 experts x 3 projections share 3 patterns (plus the router's one).
    names = [f"model.layers.{i}.mlp.experts.{e}.{p}.weight" for i in range(4)
             for e in range(64) for p in ("gate_proj", "up_proj", "down_proj")]
    names += [f"model.layers.{i}.mlp.gate.weight" for i in range(4)]
    monkeypatch.setattr(tn, "_PATTERNS", tn._PatternTable())
    calls = []
    real = tn._pattern
    monkeypatch.setattr(tn, "_pattern", lambda text: calls.append(text) or real(text))
    index = tn.TensorIndex([_t(n) for n in names])
    assert len(calls) == 4
    assert index.layer_numbers[-1] == 3
    assert {g.tensors for g in index.groups()} == {64, 1}


def test_the_index_is_built_once_per_checkpoint_and_rebuilt_when_the_table_changes() -> None:
    ckpt = Checkpoint("m", "local", tensors=[_t("model.layers.0.mlp.up_proj.weight")])
    first = tn.tensor_index(ckpt)
    assert tn.tensor_index(ckpt) is first
    ckpt.tensors = [*ckpt.tensors, _t("model.layers.1.mlp.up_proj.weight")]
    again = tn.tensor_index(ckpt)
    assert again is not first and again is not None and again.layer_numbers == [0, 1]
    assert tn.tensor_index(Checkpoint("m", "local")) is None


def test_a_name_holding_a_newline_is_classified_like_any_other() -> None:
    # Names are untrusted text: one containing the separator the index joins names with
    # must not shift its neighbours' classification.
    index = tn.TensorIndex([_t("model.layers.2.mlp.up_proj.weight"), _t("x.\n.1.y"),
                            _t("model.layers.5.self_attn.q_proj.weight")])
    assert index.layer_numbers == [2, None, 5]
    assert [p.component for p in index.patterns] == ["dense_ffn", "other", "attention"]
    assert index.numbers_of(1) == ["1"]


# -- the index's once-per-pattern answers are the per-name answers ----------------------------
def _fixture_tables() -> list[Checkpoint]:
    from tests.helpers import MODELS

    tables = [Checkpoint.load(p) for p in sorted(MODELS.glob("*.json.gz"))]
    return [c for c in tables if c.tensors]


def test_pattern_answers_are_the_name_answers() -> None:
    """Mixer hints, name suffixes and weight bytes read once per distinct pattern give what
    reading every name gives (the definitions: `mixer_hints` on the names, `str.endswith`,
    `TensorInfo.nbytes` summed), on every fixture's tensor table and on hand-made names
    whose numbers sit next to the suffix tested."""
    hand = [_t("model.layers.0.mixer.A_log", "F32", (4,)), _t("model.layers.12.mixer.dt_bias"),
            _t("model.layers.1.self_attn.q_proj.weight"), _t("x.layers.3.ffn.0_blocks", "U8"),
            _t("x.layers.3.ffn.7.qweight", "I32"), _t("lm_head.weight")]
    for tensors in [hand, *[c.tensors for c in _fixture_tables()]]:
        index = tn.TensorIndex(tensors)
        for layer in index.blocks.layers.values():
            assert layer.mixer_hints() == tn.mixer_hints(layer.names)
        for suffix in (".weight", "_blocks", ".qweight", "_scale_inv"):
            assert index.ending_with(suffix) == [t for t in tensors if t.name.endswith(suffix)]
        by_dtype: dict[str, int] = {}
        for t in index.weights:
            by_dtype[t.dtype] = by_dtype.get(t.dtype, 0) + t.nbytes
        assert index.weight_bytes_by_dtype == by_dtype
