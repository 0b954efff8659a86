"""The shipped transformers defaults table (archlint.families.tf_tables) against transformers
itself, and the loader's promise never to import it."""

from __future__ import annotations

import json

import pytest

from archlint.families import tf_tables
from tests.helpers import fresh_python

SAMPLE = ("llama", "gpt2", "mamba", "qwen3_next", "gemma3", "llava", "t5", "bert", "whisper",
          "deepseek_v3", "mixtral", "jamba")


def test_loader_never_imports_transformers_or_torch() -> None:
    code = (
        "import sys, json\n"
        "from archlint.families import tf_tables as t\n"
        "d = t.defaults_for('llama'); t.category('mamba'); t.attribute_map('gpt2')\n"
        "print(json.dumps([d['hidden_size'], 'transformers' in sys.modules, "
        "'torch' in sys.modules]))\n"
    )
    hidden, tf_loaded, torch_loaded = json.loads(fresh_python(code))
    # LlamaConfig's documented default hidden_size is 4096.
    assert hidden == 4096
    assert not tf_loaded and not torch_loaded


def test_hand_checked_facts() -> None:
    # From transformers' modeling sources: GPT2Config.attribute_map maps n_embd to hidden_size,
    # LLaVA's default text_config is a Llama config, and these task classes exist.
    assert tf_tables.attribute_map("gpt2")["hidden_size"] == "n_embd"
    assert tf_tables.sub_configs("llava") == {"vision_config": "clip_vision_model",
                                              "text_config": "llama"}
    assert tf_tables.model_classes("llama")["causal_lm"] == "LlamaForCausalLM"
    assert tf_tables.category("llama") == "decoder"
    assert tf_tables.category("mamba") == "decoder"
    assert tf_tables.category("bert") == "encoder"
    assert tf_tables.category("t5") == "encoder-decoder"
    assert tf_tables.category("bart") == "encoder-decoder"
    assert tf_tables.category("llava") == "multimodal"
    assert tf_tables.category("whisper") == "multimodal"
    assert tf_tables.category("vit") == "vision"
    assert tf_tables.category("wav2vec2") == "audio"
    assert not tf_tables.in_scope("vit")
    # Llama computes head_dim and num_key_value_heads from other keys when omitted.
    assert {"head_dim", "num_key_value_heads"} <= tf_tables.derived_keys("llama")
    assert tf_tables.defaults_for("no-such-type") is None


def test_defaults_are_copies() -> None:
    first = tf_tables.defaults_for("llama")
    assert first is not None
    first["hidden_size"] = 1
    assert tf_tables.defaults_for("llama")["hidden_size"] == 4096


def _assert_subset(table: dict, expected: dict, where: str) -> None:
    """Every value the table holds is transformers' (nested sub-configs recursively); the
    table only leaves out bookkeeping keys."""
    for key, value in table.items():
        if isinstance(value, dict) and "model_type" in value:
            _assert_subset(value, expected[key], f"{where}.{key}")
        else:
            assert expected[key] == value, f"{where}.{key}"
    dropped = set(expected) - set(table)
    assert dropped <= {"transformers_version", "_name_or_path", "output_hidden_states",
                       "output_attentions", "return_dict", "id2label", "label2id",
                       "problem_type", "chunk_size_feed_forward", "architectures"}


@pytest.mark.parametrize("model_type", SAMPLE)
def test_table_agrees_with_transformers(model_type: str) -> None:
    transformers = pytest.importorskip("transformers")
    from transformers import CONFIG_MAPPING

    assert tf_tables.transformers_version() == transformers.__version__
    cls = CONFIG_MAPPING[model_type]
    assert tf_tables.config_class(model_type) == cls.__name__
    assert tf_tables.attribute_map(model_type) == dict(cls.attribute_map)
    assert set(tf_tables.sub_configs(model_type)) == set(cls.sub_configs)
    expected = json.loads(json.dumps(cls().to_dict()))
    table = tf_tables.defaults_for(model_type)
    assert table is not None
    _assert_subset(table, expected, model_type)
    for key in ("hidden_size", "num_hidden_layers", "vocab_size", "model_type"):
        if key in expected:
            assert table[key] == expected[key]


