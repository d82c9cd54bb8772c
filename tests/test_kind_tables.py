"""A kind is one unit (issue 12): the BFF, the components and the QA kit key their per-kind pieces by kind
name from a table, each table covers exactly the registry's kinds, and a kind without an entry is a clear
error wherever it arrives, never another kind's code run on it (the ``isinstance`` ladders sent a subclass
of ``SliderType`` into slider code, and a ``PreferenceInfo`` of an unknown kind into a bare ``KeyError``).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, ClassVar

import msgspec
import pytest
from litestar.exceptions import NotFoundException

from bff.api.openapi import preference_methods
from bff.api.views import registry_view
from bff.demo.pages import ranking_controls
from bff.effective import EffectiveValue
from bff.kinds import KINDS as BFF_KINDS
from bff.profile import build_profile
from bff.reactpy_bridge import WidgetRequest
from bff.widgets import WIDGETS
from components import control_for
from components.kinds import CONTROLS, UnknownKindError
from e2e.kinds import KINDS as KIT_KINDS
from e2e.operate import stored, widget
from e2e.registry import PreferenceInfo
from e2e.static_host import KEYED_WIDGETS
from preference_registry import RegistrySnapshot, SliderType, load_file
from preference_registry import UnknownKindError as RegistryUnknownKindError
from preference_registry.kinds import KINDS as REGISTRY_KINDS

DEMO = "examples/demo-shop.toml"
TABLES = {"bff.kinds.KINDS": BFF_KINDS, "components.kinds.CONTROLS": CONTROLS, "e2e.kinds.KINDS": KIT_KINDS}


class RangeType(SliderType, tag="range"):
    """A kind the registry might add next, with no entry in any table outside it (a subclass of
    ``SliderType``, so an ``isinstance`` ladder would silently treat it as a slider)."""

    kind: ClassVar[str] = "range"


class _WithRange:
    """The demo registry with one more type, of the kind no table knows."""

    def __init__(self, snapshot: RegistrySnapshot) -> None:
        self._snapshot = snapshot
        slider = next(p for p in snapshot.preferences if p.kind == "slider")
        self.extra = RangeType(**{**msgspec.structs.asdict(slider), "key": "price_range", "requires": ()})

    @property
    def preferences(self) -> tuple[Any, ...]:
        return (*self._snapshot.preferences, self.extra)

    def get(self, key: str) -> Any:
        return self.extra if key == self.extra.key else self._snapshot.get(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._snapshot, name)


@pytest.fixture(scope="module")
def demo() -> RegistrySnapshot:
    return load_file(DEMO)


@pytest.fixture
def with_range(demo: RegistrySnapshot) -> Any:
    return _WithRange(demo)


def _raises_unknown(kind: str = "range") -> Iterator[None]:
    return pytest.raises(UnknownKindError, match=rf"'{kind}'.*known kinds: consent, slider, filter")


@pytest.mark.parametrize("name", TABLES)
def test_each_table_covers_exactly_the_registry_kinds(name: str) -> None:
    assert sorted(TABLES[name]) == sorted(REGISTRY_KINDS)


@pytest.mark.parametrize("name", TABLES)
def test_an_unknown_kind_name_is_a_clear_error(name: str) -> None:
    table = TABLES[name]
    with _raises_unknown():
        table["range"]
    assert "range" not in table and table.get("range") is None  # still a mapping for membership tests
    with pytest.raises(RegistryUnknownKindError):  # one except clause for a kind unknown anywhere
        table["range"]
    with pytest.raises(UnknownKindError, match="for int: it has no preference kind"):
        table.of(42)


def test_every_kind_has_one_widget_name_in_the_bff_and_the_qa_kit() -> None:
    assert {kind: entry.widget for kind, entry in BFF_KINDS.items()} == {
        kind: page_object.widget_name for kind, page_object in KIT_KINDS.items()
    }
    assert sorted(KEYED_WIDGETS.values()) == sorted(REGISTRY_KINDS)


def _mount(widget_name: str, snapshot: Any, key: str) -> Any:
    # The factory reads only the app's registry before it refuses a mount point (nothing else is touched).
    app = SimpleNamespace(state=SimpleNamespace(prefkit=SimpleNamespace(registry=SimpleNamespace(current=snapshot))))
    request = WidgetRequest(widget=widget_name, props={"key": key}, connection=SimpleNamespace(app=app))  # type: ignore[arg-type]
    return WIDGETS[widget_name](request)


@pytest.mark.parametrize("kind", sorted(REGISTRY_KINDS))
def test_every_kinds_standalone_widget_is_served_and_refuses_a_type_of_another_kind(kind: str,
                                                                                   with_range: Any) -> None:
    name = BFF_KINDS[kind].widget
    assert name in WIDGETS
    # The range type subclasses SliderType: the slider widget must refuse it like every other, not run
    # slider code on it (an isinstance check let it through).
    with pytest.raises(NotFoundException, match=rf"no {kind} preference 'price_range'"):
        _mount(name, with_range, "price_range")
    other = next(p for p in with_range.preferences if p.kind not in (kind, "range"))
    with pytest.raises(NotFoundException, match=rf"no {kind} preference '{other.key}'"):
        _mount(name, with_range, other.key)


def test_the_profile_refuses_a_kind_it_has_no_part_for(with_range: Any, demo: RegistrySnapshot) -> None:
    effective = {p.key: EffectiveValue(key=p.key, kind=p.kind, value=demo.default_value(p.key),
                                       source="default", in_effect=True) for p in demo.preferences}
    effective["price_range"] = EffectiveValue(key="price_range", kind="range", value=3, source="explicit",
                                              in_effect=True)
    assert build_profile(demo, effective).registry_version == demo.version  # the demo alone is fine
    with _raises_unknown():
        build_profile(with_range, effective)


def test_the_registry_view_and_the_openapi_refuse_an_unknown_kind(with_range: Any) -> None:
    with _raises_unknown():
        registry_view(with_range, "en")
    with _raises_unknown():
        preference_methods(with_range, "price_range")
    assert preference_methods(with_range, "no_such_key") >= {"GET", "PUT", "DELETE"}  # a 404, not a kind


def test_the_demo_sidebar_refuses_an_unknown_kind(with_range: Any, demo: RegistrySnapshot) -> None:
    assert ranking_controls(demo)
    with _raises_unknown():
        ranking_controls(with_range)


def test_the_components_have_no_control_for_an_unknown_kind(with_range: Any) -> None:
    with _raises_unknown():
        control_for(with_range.extra)


def test_the_qa_kit_has_no_page_object_for_an_unknown_kind() -> None:
    info = PreferenceInfo(key="price_range", kind="range", title="Price range", default=None)
    with _raises_unknown():
        widget(None, info)  # type: ignore[arg-type]  # refused before the page is touched
    with _raises_unknown():
        stored(info, [1, 2])
