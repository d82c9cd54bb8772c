"""One component session's view of the store: values, registry, saving state and announcements.

:func:`PreferenceProvider` loads the subject's values once, subscribes to value and registry changes,
and hands everything to the components below it through a context. A whole preference center therefore
costs one load and two subscriptions, however many controls it shows.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reactpy import component, create_context, html, use_async_effect, use_context, use_effect, use_ref, use_state
from reactpy.types import Component, VdomDict

from preference_registry import RegistrySnapshot

from .i18n import KitText, kit_text
from .parts import ClassNames, part
from .store import EffectiveState, HistoryEntry, PreferenceStore, PreferenceStoreError, StoreCapabilities

__all__ = [
    "Announcement",
    "KitAssets",
    "PreferenceProvider",
    "PreferenceSession",
    "SessionContext",
    "use_session",
]

logger = logging.getLogger("prefkit.components")


@dataclass(frozen=True, slots=True)
class KitAssets:
    """Browser files a session root links to; both optional (a ReactPy app may include them itself)."""

    behaviour_src: str | None = None
    """URL of ``prefkit-components.js`` (focus management, key default-prevention, pointer geometry)."""
    stylesheet_href: str | None = None
    """URL of a theme stylesheet; ``None`` leaves the widget unstyled (a valid choice)."""


@dataclass(frozen=True, slots=True)
class Announcement:
    """What the polite live region says; ``serial`` changes every time so a repeated "Saved" is re-read."""

    text: str = ""
    serial: int = 0
    error: bool = False


@dataclass(frozen=True, slots=True)
class PreferenceSession:
    """Everything the connected components read, as one immutable value per render."""

    snapshot: RegistrySnapshot
    """The registry version this session shows."""
    values: Mapping[str, EffectiveState] | None
    """Effective values, ``None`` until the first load finished."""
    locale: str
    """Locale of every text in this session."""
    id_prefix: str
    """Prefix of element ids, unique per session (see :func:`components.parts.dom_id`)."""
    pending: Mapping[str, Any]
    """Keys being saved -> the value shown meanwhile (optimistic)."""
    errors: Mapping[str, str]
    """Keys whose last change failed -> message."""
    announcement: Announcement
    """Current live-region message."""
    history: tuple[HistoryEntry, ...] | None
    """The subject's decisions, newest first (``None`` until loaded)."""
    capabilities: StoreCapabilities
    """Export / erase entry points."""
    class_names: ClassNames | None
    """Part name -> class names, applied by every component of the session."""
    commit: Callable[[Mapping[str, Any]], Awaitable[bool]]
    """Store explicit choices; ``True`` when saved."""
    run: Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[bool]]
    """Run a bulk action (``"accept_all"``...) with saving/announcing; ``True`` when it succeeded."""
    store: PreferenceStore = field(repr=False)
    """The store itself, for actions without a helper here (erase)."""

    @property
    def text(self) -> KitText:
        return kit_text(self.locale)

    def value_of(self, key: str) -> Any:
        """The value a control shows: the pending one while saving, else the effective one, else default."""
        if key in self.pending:
            return self.pending[key]
        state = self.values.get(key) if self.values is not None else None
        if state is not None:
            return state.value
        return self.snapshot.default_value(key) if key in self.snapshot else None

    def state_of(self, key: str) -> EffectiveState | None:
        return self.values.get(key) if self.values is not None else None


SessionContext = create_context(None)
"""Holds the :class:`PreferenceSession` of the nearest :func:`PreferenceProvider` (or ``None``)."""


def use_session() -> PreferenceSession | None:
    """The session of the enclosing :func:`PreferenceProvider`, if any."""
    return use_context(SessionContext)


def _on_loop(callback: Callable[..., None]) -> Callable[..., None]:
    """Wrap a store listener so it always runs on the session's event loop.

    Registry reloads happen in a worker thread (``asyncio.to_thread``) and a store may notify from
    anywhere; ReactPy's state setters must be called on the loop that renders the layout.
    """
    loop = asyncio.get_running_loop()

    def threadsafe(*args: Any) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            callback(*args)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(callback, *args)

    return threadsafe


