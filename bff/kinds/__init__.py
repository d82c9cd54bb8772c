"""The BFF's per-kind pieces, one module per preference kind, looked up by kind name (``pref.kind``).

Each kind module (``consent``, ``slider``, ``filter``) holds what the BFF decides for that kind: its part
of the personalization profile (:func:`bff.profile.build_profile`), its fields of the registry view
(:func:`bff.api.views.registry_view`), the HTTP methods of its ``/preferences/<key>`` (OpenAPI, ``Allow``),
the mount-point name of its standalone widget and what the demo shows of it. A kind without an entry is
an :class:`~components.kinds.UnknownKindError` naming it, never another kind's code.

Adding a kind: its module here with a ``KIND``, one line in :data:`KINDS`.
"""

from __future__ import annotations

from components.kinds import KindTable as _KindTable
from components.kinds import UnknownKindError

from .base import ALL_METHODS, BffKind, ProfileParts, Words
from .consent import KIND as _CONSENT
from .filter import KIND as _FILTER
from .filter import FilterProfile
from .priorities import KIND as _PRIORITIES
from .priorities import PrioritiesProfile, PriorityProfile, rank_weights
from .slider import KIND as _SLIDER
from .slider import SliderProfile

__all__ = [
    "ALL_METHODS",
    "KINDS",
    "BffKind",
    "FilterProfile",
    "PrioritiesProfile",
    "PriorityProfile",
    "ProfileParts",
    "SliderProfile",
    "UnknownKindError",
    "Words",
    "rank_weights",
]

KINDS: _KindTable[BffKind] = _KindTable(
    "BFF entry", {"consent": _CONSENT, "slider": _SLIDER, "filter": _FILTER, "priorities": _PRIORITIES}
)
"""Kind name -> the BFF's pieces of that kind."""
