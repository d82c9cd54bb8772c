"""Launching Debian's Chromium through Playwright's sync API.

The kit never relies on ``playwright install`` (browser downloads are not assumed): it launches an
installed Chromium by path with flags that keep it quiet on a closed network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CHROMIUM_ARGS", "DEFAULT_BROWSER_PATH", "GPC_ARGS", "BrowserSettings", "resolve_browser_path"]

CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)
"""Flags for Chromium in CI containers: no sandbox (root), no GPU, no background traffic."""

GPC_ARGS: tuple[str, ...] = ("--enable-features=GlobalPrivacyControlForce",)
"""Chromium's own Global Privacy Control: ``Sec-GPC: 1`` on every request (websocket handshakes included,
which Playwright's ``extra_http_headers`` do not reach) and ``navigator.globalPrivacyControl === true``."""

DEFAULT_BROWSER_PATH = "/usr/bin/chromium"
"""Debian's Chromium package."""


def resolve_browser_path(option: str | None) -> str:
    """The Chromium binary: the command-line option, else env ``PREFKIT_BROWSER_PATH``, else Debian's."""
    return option or os.environ.get("PREFKIT_BROWSER_PATH") or DEFAULT_BROWSER_PATH


@dataclass(frozen=True, kw_only=True)
class BrowserSettings:
    """How the session's one browser is launched."""

    executable_path: str
    """Chromium binary launched by path (``--prefkit-browser-path``)."""
    headed: bool = False
    """Show the window (``--prefkit-headed``); headless otherwise."""

    def check(self) -> None:
        """Raise a clear error when the binary is missing, instead of Playwright's download hint."""
        path = Path(self.executable_path)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise FileNotFoundError(
                f"Chromium not found at {self.executable_path}: install it "
                "(Debian: apt-get install -y chromium) or pass --prefkit-browser-path "
                "/ set PREFKIT_BROWSER_PATH"
            )
