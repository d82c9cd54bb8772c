"""``ConsentToggle``: one consent as a WAI-ARIA switch, with "what we use / what you get".

Pattern: https://www.w3.org/WAI/ARIA/apg/patterns/switch/ — a native ``<button role="switch">``, so
Space and Enter toggle it without any script and it is in the tab order by nature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactpy import component, html
from reactpy.types import VdomDict

from preference_registry import PreferenceType, RegistrySnapshot

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
from .parts import ClassNames, part

__all__ = ["CONTROL", "ConsentToggle", "consent_view"]


@component
def ConsentToggle(
    preference: str,
    /,
    *,
    value: Any = UNSET,
    on_change: Callable[[bool], Any] | None = None,
    registry: RegistrySnapshot | None = None,
    locale: str | None = None,
    class_names: ClassNames | None = None,
    id_prefix: str | None = None,
    missing_requirements: tuple[str, ...] | None = None,
) -> VdomDict:
    """A consent switch for registry key ``preference``.

    Controlled: pass ``value`` (bool) and ``on_change(new_value)`` (plus ``registry`` outside a
    :func:`~components.session.PreferenceProvider`). Connected: omit ``value`` inside a provider; changes
    are saved at once and the control follows changes made anywhere else.
    ``notice_only`` consents render as an informational item without a switch.
    """
    ctx = use_control(preference, value=value, on_change=on_change, registry=registry, locale=locale,
                      class_names=class_names, id_prefix=id_prefix, missing_requirements=missing_requirements)
    return consent_view(ctx, class_names)


def consent_view(ctx: ControlContext | str, class_names: ClassNames | None = None) -> VdomDict:
    """The markup of a consent control (also used directly by the preference center)."""
    checked = control_or_error(ctx, "consent", class_names)
    if not isinstance(checked, ControlContext):
        return checked
    if not checked.pref.switchable:  # type: ignore[union-attr]
        return _notice(checked)
    return _switch(checked)


def _notice(ctx: ControlContext) -> VdomDict:
    names = ctx.class_names
    return html.div(
        part("consent", ("notice-only",), names, {"data-key": ctx.pref.key, "key": ctx.pref.key}),
        html.span(part("title", (), names, {"id": ctx.ids("title")}), ctx.t(ctx.pref.title)),
        html.span(part("badge", ("notice-only",), names), ctx.text("always_on")),
        *texts_block(ctx, lead=ctx.text("always_on_hint")),
    )


def _switch(ctx: ControlContext) -> VdomDict:
    names = ctx.class_names
    checked = ctx.value is True
    check_state = "checked" if checked else "unchecked"

    async def toggle(_event: Any) -> None:
        if not ctx.disabled:
            await emit(ctx, not checked)

    async def confirm_again(_event: Any) -> None:
        await emit(ctx, checked)

    stale_block: list[VdomDict] = []
    if ctx.stale:
        stale_block.append(
            html.div(
                part("stale-notice", ("stale",), names, {"id": ctx.ids("stale")}),
                html.p(part("stale-text", (), names), ctx.text("stale")),
                html.button(
                    part("confirm", (), names, {"type": "button", "onClick": handler(confirm_again)}),
                    ctx.text("confirm_again"),
                ),
            )
        )
    switch_attrs = optional(
        {
            "type": "button",
            "role": "switch",
            "aria-checked": "true" if checked else "false",
            "aria-labelledby": ctx.ids("title"),
            "aria-describedby": described_by(ctx, *([ctx.ids("stale")] if ctx.stale else [])),
            "aria-disabled": "true" if ctx.disabled else None,
            "aria-busy": "true" if ctx.saving else None,
            "onClick": handler(toggle),
        }
    )
    return html.div(
        part("consent", ctx.states(check_state), names, {"data-key": ctx.pref.key, "key": ctx.pref.key}),
        html.span(part("title", (), names, {"id": ctx.ids("title")}), ctx.t(ctx.pref.title)),
        # The track and thumb are drawn by the theme (::before/::after of the button); the visible on/off
        # word keeps the state from relying on colour or position alone (WCAG 1.4.1). The accessible name
        # comes from aria-labelledby (the title), so assistive technology reads "title, switch, on/off"
        # from aria-checked rather than this word.
        html.button(
            part("switch", ctx.states(check_state), names, switch_attrs), ctx.text("on" if checked else "off")
        ),
        *texts_block(ctx),
        *stale_block,
    )


def _value_text(
    snapshot: RegistrySnapshot, pref: PreferenceType, value: Any, locale: str, text: KitText
) -> str:
    if isinstance(value, bool):
        return text("history_allowed") if value else text("history_refused")
    return str(value)


CONTROL = ControlKind(
    connected=lambda pref, _layout: ConsentToggle(pref.key, key=pref.key),
    in_layout=lambda ctx, _slot, _layout: consent_view(ctx),
    value_text=_value_text,
)
"""The consent kind's entry of ``components.kinds.CONTROLS``."""
