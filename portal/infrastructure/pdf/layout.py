"""Page furniture, styles and flowable helpers shared by every notice layout.

Nothing here knows about a child or a case: notice modules pass in display
strings, and this module decides how they look. Everything renders in memory.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import TimeStamp
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X: Final = 18 * mm
# The top and bottom margins leave room for the security marking on every page.
MARGIN_TOP: Final = 26 * mm
MARGIN_BOTTOM: Final = 24 * mm
FRAME_WIDTH: Final = PAGE_WIDTH - 2 * MARGIN_X

MARKING: Final = "OFFICIAL-SENSITIVE"
HANDLING: Final = "THIS DOCUMENT MUST BE SENT/STORED SECURELY"
AUTHOR: Final = "Escalation Portal"

LABEL_FILL: Final = colors.HexColor("#E8E8E8")
RULE: Final = colors.black
LABEL_COLUMN_FRACTION: Final = 0.38


@dataclass(frozen=True, slots=True)
class Styles:
    """Named paragraph styles; base-14 Helvetica only, so no fonts are embedded."""

    body: ParagraphStyle
    section_body: ParagraphStyle
    label: ParagraphStyle
    heading: ParagraphStyle
    appendix: ParagraphStyle
    title: ParagraphStyle
    caption: ParagraphStyle
    banner: ParagraphStyle
    hint: ParagraphStyle


def _build_styles() -> Styles:
    body = ParagraphStyle(
        "body",
        fontName="Helvetica",
        fontSize=10,
        leading=13,
        # Break over-long unbroken tokens (pasted URLs, hostile input) instead of overflowing the page.
        splitLongWords=True,
    )
    return Styles(
        body=body,
        section_body=ParagraphStyle("section-body", parent=body, leftIndent=6, rightIndent=6),
        label=ParagraphStyle("label", parent=body, fontName="Helvetica-Bold"),
        heading=ParagraphStyle("heading", parent=body, fontName="Helvetica-Bold", fontSize=10.5, leading=13.5),
        appendix=ParagraphStyle(
            "appendix", parent=body, fontName="Helvetica-Bold", fontSize=11, leading=14, spaceAfter=4
        ),
        title=ParagraphStyle("title", parent=body, fontName="Helvetica-Bold", fontSize=15, leading=19, spaceAfter=3),
        caption=ParagraphStyle("caption", parent=body, fontSize=8.5, leading=11, textColor=colors.HexColor("#333333")),
        banner=ParagraphStyle(
            "banner", parent=body, fontName="Helvetica-Bold", fontSize=10.5, leading=13.5, alignment=TA_CENTER
        ),
        hint=ParagraphStyle("hint", parent=body, fontSize=8.5, leading=11),
    )


# Built once at import and never mutated: treat as constants.
STYLES: Final = _build_styles()

# Keep line structure; drop control and invisible format characters that base-14
# fonts would show as boxes (or that ReportLab's parser would choke on).
_DROP_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Value cells are pre-wrapped into rows of at most this many lines, so a table
# only ever splits between small rows (see ``_wrapped_chunks``).
_LINES_PER_ROW: Final = 4
_CELL_PADDING: Final = 6
_CELL_TOP: Final = 4
_CELL_BOTTOM: Final = 5


def _sanitise(text: str) -> str:
    """Return ``text`` with tabs as spaces and other control/format characters removed."""
    if text.isprintable():
        # Fast path: isprintable() is False for tabs and every category dropped below.
        return text
    kept = (ch for ch in text if ch == "\t" or unicodedata.category(ch) not in _DROP_CATEGORIES)
    return "".join(kept).replace("\t", " ")


def clean_line(text: str) -> str:
    """Return one line of user text made safe for a ReportLab Paragraph.

    Escapes ``&``, ``<`` and ``>`` so markup-like input renders literally, turns
    tabs into spaces and removes other control or format characters.
    """
    return escape(_sanitise(text))


def _logical_lines(text: str) -> list[str]:
    """Split user text into sanitised lines, collapsing runs of blank lines to one.

    Collapsing stops a wall of newlines from pushing a notice onto dozens of
    empty pages; leading and trailing blank lines are dropped.
    """
    lines: list[str] = []
    for raw in text.splitlines():
        line = _sanitise(raw).strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def para(text: str, style: ParagraphStyle | None = None) -> Paragraph:
    """Return a Paragraph for one line of literal (unmarked-up) text."""
    return Paragraph(clean_line(" ".join(text.splitlines())), style or STYLES.body)


def free_text(text: str, style: ParagraphStyle | None = None) -> list[Flowable]:
    """Return flowing flowables for multi-line user text, one Paragraph per line.

    Line breaks are kept and a blank line becomes a paragraph gap. Each
    Paragraph can split across pages, so very long text never raises LayoutError.
    """
    style = style or STYLES.body
    out: list[Flowable] = []
    for line in _logical_lines(text):
        if line:
            out.append(Paragraph(escape(line), style))
        else:
            out.append(Spacer(1, style.leading * 0.6))
    return out


def text_block(text: str, style: ParagraphStyle | None = None) -> Paragraph:
    """Return one Paragraph for short multi-line user text, keeping its line breaks."""
    return Paragraph("<br/>".join(escape(line) for line in _logical_lines(text)), style or STYLES.body)


def _wrap_line(line: str, style: ParagraphStyle, width: float) -> list[str]:
    """Greedily wrap one line of plain text to ``width`` points, breaking over-long words."""
    font, size = style.fontName, style.fontSize
    words = line.split()
    if not words:
        return [""]
    space = stringWidth(" ", font, size)
    out: list[str] = []
    current, current_width = "", 0.0
    for word in words:
        word_width = stringWidth(word, font, size)
        if word_width > width:
            if current:
                out.append(current)
            # Break the word where it overflows; widths are summed per character to stay linear.
            current, current_width = "", 0.0
            for ch in word:
                ch_width = stringWidth(ch, font, size)
                if current and current_width + ch_width > width:
                    out.append(current)
                    current, current_width = "", 0.0
                current += ch
                current_width += ch_width
        elif not current:
            current, current_width = word, word_width
        elif current_width + space + word_width <= width:
            current += " " + word
            current_width += space + word_width
        else:
            out.append(current)
            current, current_width = word, word_width
    out.append(current)
    return out


def _wrapped_chunks(text: str, style: ParagraphStyle, width: float) -> list[Paragraph]:
    """Return ``text`` as Paragraphs of at most ``_LINES_PER_ROW`` pre-wrapped lines each.

    ReportLab cannot split a table row across pages cheaply (``splitInRow``
    re-wraps the whole cell for every page: ~12 s for 20,000 characters), so a
    long value becomes several short rows instead. Wrapping once here keeps the
    cost linear; the slight safety margin stops ReportLab re-breaking a line.
    """
    lines: list[str] = []
    for line in _logical_lines(text):
        lines.extend(_wrap_line(line, style, width - 1))
    # A non-breaking space keeps a blank line one line tall, even at a chunk edge.
    escaped = [escape(line) if line else "&nbsp;" for line in lines]
    return [
        Paragraph("<br/>".join(escaped[i : i + _LINES_PER_ROW]), style) for i in range(0, len(escaped), _LINES_PER_ROW)
    ] or [Paragraph("", style)]


def section_heading(text: str) -> Table:
    """Return a full-width shaded bar holding a bold heading."""
    table = Table([[para(text, STYLES.heading)]], colWidths=[FRAME_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.75, RULE),
                ("BACKGROUND", (0, 0), (-1, -1), LABEL_FILL),
                ("TOPPADDING", (0, 0), (-1, -1), _CELL_TOP),
                ("BOTTOMPADDING", (0, 0), (-1, -1), _CELL_BOTTOM),
            ]
        )
    )
    table.keepWithNext = True
    return table


def free_text_section(label: str, text: str) -> list[Flowable]:
    """Return a heading bar followed by the text flowing freely across pages.

    The text is deliberately not inside a table cell: a 20,000-character answer
    must be able to break across pages cheaply.
    """
    return [section_heading(label), Spacer(1, 5), *free_text(text, STYLES.section_body), Spacer(1, 10)]


def banner(text: str) -> Table:
    """Return a boxed, centred, bold line such as the handling instruction."""
    table = Table([[para(text, STYLES.banner)]], colWidths=[FRAME_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.25, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


@dataclass(frozen=True, slots=True)
class Row:
    """One "label | value" row; ``value=None`` makes a full-width sub-heading."""

    label: str
    value: str | None = ""


class _GridBuilder:
    """Accumulate logical rows as runs of short table rows that look like one cell each.

    Between the rows of one logical row there is no rule and no padding, so the
    pre-wrapped chunks read as a single block of text.
    """

    def __init__(self, col_widths: Sequence[float]) -> None:
        self.col_widths = list(col_widths)
        self.data: list[list[Any]] = []
        self.commands: list[tuple[Any, ...]] = [
            ("BOX", (0, 0), (-1, -1), 0.75, RULE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
            ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
            ("TOPPADDING", (0, 0), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
        ]
        if len(self.col_widths) > 1:
            self.commands.append(("LINEAFTER", (0, 0), (-2, -1), 0.75, RULE))

    def add(self, cells: Sequence[Flowable | list[Flowable] | str]) -> tuple[int, int]:
        """Append one unsplittable row; return its (first, last) row index."""
        return self._add_run([[cell] for cell in cells])

    def add_text(self, first_cells: Sequence[Flowable | str], texts: Sequence[str]) -> tuple[int, int]:
        """Append fixed leading cells then free-text cells, wrapped into short rows."""
        leading = len(first_cells)
        columns: list[list[Any]] = [[cell] for cell in first_cells]
        for text, width in zip(texts, self.col_widths[leading:], strict=True):
            columns.append(_wrapped_chunks(text, STYLES.body, width - 2 * _CELL_PADDING))
        return self._add_run(columns)

    def _add_run(self, columns: list[list[Any]]) -> tuple[int, int]:
        height = max(len(column) for column in columns)
        first = len(self.data)
        for offset in range(height):
            self.data.append([column[offset] if offset < len(column) else "" for column in columns])
        last = len(self.data) - 1
        self.commands += [
            ("TOPPADDING", (0, first), (-1, first), _CELL_TOP),
            ("BOTTOMPADDING", (0, last), (-1, last), _CELL_BOTTOM),
            ("LINEBELOW", (0, last), (-1, last), 0.75, RULE),
        ]
        return first, last

    def style(self, *commands: tuple[Any, ...]) -> None:
        """Add extra TableStyle commands (backgrounds, spans)."""
        self.commands.extend(commands)

    def build(self, *, repeat_rows: int = 0) -> Table:
        """Return the finished Table; it splits only between rows."""
        table = Table(self.data, colWidths=self.col_widths, repeatRows=repeat_rows, splitByRow=1)
        table.setStyle(TableStyle(self.commands))
        return table


def label_value_table(rows: Sequence[Row]) -> Table:
    """Return a two-column "label | value" table in the style of the paper form.

    Values of any length are safe: they are wrapped into short rows so the
    table breaks across pages between lines rather than raising LayoutError.
    """
    label_width = FRAME_WIDTH * LABEL_COLUMN_FRACTION
    grid = _GridBuilder([label_width, FRAME_WIDTH - label_width])
    grid.style(("BACKGROUND", (0, 0), (0, -1), LABEL_FILL))
    for row in rows:
        if row.value is None:
            first, _ = grid.add([para(row.label, STYLES.label), ""])
            grid.style(("SPAN", (0, first), (1, first)), ("BACKGROUND", (0, first), (1, first), LABEL_FILL))
        else:
            grid.add_text([para(row.label, STYLES.label)], [row.value])
    return grid.build()


def _header_cell(text: str) -> list[Flowable]:
    # The first line is the column name; later lines are the paper form's small-print hint.
    name, _, hint = text.partition("\n")
    cell: list[Flowable] = [para(name, STYLES.label)]
    if hint.strip():
        cell.append(text_block(hint, STYLES.hint))
    return cell


def grid_table(header: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]], fractions: Sequence[float]) -> Table:
    """Return a table with a shaded header row, a bold first column and free-text cells.

    Each row is ``(row label, [cell text, ...])``; ``fractions`` gives each
    column's share of the frame width.
    """
    if len(fractions) != len(header) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError("fractions must match the header and sum to 1")
    grid = _GridBuilder([FRAME_WIDTH * f for f in fractions])
    grid.add([_header_cell(text) for text in header])
    grid.style(("BACKGROUND", (0, 0), (-1, 0), LABEL_FILL))
    for label, texts in rows:
        if len(texts) != len(header) - 1:
            raise ValueError("each row needs one text per non-label column")
        grid.add_text([para(label, STYLES.label)], texts)
    return grid.build(repeat_rows=1)


def _groups(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def evidence_section(attachments: Sequence[Any]) -> list[Flowable]:
    """The evidence attached to the notice, after every partnership's form: name, type, size and SHA-256 of each
    (the documents themselves are never in the PDF; the hash lets a reader check a copy they hold)."""
    if not attachments:
        return []
    rows = [
        (
            str(number),
            # In groups of 16, so the 64 hex digits wrap inside their column.
            [a.name, f"{a.kind}, {a.size_label}", f"{a.stage}, {a.added}", " ".join(_groups(a.sha256, 16))],
        )
        for number, a in enumerate(attachments, start=1)
    ]
    return [
        Spacer(1, 12),
        section_heading("Evidence attached"),
        Spacer(1, 4),
        grid_table(["No.", "Name", "Type and size", "Attached", "SHA-256"], rows, (0.06, 0.26, 0.18, 0.2, 0.3)),
    ]


def notice_heading(
    title: str,
    *,
    partnership_name: str,
    version_line: str,
    above: str = "",
    captions: Sequence[str] = (),
    note: str = "",
) -> list[Flowable]:
    """The top of every notice: the form's own heading lines, the partnership, the version, the handling banner."""
    story: list[Flowable] = [para(above, STYLES.appendix)] if above else []
    story += [para(title, STYLES.title), *(para(c, STYLES.caption) for c in captions)]
    story += [para(partnership_name, STYLES.caption), para(version_line, STYLES.caption)]
    if note:
        story += [Spacer(1, 6), para(note, STYLES.hint)]
    return [*story, Spacer(1, 8), banner(HANDLING)]


