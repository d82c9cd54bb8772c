"""``PriorityList``: the shopper's order of criteria as a rearrangeable list with move buttons.

Pattern: the WAI-ARIA APG "rearrangeable listbox" example
(https://www.w3.org/WAI/ARIA/apg/patterns/listbox/examples/listbox-rearrangeable/) moves options with
"Up"/"Down" buttons and announces each move; here each item is a plain ``<li>`` of an ordered ``<ol>``
(a screen reader says "2 of 4") carrying its own buttons, because interactive buttons inside
``role=option`` would be nested interactive controls (an axe violation, and unreachable by Tab).

* Per item: "Move <label> up", "Move <label> down" and, for an optional criterion, "Leave out <label>";
  a criterion not in the order is listed below with "Add <label>" (it joins at the end of the order).
* Keys: Enter/Space on a button; Alt+ArrowUp / Alt+ArrowDown anywhere on an item move it one place,
  Alt+Home / Alt+End to the top / bottom.
* Each change is announced in the control's own polite live region ("Price moved to position 1 of 4").
  A move button at the end of the list is ``aria-disabled`` (not ``disabled``): focus stays on it when
  its item arrives there. ``prefkit-components.js`` keeps focus on the moved item's
  button when the list is re-ordered (``data-prefkit-move``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reactpy import component, html, use_ref
from reactpy.types import VdomDict

from preference_registry import PreferenceType, RegistrySnapshot
from preference_registry.kinds.priorities import PrioritiesType

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

__all__ = ["CONTROL", "PriorityList", "move_criterion", "priorities_view"]

_ALT_MOVES: Mapping[str, str] = {"ArrowUp": "up", "ArrowDown": "down", "Home": "top", "End": "bottom"}


def _order_of(pref: PrioritiesType, value: Any) -> list[str]:
    """The criterion keys of ``value`` that the type declares, each once (a host's value may be anything)."""
    keys = pref.criterion_keys
    seen: list[str] = []
    for key in value if isinstance(value, list) else []:
        if isinstance(key, str) and key in keys and key not in seen:
            seen.append(key)
    return seen


def move_criterion(order: list[str], key: str, move: str) -> list[str]:
    """``order`` with ``key`` moved ``up``/``down`` one place or to the ``top``/``bottom`` (unchanged at
    the end it is moved towards, or when ``key`` is not in it)."""
    if key not in order:
        return list(order)
    rest = [k for k in order if k != key]
    index = order.index(key)
    target = {"up": index - 1, "down": index + 1, "top": 0, "bottom": len(rest)}[move]
    rest.insert(max(0, min(len(rest), target)), key)
    return rest


@component
def PriorityList(
    preference: str,
    /,
    *,
    value: Any = UNSET,
    on_change: Callable[[list[str]], Any] | None = None,
    registry: RegistrySnapshot | None = None,
    locale: str | None = None,
    class_names: ClassNames | None = None,
    id_prefix: str | None = None,
    missing_requirements: tuple[str, ...] | None = None,
) -> VdomDict:
    """The order of registry priorities ``preference``; ``value`` is a list of criterion keys, most
    important first (controlled with ``value`` + ``on_change``, or connected inside a provider)."""
    ctx = use_control(preference, value=value, on_change=on_change, registry=registry, locale=locale,
                      class_names=class_names, id_prefix=id_prefix, missing_requirements=missing_requirements)
    latest = use_ref(None)
    return priorities_view(ctx, class_names=class_names, latest=latest)


def priorities_view(ctx: ControlContext | str, *, class_names: ClassNames | None = None,
                    latest: Any = None) -> VdomDict:
    """The markup of a priorities control (also used directly by the preference center). ``latest``
    (kept by the caller across renders) holds the order as last changed and what was announced about
    it: a second key press before the first save re-rendered builds on the first."""
    checked = control_or_error(ctx, "priorities", class_names)
    if not isinstance(checked, ControlContext):
        return checked
    holder = latest if latest is not None else Latest()
    return _render(checked, checked.pref, holder)  # type: ignore[arg-type]


def _render(ctx: ControlContext, pref: PrioritiesType, latest: Any) -> VdomDict:
    names, t = ctx.class_names, ctx.text
    order = _order_of(pref, ctx.value)
    previous = latest.current if isinstance(latest.current, tuple) else None
    # What was announced belongs to the order it was said about; a change from elsewhere silences it.
    said = previous[1] if previous is not None and previous[0] == order else ""
    serial = previous[2] if previous is not None else 0
    latest.current = (order, said, serial)
    labels = {c.key: ctx.t(c.label) for c in pref.criteria}

    async def change(new_order: list[str], announcement: str) -> None:
        current = latest.current
        # Before awaiting: the next event builds on it.
        latest.current = (new_order, announcement, current[2] + 1)
        if new_order != current[0] and not ctx.disabled:
            await emit(ctx, new_order)

    async def move(key: str, direction: str) -> None:
        if ctx.disabled:
            return
        now = latest.current[0]
        if key not in now:
            return
        moved = move_criterion(now, key, direction)
        if moved != now:  # at the end already: its button says so (aria-disabled), nothing to announce
            await change(moved, t("priorities_moved", label=labels[key], position=moved.index(key) + 1,
                                  count=len(moved)))

    async def leave_out(key: str) -> None:
        now = latest.current[0]
        if ctx.disabled or key not in now or key in pref.required_keys:
            return
        await change([k for k in now if k != key], t("priorities_left_out", label=labels[key]))

    async def add_back(key: str) -> None:
        now = latest.current[0]
        if ctx.disabled or key in now:
            return
        added = [*now, key]
        await change(added, t("priorities_added", label=labels[key], position=len(added), count=len(added)))

    def on_click(action: Callable[..., Any], *args: str) -> Any:
        async def clicked(_data: Mapping[str, Any]) -> None:
            await action(*args)

        return None if ctx.disabled else handler(clicked)

    def on_item_key(key: str) -> Any:
        async def pressed(data: Mapping[str, Any]) -> None:
            direction = _ALT_MOVES.get(str(data.get("key", ""))) if data.get("altKey") else None
            if direction is not None:
                await move(key, direction)

        return None if ctx.disabled else handler(pressed)

    def button(action_part: str, label: str, glyph: str, click: Any, *, at_end: bool = False) -> VdomDict:
        attrs = optional({
            "type": "button",
            "aria-label": label,
            "aria-disabled": "true" if at_end or ctx.disabled else None,
            "data-prefkit-move": action_part,
            "onClick": click,
        })
        return html.button(part(action_part, ctx.states("at-end" if at_end else None), names, attrs),
                           html.span({"aria-hidden": "true"}, glyph))

    count = len(order)
    items = []
    for position, key in enumerate(order, start=1):
        criterion = pref.criterion(key)
        label = labels[key]
        buttons = [
            button("move-up", t("priorities_move_up", label=label), "↑", on_click(move, key, "up"),
                   at_end=position == 1),
            button("move-down", t("priorities_move_down", label=label), "↓", on_click(move, key, "down"),
                   at_end=position == count),
        ]
        if criterion is not None and criterion.optional:
            buttons.append(button("leave-out", t("priorities_leave_out", label=label), "×",
                                  on_click(leave_out, key)))
        items.append(html.li(
            part("criterion", ctx.states(), names,
                 {"key": key, "data-criterion": key, "data-position": str(position),
                  "onKeyDown": on_item_key(key)}),
            html.span(part("criterion-label", (), names, {"id": ctx.ids(f"criterion-{key}")}), label),
            # A group named by the criterion: its buttons are found (and announced) as that item's.
            html.span(part("criterion-actions", (), names,
                           {"role": "group", "aria-labelledby": ctx.ids(f"criterion-{key}")}), buttons),
        ))
    if not items:  # an empty order (every criterion optional): say so, the list stays where it is
        items.append(html.li(part("criteria-empty", (), names, {"key": "-empty-"}), t("priorities_empty")))
    left_out = [c.key for c in pref.criteria if c.key not in order]
    left_out_block: Any = ""
    if left_out:
        left_out_block = html.div(
            part("left-out", (), names),
            html.span(part("left-out-title", (), names, {"id": ctx.ids("left-out")}),
                      t("priorities_left_out_title")),
            html.ul(
                part("left-out-list", (), names, {"aria-labelledby": ctx.ids("left-out")}),
                [html.li(part("criterion", ctx.states("left-out"), names,
                              {"key": key, "data-criterion": key}),
                         html.span(part("criterion-label", (), names, {"id": ctx.ids(f"criterion-{key}")}),
                                   labels[key]),
                         html.span(part("criterion-actions", (), names,
                                        {"role": "group", "aria-labelledby": ctx.ids(f"criterion-{key}")}),
                                   button("add-back", t("priorities_add_back", label=labels[key]), "+",
                                          on_click(add_back, key))))
                 for key in left_out],
            ),
        )
    current = latest.current
    return html.div(
        part("priorities", ctx.states(), names, {"data-key": pref.key, "key": pref.key}),
        html.span(part("title", (), names, {"id": ctx.ids("title")}), ctx.t(pref.title)),
        html.p(part("help", (), names, {"id": ctx.ids("help")}), t("priorities_help")),
        html.ol(part("criteria", ctx.states(), names, optional({
            "aria-labelledby": ctx.ids("title"),
            "aria-describedby": described_by(ctx, ctx.ids("help")),
        })), items),
        left_out_block,
        html.p(
            # A polite live region of its own (no role=status: the center's one status line stays the
            # single "Saved" / error region), present from the start so that the first move is read.
            part("announcement", (), names, {"aria-live": "polite", "aria-atomic": "true",
                                              "id": ctx.ids("announcement")}),
            html.span({"key": str(current[2])}, current[1]) if current[1] else "",
        ),
        *texts_block(ctx),
    )


def _value_text(
    snapshot: RegistrySnapshot, pref: PreferenceType, value: Any, locale: str, text: KitText
) -> str:
    criteria = pref.criteria  # type: ignore[union-attr]
    labels = {c.key: snapshot.text(c.label, locale) or c.key for c in criteria}
    order = value if isinstance(value, list) else []
    listed = ", ".join(f"{n}. {labels.get(k, str(k))}" for n, k in enumerate(order, start=1))
    return listed or text("none_selected")


CONTROL = ControlKind(
    connected=lambda pref, _layout: PriorityList(pref.key, key=pref.key),
    in_layout=lambda ctx, slot, _layout: priorities_view(ctx, latest=slot.latest),
    value_text=_value_text,
)
"""The priorities kind's entry of ``components.kinds.CONTROLS``."""
