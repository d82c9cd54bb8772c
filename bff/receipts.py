"""Consent receipts: the proof of one consent decision, after the Kantara Initiative Consent Receipt
(controller, purpose, data categories, mechanism, wording version and hash, collection method, how to
withdraw), with its plain-text rendering."""

from __future__ import annotations

import uuid
from typing import Literal

from preference_registry import RegistrySnapshot

from .rights_documents import RECEIPT_FORMAT, ConsentReceipt, Controller, ExportedEvent

__all__ = ["COLLECTION_METHODS", "consent_receipt", "controller_of", "decision_of"]

_RECEIPT_NAMESPACE = uuid.UUID("6f1b2f0e-51c5-4d0e-9a57-70726566636b")

COLLECTION_METHODS = {
    "ui": "chosen by the shopper in the preference center",
    "api": "chosen by the shopper through the shop's website (API call)",
    "accept_all": "'accept all' button",
    "reject_all": "'reject all' button",
    "gpc": "Global Privacy Control signal sent by the shopper's browser",
    "expiry": "consent expired after its validity period",
    "merge": "taken over from the shopper's anonymous visit on login",
    "withdraw": "withdrawn by the shopper",
}
"""How each ledger ``method`` collected the decision, in the receipt's words."""


def controller_of(snapshot: RegistrySnapshot) -> Controller:
    """The data controller as ``snapshot`` names it."""
    shop = snapshot.shop
    return Controller(
        name=shop.name, contact=shop.controller_contact, privacy_policy_url=shop.privacy_policy_url
    )


def decision_of(event: ExportedEvent) -> Literal["granted", "refused", "withdrawn", "expired"]:
    """What a consent event decided."""
    if event.method == "expiry":
        return "expired"
    if event.new_value is True:
        return "granted"
    return "withdrawn" if event.old_value is True else "refused"


def consent_receipt(event: ExportedEvent, snapshot: RegistrySnapshot, locale: str) -> ConsentReceipt:
    """The receipt of consent ``event`` (which has its ``wording``), made under ``snapshot`` (the registry
    version the event names), with texts in ``locale`` (else that version's default locale)."""
    assert event.wording is not None
    shown = locale if locale in event.wording.texts else snapshot.default_locale
    texts = event.wording.texts[shown]
    controller = controller_of(snapshot)
    decision = decision_of(event)
    method = COLLECTION_METHODS.get(event.method, event.method)
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
