"""The QA kit's per-kind support, one module per preference kind, looked up by kind name (``pref.kind``).

Each kind module holds its page object (a :class:`~e2e.kinds.base.KindWidget`): how its control is found
by role and name, operated by keyboard, what value it shows, what the keyboard journey must reach and the
name of its standalone widget. The flows and :mod:`e2e.operate` work for any kind through :data:`KINDS`;
a kind the kit has no page object for is an :class:`UnknownKindError` naming it.

Adding a kind: its module here with a ``KindWidget`` subclass, one line in :data:`KINDS`.
"""

from __future__ import annotations

from components.kinds import KindTable as _KindTable
from components.kinds import UnknownKindError

from .base import KindWidget, Scope, TabTarget, accessible_name, number_text
from .consent import ConsentToggleWidget
from .filter import FilterGroupWidget
from .priorities import PriorityListWidget
from .slider import SliderWidget

__all__ = [
    "KINDS",
    "ConsentToggleWidget",
    "FilterGroupWidget",
    "KindWidget",
    "PriorityListWidget",
    "Scope",
    "SliderWidget",
    "TabTarget",
    "UnknownKindError",
    "accessible_name",
    "number_text",
]

KINDS: _KindTable[type[KindWidget]] = _KindTable(
    "QA-kit page object",
    {widget.kind: widget
     for widget in (ConsentToggleWidget, SliderWidget, FilterGroupWidget, PriorityListWidget)},
)
"""Kind name -> the page object class of that kind's control."""
