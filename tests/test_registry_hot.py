"""Registry hot swap through the running app: edit the file -> the new type is served, validated and in
OpenAPI; a broken file -> the old registry stays and admin shows the errors; admin uploads likewise."""

from __future__ import annotations

from pathlib import Path

from _bff_app import ADMIN_KEY, REGISTRY_TOML, WRITE, running_app, wait_for, write_registry

NEW_TYPE = """
[[preferences]]
key = "gift_wrap"
kind = "filter"
title = { pl = "Pakowanie", en = "Gift wrap" }
options = [ { key = "paper", label = "Paper" }, { key = "cloth", label = "Cloth" } ]
"""


def _keys(client) -> list[str]:  # noqa: ANN001
    return list(client.get("/api/v1/preferences").json()["preferences"])


def test_edit_file_serves_and_documents_new_type(tmp_path: Path, database_url: str) -> None:
    path = write_registry(tmp_path)
    with running_app(path, database_url) as (client, service):
        assert "gift_wrap" not in _keys(client)
        assert (
            "PreferenceValue.gift_wrap"
            not in client.get("/schema/openapi.json").json()["components"]["schemas"]
        )
        old_version = service.registry.current.version

        # Editors save by writing a new file and renaming it over the old one.
        staged = tmp_path / "registry.toml.tmp"
        staged.write_text(REGISTRY_TOML + NEW_TYPE, encoding="utf-8")
        staged.replace(path)
        wait_for(lambda: "gift_wrap" in _keys(client), message="the new type to be served")

        response = client.put("/api/v1/preferences/gift_wrap", json={"value": "cloth"}, headers=WRITE)
        assert response.status_code == 200 and response.json()["value"] == "cloth"
        response = client.put("/api/v1/preferences/gift_wrap", json={"value": "plastic"}, headers=WRITE)
        assert (
            response.status_code == 422 and response.json()["errors"][0]["expected"] == "paper | cloth | null"
        )
        document = client.get("/schema/openapi.json").json()
        schema = document["components"]["schemas"]["PreferenceValue.gift_wrap"]
        assert schema["anyOf"] == [{"enum": ["cloth", "paper"]}, {"type": "null"}]
        put_schema = document["paths"]["/api/v1/preferences/{key}"]["put"]["requestBody"]["content"][
            "application/json"
        ]["schema"]
        assert {"$ref": "#/components/schemas/PreferenceValue.gift_wrap"} in put_schema["properties"][
            "value"
        ]["oneOf"]
        assert document["info"]["x-prefkit-registry-version"] != old_version
        admin = client.get("/api/v1/admin/registry", headers={"X-Admin-Key": ADMIN_KEY}).json()
        assert {v["version"] for v in admin["history"]} == {old_version, service.registry.current.version}


def test_broken_file_keeps_old_registry_and_admin_shows_errors(tmp_path: Path, sqlite_url: str) -> None:
    path = write_registry(tmp_path)
    with running_app(path, sqlite_url) as (client, service):
        version = service.registry.current.version
        path.write_text(REGISTRY_TOML.replace("max = 10", "max = -3"), encoding="utf-8")
        admin = wait_for(
            lambda: (
                (body := client.get("/api/v1/admin/registry", headers={"X-Admin-Key": ADMIN_KEY}).json())[
                    "active"
                ]["last_rejection"]
                and body
            ),
            message="the rejection to be reported",
        )
        errors = admin["active"]["last_rejection"]["errors"]
        assert any(e["path"].startswith("preferences[4]") for e in errors), errors
        assert admin["active"]["version"] == version
        assert client.get("/api/v1/registry").json()["version"] == version
        assert client.put("/api/v1/preferences/level", json={"value": 10}, headers=WRITE).status_code == 200


def test_admin_upload_activates_or_rejects_with_every_error(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(write_registry(tmp_path), sqlite_url) as (client, service):
        version = service.registry.current.version
        assert client.put("/api/v1/admin/registry", content=REGISTRY_TOML, headers=WRITE).status_code == 401
        assert (
            client.put(
                "/api/v1/admin/registry", content=REGISTRY_TOML, headers={"X-Admin-Key": "wrong"}
            ).status_code
            == 401
        )
        broken = REGISTRY_TOML.replace('purpose = "marketing"', 'purpose = "Marketing!"').replace(
            "default = 4", "default = 5"
        )
        response = client.put(
            "/api/v1/admin/registry",
            content=broken,
            headers={"X-Admin-Key": ADMIN_KEY, "Content-Type": "application/toml"},
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        errors = response.json()["errors"]
        assert len(errors) >= 2 and all({"path", "message"} <= set(e) for e in errors)
        assert service.registry.current.version == version

        response = client.put(
            "/api/v1/admin/registry",
            content=REGISTRY_TOML + NEW_TYPE,
            headers={"X-Admin-Key": ADMIN_KEY, "Content-Type": "application/toml"},
        )
        assert response.status_code == 200 and response.json()["activated"] is True
        assert "gift_wrap" in _keys(client)
