"""Embedding helpers: the Jinja2 helper emits exactly the static page's mount points, always escaped."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest

from bff.jinja_helpers import install_prefkit, prefkit_script, prefkit_widget

TEMPLATES = Path(__file__).resolve().parent.parent / "bff" / "templates"


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def parse(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Collect()
    parser.feed(html)
    return parser.elements


def test_widget_mount_point_matches_the_static_page_form() -> None:
    html = prefkit_widget("consent-toggle", key="marketing_email", locale="pl")
    assert (
        html == '<div data-prefkit-widget="consent-toggle" data-key="marketing_email" data-locale="pl"></div>'
    )


def test_prop_values_are_escaped_and_names_dashed() -> None:
    html = prefkit_widget(
        "filter-group",
        key='x" onmouseover="alert(1)',
        chips=True,
        modal=False,
        theme=None,
        some_prop="<b>&</b>",
    )
    [(tag, attrs)] = parse(str(html))
    assert tag == "div"
    assert attrs == {
        "data-prefkit-widget": "filter-group",
        "data-key": 'x" onmouseover="alert(1)',
        "data-chips": "true",
        "data-modal": "false",
        "data-some-prop": "<b>&</b>",
    }
    assert ' onmouseover="' not in str(html)  # the quote could not end the attribute


@pytest.mark.parametrize("name", ["Consent", "a b", 'x"y', ""])
def test_malformed_widget_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="widget name"):
        prefkit_widget(name)


@pytest.mark.parametrize("prop", ["path", "qs", "prefkit_widget"])
def test_reserved_props_are_refused(prop: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        prefkit_widget("preference-center", **{prop: "x"})


def test_embed_page_template_renders_script_and_mount_point() -> None:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    install_prefkit(env, bff_url="https://prefs.shop.example/")
    page = env.get_template("embed/page.html").render(
        widget="preference-center", props={"locale": "pl"}, title="Ustawienia <prywatności>", lang="pl"
    )
    elements = parse(page)
    scripts = [attrs for tag, attrs in elements if tag == "script"]
    assert scripts == [{"type": "module", "src": "https://prefs.shop.example/_prefkit/prefkit.js"}]
    mounts = [attrs for tag, attrs in elements if tag == "div"]
    assert mounts == [{"data-prefkit-widget": "preference-center", "data-locale": "pl"}]
    assert "Ustawienia &lt;prywatności&gt;" in page
    assert str(prefkit_script()) == '<script type="module" src="/_prefkit/prefkit.js"></script>'