def _draw_furniture(canvas: Canvas, *, reference: str, page: int, total: int) -> None:
    """Draw the security marking, handling line, reference and page count."""
    canvas.saveState()
    centre = PAGE_WIDTH / 2
    canvas.setFillColor(colors.black)
    canvas.setStrokeColor(colors.black)

    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawCentredString(centre, PAGE_HEIGHT - 11 * mm, MARKING)
    canvas.setFont("Helvetica-Bold", 8)
    canvas.drawCentredString(centre, PAGE_HEIGHT - 15.5 * mm, HANDLING)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN_X, PAGE_HEIGHT - 18 * mm, PAGE_WIDTH - MARGIN_X, PAGE_HEIGHT - 18 * mm)

    canvas.line(MARGIN_X, 18 * mm, PAGE_WIDTH - MARGIN_X, 18 * mm)
    canvas.setFont("Helvetica", 8.5)
    canvas.drawString(MARGIN_X, 13.5 * mm, reference)
    canvas.drawRightString(PAGE_WIDTH - MARGIN_X, 13.5 * mm, f"Page {page} of {total}")
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawCentredString(centre, 8 * mm, MARKING)
    canvas.restoreState()


class _FurnitureCanvas(Canvas):
    """Canvas that defers page furniture until the page count is known.

    Pages are held back in ``showPage`` and drawn in ``save``: one layout pass
    instead of two, which keeps "Page X of Y" cheap.
    """

    def __init__(self, *args: Any, reference: str, issued_at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reference = reference
        self._held_pages: list[dict[str, Any]] = []
        if issued_at is not None:
            # /CreationDate and /ModDate are the version's issue time (UTC), not ReportLab's invariant 1 Jan 2000;
            # the file identifier stays derived from the invariant stamp, so the same input still gives the same
            # bytes.
            self._doc._timeStamp = _timestamp(issued_at)  # type: ignore[attr-defined]  # private, not in the stubs

    def showPage(self) -> None:  # noqa: N802 - ReportLab's API name
        self._held_pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # ReportLab's own page reset; types-reportlab omits private names

    def save(self) -> None:
        """Draw furniture on every held page, then write the document."""
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, start=1):
            self.__dict__.update(state)
            _draw_furniture(self, reference=self._reference, page=number, total=total)
            super().showPage()
        super().save()


