"""Ranking reasons and the profile in words, in Polish and English, with the registry's own labels.

:mod:`bff.catalog.ranking` produces structured reasons that carry keys only; this module turns them into
the sentences a shopper reads ("Shown because you chose “Eco products only”"). Merchant wording (titles,
option labels, slider stop labels) always comes from the registry snapshot, and catalog attribute wording
("lower price") from the catalog's :class:`AttributeWords`. Texts are plain strings: templates and
components escape them.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

import msgspec

from bff.profile import Profile
from preference_registry import PreferenceType, RegistrySnapshot

from .contract import Reason

__all__ = [
    "KIND_LABELS",
    "MESSAGES",
    "KindLabels",
    "AttributeWords",
    "FilterSummary",
    "OptionSummary",
    "PrioritiesSummary",
    "ProfileSummary",
    "ReasonTexts",
    "SliderSummary",
    "check_messages",
]

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "filter.include": "Shown because you chose {options}",
        "filter.prefer": "Ranked higher: matches your choice {options} ({title})",
        "criterion.better": "Ranked higher: {quality} (your setting {title})",
        "criterion.worse": "Ranked lower: {quality} (your setting {title})",
        "order.popular": "Popular with other shoppers",
        "order.default": "Placed mainly by popularity: no strong match with your choices",
        "order.neutral": "Neutral order: most popular first, not personalized",
        "order.discovery": "Something different from your usual choices ({title})",
        "priority.better": "Ranked higher: {quality}, because you put {criterion} {place}",
        "priority.worse": "Ranked lower: {quality}, although you put {criterion} {place}",
        "place.1": "first",
        "place.2": "second",
        "place.3": "third",
        "place.n": "in place {position}",
        "summary.personalized": "Ordered by your choices",
        "summary.neutral": "Neutral order (most popular first): personalization is off or not allowed",
        "quality.lower": "lower {attribute}",
        "quality.higher": "higher {attribute}",
        "quote": "“{text}”",
        "and": " and ",
    },
    "pl": {
        "filter.include": "Pokazujemy, bo wybrano {options}",
        "filter.prefer": "Wyżej na liście: pasuje do Twojego wyboru {options} ({title})",
        "criterion.better": "Wyżej na liście: {quality} (Twoje ustawienie {title})",
        "criterion.worse": "Niżej na liście: {quality} (Twoje ustawienie {title})",
        "order.popular": "Często wybierany przez klientów",
        "order.default": "Miejsce głównie według popularności: brak wyraźnego dopasowania do Twoich wyborów",
        "order.neutral": "Kolejność neutralna: najpierw najpopularniejsze, bez personalizacji",
        "order.discovery": "Coś innego niż Twoje zwykłe wybory ({title})",
        "priority.better": "Wyżej na liście: {quality}, bo {criterion} jest u Ciebie {place}",
        "priority.worse": "Niżej na liście: {quality}, choć {criterion} jest u Ciebie {place}",
        "place.1": "na pierwszym miejscu",
        "place.2": "na drugim miejscu",
        "place.3": "na trzecim miejscu",
        "place.n": "na miejscu {position}",
        "summary.personalized": "Kolejność według Twoich wyborów",
        "summary.neutral": "Kolejność neutralna (najpierw najpopularniejsze): personalizacja wyłączona lub bez zgody",
        "quality.lower": "niższa wartość: {attribute}",
        "quality.higher": "wyższa wartość: {attribute}",
        "quote": "„{text}”",
        "and": " i ",
    },
}
"""Sentence templates per locale; a locale without its own falls back to English."""

_FALLBACK_LOCALE = "en"


def check_messages(messages: object, *, where: str = "messages") -> Mapping[str, Mapping[str, str]]:
    """``messages`` if it maps locales to codes to sentence templates that ``str.format`` can fill, else a
    ``TypeError``/``ValueError`` naming the entry (a start-up error, never a failed render later)."""
    if not isinstance(messages, Mapping):
        raise TypeError(f"{where}: expected a mapping of locale -> reason code -> sentence template, "
                        f"got {type(messages).__qualname__}")
    for locale, table in messages.items():
        if not isinstance(locale, str) or not isinstance(table, Mapping):
            raise TypeError(f"{where}[{locale!r}]: expected a mapping of reason code -> sentence template")
        for code, template in table.items():
            if not isinstance(code, str) or not isinstance(template, str):
                raise TypeError(f"{where}[{locale!r}][{code!r}]: expected a text template, got "
                                f"{type(template).__qualname__}")
            try:
                parsed = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)
                          if name is not None]
            except ValueError as exc:
                raise ValueError(f"{where}[{locale!r}][{code!r}]: not a sentence template ({exc})") from None
            # Plain names only: a format spec or an attribute lookup could fail (or leak) when rendering.
            odd = [name for name, spec, conversion in parsed if not name.isidentifier() or spec or conversion]
            if odd:
                raise ValueError(f"{where}[{locale!r}][{code!r}]: fields must be plain names like {{price}} "
                                 f"(no format specs), got {odd}")
    return messages  # type: ignore[return-value]


class _Fields(dict[str, str]):
    """A sentence's fields: prefkit's own (title, options, quality) first; a field a template names beyond them
    is the reason's scalar param of that name (an engine's own sentences), else empty, never a KeyError."""

    __slots__ = ("params",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        super().__init__()
        self.params = params

    def __missing__(self, key: str) -> str:
        value = self.params.get(key)
        return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""


class KindLabels(msgspec.Struct, frozen=True, kw_only=True):
    """Where one preference kind keeps the labels reasons quote: its options' labels, its stops' labels."""

    option: Any = None
    """``option(pref, option_key)``: the option's localized label, or ``None``."""
    stop: Any = None
    """``stop(pref, value)``: the localized label of the stop at ``value``, or ``None``."""