def test_shipped_index_points_at_every_entry_of_the_table() -> None:
    """The index a report reads entries through was written for these table bytes (the
    generator writes both; scripts/gen_transformers_tables.py), and each span decodes to the
    entry the whole table holds."""
    import gzip
    from pathlib import Path

    folder = Path(tf_tables.__file__).parent
    text = gzip.decompress((folder / tf_tables.TABLE).read_bytes())
    shipped = json.loads((folder / tf_tables.INDEX).read_text())
    assert shipped == tf_tables.index_of(text)
    assert tf_tables._index() == shipped  # its CRC-32 is the one the gzip trailer carries
    table = json.loads(text)["types"]
    assert sorted(shipped["types"]) == sorted(table)
    for name, (start, end) in shipped["types"].items():
        assert json.loads(text[start:end]) == table[name]


def test_a_stale_index_falls_back_to_the_whole_table(monkeypatch: pytest.MonkeyPatch) -> None:
    # the table regenerated (one more byte: another CRC-32 in its gzip trailer), its index not
    raw = (tf_tables.resources.files(tf_tables.__package__) / tf_tables.TABLE).read_bytes()
    other = tf_tables.gzip.compress(tf_tables.gzip.decompress(raw) + b" ", mtime=0)
    monkeypatch.setattr(tf_tables, "_table_bytes", lambda: other)
    caches = (tf_tables._text, tf_tables._table, tf_tables._index, tf_tables._entry_at)
    for cached in caches:
        cached.cache_clear()
    try:
        assert tf_tables._index() is None
        assert tf_tables.attribute_map("gpt2")["hidden_size"] == "n_embd"
    finally:
        for cached in caches:
            cached.cache_clear()


def test_dotted_defaults_are_the_ones_transformers_builds() -> None:
    """A key inside a sub-config or a dict value takes the default transformers applies:
    the wrapper's default sub-config when the config omits it, the sub-config class's own
    when the config declares the sub-config (BltLocalEncoderConfig for a given
    encoder_config), and a dict's entry (DeepseekV4Config.compress_rates); a key the
    sub-config's class computes (the local encoder's intermediate_size) has none."""
    from transformers import AutoConfig

    from archlint.families.base import ConfigView

    blt = AutoConfig.for_model("blt")
    view = ConfigView({"model_type": "blt"})
    for part in ("encoder_config", "decoder_config", "global_config", "patcher_config"):
        for key in ("hidden_size", "num_attention_heads", "num_hidden_layers"):
            value, path, from_default = view.lookup_sourced(f"{part}.{key}")
            assert (value, path, from_default) == (
                getattr(getattr(blt, part), key), f"{part}.{key}", True
            )
    assert view.lookup("encoder_config.intermediate_size") == (None, None)

    given = {"model_type": "blt", "encoder_config": {"hidden_size": 512}}
    built = AutoConfig.for_model("blt", encoder_config={"hidden_size": 512})
    view = ConfigView(given)
    assert view.lookup("encoder_config.hidden_size") == (512, "encoder_config.hidden_size")
    assert view.lookup("encoder_config.num_hidden_layers")[0] == (
        built.encoder_config.num_hidden_layers
    )

    rates = AutoConfig.for_model("deepseek_v4").compress_rates
    view = ConfigView({"model_type": "deepseek_v4"})
    for kind, rate in rates.items():
        assert view.computed_default(f"compress_rates.{kind}") == (rate, f"compress_rates.{kind}")
    idefics = AutoConfig.for_model("idefics")
    view = ConfigView({"model_type": "idefics"})
    assert view.lookup("vision_config.embed_dim")[0] == idefics.vision_config.embed_dim


def test_a_declared_value_the_class_ignores_is_not_read() -> None:
    """UnlimitedOcrTextConfig recomputes head_dim = hidden_size // num_attention_heads in
    `__post_init__` whatever the config declares, so a stale head_dim (128 over 20 heads of
    1280) builds 64-wide heads; LlamaConfig keeps a declared head_dim, and so does archlint."""
    from transformers import AutoConfig

    from archlint.families import build_spec

    text = {"model_type": "unlimited_ocr_text", "hidden_size": 1280,
            "num_attention_heads": 20, "num_key_value_heads": 10, "head_dim": 128}
    built = AutoConfig.for_model("unlimited_ocr", text_config=dict(text)).text_config
    spec = build_spec({"model_type": "unlimited_ocr", "text_config": text})
    assert spec.layers[0].attention.head_dim == built.head_dim == 64
    assert "head_dim" in tf_tables.overridden_keys("unlimited_ocr_text")
    llama = {"model_type": "llama", "hidden_size": 1280, "num_attention_heads": 20,
             "head_dim": 128}
    assert build_spec(llama).layers[0].attention.head_dim == 128
    assert AutoConfig.for_model(**llama).head_dim == 128
