"""The ``prefkit`` command: validate a registry, run the BFF, run the demo, migrate the database."""

from __future__ import annotations

import dataclasses

import logging
import os
import secrets
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import click

__all__ = ["demo_registry_path", "main", "worker_app"]

DEMO_DATABASE_URL = "sqlite:///./prefkit-demo.db"
_DEMO_SECRET_FILE = Path(".prefkit-demo-secret")


def demo_registry_path() -> Path:
    """``examples/demo-shop.toml`` of a source checkout, else the copy shipped in the package."""
    package_dir = Path(__file__).resolve().parent
    checkout = package_dir.parent / "examples" / "demo-shop.toml"
    return checkout if checkout.is_file() else package_dir / "data" / "demo-shop.toml"


def _settings(**overrides: object):  # noqa: ANN202 - Settings, imported lazily for a fast --help
    from .settings import Settings, SettingsError

    try:
        return Settings.from_env(**overrides)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


_DATABASE_URL = click.option(
    "--database-url",
    envvar="PREFKIT_DATABASE_URL",
    default="sqlite:///./prefkit.db",
    show_default=True,
    help="SQLAlchemy URL (env PREFKIT_DATABASE_URL).",
)
"""The database option of the maintenance commands (``serve`` has its own: settings decide its default)."""

_WS_COMPRESSION = click.option(
    "--ws-compression/--no-ws-compression",
    default=False,
    show_default=True,
    envvar="PREFKIT_WS_COMPRESSION",
    help="permessage-deflate on component websockets (env PREFKIT_WS_COMPRESSION). Off: its zlib state "
    "costs ~45 KB of server memory per open widget, about a fifth of a preference center session.",
)


class _WebSocketLogFilter(logging.Filter):
    """Drops uvicorn's per-websocket access lines (``'<client address> - "WebSocket /path" [accepted]'``),
    logged on ``uvicorn.error`` whatever ``access_log`` says: prefkit logs no client address. And a client's
    invalid UTF-8 (closed with 1007) is logged as one line, not as a server error's traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str):
            return True
        if record.msg.startswith("Invalid UTF-8 sequence received from client"):
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return not record.msg.startswith('%s - "WebSocket ')


GRACEFUL_SHUTDOWN_SECONDS = 30
"""On SIGTERM/SIGINT a process stops accepting connections, closes component websockets with 1012 (service
restart: the widget script reconnects, to another process behind a load balancer), lets in-flight requests
(and so their writes) finish for up to this long, then runs the app's shutdown (registry watcher, plugins)."""

# Settings a worker process reads back from its environment (see worker_app): what the command line may have
# given, and the secrets demo mode invents, so every worker signs and checks cookies with the same secret.
_WORKER_ENVIRONMENT = {
    "PREFKIT_REGISTRY": "registry_path",
    "PREFKIT_DATABASE_URL": "database_url",
    "PREFKIT_SECRET": "secret",
    "PREFKIT_SHOP_SECRET": "shop_secret",
}


def _create_app(settings: object, database: object | None = None):  # noqa: ANN202 - Litestar
    from preference_registry import RegistryLoadError

    from .app import create_app

    try:
        return create_app(settings, database=database, migrate=False)  # type: ignore[arg-type]
    except RegistryLoadError as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


def _metrics_directory() -> str | None:
    """Give the workers one prometheus_client multiprocess directory (bff/metrics.py), empty at start as
    prometheus_client requires; returns the one created here (removed at exit), ``None`` for the operator's."""
    from .metrics import MULTIPROC_ENV

    given = os.environ.get(MULTIPROC_ENV)
    if given:
        for stale in Path(given).glob("*.db"):  # the previous run's values; only prometheus_client's files
            stale.unlink(missing_ok=True)
        return None
    created = tempfile.mkdtemp(prefix="prefkit-metrics-")
    os.environ[MULTIPROC_ENV] = created
    return created


def worker_app():  # noqa: ANN201 - Litestar, imported lazily
    """The app of one ``prefkit serve --workers N`` worker process (uvicorn's factory): settings from the
    environment the supervisor handed down; the database was migrated by the supervisor before it started."""
    logging.getLogger("uvicorn.error").addFilter(_WebSocketLogFilter())  # each worker sets logging up anew
    return _create_app(_settings())


