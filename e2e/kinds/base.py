"""What the QA kit keeps per preference kind: a page object class deriving from :class:`KindWidget`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from playwright.sync_api import Locator, Page

if TYPE_CHECKING:
    from ..registry import PreferenceInfo

__all__ = ["KindWidget", "Scope", "TabTarget", "accessible_name", "number_text"]

Scope = Page | Locator
"""Where a widget is looked for: the whole page or a container (a widget mount point, the center)."""


def number_text(value: float) -> str:
    """How a number appears in ``aria-valuenow`` (``2``, not ``2.0``, for whole numbers)."""
    return str(int(value)) if float(value).is_integer() else str(value)


def accessible_name(text: str) -> str:
    """``text`` as an accessible name: runs of whitespace one space, none at the ends (a registry title
    may end in a space; browsers normalize names the same way)."""
    return " ".join(text.split())


@dataclass(frozen=True, kw_only=True)
class TabTarget:
    """An element the keyboard journey must reach by Tab: by role, and by its accessible name and/or the
    name of the group it is in (``None``: any)."""

    role: str
    name: str | None = None
    group: str | None = None

    def reached_by(self, stops: list[dict[str, Any]]) -> bool:
        """Whether one of the Tab ``stops`` (``role``, ``name``, ``group`` each) is this target."""
        return any(stop["role"] == self.role and self.name in (None, stop["name"])
                   and self.group in (None, stop["group"]) for stop in stops)

    def __str__(self) -> str:
        named = f" {self.name!r}" if self.name is not None else ""
        return f"{self.role}{named}" + (f" in {self.group!r}" if self.group is not None else "")


class KindWidget:
    """The page object of one kind's control, located by ARIA role and accessible name only, with the
    operations the flows need of every kind (change it by keyboard, check the value it shows)."""

    kind: ClassVar[str]
    """The preference kind it shows (``pref.kind``)."""
    widget_name: ClassVar[str]
    """Its standalone mount point's ``data-prefkit-widget``."""

    control_role: ClassVar[str]
    """ARIA role of :attr:`control` (a kind whose role depends on the type overrides :meth:`role_of`)."""

    def __init__(self, scope: Scope, pref: PreferenceInfo) -> None:
        self.scope = scope
        self.pref = pref
        self.role = self.role_of(pref)
        """ARIA role of :attr:`control` (how an accessibility snapshot shows it)."""
        role: Any = self.role  # an ARIA role name; Playwright types it as a Literal of every role
        self.control: Locator = scope.get_by_role(role, name=pref.title, exact=True)
        """The element a shopper operates, or the group holding the options: named by the type's title."""

    @classmethod
    def role_of(cls, pref: PreferenceInfo) -> str:
        return cls.control_role

    @classmethod
    def stored(cls, pref: PreferenceInfo, value: Any) -> Any:
        """A stored value in the form :meth:`change_by_keyboard` returns and :meth:`expect_ui_value` takes."""
        return value

    @classmethod
    def tab_targets(cls, pref: PreferenceInfo) -> list[TabTarget]:
        """What of ``pref``'s control the keyboard journey must reach by Tab: by default the control
        itself, by role and title, unless the shopper cannot change it."""
        return [TabTarget(role=cls.role_of(pref), name=accessible_name(pref.title))] if pref.operable else []

    def expect_enabled(self) -> None:
        raise NotImplementedError

    def expect_ui_value(self, expected: Any) -> None:
        """The control shows ``expected`` (in :meth:`stored`'s form)."""
        raise NotImplementedError

    def change_by_keyboard(self, current: Any, *, no_choice_label: str) -> Any:
        """Change the control away from its ``current`` (stored) value by keyboard; returns the value it
        must now have, in :meth:`stored`'s form. ``no_choice_label`` names a "No preference" choice."""
        raise NotImplementedError

    def expect_read_only(self) -> None:
        """Shown as information only (a type the shopper cannot change: ``PreferenceInfo.operable``)."""
        raise AssertionError(f"a {self.kind} ({self.pref.key!r}) is always operable: no read-only form")
