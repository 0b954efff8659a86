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
2. *Encode* for the context (percent-encoding, backslash escapes, entities). Contexts that keep
   line breaks also guard every line that would start a GitHub workflow command; ``for_line``
   folds all whitespace so the text stays on one line.

Every function is linear in the length of its input: repo text can be megabytes (a 400 KB tensor
name, a 300 KB ``model_type``), and a CI job must not hang on it. The sequences are found by a
forward scanner, never by a backtracking pattern; the only regular expressions left are single
character classes.

``for_xml`` is the exception: it only escapes and drops what XML 1.0 forbids, so that it can be
applied to any text; callers with untrusted text sanitize first (``for_xml(for_plain_text(s))``).
"""

from __future__ import annotations

import functools
import html
import re

__all__ = [
    "for_github_message",
    "for_github_property",
    "for_html",
    "for_inline",
    "for_line",
    "for_markdown_cell",
    "for_plain_text",
    "for_terminal",
    "for_xml",
]

# ECMA-48 sequences, in two kinds.
#   String sequences: OSC (ESC ]), DCS (ESC P), SOS (ESC X), PM (ESC ^), APC (ESC _) and their
#     8-bit introducers, up to a terminator: BEL (OSC only, but xterm accepts it), ST (ESC \\) or
#     8-bit ST. Their payload is any text, so they are cut by `_drop_string_sequences`, which never
#     searches for a terminator that is not there (a lazy `.*?` from every unterminated introducer
#     was quadratic: 64 KB of `ESC ]` took 13 s). An unterminated one loses its introducer and the
#     rest stays visible as inert text.
#   CSI (ESC [ or 8-bit 0x9b, parameter bytes 0x30-0x3f, intermediates 0x20-0x2f, a final byte) and
#     other escapes (ESC, intermediates, one final byte 0x30-0x7e: ESC 7, ESC c, ESC ( B ...).
#     `_SEQUENCE` finds them in linear time: its classes are disjoint, a failed attempt costs only
#     the run of parameter/intermediate bytes after one ESC, and such a run ends at the next ESC.
_STRING_INTRODUCER = re.compile("\x1b[\\]PX^_]|[\x90\x98\x9d\x9e\x9f]")
_STRING_TERMINATORS = ("\x07", "\x1b\\", "\x9c")
# Introducer, payload up to the first terminator (any character but BEL, 8-bit ST and the ESC of
# ESC \\, written as an unrolled loop so the engine never backtracks), terminator.
_STRING_SEQUENCE = re.compile(
    "(?:\x1b[\\]PX^_]|[\x90\x98\x9d\x9e\x9f])"
    "[^\x07\x1b\x9c]*(?:\x1b(?!\\\\)[^\x07\x1b\x9c]*)*"
    "(?:\x07|\x1b\\\\|\x9c)"
)
_SEQUENCE = re.compile("(?:\x1b\\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b[ -/]*[0-~]")
_ANY_INTRODUCER = re.compile("[\x1b\x90\x98\x9b\x9d\x9e\x9f]")
# What a cut sequence leaves behind until the control characters are dropped: a control that no
# sequence can contain, so the text on either side of a cut never joins into a new sequence.
_CUT = "\x00"


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


def _drop_string_sequences(s: str) -> str:
    """Cut every terminated string sequence whole; drop the introducer of an unterminated one.

    Everything up to the end of the last terminator is the *head*: each introducer in it has a
    terminator after it, so `_STRING_SEQUENCE` matches at every introducer it tries, each match
    ends at the first terminator, and no character is scanned twice. In the *tail* no introducer
    can be terminated, so it only loses its introducers. Linear in ``len(s)``.
    """
    head_end = 0
    for term in _STRING_TERMINATORS:
        at = s.rfind(term)
        if at >= 0:
            head_end = max(head_end, at + len(term))
    head = _STRING_SEQUENCE.sub(_CUT, s[:head_end]) if head_end else ""
    return head + _STRING_INTRODUCER.sub(_CUT, s[head_end:])


def _strip(s: str, table: dict[int, str | None]) -> str:
    """Drop escape sequences, then apply ``table`` (controls, bidi, separators, surrogates)."""
    if _ANY_INTRODUCER.search(s) is not None:
        s = _SEQUENCE.sub("", _drop_string_sequences(s))
    return s.translate(table)


# A line the Actions runner would read as a workflow command once it trims leading whitespace:
# `::error ...`, `::set-output ...`, and the older `##[error]` form.
_COMMAND_PREFIXES = ("::", "##[")
# Put in front of such a line: visible, and it makes the line not start with a command.
COMMAND_GUARD = "\\"


def _guard_line(line: str) -> str:
    return COMMAND_GUARD + line if line.lstrip().startswith(_COMMAND_PREFIXES) else line


def _guard_commands(text: str) -> str:
    """No line of ``text`` may start a GitHub workflow command (``::error::pwned``)."""
    if "::" not in text and "##[" not in text:
        return text
    return "\n".join(_guard_line(line) for line in text.split("\n"))


def for_plain_text(s: str) -> str:
    """Text safe to display anywhere plain text is shown (terminal, SARIF ``message.text``, JSON).

    Escape sequences and control characters other than ``\\t`` and ``\\n`` are removed, bidi
    controls are shown as ``<U+202E>``-style tags, U+2028/U+2029 become spaces, lone surrogates
    become U+FFFD, and a line that would start a GitHub workflow command (``::`` or ``##[`` after
    leading whitespace) is prefixed with a backslash.
    """
    return _guard_commands(_strip(s, _KEEP_TAB_LF))


def for_terminal(s: str) -> str:
    """Text for a terminal: no escape sequence, no control character but ``\\t``/``\\n``.

    Identical to :func:`for_plain_text`; the name says where the caller writes. Text handed to
    ``rich`` with markup enabled must additionally go through ``rich.markup.escape``.
    """
    return for_plain_text(s)


def for_line(s: str) -> str:
    """One line of plain text (an error message, a log line, a table cell on a terminal).

    As :func:`for_plain_text`, and every run of whitespace, tabs and line breaks included,
    becomes one space, so the text cannot continue on a line of its own; the result is stripped.
    """
    return _guard_line(" ".join(_strip(s, _KEEP_TAB_LF).split()))


def for_inline(s: str) -> str:
    """Text set inside a line (a value in a message): as :func:`for_plain_text`, and every tab
    and line break one space, so it cannot end the line. Surrounding spaces are kept (the
    template around it decides the layout); the line as a whole gets :func:`for_line`."""
    return _strip(s, _KEEP_TAB_LF).replace("\n", " ").replace("\t", " ")


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
    text = _NEWLINES.sub(" ", _strip(s, _KEEP_TAB_CR_LF)).replace("\t", " ")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def for_github_message(s: str) -> str:
    """The message part of a GitHub Actions workflow command (``::error ...::MESSAGE``).

    The runner reads one command per line and percent-decodes ``%25``, ``%0D`` and ``%0A``; so
    ``%`` is encoded first, then CR and LF, and the result is always a single line that cannot
    start a second command. Escape sequences and other control characters are dropped.
    """
    text = _strip(s, _KEEP_TAB_CR_LF)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def for_github_property(s: str) -> str:
    """A property value of a workflow command (``file=``, ``title=`` ...).

    As :func:`for_github_message`, and ``:`` and ``,`` are encoded (``%3A``, ``%2C``) because they
    end the property list and separate properties.
    """
    return for_github_message(s).replace(":", "%3A").replace(",", "%2C")


# Complement of the XML 1.0 Char production:
# #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_XML_ILLEGAL = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
_XML_ENTITIES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"},
)


@functools.cache
def _xml_illegal() -> re.Pattern[str]:
    return re.compile(_XML_ILLEGAL)


def for_xml(s: str) -> str:
    """Text for XML 1.0 character data or an attribute value (either quote).

    ``& < > " '`` become entities (so ``]]>`` cannot occur) and characters XML 1.0 does not allow
    at all are dropped: C0 controls but tab/LF/CR, lone surrogates, U+FFFE and U+FFFF. This does
    not remove terminal escapes or bidi controls; for untrusted text use
    ``for_xml(for_plain_text(s))``.
    """
    # compiled at the first XML report, not at import: the class over the astral planes
    # takes ~3 ms to compile, and the JSON and text reports never use it
    return _xml_illegal().sub("", s).translate(_XML_ENTITIES)


def for_html(s: str) -> str:
    """Text for HTML element content or a quoted attribute value: sanitized, then entity-escaped."""
    return html.escape(for_plain_text(s), quote=True)
