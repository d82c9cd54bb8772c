"""Page object of the demo shop's product listing (results ordered and filtered by the shopper's choices)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from ..registry import RegistryInfo
from .center import page_url

__all__ = ["DemoListingPage"]


class DemoListingPage:
    """The listing: a list of products (``role=list`` items), each an ``article``/list item with a heading."""

    def __init__(self, page: Page, base_url: str, registry: RegistryInfo, *, path: str) -> None:
        self.page = page
        self.base_url = base_url
        self.registry = registry
        self.path = path

    def open(self, *, theme: str | None = None) -> DemoListingPage:
        self.page.goto(page_url(self.base_url, self.path, locale=self.registry.locale, theme=theme))
        expect(self.products.first).to_be_visible()
        return self

    @property
    def main(self) -> Locator:
        return self.page.get_by_role("main")

    @property
    def products(self) -> Locator:
        """One list item per product shown, in display order."""
        return self.main.get_by_role("list").first.get_by_role("listitem")

    def product_names(self) -> list[str]:
        """Product names (each item's heading) in display order."""
        return [name.strip() for name in self.products.get_by_role("heading").all_inner_texts()]
