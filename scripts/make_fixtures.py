#!/usr/bin/env python3
"""Convert the reference models in ../shared/models into archlint Checkpoint files.

Writes each model twice, byte-identical: `fixtures/models/<org>__<name>.json.gz` for the tests and
`archlint/catalog/<org>__<name>.json.gz` for the bundled catalog (what answers offline), plus
`archlint/catalog/index.json` listing what each entry holds. Nothing is invented: a model with no
tensor table or index is stored config-only and says so. Re-run after ../shared/models changes:

    python scripts/make_fixtures.py [--shared ../shared/models]

`--zoo` converts instead the real configs gathered for the model zoo (`fixtures/zoo/upstream/`,
provenance in `fixtures/zoo/SOURCES.json`) into `fixtures/zoo/<org>__<name>.json.gz` and writes
the `fixtures/zoo/SOURCES.md` table. A config is stored as found: when the transformers
serialisation of its JSON has exactly the byte count the source page states, that serialisation
is the upstream file and is what the fixture stores; otherwise the transcribed text is stored and
marked unverified. Tensor tables under `fixtures/zoo/tensors/`
(scripts/tensor_table_from_transformers.py) are attached.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archlint.checkpoint import Checkpoint, TensorInfo  # noqa: E402

# Short names people type (`archlint compare llama3 mixtral deepseek-v3`).
ALIASES = {
    "llama1": "huggyllama/llama-7b",
    "llama-7b": "huggyllama/llama-7b",
    "llama3": "meta-llama/Meta-Llama-3-8B",
    "llama3-8b": "meta-llama/Meta-Llama-3-8B",
    "llama3.1": "meta-llama/Llama-3.1-8B-Instruct",
    "llama3.2": "meta-llama/Llama-3.2-1B-Instruct",
    "llama4": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "llama4-scout": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "mistral": "mistralai/Mistral-7B-Instruct-v0.1",
    "mistral-7b": "mistralai/Mistral-7B-Instruct-v0.1",
    "mixtral": "mistralai/Mixtral-8x7B-v0.1",
    "mixtral-8x7b": "mistralai/Mixtral-8x7B-v0.1",
    "deepseek-v3": "deepseek-ai/DeepSeek-V3",
    "deepseek-r1": "deepseek-ai/DeepSeek-R1",
    "deepseek-v2-lite": "deepseek-ai/DeepSeek-V2-Lite",
    "gpt-oss": "openai/gpt-oss-20b",
    "gpt-oss-20b": "openai/gpt-oss-20b",
    "gpt2": "openai-community/gpt2-xl",
    "gpt2-xl": "openai-community/gpt2-xl",
    "gemma": "google/gemma-2b-it",
    "gemma3": "hf-tiny-v2/tiny-random-Gemma3TextModel",
    "qwen2.5": "Qwen/Qwen2.5-7B-Instruct",
    "qwen3": "Qwen/Qwen3-8B",
    "qwen3-moe": "Qwen/Qwen3-30B-A3B",
    "qwen3-next": "Qwen/Qwen3-Next-80B-A3B-Instruct",
    "phi3": "microsoft/Phi-3-mini-4k-instruct",
    "falcon": "tiiuae/falcon-7b",
    "falcon-7b": "tiiuae/falcon-7b",
    "bloom": "bigscience/bloom",
    "mpt": "mosaicml/mpt-30b-chat",
    "neox": "EleutherAI/gpt-neox-20b",
    "gpt-neox": "EleutherAI/gpt-neox-20b",
    "starcoder2": "bigcode/starcoder2-3b",
    "olmo2": "allenai/OLMo-2-0325-32B",
    "bert": "google-bert/bert-base-uncased",
    "t5": "google-t5/t5-base",
}

INDEX_NAMES = (
    ("model.safetensors.index.json", "safetensors"),
    ("model.safetensors.index.derived.json", "safetensors"),
    ("pytorch_model.bin.index.json", "bin"),
)


def lfs_size(path: Path) -> int | None:
    for line in path.read_text().splitlines():
        if line.startswith("size "):
            return int(line.split()[1])
    return None


def convert(folder: Path) -> Checkpoint:
    model_id = folder.name.replace("__", "/", 1)
    ckpt = Checkpoint(model_id=model_id, source="catalog")
    config_path = folder / "config.json"
    if not config_path.exists():
        natives = sorted(folder.glob("deepseek_inference_config_*.json"))
        config_path = natives[0] if natives else config_path
    if config_path.exists():
        ckpt.config_text = config_path.read_text()
        ckpt.config = json.loads(ckpt.config_text)
        ckpt.files["config.json"] = config_path.stat().st_size
        if config_path.name != "config.json":
            ckpt.notes.append(
                "no Hugging Face config.json recovered; using the vendor's native "
                f"{config_path.name}"
            )
    for name, fmt in INDEX_NAMES:
        path = folder / name
        if path.exists():
            ckpt.index = json.loads(path.read_text())
            real_name = name.replace(".derived", "")
            ckpt.index_name = real_name
            ckpt.files[real_name] = path.stat().st_size
            ckpt.weights_format = fmt  # type: ignore[assignment]
            for shard in sorted(set((ckpt.index.get("weight_map") or {}).values())):
                ckpt.files.setdefault(shard, None)
            if ".derived" in name:
                ckpt.notes.append("index taken from a same-shape fine-tune, not the upstream repo")
            break
    for pointer in folder.glob("*.lfs-pointer.txt"):
        weight_file = pointer.name.replace(".lfs-pointer.txt", "")
        ckpt.files[weight_file] = lfs_size(pointer)
        if ckpt.weights_format == "unknown":
            ckpt.weights_format = "safetensors" if weight_file.endswith(".safetensors") else "bin"
    table = folder / "tensors.json.gz"
    if table.exists():
        rows = json.loads(gzip.decompress(table.read_bytes()))
        ckpt.tensors = [TensorInfo(r["name"], r["dtype"], tuple(r["shape"])) for r in rows]
        ckpt.weights_format = "safetensors"
        ckpt.notes.append(
            "bundled snapshot: config + full tensor table "
            "(shapes and dtypes; shard layout not recorded)"
        )
    elif ckpt.index is not None:
        ckpt.notes.append(
            "bundled snapshot: config + shard index "
            "(tensor names and total size; shapes not verified)"
        )
    else:
        ckpt.notes.append("bundled snapshot: config only, weights not verified")
    return ckpt


ZOO = ROOT / "fixtures" / "zoo"


def transformers_serialisation(text: str) -> str:
    """How `PretrainedConfig.to_json_file` writes a config: sorted keys, indent 2, newline."""
    return json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def zoo_config_text(raw: str, page_bytes: int | None) -> tuple[str, bool]:
    """The upstream bytes where the page's stated size proves them, else the transcription."""
    for candidate in (raw, transformers_serialisation(raw)):
        if page_bytes is not None and len(candidate.encode()) == page_bytes:
            return candidate, True
    return raw, False


