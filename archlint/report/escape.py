"""Escaping for untrusted text: every string that came from a model repo goes through one of these.

A model repo is written by someone else. Its config keys, tensor names, shard file names and the
messages built from them can carry terminal escape sequences (clear the screen, forge an OSC 8
hyperlink), bidi overrides that make text read differently than it is ("Trojan Source"), line
breaks that start a second GitHub workflow command (``\\r::error::pwned``, ``::set-env``), or
characters that break XML and Markdown. Each output format has its own function here; formatters
call the one for their context and never build output from raw strings.

Two steps, in this order:

1. *Sanitize* (all contexts): drop ANSI/ECMA-48 escape sequences (CSI, OSC, DCS, SOS, PM, APC and
   two-character ESC sequences), drop C0 and C1 control characters and DEL (keeping ``\\t``,
   ``\\n`` and, where the context encodes it, ``\\r``), replace the bidi embedding/override/isolate
   controls U+202A-U+202E and U+2066-U+2069 with a visible ``<U+202E>`` tag, turn U+2028/U+2029
   (which ``str.splitlines`` and many renderers treat as line breaks) into spaces, and replace lone
   surrogates, which cannot be encoded as UTF-8, with U+FFFD.
2. *Encode* for the context (percent-encoding, backslash escapes, entities).

``for_xml`` is the exception: it only escapes and drops what XML 1.0 forbids, so that it can be
applied to any text; callers with untrusted text sanitize first (``for_xml(for_plain_text(s))``).
"""

from __future__ import annotations

import html
import re

__all__ = [
    "for_github_message",
    "for_github_property",
    "for_html",
    "for_line",
    "for_markdown_cell",
    "for_plain_text",
    "for_terminal",
    "for_xml",
]

# ECMA-48 sequences, longest forms first.
#   string sequences: OSC (ESC ]), DCS (ESC P), SOS (ESC X), PM (ESC ^), APC (ESC _) and their 8-bit
#     introducers, up to a terminator: BEL (OSC only, but xterm accepts it), ST (ESC \) or 8-bit ST.
#     An unterminated one is not matched: its introducer is dropped below as a control character
#     and the rest stays visible as inert text.
#   CSI: ESC [ (or 8-bit 0x9b), parameter bytes 0x30-0x3f, intermediates 0x20-0x2f, a final byte.
#   other escapes: ESC, intermediates, one final byte 0x30-0x7e (ESC 7, ESC c, ESC ( B, ...).
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c)"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|\x1b[ -/]*[0-~]",
    re.DOTALL,
)

# Bidi embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
# Unicode line and paragraph separators: line breaks for str.splitlines and for many renderers.
_LINE_SEPARATORS = {"\u2028", "\u2029"}


def _build_table(keep: str) -> dict[int, str | None]:
    """Translation table: controls out (except ``keep``), bidi tagged, separators to spaces."""
    table: dict[int, str | None] = {}
    for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)):
        if chr(c) not in keep:
            table[c] = None
    for ch in _BIDI:
        table[ord(ch)] = f"<U+{ord(ch):04X}>"
    for ch in _LINE_SEPARATORS:
        table[ord(ch)] = " "
    for c in range(0xD800, 0xE000):  # lone surrogates (a str cannot hold a valid pair)
        table[c] = "\ufffd"
    return table


_KEEP_TAB_LF = _build_table("\t\n")
_KEEP_TAB_CR_LF = _build_table("\t\r\n")


def _sanitize(s: str, table: dict[int, str | None]) -> str:
    return _ESCAPE_SEQUENCE.sub("", s).translate(table)


def for_plain_text(s: str) -> str:
    """Text safe to display anywhere plain text is shown (terminal, SARIF ``message.text``, JSON).

    Escape sequences and control characters other than ``\\t`` and ``\\n`` are removed, bidi
    controls are shown as ``<U+202E>``-style tags, U+2028/U+2029 become spaces, lone surrogates
    become U+FFFD.
    """
    return _sanitize(s, _KEEP_TAB_LF)


def for_terminal(s: str) -> str:
    """Text for a terminal: no escape sequence, no control character but ``\\t``/``\\n``.

    Identical to :func:`for_plain_text`; the name says where the caller writes. Text handed to
    ``rich`` with markup enabled must additionally go through ``rich.markup.escape``.
    """
    return _sanitize(s, _KEEP_TAB_LF)


# Characters that Markdown (CommonMark + GFM tables, strikethrough, HTML, entities) may render.
# Backslash-escaping any ASCII punctuation is valid CommonMark and renders as the character itself,
# so escaping them unconditionally is correct everywhere outside code spans, and since backticks are
# escaped too, no code span can open.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~])")
_NEWLINES = re.compile(r"\r\n|[\r\n]")


def for_markdown_cell(s: str) -> str:
    """Text for one cell of a Markdown (GFM) table: renders as the literal text, on one line.

    ``|`` cannot end the cell, backticks, ``*``, ``_``, ``[``, ``]``, ``<``, ``>``, ``&``, ``~``
    and ``\\`` are backslash-escaped, line breaks and tabs become spaces.
    """
    text = _NEWLINES.sub(" ", _sanitize(s, _KEEP_TAB_CR_LF)).replace("\t", " ")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def for_github_message(s: str) -> str:
    """The message part of a GitHub Actions workflow command (``::error ...::MESSAGE``).

    The runner reads one command per line and percent-decodes ``%25``, ``%0D`` and ``%0A``; so
    ``%`` is encoded first, then CR and LF, and the result is always a single line that cannot
    start a second command. Escape sequences and other control characters are dropped.
    """
    text = _sanitize(s, _KEEP_TAB_CR_LF)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def for_github_property(s: str) -> str:
    """A property value of a workflow command (``file=``, ``title=`` ...).

    As :func:`for_github_message`, and ``:`` and ``,`` are encoded (``%3A``, ``%2C``) because they
    end the property list and separate properties.
    """
    return for_github_message(s).replace(":", "%3A").replace(",", "%2C")


# Complement of the XML 1.0 Char production:
# #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_ENTITIES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"},
)


def for_xml(s: str) -> str:
    """Text for XML 1.0 character data or an attribute value (either quote).

    ``& < > " '`` become entities (so ``]]>`` cannot occur) and characters XML 1.0 does not allow
    at all are dropped: C0 controls but tab/LF/CR, lone surrogates, U+FFFE and U+FFFF. This does
    not remove terminal escapes or bidi controls; for untrusted text use
    ``for_xml(for_plain_text(s))``.
    """
    return _XML_ILLEGAL.sub("", s).translate(_XML_ENTITIES)


def for_html(s: str) -> str:
    """Text for HTML element content or a quoted attribute value: sanitized, then entity-escaped."""
    return html.escape(_sanitize(s, _KEEP_TAB_LF), quote=True)


def for_line(s: str) -> str:
    """One line of plain text: as :func:`for_plain_text`, every whitespace run (line breaks
    included) one space, stripped, and a backslash in front if it would start a GitHub
    workflow command (``::`` or ``##[``)."""
    text = " ".join(for_plain_text(s).split())
    return "\\" + text if text.startswith(("::", "##[")) else text