def _timestamp(at: datetime) -> TimeStamp:
    """A ReportLab time stamp of ``at`` in UTC, for the document information dates."""
    stamp = TimeStamp(invariant=1)
    utc = at.astimezone(UTC)
    stamp.t = utc.timestamp()
    stamp.lt = utc.timetuple()
    stamp.YMDhms = tuple(utc.timetuple())[:6]
    stamp.dhh = stamp.dmm = 0
    return stamp


def render_story(story: list[Flowable], *, reference: str, title: str, issued_at: datetime | None = None) -> bytes:
    """Lay out ``story`` on A4 with the portal's furniture and return PDF bytes.

    ``title`` goes into the PDF /Info dictionary, so it must never contain child
    data: pass the form title and notice reference only.
    """
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=title,
        author=AUTHOR,
        subject="",
        keywords=[],
        creator=AUTHOR,
        producer=AUTHOR,
        lang="en-GB",
        # Same input, same bytes: makes re-renders comparable and tests exact.
        invariant=1,
    )
    frame = Frame(
        doc.leftMargin,
        doc.bottomMargin,
        doc.width,
        doc.height,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates([PageTemplate(id="notice", frames=[frame])])

    def canvas_maker(*args: Any, **kwargs: Any) -> _FurnitureCanvas:
        return _FurnitureCanvas(*args, reference=reference, issued_at=issued_at, **kwargs)

    doc.build(story, canvasmaker=canvas_maker)
    return buffer.getvalue()
