"""RFC 9457 problem details: every error the BFF returns is ``application/problem+json``.

A problem has ``type`` (a ``urn:prefkit:problem:<slug>`` URI), ``title``, ``status``, ``detail``,
``instance`` (the request path) and, for validation problems, ``errors``: one entry per problem with
``path`` (where in the request), ``message``, ``expected`` and ``got``.

An error document never amplifies the request that caused it: at most :data:`MAX_ERRORS` errors are
listed (``errors_omitted`` counts the rest), every text taken from the request is clipped to
:data:`MAX_ECHO_CHARACTERS`, and an unknown preference key gets at most one "did you mean" suggestion;
the valid keys are linked once (``registry``), never repeated per error.
"""

from __future__ import annotations

import difflib
import logging
from typing import Any, Final

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy import exc as sa_exc

from preference_registry import RegistryLoadError

from ..service import PreferenceValidationError, UnknownPreferenceError

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "MAX_ECHO_CHARACTERS",
    "MAX_ERRORS",
    "REGISTRY_PATH",
    "FieldError",
    "Problem",
    "ProblemError",
    "ValueBodyError",
    "exception_handlers",
    "problem_response",
]

logger = logging.getLogger("prefkit.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"

MAX_ERRORS: Final[int] = 20
"""Most errors listed in one problem document (registry documents: :data:`MAX_REGISTRY_ERRORS`)."""
MAX_REGISTRY_ERRORS: Final[int] = 200
"""An admin fixing a registry wants every mistake at once (issue 11, item 4); still a bounded answer."""
MAX_ECHO_CHARACTERS: Final[int] = 200
"""Longest text of an error field (a key or value from the request is clipped beyond this)."""
REGISTRY_PATH: Final[str] = "/api/v1/registry"
"""Where the valid preference keys are listed (linked from problems about unknown keys)."""
_KEYS_IN_DETAIL: Final[int] = 5
_SUGGEST_MAX_KEY: Final[int] = 64  # registry keys are at most 64 characters: nothing longer is a typo of one

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class FieldError(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One validation problem."""

    path: str
    """Where in the request: ``value``, ``value[1]``, ``eco_only``, ``preferences[2].max``, ``body``..."""
    message: str
    """What is wrong."""
    expected: str | None = None
    """What would be accepted."""
    got: str | None = None
    """What was sent."""


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem details object."""

    type: str
    """URI identifying the problem type (``urn:prefkit:problem:...``)."""
    title: str
    """Short, human-readable summary of the problem type."""
    status: int
    """HTTP status code."""
    detail: str | None = None
    """Explanation specific to this occurrence."""
    instance: str | None = None
    """The request path."""
    errors: list[FieldError] | None = None
    """The validation problems, when there are any (the first :data:`MAX_ERRORS`)."""
    errors_omitted: int | None = None
    """How many more problems there were beyond those listed."""
    registry: str | None = None
    """Where the valid preference keys are listed, when a key was unknown."""


class ProblemError(HTTPException):
    """Raise to answer with a specific problem type."""

    def __init__(
        self,
        status_code: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, status_code=status_code, headers=headers)
        self.slug = slug
        self.title = title
        self.errors = errors


def problem_response(
    request: Request[Any, Any, Any] | None,
    status: int,
    slug: str,
    detail: str | None,
    *,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    max_errors: int = MAX_ERRORS,
    registry: str | None = None,
) -> Response[bytes]:
    listed = None if errors is None else [_clipped(error) for error in errors[:max_errors]]
    omitted = len(errors) - max_errors if errors is not None and len(errors) > max_errors else None
    problem = Problem(
        type=f"urn:prefkit:problem:{slug}",
        title=title or _TITLES.get(status, "Error"),
        status=status,
        detail=None if detail is None else _clip(detail, 4 * MAX_ECHO_CHARACTERS),
        instance=request.url.path if request is not None else None,
        errors=listed,
        errors_omitted=omitted,
        registry=registry,
    )
    return Response(
        msgspec.json.encode(problem), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _clip(text: str, limit: int = MAX_ECHO_CHARACTERS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _clipped(error: FieldError) -> FieldError:
    texts = (error.path, error.message, error.expected, error.got)
    if all(text is None or len(text) <= MAX_ECHO_CHARACTERS for text in texts):
        return error
    return FieldError(
        path=_clip(error.path),
        message=_clip(error.message),
        expected=None if error.expected is None else _clip(error.expected),
        got=None if error.got is None else _clip(error.got),
    )


def _slug_for(status: int) -> str:
    return {
        400: "bad-request",
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        413: "body-too-large",
        415: "unsupported-media-type",
        429: "rate-limited",
        503: "unavailable",
    }.get(status, "http-error")


def _litestar_validation_errors(extra: Any) -> list[FieldError]:
    errors = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            path = item.get("key") or item.get("source") or "body"
            errors.append(FieldError(path=str(path), message=str(item.get("message", "invalid"))))
    return errors


def _on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    headers = dict(exc.headers or {})
    if isinstance(exc, ProblemError):
        return problem_response(
            request,
            exc.status_code,
            exc.slug,
            exc.detail,
            title=exc.title,
            errors=exc.errors,
            headers=headers,
        )
    if isinstance(exc, ValidationException):
        errors = _litestar_validation_errors(exc.extra) or [FieldError(path="body", message=exc.detail)]
        detail = exc.detail
        if "JSON is malformed" in detail or "decode" in detail.lower():
            detail = f"the request body is not valid JSON: {detail}"
        return problem_response(request, 400, "invalid-request", detail, errors=errors, headers=headers)
    status = exc.status_code
    if status == 429 and not any(name.lower() == "retry-after" for name in headers):
        # RFC 9110 Retry-After, which clients and proxies honour; the draft RateLimit-Reset says the same.
        reset = next((value for name, value in headers.items() if name.lower() == "ratelimit-reset"), None)
        headers["Retry-After"] = str(max(1, int(reset))) if reset and reset.lstrip("-").isdigit() else "60"
    errors = [FieldError(path="body", message=exc.detail)] if status == 400 else None
    return problem_response(request, status, _slug_for(status), exc.detail, errors=errors, headers=headers)


class ValueBodyError(PreferenceValidationError):
    """The problems of a one-value body (``PUT /preferences/<key>`` ``{"value": ...}``): their paths stand
    inside the body's ``value`` as they are (a ``PATCH`` body names the key instead: ``"k[2]"``). Raised by
    the handler that knows its body's shape, so the error handler needs no note on the side."""

    @classmethod
    def wrapping(cls, exc: PreferenceValidationError) -> ValueBodyError:
        return cls(exc.problems)


def _on_preference_validation(
    request: Request[Any, Any, Any], exc: PreferenceValidationError
) -> Response[bytes]:
    in_value_body = isinstance(exc, ValueBodyError)
    errors = []
    unknown: list[str] = []
    for problem in exc.problems:
        if problem.path == "key":
            unknown.append(problem.key)
            if len(errors) < MAX_ERRORS:  # suggestions only for the errors listed: each one costs a search
                errors.append(_unknown_key(request, problem.key, problem.message, problem.expected))
            else:
                errors.append(FieldError(path=problem.key, message=problem.message))
            continue
        if in_value_body:  # PUT {"value": ...}: the path is inside the body's "value"
            path = problem.path
        else:  # PATCH {"key": value}: "value[2]" of key k is "k[2]"
            path = problem.key + problem.path[len("value") :]
        errors.append(
            FieldError(path=path, message=problem.message, expected=problem.expected, got=problem.got)
        )
    named = ", ".join(_clip(key, 40) for key in unknown[:_KEYS_IN_DETAIL])
    more = f" and {len(unknown) - _KEYS_IN_DETAIL} more" if len(unknown) > _KEYS_IN_DETAIL else ""
    listing = f" (unknown key(s): {named}{more}; the valid keys are listed at GET {REGISTRY_PATH})"
    detail = f"{len(errors)} problem(s) with the submitted values; nothing was changed" + (
        listing if unknown else ""
    )
    return problem_response(
        request,
        422,
        "validation",
        detail,
        title="Invalid preference value",
        errors=errors,
        registry=REGISTRY_PATH if unknown else None,
    )


def _unknown_key(request: Request[Any, Any, Any], key: str, message: str, expected: str | None) -> FieldError:
    """One unknown key's error, with the one closest registry key when there is a close one."""
    suggestion = None
    if len(key) <= _SUGGEST_MAX_KEY:
        service = request.app.state.get("prefkit")
        keys = [pref.key for pref in service.registry.current.preferences] if service is not None else []
        suggestion = next(iter(difflib.get_close_matches(key, keys, n=1)), None)
    hint = f"; did you mean {suggestion!r}?" if suggestion else ""
    expected = f"{expected or 'a key of the registry'}{hint}"
    return FieldError(path=key, message=message, expected=expected, got=key)


def _on_unknown_preference(request: Request[Any, Any, Any], exc: UnknownPreferenceError) -> Response[bytes]:
    return problem_response(request, 404, "unknown-preference", str(exc), title="Unknown preference")


def _on_registry_error(request: Request[Any, Any, Any], exc: RegistryLoadError) -> Response[bytes]:
    errors = [
        FieldError(path=issue.path, message=issue.message, expected=issue.expected, got=issue.got)
        for issue in exc.errors
    ]
    return problem_response(
        request,
        422,
        "invalid-registry",
        f"the registry document has {len(errors)} error(s); the active registry is unchanged",
        title="Invalid registry document",
        errors=errors,
        max_errors=MAX_REGISTRY_ERRORS,
    )


def _on_database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    # Connection refused, server gone, file unopenable, lock wait exhausted, pool exhausted. Setting a value
    # is idempotent, so telling the client to retry is always safe.
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return problem_response(
        request,
        503,
        "database-unavailable",
        "the preference database is temporarily unavailable; please retry shortly "
        "(a change answered with this error was not acknowledged)",
        title="Service unavailable",
        headers={"Retry-After": "5"},
    )


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal",
        "an unexpected error occurred; it has been logged",
    )


exception_handlers: dict[Any, Any] = {
    HTTPException: _on_http_exception,
    PreferenceValidationError: _on_preference_validation,
    UnknownPreferenceError: _on_unknown_preference,
    RegistryLoadError: _on_registry_error,
    sa_exc.OperationalError: _on_database_unavailable,
    sa_exc.InterfaceError: _on_database_unavailable,
    sa_exc.TimeoutError: _on_database_unavailable,
    Exception: _on_unexpected,
}
"""Pass to ``Litestar(exception_handlers=...)``."""
