"""Families that ship their own modeling code (`trust_remote_code`; transformers has no class
for them), read from real configs in `fixtures/zoo/` (provenance in SOURCES.json). Their totals
and KV bytes are checked against hand counts in `fixtures/zoo/EXPECTED.json`
(tests/test_zoo_configs.py); this file checks the structure those counts rest on, as each
repo's modeling file builds it, and how an unseen model type is read: like Llama when its keys
are Llama's, with the keys it did not understand listed when they are not.
"""

from __future__ import annotations

import json
import random

import pytest

from archlint.analysis.profile import Options
from archlint.api import Analysis, analyze_checkpoint
from archlint.checkpoint import Checkpoint
from archlint.errors import ArchlintError
from tests.test_zoo_configs import config_only, zoo


def analyse(config: dict) -> Analysis:
    text = json.dumps(config)
    ckpt = Checkpoint(model_id="test/remote-code", source="catalog", config=config,
                      config_text=text, files={"config.json": len(text)}, weights_format="none")
    return analyze_checkpoint(ckpt, Options(batch=1))


def config(model_id: str) -> dict:
    return json.loads(json.dumps(zoo(model_id).config))


def renamed(cfg: dict, model_type: str = "zz_unseen_family") -> dict:
    """The same config under a model type no adapter or transformers table knows."""
    return {**cfg, "model_type": model_type, "architectures": ["ZzUnseenForCausalLM"],
            "auto_map": {}}


def test_qwen1_mlp_is_half_of_intermediate_size_and_c_attn_is_biased() -> None:
    # Qwen/Qwen-7B modeling_qwen.py: QWenMLP's w1, w2 = nn.Linear(h, intermediate_size // 2),
    # c_attn = nn.Linear(h, 3 * projection_size) (bias=True), c_proj bias=not no_bias
    spec = analyze_checkpoint(config_only(zoo("Qwen/Qwen-7B"))).spec
    layer = spec.layers[0]
    assert layer.ffn.intermediate_size == 22016 // 2 and layer.ffn.gated
    assert (layer.attention.qkv_bias, layer.attention.o_bias, layer.ffn.bias) == (True, False,
                                                                                  False)
    assert layer.attention.head_dim == 128  # kv_channels
    assert not spec.tie_word_embeddings  # QWenConfig: tie_word_embeddings=False


def test_internlm_biases_attention_not_mlp() -> None:
    # modeling_internlm.py: q/k/v/o_proj bias=config.bias, gate/up/down_proj bias=False
    layer = analyze_checkpoint(config_only(zoo("internlm/internlm-chat-7b"))).spec.layers[0]
    assert (layer.attention.qkv_bias, layer.attention.o_bias, layer.ffn.bias) == (True, True,
                                                                                  False)


def test_orion_blocks_use_layernorm_with_bias() -> None:
    spec = analyze_checkpoint(config_only(zoo("Rookied/rinko-test"))).spec
    assert (spec.norm, spec.norm_bias) == ("layernorm", True)


def test_decilm_kv_heads_follow_the_per_layer_list() -> None:
    # Deci/DeciLM-7B's config, as its model card shows it: variable GQA per layer
    wanted = [4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
              1, 1, 1, 1, 4]
    spec = analyze_checkpoint(config_only(zoo("Deci/DeciLM-7B-instruct"))).spec
    assert [layer.attention.num_kv_heads for layer in spec.layers] == wanted
    assert {layer.attention.num_heads for layer in spec.layers} == {32}
    assert spec.coverage.unknown_keys == []


def test_openelm_layer_wise_scaling() -> None:
    # OpenELM-270M (arXiv:2404.14619 §2): query/KV heads per layer from its config, FFN widths
    # make_divisible(ffn_multipliers[i] × 1280, 256) worked out by hand: 0.5 × 1280 = 640 →
    # 768, 0.73 × 1280 = 934.4 → 1024, ..., 1.9 × 1280 = 2432 → 2560, ..., 4.0 → 5120
    widths = [768, 1024, 1280, 1536, 1792, 2048, 2560, 2816, 3072, 3328, 3584, 3840, 4352,
              4608, 4864, 5120]
    heads = [(12, 3)] * 5 + [(16, 4)] * 7 + [(20, 5)] * 4
    spec = analyze_checkpoint(config_only(zoo("TinyPixel/OpenELM-270M"))).spec
    assert spec.hidden_size == 1280 and spec.num_layers == 16 and spec.tie_word_embeddings
    assert [layer.ffn.intermediate_size for layer in spec.layers] == widths
    assert [(a.num_heads, a.num_kv_heads) for a in (lay.attention for lay in spec.layers)] == heads
    assert all(layer.attention.head_dim == 64 and layer.attention.qk_norm
               for layer in spec.layers)
    assert spec.coverage.unknown_keys == []


