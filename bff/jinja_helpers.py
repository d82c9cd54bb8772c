"""Jinja2 helpers for server-rendered shops: the same mount points a static page writes by hand.

    env = jinja2.Environment(autoescape=True)
    install_prefkit(env, bff_url="https://prefs.shop.example")

    {{ prefkit_script() }}
    {{ prefkit_widget("preference-center", locale="pl") }}
    {{ prefkit_widget("consent-toggle", key="marketing_email", locale="pl", theme="dark") }}

renders ``<div data-prefkit-widget="consent-toggle" data-key="marketing_email" data-locale="pl"
data-theme="dark"></div>``. Every attribute value is HTML-escaped; names are checked, so a template
can never produce broken or injected markup from a prop.
"""

from __future__ import annotations

import re
from typing import Any, Final

from markupsafe import Markup, escape

__all__ = ["EMBED_TEMPLATES", "install_prefkit", "prefkit_script", "prefkit_widget"]

EMBED_TEMPLATES: Final = "embed"
"""Folder of the embed templates inside ``bff/templates`` (``embed/page.html``)."""

_WIDGET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_PROP_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
# Reserved by the bootstrap: ReactPy's client adds ``path``/``qs``; ``prefkit-widget`` is the widget name.
_RESERVED: Final = frozenset({"path", "qs", "prefkit-widget"})


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def prefkit_widget(name: str, **props: Any) -> Markup:
    """A mount point for widget ``name``; ``props`` become ``data-*`` attributes (``_`` -> ``-``).

    ``None`` values are left out; booleans become ``"true"``/``"false"``. Raises ``ValueError`` for a
    malformed widget or prop name, or a reserved prop.
    """
    if not _WIDGET_NAME.fullmatch(name):
        raise ValueError(f"widget name must match {_WIDGET_NAME.pattern}: {name!r}")
    parts = [f'data-prefkit-widget="{escape(name)}"']
    for prop, value in props.items():
        attribute = prop.replace("_", "-")
        if not _PROP_NAME.fullmatch(prop) or attribute in _RESERVED:
            raise ValueError(f"invalid or reserved widget prop {prop!r}")
        if value is None:
            continue
        parts.append(f'data-{attribute}="{escape(_attribute_value(value))}"')
    return Markup(f"<div {' '.join(parts)}></div>")


def prefkit_script(bff_url: str = "", path_prefix: str = "/_prefkit") -> Markup:
    """The one ``<script type="module">`` tag that mounts every widget on the page."""
    src = f"{bff_url.rstrip('/')}{path_prefix}/prefkit.js"
    return Markup(f'<script type="module" src="{escape(src)}"></script>')


def install_prefkit(env: Any, *, bff_url: str = "", path_prefix: str = "/_prefkit") -> None:
    """Make ``prefkit_widget`` and ``prefkit_script`` available as globals of a Jinja2 environment."""
    env.globals["prefkit_widget"] = prefkit_widget
    env.globals["prefkit_script"] = lambda: prefkit_script(bff_url, path_prefix)
