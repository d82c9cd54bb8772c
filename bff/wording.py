"""The wording a shopper saw: the registry version a ledger event names, loaded again from its stored
document, and the texts of a preference type under it (history, export, receipts)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from preference_registry import RegistrySnapshot, load_registry

__all__ = ["parse_stored_version", "snapshot_for_version", "texts_in_locale"]


@lru_cache(maxsize=32)
def parse_stored_version(source_text: str, fmt: str) -> RegistrySnapshot | None:
    """The snapshot of a stored registry document (cached: history and exports ask for the same few
    versions again and again); ``None`` for an old version that today's loader refuses, so the event is
    shown without its wording instead of failing."""
    try:
        return load_registry(source_text, fmt)  # type: ignore[arg-type]
    except ValueError:
        return None


def snapshot_for_version(
    version: str, current: RegistrySnapshot, sources: dict[str, tuple[str, str]]
) -> RegistrySnapshot | None:
    """The snapshot of ``version``: ``current`` when it is that version, else parsed from ``sources``
    (``version -> (source_text, format)``, see :func:`bff.storage.registry_versions.registry_sources`);
    ``None`` when it is not stored or no longer loads."""
    if version == current.version:
        return current
    return parse_stored_version(*sources[version]) if version in sources else None


def texts_in_locale(snapshot: RegistrySnapshot, pref: Any, locale: str) -> dict[str, Any]:
    """Everything ``text_hash`` covers, in one locale: what the shopper read."""
    return snapshot.localized_texts(pref, locale)  # the registry's one list of shopper texts
