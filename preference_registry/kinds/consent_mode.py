"""Page signals of a consent: which Google Consent Mode v2 types it grants, in which regions.

A consent type may declare::

    [preferences.consent_mode]
    grants = ["analytics_storage"]          # Google Consent Mode types this consent grants
    region = ["AT", "BE", "DE"]             # optional: ISO 3166 codes the default applies to
    wait_for_update = 500                   # optional: ms Google tags wait for the first update

On the page (``prefkit.js``), every type named by some consent starts ``denied`` (``granted`` for a
``notice_only`` consent: strictly necessary processing), and is ``granted`` while *every* consent naming it
is in effect and on. Types no consent names are declared ``denied`` and never updated. A registry without
any ``consent_mode`` gets none of this: nothing is sent to the page.

The rules (checked with the consent kind, :func:`check_consent_mode` per declaration and
:func:`check_consent_modes` across them):

* only the seven Consent Mode v2 type names (a typo is a structural error at ``...consent_mode.grants[i]``);
* a ``notice_only`` consent may grant only ``security_storage`` and ``functionality_storage`` (it is always
  on: anything else would be granted without asking);
* a consent that is on before the shopper answers (``opt_out``, or an ``opt_in`` restated as on) may not grant
  the types that need consent (``ad_storage``, ``analytics_storage``, ``ad_user_data``,
  ``ad_personalization``, ``personalization_storage``): they would be granted by default;
* a type named by several consents must be named the same way by each: all switchable or all notice-only,
  the same ``region`` and the same ``wait_for_update``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import msgspec
from msgspec import Meta

from ..common import StrictStruct
from ..errors import RegistryIssue

if TYPE_CHECKING:
    from .base import CheckContext

__all__ = [
    "ALWAYS_ALLOWED_SIGNALS",
    "CONSENT_REQUIRED_SIGNALS",
    "GOOGLE_CONSENT_TYPES",
    "ConsentMode",
    "ConsentModeDefault",
    "GoogleConsentType",
    "check_consent_mode",
    "check_consent_modes",
    "consent_mode_defaults",
    "consent_mode_signals",
]

GoogleConsentType = Literal[
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
]
"""The Google Consent Mode v2 consent types."""

GOOGLE_CONSENT_TYPES: tuple[str, ...] = get_args(GoogleConsentType)
"""Every Consent Mode v2 type, in the order the page's ``default`` command lists them."""

ALWAYS_ALLOWED_SIGNALS: frozenset[str] = frozenset({"security_storage", "functionality_storage"})
"""What strictly necessary (``notice_only``) processing may grant."""

CONSENT_REQUIRED_SIGNALS: frozenset[str] = frozenset(GOOGLE_CONSENT_TYPES) - ALWAYS_ALLOWED_SIGNALS
"""What only a shopper's consent may grant (never a default that is on)."""

Region = Annotated[str, Meta(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$", max_length=6,
                             description="ISO 3166-1 alpha-2 country (`DE`) or ISO 3166-2 subdivision (`US-CA`)")]


class ConsentMode(StrictStruct):
    """``consent_mode`` of a consent type: the Google Consent Mode v2 types it grants."""

    # Names are checked by check_consent_mode rather than by a Literal: its issue lists the seven names and
    # suggests the closest one, where msgspec could only say "a declared enum value".
    grants: Annotated[tuple[Annotated[str, Meta(max_length=64)], ...], Meta(min_length=1, max_length=7)]
    """Consent Mode types granted while this consent is in effect and on (:data:`GOOGLE_CONSENT_TYPES`)."""
    region: Annotated[tuple[Region, ...], Meta(max_length=300)] = ()
    """Where the ``denied`` default applies (Google's ``region``); empty: everywhere."""
    wait_for_update: Annotated[int, Meta(ge=0, le=10_000)] | None = None
    """Milliseconds Google tags wait for prefkit's first ``update`` before they send anything."""


class ConsentModeDefault(msgspec.Struct, frozen=True, kw_only=True):
    """One ``gtag("consent", "default", ...)`` command of the page."""

    signals: dict[str, str]
    """Type -> ``denied`` / ``granted``."""
    region: tuple[str, ...] = ()
    wait_for_update: int | None = None

    def command(self) -> dict[str, Any]:
        """The command's argument, as ``gtag`` takes it."""
        argument: dict[str, Any] = dict(self.signals)
        if self.region:
            argument["region"] = list(self.region)
        if self.wait_for_update is not None:
            argument["wait_for_update"] = self.wait_for_update
        return argument


def _mechanism(pref: Any) -> str | None:
    mechanism = getattr(pref, "mechanism", None)
    return getattr(mechanism, "value", mechanism)


def _on_by_default(pref: Any) -> bool:
    mechanism = _mechanism(pref)
    return mechanism == "opt_out" or (mechanism == "opt_in" and pref.default is True)


