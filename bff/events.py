"""Typed change events: the one seam for "a choice changed" (and "the registry changed").

Every change prefkit records is published once, as one typed event, **after** the transaction that
recorded it has committed (never for a rolled-back one):

* :class:`ChangeEvent` — one per write transaction of a subject: an explicit decision (``ui``, ``api``;
  a withdrawal is an explicit ``false``), ``accept_all`` / ``reject_all``, an ``expiry`` or ``gpc``
  override recorded during a read, a ``merge`` on login, an ``erasure``. ``changes`` holds one
  :class:`KeyChange` per ledger event of that transaction (an erasure has no ledger events: its
  ``changes`` name the stored decisions it removed).
* :class:`RegistryActivated` — one per stored activation of a registry version, naming the types whose
  wording changed (decisions made under the old wording are stale now).

Events are frozen msgspec Structs with a ``type`` tag, so ``msgspec.json.encode(event)`` is the wire
form (webhooks outbox, cross-process notifications, the page's JavaScript API) and
``msgspec.json.decode(data, type=Event)`` reads it back.

:class:`EventBus` is ``PreferenceService.events``. Publication happens on the thread that saw the commit
(an event loop for the service's writes; a worker thread for registry activations). Subscribers say
where they want to be called: a coroutine function, or any callback subscribed with ``loop=``, runs on
that event loop (``call_soon_threadsafe``), so ReactPy state and asyncio objects are safe to touch;
a plain callback without ``loop`` runs on the publishing thread and must be thread-safe and quick.
A failing subscriber never breaks the write, nor delivery to the other subscribers.

Order: on SQLite (one group-commit writer) events arrive in commit order. On PostgreSQL two writes of
one subject commit one after the other, but their events are handed to the loop by two worker threads,
so in rare cases they may arrive swapped: a consumer that needs a subject's order uses
:attr:`KeyChange.ledger_seq`. Consumers that must not lose an event across a crash (a webhooks outbox)
write it inside the transaction instead: the work functions build these events there
(``bff/service.py`` ``_record``, ``bff/rights.py`` erasure) before returning them for publication.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal, TypeAlias, get_args

import msgspec

__all__ = [
    "CHANGE_METHODS",
    "ChangeEvent",
    "ChangeMethod",
    "Event",
    "EventBus",
    "EventCallback",
    "KeyChange",
    "RegistryActivated",
    "Unsubscribe",
]

logger = logging.getLogger("prefkit.events")

ChangeMethod: TypeAlias = Literal[
    "ui", "api", "accept_all", "reject_all", "gpc", "expiry", "merge", "erasure"
]
"""How a change came about: the ledger's ``method`` vocabulary, plus ``erasure`` (which leaves no ledger
event). ``ui``: a widget / the preference center; ``api``: the HTTP API (a ``DELETE`` of a consent is a
withdrawal, recorded as an explicit ``false``)."""

CHANGE_METHODS: frozenset[str] = frozenset(get_args(ChangeMethod))
"""Every :data:`ChangeMethod` (what an event of another process may say; anything else is refused)."""


class KeyChange(msgspec.Struct, frozen=True, kw_only=True):
    """What happened to one preference key (one ledger event, except for erasure)."""

    key: str
    """Preference key."""
    old_value: Any
    """Value in effect before (for an erasure: the stored decision removed)."""
    new_value: Any
    """Value in effect after (for an erasure: the key's default in the active registry, or ``None`` for
    a key no longer in it)."""
    text_hash: str
    """Hash of the wording the decision was made under (the proof of what was consented to)."""
    registry_version: str
    """Registry version of that wording (differs from the event's for a merged older decision)."""
    made_under_gpc: bool = False
    """The browser sent Global Privacy Control with the decision."""
    ledger_seq: int | None = None
    """Position of its ledger event in the subject's chain (``None`` for an erasure): orders a subject's
    changes, and lets a receiver deduplicate."""
    ledger_hash: str | None = None
    """That ledger event's chain hash (verifiable in the subject's export)."""


class ChangeEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="change"):
    """One committed change of one subject's choices."""

    subject: str
    """Whose choices changed."""
    method: ChangeMethod
    """How (see :data:`ChangeMethod`); every key change of one event has the same method."""
    changes: tuple[KeyChange, ...]
    """The keys recorded, in ledger order (empty only for an erasure of a subject with nothing stored)."""
    registry_version: str
    """Registry version active when the change was recorded."""
    at: datetime
    """When it was recorded (timezone-aware UTC; the ledger events' ``created_at``)."""
    linked_subjects: tuple[str, ...] = ()
    """``merge``: the anonymous subject taken over. ``erasure``: the anonymous subjects merged into
    ``subject`` and erased with it (recipients erase those too)."""

    @property
    def keys(self) -> frozenset[str]:
        """The keys this event is about."""
        return frozenset(change.key for change in self.changes)


