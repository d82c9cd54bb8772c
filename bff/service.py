"""The preference service: the one place where choices are read, validated, stored and recorded.

Both the HTTP API and the components' store (``bff/widgets.py``) go through :class:`PreferenceService`,
so a choice made in a widget and one made through the API are validated, stored and written to the
ledger identically. Database work never blocks the event loop: writes are built here as
``work(connection)`` functions and run by :meth:`bff.storage.engine.Database.run_write_async` (SQLite:
one group-commit writer thread; PostgreSQL: worker threads), other reads run in worker threads, and only
SQLite point reads stay inline, being cheaper than a thread hand-off
(:meth:`bff.storage.engine.Database.fetch_point`).

Ledger policy (what gets an event):

* ``set_values``: one event per key whose stored decision actually changes — a new value, a first
  explicit decision (even when equal to the default: an explicit "no" is proof worth keeping), a
  re-confirmation under changed wording, or a decision replacing an expired one or made under GPC.
  Re-submitting the identical decision writes nothing.
* ``accept_all`` / ``reject_all``: one event per *switchable* consent, even when its value does not
  change — the click on "accept all" / "reject all" is itself the decision being proven, and both buttons
  leave equally complete records (reject is never treated as less than accept).
* ``reset``: for a consent, a withdrawal — stored as an explicit ``false`` (for an ``opt_out`` consent
  "back to default" would silently re-grant it, which a withdrawal must never do); for sliders and
  filters the stored decision is removed and the default applies again. One event when something changed.
* ``expiry`` and ``gpc`` events are written once per decision, the first time the service sees that an
  expired consent fell back to its default, or that a GPC signal overrides a stored grant.
* ``merge``: one event on the customer's chain per key taken over from the anonymous subject.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from preference_registry import (
    ConsentType,
    RegistryService,
    RegistrySnapshot,
    ValueValidationError,
    load_registry,
)

from .effective import EffectiveValue, StoredDecision, resolve_effective, stable_until
from .profile import Profile, build_profile
from .storage import Database, EventDraft, append_events, verify_chain
from .storage.hot import StateRow, hot_sql, hot_sql_for
from .storage.ledger import BrokenLink
from .storage.models import ConsentEvent, RegistryVersionRow, SubjectLink, registry_sources

__all__ = [
    "ChangeListener",
    "HistoryEntry",
    "PreferenceService",
    "PreferenceValidationError",
    "UnknownPreferenceError",
    "ValueProblem",
]

logger = logging.getLogger("prefkit.service")

_events = ConsentEvent.__table__  # type: ignore[attr-defined]
_versions = RegistryVersionRow.__table__  # type: ignore[attr-defined]
_links = SubjectLink.__table__  # type: ignore[attr-defined]

ChangeListener = Callable[[frozenset[str]], "None | Awaitable[None]"]
"""Called after a commit with the keys that changed for the subject (may be a coroutine function)."""


class ValueProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One reason a submitted change was refused."""

    key: str
    """Preference key the problem is about."""
    path: str
    """Where inside the submitted value: ``value``, ``value[2]``, or ``key`` for an unknown key."""
    message: str
    """What is wrong."""
    expected: str | None = None
    """What would have been accepted."""
    got: str | None = None
    """What was submitted."""


