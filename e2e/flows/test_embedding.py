"""Flow 11: a plain static HTML page (not rendered by the BFF) embeds widgets with one script tag, served
from another, allowlisted origin (a second local port).

By default the page is written from the registry under test (one mount point per declared type, the
preference center and the banner); with ``--prefkit-static-host DIR`` it is the shop's own page(s), whose
mount points are read first and checked against the registry: a mount point naming a key the registry
lacks fails with that key named, instead of waiting for a widget that can never render.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Locator, expect

from components.i18n import kit_text
from e2e.operate import change_by_keyboard, expect_ui_value, stored, widget
from e2e.pages.sessions import MOUNT_POINTS, expect_widgets_rendered
from e2e.plugin import ShopperFactory
from e2e.registry import PreferenceInfo, RegistryInfo
from e2e.shopper import Shopper
from e2e.static_host import MOUNT_POINT_SCRIPT, MountPoint, StaticHost, mount_point_problems
from e2e.waiting import eventually

pytestmark = pytest.mark.browser


def test_static_host_page_with_several_widgets(static_host: StaticHost, new_shopper: ShopperFactory) -> None:
    for page in static_host.pages():
        shopper = new_shopper()
        shopper.answer_banner_beforehand()
        _check_host_page(shopper, static_host, page)
        # Its widget sessions end with the page: the BFF limits the websockets of one client address.
        shopper.page.close()


def _locale_of(mount: MountPoint, page_lang: str | None, shopper: Shopper, offered: tuple[str, ...]) -> str:
    """The locale a widget negotiates: its ``data-locale``, else the browser's language, else the shop's
    default (what the BFF does), so the page objects look for the titles the widget really shows."""
    for candidate in (mount.props.get("locale"), shopper.locale, page_lang):
        if candidate and candidate in offered:
            return candidate
    return shopper.registry().default_locale


def _check_host_page(shopper: Shopper, host: StaticHost, page_name: str) -> None:
    page = shopper.page
    page.goto(host.url(page_name), wait_until="domcontentloaded")
    assert urlsplit(page.url).netloc != urlsplit(shopper.server.base_url).netloc, "not a second origin"

    # The page's own declaration of its widgets, read before anything renders.
    found = page.locator(MOUNT_POINTS).evaluate_all(MOUNT_POINT_SCRIPT)
    mounts = [MountPoint.from_dom(index, item) for index, item in enumerate(found)]
    registry = shopper.registry()
    kinds = {p.key: p.kind for p in registry.preferences}
    problems = mount_point_problems(page_name, mounts, kinds, registry.version)
    if problems:
        pytest.fail(
            "the static host page does not fit the registry under test:\n" + "\n".join(problems),
            pytrace=False,
        )

    expect_widgets_rendered(page)
    lang = page.locator("html").get_attribute("lang")
    views: dict[str, RegistryInfo] = {}

    def registry_for(mount: MountPoint) -> RegistryInfo:
        locale = _locale_of(mount, lang, shopper, registry.locales)
        if locale not in views:
            views[locale] = shopper.registry(locale)
        return views[locale]

    keyed: list[tuple[Locator, PreferenceInfo]] = []
    centers: list[tuple[Locator, RegistryInfo]] = []
    for mount in mounts:
        scope = page.locator(MOUNT_POINTS).nth(mount.index)
        view = registry_for(mount)
        if mount.key:
            pref = view.get(mount.key)
            control = widget(scope, pref)
            if not pref.operable:
                control.expect_read_only()
            else:
                expect(control.control).to_be_visible()
                keyed.append((scope, pref))
        elif mount.widget == "preference-center":
            title = kit_text(view.locale)("center_title")
            expect(scope.get_by_role("region", name=title, exact=True)).to_be_visible()
            centers.append((scope, view))

    if not keyed:
        return  # nothing on this page a shopper can change by itself (the center alone is flow 2's)
    # A standalone widget whose type needs no consent first (else the required ones are granted by API).
    scope, pref = next(((s, p) for s, p in keyed if not p.requires), keyed[0])
    for consent in registry.consents_to_grant(pref):
        shopper.api.set_preference(consent.key, True)  # reaches the widget over its session
    original = shopper.api.preference(pref.key)["value"]
    no_choice = kit_text(registry_for(next(m for m in mounts if m.key == pref.key)).locale)("no_choice")
    expected = change_by_keyboard(scope, pref, original, no_choice_label=no_choice)
    eventually(
        lambda: shopper.api.preference(pref.key),
        lambda s: stored(pref, s["value"]) == expected,
        what=f"the change made on the static host page ({pref.key}) to reach the BFF",
    )
    # The other widgets of the same page follow without a reload: the center shows the new value...
    for center_scope, view in centers:
        expect_ui_value(center_scope, view.get(pref.key), expected)
    # ...and a change made elsewhere (the API) shows up in the embedded widget.
    shopper.api.set_preference(pref.key, original)
    expect_ui_value(scope, pref, stored(pref, original))
