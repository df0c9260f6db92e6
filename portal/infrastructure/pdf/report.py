"""A report as a PDF: headings, a text summary, a ReportLab bar chart and the table of every figure.

The caller (portal.services.reports) hands in sections already worded and with small counts already shown as
the report's rule says; this module only lays them out, with the same OFFICIAL-SENSITIVE furniture as a notice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.platypus import Flowable, KeepTogether, Spacer

from portal.infrastructure.pdf.layout import FRAME_WIDTH, STYLES, grid_table, para, render_story

BAR_COLOUR = colors.HexColor("#1d70b8")


@dataclass(frozen=True)
class ReportSection:
    title: str
    summary: str
    columns: Sequence[str]
    # (row label, one shown value per column)
    rows: Sequence[tuple[str, Sequence[str]]]
    # Drawn as a bar chart when given: (label, value) with small counts already withheld (drawn as 0, and said).
    bars: Sequence[tuple[str, float]] | None = None


def _chart(bars: Sequence[tuple[str, float]], title: str) -> Drawing:
    height = 24 + 16 * len(bars)
    drawing = Drawing(FRAME_WIDTH, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 170, 10
    chart.width, chart.height = int(FRAME_WIDTH - 190), height - 20
    chart.data = [[value for _, value in reversed(bars)]]
    chart.categoryAxis.categoryNames = [label[:38] for label, _ in reversed(bars)]
    chart.categoryAxis.labels.fontName = "Helvetica"
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = BAR_COLOUR
    chart.barLabelFormat = "%d"
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 7
    drawing.add(chart)
    drawing.add(String(0, height - 8, f"Chart: {title}", fontName="Helvetica", fontSize=7))
    return drawing


def _table(section: ReportSection) -> Flowable:
    width = len(section.columns) + 1
    first = 0.34 if width > 2 else 0.6
    rest = (1 - first) / (width - 1)
    return grid_table(["", *section.columns], section.rows, [first, *([rest] * (width - 1))])


def render_report(title: str, lines: Sequence[str], sections: Sequence[ReportSection], *, footer: str) -> bytes:
    """Return the unsigned report PDF."""
    story: list[Flowable] = [para(title, STYLES.title), *(para(line, STYLES.caption) for line in lines)]
    story.append(Spacer(1, 10))
    for section in sections:
        block: list[Flowable] = [para(section.title, STYLES.heading), para(section.summary, STYLES.body), Spacer(1, 4)]
        if section.bars:
            block += [_chart(section.bars, section.title), Spacer(1, 4)]
        story += [KeepTogether(block), _table(section), Spacer(1, 10)]
    return render_story(story, reference=footer, title=title)
