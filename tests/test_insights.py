"""Insights on a database seeded with known decisions (real SQLite file and PostgreSQL, real HTTP through the
app): exact aggregates, small cells suppressed, the consent rule for conversions, no subject id in any answer;
and hypothesis over the suppression itself."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from _bff_app import ADMIN_KEY, API_KEY, SHOP_SECRET, expect_problem, running_app, wait_for, write_registry
from hypothesis import given, settings
from hypothesis import strategies as st

from bff.identity import issue_customer_token
from bff.insights.stats import two_proportion_p, wilson
from bff.insights.suppression import hidden_mass, suppress, total_or_none

REGISTRY = """
[shop]
name = "Shop"
default_locale = "en"
locales = ["en"]

[insights]
conversion_purpose = "analytics"

[[preferences]]
kind = "consent"
key = "personalization"
purpose = "recommendations"
title = "Personal recommendations"

[[preferences]]
kind = "consent"
key = "analytics"
purpose = "analytics"
mechanism = "opt_out"
title = "Analytics"

[[preferences]]
kind = "slider"
key = "price_focus"
title = "Price focus"
min = 0
max = 1
step = 0.25
default = 0.5

[[preferences]]
kind = "filter"
key = "colors"
multiple = true
default = []
title = "Colours"
options = [{ key = "red", label = "Red" }, { key = "blue", label = "Blue" }]
"""

ADMIN = {"X-Admin-Key": ADMIN_KEY}
SUBJECT_ID = re.compile(r"(anon|cust):")


def as_customer(number: int) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_customer_token(f"c{number}", SHOP_SECRET, 3600)}


def seed(client: Any) -> None:
    """The known decisions (see each line); every request is a real write through the API."""

    def ok(response: Any) -> None:
        assert response.status_code == 200, response.text

    for n in range(12):  # 12 accept all: personalization granted, analytics granted (banner)
        ok(client.post("/api/v1/consents/accept-all", headers=as_customer(n)))
    for n in range(12, 24):  # 12 reject all: personalization refused, analytics (on by default) withdrawn
        ok(client.post("/api/v1/consents/reject-all", headers=as_customer(n)))
    for n in range(24, 27):  # 3 grant personalization through the API: a cell under k
        ok(client.put("/api/v1/preferences/personalization", json={"value": True}, headers=as_customer(n)))
    for n in range(10):  # 10 choose 0.75, 4 choose 0.25 (under k), 12 choose 0.5
        ok(client.put("/api/v1/preferences/price_focus", json={"value": 0.75}, headers=as_customer(n)))
    for n in range(10, 14):
        ok(client.put("/api/v1/preferences/price_focus", json={"value": 0.25}, headers=as_customer(n)))
    for n in range(30, 42):  # 12 others choose 0.5 (and decide nothing else)
        ok(client.put("/api/v1/preferences/price_focus", json={"value": 0.5}, headers=as_customer(n)))
    for n in range(12):  # red: 12; blue: 5 (under k)
        ok(
            client.put(
                "/api/v1/preferences/colors",
                json={"value": ["red", "blue"] if n < 5 else ["red"]},
                headers=as_customer(n),
            )
        )
    for n in range(50, 60):  # 10 grant analytics through the API (and choose nothing else)
        ok(client.put("/api/v1/preferences/analytics", json={"value": True}, headers=as_customer(n)))
    for n in range(10):  # 10 withdraw personalization
        ok(client.delete("/api/v1/preferences/personalization", headers=as_customer(n)))


def report_conversion(client: Any, body: dict[str, Any]) -> Any:
    client.cookies.clear()  # the shop's backend calls server to server: no shopper cookie
    return client.post("/api/v1/conversions", json=body, headers={"X-API-Key": API_KEY})


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    return write_registry(tmp_path, REGISTRY)


def insights(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/admin/insights", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert not SUBJECT_ID.search(response.text)  # no subject id, anywhere in the answer
    return response.json()


def by_key(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(item for item in items if item["key"] == key)


def test_exact_aggregates_with_small_cells_suppressed(registry_file: Path, database_url: str) -> None:
    with running_app(registry_file, database_url) as (client, _service):
        seed(client)
        answer = insights(client)["insights"]
    assert answer["k"] == 10
    consent = by_key(answer["consents"], "personalization")
    assert consent["outcomes"] == {"granted": 15, "refused": 12, "withdrawn": 10}
    assert consent["decisions"] == 37
    assert consent["grant_rate"]["rate"] == pytest.approx(15 / 37)
    low, high = consent["grant_rate"]["interval"]["low"], consent["grant_rate"]["interval"]["high"]
    assert (low, high) == pytest.approx(tuple(vars_of(wilson(15, 37))))
    methods = {row["method"]: row for row in consent["by_method"]}
    assert methods["banner_accept_all"] == {
        "method": "banner_accept_all",
        "granted": 12,
        "refused": 0,
        "withdrawn": 0,
    }
    assert methods["banner_reject_all"]["refused"] == 12
    # 3 API grants are under k; hiding them alone would let "10 withdrawn" + the total reveal them, so the
    # smallest other cell (the 10 API withdrawals) is hidden too.
    assert methods["api"]["granted"] is None and methods["api"]["withdrawn"] is None
    analytics = by_key(answer["consents"], "analytics")
    assert analytics["outcomes"] == {"granted": 22, "refused": 0, "withdrawn": 12}

    slider = by_key(answer["choices"], "price_focus")
    assert slider["subjects"] == 26
    # 4 is under k; with the total shown, 26 - 12 would reveal 4 + 10 = 14 only, not 4: so the 10 goes too.
    assert {v["value"]: v["subjects"] for v in slider["values"]} == {0.75: None, 0.25: None, 0.5: 12}
    colors = by_key(answer["choices"], "colors")
    assert colors["subjects"] == 12
    assert [(v["value"], v["subjects"]) for v in colors["values"]] == [("red", None), ("blue", None)]

    engagement = answer["engagement"]
    assert engagement["deciding"] == 49
    # beyond the banner: c0..c13, c30..c41 (slider), c24..c26, c50..c59 (API grants)
    assert engagement["beyond_banner"]["successes"] == 39
    assert {r["days"]: r["subjects"] for r in engagement["return_days"]} == {
        "1": 39,
        "2": 0,
        "3-5": 0,
        "6+": 0,
    }
    assert answer["suppressed_cells"] >= 4


def vars_of(interval: Any) -> tuple[float, float]:
    return interval.low, interval.high


def test_conversions_are_attributed_only_with_the_purpose_and_unlinked_on_withdrawal(
    registry_file: Path, database_url: str
) -> None:
    with running_app(registry_file, database_url) as (client, _service):
        seed(client)
        for n in range(12):  # analytics granted: attributed to their cohort (active, "some" choices)
            response = report_conversion(client, {"subject": f"cust:c{n}", "value": 100, "order_id": f"o{n}"})
            assert response.status_code == 201, response.text
            assert response.json() == {"recorded": True, "attributed": True}
        assert report_conversion(
            client,
            {"subject": "cust:c0", "value": 50, "order_id": "extra", "occurred_at": "2026-01-01T10:00:00Z"},
        ).json()["attributed"]
        for n in range(12, 24):  # analytics refused (reject all): never linked to them
            response = report_conversion(client, {"subject": f"cust:c{n}", "value": 20})
            assert response.json() == {"recorded": True, "attributed": False}
        # The same order again: counted once.
        again = report_conversion(client, {"subject": "cust:c1", "value": 100, "order_id": "o1"})
        assert again.status_code == 200 and again.json() == {"recorded": False, "attributed": False}

        conversions = insights(client)["insights"]["conversions"]
        assert conversions["purpose"] == "analytics"
        cohorts = {c["cohort"]: c for c in conversions["by_preferences"]}
        # Shoppers allowing analytics with active choices: c0..c11 (granted) and c30..c41 (on by default).
        assert cohorts["active"]["shoppers"] == 24 and cohorts["active"]["conversion"]["successes"] == 12
        assert cohorts["active"]["conversion"]["rate"] == pytest.approx(0.5)
        assert cohorts["active"]["orders"] == 13
        assert cohorts["active"]["average_order_value"] == pytest.approx(1250 / 13)
        assert (
            cohorts["active"]["aov_interval"]["low"] < 1250 / 13 < cohorts["active"]["aov_interval"]["high"]
        )
        assert cohorts["none"]["shoppers"] == 13  # c24..c26 (on by default), c50..c59: no active choice
        assert (
            cohorts["none"]["conversion"]["successes"] == 0 and cohorts["none"]["average_order_value"] is None
        )
        levels = {c["cohort"]: c["shoppers"] for c in conversions["by_level"]}
        assert levels == {"none": 13, "some": 24, "many": 0}
        assert conversions["unattributed"]["orders"] == 12
        assert conversions["unattributed"]["average_order_value"] == pytest.approx(20)

        # c0 withdraws analytics: their two orders stay, but count as unattributed from now on.
        assert (
            client.put(
                "/api/v1/preferences/analytics", json={"value": False}, headers=as_customer(0)
            ).status_code
            == 200
        )
        wait_for(
            lambda: insights(client)["insights"]["conversions"]["unattributed"]["orders"] == 14,
            message="c0's orders unlinked",
        )
        cohorts = {c["cohort"]: c for c in insights(client)["insights"]["conversions"]["by_preferences"]}
        assert cohorts["active"]["shoppers"] == 23 and cohorts["active"]["orders"] == 11


def test_conversion_endpoint_needs_the_api_key_and_refuses_bad_bodies_precisely(
    registry_file: Path, sqlite_url: str
) -> None:
    with running_app(registry_file, sqlite_url) as (client, _service):
        expect_problem(client.post("/api/v1/conversions", json={"subject": "cust:c1", "value": 1}), 401)
        cases = [
            ({"subject": "cust:c1", "value": -1}, "value"),
            ({"subject": "cust:c1", "value": "12"}, "value"),
            ({"subject": "cust:c1"}, "body"),
            ({"subject": "nobody", "value": 1}, "subject"),
            ({"subject": "cust:c1", "value": 1, "currency": "euro"}, "currency"),
            ({"subject": "cust:c1", "value": 1, "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
            ({"subject": "cust:c1", "value": 1, "occurred_at": "2026-01-01T00:00:00"}, "occurred_at"),
            ({"subject": "cust:c1", "value": 1, "extra": 1}, "body"),
        ]
        for body, path in cases:
            problem = expect_problem(report_conversion(client, body), 422)
            assert problem["errors"][0]["path"] == path, (body, problem)
        for path in ("/api/v1/admin/insights", "/api/v1/admin/insights.csv", "/api/v1/admin/insights/page"):
            expect_problem(client.get(path), 401)
        for bad in ("0.5", "2026-01-01T00:00:00", "yesterday"):  # a number, no offset, not a time
            problem = expect_problem(
                client.get("/api/v1/admin/insights", headers=ADMIN, params={"until": bad}), 400
            )
            assert problem["errors"][0]["path"] == "until"
        empty = client.get(
            "/api/v1/admin/insights",
            headers=ADMIN,
            params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        )
        assert empty.status_code == 200 and empty.json()["insights"]["engagement"]["deciding"] == 0


def test_csv_and_chart_page_carry_the_same_suppressed_numbers_and_no_subject(
    registry_file: Path, sqlite_url: str
) -> None:
    with running_app(registry_file, sqlite_url) as (client, _service):
        seed(client)
        response = client.get("/api/v1/admin/insights.csv", headers=ADMIN)
        page = client.get("/api/v1/admin/insights/page", headers=ADMIN)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["table", "key", "dimension", "cell", "value"]
    cells = {(r[0], r[1], r[2], r[3]): r[4] for r in rows[1:]}
    assert cells[("consent", "personalization", "all", "granted")] == "15"
    assert cells[("consent", "personalization", "method=api", "granted")] == ""  # suppressed
    assert cells[("filter", "colors", "value", '"blue"')] == ""
    assert not SUBJECT_ID.search(response.text)
    assert page.status_code == 200 and not SUBJECT_ID.search(page.text)
    assert page.text.count('role="img"') == page.text.count("<table>") > 5
    assert "fewer than 10 (suppressed)" in page.text


def test_the_studio_insights_page_and_csv_show_the_same_suppressed_numbers_to_a_session(
    registry_file: Path, sqlite_url: str
) -> None:
    from test_studio import ORIGIN, Studio

    with running_app(registry_file, sqlite_url) as (client, service):
        seed(client)
        admin_page = client.get("/api/v1/admin/insights/page", headers=ADMIN).text
        admin_csv = client.get("/api/v1/admin/insights.csv", headers=ADMIN).text
        client.cookies.clear()
        client.headers["origin"] = ORIGIN
        assert Studio(client, service, registry_file).login().status_code == 303
        page = client.get("/studio/insights")
        polish = client.get("/studio/insights?lang=pl")
        exported = client.get("/studio/insights.csv")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "style-src 'self';" in page.headers["content-security-policy"]
    assert "<style" not in page.text and " style=" not in page.text  # the studio's CSP: no inline style
    assert 'href="/studio/insights" aria-current="page"' in page.text  # in the studio's navigation
    # The same renderer as the admin page: every chart of it, with its text alternative and data table.
    figures = re.findall(r"<figure.*?</figure>", admin_page, re.S)
    assert len(figures) > 5 and all(figure in page.text for figure in figures)
    assert '<th scope="row">banner_accept_all: granted</th><td>12</td>' in page.text  # visible
    assert '<th scope="row">api: granted</th><td>fewer than 10 (suppressed)</td>' in page.text  # suppressed
    assert "40.5 %" in page.text  # personalization: 15 of 37 granted
    assert 'href="/studio/insights.csv"' in page.text
    assert polish.status_code == 200 and '<html lang="pl">' in polish.text
    assert '<th scope="row">api: zgoda</th><td>mniej niż 10 (ukryte)</td>' in polish.text
    assert 'role="img"' in polish.text and "Decyzje" in polish.text
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.text == admin_csv
    for answer in (page.text, polish.text, exported.text):
        assert not SUBJECT_ID.search(answer)


# -- the suppression itself -------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=3), st.integers(min_value=0, max_value=40), max_size=12),
    st.integers(min_value=2, max_value=15),
)
def test_no_count_under_k_ever_leaves_not_even_by_subtraction(counts: dict[str, int], k: int) -> None:
    shown = suppress(counts, k)
    assert shown.keys() == counts.keys()
    for key, value in shown.items():
        assert value is None or value == counts[key]  # never altered, only hidden
        assert value is None or value == 0 or value >= k
    total = total_or_none(sum(counts.values()), k)
    mass = hidden_mass(counts, shown)
    if total is not None:
        # What a reader learns by subtracting the shown cells from the shown total.
        assert mass == 0 or mass >= k
    assert total is None or total == 0 or total >= k


def test_wilson_interval_and_two_proportion_test_match_reference_values() -> None:
    # Reference: Newcombe (1998), 81/263 -> 0.2553 .. 0.3662; Wilson of 0/10 stays inside [0, 1].
    interval = wilson(81, 263)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.2553, 0.3662)
    assert wilson(0, 10).low == 0.0 and wilson(10, 10).high == 1.0
    # 50/100 vs 65/100: z = -2.14, two-sided p = 0.032
    assert two_proportion_p(50, 100, 65, 100) == pytest.approx(0.0324, abs=5e-4)


def test_erasure_unlinks_orders_and_leaves_the_index_at_once(registry_file: Path, sqlite_url: str) -> None:
    from bff.insights.api import INDEX_STATE_KEY

    with running_app(registry_file, sqlite_url) as (client, service):
        seed(client)
        for n in range(12):
            assert report_conversion(client, {"subject": f"cust:c{n}", "value": 10})
        index = client.app.state[INDEX_STATE_KEY]
        insights(client)  # the index has folded in every subject by now
        assert "cust:c0" in index.subjects
        response = client.request("DELETE", "/api/v1/me", headers=as_customer(0))
        assert response.status_code in (200, 204), response.text
        wait_for(lambda: "cust:c0" not in index.subjects, message="the erased subject to leave the index")
        with service.database.read() as connection:
            from bff.storage.insights import conversion_rows

            assert sum(1 for subject, _ in conversion_rows(connection) if subject == "cust:c0") == 0
        conversions = insights(client)["insights"]["conversions"]
        assert conversions["unattributed"]["orders"] is None  # 1 order now unattributed: under k
        assert {c["cohort"]: c["orders"] for c in conversions["by_preferences"]}["active"] == 11


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["true", "false", "0.5", None]),
            st.sampled_from(["ui", "api", "accept_all", "reject_all", "gpc"]),
            st.sampled_from(["h1", "h2"]),
            st.integers(1, 4),
        ),
        max_size=60,
    ),
    st.integers(1, 60),
)
def test_the_index_counts_the_same_folded_at_once_or_event_by_event(events: list[tuple], cut: int) -> None:
    # The counts over subjects are kept as facts change; they must equal what one pass over the ledger gives.
    from bff.insights.index import LedgerIndex

    seqs: dict[int, int] = {}
    rows = []
    for number, (subject, key, value, method, text_hash, day) in enumerate(events, start=1):
        seqs[subject] = seqs.get(subject, 0) + 1
        rows.append(
            (number, f"anon:{subject}", seqs[subject], key, None, value, method, text_hash, f"2026-01-0{day}")
        )
    at_once, stepwise = LedgerIndex(), LedgerIndex()
    for row in rows:
        at_once._fold(row)
    for row in rows[:cut]:
        stepwise._fold(row)
    stepwise.forget(["anon:0"])
    for row in rows[cut:]:
        stepwise._fold(row)
    at_once.forget(["anon:0"])
    if any(row[1] == "anon:0" for row in rows[cut:]):
        return  # anon:0 came back after its erasure in one index only: not comparable

    def positive(counter: Any) -> dict[Any, int]:
        return {key: count for key, count in counter.items() if count}

    assert positive(stepwise.profiles) == positive(at_once.profiles)
    assert positive(stepwise.last_events) == positive(at_once.last_events)
    assert positive(stepwise.visits) == positive(at_once.visits)
    assert all(count >= 0 for count in [*stepwise.profiles.values(), *stepwise.last_events.values()])


def test_reconsent_after_a_wording_change_is_counted(registry_file: Path, sqlite_url: str) -> None:
    with running_app(registry_file, sqlite_url) as (client, service):
        seed(client)
        assert by_key(insights(client)["insights"]["consents"], "personalization")["reconsent"] == {
            "granted": 0,
            "refused": 0,
            "withdrawn": 0,
        }
        registry_file.write_text(
            REGISTRY.replace(
                'title = "Personal recommendations"', 'title = "Recommendations picked for you"'
            ),
            encoding="utf-8",
        )
        assert service.registry.reload() is not None
        for n in range(12):  # asked again under the new wording: 12 grant (accept all), 12 refuse
            assert client.post("/api/v1/consents/accept-all", headers=as_customer(n)).status_code == 200
        for n in range(12, 24):
            assert client.post("/api/v1/consents/reject-all", headers=as_customer(n)).status_code == 200
        for n in range(40, 45):  # 5 first decisions under the new wording: not re-consents
            assert client.post("/api/v1/consents/accept-all", headers=as_customer(n)).status_code == 200
        consent = by_key(insights(client)["insights"]["consents"], "personalization")
    assert consent["reconsent"] == {"granted": 12, "refused": 12, "withdrawn": 0}
