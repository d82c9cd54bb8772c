"""Fast component tests: ReactPy's own Layout (the server half of a real session) with an in-memory store.

The in-memory store exists only here, to test component logic without a server; everything that goes
through the BFF, websockets and a browser is in tests/test_components_browser.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from reactpy import component, html
from reactpy.core.layout import Layout
from reactpy.types import VdomDict

from components import (
    CATALOGS,
    ConsentBanner,
    ConsentToggle,
    FilterGroup,
    HistoryEntry,
    PreferenceCenter,
    PreferenceProvider,
    PreferenceSlider,
    PreferenceStoreError,
    StoreCapabilities,
    kit_text,
    slider_key_value,
    slider_value_at,
)
from preference_registry import ConsentType, RegistrySnapshot, SliderType, load_file, load_registry

from bff.reactpy_bridge import apply_layout_update, walk_model

DEMO = "examples/demo-shop.toml"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def serial_rendering() -> Any:
    """Render like the BFF does (bff/widgets.py turns ReactPy's concurrent rendering off)."""
    from reactpy.config import REACTPY_ASYNC_RENDERING

    previous = REACTPY_ASYNC_RENDERING.current
    REACTPY_ASYNC_RENDERING.current = False
    yield
    REACTPY_ASYNC_RENDERING.current = previous


@pytest.fixture(scope="module")
def snapshot() -> RegistrySnapshot:
    return load_file(DEMO)


class State(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    value: Any
    source: str = "default"
    in_effect: bool = True
    stale: bool = False
    missing_requirements: list[str] = msgspec.field(default_factory=list)


class MemoryStore:
    """PreferenceStore in memory; requirements resolved like the BFF does (enough for the components)."""

    def __init__(self, snapshot: RegistrySnapshot, *, refuse: str | None = None) -> None:
        self._snapshot = snapshot
        self.values: dict[str, Any] = {}
        self.stale: set[str] = set()
        self.gpc: set[str] = set()  # consents a GPC signal switched off
        self.refuse = refuse
        self.calls: list[tuple[str, Any]] = []
        self._listeners: list[Callable[[], None]] = []
        self._registry_listeners: list[Callable[[RegistrySnapshot], None]] = []

    @property
    def snapshot(self) -> RegistrySnapshot:
        return self._snapshot

    @property
    def capabilities(self) -> StoreCapabilities:
        return StoreCapabilities(export_url="/api/v1/me/export", erase=True)

    def _states(self) -> dict[str, State]:
        result = {}
        for pref in self._snapshot.preferences:
            explicit = pref.key in self.values
            value = self.values[pref.key] if explicit else self._snapshot.default_value(pref.key)
            if pref.key in self.gpc:
                result[pref.key] = State(key=pref.key, value=False, source="gpc")
                continue
            missing = [r for r in pref.requires if self.values.get(r) is not True]
            result[pref.key] = State(
                key=pref.key,
                value=value,
                source="explicit" if explicit else "default",
                in_effect=not missing,
                stale=pref.key in self.stale,
                missing_requirements=missing,
            )
        return result

    async def load(self) -> Mapping[str, State]:
        return self._states()

    async def set(self, changes: Mapping[str, Any]) -> Mapping[str, State]:
        self.calls.append(("set", dict(changes)))
        if self.refuse in changes:
            raise PreferenceStoreError("value out of range", key=self.refuse)
        self.values.update(changes)
        self.stale.difference_update(changes)
        self.notify()
        return self._states()

    async def reset(self, key: str) -> Mapping[str, State]:
        self.values.pop(key, None)
        return self._states()

    async def _all(self, value: bool) -> Mapping[str, State]:
        self.calls.append(("all", value))
        for consent in self._snapshot.consents():
            if consent.switchable:
                self.values[consent.key] = value
        self.notify()
        return self._states()

    async def accept_all(self) -> Mapping[str, State]:
        return await self._all(True)

    async def reject_all(self) -> Mapping[str, State]:
        return await self._all(False)

    async def history(self) -> Sequence[HistoryEntry]:
        return [
            HistoryEntry(key=k, value=v, method="ui", at=datetime(2026, 1, 1, tzinfo=UTC))
            for k, v in self.values.items()
        ]

    async def erase(self) -> None:
        self.values.clear()

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def subscribe_registry(self, listener: Callable[[RegistrySnapshot], None]) -> Callable[[], None]:
        self._registry_listeners.append(listener)
        return lambda: self._registry_listeners.remove(listener)

    def notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def activate(self, snapshot: RegistrySnapshot) -> None:
        self._snapshot = snapshot
        for listener in list(self._registry_listeners):
            listener(snapshot)


# -- a minimal client: applies layout updates and finds elements ---------------------------------
def _text(node: Any) -> str:
    if isinstance(node, str):
        return node
    return "".join(_text(child) for child in node.get("children", []))


class Session:
    """The server half of a component session, with a background task applying every update."""

    def __init__(self, root: Any) -> None:
        self.layout = Layout(root)
        self.model: dict[str, Any] = {}
        self._pump: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Session:
        await self.layout.__aenter__()
        self._pump = asyncio.create_task(self._apply_updates())
        await self.until(lambda: self.model, "first render")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._pump is not None
        self._pump.cancel()
        await self.layout.__aexit__(*exc)

    async def _apply_updates(self) -> None:
        while True:
            update = await self.layout.render()
            self.model = apply_layout_update(self.model, update["path"], update["model"])

    async def until(self, condition: Callable[[], Any], what: str = "condition", timeout: float = 5.0) -> Any:
        """Poll ``condition()`` while the session runs; fail after ``timeout`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not (result := condition()):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            if self._pump is not None and self._pump.done():
                self._pump.result()  # a crashed render loop: raise its error
            await asyncio.sleep(0.005)  # polling interval; the condition decides
        return result

    def find_all(self, **attrs: str) -> list[dict[str, Any]]:
        return [
            n
            for n in walk_model(self.model)
            if all(n.get("attributes", {}).get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def find(self, **attrs: str) -> dict[str, Any]:
        found = self.find_all(**attrs)
        assert len(found) == 1, f"{attrs}: {len(found)} elements"
        return found[0]

    def by_id(self, element_id: str) -> dict[str, Any]:
        return self.find(id=element_id)

    async def fire(self, node: dict[str, Any], event: str, data: dict[str, Any] | None = None) -> None:
        target = node["eventHandlers"][event]["target"]
        await self.layout.deliver({"type": "layout-event", "target": target, "data": [data or {}]})


def attrs(node: dict[str, Any]) -> dict[str, Any]:
    return node.get("attributes", {})


def loaded(session: Session) -> bool:
    roots = session.find_all(data_part="root")
    return bool(roots) and "loading" not in attrs(roots[0]).get("data-state", "")


def status_text(session: Session) -> str:
    return _text(session.find(role="status"))


# -- pure helpers ------------------------------------------------------------------------------------
def test_slider_keys_follow_the_registry_type(snapshot: RegistrySnapshot) -> None:
    pref = snapshot.get("price_vs_sustainability")
    assert isinstance(pref, SliderType) and pref.effective_page_step == 2
    assert [slider_key_value(pref, 5, k) for k in ("ArrowLeft", "ArrowDown", "ArrowRight", "ArrowUp")] == [
        4,
        4,
        6,
        6,
    ]
    assert (slider_key_value(pref, 5, "PageUp"), slider_key_value(pref, 5, "PageDown")) == (7, 3)
    assert (slider_key_value(pref, 5, "Home"), slider_key_value(pref, 5, "End")) == (0, 10)
    assert slider_key_value(pref, 10, "ArrowRight") == 10 and slider_key_value(pref, 1, "PageDown") == 0
    assert slider_key_value(pref, 5, "Tab") is None
    assert (
        slider_value_at(pref, 0.0) == 0
        and slider_value_at(pref, 0.26) == 3
        and slider_value_at(pref, 1.7) == 10
    )


def test_float_slider_steps_do_not_accumulate_noise() -> None:
    snap = load_registry(
        '[shop]\nname = "S"\n[[preferences]]\nkey = "b"\nkind = "slider"\nmin = 0.0\nmax = 1.0\n'
        'step = 0.1\ndefault = 0.3\ntitle = "B"\n',
        "toml",
    )
    pref = snap.get("b")
    assert isinstance(pref, SliderType)
    assert slider_key_value(pref, 0.3, "ArrowRight") == 0.4
    assert slider_key_value(pref, 0.7, "ArrowUp") == 0.8
    assert slider_value_at(pref, 0.333) == 0.3


@pytest.mark.parametrize(("low", "step", "count"), [
    ("0.01", "0.1", 100),  # the grid starts between multiples of its step: 0.01, 0.11, 0.21...
    ("-3.3", "0.3", 40), ("0", "0.07", 300), ("1E-7", "2.5", 12), ("0.5", "1", 9),
])
def test_a_slider_only_ever_produces_values_on_its_steps(low: str, step: str, count: int) -> None:
    from decimal import Decimal

    from preference_registry import validate_value

    high = Decimal(low) + count * Decimal(step)
    snap = load_registry(
        f'[shop]\nname = "S"\n[[preferences]]\nkey = "b"\nkind = "slider"\nmin = {float(low)!r}\n'
        f'max = {float(high)!r}\nstep = {float(step)!r}\ndefault = {float(low)!r}\ntitle = "B"\n',
        "toml",
    )
    pref = snap.get("b")
    assert isinstance(pref, SliderType)
    produced = {slider_value_at(pref, n / 997) for n in range(998)}
    current = pref.min
    for key in ["ArrowRight"] * count + ["PageDown", "ArrowLeft", "PageUp", "End", "Home", "ArrowUp"] * 9:
        current = slider_key_value(pref, current, key)
        produced.add(current)
    assert len(produced) == count + 1  # every step reached, nothing else
    for value in produced:
        assert validate_value(pref, value) == value, value


def test_kit_strings_exist_in_every_locale_and_fall_back() -> None:
    assert set(CATALOGS["pl"]) == set(CATALOGS["en"])
    assert kit_text("pl")("saved") == "Zapisano" and kit_text("en")("saved") == "Saved"
    assert kit_text("pl-PL")("accept_all") == "Zaakceptuj wszystkie"
    assert kit_text("de")("reject_all") == "Reject all"  # no German catalog: English, never a message id
    assert kit_text("en")("requires", names="A, B") == "Requires: A, B"


# -- controlled components ---------------------------------------------------------------------------
async def test_controlled_switch_reports_changes_and_keeps_aria_in_sync(snapshot: RegistrySnapshot) -> None:
    seen: list[bool] = []
    async with Session(
        ConsentToggle(
            "marketing_email",
            value=False,
            on_change=seen.append,
            registry=snapshot,
            locale="en",
            class_names={"switch": "my-switch"},
        )
    ) as s:
        switch = s.find(role="switch")
        a = attrs(switch)
        assert (
            a["aria-checked"] == "false" and a["data-state"] == "unchecked" and a["className"] == "my-switch"
        )
        assert a["type"] == "button"  # native button: Space and Enter activate it without script
        label = s.by_id(a["aria-labelledby"])
        assert _text(label) == "Marketing e-mails"
        described = [_text(s.by_id(i)) for i in a["aria-describedby"].split()]
        assert described == [
            "News and offers once a week.\nWhat we use: e-mail address, purchase history\n"
            "What you get: Offers that fit you."
        ]
        body = _text(s.model)
        assert "What we use" in body and "e-mail address" in body and "Offers that fit you." in body
        assert "style" not in str(s.model)  # headless: no inline styles anywhere
        await s.fire(switch, "onClick")
        await s.until(lambda: seen == [True], "on_change(True)")


async def test_notice_only_consent_is_informational_without_a_switch(snapshot: RegistrySnapshot) -> None:
    async with Session(ConsentToggle("essential_cookies", value=True, registry=snapshot, locale="pl")) as s:
        assert s.find_all(role="switch") == []
        item = s.find(data_part="consent")
        assert attrs(item)["data-state"] == "notice-only"
        assert "Zawsze włączone" in _text(item)


async def test_controlled_slider_is_disabled_with_a_linked_reason(snapshot: RegistrySnapshot) -> None:
    changes: list[Any] = []
    async with Session(
        PreferenceSlider(
            "personalization_level",
            value=1,
            on_change=changes.append,
            registry=snapshot,
            locale="en",
            missing_requirements=("recommendations",),
        )
    ) as s:
        thumb = s.find(role="slider")
        a = attrs(thumb)
        assert (a["aria-valuemin"], a["aria-valuemax"], a["aria-valuenow"], a["aria-valuetext"]) == (
            0,
            2,
            1,
            "Limited",
        )
        assert a["aria-disabled"] == "true" and "disabled" in a["data-state"].split()
        reasons = [_text(s.by_id(i)) for i in a["aria-describedby"].split()]
        assert "Available after you allow: Personalized recommendations." in reasons
        # Not even sent to the server: a disabled slider has no key or pointer handlers.
        assert "eventHandlers" not in thumb
        assert "eventHandlers" not in s.find(data_part="track-hit")
    assert changes == []


async def test_filter_chips_remove_with_one_key(snapshot: RegistrySnapshot) -> None:
    changes: list[Any] = []
    async with Session(
        FilterGroup(
            "categories",
            value=["shoes", "home"],
            on_change=changes.append,
            registry=snapshot,
            locale="en",
            chips=True,
        )
    ) as s:
        group = s.find(role="group", data_part="options")
        assert _text(s.by_id(attrs(group)["aria-labelledby"])) == "Favourite categories"
        assert attrs(s.find(data_part="chips"))["aria-label"] == "Selected"
        boxes = s.find_all(type="checkbox")
        assert [attrs(b)["checked"] for b in boxes] == [True, False, False, False, True]
        chip = s.find(aria_label="Remove Shoes")
        await s.fire(chip, "onKeyDown", {"key": "Tab"})  # other keys do nothing
        await s.fire(chip, "onKeyDown", {"key": "Delete"})
        await s.until(lambda: changes == [["home"]], "chip removal")


async def test_single_choice_filter_offers_an_explicit_no_preference(snapshot: RegistrySnapshot) -> None:
    snap = load_registry(
        '[shop]\nname = "S"\n[[preferences]]\nkey = "size"\nkind = "filter"\ntitle = "Size"\n'
        'options = [{ key = "s", label = "S" }, { key = "m", label = "M" }]\n',
        "toml",
    )
    changes: list[Any] = []
    async with Session(
        FilterGroup("size", value="m", on_change=changes.append, registry=snap, locale="en")
    ) as s:
        s.find(role="radiogroup")
        radios = s.find_all(type="radio")
        assert [attrs(r)["value"] for r in radios] == ["-", "s", "m"]
        assert [attrs(r)["checked"] for r in radios] == [False, False, True]
        await s.fire(radios[0], "onChange", {"target": {"checked": True}})
        await s.until(lambda: changes == [None], "choosing no preference")


# -- connected components ----------------------------------------------------------------------------
async def test_connected_toggle_saves_announces_and_follows_other_writers(snapshot: RegistrySnapshot) -> None:
    store = MemoryStore(snapshot)
    async with Session(PreferenceProvider(store, ConsentToggle("analytics"), locale="pl")) as s:
        await s.until(lambda: loaded(s), "first load")
        assert attrs(s.find(role="switch"))["aria-checked"] == "false"
        await s.fire(s.find(role="switch"), "onClick")
        await s.until(lambda: attrs(s.find(role="switch"))["aria-checked"] == "true", "saved value")
        assert store.values == {"analytics": True}
        store.values["analytics"] = False  # another tab / the API
        store.notify()
        await s.until(lambda: attrs(s.find(role="switch"))["aria-checked"] == "false", "external change")


async def test_center_groups_by_section_saves_and_announces(snapshot: RegistrySnapshot) -> None:
    store = MemoryStore(snapshot)
    async with Session(PreferenceProvider(store, PreferenceCenter(), locale="pl", load_history=True)) as s:
        await s.until(lambda: loaded(s), "first load")
        sections = [attrs(n)["data-section"] for n in s.find_all(data_part="section")]
        assert sections == ["communication", "personalization", "filters", "privacy"]
        accept, reject = s.find_all(data_part="bulk-action")
        assert _text(accept) == "Zaakceptuj wszystkie" and _text(reject) == "Odrzuć wszystkie"
        assert {k: v for k, v in attrs(accept).items() if k not in ("data-action",)} == {
            k: v for k, v in attrs(reject).items() if k not in ("data-action",)
        }  # equal prominence
        status = s.find(role="status")
        assert attrs(status)["aria-live"] == "polite" and _text(status) == ""
        slider = s.find(role="slider", aria_valuenow=5)
        assert attrs(slider)["aria-disabled"] == "true"  # needs "recommendations"
        await s.fire(accept, "onClick")
        await s.until(lambda: status_text(s) == "Zapisano", "announcement")
        slider = s.find(role="slider", aria_valuenow=5)
        assert "aria-disabled" not in attrs(slider)
        await s.fire(slider, "onKeyDown", {"key": "PageUp"})
        await s.until(lambda: store.values.get("price_vs_sustainability") == 7, "page step saved")
        await s.until(lambda: s.find_all(role="slider", aria_valuenow=7), "slider shows 7")
        await s.until(
            lambda: any("Cena czy ekologia: 7" in _text(e) for e in s.find_all(data_part="history-entry")),
            "history reloaded",
        )
        export = s.find(data_part="export")
        assert attrs(export)["href"] == "/api/v1/me/export"


UNDECLARED_SECTIONS = """
[shop]
name = "Sklep"

[[preferences]]
key = "newsletter"
kind = "consent"
purpose = "marketing"
section = "contact"
title = { pl = "Newsletter", en = "Newsletter" }

[[preferences]]
key = "stats"
kind = "consent"
purpose = "analytics"
section = "privacy"
title = { pl = "Statystyki", en = "Statistics" }

[[preferences]]
key = "loose"
kind = "consent"
purpose = "other"
title = { pl = "Bez sekcji", en = "No section" }

[[preferences]]
key = "other_thing"
kind = "consent"
purpose = "other"
section = "other"
title = { pl = "Sekcja o nazwie other", en = "A section named other" }
"""


async def test_center_renders_sections_used_but_never_declared() -> None:
    # Documented: a file without [[sections]] may still use `section`; each heading falls back to its key.
    # These all used to share one reconciliation key, and ReactPy refused to render the center at all.
    snapshot = load_registry(UNDECLARED_SECTIONS, "toml")
    store = MemoryStore(snapshot)
    async with Session(PreferenceProvider(store, PreferenceCenter(), locale="en")) as s:
        await s.until(lambda: loaded(s), "first load")
        groups = s.find_all(data_part="section")
        assert [attrs(n)["data-section"] for n in groups] == ["contact", "privacy", "other", "no-section"]
        assert [_text(n) for n in s.find_all(data_part="section-title")] == [
            "contact", "privacy", "other", "Other"]
        ids = [attrs(n)["id"] for n in s.find_all(data_part="section-title")]
        assert len(set(ids)) == len(ids)
        assert [attrs(n)["aria-labelledby"] for n in groups] == ids


async def test_refused_change_is_announced_and_flagged(snapshot: RegistrySnapshot) -> None:
    store = MemoryStore(snapshot, refuse="eco_only")
    async with Session(PreferenceProvider(store, PreferenceCenter(), locale="en")) as s:
        await s.until(lambda: loaded(s), "first load")
        box = s.find(type="checkbox", value="eco")
        await s.fire(box, "onChange", {"target": {"checked": True}})
        await s.until(lambda: status_text(s) == "Not saved: value out of range", "error announcement")
        assert "error" in attrs(s.find(data_part="status"))["data-state"].split()
        assert "error" in attrs(s.find(data_key="eco_only", data_part="filter"))["data-state"].split()


async def test_new_registry_type_appears_in_an_open_center(snapshot: RegistrySnapshot) -> None:
    store = MemoryStore(snapshot)
    async with Session(PreferenceProvider(store, PreferenceCenter(), locale="en")) as s:
        await s.until(lambda: loaded(s), "first load")
        assert not s.find_all(data_key="gift_wrap", data_part="consent")
        text = snapshot.source_text + (
            '\n[[preferences]]\nkey = "gift_wrap"\nkind = "consent"\npurpose = "gifts"\n'
            'section = "communication"\n'
            'order = 5\ntitle = { pl = "Pakowanie", en = "Gift wrapping tips" }\n'
        )
        store.activate(load_registry(text, "toml"))
        await s.until(lambda: s.find_all(data_key="gift_wrap", data_part="consent"), "the new type")
        assert "Gift wrapping tips" in _text(s.model)


async def test_stale_consent_asks_to_confirm_again(snapshot: RegistrySnapshot) -> None:
    store = MemoryStore(snapshot)
    store.values["marketing_email"] = True
    store.stale.add("marketing_email")
    async with Session(PreferenceProvider(store, ConsentToggle("marketing_email"), locale="en")) as s:
        await s.until(lambda: s.find_all(data_part="stale-notice"), "stale notice")
        switch = s.find(role="switch")
        assert "stale" in attrs(switch)["data-state"].split()
        notice_id = attrs(s.find(data_part="stale-notice"))["id"]
        assert notice_id in attrs(switch)["aria-describedby"].split()
        await s.fire(s.find(data_part="confirm"), "onClick")
        await s.until(lambda: not s.find_all(data_part="stale-notice"), "confirmed")
        assert store.calls == [("set", {"marketing_email": True})]


async def test_banner_is_a_modal_dialog_answered_only_by_a_choice(snapshot: RegistrySnapshot) -> None:
    store = MemoryStore(snapshot)
    async with Session(PreferenceProvider(store, ConsentBanner(), locale="en")) as s:
        await s.until(lambda: s.find_all(role="dialog"), "banner")
        dialog = s.find(role="dialog")
        a = attrs(dialog)
        assert a["aria-modal"] == "true"
        assert _text(s.by_id(a["aria-labelledby"])) == "Your privacy choices"
        assert "Demo Shop" in _text(s.by_id(a["aria-describedby"]))
        assert _text(s.by_id(a["data-prefkit-escape-target"])) == "Reject all"
        assert [_text(b) for b in s.find_all(data_part="banner-action")] == [
            "Accept all",
            "Reject all",
            "Customize",
        ]
        await s.fire(s.find(data_action="customize"), "onClick")
        await s.until(lambda: s.find_all(role="switch"), "customize panel")
        switches = s.find_all(role="switch")
        assert [attrs(x)["aria-checked"] for x in switches] == [
            "false",
            "false",
            "false",
        ]  # nothing pre-ticked
        await s.fire(switches[1], "onClick")  # recommendations, in the draft only
        await s.until(lambda: attrs(s.find_all(role="switch")[1])["aria-checked"] == "true", "draft")
        assert store.calls == []
        await s.fire(s.find(data_action="save"), "onClick")
        await s.until(lambda: not s.find_all(role="dialog"), "banner closed")
        assert store.calls == [
            ("set", {"marketing_email": False, "recommendations": True, "analytics": False})
        ]
        assert status_text(s) == "Saved"


async def test_banner_stays_closed_once_every_consent_is_decided(snapshot: RegistrySnapshot) -> None:
    store = MemoryStore(snapshot)
    for consent in snapshot.consents():
        if isinstance(consent, ConsentType) and consent.switchable:
            store.values[consent.key] = False
    async with Session(PreferenceProvider(store, ConsentBanner(), locale="en")) as s:
        await s.until(lambda: loaded(s), "first load")
        assert s.find_all(role="dialog") == []


async def test_a_consent_switched_off_by_gpc_says_why(snapshot: RegistrySnapshot) -> None:
    store = MemoryStore(snapshot)
    store.values["marketing_email"] = True
    store.gpc.add("marketing_email")
    async with Session(PreferenceProvider(store, ConsentToggle("marketing_email"), locale="pl")) as s:
        await s.until(lambda: loaded(s), "first load")
        switch = s.find(role="switch")
        assert attrs(switch)["aria-checked"] == "false" and "gpc" in attrs(switch)["data-state"].split()
        described = [_text(s.by_id(i)) for i in attrs(switch)["aria-describedby"].split()]
        assert any(text.startswith("Sygnał prywatności Twojej przeglądarki") for text in described)


async def test_quick_toggles_before_a_save_returns_are_all_kept(snapshot: RegistrySnapshot) -> None:
    """Two options ticked faster than the first save answers: the second change builds on the first."""

    class SlowStore(MemoryStore):
        def __init__(self, snapshot: RegistrySnapshot) -> None:
            super().__init__(snapshot)
            self.gate = asyncio.Event()

        async def set(self, changes: Mapping[str, Any]) -> Mapping[str, State]:
            if not self.calls:  # hold the first save until the second event has been handled
                self.calls.append(("held", dict(changes)))
                await self.gate.wait()
            return await super().set(changes)

    store = SlowStore(snapshot)
    store.values["recommendations"] = True  # categories require it
    async with Session(PreferenceProvider(store, FilterGroup("categories", chips=True), locale="en")) as s:
        await s.until(lambda: loaded(s) and s.find_all(type="checkbox"), "loaded filter")
        shoes, bags = s.find_all(type="checkbox")[:2]
        await s.fire(shoes, "onChange", {"target": {"checked": True}})
        await s.until(lambda: store.calls, "first save started")
        await s.fire(bags, "onChange", {"target": {"checked": True}})
        store.gate.set()
        await s.until(lambda: store.values.get("categories") == ["shoes", "bags"], "both options stored")
        await s.until(lambda: len(s.find_all(data_part="chip")) == 2, "two chips")


# -- a widget that fails says so ---------------------------------------------------------------------
class FailingStore(MemoryStore):
    """A store whose reads and/or writes raise, like a database that went away; switch back with the flags."""

    def __init__(self, snapshot: RegistrySnapshot, *, reads: bool = False, writes: bool = False) -> None:
        super().__init__(snapshot)
        self.fail_reads = reads
        self.fail_writes = writes

    async def load(self) -> Mapping[str, State]:
        if self.fail_reads:
            raise OSError("database unavailable")
        return await super().load()

    async def set(self, changes: Mapping[str, Any]) -> Mapping[str, State]:
        if self.fail_writes:
            raise OSError("database unavailable")
        return await super().set(changes)


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and text in r.getMessage()]


async def test_failed_load_shows_an_alert_with_retry_logged_once(
    snapshot: RegistrySnapshot, caplog: pytest.LogCaptureFixture
) -> None:
    # It used to stay "loading" forever, saying nothing.
    store = FailingStore(snapshot, reads=True)
    async with Session(PreferenceProvider(store, ConsentToggle("analytics"), locale="pl")) as s:
        await s.until(lambda: s.find_all(role="alert"), "the error state")
        root = s.find(data_part="root")
        assert attrs(root)["data-state"] == "error"
        assert _text(s.find(role="alert")) == "Nie udało się wczytać Twoich ustawień."
        retry = s.find(data_part="retry")
        assert _text(retry) == "Spróbuj ponownie" and attrs(retry)["type"] == "button"
        store.notify()  # another load attempt, failing again: no second log line
        await s.fire(retry, "onClick")
        await s.until(lambda: s.find_all(role="alert"), "the error state again")
        assert len(_logged(caplog, "loading preferences failed")) == 1
        assert "ConsentToggle('analytics')" in _logged(caplog, "loading")[0].getMessage()

        store.fail_reads = False  # the database is back
        await s.fire(s.find(data_part="retry"), "onClick")
        await s.until(lambda: s.find_all(role="switch"), "the switch")
        assert not s.find_all(role="alert") and not s.find_all(data_part="widget-error")
        assert "error" not in attrs(s.find(data_part="root")).get("data-state", "")


async def test_failed_reload_keeps_the_values_and_says_so(snapshot: RegistrySnapshot) -> None:
    store = FailingStore(snapshot)
    async with Session(PreferenceProvider(store, ConsentToggle("analytics"), locale="en")) as s:
        await s.until(lambda: s.find_all(role="switch"), "the switch")
        store.fail_reads = True
        store.notify()  # a change elsewhere that cannot be read
        await s.until(lambda: s.find_all(role="alert"), "the error state")
        assert _text(s.find(role="alert")) == "Your settings could not be loaded."
        assert s.find_all(role="switch")  # what was shown stays
        store.fail_reads = False
        await s.fire(s.find(data_part="retry"), "onClick")
        await s.until(lambda: not s.find_all(role="alert"), "recovered")


async def test_failed_save_is_announced_flagged_and_logged_with_its_key(
    snapshot: RegistrySnapshot, caplog: pytest.LogCaptureFixture
) -> None:
    store = FailingStore(snapshot, writes=True)
    async with Session(PreferenceProvider(store, PreferenceCenter(), locale="pl")) as s:
        await s.until(lambda: loaded(s), "first load")
        await s.fire(s.find(data_key="analytics", data_part="consent")["children"][1], "onClick")
        failed = "Nie udało się zapisać. Spróbuj ponownie."
        await s.until(lambda: status_text(s) == failed, "announcement")
        assert "error" in attrs(s.find(data_key="analytics", data_part="consent"))["data-state"].split()
        (record,) = _logged(caplog, "saving analytics failed")
        assert "PreferenceCenter" in record.getMessage()


@component
def Broken(preference: str) -> VdomDict:
    raise RuntimeError(f"bug while rendering {preference}")


@component
def DuplicateKeys() -> VdomDict:
    return html.ul(html.li({"key": "same"}, "a"), html.li({"key": "same"}, "b"))


@pytest.mark.parametrize(
    ("child", "logged"),
    [(lambda: Broken("analytics"), "Broken('analytics')"), (DuplicateKeys, "DuplicateKeys")],
)
async def test_a_component_that_cannot_render_says_so_logged_once(
    snapshot: RegistrySnapshot, caplog: pytest.LogCaptureFixture, child: Any, logged: str
) -> None:
    store = MemoryStore(snapshot)
    async with Session(PreferenceProvider(store, child(), ConsentToggle("analytics"), locale="en")) as s:
        await s.until(lambda: s.find_all(data_part="widget-error"), "the error state")
        assert _text(s.find(role="alert")) == "This part of the page could not be shown."
        assert not s.find_all(data_part="retry")  # a render bug fails the same way again
        assert s.find_all(role="switch")  # the rest of the widget still works
        for _ in range(3):  # re-renders: the same failure is not logged again
            await s.fire(s.find(role="switch"), "onClick")
        await s.until(lambda: store.values.get("analytics") is True, "saved")
        assert len(_logged(caplog, "failed to render")) == 1
        assert logged in _logged(caplog, "failed to render")[0].getMessage()
        assert not _logged(caplog, "Failed to render")  # ReactPy's own per-render log never fired


def test_kit_error_strings_exist_in_every_locale() -> None:
    for message_id in ("load_failed", "render_failed", "retry", "connection_lost", "unavailable"):
        texts = {locale: catalog.get(message_id) for locale, catalog in CATALOGS.items()}
        assert all(texts.values()) and len(set(texts.values())) == len(texts), texts


async def test_one_key_shown_twice_in_one_session_keeps_ids_unique(snapshot: RegistrySnapshot) -> None:
    # A custom layout: the center plus the same controls again, and a controlled copy outside any store.
    store = MemoryStore(snapshot)

    @component
    def Page() -> VdomDict:
        return html.div(
        PreferenceProvider(
            store,
            PreferenceCenter(),
            ConsentToggle("analytics"),
            ConsentToggle("analytics"),
            PreferenceSlider("price_vs_sustainability"),
            FilterGroup("categories", chips=True),
            locale="en",
        ),
        ConsentToggle("analytics", value=True, registry=snapshot),
        ConsentToggle("analytics", value=False, registry=snapshot),
    )

    async with Session(Page()) as s:
        await s.until(lambda: loaded(s), "first load")
        ids = [attrs(n)["id"] for n in walk_model(s.model) if "id" in attrs(n)]
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
        for switch in s.find_all(role="switch"):
            assert len(s.find_all(id=attrs(switch)["aria-labelledby"])) == 1
