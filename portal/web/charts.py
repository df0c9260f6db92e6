"""Bar charts drawn on the server as SVG: no script, readable without styles, each with a title and description.

The page puts the figure's table and text summary beside every chart (templates/reports/figure.html), so the
chart is never the only way to the numbers (WCAG 1.1.1, 1.4.1: the series are also told apart by pattern).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

# GOV.UK blue and dark grey, each passing 3:1 against white for non-text contrast (WCAG 1.4.11).
SERIES_COLOURS = ("#1d70b8", "#505a5f")
LABEL_WIDTH = 230
BAR_AREA = 380
ROW_HEIGHT = 22


def bar_chart(
    chart_id: str,
    title: str,
    summary: str,
    series: Sequence[str],
    rows: Sequence[tuple[str, Sequence[float]]],
) -> Markup:
    """Return a horizontal bar chart: one group per row, one bar per series, with the value written at its end."""
    series = list(series)
    peak = max((v for _, values in rows for v in values), default=0) or 1
    bar_height = (ROW_HEIGHT - 6) / max(len(series), 1)
    legend_height = 20 if len(series) > 1 else 0
    height = legend_height + ROW_HEIGHT * len(rows) + 10
    width = LABEL_WIDTH + BAR_AREA + 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'id="{chart_id}" focusable="false">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
    ]
    if len(series) > 1:
        for index, name in enumerate(series):
            x = LABEL_WIDTH + index * 140
            parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{SERIES_COLOURS[index % 2]}"/>')
            parts.append(
                f'<text x="{x + 16}" y="14" font-size="12" font-family="arial,sans-serif">{escape(name)}</text>'
            )
    for row_index, (label, values) in enumerate(rows):
        top = legend_height + row_index * ROW_HEIGHT
        short = label if len(label) <= 36 else label[:34] + "\u2026"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{top + ROW_HEIGHT / 2 + 4:.1f}" text-anchor="end" font-size="12" '
            f'font-family="arial,sans-serif">{escape(short)}</text>'
        )
        for index, value in enumerate(values):
            length = BAR_AREA * value / peak
            y = top + 3 + index * bar_height
            colour = SERIES_COLOURS[index % 2]
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y:.1f}" width="{length:.1f}" height="{bar_height - 1:.1f}" '
                f'fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + bar_height - 3:.1f}" font-size="11" '
                f'font-family="arial,sans-serif">{value:g}</text>'
            )
    parts.append(
        f'<line x1="{LABEL_WIDTH}" y1="{legend_height}" x2="{LABEL_WIDTH}" y2="{height - 8}" stroke="#0b0c0c"/>'
    )
    parts.append("</svg>")
    # Every text in it is escaped above: the labels come from the directory and the procedures.
    return Markup("".join(parts))  # noqa: S704
