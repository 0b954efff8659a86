"""Keep credentials out of every message: the token in use, URL userinfo, token-shaped text.

A token can reach a message by routes archlint does not control: `HF_ENDPOINT` written as
`http://user:TOKEN@host`, a server reflecting the Authorization header into `Content-Range` or
an error body, a transport error quoting a URL. So messages are redacted where they are made
into lines (`ArchlintError.one_line`, the CLI's internal-error line, scan rows), not where the
token is used.

Every pattern is linear-time: each starts at a literal (`://`, `hf_`, `api_org_`, `Bearer`)
and its one repeated class cannot run past the next separator.
"""

from __future__ import annotations

import re
import threading

__all__ = ["REDACTED", "redact", "register_secret", "strip_userinfo"]

REDACTED = "***"

# `scheme://user:password@host` → `scheme://***@host`; the userinfo ends at the first `@` before
# any `/`, whitespace or quote (RFC 3986: userinfo holds none of those).
_USERINFO = re.compile(r"://[^/@\s'\"<>]*@")
# Hugging Face user and organisation tokens (`hf_` + 34 letters and digits today; any length
# from 20), and the value of a Bearer/token authorization.
_TOKEN_SHAPED = re.compile(
    r"\b(?:hf_|api_org_)[A-Za-z0-9]{20,}|(?<=Bearer )[^\s'\"]+|(?<=bearer )[^\s'\"]+"
)
# Tokens this process was given (HF_TOKEN, `hf auth login`, an explicit token): redacted
# wherever they appear, whatever their shape.
_SECRETS: set[str] = set()
_LOCK = threading.Lock()
#: shorter values are not treated as secrets: redacting "a" everywhere would garble messages.
_MIN_SECRET_CHARS = 8


def register_secret(value: object) -> None:
    """Redact `value` from every later message (a token given to this process)."""
    if isinstance(value, str) and len(value.strip()) >= _MIN_SECRET_CHARS:
        with _LOCK:
            _SECRETS.add(value.strip())


def strip_userinfo(url: str) -> str:
    """`url` without the credentials of its authority part."""
    return _USERINFO.sub("://" + REDACTED + "@", url)


def redact(text: str) -> str:
    """`text` with credentials and anything token-shaped replaced by `***`."""
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "://" in text:
        text = strip_userinfo(text)
    return _TOKEN_SHAPED.sub(REDACTED, text)
