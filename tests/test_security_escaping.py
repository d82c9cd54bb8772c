"""Merchant text is data, never markup: a registry whose texts carry ``<script>``, attribute-breaking quotes
and ``javascript:`` links is served as JSON, rendered escaped by the Jinja2 demo pages and inert by the
ReactPy components in a real Chromium (no script runs, no attribute breaks, no CSP violation), under a
strict Content-Security-Policy."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
from _bff_app import REGISTRY_TOML, WRITE, running_app
from _browser import CHROMIUM_ARGS
from _live_server import LiveServer

SCRIPT = '<script>window.__xss="script"</script>'
ATTRIBUTE = '"><img src=x onerror="window.__xss=\'attr\'">'
SINGLE = "'><svg onload=window.__xss='svg'>"
LINK = "<a href=\"javascript:window.__xss='link'\">click</a>"
PAYLOADS = (SCRIPT, ATTRIBUTE, SINGLE, LINK)


def malicious_registry() -> str:
    document: dict[str, Any] = tomllib.loads(REGISTRY_TOML)
    document["shop"].update(
        name=f"</title>{SCRIPT} Shop",
        controller_contact=ATTRIBUTE,
        # A `javascript:` policy URL is refused by the registry itself (tests/test_registry_validation.py);
        # the most hostile link it accepts is a site path carrying script-looking text.
        privacy_policy_url="/privacy?return=javascript:alert(1)",
    )
    prefs = {pref["key"]: pref for pref in document["preferences"]}
    prefs["newsletter"].update(
        title={"pl": SCRIPT + " News", "en": SCRIPT + " News"},
        description={"pl": ATTRIBUTE + LINK, "en": ATTRIBUTE + LINK},
        data_used={"pl": [LINK, SINGLE], "en": [LINK, SINGLE]},
        benefit=ATTRIBUTE,
    )
    prefs["recommendations"]["title"] = {"pl": ATTRIBUTE + " Rec", "en": ATTRIBUTE + " Rec"}
    prefs["level"]["stops"] = [{"value": 0, "label": SINGLE}, {"value": 10, "label": SCRIPT}]
    prefs["colors"]["options"][0]["label"] = {"pl": SINGLE + " red", "en": SINGLE + " red"}
    prefs["colors"]["description"] = {"pl": LINK, "en": LINK}
    return json.dumps(document)


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    path = tmp_path / "registry.json"
    path.write_text(malicious_registry(), encoding="utf-8")
    return path


def _assert_strict_page_csp(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    directives = {part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";") if part.strip()}
    assert directives["script-src"] == "script-src 'self'", csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert "frame-ancestors" in directives and "object-src 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"]


def test_api_serves_merchant_text_as_json_data(registry_file: Path, sqlite_url: str) -> None:
    with running_app(registry_file, sqlite_url) as (client, _service):
        response = client.get("/api/v1/registry", params={"locale": "en"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        view = response.json()
        newsletter = next(p for p in view["preferences"] if p["key"] == "newsletter")
        assert newsletter["title"] == SCRIPT + " News"  # verbatim data: escaping is the renderer's job
        assert newsletter["description"] == ATTRIBUTE + LINK


def test_demo_pages_escape_merchant_text_under_a_strict_csp(registry_file: Path, sqlite_url: str) -> None:
    with running_app(registry_file, sqlite_url, demo=True) as (client, _service):
        assert (
            client.put("/api/v1/preferences/newsletter", json={"value": True}, headers=WRITE).status_code
            == 200
        )
        for path in ("/demo/", "/demo/preferences", "/demo/your-data"):
            for locale in ("en", "pl"):
                response = client.get(path, params={"locale": locale})
                assert response.status_code == 200, path
                assert response.headers["content-type"].startswith("text/html")
                _assert_strict_page_csp(response)
                page = response.text
                for payload in PAYLOADS:
                    assert payload not in page, (path, payload)
                assert "<script>" not in page and "onerror=" not in page.replace("onerror=&#34;", "")
                assert 'href="javascript:' not in page.lower()
                assert "&lt;/title&gt;&lt;script&gt;" in page  # the shop name, escaped
        history = client.get("/demo/your-data", params={"locale": "en"}).text
        assert "&lt;script&gt;window.__xss=&#34;script&#34;&lt;/script&gt; News" in history


_PROBE = """() => {
  const onAttributes = [];
  for (const element of document.querySelectorAll('*')) {
    for (const attribute of element.attributes) {
      if (attribute.name.toLowerCase().startsWith('on'))
        onAttributes.push(element.tagName + ' ' + attribute.name);
    }
  }
  return {
    xss: window.__xss === undefined ? null : String(window.__xss),
    onAttributes,
    javascriptLinks: [...document.querySelectorAll('[href],[src],[action]')]
        .map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))
        .filter(v => /^\\s*javascript:/i.test(v)),
    injectedElements: document.querySelectorAll('img[src="x"], svg[onload], script:not([src])').length,
    text: document.body.innerText,
  };
}"""


@pytest.mark.browser
def test_components_render_merchant_text_inert_in_chromium(
    registry_file: Path, tmp_path: Path, chromium_path: str
) -> None:
    from playwright.sync_api import sync_playwright

    with (
        LiveServer(
            registry_file,
            f"sqlite:///{tmp_path / 'xss.db'}",
            log_path=tmp_path / "server.log",
            PREFKIT_DEMO="1",
        ) as server,
        sync_playwright() as playwright,
    ):
        # A victim shopper whose choice the browser must never touch.
        with httpx.Client(base_url=server.url, headers=WRITE, timeout=10) as victim:
            assert victim.put("/api/v1/preferences/newsletter", json={"value": False}).status_code == 200
            victim_before = victim.get("/api/v1/me/export").json()["history"]

        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=server.url)
            page = context.new_page()
            violations: list[str] = []
            dialogs: list[str] = []
            page.on(
                "console",
                lambda message: (
                    violations.append(message.text)
                    if "Content Security Policy" in message.text or "Refused to" in message.text
                    else None
                ),
            )
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            # Decide every consent first, so the consent banner does not cover the page.
            assert page.request.post("/api/v1/consents/reject-all", headers=WRITE).ok

            for path in ("/demo/preferences?locale=en", "/demo/?locale=en", "/demo/your-data?locale=en"):
                response = page.goto(path)
                assert response is not None and response.ok, path
                _assert_strict_page_csp_headers(response.headers)
                if path.startswith("/demo/preferences"):
                    page.wait_for_selector('[data-key="newsletter"] [role="switch"]', timeout=20_000)
                    page.wait_for_function("document.body.innerText.includes('News')", timeout=20_000)
                probe = page.evaluate(_PROBE)
                assert probe["xss"] is None, (path, probe["xss"])
                assert probe["onAttributes"] == [], (path, probe["onAttributes"])
                assert probe["javascriptLinks"] == [], (path, probe["javascriptLinks"])
                assert probe["injectedElements"] == 0, path
                assert "<script>" in probe["text"], path  # shown as text, literally
            assert violations == [] and dialogs == []

            # The widget's websocket acts on this browser's subject only.
            page.goto("/demo/preferences?locale=en")
            switch = page.wait_for_selector('[data-key="newsletter"] [role="switch"]', timeout=20_000)
            assert switch is not None and switch.get_attribute("aria-checked") == "false"
            switch.click()
            page.wait_for_selector(
                '[data-key="newsletter"] [role="switch"][aria-checked="true"]', timeout=20_000
            )
            own = page.request.get("/api/v1/preferences").json()["preferences"]["newsletter"]
            assert own["value"] is True and own["source"] == "explicit"
            assert "newsletter" in page.request.get("/api/v1/profile").json()["granted_consents"]
            # Withdrawal from the widget is the same one action, and the profile follows at once.
            switch.click()
            page.wait_for_selector(
                '[data-key="newsletter"] [role="switch"][aria-checked="false"]', timeout=20_000
            )
            assert "newsletter" not in page.request.get("/api/v1/profile").json()["granted_consents"]
            assert page.evaluate(_PROBE)["xss"] is None
        finally:
            browser.close()

        with httpx.Client(base_url=server.url, timeout=10) as victim_again:
            victim_again.cookies.update(victim.cookies)
            after = victim_again.get("/api/v1/me/export").json()
        assert after["history"] == victim_before
        assert next(p for p in after["preferences"] if p["key"] == "newsletter")["effective_value"] is False


def _assert_strict_page_csp_headers(headers: dict[str, str]) -> None:
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert headers["x-content-type-options"] == "nosniff"
