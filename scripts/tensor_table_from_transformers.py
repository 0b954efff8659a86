#!/usr/bin/env python3
"""External figures for the model-zoo fixtures from transformers' own modules.

For each config in `fixtures/zoo/upstream/` this builds the model transformers would build from it
on the meta device (no weights, no download, no remote code: `trust_remote_code` stays off, so a
config that needs a repo's own code is reported as not buildable) — the class named in the
config's `architectures` when transformers has it, else the first auto class that takes the
config — and records:

- the parameter count with tied weights counted once (`model.parameters()` yields a shared
  Parameter once, as `save_pretrained` stores it once);
- optionally (`--tensors MODEL_ID ...`) the tensor table `save_pretrained` would write: every
  entry of `state_dict()` (persistent buffers included), a tied weight only under the name that is
  kept, in the config's dtype. Written to `fixtures/zoo/tensors/<org>__<name>.tensors.json.gz`;
  `scripts/make_fixtures.py --zoo` attaches it to the fixture.

The counts go into `fixtures/zoo/EXPECTED.json` as figures of kind `params_total` with source
`transformers` (entries of other sources and every `status` are kept):

    python scripts/tensor_table_from_transformers.py [--tensors tiiuae/falcon-mamba-tiny-dev]

This script imports torch and transformers; archlint itself never does.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "fixtures" / "zoo"

# torch dtype name → safetensors dtype code
SAFETENSORS_DTYPE = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def model_class(config, config_dict: dict):  # type: ignore[no-untyped-def]
    """The class the checkpoint was saved from: its `architectures` entry when transformers has
    that class, else the first auto class that accepts the config."""
    import transformers

    for name in config_dict.get("architectures") or []:
        cls = getattr(transformers, name, None)
        if cls is not None:
            return cls
    for auto in ("AutoModelForCausalLM", "AutoModelForImageTextToText", "AutoModel"):
        try:
            return getattr(transformers, auto)._model_mapping[type(config)]
        except KeyError:
            continue
    raise ValueError(f"no transformers class for {type(config).__name__}")


def build_on_meta(config_dict: dict):  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoConfig

    model_type = config_dict["model_type"]
    kwargs = {k: v for k, v in config_dict.items() if k != "model_type"}
    config = AutoConfig.for_model(model_type, **kwargs)
    cls = model_class(config, config_dict)
    with torch.device("meta"):
        model = cls._from_config(config)
    return config, model


# Submodules transformers' multimodal classes name for their vision/audio encoders and projectors.
TOWER_MODULES = {
    "vision_tower", "multi_modal_projector", "visual", "vision_model", "audio_tower",
    "vision_embed_tokens", "mm_projector", "embed_vision", "audio_model",
    # Gemma 3n/4's audio projector into the text width (embed_vision is the vision one)
    "embed_audio",
}


def count_params(model) -> int:  # type: ignore[no-untyped-def]
    return sum(p.numel() for p in model.parameters())


def count_tower_params(model) -> int:  # type: ignore[no-untyped-def]
    """Parameters under a tower submodule (each shared Parameter once)."""
    seen: set[int] = set()
    total = 0
    for name, param in model.named_parameters():
        if id(param) not in seen and TOWER_MODULES & set(name.split(".")):
            seen.add(id(param))
            total += param.numel()
    return total


def tensor_table(model, dtype: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """What save_pretrained writes: one entry per distinct tensor, the first name of a tied one
    (named_parameters order puts the input embedding before the output head)."""
    seen: dict[int, str] = {}
    for name, param in model.named_parameters():
        seen.setdefault(id(param), name)
    kept = set(seen.values())
    params = {id(p) for p in model.parameters()}
    rows = []
    for name, tensor in model.state_dict(keep_vars=True).items():
        if id(tensor) in params and name not in kept:
            continue
        rows.append({"name": name, "dtype": dtype, "shape": list(tensor.shape)})
    return rows


def transformers_figure(kind: str, value: int, version: str, status: str, what: str) -> dict:
    return {
        "kind": kind, "value": value, "tolerance": 0, "source_kind": "transformers",
        "source": f"transformers {version}: the model class for this config built on the meta "
                  f"device, {what}",
        "status": status,
    }


def checkpoint_dtype(config_dict: dict) -> str:
    """The dtype the config declares (a multimodal one may declare it only in text_config);
    float32, transformers' default, when none is given."""
    for where in (config_dict, config_dict.get("text_config") or {}):
        for key in ("torch_dtype", "dtype"):
            if isinstance(where.get(key), str):
                return where[key].removeprefix("torch.")
    return "float32"


def update_expected(counts: dict[str, int | str], towers: dict[str, int], version: str) -> None:
    path = ZOO / "EXPECTED.json"
    expected = json.loads(path.read_text()) if path.exists() else {"models": {}}
    expected["transformers_version"] = version
    for model_id, value in counts.items():
        entry = expected["models"].setdefault(model_id, {"figures": []})
        figures = [f for f in entry["figures"] if f.get("source_kind") != "transformers"]
        ours = [f for f in entry["figures"] if f.get("source_kind") == "transformers"]
        status = {f["kind"]: f["status"] for f in ours}
        if isinstance(value, int):
            figures.insert(0, transformers_figure(
                "params_total", value, version, status.get("params_total", "gap"),
                "parameters counted with tied weights once"))
            if towers.get(model_id):
                figures.insert(1, transformers_figure(
                    "params_towers", towers[model_id], version, status.get("params_towers", "gap"),
                    "parameters of its vision/audio encoder and projector submodules"))
        else:
            entry["transformers_not_buildable"] = value
        entry["figures"] = figures
    path.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tensors", nargs="*", default=[], help="model ids to write tables for")
    args = parser.parse_args()
    import transformers

    sources = json.loads((ZOO / "SOURCES.json").read_text())
    counts: dict[str, int | str] = {}
    towers: dict[str, int] = {}
    for entry in sources["models"]:
        config_dict = json.loads((ZOO / "upstream" / entry["file"]).read_text())
        try:
            _, model = build_on_meta(config_dict)
        except Exception as exc:
            counts[entry["model_id"]] = f"{type(exc).__name__}: {exc}"[:300]
            print(f"{entry['model_id']:45s} not buildable: {counts[entry['model_id']]}")
            continue
        counts[entry["model_id"]] = count_params(model)
        towers[entry["model_id"]] = count_tower_params(model)
        print(f"{entry['model_id']:45s} {counts[entry['model_id']]:>16,d} "
              f"{type(model).__name__}")
        if entry["model_id"] in args.tensors:
            dtype = SAFETENSORS_DTYPE[checkpoint_dtype(config_dict)]
            table = {
                "derived_from": f"transformers {transformers.__version__} "
                                f"{type(model).__name__} on meta, tied weights stored once "
                                f"as save_pretrained writes them, dtype {dtype}; tensor names as "
                                "this transformers version names the modules (a Hub checkpoint "
                                "saved by an older version may use legacy prefixes)",
                "tensors": tensor_table(model, dtype),
            }
            out = ZOO / "tensors" / (entry["file"].removesuffix(".json") + ".tensors.json.gz")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(gzip.compress(json.dumps(table).encode(), mtime=0))
    update_expected(counts, towers, transformers.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
