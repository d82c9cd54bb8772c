"""prefkit's pytest plugin: a server to test, Debian Chromium, shoppers, page objects, artifacts.

Registered through the ``pytest11`` entry point (``prefkit = "e2e.plugin"``), so installing
``prefkit[e2e]`` makes these options and fixtures available to any pytest run:

Options
    ``--prefkit-base-url URL``      test an already running deployment (default: start one)
    ``--prefkit-registry FILE``     registry for the self-started server (default: the demo shop's)
    ``--prefkit-browser-path PATH`` Chromium binary (default: env PREFKIT_BROWSER_PATH or /usr/bin/chromium)
    ``--prefkit-headed``            show the browser window
    ``--prefkit-artifacts DIR``     screenshots, traces and the server log (default: artifacts/e2e)
    ``--prefkit-shop-secret``, ``--prefkit-admin-key``, ``--prefkit-embed-origin``: what an external
    deployment's flows need to know (env PREFKIT_SHOP_SECRET / PREFKIT_ADMIN_KEY work too)
    ``--prefkit-center-path``, ``--prefkit-listing-path``: where the pages live on a shop's deployment

Fixtures
    ``prefkit_server`` (session), ``browser`` (module), ``shopper``, ``new_shopper`` (factory),
    ``logged_in_shopper``, ``api_client``, ``registry_editor``, ``prefkit_registry``,
    ``preference_center``, ``consent_banner``, ``demo_listing``, ``static_host`` (session) and
    ``prefkit_preference`` (parametrized with every preference type of the registry under test),
    ``prefkit_locale`` (parametrized with every locale the registry offers, default first).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# Flows imported into a shop's own test files (``from e2e.flows.test_center import *``) and the page
# objects' helpers get pytest's detailed assertion messages too.
pytest.register_assert_rewrite("e2e.flows", "e2e.pages", "e2e.waiting")

from .browser import CHROMIUM_ARGS, GPC_ARGS, BrowserSettings, resolve_browser_path
from .server import (
    PrefkitServer,
    SelfStartedServerConfig,
    default_registry_path,
    log_tail,
    start_prefkit_server,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Playwright

    from .editor import RegistryEditor
    from .pages.banner import ConsentBanner
    from .pages.center import PreferenceCenterPage
    from .pages.listing import DemoListingPage
    from .registry import PreferenceInfo, RegistryInfo
    from .shopper import Shopper
    from .static_host import StaticHost

__all__ = ["ShopperFactory"]

EXPECT_TIMEOUT_MS = 10_000
"""How long Playwright's ``expect`` waits for a condition (component sessions go over websockets)."""
ACTION_TIMEOUT_MS = 15_000
"""Default timeout of page actions and navigations."""

ShopperFactory = Callable[..., "Shopper"]
"""``new_shopper(locale=None, *, gpc=False, extra_headers=None)`` -> a fresh :class:`~e2e.shopper.Shopper`;
``gpc=True`` puts it in a Chromium that sends Global Privacy Control (``Sec-GPC: 1``) on every request."""

_CONTEXTS = pytest.StashKey[list["_TracedContext"]]()
_ARTIFACT_DIR = pytest.StashKey[Path]()
_SERVER = pytest.StashKey[PrefkitServer]()
_COLLECTED = pytest.StashKey["_CollectedRegistry"]()


