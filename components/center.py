"""``PreferenceCenter``: every preference type of the registry, grouped by section, saved per change.

Generated from the live registry: a type added to the registry file shows up in an open center (the
session subscribes to registry activations). "Accept all" and "Reject all" are the same element with
the same part styling, side by side (equal prominence). Every save is announced in a polite live
region ("Saved" / "Zapisano" or the error). The subject's latest consent decisions and, where the store
offers them, export and erase entry points close the center.

The center is one component: its controls are rendered in place (their small state — a slider's drag
position, a pending erase confirmation — lives in the center). Every component instance and every
element costs memory in every open session, so the center keeps both counts low.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactpy import component, html, use_ref, use_state
from reactpy.types import VdomDict

from preference_registry import PreferenceType

from .common import UNSET, ControlLayout, ControlSlot, resolve_control
from .handlers import handler
from .i18n import CATALOGS, FALLBACK_LOCALE
from .kinds import CONTROLS
from .parts import part
from .session import PreferenceSession, use_session

__all__ = [
    "BulkActions",
    "History",
    "LiveRegion",
    "PreferenceCenter",
    "YourData",
    "bulk_actions",
    "control_for",
    "history",
    "live_region",
    "your_data",
]

_METHODS = frozenset(key for key in CATALOGS[FALLBACK_LOCALE] if key.startswith("method_"))
_HEADINGS = {2: html.h2, 3: html.h3, 4: html.h4, 5: html.h5, 6: html.h6}


def control_for(pref: PreferenceType, *, chips: bool = False) -> Any:
    """The connected control component for ``pref``, for custom layouts inside a provider
    (:class:`~components.kinds.UnknownKindError` for a kind without one)."""
    return CONTROLS.of(pref).connected(pref, ControlLayout(chips=chips))


def live_region(session: PreferenceSession) -> VdomDict:
    """The session's polite status line: announces "Saved" or the error after each change.

    Always rendered (empty at first): screen readers only announce changes of a region that already
    existed. Each message is a new keyed node, so a second "Saved" is announced again.
    """
    message = session.announcement
    state = "error" if message.error else ("saved" if message.text else None)
    return html.div(
        part(
            "status",
            (state,),
            session.class_names,
            {"role": "status", "aria-live": "polite", "aria-atomic": "true", "key": "status"},
        ),
        html.span({"key": str(message.serial)}, message.text) if message.text else "",
    )


@component
def LiveRegion() -> VdomDict:
    """:func:`live_region` as a component (for layouts of your own)."""
    session = use_session()
    if session is None:
        raise TypeError("LiveRegion must be rendered inside a PreferenceProvider")
    return live_region(session)


def bulk_actions(session: PreferenceSession, busy: bool, set_busy: Callable[[bool], None]) -> VdomDict:
    """ "Accept all" and "Reject all": same element, same styling hooks, same size (equal prominence)."""
    t, names = session.text, session.class_names

    def action(name: str) -> Any:
        async def run(_event: Any) -> None:
            set_busy(True)
            try:
                method = session.store.accept_all if name == "accept_all" else session.store.reject_all
                await session.run(name, method)
            finally:
                set_busy(False)

        return handler(run)

    state = "saving" if busy else None
    return html.div(
        part(
            "bulk-actions",
            (state,),
            names,
            {"role": "group", "key": "bulk", "aria-label": f"{t('accept_all')} / {t('reject_all')}"},
        ),
        html.button(
            part(
                "bulk-action",
                (state,),
                names,
                {"type": "button", "data-action": "accept-all", "onClick": action("accept_all")},
            ),
            t("accept_all"),
        ),
        html.button(
            part(
                "bulk-action",
                (state,),
                names,
                {"type": "button", "data-action": "reject-all", "onClick": action("reject_all")},
            ),
            t("reject_all"),
        ),
    )


@component
def BulkActions() -> VdomDict:
    """:func:`bulk_actions` as a component."""
    session = use_session()
    assert session is not None, "BulkActions must be rendered inside a PreferenceProvider"
    busy, set_busy = use_state(False)
    return bulk_actions(session, busy, set_busy)


def _history_value(session: PreferenceSession, key: str, value: Any) -> str:
    pref = session.snapshot.get(key)
    if pref is None:  # a key the registry no longer declares: its value as recorded
        if isinstance(value, bool):
            return session.text("history_allowed") if value else session.text("history_refused")
        return str(value)
    return CONTROLS.of(pref).value_text(session.snapshot, pref, value, session.locale, session.text)


def history(session: PreferenceSession, heading: Any = html.h3, limit: int = 10) -> VdomDict:
    """The subject's latest decisions (``limit``, newest first); the full record is in the data export."""
    t, names = session.text, session.class_names
    entries = session.history or ()
    heading_id = f"{session.id_prefix}-history-title"
    items = []
    for index, entry in enumerate(entries[:limit]):
        pref = session.snapshot.get(entry.key)
        title = session.snapshot.text(pref.title, session.locale) if pref else entry.key
        method = t(f"method_{entry.method}") if f"method_{entry.method}" in _METHODS else entry.method
        value = _history_value(session, entry.key, entry.value)
        items.append(
            html.li(
                part("history-entry", (), names, {"key": str(len(entries) - index), "data-key": entry.key}),
                f"{entry.at.strftime('%Y-%m-%d %H:%M')} {title}: {value} ({method})",
            )
        )
    return html.section(
        part("history", (), names, {"aria-labelledby": heading_id, "key": "history"}),
        heading(part("history-title", (), names, {"id": heading_id}), t("history")),
        html.ol(part("history-list", (), names), items)
        if items
        else html.p(part("history-empty", (), names), t("history_empty")),
    )