def _run(settings: object, host: str, port: int, ws_compression: bool = False, workers: int = 1) -> None:
    import uvicorn

    from .reactpy_bridge import server_ws_max_size
    from .storage import Database

    if workers < 1:
        raise click.ClickException(f"--workers / PREFKIT_WORKERS must be 1 or more, got {workers}")
    database = Database(settings.database_url)  # type: ignore[attr-defined]
    try:
        revision = database.migrate()
    except Exception as exc:  # noqa: BLE001 - show the cause, not a traceback
        raise click.ClickException(f"cannot migrate {settings.database_url}: {exc}") from None  # type: ignore[attr-defined]
    click.echo(f"database {database.url.render_as_string()} at schema revision {revision}")
    dispatcher_process = _dispatcher_process(settings)
    if dispatcher_process is not None:
        settings = dataclasses.replace(settings, webhook_dispatcher_in_app=False)  # type: ignore[type-var]
    # One process: the app is built here, so a broken registry stops the command with its errors. Several:
    # uvicorn's supervisor starts each worker from an import string (bff.cli:worker_app), after this check.
    app = _create_app(settings, database)
    if workers > 1:
        database.dispose()
        for name, attr in _WORKER_ENVIRONMENT.items():
            value = getattr(settings, attr)
            if value:
                os.environ[name] = str(value)
        os.environ["PREFKIT_DEMO"] = "1" if settings.demo else "0"  # type: ignore[attr-defined]
        os.environ["PREFKIT_WORKERS"] = str(workers)
        if dispatcher_process is not None:
            os.environ["PREFKIT_WEBHOOK_DISPATCHER_IN_APP"] = "0"
        metrics_dir = _metrics_directory()
    click.echo(
        f"prefkit listening on http://{host}:{port}/  (API: http://{host}:{port}/api/v1/preferences, "
        f"OpenAPI: http://{host}:{port}/schema)" + (f", {workers} worker processes" if workers > 1 else "")
    )
    # No access log: uvicorn's names every client's IP address, which prefkit never keeps (see SECURITY.md).
    config = uvicorn.Config(
        "bff.cli:worker_app" if workers > 1 else app,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        access_log=False,
        ws_per_message_deflate=ws_compression,
        # The documented 64 KiB message limit, enforced by the server from the frame header: a bigger
        # frame is refused (1009) before it is buffered (uvicorn's default buffers 16 MiB per socket).
        ws_max_size=server_ws_max_size(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    logging.getLogger("uvicorn.error").addFilter(_WebSocketLogFilter())  # after Config set logging up
    if dispatcher_process is not None:
        dispatcher_process.start()
        click.echo("webhook dispatcher: a process of its own (dispatch.process = true)")
    try:
        if workers > 1:
            from uvicorn.supervisors import Multiprocess

            try:
                Multiprocess(config, sockets=[config.bind_socket()]).run()
            finally:
                if metrics_dir is not None:
                    shutil.rmtree(metrics_dir, ignore_errors=True)
            return
        server = uvicorn.Server(config)
        server.run()
    finally:
        # Last: the workers have finished their in-flight writes, whose events it may still be sending.
        if dispatcher_process is not None:
            dispatcher_process.stop()
    if not server.started:  # e.g. the port is taken; uvicorn.run exits with 3 then too
        sys.exit(3)


def _dispatcher_process(settings: object):  # noqa: ANN202 - imported lazily
    """The ``prefkit dispatch`` child ``serve`` runs (not started yet), or ``None``: no subscribers, or the
    file says the BFF does not deliver (``in_bff = false``) or delivers from its workers (``process =
    false``). A broken file stops the command."""
    webhooks_file = getattr(settings, "webhooks_file", None)
    if not webhooks_file or not getattr(settings, "webhook_dispatcher_in_app", True):
        return None
    from .webhooks import WebhookConfigError, load_webhooks
    from .webhooks.process import DispatcherProcess

    try:
        config = load_webhooks(webhooks_file)
    except WebhookConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not (config.subscribers and config.policy.in_bff and config.policy.process):
        return None
    database_url = str(settings.database_url)  # type: ignore[attr-defined]
    return DispatcherProcess([sys.executable, "-m", "bff.cli", "dispatch", "--database-url", database_url,
                              "--webhooks", webhooks_file])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """prefkit: the shopper decides how the shop personalizes."""


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def validate(file: Path) -> None:
    """Check a registry FILE (TOML/YAML/JSON); print every error, or a summary when it is valid."""
    from preference_registry import RegistryLoadError, load_file

    try:
        snapshot = load_file(str(file))
    except RegistryLoadError as exc:
        errors = exc.errors
        click.echo(f"{file}: {len(errors)} error(s)", err=True)
        for issue in exc.issues:
            where = issue.path or "(document)"
            line = (
                f"  {issue.source or file}: {where}: {'warning: ' if issue.severity == 'warning' else ''}"
                f"{issue.message}"
            )
            if issue.expected is not None or issue.got is not None:
                line += f"\n      expected: {issue.expected or '?'}\n      got:      {issue.got or '?'}"
            click.echo(line, err=True)
        sys.exit(1)
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"{file}: cannot read: {exc}", err=True)
        sys.exit(1)
    kinds = Counter(pref.kind for pref in snapshot.preferences)
    click.echo(f"{file}: valid")
    click.echo(f"  version:     {snapshot.version}")
    click.echo(f"  shop:        {snapshot.shop.name}")
    click.echo(
        f"  preferences: {len(snapshot.preferences)} "
        f"({', '.join(f'{count} {kind}' for kind, count in sorted(kinds.items()))})"
    )
    click.echo(f"  locales:     {', '.join(snapshot.locales)} (default {snapshot.default_locale})")
    click.echo(f"  warnings:    {len(snapshot.warnings)}")
    for warning in snapshot.warnings:
        click.echo(f"    - {warning}")


@main.command()
@click.option(
    "--registry",
    "registry",
    type=click.Path(dir_okay=False),
    envvar="PREFKIT_REGISTRY",
    required=True,
    help="Registry file (env PREFKIT_REGISTRY); watched for changes.",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="PREFKIT_HOST", help="Interface to bind."
)
@click.option("--port", default=8000, show_default=True, type=int, envvar="PREFKIT_PORT", help="Port.")
@click.option(
    "--database-url",
    envvar="PREFKIT_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL (env PREFKIT_DATABASE_URL; default sqlite:///./prefkit.db).",
)
@_WS_COMPRESSION
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    envvar="PREFKIT_WORKERS",
    help="Worker processes sharing the port (env PREFKIT_WORKERS); one per CPU core uses them all. "
    "Several need the cross-process notifications (docs/deployment.md).",
)
def serve(
    registry: str, host: str, port: int, database_url: str | None, ws_compression: bool, workers: int
) -> None:
    """Run the BFF (migrates the database first). Secrets come from PREFKIT_* environment variables."""
    _run(_settings(registry_path=registry, database_url=database_url), host, port, ws_compression, workers)


