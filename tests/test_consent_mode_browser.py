"""Google Consent Mode and tag gating in a real Chromium: the real BFF (uvicorn, websockets, SQLite), a shop
page on another origin served under a strict CSP (nonce + 'strict-dynamic', no 'unsafe-inline'), and a local
stand-in for the Google tag (no internet here) that records every call it gets and every request it makes.

Every page of this module is served under that CSP; a CSP violation fails the test that caused it.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bff.app import create_app
from bff.service import PreferenceService
from bff.storage import Database
from e2e.waiting import wait_until
from preference_registry import RegistryService

try:
    from _bff_app import CONSENT_MODE_REGISTRY as REGISTRY
    from _bff_app import WRITE, Clock, ThreadedServer, make_settings
    from _browser import launch_gpc_chromium, launched_chromium
except ImportError:  # tests/ not on sys.path
    from tests._bff_app import CONSENT_MODE_REGISTRY as REGISTRY
    from tests._bff_app import WRITE, Clock, ThreadedServer, make_settings
    from tests._browser import launch_gpc_chromium, launched_chromium

NONCE = "r4nd0mN0nce"
CSP = f"script-src 'nonce-{NONCE}' 'strict-dynamic'; object-src 'none'; base-uri 'none'"
ALL_DENIED = {"ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied",
              "analytics_storage": "denied", "functionality_storage": "granted", "security_storage": "granted"}

# The Google tag's stand-in: processes the dataLayer like gtag.js (queued commands first, then every push),
# keeps the consent state, records each call, and "collects" (a request to the host) on load and on every
# later consent command, telling the consent state it had (gcs=G1xx when analytics_storage was granted).
GOOGLE_TAG = r"""
(function () {
  var tag = window.__googleTag = { calls: [], consent: {} };
  function collect(reason) {
    var gcs = "G1" + (tag.consent.ad_storage === "granted" ? "1" : "0")
      + (tag.consent.analytics_storage === "granted" ? "1" : "0");
    fetch("/g/collect?gcs=" + gcs + "&reason=" + encodeURIComponent(reason), { keepalive: true });
    if (tag.consent.analytics_storage === "granted") document.cookie = "_ga=stand-in; path=/";
  }
  var replaying = true; // like gtag.js: the queued commands are applied before the first hit
  function handle(entry) {
    var args = Array.prototype.slice.call(entry);
    tag.calls.push(JSON.parse(JSON.stringify(args)));
    if (args[0] === "consent") {
      Object.assign(tag.consent, args[2]);
      if (!replaying) collect("consent-" + args[1]);
    }
  }
  var dataLayer = window.dataLayer = window.dataLayer || [];
  dataLayer.forEach(handle);
  replaying = false;
  var push = dataLayer.push;
  dataLayer.push = function () {
    for (var i = 0; i < arguments.length; i++) handle(arguments[i]);
    return push.apply(dataLayer, arguments);
  };
  collect("load");
})();
"""

# Test instrument, before any page script: every dataLayer entry in order (gtag's `arguments` as arrays),
# when DOMContentLoaded fired, and CSP violations.
RECORDER = """
window.__pushes = []; window.__violations = [];
const dataLayer = window.dataLayer = [];
const push = Array.prototype.push;
dataLayer.push = function (...entries) {
  for (const entry of entries) {
    const copy = (typeof entry === "object" && entry !== null && "length" in entry && !Array.isArray(entry))
      ? Array.from(entry) : entry;
    window.__pushes.push({ at: performance.now(), entry: JSON.parse(JSON.stringify(copy)) });
  }
  return push.apply(this, entries);
};
document.addEventListener("DOMContentLoaded", () => { window.__domContentLoaded = performance.now(); });
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""

PROBE = "window.__probe = Array.from(window.dataLayer || [], (entry) => Array.from(entry));"


class _HostHandler(http.server.BaseHTTPRequestHandler):
    host: ShopHost

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        self.host.requests.append(self.path)
        if parts.path == "/gtag/js":
            self._send(GOOGLE_TAG, "text/javascript")
        elif parts.path == "/probe.js":
            self._send(PROBE, "text/javascript")
        elif parts.path == "/g/collect":
            self.host.collects.append(parse_qs(parts.query))
            self._send("", "text/plain", status=204)
        elif parts.path == "/frame.html":
            self._send("<!doctype html><p>embedded video</p>", "text/html")
        elif parts.path.lstrip("/") in self.host.pages:
            self._send(self.host.pages[parts.path.lstrip("/")], "text/html", csp=True)
        else:
            self._send("not found", "text/plain", status=404)

    def _send(self, body: str, media_type: str, *, status: int = 200, csp: bool = False) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{media_type}; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        if csp:
            self.send_header("Content-Security-Policy", CSP)
        if status != 204:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 204:
            self.wfile.write(data)


