"""``WhyThis``: "why am I seeing this?" next to a product, from explanation data the caller passes in.

The component knows nothing about ranking or the BFF: it gets reasons that are already sentences in the
shopper's language (each with an ``effect`` token) and shows them in a native disclosure
(``<details>``/``<summary>``, the WAI-ARIA APG *disclosure* pattern without any script). Being stateless,
it renders the same in a live ReactPy session and statically (``reactpy.utils.reactpy_to_string``), so a
server-rendered page and the live widget that replaces it show identical markup.

Parts for themes: ``why-this`` (``data-state``: ``personalized`` / ``neutral``), ``why-this-summary``,
``why-this-list``, ``why-this-reason`` (``data-effect``: ``shown``, ``higher``, ``lower``, ``neutral``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reactpy import component, html
from reactpy.types import VdomDict

from .parts import ClassNames, part

__all__ = ["WHY_THIS_TEXTS", "WhyThis", "why_this_view"]

WHY_THIS_TEXTS: Mapping[str, Mapping[str, str]] = {
    "en": {"summary": "Why am I seeing this?", "summary_named": "Why am I seeing {name}?",
           "empty": "No personal reason: standard order."},
    "pl": {"summary": "Dlaczego to widzę?", "summary_named": "Dlaczego widzę: {name}?",
           "empty": "Bez osobistych powodów: kolejność standardowa."},
}
"""The component's own words; reasons themselves come translated from the caller."""

_EFFECTS = frozenset({"shown", "higher", "lower", "neutral"})


def _field(reason: Any, name: str) -> Any:
    return reason.get(name) if isinstance(reason, Mapping) else getattr(reason, name, None)


def why_this_view(reasons: Sequence[Any], *, locale: str = "en", name: str | None = None,
                  personalized: bool | None = None, open: bool = False, class_names: ClassNames | None = None,
                  key: str | None = None) -> VdomDict:
    """The disclosure as plain VDOM (see :func:`WhyThis`)."""
    texts = WHY_THIS_TEXTS.get(locale) or WHY_THIS_TEXTS["en"]
    summary = texts["summary_named"].format(name=name) if name else texts["summary"]
    if personalized is None:
        personalized = any(_field(r, "effect") in ("higher", "lower") for r in reasons)
    items = []
    for index, reason in enumerate(reasons):
        effect = _field(reason, "effect")
        items.append(html.li(
            part("why-this-reason", (), class_names,
                 {"key": f"{index}-{_field(reason, 'code') or ''}",
                  "data-effect": effect if effect in _EFFECTS else "neutral"}),
            str(_field(reason, "text") or ""),
        ))
    attrs: dict[str, Any] = {"open": True} if open else {}
    if key is not None:
        attrs["key"] = key
    return html.details(
        part("why-this", ("personalized" if personalized else "neutral",), class_names, attrs),
        html.summary(part("why-this-summary", (), class_names), summary),
        html.ul(part("why-this-list", (), class_names), items) if items
        else html.p(part("why-this-empty", (), class_names), texts["empty"]),
    )


@component
def WhyThis(reasons: Sequence[Any], *, locale: str = "en", name: str | None = None,
            personalized: bool | None = None, open: bool = False,
            class_names: ClassNames | None = None) -> VdomDict:
    """Why a product is shown where it is.

    ``reasons``: sequence of mappings or objects with ``text`` (a sentence in ``locale``), ``effect``
    (``shown``/``higher``/``lower``/``neutral``) and optionally ``code``. ``name`` makes the summary name
    the product (distinct accessible names when many products are listed). ``personalized`` sets the
    ``data-state`` token (default: whether any reason moved the product up or down).
    """
    return why_this_view(reasons, locale=locale, name=name, personalized=personalized, open=open,
                         class_names=class_names)
