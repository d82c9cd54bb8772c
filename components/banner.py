"""``ConsentBanner``: the first-visit question, answered only by a choice.

Shown while any switchable consent is undecided (still at its default, expired, or decided under
wording that has since changed). Three actions of equal weight — "Accept all", "Reject all",
"Customize" — and nothing pre-ticked: "Customize" lists the consents at their current values (off for
every undecided opt-in) and saves exactly what the shopper sets.

As a dialog (the default) it follows the WAI-ARIA APG *modal dialog* pattern
(https://www.w3.org/WAI/ARIA/apg/patterns/dialog-modal/): ``role="dialog"``, ``aria-modal="true"``,
labelled by its heading and described by its text; ``prefkit-components.js`` moves focus into it, keeps
Tab inside it and puts focus back where it was once it closes. One deliberate deviation: **Escape does
not close it**. Closing without an answer would record neither consent nor refusal, and a banner that
silently comes back on the next page is worse for keyboard users than one that asks once. Escape
instead moves focus to "Reject all" — the equally easy way out, one key press further away.
(``alertdialog`` was considered and rejected: the question is not an urgent alert, and alertdialog
screen-reader behaviour interrupts speech.) With ``modal=False`` it renders as a labelled region
without focus management, for shops that place it inline.
"""

from __future__ import annotations

from typing import Any

from reactpy import component, html, use_state
from reactpy.types import VdomDict

from preference_registry import ConsentType

from .center import live_region
from .consent_toggle import ConsentToggle
from .parts import part
from .session import PreferenceSession, use_session

__all__ = ["ConsentBanner", "needs_choice"]

_UNDECIDED_SOURCES = frozenset({"default", "expired"})


def needs_choice(session: PreferenceSession) -> bool:
    """Whether any switchable consent still waits for the shopper's decision."""
    if session.values is None:
        return False
    for consent in session.snapshot.consents():
        state = session.values.get(consent.key)
        if consent.switchable and state is not None and (state.source in _UNDECIDED_SOURCES or state.stale):
            return True
    return False


@component
def ConsentBanner(*, modal: bool = True, heading_level: int = 2) -> VdomDict:
    """The consent banner of the enclosing :func:`~components.session.PreferenceProvider`."""
    session = use_session()
    if session is None:
        raise TypeError("ConsentBanner must be rendered inside a PreferenceProvider")
    customizing, set_customizing = use_state(False)
    draft, set_draft = use_state(None)
    answered, set_answered = use_state(False)
    busy, set_busy = use_state(False)
    t, names = session.text, session.class_names
    switchable = [c for c in session.snapshot.consents() if c.switchable]

    if answered or not needs_choice(session):
        return html.div(part("banner-root", ("closed",), names), live_region(session))

    async def finish(name: str, action: Any) -> None:
        set_busy(True)
        try:
            if await session.run(name, action):
                set_answered(True)
        finally:
            set_busy(False)

    async def accept_all(_event: Any) -> None:
        await finish("accept_all", session.store.accept_all)

    async def reject_all(_event: Any) -> None:
        await finish("reject_all", session.store.reject_all)

    def customize(_event: Any) -> None:
        set_draft({c.key: session.value_of(c.key) is True for c in switchable})
        set_customizing(True)

    async def save_choices(_event: Any) -> None:
        choices = dict(draft or {})
        await finish("save", lambda: session.store.set(choices))

    def set_one(consent_key: str) -> Any:
        def handler(new_value: bool) -> None:
            set_draft(lambda current: {**(current or {}), consent_key: bool(new_value)})

        return handler

    prefix = session.id_prefix
    title_id, text_id, reject_id = (
        f"{prefix}-banner-title",
        f"{prefix}-banner-text",
        f"{prefix}-banner-reject",
    )
    heading = {2: html.h2, 3: html.h3, 4: html.h4}.get(heading_level, html.h2)
    state = ("customizing" if customizing else "open", "saving" if busy else None)
    panel: Any = ""
    if customizing:
        panel = html.ul(
            part("banner-consents", (), names),
            [
                html.li(
                    part("banner-consent", (), names, {"key": consent.key}),
                    _draft_toggle(
                        session,
                        consent,
                        (draft or {}).get(consent.key, False),
                        set_one(consent.key),
                        autofocus=index == 0,
                    ),
                )
                for index, consent in enumerate(switchable)
            ],
        )
    third_action = (
        html.button(
            part(
                "banner-action",
                state,
                names,
                {"type": "button", "data-action": "save", "onClick": save_choices},
            ),
            t("save_choices"),
        )
        if customizing
        else html.button(
            part(
                "banner-action",
                state,
                names,
                {
                    "type": "button",
                    "data-action": "customize",
                    "aria-expanded": "false",
                    "onClick": customize,
                },
            ),
            t("customize"),
        )
    )
    actions = html.div(
        part("banner-actions", state, names),
        html.button(
            part(
                "banner-action",
                state,
                names,
                {"type": "button", "data-action": "accept-all", "onClick": accept_all},
            ),
            t("accept_all"),
        ),
        html.button(
            part(
                "banner-action",
                state,
                names,
                {"type": "button", "data-action": "reject-all", "id": reject_id, "onClick": reject_all},
            ),
            t("reject_all"),
        ),
        third_action,
    )
    container_attrs: dict[str, Any] = {"aria-labelledby": title_id, "aria-describedby": text_id}
    if modal:
        container_attrs |= {
            "role": "dialog",
            "aria-modal": "true",
            "tabIndex": -1,
            "data-prefkit-dialog": "",
            "data-prefkit-escape-target": reject_id,
        }
    else:
        container_attrs |= {"role": "region"}
    body = html.div(
        part("banner", state, names, container_attrs),
        heading(part("banner-title", (), names, {"id": title_id}), t("banner_title")),
        html.p(
            part("banner-text", (), names, {"id": text_id}), t("banner_text", shop=session.snapshot.shop.name)
        ),
        panel,
        actions,
    )
    return html.div(
        part("banner-root", state, names, {"data-modal": "true" if modal else "false"}),
        html.div(part("backdrop", (), names, {"aria-hidden": "true"})) if modal else "",
        body,
        live_region(session),
    )


def _draft_toggle(
    session: PreferenceSession, consent: ConsentType, value: bool, on_change: Any, *, autofocus: bool
) -> Any:
    # Controlled toggles on a draft: nothing is stored until "Save my choices".
    toggle = ConsentToggle(
        consent.key,
        key=consent.key,
        value=value,
        on_change=on_change,
        id_prefix=f"{session.id_prefix}-banner",
    )
    if not autofocus:
        return toggle
    return html.div({"data-prefkit-autofocus": "[role=switch]", "key": f"af-{consent.key}"}, toggle)
