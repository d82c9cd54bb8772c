"""The merchant studio (bff/studio/): sessions, CSRF, schema-derived forms, live validation pinned to fields,
impact counted in the database, publish with comments kept, history and rollback, an inert preview.

Real app (Litestar TestClient, lifespan), real SQLite file, real registry file and watcher."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.exceptions import WebSocketDisconnect
from litestar.routes import HTTPRoute, WebSocketRoute
from litestar.testing import TestClient

from bff.app import create_app, default_plugins
from bff.service import PreferenceService
from bff.storage import Database
from bff.studio import StudioPlugin
from bff.studio.schema_forms import kind_form
from preference_registry import KINDS, RegistryService

try:
    from _bff_app import ADMIN_KEY, REGISTRY_TOML, expect_problem, make_settings, wait_for, write_registry
    from test_components_widgets import _find, _until
except ImportError:  # tests/ not on sys.path
    from tests._bff_app import ADMIN_KEY, REGISTRY_TOML, expect_problem, make_settings, wait_for, write_registry
    from tests.test_components_widgets import _find, _until

ORIGIN = "http://testserver.local"
PUBLIC = {("GET", "/studio/login"), ("POST", "/studio/login"), ("GET", "/studio/static/{name:str}")}
"""The only studio routes a visitor without a session reaches: the login form and the stylesheet/script."""

COMMENTED = "# Our shop's registry: keep this comment!\n" + REGISTRY_TOML.replace(
    '[[preferences]]\nkey = "level"', '# The level slider, tuned in March\n[[preferences]]\nkey = "level"')


@dataclass
class Studio:
    client: TestClient
    service: PreferenceService
    path: Path
    csrf: str = ""

    def login(self, key: str = ADMIN_KEY) -> Any:
        form = self.client.get("/studio/login")
        token = re.search(r'name="token" value="([^"]+)"', form.text)
        assert token is not None, form.text
        response = self.client.post("/studio/login", data={"key": key, "token": token.group(1)},
                                    follow_redirects=False)
        if response.status_code == 303:
            editor = self.client.get("/studio/")
            self.csrf = re.search(r'data-csrf="([^"]+)"', editor.text).group(1)  # type: ignore[union-attr]
        return response

    def edit(self, path: str, value: Any, control: str = "text") -> Any:
        return self.client.post("/studio/api/field", json={"path": path, "control": control, "value": value},
                                headers={"X-Studio-CSRF": self.csrf})

    def act(self, op: str, path: str, **extra: str) -> Any:
        return self.client.post("/studio/action", data={"csrf": self.csrf, "op": op, "path": path, **extra},
                                follow_redirects=False)

    def publish(self) -> Any:
        return self.client.post("/studio/publish", data={"csrf": self.csrf}, follow_redirects=False)


@pytest.fixture()
def studio(tmp_path: Path, sqlite_url: str) -> Iterator[Studio]:
    path = write_registry(tmp_path, COMMENTED)
    settings = make_settings(path, sqlite_url)
    registry = RegistryService.from_file(path)
    database = Database(sqlite_url)
    service = PreferenceService(registry, database)
    app = create_app(settings, service=service)  # default_plugins include the studio
    try:
        with TestClient(app) as client:
            client.headers["origin"] = ORIGIN  # what a browser sends with every form post and fetch
            yield Studio(client, service, path)
    finally:
        database.dispose()


def _studio_routes(client: TestClient) -> list[tuple[str, str]]:
    routes = []
    for route in client.app.routes:
        if route.path.startswith("/studio") and isinstance(route, HTTPRoute):
            routes += [(method, route.path) for method in sorted(route.methods) if method not in ("OPTIONS", "HEAD")]
    return routes


def _concrete(path: str) -> str:
    return path.replace("{name:str}", "studio.css")


def _refused(client: TestClient, method: str, path: str, **kwargs: Any) -> None:
    response = client.request(method, _concrete(path), follow_redirects=False, **kwargs)
    if method == "GET" and not path.startswith("/studio/api/"):  # a page: to the login form, nothing shown
        assert response.status_code == 303 and response.headers["location"] == "/studio/login", (path, response)
        assert "data-csrf" not in response.text
    else:
        expect_problem(response, 401, "studio-session")


def test_every_studio_route_is_refused_without_a_session(studio: Studio) -> None:
    routes = _studio_routes(studio.client)
    guarded = [r for r in routes if r not in PUBLIC]
    assert len(guarded) >= 12, routes  # the walk really covers the studio (pages, API, actions)
    assert {("GET", "/studio/insights"), ("GET", "/studio/insights.csv")} <= set(guarded), routes
    for method, path in guarded:
        _refused(studio.client, method, path)
    # ... with a forged or tampered cookie ...
    studio.login()
    real = studio.client.cookies["prefkit_studio"]
    sid, expires, mac = real.split(".")
    for forged in (f"{sid}.{int(expires) + 3600}.{mac}", f"{sid}x.{expires}.{mac}", "garbage", sid):
        studio.client.cookies.set("prefkit_studio", forged)
        for method, path in guarded:
            _refused(studio.client, method, path)
    # ... and with a real cookie replayed after logout.
    studio.client.cookies.set("prefkit_studio", real)
    assert studio.client.get("/studio/").status_code == 200
    logout = studio.client.post("/studio/logout", data={"csrf": studio.csrf}, follow_redirects=False)
    assert logout.status_code == 303 and 'prefkit_studio=""' in logout.headers["set-cookie"]
    studio.client.cookies.set("prefkit_studio", real)
    for method, path in guarded:
        _refused(studio.client, method, path)


def test_the_preview_websocket_needs_a_session(studio: Studio) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, \
            studio.client.websocket_connect("/_prefkit/ws/studio-preview?what=center"):
        pass
    assert "studio session" in str(refused.value)


def test_login_exchanges_the_key_for_a_short_lived_httponly_cookie(studio: Studio) -> None:
    form = studio.client.get("/studio/login")
    assert 'method="post"' in form.text and 'type="password"' in form.text  # the key goes in a POST body
    assert studio.client.get(f"/studio/?key={ADMIN_KEY}", follow_redirects=False).status_code == 303
    response = studio.login()
    assert response.status_code == 303 and response.headers["location"] == "/studio/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("prefkit_studio="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie and "Max-Age=1800" in cookie
    assert ADMIN_KEY not in cookie and ADMIN_KEY not in studio.client.get("/studio/").text


def test_default_apps_have_the_studio_unless_turned_off(tmp_path: Path, sqlite_url: str) -> None:
    path = write_registry(tmp_path)
    assert any(isinstance(p, StudioPlugin) for p in default_plugins(make_settings(path, sqlite_url)))
    off = make_settings(path, sqlite_url, extra={"studio": False})
    assert not any(isinstance(p, StudioPlugin) for p in default_plugins(off))
    with TestClient(create_app(off)) as client:
        assert client.get("/studio/login").status_code == 404


def test_without_an_admin_key_nobody_signs_in(tmp_path: Path, sqlite_url: str) -> None:
    path = write_registry(tmp_path)
    with TestClient(create_app(make_settings(path, sqlite_url, admin_key=""))) as client:
        client.headers["origin"] = ORIGIN
        form = client.get("/studio/login")
        assert "PREFKIT_ADMIN_KEY" in form.text and 'type="password"' not in form.text
        refused = client.post("/studio/login", data={"key": "", "token": "x"}, follow_redirects=False)
        assert refused.status_code == 403 and "prefkit_studio=" not in refused.headers.get("set-cookie", "")


def test_under_https_the_cookie_is_host_prefixed_and_secure(tmp_path: Path, sqlite_url: str) -> None:
    path = write_registry(tmp_path)
    settings = make_settings(path, sqlite_url, cookie_secure=True)
    app = create_app(settings, plugins=[StudioPlugin()])
    with TestClient(app, base_url="https://testserver.local") as client:
        client.headers["origin"] = "https://testserver.local"
        token = re.search(r'name="token" value="([^"]+)"', client.get("/studio/login").text).group(1)  # type: ignore[union-attr]
        response = client.post("/studio/login", data={"key": ADMIN_KEY, "token": token}, follow_redirects=False)
        cookie = next(c for c in response.headers.get_list("set-cookie") if "prefkit_studio=" in c)
        assert cookie.startswith("__Host-prefkit_studio=") and "Secure" in cookie
        assert client.get("/studio/").status_code == 200


def test_a_wrong_key_is_refused_then_throttled_even_for_the_right_key(studio: Studio, monkeypatch: Any) -> None:
    import hmac as hmac_module

    compared: list[bytes] = []
    real_compare = hmac_module.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append(b)
        return real_compare(a, b)

    monkeypatch.setattr("bff.api.context.hmac.compare_digest", spy)
    for _ in range(10):
        response = studio.login("wrong-key-" + "x" * 30)
        assert response.status_code == 401 and "Wrong key" in response.text or "Nieprawidłowy" in response.text
    assert ADMIN_KEY.encode() in compared  # constant-time comparison with the real key, for a wrong key too
    throttled = studio.login()
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert "prefkit_studio=" not in throttled.headers.get("set-cookie", "").replace("prefkit_studio_login", "")


def test_login_without_its_form_token_is_refused(studio: Studio) -> None:
    studio.client.get("/studio/login")
    response = studio.client.post("/studio/login", data={"key": ADMIN_KEY, "token": "forged"},
                                  follow_redirects=False)
    assert response.status_code == 403 and "prefkit_studio=" not in response.headers.get("set-cookie", "")
    no_origin = studio.client.post("/studio/login", data={"key": ADMIN_KEY}, headers={"origin": "https://evil.example"})
    assert no_origin.status_code == 403


def test_every_action_needs_the_csrf_token(studio: Studio) -> None:
    studio.login()
    actions = [r for r in _studio_routes(studio.client) if r[0] == "POST" and r not in PUBLIC]
    assert {p for _, p in actions} >= {"/studio/logout", "/studio/api/field", "/studio/api/raw", "/studio/action",
                                       "/studio/publish", "/studio/rollback"}
    for _, path in actions:
        for headers in ({}, {"X-Studio-CSRF": "wrong"}):
            response = studio.client.post(path, data={"csrf": "wrong", "op": "discard", "path": "preferences"},
                                          headers=headers, follow_redirects=False)
            expect_problem(response, 403, "studio-csrf")
    assert studio.client.get("/studio/").status_code == 200  # nothing above ended the session


def test_the_editor_has_a_field_for_every_schema_field_of_every_kind(studio: Studio) -> None:
    studio.login()
    before = len(studio.service.registry.current.document.preferences)
    for kind in KINDS:
        assert studio.act("add", "preferences", kind=kind).status_code == 303
    page = studio.client.get("/studio/").text
    for offset, kind in enumerate(KINDS):
        for spec in kind_form(kind).fields:
            assert f'data-field="preferences[{before + offset}].{spec.name}"' in page, (kind, spec.name)
    # Texts per locale, side by side: one input per locale of the shop.
    assert 'data-path="preferences[0].title.pl"' in page and 'data-path="preferences[0].title.en"' in page


def test_an_error_is_pinned_to_max_and_publishing_waits_for_the_fix(studio: Studio) -> None:
    studio.login()
    page = studio.client.get("/studio/").text
    assert 'data-error-for="preferences[4].max"' in page  # the slot the error lands in
    result = studio.edit("preferences[4].max", "0", "number").json()
    assert not result["ok"] and [e["path"] for e in result["errors"]] == ["preferences[4].max"]
    expect_problem(studio.publish(), 422, "studio-invalid")
    assert 'disabled aria-describedby="publish-why"' in studio.client.get("/studio/impact").text
    fixed = studio.edit("preferences[4].max", "12", "number").json()
    assert fixed["ok"] and fixed["errors"] == [] and "text" not in fixed  # a keystroke's answer stays small
    fixed = studio.client.get("/studio/api/draft").json()
    assert 'max = 12' in fixed["text"] and "# The level slider, tuned in March" in fixed["text"]


def test_forms_and_raw_text_edit_one_draft(studio: Studio) -> None:
    studio.login()
    assert studio.edit("preferences[0].title.en", "Weekly news", "localized").json()["ok"]
    text = studio.client.get("/studio/api/draft").json()["text"]
    assert 'en = "Weekly news"' in text
    raw = studio.client.post("/studio/api/raw", json={"text": text.replace("Weekly news", "Daily news")},
                             headers={"X-Studio-CSRF": studio.csrf}).json()
    assert raw["ok"]
    assert 'value="Daily news"' in studio.client.get("/studio/").text


def test_publishing_rewrites_the_file_keeping_comments_and_records_who(studio: Studio) -> None:
    studio.login()
    before = studio.service.registry.current.version
    assert studio.act("add", "preferences", kind="slider").status_code == 303
    new = len(studio.service.registry.current.document.preferences)
    for path, value, control in [
        (f"preferences[{new}].key", "comfort", "text"), (f"preferences[{new}].title.pl", "Wygoda", "localized"),
        (f"preferences[{new}].title.en", "Comfort", "localized"), (f"preferences[{new}].max", "5", "number"),
    ]:
        result = studio.edit(path, value, control).json()
    assert result["ok"], result["errors"]
    response = studio.publish()
    assert response.status_code == 303
    current = studio.service.registry.current
    assert current.version != before and current.get("comfort") is not None
    text = studio.path.read_text(encoding="utf-8")
    assert text.startswith("# Our shop's registry: keep this comment!") and "# The level slider, tuned in March" in text
    assert 'key = "comfort"' in text
    history = studio.client.get("/studio/history").text
    assert re.search(rf'data-version="{current.version}".*?studio admin', history, re.S)
    # The watcher re-reads the rewritten file: the same version, nothing else activated.
    wait_for(lambda: studio.service.registry.status().last_rejection is None)
    assert studio.service.registry.current.version == current.version


def test_impact_counts_stored_consents_made_stale_by_a_wording_edit(studio: Studio) -> None:
    import anyio

    subjects = [f"anon:{i:032x}" for i in range(7)]

    async def seed() -> None:
        for subject in subjects:
            await studio.service.set_values(subject, {"newsletter": True}, method="api")
        await studio.service.set_values("anon:" + "f" * 32, {"service_quality": False}, method="api")

    anyio.run(seed)
    studio.login()
    studio.edit("preferences[0].title.en", "Marketing e-mails", "localized")
    studio.act("remove", "preferences[2]")  # service_quality: removed, its one stored value stays
    page = studio.client.get("/studio/impact").text
    assert 'data-key="newsletter" data-stale="7"' in page and "asks 7 shoppers to confirm" in page
    assert 'data-key="service_quality" data-removed="1"' in page
    assert "title.en" in page  # the per-type diff names the field
    assert studio.publish().status_code == 303

    async def stale() -> bool:
        values = await studio.service.effective(subjects[0])
        return values["newsletter"].stale

    assert anyio.run(stale)


def test_rollback_publishes_an_earlier_version_again(studio: Studio) -> None:
    studio.login()
    first = studio.service.registry.current.version
    studio.act("remove", "preferences[5]")
    assert studio.publish().status_code == 303
    second = studio.service.registry.current.version
    assert second != first and studio.service.registry.current.get("balance") is None
    response = studio.client.post("/studio/rollback", data={"csrf": studio.csrf, "version": first},
                                  follow_redirects=False)
    assert response.status_code == 303
    assert studio.service.registry.current.version == first and studio.service.registry.current.get("balance")
    history = studio.client.get("/studio/history").text
    assert history.index(f'data-version="{first}"') < history.index(f'data-version="{second}"')
    assert "# Our shop's registry: keep this comment!" in studio.path.read_text(encoding="utf-8")
    diff = studio.client.get(f"/studio/history?diff={first}").text  # what the rollback changed
    assert re.search(r"<code>balance</code>.*?added", diff, re.S)
    expect_problem(studio.client.post("/studio/rollback", data={"csrf": studio.csrf, "version": "nope"}), 404)


def test_merchant_text_is_inert_in_the_studio(studio: Studio) -> None:
    studio.login()
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    result = studio.edit("preferences[0].title.en", hostile, "localized").json()
    assert result["ok"]
    link = studio.edit("shop.privacy_policy_url", "javascript:alert(3)").json()
    assert [e["path"] for e in link["errors"]] == ["shop.privacy_policy_url"]  # refused by the registry itself
    for page in ("/studio/", "/studio/raw", "/studio/impact"):
        html = studio.client.get(page).text
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in studio.client.get("/studio/").text
    csp = studio.client.get("/studio/").headers["content-security-policy"]
    assert "script-src 'self'" in csp


def test_the_preview_runs_the_real_components_and_writes_nothing(studio: Studio) -> None:
    studio.login()
    studio.edit("preferences[0].title.en", "Preview-only title", "localized")
    with studio.client.websocket_connect("/_prefkit/ws/studio-preview?what=center&locale=en") as ws:
        model = _until(ws, {}, lambda m: _find(m, lambda a: a.get("role") == "switch"))
        heading = str(model)
        assert "Preview-only title" in heading
        switch = _find(model, lambda a: a.get("role") == "switch")
        assert switch is not None
        ws.send_json({"type": "layout-event", "target": switch["eventHandlers"]["onClick"]["target"], "data": [{}]})
        _until(ws, model, lambda m: any(
            (n.get("attributes", {}).get("aria-checked") == "true")
            for n in __import__("bff.reactpy_bridge", fromlist=["walk_model"]).walk_model(m)))
        # A draft edit reaches the open preview without a reload.
        studio.edit("preferences[0].title.en", "Edited while open", "localized")
        _until(ws, model, lambda m: "Edited while open" in str(m))
    with studio.service.database.read() as connection:
        counts = [connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                  for table in ("preference_state", "consent_event")]
    assert counts == [0, 0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.one_of(st.sampled_from(["preferences[0].title.en", "preferences[4].max", "shop.locales",
                                       "preferences[99].key", "sections[0]", "preferences[0].stops[3].label",
                                       "preferences", "shop"]),
                      st.text(max_size=40)),
       control=st.sampled_from(["text", "number", "integer", "bool", "choice", "localized", "localized_list",
                                "list_text", "json", "nonsense"]),
       value=st.one_of(st.none(), st.booleans(), st.text(max_size=60)))
def test_hostile_field_edits_get_a_clean_answer(studio: Studio, path: str, control: str, value: Any) -> None:
    if not studio.csrf:
        studio.login()
    response = studio.edit(path, value, control)
    assert response.status_code in (200, 422), (response.status_code, response.text)
    body = response.json()
    if response.status_code == 200:
        assert isinstance(body["errors"], list)
    # The draft stays readable by the forms whatever was sent.
    assert studio.client.get("/studio/").status_code == 200


def test_errors_are_shown_in_the_studios_locale(studio: Studio) -> None:
    studio.login()
    studio.client.get("/studio/?lang=pl")
    result = studio.edit("preferences[4].max", "0", "number").json()
    assert result["errors"][0]["shown"] == "max musi być większe niż min"
    assert result["errors"][0]["message"] == "max must be greater than min"  # the validator's own words too
    page = studio.client.get("/studio/").text
    assert 'lang="pl"' in page and "max musi być większe niż min" in page and "Stan szkicu" in page
    studio.client.get("/studio/?lang=en")
    assert studio.edit("preferences[4].max", "0", "number").json()["errors"][0]["shown"] == \
        "max must be greater than min"


def test_a_draft_that_does_not_parse_is_edited_as_text_only(studio: Studio) -> None:
    studio.login()
    broken = studio.client.post("/studio/api/raw", json={"text": "[shop\nname = ", "format": "toml"},
                                headers={"X-Studio-CSRF": studio.csrf}).json()
    assert not broken["ok"] and broken["errors"]
    page = studio.client.get("/studio/").text
    assert 'data-raw-text' in page and 'data-path="preferences[0].key"' not in page  # the raw tab, no forms
    body = expect_problem(studio.edit("preferences[0].key", "x"), 422, "studio-edit")
    assert "does not parse" in body["detail"]
    expect_problem(studio.publish(), 422, "studio-invalid")
    assert studio.service.registry.current.get("newsletter") is not None  # the live registry is untouched
    too_big = studio.client.post("/studio/api/raw", json={"text": "#" * (3 * 1024 * 1024)},
                                 headers={"X-Studio-CSRF": studio.csrf})
    assert too_big.status_code == 413


def test_an_unwritable_registry_file_is_reported_not_hidden(studio: Studio) -> None:
    studio.login()
    studio.edit("preferences[0].title.en", "Weekly", "localized")
    # The file's place is taken by a non-empty directory (works for root too, unlike permissions).
    studio.path.unlink()
    studio.path.mkdir()
    (studio.path / "keep").write_text("x", encoding="utf-8")
    body = expect_problem(studio.publish(), 503, "studio-file-write")
    assert "could not be rewritten" in body["detail"]


def test_sections_and_options_are_added_reordered_and_removed(studio: Studio) -> None:
    studio.login()
    assert studio.act("add", "sections").status_code == 303
    for path, value, control in (("sections[0].key", "privacy", "text"), ("sections[0].title.pl", "Prywatność", "localized"),
                                 ("sections[0].title.en", "Privacy", "localized"),
                                 ("preferences[0].section", "privacy", "text")):
        result = studio.edit(path, value, control).json()
    assert result["ok"], result["errors"]
    studio.act("add", "preferences[6].options")  # colors: a fourth option, seeded empty
    errors = studio.client.get("/studio/api/draft").json()["errors"]
    assert {e["path"] for e in errors} >= {"preferences[6].options[3].key"}
    studio.act("up", "preferences[6].options[3]")
    moved = studio.client.get("/studio/api/draft").json()["errors"]
    assert "preferences[6].options[2].key" in {e["path"] for e in moved}
    studio.act("remove", "preferences[6].options[2]")
    studio.act("down", "preferences[0]")
    draft = studio.client.get("/studio/api/draft").json()
    assert draft["ok"], draft["errors"]
    import tomllib

    document = tomllib.loads(draft["text"])
    assert [p["key"] for p in document["preferences"]][:2] == ["recommendations", "newsletter"]
    assert [o["key"] for o in document["preferences"][6]["options"]] == ["red", "green", "blue"]
    assert document["sections"][0]["key"] == "privacy" and "# The level slider, tuned in March" in draft["text"]
    expect_problem(studio.act("add", "preferences", kind="nonsense"), 422, "studio-edit")
    expect_problem(studio.act("explode", "preferences"), 422, "studio-edit")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=300), st.sampled_from([
    REGISTRY_TOML.replace("max = 10", "max = 1e400"), REGISTRY_TOML + "\n[[preferences]]\n", "[" * 5000,
    '{"shop": {"name": "x"}, "preferences": [' + "[" * 200 + "]" * 200 + "]}"])),
    fmt=st.sampled_from(["toml", "yaml", "json", None, "exe"]))
def test_hostile_raw_documents_get_a_clean_answer(studio: Studio, text: str, fmt: str | None) -> None:
    if not studio.csrf:
        studio.login()
    response = studio.client.post("/studio/api/raw", json={"text": text, "format": fmt},
                                  headers={"X-Studio-CSRF": studio.csrf})
    assert response.status_code == 200, response.text
    assert studio.client.get("/studio/").status_code == 200
    assert studio.client.get("/studio/impact").status_code == 200
    assert studio.service.registry.current.get("newsletter") is not None
