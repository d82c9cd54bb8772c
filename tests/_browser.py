"""Shared Chromium settings for browser tests: the QA kit's own (``e2e.browser``), so the suite and the kit
launch Chromium the same way.

Tests import it as ``from _browser import CHROMIUM_ARGS, launched_chromium`` (tests/ is on sys.path because
tests/conftest.py lives there and the suite runs in pytest's default import mode).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from e2e.browser import CHROMIUM_ARGS as _KIT_ARGS
from e2e.browser import DEFAULT_BROWSER_PATH, GPC_ARGS, resolve_browser_path

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = [
    "CHROMIUM_ARGS",
    "DEFAULT_CHROMIUM_PATH",
    "chromium_executable",
    "launch_gpc_chromium",
    "launched_chromium",
]

CHROMIUM_ARGS: list[str] = list(_KIT_ARGS)
DEFAULT_CHROMIUM_PATH = DEFAULT_BROWSER_PATH


def chromium_executable() -> str:
    """The Chromium binary to launch: env PREFKIT_BROWSER_PATH, else Debian's /usr/bin/chromium."""
    return resolve_browser_path(None)


@contextmanager
def launched_chromium(executable_path: str) -> Iterator[Browser]:
    """Chromium launched through Playwright with the kit's arguments, closed (and Playwright stopped) on exit.
    Browser fixtures pass the ``chromium_path`` fixture (tests/conftest.py), which skips locally but fails in
    CI when Chromium is missing."""
    # Imported here: tests/conftest.py imports this module, and tests without a browser need no Playwright.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def launch_gpc_chromium(browser: Browser, executable_path: str) -> Browser:
    """A second Chromium from ``browser``'s Playwright with Chromium's own Global Privacy Control
    (``Sec-GPC: 1`` on every request, ``navigator.globalPrivacyControl === true``); the caller closes it."""
    return browser.browser_type.launch(executable_path=executable_path, args=[*CHROMIUM_ARGS, *GPC_ARGS])