@component
def PreferenceProvider(
    store: PreferenceStore,
    *children: Component | VdomDict | str,
    locale: str | None = None,
    theme: str | None = None,
    assets: KitAssets | None = None,
    class_names: ClassNames | None = None,
    load_history: bool = False,
) -> VdomDict:
    """Connect the components below to ``store``: one load, live updates, shared saving state.

    Renders the session root ``<div data-prefkit-root data-prefkit-theme=... lang=...>``; ``theme`` is the
    theme name the stylesheet styles (default: the registry's ``shop.theme``), ``locale`` defaults to the
    registry's default locale. ``load_history`` also loads the consent history (preference center).
    """
    snapshot, set_snapshot = use_state(lambda: store.snapshot)
    values, set_values = use_state(None)
    pending, set_pending = use_state({})
    errors, set_errors = use_state({})
    announcement, set_announcement = use_state(Announcement())
    history, set_history = use_state(None)
    revision, set_revision = use_state(0)
    id_prefix = use_ref(None)
    if id_prefix.current is None:
        id_prefix.current = "pk" + secrets.token_hex(3)
    active_locale = locale or snapshot.default_locale

    @use_effect(dependencies=[store])
    def subscribe() -> Callable[[], None]:
        def changed(*_: Any) -> None:
            set_revision(lambda current: current + 1)

        def registry_changed(new_snapshot: RegistrySnapshot) -> None:
            set_snapshot(new_snapshot)
            set_revision(lambda current: current + 1)  # new keys need their values

        unsubscribe_values = store.subscribe(_on_loop(changed))
        unsubscribe_registry = store.subscribe_registry(_on_loop(registry_changed))

        def cleanup() -> None:
            unsubscribe_values()
            unsubscribe_registry()

        return cleanup

    @use_async_effect(dependencies=[store, revision, load_history])
    async def load() -> None:
        try:
            set_values(dict(await store.load()))
            if load_history:
                set_history(tuple(await store.history()))
        except Exception:  # the page must still render; the next change notification retries
            logger.exception("loading preferences failed")

    def announce(text: str, *, error: bool = False) -> None:
        set_announcement(lambda current: Announcement(text=text, serial=current.serial + 1, error=error))

    def after_change(result: Mapping[str, EffectiveState]) -> None:
        set_values(dict(result))
        if load_history:
            # The store notifies every session of the change, which reloads values and history.
            set_revision(lambda current: current + 1)

    async def commit(changes: Mapping[str, Any]) -> bool:
        keys = set(changes)
        set_pending(lambda current: {**current, **changes})
        try:
            after_change(await store.set(changes))
        except PreferenceStoreError as exc:
            set_errors(lambda current: {**current, **{key: exc.message for key in keys}})
            announce(kit_text(active_locale)("error", message=exc.message), error=True)
            return False
        except Exception:
            logger.exception("saving preferences failed")
            set_errors(lambda current: {**current, **{key: kit_text(active_locale)("error_generic") for key in keys}})
            announce(kit_text(active_locale)("error_generic"), error=True)
            return False
        finally:
            set_pending(lambda current: {k: v for k, v in current.items() if k not in keys})
        set_errors(lambda current: {k: v for k, v in current.items() if k not in keys})
        announce(kit_text(active_locale)("saved"))
        return True

    async def run(_name: str, action: Callable[[], Awaitable[Any]]) -> bool:
        try:
            result = await action()
        except PreferenceStoreError as exc:
            announce(kit_text(active_locale)("error", message=exc.message), error=True)
            return False
        except Exception:
            logger.exception("preference action %s failed", _name)
            announce(kit_text(active_locale)("error_generic"), error=True)
            return False
        if isinstance(result, Mapping):
            after_change(result)
        else:
            set_revision(lambda current: current + 1)
        set_errors({})
        announce(kit_text(active_locale)("saved"))
        return True

    session = PreferenceSession(
        snapshot=snapshot, values=values, locale=active_locale, id_prefix=id_prefix.current, pending=pending,
        errors=errors, announcement=announcement, history=history, capabilities=store.capabilities,
        class_names=class_names, commit=commit, run=run, store=store,
    )
    root_attrs = {
        "data-prefkit-root": "",
        "data-prefkit-theme": theme or snapshot.shop.theme,
        "lang": active_locale,
    }
    head: list[VdomDict] = []
    if assets and assets.stylesheet_href:
        head.append(html.link({"rel": "stylesheet", "href": assets.stylesheet_href, "key": "pk-stylesheet"}))
    if assets and assets.behaviour_src:
        head.append(html.script({"type": "module", "src": assets.behaviour_src, "key": "pk-behaviour"}))
    return html.div(
        part("root", ("loading" if values is None else None,), class_names, root_attrs),
        *head,
        SessionContext(*children, value=session),
    )
