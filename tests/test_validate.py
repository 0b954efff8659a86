"""The config validation pre-pass (archlint/families/validate.py): every value no model can have
is one ConfigError line naming the key; every real config passes untouched."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from archlint.checkpoint import Checkpoint
from archlint.errors import ConfigError
from archlint.families import build_spec
from archlint.families.validate import MAX_LAYERS, validate_config
from tests.helpers import TINY_LLAMA

ROOT = Path(__file__).resolve().parent.parent
LLAMA = dict(TINY_LLAMA)


def analyze_config(config: dict[str, Any]) -> None:
    from archlint.api import analyze_checkpoint

    analyze_checkpoint(Checkpoint(model_id="m", source="local", config=config))


def with_(**values: Any) -> dict[str, Any]:
    config = {**LLAMA, **values}
    return {k: v for k, v in config.items() if v is not _DROP}


_DROP = object()

# (config, the key the message must name), each from the list of crashes and silent
# wrong results, or from transformers' types for the key.
REFUSED = {
    # a known model type takes transformers' default (LlamaConfig: 32); an unknown one has none
    "layers-missing": (with_(model_type="weird", num_hidden_layers=_DROP), "num_hidden_layers"),
    "layers-zero": (with_(num_hidden_layers=0), "num_hidden_layers"),
    "layers-negative": (with_(num_hidden_layers=-1), "num_hidden_layers"),
    "layers-bool": (with_(num_hidden_layers=True), "num_hidden_layers"),
    "layers-absurd": (with_(num_hidden_layers=2_000_000), "num_hidden_layers"),
    "layers-string": (with_(num_hidden_layers="2"), "num_hidden_layers"),
    # issue 13's escaping repro: 300 KB of OSC introducers as the model type (echoed whole into
    # every coverage line before); transformers' longest model_type is a few dozen characters
    "model-type-document": (with_(model_type="\x1b]" * 150_000), "model_type"),
    "activation-document": (with_(hidden_act="silu" * 100), "hidden_act"),
    "heads-zero": (with_(num_attention_heads=0), "num_attention_heads"),
    "heads-negative": (with_(num_attention_heads=-4), "num_attention_heads"),
    "kv-more-than-heads": (with_(num_attention_heads=4, num_key_value_heads=8),
                           "num_key_value_heads"),
    "kv-not-dividing": (with_(num_attention_heads=6, num_key_value_heads=4,
                              hidden_size=96), "num_key_value_heads"),
    "kv-zero": (with_(num_key_value_heads=0), "num_key_value_heads"),
    "hidden-string": (with_(hidden_size="64"), "hidden_size"),
    "vocab-4000-digits": (with_(vocab_size=10**3999), "vocab_size"),
    "architectures-string": (with_(architectures="LlamaForCausalLM"), "architectures"),
    "text-config-null": (with_(model_type="llama4", text_config=None), "text_config"),
    "softcap-string": (with_(model_type="gemma2", attn_logit_softcapping="50"),
                       "attn_logit_softcapping"),
    "softcap-nan": (with_(final_logit_softcapping=math.nan), "final_logit_softcapping"),
    "quantization-string": (with_(quantization_config="fp8"), "quantization_config"),
    "quantization-bits-list": (with_(quantization_config={"quant_method": "gptq",
                                                          "bits": [4]}),
                               "quantization_config.bits"),
    "quantization-groups": (with_(quantization_config={"config_groups": {"g": 5}}),
                            "quantization_config.config_groups"),
    "sliding-window-zero": (with_(model_type="starcoder2", sliding_window=0), "sliding_window"),
    "layer-types-short": (with_(layer_types=["full_attention"]), "layer_types"),
    "layer-types-not-strings": (with_(layer_types=[1, 2]), "layer_types"),
    "hidden-act-list": (with_(hidden_act=["silu"]), "hidden_act"),
    "rope-scaling-string": (with_(rope_scaling="yarn"), "rope_scaling"),
    "rope-factor-infinity": (with_(rope_scaling={"rope_type": "yarn", "factor": math.inf}),
                             "rope_scaling.factor"),
    "text-config-layers": (with_(text_config={**LLAMA, "num_hidden_layers": -1}),
                           "text_config.num_hidden_layers"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_impossible_values_are_one_line_naming_the_key(name: str) -> None:
    config, key = REFUSED[name]
    with pytest.raises(ConfigError) as caught:
        analyze_config(json.loads(json.dumps(config)) if name != "softcap-nan" else config)
    line = caught.value.one_line()
    assert line.startswith("config.json: ") and key in line and "\n" not in line, line
    assert len(line) < 300  # the 4000-digit integer is described, not echoed


def test_the_layer_cap_is_a_clear_error_not_minutes_of_work() -> None:
    with pytest.raises(ConfigError, match=f"at most {MAX_LAYERS:,}"):
        validate_config(with_(num_hidden_layers=10**9))
    validate_config(with_(num_hidden_layers=MAX_LAYERS))


# Keys transformers writes as null for "unset", and other shapes real configs have.
ACCEPTED = {
    "sliding-window-null": with_(sliding_window=None),
    "head-dim-null": with_(head_dim=None),
    "rope-scaling-null": with_(rope_scaling=None),
    "quantization-null": with_(quantization_config=None),
    "architectures-null": with_(architectures=None),
    "layers-as-float": with_(num_hidden_layers=2.0),  # JSON has one number type
    "q-lora-rank-zero": with_(q_lora_rank=0),  # DeepSeek-V2-Lite: full-rank queries
    "mqa": with_(num_key_value_heads=1),
    # transformers' Qwen2-MoE default: a window of 0 that use_sliding_window switches off
    "sliding-window-zero-unused": with_(model_type="qwen2_moe", sliding_window=0,
                                        use_sliding_window=False),
    "infinity-in-an-unread-key": with_(max_length=math.inf),  # read as Python's json reads it
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_legitimate_values_pass(name: str) -> None:
    validate_config(ACCEPTED[name])
    build_spec(ACCEPTED[name])


def _real_configs() -> list[Path]:
    return sorted([*(ROOT / "fixtures" / "models").glob("*.json.gz"),
                   *(ROOT / "fixtures" / "zoo").glob("*.json.gz"),
                   *(ROOT / "archlint" / "catalog").glob("*.json.gz")])


def test_every_real_config_passes() -> None:
    checked = 0
    for path in _real_configs():
        try:
            config = Checkpoint.load(path).config
        except Exception:  # a zoo file in another format
            continue
        if isinstance(config, dict):
            validate_config(config)
            checked += 1
    assert checked >= 50  # 29 fixtures + 29 catalog entries, most with a config


def test_config_with_infinity_is_read_as_python_reads_it(tmp_path: Path) -> None:
    from archlint.source.config_file import parse_config

    config, _ = parse_config(b'{"model_type": "llama", "max_length": Infinity, "x": NaN}')
    assert config["max_length"] == math.inf and math.isnan(config["x"])
