"""The documents of the GDPR subject rights (``bff/rights.py``): the subject export (art. 15/20), its
consent receipts and the erasure receipt (art. 17). Wire format: their JSON encoding (``EXPORT_FORMAT``,
``RECEIPT_FORMAT``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

__all__ = [
    "EXPORT_FORMAT",
    "RECEIPT_FORMAT",
    "ChainReport",
    "ConsentReceipt",
    "Controller",
    "ErasureReceipt",
    "ExportedEvent",
    "ExportedPreference",
    "LinkedIdentity",
    "StoredChoice",
    "SubjectExport",
    "Wording",
]

EXPORT_FORMAT = "prefkit-subject-export/1"
RECEIPT_FORMAT = "prefkit-consent-receipt/1 (after Kantara Initiative Consent Receipt v1.1)"


class Controller(msgspec.Struct, frozen=True, kw_only=True):
    """The data controller as the registry names it."""

    name: str
    """Shop name."""
    contact: str | None
    """Controller contact (``shop.controller_contact``)."""
    privacy_policy_url: str | None
    """Privacy policy (``shop.privacy_policy_url``)."""


class StoredChoice(msgspec.Struct, frozen=True, kw_only=True):
    """A stored ``preference_state`` row."""

    value: Any
    """The chosen value."""
    decided_at: datetime
    """When (UTC)."""
    registry_version: str
    """Registry version in force then."""
    text_hash: str
    """Hash of the wording shown then."""
    made_under_gpc: bool
    """The browser sent ``Sec-GPC: 1`` then."""


class ExportedPreference(msgspec.Struct, frozen=True, kw_only=True):
    """One preference of the subject: what is in effect and what is stored."""

    key: str
    """Preference key."""
    kind: str | None
    """``consent``, ``slider``, ``filter``; ``None`` when the key is no longer in the registry."""
    effective_value: Any
    """The value in effect now (``None`` for a key no longer in the registry)."""
    source: str | None
    """Source of the effective value: ``default``, ``explicit``, ``gpc``, ``expired``, ``requires-unmet``."""
    stored: StoredChoice | None
    """The stored decision, if any."""


class Wording(msgspec.Struct, frozen=True, kw_only=True):
    """What the shopper was shown for one preference under one registry version."""

    registry_version: str
    """The version the event names."""
    text_hash_verified: bool
    """That version's wording of the key hashes to the event's ``text_hash``."""
    texts: dict[str, dict[str, Any]]
    """Per locale: ``title``, ``description``, ``data_used``, ``benefit`` (and a slider's ``stops``, a
    filter's ``options`` with their labels)."""
    purpose: str | None = None
    """Consent purpose."""
    mechanism: str | None = None
    """Consent mechanism (``opt_in``, ``opt_out``, ``notice_only``)."""


class ExportedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One ledger event, as stored, with its wording."""

    subject: str
    """The subject whose chain it belongs to (self or a merged anonymous subject)."""
    seq: int
    """Position in that chain."""
    key: str
    """Preference key."""
    old_value: Any
    """Value before."""
    new_value: Any
    """Value after."""
    method: str
    """``ui``, ``api``, ``accept_all``, ``reject_all``, ``gpc``, ``expiry``, ``merge``..."""
    created_at: datetime
    """When (UTC)."""
    made_under_gpc: bool
    """The browser sent ``Sec-GPC: 1``."""
    text_hash: str
    """Hash of the wording shown."""
    prev_hash: str
    """Previous event's hash."""
    hash: str
    """This event's chain hash."""
    wording: Wording | None
    """The wording, or ``None`` when the registry version is not stored or no longer loads."""


class LinkedIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """A subject id that is, or was linked to, the caller."""

    subject: str
    """``anon:...`` or ``cust:...``."""
    kind: Literal["anonymous", "customer"]
    """Kind of subject."""
    relation: Literal["self", "merged-into-self", "self-merged-into"]
    """The caller itself; an anonymous subject merged into the caller; the customer the caller merged into."""
    linked_at: datetime | None = None
    """When the merge happened."""


class ChainReport(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Verification of one subject's ledger chain."""

    subject: str
    """Whose chain."""
    events: int
    """Number of events."""
    valid: bool
    """Every event verifies."""
    broken_at_seq: int | None = None
    """First event that does not verify."""
    reason: str | None = None
    """Why."""


class ConsentReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """Proof of one consent decision (fields after the Kantara Initiative Consent Receipt)."""

    receipt_id: str
    """Stable id derived from the ledger event's hash (the same decision always has the same receipt id)."""
    receipt_format: str
    """Receipt format."""
    jurisdiction: str
    """Law the consent is given under."""
    consent_timestamp: datetime
    """When the decision was recorded."""
    subject: str
    """The subject id the decision belongs to."""
    controller: Controller
    """Who the consent is given to, as named by the registry version in force."""
    purpose_key: str
    """Preference key."""
    purpose_category: str | None
    """The registry's purpose of the consent."""
    purpose_title: str | None
    """Title shown, in the receipt's locale."""
    purpose_description: str | None
    """Description shown, in the receipt's locale."""
    data_categories: list[str]
    """The data used for the purpose, in the receipt's locale."""
    decision: Literal["granted", "refused", "withdrawn", "expired"]
    """What was decided."""
    mechanism: str | None
    """``opt_in``, ``opt_out`` or ``notice_only``."""
    collection_method: str
    """How the decision was collected."""
    wording_version: str
    """Registry version whose wording was shown."""
    wording_hash: str
    """Hash of that wording (``text_hash``)."""
    wording_verified: bool
    """The stored registry version still hashes to ``wording_hash``."""
    ledger_event_hash: str
    """Hash of the ledger event (verify with the chain)."""
    how_to_withdraw: str
    """One action that withdraws it."""
    locale: str
    """Locale of the texts in this receipt."""
    human_readable: str
    """The receipt as plain text."""


class SubjectExport(msgspec.Struct, frozen=True, kw_only=True):
    """Everything prefkit stores about the caller."""

    format: str
    """Export format version."""
    exported_at: datetime
    """When this export was made."""
    subject: str
    """The caller's subject id."""
    subject_kind: str
    """``anonymous`` or ``customer``."""
    controller: Controller
    """The data controller (active registry)."""
    registry_version: str
    """Registry version the effective values were computed with."""
    identities: list[LinkedIdentity]
    """The caller and every linked subject."""
    preferences: list[ExportedPreference]
    """Every preference: effective value and stored decision (also stored keys no longer in the registry)."""
    history: list[ExportedEvent]
    """Every ledger event of every subject in ``identities`` (oldest first per subject)."""
    chains: list[ChainReport]
    """Hash-chain verification per subject."""
    receipts: list[ConsentReceipt]
    """One receipt per consent decision in ``history``."""


class ErasureReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """What an erasure removed (returned to the shopper once; prefkit keeps no copy)."""

    receipt_id: str
    """Random id of this erasure."""
    erased_at: datetime
    """When (UTC)."""
    controller: Controller
    """The data controller."""
    subjects_erased: int
    """The caller plus anonymous subjects merged into it."""
    preferences_removed: int
    """Stored decisions deleted."""
    ledger_events_removed: int
    """Ledger events deleted."""
    identity_links_removed: int
    """``subject_link`` rows deleted."""
    kept: str
    """What prefkit keeps, in words."""
    cookie_cleared: bool
    """The subject cookie was cleared by this response."""
