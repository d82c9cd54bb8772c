"""Storage: migrations on SQLite and PostgreSQL, SQLite durability settings, settings validation."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bff.settings import Settings, SettingsError

GOOD_SECRET = "k3y-0123456789abcdefghijklmnopqrstuvwx"
ADMIN_KEY = "admin-k3y-0123456789abcdefghijklmnopq"
from bff.storage import Database
from bff.storage.migrate import current_revision, head_revision


def test_migrations_create_every_table_and_are_idempotent(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert current_revision(database.engine) is None
        assert database.migrate() == head_revision()
        assert database.migrate() == head_revision()
        tables = set(sa.inspect(database.engine).get_table_names())
        assert {"preference_state", "consent_event", "registry_version", "subject_link"} <= tables
        unique = sa.inspect(database.engine).get_unique_constraints("consent_event")
        assert any(set(c["column_names"]) == {"subject", "seq"} for c in unique)
    finally:
        database.dispose()


def test_sqlite_is_wal_with_full_sync(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        database.migrate()
        for engine in (database.engine, database.write_engine):
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        database.dispose()


def test_settings_refuse_missing_or_short_secret_outside_demo() -> None:
    with pytest.raises(SettingsError, match="PREFKIT_SECRET is not set"):
        Settings.from_env({"PREFKIT_REGISTRY": "x.toml"})
    with pytest.raises(SettingsError, match="has only 5 characters"):
        Settings.from_env({"PREFKIT_SECRET": "short"})
    with pytest.raises(SettingsError, match="PREFKIT_SHOP_SECRET"):
        Settings.from_env({"PREFKIT_SECRET": GOOD_SECRET, "PREFKIT_SHOP_SECRET": "tiny"})
    with pytest.raises(SettingsError, match="PREFKIT_ALLOWED_ORIGINS"):
        Settings.from_env({"PREFKIT_SECRET": GOOD_SECRET, "PREFKIT_ALLOWED_ORIGINS": "shop.example"})
    with pytest.raises(SettingsError, match="PREFKIT_DEMO"):
        Settings.from_env({"PREFKIT_DEMO": "maybe"})
    demo = Settings.from_env({"PREFKIT_DEMO": "1"})
    assert len(demo.secret) >= 32 and len(demo.shop_secret) >= 32


def test_settings_from_env() -> None:
    settings = Settings.from_env(
        {
            "PREFKIT_SECRET": GOOD_SECRET,
            "PREFKIT_REGISTRY": "shop.toml",
            "PREFKIT_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "PREFKIT_ALLOWED_ORIGINS": "https://shop.example, http://localhost:3000/",
            "PREFKIT_WRITE_RATE_LIMIT": "120",
            "PREFKIT_MAX_BODY_BYTES": "1000",
            "PREFKIT_ADMIN_KEY": ADMIN_KEY,
        }
    )
    assert settings.registry_path == "shop.toml" and settings.database_url.startswith("postgresql")
    assert settings.allowed_origins == ("https://shop.example", "http://localhost:3000")
    assert (settings.write_rate_limit_per_minute, settings.max_body_bytes, settings.admin_key) == (
        120,
        1000,
        ADMIN_KEY,
    )
    assert Settings.from_env({"PREFKIT_SECRET": GOOD_SECRET}).database_url == "sqlite:///./prefkit.db"


def test_json_values_written_before_exact_json_still_read(sqlite_url: str) -> None:
    """Rows that older versions wrote as JSON text (which NUMERIC affinity may have turned into a number)
    read back like the bytes written now, through SQLAlchemy and through the hot path alike."""
    from datetime import datetime

    from bff.storage import PreferenceState
    from bff.storage.hot import hot_sql

    database = Database(sqlite_url)
    try:
        database.migrate()
        table = PreferenceState.__table__  # type: ignore[attr-defined]
        with database.write() as connection:
            for key, raw in (("a", "0.5"), ("b", '["eco", "local"]'), ("c", "true"), ("d", "7")):
                connection.exec_driver_sql(
                    "INSERT INTO preference_state (subject, key, value, decided_at, text_hash, registry_version,"
                    " made_under_gpc, expiry_logged, gpc_logged) VALUES (?, ?, ?, '2026-01-01 00:00:00.000000',"
                    " 'h', 'v', 0, 0, 0)",
                    ("anon:legacy", key, raw),
                )
            connection.execute(sa.insert(table), [dict(
                subject="anon:legacy", key="e", value=0.002877, decided_at=datetime(2026, 1, 1),
                text_hash="h", registry_version="v", made_under_gpc=False, expiry_logged=False, gpc_logged=False)])
        expected = {"a": 0.5, "b": ["eco", "local"], "c": True, "d": 7, "e": 0.002877}
        with database.read() as connection:
            rows = connection.execute(sa.select(table.c.key, table.c.value)).all()
            assert dict(rows) == expected
        with database.write() as connection:
            assert {row[0]: row[1] for row in hot_sql(connection).load_state(connection, "anon:legacy")} == expected
    finally:
        database.dispose()
