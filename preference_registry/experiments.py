"""A/B experiments of wording and defaults, declared in the registry, that cannot become dark patterns.

An experiment varies, for one preference type, only what a shop may legitimately test: the shopper-visible
text (``title``, ``description``, ``benefit``, a *longer* ``data_used``) and, for sliders and filters, the
default. The guardrails of the EDPB guidelines 03/2022 on deceptive design patterns are rules of the
validator (:func:`check_experiments`), each with a path and a reason, so a variant that pre-ticks an opt-in,
touches "Reject all", hides what data is used or changes what is agreed to (mechanism, GPC, expiry,
purpose, requirements) never becomes live.

Allocation is a pure function of the experiment and the subject (:func:`assign`): a SHA-256 of both, so a
shopper sees the same variant in every process and after every restart, without storing an assignment.
The wording of a variant has its own ``text_hash`` (:func:`variant_hash`), which the ledger records, so the
proof of a consent names exactly the variant text that was shown.

Pure, like the rest of the package: no I/O, no clock (callers pass the time).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from .common import Key, LocalizedList, LocalizedText, StrictStruct
from .errors import RegistryIssue, ValueValidationError
from .kinds import kind_of, wording
from .kinds.base import CheckContext

__all__ = [
    "FORBIDDEN_VARIANT_FIELDS",
    "Experiment",
    "Outcome",
    "Variant",
    "active_experiment",
    "assign",
    "bucket",
    "check_experiments",
    "variant_hash",
    "variant_preference",
]

Outcome = Literal["grant", "engagement", "conversion"]
"""What an experiment measures: the consent granted, any explicit choice of the type, or a conversion."""

_encoder = msgspec.json.Encoder(order="sorted")
_BUCKETS = 10_000  # allocation resolution: weights are shares of 10,000 hash buckets


class Variant(StrictStruct):
    """``[[experiments.variants]]``: one arm. A variant without overrides is the control (the type as declared)."""

    key: Key
    """Identifier of the arm, unique in its experiment (``control``, ``benefit_first``...)."""
    weight: Annotated[int, Meta(ge=1, le=_BUCKETS)] = 1
    """Relative share of the subjects allocated to this arm."""
    title: LocalizedText | UnsetType = UNSET
    """Replaces the type's title for shoppers in this arm."""
    description: LocalizedText | UnsetType = UNSET
    """Replaces the type's description."""
    benefit: LocalizedText | UnsetType = UNSET
    """Replaces the type's "what you get" text."""
    data_used: LocalizedList | UnsetType = UNSET
    """A longer "what we use" list: every item of the type's own list must stay, verbatim."""
    default: Any = UNSET
    """Another default (sliders and filters only; an opt_in consent stays off in every variant)."""
    # Declared only so that the validator can refuse them with the reason (they are never applied):
    mechanism: Any = UNSET
    """Refused: a variant may not change how consent is given."""
    gpc: Any = UNSET
    """Refused: a variant may not change whether GPC turns the consent off."""
    expires_after_days: Any = UNSET
    """Refused: a variant may not change when a consent expires."""
    purpose: Any = UNSET
    """Refused: a variant may not change the purpose consented to."""
    requires: Any = UNSET
    """Refused: a variant may not change what the type depends on."""
    reject_all: Any = UNSET
    """Refused: "Reject all" is never varied, hidden or demoted."""
    accept_all: Any = UNSET
    """Refused: "Accept all" is never made more prominent than "Reject all"."""
    withdrawal: Any = UNSET
    """Refused: withdrawing stays as easy as giving consent, in every variant."""


