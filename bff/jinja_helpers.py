"""Jinja2 helpers for server-rendered shops: the same mount points a static page writes by hand.

    env = jinja2.Environment(autoescape=True)
    install_prefkit(env, bff_url="https://prefs.shop.example")

    {{ prefkit_script() }}
    {{ prefkit_widget("preference-center", locale="pl") }}
    {{ prefkit_widget("consent-toggle", key="marketing_email", locale="pl", theme="dark") }}

renders ``<div data-prefkit-widget="consent-toggle" data-key="marketing_email" data-locale="pl"
data-theme="dark"></div>``. Every attribute value is HTML-escaped; names are checked, so a template
can never produce broken or injected markup from a prop.

Google Consent Mode and tag gating (README "Google Consent Mode and your tags")::

    {{ prefkit_head(nonce=csp_nonce, data_layer=True) }}   {# first thing in <head>, before any tag #}

emits the blocking Consent Mode defaults script and ``prefkit.js``, both with the page's CSP nonce. A shop
that renders pages on its server reads the shopper's consents before the HTML leaves it with
:func:`fetch_consents` (``GET /api/v1/profile``: with the server-to-server API key for a known customer,
or with the shopper's own BFF cookie) and decides whether to include a tag at all::

    consents = fetch_consents(BFF, subject="cust:42", api_key=API_KEY)
    {% if consents.allowed("analytics") %}<script src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>{% endif %}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx
from markupsafe import Markup, escape

__all__ = [
    "EMBED_TEMPLATES",
    "ServerConsents",
    "fetch_consents",
    "install_prefkit",
    "prefkit_head",
    "prefkit_script",
    "prefkit_widget",
]

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


def _nonce(nonce: str | None) -> str:
    return f' nonce="{escape(nonce)}"' if nonce else ""


def prefkit_head(bff_url: str = "", path_prefix: str = "/_prefkit", *, nonce: str | None = None,
                 data_layer: bool = False) -> Markup:
    """The two tags a page's ``<head>`` starts with: the blocking Consent Mode defaults script (so they
    are set before any tag after it runs; ``data_layer``: also push ``prefkit_consent`` events for GTM) and
    ``prefkit.js`` (the widgets and ``window.prefkit``), each with the page's CSP ``nonce``."""
    base = f"{bff_url.rstrip('/')}{path_prefix}"
    defaults = f"{base}/consent-mode.js" + ("?datalayer=1" if data_layer else "")
    return Markup(f'<script{_nonce(nonce)} src="{escape(defaults)}"></script>'
                  f'<script type="module"{_nonce(nonce)} src="{escape(base)}/prefkit.js"></script>')


@dataclass(frozen=True, slots=True)
class ServerConsents:
    """A shopper's consents as ``GET /api/v1/profile`` reports them, for server-side rendering."""

    granted_consents: frozenset[str]
    """Consent keys in effect and granted."""
    purposes: frozenset[str]
    """Purposes of the granted consents."""

    def allowed(self, key_or_purpose: str) -> bool:
        """Whether a consent key, or a purpose, is granted (``prefkit.allowed`` on the page)."""
        return key_or_purpose in self.granted_consents or key_or_purpose in self.purposes

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any]) -> ServerConsents:
        return cls(granted_consents=frozenset(profile.get("granted_consents") or ()),
                   purposes=frozenset(profile.get("purposes") or ()))


_NOTHING_GRANTED: Final = ServerConsents(granted_consents=frozenset(), purposes=frozenset())


def fetch_consents(bff_url: str, *, subject: str | None = None, api_key: str | None = None,
                   cookies: Mapping[str, str] | None = None, gpc: bool = False,
                   client: httpx.Client | None = None, timeout: float = 2.0) -> ServerConsents:
    """The shopper's consents, read from the BFF before a page is rendered.

    Either ``subject`` (``cust:<id>``) with the server-to-server ``api_key``, or the shopper's own BFF
    ``cookies`` (when the BFF cookie reaches the shop's server: same site, ``PREFKIT_COOKIE_DOMAIN``).
    ``gpc``: the page request carried ``Sec-GPC: 1``. Any failure (BFF down, refused, malformed) means
    nothing is granted: a tag is left out rather than included without consent."""
    headers = {"Sec-GPC": "1"} if gpc else {}
    params = {}
    if subject is not None:
        params["subject"] = subject
        headers["X-API-Key"] = api_key or ""
    if cookies:
        # As a header: httpx deprecates per-request cookies, and the shopper's cookies are not this process's.
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    url = f"{bff_url.rstrip('/')}/api/v1/profile"
    try:
        if client is None:
            with httpx.Client(timeout=timeout) as own:
                response = own.get(url, params=params, headers=headers)
        else:
            response = client.get(url, params=params, headers=headers)
        response.raise_for_status()
        profile = response.json()
        if not isinstance(profile, dict):
            return _NOTHING_GRANTED
        return ServerConsents.from_profile(profile)
    except (httpx.HTTPError, ValueError, TypeError):
        return _NOTHING_GRANTED


def install_prefkit(env: Any, *, bff_url: str = "", path_prefix: str = "/_prefkit") -> None:
    """Make ``prefkit_widget``, ``prefkit_script``, ``prefkit_head`` (``nonce=``, ``data_layer=``) available
    as globals of a Jinja2 environment."""
    env.globals["prefkit_widget"] = prefkit_widget
    env.globals["prefkit_script"] = lambda: prefkit_script(bff_url, path_prefix)
    env.globals["prefkit_head"] = lambda **options: prefkit_head(bff_url, path_prefix, **options)
