"""Shared test infrastructure fixtures: databases (SQLite, PostgreSQL) and Debian's Chromium.

PostgreSQL: `postgres_url` (session) is env PREFKIT_TEST_POSTGRES_URL when set, else a throwaway
cluster started by scripts/pg-throwaway.sh in a temp dir and stopped at session end.
`fresh_postgres_url` gives each test its own empty database on that server; `database_url` runs a
test once against SQLite and once against PostgreSQL.

Missing PostgreSQL binaries or Chromium skip the tests that need them on a developer machine,
but fail them when CI is set: CI must never go green by skipping.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    from _browser import chromium_executable
except ImportError:  # tests/ not on sys.path (e.g. --import-mode=importlib)
    from tests._browser import chromium_executable

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_SCRIPT = REPO_ROOT / "scripts" / "pg-throwaway.sh"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Skip locally; fail loudly in CI, where every dependency must be installed."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


def _sqlalchemy_pg_url(url: str) -> str:
    """Make a PostgreSQL URL use the psycopg (v3) driver, the only one installed."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _pg_binaries_present() -> bool:
    bindir = os.environ.get("PREFKIT_PG_BINDIR")
    if bindir:
        return os.access(os.path.join(bindir, "initdb"), os.X_OK)
    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg://...) of a PostgreSQL server for this test session."""
    env_url = os.environ.get("PREFKIT_TEST_POSTGRES_URL")
    if env_url:
        yield _sqlalchemy_pg_url(env_url)
        return

    if not _pg_binaries_present():
        _unavailable(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); "
            "run scripts/install-system-deps.sh or set PREFKIT_TEST_POSTGRES_URL"
        )

    # mkdtemp under /tmp (world-traversable), not pytest's private tmp dir: when we are root the
    # server runs as an unprivileged user that must be able to reach the cluster folder.
    cluster_dir = tempfile.mkdtemp(prefix="prefkit-pg-")
    try:
        started = subprocess.run(
            ["bash", str(PG_SCRIPT), "start", cluster_dir],
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
        if started.returncode != 0:
            pytest.fail(
                f"could not start a throwaway PostgreSQL cluster (exit {started.returncode}):\n"
                f"{started.stderr}{started.stdout}",
                pytrace=False,
            )
        url = started.stdout.strip().splitlines()[-1]
        yield url
    finally:
        subprocess.run(
            ["bash", str(PG_SCRIPT), "stop", cluster_dir],
            capture_output=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        shutil.rmtree(cluster_dir, ignore_errors=True)


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database on the session's server; dropped after the test."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    server = make_url(postgres_url)
    admin_conninfo = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"prefkit_test_{uuid.uuid4().hex[:16]}"

    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with psycopg.connect(admin_conninfo, autocommit=True) as conn:
                # FORCE: a test that leaked a connection must not keep its database alive.
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        except psycopg.Error as exc:  # pragma: no cover - best effort cleanup
            warnings.warn(f"could not drop test database {name}: {exc}", stacklevel=1)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a new SQLite database file in the test's tmp_path."""
    return f"sqlite:///{tmp_path / 'prefkit.db'}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database URL; the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("fresh_postgres_url")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of Debian's Chromium (or env PREFKIT_BROWSER_PATH) for Playwright's executable_path."""
    path = chromium_executable()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        _unavailable(f"Chromium not found at {path}; run scripts/install-system-deps.sh or set PREFKIT_BROWSER_PATH")
    return path