def check_consent_mode(ctx: CheckContext, pref: Any, path: str) -> Iterator[RegistryIssue]:
    """The rules of one consent's ``consent_mode`` (``path`` is the consent's, e.g. ``preferences[3]``)."""
    mode: ConsentMode | None = getattr(pref, "consent_mode", None)
    if mode is None or not ctx.readable(path, "mechanism", "default", "consent_mode"):
        return
    mechanism = _mechanism(pref)
    seen: dict[str, int] = {}
    for index, signal in enumerate(mode.grants):
        at = f"{path}.consent_mode.grants[{index}]"
        if signal in seen:
            yield ctx.issue(at, f"`{signal}` is listed twice (first at grants[{seen[signal]}])",
                            expected="each type once", got=repr(signal))
            continue
        seen[signal] = index
        if signal not in GOOGLE_CONSENT_TYPES:
            close = difflib.get_close_matches(signal, GOOGLE_CONSENT_TYPES, n=1)
            yield ctx.issue(at, "not a Google Consent Mode v2 type" + (f"; did you mean `{close[0]}`?" if close
                                                                       else ""),
                            expected=" | ".join(GOOGLE_CONSENT_TYPES), got=repr(signal[:64]))
        elif mechanism == "notice_only" and signal not in ALWAYS_ALLOWED_SIGNALS:
            yield ctx.issue(at, f"a notice_only consent is always on, so it would grant `{signal}` without "
                            "asking; strictly necessary processing may grant only security_storage or "
                            "functionality_storage", expected=" | ".join(sorted(ALWAYS_ALLOWED_SIGNALS)),
                            got=repr(signal))
        elif signal in CONSENT_REQUIRED_SIGNALS and _on_by_default(pref):
            yield ctx.issue(at, f"this {mechanism} consent is on before the shopper answers, so it would "
                            f"grant `{signal}` by default; Consent Mode types that need consent must be "
                            "granted by an opt_in consent", expected='mechanism = "opt_in" (default off)',
                            got=f"{mechanism}" + (", default = true" if pref.default is True else ""))


def check_consent_modes(ctx: CheckContext, entries: Sequence[tuple[str, Any]]) -> Iterator[RegistryIssue]:
    """A Consent Mode type named by several consents must be named the same way by each."""
    first: dict[str, tuple[str, int, tuple[bool, tuple[str, ...], int | None]]] = {}
    for path, pref in entries:
        mode: ConsentMode | None = getattr(pref, "consent_mode", None)
        if mode is None or not ctx.readable(path, "mechanism", "consent_mode"):
            continue
        terms = (_mechanism(pref) == "notice_only", mode.region, mode.wait_for_update)
        for index, signal in enumerate(mode.grants):
            if signal not in GOOGLE_CONSENT_TYPES:
                continue  # reported by check_consent_mode
            claimed = first.get(signal)
            if claimed is None:
                first[signal] = (path, index, terms)
                continue
            other_path, other_index, other_terms = claimed
            if claimed[0] == path:
                continue  # listed twice in one consent: reported by check_consent_mode
            for field, ours, theirs, describe in (
                ("mechanism", terms[0], other_terms[0], lambda v: "notice_only" if v else "switchable"),
                ("region", terms[1], other_terms[1], lambda v: "[" + ", ".join(v) + "]"),
                ("wait_for_update", terms[2], other_terms[2], lambda v: "none" if v is None else str(v)),
            ):
                if ours != theirs:
                    at = f"{path}.consent_mode.grants[{index}]"
                    yield ctx.issue(at, f"`{signal}` is also granted by {other_path} (grants[{other_index}]) "
                                    f"with a different {field}: one Consent Mode type must be declared the same "
                                    "way by every consent that grants it", expected=describe(theirs),
                                    got=describe(ours))
                    break


def _mapped(preferences: Iterable[Any]) -> Iterator[tuple[Any, ConsentMode]]:
    for pref in preferences:
        mode = getattr(pref, "consent_mode", None)
        if pref.kind == "consent" and mode is not None:
            yield pref, mode


def consent_mode_signals(preferences: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """Type -> the keys of the consents granting it (a type is granted while all of them are on)."""
    signals: dict[str, list[str]] = {}
    for pref, mode in _mapped(preferences):
        for signal in mode.grants:
            if signal not in GOOGLE_CONSENT_TYPES:
                continue  # only in a document that failed validation
            keys = signals.setdefault(signal, [])
            if pref.key not in keys:
                keys.append(pref.key)
    return {signal: tuple(keys) for signal, keys in signals.items()}


def consent_mode_defaults(preferences: Iterable[Any]) -> list[ConsentModeDefault]:
    """The page's ``default`` commands, or none when no consent declares ``consent_mode``.

    The first command has no region and covers every type not scoped to a region: ``denied``, except the
    types of notice-only consents. Region-scoped types get one command per (region, wait_for_update)."""
    groups: dict[tuple[tuple[str, ...], int | None], dict[str, str]] = {}
    any_mapping = False
    for pref, mode in _mapped(preferences):
        any_mapping = True
        state = "granted" if _mechanism(pref) == "notice_only" else "denied"
        group = groups.setdefault((mode.region, mode.wait_for_update), {})
        for signal in mode.grants:
            if signal not in GOOGLE_CONSENT_TYPES:
                continue
            group[signal] = state if group.get(signal, state) == state else "denied"
    if not any_mapping:
        return []
    scoped = {signal for (region, _), group in groups.items() if region for signal in group}
    everywhere: dict[str, str] = {}
    wait: int | None = None
    for (region, group_wait), group in groups.items():
        if not region:
            everywhere.update(group)
            wait = group_wait if wait is None or (group_wait or 0) > wait else wait
    ordered = {signal: everywhere.get(signal, "denied") for signal in GOOGLE_CONSENT_TYPES if signal not in scoped}
    commands = [ConsentModeDefault(signals=ordered, wait_for_update=wait)]
    for (region, group_wait), group in groups.items():
        if region:
            signals = {signal: group[signal] for signal in GOOGLE_CONSENT_TYPES if signal in group}
            commands.append(ConsentModeDefault(signals=signals, region=region, wait_for_update=group_wait))
    return commands

