"""Escaping of untrusted text, one context at a time: hostile examples plus invariants."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from archlint.report import escape
from archlint.report.escape import (
    COMMAND_GUARD,
    for_github_message,
    for_github_property,
    for_html,
    for_line,
    for_markdown_cell,
    for_plain_text,
    for_terminal,
    for_xml,
)

# Any code point, lone surrogates included (json.loads accepts "\ud800", so a config can hold one).
any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=80)
# Strings made mostly of the characters that matter, so that hostile mixes are common.
hostile_text = st.lists(
    st.sampled_from(
        [
            *"\x1b[]\\;:,%0AD\r\n\t\x00\x07\x9b\x9c\x9d|`*_<>&\"' aZ",
            *("\u202e", "\u2066", "\u2028", "\ud800", "\ufffe", "\uffff", "]]>", "::", "%0A"),
        ]
    ),
    max_size=40,
).map("".join)
texts = st.one_of(any_text, hostile_text)

ESC_SEQUENCES = [
    "\x1b[2J",  # clear screen
    "\x1b[31;1m",  # colour
    "\x1b]8;;https://evil.example\x1b\\",  # OSC 8 hyperlink, ST-terminated
    "\x1b]0;title\x07",  # OSC, BEL-terminated
    "\x1bPqpayload\x1b\\",  # DCS
    "\x1bc",  # reset
    "\x1b(B",  # charset
    "\x9b2J",  # 8-bit CSI
]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
CONTROLS = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(c) not in "\t\n"]


# -- terminal / plain text -------------------------------------------------------------------------


@pytest.mark.parametrize("seq", ESC_SEQUENCES)
def test_terminal_strips_escape_sequences_whole(seq: str) -> None:
    assert for_terminal(f"a{seq}b") == "ab"


def test_terminal_osc8_hyperlink_keeps_only_the_visible_text() -> None:
    s = "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
    assert for_terminal(s) == "click me"


def test_terminal_unterminated_osc_leaves_inert_text() -> None:
    out = for_terminal("x\x1b]8;;https://evil")
    assert "\x1b" not in out
    # ESC ] alone is read as a two-character escape; the rest is ordinary text.
    assert out == "x8;;https://evil"


@pytest.mark.parametrize("ch", CONTROLS)
def test_terminal_drops_control_characters(ch: str) -> None:
    assert for_terminal(f"a{ch}") == "a"
    assert ch not in for_terminal(f"a{ch}b")
    if ch not in "\x1b\x9b":  # these introduce a sequence and take "b" along as its final byte
        assert for_terminal(f"a{ch}b") == "ab"


def test_terminal_keeps_tab_newline_and_ordinary_unicode() -> None:
    s = "layer\t0\nnäive 模型 🙂"
    assert for_terminal(s) == s


def test_terminal_carriage_return_cannot_overwrite_the_line() -> None:
    assert for_terminal("safe\rEVIL") == "safeEVIL"


@pytest.mark.parametrize("ch", BIDI)
def test_bidi_controls_are_shown_not_applied(ch: str) -> None:
    out = for_terminal(f"a{ch}b")
    assert ch not in out
    assert out == f"a<U+{ord(ch):04X}>b"


def test_line_separators_and_surrogates() -> None:
    assert for_plain_text("a\u2028b\u2029c") == "a b c"
    assert for_plain_text("a\ud800b") == "a\ufffdb"
    for_plain_text("a\udfffb").encode("utf-8")  # encodable


@given(texts)
def test_terminal_output_has_no_escape_no_controls(s: str) -> None:
    out = for_terminal(s)
    assert "\x1b" not in out
    assert all(
        ch in "\t\n" or (0x20 <= ord(ch) != 0x7F and not 0x80 <= ord(ch) < 0xA0) for ch in out
    )
    assert not any(b in out for b in BIDI)
    out.encode("utf-8")  # no lone surrogate left
    # \n is the only line break left (str.splitlines also splits on these).
    assert not set(out) & set("\v\f\x1c\x1d\x1e\x85\u2028\u2029")


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_terminal_leaves_printable_ascii_alone(s: str) -> None:
    # ...except the guard in front of a line that would be a workflow command.
    guarded = s.lstrip().startswith(("::", "##["))
    assert for_terminal(s) == (COMMAND_GUARD + s if guarded else s)


# -- markdown --------------------------------------------------------------------------------------


def test_markdown_cell_escapes_what_would_render() -> None:
    assert for_markdown_cell("a|b") == r"a\|b"
    assert for_markdown_cell("`code`") == r"\`code\`"
    assert for_markdown_cell("**bold** _it_") == r"\*\*bold\*\* \_it\_"
    assert for_markdown_cell("[x](https://evil)") == r"\[x\](https://evil)"
    assert for_markdown_cell("<script>") == r"\<script\>"
    assert for_markdown_cell("back\\slash") == r"back\\slash"
    assert for_markdown_cell("&#x202E;") == r"\&#x202E;"


def test_markdown_cell_is_one_line() -> None:
    assert for_markdown_cell("a\nb\r\nc\rd") == "a b c d"
    assert for_markdown_cell("a\u2028b") == "a b"


def test_markdown_cell_plain_identifier_unchanged() -> None:
    assert for_markdown_cell("model.layers.0.self_attn.q_proj.weight") == (
        r"model.layers.0.self\_attn.q\_proj.weight"
    )
    assert for_markdown_cell("num_key_value_heads = 8") == r"num\_key\_value\_heads = 8"


def _unescape_markdown(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


@example("\r\x1f\n")  # found by CI: the dropped control leaves one CRLF break
@given(texts)
def test_markdown_cell_invariants(s: str) -> None:
    out = for_markdown_cell(s)
    assert "\n" not in out and "\r" not in out
    # Every | is escaped (preceded by an odd number of backslashes), so no cell boundary.
    for m in re.finditer(r"(\\*)\|", out):
        assert len(m.group(1)) % 2 == 1
    # Removing the escapes gives back the sanitized text with line breaks and tabs as spaces.
    # Controls go first, so a CR and an LF that only a dropped control separated are one break.
    sanitized = escape._strip(s, escape._KEEP_TAB_CR_LF)
    lf_only = sanitized.replace("\r\n", "\n").replace("\r", "\n")
    # A cell is never at the start of a line (the row starts with "|"), so no command guard.
    expected = lf_only.replace("\n", " ").replace("\t", " ")
    assert _unescape_markdown(out) == expected


# -- GitHub workflow commands --------------------------------------------------------------------


_GITHUB_CODES = {"25": "%", "0D": "\r", "0A": "\n", "3A": ":", "2C": ","}


def _unescape_github(s: str) -> str:
    return re.sub(r"%(25|0D|0A|3A|2C)", lambda m: _GITHUB_CODES[m.group(1)], s)


def test_github_message_escapes_percent_cr_lf() -> None:
    assert for_github_message("50%\r\ndone") == "50%25%0D%0Adone"
    assert for_github_message("%0A") == "%250A"


def test_github_message_cannot_start_a_command() -> None:
    out = for_github_message("ok\r::error::pwned\n::set-env name=X::1")
    assert "\r" not in out and "\n" not in out
    assert out == "ok%0D::error::pwned%0A::set-env name=X::1"


def test_github_property_escapes_separators() -> None:
    assert for_github_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    assert for_github_property("x,title=evil::msg") == "x%2Ctitle=evil%3A%3Amsg"


def test_github_message_strips_escapes() -> None:
    assert for_github_message("a\x1b[2Jb\x00c") == "abc"


printable_with_specials = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E), st.sampled_from("\r\n%:,")
    )
)


@given(texts)
def test_github_output_is_one_line(s: str) -> None:
    for out in (for_github_message(s), for_github_property(s)):
        assert "\r" not in out and "\n" not in out
        assert "\x1b" not in out
        assert len(f"::error::{out}".splitlines()) == 1
    prop = for_github_property(s)
    assert ":" not in prop and "," not in prop


@given(printable_with_specials)
def test_github_escaping_round_trips(s: str) -> None:
    # The runner's decoding gives back exactly the text (for text without control characters).
    assert _unescape_github(for_github_message(s)) == s
    assert _unescape_github(for_github_property(s)) == s


# -- XML -------------------------------------------------------------------------------------------


def test_xml_escapes_markup() -> None:
    assert for_xml("<a href=\"x\">'&'</a>") == (
        "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;"
    )
    assert "]]>" not in for_xml("]]>")


def test_xml_drops_illegal_characters() -> None:
    s = "a\x00b\x08c\x0bd\x0ce\x0ff\x1fg\ud800h\udfffi\ufffej\uffffk"
    assert for_xml(s) == "abcdefghijk"
    assert for_xml("tab\tlf\ncr\r🙂\ufffd") == "tab\tlf\ncr\r🙂\ufffd"


@given(texts)
def test_xml_output_always_parses_as_text_and_attribute(s: str) -> None:
    out = for_xml(s)
    doc = f"<r a=\"{out}\" b='{out}'>{out}<![CDATA[x]]>{out}</r>"
    root = ET.fromstring(doc.encode("utf-8"))
    assert root.tag == "r"
    assert root.text is not None or out == ""


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xD7FF)))
def test_xml_round_trips_legal_text(s: str) -> None:
    root = ET.fromstring(f"<r>{for_xml(s)}</r>")
    assert (root.text or "") == s


# -- HTML ------------------------------------------------------------------------------------------


def test_html_escapes_and_sanitizes() -> None:
    assert for_html("<script>alert('x')</script>") == (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
    )
    assert for_html('"&"') == "&quot;&amp;&quot;"
    assert for_html("a\x1b[2J\u202eb") == "a&lt;U+202E&gt;b"


@given(texts)
def test_html_output_has_no_markup_characters(s: str) -> None:
    out = for_html(s)
    assert not set(out) & set("<>\"'\x1b")


# -- workflow commands in line-oriented output ----------------------------------------------------


def _starts_a_command(line: str) -> bool:
    # The Actions runner trims leading whitespace, then looks for "::" (and the older "##[").
    return line.lstrip().startswith(("::", "##["))


@pytest.mark.parametrize(
    "s",
    [
        "::error::pwned",
        "  ::set-env name=X::1",
        "model\n::error file=x::forged",
        "a\r\n\t::warning::x",
        "\x1b[2J::error::x",  # the escape goes first, then the line starts with "::"
        "\u2028::error::x",  # U+2028 becomes a space, which the runner trims
        "##[error]old syntax",
    ],
)
def test_no_line_of_plain_text_starts_a_workflow_command(s: str) -> None:
    for out in (for_terminal(s), for_plain_text(s), for_html(s)):
        assert not any(_starts_a_command(line) for line in out.split("\n")), out
    assert "::" in for_terminal(s) or "##[" in for_terminal(s)  # shown, not removed


@given(texts)
def test_plain_text_lines_never_start_a_workflow_command(s: str) -> None:
    for out in (for_terminal(s), for_plain_text(s)):
        assert not any(_starts_a_command(line) for line in out.splitlines())


@given(texts)
def test_for_line_is_one_safe_line(s: str) -> None:
    out = for_line(s)
    assert out.splitlines() in ([], [out])
    assert "\t" not in out and out == out.strip()
    assert not _starts_a_command(out)
    assert "\x1b" not in out and not any(b in out for b in BIDI)
    out.encode("utf-8")


def test_for_line_folds_line_breaks() -> None:
    assert for_line("unknown dtype 'X\n::error::y'") == "unknown dtype 'X ::error::y'"
    assert for_line("a\x1b]8;;https://e\x07b\x1b[31m c\r\nd") == "ab c d"


# -- linear time ----------------------------------------------------------------------------------

# The 1 MB inputs that made a backtracking pattern slow, one per kind of sequence: unterminated
# string introducers (7- and 8-bit; the old lazy `.*?` ran to the end of the text from each one),
# terminated ones, CSI starts without a final byte, ESC runs, long payloads.
PATHOLOGICAL = {
    "osc-unterminated": "\x1b]" * 500_000,
    "osc-8bit-unterminated": "\x9d" * 1_000_000,
    "dcs-unterminated-with-text": "\x1bPab" * 250_000,
    "osc-terminated": "\x1b]x\x07" * 250_000,
    "st-after-each": "\x1b]\x1b\\" * 250_000,
    "csi-no-final": "\x1b[0;" * 250_000,
    "esc-run": "\x1b" * 1_000_000,
    "one-long-payload": "\x1b]" + "\x1b" * 1_000_000 + "\x07",
    "newline-commands": "\n::error::x" * 100_000,
}
# One function per code path (the others share the scanner with these).
ALL_CONTEXTS = (for_line, for_markdown_cell, for_github_property, for_html, for_xml)


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_escaping_megabyte_inputs_is_linear_time(name: str) -> None:
    import time

    s = PATHOLOGICAL[name]
    started = time.perf_counter()
    outputs = [f(s) for f in ALL_CONTEXTS]
    elapsed = time.perf_counter() - started
    # 5 functions over 1 MB: about 1 s on a loaded 2-core box. The lazy pattern took 13 s for
    # 64 KB of "ESC ]" (quadratic: minutes for 1 MB).
    assert elapsed < 15, f"{name}: {elapsed:.1f} s"
    assert all("\x1b" not in out for out in outputs[:-1])


# The previous implementation, a regular expression that states ECMA-48's sequence forms directly
# (correct, but quadratic on unterminated introducers): on short texts the scanner must agree.
_REFERENCE = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c)"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|\x1b[ -/]*[0-~]",
    re.DOTALL,
)
sequence_text = st.lists(
    st.sampled_from([*"\x1b[]\\PX^_;0a (?/@~\x07\x9c\x9d\x9b\x90\n", "\x1b]", "\x1b\\"]),
    max_size=30,
).map("".join)


@given(sequence_text)
def test_scanner_removes_exactly_the_ecma48_sequences(s: str) -> None:
    table = escape._KEEP_TAB_LF
    assert escape._strip(s, table) == _REFERENCE.sub("", s).translate(table)
