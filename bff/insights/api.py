"""HTTP faces of the insights:

* ``GET /api/v1/admin/insights?since=&until=`` (``X-Admin-Key``): the report and the experiment results, JSON;
* ``GET /api/v1/admin/insights.csv`` (``X-Admin-Key``): the same numbers as one flat CSV table;
* ``GET /api/v1/admin/insights/page`` (``X-Admin-Key``): the charts (server-side SVG, each with a title, a
  text alternative and a data table beside it); the studio's ``/studio/insights`` and ``/studio/insights.csv``
  show the same with a studio session (:func:`read_answer`, :func:`csv_response`);
* ``POST /api/v1/conversions`` (``X-API-Key``, the shop's backend): ``{"subject", "value", "occurred_at",
  "order_id", "currency"}``; linked to the shopper only when they allow the registry's conversion purpose.

No answer carries a subject id; every count is suppressed below k (see :mod:`.aggregates`).
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import datetime, timedelta
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from msgspec import Meta

from ..api.context import check_key, service_of, settings_of
from ..api.problems import FieldError, ProblemError
from ..api.system import require_admin
from ..identity import is_subject_id
from ..storage.conversions import insert_conversion
from ..storage.times import as_utc
from .aggregates import InsightsReport, build_report
from .charts import insights_page
from .index import LedgerIndex
from .results import ExperimentResult, experiment_results

__all__ = [
    "INDEX_STATE_KEY",
    "ConversionAccepted",
    "ConversionReport",
    "ConversionsController",
    "InsightsAnswer",
    "InsightsController",
    "csv_response",
    "csv_rows",
    "read_answer",
]

INDEX_STATE_KEY = "prefkit_insights_index"
"""``app.state`` key of this app's :class:`~bff.insights.index.LedgerIndex`."""
_MSGSPEC_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_MAX_ORDER_VALUE = 1e12
_FUTURE_SLACK = timedelta(days=1)  # clocks of the shop's backend and ours may disagree a little


class InsightsAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/v1/admin/insights``."""

    insights: InsightsReport
    experiments: list[ExperimentResult]


class ConversionReport(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An order the shop's backend reports."""

    subject: Annotated[str, Meta(min_length=1, max_length=200)]
    """The shopper's subject id (``anon:...`` / ``cust:...``), as ``GET /profile?subject=`` takes it."""
    value: Annotated[float, Meta(ge=0, le=_MAX_ORDER_VALUE)]
    """Order value in the shop's currency units."""
    occurred_at: Annotated[datetime, Meta(tz=True)] | None = None
    """When the order was placed (default: now); not in the future."""
    order_id: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")] | None = None
    """The shop's order reference: the same order reported again is not counted twice."""
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")] | None = None
    """ISO 4217 code."""


class ConversionAccepted(msgspec.Struct, frozen=True, kw_only=True):
    recorded: bool
    """``false``: this ``order_id`` was reported before (nothing changed)."""
    attributed: bool
    """Whether the order is linked to the shopper's cohort (they allow the conversion purpose)."""


_Aware = Annotated[datetime, Meta(tz=True)]
TimeQuery = Annotated[
    str | None,
    Parameter(
        max_length=64,
        schema_extra={"format": "date-time"},
        description="RFC 3339 time with an offset, e.g. 2026-12-01T00:00:00Z",
    ),
]
"""A time in the query. Parsed here, strictly (RFC 3339 with an offset): Litestar would also take a number of
seconds (``?until=0.5``), which the documented format does not allow."""