def test_jais_is_gpt2_with_swiglu_and_alibi() -> None:
    # core42's modeling_jais.py: c_fc, c_fc2 and c_proj (swiglu), ALiBi slopes instead of wpe
    spec = analyze_checkpoint(config_only(zoo("core42/jais-30b-v3"))).spec
    layer = spec.layers[0]
    assert layer.ffn.gated and layer.ffn.bias and layer.ffn.intermediate_size == 19114
    assert layer.attention.positional == "alibi" and not spec.positional_embedding
    assert (spec.norm, spec.norm_bias, spec.tie_word_embeddings) == ("layernorm", True, True)


def test_chatglm_v1_keys_are_listed_as_not_understood() -> None:
    """ChatGLM-6B (v1) shares model_type `chatglm` with ChatGLM2/3 but is another block (2D
    positions, a GELU MLP of inner_hidden_size, LayerNorm, biases): the chatglm reader reads
    the v2/v3 dialect, so the v1 keys it cannot place must be named, not silently dropped."""
    cov = analyze_checkpoint(config_only(zoo("lykeven/uptest"))).spec.coverage
    assert {"inner_hidden_size", "position_encoding_2d"} <= set(cov.unknown_keys)
    v3 = analyze_checkpoint(config_only(zoo("THUDM/chatglm3-6b"))).spec.coverage
    assert v3.unknown_keys == []


def test_openelm_without_its_per_layer_lists_says_so() -> None:
    cfg = {k: v for k, v in config("TinyPixel/OpenELM-270M").items()
           if k not in ("num_query_heads", "num_kv_heads")}
    items = analyse(cfg).spec.coverage.items
    assert [item.how for item in items if item.how == "not_understood"] == ["not_understood"]


@pytest.mark.parametrize("model_id", ["baichuan-inc/Baichuan-13B-Chat",
                                      "baichuan-inc/Baichuan2-7B-Base"])
def test_baichuan_positions_are_marked_assumed(model_id: str) -> None:
    """The 13B repos' modeling code applies ALiBi, the 7B repos' RoPE; config.json cannot say
    which, so the report says it assumed rather than stating either as read."""
    cov = analyze_checkpoint(config_only(zoo(model_id))).spec.coverage
    assert [item.how for item in cov.items if item.part == "positions"] == ["assumed"]


@pytest.mark.parametrize("model_id", [
    "xverse/XVERSE-65B", "heegyu/EXAONE-3.0-7.8B-Instruct-bf16",
    "Goekdeniz-Guelmez/MiniCPM-2B-sft-fp32-safetensors", "deepseek-ai/deepseek-moe-16b-base",
    "01-ai/Yi-6B-200K",
])
def test_standard_remote_families_are_read_as_best_effort(model_id: str) -> None:
    """Right by the standard reading (EXPECTED.json), and reported as that reading."""
    analysis = analyze_checkpoint(config_only(zoo(model_id)))
    assert {item.how for item in analysis.spec.coverage.items} == {"generic"}
    assert any("best-effort report from standard keys" in n for n in analysis.spec.notes)
    assert analysis.spec.coverage.unknown_keys == []


def test_a_family_without_a_reader_reads_megatrons_ffn_width() -> None:
    """TeleChat-12B (`telechat`, no reader) names its FFN width `ffn_hidden_size`, Megatron's
    key: read as the width (12,288), not assumed to be 4 × hidden, and the whole stack is still
    marked as read generically (the card's 12B is met in the zoo figures)."""
    spec = analyze_checkpoint(config_only(zoo("Tele-AI/TeleChat-12B"))).spec
    assert {layer.ffn.intermediate_size for layer in spec.layers} == {12_288}
    assert spec.coverage.unknown_keys == []
    assert [i.how for i in spec.coverage.items] == ["generic"]
    assert not any(i.part.startswith("FFN width") for i in spec.coverage.items)


#: real configs whose keys are Llama's (and which declare their tie): an unseen model type
#: with them must come out as Llama does
LLAMA_STANDARD = ["xverse/XVERSE-65B", "internlm/internlm2-chat-7b",
                  "heegyu/EXAONE-3.0-7.8B-Instruct-bf16", "baichuan-inc/Baichuan2-7B-Base",
                  "01-ai/Yi-6B-200K"]