# --- options ---------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prefkit", "prefkit end-to-end flows")
    group.addoption(
        "--prefkit-base-url",
        default=os.environ.get("PREFKIT_E2E_BASE_URL"),
        help="URL of a running prefkit deployment to test (default: the plugin starts "
        "`prefkit serve` itself on a free 127.0.0.1 port with a throwaway SQLite database)",
    )
    group.addoption(
        "--prefkit-registry",
        default=None,
        help="registry file for the self-started server (default: the demo shop registry)",
    )
    group.addoption(
        "--prefkit-browser-path",
        default=None,
        help="Chromium binary (default: env PREFKIT_BROWSER_PATH, else /usr/bin/chromium)",
    )
    group.addoption("--prefkit-headed", action="store_true", default=False, help="show the browser window")
    group.addoption(
        "--prefkit-one-browser",
        action="store_true",
        default=False,
        help="one Chromium for the whole run instead of one per test module (faster; only when nothing "
        "else in the run starts Playwright's sync API)",
    )
    group.addoption(
        "--prefkit-artifacts",
        default="artifacts/e2e",
        help="where screenshots and traces of failing tests and the server log go (default: artifacts/e2e)",
    )
    group.addoption(
        "--prefkit-shop-secret",
        default=os.environ.get("PREFKIT_SHOP_SECRET"),
        help="PREFKIT_SHOP_SECRET of an external deployment (enables the logged-in flows)",
    )
    group.addoption(
        "--prefkit-admin-key",
        default=os.environ.get("PREFKIT_ADMIN_KEY"),
        help="PREFKIT_ADMIN_KEY of an external deployment (lets flows read the admin registry status)",
    )
    group.addoption(
        "--prefkit-embed-origin",
        default=os.environ.get("PREFKIT_E2E_EMBED_ORIGIN"),
        help="an origin http://127.0.0.1:PORT that the external deployment allowlists "
        "(PREFKIT_ALLOWED_ORIGINS); the plugin serves the static host page there",
    )
    group.addoption(
        "--prefkit-static-host",
        default=None,
        help="folder with the shop's own static host page(s) (*.html) served on the embed origin; the "
        "embedding flow checks their mount points against the registry (default: a page the kit writes "
        "from the registry under test, one mount point per type plus the center and the banner)",
    )
    group.addoption(
        "--prefkit-center-path",
        default=None,
        help="path of the page showing the preference center (default: the demo's)",
    )
    group.addoption(
        "--prefkit-listing-path", default=None, help="path of the product listing page (default: the demo's)"
    )
    group.addoption(
        "--prefkit-operate-every",
        type=int,
        default=1,
        metavar="N",
        help="in the keyboard-only journey, operate every N-th control (default 1: every one); every "
        "control is still reached by Tab and checked for visible focus (for registries of hundreds of types)",
    )
    group.addoption(
        "--prefkit-start-timeout",
        type=float,
        default=60.0,
        help="seconds the self-started server may take to answer /readyz (default: 60)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: needs Debian Chromium via Playwright")
    config.addinivalue_line(
        "markers",
        "prefkit_registry_edit: edits the registry file; skipped unless the plugin started the server",
    )


def _artifacts_dir(config: pytest.Config) -> Path:
    path = Path(config.getoption("--prefkit-artifacts"))
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


# --- registry-driven parametrization ---------------------------------------------------------------------


@dataclass(frozen=True)
class _CollectedRegistry:
    """What collection needs to know of the registry under test (before any server runs)."""

    preferences: list[tuple[str, str]]
    """``(key, kind)`` of every declared type, in display order."""
    locales: list[str]
    """Locales the shop offers, default first."""


