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

**Events.** An erasure publishes one :class:`~bff.events.ChangeEvent` (method ``erasure``) after its
transaction commits: the subject, the anonymous subjects erased with it (``linked_subjects``) and the
stored decisions removed (old value -> the default), so that open widgets show defaults and downstream
systems can erase too.

Layout: the documents (structs) are ``bff/rights_documents.py``, receipt text ``bff/receipts.py``, the
wording of old versions ``bff/wording.py``, the SQL ``bff/storage/subjects.py`` (and ``links.py``,
``ledger.py``); this module is the orchestration.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlalchemy.engine import Connection

from preference_registry import ConsentType, RegistrySnapshot

from .events import ChangeEvent, KeyChange
from .identity import CUSTOMER_PREFIX
from .receipts import consent_receipt, controller_of
from .rights_documents import (
    EXPORT_FORMAT,
    RECEIPT_FORMAT,
    ChainReport,
    ConsentReceipt,
    Controller,
    ErasureReceipt,
    ExportedEvent,
    ExportedPreference,
    LinkedIdentity,
    StoredChoice,
    SubjectExport,
    Wording,
)
from .service import PreferenceService
from .storage import as_utc, verify_chain
from .storage.ledger import events_of
from .storage.links import customer_of, links_into, merged_into
from .storage.registry_versions import registry_sources
from .storage.subjects import Erased, anonymous_counters, counter_name, erase_subjects, stored_rows
from .wording import snapshot_for_version, texts_in_locale

# The documents this returns are bff.rights_documents' own public names; import them from there.
__all__ = ["SubjectRights", "anonymous_counters", "counter_name"]

_KEPT = (
    "nothing that names or links to you: only anonymous totals (how many erasures happened and, per "
    "preference and value, how many erased shoppers had chosen it)"
)


def _kind(subject: str) -> Literal["anonymous", "customer"]:
    return "customer" if subject.startswith(CUSTOMER_PREFIX) else "anonymous"


def _chain_report(connection: Connection, owner: str, events: int) -> ChainReport:
    broken = verify_chain(connection, owner)
    if broken is None:
        return ChainReport(subject=owner, events=events, valid=True)
    return ChainReport(
        subject=owner, events=events, valid=False, broken_at_seq=broken.seq, reason=broken.reason
    )


def _erasure_event(
    subject: str, erased: Erased, merged: list[str], snapshot: RegistrySnapshot, now: Any
) -> ChangeEvent:
    """What an erasure changed: the stored decisions removed (each back to its default) and the linked
    subjects erased with it."""
    return ChangeEvent(
        subject=subject,
        method="erasure",
        changes=tuple(
            KeyChange(
                key=key,
                old_value=value,
                new_value=snapshot.default_value(key) if key in snapshot else None,
                text_hash=snapshot.text_hash(key) if key in snapshot else "",
                registry_version=snapshot.version,
            )
            for key, value in erased.stored
        ),
        registry_version=snapshot.version,
        at=now,
        linked_subjects=tuple(merged),
    )