@dataclass
class ShopHost:
    """The shop's origin: its pages (with the CSP), the Google tag stand-in and its collect endpoint."""

    pages: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    collects: list[dict[str, list[str]]] = field(default_factory=list)
    origin: str = ""

    def start(self) -> ShopHost:
        handler = type("Handler", (_HostHandler,), {"host": self})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def tag_requests(self) -> list[str]:
        return [path for path in self.requests if path.startswith(("/gtag/", "/g/"))]


@dataclass
class Env:
    bff: str
    host: ShopHost
    clock: Clock
    registry: Path

    def page(self, name: str, body: str = "", *, gated: bool = True) -> str:
        """A shop page: the two prefkit tags first in <head>, a probe right after them (the first "tag"
        of the page), the gated Google tag and a gated inline script, then ``body``."""
        tags = f"""
<script type="text/plain" nonce="{NONCE}" data-prefkit-consent="analytics"
        data-src="{self.host.origin}/gtag/js?id=G-TEST" async></script>
<script type="text/plain" nonce="{NONCE}" data-prefkit-consent="ads">window.adsRan = (window.adsRan || 0) + 1;</script>
""" if gated else ""
        self.host.pages[name] = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{name}</title>
<script nonce="{NONCE}" src="{self.bff}/_prefkit/consent-mode.js?datalayer=1"></script>
<script type="module" nonce="{NONCE}" src="{self.bff}/_prefkit/prefkit.js"></script>
<script nonce="{NONCE}" src="/probe.js"></script>{tags}</head>
<body><main><h1>Shop</h1>{body}</main></body></html>"""
        return f"{self.host.origin}/{name}"


TOGGLES = ('<div data-prefkit-widget="consent-toggle" data-key="analytics"></div>'
           '<div data-prefkit-widget="consent-toggle" data-key="ads"></div>')
BANNER = '<div data-prefkit-widget="consent-banner" data-modal="false"></div>'
CENTER = '<div data-prefkit-widget="preference-center"></div>'


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    registry = tmp_path_factory.mktemp("registry") / "shop.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    database_url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'prefkit.db'}"
    host = ShopHost().start()
    clock = Clock()
    settings = make_settings(registry, database_url, allowed_origins=(host.origin,))
    service = PreferenceService(RegistryService.from_file(registry), Database(database_url), clock=clock)
    with ThreadedServer(create_app(settings, service=service)) as server:
        yield Env(bff=server.url, host=host, clock=clock, registry=registry)
    host.stop()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with launched_chromium(chromium_path) as browser:
        yield browser


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = new_context(browser)
    yield context
    context.close()


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = browser.new_context(**options)
    context.add_init_script(RECORDER)
    return context


# --- reading what the page sent -------------------------------------------------------------------------
def consent_commands(page: Page) -> list[tuple[str, dict[str, Any]]]:
    """Every ``gtag("consent", ...)`` of the page, in order: (``default`` | ``update``, its argument)."""
    pushes = page.evaluate("window.__pushes")
    return [(p["entry"][1], p["entry"][2]) for p in pushes
            if isinstance(p["entry"], list) and p["entry"][:1] == ["consent"]]


def signals_now(page: Page) -> dict[str, str]:
    """The consent state a Google tag on the page would have now (defaults, then updates)."""
    state: dict[str, str] = {}
    for _, argument in consent_commands(page):
        state.update({k: v for k, v in argument.items() if k not in ("region", "wait_for_update")})
    return state


def ever_granted(page: Page, signal: str) -> bool:
    return any(argument.get(signal) == "granted" for _, argument in consent_commands(page))


def updates(page: Page) -> int:
    return sum(1 for command, _ in consent_commands(page) if command == "update")


def expect_signals(page: Page, **expected: str) -> None:
    wait_until(lambda: all(signals_now(page).get(k) == v for k, v in expected.items()),
               f"Consent Mode state {expected} (have {signals_now(page)})", timeout_s=10)


def open_shop(context: BrowserContext, url: str, widgets: int = 0) -> Page:
    page = context.new_page()
    page.goto(url)
    page.evaluate("window.prefkit.ready")
    if widgets:
        expect(page.locator("[data-prefkit-root]")).to_have_count(widgets)
        expect(page.locator("[data-prefkit-root][data-state~=loading]")).to_have_count(0)
    return page


def no_csp_violations(page: Page) -> None:
    assert page.evaluate("window.__violations") == []


def switch(page: Page, name: str) -> Any:
    return page.get_by_role("switch", name=name)


# --- the checks -------------------------------------------------------------------------------------------
def test_before_the_shopper_answers_no_tag_request_and_nothing_granted(env: Env, context: BrowserContext) -> None:
    env.host.requests.clear()
    page = open_shop(context, env.page("first.html", BANNER), widgets=1)
    expect(page.get_by_role("button", name="Reject all")).to_be_visible()
    commands = consent_commands(page)
    # The default is the very first thing in the dataLayer, set before the page's first other script ran
    # (the probe right after the two prefkit tags already saw it) and before DOMContentLoaded.
    assert commands[0] == ("default", {**ALL_DENIED, "personalization_storage": "denied", "wait_for_update": 500})
    assert page.evaluate("window.__probe")[0][:2] == ["consent", "default"]
    pushes = page.evaluate("window.__pushes")
    assert pushes[0]["at"] <= page.evaluate("window.__domContentLoaded")
    assert signals_now(page) == {**ALL_DENIED, "personalization_storage": "denied"}
    assert not any(ever_granted(page, s) for s in ("analytics_storage", "ad_storage", "ad_user_data",
                                                    "ad_personalization", "personalization_storage"))
    assert env.host.tag_requests() == []  # the Google tag was never even fetched
    assert page.evaluate("window.adsRan") is None
    assert page.evaluate("window.prefkit.allowed('analytics')") is False
    assert page.evaluate("window.prefkit.allowed('necessary')") is True
    no_csp_violations(page)


def test_reject_all_sends_denied_for_every_mapped_signal(env: Env, context: BrowserContext) -> None:
    page = open_shop(context, env.page("reject.html", BANNER), widgets=1)
    before = updates(page)
    page.get_by_role("button", name="Reject all").click()
    wait_until(lambda: page.evaluate("window.__pushes").__len__() and any(
        p["entry"].get("event") == "prefkit_consent" and p["entry"].get("prefkit_source") == "reject_all"
        for p in page.evaluate("window.__pushes") if isinstance(p["entry"], dict)), "the reject_all dataLayer event")
    assert updates(page) >= before
    assert signals_now(page) == {**ALL_DENIED, "personalization_storage": "denied"}
    assert not ever_granted(page, "analytics_storage") and not ever_granted(page, "ad_storage")
    assert env.host.tag_requests() == []
    no_csp_violations(page)


def test_granting_one_consent_grants_exactly_its_signals_and_runs_its_tag(env: Env, context: BrowserContext) -> None:
    env.host.requests.clear()
    env.host.collects.clear()
    page = open_shop(context, env.page("grant.html", TOGGLES), widgets=2)
    changes: list[Any] = []
    page.expose_function("recordChange", lambda detail: changes.append(detail))
    page.evaluate("document.addEventListener('prefkit:change', (e) => window.recordChange(e.detail))")
    switch(page, "Analytics").click()
    expect_signals(page, analytics_storage="granted")
    assert signals_now(page) == {**ALL_DENIED, "personalization_storage": "denied", "analytics_storage": "granted"}
    # The gated Google tag was fetched only now, ran once, and saw analytics granted.
    wait_until(lambda: page.evaluate("window.__googleTag && window.__googleTag.consent.analytics_storage")
               == "granted", "the gated Google tag to run with analytics granted")
    assert [path for path in env.host.requests if path.startswith("/gtag/")] == ["/gtag/js?id=G-TEST"]
    assert all(c["gcs"] == ["G101"] for c in env.host.collects), env.host.collects
    assert page.evaluate("window.adsRan") is None  # the ads script stays inert
    wait_until(lambda: any(c["key"] == "analytics" and c["value"] is True and c["source"] == "ui"
                           for c in changes), "a prefkit:change event for analytics")
    assert page.evaluate("window.prefkit.get('analytics')") is True
    assert page.evaluate("window.prefkit.allowed('analytics')") is True
    # The inline gated script runs (once) under the strict CSP after its consent.
    switch(page, "Ads").click()
    expect_signals(page, ad_storage="granted", ad_user_data="granted", ad_personalization="granted")
    wait_until(lambda: page.evaluate("window.adsRan") == 1, "the gated inline script to run once")
    no_csp_violations(page)


def test_withdrawal_in_the_center_and_in_another_tab_updates_at_once(env: Env, browser: Browser) -> None:
    context = new_context(browser)
    try:
        center = open_shop(context, env.page("center.html", CENTER), widgets=1)
        other = open_shop(context, env.page("other-tab.html", gated=False))
        switch(center, "Analytics").click()
        expect_signals(center, analytics_storage="granted")
        expect_signals(other, analytics_storage="granted")  # the other tab hears it at once
        switch(center, "Analytics").click()  # withdrawal in the preference center
        expect_signals(center, analytics_storage="denied")
        expect_signals(other, analytics_storage="denied")
        # A change from the API (the shop's backend, another device) reaches both pages too.
        response = context.request.put(f"{env.bff}/api/v1/preferences/analytics", data=json.dumps({"value": True}),
                                       headers={**WRITE, "Content-Type": "application/json"})
        assert response.ok
        expect_signals(center, analytics_storage="granted")
        expect_signals(other, analytics_storage="granted")
        context.request.put(f"{env.bff}/api/v1/preferences/analytics", data=json.dumps({"value": False}),
                            headers={**WRITE, "Content-Type": "application/json"})
        expect_signals(other, analytics_storage="denied")
        no_csp_violations(center)
        no_csp_violations(other)
    finally:
        context.close()


def test_a_gpc_browser_gets_denied_for_gpc_consents_without_ever_granted(env: Env, browser: Browser,
                                                                          chromium_path: str) -> None:
    earlier = new_context(browser)  # the same shopper, earlier, without GPC, granted everything
    earlier.request.post(f"{env.bff}/api/v1/consents/accept-all", headers=WRITE)
    state = earlier.storage_state()
    earlier.close()
    gpc_browser = launch_gpc_chromium(browser, chromium_path)
    try:
        context = new_context(gpc_browser, storage_state=state)
        page = open_shop(context, env.page("gpc.html", TOGGLES), widgets=2)
        assert page.evaluate("navigator.globalPrivacyControl") is True
        expect_signals(page, analytics_storage="granted")  # not a GPC consent: the grant holds
        for signal in ("ad_storage", "ad_user_data", "ad_personalization"):
            assert signals_now(page)[signal] == "denied"
            assert not ever_granted(page, signal)
        assert page.evaluate("window.adsRan") is None
        no_csp_violations(page)
    finally:
        gpc_browser.close()


def test_an_expired_consent_sends_denied_on_the_next_page(env: Env, context: BrowserContext) -> None:
    page = open_shop(context, env.page("expiry.html", TOGGLES), widgets=2)
    switch(page, "Analytics").click()
    expect_signals(page, analytics_storage="granted")
    # The grant loads the gated Google tag; wait for its fetch so that it cannot be counted for the next page.
    wait_until(lambda: any(path.startswith("/gtag/") for path in env.host.requests),
               "the granted page to fetch the Google tag")
    page.close()
    env.clock.now += timedelta(days=31)
    try:
        env.host.requests.clear()
        page = open_shop(context, env.page("expiry.html", TOGGLES), widgets=2)
        expect_signals(page, analytics_storage="denied")
        assert updates(page) >= 1
        assert not ever_granted(page, "analytics_storage")
        # Not fetched on this page (the closed page's last keepalive collects may still arrive: not counted).
        assert [path for path in env.host.requests if path.startswith("/gtag/")] == []
        assert page.evaluate("window.prefkit.state().values.analytics") is False
    finally:
        env.clock.now -= timedelta(days=31)


def test_gated_iframe_loads_only_with_its_consent_and_unloads_on_withdrawal(env: Env, context: BrowserContext) -> None:
    body = TOGGLES + f'<iframe title="Video" data-prefkit-consent="ads" data-src="{env.host.origin}/frame.html"></iframe>'
    env.host.requests.clear()
    page = open_shop(context, env.page("iframe.html", body, gated=False), widgets=2)
    frame = page.locator("iframe[title=Video]")
    assert frame.get_attribute("src") is None and "/frame.html" not in env.host.requests
    switch(page, "Ads").click()
    expect(frame).to_have_attribute("src", f"{env.host.origin}/frame.html")
    wait_until(lambda: "/frame.html" in env.host.requests, "the iframe to load")
    switch(page, "Ads").click()
    expect(frame).not_to_have_attribute("src", f"{env.host.origin}/frame.html")
    no_csp_violations(page)


def test_the_choices_can_always_be_reopened(env: Env, context: BrowserContext) -> None:
    page = open_shop(context, env.page("reopen.html", '<button type="button" data-prefkit-open-center>'
                                                      'Privacy settings</button>', gated=False))
    page.get_by_role("button", name="Privacy settings").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("switch", name="Analytics")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    page.evaluate("void window.prefkit.openCenter()")
    expect(page.get_by_role("dialog").get_by_role("switch", name="Ads")).to_be_visible()
    no_csp_violations(page)


def test_a_registry_reload_reaches_the_page(env: Env, context: BrowserContext) -> None:
    page = open_shop(context, env.page("reload.html", gated=False))
    original = env.registry.read_text(encoding="utf-8")
    edited = original.replace('grants = ["analytics_storage"]', 'grants = ["analytics_storage", "personalization_storage"]')
    try:
        env.registry.write_text(edited, encoding="utf-8")
        wait_until(lambda: "personalization_storage" in (page.evaluate("window.prefkit.state().consentMode") or {}),
                   "the page to hear the registry reload", timeout_s=15)
        assert signals_now(page)["personalization_storage"] == "denied"
    finally:
        env.registry.write_text(original, encoding="utf-8")
        wait_until(lambda: "personalization_storage" not in (page.evaluate("window.prefkit.state().consentMode")
                                                             or {}), "the registry to be restored", timeout_s=15)
