"""Shared Chromium settings for browser tests: the QA kit's own (``e2e.browser``), so the suite and the kit
launch Chromium the same way.

Tests import it as ``from _browser import CHROMIUM_ARGS`` (tests/ is on sys.path because
tests/conftest.py lives there and the suite runs in pytest's default import mode).
"""

from __future__ import annotations

from e2e.browser import CHROMIUM_ARGS as _KIT_ARGS
from e2e.browser import DEFAULT_BROWSER_PATH, resolve_browser_path

__all__ = ["CHROMIUM_ARGS", "DEFAULT_CHROMIUM_PATH", "chromium_executable"]

CHROMIUM_ARGS: list[str] = list(_KIT_ARGS)
DEFAULT_CHROMIUM_PATH = DEFAULT_BROWSER_PATH


def chromium_executable() -> str:
    """The Chromium binary to launch: env PREFKIT_BROWSER_PATH, else Debian's /usr/bin/chromium."""
    return resolve_browser_path(None)
