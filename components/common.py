"""What every control needs before rendering: its registry entry, value, state flags and texts."""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from reactpy import html, use_ref
from reactpy.types import VdomDict

from preference_registry import PreferenceType, RegistrySnapshot

from .i18n import KitText, kit_text
from .parts import ClassNames, dom_id, part
from .session import PreferenceSession, use_session

__all__ = [
    "UNSET",
    "ControlContext",
    "ControlKind",
    "ControlLayout",
    "ControlSlot",
    "Latest",
    "control_or_error",
    "described_by",
    "emit",
    "optional",
    "requirement_names",
    "resolve_control",
    "texts_block",
    "use_control",
    "use_control_prefix",
]


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Marks "no value given": ``None`` is a real value for a single-select filter."""


class Latest:
    """A control's latest value between renders (``slider_view`` / ``filter_view``): events that arrive
    before the previous change re-rendered must build on that change, not on what was rendered."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current: Any = None


@dataclass(frozen=True, slots=True)
class ControlContext:
    """One control's inputs, the same whether it is controlled by the caller or connected to a store."""

    pref: PreferenceType
    snapshot: RegistrySnapshot
    value: Any
    on_change: Callable[[Any], Any] | None
    locale: str
    text: KitText
    ids: Callable[[str], str]
    class_names: ClassNames | None
    saving: bool
    error: str | None
    stale: bool
    missing: tuple[str, ...]
    gpc: bool
    session: PreferenceSession | None

    @property
    def disabled(self) -> bool:
        """Disabled while a required consent is missing (the control explains why)."""
        return bool(self.missing)

    def states(self, *extra: str | None) -> tuple[str | None, ...]:
        return (
            *extra,
            "gpc" if self.gpc else None,
            "disabled" if self.disabled else None,
            "stale" if self.stale else None,
            "saving" if self.saving else None,
            "error" if self.error else None,
        )

    def t(self, value: Any) -> str:
        """A merchant text in this control's locale (plain text: ReactPy escapes it)."""
        return self.snapshot.text(value, self.locale) or ""


def use_control_prefix(id_prefix: str | None, session: PreferenceSession | None) -> str:
    """The id prefix of one control component instance (a hook: call it on every render).

    Ids are ``{prefix}-{key}--{part}``; the session prefix alone is unique per page, not per control, and
    a layout may show one key twice (the center and a toggle of its own, two copies of a toggle).
    ``id_prefix`` given by the caller wins."""
    own = use_ref(None)
    if own.current is None:
        own.current = (
            f"{session.id_prefix}-{session.instance_ids()}" if session else "pk" + secrets.token_hex(4)
        )
    return id_prefix or own.current


def resolve_control(
    key: str,
    session: PreferenceSession | None,
    *,
    value: Any,
    on_change: Callable[[Any], Any] | None,
    registry: RegistrySnapshot | None,
    locale: str | None,
    class_names: ClassNames | None,
    id_prefix: str | None,
    missing_requirements: tuple[str, ...] | None = None,
) -> ControlContext | str:
    """Controlled when ``value`` is given, connected when a session encloses the control.

    Returns a message instead when the control cannot render (unknown key, nothing to read values from).
    """
    snapshot = registry or (session.snapshot if session else None)
    if snapshot is None:
        raise TypeError(f"{key!r}: pass value= and registry=, or render inside a PreferenceProvider")
    active_locale = locale or (session.locale if session else snapshot.default_locale)
    pref = snapshot.get(key)
    if pref is None:
        return kit_text(active_locale)("unknown_key", key=key)
    prefix = id_prefix or (session.id_prefix if session else "pk")
    names = class_names if class_names is not None else (session.class_names if session else None)
    controlled = value is not UNSET
    if controlled or session is None:
        return ControlContext(
            pref=pref,
            snapshot=snapshot,
            value=snapshot.default_value(key) if value is UNSET else value,
            on_change=on_change,
            locale=active_locale,
            text=kit_text(active_locale),
            ids=lambda name: dom_id(prefix, key, name),
            class_names=names,
            saving=False,
            error=None,
            stale=False,
            gpc=False,
            missing=tuple(missing_requirements or ()),
            session=session,
        )
    state = session.state_of(key)

    def connected_change(new_value: Any) -> Any:
        result = session.commit({key: new_value})
        if on_change is not None:
            on_change(new_value)
        return result

    return ControlContext(
        pref=pref,
        snapshot=snapshot,
        value=session.value_of(key),
        on_change=connected_change,
        locale=active_locale,
        text=kit_text(active_locale),
        ids=lambda name: dom_id(prefix, key, name),
        class_names=names,
        saving=key in session.pending,
        error=session.errors.get(key),
        stale=bool(state and state.stale),
        gpc=bool(state and state.source == "gpc"),
        missing=tuple(
            missing_requirements
            if missing_requirements is not None
            else (state.missing_requirements if state else ())
        ),
        session=session,
    )


def use_control(key: str, *, id_prefix: str | None, **props: Any) -> ControlContext | str:
    """:func:`resolve_control` (``props``: its keyword arguments) for a control component of its own, with
    the enclosing session and a per-instance id prefix. A hook: call it on every render."""
    session = use_session()
    return resolve_control(key, session, id_prefix=use_control_prefix(id_prefix, session), **props)


async def emit(ctx: ControlContext, new_value: Any) -> None:
    """Hand ``new_value`` to the control's ``on_change`` (a host's plain or async callback, or the
    connected session's commit), awaiting it when it returns an awaitable."""
    if ctx.on_change is None:
        return
    result = ctx.on_change(new_value)
    if inspect.isawaitable(result):
        await result


