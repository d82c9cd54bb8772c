"""Page objects of the widget kinds, located by ARIA role and accessible name only.

A re-themed shop (other classes, other markup around the controls) keeps working as long as the
controls keep their WAI-ARIA roles and their registry titles as accessible names. Each kind's page object
lives in its own module of :mod:`e2e.kinds`; they are importable from here as well.
"""

from __future__ import annotations

from ..kinds import ConsentToggleWidget, FilterGroupWidget, KindWidget, Scope, SliderWidget, number_text

__all__ = ["ConsentToggleWidget", "FilterGroupWidget", "KindWidget", "Scope", "SliderWidget", "number_text"]
