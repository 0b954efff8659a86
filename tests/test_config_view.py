"""One view of a config for the adapters and the rules (`archlint.families.ConfigView`,
`RuleContext.view`): on wrappers (a language model in `text_config`), each key is read from the
config transformers reads it from. The expected values are transformers' own: each case builds
the config with `transformers.AutoConfig.for_model` and reads the attribute the model uses.

The rules' raw lookups this replaced read `original_max_position_embeddings` from the wrapper's
root only, `torch_dtype` before `dtype`, and located a wrapper's dtype at text_config's key
while reading the root's; the view read a null in text_config as "absent" and answered with
the root's value.
"""

from __future__ import annotations

from typing import Any

import pytest

from archlint.api import analyze_checkpoint
from archlint.families import config_view
from archlint.lint.config import parse_config
from archlint.lint.engine import run_rules
from fixtures.rules.dsl import LLAMA, checkpoint, llama_rows, llava, with_config

#: (case, config, the key read, where transformers' value lives): a config attribute of the
#: wrapper itself ("root", what `from_pretrained(dtype="auto")` loads with) or of the text model
#: it builds ("text", `config.get_text_config()`)
CASES: list[tuple[str, dict[str, Any], tuple[str, ...], str]] = [
    ("wrapper dtype over text_config's",
     llava(LLAMA, torch_dtype="float32"), ("dtype", "torch_dtype"), "root"),
    ("dtype kept over torch_dtype",
     with_config(LLAMA, dtype="bfloat16", torch_dtype="float32"), ("dtype", "torch_dtype"), "root"),
    ("text_config's original_max_position_embeddings",
     llava(with_config(LLAMA, original_max_position_embeddings=8192)),
     ("original_max_position_embeddings",), "text"),
    ("text_config's null is not the root's value",
     {"model_type": "gemma3", "sliding_window": 77, "text_config": {"sliding_window": None}},
     ("sliding_window",), "text"),
    ("Qwen2's use_sliding_window default", with_config(LLAMA, model_type="qwen2",
                                                        sliding_window=4096),
     ("use_sliding_window",), "text"),
]


def _transformers_value(config: dict[str, Any], key: str, where: str) -> Any:
    transformers = pytest.importorskip("transformers")
    built = transformers.AutoConfig.for_model(**config)
    target = built if where == "root" else built.get_text_config()
    value = getattr(target, key, None)
    return str(value).removeprefix("torch.") if key == "dtype" and value is not None else value


