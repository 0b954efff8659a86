"""Shared test helpers: load the project's own fixtures (fixtures/, never the steering folder).

Imported as `tests.helpers` everywhere (one module, one cache): the repository root is on
pytest's path (`pythonpath = ["."]`)."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

from archlint.analysis.profile import Options
from archlint.api import Analysis, analyze_checkpoint
from archlint.checkpoint import Checkpoint

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "fixtures" / "models"

#: The tiny Llama config the tests build their edge cases from (a copy each time: `dict(...)`):
#: GQA with 4 query and 2 KV heads of 16, 2 layers, a 128-token vocabulary. Tests that need
#: other sizes (hand counts, the rules' examples in fixtures/rules/dsl.py) state their own.
TINY_LLAMA: dict[str, object] = {
    "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64,
    "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
    "num_hidden_layers": 2, "vocab_size": 128,
}


def fixture_checkpoint(model_id: str) -> Checkpoint:
    """A fresh copy of a model from fixtures/models, by its Hub id (`org/name`): for a test
    that changes it."""
    return Checkpoint.load(MODELS / (model_id.replace("/", "__", 1) + ".json.gz"))


@cache
def fixture(model_id: str) -> Checkpoint:
    """Cached: the DeepSeek tensor table has 92k rows; tests must not mutate the result."""
    return fixture_checkpoint(model_id)


def analysis(model_id: str, **options: object) -> Analysis:
    return analyze_checkpoint(fixture(model_id), Options(**options))  # type: ignore[arg-type]


def transformers_weights(config: dict, model_class: str | type | None = None) -> int:
    """What a checkpoint of `config` holds by transformers' own modules, built on the meta
    device: parameters (tied ones once) plus persistent buffers. `model_class`: a class or
    its name in transformers (default: the causal-LM Auto class). Needs torch and
    transformers (callers importorskip them)."""
    import warnings

    import torch
    import transformers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = transformers.AutoConfig.for_model(**config)
        with torch.device("meta"):
            if model_class is None:
                model = transformers.AutoModelForCausalLM.from_config(cfg)
            else:
                cls = getattr(transformers, model_class) if isinstance(model_class, str) \
                    else model_class
                model = cls(cfg)
    total = sum(p.numel() for _, p in model.named_parameters())
    volatile = {
        f"{name}.{buf}" if name else buf
        for name, module in model.named_modules()
        for buf in getattr(module, "_non_persistent_buffers_set", ())
    }
    return total + sum(b.numel() for n, b in model.named_buffers() if n not in volatile)


def fresh_python(code: str) -> str:
    """The last line `code` prints in a new interpreter run from the repository root: for the
    tests that check what a command path imports (a module already imported here would hide
    it)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    return out.splitlines()[-1] if out else ""
