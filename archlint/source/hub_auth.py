"""The headers of a Hub request: User-Agent and, when a token is to be sent, Authorization.

The token is chosen as huggingface_hub's `build_hf_headers` chooses it (`get_token_to_send`):
a string is sent; `False` sends none; `True` requires one; `None` sends the machine's token
unless HF_HUB_DISABLE_IMPLICIT_TOKEN is set. The machine's token is read here only in the case
that needs nothing of huggingface_hub: HF_TOKEN (else HUGGING_FACE_HUB_TOKEN) with no token
file, no OIDC exchange (HF_OIDC_RESOURCE) and no Colab. Every other case (a token file, which
huggingface_hub may refresh; OIDC; Colab's secrets) asks huggingface_hub.utils.get_token, so
`hf auth login` works as it does everywhere else; importing it costs ~0.1 s of start-up that
an anonymous or HF_TOKEN run does not pay (issue 16).

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


def _needs_huggingface_hub() -> bool:
    """Whether the machine's token can come from somewhere only huggingface_hub reads."""
    return (bool(os.environ.get("HF_OIDC_RESOURCE")) or os.path.exists(hf_constants.HF_TOKEN_PATH)
            or "google.colab" in sys.modules)


def machine_token() -> str | None:
    """The token huggingface_hub's `get_token()` returns, in the order it looks."""
    if _needs_huggingface_hub():
        from huggingface_hub.utils import get_token  # type: ignore[attr-defined]

        token: str | None = get_token()
        return token
    return _clean(os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN"))


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
