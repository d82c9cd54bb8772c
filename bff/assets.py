"""Public files the BFF serves to shop pages (the bootstrap script, ReactPy's client, theme stylesheets, the
kit's script and strings), and ETag matching for conditional requests (RFC 9110 section 13.1.2)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

__all__ = ["StaticAsset", "etag_matches", "serve_asset"]


@dataclass(frozen=True, slots=True)
class StaticAsset:
    """One file's bytes with what its responses say about it."""

    body: bytes
    """The content, sent as is."""
    media_type: str
    """``Content-Type`` of the content."""
    etag: str
    """Strong entity tag (quoted): a hash of :attr:`body`, so equal content always has the same one."""
    cache_control: str
    """``Cache-Control`` of every response, 304s included."""

    @classmethod
    def of(cls, body: bytes, media_type: str, cache_control: str) -> StaticAsset:
        return cls(
            body=body,
            media_type=media_type,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            cache_control=cache_control,
        )


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header (a list of tags, or ``*``) matches ``etag``, compared weakly as
    the standard asks of ``If-None-Match`` (``W/"x"`` matches ``"x"``: proxies weaken tags they
    recompress)."""
    if not if_none_match:
        return False
    candidates = [part.strip() for part in if_none_match.split(",")]
    return "*" in candidates or any(c.removeprefix("W/") == etag.removeprefix("W/") for c in candidates)


def serve_asset(request: Request[Any, Any, Any], asset: StaticAsset) -> Response[bytes]:
    """The asset, or a 304 without body when the client holds it already."""
    headers = {
        "Cache-Control": asset.cache_control,
        "ETag": asset.etag,
        # <script type="module"> and stylesheets of shop pages on other origins fetch in CORS mode. The
        # files are public and fetched without credentials, so "*" is safe.
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if etag_matches(request.headers.get("if-none-match"), asset.etag):
        return Response(b"", status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