def _collection_registry(config: pytest.Config) -> _CollectedRegistry:
    """The registry under test as collection sees it: the file, or the running server's registry."""
    if _COLLECTED in config.stash:
        return config.stash[_COLLECTED]
    base_url = config.getoption("--prefkit-base-url")
    if base_url:
        import httpx

        try:
            view = httpx.get(base_url.rstrip("/") + "/api/v1/registry", timeout=15).raise_for_status().json()
        except httpx.HTTPError as exc:
            raise pytest.UsageError(
                f"--prefkit-base-url: cannot read {base_url}/api/v1/registry: {exc}"
            ) from exc
        prefs = [(item["key"], item["kind"]) for item in view["preferences"]]
        default, locales = view.get("default_locale") or view["locale"], list(view.get("locales") or ())
    else:
        from preference_registry import load_file

        path = config.getoption("--prefkit-registry") or default_registry_path()
        snapshot = load_file(str(path))
        prefs = [(pref.key, pref.kind) for pref in snapshot.preferences]
        default, locales = snapshot.default_locale, list(snapshot.locales)
    collected = _CollectedRegistry(
        preferences=prefs, locales=[default, *(locale for locale in locales if locale != default)]
    )
    config.stash[_COLLECTED] = collected
    return collected


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per declared preference type for every test using the ``prefkit_preference`` fixture, and
    one per offered locale for every test using ``prefkit_locale``."""
    if "prefkit_preference" in metafunc.fixturenames:
        prefs = _collection_registry(metafunc.config).preferences
        if prefs:
            metafunc.parametrize(
                "prefkit_preference_key",
                [key for key, _ in prefs],
                ids=[f"{kind}-{key}" for key, kind in prefs],
            )
        else:
            reason = "the registry under test declares no preference type"
            metafunc.parametrize(
                "prefkit_preference_key", [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="none")]
            )
    if "prefkit_locale" in metafunc.fixturenames:
        locales = _collection_registry(metafunc.config).locales
        metafunc.parametrize("prefkit_locale", locales, ids=locales)


# --- server ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prefkit_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrefkitServer]:
    """The server under test: ``--prefkit-base-url`` as given, or a ``prefkit serve`` the plugin runs."""
    config = request.config
    base_url = config.getoption("--prefkit-base-url")
    if base_url:
        server = PrefkitServer(
            base_url=base_url.rstrip("/"),
            self_started=False,
            shop_secret=config.getoption("--prefkit-shop-secret") or None,
            admin_key=config.getoption("--prefkit-admin-key") or None,
            embed_origin=(config.getoption("--prefkit-embed-origin") or "").rstrip("/") or None,
        )
        config.stash[_SERVER] = server
        yield server
        return
    registry = Path(config.getoption("--prefkit-registry") or default_registry_path())
    started = SelfStartedServerConfig(
        registry_source=registry,
        workdir=tmp_path_factory.mktemp("prefkit-server"),
        log_path=_artifacts_dir(config) / "server.log",
        start_timeout_s=config.getoption("--prefkit-start-timeout"),
    )
    with start_prefkit_server(started) as server:
        config.stash[_SERVER] = server
        yield server


@pytest.fixture(scope="session")
def static_host(
    request: pytest.FixtureRequest, prefkit_server: PrefkitServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StaticHost]:
    """Static host pages served on the allowlisted second origin (cross-origin embedding): the shop's own
    (``--prefkit-static-host DIR``) or, by default, a page written from the registry under test."""
    from .api import PrefkitApi
    from .static_host import serve_static_host, write_registry_host_pages

    if not prefkit_server.embed_origin:
        pytest.skip("no allowlisted second origin known (pass --prefkit-embed-origin http://127.0.0.1:PORT)")
    option = request.config.getoption("--prefkit-static-host")
    if option:
        folder = Path(option)
        if not any(folder.glob("*.html")):
            pytest.fail(f"--prefkit-static-host {folder}: no HTML page in that folder", pytrace=False)
    else:
        folder = tmp_path_factory.mktemp("static-host")
        with PrefkitApi(prefkit_server.base_url) as anonymous:
            write_registry_host_pages(anonymous.registry(), folder)
    with serve_static_host(prefkit_server, folder, generated=not option) as host:
        yield host


# --- browser, contexts, shoppers -------------------------------------------------------------------------


def _browser_scope(fixture_name: str, config: pytest.Config) -> str:
    """Module scope by default, not session: Playwright's sync API cannot run twice at once in one thread,
    and a suite may hold other modules that start their own (prefkit's does). Within a module every test
    shares one browser. ``--prefkit-one-browser``: one for the whole run (a run of the kit's flows only)."""
    return "session" if config.getoption("--prefkit-one-browser") else "module"


@pytest.fixture(scope=_browser_scope)
def _playwright() -> Iterator[Playwright]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        yield playwright


def _launch(
    request: pytest.FixtureRequest, playwright: Playwright, extra_args: tuple[str, ...] = ()
) -> Browser:
    settings = BrowserSettings(
        executable_path=resolve_browser_path(request.config.getoption("--prefkit-browser-path")),
        headed=request.config.getoption("--prefkit-headed"),
    )
    settings.check()
    return playwright.chromium.launch(
        executable_path=settings.executable_path,
        args=[*CHROMIUM_ARGS, *extra_args],
        headless=not settings.headed,
    )


@pytest.fixture(scope=_browser_scope)
def browser(request: pytest.FixtureRequest, _playwright: Playwright) -> Iterator[Browser]:
    """One Chromium per test module, or per run with ``--prefkit-one-browser`` (each test gets fresh
    contexts)."""
    instance = _launch(request, _playwright)
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture(scope=_browser_scope)
def gpc_browser(request: pytest.FixtureRequest, _playwright: Playwright) -> Iterator[Browser]:
    """A Chromium with Global Privacy Control switched on (launched only when a flow asks for it)."""
    instance = _launch(request, _playwright, GPC_ARGS)
    try:
        yield instance
    finally:
        instance.close()


@dataclass
class _TracedContext:
    """A context opened for a test, traced so a failure can be replayed in ``playwright show-trace``."""

    context: BrowserContext
    label: str
    saved: bool = False
    artifacts: list[Path] = field(default_factory=list)


def _demo_paths(config: pytest.Config) -> Any:
    from .shopper import DemoPaths

    defaults = DemoPaths()
    return DemoPaths(
        center=config.getoption("--prefkit-center-path") or defaults.center,
        listing=config.getoption("--prefkit-listing-path") or defaults.listing,
    )


@pytest.fixture
def new_shopper(
    request: pytest.FixtureRequest, browser: Browser, prefkit_server: PrefkitServer
) -> Iterator[ShopperFactory]:
    """Factory of fresh anonymous shoppers: ``new_shopper(locale="en", gpc=True)``; each its own context."""
    from .api import PrefkitApi
    from .shopper import Shopper

    traced: list[_TracedContext] = request.node.stash.setdefault(_CONTEXTS, [])
    shoppers: list[Shopper] = []
    default_locale: list[str] = []

    def make(
        locale: str | None = None, *, gpc: bool = False, extra_headers: dict[str, str] | None = None
    ) -> Shopper:
        if locale is None:
            if not default_locale:
                with PrefkitApi(prefkit_server.base_url) as anonymous:
                    default_locale.append(anonymous.registry()["default_locale"])
            locale = default_locale[0]
        headers = dict(extra_headers or {})
        if gpc:
            headers["Sec-GPC"] = "1"  # the browser sends it by itself; the API client needs it spelled out
        engine = request.getfixturevalue("gpc_browser") if gpc else browser
        context = engine.new_context(
            locale=locale, extra_http_headers=extra_headers or None, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.tracing.start(screenshots=True, snapshots=True, title=request.node.nodeid)
        traced.append(_TracedContext(context=context, label=f"shopper{len(traced) + 1}"))
        page = context.new_page()
        api = PrefkitApi(
            prefkit_server.base_url, context, headers=headers, admin_key=prefkit_server.admin_key
        )
        shopper = Shopper(
            context=context,
            page=page,
            server=prefkit_server,
            api=api,
            locale=locale,
            paths=_demo_paths(request.config),
            gpc=gpc,
        )
        shoppers.append(shopper)
        return shopper

    yield make
    for shopper in shoppers:
        shopper.api.close()
    for item in traced:
        if not item.saved:
            item.context.tracing.stop()
        item.context.close()


@pytest.fixture
def shopper(new_shopper: ShopperFactory) -> Shopper:
    """A fresh anonymous shopper (new browser context, one page) in the registry's default locale."""
    return new_shopper()


@pytest.fixture
def logged_in_shopper(new_shopper: ShopperFactory, prefkit_server: PrefkitServer) -> Shopper:
    """A shopper logged in as a new customer (token signed with the shop secret, ``/session/login``)."""
    if not prefkit_server.shop_secret:
        pytest.skip("the shop secret is unknown (pass --prefkit-shop-secret for an external server)")
    customer = new_shopper()
    customer.login(f"qa-{uuid.uuid4().hex[:12]}")
    return customer


@pytest.fixture
def api_client(shopper: Shopper) -> Any:
    """``/api/v1`` client acting as the same subject as ``shopper`` (shares its context's cookies)."""
    return shopper.api


@pytest.fixture
def prefkit_registry(shopper: Shopper) -> RegistryInfo:
    """The live registry in the shopper's locale, as ``GET /api/v1/registry`` describes it."""
    return shopper.registry()


@pytest.fixture
def prefkit_preference(prefkit_preference_key: str, prefkit_registry: RegistryInfo) -> PreferenceInfo:
    """One declared preference type (the test runs once per type of the registry under test)."""
    return prefkit_registry.get(prefkit_preference_key)


@pytest.fixture
def preference_center(shopper: Shopper) -> PreferenceCenterPage:
    """The preference center page of ``shopper`` (call ``.open()``)."""
    return shopper.center()


@pytest.fixture
def consent_banner(shopper: Shopper) -> ConsentBanner:
    """The consent banner in ``shopper``'s first tab."""
    return shopper.banner()


@pytest.fixture
def demo_listing(shopper: Shopper) -> DemoListingPage:
    """The demo product listing of ``shopper`` (call ``.open()``)."""
    return shopper.listing()


@pytest.fixture
def registry_editor(prefkit_server: PrefkitServer) -> Iterator[RegistryEditor]:
    """Edits the self-started server's registry file and waits until the server serves the result.

    Restores the original file at the end and waits until its version is live again. Skips when the
    server was not started by the plugin (a shared deployment's registry is not ours to edit).
    """
    from .editor import RegistryEditor

    if not (prefkit_server.registry_writable and prefkit_server.registry_path):
        pytest.skip("the registry file can only be edited when the plugin started the server itself")
    editor = RegistryEditor(prefkit_server)
    try:
        yield editor
    finally:
        editor.restore()


# --- artifacts on failure --------------------------------------------------------------------------------


def _safe_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150]


def _save_artifacts(item: pytest.Item, when: str) -> list[Path]:
    traced = item.stash.get(_CONTEXTS, [])
    if not traced:
        return []
    target = _artifacts_dir(item.config) / _safe_name(item.nodeid)
    target.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    for entry in traced:
        if entry.saved:
            continue
        for index, page in enumerate(entry.context.pages, start=1):
            if page.is_closed():
                continue
            shot = target / f"{entry.label}-tab{index}.png"
            try:
                page.screenshot(path=str(shot), full_page=True)
                saved.append(shot)
            except Exception as exc:  # noqa: BLE001 - a broken page must not hide the test's own failure
                (target / f"{entry.label}-tab{index}.screenshot-error.txt").write_text(repr(exc))
        trace = target / f"{entry.label}-trace.zip"
        try:
            entry.context.tracing.stop(path=str(trace))
            saved.append(trace)
        except Exception as exc:  # noqa: BLE001
            (target / f"{entry.label}-trace-error.txt").write_text(repr(exc))
        entry.saved = True
    return saved


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failing setup/call: screenshot every open tab, save each context's trace, show the server log."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.failed or report.when not in ("setup", "call"):
        return
    saved = _save_artifacts(item, report.when)
    if saved:
        report.sections.append(("prefkit artifacts", "\n".join(str(path) for path in saved)))
    server = item.config.stash.get(_SERVER, None)
    if server is not None and server.log_path is not None:
        report.sections.append(
            (f"prefkit server log (tail of {server.log_path})", log_tail(server.log_path, 40))
        )
