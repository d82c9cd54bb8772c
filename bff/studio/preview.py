"""The live preview: the kit's real components (preference center, banner) rendering a *draft* registry,
backed by :class:`PreviewStore`, a throwaway in-memory :class:`components.PreferenceStore`.

Nothing done in a preview reaches shopper data or the ledger: the store holds its values in a dict of the
websocket session and never sees the :class:`~bff.service.PreferenceService`. Its values resolve through
the kit's own rules (:func:`bff.effective.resolve_effective`: requirements, GPC, staleness), so the
preview behaves as the shop will. When the draft changes and is valid, the store hands the new snapshot to
the components (``subscribe_registry``), which re-render in place: no reload.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from reactpy.types import Component

from components import (
    ConsentBanner,
    HistoryEntry,
    KitAssets,
    PreferenceCenter,
    PreferenceProvider,
    PreferenceStoreError,
    StoreCapabilities,
    control_for,
)
from preference_registry import RegistrySnapshot, ValueValidationError

from ..effective import EffectiveValue, StoredDecision, resolve_effective
from ..reactpy_bridge import WidgetFactory, WidgetRequest
from .auth import COOKIE, StudioSessions, cookie_of
from .draft import Draft

__all__ = ["PREVIEW_WIDGET", "PreviewStore", "preview_factory"]

PREVIEW_WIDGET = "studio-preview"
_THEME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_MAX_HISTORY = 200


class PreviewStore:
    """:class:`components.PreferenceStore` over a draft, in memory, for one preview session."""

    def __init__(self, draft: Draft) -> None:
        self.draft = draft
        self._snapshot = draft.last_good
        self._stored: dict[str, StoredDecision] = {}
        self._history: list[HistoryEntry] = []
        self._listeners: list[Callable[[], None]] = []

    @property
    def snapshot(self) -> RegistrySnapshot:
        assert self._snapshot is not None  # the factory refuses a draft that was never valid
        return self._snapshot

    @property
    def capabilities(self) -> StoreCapabilities:
        return StoreCapabilities()

    def _effective(self) -> dict[str, EffectiveValue]:
        return resolve_effective(self.snapshot, self._stored, now=datetime.now(UTC))

    async def load(self) -> Mapping[str, EffectiveValue]:
        return self._effective()

    def _record(self, key: str, value: Any, method: str) -> None:
        snapshot = self.snapshot
        now = datetime.now(UTC)
        self._stored[key] = StoredDecision(value=value, decided_at=now, text_hash=snapshot.text_hashes[key],
                                           registry_version=snapshot.version)
        self._history.insert(0, HistoryEntry(key=key, value=value, method=method, at=now,
                                             registry_version=snapshot.version))
        del self._history[_MAX_HISTORY:]

    async def set(self, changes: Mapping[str, Any]) -> Mapping[str, EffectiveValue]:
        snapshot = self.snapshot
        normalized: dict[str, Any] = {}
        for key, raw in changes.items():
            if key not in snapshot:
                raise PreferenceStoreError(f"unknown preference {key!r}", key=key)
            try:
                normalized[key] = snapshot.validate_value(key, raw)
            except ValueValidationError as exc:
                raise PreferenceStoreError(exc.message, key=key) from exc
        for key, value in normalized.items():
            self._record(key, value, "ui")
        return self._changed()

    async def reset(self, key: str) -> Mapping[str, EffectiveValue]:
        if key not in self.snapshot:
            raise PreferenceStoreError(f"unknown preference {key!r}", key=key)
        self._stored.pop(key, None)
        return self._changed()

    async def _all(self, value: bool, method: str) -> Mapping[str, EffectiveValue]:
        for consent in self.snapshot.consents():
            if consent.switchable:
                self._record(consent.key, value, method)
        return self._changed()

    async def accept_all(self) -> Mapping[str, EffectiveValue]:
        return await self._all(True, "accept_all")

    async def reject_all(self) -> Mapping[str, EffectiveValue]:
        return await self._all(False, "reject_all")

    async def history(self) -> Sequence[HistoryEntry]:
        return list(self._history)

    async def erase(self) -> None:
        raise PreferenceStoreError("erasure is not available in a preview")

    def _changed(self) -> dict[str, EffectiveValue]:
        for listener in list(self._listeners):
            listener()
        return self._effective()

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def subscribe_registry(self, listener: Callable[[RegistrySnapshot], None]) -> Callable[[], None]:
        def on_draft(snapshot: RegistrySnapshot) -> None:
            self._snapshot = snapshot
            listener(snapshot)

        return self.draft.subscribe(on_draft)


def preview_factory(sessions: StudioSessions, secure: Callable[[Any], bool]) -> WidgetFactory:
    """The ``studio-preview`` widget: refused at the handshake without a live studio session (401), for a
    draft that never validated (404); ``data-what`` is ``center``, ``banner`` or ``type`` (with ``data-key``:
    that one type's control, what the editor's per-type preview shows)."""

    def factory(request: WidgetRequest) -> Component:
        connection = request.connection
        session = sessions.resolve(cookie_of(connection.cookies, COOKIE, secure=secure(connection)))
        if session is None:
            raise NotAuthorizedException("a studio session is required")
        draft = session.drafts.get("main")
        if draft is None or draft.last_good is None:
            raise NotFoundException("the draft has never been valid: nothing to preview")
        what = request.props.get("what", "center")
        if what not in ("center", "banner", "type"):
            raise NotFoundException(f"unknown preview {what!r} (data-what: center, banner or type)")
        snapshot = draft.last_good
        pref = snapshot.get(request.props.get("key", "")) if what == "type" else None
        if what == "type" and pref is None:
            raise NotFoundException("no such type in the draft (data-key)")
        locale = request.props.get("locale") or snapshot.default_locale
        if locale not in snapshot.locales:
            locale = snapshot.default_locale
        theme = request.props.get("theme") or snapshot.shop.theme
        if not _THEME.fullmatch(theme):
            raise PermissionDeniedException(f"invalid theme name {theme!r}")
        base = "/_prefkit"
        assets = KitAssets(behaviour_src=f"{base}/kit/prefkit-components.js",
                           stylesheet_href=f"{base}/themes/{theme}.css")
        child = (PreferenceCenter(chips=True) if what == "center" else ConsentBanner(modal=False)
                 if what == "banner" else control_for(pref))
        return PreferenceProvider(PreviewStore(draft), child, locale=locale, theme=theme, assets=assets,
                                  load_history=what == "center")

    return factory


_ = asyncio  # listeners are marshalled onto the session's loop by the components (on_loop)
