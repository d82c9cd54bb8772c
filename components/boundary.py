"""A widget that cannot render says so: the error state, and the boundary that shows it.

ReactPy has no error boundaries. When a component's render raises, its ``Layout`` logs the exception on
every re-render and sends an empty node, and the shopper sees nothing at all (or the mount point's
"Loading…" forever). :func:`RenderBoundary` renders one child component *inside its own render* (the
child's hooks become the boundary's, which is how ReactPy calls any component's function), so an
exception lands here: the boundary shows :func:`error_state` in the session's locale and logs the widget,
its key and the exception once, not once per re-render.

Duplicate reconciliation keys are refused by the Layout after the render returned, out of the boundary's
reach; :func:`duplicate_keys` finds them in the returned tree first (the same rule as the Layout's), so
that mistake — the preference center's undeclared-sections crash — shows the error state too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from reactpy import component, html, use_ref
from reactpy.types import Component, VdomDict

from .handlers import handler
from .i18n import KitText
from .parts import ClassNames, part

__all__ = ["RenderBoundary", "describe", "duplicate_keys", "error_state"]

logger = logging.getLogger("prefkit.components")


def error_state(
    text: KitText, message_id: str, class_names: ClassNames | None, retry: Callable[[], Any] | None = None
) -> VdomDict:
    """What a widget shows instead of itself: the message in an alert, and a retry button when retrying
    can help (a failed load; not a render bug, which would fail the same way again).

    The alert holds the text only (``role="alert"`` is announced at once); the button sits beside it."""
    return html.div(
        part("widget-error", ("error",), class_names, {"key": "pk-widget-error"}),
        html.p(part("error-text", (), class_names, {"role": "alert"}), text(message_id)),
        html.button(
            part("retry", (), class_names, {"type": "button", "onClick": handler(lambda _event: retry())}),
            text("retry"),
        )
        if retry is not None
        else "",
    )


def describe(child: Any) -> str:
    """A child component for the logs: its name and, for the controls, the preference key it shows."""
    if not isinstance(child, Component):
        return type(child).__name__
    name = getattr(child.type, "__name__", "component")
    args = getattr(child, "_args", ())
    return f"{name}({args[0]!r})" if args and isinstance(args[0], str) else name


def _children_keys(children: list[Any]) -> Iterator[Any]:
    # The Layout's rule (reactpy.core.layout._get_children_info): an explicit key, else the position.
    for index, child in enumerate(children):
        if child is None:
            continue
        if isinstance(child, dict):
            key = child.get("attributes", {}).get("key")
        elif isinstance(child, Component):
            key = child.key
        else:
            key = None
        yield index if key is None else key


def duplicate_keys(model: Any) -> list[Any]:
    """Keys used twice among the children of one element of ``model`` (not inside nested components,
    which the Layout renders, and checks, on their own)."""
    found: list[Any] = []
    stack = [model]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        children = node.get("children") or []
        seen: set[Any] = set()
        for key in _children_keys(children):
            if key in seen:
                found.append(key)
            seen.add(key)
        stack.extend(child for child in children if isinstance(child, dict))
    return found


@component
def RenderBoundary(child: Component, text: KitText, class_names: ClassNames | None) -> Any:
    """Render ``child``; if that raises (or returns what the Layout would refuse), show the error state."""
    logged = use_ref(None)  # the failure logged last: the same one is not logged again on re-render
    try:
        rendered = child.render()
        duplicates = duplicate_keys(rendered)
        if duplicates:
            raise ValueError(f"duplicate reconciliation keys {duplicates!r}")
    except Exception as exc:
        failure = (type(exc), str(exc))
        if logged.current != failure:
            logged.current = failure
            logger.error("widget %s failed to render", describe(child), exc_info=exc)
        return error_state(text, "render_failed", class_names)
    logged.current = None
    return rendered
