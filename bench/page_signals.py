"""What the page API costs a shop page: script sizes, and when the Consent Mode default is set.

    python bench/page_signals.py              # 20 page loads
    python bench/page_signals.py --loads 50

1. Sizes, raw and gzip (level 9, what a CDN serves): ``prefkit.js`` (the bootstrap with ``window.prefkit``,
   not counting ReactPy's client it imports for widgets), ``prefkit.d.ts``, and the ``consent-mode.js`` the
   BFF derives from ``examples/demo-shop.toml`` plus a Consent Mode mapping.
2. In Chromium (the suite's launch settings), a page that loads ``consent-mode.js`` and ``prefkit.js`` first in
   ``<head>``, on another origin: ``performance.now()`` when ``gtag("consent", "default", ...)`` reached the
   dataLayer, when ``DOMContentLoaded`` fired and when the first ``update`` was sent (the shopper's state
   arrived), over ``--loads`` fresh pages. ``default - DOMContentLoaded`` is negative when the default is set
   while the page is still parsing, i.e. before any later script of the page could run a tag.

Printed: one line per figure (median and p95 for the timings).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Running a script puts its folder first on sys.path, where bench/http.py would shadow the stdlib's http.
_BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH_DIR]
sys.path.insert(0, str(_BENCH_DIR.parent))
REPO = _BENCH_DIR.parent

import argparse  # noqa: E402
import gzip  # noqa: E402
import http.server  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from functools import partial  # noqa: E402

import uvicorn  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from bench._support import percentile  # noqa: E402
from bff.app import create_app  # noqa: E402
from bff.page_api import consent_mode_script  # noqa: E402
from bff.settings import Settings  # noqa: E402
from e2e.browser import CHROMIUM_ARGS, DEFAULT_BROWSER_PATH  # noqa: E402
from e2e.waiting import wait_until  # noqa: E402
from preference_registry import load_registry  # noqa: E402

MAPPING = {
    'key = "analytics"': 'consent_mode = { grants = ["analytics_storage"], wait_for_update = 500 }',
    'key = "marketing_email"': 'consent_mode = { grants = ["ad_storage", "ad_user_data", "ad_personalization"] }',
}

RECORDER = """
window.__marks = {};
const dataLayer = window.dataLayer = [];
const push = Array.prototype.push;
dataLayer.push = function (...entries) {
  for (const entry of entries) {
    const kind = entry && entry[0] === "consent" ? entry[1] : null;
    if (kind && !(kind in window.__marks)) window.__marks[kind] = performance.now();
  }
  return push.apply(this, entries);
};
document.addEventListener("DOMContentLoaded", () => { window.__marks.dcl = performance.now(); });
"""


def mapped_registry() -> str:
    text = (REPO / "examples" / "demo-shop.toml").read_text(encoding="utf-8")
    for anchor, line in MAPPING.items():
        if anchor not in text:
            raise SystemExit(f"demo registry changed: {anchor} not found")
        text = text.replace(anchor, f"{anchor}\n{line}", 1)
    return text


def size(label: str, body: bytes) -> None:
    print(f"{label:<34} {len(body):>7,} B raw  {len(gzip.compress(body, 9)):>6,} B gzip")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    registry_text = mapped_registry()
    snapshot = load_registry(registry_text, "toml", "demo-shop.toml")
    size("prefkit.js", (REPO / "bff" / "static" / "prefkit.js").read_bytes())
    size("prefkit.d.ts", (REPO / "bff" / "static" / "prefkit.d.ts").read_bytes())
    size("consent-mode.js (demo + mapping)", consent_mode_script(snapshot, data_layer=True).encode())

    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "shop.toml"
        registry.write_text(registry_text, encoding="utf-8")
        pages = Path(tmp) / "pages"
        pages.mkdir()
        host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(pages)))
        origin = f"http://127.0.0.1:{host.server_address[1]}"
        threading.Thread(target=host.serve_forever, daemon=True).start()
        settings = Settings(registry_path=str(registry), database_url=f"sqlite:///{tmp}/bench.db",
                            secret="bench-secret-0123456789abcdefghijklmnop", allowed_origins=(origin,),
                            write_rate_limit_per_minute=0).checked()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        bff = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
        threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
        wait_until(lambda: server.started, "the BFF to start")
        (pages / "index.html").write_text(
            f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title>
<script src="{bff}/_prefkit/consent-mode.js"></script>
<script type="module" src="{bff}/_prefkit/prefkit.js"></script></head>
<body><h1>Shop</h1>{'<p>text</p>' * 200}</body></html>""", encoding="utf-8")
        defaults: list[float] = []
        updates: list[float] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=DEFAULT_BROWSER_PATH, args=list(CHROMIUM_ARGS))
            for _ in range(args.loads):
                context = browser.new_context()
                context.add_init_script(RECORDER)
                page = context.new_page()
                page.goto(f"{origin}/index.html")
                page.wait_for_function("window.__marks.update !== undefined && window.__marks.dcl !== undefined")
                marks = page.evaluate("window.__marks")
                defaults.append(marks["default"] - marks["dcl"])
                updates.append(marks["update"] - marks["dcl"])
                context.close()
            browser.close()
        server.should_exit = True
        host.shutdown()
    print(f"default - DOMContentLoaded (ms)    median {percentile(defaults, 0.5):7.1f}  p95 {percentile(defaults, 0.95):7.1f}")
    print(f"first update - DOMContentLoaded    median {percentile(updates, 0.5):7.1f}  p95 {percentile(updates, 0.95):7.1f}")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    main()
