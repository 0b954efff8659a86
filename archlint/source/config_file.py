"""Reading config.json safely: size cap, depth cap, JSON as Python reads it, one-line errors."""

from __future__ import annotations

import json
from typing import Any

from archlint.errors import ConfigError

#: Real configs are a few KB (the largest multimodal ones ~100 KB); 16 MiB leaves room for
#: configs that embed tokenizer-ish tables while refusing a hostile multi-GB file.
MAX_CONFIG_BYTES = 16 * 1024 * 1024
#: Real configs nest 3-4 levels (text_config.rope_scaling...); past this it is an attack.
MAX_CONFIG_DEPTH = 64


def _depth_ok(raw: str, limit: int) -> bool:
    """Bracket depth outside strings, checked before json.loads can recurse."""
    depth = 0
    in_string = escaped = False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def check_size(size: int, name: str) -> None:
    """Refuse a config over the cap before reading it (a local file) or parsing it."""
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{name} is {size:,} bytes, over the {MAX_CONFIG_BYTES:,}-byte cap")


def parse_config(data: bytes | str, *, name: str = "config.json") -> tuple[dict[str, Any], str]:
    """Parse config bytes; returns (config, text). Raises ConfigError with one line."""
    check_size(len(data), name)
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{name} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    else:
        text = data
    if not _depth_ok(text, MAX_CONFIG_DEPTH):
        raise ConfigError(f"{name} nests deeper than {MAX_CONFIG_DEPTH} levels; refusing it")
    try:
        # NaN, Infinity and -Infinity are read as Python's json (and so transformers) reads
        # them: upstream configs contain them. What archlint writes stays standard JSON.
        config = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{name} is not valid JSON: {reason}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{name} must be a JSON object, got {type(config).__name__}")
    return config, text