FORBIDDEN_VARIANT_FIELDS: Mapping[str, str] = {
    "mechanism": "a variant may not change the mechanism (how consent is given is not a thing to test)",
    "gpc": "a variant may not change `gpc` (whether a Global Privacy Control signal is honoured)",
    "expires_after_days": "a variant may not change the expiry (when a consent lapses)",
    "purpose": "a variant may not change the purpose the shopper consents to",
    "requires": "a variant may not change the requirements of the type",
    "reject_all": '"Reject all" is never varied, hidden or demoted (EDPB 03/2022: equal prominence)',
    "accept_all": '"Accept all" is never varied: making it more prominent demotes "Reject all" '
    "(EDPB 03/2022: equal prominence)",
    "withdrawal": "a variant may not change how consent is withdrawn (as easy to withdraw as to give, "
    "GDPR art. 7(3))",
}
"""Variant field -> why a variant may not set it (the validator's message)."""

_TEXT_FIELDS = ("title", "description", "benefit", "data_used")
_BANNER_FIELDS = frozenset({"reject_all", "accept_all", "withdrawal"})


class Experiment(StrictStruct):
    """``[[experiments]]``: an A/B test of one preference type's wording or default."""

    key: Key
    """Identifier of the experiment (allocation hashes it with the subject: renaming it reshuffles)."""
    preference: Key
    """Key of the preference type whose wording or default is varied."""
    variants: Annotated[list[Variant], Meta(min_length=2, max_length=20)]
    """The arms (at least two); weights are relative."""
    start: Annotated[datetime, Meta(tz=True)]
    """First instant shoppers are allocated (with a time zone, e.g. ``2026-12-01T00:00:00Z``)."""
    end: Annotated[datetime, Meta(tz=True)]
    """First instant they no longer are (after ``start``)."""
    sample_size: Annotated[int, Meta(ge=1, le=1_000_000_000)]
    """Planned subjects per variant: results say plainly whether it was reached (no peeking verdicts)."""
    outcome: Outcome = "grant"
    """``grant`` (consents only), ``engagement`` (any explicit choice) or ``conversion``."""
    description: str | None = None
    """What the shop wants to learn (for the merchant; never shown to shoppers)."""

    def running(self, now: datetime) -> bool:
        """Whether ``now`` is in ``[start, end)``."""
        return self.start <= now < self.end