class SubjectRights:
    """Export and erasure for subjects of one :class:`~bff.service.PreferenceService`."""

    def __init__(self, service: PreferenceService) -> None:
        self.service = service
        """Whose database, registry and event bus are used."""

    # -- export ---------------------------------------------------------------------------------
    async def export(self, subject: str, *, locale: str | None = None, gpc: bool = False) -> SubjectExport:
        """Everything stored about ``subject`` (receipts' texts in ``locale``)."""
        effective = await self.service.effective(subject, gpc=gpc)
        snapshot = self.service.registry.current
        chosen = locale if locale in snapshot.locales else snapshot.default_locale
        identities, stored, rows, chains, sources = await self.service.database.offload.call(
            self._read_all, subject
        )
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
        receipts = []
        for event in history:
            if event.wording is None or event.wording.mechanism is None:
                continue  # not a consent, or its wording is lost: nothing a receipt could prove
            shown_under = snapshot_for_version(event.wording.registry_version, snapshot, sources)
            assert shown_under is not None  # the wording was found in it
            receipts.append(consent_receipt(event, shown_under, chosen))
        return SubjectExport(
            format=EXPORT_FORMAT,
            exported_at=self.service.clock(),
            subject=subject,
            subject_kind=_kind(subject),
            controller=controller_of(snapshot),
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
            identities += [
                LinkedIdentity(
                    subject=anonymous,
                    kind="anonymous",
                    relation="merged-into-self",
                    linked_at=as_utc(linked_at),
                )
                for anonymous, _customer, linked_at in links_into(connection, subject)
            ]
            into = customer_of(connection, subject)
            if into is not None:
                _anonymous, customer, linked_at = into
                identities.append(
                    LinkedIdentity(
                        subject=customer,
                        kind="customer",
                        relation="self-merged-into",
                        linked_at=as_utc(linked_at),
                    )
                )
            stored = {
                row.key: StoredChoice(
                    value=row.value,
                    decided_at=as_utc(row.decided_at),
                    registry_version=row.registry_version,
                    text_hash=row.text_hash,
                    made_under_gpc=bool(row.made_under_gpc),
                )
                for row in stored_rows(connection, subject)
            }
            # The customer's own chain is not exported to an anonymous subject merged into it: only its own
            # and the anonymous chains the caller owns.
            owned = [identity.subject for identity in identities if identity.relation != "self-merged-into"]
            rows = events_of(connection, owned)
            chains = [
                _chain_report(connection, owner, sum(1 for row in rows if row.subject == owner))
                for owner in owned
            ]
            sources = registry_sources(connection, {row.registry_version for row in rows})
        return identities, stored, rows, chains, sources

    @staticmethod
    def _event(row: Any, current: RegistrySnapshot, sources: dict[str, tuple[str, str]]) -> ExportedEvent:
        snapshot = snapshot_for_version(row.registry_version, current, sources)
        # The wording the event's hash names: the type as declared, or the experiment arm the shopper saw.
        shown = snapshot.wording_for(row.key, row.text_hash) if snapshot is not None else None
        pref = shown or (snapshot.get(row.key) if snapshot is not None else None)
        wording = None
        if snapshot is not None and pref is not None:
            consent = pref if isinstance(pref, ConsentType) else None
            wording = Wording(
                registry_version=row.registry_version,
                text_hash_verified=shown is not None,
                texts={locale: texts_in_locale(snapshot, pref, locale) for locale in snapshot.locales},
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
            created_at=as_utc(row.created_at),
            made_under_gpc=bool(row.made_under_gpc),
            text_hash=row.text_hash,
            prev_hash=row.prev_hash,
            hash=row.hash,
            wording=wording,
        )

    # -- erasure --------------------------------------------------------------------------------
    async def erase(self, subject: str) -> ErasureReceipt:
        """Delete everything stored about ``subject`` (and anonymous subjects merged into it); bump the
        anonymous counters. One transaction: an erasure is never half done. Publishes one ``erasure``
        :class:`~bff.events.ChangeEvent` once it has committed."""
        service = self.service
        database = service.database
        now = service.clock()
        snapshot = service.registry.current

        def read_merged() -> list[str]:
            with database.read() as connection:
                return merged_into(connection, subject)

        # Read first, to take every subject's write lock (PostgreSQL); read again under the locks, where
        # the set cannot grow (a merge into ``subject`` needs its lock).
        locked = [subject, *await database.offload.call(read_merged)]

        def work(connection: Connection) -> tuple[Erased, ChangeEvent]:
            merged = merged_into(connection, subject) if subject.startswith(CUSTOMER_PREFIX) else []
            erased = erase_subjects(connection, subject, merged)
            return erased, _erasure_event(subject, erased, merged, snapshot, now)

        erased, _event = await service.run_recorded(locked, work, recorded=lambda result: (result[1],))
        return ErasureReceipt(
            receipt_id=str(uuid.uuid4()),
            erased_at=now,
            controller=controller_of(snapshot),
            subjects_erased=len(erased.subjects),
            preferences_removed=erased.preferences,
            ledger_events_removed=erased.events,
            identity_links_removed=erased.links,
            kept=_KEPT,
            cookie_cleared=True,
        )
