"""Two shoppers in different arms of a running experiment, in a real Chromium against the real BFF (uvicorn,
websockets, SQLite): each one's consent widget shows their arm's wording, and each one's history and export
show the wording that shopper saw when deciding."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, sync_playwright
from test_components_browser import Env, _serve, mount, open_page, prime_identity, tab_to

from preference_registry import load_registry
from preference_registry.experiments import assign

try:
    from _browser import CHROMIUM_ARGS
except ImportError:  # tests/ not on sys.path
    from tests._browser import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

NOW = datetime.now(UTC)
TITLES = {"control": "Personal recommendations", "benefit": "Products picked for you"}
REGISTRY = f"""
[shop]
name = "Shop"
default_locale = "en"
locales = ["en"]

[[preferences]]
kind = "consent"
key = "personalization"
purpose = "recommendations"
title = "{TITLES["control"]}"
description = "We suggest products from what you viewed."

[[experiments]]
key = "recs_wording"
preference = "personalization"
start = {(NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
end = {(NOW + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")}
sample_size = 1000
variants = [
  {{ key = "control" }},
  {{ key = "benefit", title = "{TITLES["benefit"]}", description = "Fewer pages to scroll." }},
]
"""
EXPERIMENT = load_registry(REGISTRY, "toml").document.experiments[0]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    yield from _serve(tmp_path_factory, "experiment.toml", REGISTRY)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_two_shoppers_in_different_arms_see_and_are_proven_their_own_wording(
    browser: Browser, env: Env
) -> None:
    url = env.write_page("experiment.html", mount("consent-toggle", key="personalization"))
    seen: dict[str, dict[str, object]] = {}
    contexts = []
    try:
        for _ in range(40):  # new shoppers until each arm has one (allocation is by a hash of the subject)
            context = browser.new_context()
            contexts.append(context)
            prime_identity(context, env)
            subject = context.request.get(f"{env.bff}/api/v1/me/export").json()["subject"]
            arm = assign(EXPERIMENT, subject).key
            if arm in seen:
                continue
            page = open_page(context, url)
            switch = page.get_by_role("switch", name=TITLES[arm])
            assert switch.count() == 1, f"{arm} shopper must see the {arm} wording"
            assert page.get_by_text(TITLES[next(a for a in TITLES if a != arm)]).count() == 0
            tab_to(page, switch)
            page.keyboard.press("Space")
            page.wait_for_function(
                "() => document.querySelector('[role=switch]').getAttribute('aria-checked') === 'true'"
            )
            history = context.request.get(f"{env.bff}/api/v1/consents/history?locale=en").json()
            export = context.request.get(f"{env.bff}/api/v1/me/export?locale=en").json()
            seen[arm] = {"history": history, "export": export}
            if len(seen) == len(TITLES):
                break
    finally:
        for context in contexts:
            context.close()
    assert seen.keys() == TITLES.keys()
    for arm, proof in seen.items():
        event = proof["history"]["events"][0]  # type: ignore[index]
        assert (event["key"], event["new_value"], event["method"]) == ("personalization", True, "ui")
        assert event["title"] == TITLES[arm]
        exported = [e for e in proof["export"]["history"] if e["key"] == "personalization"][0]  # type: ignore[index]
        assert exported["wording"]["texts"]["en"]["title"] == TITLES[arm]
        assert exported["wording"]["text_hash_verified"] is True
    assert (
        seen["control"]["history"]["events"][0]["text_hash"]
        != seen["benefit"]["history"]["events"][0]["text_hash"]
    )  # type: ignore[index]
