"""The files a shop page loads from the BFF (bootstrap, ReactPy client, themes, the kit's script and
strings): one way of serving them, public and cross-origin, with ETags that conditional requests honour
the way RFC 9110 says (a list, weak comparison, ``*``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _bff_app import running_app, write_registry

ASSETS = [
    "/_prefkit/prefkit.js",
    "/_prefkit/static/index.js",
    "/_prefkit/themes/dark.css",
    "/_prefkit/kit/prefkit-components.js",
    "/_prefkit/kit/messages.json",
]


@pytest.mark.parametrize("path", ASSETS)
def test_a_shop_page_asset_is_public_cross_origin_and_revalidates_by_etag(
    tmp_path: Path, sqlite_url: str, path: str
) -> None:
    with running_app(write_registry(tmp_path), sqlite_url) as (client, _service):
        client.cookies.clear()
        first = client.get(path)
        assert first.status_code == 200 and first.content
        etag = first.headers["etag"]
        shared = {
            name: first.headers[name]
            for name in (
                "etag",
                "cache-control",
                "access-control-allow-origin",
                "cross-origin-resource-policy",
                "x-content-type-options",
            )
        }
        assert shared["access-control-allow-origin"] == "*"
        assert shared["cross-origin-resource-policy"] == "cross-origin"
        assert shared["x-content-type-options"] == "nosniff"
        assert "set-cookie" not in first.headers  # cacheable by anyone
        for if_none_match in (etag, f'"other", {etag}', f"W/{etag}", "*"):
            again = client.get(path, headers={"If-None-Match": if_none_match})
            assert again.status_code == 304, (if_none_match, again.status_code)
            assert again.content == b""
            assert {name: again.headers[name] for name in shared} == shared, if_none_match
        changed = client.get(path, headers={"If-None-Match": '"not-this-one"'})
        assert changed.status_code == 200 and changed.content == first.content
