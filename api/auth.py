"""API keys: a key in the ``X-API-Key`` header.

Write keys come from ``GRAPHRAILS_API_KEYS`` (comma-separated). With none configured
every write is refused: writes are never open by default.

Read keys come from ``GRAPHRAILS_READ_KEYS``: once set, the rails, explain and demo
routes want one of them (or a write key). Unset, reads are open to whoever reaches the
port, as the demo wants; a deployment sets them.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from graph.settings import Settings

API_KEY_HEADER = "X-API-Key"
MIN_KEY_LENGTH = 16
"""Shorter keys are refused when the API starts: they could be guessed."""

_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="One of the keys in GRAPHRAILS_API_KEYS.",
)


def api_keys(settings: Settings) -> list[bytes]:
    """The configured write keys, checked; ``ValueError`` naming the setting if one is too
    short."""
    return _checked("GRAPHRAILS_API_KEYS", settings.api_key_list)


def read_keys(settings: Settings) -> list[bytes]:
    """The configured read keys, checked like the write keys (empty: reads are open)."""
    return _checked("GRAPHRAILS_READ_KEYS", settings.read_key_list)


def _checked(setting: str, keys: list[str]) -> list[bytes]:
    short = [str(i) for i, key in enumerate(keys, 1) if len(key) < MIN_KEY_LENGTH]
    if short:
        raise ValueError(
            f"{setting}: key {', '.join(short)} (counting from 1) is shorter than "
            f"{MIN_KEY_LENGTH} characters; use long random keys, for example "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return [key.encode() for key in keys]


async def require_api_key(
    request: Request, key: Annotated[str | None, Security(_header)] = None
) -> None:
    """401 without a key, 403 with a wrong one or when no key is configured."""
    keys: list[bytes] = request.app.state.api_keys
    if not keys:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="writes are disabled: no API key is configured; set GRAPHRAILS_API_KEYS "
            "(comma-separated keys) to enable them",
        )
    if not key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"missing API key: send one of GRAPHRAILS_API_KEYS in the {API_KEY_HEADER} "
            "header",
            headers={"WWW-Authenticate": API_KEY_HEADER},
        )
    if not _known(key, keys):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid API key")


async def require_read_key(
    request: Request, key: Annotated[str | None, Security(_header)] = None
) -> None:
    """Nothing when no read key is configured (open reads); else 401 without a key and 403
    with one that is neither a read key nor a write key."""
    keys: list[bytes] = getattr(request.app.state, "read_keys", [])
    if not keys:
        return
    if not key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"missing API key: reads need one of GRAPHRAILS_READ_KEYS (or of "
            f"GRAPHRAILS_API_KEYS) in the {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": API_KEY_HEADER},
        )
    if not _known(key, keys + getattr(request.app.state, "api_keys", [])):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid API key")


def _known(key: str, keys: list[bytes]) -> bool:
    given = key.encode()
    # Compare with every key, so the time taken does not tell which one came close.
    matches = [hmac.compare_digest(given, known) for known in keys]
    return any(matches)


WriteKey = Annotated[None, Depends(require_api_key)]
ReadKey = Depends(require_read_key)
"""For a router's ``dependencies``: the routes that read."""
