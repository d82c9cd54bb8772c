"""Page object of a page showing the preference center (the demo's, or a shop's own page)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlencode

from playwright.sync_api import ElementHandle, Locator, Page, expect

from components.i18n import kit_text

from ..kinds import KINDS, ConsentToggleWidget, FilterGroupWidget, KindWidget, SliderWidget
from ..registry import PreferenceInfo, RegistryInfo

__all__ = ["PreferenceCenterPage", "page_url"]


def page_url(base_url: str, path: str, *, locale: str | None = None, theme: str | None = None) -> str:
    """``base_url + path`` with ``locale`` / ``theme`` query parameters when given."""
    query = {name: value for name, value in (("locale", locale), ("theme", theme)) if value}
    separator = "&" if "?" in path else "?"
    return base_url.rstrip("/") + path + (separator + urlencode(query) if query else "")


class PreferenceCenterPage:
    """The preference center: a region named by the kit's center title, with one control per type.

    Everything is located by role and accessible name: the region by its heading, controls by the
    registry titles in ``registry.locale``, buttons and the history by the kit's own strings.
    """

    def __init__(self, page: Page, base_url: str, registry: RegistryInfo, *, path: str) -> None:
        self.page = page
        self.base_url = base_url
        self.registry = registry
        self.path = path
        self.text = kit_text(registry.locale)
        self.root: Locator = page.get_by_role("region", name=self.text("center_title"), exact=True)
        """The center's own landmark (``<section aria-labelledby>`` titled "Privacy and personalization")."""
        self._root_handle: ElementHandle | None = None

    def root_element(self, *, fresh: bool = False) -> ElementHandle:
        """A handle on the center's element, located once (``fresh``: again), for scripts that run many
        times on a large center, where locating by role and name each time would dominate."""
        if fresh or self._root_handle is None:
            self._root_handle = self.root.element_handle()
        return self._root_handle

    @property
    def locale(self) -> str:
        return self.registry.locale

    def open(self, *, theme: str | None = None) -> PreferenceCenterPage:
        """Navigate to the center and wait until its controls are rendered."""
        self._root_handle = None
        self.page.goto(page_url(self.base_url, self.path, locale=self.locale, theme=theme))
        self.wait_ready()
        return self

    def reload(self) -> PreferenceCenterPage:
        self._root_handle = None
        self.page.reload()
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        """The center has rendered with values (the first registry type's control is there)."""
        expect(self.root).to_be_visible()
        expect(self.accept_all_button).to_be_visible()
        first = self.registry.preferences[0] if self.registry.preferences else None
        if first is not None:
            expect(self.root.get_by_text(first.title, exact=True).first).to_be_visible()
        expect(self.root).not_to_have_attribute("data-state", re.compile(r"\bloading\b"))

    # --- controls -------------------------------------------------------------------------------------------

    @property
    def accept_all_button(self) -> Locator:
        return self.root.get_by_role("button", name=self.text("accept_all"), exact=True)

    @property
    def reject_all_button(self) -> Locator:
        return self.root.get_by_role("button", name=self.text("reject_all"), exact=True)

    @property
    def status(self) -> Locator:
        """The polite live region announcing "Saved" or an error."""
        return self.root.get_by_role("status")

    @property
    def history(self) -> Locator:
        """The consent history region."""
        return self.root.get_by_role("region", name=self.text("history"), exact=True)

    def history_entries(self) -> Locator:
        return self.history.get_by_role("listitem")

    def consent(self, key: str) -> ConsentToggleWidget:
        return ConsentToggleWidget(self.root, self._pref(key, "consent"))

    def slider(self, key: str) -> SliderWidget:
        return SliderWidget(self.root, self._pref(key, "slider"))

    def filter_group(self, key: str) -> FilterGroupWidget:
        return FilterGroupWidget(self.root, self._pref(key, "filter"))

    def control(self, key: str) -> KindWidget:
        """The page object of ``key``'s control, whatever its kind."""
        pref = self.registry.get(key)
        return KINDS.of(pref)(self.root, pref)

    def expect_saved(self) -> None:
        """The live region announced a successful save."""
        expect(self.status).to_have_text(self.text("saved"))

    def requires_hint(self, pref: PreferenceInfo, missing: Sequence[str] | None = None) -> re.Pattern[str]:
        """The disabled-with-reason text of ``pref``: names its ``missing`` consents (default: every
        consent it requires that can be off, i.e. all but ``notice_only`` ones whose own requirements
        are always met)."""
        if missing is None:
            missing = [
                key
                for key in pref.requires
                if self.registry.get(key).switchable or self.registry.consents_to_grant(self.registry.get(key))
            ]
        before, _, after = self.text("requires_hint", names="\0").partition("\0")
        names = ".*".join(re.escape(self.registry.get(key).title) for key in missing)
        return re.compile(re.escape(before) + ".*" + names + ".*" + re.escape(after))

    def _pref(self, key: str, kind: str) -> PreferenceInfo:
        pref = self.registry.get(key)
        if pref.kind != kind:
            raise TypeError(f"{key!r} is a {pref.kind}, not a {kind}")
        return pref
