"""The insights as an HTML page of server-side SVG bar charts, each accessible: a ``<title>`` and ``<desc>``
(``role="img"``, ``aria-labelledby``) that say what it shows in words, and the same numbers in a data table
beside it (a suppressed cell reads "fewer than k"). Every merchant text is escaped. In English or Polish: the
admin page (:func:`insights_page`, a whole document) and the studio's Insights page (:func:`insights_body`,
inside the studio's own layout and CSP) render the same charts."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from .aggregates import InsightsReport
from .results import ExperimentResult

__all__ = ["CHART_CSS", "CHART_LOCALES", "bar_chart", "insights_body", "insights_page"]

CHART_LOCALES = ("en", "pl")
"""The locales the charts speak (registry keys, methods and cohorts stay as the API names them)."""

# The charts' own words. Keys, methods, cohorts and an experiment's verdict are the report's data, not words.
_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "suppressed": "suppressed", "fewer": "fewer than {k}", "fewer_cell": "fewer than {k} (suppressed)",
        "interval": " (95 %: {low} to {high})", "no_data": "no data", "group": "Group", "value": "Value",
        "data": "{title} (data)", "granted": "granted", "refused": "refused", "withdrawn": "withdrawn",
        "by_method": "Decisions on “{key}” by how they were given",
        "grant_rate": "Grant rate of “{key}” (Wilson 95 % interval)",
        "values": "Values chosen for “{key}” (shoppers)", "options": "Options chosen for “{key}” (shoppers)",
        "engagement": "Shoppers who changed something beyond the banner", "share": "share",
        "returns": "Days on which they came back to change something (shoppers)", "days": "{days} day(s)",
        "conversion": "Conversion rate by cohort (Wilson 95 % interval)",
        "aov": "Average order value by cohort",
        "experiment": "Experiment “{key}”: {outcome} rate per variant — {verdict}",
        "intro": "Registry version {version}; counts under {k} are suppressed; no shopper is identified. "
        "{n} cell(s) suppressed.",
    },
    "pl": {
        "suppressed": "ukryte", "fewer": "mniej niż {k}", "fewer_cell": "mniej niż {k} (ukryte)",
        "interval": " (95 %: od {low} do {high})", "no_data": "brak danych", "group": "Grupa",
        "value": "Wartość", "data": "{title} (dane)", "granted": "zgoda", "refused": "odmowa",
        "withdrawn": "wycofanie",
        "by_method": "Decyzje dotyczące „{key}” według sposobu ich wyrażenia",
        "grant_rate": "Odsetek zgód na „{key}” (przedział Wilsona 95 %)",
        "values": "Wybrane wartości „{key}” (klienci)", "options": "Wybrane opcje „{key}” (klienci)",
        "engagement": "Klienci, którzy zmienili coś poza banerem", "share": "odsetek",
        "returns": "Liczba dni, w których wracali, by coś zmienić (klienci)", "days": "dni: {days}",
        "conversion": "Współczynnik konwersji według kohorty (przedział Wilsona 95 %)",
        "aov": "Średnia wartość zamówienia według kohorty",
        "experiment": "Eksperyment „{key}”: odsetek {outcome} w wariantach — {verdict}",
        "intro": "Wersja rejestru {version}; liczby mniejsze niż {k} są ukryte; żaden klient nie jest "
        "identyfikowany. Ukryte komórki: {n}.",
    },
}


def _words(locale: str) -> dict[str, str]:
    return _WORDS.get(locale, _WORDS["en"])


_WIDTH = 600
_BAR = 22
_LABEL = 240


def _fmt(value: float | None, percent: bool, words: dict[str, str] = _WORDS["en"]) -> str:
    if value is None:
        return words["suppressed"]
    return f"{value * 100:.1f} %" if percent else (f"{value:g}" if isinstance(value, float) else str(value))


def bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, float | None]],
    *,
    k: int,
    percent: bool = False,
    intervals: Sequence[tuple[float, float] | None] | None = None,
    locale: str = "en",
) -> str:
    """A horizontal bar chart with its text alternative and data table. ``None`` values are suppressed cells
    (no bar; the table says why)."""
    words = _words(locale)
    shown = [value for _, value in rows if value is not None]
    top = 1.0 if percent else max(shown, default=0) or 1
    height = _BAR * len(rows) + 10
    scale = (_WIDTH - _LABEL - 70) / top
    bars = []
    cells = []
    for index, (label, value) in enumerate(rows):
        y = 5 + index * _BAR
        bars.append(f'<text x="{_LABEL - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        if value is None:
            fewer = escape(words["fewer"].format(k=k))
            bars.append(f'<text x="{_LABEL}" y="{y + 15}" class="suppressed">{fewer}</text>')
            cells.append(words["fewer_cell"].format(k=k))
            continue
        width = max(0.0, value * scale)
        bars.append(
            f'<rect x="{_LABEL}" y="{y + 3}" width="{width:.1f}" height="{_BAR - 6}" data-part="bar"/>'
        )
        interval = intervals[index] if intervals else None
        end = _LABEL + width
        cell = _fmt(value, percent, words)
        if interval is not None:
            low, high = interval[0] * scale + _LABEL, interval[1] * scale + _LABEL
            bars.append(
                f'<line x1="{low:.1f}" x2="{high:.1f}" y1="{y + 11}" y2="{y + 11}" data-part="interval"/>'
            )
            end = max(end, high)
            cell += words["interval"].format(low=_fmt(interval[0], percent), high=_fmt(interval[1], percent))
        bars.append(f'<text x="{end + 4:.1f}" y="{y + 15}">{escape(_fmt(value, percent, words))}</text>')
        cells.append(cell)
    described = "; ".join(f"{label}: {_fmt(value, percent, words)}" for label, value in rows)
    described = described or words["no_data"]
    table_rows = "".join(
        f'<tr><th scope="row">{escape(label)}</th><td>{escape(cell)}</td></tr>'
        for (label, _), cell in zip(rows, cells)
    )
    return (
        f'<figure aria-labelledby="{chart_id}-caption" data-part="chart">'
        f'<figcaption id="{chart_id}-caption">{escape(title)}</figcaption>'
        f'<svg role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" width="{_WIDTH}" '
        f'height="{height}" viewBox="0 0 {_WIDTH} {height}">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(described)}</desc>'
        + "".join(bars)
        + "</svg>"
        f'<table><caption class="visually-hidden">{escape(words["data"].format(title=title))}</caption>'
        f'<thead><tr><th scope="col">{escape(words["group"])}</th>'
        f'<th scope="col">{escape(words["value"])}</th></tr></thead>'
        f"<tbody>{table_rows}</tbody></table></figure>"
    )


def insights_body(report: InsightsReport, experiments: Sequence[ExperimentResult], locale: str = "en") -> str:
    """What the report shows (a summary line, then every chart with its data table), as an HTML fragment
    without any style or script: the studio puts it in its own layout under its strict CSP."""
    k = report.k
    w = _words(locale)

    def chart(chart_id: str, title: str, rows: Sequence[tuple[str, float | None]], **options: Any) -> str:
        return bar_chart(chart_id, title, rows, k=k, locale=locale, **options)

    parts = [
        "<p data-part=\"summary\">"
        + escape(w["intro"].format(version=report.registry_version, k=k, n=report.suppressed_cells))
        + "</p>"
    ]
    for index, consent in enumerate(report.consents):
        rows = [
            (f"{row.method}: {w[outcome]}", getattr(row, outcome))
            for outcome in ("granted", "refused", "withdrawn")
            for row in consent.by_method
        ]
        parts.append(chart(f"consent-{index}", w["by_method"].format(key=consent.key), rows))
        rate = consent.grant_rate
        parts.append(
            chart(
                f"grant-{index}",
                w["grant_rate"].format(key=consent.key),
                [(w["granted"], rate.rate)],
                percent=True,
                intervals=[(rate.interval.low, rate.interval.high) if rate.interval else None],
            )
        )
    for index, choice in enumerate(report.choices):
        rows = [(str(item.value), item.subjects) for item in choice.values]
        what = w["values"] if choice.kind == "slider" else w["options"]
        parts.append(chart(f"choice-{index}", what.format(key=choice.key), rows))
    engagement = report.engagement
    parts.append(
        chart("engagement", w["engagement"], [(w["share"], engagement.beyond_banner.rate)], percent=True)
    )
    parts.append(
        chart(
            "returns",
            w["returns"],
            [(w["days"].format(days=row.days), row.subjects) for row in engagement.return_days],
        )
    )
    cohorts = report.conversions.by_preferences + report.conversions.by_level
    parts.append(
        chart(
            "conversion",
            w["conversion"],
            [(c.cohort, c.conversion.rate) for c in cohorts],
            percent=True,
            intervals=[
                (c.conversion.interval.low, c.conversion.interval.high) if c.conversion.interval else None
                for c in cohorts
            ],
        )
    )
    parts.append(
        chart(
            "aov",
            w["aov"],
            [(c.cohort, c.average_order_value) for c in cohorts]
            + [("unattributed", report.conversions.unattributed.average_order_value)],
        )
    )
    for index, result in enumerate(experiments):
        parts.append(
            chart(
                f"experiment-{index}",
                w["experiment"].format(key=result.key, outcome=result.outcome, verdict=result.verdict),
                [(arm.variant, arm.outcome.rate) for arm in result.arms],
                percent=True,
                intervals=[
                    (arm.outcome.interval.low, arm.outcome.interval.high) if arm.outcome.interval else None
                    for arm in result.arms
                ],
            )
        )
    return "".join(parts)


CHART_CSS = (
    "figure[data-part=chart]{margin:0 0 2rem;display:grid;grid-template-columns:auto auto;gap:0 2rem;"
    "align-items:start;justify-content:start}"
    "figure[data-part=chart] figcaption{grid-column:1/-1;font-weight:600;margin-bottom:.3rem}"
    "figure[data-part=chart] svg text{font-size:12px;fill:#1a1a1a}"
    "rect[data-part=bar]{fill:#1f5fa8}line[data-part=interval]{stroke:#000;stroke-width:2}"
    "figure[data-part=chart] .suppressed{fill:#555;font-style:italic}"
)
"""The charts' look: inline on the admin page, appended to the studio's stylesheet (its CSP allows no inline
style)."""


def insights_page(report: InsightsReport, experiments: Sequence[ExperimentResult]) -> str:
    """The whole page (the admin route's, in English)."""
    style = (
        "body{font:14px system-ui,sans-serif;margin:2rem;color:#1a1a1a}" + CHART_CSS
        + "table{border-collapse:collapse;margin-top:.4rem}"
        "th,td{border:1px solid #999;padding:.15rem .5rem;text-align:left}"
        ".visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>prefkit insights</title>'
        f"<style>{style}</style></head><body><main><h1>Insights</h1>"
        + insights_body(report, experiments)
        + "</main></body></html>"
    )
