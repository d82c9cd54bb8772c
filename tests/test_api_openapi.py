"""OpenAPI at /schema documents each registered preference type's value schema and problem responses."""

from __future__ import annotations

from pathlib import Path

from _bff_app import running_app, write_registry


def test_openapi_documents_every_preference_value(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(write_registry(tmp_path), sqlite_url) as (client, service):
        response = client.get("/schema/openapi.json")
        assert response.status_code == 200
        document = response.json()
        snapshot = service.registry.current
        schemas = document["components"]["schemas"]
        for pref in snapshot.preferences:
            component = schemas[f"PreferenceValue.{pref.key}"]
            assert {k: v for k, v in component.items() if k != "title"} == snapshot.value_schema(pref.key)
        assert (
            schemas["PreferenceValue.level"]["maximum"] == 10
            and schemas["PreferenceValue.level"]["minimum"] == 0
        )
        assert schemas["PreferenceValue.essential"]["enum"] == [True]  # notice-only: not switchable

        item = document["paths"]["/api/v1/preferences/{key}"]
        key_param = next(p for p in item["put"]["parameters"] if p["name"] == "key")
        assert key_param["schema"]["enum"] == [pref.key for pref in snapshot.preferences]
        patch_body = document["paths"]["/api/v1/preferences"]["patch"]["requestBody"]["content"][
            "application/json"
        ]["schema"]
        assert patch_body["properties"]["colors"] == {"$ref": "#/components/schemas/PreferenceValue.colors"}
        assert patch_body["additionalProperties"] is False

        problems = [
            response
            for path in document["paths"].values()
            for op in path.values()
            if isinstance(op, dict)
            for status, response in op.get("responses", {}).items()
            if status.startswith("4")
        ]
        assert problems and all("application/problem+json" in r["content"] for r in problems)
        assert document["info"]["x-prefkit-registry-version"] == snapshot.version
        assert (
            "/api/v1/consents/accept-all" in document["paths"]
            and "/api/v1/admin/registry" in document["paths"]
        )
