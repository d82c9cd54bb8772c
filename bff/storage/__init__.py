"""Storage of the BFF: tables, engines, the consent ledger and migrations."""

from __future__ import annotations

from .engine import Database, is_sqlite
from .ledger import BrokenLink, EventDraft, append_events, verify_chain
from .migrate import upgrade as migrate
from .models import AnonymousCounter, ConsentEvent, PreferenceState, RegistryVersionRow, SubjectLink

__all__ = [
    "AnonymousCounter",
    "BrokenLink",
    "ConsentEvent",
    "Database",
    "EventDraft",
    "PreferenceState",
    "RegistryVersionRow",
    "SubjectLink",
    "append_events",
    "is_sqlite",
    "migrate",
    "verify_chain",
]
