"""The insights as an HTML page of server-side SVG bar charts, each accessible: a ``<title>`` and ``<desc>``
(``role="img"``, ``aria-labelledby``) that say what it shows in words, and the same numbers in a data table
beside it (a suppressed cell reads "fewer than k"). Every merchant text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .aggregates import InsightsReport
from .results import ExperimentResult

__all__ = ["bar_chart", "insights_page"]

_WIDTH = 600
_BAR = 22
_LABEL = 240


def _fmt(value: float | None, percent: bool) -> str:
    if value is None:
        return "suppressed"
    return f"{value * 100:.1f} %" if percent else (f"{value:g}" if isinstance(value, float) else str(value))


def bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, float | None]],
    *,
    k: int,
    percent: bool = False,
    intervals: Sequence[tuple[float, float] | None] | None = None,
) -> str:
    """A horizontal bar chart with its text alternative and data table. ``None`` values are suppressed cells
    (no bar; the table says why)."""
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
            bars.append(f'<text x="{_LABEL}" y="{y + 15}" class="suppressed">fewer than {k}</text>')
            cells.append(f"fewer than {k} (suppressed)")
            continue
        width = max(0.0, value * scale)
        bars.append(
            f'<rect x="{_LABEL}" y="{y + 3}" width="{width:.1f}" height="{_BAR - 6}" data-part="bar"/>'
        )
        interval = intervals[index] if intervals else None
        end = _LABEL + width
        cell = _fmt(value, percent)
        if interval is not None:
            low, high = interval[0] * scale + _LABEL, interval[1] * scale + _LABEL
            bars.append(
                f'<line x1="{low:.1f}" x2="{high:.1f}" y1="{y + 11}" y2="{y + 11}" data-part="interval"/>'
            )
            end = max(end, high)
            cell += f" (95 %: {_fmt(interval[0], percent)} to {_fmt(interval[1], percent)})"
        bars.append(f'<text x="{end + 4:.1f}" y="{y + 15}">{escape(_fmt(value, percent))}</text>')
        cells.append(cell)
    described = "; ".join(f"{label}: {_fmt(value, percent)}" for label, value in rows) or "no data"
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
        f'<table><caption class="visually-hidden">{escape(title)} (data)</caption><thead><tr><th scope="col">Group</th>'
        f'<th scope="col">Value</th></tr></thead><tbody>{table_rows}</tbody></table></figure>'
    )


def insights_page(report: InsightsReport, experiments: Sequence[ExperimentResult]) -> str:
    """The whole page."""
    k = report.k
    parts = []
    for index, consent in enumerate(report.consents):
        rows = (
            [(f"{row.method}: granted", row.granted) for row in consent.by_method]
            + [(f"{row.method}: refused", row.refused) for row in consent.by_method]
            + [(f"{row.method}: withdrawn", row.withdrawn) for row in consent.by_method]
        )
        parts.append(
            bar_chart(f"consent-{index}", f"Decisions on “{consent.key}” by how they were given", rows, k=k)
        )
        rate = consent.grant_rate
        parts.append(
            bar_chart(
                f"grant-{index}",
                f"Grant rate of “{consent.key}” (Wilson 95 % interval)",
                [("granted", rate.rate)],
                k=k,
                percent=True,
                intervals=[(rate.interval.low, rate.interval.high) if rate.interval else None],
            )
        )
    for index, choice in enumerate(report.choices):
        rows = [(str(item.value), item.subjects) for item in choice.values]
        what = "Values chosen" if choice.kind == "slider" else "Options chosen"
        parts.append(bar_chart(f"choice-{index}", f"{what} for “{choice.key}” (shoppers)", rows, k=k))
    engagement = report.engagement
    parts.append(
        bar_chart(
            "engagement",
            "Shoppers who changed something beyond the banner",
            [("share", engagement.beyond_banner.rate)],
            k=k,
            percent=True,
        )
    )
    parts.append(
        bar_chart(
            "returns",
            "Days on which they came back to change something (shoppers)",
            [(f"{row.days} day(s)", row.subjects) for row in engagement.return_days],
            k=k,
        )
    )
    cohorts = report.conversions.by_preferences + report.conversions.by_level
    parts.append(
        bar_chart(
            "conversion",
            "Conversion rate by cohort (Wilson 95 % interval)",
            [(c.cohort, c.conversion.rate) for c in cohorts],
            k=k,
            percent=True,
            intervals=[
                (c.conversion.interval.low, c.conversion.interval.high) if c.conversion.interval else None
                for c in cohorts
            ],
        )
    )
    parts.append(
        bar_chart(
            "aov",
            "Average order value by cohort",
            [(c.cohort, c.average_order_value) for c in cohorts]
            + [("unattributed", report.conversions.unattributed.average_order_value)],
            k=k,
        )
    )
    for index, result in enumerate(experiments):
        parts.append(
            bar_chart(
                f"experiment-{index}",
                f"Experiment “{result.key}”: {result.outcome} rate per variant — {result.verdict}",
                [(arm.variant, arm.outcome.rate) for arm in result.arms],
                k=k,
                percent=True,
                intervals=[
                    (arm.outcome.interval.low, arm.outcome.interval.high) if arm.outcome.interval else None
                    for arm in result.arms
                ],
            )
        )
    style = (
        "body{font:14px system-ui,sans-serif;margin:2rem;color:#1a1a1a}figure{margin:0 0 2rem}"
        "figure{display:grid;grid-template-columns:auto auto;gap:0 2rem;align-items:start;justify-content:start}"
        "figcaption{grid-column:1/-1;font-weight:600;margin-bottom:.3rem}svg text{font-size:12px;fill:#1a1a1a}"
        "rect[data-part=bar]{fill:#1f5fa8}line[data-part=interval]{stroke:#000;stroke-width:2}"
        ".suppressed{fill:#555;font-style:italic}table{border-collapse:collapse;margin-top:.4rem}"
        "th,td{border:1px solid #999;padding:.15rem .5rem;text-align:left}"
        ".visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>prefkit insights</title>'
        f"<style>{style}</style></head><body><main><h1>Insights</h1>"
        f"<p>Registry version {escape(report.registry_version)}; counts under {k} are suppressed; no shopper "
        f"is identified. {report.suppressed_cells} cell(s) suppressed.</p>"
        + "".join(parts)
        + "</main></body></html>"
    )
