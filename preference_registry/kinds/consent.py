"""The ``consent`` kind: a toggle for one data-use purpose (GDPR consent or legitimate interest)."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

from ..common import Key, PreferenceBase
from ..errors import RegistryIssue, ValueValidationError
from .base import CheckContext, Kind, quote_value
from .consent_mode import ConsentMode, check_consent_mode, check_consent_modes

__all__ = ["KIND", "ConsentMechanism", "ConsentType"]


class ConsentMechanism(str, enum.Enum):
    """How a consent starts and whether the shopper can change it."""

    OPT_IN = "opt_in"
    """Starts off; only the shopper can switch it on (GDPR: never pre-ticked)."""
    OPT_OUT = "opt_out"
    """Starts on; the shopper can switch it off (legitimate interest)."""
    NOTICE_ONLY = "notice_only"
    """Strictly necessary processing: shown for transparency, not switchable."""


class ConsentType(PreferenceBase, tag="consent", kw_only=True):
    """A consent toggle for one data-use purpose."""

    purpose: Key
    """Data-use purpose: ``recommendations``, ``analytics``, ``marketing`` or a merchant-defined one."""
    mechanism: ConsentMechanism = ConsentMechanism.OPT_IN
    """``opt_in`` (default), ``opt_out`` or ``notice_only``."""
    gpc: bool = False
    """Whether a Global Privacy Control signal (``Sec-GPC: 1``) turns it off."""
    expires_after_days: Annotated[int, Meta(ge=1, le=3650)] | None = None
    """Re-consent interval: a decision older than this reverts to the default."""
    default: bool | None = None
    """Optional, and only to restate the mechanism: ``opt_in`` can never default to on."""
    consent_mode: ConsentMode | None = None
    """Google Consent Mode v2 types this consent grants on the shop's pages (see
    :mod:`preference_registry.kinds.consent_mode`); none: the page hears nothing of it."""

    kind: ClassVar[str] = "consent"

    @property
    def default_value(self) -> bool:
        return self.mechanism is not ConsentMechanism.OPT_IN

    @property
    def switchable(self) -> bool:
        return self.mechanism is not ConsentMechanism.NOTICE_ONLY


def _value_type(pref: ConsentType) -> Any:
    description = f"Value of `{pref.key}` ({pref.kind})."
    if not pref.switchable:
        return Annotated[Literal[True], Meta(description=description + " Not switchable.")]
    return Annotated[bool, Meta(description=description + " true = granted.")]


def _value_schema(pref: ConsentType) -> dict[str, Any]:
    return msgspec.json.schema(_value_type(pref))


def _validate_value(pref: ConsentType, raw: Any) -> bool:
    if not pref.switchable:
        if raw is True:
            return True  # restating the fixed value is no change (the BFF records nothing for it)
        raise ValueValidationError(pref.key, "this is notice-only processing (strictly necessary) and cannot "
                                   "be switched", expected="no change", got=quote_value(raw))
    if not isinstance(raw, bool):
        raise ValueValidationError(pref.key, "a consent is granted (true) or not (false)",
                                   expected="boolean", got=quote_value(raw))
    return raw


def _default_value(pref: ConsentType) -> bool:
    return pref.default_value


def _check(ctx: CheckContext, pref: ConsentType, path: str) -> Iterator[RegistryIssue]:
    mechanism = pref.mechanism
    if mechanism is None:
        return  # unreadable: every rule here depends on it
    if pref.default is not None and pref.default != pref.default_value:
        if mechanism is ConsentMechanism.OPT_IN:
            message = "an opt_in consent can never default to on (GDPR: no pre-ticked consent)"
        elif mechanism is ConsentMechanism.OPT_OUT:
            message = "an opt_out consent starts on; use mechanism = \"opt_in\" for one that starts off"
        else:
            message = "notice_only processing is always on; it cannot default to off"
        yield ctx.issue(f"{path}.default", message, expected=str(pref.default_value).lower(),
                        got=str(pref.default).lower())
    if mechanism is ConsentMechanism.NOTICE_ONLY and pref.gpc:
        yield ctx.issue(f"{path}.gpc", "notice_only processing is not switchable, so a GPC signal "
                        "cannot turn it off", expected="false", got="true")
    if mechanism is ConsentMechanism.NOTICE_ONLY and pref.expires_after_days is not None:
        yield ctx.issue(f"{path}.expires_after_days", "notice_only processing is not consented to, "
                        "so it cannot expire", expected="nothing", got=str(pref.expires_after_days))
    yield from check_consent_mode(ctx, pref, path)


def _check_all(ctx: CheckContext, entries: Sequence[tuple[str, ConsentType]]) -> Iterator[RegistryIssue]:
    yield from check_consent_modes(ctx, entries)


def _agreed_terms(pref: ConsentType) -> Mapping[str, Any]:
    return {"mechanism": pref.mechanism.value}  # "opt-in" vs "opt-out" changes what was agreed to


KIND: Kind[ConsentType] = Kind(
    name="consent",
    struct=ConsentType,
    value_type=_value_type,
    value_schema=_value_schema,
    validate_value=_validate_value,
    default_value=_default_value,
    check=_check,
    check_all=_check_all,
    agreed_terms=_agreed_terms,
    description="A toggle for one data-use purpose: opt_in, opt_out or notice_only.",
)
"""The consent kind."""
