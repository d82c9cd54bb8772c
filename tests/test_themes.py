"""Themes: WCAG 2.1 AA contrast of every token pairing the stylesheet uses, completeness, serving."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import themes
from themes import THEME_NAMES, ThemeLibrary, UnknownThemeError, css_for

try:
    from _bff_app import running_app, write_registry
except ImportError:  # tests/ not on sys.path (e.g. --import-mode=importlib)
    from tests._bff_app import running_app, write_registry

_TOKEN = re.compile(r"(--pk-[a-z0-9-]+)\s*:\s*([^;]+);")
_HEX = re.compile(r"^#([0-9a-f]{6})$", re.IGNORECASE)

# (foreground, background, minimum ratio): text 4.5:1 (1.4.3), UI parts and focus ring 3:1 (1.4.11).
PAIRS = [
    ("--pk-color-text", "--pk-color-bg", 4.5),
    ("--pk-color-text", "--pk-color-surface", 4.5),
    ("--pk-color-text", "--pk-color-surface-raised", 4.5),
    ("--pk-color-text-muted", "--pk-color-surface", 4.5),
    ("--pk-color-text-muted", "--pk-color-bg", 4.5),
    ("--pk-color-danger", "--pk-color-surface", 4.5),
    ("--pk-color-success", "--pk-color-surface", 4.5),
    ("--pk-color-button-text", "--pk-color-button-bg", 4.5),
    ("--pk-color-warning-text", "--pk-color-warning-bg", 4.5),
    ("--pk-color-accent-text", "--pk-color-accent", 3.0),
    ("--pk-color-accent", "--pk-color-surface", 3.0),
    ("--pk-color-control", "--pk-color-surface", 3.0),
    ("--pk-color-border", "--pk-color-surface", 3.0),
    ("--pk-color-button-bg", "--pk-color-surface", 3.0),
    ("--pk-color-focus", "--pk-color-surface", 3.0),
    ("--pk-color-focus", "--pk-color-bg", 3.0),
]


def _tokens(css: str) -> dict[str, str]:
    return {name: value.strip() for name, value in _TOKEN.findall(css)}


def _luminance(hex_color: str) -> float:
    match = _HEX.match(hex_color)
    assert match, f"colour tokens must be #rrggbb to be checkable: {hex_color!r}"
    channels = [int(match.group(1)[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula_matches_wcag_reference_values() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the classic "lightest grey on white" for AA


@pytest.mark.parametrize("name", THEME_NAMES)
def test_every_theme_meets_wcag_aa_contrast(name: str) -> None:
    tokens = _tokens(themes.ThemeLibrary().tokens_for(name))
    failures = []
    for foreground, background, minimum in PAIRS:
        ratio = contrast(tokens[foreground], tokens[background])
        if ratio < minimum:
            failures.append(f"{foreground} on {background}: {ratio:.2f} < {minimum}")
    assert not failures, f"theme {name}: " + "; ".join(failures)


@pytest.mark.parametrize("name", THEME_NAMES)
def test_stylesheet_defines_every_token_it_uses(name: str) -> None:
    css = css_for(name)
    defined = set(_tokens(css))
    used = set(re.findall(r"var\((--pk-[a-z0-9-]+)", css))
    # --pk-percent comes from the data-percent rules and always has a fallback in var().
    assert used - defined == set()
    assert f'[data-prefkit-theme="{name}"]' in css
    assert "prefers-reduced-motion: reduce" in css and ":focus-visible" in css
    assert '[data-prefkit-root] [data-percent="37"] { --pk-percent: 37%; }' in css


def test_every_theme_sets_the_same_colour_tokens() -> None:
    names = [
        set(k for k in _tokens(ThemeLibrary().tokens_for(n)) if k.startswith("--pk-color-"))
        for n in THEME_NAMES
    ]
    assert names[0] == names[1] == names[2]
    assert {p[0] for p in PAIRS} | {p[1] for p in PAIRS} <= names[0]


def test_unknown_and_malformed_theme_names_are_refused() -> None:
    with pytest.raises(
        UnknownThemeError, match="unknown theme 'neon'; available: default, dark, high-contrast"
    ):
        css_for("neon")
    with pytest.raises(UnknownThemeError):
        ThemeLibrary().tokens_for("../base")


def test_a_shop_theme_directory_adds_and_overrides_themes(tmp_path: Path) -> None:
    (tmp_path / "brand.css").write_text('[data-prefkit-theme="brand"] { --pk-color-accent: #7a1fa2; }')
    (tmp_path / "dark.css").write_text('[data-prefkit-theme="dark"] { --pk-color-accent: #123456; }')
    library = ThemeLibrary([tmp_path])
    assert library.names() == ["default", "dark", "high-contrast", "brand"]
    assert "#7a1fa2" in library.css_for("brand") and '[data-part="switch"]' in library.css_for("brand")
    assert "#123456" in library.css_for("dark")


def test_theme_stylesheets_and_kit_script_are_served_by_the_bff(tmp_path: Path, sqlite_url: str) -> None:
    registry = write_registry(tmp_path)
    with running_app(registry, sqlite_url) as (client, _service):
        response = client.get("/_prefkit/themes/high-contrast.css")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/css")
        assert response.text == css_for("high-contrast")
        again = client.get(
            "/_prefkit/themes/high-contrast.css", headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304
        missing = client.get("/_prefkit/themes/neon.css")
        assert missing.status_code == 404 and "unknown theme 'neon'" in missing.text
        assert client.get("/_prefkit/themes/dark.txt").status_code == 404
        script = client.get("/_prefkit/kit/prefkit-components.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert script.headers["access-control-allow-origin"] == "*"
        assert "data-prefkit-dialog" in script.text