def bucket(experiment_key: str, subject: str) -> int:
    """The subject's bucket in ``[0, 10000)`` for this experiment: SHA-256, the same in every process."""
    digest = hashlib.sha256(f"{experiment_key}\n{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _BUCKETS


def assign(experiment: Experiment, subject: str) -> Variant:
    """The arm ``subject`` is in: its bucket mapped onto the cumulative weights (stable, stateless)."""
    total = sum(v.weight for v in experiment.variants)
    point = bucket(experiment.key, subject) * total / _BUCKETS
    running = 0
    for variant in experiment.variants:
        running += variant.weight
        if point < running:
            return variant
    return experiment.variants[-1]


def active_experiment(experiments: Sequence[Experiment], key: str, now: datetime) -> Experiment | None:
    """The experiment running on preference ``key`` at ``now`` (validation allows at most one)."""
    for experiment in experiments:
        if experiment.preference == key and experiment.running(now):
            return experiment
    return None


def _overrides(variant: Variant) -> dict[str, Any]:
    changes = {name: getattr(variant, name) for name in _TEXT_FIELDS if getattr(variant, name) is not UNSET}
    if variant.default is not UNSET:
        changes["default"] = variant.default
    return changes


def variant_preference(pref: Any, variant: Variant) -> Any:
    """``pref`` as a shopper in ``variant`` sees it: the variant's texts and default applied."""
    changes = _overrides(variant)
    return msgspec.structs.replace(pref, **changes) if changes else pref


def variant_hash(pref: Any, experiment: Experiment, variant: Variant, base_hash: str) -> str:
    """The ``text_hash`` of the wording shown in ``variant``: ``base_hash`` for an arm without overrides (the
    type as declared), else a hash of the variant's wording *and* of which arm it is, so that two arms with the
    same texts but different defaults still leave distinguishable ledger entries."""
    if not _overrides(variant):
        return base_hash
    shown = variant_preference(pref, variant)
    payload = {
        "wording": wording(shown),
        "experiment": experiment.key,
        "variant": variant.key,
        "default": msgspec.to_builtins(getattr(shown, "default", None)),
    }
    return hashlib.sha256(_encoder.encode(payload)).hexdigest()[:16]


# -- validation (run by preference_registry.validate) ---------------------------------------------------
def check_experiments(
    ctx: CheckContext,
    experiments: Sequence[Experiment],
    by_key: Mapping[str, Any],
    check_text: Any,
    indices: Sequence[int] | None = None,
) -> Iterator[RegistryIssue]:
    """Every rule of every experiment: references, time window, unique keys, one experiment per type at a
    time, and the guardrails. ``by_key`` maps a preference key to its ``(path, declaration)``;
    ``check_text(text, path)`` runs the translation rules on a text."""
    positions = list(indices or range(len(experiments)))
    seen: dict[str, str] = {}
    windows: dict[str, list[tuple[Experiment, str]]] = {}
    for position, experiment in enumerate(experiments):
        path = f"experiments[{positions[position]}]"
        if experiment.key is not None:
            if experiment.key in seen:
                yield ctx.issue(
                    f"{path}.key",
                    f"duplicate experiment key `{experiment.key}`, first declared at {seen[experiment.key]}",
                    expected="a key used once",
                    got=repr(experiment.key),
                )
            seen.setdefault(experiment.key, path)
        if experiment.start is not None and experiment.end is not None and experiment.end <= experiment.start:
            yield ctx.issue(
                f"{path}.end",
                "an experiment ends after it starts",
                expected=f"a time after {experiment.start.isoformat()}",
                got=experiment.end.isoformat(),
            )
        target = by_key.get(experiment.preference) if experiment.preference is not None else None
        if experiment.preference is not None and target is None:
            yield ctx.issue(
                f"{path}.preference",
                f"unknown preference `{experiment.preference}`",
                expected="the key of a preference type in this registry",
                got=repr(experiment.preference),
            )
        pref = target[1] if target is not None else None
        if pref is not None:
            if pref.kind == "consent" and not pref.switchable:
                yield ctx.issue(
                    f"{path}.preference",
                    "notice_only processing offers no choice to experiment on",
                    expected="a switchable consent, a slider or a filter",
                    got=f"notice_only consent `{pref.key}`",
                )
            if experiment.outcome == "grant" and pref.kind != "consent":
                yield ctx.issue(
                    f"{path}.outcome",
                    "`grant` measures consents; this type is not one",
                    expected="engagement | conversion",
                    got=f"grant (on {pref.kind} `{pref.key}`)",
                )
            if experiment.start is not None and experiment.end is not None:
                windows.setdefault(pref.key, []).append((experiment, path))
        yield from _check_variants(ctx, experiment, pref, path, check_text)
    for entries in windows.values():
        for index, (later, later_path) in enumerate(entries):
            for earlier, earlier_path in entries[:index]:
                if later.start < earlier.end and earlier.start < later.end:
                    yield ctx.issue(
                        f"{later_path}.start",
                        f"overlaps {earlier_path} on the same preference "
                        f"`{later.preference}`: a shopper would be in two experiments at once",
                        expected=f"a start at or after {earlier.end.isoformat()} or an end at or "
                        f"before {earlier.start.isoformat()}",
                        got=later.start.isoformat(),
                    )


def _check_variants(
    ctx: CheckContext, experiment: Experiment, pref: Any, path: str, check_text: Any
) -> Iterator[RegistryIssue]:
    seen: dict[str, int] = {}
    for index, variant in enumerate(experiment.variants or []):
        vpath = f"{path}.variants[{index}]"
        if variant is None:
            continue  # unreadable: reported by the structural pass
        if variant.key is not None:
            if variant.key in seen:
                yield ctx.issue(
                    f"{vpath}.key",
                    f"duplicate variant key `{variant.key}`, first declared at "
                    f"{path}.variants[{seen[variant.key]}]",
                    expected="a key used once",
                    got=repr(variant.key),
                )
            seen.setdefault(variant.key, index)
        for name, reason in FORBIDDEN_VARIANT_FIELDS.items():
            value = getattr(variant, name)
            if value is not UNSET:
                own = getattr(pref, name, None) if pref is not None else None
                if name in _BANNER_FIELDS:
                    expected = (
                        "nothing: the banner and withdrawal are the same, equally prominent, in every variant"
                    )
                elif own is None:
                    expected = "nothing (declare it on the preference type, the same for every shopper)"
                else:
                    expected = f"nothing: every variant keeps {_show(own)}"
                yield ctx.issue(f"{vpath}.{name}", reason, expected=expected, got=_show(value))
        for name in ("title", "description", "benefit", "data_used"):
            text = getattr(variant, name)
            if text is not UNSET:
                yield from check_text(text, f"{vpath}.{name}")
        if pref is None:
            continue
        yield from _check_data_used(ctx, pref, variant, vpath)
        yield from _check_default(ctx, pref, variant, vpath)


def _show(value: Any) -> str:
    value = getattr(value, "value", value)  # an enum member reads as its value
    try:
        return msgspec.json.encode(value).decode()[:80]
    except (TypeError, msgspec.EncodeError):
        return repr(value)[:80]


def _as_lists(value: Any) -> dict[str | None, list[str]]:
    """A LocalizedList as ``locale -> list`` (``None``: the plain list, meaning the default locale)."""
    if value is None:
        return {}
    if isinstance(value, list):
        return {None: value}
    return dict(value)


def _check_data_used(ctx: CheckContext, pref: Any, variant: Variant, vpath: str) -> Iterator[RegistryIssue]:
    """``data_used`` may grow in a variant, never lose or shorten an item: a shopper must never learn less
    about what is used (EDPB 03/2022: hiding information)."""
    if variant.data_used is UNSET or pref.data_used is None:
        return
    own = _as_lists(pref.data_used)
    shown = _as_lists(variant.data_used)
    plain_locale = next(iter(own)) if len(own) == 1 else None
    for locale, items in own.items():
        theirs = shown.get(locale)
        if theirs is None and len(shown) == 1 and (locale is None or plain_locale is not None):
            theirs = next(iter(shown.values()))  # one plain list on both sides, whatever the form
        where = (
            vpath
            + ".data_used"
            + (f".{locale}" if locale is not None and not isinstance(variant.data_used, list) else "")
        )
        if theirs is None:
            yield ctx.issue(
                where,
                "a variant may not drop `data_used` in a locale the type declares it in",
                expected=f"every item of the type's list: {_show(items)}",
                got="nothing",
            )
            continue
        missing = [item for item in items if item not in theirs]
        if missing:
            yield ctx.issue(
                where,
                "a variant may not drop or shorten an item of `data_used` (shoppers must "
                "never learn less about what is used)",
                expected=f"every item of the type's list, verbatim: {_show(items)}",
                got=f"missing {_show(missing)}",
            )


def _check_default(ctx: CheckContext, pref: Any, variant: Variant, vpath: str) -> Iterator[RegistryIssue]:
    if variant.default is UNSET:
        return
    where = f"{vpath}.default"
    if pref.kind == "consent":
        mechanism = getattr(pref.mechanism, "value", pref.mechanism)
        if mechanism == "opt_in" and variant.default is not False:
            yield ctx.issue(
                where,
                "an opt_in consent's default stays off in every variant (GDPR: no "
                "pre-ticked consent; EDPB 03/2022)",
                expected="false",
                got=_show(variant.default),
            )
        elif variant.default != pref.default_value:
            yield ctx.issue(
                where,
                "a consent's default follows from its mechanism and is the same in every variant",
                expected=_show(pref.default_value),
                got=_show(variant.default),
            )
        return
    if pref.kind not in ("slider", "filter"):
        yield ctx.issue(
            where,
            f"the default of a {pref.kind} is not varied by experiments",
            expected="nothing",
            got=_show(variant.default),
        )
        return
    try:
        kind_of(pref).validate_value(pref, variant.default)
    except ValueValidationError as exc:
        yield ctx.issue(
            where, f"not a value of `{pref.key}`: {exc.message}", expected=exc.expected, got=exc.got
        )
