"""The studio's pages and actions under ``/studio`` (Jinja2 pages, autoescaped; one external script).

Every route but the login form and the static files needs a live studio session (:mod:`.auth`): a page
without one answers ``303`` to the login form, anything else a ``401`` problem. Every state-changing route
also checks the session's CSRF token (a form's hidden ``csrf`` field or the ``X-Studio-CSRF`` header).
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import anyio.to_thread
import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect
from markupsafe import Markup

from preference_registry import KINDS, RegistryLoadError, RegistrySnapshot, load_registry
from preference_registry.loader import detect_format

from ..api.context import service_of, settings_of
from ..api.problems import FieldError, ProblemError
from ..insights.api import INDEX_STATE_KEY, TimeQuery, csv_response, read_answer
from ..insights.charts import CHART_CSS, insights_body
from ..limits import client_address
from ..storage.registry_versions import registry_sources
from ..storage.studio import decisions_by_wording, set_version_source
from .auth import COOKIE, CSRF_HEADER, LOGIN_COOKIE, StudioSession, StudioSessions, cookie_of, studio_cookie
from .auth import label_for_key
from .draft import Draft, DraftEditError, Validation
from .i18n import LOCALES, field_label, issue_message, studio_text
from .impact import Impact, diff_snapshots, keys_to_count
from .schema_forms import document_form, kind_form

__all__ = ["STUDIO_PREFIX", "create_studio_router"]

STUDIO_PREFIX = "/studio"
_HERE = Path(__file__).parent
_STATIC = {name: (_HERE / "static" / name).read_bytes() for name in ("studio.js", "studio.css")}
_STATIC["studio.css"] += b"\n/* The insights' charts (bff/insights/charts.py) */\n" + CHART_CSS.encode()
_MEDIA = {".js": "text/javascript", ".css": "text/css"}
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-src 'self'; frame-ancestors 'self'")
_NO_STORE = {"Cache-Control": "no-store", "Content-Security-Policy": PAGE_CSP, "X-Frame-Options": "SAMEORIGIN"}
_MAX_RAW_BYTES = 2 * 1024 * 1024
_THEMES = ("default", "dark", "high-contrast")


class _FieldEdit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    path: str
    control: str
    value: str | bool | None = None


class _RawEdit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    text: str
    format: str | None = None


def create_studio_router(sessions: StudioSessions, keys: dict[str, str] | None) -> Router:
    """The studio's routes; ``keys`` (``label -> admin key``) default to ``{"admin": PREFKIT_ADMIN_KEY}``."""
    env = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(kinds=list(KINDS), field_label=field_label, issue_message=issue_message, kind_form=kind_form,
                       document_form=document_form, locales_of_studio=LOCALES, themes=_THEMES,
                       prefix=STUDIO_PREFIX)

    def keys_of(request: Request[Any, Any, Any]) -> dict[str, str]:
        if keys:
            return keys
        admin = settings_of(request).admin_key
        return {"admin": admin} if admin else {}

    def secure(request: Any) -> bool:
        return request.app.state.prefkit_identity.secure(request.url.scheme if hasattr(request, "url")
                                                         else request.scope.get("scheme"))

    def locale_of(request: Request[Any, Any, Any], session: StudioSession | None) -> str:
        wanted = request.query_params.get("lang")
        if wanted in LOCALES:
            if session is not None:
                session.locale = wanted
            return wanted
        chosen = session.locale if session is not None else None
        if chosen in LOCALES:
            return chosen
        header = request.headers.get("accept-language", "")
        return "pl" if header.lower().startswith("pl") else "en"

    def page(template: str, request: Request[Any, Any, Any], session: StudioSession | None, status: int = 200,
             cookies: list[Any] | None = None, headers: dict[str, str] | None = None,
             **values: Any) -> Response[str]:
        locale = locale_of(request, session)
        body = env.get_template(template).render(t=studio_text(locale), locale=locale, session=session,
                                                 path=request.url.path, **values)
        return Response(body, status_code=status, media_type=MediaType.HTML, cookies=cookies,
                        headers={**_NO_STORE, **(headers or {})})

    def session_of(request: Request[Any, Any, Any]) -> StudioSession | None:
        return sessions.resolve(cookie_of(request.cookies, COOKIE, secure=secure(request)))

    def need_session(request: Request[Any, Any, Any]) -> StudioSession:
        session = session_of(request)
        if session is None:
            raise ProblemError(401, "studio-session", "a studio session is required: sign in at "
                               f"{STUDIO_PREFIX}/login", title="Studio session required")
        return session

    def need_csrf(request: Request[Any, Any, Any], session: StudioSession, form: dict[str, Any] | None) -> None:
        presented = request.headers.get(CSRF_HEADER) or (form or {}).get("csrf")
        if not session.csrf_ok(presented if isinstance(presented, str) else None):
            raise ProblemError(403, "studio-csrf", "the studio's CSRF token is missing or wrong",
                               title="CSRF token required")

    def draft_of(request: Request[Any, Any, Any], session: StudioSession) -> Draft:
        draft = session.drafts.get("main")
        if draft is None:
            current = service_of(request).registry.current
            draft = Draft(current.source_text, current.format, current.version)
            session.drafts["main"] = draft
        return draft

    def to_login(request: Request[Any, Any, Any]) -> Response[Any]:
        return Redirect(f"{STUDIO_PREFIX}/login", status_code=303, headers=_NO_STORE)

    def localized(issue: Any, locale: str) -> dict[str, Any]:
        return {**msgspec.to_builtins(issue), "shown": issue_message(issue.message, locale)}

    def validation_json(validation: Validation, draft: Draft, locale: str, *, text: bool = True
                        ) -> dict[str, Any]:
        # A field edit's answer leaves the text out: the forms do not need it, and for 200 types it is
        # ~100 KB per keystroke.
        return {
            "ok": validation.ok,
            "version": validation.snapshot.version if validation.snapshot else None,
            "errors": [localized(issue, locale) for issue in validation.errors],
            "warnings": [localized(issue, locale) for issue in validation.warnings],
            "format": draft.format,
            **({"text": draft.text} if text else {}),
        }

    # -- public: login form and assets --------------------------------------------------------
    @get("/login", include_in_schema=False, name="studio-login")
    async def login_form(request: Request[Any, Any, Any]) -> Response[str]:
        nonce, token = sessions.login_nonce()
        cookie = studio_cookie(LOGIN_COOKIE, nonce, secure=secure(request), max_age=900)
        return page("login.html", request, None, cookies=[cookie], token=token, error=None,
                    disabled=not keys_of(request))

    @post("/login", include_in_schema=False, status_code=303)
    async def login(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await request.form()
        nonce = cookie_of(request.cookies, LOGIN_COOKIE, secure=secure(request))
        t = studio_text(locale_of(request, None))
        new_nonce, new_token = sessions.login_nonce()
        again = [studio_cookie(LOGIN_COOKIE, new_nonce, secure=secure(request), max_age=900)]
        known = keys_of(request)
        if not known:
            return page("login.html", request, None, 403, again, None, token=new_token, error=t("disabled"),
                        disabled=True)
        if not sessions.login_token_ok(nonce, form.get("token")):
            return page("login.html", request, None, 403, again, None, token=new_token, error=t("expired_form"),
                        disabled=False)
        presented = form.get("key")
        presented = presented if isinstance(presented, str) else ""
        # The kit's key-failure throttle (per client, as for X-Admin-Key): once exhausted, right and wrong
        # keys alike get 429 until the window ends.
        throttle = request.app.state.prefkit_key_throttle
        client = client_address(request.scope)
        wait = throttle.retry_after("studio", client)
        if wait is not None:
            return page("login.html", request, None, 429, again, {"Retry-After": str(wait)},
                        token=new_token, error=t("throttled", s=wait), disabled=False)
        label = label_for_key(presented, known)
        if label is None:
            throttle.failed("studio", client)
            return page("login.html", request, None, 401, again, None, token=new_token, error=t("wrong_key"),
                        disabled=False)
        session, value = sessions.create(label)
        session.locale = locale_of(request, None)
        return Redirect(f"{STUDIO_PREFIX}/", status_code=303, headers=_NO_STORE, cookies=[
            studio_cookie(COOKIE, value, secure=secure(request), max_age=int(sessions.ttl_s)),
            studio_cookie(LOGIN_COOKIE, "", secure=secure(request), max_age=0),
        ])

    @get("/static/{name:str}", include_in_schema=False)
    async def static(name: FromPath[str]) -> Response[bytes]:
        body = _STATIC.get(name)
        if body is None:
            raise NotFoundException(f"no studio file {name!r}")
        return Response(body, media_type=_MEDIA[Path(name).suffix], headers={"Cache-Control": "no-cache"})

    # -- session pages ------------------------------------------------------------------------
    @post("/logout", include_in_schema=False, status_code=303)
    async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
        session = need_session(request)
        need_csrf(request, session, dict(await request.form()))
        sessions.end(session.sid)
        return Redirect(f"{STUDIO_PREFIX}/login", status_code=303, headers=_NO_STORE,
                        cookies=[studio_cookie(COOKIE, "", secure=secure(request), max_age=0)])

    @get("/", include_in_schema=False, name="studio-editor")
    async def editor(request: Request[Any, Any, Any]) -> Response[Any]:
        session = session_of(request)
        if session is None:
            return to_login(request)
        draft = draft_of(request, session)
        data = draft.data()
        shop = data.get("shop") if isinstance(data, dict) else None
        shop = shop if isinstance(shop, dict) else {}
        locales = shop.get("locales")
        locales = [x for x in locales if isinstance(x, str)][:20] if isinstance(locales, list) else ["pl", "en"]
        default_locale = shop.get("default_locale") if isinstance(shop.get("default_locale"), str) else "pl"
        return page("editor.html", request, session, draft=draft, data=data if isinstance(data, dict) else None,
                    tab="forms", validation=draft.validation, registry_path=service_of(request).registry.path,
                    form_locales=locales or ["pl"], default_locale=default_locale)

    @get("/raw", include_in_schema=False)
    async def raw(request: Request[Any, Any, Any]) -> Response[Any]:
        session = session_of(request)
        if session is None:
            return to_login(request)
        draft = draft_of(request, session)
        return page("editor.html", request, session, draft=draft, data=None, tab="raw",
                    validation=draft.validation, registry_path=service_of(request).registry.path)

    @get("/api/draft", include_in_schema=False)
    async def draft_state(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = need_session(request)
        draft = draft_of(request, session)
        return validation_json(draft.validation, draft, locale_of(request, session))

    @post("/api/field", include_in_schema=False, status_code=200)
    async def edit_field(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = need_session(request)
        need_csrf(request, session, None)
        edit = _decode(await request.body(), _FieldEdit)
        draft = draft_of(request, session)
        from .draft import to_value

        try:
            value = to_value(edit.control, edit.value)
            validation = await anyio.to_thread.run_sync(draft.set_field, edit.path, value)
        except DraftEditError as exc:
            raise ProblemError(422, "studio-edit", exc.message, errors=[
                FieldError(path=exc.path or edit.path[:300], message=exc.message)]) from None
        return validation_json(validation, draft, locale_of(request, session), text=False)

    @post("/api/raw", include_in_schema=False, status_code=200, request_max_body_size=_MAX_RAW_BYTES + 4096)
    async def edit_raw(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = need_session(request)
        need_csrf(request, session, None)
        edit = _decode(await request.body(), _RawEdit)
        if len(edit.text.encode()) > _MAX_RAW_BYTES:
            raise ProblemError(413, "studio-too-large", "the document is larger than 2 MiB")
        fmt = edit.format if edit.format in ("toml", "yaml", "json") else None
        draft = draft_of(request, session)
        validation = await anyio.to_thread.run_sync(draft.replace_text, edit.text, fmt)  # type: ignore[arg-type]
        return validation_json(validation, draft, locale_of(request, session))

    @post("/action", include_in_schema=False, status_code=303)
    async def action(request: Request[Any, Any, Any]) -> Response[Any]:
        session = need_session(request)
        form = dict(await request.form())
        need_csrf(request, session, form)
        draft = draft_of(request, session)
        op, target = str(form.get("op", "")), str(form.get("path", ""))
        anchor = target
        try:
            if op == "add":
                await anyio.to_thread.run_sync(lambda: draft.add_item(target, str(form.get("kind") or "") or None))
            elif op == "remove":
                await anyio.to_thread.run_sync(draft.remove_item, target)
                anchor = target.rsplit("[", 1)[0]
            elif op in ("up", "down"):
                await anyio.to_thread.run_sync(draft.move_item, target, -1 if op == "up" else 1)
            elif op == "discard":
                current = service_of(request).registry.current
                draft.replace_text(current.source_text, current.format)
                draft.base_version = current.version
            else:
                raise DraftEditError(target, f"unknown action {op[:40]!r}")
        except DraftEditError as exc:
            raise ProblemError(422, "studio-edit", exc.message, errors=[
                FieldError(path=exc.path or target[:300], message=exc.message)]) from None
        return Redirect(f"{STUDIO_PREFIX}/#{quote(anchor, safe='')}", status_code=303, headers=_NO_STORE)

    @get("/preview", include_in_schema=False)
    async def preview(request: Request[Any, Any, Any]) -> Response[Any]:
        session = session_of(request)
        if session is None:
            return to_login(request)
        draft = draft_of(request, session)
        snapshot = draft.last_good
        shown_locale = request.query_params.get("locale")
        theme = request.query_params.get("theme")
        locales = snapshot.locales if snapshot else []
        key = request.query_params.get("key")
        return page("preview.html", request, session, draft=draft, snapshot=snapshot,
                    key=key if snapshot is not None and key in snapshot else None,
                    shown_locale=shown_locale if shown_locale in locales else (locales[0] if locales else "pl"),
                    theme=theme if theme in _THEMES else (snapshot.shop.theme if snapshot else "default"),
                    frame=request.query_params.get("frame") == "1")

    async def impact_of(request: Request[Any, Any, Any], active: RegistrySnapshot,
                        draft_snapshot: RegistrySnapshot) -> Impact:
        service = service_of(request)
        keys = keys_to_count(active, draft_snapshot)

        def count() -> dict[str, dict[str, int]]:
            with service.database.read() as connection:
                return decisions_by_wording(connection, keys)

        return diff_snapshots(active, draft_snapshot, await anyio.to_thread.run_sync(count))

    @get("/impact", include_in_schema=False)
    async def impact(request: Request[Any, Any, Any]) -> Response[Any]:
        session = session_of(request)
        if session is None:
            return to_login(request)
        draft = draft_of(request, session)
        active = service_of(request).registry.current
        result = None
        if draft.validation.ok and draft.validation.snapshot is not None:
            result = await impact_of(request, active, draft.validation.snapshot)
        return page("impact.html", request, session, draft=draft, validation=draft.validation, impact=result,
                    active=active, message=request.query_params.get("done"),
                    registry_path=service_of(request).registry.path)

    async def activate(request: Request[Any, Any, Any], session: StudioSession, text: str, fmt: Any) -> str:
        """Validate, store and activate ``text``; rewrite the registry file (atomically) when there is one."""
        service = service_of(request)
        registry = service.registry
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        source = f"studio {session.label} {stamp}"
        path = registry.path
        if path is not None and detect_format(str(path)) != fmt:
            raise ProblemError(422, "studio-format", f"the registry file {path.name} is "
                               f"{detect_format(str(path))}; publish a document in that format")
        snapshot = await anyio.to_thread.run_sync(lambda: registry.validate(text, fmt, source))
        # Activation stores the version (a registry listener) before the file changes, so the stored row
        # says who published; the watcher then re-reads the same version and activates nothing.
        activated = await anyio.to_thread.run_sync(registry.activate, snapshot)

        def stamp_source() -> None:
            with service.database.write() as connection:
                set_version_source(connection, snapshot.version, source)

        await anyio.to_thread.run_sync(stamp_source)
        if path is not None:
            try:
                await anyio.to_thread.run_sync(_write_atomically, path, text)
            except OSError as exc:
                # Live in this process, but the file (the deployment's source of truth) still holds the old
                # text: its next change, or a restart, brings that back. Say so instead of pretending.
                raise ProblemError(503, "studio-file-write", f"version {snapshot.version} is active in this "
                                   f"process, but the registry file {path.name} could not be rewritten "
                                   f"({type(exc).__name__}: {exc.strerror or exc}); the file will win at "
                                   "its next change or restart", title="Registry file not written") from None
        _ = activated
        return snapshot.version

    @post("/publish", include_in_schema=False, status_code=303)
    async def publish(request: Request[Any, Any, Any]) -> Response[Any]:
        session = need_session(request)
        need_csrf(request, session, dict(await request.form()))
        draft = draft_of(request, session)
        if not draft.validation.ok:
            raise ProblemError(422, "studio-invalid", "the draft has errors; fix them before publishing",
                               errors=[FieldError(path=i.path, message=i.message, expected=i.expected, got=i.got)
                                       for i in draft.validation.errors[:20]])
        version = await activate(request, session, draft.text, draft.format)
        draft.base_version = version
        return Redirect(f"{STUDIO_PREFIX}/history?published={version}", status_code=303, headers=_NO_STORE)

    @get("/history", include_in_schema=False)
    async def history(request: Request[Any, Any, Any]) -> Response[Any]:
        session = session_of(request)
        if session is None:
            return to_login(request)
        service = service_of(request)
        versions = await anyio.to_thread.run_sync(service.registry_versions)
        diff = None
        wanted = request.query_params.get("diff")
        if wanted:
            order = [v["version"] for v in versions]
            if wanted in order:
                diff = await _version_diff(service, wanted, order)
        return page("history.html", request, session, versions=versions, active=service.registry.current.version,
                    diff=diff, diff_version=wanted, published=request.query_params.get("published"))

    @post("/rollback", include_in_schema=False, status_code=303)
    async def rollback(request: Request[Any, Any, Any]) -> Response[Any]:
        session = need_session(request)
        form = dict(await request.form())
        need_csrf(request, session, form)
        version = str(form.get("version", ""))[:64]
        service = service_of(request)

        def source_of() -> tuple[str, str] | None:
            with service.database.read() as connection:
                return registry_sources(connection, {version}).get(version)

        stored = await anyio.to_thread.run_sync(source_of)
        if stored is None:
            raise ProblemError(404, "studio-version", f"no stored registry version {version!r}")
        text, fmt = stored
        new_version = await activate(request, session, text, fmt)
        draft = draft_of(request, session)
        draft.replace_text(text, fmt)  # type: ignore[arg-type]
        draft.base_version = new_version
        return Redirect(f"{STUDIO_PREFIX}/history?published={new_version}", status_code=303, headers=_NO_STORE)

    # -- insights: the admin report's charts and CSV, with a studio session instead of the admin key -----
    @get("/insights", include_in_schema=False)
    async def insights(request: Request[Any, Any, Any], since: TimeQuery = None,
                       until: TimeQuery = None) -> Response[Any]:
        session = session_of(request)
        if session is None:
            return to_login(request)
        locale = locale_of(request, session)
        body = None
        if INDEX_STATE_KEY in request.app.state:  # the app may run without the InsightsPlugin
            answer = await read_answer(request, since, until)
            body = Markup(insights_body(answer.insights, answer.experiments, locale))  # the renderer escapes
        window = {name: value for name, value in (("since", since), ("until", until)) if value}
        return page("insights.html", request, session, 200 if body is not None else 404, charts=body,
                    csv_href=f"{STUDIO_PREFIX}/insights.csv" + (f"?{urlencode(window)}" if window else ""))

    @get("/insights.csv", include_in_schema=False)
    async def insights_csv(request: Request[Any, Any, Any], since: TimeQuery = None,
                           until: TimeQuery = None) -> Response[Any]:
        if session_of(request) is None:
            return to_login(request)
        if INDEX_STATE_KEY not in request.app.state:
            raise NotFoundException("insights are not enabled in this app")
        return csv_response(await read_answer(request, since, until), headers=_NO_STORE)

    return Router(path=STUDIO_PREFIX, route_handlers=[
        login_form, login, static, logout, editor, raw, draft_state, edit_field, edit_raw, action, preview,
        impact, publish, history, rollback, insights, insights_csv,
    ])


def _decode(body: bytes, type_: Any) -> Any:
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        raise ProblemError(422, "studio-edit", f"invalid edit: {exc}") from None
    except msgspec.DecodeError:
        raise ProblemError(400, "invalid-request", "the body is not JSON") from None


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and ``os.replace`` (readers,
    and the watcher, see the old file or the new one, never half of it)."""
    directory = path.parent
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.chmod(temporary, path.stat().st_mode & 0o777)
        except OSError:
            pass
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


async def _version_diff(service: Any, version: str, order: list[str]) -> Impact | None:
    """The diff of a stored ``version`` against the version activated before it."""
    index = order.index(version)
    previous = order[index + 1] if index + 1 < len(order) else None

    def load() -> Impact | None:
        with service.database.read() as connection:
            sources = registry_sources(connection, {version} | ({previous} if previous else set()))
        try:
            new = load_registry(*sources[version], source="stored")  # type: ignore[arg-type]
            old = load_registry(*sources[previous], source="stored") if previous else None  # type: ignore[arg-type]
        except (RegistryLoadError, KeyError):
            return None
        if old is None:
            old = new
        return diff_snapshots(old, new)

    return await anyio.to_thread.run_sync(load)