class PreferenceValidationError(ValueError):
    """Submitted changes were refused as a whole; ``problems`` lists every problem, nothing was stored."""

    def __init__(self, problems: list[ValueProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.key}: {p.message}" for p in problems))


class UnknownPreferenceError(KeyError):
    """The key is not in the active registry."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)

    def __str__(self) -> str:
        return f"no preference type {self.key!r} in the active registry"


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One ledger event of a subject, with the wording the shopper saw."""

    id: int
    """Ledger row id."""
    seq: int
    """Position in the subject's chain (1 = first)."""
    key: str
    """Preference key."""
    old_value: Any
    """Value before."""
    new_value: Any
    """Value after."""
    method: str
    """How it happened: ``ui``, ``api``, ``accept_all``, ``reject_all``, ``gpc``, ``expiry``, ``merge``..."""
    created_at: datetime
    """When (UTC)."""
    registry_version: str
    """Registry version in force."""
    text_hash: str
    """Hash of the wording shown."""
    made_under_gpc: bool
    """The browser sent a GPC signal."""
    title: str | None
    """The preference's title as worded in that registry version, in the requested locale."""
    description: str | None
    """Its description, likewise."""
    hash: str
    """This event's chain hash."""


class _Row(StoredDecision, frozen=True, kw_only=True):
    """A ``preference_state`` row in memory: the stored decision plus what the ledger already recorded
    about it."""

    expiry_logged: bool = False
    gpc_logged: bool = False


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _rows(raw: list[StateRow]) -> dict[str, _Row]:
    return {
        key: _Row(
            value=value,
            decided_at=decided_at,
            text_hash=text_hash,
            registry_version=version,
            made_under_gpc=gpc,
            expiry_logged=expiry,
            gpc_logged=gpc_logged,
        )
        for key, value, decided_at, text_hash, version, gpc, expiry, gpc_logged in raw
    }


class _ResolvedCache:
    """Effective values by what they are a pure function of: the snapshot, the GPC signal and the raw
    SQLite state rows (plain text and numbers, so they can be a key: a changed row is a different key,
    never a stale hit), valid until the next consent expiry. The read itself still runs every time;
    what repeats (decoding, resolving) is what is saved."""

    _MAX = 4096

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[RegistrySnapshot, dict[str, EffectiveValue], datetime,
                                                   datetime | None]] = {}
        self._lock = threading.Lock()  # several event loops (one per thread) may share the service

    def get(self, snapshot: RegistrySnapshot, gpc: bool, raw: list[tuple[Any, ...]],
            now: datetime) -> dict[str, EffectiveValue] | None:
        hit = self._entries.get((id(snapshot), gpc, tuple(raw)))
        if hit is None:
            return None
        owner, effective, computed_at, until = hit
        if owner is not snapshot or now < computed_at or (until is not None and now > until):
            return None
        return dict(effective)  # callers own their dict

    def put(self, snapshot: RegistrySnapshot, gpc: bool, raw: list[tuple[Any, ...]], now: datetime,
            effective: dict[str, EffectiveValue], until: datetime | None) -> None:
        with self._lock:
            if len(self._entries) >= self._MAX:
                self._entries.pop(next(iter(self._entries)))
            self._entries[(id(snapshot), gpc, tuple(raw))] = (snapshot, dict(effective), now, until)


def _load_rows(connection: Connection, subject: str) -> dict[str, _Row]:
    return _rows(hot_sql(connection).load_state(connection, subject))


def _save_row(connection: Connection, subject: str, key: str, row: _Row, *, exists: bool) -> None:
    hot_sql(connection).save_state(
        connection,
        subject,
        key,
        value=row.value,
        decided_at=row.decided_at,
        text_hash=row.text_hash,
        registry_version=row.registry_version,
        made_under_gpc=row.made_under_gpc,
        expiry_logged=row.expiry_logged,
        gpc_logged=row.gpc_logged,
        exists=exists,
    )


def _delete_row(connection: Connection, subject: str, key: str) -> None:
    hot_sql(connection).delete(connection, subject, key)


@lru_cache(maxsize=32)
def _parse_version(source_text: str, fmt: str) -> RegistrySnapshot | None:
    try:
        return load_registry(source_text, fmt)  # type: ignore[arg-type]
    except ValueError:  # an old version that today's loader refuses: show the event without its wording
        return None


_MERGEABLE_SQL = (
    "SELECT 1 FROM consent_event WHERE subject = ? AND NOT EXISTS "
    "(SELECT 1 FROM subject_link WHERE anonymous_subject = ?) LIMIT 1"
)
"""An anonymous subject with something to merge: any ledger event (every decision has one), no link yet."""