class RegistryActivated(msgspec.Struct, frozen=True, kw_only=True, tag_field="type",
                        tag="registry_activated"):
    """A registry version was activated (and stored in ``registry_version``)."""

    version: str
    """The version now active."""
    previous_version: str | None
    """The version active before (this process's, else the most recently activated stored one);
    ``None`` for the first version this database ever stored."""
    wording_changed: tuple[str, ...]
    """Keys in both versions whose shopper-visible wording (``text_hash``) differs: decisions made
    under the previous wording are stale. Empty when the previous version's stored document no longer
    loads (nothing can be compared)."""
    added: tuple[str, ...]
    """Keys new in this version (every key for the first version)."""
    removed: tuple[str, ...]
    """Keys of the previous version that this one no longer has."""
    at: datetime
    """When it was activated (timezone-aware UTC)."""


Event: TypeAlias = ChangeEvent | RegistryActivated
"""Anything :class:`EventBus` publishes (a tagged union: decode with ``type=Event``)."""

EventCallback: TypeAlias = Callable[[Any], "None | Awaitable[None]"]
"""``callback(event)``; may be a coroutine function."""

Unsubscribe: TypeAlias = Callable[[], None]


class _Subscription:
    __slots__ = ("callback", "failed", "loop", "subject")

    def __init__(self, callback: EventCallback, subject: str | None,
                 loop: asyncio.AbstractEventLoop | None) -> None:
        self.callback = callback
        self.subject = subject
        self.loop = loop
        self.failed = False


class EventBus:
    """In-process publish/subscribe of :data:`Event` (see the module doc). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Copy-on-write tuples: publishing iterates a snapshot without taking the lock, so a subscriber
        # may (un)subscribe from inside its callback and publishing never waits for subscribe().
        self._everything: tuple[_Subscription, ...] = ()
        self._by_subject: dict[str, tuple[_Subscription, ...]] = {}
        self._tasks: set[asyncio.Future[Any]] = set()

    def subscribe(
        self,
        callback: EventCallback,
        *,
        subject: str | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> Unsubscribe:
        """Call ``callback(event)`` for every event published from now on; returns the unsubscribe
        function (idempotent).

        ``subject``: only :class:`ChangeEvent` of that subject (registry activations are not about a
        subject). ``loop``: run the callback on that event loop; a coroutine function is always run as a
        task on a loop: ``loop``, else the one running at subscription."""
        if loop is None and inspect.iscoroutinefunction(callback):
            loop = asyncio.get_running_loop()  # RuntimeError outside a loop: say where to run it
        subscription = _Subscription(callback, subject, loop)
        with self._lock:
            if subject is None:
                self._everything = (*self._everything, subscription)
            else:
                self._by_subject[subject] = (*self._by_subject.get(subject, ()), subscription)

        def unsubscribe() -> None:
            with self._lock:
                if subject is None:
                    self._everything = tuple(s for s in self._everything if s is not subscription)
                    return
                remaining = tuple(s for s in self._by_subject.get(subject, ()) if s is not subscription)
                if remaining:
                    self._by_subject[subject] = remaining
                else:
                    self._by_subject.pop(subject, None)

        return unsubscribe

    def subscriber_count(self, subject: str | None = None) -> int:
        """How many subscriptions would see a change of ``subject`` (all subscriptions when ``None``)."""
        if subject is None:
            return len(self._everything) + sum(len(s) for s in self._by_subject.values())
        return len(self._everything) + len(self._by_subject.get(subject, ()))

    def watched_subjects(self) -> list[str]:
        """The subjects with subscriptions of their own (open widgets, page change sockets)."""
        return [subject for subject, subscriptions in list(self._by_subject.items()) if subscriptions]

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to its subscribers. Call only after the change is committed. Never raises
        because of a subscriber."""
        subscriptions = self._everything
        if isinstance(event, ChangeEvent):
            subscriptions = subscriptions + self._by_subject.get(event.subject, ())
        if not subscriptions:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for subscription in subscriptions:
            loop = subscription.loop
            if loop is None or loop is running:
                self._call(subscription, event)
            elif not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(self._call, subscription, event)
                except RuntimeError:  # closed meanwhile: nobody there to tell
                    pass

    def _call(self, subscription: _Subscription, event: Event) -> None:
        try:
            result = subscription.callback(event)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(lambda done: self._finished(subscription, done))
        except Exception:  # one broken subscriber must not break the write or the other subscribers
            self._failed(subscription)

    def _finished(self, subscription: _Subscription, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            try:
                raise task.exception()  # type: ignore[misc]
            except Exception:
                self._failed(subscription)

    @staticmethod
    def _failed(subscription: _Subscription) -> None:
        # Logged once per subscription with its traceback, then quietly: a subscriber failing on every
        # event must not flood the log. The subject is left out (it identifies a shopper).
        name = getattr(subscription.callback, "__qualname__", type(subscription.callback).__name__)
        if not subscription.failed:
            subscription.failed = True
            logger.exception("event subscriber %s failed; its later failures are logged at debug level",
                             name)
        else:
            logger.debug("event subscriber %s failed again", name)
