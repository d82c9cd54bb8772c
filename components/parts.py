"""Styling hooks shared by every component: ``data-part``, ``data-state`` and caller-supplied classes.

The components render no inline styles. Every element a theme may want to style carries
``data-part="<name>"`` and, when it has any, ``data-state="<token> <token>..."`` (a space-separated
token list, so select with ``[data-state~="checked"]``). Callers add their own class names per part
through ``class_names={"switch": "my-switch"}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ClassNames", "dom_id", "part", "percent_of"]

ClassNames = Mapping[str, str]
"""Part name -> extra ``class`` attribute value."""


def part(
    name: str,
    states: Iterable[str | None] = (),
    class_names: ClassNames | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Attributes of one part: ``data-part``, ``data-state`` (falsy tokens dropped), ``className``,
    then ``attrs``."""
    result: dict[str, Any] = {"data-part": name}
    tokens = " ".join(token for token in states if token)
    if tokens:
        result["data-state"] = tokens
    extra_class = class_names.get(name) if class_names else None
    if extra_class:
        result["className"] = extra_class
    if attrs:
        result.update(attrs)
    return result


def dom_id(prefix: str, key: str, part_name: str) -> str:
    """A page-unique element id: each session has its own prefix, so two widgets showing the same key
    on one page never collide (``aria-labelledby`` must point at exactly one element).

    The ``--`` keeps a control's ids apart from the session's own ids (``{prefix}-center-title``,
    ``{prefix}-section-{key}``...), which never contain it: with a single hyphen, a preference keyed
    ``center`` gave its title the center heading's id. Keys cannot contain ``-``, so no key/part pair
    can spell another pair's id either."""
    return f"{prefix}-{key}--{part_name}"


def percent_of(value: float, minimum: float, maximum: float) -> int:
    """Position of ``value`` on ``[minimum, maximum]`` as a whole percent (0..100), for ``data-percent``.

    Themes position slider thumbs from this attribute (one CSS rule per percent), which keeps the
    components free of inline styles.
    """
    if maximum <= minimum:
        return 0
    ratio = (value - minimum) / (maximum - minimum)
    return max(0, min(100, round(ratio * 100)))
