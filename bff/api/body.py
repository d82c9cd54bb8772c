"""Request bodies: the one place the BFF decodes JSON sent to it.

Litestar hands every JSON ``data`` parameter (dicts and msgspec Structs alike) the result of
``Request.json()``; :class:`StrictJsonRequest` (the app's ``request_class``) decodes it with
:func:`bff.strict_json.decode`, so every endpoint refuses invalid UTF-8, deep nesting, duplicate keys and
numbers that would not be stored as sent with the same 400 problem naming the place.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.types import Empty

from ..strict_json import InvalidJson, decode
from .problems import FieldError, ProblemError

__all__ = ["StrictJsonRequest"]


class StrictJsonRequest(Request[Any, Any, Any]):
    """A Litestar request whose JSON body is decoded strictly (see :mod:`bff.strict_json`)."""

    __slots__ = ()

    async def json(self) -> Any:
        if self._json is not Empty:
            return self._json
        cached = self._connection_state.json
        if cached is not Empty:
            self._json = cached
            return cached
        body = await self.body()
        try:
            value = decode(body or b"null")
        except InvalidJson as exc:
            raise ProblemError(
                400,
                "bad-request",
                f"the request body is not acceptable JSON: {exc.message}",
                title="Bad request",
                errors=[FieldError(path=exc.path, message=exc.message, expected=exc.expected, got=exc.got)],
            ) from None
        self._json = self._connection_state.json = value
        return value
