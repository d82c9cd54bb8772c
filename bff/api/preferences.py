"""``/api/v1/preferences``, ``/api/v1/consents``, ``/api/v1/profile`` and ``/api/v1/session``: the
subject's own data. Every handler works on the caller's subject only; nothing takes a subject id from the
request except ``GET /profile`` with the server-to-server API key."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from ..effective import EffectiveValue
from ..identity import ANONYMOUS_PREFIX, identity_from_connection, is_subject_id, mark_personal
from ..profile import Profile
from ..service import PreferenceValidationError, UnknownPreferenceError
from .context import (
    check_key,
    gpc_of,
    identity_helper_of,
    identity_of,
    request_locale,
    service_of,
    sessions_of,
    settings_of,
)
from .openapi import preference_methods
from .problems import FieldError, ProblemError, ValueBodyError
from .views import (
    ChainStatus,
    HistoryResponse,
    LoginRequest,
    PreferencesResponse,
    SessionResponse,
    ValueBody,
)

__all__ = ["ConsentController", "PreferenceController", "ProfileController", "SessionController"]

_API_METHOD = "api"


def _response(request: Request[Any, Any, Any], effective: dict[str, EffectiveValue]) -> PreferencesResponse:
    return PreferencesResponse(
        registry_version=service_of(request).registry.current.version,
        gpc=gpc_of(request),
        subject_kind=identity_of(request).kind,
        preferences=effective,
    )


def _known(request: Request[Any, Any, Any], key: str) -> None:
    if key not in service_of(request).registry.current:
        raise UnknownPreferenceError(key)


class PreferenceController(Controller):
    """The current subject's preferences."""

    path = "/preferences"
    tags = ["preferences"]

    @get("/", summary="Every preference with its effective value and source")
    async def list_preferences(self, request: Request[Any, Any, Any]) -> PreferencesResponse:
        # The hot read: every lookup once, and the version reported is the one the values were resolved under.
        identity, service, gpc = identity_of(request), service_of(request), gpc_of(request)
        snapshot = service.registry.current
        return PreferencesResponse(
            registry_version=snapshot.version,
            gpc=gpc,
            subject_kind=identity.kind,
            preferences=await service.effective(identity.subject, gpc=gpc, snapshot=snapshot),
        )

    @patch("/", summary="Set several preferences at once (keys not submitted never change)")
    async def patch_preferences(
        self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
    ) -> PreferencesResponse:
        identity = identity_of(request)
        if not data:
            raise ProblemError(
                422,
                "validation",
                "the body names no preference to change",
                errors=[
                    FieldError(
                        path="body", message="empty object", expected="an object of key -> value", got="{}"
                    )
                ],
            )
        effective = await service_of(request).set_values(
            identity.subject, data, method=_API_METHOD, gpc=gpc_of(request)
        )
        return _response(request, effective)

    @get("/{key:str}", summary="One preference")
    async def get_preference(self, request: Request[Any, Any, Any], key: FromPath[str]) -> EffectiveValue:
        identity = identity_of(request)
        return await service_of(request).get(identity.subject, key, gpc=gpc_of(request))

    @put("/{key:str}", summary="Set one preference", status_code=200)
    async def put_preference(
        self, request: Request[Any, Any, Any], key: FromPath[str], data: JSONBody[ValueBody]
    ) -> EffectiveValue:
        identity = identity_of(request)
        _known(request, key)
        try:
            effective = await service_of(request).set_values(
                identity.subject, {key: data.value}, method=_API_METHOD, gpc=gpc_of(request)
            )
        except PreferenceValidationError as exc:
            raise ValueBodyError.wrapping(exc) from None
        return effective[key]

    @delete("/{key:str}", summary="Back to the default (for a consent: withdraw it)", status_code=200)
    async def delete_preference(self, request: Request[Any, Any, Any], key: FromPath[str]) -> EffectiveValue:
        identity = identity_of(request)
        _known(request, key)
        allowed = preference_methods(service_of(request).registry.current, key)
        if "DELETE" not in allowed:  # notice-only: nothing to withdraw (the OpenAPI offers no DELETE here)
            raise ProblemError(
                405,
                "not-withdrawable",
                f"{key!r} is notice-only processing (strictly necessary): it cannot be withdrawn",
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        try:
            effective = await service_of(request).reset(
                identity.subject, key, method=_API_METHOD, gpc=gpc_of(request)
            )
        except PreferenceValidationError as exc:
            raise ValueBodyError.wrapping(exc) from None
        return effective[key]


class ConsentController(Controller):
    """Consent helpers of equal standing, and the subject's own ledger."""

    path = "/consents"
    tags = ["consents"]

    @post("/accept-all", summary="Grant every switchable consent", status_code=200)
    async def accept_all(self, request: Request[Any, Any, Any]) -> PreferencesResponse:
        identity = identity_of(request)
        return _response(request, await service_of(request).accept_all(identity.subject, gpc=gpc_of(request)))

    @post("/reject-all", summary="Refuse every switchable consent", status_code=200)
    async def reject_all(self, request: Request[Any, Any, Any]) -> PreferencesResponse:
        identity = identity_of(request)
        return _response(request, await service_of(request).reject_all(identity.subject, gpc=gpc_of(request)))

    @get("/history", summary="The subject's ledger, newest first, with the wording shown")
    async def history(
        self, request: Request[Any, Any, Any], locale: FromQuery[str | None] = None
    ) -> HistoryResponse:
        identity = identity_of(request)
        service = service_of(request)
        events = await service.history(identity.subject, locale=request_locale(request, locale))
        broken = await service.verify(identity.subject)
        chain = (
            ChainStatus(valid=True)
            if broken is None
            else ChainStatus(valid=False, broken_at_seq=broken.seq, reason=broken.reason)
        )
        return HistoryResponse(events=events, chain=chain)


class ProfileController(Controller):
    """What downstream search and recommendation may use."""

    path = "/profile"
    tags = ["profile"]

    @get("/", summary="Personalization profile of the current subject, or of ?subject= with X-API-Key")
    async def profile(
        self, request: Request[Any, Any, Any], subject: FromQuery[str | None] = None
    ) -> Profile:
        api_key = request.headers.get("x-api-key")
        if api_key is not None or subject is not None:
            if not check_key(request, "X-API-Key", settings_of(request).api_key):
                raise ProblemError(
                    401,
                    "api-key",
                    "reading another subject's profile needs a valid X-API-Key",
                    title="API key required",
                )
            if not subject:
                raise ProblemError(
                    400,
                    "invalid-request",
                    "server-to-server access needs ?subject=<subject id>",
                    errors=[FieldError(path="subject", message="missing", expected="a subject id")],
                )
            if not is_subject_id(subject):
                # Full match: a NUL, a newline or an over-long id never reaches the database.
                raise ProblemError(
                    400,
                    "invalid-request",
                    "?subject= is not a subject id",
                    errors=[
                        FieldError(
                            path="subject",
                            message="not a subject id",
                            expected="anon:<32 hex digits> or cust:<1..128 printable ASCII characters>",
                            got=repr(subject[:80]),
                        )
                    ],
                )
            mark_personal(request)
            return await service_of(request).profile(subject, gpc=gpc_of(request))
        identity = identity_of(request)
        return await service_of(request).profile(identity.subject, gpc=gpc_of(request))


class SessionController(Controller):
    """Logging a known customer in (and out) of the subject cookie."""

    path = "/session"
    tags = ["session"]

    @post(
        "/login",
        summary="Exchange a customer token for the customer cookie; merges the anonymous choices",
        status_code=200,
    )
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginRequest]
    ) -> Response[SessionResponse]:
        from ..identity import InvalidCustomerToken

        helper = identity_helper_of(request)
        try:
            customer = helper.customer_subject(data.token)
        except InvalidCustomerToken as exc:
            raise ProblemError(
                401, "invalid-token", f"customer token refused: {exc}", title="Invalid customer token"
            ) from None
        current = identity_from_connection(request)
        merged: list[str] = []
        if current.subject.startswith(ANONYMOUS_PREFIX) and current.via == "cookie":
            merged = await service_of(request).merge(current.subject, customer)
        return _with_cookie(request, customer, SessionResponse(subject_kind="customer", merged_keys=merged))

    @post("/logout", summary="Forget the customer: a fresh anonymous subject", status_code=200)
    async def logout(self, request: Request[Any, Any, Any]) -> Response[SessionResponse]:
        helper = identity_helper_of(request)
        cookie = identity_from_connection(request).cookie
        if cookie is not None and cookie.session is not None:
            # Stored, not just forgotten by this browser: a replayed copy of the cookie is refused too.
            await sessions_of(request).revoke(cookie.session, cookie.expires_at)
        return _with_cookie(
            request, helper.new_anonymous_subject(), SessionResponse(subject_kind="anonymous")
        )


def _with_cookie(
    request: Request[Any, Any, Any], subject: str, body: SessionResponse
) -> Response[SessionResponse]:
    helper = identity_helper_of(request)
    header = helper.set_cookie_header(subject, secure=helper.secure(request.scope.get("scheme"))).decode()
    return Response(body, headers={"set-cookie": header})