def control_or_error(
    ctx: ControlContext | str, kind: str, class_names: ClassNames | None
) -> ControlContext | VdomDict:
    """``ctx`` when a control of ``kind`` can render it, else the error it renders instead:
    ``resolve_control``'s message, or "unknown key" when the key names a type of another kind."""
    if isinstance(ctx, str):
        return html.p(part("unknown", ("error",), class_names), ctx)
    if ctx.pref.kind != kind:
        return html.p(part("unknown", ("error",), ctx.class_names), ctx.text("unknown_key", key=ctx.pref.key))
    return ctx


@dataclass(frozen=True, slots=True)
class ControlLayout:
    """What a layout (the preference center, a host's own) asks of every control; a kind may ignore it."""

    chips: bool = False
    """Filters also show their selection as removable chips."""


class ControlSlot:
    """What a layout keeps for one of its controls between renders: the value last changed (``latest``)
    and, for controls with a pointer drag, the value under the pointer (``draft``). Created per render;
    the holders are made only for kinds that ask for them (every object costs memory in every session)."""

    __slots__ = ("_drafts", "_latest", "_set_drafts", "key")

    def __init__(self, key: str, latest: MutableMapping[str, Latest], drafts: Mapping[str, Any],
                 set_drafts: Callable[[Callable[[dict[str, Any]], dict[str, Any]]], None]) -> None:
        self.key = key
        self._latest, self._drafts, self._set_drafts = latest, drafts, set_drafts

    @property
    def latest(self) -> Latest:
        return self._latest.setdefault(self.key, Latest())

    @property
    def draft(self) -> Any:
        return self._drafts.get(self.key)

    def set_draft(self, value: Any) -> None:
        """Set (``None``: clear) the draft; other controls' drafts are kept."""
        key = self.key
        self._set_drafts(lambda current: {**current, key: value} if value is not None
                         else {k: v for k, v in current.items() if k != key})


@dataclass(frozen=True, slots=True)
class ControlKind:
    """How the components render and describe preferences of one kind (an entry of
    ``components.kinds.CONTROLS``); each control module defines its own as ``CONTROL``."""

    connected: Callable[[PreferenceType, ControlLayout], Any]
    """The connected control component for a type, for layouts inside a provider (``control_for``)."""
    in_layout: Callable[[ControlContext | str, ControlSlot, ControlLayout], VdomDict]
    """The control's markup with its state kept by the layout (the preference center renders its
    controls in place: one component instead of one per type)."""
    value_text: Callable[[RegistrySnapshot, PreferenceType, Any, str, KitText], str]
    """A recorded value in words (the history): ``(snapshot, type, value, locale, kit text)``."""


def requirement_names(ctx: ControlContext) -> str:
    """Titles of the missing required consents, for "Requires: ..." hints."""
    titles = []
    for key in ctx.missing:
        required = ctx.snapshot.get(key)
        titles.append(ctx.t(required.title) if required else key)
    return ", ".join(titles)


def texts_block(
    ctx: ControlContext, *, with_description: bool = True, lead: str | None = None
) -> list[VdomDict]:
    """The description with "what we use" / "what you get", the requirement hint and the error, each a
    paragraph with an id for ``aria-describedby`` (see :func:`described_by`).

    Kept deliberately flat (one ``<p>``, one fact per line): every element costs server memory in every
    open session, and the transparency facts belong to the description a screen reader reads anyway."""
    pref, names = ctx.pref, ctx.class_names
    blocks: list[VdomDict] = []
    lines = [ctx.t(pref.description)] if with_description and pref.description else []
    if lead:
        lines.append(lead)
    data_used = ctx.snapshot.text_list(pref.data_used, ctx.locale)
    if data_used:
        lines.append(f"{ctx.text('what_we_use')}: {', '.join(data_used)}")
    if pref.benefit:
        lines.append(f"{ctx.text('what_you_get')}: {ctx.t(pref.benefit)}")
    if lines:
        # The theme sets white-space: pre-line, so each fact is on its own line.
        blocks.append(
            html.p(part("description", (), names, {"id": ctx.ids("description")}), "\n".join(lines))
        )
    if ctx.gpc:
        blocks.append(
            html.p(part("gpc-notice", ("gpc",), names, {"id": ctx.ids("gpc")}), ctx.text("gpc_notice"))
        )
    if ctx.missing:
        blocks.append(
            html.p(
                part("requires", ("disabled",), names, {"id": ctx.ids("requires")}),
                ctx.text("requires_hint", names=requirement_names(ctx)),
            )
        )
    if ctx.error:
        blocks.append(html.p(part("error", ("error",), names, {"id": ctx.ids("error")}), ctx.error))
    return blocks


def described_by(ctx: ControlContext, *extra: str) -> str:
    """``aria-describedby`` of a control: its description, requirement hint, error and ``extra`` ids."""
    ids = []
    if ctx.pref.description or ctx.pref.data_used or ctx.pref.benefit:
        ids.append(ctx.ids("description"))
    if ctx.gpc:
        ids.append(ctx.ids("gpc"))
    if ctx.missing:
        ids.append(ctx.ids("requires"))
    if ctx.error:
        ids.append(ctx.ids("error"))
    ids.extend(extra)
    return " ".join(ids)


def optional(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """``attrs`` without empty values (an empty ``aria-describedby`` is an axe violation)."""
    return {name: value for name, value in attrs.items() if value not in (None, "")}
