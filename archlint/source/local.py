"""Local inputs: a model directory, a single config.json, a single .safetensors file, a GGUF
file or split set (or a directory of them), or an archlint Checkpoint file
(`*.archlint.json[.gz]`). Only headers are read from weight files; `.bin` checkpoints are
described from their index and never unpickled."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from archlint.checkpoint import Checkpoint, Problem, TensorTable
from archlint.errors import ConfigError, HeaderError, InputError
from archlint.source.config_file import check_size, parse_config
from archlint.source.index import MAX_INDEX_BYTES, check_shards, parse_index, safe_shard_name
from archlint.source.safetensors_header import HeaderBudget, header_length, read_local_header

INDEX_FILES = (
    ("model.safetensors.index.json", "safetensors"),
    ("pytorch_model.bin.index.json", "bin"),
)


def _read_config(path: Path, ckpt: Checkpoint) -> None:
    try:
        size = path.stat().st_size
        check_size(size, path.name)
        ckpt.config, ckpt.config_text = parse_config(path.read_bytes(), name=path.name)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    ckpt.files[path.name] = size


def _declared_header_bytes(path: Path) -> int:
    """`8 + N` from a shard's 8-byte prefix; 0 for one that will be refused on its own (its
    problem is reported when it is read) or cannot be opened."""
    try:
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            size = os.fstat(handle.fileno()).st_size
        return 8 + header_length(prefix, file_name=path.name, file_size=size)
    except (OSError, HeaderError):
        return 0


def _check_header_total(root: Path, names: list[str]) -> None:
    """Refuse a model whose shards declare more header bytes in all than one model may have,
    from the 8-byte prefixes alone: before any header is read."""
    budget = HeaderBudget(str(root))
    for name in names:
        if (root / name).is_file():
            budget.charge(_declared_header_bytes(root / name))


def _read_shards(root: Path, names: list[str], ckpt: Checkpoint) -> dict[str, TensorTable]:
    _check_header_total(root, names)
    by_shard: dict[str, TensorTable] = {}
    tensors: list[TensorTable] = []
    for name in names:
        path = root / name
        if not path.is_file():
            continue
        try:
            parsed = read_local_header(path)
        except HeaderError as exc:
            # A shard no reader can open (a Git LFS pointer, a truncated download) is a defect
            # of the checked repo: a finding with the report, not an exit 2 without one.
            ckpt.problems.append(Problem(exc.code, exc.detail, file=name))
            ckpt.notes.append(f"{name} could not be read: its tensors are not in the report")
            continue
        by_shard[name] = parsed.tensors.with_shard(name)
        tensors.append(by_shard[name])
        ckpt.shards.append(parsed.shard_info(name, path.stat().st_size))
        ckpt.problems.extend(parsed.problems)
    ckpt.tensors = TensorTable.concat(tensors) if by_shard else None
    return by_shard


def from_gguf(root: Path, names: list[str], model_id: str) -> Checkpoint:
    """One GGUF model: a single file or the parts of a split set, in order."""
    # The GGUF reader is imported only for GGUF inputs: a safetensors report need not pay it.
    from archlint.source.gguf_checkpoint import checkpoint_from_gguf
    from archlint.source.gguf_header import DEFAULT_MAX_HEADER_BYTES, read_local_gguf

    # A GGUF header declares no length up front: each part is parsed with at most what is left
    # of the model's header budget (so all parts together parse at most that much); a part
    # failing under a cap so lowered is parsed once more under its own, to tell "the total is
    # over" from "this file is broken".
    budget = HeaderBudget(model_id, kind="GGUF")
    parts: list[tuple[str, Any, int | None]] = []
    for name in names:
        left = budget.limit - budget.used
        try:
            parsed, size = read_local_gguf(root / name,
                                           max_header_bytes=max(24, min(DEFAULT_MAX_HEADER_BYTES,
                                                                        left)))
        except HeaderError:
            if left >= DEFAULT_MAX_HEADER_BYTES:
                raise
            parsed, size = read_local_gguf(root / name)
        budget.charge(parsed.data_offset)
        parts.append((name, parsed, size))
    return checkpoint_from_gguf(model_id, "local", parts)


def _gguf_in_directory(root: Path, file: str | None, quant: str | None) -> Checkpoint:
    from archlint.source.gguf_checkpoint import choose_model, group_gguf_files

    names = sorted(p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() == ".gguf")
    models = group_gguf_files(names)
    try:
        key, why = choose_model(models, file=file, quant=quant)
    except KeyError as exc:
        raise InputError(f"{root}: {exc.args[0]}",
                         hint="GGUF models here: " + ", ".join(models)) from None
    ckpt = from_gguf(root, models[key], root.resolve().name)
    if len(models) > 1:
        ckpt.notes.insert(0, f"analysed {key}: {why}")
    return ckpt


def _split_parts(path: Path) -> list[str]:
    """All parts of the split set `path` belongs to, or just its name."""
    from archlint.source.gguf_checkpoint import split_name

    split = split_name(path.name)
    if split is None:
        return [path.name]
    names = [f"{split.stem}-{i:05d}-of-{split.count:05d}.gguf" for i in range(1, split.count + 1)]
    missing = [n for n in names if not (path.parent / n).is_file()]
    if missing:
        raise InputError(f"{path.name} is part 1 of {split.count}... of a split GGUF set but "
                         f"{len(missing)} part(s) are missing: {missing[0]}")
    return names


def from_directory(root: Path, *, gguf_file: str | None = None,
                   gguf_quant: str | None = None) -> Checkpoint:
    has_gguf = any(p.suffix.lower() == ".gguf" for p in root.iterdir())
    only_gguf = not (root / "config.json").is_file() and not any(root.glob("*.safetensors"))
    if has_gguf and (only_gguf or gguf_file or gguf_quant):
        return _gguf_in_directory(root, gguf_file, gguf_quant)
    ckpt = Checkpoint(model_id=root.resolve().name, source="local", revision=None)
    for path in sorted(root.iterdir()):
        if path.is_file():
            ckpt.files[path.name] = path.stat().st_size
    if (root / "config.json").is_file():
        _read_config(root / "config.json", ckpt)
    for name, fmt in INDEX_FILES:
        if (root / name).is_file():
            # read at most one byte past the cap: a multi-gigabyte index file is refused
            # by parse_index without being loaded whole
            with open(root / name, "rb") as handle:
                raw = handle.read(MAX_INDEX_BYTES + 1)
            index = parse_index(raw, file_name=name)
            ckpt.index, ckpt.index_name, ckpt.weights_format = index.raw, name, fmt  # type: ignore[assignment]
            # Kept for the findings' line numbers; parse_index has bounded and decoded it.
            ckpt.index_text = raw.decode("utf-8", errors="replace")
            ckpt.problems.extend(index.problems)
            if fmt == "safetensors":
                by_shard = _read_shards(root, index.shards, ckpt)
                present = {p for p in ckpt.files if safe_shard_name(p)}
                ckpt.problems.extend(check_shards(index, by_shard, present))
            break
    else:
        singles = sorted(p.name for p in root.glob("*.safetensors"))
        if singles:
            ckpt.weights_format = "safetensors"
            _read_shards(root, singles, ckpt)
        elif any(name.endswith((".bin", ".pt", ".pth", ".ckpt")) for name in ckpt.files):
            ckpt.weights_format = "bin"
            ckpt.notes.append("pickle weights (.bin) without an index: not read (never unpickled)")
        else:
            ckpt.weights_format = "none"
    if ckpt.config is None and ckpt.tensors is None:
        raise InputError(f"{root} has neither config.json nor safetensors weights")
    if ckpt.config is None:
        ckpt.notes.append("no config.json: architecture inferred from tensor shapes only")
    elif ckpt.tensors is None:
        ckpt.notes.append("config only: weights not verified against the config")
    return ckpt


def from_file(path: Path) -> Checkpoint:
    name = path.name
    if name.endswith((".archlint.json", ".archlint.json.gz")):
        try:
            ckpt = Checkpoint.load(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path} is not a readable archlint checkpoint file: {exc}") from None
        ckpt.source = "local"
        return ckpt
    if name.lower().endswith(".gguf"):
        from archlint.source.gguf_checkpoint import split_name

        parts = _split_parts(path)
        split = split_name(name)
        return from_gguf(path.parent, parts, split.stem if split else path.stem)
    ckpt = Checkpoint(model_id=path.stem, source="local")
    if name.endswith(".safetensors"):
        ckpt.weights_format = "safetensors"
        ckpt.files[name] = path.stat().st_size
        _read_shards(path.parent, [name], ckpt)
        config = path.parent / "config.json"
        if config.is_file():
            _read_config(config, ckpt)
            ckpt.model_id = path.parent.resolve().name
        else:
            ckpt.notes.append("no config.json beside the file: architecture inferred from tensors")
        return ckpt
    if name.endswith(".json"):
        _read_config(path, ckpt)
        ckpt.model_id = path.parent.resolve().name if name == "config.json" else path.stem
        ckpt.weights_format = "none"
        ckpt.notes.append("config only: weights not verified against the config")
        return ckpt
    if name.endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl")):
        raise InputError(
            f"{path} is a pickle checkpoint; archlint never unpickles files "
            "(point it at the directory with config.json instead)"
        )
    raise InputError(
        f"{path}: expected a model directory, config.json, a .safetensors or a .gguf file"
    )


def load_local(path: Path, *, gguf_file: str | None = None,
               gguf_quant: str | None = None) -> Checkpoint:
    if path.is_dir():
        return from_directory(path, gguf_file=gguf_file, gguf_quant=gguf_quant)
    if path.is_file():
        return from_file(path)
    raise InputError(f"{path} does not exist")


__all__ = ["load_local"]
