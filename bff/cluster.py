"""Several BFF processes as one (:class:`ClusterPlugin`): every committed change and registry activation of
one process reaches the others, so a widget served by process B shows a change made through process A.

Each process subscribes to its own :class:`~bff.events.EventBus` and announces what it committed itself:

* **PostgreSQL**: ``NOTIFY prefkit_events`` on a connection of its own. The payload is the event itself
  (``msgspec`` JSON) when it fits PostgreSQL's 8,000-byte limit, else a reference (subject, method, ledger
  sequence range) from which the receiver reloads the changes from the ledger. Every process ``LISTEN`` s on a
  dedicated connection and reconnects after a failure with a bounded back-off (0.2 s doubling up to 5 s).
  Latency: one round trip (milliseconds). Notifications sent while a listener was disconnected are lost,
  so on reconnecting every subject watched in the process (open widgets, page change sockets) is told to
  re-read its state once, and registry activations are caught up (below).
* **SQLite** (several processes on one file, one machine): the notice is a row of ``cluster_notice``,
  written through the group-commit writer (so it shares the transaction of other writes under load), and
  every process polls ``PRAGMA data_version`` every :data:`SQLITE_POLL_S` (a read of a counter in shared
  memory; no query at all while nothing was committed). Latency: at most :data:`SQLITE_POLL_S` plus one
  group commit, ~0.1 s on an idle machine.

A received change is published on the local bus as a :class:`ForwardedChange` (a ``ChangeEvent``: the
widgets and the page's change stream update as for a local change); consumers that count or deliver the
deployment's changes once (metrics, webhooks) skip that subclass, the committing process handled it.

**One active registry.** A process announces every activation; the others load that version's document from
``registry_version`` and activate it. Every :data:`HEARTBEAT_S` each process also compares its version with
the most recently activated stored one and adopts it (which catches up a lost notification), and announces
itself with its version: ``GET /api/v1/admin/registry`` lists the processes heard from within
:data:`PEER_TIMEOUT_S` and says whether all serve the same version. Every process therefore converges within
about :data:`HEARTBEAT_S` (one notification round trip when nothing is lost).

What wins when an admin upload and a registry file edit disagree: **the most recent activation**. An upload
is active everywhere until the file is edited after it (every process watching the file reloads it, which
activates it everywhere). A process starting while the newest activation is newer than its registry file
starts with that activation, not its file (a worker restart does not undo an upload); a file edited after
the upload wins at start. A process only ever records decisions under the version it has activated itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from litestar import Litestar

from preference_registry import RegistryService, RegistrySnapshot

from .api.deployment import DeploymentStatus, ProcessStatus
from .events import CHANGE_METHODS, ChangeEvent, KeyChange, RegistryActivated
from .plugins import PluginSetup, PrefkitPlugin
from .service import PreferenceService
from .storage import ConsentEvent, Database
from .storage.notices import append_notices, prune_notices
from .storage.registry_versions import list_versions, registry_sources
from .storage.times import as_utc

__all__ = [
    "HEARTBEAT_S",
    "NOTIFY_CHANNEL",
    "PEER_TIMEOUT_S",
    "SQLITE_POLL_S",
    "ClusterPlugin",
    "ForwardedChange",
]

logger = logging.getLogger("prefkit.cluster")

NOTIFY_CHANNEL: Final[str] = "prefkit_events"
SQLITE_POLL_S: Final[float] = 0.05
"""How often a process on SQLite looks for other processes' commits."""
HEARTBEAT_S: Final[float] = 2.0
"""How often a process announces itself and checks it serves the newest activated registry version."""
PEER_TIMEOUT_S: Final[float] = 3 * HEARTBEAT_S
"""A process not heard from for this long is no longer listed."""
_NOTIFY_LIMIT: Final[int] = 7900  # PostgreSQL refuses payloads of 8000 bytes or more
_RECONNECT_MAX_S: Final[float] = 5.0
_QUEUE_LIMIT: Final[int] = 10_000  # announcements waiting while the database is away; beyond, dropped


