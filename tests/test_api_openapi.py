"""OpenAPI at /schema documents each registered preference type's value schema and problem responses."""

from __future__ import annotations

from pathlib import Path

from _bff_app import WRITE, running_app, write_registry


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

        per_key = [path.removeprefix("/api/v1/preferences/") for path in document["paths"]
                   if path.startswith("/api/v1/preferences/")]
        assert per_key == [pref.key for pref in snapshot.preferences]
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


def _body_schema(document: dict, path: str, method: str) -> dict:
    return document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def test_put_body_is_the_schema_of_the_key_in_the_path(tmp_path: Path, sqlite_url: str) -> None:
    """OpenAPI cannot tie a body to a path parameter's value, so each key gets its own path: a ``oneOf`` of
    every key's schema let ``false`` match several branches (invalid ``oneOf``) and ``PUT level {"value":
    true}`` pass as documented."""
    with running_app(write_registry(tmp_path), sqlite_url) as (client, service):
        document = client.get("/schema/openapi.json").json()
        snapshot = service.registry.current
        assert "/api/v1/preferences/{key}" not in document["paths"]
        operation_ids = [op["operationId"] for item in document["paths"].values() for op in item.values()
                         if isinstance(op, dict) and "operationId" in op]
        assert len(operation_ids) == len(set(operation_ids))
        for pref in snapshot.preferences:
            item = document["paths"][f"/api/v1/preferences/{pref.key}"]
            assert all(p["name"] != "key" for op in item.values() for p in op.get("parameters", []))
            assert _body_schema(document, f"/api/v1/preferences/{pref.key}", "put") == {
                "type": "object", "required": ["value"], "additionalProperties": False,
                "properties": {"value": {"$ref": f"#/components/schemas/PreferenceValue.{pref.key}"}}}
            # What the document offers, the server accepts: the documented value of every key is stored.
            value = {"consent": True, "slider": snapshot.default_value(pref.key)}.get(pref.kind, None)
            if pref.kind == "filter":
                value = [pref.option_keys[0]] if pref.multiple else pref.option_keys[0]
            response = client.put(f"/api/v1/preferences/{pref.key}", json={"value": value}, headers=WRITE)
            assert response.status_code == 200, (pref.key, response.text)
        assert not [path for path, item in document["paths"].items() if "oneOf" in str(item.get("put", ""))]


def test_notice_only_consent_is_documented_as_the_server_treats_it(tmp_path: Path, sqlite_url: str) -> None:
    """Restating a notice-only consent's fixed ``true`` is accepted and records nothing (it is no decision:
    strictly necessary processing does not rest on consent); ``false`` and withdrawal (DELETE) are refused,
    and the document offers neither."""
    with running_app(write_registry(tmp_path), sqlite_url) as (client, _service):
        document = client.get("/schema/openapi.json").json()
        assert document["components"]["schemas"]["PreferenceValue.essential"]["enum"] == [True]
        item = document["paths"]["/api/v1/preferences/essential"]
        assert set(item) >= {"get", "put"} and "delete" not in item
        assert "delete" in document["paths"]["/api/v1/preferences/newsletter"]

        restated = client.put("/api/v1/preferences/essential", json={"value": True}, headers=WRITE)
        assert restated.status_code == 200, restated.text
        assert restated.json()["value"] is True
        patched = client.patch("/api/v1/preferences", json={"essential": True}, headers=WRITE)
        assert patched.status_code == 200, patched.text
        assert client.get("/api/v1/consents/history").json()["events"] == []

        refused = client.put("/api/v1/preferences/essential", json={"value": False}, headers=WRITE)
        assert refused.status_code == 422
        withdrawal = client.delete("/api/v1/preferences/essential", headers=WRITE)
        assert withdrawal.status_code == 405, withdrawal.text
        assert withdrawal.headers["content-type"].startswith("application/problem+json")
        assert _methods(withdrawal.headers["allow"]) == {"GET", "PUT", "OPTIONS"}
        assert client.get("/api/v1/consents/history").json()["events"] == []


def _methods(allow: str) -> set[str]:
    return {method.strip() for method in allow.split(",")}


