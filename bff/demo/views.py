"""The product listing and product facts as ReactPy VDOM: one view for the live widget and the HTML page.

``listing_view`` is a pure function of a :class:`~bff.catalog.query.CatalogPage`. The ``product-listing``
widget renders it live over the websocket; the Jinja page renders the very same VDOM to HTML with
:func:`static_html` before the websocket connects (and for shoppers without JavaScript). Styling hooks are
``data-part`` attributes, like the kit's components.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from reactpy import html
from reactpy.types import VdomDict
from reactpy.utils import reactpy_to_string

from bff.catalog.query import CatalogItem, CatalogPage
from components.why_this import why_this_view

from .i18n import demo_text, format_decimal, format_price

__all__ = ["DEMO_PREFIX", "listing_href", "listing_view", "product_facts", "product_href", "static_html"]

DEMO_PREFIX = "/demo"
"""Where the demo pages live (``/`` redirects here in demo mode)."""


def product_href(product_id: str, locale: str) -> str:
    return f"{DEMO_PREFIX}/products/{product_id}?{urlencode({'locale': locale})}"


def listing_href(*, locale: str, q: str | None = None, category: str | None = None, page: int = 1) -> str:
    params: dict[str, Any] = {"locale": locale}
    if q:
        params["q"] = q
    if category:
        params["category"] = category
    if page > 1:
        params["page"] = page
    return f"{DEMO_PREFIX}/?" + urlencode(params)


def product_facts(item: CatalogItem, locale: str) -> list[VdomDict]:
    """Brand, price, eco certificate, eco score and rating as badges (shared by card and product page).

    The demo's items are products: ``item.fields`` is a :class:`~bff.catalog.data.ProductView`."""
    t = lambda message, **values: demo_text(locale, message, **values)  # noqa: E731
    facts = [
        html.li({"data-part": "fact", "data-fact": "brand"}, f"{item.fields.brand} · ",
                t("small_brand" if item.fields.brand_size == "small" else "large_brand")),
        html.li({"data-part": "fact", "data-fact": "category"}, item.fields.category_label),
        html.li({"data-part": "fact", "data-fact": "eco-score"}, t("eco_score", score=item.fields.eco_score)),
        html.li({"data-part": "fact", "data-fact": "rating"},
                t("rating", rating=format_decimal(item.fields.rating, locale))),
    ]
    if item.fields.eco_certified:
        facts.insert(0, html.li({"data-part": "fact", "data-fact": "eco-certified"}, t("eco_badge")))
    return facts


def _card(item: CatalogItem, locale: str, personalized: bool) -> VdomDict:
    title_id = f"product-{item.id}-title"
    return html.li(
        {"data-part": "product", "data-product-id": item.id, "data-position": str(item.position),
         "data-eco": "true" if item.fields.eco_certified else "false", "key": item.id},
        html.article(
            {"data-part": "product-card", "aria-labelledby": title_id},
            html.p({"data-part": "product-position"}, demo_text(locale, "position", position=item.position)),
            html.h2({"data-part": "product-name", "id": title_id},
                    html.a({"href": product_href(item.id, locale)}, item.fields.name)),
            html.p({"data-part": "product-price", "data-price": f"{item.fields.price:.2f}"},
                   format_price(item.fields.price, item.fields.currency, locale)),
            html.ul({"data-part": "product-facts"}, *product_facts(item, locale)),
            why_this_view(item.reasons, locale=locale, name=item.fields.name, personalized=personalized),
        ),
    )


def _pagination(page: CatalogPage) -> VdomDict | str:
    if page.pages <= 1:
        return ""
    locale = page.locale

    def link(number: int, message: str, rel: str) -> VdomDict:
        return html.a({"href": listing_href(locale=locale, q=page.q, category=page.category, page=number),
                       "rel": rel, "data-part": "page-link"}, demo_text(locale, message))

    return html.nav(
        {"data-part": "pagination", "aria-label": demo_text(locale, "pagination")},
        link(page.page - 1, "previous", "prev") if page.page > 1 else "",
        html.span({"data-part": "page-status", "aria-current": "page"},
                  demo_text(locale, "page_of", page=page.page, pages=page.pages)),
        link(page.page + 1, "next", "next") if page.page < page.pages else "",
    )


def _count(page: CatalogPage) -> str:
    if page.total == 0:
        return demo_text(page.locale, "count_none")
    if page.total == 1:
        return demo_text(page.locale, "count_one")
    return demo_text(page.locale, "count", total=page.total)


def listing_view(page: CatalogPage) -> VdomDict:
    """The ranked product list with its status line ("240 products · Neutral order...") and paging."""
    state = "personalized" if page.personalized else "neutral"
    return html.section(
        {"data-part": "listing", "data-state": state, "data-total": str(page.total), "lang": page.locale},
        # A polite live region: when the list changes live, screen readers hear the new count and order mode.
        html.p({"data-part": "listing-status", "role": "status", "aria-live": "polite"},
               f"{_count(page)} · {page.profile.notice}"),
        html.ol({"data-part": "product-list"}, *[_card(item, page.locale, page.personalized) for item in page.items]),
        _pagination(page),
    )


def _without_keys(node: Any) -> Any:
    """VDOM minus React ``key`` attributes, which are no HTML attributes."""
    if not isinstance(node, Mapping):
        return node
    result = dict(node)
    attributes = result.get("attributes")
    if attributes and "key" in attributes:
        result["attributes"] = {k: v for k, v in attributes.items() if k != "key"}
    result.pop("key", None)
    if "children" in result:
        result["children"] = [_without_keys(child) for child in result["children"]]
    return result


_NON_ASCII_REFERENCE = re.compile(r"&#(\d+);")


def _readable(match: re.Match[str]) -> str:
    # The serializer writes every non-ASCII character as a reference ("widz&#281;"); above 127 none is
    # markup-significant, so the character itself is equivalent and keeps pages readable and searchable.
    code = int(match.group(1))
    return chr(code) if code > 127 else match.group(0)


def static_html(vdom: VdomDict) -> str:
    """HTML of a stateless VDOM tree (text and attributes escaped by the serializer)."""
    return _NON_ASCII_REFERENCE.sub(_readable, reactpy_to_string(_without_keys(vdom)))  # type: ignore[arg-type]
