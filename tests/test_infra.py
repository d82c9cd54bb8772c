"""The test infrastructure itself works: PostgreSQL fixtures, SQLite URL, Debian Chromium via Playwright."""

from __future__ import annotations

import sqlalchemy as sa
import pytest

from _browser import CHROMIUM_ARGS


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


@pytest.mark.postgres
def test_postgres_server_answers(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")
    engine = _engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select 1")).scalar_one() == 1
        assert conn.execute(sa.text("show server_version_num")).scalar_one().isdigit()
    engine.dispose()


@pytest.mark.postgres
def test_fresh_postgres_database_roundtrip(fresh_postgres_url: str) -> None:
    engine = _engine(fresh_postgres_url)
    meta = sa.MetaData()
    items = sa.Table(
        "items",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
    )
    with engine.begin() as conn:
        # A fresh database is empty.
        assert sa.inspect(conn).get_table_names() == []
        meta.create_all(conn)
        conn.execute(items.insert(), [{"name": "alpha"}, {"name": "béta"}])
    with engine.connect() as conn:
        rows = conn.execute(sa.select(items.c.name).order_by(items.c.id)).scalars().all()
    assert rows == ["alpha", "béta"]
    engine.dispose()


# Filled by the runs of test_fresh_postgres_databases_are_isolated, in whichever order they run.
_seen_fresh_databases: list[str] = []


@pytest.mark.postgres
@pytest.mark.parametrize("run", ["first", "second"])
def test_fresh_postgres_databases_are_isolated(run: str, fresh_postgres_url: str, postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(fresh_postgres_url).database
    assert name not in _seen_fresh_databases
    assert make_url(fresh_postgres_url).port == make_url(postgres_url).port

    server = _engine(postgres_url)
    with server.connect() as conn:
        # Databases handed to earlier tests were dropped when those tests ended.
        for old in _seen_fresh_databases:
            gone = conn.execute(sa.text("select count(*) from pg_database where datname = :n"), {"n": old})
            assert gone.scalar_one() == 0, f"{old} was not dropped"

    engine = _engine(fresh_postgres_url)
    with engine.begin() as conn:
        # Empty, although the other run wrote a table into its own database.
        assert sa.inspect(conn).get_table_names() == []
        conn.execute(sa.text("create table marker (run text)"))
        conn.execute(sa.text("insert into marker values (:r)"), {"r": run})
    with engine.connect() as conn:
        assert conn.execute(sa.text("select run from marker")).scalars().all() == [run]
    engine.dispose()

    # Nor does it leak into the server's own database.
    with server.connect() as conn:
        assert "marker" not in sa.inspect(conn).get_table_names()
    server.dispose()
    _seen_fresh_databases.append(name)


def test_sqlite_url_is_a_file_in_tmp_path(sqlite_url: str, tmp_path) -> None:
    assert sqlite_url == f"sqlite:///{tmp_path}/prefkit.db"
    engine = _engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("create table t (x int)"))
        conn.execute(sa.text("insert into t values (7)"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("select x from t")).scalar_one() == 7
    engine.dispose()
    assert (tmp_path / "prefkit.db").is_file()


def test_database_url_runs_on_both_backends(database_url: str, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.params["database_url"]
    expected_prefix = {"sqlite": "sqlite:///", "postgres": "postgresql+psycopg://"}[backend]
    assert database_url.startswith(expected_prefix)
    engine = _engine(database_url)
    with engine.begin() as conn:
        assert sa.inspect(conn).get_table_names() == []
        conn.execute(sa.text("create table t (x int)"))
        conn.execute(sa.text("insert into t values (1), (2)"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("select sum(x) from t")).scalar_one() == 3
    engine.dispose()


@pytest.mark.browser
def test_chromium_renders_data_url(chromium_path: str) -> None:
    from playwright.sync_api import sync_playwright

    html = "<!doctype html><title>prefkit infra ok</title><h1 id=h>Hello, Chromium</h1>"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto("data:text/html;charset=utf-8," + html)
            assert page.title() == "prefkit infra ok"
            assert page.inner_text("#h") == "Hello, Chromium"
            assert page.evaluate("1 + 2") == 3
        finally:
            browser.close()
