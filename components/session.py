"""One component session's view of the store: values, registry, saving state and announcements.

:func:`PreferenceProvider` loads the subject's values once, subscribes to value and registry changes,
and hands everything to the components below it through a context. A whole preference center therefore
costs one load and two subscriptions, however many controls it shows.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reactpy import component, create_context, html, use_context, use_effect, use_ref, use_state
from reactpy.types import Component, VdomDict

from preference_registry import RegistrySnapshot

from .boundary import RenderBoundary, describe, error_state
from .i18n import KitText, kit_text
from .parts import ClassNames, part
from .store import EffectiveState, HistoryEntry, PreferenceStore, PreferenceStoreError, StoreCapabilities

__all__ = [
    "Announcement",
    "KitAssets",
    "PreferenceProvider",
    "PreferenceSession",
    "SessionContext",
    "on_loop",
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
    instance_ids: Callable[[], int] = field(repr=False, compare=False)
    """A new number per call: each control component instance prefixes its ids with one (see
    :func:`components.common.use_control_prefix`), so a key shown twice in a session keeps unique ids."""
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


def on_loop(callback: Callable[..., None]) -> Callable[..., None]:
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


@dataclass(frozen=True, slots=True)
class _Data:
    """Everything a session re-renders for, in one state value: one update -> one render."""

    snapshot: RegistrySnapshot
    values: Mapping[str, EffectiveState] | None = None
    pending: Mapping[str, Any] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    announcement: Announcement = Announcement()
    history: tuple[HistoryEntry, ...] | None = None
    load_failed: bool = False


# A save that takes longer than this shows its "saving" state; quicker ones go straight to the saved
# state, which spares every fast save a render (and the shopper a flicker).
_SAVING_INDICATOR_DELAY = 0.15


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
    data, set_data = use_state(lambda: _Data(snapshot=store.snapshot))
    id_prefix = use_ref(None)
    instances = use_ref(None)
    if instances.current is None:
        instances.current = itertools.count(1)
    load_failing = use_ref(False)  # logged once per failure streak, not per retry or notification
    own_commits = use_ref(0)  # saves of this session in flight: their change notifications are ours
    reloads = use_ref(None)
    # Saves go to the store one at a time, in the order the shopper made them: ReactPy handles events
    # concurrently, and two saves of one control racing each other could store the older value last.
    save_order = use_ref(None)
    if save_order.current is None:
        save_order.current = asyncio.Lock()
    if id_prefix.current is None:
        id_prefix.current = "pk" + secrets.token_hex(4)
    snapshot = data.snapshot
    active_locale = locale or snapshot.default_locale
    t = kit_text(active_locale)
    # For the logs: which widget failed (component and preference key), never whose data it was.
    widget = ", ".join(describe(child) for child in children) or "PreferenceProvider"

    def update(**changes: Any) -> None:
        set_data(lambda current: replace(current, **changes))

    async def fetch() -> dict[str, Any]:
        values = dict(await store.load())
        result: dict[str, Any] = {"values": values}
        if load_history:
            result["history"] = tuple(await store.history())
        return result

    async def reload(new_snapshot: RegistrySnapshot | None = None) -> None:
        try:
            fetched = await fetch()
        except Exception:
            # The widget says so (with a retry); values already shown stay, the next notification retries.
            if not load_failing.current:
                logger.exception("widget %s: loading preferences failed", widget)
            load_failing.current = True
            update(load_failed=True)
            return
        load_failing.current = False
        if new_snapshot is not None:
            fetched["snapshot"] = new_snapshot
        update(**fetched, load_failed=False)

    def schedule_reload(new_snapshot: RegistrySnapshot | None = None) -> None:
        previous = reloads.current
        if previous is not None and not previous.done():
            previous.cancel()  # a newer change supersedes it; the new load sees both
        reloads.current = asyncio.ensure_future(reload(new_snapshot))

    @use_effect(dependencies=[store])
    def connect() -> Callable[[], None]:
        def changed(*_: Any) -> None:
            if own_commits.current == 0:
                schedule_reload()

        unsubscribe_values = store.subscribe(on_loop(changed))
        unsubscribe_registry = store.subscribe_registry(on_loop(schedule_reload))
        schedule_reload()

        def cleanup() -> None:
            unsubscribe_values()
            unsubscribe_registry()
            if reloads.current is not None:
                reloads.current.cancel()

        return cleanup

    def announced(text: str, *, error: bool = False) -> Callable[[Announcement], Announcement]:
        return lambda current: Announcement(text=text, serial=current.serial + 1, error=error)

    async def commit(changes: Mapping[str, Any]) -> bool:
        keys = set(changes)
        loop = asyncio.get_running_loop()
        indicator = loop.call_later(
            _SAVING_INDICATOR_DELAY, lambda: set_data(lambda d: replace(d, pending={**d.pending, **changes}))
        )
        own_commits.current += 1
        try:
            async with save_order.current:
                result = dict(await store.set(changes))
                history = tuple(await store.history()) if load_history else None
        except Exception as exc:
            indicator.cancel()
            if isinstance(exc, PreferenceStoreError):
                message = t("error", message=exc.message)
                per_key = exc.message
            else:
                logger.exception("widget %s: saving %s failed", widget, ", ".join(sorted(keys)))
                message = per_key = t("error_generic")
            set_data(
                lambda d: replace(
                    d,
                    pending={k: v for k, v in d.pending.items() if k not in keys},
                    errors={**d.errors, **{key: per_key for key in keys}},
                    announcement=announced(message, error=True)(d.announcement),
                )
            )
            return False
        finally:
            own_commits.current -= 1
        indicator.cancel()
        set_data(
            lambda d: replace(
                d,
                values=result,
                history=history if history is not None else d.history,
                pending={k: v for k, v in d.pending.items() if k not in keys},
                errors={k: v for k, v in d.errors.items() if k not in keys},
                announcement=announced(t("saved"))(d.announcement),
            )
        )
        return True

    async def run(name: str, action: Callable[[], Awaitable[Any]]) -> bool:
        own_commits.current += 1
        try:
            result = await action()
            fetched = await fetch()
        except PreferenceStoreError as exc:
            refused = announced(t("error", message=exc.message), error=True)
            set_data(lambda d: replace(d, announcement=refused(d.announcement)))
            return False
        except Exception:
            logger.exception("widget %s: preference action %s failed", widget, name)
            set_data(
                lambda d: replace(d, announcement=announced(t("error_generic"), error=True)(d.announcement))
            )
            return False
        finally:
            own_commits.current -= 1
        if isinstance(result, Mapping):
            fetched["values"] = dict(result)
        done = t("erased") if name == "erase" else t("saved")
        set_data(lambda d: replace(d, **fetched, errors={}, announcement=announced(done)(d.announcement)))
        return True

    session = PreferenceSession(
        snapshot=snapshot,
        values=data.values,
        locale=active_locale,
        id_prefix=id_prefix.current,
        instance_ids=instances.current.__next__,
        pending=data.pending,
        errors=data.errors,
        announcement=data.announcement,
        history=data.history,
        capabilities=store.capabilities,
        class_names=class_names,
        commit=commit,
        run=run,
        store=store,
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
    failed: list[VdomDict] = []
    if data.load_failed:

        def retry() -> None:
            update(load_failed=False)  # back to "loading" meanwhile: a second failure is announced anew
            schedule_reload()

        failed.append(error_state(t, "load_failed", class_names, retry))
    if data.values is None:
        # Nothing to show before the first load: rendering the controls with defaults would flash
        # wrong states (and cost a full render per session at open).
        state = "error" if data.load_failed else "loading"
        return html.div(part("root", (state,), class_names, root_attrs), *head, *failed)
    guarded = [
        # Keyed by position and type: a different child in the same place is a new boundary (its hooks
        # are the child's own, in the child's order).
        RenderBoundary(child, t, class_names, key=f"pk-child-{index}-{child.type.__qualname__}-{child.key}")
        if isinstance(child, Component)
        else child
        for index, child in enumerate(children)
    ]
    return html.div(
        part("root", ("error" if data.load_failed else None,), class_names, root_attrs),
        *head,
        *failed,
        SessionContext(*guarded, value=session),
    )
