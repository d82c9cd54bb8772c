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

Change events (:mod:`bff.events`): every write transaction that records ledger events publishes them as
one :class:`~bff.events.ChangeEvent` on :attr:`PreferenceService.events` (two when a read records both
an expiry and a GPC override), after its COMMIT and only then — the work functions return what they
recorded and :meth:`bff.storage.engine.Database.run_write_async` calls the publisher once committed.
A stored registry activation publishes :class:`~bff.events.RegistryActivated`. Before COMMIT, every
recording transaction (and the activation's) hands its events to :attr:`PreferenceService.outbox` on its
own connection (:meth:`PreferenceService.run_recorded`): the webhooks outbox commits with the change. SQL is in
``bff/storage/``; the wording of old versions in ``bff/wording.py``; history rendering in
``bff/history.py``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from preference_registry import (
    ConsentType,
    RegistryService,
    RegistrySnapshot,
    ValueValidationError,
)

from .effective import EffectiveValue, ResolvedCache, resolve_effective, stable_until
from .events import CHANGE_METHODS, ChangeEvent, ChangeMethod, Event, EventBus, KeyChange, RegistryActivated
from .history import HistoryEntry, history_entries
from .profile import Profile, build_profile
from .storage import Database, EventDraft, append_events, verify_chain
from .storage.ledger import BrokenLink, subject_events
from .storage.links import MERGEABLE_SQL, customer_of, link
from .storage.registry_versions import latest_version, list_versions, registry_sources, store_version
from .storage.state import (
    StateRecord,
    delete_state,
    load_state,
    save_state,
    select_state_sql,
    state_records,
)
from .wording import parse_stored_version

__all__ = [
    "HistoryEntry",
    "PreferenceService",
    "PreferenceValidationError",
    "UnknownPreferenceError",
    "ValueProblem",
]

logger = logging.getLogger("prefkit.service")

Recorded = tuple[ChangeEvent, ...]
"""What a write transaction recorded, as the events to publish once it has committed."""

OutboxHook = Callable[[Connection, Sequence[Event]], None]
"""``hook(connection, events)``: called inside a write transaction, before its COMMIT, with the events it
recorded; what it writes commits or rolls back with them (the webhooks outbox, :mod:`bff.webhooks`)."""

T = TypeVar("T")


def _second(result: tuple[Any, Recorded]) -> Recorded:
    return result[1]


def _itself(result: Recorded) -> Recorded:
    return result


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


def _record(
    connection: Connection,
    subject: str,
    drafts: Sequence[EventDraft],
    now: datetime,
    *,
    registry_version: str,
    linked: tuple[str, ...] = (),
) -> Recorded:
    """Chain ``drafts`` onto ``subject``'s ledger and describe them as change events, one per method in
    ledger order (what the transaction will have recorded once it commits)."""
    chained = append_events(connection, subject, list(drafts), now)
    events: list[ChangeEvent] = []
    start = 0
    for end in range(1, len(drafts) + 1):
        if end == len(drafts) or drafts[end].method != drafts[start].method:
            events.append(
                ChangeEvent(
                    subject=subject,
                    method=drafts[start].method,  # type: ignore[arg-type]
                    changes=tuple(
                        KeyChange(
                            key=draft.key,
                            old_value=draft.old_value,
                            new_value=draft.new_value,
                            text_hash=draft.text_hash,
                            registry_version=draft.registry_version,
                            made_under_gpc=draft.made_under_gpc,
                            ledger_seq=seq,
                            ledger_hash=digest,
                        )
                        for draft, (seq, digest) in zip(drafts[start:end], chained[start:end], strict=True)
                    ),
                    registry_version=registry_version,
                    at=now,
                    linked_subjects=linked,
                )
            )
            start = end
    return tuple(events)


def _check_method(method: str) -> None:
    # The ledger and every published event speak one vocabulary; an event another process cannot decode
    # (cross-process notifications, the webhooks outbox) must never be written.
    if method not in CHANGE_METHODS:
        raise ValueError(f"unknown change method {method!r}: one of {sorted(CHANGE_METHODS)}")


def _registry_diff(
    old: RegistrySnapshot | None, new: RegistrySnapshot, *, first: bool
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """``(wording changed, added, removed)`` keys from ``old`` to ``new``: every key is new in the
    ``first`` version; nothing is known when ``old`` could not be loaded."""
    new_keys = [pref.key for pref in new.preferences]
    if old is None:
        return (), tuple(new_keys) if first else (), ()
    changed = tuple(k for k in new_keys if k in old and old.text_hash(k) != new.text_hash(k))
    added = tuple(k for k in new_keys if k not in old)
    removed = tuple(pref.key for pref in old.preferences if pref.key not in new)
    return changed, added, removed


def _activation(
    previous: RegistrySnapshot | None, stored: tuple[str, str, str] | None, snapshot: RegistrySnapshot, now: datetime
) -> RegistryActivated | None:
    """The event of activating ``snapshot`` after ``previous`` (this process's, else ``stored``: the most
    recently activated stored version, with its source and format), or ``None`` for the same version again
    (a restart, a re-upload: nothing changed for anyone)."""
    if previous is None and stored is not None:
        previous = snapshot if stored[0] == snapshot.version else parse_stored_version(stored[1], stored[2])
        previous_version: str | None = stored[0]
    else:
        previous_version = previous.version if previous is not None else None
    if previous_version == snapshot.version:
        return None
    changed, added, removed = _registry_diff(previous, snapshot, first=previous_version is None)
    return RegistryActivated(
        version=snapshot.version,
        previous_version=previous_version,
        wording_changed=changed,
        added=added,
        removed=removed,
        at=now,
    )


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
        self.events = EventBus()
        """Every committed change, as typed events (:mod:`bff.events`): subscribe here."""
        self.outbox: OutboxHook | None = None
        """Called in every recording transaction with its events, before COMMIT (set by
        :class:`bff.webhooks.WebhooksPlugin`); ``None``: nothing is staged."""
        self._resolved = ResolvedCache()
        self._activation_lock = threading.Lock()
        self._activated: RegistrySnapshot | None = None

    # -- reading --------------------------------------------------------------------------------
    async def effective(
        self, subject: str, *, gpc: bool = False, snapshot: RegistrySnapshot | None = None
    ) -> dict[str, EffectiveValue]:
        """Every preference of ``subject`` as in effect now, in display order, under ``snapshot`` (default:
        the registry current now; pass it to report the matching version next to the values).

        The first time an expired consent or a GPC override of a stored grant is seen, it is recorded in
        the ledger (once per decision) and published."""
        now = self.clock()
        snapshot = (snapshot or self.registry.current).for_subject(subject, now)  # the arms it is shown
        sqlite = self.database.sqlite
        raw = await self.database.fetch_point(select_state_sql(sqlite), (subject,))
        if sqlite:
            cached = self._resolved.get(snapshot, gpc, raw, now)
            if cached is not None:
                return cached
        rows = state_records(sqlite, raw)
        effective = resolve_effective(snapshot, rows, gpc=gpc, now=now)
        if self._unlogged_overrides(effective, rows):
            await self.run_recorded([subject], self._overrides_work(subject, snapshot, gpc, now))
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
        snapshot = self.snapshot_for(subject)
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

    def snapshot_for(self, subject: str) -> RegistrySnapshot:
        """The live registry as ``subject`` sees it now: a running experiment's types replaced by the
        subject's arm (texts, default, ``text_hash``), so the ledger records the wording that was shown
        (:meth:`preference_registry.RegistrySnapshot.for_subject`)."""
        return self.registry.current.for_subject(subject, self.clock())

    # -- changing -------------------------------------------------------------------------------
    async def set_values(
        self, subject: str, changes: Mapping[str, Any], *, method: ChangeMethod, gpc: bool = False
    ) -> dict[str, EffectiveValue]:
        """Validate every change, then store them and their ledger events in one transaction.

        Raises :class:`PreferenceValidationError` listing every problem (nothing is stored then). Keys
        not in ``changes`` never change. Returns the effective values afterwards. ``method`` is how the
        shopper decided (``ui``, ``api``; see :data:`bff.events.ChangeMethod`)."""
        _check_method(method)
        snapshot = self.snapshot_for(subject)
        values = self.validate(snapshot, changes)
        effective, _ = await self.run_recorded(
            [subject], self._values_work(subject, snapshot, values, method, gpc), recorded=_second
        )
        return effective

    async def reset(
        self, subject: str, key: str, *, method: ChangeMethod, gpc: bool = False
    ) -> dict[str, EffectiveValue]:
        """Back to the default; for a consent this is a withdrawal (stored as an explicit ``false``)."""
        _check_method(method)
        snapshot = self.snapshot_for(subject)
        pref = snapshot.get(key)
        if pref is None:
            raise UnknownPreferenceError(key)
        if isinstance(pref, ConsentType):
            return await self.set_values(subject, {key: False}, method=method, gpc=gpc)
        effective, _ = await self.run_recorded(
            [subject], self._reset_work(subject, snapshot, key, method, gpc), recorded=_second
        )
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
        recorded = await self.run_recorded(
            [anonymous_subject, customer_subject], self._merge_work(anonymous_subject, customer_subject, snapshot)
        )
        return sorted({change.key for event in recorded for change in event.changes})

    async def mergeable(self, anonymous_subject: str) -> bool:
        """Whether :meth:`merge` would write anything for ``anonymous_subject``: it decided something and was
        not merged yet. One indexed read: a bearer request with a throwaway anonymous cookie costs no write
        transaction and leaves no link row (the merge re-checks under the subjects' locks)."""
        return bool(await self.database.fetch_point(MERGEABLE_SQL, (anonymous_subject, anonymous_subject)))

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

    # -- publishing -----------------------------------------------------------------------------
    def _publish(self, recorded: Iterable[ChangeEvent]) -> None:
        """Commit hook: publish what a committed transaction recorded."""
        for event in recorded:
            self.events.publish(event)

    async def run_recorded(
        self,
        subjects: Iterable[str],
        work: Callable[[Connection], T],
        *,
        recorded: Callable[[T], Sequence[ChangeEvent]] = _itself,  # type: ignore[assignment]
    ) -> T:
        """``work`` in a write transaction holding ``subjects``' locks: the events it recorded
        (``recorded(result)``) go to :attr:`outbox` inside the transaction, and are published once it has
        committed. The one place where a recording transaction is run (the rights' erasure uses it too)."""
        outbox = self.outbox

        def transaction(connection: Connection) -> T:
            result = work(connection)
            if outbox is not None:
                events = recorded(result)
                if events:
                    outbox(connection, events)
            return result

        return await self.database.run_write_async(
            subjects, transaction, on_commit=lambda result: self._publish(recorded(result))
        )

    # -- registry versions ----------------------------------------------------------------------
    def record_registry_version(self, snapshot: RegistrySnapshot) -> None:
        """Store ``snapshot`` in ``registry_version``, then publish :class:`~bff.events.RegistryActivated`
        when it is another version than the one active before (sync; call from a worker thread or at
        start). A database error is raised and publishes nothing."""
        now = datetime.now(UTC)
        with self._activation_lock:  # activations are rare; one at a time keeps "previous" exact
            previous = self._activated
            stored: tuple[str, str, str] | None = None
            try:
                with self.database.write() as connection:
                    if previous is None:
                        stored = latest_version(connection)
                    store_version(connection, snapshot, now)
                    event = _activation(previous, stored, snapshot, now)
                    if event is not None and self.outbox is not None:
                        self.outbox(connection, [event])  # committed with the stored version, or not at all
            except sa.exc.IntegrityError:  # another process stored the same version at the same moment
                event = _activation(previous, stored, snapshot, now)  # its transaction staged the outbox row
            self._activated = snapshot
        if event is not None:
            self.events.publish(event)

    def registry_versions(self) -> list[dict[str, Any]]:
        """Stored registry versions, most recently activated first (sync)."""
        with self.database.read() as connection:
            return list_versions(connection)

    # -- worker-thread parts --------------------------------------------------------------------
    @staticmethod
    def _unlogged_overrides(effective: Mapping[str, EffectiveValue], rows: Mapping[str, StateRecord]) -> bool:
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
    ) -> Callable[[Connection], Recorded]:
        def work(connection: Connection) -> Recorded:
            rows = load_state(connection, subject)  # again, under the lock: another request may have logged it
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
                save_state(connection, subject, key, row, exists=True)
            return _record(connection, subject, drafts, now, registry_version=snapshot.version)

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
    ) -> Callable[[Connection], tuple[dict[str, EffectiveValue], Recorded]]:
        now = self.clock()

        def work(connection: Connection) -> tuple[dict[str, EffectiveValue], Recorded]:
            rows = load_state(connection, subject)
            before = resolve_effective(snapshot, rows, gpc=gpc, now=now)
            drafts: list[EventDraft] = []
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
                new_row = StateRecord(
                    value=value,
                    decided_at=now,
                    text_hash=text_hash,
                    registry_version=snapshot.version,
                    made_under_gpc=gpc,
                )
                save_state(connection, subject, key, new_row, exists=row is not None)
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
            recorded = _record(connection, subject, drafts, now, registry_version=snapshot.version)
            return resolve_effective(snapshot, rows, gpc=gpc, now=now), recorded

        return work

    def _reset_work(
        self, subject: str, snapshot: RegistrySnapshot, key: str, method: str, gpc: bool
    ) -> Callable[[Connection], tuple[dict[str, EffectiveValue], Recorded]]:
        now = self.clock()

        def work(connection: Connection) -> tuple[dict[str, EffectiveValue], Recorded]:
            rows = load_state(connection, subject)
            recorded: Recorded = ()
            if key in rows:
                before = resolve_effective(snapshot, rows, gpc=gpc, now=now)
                delete_state(connection, subject, key)
                del rows[key]
                draft = EventDraft(
                    key=key,
                    old_value=before[key].value,
                    new_value=snapshot.default_value(key),
                    method=method,
                    registry_version=snapshot.version,
                    text_hash=snapshot.text_hash(key),
                    made_under_gpc=gpc,
                )
                recorded = _record(connection, subject, [draft], now, registry_version=snapshot.version)
            return resolve_effective(snapshot, rows, gpc=gpc, now=now), recorded

        return work

    async def _all_consents(
        self, subject: str, grant: bool, method: str, gpc: bool
    ) -> dict[str, EffectiveValue]:
        snapshot = self.snapshot_for(subject)
        values = {consent.key: grant for consent in snapshot.consents() if consent.switchable}
        effective, _ = await self.run_recorded(
            [subject],
            self._values_work(subject, snapshot, values, method, gpc, always_record=True),
            recorded=_second,
        )
        return effective

    def _merge_work(
        self, anonymous: str, customer: str, snapshot: RegistrySnapshot
    ) -> Callable[[Connection], Recorded]:
        now = self.clock()

        def work(connection: Connection) -> Recorded:
            if customer_of(connection, anonymous) is not None:
                return ()
            source_rows = load_state(connection, anonymous)
            target_rows = load_state(connection, customer)
            before = resolve_effective(snapshot, target_rows, gpc=False, now=now)
            drafts: list[EventDraft] = []
            for key, row in sorted(source_rows.items()):
                existing = target_rows.get(key)
                if existing is not None and existing.decided_at >= row.decided_at:
                    continue  # the customer's own decision is more recent: it stands
                taken = StateRecord(
                    value=row.value,
                    decided_at=row.decided_at,
                    text_hash=row.text_hash,
                    registry_version=row.registry_version,
                    made_under_gpc=row.made_under_gpc,
                )
                save_state(connection, customer, key, taken, exists=existing is not None)
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
            recorded = _record(
                connection, customer, drafts, now, registry_version=snapshot.version, linked=(anonymous,)
            )
            link(connection, anonymous, customer, now)
            return recorded

        return work

    def _history(self, subject: str, locale: str | None) -> list[HistoryEntry]:
        with self.database.read() as connection:
            rows = subject_events(connection, subject, newest_first=True)
            sources = registry_sources(connection, {row.registry_version for row in rows})
        return history_entries(rows, self.registry.current, sources, locale)
