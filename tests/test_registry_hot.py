"""Registry hot swap through the running app: edit the file -> the new type is served, validated and in
OpenAPI; a broken file -> the old registry stays and admin shows the errors; admin uploads likewise."""

from __future__ import annotations

import logging
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
        put_schema = document["paths"]["/api/v1/preferences/gift_wrap"]["put"]["requestBody"]["content"][
            "application/json"
        ]["schema"]
        assert put_schema["properties"]["value"] == {"$ref": "#/components/schemas/PreferenceValue.gift_wrap"}
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


# -- the watcher survives anything in the file (issue 11, item 5) -------------------------------------------
HOSTILE_EDITS = {
    "toml inf": REGISTRY_TOML.replace("max = 10", "max = inf"),
    "toml 10**400": REGISTRY_TOML.replace("max = 10", f"max = {10**400}"),
    "deep nesting": REGISTRY_TOML + "x = " + "[" * 20_000 + "]" * 20_000 + "\n",
    "requires chain": REGISTRY_TOML + "".join(
        f'\n[[preferences]]\nkey = "c{i}"\nkind = "consent"\npurpose = "p"\ntitle = "T"\nrequires = ["c{i + 1}"]\n'
        for i in range(3000)),
    "not utf-8": b"\xff\xfe [shop]",
    "huge": REGISTRY_TOML + "#" * (3 * 1024 * 1024),
}


def _admin(client) -> dict:  # noqa: ANN001
    return client.get("/api/v1/admin/registry", headers={"X-Admin-Key": ADMIN_KEY}).json()


def _save_by_rename(path: Path, content: str | bytes) -> None:
    staged = path.with_name(path.name + ".tmp")
    staged.write_bytes(content if isinstance(content, bytes) else content.encode())
    staged.replace(path)


def test_the_watcher_survives_every_hostile_edit_and_serves_the_next_good_one(tmp_path: Path,
                                                                             sqlite_url: str) -> None:
    path = write_registry(tmp_path)
    with running_app(path, sqlite_url) as (client, service):
        version = service.registry.current.version
        for name, content in HOSTILE_EDITS.items():
            before = service.registry.last_rejection
            _save_by_rename(path, content)
            rejection = wait_for(lambda: (r := service.registry.last_rejection) is not before and r,
                                 message=f"the rejection of {name!r}", timeout=30)
            assert rejection.errors and all(e.message for e in rejection.errors), name
            assert not any("internal error" in e.message for e in rejection.errors), rejection.errors
            admin = _admin(client)
            assert admin["active"]["version"] == version and admin["active"]["last_rejection"]["errors"], name
            assert client.get("/api/v1/registry").json()["version"] == version
        # Still watching: a later valid edit is served.
        _save_by_rename(path, REGISTRY_TOML + NEW_TYPE)
        wait_for(lambda: "gift_wrap" in _keys(client), message="the good edit after the hostile ones", timeout=30)
    # Leaving the block ran the lifespan shutdown; a dead watcher task used to make it fail.


def test_deleting_and_recreating_the_file_keeps_then_replaces_the_registry(tmp_path: Path,
                                                                          sqlite_url: str) -> None:
    path = write_registry(tmp_path)
    with running_app(path, sqlite_url) as (client, service):
        version = service.registry.current.version
        path.unlink()
        wait_for(lambda: service.registry.last_rejection, message="the missing file to be reported", timeout=30)
        assert "cannot read" in service.registry.last_rejection.errors[0].message
        assert client.get("/api/v1/registry").json()["version"] == version
        path.write_text(REGISTRY_TOML + NEW_TYPE, encoding="utf-8")
        wait_for(lambda: "gift_wrap" in _keys(client), message="the re-created file to be served", timeout=30)


# -- the watcher reacts to the registry file only (item 8) --------------------------------------------------
class _Records(logging.Handler):
    """Collects records of chosen loggers (the app's logging setup replaces the root handlers caplog uses)."""

    def __init__(self, *names: str) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.loggers = [logging.getLogger(name) for name in names]

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> _Records:
        for logger in self.loggers:
            logger.addHandler(self)
            logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        for logger in self.loggers:
            logger.removeHandler(self)
            logger.setLevel(logging.NOTSET)


def test_files_beside_the_registry_never_trigger_a_reload(tmp_path: Path, sqlite_url: str) -> None:
    path = write_registry(tmp_path)
    log = tmp_path / "shop.log"
    with running_app(path, sqlite_url) as (client, service), _Records("watchfiles.main", "prefkit.registry") as seen:
        with log.open("a") as handle:
            for line in range(200):
                handle.write(f"line {line}\n")
                handle.flush()
        (tmp_path / "notes.toml").write_text(REGISTRY_TOML + NEW_TYPE, encoding="utf-8")
        # Events arrive in order: once this save by rename is served, every append above was seen.
        _save_by_rename(path, REGISTRY_TOML + NEW_TYPE)
        wait_for(lambda: "gift_wrap" in _keys(client), message="the save by rename to be served", timeout=30)
        noticed = [r.getMessage() for r in seen.records if "change" in r.getMessage()]
        assert noticed and not any("shop.log" in m or "notes.toml" in m for m in noticed), noticed
        reloads = [r for r in seen.records if r.name == "prefkit.registry" and "reloading" in r.getMessage()]
        assert 1 <= len(reloads) <= 2, [r.getMessage() for r in reloads]  # the rename: one or two batches


def test_the_watcher_follows_its_directory_being_removed_and_re_created(tmp_path: Path, sqlite_url: str) -> None:
    import shutil

    directory = tmp_path / "conf"
    directory.mkdir()
    path = write_registry(directory)
    with running_app(path, sqlite_url) as (client, service):
        version = service.registry.current.version
        shutil.rmtree(directory)
        wait_for(lambda: service.registry.last_rejection, message="the missing directory to be reported", timeout=30)
        assert client.get("/api/v1/registry").json()["version"] == version
        directory.mkdir()
        write_registry(directory, REGISTRY_TOML + NEW_TYPE)
        wait_for(lambda: "gift_wrap" in _keys(client), message="the re-created directory to be watched", timeout=30)