def _filter_option(pref: Any, option: str) -> Any:
    return next((candidate.label for candidate in pref.options if candidate.key == option), None)


def _slider_stop(pref: Any, value: float) -> Any:
    stop = pref.stop_for(value)
    return stop.label if stop is not None else None


def _priority_criterion(pref: Any, key: str) -> Any:
    criterion = pref.criterion(key)
    return criterion.label if criterion is not None else None


KIND_LABELS: Mapping[str, KindLabels] = {
    "filter": KindLabels(option=_filter_option),
    "slider": KindLabels(stop=_slider_stop),
    "priorities": KindLabels(option=_priority_criterion),
}
"""Per preference kind (``pref.kind``), how reasons find its option and stop labels (kinds not listed
have none: the key itself is quoted)."""


class AttributeWords(msgspec.Struct, frozen=True, kw_only=True):
    """How a catalog attribute's ends read in each locale, e.g. ``price``: "lower price" / "higher price"."""

    lower: dict[str, str]
    """Phrase for a low value, per locale ("lower price", "niższa cena")."""
    higher: dict[str, str]
    """Phrase for a high value, per locale ("higher price", "wyższa cena")."""
    name: dict[str, str] = msgspec.field(default_factory=dict)
    """The attribute's name per locale, used when a phrase is missing."""


class OptionSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A selected filter option."""

    key: str
    """Option key."""
    label: str
    """Its label in the requested locale."""


class FilterSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A filter the ranking applied."""

    key: str
    """Preference key."""
    title: str
    """Its title in the requested locale."""
    rule: str
    """``include``, ``exclude`` or ``prefer``."""
    applied: bool
    """False for a ``prefer`` filter while the order is neutral (it then changes nothing)."""
    options: list[OptionSummary]
    """The selected options."""


class SliderSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A slider the ranking read."""

    key: str
    """Preference key."""
    title: str
    """Its title in the requested locale."""
    rule: str | None
    """``personalization``, ``balance``, ``weight`` or ``None``."""
    value: float
    """Chosen value."""
    label: str | None
    """The value's stop label, if it sits on a labelled stop."""
    applied: bool
    """False while the order is neutral."""


class PrioritiesSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A priorities order the ranking read."""

    key: str
    """Preference key."""
    title: str
    """Its title in the requested locale."""
    order: list[OptionSummary]
    """The criteria in the shopper's order (most important first), labels in the requested locale."""
    applied: bool
    """False while the order is neutral."""


class ProfileSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What the ranking used, in the shopper's words."""

    personalized: bool
    """Whether personal signals shaped the order."""
    notice: str
    """One sentence saying so."""
    registry_version: str
    """Registry version the profile was built with."""
    filters: list[FilterSummary]
    """Filters in effect."""
    sliders: list[SliderSummary]
    """Sliders in effect."""
    priorities: list[PrioritiesSummary] = msgspec.field(default_factory=list)
    """Orders of criteria in effect."""


