"""What is in effect for a subject: stored decisions + registry + request signals -> effective values.

Pure and storage-agnostic, so the API, the components' store and the profile all agree on one answer.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from preference_registry import ConsentType, RegistrySnapshot

__all__ = ["EffectiveValue", "ResolvedCache", "Source", "StoredDecision", "resolve_effective", "stable_until"]

Source = Literal["default", "explicit", "gpc", "expired", "requires-unmet"]


class StoredDecision(msgspec.Struct, frozen=True, kw_only=True):
    """The subject's current stored choice for one key (a ``preference_state`` row)."""

    value: Any
    """The chosen value."""
    decided_at: datetime
    """When it was chosen (timezone-aware UTC)."""
    text_hash: str
    """Hash of the wording the shopper saw when choosing."""
    registry_version: str
    """Registry version in force when choosing."""
    made_under_gpc: bool = False
    """Chosen while the browser sent a GPC signal, i.e. after the GPC notice was shown."""


class EffectiveValue(msgspec.Struct, frozen=True, kw_only=True):
    """One preference of one subject as the shop must apply it right now."""

    key: str
    """Preference key."""
    kind: str
    """``consent``, ``slider`` or ``filter``."""
    value: Any
    """The value the control shows: the explicit choice, or the default when there is none."""
    source: Source
    """Why it has this value: ``default``, ``explicit``, ``gpc``, ``expired`` or ``requires-unmet``."""
    in_effect: bool
    """Whether downstream systems may act on it (false while a required consent is missing)."""
    stale: bool = False
    """A consent decided under wording that has changed since: ask the shopper to confirm again."""
    decided_at: datetime | None = None
    """When the explicit choice was made, if there is one."""
    missing_requirements: list[str] = msgspec.field(default_factory=list)
    """Required consent keys that are not granted."""


class _Entry(msgspec.Struct, frozen=True):
    """What :func:`resolve_effective` needs of one preference type, computed once per snapshot."""

    key: str
    default: Any
    consent: bool
    gpc: bool
    expires_after: timedelta | None
    text_hash: str
    requires: tuple[str, ...]
    untouched: EffectiveValue
    """The effective value when nothing is stored and no rule applies (the common case, shared)."""


class _Plan(msgspec.Struct, frozen=True):
    entries: tuple[_Entry, ...]
    """In display order."""
    grant_order: tuple[str, ...]
    """Every key, each after the keys it requires (the registry rejects cycles)."""


_plans: dict[int, tuple[RegistrySnapshot, _Plan]] = {}
_plans_lock = threading.Lock()  # the event loop and the database writer thread both resolve values
_MAX_PLANS = 8


def _plan(snapshot: RegistrySnapshot) -> _Plan:
    # Keyed by identity and holding the snapshot itself, so a recycled id() can never match another snapshot.
    cached = _plans.get(id(snapshot))
    if cached is not None and cached[0] is snapshot:
        return cached[1]
    entries = []
    for pref in snapshot.preferences:
        consent = isinstance(pref, ConsentType)
        default = snapshot.default_value(pref.key)
        entries.append(_Entry(
            key=pref.key,
            default=default,
            consent=consent,
            gpc=consent and pref.gpc,  # type: ignore[union-attr]
            expires_after=timedelta(days=pref.expires_after_days) if consent and pref.expires_after_days else None,  # type: ignore[union-attr]
            text_hash=snapshot.text_hash(pref.key),
            requires=tuple(pref.requires),
            untouched=EffectiveValue(key=pref.key, kind=pref.kind, value=default, source="default", in_effect=True),
        ))
    order: list[str] = []
    placed: set[str] = set()

    def place(key: str) -> None:
        if key in placed:
            return
        placed.add(key)
        pref = snapshot.get(key)
        for required in pref.requires if pref is not None else ():
            place(required)
        order.append(key)

    for entry in entries:
        place(entry.key)
    plan = _Plan(entries=tuple(entries), grant_order=tuple(order))
    with _plans_lock:
        if len(_plans) >= _MAX_PLANS:
            _plans.pop(next(iter(_plans)))
        _plans[id(snapshot)] = (snapshot, plan)
    return plan


