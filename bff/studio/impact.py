"""Impact of publishing a draft: a per-type diff against the active version, which types' wording changes
(their stored decisions become stale and shoppers are asked again), and what happens to removed types.

The diff is over the decoded declarations (so a reformatted file is no change); counts come from the
database in one grouped query (:func:`bff.storage.studio.decisions_by_wording`), aggregate only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from preference_registry import RegistrySnapshot
from preference_registry.kinds import wording

__all__ = ["FieldChange", "Impact", "TypeImpact", "diff_snapshots", "keys_to_count"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    """Relative to the type: ``max``, ``title.en``, ``stops[1].label.pl``."""
    old: Any
    new: Any


@dataclass(slots=True)
class TypeImpact:
    key: str
    kind: str
    status: str
    """``added``, ``removed``, ``changed``, ``unchanged``."""
    changes: list[FieldChange] = field(default_factory=list)
    wording_changed: bool = False
    stored: int = 0
    """Stored decisions for this key (any wording)."""
    becoming_stale: int = 0
    """Stored decisions now valid under the active wording that the new wording makes stale."""
    title: Any = None


@dataclass(slots=True)
class Impact:
    base_version: str
    new_version: str
    types: list[TypeImpact]

    @property
    def total_stale(self) -> int:
        return sum(t.becoming_stale for t in self.types)

    @property
    def changed(self) -> list[TypeImpact]:
        return [t for t in self.types if t.status != "unchanged"]


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}[{index}]", out)
    else:
        out[prefix] = value


def _fields(pref: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _flatten(msgspec.to_builtins(pref), "", out)
    return out


def diff_snapshots(active: RegistrySnapshot, draft: RegistrySnapshot,
                   counts: dict[str, dict[str, int]] | None = None) -> Impact:
    """The per-type diff of ``draft`` against ``active``; with ``counts`` (from
    :func:`~bff.storage.studio.decisions_by_wording` over :func:`keys_to_count`) the stale counts."""
    counts = counts or {}
    types: list[TypeImpact] = []
    seen: set[str] = set()
    for pref in draft.preferences:
        seen.add(pref.key)
        old = active.get(pref.key)
        if old is None:
            types.append(TypeImpact(pref.key, pref.kind, "added", title=pref.title))
            continue
        before, after = _fields(old), _fields(pref)
        changes = [FieldChange(path, before.get(path), after.get(path))
                   for path in sorted(set(before) | set(after)) if before.get(path) != after.get(path)]
        old_hash, new_hash = active.text_hashes[pref.key], draft.text_hashes[pref.key]
        stored_by_hash = counts.get(pref.key, {})
        impact = TypeImpact(pref.key, pref.kind, "changed" if changes else "unchanged", changes,
                            wording_changed=old_hash != new_hash, stored=sum(stored_by_hash.values()),
                            title=pref.title)
        if impact.wording_changed:
            # Only decisions fresh under the active wording become stale; older ones already are.
            impact.becoming_stale = stored_by_hash.get(old_hash, 0)
        types.append(impact)
    for old in active.preferences:
        if old.key not in seen:
            types.append(TypeImpact(old.key, old.kind, "removed", stored=sum(counts.get(old.key, {}).values()),
                                    title=old.title))
    return Impact(active.version, draft.version, types)


def keys_to_count(active: RegistrySnapshot, draft: RegistrySnapshot) -> set[str]:
    """The keys whose stored decisions matter to the impact: wording changed, or removed."""
    changed = {p.key for p in draft.preferences
               if p.key in active and active.text_hashes[p.key] != draft.text_hashes[p.key]}
    removed = {p.key for p in active.preferences if p.key not in draft}
    return changed | removed


_ = wording  # the wording hashed per type: preference_registry.kinds.wording (what text_hashes hash)