@component
def History(heading: Any = html.h3, limit: int = 10) -> VdomDict:
    """:func:`history` as a component."""
    session = use_session()
    assert session is not None, "History must be rendered inside a PreferenceProvider"
    return history(session, heading, limit)


def your_data(
    session: PreferenceSession,
    confirming: bool,
    set_confirming: Callable[[bool], None],
    heading: Any = html.h3,
) -> VdomDict | str:
    """Export link and a two-step erase action, only when the store offers them."""
    t, names, caps = session.text, session.class_names, session.capabilities
    if not caps.export_url and not caps.erase:
        return ""
    heading_id = f"{session.id_prefix}-your-data-title"

    async def erase(_event: Any) -> None:
        set_confirming(False)
        await session.run("erase", session.store.erase)

    erase_block: Any = ""
    if caps.erase and confirming:
        erase_block = html.div(
            part("erase-confirm", (), names, {"role": "group", "aria-labelledby": f"{heading_id}-erase-q"}),
            html.p(part("erase-question", (), names, {"id": f"{heading_id}-erase-q"}), t("erase_confirm")),
            html.button(
                part(
                    "erase-yes",
                    (),
                    names,
                    {"type": "button", "onClick": handler(erase), "data-prefkit-autofocus": ""},
                ),
                t("erase_yes"),
            ),
            html.button(
                part(
                    "erase-no",
                    (),
                    names,
                    {"type": "button", "onClick": handler(lambda _e: set_confirming(False))},
                ),
                t("erase_no"),
            ),
        )
    elif caps.erase:
        erase_block = html.button(
            part("erase", (), names, {"type": "button", "onClick": handler(lambda _e: set_confirming(True))}),
            t("erase"),
        )
    return html.section(
        part("your-data", (), names, {"aria-labelledby": heading_id, "key": "your-data"}),
        heading(part("your-data-title", (), names, {"id": heading_id}), t("your_data")),
        html.a(part("export", (), names, {"href": caps.export_url, "download": ""}), t("export"))
        if caps.export_url
        else "",
        erase_block,
    )


@component
def YourData(heading: Any = html.h3) -> VdomDict | str:
    """:func:`your_data` as a component."""
    session = use_session()
    assert session is not None, "YourData must be rendered inside a PreferenceProvider"
    confirming, set_confirming = use_state(False)
    return your_data(session, confirming, set_confirming, heading)


@component
def PreferenceCenter(*, heading_level: int = 2, chips: bool = True, show_history: bool = True) -> VdomDict:
    """The whole preference center of the enclosing :func:`~components.session.PreferenceProvider`.

    ``heading_level`` is the level of the center's own heading (sections use the next level), so the
    center fits the host page's outline.
    """
    session = use_session()
    if session is None:
        raise TypeError("PreferenceCenter must be rendered inside a PreferenceProvider")
    busy, set_busy = use_state(False)
    confirming, set_confirming = use_state(False)
    drafts, set_drafts = use_state({})  # slider key -> value under the pointer while dragging
    latest = use_ref({})  # key -> Latest (sliders and filters)

    level = max(2, min(5, heading_level))
    heading, sub_heading = _HEADINGS[level], _HEADINGS[level + 1]
    t, names, snapshot = session.text, session.class_names, session.snapshot
    title_id = f"{session.id_prefix}-center-title"

    layout = ControlLayout(chips=chips)

    def control(pref: PreferenceType) -> VdomDict:
        ctx = resolve_control(
            pref.key,
            session,
            value=UNSET,
            on_change=None,
            registry=None,
            locale=None,
            class_names=None,
            id_prefix=None,
        )
        slot = ControlSlot(pref.key, latest.current, drafts, set_drafts)
        return CONTROLS.of(pref).in_layout(ctx, slot, layout)

    sections: list[VdomDict] = []
    for section, prefs in snapshot.sections():
        # Section keys are `[a-z][a-z0-9_]*`, so the hyphenated name of the no-section group can never be
        # taken by a real section: reconciliation keys and heading ids stay unique for any registry.
        section_key = section.key if section else "no-section"
        heading_id = f"{session.id_prefix}-section-{section_key}"
        title = snapshot.text(section.title, session.locale) if section else t("other")
        description = (
            snapshot.text(section.description, session.locale) if section and section.description else None
        )
        sections.append(
            html.section(
                part(
                    "section",
                    (),
                    names,
                    {
                        "key": f"section-{section_key}",
                        "data-section": section_key,
                        "aria-labelledby": heading_id,
                    },
                ),
                sub_heading(part("section-title", (), names, {"id": heading_id}), title),
                html.p(part("section-description", (), names), description) if description else "",
                [control(pref) for pref in prefs],
            )
        )
    return html.section(
        part(
            "center", ("loading" if session.values is None else None,), names, {"aria-labelledby": title_id}
        ),
        heading(part("center-title", (), names, {"id": title_id, "key": "title"}), t("center_title")),
        bulk_actions(session, busy, set_busy),
        live_region(session),
        *sections,
        history(session, sub_heading) if show_history else "",
        your_data(session, confirming, set_confirming, sub_heading),
    )
