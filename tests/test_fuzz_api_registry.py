"""Hypothesis-generated registry documents through ``PUT /api/v1/admin/registry`` (real app, real SQLite
file): every document is either activated (200) or refused with a 422 problem listing its errors — never a
500 — and whatever registry ends up live, the API, the profile and the OpenAPI document keep working."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from _bff_app import ADMIN_KEY, WRITE, running_app, write_registry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ADMIN = {"X-Admin-Key": ADMIN_KEY}
PROBLEM = "application/problem+json"

locales = st.sampled_from(["pl", "en", "de", "", "PL", "en-GB", "x" * 40])
keys = st.one_of(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), st.text(max_size=6))
texts = st.one_of(
    st.text(max_size=24),
    st.dictionaries(locales, st.text(max_size=12), max_size=3),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=2),
)
numbers = st.one_of(
    st.integers(-5, 20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.booleans(),
    st.none(),
    st.integers(),
)
text_lists = st.one_of(
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(locales, st.lists(st.text(max_size=8), max_size=2)),
    texts,
)
common = {
    "description": texts,
    "data_used": text_lists,
    "benefit": texts,
    "section": keys,
    "order": numbers,
    "requires": st.lists(keys, max_size=2),
}
consents = st.fixed_dictionaries(
    {"key": keys, "kind": st.just("consent"), "title": texts},
    optional={
        **common,
        "purpose": keys,
        "mechanism": st.sampled_from(["opt_in", "opt_out", "notice_only", "nope"]),
        "gpc": st.one_of(st.booleans(), numbers),
        "expires_after_days": numbers,
        "default": st.one_of(st.booleans(), numbers),
    },
)
effects = st.fixed_dictionaries(
    {"rule": st.sampled_from(["personalization", "balance", "weight", "x"])},
    optional={
        "attribute": keys,
        "weight": numbers,
        "low": st.fixed_dictionaries({"attribute": keys}),
        "high": st.fixed_dictionaries({"attribute": keys}, optional={"prefer": st.text(max_size=6)}),
    },
)
sliders = st.fixed_dictionaries(
    {
        "key": keys,
        "kind": st.just("slider"),
        "title": texts,
        "min": numbers,
        "max": numbers,
        "default": numbers,
    },
    optional={
        **common,
        "step": numbers,
        "page_step": numbers,
        "applies_to": effects,
        "stops": st.lists(st.fixed_dictionaries({"value": numbers, "label": texts}), max_size=3),
    },
)
options = st.lists(
    st.fixed_dictionaries(
        {"key": keys, "label": texts}, optional={"value": st.one_of(st.text(max_size=4), numbers)}
    ),
    max_size=4,
)
filters = st.fixed_dictionaries(
    {"key": keys, "kind": st.just("filter"), "title": texts, "options": options},
    optional={
        **common,
        "multiple": st.one_of(st.booleans(), numbers),
        "default": st.one_of(st.lists(keys, max_size=3), keys, numbers),
        "applies_to": st.fixed_dictionaries(
            {"attribute": keys},
            optional={"rule": st.sampled_from(["include", "exclude", "boost", "?"]), "weight": numbers},
        ),
    },
)
anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
preferences = st.one_of(consents, sliders, filters, anything)
documents = st.fixed_dictionaries(
    {
        "shop": st.one_of(
            st.fixed_dictionaries(
                {"name": texts},
                optional={
                    "default_locale": locales,
                    "locales": st.lists(locales, max_size=3),
                    "theme": st.text(max_size=8),
                    "controller_contact": st.text(max_size=10),
                    "privacy_policy_url": st.text(max_size=10),
                },
            ),
            anything,
        ),
        "preferences": st.lists(preferences, max_size=5),
    },
    optional={
        "sections": st.lists(
            st.fixed_dictionaries({"key": keys, "title": texts}, optional={"order": numbers}), max_size=2
        ),
        "schema_version": st.one_of(st.just(1), numbers),
        "extra": anything,
    },
)


def _encode(document: dict[str, Any], fmt: str) -> tuple[bytes, str]:
    if fmt == "yaml":
        return yaml.safe_dump(document, allow_unicode=True).encode(), "application/yaml"
    return json.dumps(document, allow_nan=True).encode(), "application/json"


@pytest.mark.slow
def test_generated_registry_documents_never_cause_a_500(tmp_path: Path) -> None:
    registry = write_registry(tmp_path)
    with running_app(registry, f"sqlite:///{tmp_path / 'fuzz.db'}") as (client, service):
        outcomes = {200: 0, 422: 0, 400: 0}

        @given(
            document=documents, fmt=st.sampled_from(["json", "yaml"]), raw=st.none() | st.text(max_size=200)
        )
        @settings(
            max_examples=200,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def submit(document: dict[str, Any], fmt: str, raw: str | None) -> None:
            if raw is not None:
                body, content_type = raw.encode(), "application/toml"
            else:
                body, content_type = _encode(document, fmt)
            before = service.registry.current.version
            response = client.put(
                "/api/v1/admin/registry", content=body, headers={**ADMIN, "Content-Type": content_type}
            )
            assert response.status_code in outcomes, response.text
            outcomes[response.status_code] += 1
            if response.status_code == 200:
                assert response.json()["version"] == service.registry.current.version
            else:
                assert response.headers["content-type"].startswith(PROBLEM)
                problem = response.json()
                assert problem["errors"] and all(e["message"] for e in problem["errors"]), problem
                assert service.registry.current.version == before  # the old registry stays live
            # Whatever is live now, everything keeps answering.
            for path in (
                "/api/v1/registry",
                "/api/v1/preferences",
                "/api/v1/profile",
                "/schema/openapi.json",
                "/api/v1/me/export",
            ):
                answer = client.get(path)
                assert answer.status_code == 200, (path, answer.text[:500])
            assert client.post("/api/v1/consents/reject-all", headers=WRITE).status_code == 200

        submit()
    assert outcomes[422] > 0 and outcomes[200] > 0, outcomes
