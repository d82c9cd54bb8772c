"""The one seam between the components and storage: a small async protocol the BFF implements.

``components`` never imports ``bff``. Anything that can answer these calls for one subject (the BFF's
preference service, a shop's own backend, a test double) can drive every component.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import msgspec

from preference_registry import RegistrySnapshot

__all__ = [
    "EffectiveState",
    "HistoryEntry",
    "PreferenceStore",
    "PreferenceStoreError",
    "StoreCapabilities",
    "Unsubscribe",
]

Unsubscribe = Callable[[], None]


@runtime_checkable
class EffectiveState(Protocol):
    """What a component needs to know about one preference of the subject.

    ``bff.effective.EffectiveValue`` has exactly these attributes, so the BFF hands its values through
    unchanged; the protocol only names what the components read.
    """

    key: str
    value: Any
    source: str
    in_effect: bool
    stale: bool
    missing_requirements: list[str]


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the subject's consent history, as the preference center shows it."""

    key: str
    """Preference key the decision was about (may no longer exist in the registry)."""
    value: Any
    """The value chosen."""
    method: str
    """How it was made: ``ui``, ``api``, ``gpc``, ``expiry``, ``accept-all``, ``reject-all``..."""
    at: datetime
    """When (timezone-aware UTC)."""
    registry_version: str | None = None
    """Registry version in force at the time, for proving the wording later."""


class StoreCapabilities(msgspec.Struct, frozen=True, kw_only=True):
    """Optional features a store offers; the preference center shows their entry points only when set."""

    export_url: str | None = None
    """Where the subject downloads everything stored about them (e.g. ``/api/v1/me/export``)."""
    erase: bool = False
    """Whether :meth:`PreferenceStore.erase` is available."""


class PreferenceStoreError(Exception):
    """A change the store refused; ``message`` is shown to the shopper in the live region.

    ``key`` names the preference at fault when there is one, so the component can flag that control.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.key = key


class PreferenceStore(Protocol):
    """Storage of one subject's preferences, as the components see it.

    Values come back as ``key -> EffectiveState`` for every key of the current registry. Listeners may be
    called from any thread; the components marshal them onto their own event loop.
    """

    @property
    def snapshot(self) -> RegistrySnapshot:
        """The registry currently live (read again after every registry notification)."""
        ...

    @property
    def capabilities(self) -> StoreCapabilities:
        """Export / erase entry points this store offers."""
        ...

    async def load(self) -> Mapping[str, EffectiveState]:
        """Effective values of every preference type, for the subject."""
        ...

    async def set(self, changes: Mapping[str, Any]) -> Mapping[str, EffectiveState]:
        """Store explicit choices made in the UI; raises :class:`PreferenceStoreError` when refused."""
        ...

    async def reset(self, key: str) -> Mapping[str, EffectiveState]:
        """Forget the explicit choice for ``key`` (back to its default)."""
        ...

    async def accept_all(self) -> Mapping[str, EffectiveState]:
        """Grant every switchable consent."""
        ...

    async def reject_all(self) -> Mapping[str, EffectiveState]:
        """Refuse every switchable consent (as easy as accepting)."""
        ...

    async def history(self) -> Sequence[HistoryEntry]:
        """The subject's decisions, newest first."""
        ...

    async def erase(self) -> None:
        """Erase everything stored about the subject (only when ``capabilities.erase``)."""
        ...

    def subscribe(self, listener: Callable[[], None]) -> Unsubscribe:
        """Call ``listener()`` after every committed change of the subject's values, wherever it was made
        (another tab, the API, accept/reject all, a GPC or expiry override recorded during a read, a merge
        on login, an erasure); possibly from another thread."""
        ...

    def subscribe_registry(self, listener: Callable[[RegistrySnapshot], None]) -> Unsubscribe:
        """Call ``listener(snapshot)`` whenever a new registry version is activated."""
        ...
