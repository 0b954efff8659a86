#!/usr/bin/env python3
"""External figures for the model-zoo fixtures from transformers' own modules.

For each config in `fixtures/zoo/upstream/` this builds the model transformers would build from it
on the meta device (no weights, no download, no remote code: `trust_remote_code` stays off, so a
config that needs a repo's own code is reported as not buildable) and records:

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


def build_on_meta(config_dict: dict):  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    model_type = config_dict["model_type"]
    kwargs = {k: v for k, v in config_dict.items() if k != "model_type"}
    config = AutoConfig.for_model(model_type, **kwargs)
    with torch.device("meta"):
        try:
            model = AutoModelForCausalLM.from_config(config)
        except ValueError:
            model = AutoModel.from_config(config)
    return config, model


def count_params(model) -> int:  # type: ignore[no-untyped-def]
    return sum(p.numel() for p in model.parameters())


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


def update_expected(counts: dict[str, int | str], version: str) -> None:
    path = ZOO / "EXPECTED.json"
    expected = json.loads(path.read_text()) if path.exists() else {"models": {}}
    expected["transformers_version"] = version
    for model_id, value in counts.items():
        entry = expected["models"].setdefault(model_id, {"figures": []})
        figures = [f for f in entry["figures"] if f.get("source_kind") != "transformers"]
        old = next(
            (f for f in entry["figures"] if f.get("source_kind") == "transformers"), {}
        )
        if isinstance(value, int):
            figures.insert(0, {
                "kind": "params_total",
                "value": value,
                "tolerance": 0,
                "source_kind": "transformers",
                "source": f"transformers {version}: the model class for this config built on "
                          "the meta device, parameters counted with tied weights once",
                "status": old.get("status", "gap"),
            })
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
    for entry in sources["models"]:
        config_dict = json.loads((ZOO / "upstream" / entry["file"]).read_text())
        try:
            config, model = build_on_meta(config_dict)
        except Exception as exc:
            counts[entry["model_id"]] = f"{type(exc).__name__}: {exc}"[:300]
            print(f"{entry['model_id']:45s} not buildable: {counts[entry['model_id']]}")
            continue
        counts[entry["model_id"]] = count_params(model)
        print(f"{entry['model_id']:45s} {counts[entry['model_id']]:>16,d} "
              f"{type(model).__name__}")
        if entry["model_id"] in args.tensors:
            dtype_name = str(getattr(config, "dtype", None) or config_dict.get("torch_dtype"))
            dtype = SAFETENSORS_DTYPE[dtype_name.removeprefix("torch.")]
            table = {
                "derived_from": f"transformers {transformers.__version__} "
                                f"{type(model).__name__} on meta, tied weights stored once "
                                f"as save_pretrained writes them, dtype {dtype}",
                "tensors": tensor_table(model, dtype),
            }
            out = ZOO / "tensors" / (entry["file"].removesuffix(".json") + ".tensors.json.gz")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(gzip.compress(json.dumps(table).encode(), mtime=0))
    update_expected(counts, transformers.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
