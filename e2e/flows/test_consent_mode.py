"""Google Consent Mode flows (12-15): what the shop's page tells its Google tags, checked in a real browser.

12. no Google tag request and no ``granted`` signal before the shopper answers (the one a QA team wants most);
13. "reject all" in the banner sends ``denied`` for every mapped type;
14. a grant (from anywhere: here the API, as another device would) grants exactly the types of that consent,
    on every open tab, and its withdrawal denies them again at once;
15. a Global Privacy Control browser never sees ``granted`` for a GPC consent's types.

The page is the listing (``--prefkit-listing-path``): the shop's own page, with its own tags. It must start
``<head>`` with ``/_prefkit/consent-mode.js`` and ``prefkit.js`` (README "Google Consent Mode and your tags").
Skipped, with the reason, when the BFF serves no page API or the registry maps no consent to Consent Mode.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from e2e.plugin import ShopperFactory
from e2e.shopper import Shopper
from e2e.waiting import wait_until

pytestmark = pytest.mark.browser

GOOGLE_TAG_HOSTS = ("googletagmanager.com", "google-analytics.com", "doubleclick.net", "googleadservices.com",
                    "googlesyndication.com", "google.com/pagead", "google.com/ccm", "analytics.google.com")
"""Where a Google tag's own requests go: none may leave the page before the shopper answers."""
NEEDS_CONSENT = ("ad_storage", "ad_user_data", "ad_personalization", "analytics_storage",
                 "personalization_storage")

# Before any page script: every dataLayer entry in order (gtag's ``arguments`` as arrays).
RECORDER = """
window.__prefkitQa = [];
const dataLayer = window.dataLayer = window.dataLayer || [];
const push = dataLayer.push;
dataLayer.push = function (...entries) {
  for (const entry of entries) {
    const copy = (typeof entry === "object" && entry !== null && "length" in entry && !Array.isArray(entry))
      ? Array.from(entry) : entry;
    try { window.__prefkitQa.push(JSON.parse(JSON.stringify(copy))); } catch (e) { /* not JSON: not ours */ }
  }
  return push.apply(this, entries);
};
"""


def page_state(shopper: Shopper) -> dict[str, Any]:
    """The shopper's page state from the BFF; skips the flow when it has no Consent Mode to check."""
    response = shopper.context.request.get(f"{shopper.server.base_url}/_prefkit/state")
    if response.status == 404:
        pytest.skip("the BFF under test serves no page API (/_prefkit/state): prefkit without PageApiPlugin")
    assert response.ok, f"/_prefkit/state answered {response.status}"
    state = response.json()
    if not state.get("consent_mode"):
        pytest.skip("the registry under test maps no consent to Google Consent Mode (consent_mode)")
    return state


def open_recorded(shopper: Shopper, page: Page | None = None) -> Page:
    """The listing in ``page`` (default: the shopper's first tab), with its dataLayer and requests recorded."""
    target = page or shopper.page
    requests: list[str] = []
    target.on("request", lambda request: requests.append(request.url))
    target.__dict__["prefkit_requests"] = requests
    shopper.listing(target).open()
    try:
        target.wait_for_function("window.prefkit !== undefined", timeout=15_000)
    except Exception as exc:  # Playwright's TimeoutError: say what is missing
        raise AssertionError(f"{target.url} does not load prefkit.js (no window.prefkit)") from exc
    target.evaluate("window.prefkit.ready")
    assert target.evaluate("window.prefkitConsentMode !== undefined && !window.prefkitConsentMode.late"), (
        f"{target.url} does not load /_prefkit/consent-mode.js before prefkit.js: Consent Mode starts late")
    return target


def consent_commands(page: Page) -> list[tuple[str, dict[str, Any]]]:
    return [(entry[1], entry[2]) for entry in page.evaluate("window.__prefkitQa")
            if isinstance(entry, list) and entry[:1] == ["consent"] and len(entry) > 2]


def signals_now(page: Page) -> dict[str, str]:
    state: dict[str, str] = {}
    for _, argument in consent_commands(page):
        state.update({k: v for k, v in argument.items() if k not in ("region", "wait_for_update")})
    return state


def ever_granted(page: Page, signal: str) -> bool:
    return any(argument.get(signal) == "granted" for _, argument in consent_commands(page))


def expect_signals(page: Page, expected: dict[str, str]) -> None:
    wait_until(lambda: all(signals_now(page).get(k) == v for k, v in expected.items()),
               f"Consent Mode state {expected} on {page.url} (have {signals_now(page)})", timeout_s=15)


