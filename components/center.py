"""``PreferenceCenter``: every preference type of the registry, grouped by section, saved per change.

Generated from the live registry: a type added to the registry file shows up in an open center (the
session subscribes to registry activations). "Accept all" and "Reject all" are the same element with
the same part styling, side by side (equal prominence). Every save is announced in a polite live
region ("Saved" / "Zapisano" or the error). The subject's consent history and, where the store offers
them, export and erase entry points close the center.
"""

from __future__ import annotations

from typing import Any

from reactpy import component, html, use_state
from reactpy.types import VdomDict

from preference_registry import ConsentType, FilterType, PreferenceType, SliderType

from .common import UNSET, resolve_control
from .consent_toggle import ConsentToggle, consent_view
from .filter_group import FilterGroup, filter_view
from .handlers import handler
from .i18n import CATALOGS, FALLBACK_LOCALE
from .parts import part
from .session import PreferenceSession, use_session
from .slider import PreferenceSlider

__all__ = ["LiveRegion", "PreferenceCenter", "control_for"]

_METHODS = frozenset(key for key in CATALOGS[FALLBACK_LOCALE] if key.startswith("method_"))
_HEADINGS = {2: html.h2, 3: html.h3, 4: html.h4, 5: html.h5, 6: html.h6}


def control_for(pref: PreferenceType, session: PreferenceSession | None = None, *, chips: bool = False) -> Any:
    """The connected control that renders ``pref`` (used by the center and by custom layouts).

    With ``session``, consents and filters are rendered in place (plain markup, no component of their
    own): they keep no state, and every component instance costs memory in every open session."""
    if isinstance(pref, SliderType):
        return PreferenceSlider(pref.key, key=pref.key)
    if session is not None:
        ctx = resolve_control(pref.key, session, value=UNSET, on_change=None, registry=None, locale=None,
                              class_names=None, id_prefix=None)
        if isinstance(pref, ConsentType):
            return consent_view(ctx)
        if isinstance(pref, FilterType):
            return filter_view(ctx, chips=chips)
    if isinstance(pref, ConsentType):
        return ConsentToggle(pref.key, key=pref.key)
    if isinstance(pref, FilterType):
        return FilterGroup(pref.key, key=pref.key, chips=chips)
    raise TypeError(f"no control for {type(pref).__name__}")


@component
def LiveRegion() -> VdomDict:
    """The session's polite status line: announces "Saved" or the error after each change.

    Always rendered (empty at first): screen readers only announce changes of a region that already
    existed. Each message is a new keyed node, so a second "Saved" is announced again.
    """
    session = use_session()
    if session is None:
        raise TypeError("LiveRegion must be rendered inside a PreferenceProvider")
    message = session.announcement
    state = "error" if message.error else ("saved" if message.text else None)
    return html.div(
        part("status", (state,), session.class_names, {"role": "status", "aria-live": "polite",
                                                        "aria-atomic": "true"}),
        html.span({"key": str(message.serial)}, message.text) if message.text else "",
    )


@component
def PreferenceCenter(*, heading_level: int = 2, chips: bool = True, show_history: bool = True) -> VdomDict:
    """The whole preference center of the enclosing :func:`~components.session.PreferenceProvider`.

    ``heading_level`` is the level of the center's own heading (sections use the next level), so the
    center fits the host page's outline.
    """
    session = use_session()
    if session is None:
        raise TypeError("PreferenceCenter must be rendered inside a PreferenceProvider")
    heading = _HEADINGS[max(2, min(5, heading_level))]
    sub_heading = _HEADINGS[max(2, min(5, heading_level)) + 1]
    t, names, snapshot = session.text, session.class_names, session.snapshot
    title_id = f"{session.id_prefix}-center-title"
    sections: list[VdomDict] = []
    for section, prefs in snapshot.sections():
        section_key = section.key if section else "other"
        heading_id = f"{session.id_prefix}-section-{section_key}"
        title = snapshot.text(section.title, session.locale) if section else t("other")
        description = snapshot.text(section.description, session.locale) if section and section.description else None
        sections.append(html.section(
            part("section", (), names, {"key": section_key, "data-section": section_key,
                                        "aria-labelledby": heading_id}),
            sub_heading(part("section-title", (), names, {"id": heading_id}), title),
            html.p(part("section-description", (), names), description) if description else "",
            [control_for(pref, session, chips=chips) for pref in prefs],
        ))
    return html.section(
        part("center", ("loading" if session.values is None else None,), names, {"aria-labelledby": title_id}),
        heading(part("center-title", (), names, {"id": title_id}), t("center_title")),
        BulkActions(),
        LiveRegion(),
        *sections,
        History(heading=sub_heading) if show_history else "",
        YourData(heading=sub_heading),
    )


