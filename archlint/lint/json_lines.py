"""Where a JSON pointer's key stands in the text of config.json: its 1-based line and column,
so that a finding about `/rope_scaling/factor` says `config.json:14:5` as an editor would.

A small scanner walks the text once (already parsed by `json.loads`; anything it does not
understand just stops it, keeping what it mapped) and records the position of every member key
and array item, keyed by JSON pointer (RFC 6901). Results are cached per text.
"""

from __future__ import annotations

import contextlib
import json
from functools import lru_cache


def pointer_from_key(key: str) -> str:
    """`text_config.rope_scaling.factor` → `/text_config/rope_scaling/factor` (RFC 6901)."""
    if key.startswith("/") or key == "":
        return key
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in key.split("."))


class _LineScanner:
    """A small JSON reader that records the 1-based line of every member key and array item,
    keyed by JSON pointer. The text already parsed with `json.loads`, so errors just stop it."""

    _WS = " \t\r\n"

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0  # offset of the current line's first character
        self.lines: dict[str, int] = {}
        self.columns: dict[str, int] = {}

    def _skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n and text[self.pos] in self._WS:
            if text[self.pos] == "\n":
                self.line += 1
                self.line_start = self.pos + 1
            self.pos += 1

    def _string(self) -> str:
        # JSON strings cannot contain raw newlines, so the line does not move inside one.
        text = self.text
        start = self.pos
        self.pos += 1
        escaped = False
        while self.pos < len(text):
            ch = text[self.pos]
            self.pos += 1
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                break
        value: str = json.loads(text[start:self.pos])
        return value

    def value(self, pointer: str, depth: int = 0) -> None:
        if depth > 64:
            raise ValueError("too deep")
        self._skip()
        if self.pos >= len(self.text):
            raise ValueError("eof")
        ch = self.text[self.pos]
        if ch == "{":
            self.pos += 1
            self._skip()
            if self.text[self.pos] == "}":
                self.pos += 1
                return
            while True:
                self._skip()
                column = self.pos - self.line_start + 1
                key = self._string()
                child = pointer + "/" + key.replace("~", "~0").replace("/", "~1")
                self.lines.setdefault(child, self.line)
                self.columns.setdefault(child, column)
                self._skip()
                self.pos += 1  # ':'
                self.value(child, depth + 1)
                self._skip()
                sep = self.text[self.pos]
                self.pos += 1
                if sep == "}":
                    return
        elif ch == "[":
            self.pos += 1
            self._skip()
            if self.text[self.pos] == "]":
                self.pos += 1
                return
            i = 0
            while True:
                self._skip()
                child = f"{pointer}/{i}"
                self.lines.setdefault(child, self.line)
                self.columns.setdefault(child, self.pos - self.line_start + 1)
                self.value(child, depth + 1)
                self._skip()
                sep = self.text[self.pos]
                self.pos += 1
                i += 1
                if sep == "]":
                    return
        elif ch == '"':
            self._string()
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}" + self._WS:
                self.pos += 1


@lru_cache(maxsize=32)
def _scan(text: str) -> _LineScanner:
    scanner = _LineScanner(text)
    # A best effort: keep what was mapped before the text stopped making sense.
    with contextlib.suppress(ValueError, IndexError):
        scanner.value("")
    return scanner


def pointer_lines(text: str) -> dict[str, int]:
    """JSON pointer → 1-based line of the key (or array item) it names, for a JSON text."""
    return _scan(text).lines


def line_of(text: str | None, pointer: str) -> int | None:
    """1-based line of `pointer`'s key in `text`; None when unknown."""
    if not text or not pointer:
        return None
    return pointer_lines(text).get(pointer)


def position_of(text: str | None, pointer: str | None) -> tuple[int | None, int | None]:
    """(1-based line, 1-based column in code points) of `pointer`'s key in `text`, where the
    key's opening quote is; (None, None) when unknown."""
    if not text or not pointer:
        return None, None
    scanner = _scan(text)
    return scanner.lines.get(pointer), scanner.columns.get(pointer)