def convert_zoo_entry(entry: dict) -> tuple[Checkpoint, bool]:
    raw = (ZOO / "upstream" / entry["file"]).read_text()
    text, verified = zoo_config_text(raw, entry.get("page_bytes"))
    ckpt = Checkpoint(model_id=entry["model_id"], source="catalog")
    ckpt.config_text = text
    ckpt.config = json.loads(text)
    ckpt.files["config.json"] = len(text.encode())
    ckpt.weights_format = "none"
    where = entry["upstream"] if entry["upstream"] == "repo" else (
        f"{entry['upstream']} of {entry.get('mirror_of') or entry.get('sibling_of')}"
    )
    ckpt.notes.append(f"zoo config ({where}): {entry['url']}")
    ckpt.notes.append(
        "bytes verified against the page's file size" if verified
        else "JSON as the page shows it; bytes not verified (no size on the page)"
    )
    table = ZOO / "tensors" / (entry["file"].removesuffix(".json") + ".tensors.json.gz")
    if table.exists():
        meta = json.loads(gzip.decompress(table.read_bytes()))
        rows = meta["tensors"]
        ckpt.tensors = [TensorInfo(r["name"], r["dtype"], tuple(r["shape"])) for r in rows]
        ckpt.weights_format = "safetensors"
        ckpt.notes.append(f"tensor table derived: {meta['derived_from']}")
    else:
        ckpt.notes.append("config only, weights not verified")
    return ckpt, verified


def convert_zoo() -> int:
    sources = json.loads((ZOO / "SOURCES.json").read_text())
    rows = [
        "# Model-zoo configs: sources",
        "",
        f"Found {sources['found_on']} via {sources['via']}. Regenerate with "
        "`python scripts/make_fixtures.py --zoo`.",
        "",
        "| model | kind | source | bytes verified | sha256 of the stored config |",
        "|---|---|---|---|---|",
    ]
    for entry in sources["models"]:
        ckpt, verified = convert_zoo_entry(entry)
        out = ZOO / f"{entry['model_id'].replace('/', '__', 1)}.json.gz"
        ckpt.dump(out)
        digest = hashlib.sha256((ckpt.config_text or "").encode()).hexdigest()
        kind = entry["upstream"] + (f" of {entry['mirror_of']}" if entry.get("mirror_of") else "")
        rows.append(
            f"| {entry['model_id']} | {kind} | {entry['url']} | {'yes' if verified else 'no'} "
            f"| `{digest}` |"
        )
        print(f"{entry['model_id']:45s} verified={verified!s:5} tensors={ckpt.tensors is not None}")
    (ZOO / "SOURCES.md").write_text("\n".join(rows) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "models")
    parser.add_argument("--zoo", action="store_true", help="convert fixtures/zoo/upstream instead")
    args = parser.parse_args()
    if args.zoo:
        return convert_zoo()
    fixtures = ROOT / "fixtures" / "models"
    catalog = ROOT / "archlint" / "catalog"
    fixtures.mkdir(parents=True, exist_ok=True)
    entries = {}
    for folder in sorted(p for p in args.shared.iterdir() if p.is_dir()):
        ckpt = convert(folder)
        out = fixtures / f"{folder.name}.json.gz"
        ckpt.dump(out)
        shutil.copyfile(out, catalog / out.name)
        entries[ckpt.model_id] = {
            "file": out.name,
            "has_config": ckpt.config is not None,
            "has_index": ckpt.index is not None,
            "has_tensors": ckpt.tensors is not None,
            "weights_format": ckpt.weights_format,
        }
        print(
            f"{ckpt.model_id:50s} tensors={ckpt.tensors is not None!s:5} "
            f"index={ckpt.index is not None}"
        )
    manifest = {"models": entries, "aliases": {k: v for k, v in ALIASES.items() if v in entries}}
    (catalog / "index.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
