"""``PreferenceSlider``: a value on a scale as a WAI-ARIA slider.

Pattern: https://www.w3.org/WAI/ARIA/apg/patterns/slider/ — ``role="slider"`` on the thumb with
``aria-valuenow/min/max`` from the registry type and ``aria-valuetext`` from its labelled stops.
Keys: ArrowLeft/ArrowDown one step down, ArrowRight/ArrowUp one step up, Home/End to the ends,
PageDown/PageUp by ``SliderType.effective_page_step``. Pointer: a click on the track jumps there, a drag
follows the pointer and saves on release. ``prefkit-components.js`` keeps those keys from scrolling the
page and measures where on the track the pointer is (the server cannot measure the page).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from reactpy import component, html, use_ref, use_state
from reactpy.types import VdomDict

from preference_registry import PreferenceType, RegistrySnapshot, SliderType
from preference_registry.grid import steps_from

from .common import (
    UNSET,
    ControlContext,
    ControlKind,
    control_or_error,
    described_by,
    emit,
    optional,
    texts_block,
    use_control,
)
from .handlers import handler
from .i18n import KitText
from .parts import ClassNames, part, percent_of

__all__ = ["CONTROL", "PreferenceSlider", "slider_key_value", "slider_value_at", "slider_view"]

SLIDER_KEYS = ("ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown")
_KEYS_ATTRIBUTE = " ".join(SLIDER_KEYS)


def _at(pref: SliderType, steps: int) -> int | float:
    """The value ``steps`` steps above ``min``, kept within the range; exactly on a step (never the
    binary noise of ``0.1 * 3``, never off a grid that starts between multiples of its step)."""
    return pref.value_at_step(max(0, min(pref.step_count, steps)))


def _steps_of(pref: SliderType, value: float) -> int:
    """The step nearest ``value`` (a host's controlled value may sit between steps)."""
    return round(steps_from(value, pref.min, pref.step)) if math.isfinite(value) else 0


def slider_key_value(pref: SliderType, current: float, key: str) -> int | float | None:
    """The value a key press leads to, or ``None`` for keys the slider does not handle."""
    now, page = _steps_of(pref, current), pref.page_step_count
    moves: Mapping[str, int] = {
        "ArrowLeft": now - 1,
        "ArrowDown": now - 1,
        "ArrowRight": now + 1,
        "ArrowUp": now + 1,
        "PageDown": now - page,
        "PageUp": now + page,
        "Home": 0,
        "End": pref.step_count,
    }
    move = moves.get(key)
    return None if move is None else _at(pref, move)


def slider_value_at(pref: SliderType, fraction: float) -> int | float:
    """The value at ``fraction`` (0 = left end, 1 = right end) of the track."""
    fraction = max(0.0, min(1.0, fraction)) if math.isfinite(fraction) else 0.0
    return _at(pref, round(fraction * pref.step_count))


def _pointer_fraction(data: Mapping[str, Any]) -> float | None:
    """The track position ``prefkit-components.js`` stored on the track right before this event."""
    for holder in ("currentTarget", "target"):
        dataset = (data.get(holder) or {}).get("dataset") or {}
        raw = dataset.get("prefkitFraction")
        if raw is not None:
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None


@component
def PreferenceSlider(
    preference: str,
    /,
    *,
    value: Any = UNSET,
    on_change: Callable[[int | float], Any] | None = None,
    registry: RegistrySnapshot | None = None,
    locale: str | None = None,
    class_names: ClassNames | None = None,
    id_prefix: str | None = None,
    missing_requirements: tuple[str, ...] | None = None,
) -> VdomDict:
    """A slider for registry key ``key`` (controlled with ``value`` + ``on_change``, or connected).

    Disabled, with the reason shown and linked through ``aria-describedby``, while a consent it requires
    is not granted (connected: from the effective value; controlled: ``missing_requirements``).
    """
    ctx = use_control(preference, value=value, on_change=on_change, registry=registry, locale=locale,
                      class_names=class_names, id_prefix=id_prefix, missing_requirements=missing_requirements)
    draft, set_draft = use_state(None)  # value under the pointer while dragging
    latest = use_ref(None)  # value shown, updated by each handler before the next render arrives
    return slider_view(ctx, draft, set_draft, latest, class_names=class_names)


def slider_view(
    ctx: ControlContext | str,
    draft: Any,
    set_draft: Callable[[Any], None],
    latest: Any,
    *,
    class_names: ClassNames | None = None,
) -> VdomDict:
    """The markup of a slider; the caller keeps its drag state (``draft``) and a ``latest`` ref
    (anything with a ``current`` attribute). Used directly by the preference center."""
    checked = control_or_error(ctx, "slider", class_names)
    if not isinstance(checked, ControlContext):
        return checked
    return _render(checked, checked.pref, draft, set_draft, latest)  # type: ignore[arg-type]


def _render(
    ctx: ControlContext, pref: SliderType, draft: Any, set_draft: Callable[[Any], None], latest: Any
) -> VdomDict:
    names = ctx.class_names
    shown = draft if draft is not None else ctx.value
    latest.current = shown
    dragging = draft is not None

    async def change(new_value: int | float) -> None:
        if new_value == latest.current and not dragging:
            return
        latest.current = new_value
        await emit(ctx, new_value)

    async def on_key(data: Mapping[str, Any]) -> None:
        if ctx.disabled:
            return
        new_value = slider_key_value(pref, latest.current, str(data.get("key", "")))
        if new_value is not None and new_value != latest.current:
            await change(new_value)

    async def on_pointer_down(data: Mapping[str, Any]) -> None:
        fraction = _pointer_fraction(data)
        if ctx.disabled or fraction is None:
            return
        set_draft(slider_value_at(pref, fraction))

    def on_pointer_move(data: Mapping[str, Any]) -> None:
        fraction = _pointer_fraction(data)
        if fraction is not None and draft is not None:
            set_draft(slider_value_at(pref, fraction))

    async def on_pointer_up(data: Mapping[str, Any]) -> None:
        fraction = _pointer_fraction(data)
        final = slider_value_at(pref, fraction) if fraction is not None else draft
        set_draft(None)
        if final is not None and not ctx.disabled and final != ctx.value:
            await change(final)

    stop = pref.stop_for(shown)
    value_text = ctx.t(stop.label) if stop else None
    percent = str(percent_of(shown, pref.min, pref.max))
    states = ctx.states("dragging" if dragging else None)
    # Pointer handlers sit on an empty hit area, not on the track: ReactPy's client sends the event's
    # target and currentTarget serialized with their child elements, and a childless element keeps each
    # pointer event at about 20 KB with the stock client (the bridge refuses messages over 64 KB);
    # prefkit.js also trims every event to the fields the components read.
    # A disabled slider gets no handlers at all: its keys and clicks are not even sent to the server.
    hit_attrs: dict[str, Any] = {"data-prefkit-track-hit": ""}
    if not ctx.disabled:
        hit_attrs |= {"onPointerDown": handler(on_pointer_down), "onPointerUp": handler(on_pointer_up)}
    if dragging and not ctx.disabled:
        # Only while a button is down: hovering must not stream events to the server.
        hit_attrs["onPointerMove"] = handler(on_pointer_move, throttle=50)
    thumb_attrs = optional(
        {
            "role": "slider",
            "tabIndex": 0,
            "aria-valuemin": pref.min,
            "aria-valuemax": pref.max,
            "aria-valuenow": shown,
            "aria-valuetext": value_text,
            "aria-labelledby": ctx.ids("label"),
            "aria-describedby": described_by(ctx),
            "aria-disabled": "true" if ctx.disabled else None,
            "aria-busy": "true" if ctx.saving else None,
            "data-percent": percent,
            "data-prefkit-keys": _KEYS_ATTRIBUTE,
            "onKeyDown": None if ctx.disabled else handler(on_key),
        }
    )
    # The scale in one element: the end labels are drawn by the theme from data attributes, the current
    # value's label is its text (assistive technology reads aria-valuetext instead: aria-hidden).
    low, high = pref.stop_for(pref.min), pref.stop_for(pref.max)
    scale = html.span(
        part(
            "stops",
            (),
            names,
            optional(
                {
                    "aria-hidden": "true",
                    "data-min-label": ctx.t(low.label) if low else str(pref.min),
                    "data-max-label": ctx.t(high.label) if high else str(pref.max),
                }
            ),
        ),
        value_text if value_text is not None else str(shown),
    )
    # The track draws the rail and the filled range itself (::before/::after, width from data-percent).
    return html.div(
        part("slider", states, names, {"data-key": pref.key, "key": pref.key}),
        html.span(part("label", (), names, {"id": ctx.ids("label")}), ctx.t(pref.title)),
        html.div(
            part("track", states, names, {"data-prefkit-track": "", "data-percent": percent}),
            html.div(part("track-hit", states, names, hit_attrs)),
            html.div(part("thumb", states, names, thumb_attrs)),
        ),
        scale,
        *texts_block(ctx),
    )


def _value_text(
    snapshot: RegistrySnapshot, pref: PreferenceType, value: Any, locale: str, text: KitText
) -> str:
    stop = pref.stop_for(value)  # type: ignore[union-attr]
    return (snapshot.text(stop.label, locale) or str(value)) if stop else str(value)


CONTROL = ControlKind(
    connected=lambda pref, _layout: PreferenceSlider(pref.key, key=pref.key),
    in_layout=lambda ctx, slot, _layout: slider_view(ctx, slot.draft, slot.set_draft, slot.latest),
    value_text=_value_text,
)
"""The slider kind's entry of ``components.kinds.CONTROLS``."""
