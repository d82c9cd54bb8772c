"""``/api/v1/me``: the caller's GDPR rights over HTTP (see ``bff/rights.py`` for what they do).

* ``GET /api/v1/me/export`` — everything stored about the caller as a JSON attachment, with consent
  receipts (texts in ``?locale=`` / Accept-Language).
* ``DELETE /api/v1/me`` — erase the caller; answers with the erasure receipt and clears the subject cookie.
  A state-changing request like any other: cookie-authenticated callers pass the CSRF check
  (``bff/api/security.py``) and the write rate limit.

Both act on the caller's own subject only; neither takes a subject id from the request.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get
from litestar.params import FromQuery

from ..rights import SubjectRights
from ..rights_documents import ErasureReceipt, SubjectExport
from .context import gpc_of, identity_helper_of, identity_of, request_locale, service_of

__all__ = ["ME_PATH", "RightsController", "cleared_cookie"]

ME_PATH = "/api/v1/me"


def cleared_cookie(request: Request[Any, Any, Any]) -> str:
    """``Set-Cookie`` deleting the subject cookie under the name and attributes it was set with."""
    helper = identity_helper_of(request)
    return helper.clear_cookie_header(secure=helper.secure(request.scope.get("scheme")))


class RightsController(Controller):
    """The caller's right of access/portability and right to erasure."""

    path = ME_PATH
    tags = ["subject rights"]

    @get("/export", summary="Everything stored about you (JSON attachment with consent receipts)")
    async def export(
        self, request: Request[Any, Any, Any], locale: FromQuery[str | None] = None
    ) -> Response[SubjectExport]:
        identity = identity_of(request)
        service = service_of(request)
        chosen = request_locale(request, locale)
        document = await SubjectRights(service).export(identity.subject, locale=chosen, gpc=gpc_of(request))
        filename = f"prefkit-export-{document.exported_at.strftime('%Y%m%dT%H%M%SZ')}.json"
        return Response(
            document,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )

    @delete(
        "/",
        summary="Erase everything stored about you; returns an erasure receipt and clears the cookie",
        status_code=200,
    )
    async def erase(self, request: Request[Any, Any, Any]) -> Response[ErasureReceipt]:
        identity = identity_of(request)
        receipt = await SubjectRights(service_of(request)).erase(identity.subject)
        return Response(
            receipt, headers={"Set-Cookie": cleared_cookie(request), "Cache-Control": "no-store"}
        )
