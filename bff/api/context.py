"""Per-request access to the app's prefkit objects and the caller's identity."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request

from ..identity import Identity, ResolvedIdentity, identity_from_connection
from ..service import PreferenceService
from ..settings import Settings
from .problems import ProblemError

__all__ = ["gpc_of", "identity_helper_of", "identity_of", "keys_match", "service_of", "settings_of"]


def service_of(request: Request[Any, Any, Any]) -> PreferenceService:
    return request.app.state.prefkit


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.prefkit_settings


def identity_helper_of(request: Request[Any, Any, Any]) -> Identity:
    return request.app.state.prefkit_identity


def gpc_of(request: Request[Any, Any, Any]) -> bool:
    """``Sec-GPC: 1`` (the only value the GPC specification defines)."""
    # Straight from the ASGI scope (names are lower-case there): building Litestar's Headers object costs
    # more than the rest of this check on the hot read path.
    for name, value in request.scope["headers"]:
        if name == b"sec-gpc":
            return value.strip() == b"1"
    return False


def identity_of(request: Request[Any, Any, Any]) -> ResolvedIdentity:
    """The caller's identity; 401 when a bearer token was presented but refused."""
    identity = identity_from_connection(request)
    if identity.token_error:
        raise ProblemError(
            401,
            "invalid-token",
            f"customer token refused: {identity.token_error}",
            title="Invalid customer token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return identity


def keys_match(presented: str | None, expected: str) -> bool:
    """Constant-time comparison; an unset expected key never matches."""
    return (
        bool(expected)
        and presented is not None
        and hmac.compare_digest(presented.encode(), expected.encode())
    )
