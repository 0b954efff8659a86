"""Parsed GGUF headers → a Checkpoint: one file, or a split set read as one model.

Split sets (llama.cpp `gguf-split`): files `NAME-00001-of-00003.gguf`, each with `split.no`
(0-based), `split.count` and, in every part, `split.tensors.count` (the tensors of the whole
set); the first part holds the model's metadata. Tensors keep the file that holds them as
their shard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from archlint.checkpoint import Checkpoint, Problem, Source
from archlint.ggml_types import LLAMA_FILE_TYPES
from archlint.source.gguf_config import config_from_gguf
from archlint.source.gguf_header import ParsedGGUF

_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
#: Metadata kept in the Checkpoint (and the cache) only as a length: vocabularies and merges.
_AS_LENGTH = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
              "tokenizer.ggml.merges")


@dataclass(frozen=True)
class SplitName:
    stem: str
    number: int  # 1-based, as in the file name
    count: int


def split_name(name: str) -> SplitName | None:
    """`Qwen3-235B-Q4_K_M-00002-of-00003.gguf` → (stem, 2, 3); None for a single file."""
    match = _SPLIT.match(name.rsplit("/", 1)[-1])
    if match is None:
        return None
    return SplitName(match.group("stem"), int(match.group("no")), int(match.group("count")))


def group_gguf_files(names: list[str]) -> dict[str, list[str]]:
    """GGUF file names → models: a split set is one model (its parts in order), any other
    `.gguf` file is a model of its own. Keys are the display names (the set's stem)."""
    models: dict[str, list[str]] = {}
    for name in sorted(names):
        split = split_name(name)
        key = name if split is None else (name.rsplit("/", 1)[0] + "/" if "/" in name else "") \
            + f"{split.stem}-*-of-{split.count:05d}.gguf"
        models.setdefault(key, []).append(name)
    return models


def file_type_of(metadata: dict[str, Any]) -> str | None:
    value = metadata.get("general.file_type")
    if isinstance(value, int) and not isinstance(value, bool):
        return LLAMA_FILE_TYPES.get(value, f"file type {value}")
    return None


def _split_problems(parts: list[tuple[str, ParsedGGUF, int | None]]) -> list[Problem]:
    problems: list[Problem] = []
    first = parts[0][1].metadata
    count = first.get("split.count")
    if isinstance(count, int) and count != len(parts):
        problems.append(Problem("AL020", f"split set declares split.count = {count} but "
                                f"{len(parts)} part(s) were read", parts[0][0]))
    declared = first.get("split.tensors.count")
    stored = sum(len(p.tensors) for _, p, _ in parts)
    if isinstance(declared, int) and declared != stored:
        problems.append(Problem("AL020", f"split.tensors.count = {declared} but the parts "
                                f"hold {stored} tensors", parts[0][0]))
    for index, (name, parsed, _) in enumerate(parts):
        number = parsed.metadata.get("split.no")
        if isinstance(number, int) and number != index:
            problems.append(Problem("AL020", f"part {index + 1} of the set says split.no = "
                                    f"{number}", name))
    return problems


def checkpoint_from_gguf(model_id: str, source: Source,
                         parts: list[tuple[str, ParsedGGUF, int | None]],
                         revision: str | None = None) -> Checkpoint:
    """`parts`: (file name, parsed header, file size), the first part first."""
    ckpt = Checkpoint(model_id=model_id, source=source, revision=revision,
                      weights_format="gguf")
    tensors = []
    for name, parsed, size in parts:
        for tensor in parsed.tensors:
            tensor.shard = name
        tensors.extend(parsed.tensors)
        ckpt.shards.append(parsed.shard_info(name, size))
        ckpt.problems.extend(parsed.problems)
        ckpt.files[name] = size
    if len(parts) > 1:
        ckpt.problems.extend(_split_problems(parts))
    ckpt.tensors = tensors
    head = parts[0][1]
    metadata = head.json_metadata()
    config, origins, notes = config_from_gguf(metadata, tensors)
    ckpt.config = config
    ckpt.notes.extend(notes)
    kept = {k: v for k, v in metadata.items() if k not in _AS_LENGTH}
    for key in _AS_LENGTH:
        value = metadata.get(key)
        if value is not None:
            kept[key] = value if isinstance(value, dict) else {
                "gguf_array": head.value_types[key][6:-1], "length": len(value)}
    ckpt.gguf = {
        "version": head.version,
        "byte_order": head.byte_order,
        "alignment": head.alignment,
        "file_type": file_type_of(head.metadata),
        "metadata": kept,
        "value_types": head.value_types,
        "origins": origins,
        "files": [name for name, _, _ in parts],
    }
    if config is None:
        ckpt.notes.append("no general.architecture in the GGUF metadata: architecture "
                          "inferred from tensor shapes")
    return ckpt


#: Without --file/--quant, the first of these a repo offers is analysed: Q4_K_M is the
#: quantization llama.cpp's README walks through and the one Ollama and LM Studio pull by
#: default; the rest go from the next most common to full precision.
DEFAULT_QUANTS = ("Q4_K_M", "Q4_K_S", "Q5_K_M", "Q4_0", "Q6_K", "Q8_0", "BF16", "F16", "F32")
_MMPROJ = re.compile(r"(^|/)mmproj", re.IGNORECASE)


def quant_of_name(name: str) -> str | None:
    """The quantization a GGUF file name states (`...-Q4_K_M.gguf`, `...-UD-IQ2_XXS-0001-...`),
    read from the known file-type names; None when it names none."""
    upper = name.rsplit("/", 1)[-1].upper()
    names = sorted({*LLAMA_FILE_TYPES.values(), "MXFP4"}, key=len, reverse=True)
    for candidate in names:
        for match in re.finditer(re.escape(candidate), upper):
            before = upper[match.start() - 1] if match.start() else "-"
            after = upper[match.end()] if match.end() < len(upper) else "."
            if not before.isalnum() and not after.isalnum():
                return candidate
    return None


def choose_model(models: dict[str, list[str]], *, file: str | None = None,
                 quant: str | None = None) -> tuple[str, str]:
    """(model key, why it was chosen) among `group_gguf_files` output. Raises KeyError with a
    one-line reason when `file`/`quant` match nothing."""
    if file is not None:
        for key, names in models.items():
            if file in names or file == key or any(n.rsplit("/", 1)[-1] == file for n in names):
                return key, f"named by --file {file}"
        raise KeyError(f"no GGUF file {file!r} in the repo")
    candidates = {k: v for k, v in models.items() if not _MMPROJ.search(k)} or models
    if quant is not None:
        wanted = quant.upper()
        hits = [k for k in candidates if quant_of_name(k) == wanted]
        if not hits:
            raise KeyError(f"no GGUF file with quantization {quant!r}")
        return hits[0], f"the {wanted} file (--quant {quant})"
    if len(candidates) == 1:
        return next(iter(candidates)), "the only GGUF model"
    for wanted in DEFAULT_QUANTS:
        hits = [k for k in candidates if quant_of_name(k) == wanted]
        if hits:
            return hits[0], (f"{wanted}, the default choice among {len(candidates)} GGUF "
                             "models (pick another with --quant or --file)")
    key = sorted(candidates)[0]
    return key, (f"the first of {len(candidates)} GGUF models by name (pick another with "
                 "--quant or --file)")