def resolve_effective(
    snapshot: RegistrySnapshot,
    stored: Mapping[str, StoredDecision],
    *,
    gpc: bool = False,
    now: datetime,
) -> dict[str, EffectiveValue]:
    """Effective value of every preference type in ``snapshot``, in display order.

    Rules, in order: an expired consent falls back to its default (``expired``); a GPC signal turns off
    consents declared ``gpc = true`` unless the subject chose otherwise while the signal was on (``gpc``);
    then anything whose required consents are not granted is kept for display but not ``in_effect``.
    Stored values for keys no longer in the registry are ignored, never deleted (proof stays).
    Returned values may be shared between calls: treat them as immutable.
    """
    plan = _plan(snapshot)
    base: dict[str, EffectiveValue] = {}
    for entry in plan.entries:
        decision = stored.get(entry.key)
        if decision is None and not (entry.gpc and gpc and entry.default is True):
            base[entry.key] = entry.untouched
            continue
        value, source, stale, decided_at = entry.default, "default", False, None
        # A decision stored under this very registry version was validated against it when written.
        if decision is not None and (decision.registry_version == snapshot.version
                                     or _still_valid(snapshot, entry.key, decision.value)):
            value, source, decided_at = decision.value, "explicit", decision.decided_at
            if entry.consent:
                stale = decision.text_hash != entry.text_hash
                if entry.expires_after is not None and now - decision.decided_at > entry.expires_after:
                    value, source, stale = entry.default, "expired", False
        if entry.gpc and gpc and value is True:
            if source != "explicit" or not (decision and decision.made_under_gpc):
                value, source = False, "gpc"
        base[entry.key] = EffectiveValue(key=entry.key, kind=entry.untouched.kind, value=value, source=source,  # type: ignore[arg-type]
                                         in_effect=True, stale=stale, decided_at=decided_at)

    # A key counts as granted only if it is on and everything it requires is granted (requirements chain).
    granted: dict[str, bool] = {}
    for key in plan.grant_order:
        current = base.get(key)
        pref = snapshot.get(key)
        granted[key] = (current is not None and current.value is True and pref is not None
                        and all(granted[required] for required in pref.requires))

    result: dict[str, EffectiveValue] = {}
    for entry in plan.entries:
        effective = base[entry.key]
        if entry.requires:
            missing = [required for required in entry.requires if not granted.get(required, False)]
            if missing:
                effective = msgspec.structs.replace(effective, source="requires-unmet", in_effect=False,
                                                    missing_requirements=missing)
        result[entry.key] = effective
    return result


def stable_until(snapshot: RegistrySnapshot, stored: Mapping[str, StoredDecision], now: datetime) -> datetime | None:
    """The latest moment up to which :func:`resolve_effective` gives, for these arguments, the same answer as
    at ``now`` (the next consent expiry still ahead), or ``None`` when time alone never changes it."""
    horizon: datetime | None = None
    for entry in _plan(snapshot).entries:
        decision = stored.get(entry.key) if entry.expires_after is not None else None
        if decision is None:
            continue
        moment = decision.decided_at + entry.expires_after  # type: ignore[operator]
        if moment >= now and (horizon is None or moment < horizon):
            horizon = moment
    return horizon


def _still_valid(snapshot: RegistrySnapshot, key: str, value: Any) -> bool:
    """A stored value may no longer fit after a registry change (option removed, range shrunk)."""
    try:
        snapshot.validate_value(key, value)
    except ValueError:
        return False
    return True


class ResolvedCache:
    """Effective values by what they are a pure function of: the snapshot, the GPC signal and the raw
    stored rows (plain text and numbers, so they can be a key: a changed row is a different key, never a
    stale hit), valid until the next consent expiry (:func:`stable_until`). The read itself still runs
    every time; what repeats (decoding, resolving) is what is saved. Thread-safe."""

    _MAX = 4096

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[RegistrySnapshot, dict[str, EffectiveValue], datetime,
                                                   datetime | None]] = {}
        self._lock = threading.Lock()  # several event loops (one per thread) may share the service

    def get(self, snapshot: RegistrySnapshot, gpc: bool, raw: list[tuple[Any, ...]],
            now: datetime) -> dict[str, EffectiveValue] | None:
        """The values cached for these arguments, if still valid at ``now`` (a new dict: callers own it)."""
        hit = self._entries.get((id(snapshot), gpc, tuple(raw)))
        if hit is None:
            return None
        owner, effective, computed_at, until = hit
        if owner is not snapshot or now < computed_at or (until is not None and now > until):
            return None
        return dict(effective)

    def put(self, snapshot: RegistrySnapshot, gpc: bool, raw: list[tuple[Any, ...]], now: datetime,
            effective: dict[str, EffectiveValue], until: datetime | None) -> None:
        """Remember ``effective`` for these arguments from ``now`` until ``until``."""
        with self._lock:
            if len(self._entries) >= self._MAX:
                self._entries.pop(next(iter(self._entries)))
            self._entries[(id(snapshot), gpc, tuple(raw))] = (snapshot, dict(effective), now, until)
