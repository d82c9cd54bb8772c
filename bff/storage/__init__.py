"""Storage of the BFF: tables, engines, the consent ledger and migrations.

Every SQL statement of prefkit lives in this package, behind public functions that take a connection
(inside the caller's transaction): :mod:`.state` (stored decisions), :mod:`.ledger` (the hash-chained
consent ledger), :mod:`.links` (merged subjects), :mod:`.registry_versions` (stored registry documents),
:mod:`.subjects` (export/erasure across tables). The services (``bff/service.py``, ``bff/rights.py``)
decide what to write; they never build SQL.
"""

from __future__ import annotations

from .engine import Database, is_sqlite
from .ledger import BrokenLink, EventDraft, append_events, verify_chain
from .migrate import upgrade as migrate
from .models import AnonymousCounter, ConsentEvent, PreferenceState, RegistryVersionRow, SubjectLink
from .times import as_utc

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
    "as_utc",
    "is_sqlite",
    "migrate",
    "verify_chain",
]
