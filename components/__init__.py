"""prefkit's headless, accessible ReactPy components, generated from the preference registry.

Headless: behaviour, state and ARIA semantics, no inline styles. Every element carries ``data-part`` and
(when it has one) a ``data-state`` token list for themes (``themes/``) or a shop's own CSS; class names
per part can be passed as ``class_names``.

Use them controlled (``value=`` + ``on_change=``, plus ``registry=``) or connected, inside a
:func:`PreferenceProvider` given any :class:`PreferenceStore` (the BFF implements one per websocket
session). This package imports ``preference_registry`` and ReactPy only — never ``bff``.

    PreferenceProvider(store, PreferenceCenter(), locale="pl")
    PreferenceProvider(store, ConsentToggle("marketing_email"), locale="en")
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from .banner import ConsentBanner, needs_choice
from .center import BulkActions, History, LiveRegion, PreferenceCenter, YourData, control_for, live_region
from .consent_toggle import ConsentToggle
from .filter_group import FilterGroup
from .i18n import CATALOGS, KitText, kit_text
from .parts import ClassNames, part
from .session import (
    Announcement,
    KitAssets,
    PreferenceProvider,
    PreferenceSession,
    SessionContext,
    use_session,
)
from .priorities import PriorityList
from .slider import PreferenceSlider, slider_key_value, slider_value_at
from .why_this import WhyThis
from .store import (
    EffectiveState,
    HistoryEntry,
    PreferenceStore,
    PreferenceStoreError,
    StoreCapabilities,
    Unsubscribe,
)

__all__ = [
    "BEHAVIOUR_SCRIPT",
    "CATALOGS",
    "Announcement",
    "BulkActions",
    "ClassNames",
    "ConsentBanner",
    "ConsentToggle",
    "EffectiveState",
    "FilterGroup",
    "History",
    "HistoryEntry",
    "KitAssets",
    "KitText",
    "LiveRegion",
    "PreferenceCenter",
    "PreferenceProvider",
    "PreferenceSession",
    "PreferenceSlider",
    "PreferenceStore",
    "PreferenceStoreError",
    "PriorityList",
    "SessionContext",
    "StoreCapabilities",
    "Unsubscribe",
    "WhyThis",
    "YourData",
    "control_for",
    "kit_text",
    "live_region",
    "needs_choice",
    "part",
    "slider_key_value",
    "slider_value_at",
    "use_session",
]

BEHAVIOUR_SCRIPT: Final[Path] = Path(__file__).parent / "static" / "prefkit-components.js"
"""The components' small browser helper (focus management, key defaults, pointer geometry); serve it and
pass its URL as ``KitAssets(behaviour_src=...)``."""