class ReasonTexts:
    """Renders :class:`Reason` values and profile summaries; cheap to build per request."""

    def __init__(self, snapshot: RegistrySnapshot | None = None,
                 attributes: Mapping[str, AttributeWords] | None = None,
                 messages: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.snapshot = snapshot
        self.attributes = attributes or {}
        self.messages = messages or {}
        """A ranking engine's own sentence templates per locale and code, before :data:`MESSAGES`."""

    # -- lookups --------------------------------------------------------------------------------------
    def message(self, code: str, locale: str) -> str:
        """The template of ``code`` in ``locale``: the engine's own, then prefkit's, then English; an unknown
        code reads as itself (a shop engine's code without a sentence is visible, not a failed page)."""
        for table in (self.messages, MESSAGES):
            template = table.get(locale, {}).get(code) or table.get(_FALLBACK_LOCALE, {}).get(code)
            if template:
                return template
        return code

    def _text(self, value: Any, locale: str) -> str | None:
        if self.snapshot is None:
            return None
        return self.snapshot.text(value, locale)

    def title(self, key: str | None, locale: str) -> str:
        pref = self.snapshot.get(key) if self.snapshot is not None and key else None
        return (self._text(pref.title, locale) if pref is not None else None) or (key or "")

    def _labels(self, key: str | None) -> tuple[PreferenceType | None, KindLabels | None]:
        pref = self.snapshot.get(key) if self.snapshot is not None and key else None
        return pref, (KIND_LABELS.get(pref.kind) if pref is not None else None)

    def option_label(self, key: str | None, option: str, locale: str) -> str:
        pref, labels = self._labels(key)
        if labels is not None and labels.option is not None:
            label = labels.option(pref, option)
            if label is not None:
                return self._text(label, locale) or option
        return option

    def stop_label(self, key: str, value: float, locale: str) -> str | None:
        pref, labels = self._labels(key)
        if labels is not None and labels.stop is not None:
            label = labels.stop(pref, value)
            if label is not None:
                return self._text(label, locale)
        return None

    def quality(self, attribute: str, end: str, locale: str) -> str:
        """"lower price" / "wyższa ocena ekologiczna": the phrase for one end of an attribute."""
        words = self.attributes.get(attribute)
        if words is not None:
            phrases = words.lower if end == "lower" else words.higher
            phrase = phrases.get(locale) or phrases.get(_FALLBACK_LOCALE)
            if phrase:
                return phrase
        name = (words.name.get(locale) if words is not None else None) or attribute
        return self.message(f"quality.{end}", locale).format(attribute=name)

    def quote(self, text: str, locale: str) -> str:
        return self.message("quote", locale).format(text=text)

    # -- rendering ------------------------------------------------------------------------------------
    def render(self, reason: Reason, locale: str) -> str:
        """One reason as a sentence in ``locale``."""
        template = self.message(reason.code, locale)
        params = reason.params
        fields = _Fields(params)
        fields["title"] = self.quote(self.title(reason.preference, locale), locale)
        if "options" in params:
            labels = [self.quote(self.option_label(reason.preference, option, locale), locale)
                      for option in params["options"]]
            fields["options"] = self.message("and", locale).join(labels) or fields["title"]
        if reason.code.startswith("priority."):
            criterion = str(params.get("criterion", ""))
            fields["criterion"] = self.quote(self.option_label(reason.preference, criterion, locale), locale)
            position = params.get("position")
            place = f"place.{position}" if position in (1, 2, 3) else "place.n"
            fields["place"] = self.message(place, locale).format(position=position)
        if reason.code.startswith(("criterion.", "priority.")):
            better = reason.code.endswith(".better")
            prefer_lower = params.get("prefer") == "lower"
            # A "better" item sits at the preferred end; a "worse" one at the other end.
            end = "lower" if better == prefer_lower else "higher"
            fields["quality"] = self.quality(str(params.get("attribute")), end, locale)
        return template.format_map(fields)

    def summarize(self, profile: Profile, locale: str, *, personalized: bool | None = None) -> ProfileSummary:
        """The profile as the ranking used it; ``personalized`` is the ranking's own verdict if known."""
        in_use = profile.personalized if personalized is None else personalized
        filters = [
            FilterSummary(key=flt.key, title=self.title(flt.key, locale), rule=flt.rule,
                          applied=flt.rule != "prefer" or in_use,
                          options=[OptionSummary(key=option, label=self.option_label(flt.key, option, locale))
                                   for option in flt.options])
            for flt in profile.filters
        ]
        sliders = [
            SliderSummary(key=slider.key, title=self.title(slider.key, locale), rule=slider.rule,
                          value=slider.value, label=self.stop_label(slider.key, slider.value, locale),
                          applied=in_use)
            for slider in profile.sliders
        ]
        priorities = [
            PrioritiesSummary(key=entry.key, title=self.title(entry.key, locale), applied=in_use,
                              order=[OptionSummary(key=key, label=self.option_label(entry.key, key, locale))
                                     for key in entry.order])
            for entry in profile.priorities
        ]
        notice = self.message("summary.personalized" if in_use else "summary.neutral", locale)
        return ProfileSummary(personalized=in_use, notice=notice, registry_version=profile.registry_version,
                              filters=filters, sliders=sliders, priorities=priorities)
