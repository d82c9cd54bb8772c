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
            multiple=bool(item.get("multiple", False)),
            options=tuple(OptionInfo(key=o["key"], label=o["label"]) for o in item.get("options") or ()),
            raw=item,
        )

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
