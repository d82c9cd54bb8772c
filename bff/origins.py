"""Web origins (RFC 6454 ``scheme://host[:port]``): the one reading of them that the allowlist
(``PREFKIT_ALLOWED_ORIGINS``), CORS, framing (``frame-ancestors``), cookie-authenticated writes (CSRF) and
component websockets share, so that no two checks can disagree about the same ``Origin`` header."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["normalize_origin", "normalize_origins", "origin_allowed"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str | None:
    """``value`` as browsers serialize an origin: lower-case scheme and host, an IPv6 host in brackets, no
    default port (a trailing ``/``, as allowlists are often written, is dropped). ``None`` for anything that
    is no http(s) origin: ``null`` (sandboxed frames, ``file:`` pages), other schemes, a bad port, and a
    path, query, fragment or user info, which no origin has."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:  # a port out of range or not a number, an unbalanced IPv6 bracket
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = _DEFAULT_PORTS[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def normalize_origins(values: Iterable[str]) -> tuple[str, ...]:
    """Every entry of an allowlist normalized (:func:`normalize_origin`), in order, without repeats;
    ``ValueError`` naming the first entry that is no origin (a mistyped allowlist must not pass silently)."""
    normalized: dict[str, None] = {}
    for value in values:
        origin = normalize_origin(value)
        if origin is None:
            raise ValueError(f"an allowed origin looks like 'https://shop.example[:port]', got {value!r}")
        normalized[origin] = None
    return tuple(normalized)


def origin_allowed(origin: str, host: str | None, allowed: frozenset[str] | tuple[str, ...]) -> bool:
    """Whether a request with this ``Origin`` header, sent to this ``Host``, comes from this site or from
    an origin in ``allowed`` (normalized already: :func:`normalize_origins`).

    "This site" compares host and port only, reading the ``Host`` with the origin's scheme: TLS often ends
    at a proxy in front of the BFF, which sees plain http (and may forward ``Host: bff.example:443``)."""
    normalized = normalize_origin(origin)
    if normalized is None:
        return False
    if normalized in allowed:
        return True
    scheme, _, authority = normalized.partition("://")
    own = normalize_origin(f"{scheme}://{host}") if host else None
    return own is not None and own.partition("://")[2] == authority