@pytest.mark.parametrize(("name", "config", "keys", "where"), CASES, ids=[c[0] for c in CASES])
def test_view_reads_each_key_where_transformers_does(
        name: str, config: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    view = config_view(config)
    value, _, _ = view.lookup_sourced(*keys)
    assert value == _transformers_value(config, keys[0], where)


def test_wrapper_dtype_is_the_roots_and_so_is_its_location() -> None:
    """A LLaVA checkpoint stored in bf16 whose wrapper says float32 (transformers loads it in
    float32) and whose text_config says bfloat16: AL402 points at the root's key, and the
    spec's declared dtype is the wrapper's."""
    config = llava(LLAMA, torch_dtype="float32")
    assert _transformers_value(config, "dtype", "root") == "float32"
    analysis = analyze_checkpoint(checkpoint(config, llama_rows()))
    assert analysis.spec.dtype == "fp32"
    assert analysis.spec.provenance["dtype"].key == "torch_dtype"
    (finding,) = run_rules(analysis, config=parse_config({"select": ["AL402"]}))
    assert finding.location.pointer == "/torch_dtype"
    text, line = analysis.checkpoint.config_text, finding.location.line
    assert text is not None and line is not None
    assert text.splitlines()[line - 1].strip() == '"torch_dtype": "float32"'


def test_spec_dtype_keeps_dtype_over_torch_dtype() -> None:
    config = with_config(LLAMA, dtype="bfloat16", torch_dtype="float32")
    assert _transformers_value(config, "dtype", "root") == "bfloat16"
    spec = analyze_checkpoint(checkpoint(config, llama_rows())).spec
    assert (spec.dtype, spec.provenance["dtype"].key) == ("bf16", "dtype")


def test_text_config_null_declares_null_in_locations_too() -> None:
    """A key text_config declares null is located there, not at the wrapper's value."""
    config = {"model_type": "gemma3", "sliding_window": 77, "text_config": {"sliding_window": None}}
    view = config_view(config)
    assert view.lookup("sliding_window") == (None, None)
    assert view.declared_key("sliding_window") == "text_config.sliding_window"


def test_rules_read_declared_values_unless_a_default_is_meant() -> None:
    """AL203's "trained length" is what the file declares: Phi-3's class default 4096 for an
    omitted `original_max_position_embeddings` is no statement (transformers reads it only
    with longrope scaling), so a Phi-3 config with 128k positions and no scaling is not
    flagged; one that declares 4096 is."""
    phi3 = {"model_type": "phi3", "architectures": ["Phi3ForCausalLM"], "hidden_size": 64,
            "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
            "vocab_size": 256, "max_position_embeddings": 131072}
    assert _transformers_value(phi3, "original_max_position_embeddings", "text") == 4096
    select = parse_config({"select": ["AL203"]})
    omitted = analyze_checkpoint(checkpoint(phi3, None))
    assert run_rules(omitted, config=select) == []
    declared = analyze_checkpoint(
        checkpoint(with_config(phi3, original_max_position_embeddings=4096), None))
    assert [f.message_id for f in run_rules(declared, config=select)] == ["unscaled"]


#: (case, config): the spec's norm epsilon must be the one transformers' config holds, declared
#: or its class default, for RMSNorm and LayerNorm dialects and inside a wrapper
EPS_CASES: list[tuple[str, dict[str, Any]]] = [
    ("llama declared", LLAMA),
    ("qwen2 omitted: Qwen2Config's 1e-6", with_config(LLAMA, model_type="qwen2",
                                                       rms_norm_eps=None)),
    ("gpt2 omitted: layer_norm_epsilon 1e-5",
     {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 256}),
    ("falcon declared layer_norm_epsilon",
     {"model_type": "falcon", "hidden_size": 64, "num_hidden_layers": 2,
      "num_attention_heads": 4, "vocab_size": 256, "layer_norm_epsilon": 3e-5}),
    ("gemma3 wrapper, text_config omits it",
     {"model_type": "gemma3", "text_config": {"hidden_size": 64, "num_hidden_layers": 2,
                                              "num_attention_heads": 4, "head_dim": 16}}),
]
_EPS_ATTRIBUTES = ("rms_norm_eps", "layer_norm_epsilon", "layer_norm_eps")


@pytest.mark.parametrize(("name", "config"), EPS_CASES, ids=[c[0] for c in EPS_CASES])
def test_spec_norm_eps_is_transformers(name: str, config: dict[str, Any]) -> None:
    transformers = pytest.importorskip("transformers")
    text = transformers.AutoConfig.for_model(**config).get_text_config()
    (expected,) = {getattr(text, a) for a in _EPS_ATTRIBUTES if getattr(text, a, None)}
    spec = analyze_checkpoint(checkpoint(config, None)).spec
    assert spec.norm_eps == expected
    assert spec.provenance["norm_eps"].kind in ("declared", "default")


def test_bench_layer_takes_the_specs_eps() -> None:
    pytest.importorskip("torch")
    from archlint.bench.layer import BenchLayer

    config = with_config(LLAMA, rms_norm_eps=3e-6)
    spec = analyze_checkpoint(checkpoint(config, None)).spec
    assert BenchLayer(spec, 0, dtype="fp32", device="cpu").eps == spec.norm_eps == 3e-6
