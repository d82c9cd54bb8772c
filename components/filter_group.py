"""``FilterGroup``: a filter as a checkbox group (``multiple``) or a radio group (single choice).

Native ``<input type=checkbox|radio>`` inside ``role=group`` / ``role=radiogroup``: the browser provides
Space to toggle and arrow keys between radios, and every option is labelled by its ``<label>``.
A single-choice filter offers an explicit "No preference" radio, since a radio group cannot be
emptied once chosen and "nothing" must stay a choice. Optional chips repeat the current selection;
each chip is a button that removes its option with one key (Enter, Space, Delete or Backspace).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reactpy import component, html, use_ref
from reactpy.types import VdomDict

from preference_registry import FilterType, PreferenceType, RegistrySnapshot

from .common import (
    UNSET,
    ControlContext,
    ControlKind,
    Latest,
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

__all__ = ["CONTROL", "FilterGroup", "filter_view"]

_REMOVE_KEYS = frozenset({"Delete", "Backspace"})


@component
def FilterGroup(
    preference: str,
    /,
    *,
    value: Any = UNSET,
    on_change: Callable[[Any], Any] | None = None,
    registry: RegistrySnapshot | None = None,
    locale: str | None = None,
    class_names: ClassNames | None = None,
    id_prefix: str | None = None,
    missing_requirements: tuple[str, ...] | None = None,
    chips: bool = False,
) -> VdomDict:
    """Options of registry filter ``preference``; ``value`` is a list of option keys (multiple) or one key
    or ``None`` (single). ``chips=True`` also renders the current selection as removable chips."""
    ctx = use_control(preference, value=value, on_change=on_change, registry=registry, locale=locale,
                      class_names=class_names, id_prefix=id_prefix, missing_requirements=missing_requirements)
    latest = use_ref(None)
    return filter_view(ctx, chips=chips, class_names=class_names, latest=latest)


def filter_view(
    ctx: ControlContext | str,
    *,
    chips: bool = False,
    class_names: ClassNames | None = None,
    latest: Any = None,
) -> VdomDict:
    """The markup of a filter control (also used directly by the preference center).

    ``latest`` (anything with a ``current`` attribute, kept by the caller across renders) holds the selection
    as last changed: two quick toggles arrive before the first save re-renders, and the second must build
    on the first rather than on what was rendered (the shopper's first choice would be lost)."""
    checked = control_or_error(ctx, "filter", class_names)
    if not isinstance(checked, ControlContext):
        return checked
    holder = latest if latest is not None else Latest()
    return _render(checked, checked.pref, chips, holder)  # type: ignore[arg-type]


def _selected(pref: FilterType, value: Any) -> list[str]:
    if pref.multiple:
        return [option for option in (value or []) if isinstance(option, str)]
    return [value] if isinstance(value, str) else []


def _render(ctx: ControlContext, pref: FilterType, with_chips: bool, latest: Any) -> VdomDict:
    names = ctx.class_names
    selected = _selected(pref, ctx.value)
    latest.current = selected
    input_type = "checkbox" if pref.multiple else "radio"
    group_name = ctx.ids("options")

    async def change_to(new_value: Any) -> None:
        latest.current = _selected(pref, new_value)  # before awaiting: the next event builds on it
        if not ctx.disabled:  # as its handlers: a disabled group changes nothing
            await emit(ctx, new_value)

    def without(option_key: str) -> Any:
        return [o for o in latest.current if o != option_key] if pref.multiple else None

    def choose(option_key: str | None) -> Callable[[Mapping[str, Any]], Any]:
        async def on_change(data: Mapping[str, Any]) -> None:
            if pref.multiple:
                checked = bool((data.get("target") or {}).get("checked"))
                wanted = {o for o in latest.current if o != option_key} | ({option_key} if checked else set())
                # Registry option order, so the stored list does not depend on click order.
                await change_to([o for o in pref.option_keys if o in wanted])
            else:
                await change_to(option_key)

        return on_change

    def remove(option_key: str) -> Callable[[Mapping[str, Any]], Any]:
        async def on_click(_data: Mapping[str, Any]) -> None:
            await change_to(without(option_key))

        return on_click

    def remove_by_key(option_key: str) -> Callable[[Mapping[str, Any]], Any]:
        async def on_key_down(data: Mapping[str, Any]) -> None:
            if data.get("key") in _REMOVE_KEYS:
                await change_to(without(option_key))

        return on_key_down

    def option_row(option_key: str | None, label: str) -> VdomDict:
        checked = option_key in selected if option_key is not None else not selected
        state = "checked" if checked else "unchecked"
        input_attrs = optional(
            {
                "type": input_type,
                "name": group_name,
                "value": option_key or "-",
                "checked": checked,
                "disabled": True if ctx.disabled else None,
                "onChange": None if ctx.disabled else handler(choose(option_key)),
            }
        )
        # The label wraps its input: labelled without ids, one element less per option.
        return html.label(
            part("option", ctx.states(state), names, {"key": option_key or "-none-"}),
            html.input(part(input_type, ctx.states(state), names, input_attrs)),
            label,
        )

    options = [option_row(option.key, ctx.t(option.label)) for option in pref.options]
    if not pref.multiple:
        options.insert(0, option_row(None, ctx.text("no_choice")))

    group_attrs = optional(
        {
            "role": "group" if pref.multiple else "radiogroup",
            "aria-labelledby": ctx.ids("title"),
            "aria-describedby": described_by(ctx),
            "aria-disabled": "true" if ctx.disabled else None,
        }
    )
    chip_block: Any = ""
    if with_chips and selected:
        labels = {option.key: ctx.t(option.label) for option in pref.options}
        chip_block = html.div(
            part("chips", (), names, {"role": "group", "aria-label": ctx.text("selected")}),
            [
                html.button(
                    part(
                        "chip",
                        ctx.states(),
                        names,
                        optional(
                            {
                                "key": option_key,
                                "type": "button",
                                "aria-label": ctx.text("remove", label=labels.get(option_key, option_key)),
                                "data-prefkit-chip": "true",
                                "disabled": True if ctx.disabled else None,
                                "onClick": None if ctx.disabled else handler(remove(option_key)),
                                "onKeyDown": None if ctx.disabled else handler(remove_by_key(option_key)),
                            }
                        ),
                    ),
                    labels.get(option_key, option_key),
                )
                for option_key in selected
            ],
        )
    return html.div(
        part(
            "filter",
            ctx.states("multiple" if pref.multiple else "single"),
            names,
            {"data-key": pref.key, "key": pref.key},
        ),
        html.span(part("title", (), names, {"id": ctx.ids("title")}), ctx.t(pref.title)),
        html.div(part("options", ctx.states(), names, group_attrs), options),
        chip_block,
        *texts_block(ctx),
    )


def _value_text(
    snapshot: RegistrySnapshot, pref: PreferenceType, value: Any, locale: str, text: KitText
) -> str:
    options = pref.options  # type: ignore[union-attr]
    labels = {o.key: snapshot.text(o.label, locale) or o.key for o in options}
    chosen = value if isinstance(value, list) else ([value] if value else [])
    return ", ".join(labels.get(v, str(v)) for v in chosen) or text("none_selected")


CONTROL = ControlKind(
    connected=lambda pref, layout: FilterGroup(pref.key, key=pref.key, chips=layout.chips),
    in_layout=lambda ctx, slot, layout: filter_view(ctx, chips=layout.chips, latest=slot.latest),
    value_text=_value_text,
)
"""The filter kind's entry of ``components.kinds.CONTROLS``."""