class ForwardedChange(ChangeEvent, frozen=True, kw_only=True, tag="change"):
    """A :class:`~bff.events.ChangeEvent` committed by another process (same fields, same wire form)."""


class _Notice(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    t: str
    """``change``, ``ref``, ``registry``, ``hello``, ``bye``."""
    o: str
    """Origin process."""
    e: msgspec.Raw = msgspec.Raw(b"")
    """``change``: the event (a Raw cannot be optional; empty when absent)."""
    s: str | None = None
    m: str | None = None
    v: str | None = None
    at: datetime | None = None
    q: tuple[int, int] | None = None
    linked: tuple[str, ...] = ()


_decode_notice = msgspec.json.Decoder(_Notice).decode
_decode_change = msgspec.json.Decoder(ForwardedChange).decode
_encode = msgspec.json.encode


def _change_payloads(origin: str, event: ChangeEvent, limit: int | None) -> str:
    inline = b'{"t":"change","o":' + _encode(origin) + b',"e":' + _encode(event) + b"}"
    if limit is None or len(inline) <= limit:
        return inline.decode()
    seqs = [change.ledger_seq for change in event.changes if change.ledger_seq is not None]
    reference = _Notice(t="ref", o=origin, s=event.subject, m=event.method, v=event.registry_version,
                        at=event.at, q=(min(seqs), max(seqs)) if seqs else None,
                        linked=event.linked_subjects[:20])
    return _encode(reference).decode()


class _Peer(msgspec.Struct, kw_only=True):
    version: str
    seen: float


class _Cluster:
    """One process's side: announce local commits, apply other processes' (see the module doc)."""

    def __init__(self, service: PreferenceService, registry: RegistryService) -> None:
        self.service = service
        self.registry = registry
        self.database: Database = service.database
        self.origin = uuid.uuid4().hex[:16]
        self.sqlite = self.database.sqlite
        self.peers: dict[str, _Peer] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outgoing: asyncio.Queue[str] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._refused: set[str] = set()  # stored versions this process could not load: not retried
        # The version this process serves and when it activated it. A stored activation older than that is
        # not adopted: a file edit is activated here before it is stored, and the heartbeat must not see the
        # previous stored version as "newer" in that window and roll the edit back.
        self._local: tuple[str, datetime] = (registry.current.version, datetime.now(UTC))
        self._unsubscribe_registry: Callable[[], None] = lambda: None

    # -- status -------------------------------------------------------------------------------------
    def status(self) -> DeploymentStatus:
        now = time.monotonic()
        version = self.registry.current.version
        processes = [ProcessStatus(process=self.origin, registry_version=version, seen_seconds_ago=0.0,
                                   this=True)]
        for origin, peer in list(self.peers.items()):
            if now - peer.seen <= PEER_TIMEOUT_S:
                processes.append(ProcessStatus(process=origin, registry_version=peer.version,
                                               seen_seconds_ago=round(now - peer.seen, 3)))
        return DeploymentStatus(
            mechanism="sqlite-change-poll" if self.sqlite else "postgres-listen-notify",
            active_version=version,
            converged=all(p.registry_version == version for p in processes),
            processes=processes,
        )

    # -- sending ------------------------------------------------------------------------------------
    def _announce(self, payload: str) -> None:
        queue = self._outgoing
        if queue is None:
            return
        if queue.qsize() >= _QUEUE_LIMIT:
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()  # the oldest goes: a live widget needs the newest most
        queue.put_nowait(payload)

    def _has_peers(self) -> bool:
        now = time.monotonic()
        return any(now - peer.seen <= PEER_TIMEOUT_S for peer in list(self.peers.values()))

    def _hello(self) -> str:
        return _encode(_Notice(t="hello", o=self.origin, v=self.registry.current.version)).decode()

    def _on_local(self, event: Any) -> None:
        # type() is: a ForwardedChange came from another process and is not announced again.
        if type(event) is ChangeEvent:
            if not self._has_peers():
                # Alone on the database (the common single-process shop): nobody to tell, and a notice per
                # change would cost every durable write another write. A process that starts says hello at
                # once, so changes are announced from the moment its hello is seen (<= one poll / NOTIFY).
                return
            self._announce(_change_payloads(self.origin, event, None if self.sqlite else _NOTIFY_LIMIT))
        elif type(event) is RegistryActivated:
            self._announce(_encode(_Notice(t="registry", o=self.origin, v=event.version)).decode())
            self._announce(self._hello())

    # -- receiving ----------------------------------------------------------------------------------
    def _received(self, payload: str) -> None:
        """On the loop: one notice of any process (this one's own are skipped)."""
        try:
            notice = _decode_notice(payload)
        except (msgspec.ValidationError, msgspec.DecodeError):
            logger.debug("ignoring a malformed cluster notice")
            return
        if notice.o == self.origin:
            return
        if notice.t in ("hello", "registry") and notice.v:
            self.peers[notice.o] = _Peer(version=notice.v, seen=time.monotonic())
        if notice.t == "change" and len(notice.e):
            try:
                event = _decode_change(notice.e)
            except (msgspec.ValidationError, msgspec.DecodeError):
                logger.debug("ignoring a malformed change notice")
                return
            self.service.events.publish(event)
        elif notice.t == "ref":
            self._spawn(self._reload_change(notice))
        elif notice.t == "registry" and notice.v:
            self._spawn(asyncio.to_thread(self.adopt, notice.v))
        elif notice.t == "bye":
            self.peers.pop(notice.o, None)

    def _resync_watched(self) -> None:
        """After a gap in listening (PostgreSQL notifications sent meanwhile are lost, not queued): every
        subject watched in this process (an open widget, a page's change socket) gets one change event with
        no changes, on which its listeners re-read the subject's state. SQLite notices are rows: none is lost."""
        version = self.service.registry.current.version
        now = self.service.clock()
        for subject in self.service.events.watched_subjects():
            self.service.events.publish(ForwardedChange(subject=subject, method="api", changes=(),
                                                        registry_version=version, at=now, linked_subjects=()))

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.append(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)  # type: ignore[arg-type]
        if not task.cancelled() and task.exception() is not None:
            logger.warning("applying a cluster notice failed: %r", task.exception())

    async def _reload_change(self, notice: _Notice) -> None:
        """A change too large for a notification: its key changes, reloaded from the ledger."""
        changes: tuple[KeyChange, ...] = ()
        if notice.q is not None and notice.s is not None:
            first, last = notice.q
            events = ConsentEvent.__table__  # type: ignore[attr-defined]

            def load() -> tuple[KeyChange, ...]:
                query = (sa.select(events).where(events.c.subject == notice.s, events.c.seq >= first,
                                                 events.c.seq <= last).order_by(events.c.seq))
                with self.database.read() as connection:
                    return tuple(
                        KeyChange(key=row.key, old_value=row.old_value, new_value=row.new_value,
                                  text_hash=row.text_hash, registry_version=row.registry_version,
                                  made_under_gpc=bool(row.made_under_gpc), ledger_seq=row.seq,
                                  ledger_hash=row.hash)
                        for row in connection.execute(query)
                    )

            changes = await asyncio.to_thread(load)
        if notice.s is None or notice.m not in CHANGE_METHODS or notice.v is None or notice.at is None:
            return
        try:
            event = ForwardedChange(subject=notice.s, method=notice.m, changes=changes,  # type: ignore[arg-type]
                                    registry_version=notice.v, at=notice.at, linked_subjects=notice.linked)
        except (TypeError, ValueError):
            return
        self.service.events.publish(event)

    # -- one registry -------------------------------------------------------------------------------
    def _newest_stored(self) -> tuple[str, datetime, str, str] | None:
        with self.database.read() as connection:
            versions = list_versions(connection)
            if not versions:
                return None
            newest = versions[0]
            source = registry_sources(connection, {newest["version"]}).get(newest["version"])
        if source is None:
            return None
        return newest["version"], as_utc(newest["activated_at"]), source[0], source[1]

    def _activate_stored(self, version: str, text: str, fmt: str) -> bool:
        if version in self._refused:
            return False
        try:
            snapshot: RegistrySnapshot = self.registry.validate(
                text, fmt, source=f"version {version} from the database"  # type: ignore[arg-type]
            )
        except Exception:  # recorded as the registry's last rejection; this process keeps its version
            self._refused.add(version)
            raise
        return self.registry.activate(snapshot)

    def adopt(self, version: str | None = None) -> bool:
        """(Worker thread.) Activate the newest activated stored version if this process serves another;
        ``version``: only if that is the newest (an older announcement lost the race to a newer one)."""
        newest = self._newest_stored()
        current = self.registry.current.version
        if newest is None or newest[0] == current:
            return False
        if version is not None and newest[0] != version:
            return False
        local_version, local_since = self._local
        if local_version != current or newest[1] <= local_since:
            # An activation here is still being noted, or the stored one is older than ours: ours wins (it is
            # stored and announced right after activating).
            return False
        return self._activate_stored(newest[0], newest[2], newest[3])

    def _note_activation(self, snapshot: RegistrySnapshot) -> None:
        self._local = (snapshot.version, datetime.now(UTC))

    def start_with_newest(self) -> None:
        """(At create_app.) Start with the newest activation instead of the file when it is newer than the
        file (see the module doc). A database without the tables yet (migrated later) has nothing newer."""
        path = self.registry.path
        if path is None:
            return
        try:
            newest = self._newest_stored()
            mtime = datetime.fromtimestamp(os.stat(path).st_mtime, UTC)
        except (sa.exc.SQLAlchemyError, OSError):
            return
        if newest is not None and newest[0] != self.registry.current.version and newest[1] > mtime:
            logger.info("starting with registry version %s, activated after %s was last changed",
                        newest[0], path)
            with contextlib.suppress(Exception):  # unloadable stored document: the file it is
                self._activate_stored(newest[0], newest[2], newest[3])
            self._note_activation(self.registry.current)

    # -- running ------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Start announcing and receiving (lifespan start)."""
        self._loop = asyncio.get_running_loop()
        self._outgoing = asyncio.Queue()
        self._unsubscribe = self.service.events.subscribe(self._on_local, loop=self._loop)
        if self._local[0] != self.registry.current.version:
            self._note_activation(self.registry.current)
        self._unsubscribe_registry = self.registry.subscribe(self._note_activation)
        if self.sqlite:
            self._tasks.append(asyncio.create_task(self._sqlite_sender()))
            self._poller = threading.Thread(target=self._sqlite_poll, name="prefkit-cluster-poll", daemon=True)
            self._poller.start()
        else:
            self._tasks.append(asyncio.create_task(self._postgres_sender()))
            self._tasks.append(asyncio.create_task(self._postgres_listener()))
        self._tasks.append(asyncio.create_task(self._heartbeat()))

    async def close(self) -> None:
        """Say goodbye and stop (lifespan end)."""
        self._unsubscribe()
        self._unsubscribe_registry()
        self._announce(_encode(_Notice(t="bye", o=self.origin)).decode())
        queue = self._outgoing
        if queue is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queue.join(), timeout=2)
        self._stop.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._poller is not None:
            await asyncio.to_thread(self._poller.join, 2)

    async def _heartbeat(self) -> None:
        while True:
            self._announce(self._hello())
            try:
                await asyncio.to_thread(self.adopt)
            except Exception:  # noqa: BLE001 - a database outage: try again next beat
                logger.debug("registry check failed", exc_info=True)
            await asyncio.sleep(HEARTBEAT_S)

    # -- SQLite -------------------------------------------------------------------------------------
    async def _sqlite_sender(self) -> None:
        assert self._outgoing is not None
        queue, pruned = self._outgoing, 0.0
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            now = datetime.now(UTC)
            prune = time.monotonic() - pruned > 60

            def work(connection: Any, batch: list[str] = batch, prune: bool = prune) -> None:
                append_notices(connection, self.origin, batch, now)
                if prune:
                    prune_notices(connection, now)

            for attempt in range(3):
                try:
                    await self.database.run_write_async([], work)
                    pruned = time.monotonic() if prune else pruned
                    break
                except sa.exc.SQLAlchemyError:
                    if attempt == 2:
                        logger.warning("could not announce %d change(s) to the other processes", len(batch))
                    else:
                        await asyncio.sleep(0.2 * (attempt + 1))
            for _ in batch:
                queue.task_done()

    def _sqlite_poll(self) -> None:
        """(Own thread.) Read other processes' notices whenever the file changed."""
        loop, failing, connection = self._loop, False, None
        assert loop is not None
        last_id: int | None = None
        seen_version: int | None = None
        while not self._stop.wait(SQLITE_POLL_S):
            try:
                if connection is None:
                    connection = self.database.engine.raw_connection()
                cursor = connection.cursor()
                if last_id is None:
                    last_id = cursor.execute("SELECT coalesce(max(id), 0) FROM cluster_notice").fetchone()[0]
                version = cursor.execute("PRAGMA data_version").fetchone()[0]
                if version == seen_version:
                    continue
                seen_version = version
                rows = cursor.execute(
                    "SELECT id, origin, payload FROM cluster_notice WHERE id > ? ORDER BY id", (last_id,)
                ).fetchall()
                cursor.close()
                failing = False
                if rows:
                    last_id = rows[-1][0]
                    payloads = [payload for _id, origin, payload in rows if origin != self.origin]
                    if payloads:
                        loop.call_soon_threadsafe(self._received_all, payloads)
            except (sqlite3.Error, sa.exc.SQLAlchemyError):
                if not failing:
                    logger.warning("cannot read other processes' notices; retrying", exc_info=True)
                failing = True
                seen_version = None
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.close()
                    connection = None
            except RuntimeError:  # the loop closed under us: shutting down
                break
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def _received_all(self, payloads: list[str]) -> None:
        for payload in payloads:
            self._received(payload)

    # -- PostgreSQL ---------------------------------------------------------------------------------
    def _conninfo(self) -> str:
        return self.database.url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def _postgres_sender(self) -> None:
        import psycopg

        assert self._outgoing is not None
        queue, connection = self._outgoing, None
        while True:
            payload = await queue.get()
            try:
                for attempt in range(2):
                    try:
                        if connection is None or connection.closed:
                            connection = await psycopg.AsyncConnection.connect(self._conninfo(), autocommit=True)
                        await connection.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, payload))
                        break
                    except (psycopg.Error, OSError):
                        if connection is not None:
                            with contextlib.suppress(Exception):
                                await connection.close()
                        connection = None
                        if attempt:
                            logger.warning("could not announce a change to the other processes")
            finally:
                queue.task_done()

    async def _postgres_listener(self) -> None:
        import psycopg

        delay, failing = 0.2, False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo(), autocommit=True) as connection:
                    await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    if failing:
                        logger.info("listening to the other processes again")
                        self._spawn(asyncio.to_thread(self.adopt))  # what was activated meanwhile
                        self._resync_watched()  # what changed meanwhile
                    delay, failing = 0.2, False
                    async for notify in connection.notifies():
                        self._received(notify.payload)
            except (psycopg.Error, OSError):
                if not failing:
                    logger.warning("lost the connection listening to the other processes; reconnecting")
                failing = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RECONNECT_MAX_S)


class ClusterPlugin(PrefkitPlugin):
    """Cross-process notifications and one active registry (see the module doc). In
    :func:`bff.app.default_plugins`; harmless with a single process."""

    def on_prefkit_init(self, setup: PluginSetup) -> None:
        cluster = _Cluster(setup.service, setup.registry)
        cluster.start_with_newest()
        setup.set_state("prefkit_cluster", cluster)

        running = False

        @asynccontextmanager
        async def lifespan(_app: Litestar) -> AsyncIterator[None]:
            nonlocal running
            if running:
                # The app's lifespan entered again while it runs (a second TestClient on the same app, on
                # another event loop): one set of tasks per app, owned by the first entry's loop.
                yield
                return
            running = True
            await cluster.run()
            try:
                yield
            finally:
                try:
                    await cluster.close()
                finally:
                    running = False

        setup.add_lifespan(lifespan)

