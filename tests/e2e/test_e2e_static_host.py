"""The embedding flow's host pages: written from the registry under test, or a shop's own, checked first.

A shop's page whose mount point names a key the registry lacks must fail the flow with that key, the
mount point and the registry's keys named, at once, not after a widget's render timeout.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _kit_run import run_kit

from bff.widgets import WIDGETS
from e2e.static_host import (
    KEYED_MOUNTS_PER_PAGE,
    WIDGET_NAMES,
    MountPoint,
    mount_point_problems,
    write_registry_host_pages,
)

QA_SHOP = Path(__file__).parent / "registries" / "qa-shop.yaml"
DEMO_KEYS_PAGE = (Path(__file__).resolve().parents[2] / "examples" / "static-host" / "index.html").read_text()


class _Mounts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "data-prefkit-widget" in values:
            self.found.append(values)


def _mounts_of(page: Path) -> list[dict[str, str]]:
    parser = _Mounts()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.found


def test_the_kit_knows_every_widget_prefkit_serves() -> None:
    # WIDGETS is the kit's own table (WidgetsPlugin); the demo's widgets come with DemoPlugin and are the
    # demo shop's, not widgets a shop page can mount without the demo.
    from bff.demo import DEMO_WIDGETS

    assert set(WIDGET_NAMES) == set(WIDGETS)
    assert not set(WIDGET_NAMES) & set(DEMO_WIDGETS)


def test_written_pages_mount_every_type_once_and_stay_under_the_socket_limit(tmp_path: Path) -> None:
    view = {
        "version": "v1",
        "locale": "en",
        "default_locale": "en",
        "shop": {"name": 'A & B "shop"'},
        "preferences": [
            {"key": f"k{n}", "kind": ("consent", "slider", "filter")[n % 3]} for n in range(2 * KEYED_MOUNTS_PER_PAGE + 1)
        ],
    }
    pages = write_registry_host_pages(view, tmp_path)
    assert [page.name for page in pages] == ["index.html", "page-2.html", "page-3.html"]
    keyed: list[str] = []
    for page in pages:
        mounts = _mounts_of(page)
        widgets = [mount["data-prefkit-widget"] for mount in mounts]
        assert widgets.count("preference-center") == 1 and widgets.count("consent-banner") == 1, widgets
        assert len(mounts) <= KEYED_MOUNTS_PER_PAGE + 2
        keyed += [mount["data-key"] for mount in mounts if "data-key" in mount]
        assert '<html lang="en">' in page.read_text() and "A &amp; B &quot;shop&quot;" in page.read_text()
    assert keyed == [item["key"] for item in view["preferences"]]
    kinds = {item["key"]: item["kind"] for item in view["preferences"]}
    for page in pages:
        found = [
            MountPoint(index=i, widget=m["data-prefkit-widget"], props={"key": m["data-key"]} if "data-key" in m else {})
            for i, m in enumerate(_mounts_of(page))
        ]
        assert mount_point_problems(page.name, found, kinds, "v1") == []


def test_an_empty_registry_still_gets_a_page_with_the_center_and_the_banner(tmp_path: Path) -> None:
    pages = write_registry_host_pages({"version": "v", "locale": "pl", "preferences": []}, tmp_path)
    assert [m["data-prefkit-widget"] for m in _mounts_of(pages[0])] == ["preference-center", "consent-banner"]


def test_mount_point_problems_name_the_page_the_mount_and_what_the_registry_has() -> None:
    mounts = [
        MountPoint(index=0, widget="consent-toggle", props={"key": "recommendations"}, markup="<div a>"),
        MountPoint(index=1, widget="preference-slider", props={"key": "newsletter"}, markup="<div b>"),
        MountPoint(index=2, widget="filter-group", markup="<div c>"),
        MountPoint(index=3, widget="consent-tgogle", props={"key": "newsletter"}, markup="<div d>"),
        MountPoint(index=4, widget="preference-center", markup="<div e>"),
    ]
    problems = mount_point_problems("shop.html", mounts, {"newsletter": "consent", "size": "filter"}, "abc")
    assert problems == [
        "shop.html: mount point 1 <div a>: names the key 'recommendations', which the registry under test "
        "(version abc) does not declare; it declares: newsletter, size",
        "shop.html: mount point 2 <div b>: 'newsletter' is a consent in the registry under test, but a "
        "preference-slider shows a slider",
        "shop.html: mount point 3 <div c>: a filter-group needs data-key, the key of a filter of the registry",
        f"shop.html: mount point 4 <div d>: unknown widget 'consent-tgogle' (prefkit serves {', '.join(WIDGET_NAMES)})",
    ]
    assert mount_point_problems("empty.html", [], {}, "v") == [
        "empty.html: no mount point ([data-prefkit-widget]) on the page: nothing to embed"
    ]


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_a_shop_page_naming_a_key_the_registry_lacks_fails_at_once_with_the_key(tmp_path: Path) -> None:
    """The demo's example page (keys ``recommendations``, ``price_vs_sustainability``, ``eco_only``)
    against another registry: the flow fails naming each unknown key, without waiting for a render."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "index.html").write_text(DEMO_KEYS_PAGE, encoding="utf-8")
    result = run_kit(
        tmp_path,
        "--pyargs",
        "e2e.flows.test_embedding",
        f"--prefkit-registry={QA_SHOP}",
        f"--prefkit-static-host={host}",
        f"--prefkit-artifacts={tmp_path / 'artifacts'}",
        timeout_s=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "1 failed" in output, output
    assert "the static host page does not fit the registry under test" in output, output
    for key in ("recommendations", "price_vs_sustainability", "eco_only"):
        assert re.search(rf"index\.html: mount point \d <div [^>]*>: names the key '{key}'", output), output
    assert "it declares: discount_focus, newsletter, order_updates, size" in output, output
    assert "Timeout" not in output and "timed out" not in output, output  # not a render timeout
