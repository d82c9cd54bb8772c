"""Flow 9: the center in every locale the registry offers, with the registry's texts and the kit's own.

One test per offered locale (``prefkit_locale``): every type's control is there under its title in that
locale, and no title of another locale shows through. A second test proves two locales really show
different words (a fallback to one language would pass the first one).
"""

from __future__ import annotations

import itertools
import json
import re

import pytest
from playwright.sync_api import expect

from components.i18n import kit_text
from e2e.plugin import ShopperFactory
from e2e.registry import RegistryInfo
from e2e.shopper import Shopper

pytestmark = pytest.mark.browser


_SNAPSHOT_LINE = re.compile(r'^\s*- (\w+) "((?:[^"\\]|\\.)*)"', re.MULTILINE)


def _roles_and_names(snapshot: str) -> set[tuple[str, str]]:
    """``(role, accessible name)`` of every named node of a Playwright ARIA snapshot."""
    return {(role, json.loads(f'"{name}"')) for role, name in _SNAPSHOT_LINE.findall(snapshot)}


def _own_titles(registry: RegistryInfo, others: list[RegistryInfo]) -> set[str]:
    """Titles another locale shows that ``registry``'s locale does not (what must not show through)."""
    mine = {p.title for p in registry.preferences}
    return {p.title for other in others for p in other.preferences} - mine


def test_center_in_locale(new_shopper: ShopperFactory, prefkit_locale: str) -> None:
    locale = prefkit_locale
    shopper: Shopper = new_shopper(locale)
    registry = shopper.registry(locale)
    assert registry.locale == locale, f"asked for {locale!r}, the registry view is in {registry.locale!r}"
    shopper.answer_banner_beforehand()
    center = shopper.center(locale=locale).open()
    expect(shopper.page.locator("html")).to_have_attribute("lang", locale)
    expect(center.accept_all_button).to_be_visible()
    expect(center.reject_all_button).to_be_visible()
    # One accessibility-tree snapshot answers for every control at once (a role + name query per type
    # is slow on a center of hundreds); a control it does not show is then awaited by its locator.
    shown = _roles_and_names(center.root.aria_snapshot())
    for pref in registry.preferences:
        control = center.control(pref.key)
        if not pref.operable:
            control.expect_read_only()
        elif (control.role, pref.title) not in shown:
            expect(control.control).to_be_visible()
    others = [shopper.registry(other) for other in registry.locales if other != locale]
    for title in _own_titles(registry, others):
        expect(center.root.get_by_text(title, exact=True)).to_have_count(0)


def test_locales_show_different_words(new_shopper: ShopperFactory) -> None:
    """Two locales of the registry show different titles in the center: each its own, not the other's."""
    probe = new_shopper()
    registry = probe.registry()
    if len(registry.locales) < 2:
        pytest.skip(f"the registry under test offers one locale only ({registry.locales[0]!r})")
    if not registry.preferences:
        pytest.skip("the registry under test declares no preference type: no registry text to compare")
    views = {locale: probe.registry(locale) for locale in registry.locales}
    pair = next(
        (
            (first, second)
            for first, second in itertools.combinations(registry.locales, 2)
            if _own_titles(views[first], [views[second]]) and _own_titles(views[second], [views[first]])
        ),
        None,
    )
    if pair is None:
        pytest.skip(
            "no title of the registry under test differs between its locales "
            f"({', '.join(registry.locales)}): every locale shows the default locale's texts"
        )
    for locale, other in (pair, pair[::-1]):
        shopper = new_shopper(locale)
        shopper.answer_banner_beforehand()
        center = shopper.center(locale=locale).open()
        expect(center.root.get_by_role("heading", name=kit_text(locale)("center_title"))).to_be_visible()
        mine, theirs = views[locale], views[other]
        mine_titles = {p.title for p in mine.preferences}
        # A type whose title in the other locale is none of this locale's titles (the pair has one).
        shown = next(p for p in mine.preferences if theirs.get(p.key).title not in mine_titles)
        expect(center.root.get_by_text(shown.title, exact=True).first).to_be_visible()
        expect(center.root.get_by_text(theirs.get(shown.key).title, exact=True)).to_have_count(0)