def _time(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return as_utc(msgspec.json.decode(msgspec.json.encode(text), type=_Aware))
    except msgspec.ValidationError:
        raise ProblemError(
            400,
            "invalid-request",
            f"`{name}` is not an RFC 3339 time with an offset",
            errors=[
                FieldError(
                    path=name, message="not a time", expected="e.g. 2026-12-01T00:00:00Z", got=text[:64]
                )
            ],
        ) from None


def _window(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    # An inverted or empty window is not an error: it holds nothing, and the answer says so.
    return _time("since", since), _time("until", until)


async def _answer(request: Request[Any, Any, Any], since: str | None, until: str | None) -> InsightsAnswer:
    require_admin(request)
    return await read_answer(request, since, until)


async def read_answer(
    request: Request[Any, Any, Any], since: str | None, until: str | None
) -> InsightsAnswer:
    """The report and the experiment results for ``since``/``until`` (RFC 3339 texts from the query). Checks
    no credential: the caller has (the admin key here, a studio session in the studio)."""
    start, end = _window(since, until)
    service = service_of(request)
    snapshot = service.registry.current
    now = service.clock()
    index: LedgerIndex = request.app.state[INDEX_STATE_KEY]

    def read() -> InsightsAnswer:
        with service.database.read() as connection:
            report = build_report(connection, snapshot, index, now=now, since=start, until=end)
            return InsightsAnswer(
                insights=report, experiments=experiment_results(connection, snapshot, index, now)
            )

    return await anyio.to_thread.run_sync(read)


def csv_rows(answer: InsightsAnswer) -> list[list[Any]]:
    """The answer as ``table, key, dimension, cell, value`` rows (suppressed cells are empty)."""
    rows: list[list[Any]] = [["table", "key", "dimension", "cell", "value"]]
    report = answer.insights

    def add(table: str, key: str, dimension: str, cell: str, value: Any) -> None:
        rows.append([table, key, dimension, cell, "" if value is None else value])

    for consent in report.consents:
        add("consent", consent.key, "all", "decisions", consent.decisions)
        for outcome in ("granted", "refused", "withdrawn"):
            add("consent", consent.key, "all", outcome, getattr(consent.outcomes, outcome))
        add("consent", consent.key, "all", "grant_rate", consent.grant_rate.rate)
        for row in consent.by_method:
            for outcome in ("granted", "refused", "withdrawn"):
                add("consent", consent.key, f"method={row.method}", outcome, getattr(row, outcome))
        for row in consent.by_day:
            for outcome in ("granted", "refused", "withdrawn"):
                add("consent", consent.key, f"day={row.day}", outcome, getattr(row, outcome))
        add("consent", consent.key, "reconsent", "granted", consent.reconsent.granted)
        add("consent", consent.key, "reconsent", "refused", consent.reconsent.refused)
    for choice in report.choices:
        add(choice.kind, choice.key, "all", "subjects", choice.subjects)
        for value in choice.values:
            add(choice.kind, choice.key, "value", msgspec.json.encode(value.value).decode(), value.subjects)
    engagement = report.engagement
    add("engagement", "", "all", "deciding", engagement.deciding)
    add("engagement", "", "all", "beyond_banner", engagement.beyond_banner.successes)
    add("engagement", "", "all", "beyond_banner_share", engagement.beyond_banner.rate)
    for row in engagement.return_days:
        add("engagement", "", "return_days", row.days, row.subjects)
    for dimension, cohorts in (
        ("preferences", report.conversions.by_preferences),
        ("level", report.conversions.by_level),
    ):
        for cohort in cohorts:
            add("conversion", cohort.cohort, dimension, "shoppers", cohort.shoppers)
            add("conversion", cohort.cohort, dimension, "converters", cohort.conversion.successes)
            add("conversion", cohort.cohort, dimension, "conversion_rate", cohort.conversion.rate)
            add("conversion", cohort.cohort, dimension, "orders", cohort.orders)
            add("conversion", cohort.cohort, dimension, "average_order_value", cohort.average_order_value)
    add("conversion", "unattributed", "all", "orders", report.conversions.unattributed.orders)
    add(
        "conversion",
        "unattributed",
        "all",
        "average_order_value",
        report.conversions.unattributed.average_order_value,
    )
    for result in answer.experiments:
        for arm in result.arms:
            add("experiment", result.key, f"variant={arm.variant}", "trials", arm.outcome.trials)
            add("experiment", result.key, f"variant={arm.variant}", "successes", arm.outcome.successes)
            add("experiment", result.key, f"variant={arm.variant}", "rate", arm.outcome.rate)
            add("experiment", result.key, f"variant={arm.variant}", "p_value", arm.p_value)
        add("experiment", result.key, "all", "sample_size_reached", str(result.sample_size_reached).lower())
    return rows


def _csv_safe(value: Any) -> Any:
    # A cell starting with =, +, - or @ is a formula to spreadsheet programs (CSV injection): registry keys and
    # days never start so, but a merchant-written option value might.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def csv_response(answer: InsightsAnswer, headers: dict[str, str] | None = None) -> Response[str]:
    """The answer as a CSV download (the admin route's and the studio's)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[_csv_safe(cell) for cell in row] for row in csv_rows(answer)])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="prefkit-insights.csv"', **(headers or {})},
    )


class InsightsController(Controller):
    """Needs ``X-Admin-Key`` = ``PREFKIT_ADMIN_KEY``."""

    path = "/api/v1/admin"
    tags = ["admin"]

    @get("/insights", summary="Aggregates (suppressed below k) and experiment results")
    async def insights(
        self, request: Request[Any, Any, Any], since: TimeQuery = None, until: TimeQuery = None
    ) -> InsightsAnswer:
        return await _answer(request, since, until)

    # The CSV and the chart page are for people (a spreadsheet, a browser), not part of the JSON API: not in the
    # OpenAPI document, like the demo pages.
    @get(
        "/insights.csv",
        summary="The insights as one CSV table",
        media_type="text/csv",
        include_in_schema=False,
    )
    async def insights_csv(
        self, request: Request[Any, Any, Any], since: TimeQuery = None, until: TimeQuery = None
    ) -> Response[str]:
        return csv_response(await _answer(request, since, until))

    @get(
        "/insights/page",
        summary="The insights as charts (SVG) with data tables",
        media_type="text/html",
        include_in_schema=False,
    )
    async def insights_html(
        self, request: Request[Any, Any, Any], since: TimeQuery = None, until: TimeQuery = None
    ) -> Response[str]:
        answer = await _answer(request, since, until)
        return Response(
            insights_page(answer.insights, answer.experiments), media_type="text/html; charset=utf-8"
        )


def _invalid(path: str, message: str, expected: str | None, got: str | None) -> ProblemError:
    return ProblemError(
        422,
        "validation",
        f"the conversion is not valid: {path}: {message}",
        title="Invalid conversion",
        errors=[FieldError(path=path, message=message, expected=expected, got=got)],
    )


def _parse(raw: Any) -> ConversionReport:
    try:
        report = msgspec.convert(raw, ConversionReport)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _MSGSPEC_PATH.search(text)
        path = match.group("path") if match else ""
        message = text[: match.start()] if match else text
        typed = re.match(r"Expected (?P<exp>.+?)(, got `(?P<got>[^`]+)`)?$", message)
        raise _invalid(
            path or "body",
            message[:1].lower() + message[1:],
            typed.group("exp").replace("`", "") if typed else None,
            typed.group("got") if typed and typed.group("got") else None,
        ) from None
    if not math.isfinite(report.value):
        raise _invalid("value", "not a finite number", "a number from 0", repr(report.value))
    if not is_subject_id(report.subject):
        raise _invalid("subject", "not a subject id", "anon:<32 hex> or cust:<id>", None)
    return report


class ConversionsController(Controller):
    """The shop's backend reports orders (``X-API-Key`` = ``PREFKIT_API_KEY``)."""

    path = "/api/v1/conversions"
    tags = ["insights"]

    @post(
        "/",
        summary="Report an order (linked to the shopper's cohort only with their consent)",
        status_code=201,
    )
    async def report(self, request: Request[Any, Any, Any]) -> Response[ConversionAccepted]:
        settings = settings_of(request)
        if not settings.api_key:
            raise ProblemError(
                403, "api-disabled", "server-to-server access is disabled (PREFKIT_API_KEY is not set)"
            )
        if not check_key(request, "X-API-Key", settings.api_key):
            raise ProblemError(
                401, "api-key", "reporting a conversion needs a valid X-API-Key", title="API key required"
            )
        conversion = _parse(await request.json())
        service = service_of(request)
        now = service.clock()
        occurred = as_utc(conversion.occurred_at) if conversion.occurred_at else now
        if occurred > now + _FUTURE_SLACK:
            raise _invalid(
                "occurred_at",
                "an order cannot be placed in the future",
                f"a time before {(now + _FUTURE_SLACK).isoformat()}",
                occurred.isoformat(),
            )
        snapshot = service.registry.current
        settings_of_registry = snapshot.document.insights
        purpose = settings_of_registry.conversion_purpose if settings_of_registry is not None else None
        attributed = False
        if purpose is not None:
            effective = await service.effective(conversion.subject, snapshot=snapshot)
            keys = [c.key for c in snapshot.consents() if c.purpose == purpose and c.switchable]
            attributed = bool(keys) and all(effective[key].value is True for key in keys)

        def work(connection: Any) -> bool:
            return insert_conversion(
                connection,
                order_id=conversion.order_id,
                subject=conversion.subject if attributed else None,
                value=conversion.value,
                currency=conversion.currency,
                occurred_at=occurred,
                recorded_at=now,
            )

        recorded = await service.database.run_write_async([conversion.subject], work)
        return Response(
            ConversionAccepted(recorded=recorded, attributed=attributed and recorded),
            status_code=201 if recorded else 200,
        )
