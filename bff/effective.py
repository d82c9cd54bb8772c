"""What is in effect for a subject: stored decisions + registry + request signals -> effective values.

Pure and storage-agnostic, so the API, the components' store and the profile all agree on one answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from preference_registry import ConsentType, RegistrySnapshot

__all__ = ["EffectiveValue", "Source", "StoredDecision", "resolve_effective"]

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
    """
    base: dict[str, EffectiveValue] = {}
    for pref in snapshot.preferences:
        decision = stored.get(pref.key)
        default = snapshot.default_value(pref.key)
        value, source, stale, decided_at = default, "default", False, None
        if decision is not None and _still_valid(snapshot, pref.key, decision.value):
            value, source, decided_at = decision.value, "explicit", decision.decided_at
            if isinstance(pref, ConsentType):
                stale = decision.text_hash != snapshot.text_hash(pref.key)
                if pref.expires_after_days and now - decision.decided_at > timedelta(days=pref.expires_after_days):
                    value, source, stale = default, "expired", False
        if isinstance(pref, ConsentType) and pref.gpc and gpc and value is True:
            if source != "explicit" or not (decision and decision.made_under_gpc):
                value, source = False, "gpc"
        base[pref.key] = EffectiveValue(key=pref.key, kind=pref.kind, value=value, source=source,  # type: ignore[arg-type]
                                        in_effect=True, stale=stale, decided_at=decided_at)

    granted: dict[str, bool] = {}

    def is_granted(key: str) -> bool:
        # A consent counts only if it is on and its own requirements hold (requirements chain).
        if key not in granted:
            granted[key] = False  # cycles are rejected by the registry; this only guards recursion
            pref = snapshot.get(key)
            granted[key] = bool(key in base and base[key].value is True and pref is not None
                                and all(is_granted(req) for req in pref.requires))
        return granted[key]

    result: dict[str, EffectiveValue] = {}
    for key, effective in base.items():
        pref = snapshot.get(key)
        assert pref is not None
        missing = [req for req in pref.requires if not is_granted(req)]
        if missing:
            effective = msgspec.structs.replace(effective, source="requires-unmet", in_effect=False,
                                                missing_requirements=missing)
        result[key] = effective
    return result


def _still_valid(snapshot: RegistrySnapshot, key: str, value: Any) -> bool:
    """A stored value may no longer fit after a registry change (option removed, range shrunk)."""
    try:
        snapshot.validate_value(key, value)
    except ValueError:
        return False
    return True