@component
def BulkActions() -> VdomDict:
    """"Accept all" and "Reject all": same element, same styling hooks, same size (equal prominence)."""
    session = use_session()
    assert session is not None
    t, names = session.text, session.class_names
    busy, set_busy = use_state(False)

    def action(name: str) -> Any:
        async def handler(_event: Any) -> None:
            set_busy(True)
            try:
                method = session.store.accept_all if name == "accept_all" else session.store.reject_all
                await session.run(name, method)
            finally:
                set_busy(False)
        return handler

    state = "saving" if busy else None
    return html.div(
        part("bulk-actions", (state,), names, {"role": "group", "aria-label": f"{t('accept_all')} / {t('reject_all')}"}),
        html.button(part("bulk-action", (state,), names, {"type": "button", "data-action": "accept-all",
                                                          "onClick": handler(action("accept_all"))}), t("accept_all")),
        html.button(part("bulk-action", (state,), names, {"type": "button", "data-action": "reject-all",
                                                          "onClick": handler(action("reject_all"))}), t("reject_all")),
    )


def _history_value(session: PreferenceSession, key: str, value: Any) -> str:
    t = session.text
    pref = session.snapshot.get(key)
    if isinstance(value, bool):
        return t("history_allowed") if value else t("history_refused")
    if isinstance(pref, SliderType):
        stop = pref.stop_for(value)
        return session.snapshot.text(stop.label, session.locale) or str(value) if stop else str(value)
    if isinstance(pref, FilterType):
        labels = {o.key: session.snapshot.text(o.label, session.locale) or o.key for o in pref.options}
        chosen = value if isinstance(value, list) else ([value] if value else [])
        return ", ".join(labels.get(v, str(v)) for v in chosen) or t("none_selected")
    return str(value)


@component
def History(heading: Any = html.h3, limit: int = 10) -> VdomDict:
    """The subject's latest decisions (``limit``, newest first); the full record is in the data export."""
    session = use_session()
    assert session is not None
    t, names = session.text, session.class_names
    entries = session.history or ()
    heading_id = f"{session.id_prefix}-history-title"
    methods = _known_methods()
    items = []
    for index, entry in enumerate(entries[:limit]):
        pref = session.snapshot.get(entry.key)
        title = session.snapshot.text(pref.title, session.locale) if pref else entry.key
        method = t(f"method_{entry.method}") if f"method_{entry.method}" in methods else entry.method
        value = _history_value(session, entry.key, entry.value)
        items.append(html.li(
            part("history-entry", (), names, {"key": f"{len(entries) - index}", "data-key": entry.key}),
            html.time(part("history-time", (), names, {"dateTime": entry.at.isoformat()}),
                      entry.at.strftime("%Y-%m-%d %H:%M")),
            f" {title}: {value} ({method})",
        ))
    return html.section(
        part("history", (), names, {"aria-labelledby": heading_id}),
        heading(part("history-title", (), names, {"id": heading_id}), t("history")),
        html.ol(part("history-list", (), names), items) if items
        else html.p(part("history-empty", (), names), t("history_empty")),
    )


def _known_methods() -> frozenset[str]:
    return _METHODS


@component
def YourData(heading: Any = html.h3) -> VdomDict:
    """Export link and a two-step erase action, only when the store offers them."""
    session = use_session()
    assert session is not None
    confirming, set_confirming = use_state(False)
    t, names, caps = session.text, session.class_names, session.capabilities
    if not caps.export_url and not caps.erase:
        return html.div(part("your-data", ("unavailable",), names, {"hidden": True}))
    heading_id = f"{session.id_prefix}-your-data-title"

    async def erase(_event: Any) -> None:
        set_confirming(False)
        await session.run("erase", session.store.erase)

    erase_block: Any = ""
    if caps.erase:
        if confirming:
            erase_block = html.div(
                part("erase-confirm", (), names, {"role": "group", "aria-labelledby": f"{heading_id}-erase-q"}),
                html.p(part("erase-question", (), names, {"id": f"{heading_id}-erase-q"}), t("erase_confirm")),
                html.button(part("erase-yes", (), names, {"type": "button", "onClick": erase}), t("erase_yes")),
                html.button(part("erase-no", (), names, {"type": "button",
                                                         "onClick": lambda _e: set_confirming(False)}),
                            t("erase_no")),
            )
        else:
            erase_block = html.button(part("erase", (), names, {"type": "button",
                                                                "onClick": lambda _e: set_confirming(True)}),
                                      t("erase"))
    return html.section(
        part("your-data", (), names, {"aria-labelledby": heading_id}),
        heading(part("your-data-title", (), names, {"id": heading_id}), t("your_data")),
        html.a(part("export", (), names, {"href": caps.export_url, "download": ""}), t("export"))
        if caps.export_url else "",
        erase_block,
    )
