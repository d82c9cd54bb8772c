"""Page objects, located by ARIA role and accessible name only (never by CSS classes)."""

from __future__ import annotations

from .banner import ConsentBanner
from .center import PreferenceCenterPage, page_url
from .listing import DemoListingPage
from .sessions import WidgetSessions, expect_widgets_rendered
from .widgets import ConsentToggleWidget, FilterGroupWidget, SliderWidget

__all__ = [
    "ConsentBanner",
    "ConsentToggleWidget",
    "DemoListingPage",
    "FilterGroupWidget",
    "PreferenceCenterPage",
    "SliderWidget",
    "WidgetSessions",
    "expect_widgets_rendered",
    "page_url",
]
