"""Shared Chromium settings for browser tests.

Playwright cannot download its own browser here, so tests launch Debian's Chromium by path
(the `chromium_path` fixture in tests/conftest.py) with these arguments. The network flags keep
Chromium from phoning home on a machine whose network is closed.

Tests import it as ``from _browser import CHROMIUM_ARGS`` (tests/ is on sys.path because
tests/conftest.py lives there and the suite runs in pytest's default import mode).
"""

from __future__ import annotations

import os

CHROMIUM_ARGS: list[str] = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium"


def chromium_executable() -> str:
    """The Chromium binary to launch: env PREFKIT_BROWSER_PATH, else Debian's /usr/bin/chromium."""
    return os.environ.get("PREFKIT_BROWSER_PATH") or DEFAULT_CHROMIUM_PATH