def _demo_secret() -> str:
    # Kept next to the demo database so cookies (and so the shopper's choices) survive a restart.
    if _DEMO_SECRET_FILE.is_file():
        value = _DEMO_SECRET_FILE.read_text().strip()
        if len(value) >= 32:
            return value
    value = secrets.token_urlsafe(32)
    _DEMO_SECRET_FILE.write_text(value + "\n")
    _DEMO_SECRET_FILE.chmod(0o600)
    return value


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port.")
@click.option("--database-url", default=DEMO_DATABASE_URL, show_default=True, help="Demo database.")
@click.option(
    "--registry",
    type=click.Path(dir_okay=False),
    default=None,
    help="Registry file (default: the demo shop's).",
)
@_WS_COMPRESSION
def demo(host: str, port: int, database_url: str, registry: str | None, ws_compression: bool) -> None:
    """Run the demo shop locally: demo registry, SQLite database, created on first run and reused after."""
    registry_path = registry or str(demo_registry_path())
    secret = os.environ.get("PREFKIT_SECRET") or _demo_secret()
    settings = _settings(registry_path=registry_path, database_url=database_url, demo=True, secret=secret)
    click.echo(f"demo registry: {registry_path}")
    click.echo(f"demo shop:     http://{host}:{port}/demo/")
    _run(settings, host, port, ws_compression)


@main.command()
@_DATABASE_URL
def migrate(database_url: str) -> None:
    """Apply pending database migrations."""
    from .storage import Database

    database = Database(database_url)
    try:
        revision = database.migrate()
    except Exception as exc:  # noqa: BLE001
        raise click.ClickException(f"cannot migrate {database_url}: {exc}") from None
    click.echo(f"database {database.url.render_as_string()} at schema revision {revision}")