def test_allow_lists_every_method_of_the_resource(tmp_path: Path, sqlite_url: str) -> None:
    """Litestar 2's automatic OPTIONS answer lists one handler's methods only (litestar#4169)."""
    with running_app(write_registry(tmp_path), sqlite_url) as (client, _service):
        document = client.get("/schema/openapi.json").json()
        for path in ("/api/v1/preferences", "/api/v1/preferences/newsletter", "/api/v1/preferences/essential",
                     "/api/v1/admin/registry", "/api/v1/registry", "/.well-known/gpc.json"):
            documented = {method.upper() for method in document["paths"][path]} | {"OPTIONS"}
            options = client.options(path)
            assert options.status_code == 204
            assert _methods(options.headers["allow"]) == documented, path
            not_allowed = client.post(path, headers=WRITE) if "POST" not in documented else None
            if not_allowed is not None:
                assert not_allowed.status_code == 405
                assert _methods(not_allowed.headers["allow"]) == documented, path


def test_bodies_and_documents_are_declared_as_they_are(tmp_path: Path, sqlite_url: str) -> None:
    import jsonschema_rs  # schemathesis' validator, installed with it

    with running_app(write_registry(tmp_path), sqlite_url) as (client, _service):
        document = client.get("/schema/openapi.json").json()
        gpc = document["paths"]["/.well-known/gpc.json"]["get"]["responses"]["200"]["content"]
        served = client.get("/.well-known/gpc.json")
        assert served.json()["gpc"] is True
        jsonschema_rs.validate(_resolved(document, gpc["application/json"]["schema"]), served.json())
        assert _resolved(document, gpc["application/json"]["schema"])["type"] == "object"

        # msgspec refuses unknown fields of the login body: the document says so.
        login = _resolved(document, _body_schema(document, "/api/v1/session/login", "post"))
        assert login["additionalProperties"] is False and login["required"] == ["token"]

        upload = document["paths"]["/api/v1/admin/registry"]["put"]["requestBody"]
        assert upload["required"] is True
        assert {"application/toml", "application/yaml", "application/json"} <= set(upload["content"])


def _resolved(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_the_keys_are_declared_where_the_server_asks_for_them(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(write_registry(tmp_path), sqlite_url) as (client, _service):
        document = client.get("/schema/openapi.json").json()
        schemes = document["components"]["securitySchemes"]
        admin = schemes["adminKey"]
        assert (admin["type"], admin["in"], admin["name"]) == ("apiKey", "header", "X-Admin-Key")
        assert schemes["apiKey"]["name"] == "X-API-Key"
        for method, operation in document["paths"]["/api/v1/admin/registry"].items():
            assert operation["security"] == [{"adminKey": []}], method
            assert client.request(method.upper(), "/api/v1/admin/registry").status_code == 401
        assert document["paths"]["/api/v1/profile"]["get"]["security"] == [{}, {"apiKey": []}]
        assert "security" not in document["paths"]["/api/v1/preferences"]["get"]


def test_the_document_follows_a_new_registry_and_catalog(tmp_path: Path, sqlite_url: str) -> None:
    """The rendered document is cached; a registry upload or another catalog is documented at once."""
    from _bff_app import ADMIN_KEY, REGISTRY_TOML

    from bff.catalog import Catalog, generate_products

    with running_app(write_registry(tmp_path), sqlite_url) as (client, service):
        first = client.get("/schema/openapi.json").json()
        assert client.get("/schema/openapi.json").json() == first
        assert "/api/v1/preferences/extra" not in first["paths"]

        extra = REGISTRY_TOML + '[[preferences]]\nkey = "extra"\nkind = "consent"\npurpose = "x"\ntitle = "E"'
        uploaded = client.put("/api/v1/admin/registry?format=toml", content=extra,
                              headers={"X-Admin-Key": ADMIN_KEY})
        assert uploaded.status_code == 200, uploaded.text
        second = client.get("/schema/openapi.json").json()
        assert "/api/v1/preferences/extra" in second["paths"]
        assert second["info"]["x-prefkit-registry-version"] == service.registry.current.version

        shoes = [p for p in generate_products(60) if p.category == "shoes"]
        client.app.state.prefkit_catalog = Catalog.from_products(shoes)
        third = client.get("/schema/openapi.json").json()
        parameters = third["paths"]["/api/v1/catalog"]["get"]["parameters"]
        category = next(p for p in parameters if p["name"] == "category")
        assert category["schema"]["enum"] == ["", "shoes"]
