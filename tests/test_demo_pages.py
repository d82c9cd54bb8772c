"""Demo pages through the real app (Litestar TestClient, real SQLite), and the WhyThis component."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from reactpy.core.layout import Layout

from _bff_app import WRITE, running_app
from bff.catalog import sample_catalog
from bff.demo import ranking_controls
from bff.demo.views import static_html
from components.why_this import WhyThis, why_this_view
from preference_registry import load_file

DEMO_REGISTRY = Path(__file__).resolve().parents[1] / "examples" / "demo-shop.toml"
SAME_ORIGIN = {"Origin": "http://testserver.local"}


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    with running_app(DEMO_REGISTRY, sqlite_url, demo=True) as (test_client, _service):
        yield test_client


def product_ids(html: str) -> list[str]:
    return re.findall(r'data-part="product" data-product-id="([^"]+)"', html)


def test_listing_is_server_rendered_with_live_mount_points_and_a_strict_csp(client: TestClient) -> None:
    response = client.get("/demo/", params={"locale": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp and "unsafe-inline" not in csp
    html = response.text
    assert "<script>" not in html and "<script " in html  # external module script only
    assert re.search(r'<script type="module" src="/_prefkit/prefkit.js"></script>', html)
    api = client.get("/api/v1/catalog", params={"locale": "en"}).json()
    assert product_ids(html) == [item["id"] for item in api["items"]], "same list as the API"
    assert 'data-prefkit-widget="product-listing"' in html and 'data-prefkit-widget="consent-banner"' in html
    for widget, key in ranking_controls(load_file(str(DEMO_REGISTRY))):
        assert f'data-prefkit-widget="{widget}" data-key="{key}"' in html
    assert "Why am I seeing" in html and "Neutral order" in html
    assert re.search(r'<a href="/demo/?\?locale=pl" lang="pl"', html)


def test_ranking_controls_come_from_the_registry() -> None:
    assert ranking_controls(load_file(str(DEMO_REGISTRY))) == [
        ("consent-toggle", "recommendations"), ("preference-slider", "personalization_level"),
        ("preference-slider", "price_vs_sustainability"), ("priorities", "what_matters"),
        ("preference-slider", "discovery"), ("filter-group", "eco_only"),
        ("filter-group", "small_brands"), ("filter-group", "categories"),
    ]


def test_listing_follows_the_subjects_choices_search_and_paging(client: TestClient) -> None:
    client.patch("/api/v1/preferences", json={"recommendations": True, "eco_only": ["eco"]}, headers=WRITE)
    html = client.get("/demo/", params={"locale": "pl", "category": "bags", "q": "lniana"}).text
    ids = product_ids(html)
    assert ids, "some eco linen bags exist in the sample catalog"
    assert all(sample_catalog().by_id[i].eco_certified and sample_catalog().by_id[i].category == "bags" for i in ids)
    assert "Pokazujemy, bo wybrano „Tylko ekologiczne”" in html
    assert '<option value="bags" selected>Torby</option>' in html
    second = client.get("/demo/", params={"locale": "en", "page": 2}).text
    assert 'data-position="25"' in second and 'rel="prev"' in second
    stale = client.get("/demo/", params={"category": "cars"})  # old bookmark: everything, not an error
    assert stale.status_code == 200 and product_ids(stale.text)


def test_product_page_explains_the_product_and_404s_unknown_ones(client: TestClient) -> None:
    product = next(iter(sample_catalog().index.items))
    html = client.get(f"/demo/products/{product.id}", params={"locale": "en"}).text
    assert f"<h1 id=\"product-title\">{product.name['en']}</h1>" in html
    assert 'data-prefkit-widget="why-this" data-product="' + product.id in html
    assert "Neutral order: most popular first" in html
    missing = client.get("/demo/products/no-such-product", params={"locale": "en"})
    assert missing.status_code == 404 and "No such product." in missing.text


def test_your_data_shows_choices_history_with_wording_and_offers_export(client: TestClient) -> None:
    client.post("/api/v1/consents/reject-all", headers=WRITE)
    client.patch("/api/v1/preferences", json={"recommendations": True}, headers=WRITE)
    html = client.get("/demo/your-data", params={"locale": "pl"}).text
    assert "Historia Twoich decyzji" in html
    assert "Układamy listę produktów według Twoich wyborów." in html  # wording shown at the time
    assert re.search(r'<tr data-key="recommendations"><th scope="row">Spersonalizowane rekomendacje</th>'
                     r'<td>włączone</td><td>Twój wybór</td><td>tak</td></tr>', html)
    assert html.count('<tr data-key="recommendations">') == 3  # current row + two history rows
    assert 'href="/api/v1/me/export?locale=pl"' in html
    assert client.get("/api/v1/me/export").status_code == 200


def test_erase_form_needs_confirmation_then_erases_and_clears_the_cookie(client: TestClient) -> None:
    client.patch("/api/v1/preferences", json={"recommendations": True}, headers=WRITE)
    refused = client.post("/demo/your-data/erase?locale=en", data={}, headers=SAME_ORIGIN)
    assert refused.status_code == 400 and "Nothing was erased" in refused.text
    assert client.get("/api/v1/preferences/recommendations").json()["value"] is True

    cross_site = client.post("/demo/your-data/erase?locale=en", data={"confirm": "yes"},
                             headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    assert client.get("/api/v1/preferences/recommendations").json()["value"] is True

    erased = client.post("/demo/your-data/erase?locale=en", data={"confirm": "yes"}, headers=SAME_ORIGIN)
    assert erased.status_code == 200, erased.text
    assert "Your data was erased" in erased.text
    assert re.search(r'data-field="ledger_events_removed">1<', erased.text)
    assert "Max-Age=0" in erased.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/api/v1/consents/history").json()["events"] == []


def test_root_redirects_to_the_demo_in_demo_mode_only(client: TestClient, sqlite_url: str,
                                                      tmp_path: Path) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/demo/"
    with running_app(DEMO_REGISTRY, f"sqlite:///{tmp_path / 'serve.db'}") as (served, _service):
        # Not the shop outside demo mode: a short page that links it (tests/test_root_page.py).
        root = served.get("/", follow_redirects=False)
        assert root.status_code == 200 and 'href="/demo/"' in root.text
        assert served.get("/demo/").status_code == 200
    with running_app(DEMO_REGISTRY, f"sqlite:///{tmp_path / 'off.db'}", extra={"demo_pages": False}) as (off, _s):
        assert off.get("/demo/").status_code == 404
        assert off.get("/api/v1/catalog").status_code == 200


def test_static_listing_hides_once_the_live_one_renders(client: TestClient) -> None:
    css = client.get("/demo/static/demo.css").text
    assert '[data-part="live-listing"]:not(:empty) + [data-part="static-listing"]' in css


# --- WhyThis -------------------------------------------------------------------------------------------

REASONS = [
    {"code": "filter.include", "effect": "shown", "text": "Shown because you chose “<b>Eco</b>”"},
    {"code": "criterion.better", "effect": "higher", "text": "Ranked higher: lower price"},
    {"code": "x", "effect": "bogus", "text": "odd effect"},
]


def test_why_this_is_a_native_disclosure_with_escaped_reasons() -> None:
    html = static_html(why_this_view(REASONS, locale="pl", name="Torba"))
    assert html.startswith('<details data-part="why-this" data-state="personalized">')
    assert '<summary data-part="why-this-summary">Dlaczego widzę: Torba?</summary>' in html
    assert "&lt;b&gt;Eco&lt;/b&gt;" in html and "<b>" not in html
    assert re.findall(r'data-effect="(\w+)"', html) == ["shown", "higher", "neutral"]
    assert " key=" not in html
    neutral = static_html(why_this_view([{"effect": "neutral", "text": "n"}], locale="en", open=True))
    assert 'data-state="neutral" open' in neutral and "Why am I seeing this?" in neutral
    assert "No personal reason" in static_html(why_this_view([], locale="en"))


def test_why_this_renders_in_a_reactpy_layout_with_objects_as_reasons() -> None:
    class Reason:
        def __init__(self, text: str, effect: str) -> None:
            self.text, self.effect, self.code = text, effect, None

    async def first_render() -> dict[str, Any]:
        async with Layout(WhyThis([Reason("Ranked lower: higher price", "lower")], locale="en")) as layout:
            return (await layout.render())["model"]

    model = asyncio.run(first_render())

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            yield node
            for child in node.get("children", []):
                yield from walk(child)

    details = next(n for n in walk(model) if n.get("tagName") == "details")
    assert details["attributes"]["data-state"] == "personalized"
    reason = next(n for n in walk(model) if n.get("attributes", {}).get("data-part") == "why-this-reason")
    assert reason["attributes"]["data-effect"] == "lower"
    assert reason["children"] == ["Ranked lower: higher price"]


def test_demo_pages_may_be_framed_only_by_the_allowlisted_shop(tmp_path: Path) -> None:
    shop = "https://shop.example:8443"
    url = f"sqlite:///{tmp_path / 'framed.db'}"
    with running_app(DEMO_REGISTRY, url, demo=True, allowed_origins=(shop,)) as (framed, _service):
        csp = framed.get("/demo/?locale=en").headers["content-security-policy"]
    ancestors = next(part.strip() for part in csp.split(";") if part.strip().startswith("frame-ancestors"))
    assert ancestors == f"frame-ancestors 'self' {shop}"
    assert "script-src 'self'" in csp  # still the strict page policy
