"""``ConsentToggle``: one consent as a WAI-ARIA switch, with "what we use / what you get".

Pattern: https://www.w3.org/WAI/ARIA/apg/patterns/switch/ — a native ``<button role="switch">``, so
Space and Enter toggle it without any script and it is in the tab order by nature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactpy import component, html
from reactpy.types import VdomDict

from preference_registry import ConsentType, RegistrySnapshot

from .common import (
    UNSET,
    ControlContext,
    described_by,
    optional,
    resolve_control,
    texts_block,
    use_control_prefix,
)
from .handlers import handler
from .parts import ClassNames, part
from .session import use_session

__all__ = ["ConsentToggle", "consent_view"]


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
    session = use_session()
    ctx = resolve_control(
        preference,
        session,
        value=value,
        on_change=on_change,
        registry=registry,
        locale=locale,
        class_names=class_names,
        id_prefix=use_control_prefix(id_prefix, session),
        missing_requirements=missing_requirements,
    )
    return consent_view(ctx, class_names)


def consent_view(ctx: ControlContext | str, class_names: ClassNames | None = None) -> VdomDict:
    """The markup of a consent control (also used directly by the preference center)."""
    if isinstance(ctx, str):
        return html.p(part("unknown", ("error",), class_names), ctx)
    if not isinstance(ctx.pref, ConsentType):
        return html.p(part("unknown", ("error",), ctx.class_names), ctx.text("unknown_key", key=ctx.pref.key))
    if not ctx.pref.switchable:
        return _notice(ctx)
    return _switch(ctx)


def _notice(ctx: ControlContext) -> VdomDict:
    names = ctx.class_names
    return html.div(
        part("consent", ("notice-only",), names, {"data-key": ctx.pref.key, "key": ctx.pref.key}),
        html.span(part("title", (), names, {"id": ctx.ids("title")}), ctx.t(ctx.pref.title)),
        html.span(part("badge", ("notice-only",), names), ctx.text("always_on")),
        *texts_block(ctx, lead=ctx.text("always_on_hint")),
    )


async def _emit(ctx: ControlContext, new_value: bool) -> None:
    if ctx.on_change is None:
        return
    result = ctx.on_change(new_value)
    if hasattr(result, "__await__"):
        await result


def _switch(ctx: ControlContext) -> VdomDict:
    names = ctx.class_names
    checked = ctx.value is True
    check_state = "checked" if checked else "unchecked"

    async def toggle(_event: Any) -> None:
        if not ctx.disabled:
            await _emit(ctx, not checked)

    async def confirm_again(_event: Any) -> None:
        await _emit(ctx, checked)

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
