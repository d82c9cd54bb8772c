"""The registry as the flows see it: what ``GET /api/v1/registry?locale=..`` says, in one locale.

Built from the API (works against any deployment) rather than from a file, so the flows know exactly the
titles and labels the shopper is shown, and locate controls by those accessible names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["OptionInfo", "PreferenceInfo", "RegistryInfo"]


@dataclass(frozen=True, kw_only=True)
class OptionInfo:
    """One option of a filter."""

    key: str
    """Option key (what the API stores)."""
    label: str
    """Localized label (the checkbox's / radio's accessible name)."""


def _decimals(number: float) -> int:
    """Digits after the decimal point of ``number``'s shortest representation (``0.25`` -> 2)."""
    text = repr(float(number))
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        return max(0, len(mantissa.partition(".")[2].rstrip("0")) - int(exponent))
    return len(text.partition(".")[2].rstrip("0"))


@dataclass(frozen=True, kw_only=True)
class PreferenceInfo:
    """One declared preference type, texts in the registry view's locale."""

    key: str
    """Stable key (URLs, storage)."""
    kind: str
    """``consent``, ``slider`` or ``filter``."""
    title: str
    """Localized title: the control's accessible name."""
    default: Any
    """Default value."""
    requires: tuple[str, ...] = ()
    """Consents that must be granted for this preference to take effect."""
    description: str | None = None
    """Localized description."""
    mechanism: str | None = None
    """Consent mechanism (``opt_in``, ``opt_out``, ``notice_only``)."""
    switchable: bool = True
    """False for ``notice_only`` consents (shown, never a switch)."""
    gpc: bool = False
    """Consent honours Global Privacy Control."""
    minimum: float | None = None
    """Slider minimum."""
    maximum: float | None = None
    """Slider maximum."""
    step: float | None = None
    """Slider step."""
    page_step: float | None = None
    """Slider PageUp/PageDown jump (the registry's, or its default: a tenth of the range)."""
    multiple: bool = False
    """Filter: checkbox group (True) or radio group (False)."""
    options: tuple[OptionInfo, ...] = ()
    """Filter options in display order."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The API's item, for anything else a custom flow needs."""

    @classmethod
    def from_view(cls, item: dict[str, Any]) -> PreferenceInfo:
        return cls(
            key=item["key"],
            kind=item["kind"],
            title=item["title"],
            default=item.get("default"),
            requires=tuple(item.get("requires") or ()),
            description=item.get("description"),
            mechanism=item.get("mechanism"),
            switchable=bool(item.get("switchable", True)),
            gpc=bool(item.get("gpc", False)),
            minimum=item.get("min"),
            maximum=item.get("max"),
            step=item.get("step"),
            page_step=item.get("page_step"),
            multiple=bool(item.get("multiple", False)),
            options=tuple(OptionInfo(key=o["key"], label=o["label"]) for o in item.get("options") or ()),
            raw=item,
        )

    @property
    def operable(self) -> bool:
        """Whether the shopper can change it: the view's ``switchable``, which only a ``notice_only``
        consent sets to false (every other type of every kind is operable)."""
        return self.switchable

    def on_step(self, value: float) -> float:
        """``value`` clamped to a slider's range and put on its grid ``min + n * step``, as an exact short
        decimal (``0.3 + 0.1`` is ``0.4``, not ``0.4000000000000001``) and as an int on an integer slider."""
        assert self.minimum is not None and self.maximum is not None and self.step is not None, self.key
        steps = round((value - self.minimum) / self.step)
        snapped = min(max(self.minimum + steps * self.step, self.minimum), self.maximum)
        if all(isinstance(bound, int) for bound in (self.minimum, self.maximum, self.step)):
            return int(round(snapped))
        return round(snapped, max(_decimals(self.minimum), _decimals(self.step)))

    def option(self, key: str) -> OptionInfo:
        """The option with ``key``."""
        for option in self.options:
            if option.key == key:
                return option
        raise KeyError(f"{self.key} has no option {key!r}")


@dataclass(frozen=True, kw_only=True)
class RegistryInfo:
    """The active registry in one locale."""

    version: str
    """Registry version hash."""
    locale: str
    """Locale of every text."""
    shop_name: str
    """Shop (controller) name."""
    theme: str
    """Theme chosen in the registry's shop settings."""
    locales: tuple[str, ...]
    """Locales the shop offers."""
    preferences: tuple[PreferenceInfo, ...]
    """Types in display order."""
    default_locale: str = ""
    """The shop's default locale (every text exists in it)."""

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> RegistryInfo:
        shop = view.get("shop") or {}
        return cls(
            version=view["version"],
            locale=view["locale"],
            shop_name=shop.get("name", ""),
            theme=shop.get("theme") or "default",
            locales=tuple(view.get("locales") or ()),
            preferences=tuple(PreferenceInfo.from_view(item) for item in view["preferences"]),
            default_locale=view.get("default_locale") or view["locale"],
        )

    def get(self, key: str) -> PreferenceInfo:
        """The type with ``key``; KeyError names the keys that exist."""
        for pref in self.preferences:
            if pref.key == key:
                return pref
        raise KeyError(
            f"no preference {key!r} in registry {self.version} (have: {[p.key for p in self.preferences]})"
        )

    def consents(self, *, switchable: bool | None = None) -> list[PreferenceInfo]:
        """Consent types, optionally only the (non-)switchable ones."""
        return [
            p
            for p in self.preferences
            if p.kind == "consent" and (switchable is None or p.switchable == switchable)
        ]

    def opt_in_consents(self) -> list[PreferenceInfo]:
        """Switchable consents that start off (what reject-all must leave off)."""
        return [p for p in self.consents(switchable=True) if p.mechanism == "opt_in"]

    def of_kind(self, kind: str, *, multiple: bool | None = None) -> list[PreferenceInfo]:
        """Types of ``kind`` (filters: optionally only the multiple- or single-choice ones)."""
        return [
            p
            for p in self.preferences
            if p.kind == kind and (multiple is None or p.kind != "filter" or p.multiple == multiple)
        ]

    def operable(self) -> list[PreferenceInfo]:
        """Types the shopper can change (everything but ``notice_only`` consents), in display order."""
        return [p for p in self.preferences if p.operable]

    def consents_to_grant(self, pref: PreferenceInfo) -> list[PreferenceInfo]:
        """The switchable consents ``pref`` needs, directly or through the consents it requires, each after
        its own requirements (the order in which a shopper can switch them on). ``notice_only`` consents
        are always on and never listed."""
        ordered: list[PreferenceInfo] = []
        seen: set[str] = set()

        def visit(key: str) -> None:
            if key in seen:
                return
            seen.add(key)
            consent = self.get(key)
            for required in consent.requires:
                visit(required)
            if consent.switchable:
                ordered.append(consent)

        for key in pref.requires:
            visit(key)
        return ordered