def notice_only(state: dict[str, Any]) -> set[str]:
    return {key for key, info in state["consents"].items() if info["mechanism"] == "notice_only"}


def switchable_signals(state: dict[str, Any]) -> dict[str, list[str]]:
    """Mapped types that only a shopper's choice grants (not those of notice-only consents)."""
    always = notice_only(state)
    return {signal: keys for signal, keys in state["consent_mode"].items() if not set(keys) & always}


def recording(shopper: Shopper) -> None:
    shopper.context.add_init_script(RECORDER)


def test_no_google_tag_before_consent(shopper: Shopper) -> None:
    """Flow 12: before any answer, the first Consent Mode command is the default, nothing that needs consent
    is ever granted, no request reaches a Google tag host, and no gated tag ran."""
    state = page_state(shopper)
    recording(shopper)
    page = open_recorded(shopper)
    commands = consent_commands(page)
    assert commands and commands[0][0] == "default", f"the first Consent Mode command is not the default: {commands}"
    for signal in NEEDS_CONSENT:
        assert not ever_granted(page, signal), f"{signal} granted before the shopper answered: {commands}"
    for signal in switchable_signals(state):
        assert signals_now(page).get(signal) == "denied", (signal, signals_now(page))
    tag_requests = [url for url in page.__dict__["prefkit_requests"] if any(h in url for h in GOOGLE_TAG_HOSTS)]
    assert tag_requests == [], f"Google tag requests before consent: {tag_requests}"
    ran = page.evaluate("[...document.querySelectorAll('script[data-prefkit-consent][data-prefkit-state=activated]')]"
                        ".map((s) => s.getAttribute('data-prefkit-consent'))")
    assert ran == [], f"gated tags ran before consent: {ran}"


def test_reject_all_denies_every_mapped_type(shopper: Shopper) -> None:
    """Flow 13: "reject all" in the banner: every type a switchable consent grants is ``denied``."""
    state = page_state(shopper)
    recording(shopper)
    page = open_recorded(shopper)
    banner = shopper.banner()
    banner.expect_shown()
    updates_before = sum(1 for command, _ in consent_commands(page) if command == "update")
    banner.reject_all()
    wait_until(lambda: sum(1 for c, _ in consent_commands(page) if c == "update") > updates_before,
               "a Consent Mode update after reject all", timeout_s=15)
    expect_signals(page, dict.fromkeys(switchable_signals(state), "denied"))
    for signal in switchable_signals(state):
        assert not ever_granted(page, signal), consent_commands(page)


def test_grant_reaches_every_tab_and_withdrawal_denies_at_once(shopper: Shopper) -> None:
    """Flow 14: granting one consent grants exactly its types (a type shared with another consent needs both),
    on two open tabs; withdrawing it denies them again at once."""
    state = page_state(shopper)
    signals = switchable_signals(state)
    if not signals:
        pytest.skip("every mapped type belongs to a notice-only consent: nothing to grant")
    key = next(iter(signals.values()))[0]
    ours = {signal for signal, keys in signals.items() if keys == [key]}
    recording(shopper)
    tabs = [open_recorded(shopper), open_recorded(shopper, shopper.new_tab())]
    shopper.api.set_preference(key, True)
    for tab in tabs:
        expect_signals(tab, dict.fromkeys(ours, "granted"))
        others = {s for s in signals if s not in ours}
        assert all(signals_now(tab)[s] == "denied" for s in others), (key, signals_now(tab))
    shopper.api.set_preference(key, False)
    for tab in tabs:
        expect_signals(tab, dict.fromkeys(ours, "denied"))


def test_gpc_browser_never_sees_granted_for_gpc_consents(new_shopper: ShopperFactory) -> None:
    """Flow 15: a Global Privacy Control browser: the types of GPC consents stay ``denied`` throughout."""
    shopper = new_shopper(gpc=True)
    state = page_state(shopper)
    gpc_keys = {key for key, value in state["values"].items() if value["source"] == "gpc"}
    registry = shopper.registry()
    gpc_keys |= {c.key for c in registry.consents(switchable=True) if c.gpc}
    affected = {signal for signal, keys in state["consent_mode"].items() if set(keys) & gpc_keys}
    if not affected:
        pytest.skip("no consent with gpc = true is mapped to Consent Mode")
    recording(shopper)
    page = open_recorded(shopper)
    expect_signals(page, dict.fromkeys(affected, "denied"))
    for signal in affected:
        assert not ever_granted(page, signal), consent_commands(page)
