"""prefkit themes: design tokens (CSS custom properties) plus one stylesheet for the components' hooks.

A theme is a token file (``themes/tokens/<name>.css``) that sets ``--pk-color-*`` (and may override any
other token) on ``[data-prefkit-theme="<name>"]``; :func:`css_for` returns it together with the shared
component rules (``themes/base.css``), which read nothing but tokens. Built-in: ``default`` (light),
``dark`` and ``high-contrast``, each meeting WCAG 2.1 AA contrast. A shop adds its own theme by putting
``<name>.css`` in a directory passed to :class:`ThemeLibrary` (the BFF reads ``PREFKIT_THEMES_DIR``), or
overrides single tokens in its own stylesheet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Final

__all__ = ["BUILTIN_DIR", "THEME_NAMES", "ThemeLibrary", "UnknownThemeError", "css_for", "theme_names"]

BUILTIN_DIR: Final[Path] = Path(__file__).parent / "tokens"
_BASE_CSS: Final[Path] = Path(__file__).parent / "base.css"
THEME_NAMES: Final[tuple[str, ...]] = ("default", "dark", "high-contrast")
"""Built-in themes, in the order a theme picker should offer them."""

# Same rule as the registry's ``shop.theme``; also keeps names safe as file names and URL segments.
_THEME_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class UnknownThemeError(LookupError):
    """No theme file with that name."""

    def __init__(self, name: str, available: Iterable[str]) -> None:
        self.name = name
        self.available = tuple(available)
        super().__init__(f"unknown theme {name!r}; available: {', '.join(self.available)}")


@lru_cache(maxsize=1)
def _component_rules() -> str:
    """``base.css`` plus one rule per whole percent for ``data-percent`` (slider thumb, range, stops).

    Components carry their position as ``data-percent="0".."100"`` instead of an inline style; these
    rules turn it into ``--pk-percent`` for the theme to use in ``left``/``width``.
    """
    percent_rules = "\n".join(
        f'[data-prefkit-root] [data-percent="{p}"] {{ --pk-percent: {p}%; }}' for p in range(101)
    )
    return (
        _BASE_CSS.read_text(encoding="utf-8")
        + "\n/* data-percent -> --pk-percent */\n"
        + percent_rules
        + "\n"
    )


class ThemeLibrary:
    """Theme files by name: the built-in ones, then each extra directory (a shop's own themes).

    A file in an extra directory with a built-in name replaces the built-in theme.
    """

    def __init__(self, extra_dirs: Iterable[str | Path] = ()) -> None:
        self._dirs: tuple[Path, ...] = (*(Path(d) for d in extra_dirs), BUILTIN_DIR)

    def names(self) -> list[str]:
        """Every available theme name (built-ins first)."""
        found = list(THEME_NAMES)
        for directory in self._dirs:
            if directory.is_dir():
                for file in sorted(directory.glob("*.css")):
                    if _THEME_NAME.fullmatch(file.stem) and file.stem not in found:
                        found.append(file.stem)
        return found

    def tokens_for(self, name: str) -> str:
        """The token file of theme ``name``; :class:`UnknownThemeError` when there is none."""
        if _THEME_NAME.fullmatch(name):
            for directory in self._dirs:
                candidate = directory / f"{name}.css"
                if candidate.is_file():
                    return candidate.read_text(encoding="utf-8")
        raise UnknownThemeError(name, self.names())

    def css_for(self, name: str) -> str:
        """The complete stylesheet of theme ``name`` (tokens + component rules)."""
        return f"/* prefkit theme: {name} */\n" + self.tokens_for(name) + "\n" + _component_rules()


_BUILTIN = ThemeLibrary()


def theme_names() -> list[str]:
    """Names of the built-in themes."""
    return list(THEME_NAMES)


def css_for(name: str) -> str:
    """Stylesheet of built-in theme ``name`` (``default``, ``dark``, ``high-contrast``)."""
    if name not in THEME_NAMES:
        raise UnknownThemeError(name, THEME_NAMES)
    return _BUILTIN.css_for(name)
