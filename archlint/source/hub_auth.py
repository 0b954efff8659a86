"""The headers of a Hub request: User-Agent and, when a token is to be sent, Authorization.

The token is chosen as huggingface_hub's `build_hf_headers` chooses it (`get_token_to_send`):
a string is sent; `False` sends none; `True` requires one; `None` sends the machine's token
unless HF_HUB_DISABLE_IMPLICIT_TOKEN is set. The machine's token is read here where that needs
nothing of huggingface_hub (HF_TOKEN, or a token file with no OAuth refresh token beside it);
an OIDC exchange, a refreshable OAuth login and Colab's secrets are asked of
huggingface_hub.utils.get_token, so every login works as it does everywhere else. Importing it
costs ~0.1 s of start-up (httpx2 through huggingface_hub.errors) that the common runs do not
pay (issue 16).

The User-Agent is `archlint/V; hf_hub/V; python/V` (+ `origin/…` from
HF_HUB_USER_AGENT_ORIGIN), huggingface_hub's format without its telemetry parts (the torch
version, and the agent detection that costs a request of its own).
"""

from __future__ import annotations

import os
import platform
import sys

from huggingface_hub import __version__ as _hf_version
from huggingface_hub import constants as hf_constants

from archlint import __version__ as _archlint_version


def _clean(token: str | None) -> str | None:
    """huggingface_hub's `_clean_token`: surrounding whitespace dropped, empty means none."""
    if token is None:
        return None
    return token.replace("\r", "").replace("\n", "").strip() or None


def _file_token() -> str | None:
    """The token file's token, when huggingface_hub would return it unchanged: a token with
    no refresh token stored beside it (`hf auth login` with a token; only a browser OAuth login
    stores one) is never refreshed. The file missing: None. Otherwise huggingface_hub's own
    reader (which may refresh it) answers."""
    try:
        with open(hf_constants.HF_TOKEN_PATH, encoding="utf-8") as fh:
            token = _clean(fh.read())
    except FileNotFoundError:
        return None
    try:
        with open(hf_constants.HF_STORED_TOKENS_PATH, encoding="utf-8") as fh:
            refreshable = "refresh_token" in fh.read()
    except FileNotFoundError:
        refreshable = False
    if token is None or not refreshable:
        return token
    from huggingface_hub.utils import get_token  # type: ignore[attr-defined]

    found: str | None = get_token()
    return found


def machine_token() -> str | None:
    """The token huggingface_hub's `get_token()` returns, in the order it looks: an OIDC
    exchange (HF_OIDC_RESOURCE), HF_TOKEN / HUGGING_FACE_HUB_TOKEN, the token file, Colab's
    secrets. The first and the last are left to huggingface_hub."""
    if os.environ.get("HF_OIDC_RESOURCE"):
        from huggingface_hub.utils import get_token  # type: ignore[attr-defined]

        oidc: str | None = get_token()
        return oidc
    found = (_clean(os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN"))
             or _file_token())
    if found is None and "google.colab" in sys.modules:
        from huggingface_hub.utils import get_token  # type: ignore[attr-defined]

        found = get_token()
    return found


def token_to_send(token: str | bool | None) -> str | None:
    """huggingface_hub's `get_token_to_send`, with its error for a required token missing."""
    if isinstance(token, str):
        return token
    if token is False:
        return None
    if token is True:
        from huggingface_hub.utils._headers import get_token_to_send

        required: str | None = get_token_to_send(True)  # raises LocalTokenNotFoundError
        return required
    if hf_constants.HF_HUB_DISABLE_IMPLICIT_TOKEN:
        return None
    return machine_token()


def user_agent() -> str:
    agent = (f"archlint/{_archlint_version}; hf_hub/{_hf_version}; "
             f"python/{platform.python_version()}")
    origin = getattr(hf_constants, "HF_HUB_USER_AGENT_ORIGIN", None)
    return agent + f"; origin/{origin}" if origin else agent


def hub_headers(token: str | bool | None) -> dict[str, str]:
    """The headers every request of a fetch carries (the token only to the endpoint's origin:
    `http._Fetcher.get` drops it elsewhere)."""
    headers = {"user-agent": user_agent()}
    sent = token_to_send(token)
    if sent is not None:
        headers["authorization"] = f"Bearer {sent}"
    return headers