class PreferenceService:
    """Reads and changes subjects' preferences against the live registry. All I/O methods are async."""

    def __init__(
        self, registry: RegistryService, database: Database, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.registry = registry
        """The live registry; every call works on the snapshot current when it starts."""
        self.database = database
        """Where state and ledger live."""
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        """Current time (UTC); tests replace it to move time forward instead of sleeping."""
        self._resolved = _ResolvedCache()
        self._listeners: dict[str, list[ChangeListener]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- reading --------------------------------------------------------------------------------
    async def effective(
        self, subject: str, *, gpc: bool = False, snapshot: RegistrySnapshot | None = None
    ) -> dict[str, EffectiveValue]:
        """Every preference of ``subject`` as in effect now, in display order, under ``snapshot`` (default:
        the registry current now; pass it to report the matching version next to the values).

        The first time an expired consent or a GPC override of a stored grant is seen, it is recorded in
        the ledger (once per decision)."""
        snapshot = snapshot or self.registry.current
        now = self.clock()
        sqlite = self.database.sqlite
        sql = hot_sql_for(sqlite)
        raw = await self.database.fetch_point(sql.select_state, (subject,))
        if sqlite:
            cached = self._resolved.get(snapshot, gpc, raw, now)
            if cached is not None:
                return cached
        rows = _rows(sql.state_rows(raw))
        effective = resolve_effective(snapshot, rows, gpc=gpc, now=now)
        if self._unlogged_overrides(effective, rows):
            await self.database.run_write_async([subject], self._overrides_work(subject, snapshot, gpc, now))
        elif sqlite:
            self._resolved.put(snapshot, gpc, raw, now, effective, stable_until(snapshot, rows, now))
        return effective

    async def get(self, subject: str, key: str, *, gpc: bool = False) -> EffectiveValue:
        """One preference; :class:`UnknownPreferenceError` for a key not in the registry."""
        if key not in self.registry.current:
            raise UnknownPreferenceError(key)
        effective = await self.effective(subject, gpc=gpc)
        if key not in effective:  # the registry changed between the check and the read
            raise UnknownPreferenceError(key)
        return effective[key]

    async def profile(self, subject: str, *, gpc: bool = False) -> Profile:
        """What downstream systems may use for ``subject``."""
        snapshot = self.registry.current
        effective = await self.effective(subject, gpc=gpc)
        return build_profile(snapshot, effective, subject)

    async def history(self, subject: str, *, locale: str | None = None) -> list[HistoryEntry]:
        """``subject``'s ledger, newest first, each event with the wording of the registry version it was
        made under (``locale``, falling back to that version's default locale)."""
        return await self.database.offload.call(self._history, subject, locale)

    async def verify(self, subject: str) -> BrokenLink | None:
        """The first broken link of ``subject``'s ledger chain, or ``None`` when it verifies."""

        def work() -> BrokenLink | None:
            with self.database.read() as connection:
                return verify_chain(connection, subject)

        return await self.database.offload.call(work)

    # -- changing -------------------------------------------------------------------------------
    async def set_values(
        self, subject: str, changes: Mapping[str, Any], *, method: str, gpc: bool = False
    ) -> dict[str, EffectiveValue]:
        """Validate every change, then store them and their ledger events in one transaction.

        Raises :class:`PreferenceValidationError` listing every problem (nothing is stored then). Keys
        not in ``changes`` never change. Returns the effective values afterwards."""
        snapshot = self.registry.current
        values = self.validate(snapshot, changes)
        effective, changed = await self.database.run_write_async(
            [subject], self._values_work(subject, snapshot, values, method, gpc)
        )
        self._notify(subject, changed)
        return effective

    async def reset(
        self, subject: str, key: str, *, method: str, gpc: bool = False
    ) -> dict[str, EffectiveValue]:
        """Back to the default; for a consent this is a withdrawal (stored as an explicit ``false``)."""
        snapshot = self.registry.current
        pref = snapshot.get(key)
        if pref is None:
            raise UnknownPreferenceError(key)
        if isinstance(pref, ConsentType):
            return await self.set_values(subject, {key: False}, method=method, gpc=gpc)
        effective, changed = await self.database.run_write_async(
            [subject], self._reset_work(subject, snapshot, key, method, gpc)
        )
        self._notify(subject, changed)
        return effective

    async def accept_all(self, subject: str, *, gpc: bool = False) -> dict[str, EffectiveValue]:
        """Grant every switchable consent (one ``accept_all`` event per consent)."""
        return await self._all_consents(subject, True, "accept_all", gpc)

    async def reject_all(self, subject: str, *, gpc: bool = False) -> dict[str, EffectiveValue]:
        """Refuse every switchable consent (one ``reject_all`` event per consent, changed or not)."""
        return await self._all_consents(subject, False, "reject_all", gpc)

    async def merge(self, anonymous_subject: str, customer_subject: str) -> list[str]:
        """Take an anonymous subject's choices over into a customer subject, once per anonymous subject.

        A key the customer never decided takes the anonymous decision; when both decided, the more
        recent decision wins. Returns the customer's keys that changed (each has a ``merge`` event)."""
        if anonymous_subject == customer_subject or not await self.mergeable(anonymous_subject):
            return []
        snapshot = self.registry.current
        changed = await self.database.run_write_async(
            [anonymous_subject, customer_subject], self._merge_work(anonymous_subject, customer_subject, snapshot)
        )
        self._notify(customer_subject, changed)
        return sorted(changed)

    async def mergeable(self, anonymous_subject: str) -> bool:
        """Whether :meth:`merge` would write anything for ``anonymous_subject``: it decided something and was
        not merged yet. One indexed read: a bearer request with a throwaway anonymous cookie costs no write
        transaction and leaves no link row (the merge re-checks under the subjects' locks)."""
        return bool(await self.database.fetch_point(_MERGEABLE_SQL, (anonymous_subject, anonymous_subject)))

    def validate(self, snapshot: RegistrySnapshot, changes: Mapping[str, Any]) -> dict[str, Any]:
        """``changes`` with every value normalized, or :class:`PreferenceValidationError` listing every
        problem."""
        problems: list[ValueProblem] = []
        values: dict[str, Any] = {}
        for key, raw in changes.items():
            if key not in snapshot:
                # Not the list of valid keys: with thousands of unknown keys times thousands of types that
                # list made error documents of 87 MB (issue 11). The registry endpoint lists the keys once.
                problems.append(
                    ValueProblem(
                        key=key,
                        path="key",
                        message=f"unknown preference key {key!r}",
                        expected="a key of the registry",
                        got=key,
                    )
                )
                continue
            try:
                values[key] = snapshot.validate_value(key, raw)
            except ValueValidationError as exc:
                problems.append(
                    ValueProblem(
                        key=key, path=exc.path, message=exc.message, expected=exc.expected, got=exc.got
                    )
                )
        if problems:
            raise PreferenceValidationError(problems)
        return values

    # -- live updates ---------------------------------------------------------------------------
    def subscribe(self, subject: str, callback: ChangeListener) -> Callable[[], None]:
        """Call ``callback(changed_keys)`` after every committed change of ``subject`` in this process;
        returns the unsubscribe function. Async callbacks are scheduled as tasks."""
        self._listeners.setdefault(subject, []).append(callback)

        def unsubscribe() -> None:
            listeners = self._listeners.get(subject, [])
            if callback in listeners:
                listeners.remove(callback)
            if not listeners:
                self._listeners.pop(subject, None)

        return unsubscribe

    def _notify(self, subject: str, changed: Iterable[str]) -> None:
        keys = frozenset(changed)
        if not keys:
            return
        for callback in list(self._listeners.get(subject, ())):
            try:
                result = callback(keys)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            except Exception:  # one broken widget must not break the change for the others
                logger.exception("change listener %r failed", callback)

    # -- registry versions ----------------------------------------------------------------------
    def record_registry_version(self, snapshot: RegistrySnapshot) -> None:
        """Store ``snapshot`` in ``registry_version`` (sync; call from a worker thread or at start)."""
        now = datetime.now(UTC)
        try:
            with self.database.write() as connection:
                exists = connection.execute(
                    sa.select(_versions.c.version).where(_versions.c.version == snapshot.version)
                ).first()
                if exists:
                    connection.execute(
                        sa.update(_versions)
                        .where(_versions.c.version == snapshot.version)
                        .values(activated_at=now)
                    )
                else:
                    connection.execute(
                        sa.insert(_versions).values(
                            version=snapshot.version,
                            source_text=snapshot.source_text,
                            format=snapshot.format,
                            source=(snapshot.source or "")[:500] or None,
                            activated_at=now,
                        )
                    )
        except sa.exc.IntegrityError:  # another process stored the same version at the same moment
            pass

    def registry_versions(self) -> list[dict[str, Any]]:
        """Stored registry versions, most recently activated first (sync)."""
        with self.database.read() as connection:
            result = connection.execute(
                sa.select(
                    _versions.c.version, _versions.c.format, _versions.c.source, _versions.c.activated_at
                ).order_by(_versions.c.activated_at.desc())
            )
            return [
                {
                    "version": r.version,
                    "format": r.format,
                    "source": r.source,
                    "activated_at": _utc(r.activated_at),
                }
                for r in result
            ]

    # -- worker-thread parts --------------------------------------------------------------------
    @staticmethod
    def _unlogged_overrides(effective: Mapping[str, EffectiveValue], rows: Mapping[str, _Row]) -> bool:
        for key, current in effective.items():
            row = rows.get(key)
            if row is None:
                continue
            if current.source == "expired" and not row.expiry_logged:
                return True
            if current.source == "gpc" and row.value is True and not row.gpc_logged:
                return True
        return False

    @staticmethod
    def _overrides_work(
        subject: str, snapshot: RegistrySnapshot, gpc: bool, now: datetime
    ) -> Callable[[Connection], None]:
        def work(connection: Connection) -> None:
            rows = _load_rows(
                connection, subject
            )  # again, under the lock: another request may have logged it
            effective = resolve_effective(snapshot, rows, gpc=gpc, now=now)
            drafts: list[EventDraft] = []
            for key, current in effective.items():
                row = rows.get(key)
                if row is None:
                    continue
                if current.source == "expired" and not row.expiry_logged:
                    row = rows[key] = msgspec.structs.replace(row, expiry_logged=True)
                    method = "expiry"
                elif current.source == "gpc" and row.value is True and not row.gpc_logged:
                    row = rows[key] = msgspec.structs.replace(row, gpc_logged=True)
                    method = "gpc"
                else:
                    continue
                drafts.append(
                    EventDraft(
                        key=key,
                        old_value=row.value,
                        new_value=current.value,
                        method=method,
                        registry_version=snapshot.version,
                        text_hash=snapshot.text_hash(key),
                        made_under_gpc=gpc,
                    )
                )
                _save_row(connection, subject, key, row, exists=True)
            append_events(connection, subject, drafts, now)

        return work

    def _values_work(
        self,
        subject: str,
        snapshot: RegistrySnapshot,
        values: Mapping[str, Any],
        method: str,
        gpc: bool,
        *,
        always_record: bool = False,
    ) -> Callable[[Connection], tuple[dict[str, EffectiveValue], set[str]]]:
        now = self.clock()

        def work(connection: Connection) -> tuple[dict[str, EffectiveValue], set[str]]:
            rows = _load_rows(connection, subject)
            before = resolve_effective(snapshot, rows, gpc=gpc, now=now)
            drafts: list[EventDraft] = []
            changed: set[str] = set()
            for key, value in values.items():
                pref = snapshot.get(key)
                if isinstance(pref, ConsentType) and not pref.switchable:
                    continue  # restating a notice-only consent's fixed value: no decision, nothing to record
                row = rows.get(key)
                current = before[key]
                text_hash = snapshot.text_hash(key)
                gpc_relevant = isinstance(pref, ConsentType) and pref.gpc
                decision_changes = (
                    row is None
                    or row.value != value
                    or row.text_hash != text_hash
                    or current.source in ("expired", "gpc")
                    or (gpc_relevant and gpc and not row.made_under_gpc)
                )
                if not (decision_changes or always_record):
                    continue
                new_row = _Row(
                    value=value,
                    decided_at=now,
                    text_hash=text_hash,
                    registry_version=snapshot.version,
                    made_under_gpc=gpc,
                )
                _save_row(connection, subject, key, new_row, exists=row is not None)
                rows[key] = new_row
                drafts.append(
                    EventDraft(
                        key=key,
                        old_value=current.value,
                        new_value=value,
                        method=method,
                        registry_version=snapshot.version,
                        text_hash=text_hash,
                        made_under_gpc=gpc,
                    )
                )
                if current.value != value or current.source != "explicit" or decision_changes:
                    changed.add(key)
            append_events(connection, subject, drafts, now)
            return resolve_effective(snapshot, rows, gpc=gpc, now=now), changed

        return work

    def _reset_work(
        self, subject: str, snapshot: RegistrySnapshot, key: str, method: str, gpc: bool
    ) -> Callable[[Connection], tuple[dict[str, EffectiveValue], set[str]]]:
        now = self.clock()

        def work(connection: Connection) -> tuple[dict[str, EffectiveValue], set[str]]:
            rows = _load_rows(connection, subject)
            changed: set[str] = set()
            if key in rows:
                before = resolve_effective(snapshot, rows, gpc=gpc, now=now)
                _delete_row(connection, subject, key)
                del rows[key]
                append_events(
                    connection,
                    subject,
                    [
                        EventDraft(
                            key=key,
                            old_value=before[key].value,
                            new_value=snapshot.default_value(key),
                            method=method,
                            registry_version=snapshot.version,
                            text_hash=snapshot.text_hash(key),
                            made_under_gpc=gpc,
                        )
                    ],
                    now,
                )
                changed.add(key)
            return resolve_effective(snapshot, rows, gpc=gpc, now=now), changed

        return work

    async def _all_consents(
        self, subject: str, grant: bool, method: str, gpc: bool
    ) -> dict[str, EffectiveValue]:
        snapshot = self.registry.current
        values = {consent.key: grant for consent in snapshot.consents() if consent.switchable}
        effective, changed = await self.database.run_write_async(
            [subject], self._values_work(subject, snapshot, values, method, gpc, always_record=True)
        )
        self._notify(subject, changed)
        return effective

    def _merge_work(
        self, anonymous: str, customer: str, snapshot: RegistrySnapshot
    ) -> Callable[[Connection], set[str]]:
        now = self.clock()

        def work(connection: Connection) -> set[str]:
            changed: set[str] = set()
            if connection.execute(
                sa.select(_links.c.customer_subject).where(_links.c.anonymous_subject == anonymous)
            ).first():
                return changed
            source_rows = _load_rows(connection, anonymous)
            target_rows = _load_rows(connection, customer)
            before = resolve_effective(snapshot, target_rows, gpc=False, now=now)
            drafts: list[EventDraft] = []
            for key, row in sorted(source_rows.items()):
                existing = target_rows.get(key)
                if existing is not None and existing.decided_at >= row.decided_at:
                    continue  # the customer's own decision is more recent: it stands
                taken = _Row(
                    value=row.value,
                    decided_at=row.decided_at,
                    text_hash=row.text_hash,
                    registry_version=row.registry_version,
                    made_under_gpc=row.made_under_gpc,
                )
                _save_row(connection, customer, key, taken, exists=existing is not None)
                old_value = before[key].value if key in before else (existing.value if existing else None)
                drafts.append(
                    EventDraft(
                        key=key,
                        old_value=old_value,
                        new_value=row.value,
                        method="merge",
                        registry_version=row.registry_version,
                        text_hash=row.text_hash,
                        made_under_gpc=row.made_under_gpc,
                    )
                )
                changed.add(key)
            append_events(connection, customer, drafts, now)
            connection.execute(
                sa.insert(_links).values(
                    anonymous_subject=anonymous, customer_subject=customer, linked_at=now
                )
            )
            return changed

        return work

    def _history(self, subject: str, locale: str | None) -> list[HistoryEntry]:
        with self.database.read() as connection:
            events = connection.execute(
                sa.select(_events).where(_events.c.subject == subject).order_by(_events.c.seq.desc())
            ).all()
            versions = {row.registry_version for row in events}
            sources = registry_sources(connection, versions)
        current = self.registry.current
        entries = []
        for row in events:
            snapshot = (
                current
                if row.registry_version == current.version
                else (
                    _parse_version(*sources[row.registry_version])
                    if row.registry_version in sources
                    else None
                )
            )
            pref = snapshot.get(row.key) if snapshot else None
            title = description = None
            if snapshot is not None and pref is not None:
                shown_locale = locale if locale in snapshot.locales else snapshot.default_locale
                title = snapshot.text(pref.title, shown_locale)
                description = snapshot.text(pref.description, shown_locale)
            entries.append(
                HistoryEntry(
                    id=row.id,
                    seq=row.seq,
                    key=row.key,
                    old_value=row.old_value,
                    new_value=row.new_value,
                    method=row.method,
                    created_at=_utc(row.created_at),
                    registry_version=row.registry_version,
                    text_hash=row.text_hash,
                    made_under_gpc=bool(row.made_under_gpc),
                    title=title,
                    description=description,
                    hash=row.hash,
                )
            )
        return entries