def figures(analysis: Analysis) -> tuple[int, int, int]:
    profile = analysis.profile
    return profile.params.total, profile.kv.bytes_per_token, profile.params.active


@pytest.mark.parametrize("model_id", LLAMA_STANDARD)
def test_an_unseen_type_with_llama_keys_equals_llama(model_id: str) -> None:
    cfg = config(model_id)
    unseen = analyse(renamed(cfg))
    assert figures(unseen) == figures(analyse(renamed(cfg, "llama")))
    assert any("has no adapter: best-effort report from standard keys" in n
               for n in unseen.spec.notes)
    assert unseen.spec.coverage.unknown_keys == []


@pytest.mark.parametrize("model_id, not_understood", [
    ("Deci/DeciLM-7B-instruct", {"num_key_value_heads_per_layer"}),
    ("Qwen/Qwen-7B", {"kv_channels", "no_bias"}),
])
def test_an_unseen_type_lists_the_structural_keys_it_did_not_read(
    model_id: str, not_understood: set[str]
) -> None:
    unseen = analyse(renamed(config(model_id)))
    assert set(unseen.spec.coverage.unknown_keys) == not_understood


def test_an_unseen_type_with_openelm_keys_is_refused_not_guessed() -> None:
    # no layer count under any standard name (num_transformer_layers), no hidden_size
    with pytest.raises(ArchlintError, match="num_hidden_layers is missing"):
        analyse(renamed(config("TinyPixel/OpenELM-270M")))


@pytest.mark.parametrize("dropped, part, how", [
    ("num_attention_heads", "attention of layers 0-79", "not_understood"),
    ("vocab_size", "token embedding and head", "not_understood"),
    ("hidden_size", "hidden size", "not_understood"),
    ("intermediate_size", "FFN width of layers 0-79", "assumed"),
])
def test_an_unseen_type_missing_a_standard_key_says_so(dropped: str, part: str, how: str) -> None:
    """Llama's configuration class would supply the key's default; an unseen type has none,
    so the part is named instead of counted as empty (or as 4 × hidden wide)."""
    cfg = {k: v for k, v in config("xverse/XVERSE-65B").items() if k != dropped}
    items = analyse(renamed(cfg)).spec.coverage.items
    assert [item.how for item in items if item.part == part] == [how]


#: structural keys of the remote dialects, with their real values, that the standard reader
#: does not consume
FOREIGN = {
    "num_key_value_heads_per_layer": config("Deci/DeciLM-7B-instruct")[
        "num_key_value_heads_per_layer"],
    "kv_channels": 128,
    "no_bias": True,
    "ffn_multipliers": config("TinyPixel/OpenELM-270M")["ffn_multipliers"],
    "qkv_multipliers": [0.5, 1.0],
    "num_query_heads": config("TinyPixel/OpenELM-270M")["num_query_heads"],
    "model_dim": 1280,
}


@pytest.mark.parametrize("seed", range(40))
def test_fuzz_key_subsets_of_llama_standard_configs(seed: int) -> None:
    """Any subset of a Llama-standard config's keys under an unseen type: refused cleanly, the
    Llama figures, or a coverage that names what it could not count (Llama's config class
    fills a missing key with a default; an unseen type has none to fill it with)."""
    rng = random.Random(seed)
    cfg = config(rng.choice(LLAMA_STANDARD))
    keys = [k for k in cfg if k not in ("model_type", "architectures", "tie_word_embeddings")]
    kept = {k: cfg[k] for k in keys if rng.random() < 0.7}
    kept["tie_word_embeddings"] = cfg.get("tie_word_embeddings", False)
    try:
        unseen = analyse(renamed(kept))
    except ArchlintError:
        return
    gaps = [item.part for item in unseen.spec.coverage.items
            if item.how in ("not_understood", "assumed")]
    assert gaps or figures(unseen) == figures(analyse(renamed(kept, "llama")))


@pytest.mark.parametrize("seed", range(40))
def test_fuzz_foreign_structural_keys_are_listed(seed: int) -> None:
    """A random subset of the remote dialects' structural keys injected into a Llama-standard
    config under an unseen type: every one is reported as not understood."""
    rng = random.Random(seed)
    cfg = config(rng.choice(LLAMA_STANDARD))
    injected = {k: v for k, v in FOREIGN.items() if rng.random() < 0.5} or {"kv_channels": 128}
    unseen = analyse(renamed({**cfg, **injected}))
    assert set(injected) <= set(unseen.spec.coverage.unknown_keys)
