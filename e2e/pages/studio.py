"""Page object of the merchant studio (``/studio/``): sign in, edit fields by keyboard, read the errors pinned
to them, preview, see the impact, publish, roll back.

Fields are located by the validator's own path (``preferences[3].max``): every input of the studio carries
it as ``data-path`` and every error slot as ``data-error-for``, so a flow names a field exactly as
``prefkit validate`` names its error.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

__all__ = ["StudioPage"]


class StudioPage:
    """The studio of the BFF at ``base_url``, in ``page``."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")

    def url(self, path: str = "/") -> str:
        return f"{self.base_url}/studio{path}"

    # -- session ---------------------------------------------------------------------------------
    def login(self, key: str, *, lang: str = "en") -> None:
        """Sign in with the admin key, typed into the login form (never put in a URL)."""
        self.page.goto(self.url(f"/login?lang={lang}"))
        self.page.get_by_label(re.compile("Admin key|Klucz administratora")).fill(key)
        self.page.get_by_role("button", name=re.compile("Sign in|Zaloguj się")).click()
        expect(self.page).to_have_url(re.compile(r"/studio/(#.*)?$"))

    def logout(self) -> None:
        self.page.get_by_role("button", name=re.compile("Sign out|Wyloguj się")).click()
        expect(self.page).to_have_url(re.compile(r"/studio/login"))

    # -- editor ----------------------------------------------------------------------------------
    def open_editor(self) -> None:
        self.page.goto(self.url("/"))

    def field(self, path: str) -> Locator:
        """The input of the field at ``path`` (``preferences[3].title.en``)."""
        return self.page.locator(f'[data-path="{path}"]')

    def error(self, path: str) -> Locator:
        """The error slot pinned to ``path``."""
        return self.page.locator(f'[data-error-for="{path}"]')

    def type_into(self, path: str, text: str) -> None:
        """Replace the field's text by keyboard (select all, type), as a merchant does."""
        field = self.field(path)
        field.focus()
        field.press("ControlOrMeta+a")
        field.press_sequentially(text) if text else field.press("Delete")
        self.settled()

    def settled(self) -> None:
        """Wait until every edit typed so far has been validated by the server."""
        expect(self.page.locator("main")).to_have_attribute("data-pending", "0")

    def choose(self, path: str, value: str) -> None:
        self.field(path).select_option(value)
        self.settled()

    def wait_valid(self) -> None:
        expect(self.page.locator("#status")).to_contain_text(re.compile("The draft is valid|Szkic jest poprawny"))

    def type_count(self) -> int:
        return self.page.locator("section.card.type").count()

    def add_type(self, kind: str) -> int:
        """Add a type of ``kind``; returns its index (the new last card)."""
        self.open_editor()
        self.page.get_by_label(re.compile("^(Kind|Rodzaj)$")).select_option(kind)
        self.page.get_by_role("button", name=re.compile("Add type|Dodaj typ")).click()
        self.page.wait_for_load_state()
        return self.type_count() - 1

    # -- preview, impact, history ----------------------------------------------------------------
    def open_preview(self, *, locale: str, theme: str) -> Locator:
        """The preview's preference center in ``locale`` and ``theme`` (real components)."""
        self.page.goto(self.url(f"/preview?locale={locale}&theme={theme}"))
        root = self.page.locator('[data-prefkit-widget="studio-preview"][data-what="center"] [data-prefkit-root]')
        expect(root).to_have_attribute("data-prefkit-theme", theme)
        expect(root).to_have_attribute("lang", locale)
        return root

    def open_impact(self) -> None:
        self.page.goto(self.url("/impact"))

    def stale_count(self, key: str) -> int:
        """Stored decisions the draft makes stale for ``key``, as the impact view counts them."""
        self.open_impact()
        item = self.page.locator(f'#stale-summary [data-key="{key}"]')
        return int(item.get_attribute("data-stale") or "0")

    def publish(self) -> None:
        self.open_impact()
        self.page.get_by_role("button", name=re.compile("^(Publish|Opublikuj)$")).click()
        expect(self.page.get_by_role("status")).to_contain_text(re.compile("Published version|Opublikowano"))

    def versions(self) -> list[str]:
        self.page.goto(self.url("/history"))
        return [v or "" for v in self.page.locator("tr[data-version]").evaluate_all(
            "rows => rows.map(r => r.dataset.version)")]

    def roll_back_to(self, version: str) -> None:
        self.page.goto(self.url("/history"))
        row = self.page.locator(f'tr[data-version="{version}"]')
        row.get_by_role("button", name=re.compile("Roll back|Przywróć")).click()
        expect(self.page.get_by_role("status")).to_contain_text(version)
