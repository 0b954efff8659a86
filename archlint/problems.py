"""Problems the readers find in a repo's files, before any rule runs: the stable codes of the
safetensors/index readers and their rule names, the per-file collector that caps how many of one
code are listed, RFC 6901 pointers into JSON files, and the quoting of untrusted text in their
messages. Sources produce problems and the rule pack turns them into findings; both import
this module, neither imports the other."""

from __future__ import annotations

import re
from typing import Any

from archlint.checkpoint import Problem

#: After this many problems of one code in one file, the rest are counted, not listed: a hostile
#: header with 100k broken tensors must not turn into 100k findings.
MAX_PROBLEMS_PER_CODE = 20

#: Stable problem code → rule name. The rule pack names its integrity rules from it.
PROBLEM_NAMES: dict[str, str] = {
    "AL001": "header-length-invalid",
    "AL002": "header-not-utf8",
    "AL003": "header-not-json-object",
    "AL004": "header-bad-padding",
    "AL005": "header-duplicate-key",
    "AL006": "header-invalid-number",
    "AL007": "unknown-dtype",
    "AL008": "tensor-size-mismatch",
    "AL009": "tensor-offsets-gap-or-overlap",
    "AL010": "buffer-not-fully-covered",
    "AL011": "index-tensor-missing-from-shard",
    "AL012": "tensor-in-multiple-shards",
    "AL013": "shard-file-missing",
    "AL014": "index-total-size-mismatch",
    "AL015": "shard-path-escapes-repo",
    "AL016": "index-invalid",
    "AL017": "tensor-not-in-index",
    "AL018": "header-metadata-invalid",
}

#: The GGUF reader's codes → rule names (rules/gguf.py turns them into findings).
GGUF_PROBLEM_NAMES: dict[str, str] = {
    "AL020": "gguf-header-invalid",
    "AL021": "gguf-string-not-utf8",
    "AL022": "gguf-duplicate-name",
    "AL023": "gguf-unknown-tensor-type",
    "AL024": "gguf-tensor-shape-invalid",
    "AL025": "gguf-tensor-layout-invalid",
    "AL026": "gguf-tensor-past-end",
    "AL027": "gguf-metadata-invalid",
}

#: The config reader's and validator's refusal of a local config.json → rule name (apart from
#: PROBLEM_NAMES, which are the safetensors/index readers' codes).
CONFIG_PROBLEM_NAMES: dict[str, str] = {
    "AL019": "config-invalid",
}

#: longest untrusted string quoted in a message
SHORT_CHARS = 80


class ProblemCollector:
    """Collects Problems for one file, listing at most MAX_PROBLEMS_PER_CODE of each code."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self._items: list[Problem] = []
        self._counts: dict[str, int] = {}

    def add(self, code: str, message: str, *, pointer: str | None = None,
            file: str | None = None) -> None:
        count = self._counts.get(code, 0) + 1
        self._counts[code] = count
        if count <= MAX_PROBLEMS_PER_CODE:
            self._items.append(Problem(code, message, file or self.file, pointer))

    def wants(self, code: str) -> bool:
        """Whether a problem of `code` would be listed; if not, it is counted here.

        Per-tensor paths ask first, so a hostile header with 400k bad tensors costs no message
        formatting past the cap.
        """
        count = self._counts.get(code, 0)
        if count < MAX_PROBLEMS_PER_CODE:
            return True
        self._counts[code] = count + 1
        return False

    def finish(self) -> list[Problem]:
        for code, count in self._counts.items():
            if count > MAX_PROBLEMS_PER_CODE:
                hidden = count - MAX_PROBLEMS_PER_CODE
                self._items.append(Problem(
                    code, f"{hidden} more {code} ({PROBLEM_NAMES.get(code, code)}) problems "
                    "not listed", self.file))
        return self._items


def json_pointer(*parts: str) -> str:
    """RFC 6901 pointer: ``~`` → ``~0``, ``/`` → ``~1``."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def short(text: str, limit: int = SHORT_CHARS) -> str:
    """Quote untrusted text for a one-line message: repr escapes controls, long text is cut."""
    if len(text) > limit:
        return repr(text[:limit]) + f"…(+{len(text) - limit} chars)"
    return repr(text)


# -- a refused config.json ------------------------------------------------------------------------

#: `config.json: text_config.num_hidden_layers must be ...`: the validator names the key first,
#: dotted, with `[i]` for list items (archlint.families.validate), then what is wrong with it.
_REFUSED_KEY = re.compile(
    r"^[^:]+: (?P<key>[A-Za-z_][\w.\[\]-]*) (?:must |= |names |is missing)")
#: json's own position of a syntax error, kept at the end of the reader's message:
#: `config.json is not valid JSON: Expecting ',' delimiter: line 3 column 5 (char 40)`.
_JSON_POSITION = re.compile(r" is not valid JSON: .*\bline (\d+) column (\d+) \(char \d+\)$")


def _key_pointer(key: str) -> str:
    """`text_config.layer_types[3]` → `/text_config/layer_types/3` (RFC 6901)."""
    parts: list[str] = []
    for part in key.split("."):
        name, *items = part.split("[")
        parts.append(name)
        parts.extend(item.rstrip("]") for item in items)
    return json_pointer(*parts)


def _resolves(config: Any, pointer: str) -> bool:
    node = config
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def config_problem(message: str, *, file: str = "config.json",
                   config: dict[str, Any] | None = None) -> Problem:
    """The AL019 problem for a config.json the reader or validator refused with ``message``
    (a ConfigError's text): the refused key's JSON pointer when the message names one that is
    in ``config`` (the parsed file), else none (the whole file: not JSON, not an object, a key
    that is missing)."""
    pointer = None
    match = _REFUSED_KEY.match(message)
    if match and config is not None:
        candidate = _key_pointer(match["key"])
        pointer = candidate if _resolves(config, candidate) else None
    return Problem("AL019", message, file, pointer)


def json_error_position(message: str) -> tuple[int, int] | None:
    """(1-based line, 1-based column) of the syntax error a "not valid JSON" message quotes
    from json (whose column counts characters of the decoded text, as SARIF's code points do),
    else None."""
    match = _JSON_POSITION.search(message)
    return (int(match[1]), int(match[2])) if match else None
