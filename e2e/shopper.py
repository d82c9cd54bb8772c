"""A shopper: one browser context (one cookie jar = one subject), its pages and an API client sharing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .api import PrefkitApi
from .pages.banner import ConsentBanner
from .pages.center import PreferenceCenterPage
from .pages.listing import DemoListingPage
from .pages.sessions import WidgetSessions
from .registry import RegistryInfo
from .server import PrefkitServer

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

__all__ = ["DemoPaths", "Shopper"]


@dataclass(frozen=True, kw_only=True)
class DemoPaths:
    """Where the pages under test live on the server (the demo shop's defaults; a shop passes its own)."""

    center: str = "/demo/preferences"
    """Page showing the preference center (``--prefkit-center-path``)."""
    listing: str = "/demo/"
    """Product listing page (``--prefkit-listing-path``)."""


@dataclass(kw_only=True)
class Shopper:
    """One shopper in one browser context. ``page`` is their first tab; :meth:`new_tab` opens more."""

    context: BrowserContext
    """The context: its cookie jar holds the subject cookie."""
    page: Page
    """The first tab."""
    server: PrefkitServer
    """The server under test."""
    api: PrefkitApi
    """``/api/v1`` client acting as this same subject (shares the context's cookies)."""
    locale: str
    """Locale the pages are opened in."""
    paths: DemoPaths = field(default_factory=DemoPaths)
    """Where the pages live."""
    gpc: bool = False
    """Whether this shopper's browser sends Global Privacy Control (``Sec-GPC: 1``)."""
    _sessions: dict[int, WidgetSessions] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.sessions(self.page)

    def sessions(self, page: Page | None = None) -> WidgetSessions:
        """The widget-session watcher of ``page`` (created on first use; attach it before navigating)."""
        target = page or self.page
        if id(target) not in self._sessions:
            self._sessions[id(target)] = WidgetSessions(target)
        return self._sessions[id(target)]

    def new_tab(self) -> Page:
        """Another tab of the same shopper (same context, same cookie)."""
        page = self.context.new_page()
        self.sessions(page)
        return page

    def answer_banner_beforehand(self) -> None:
        """Make this a returning shopper who already answered the first-visit banner ("reject all", through
        the API), so the banner's modal dialog does not take the keyboard focus from the page under test."""
        self.api.reject_all()

    def registry(self, locale: str | None = None) -> RegistryInfo:
        """The live registry, texts in ``locale`` (default: the shopper's)."""
        return RegistryInfo.from_view(self.api.registry(locale or self.locale))

    def center(self, page: Page | None = None, *, locale: str | None = None) -> PreferenceCenterPage:
        """Page object of the preference center in ``page`` (default: the first tab); not yet navigated."""
        return PreferenceCenterPage(
            page or self.page, self.server.base_url, self.registry(locale), path=self.paths.center
        )

    def banner(self, page: Page | None = None, *, locale: str | None = None) -> ConsentBanner:
        return ConsentBanner(page or self.page, locale or self.locale, self.sessions(page))

    def listing(self, page: Page | None = None, *, locale: str | None = None) -> DemoListingPage:
        return DemoListingPage(
            page or self.page, self.server.base_url, self.registry(locale), path=self.paths.listing
        )

    def login(self, customer_id: str) -> dict[str, object]:
        """Log in as ``customer_id`` with a token signed by the shop secret (as the shop's backend would)."""
        from bff.identity import issue_customer_token

        if not self.server.shop_secret:
            raise RuntimeError("the shop secret of this server is unknown (pass --prefkit-shop-secret)")
        return self.api.login(issue_customer_token(customer_id, self.server.shop_secret, 300))