@main.command("verify-ledger")
@_DATABASE_URL
@click.option("--subject", default=None, help="Only this subject (default: every subject).")
def verify_ledger(database_url: str, subject: str | None) -> None:
    """Verify the consent ledger's hash chains; exit 1 and name the first broken link of each bad chain."""
    import sqlalchemy as sa

    from .storage import ConsentEvent, Database, verify_chain

    database = Database(database_url)
    events = ConsentEvent.__table__  # type: ignore[attr-defined]
    with database.read() as connection:
        subjects = (
            [subject]
            if subject
            else list(connection.execute(sa.select(events.c.subject).distinct()).scalars())
        )
        broken = [link for link in (verify_chain(connection, s) for s in subjects) if link is not None]
    for link in broken:
        click.echo(
            f"BROKEN {link.subject} at event {link.seq} (row {link.event_id}): {link.reason}", err=True
        )
    click.echo(f"{len(subjects) - len(broken)} of {len(subjects)} chain(s) verify")
    if broken:
        sys.exit(1)


def _webhook_config(path: str):  # noqa: ANN202 - WebhookConfig, imported lazily for a fast --help
    from .webhooks import WebhookConfigError, load_webhooks

    try:
        config = load_webhooks(path)
    except WebhookConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not config.subscribers:
        raise click.ClickException(f"{path}: no [[subscribers]]: nothing to deliver")
    return config


@main.command()
@_DATABASE_URL
@click.option(
    "--webhooks",
    "webhooks_file",
    envvar="PREFKIT_WEBHOOKS",
    required=True,
    type=click.Path(dir_okay=False),
    help="Webhook subscribers file (env PREFKIT_WEBHOOKS; docs/bff.md, Webhooks).",
)
@click.option("--parent-pid", type=int, default=None, hidden=True,
              help="Stop when this process is gone (set by `prefkit serve` for the dispatcher it runs).")
def dispatch(database_url: str, webhooks_file: str, parent_pid: int | None) -> None:
    """Deliver the webhook outbox, next to the BFF's own dispatcher or instead of it (in_bff = false).

    Any number may run against one PostgreSQL database (row leases: no event is sent twice while they run).
    SQLite has one writer: every dispatcher's claims queue on it. Stops on SIGTERM/SIGINT."""
    from .storage import Database
    from .webhooks.commands import run_dispatcher

    config = _webhook_config(webhooks_file)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Its leases and outcomes need not wait for the disk: one lost to a power cut means a re-send
    # (receivers deduplicate by webhook-id); on SQLite that shortens its turns as the one writer.
    database = Database(database_url, durable_commits=False)
    try:
        revision = database.migrate()
    except Exception as exc:  # noqa: BLE001 - show the cause, not a traceback
        raise click.ClickException(f"cannot migrate {database_url}: {exc}") from None
    click.echo(f"database {database.url.render_as_string()} at schema revision {revision}")
    click.echo(f"delivering to: {', '.join(s.name for s in config.subscribers)}")
    try:
        run_dispatcher(database, config, parent_pid=parent_pid)
    finally:
        database.dispose()


@main.group()
def webhooks() -> None:
    """Webhook tools."""


@webhooks.command("test")
@click.argument("url")
@click.option(
    "--secret-env",
    default="PREFKIT_WEBHOOK_SECRET",
    show_default=True,
    help="Environment variable holding the signing secret (whsec_<base64>).",
)
@click.option("--timeout", default=10.0, show_default=True, type=float, help="Seconds to wait for the answer.")
def webhooks_test(url: str, secret_env: str, timeout: float) -> None:
    """POST a signed sample event (type webhook.test) to URL; exit 1 unless it answers 2xx."""
    from .webhooks import WebhookConfigError
    from .webhooks.commands import send_sample
    from .webhooks.config import check_secret, check_url

    try:
        secret = check_secret(secret_env, os.environ.get(secret_env))
        check_url("URL", url)
    except WebhookConfigError as exc:
        raise click.ClickException(str(exc)) from None
    message_id, attempt = send_sample(url, secret, timeout=timeout)
    if attempt.ok:
        click.echo(f"{url}: HTTP {attempt.status} for webhook-id {message_id}")
        return
    click.echo(f"{url}: failed for webhook-id {message_id}: {attempt.error}", err=True)
    sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
