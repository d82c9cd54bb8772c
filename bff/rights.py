"""GDPR subject rights: export everything stored about a subject (art. 15/20) and erase it (art. 17).

:class:`SubjectRights` works on the same database and registry as :class:`~bff.service.PreferenceService`;
its HTTP face is ``bff/api/rights.py`` (``GET /api/v1/me/export``, ``DELETE /api/v1/me``), added to an
app by :class:`bff.rights_plugin.RightsPlugin`.

**What a subject is.** The caller's own subject plus, for a customer, every anonymous subject merged into
it on login (``subject_link``): that is the same person's earlier browsing, so it is exported and erased
together. An anonymous subject that was merged into a customer can only drop the link itself: it cannot
prove it is that customer.

**Export.** Every stored decision, the effective value of every preference, the full ledger of every
subject above with the wording shown at each decision (all locales, looked up in the ``registry_version``
row the event names, and whether that wording still hashes to the event's ``text_hash``), the hash-chain
verification, the linked identities, and one consent receipt per consent decision in the spirit of the
Kantara Initiative Consent Receipt (controller, purpose, data categories, mechanism, wording version and
hash, collection method, how to withdraw) with a plain-text rendering.

**Erasure: delete, do not pseudonymize.** The subject's ``preference_state`` rows, ``consent_event``
rows and ``subject_link`` rows are deleted in one transaction. Keeping the ledger with the subject id
replaced would not make it anonymous: a chain of timestamped decisions is itself a fingerprint, and the
chain hashes cover the subject id, so rewriting it would either break verification or need the chain to be
re-hashed (destroying its value as proof anyway). What survives is ``anonymous_counter``: the number of
erasures and, per preference key and final value, how many erased subjects held it — counts without any
subject, time or order. The proof of consent is needed only while the consent is relied upon; after an
erasure nothing is relied upon any more, and the erasure receipt (returned once, not stored) is the
shopper's proof that it happened.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

import anyio.to_thread
import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from preference_registry import ConsentType, FilterType, RegistrySnapshot, SliderType

from .identity import CUSTOMER_PREFIX
from .service import PreferenceService, _parse_version
from .storage import (
    AnonymousCounter,
    ConsentEvent,
    PreferenceState,
    SubjectLink,
    verify_chain,
)
from .storage.models import registry_sources

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
    "SubjectRights",
    "Wording",
    "anonymous_counters",
    "counter_name",
]

EXPORT_FORMAT = "prefkit-subject-export/1"
RECEIPT_FORMAT = "prefkit-consent-receipt/1 (after Kantara Initiative Consent Receipt v1.1)"

_state = PreferenceState.__table__  # type: ignore[attr-defined]
_events = ConsentEvent.__table__  # type: ignore[attr-defined]
_links = SubjectLink.__table__  # type: ignore[attr-defined]
_counters = AnonymousCounter.__table__  # type: ignore[attr-defined]
_canonical = msgspec.json.Encoder(order="sorted")
_RECEIPT_NAMESPACE = uuid.UUID("6f1b2f0e-51c5-4d0e-9a57-70726566636b")

_COLLECTION_METHODS = {
    "ui": "chosen by the shopper in the preference center",
    "api": "chosen by the shopper through the shop's website (API call)",
    "accept_all": "'accept all' button",
    "reject_all": "'reject all' button",
    "gpc": "Global Privacy Control signal sent by the shopper's browser",
    "expiry": "consent expired after its validity period",
    "merge": "taken over from the shopper's anonymous visit on login",
    "withdraw": "withdrawn by the shopper",
}


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


def _kind(subject: str) -> Literal["anonymous", "customer"]:
    return "customer" if subject.startswith(CUSTOMER_PREFIX) else "anonymous"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _controller(snapshot: RegistrySnapshot) -> Controller:
    shop = snapshot.shop
    return Controller(
        name=shop.name, contact=shop.controller_contact, privacy_policy_url=shop.privacy_policy_url
    )


def _texts(snapshot: RegistrySnapshot, pref: Any, locale: str) -> dict[str, Any]:
    """Everything ``text_hash`` covers, in one locale: what the shopper read."""
    texts: dict[str, Any] = {
        "title": snapshot.text(pref.title, locale),
        "description": snapshot.text(pref.description, locale),
        "data_used": snapshot.text_list(pref.data_used, locale),
        "benefit": snapshot.text(pref.benefit, locale),
    }
    if isinstance(pref, SliderType) and pref.stops:
        texts["stops"] = [
            {"value": stop.value, "label": snapshot.text(stop.label, locale)} for stop in pref.stops
        ]
    if isinstance(pref, FilterType):
        texts["options"] = [
            {"key": option.key, "label": snapshot.text(option.label, locale)} for option in pref.options
        ]
    return texts


def _decision(event: ExportedEvent) -> Literal["granted", "refused", "withdrawn", "expired"]:
    if event.method == "expiry":
        return "expired"
    if event.new_value is True:
        return "granted"
    return "withdrawn" if event.old_value is True else "refused"


def counter_name(key: str, value: Any) -> str:
    """``anonymous_counter`` name for "an erased subject had ``value`` for ``key``"."""
    return f"erased:{key}={_canonical.encode(value).decode()}"[:200]


def anonymous_counters(connection: Connection) -> dict[str, int]:
    """Every anonymous counter (for operators and tests)."""
    return {row.name: row.count for row in connection.execute(sa.select(_counters.c.name, _counters.c.count))}


def _bump(connection: Connection, names: Iterable[str]) -> None:
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for name in names:
        # An upsert per counter: concurrent erasures of different subjects add up instead of overwriting.
        statement = insert(_counters).values(name=name, count=1)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[_counters.c.name], set_={"count": _counters.c.count + 1}
            )
        )


class SubjectRights:
    """Export and erasure for subjects of one :class:`~bff.service.PreferenceService`."""

    def __init__(self, service: PreferenceService) -> None:
        self.service = service
        """Whose database and registry are used."""

    # -- export ---------------------------------------------------------------------------------
    async def export(self, subject: str, *, locale: str | None = None, gpc: bool = False) -> SubjectExport:
        """Everything stored about ``subject`` (receipts' texts in ``locale``)."""
        effective = await self.service.effective(subject, gpc=gpc)
        snapshot = self.service.registry.current
        chosen = locale if locale in snapshot.locales else snapshot.default_locale
        identities, stored, rows, chains, sources = await anyio.to_thread.run_sync(self._read_all, subject)
        preferences = [
            ExportedPreference(
                key=key,
                kind=value.kind,
                effective_value=value.value,
                source=value.source,
                stored=stored.get(key),
            )
            for key, value in effective.items()
        ]
        preferences += [
            ExportedPreference(key=key, kind=None, effective_value=None, source=None, stored=choice)
            for key, choice in stored.items()
            if key not in effective
        ]
        history = [self._event(row, snapshot, sources) for row in rows]
        receipts = [
            self._receipt(event, snapshot, sources, chosen)
            for event in history
            if event.wording is not None and event.wording.mechanism is not None
        ]
        return SubjectExport(
            format=EXPORT_FORMAT,
            exported_at=self.service.clock(),
            subject=subject,
            subject_kind=_kind(subject),
            controller=_controller(snapshot),
            registry_version=snapshot.version,
            identities=identities,
            preferences=preferences,
            history=history,
            chains=chains,
            receipts=receipts,
        )

    def _read_all(
        self, subject: str
    ) -> tuple[
        list[LinkedIdentity],
        dict[str, StoredChoice],
        list[Any],
        list[ChainReport],
        dict[str, tuple[str, str]],
    ]:
        with self.service.database.read() as connection:
            identities = [LinkedIdentity(subject=subject, kind=_kind(subject), relation="self")]
            merged = connection.execute(
                sa.select(_links).where(_links.c.customer_subject == subject).order_by(_links.c.linked_at)
            ).all()
            identities += [
                LinkedIdentity(
                    subject=row.anonymous_subject,
                    kind="anonymous",
                    relation="merged-into-self",
                    linked_at=_utc(row.linked_at),
                )
                for row in merged
            ]
            into = connection.execute(sa.select(_links).where(_links.c.anonymous_subject == subject)).first()
            if into is not None:
                identities.append(
                    LinkedIdentity(
                        subject=into.customer_subject,
                        kind="customer",
                        relation="self-merged-into",
                        linked_at=_utc(into.linked_at),
                    )
                )
            stored = {
                row.key: StoredChoice(
                    value=row.value,
                    decided_at=_utc(row.decided_at),
                    registry_version=row.registry_version,
                    text_hash=row.text_hash,
                    made_under_gpc=bool(row.made_under_gpc),
                )
                for row in connection.execute(sa.select(_state).where(_state.c.subject == subject))
            }
            # The customer's own chain is not exported to an anonymous subject merged into it: only its own
            # and the anonymous chains the caller owns.
            owned = [identity.subject for identity in identities if identity.relation != "self-merged-into"]
            rows = connection.execute(
                sa.select(_events)
                .where(_events.c.subject.in_(owned))
                .order_by(_events.c.subject, _events.c.seq)
            ).all()
            chains = []
            for owner in owned:
                count = sum(1 for row in rows if row.subject == owner)
                broken = verify_chain(connection, owner)
                chains.append(
                    ChainReport(subject=owner, events=count, valid=True)
                    if broken is None
                    else ChainReport(
                        subject=owner,
                        events=count,
                        valid=False,
                        broken_at_seq=broken.seq,
                        reason=broken.reason,
                    )
                )
            versions = {row.registry_version for row in rows}
            sources = registry_sources(connection, versions)
        return identities, stored, rows, chains, sources

    @staticmethod
    def _snapshot_of(
        version: str, current: RegistrySnapshot, sources: dict[str, tuple[str, str]]
    ) -> RegistrySnapshot | None:
        if version == current.version:
            return current
        return _parse_version(*sources[version]) if version in sources else None

    def _event(
        self, row: Any, current: RegistrySnapshot, sources: dict[str, tuple[str, str]]
    ) -> ExportedEvent:
        snapshot = self._snapshot_of(row.registry_version, current, sources)
        pref = snapshot.get(row.key) if snapshot is not None else None
        wording = None
        if snapshot is not None and pref is not None:
            consent = pref if isinstance(pref, ConsentType) else None
            wording = Wording(
                registry_version=row.registry_version,
                text_hash_verified=snapshot.text_hash(row.key) == row.text_hash,
                texts={locale: _texts(snapshot, pref, locale) for locale in snapshot.locales},
                purpose=consent.purpose if consent else None,
                mechanism=consent.mechanism.value if consent else None,
            )
        return ExportedEvent(
            subject=row.subject,
            seq=row.seq,
            key=row.key,
            old_value=row.old_value,
            new_value=row.new_value,
            method=row.method,
            created_at=_utc(row.created_at),
            made_under_gpc=bool(row.made_under_gpc),
            text_hash=row.text_hash,
            prev_hash=row.prev_hash,
            hash=row.hash,
            wording=wording,
        )

    def _receipt(
        self,
        event: ExportedEvent,
        current: RegistrySnapshot,
        sources: dict[str, tuple[str, str]],
        locale: str,
    ) -> ConsentReceipt:
        assert event.wording is not None
        snapshot = self._snapshot_of(event.wording.registry_version, current, sources)
        assert snapshot is not None
        shown = locale if locale in event.wording.texts else snapshot.default_locale
        texts = event.wording.texts[shown]
        controller = _controller(snapshot)
        decision = _decision(event)
        method = _COLLECTION_METHODS.get(event.method, event.method)
        title = texts["title"] or event.key
        withdraw = (
            f"Switch off \"{title}\" in the shop's preference center (or 'Reject all'), or send "
            f"DELETE /api/v1/preferences/{event.key}; withdrawing is as easy as giving consent"
            + (f". Questions: {controller.contact}" if controller.contact else "")
        )
        receipt_id = str(uuid.uuid5(_RECEIPT_NAMESPACE, event.hash))
        lines = [
            f"CONSENT RECEIPT {receipt_id}",
            f"Controller: {controller.name}" + (f" ({controller.contact})" if controller.contact else ""),
            *([f"Privacy policy: {controller.privacy_policy_url}"] if controller.privacy_policy_url else []),
            f"Subject: {event.subject}",
            f"Purpose: {title} [{event.wording.purpose}]",
            *([f"What it means: {texts['description']}"] if texts["description"] else []),
            f"Data used: {', '.join(texts['data_used']) or 'not specified'}",
            f"Decision: {decision} ({event.wording.mechanism}) on {event.created_at.isoformat()}",
            f"Collected: {method}"
            + (" (browser sent Global Privacy Control)" if event.made_under_gpc else ""),
            f"Wording: registry version {event.wording.registry_version}, text hash {event.text_hash}"
            + ("" if event.wording.text_hash_verified else " (NOT matching the stored registry version)"),
            f"Ledger event: {event.subject} #{event.seq}, hash {event.hash}",
            f"How to withdraw: {withdraw}",
        ]
        return ConsentReceipt(
            receipt_id=receipt_id,
            receipt_format=RECEIPT_FORMAT,
            jurisdiction="EU (GDPR art. 6(1)(a), 7)",
            consent_timestamp=event.created_at,
            subject=event.subject,
            controller=controller,
            purpose_key=event.key,
            purpose_category=event.wording.purpose,
            purpose_title=texts["title"],
            purpose_description=texts["description"],
            data_categories=list(texts["data_used"]),
            decision=decision,
            mechanism=event.wording.mechanism,
            collection_method=method,
            wording_version=event.wording.registry_version,
            wording_hash=event.text_hash,
            wording_verified=event.wording.text_hash_verified,
            ledger_event_hash=event.hash,
            how_to_withdraw=withdraw,
            locale=shown,
            human_readable="\n".join(lines),
        )

    # -- erasure --------------------------------------------------------------------------------
    async def erase(self, subject: str) -> ErasureReceipt:
        """Delete everything stored about ``subject`` (and anonymous subjects merged into it); bump the
        anonymous counters. One transaction: an erasure is never half done."""
        now = self.service.clock()
        counts = await anyio.to_thread.run_sync(self._erase, subject)
        # Open widgets of this subject re-render with defaults.
        self.service._notify(subject, [pref.key for pref in self.service.registry.current.preferences])
        preferences, events, links, subjects = counts
        return ErasureReceipt(
            receipt_id=str(uuid.uuid4()),
            erased_at=now,
            controller=_controller(self.service.registry.current),
            subjects_erased=subjects,
            preferences_removed=preferences,
            ledger_events_removed=events,
            identity_links_removed=links,
            kept=(
                "nothing that names or links to you: only anonymous totals (how many erasures happened "
                "and, per "
                "preference and value, how many erased shoppers had chosen it)"
            ),
            cookie_cleared=True,
        )

    def _erase(self, subject: str) -> tuple[int, int, int, int]:
        database = self.service.database
        with database.read() as connection:
            merged = list(
                connection.execute(
                    sa.select(_links.c.anonymous_subject).where(_links.c.customer_subject == subject)
                ).scalars()
            )
        with database.write([subject, *merged]) as connection:
            # Again under the locks: the set cannot grow now (a merge into ``subject`` needs its lock).
            merged = list(
                connection.execute(
                    sa.select(_links.c.anonymous_subject).where(_links.c.customer_subject == subject)
                ).scalars()
            )
            subjects = [subject, *merged] if subject.startswith(CUSTOMER_PREFIX) else [subject]
            final = connection.execute(
                sa.select(_state.c.key, _state.c.value).where(_state.c.subject == subject)
            ).all()
            preferences = connection.execute(sa.delete(_state).where(_state.c.subject.in_(subjects))).rowcount
            events = connection.execute(sa.delete(_events).where(_events.c.subject.in_(subjects))).rowcount
            links = connection.execute(
                sa.delete(_links).where(
                    sa.or_(_links.c.customer_subject == subject, _links.c.anonymous_subject == subject)
                )
            ).rowcount
            _bump(connection, ["erasures", *(counter_name(row.key, row.value) for row in final)])
        return preferences, events, links, len(subjects)
