"""Flow 10: axe-core finds no violations in the preference center of the registry under test, and on any
page of the demo, in every theme.

axe-core comes bundled with ``axe-playwright-python`` (no network). Each page is checked twice: on a
first visit (consent banner open as a modal dialog, when the registry has a consent to ask about) and
once the banner is answered.
"""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from e2e.editor import RegistryEditor
from e2e.pages.center import page_url
from e2e.pages.sessions import expect_widgets_rendered
from e2e.plugin import ShopperFactory
from e2e.server import PrefkitServer

pytestmark = pytest.mark.browser

THEMES = ("default", "dark", "high-contrast")
"""The themes prefkit ships."""

_AXE = Axe()
# WCAG 2.1 A and AA (what the kit promises) plus axe's best practices.
_AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}


def _demo_pages(server: PrefkitServer, paths: Any) -> list[str]:
    """Every page of the demo: listing, one product, preferences, your data."""
    import httpx

    pages = [paths.listing, paths.center, "/demo/your-data"]
    catalog = httpx.get(server.url("/api/v1/catalog"), timeout=15)
    if catalog.status_code == 200:
        items = catalog.json().get("items") or catalog.json().get("products") or []
        if items:
            product_id = items[0].get("id") or items[0].get("product_id")
            pages.append(f"/demo/products/{product_id}")
    return pages


def _violations(page: Any) -> list[str]:
    result = _AXE.run(page, options=_AXE_OPTIONS)
    lines = []
    for violation in result.response["violations"]:
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} -> {targets}")
    return lines


def _first_visit_and_returning(
    new_shopper: ShopperFactory, server: PrefkitServer, path: str, *, theme: str | None
) -> list[str]:
    """axe-core violations of ``path`` on a first visit (banner open, when the registry has anything to
    ask) and once the banner is answered, each line prefixed with the page and the state."""
    shopper = new_shopper()  # a first visit: the banner is open
    asks = bool(shopper.registry().consents(switchable=True))
    shopper.page.goto(page_url(server.base_url, path, locale=shopper.locale))
    expect_widgets_rendered(shopper.page)
    problems: list[str] = []
    if asks:
        shopper.banner().expect_shown()
    if theme is not None:
        href = shopper.page.locator("link[rel=stylesheet]").first.get_attribute("href") or ""
        assert theme in href, f"{path} is not styled with the {theme!r} theme (stylesheet {href!r})"
    if asks:
        problems += [f"{path} [banner open]: {line}" for line in _violations(shopper.page)]
        shopper.answer_banner_beforehand()
        shopper.page.reload()
        expect_widgets_rendered(shopper.page)
    shopper.banner().expect_gone()
    return problems + [f"{path}: {line}" for line in _violations(shopper.page)]


def test_center_has_no_axe_violations(new_shopper: ShopperFactory, prefkit_server: PrefkitServer) -> None:
    """The preference center of the registry under test, in the registry's own theme: no violations on a
    first visit and for a returning shopper (the check every registry gets, whatever it declares)."""
    probe = new_shopper()
    center = probe.center()
    problems = _first_visit_and_returning(new_shopper, prefkit_server, center.path, theme=None)
    assert not problems, f"axe-core violations in the {probe.registry().theme!r} theme:\n" + "\n".join(problems)


@pytest.mark.parametrize("theme", THEMES)
def test_demo_pages_have_no_axe_violations(
    theme: str, new_shopper: ShopperFactory, prefkit_server: PrefkitServer, request: pytest.FixtureRequest
) -> None:
    probe = new_shopper()
    current_theme = probe.registry().theme
    if theme != current_theme:
        # The demo takes its theme from the registry's shop settings: switch it for this test.
        editor: RegistryEditor = request.getfixturevalue("registry_editor")
        editor.set_theme(theme)
    problems: list[str] = []
    for path in _demo_pages(prefkit_server, probe.paths):
        problems += _first_visit_and_returning(new_shopper, prefkit_server, path, theme=theme)
    assert not problems, f"axe-core violations in the {theme!r} theme:\n" + "\n".join(problems)
