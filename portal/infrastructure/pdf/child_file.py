"""The one-page summary for the child's file: layout only, from display strings the caller has already formatted.

Content is decided by portal.services.child_file (which facts, in what words); signing by ``signing``. This module
lays the facts out on exactly one A4 page with the portal's OFFICIAL-SENSITIVE furniture. Long narrative is cut to
an excerpt here and the whole is in the notice's signed record, so a long closure never pushes the summary onto a
second page; whatever is left is shrunk to the page's frame (ReportLab's ``KeepInFrame``), never split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from reportlab.platypus import Flowable, KeepInFrame, Spacer

from portal.infrastructure.pdf.layout import (
    FRAME_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    PAGE_HEIGHT,
    STYLES,
    Row,
    grid_table,
    label_value_table,
    notice_heading,
    para,
    render_story,
)

TITLE: Final = "Summary for the child's file"
# Narrative beyond this many characters is cut, with a pointer to the full signed record.
EXCERPT: Final = 600


@dataclass(frozen=True, slots=True)
class ChildFileStage:
    """One stage the notice was at, as the summary prints it ("" where it did not happen)."""

    name: str
    opened: str
    answered: str
    ended: str
    outcome: str


@dataclass(frozen=True, slots=True)
class ChildFileContext:
    """Everything the summary prints, already worded. ``identifiers`` are (label, value) pairs of the child's
    identifiers as the form recorded them: the only child data on the page, and never in the metadata."""

    reference: str
    record_version: int
    partnership_name: str
    issued_at: datetime
    raising_agency: str
    receiving_agencies: str
    identifiers: tuple[tuple[str, str], ...]
    stages: tuple[ChildFileStage, ...]
    highest_stage: str
    outcome: str
    agreed_outcome: str
    agreed_actions: str
    closed_by: str
    closed_at: str
    verify_url: str
    attachments: tuple[str, ...] = field(default_factory=tuple)


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """``text`` cut to ``limit`` characters at a word, saying where the rest is."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return f"{cut} … (continued in the notice's signed record)"


def build_story(context: ChildFileContext) -> list[Flowable]:
    story: list[Flowable] = notice_heading(
        TITLE,
        partnership_name=context.partnership_name,
        version_line=f"Reference {context.reference}, from version {context.record_version} of the notice's record",
        captions=("To place on the child's record in each agency involved. Multi-agency escalation, closed.",),
    )
    rows = [
        Row("Reference", context.reference),
        Row("Partnership", context.partnership_name),
        Row("Raised by (agency)", context.raising_agency),
        Row("Sent to (agencies)", context.receiving_agencies),
        Row("The child", None),
        *(Row(label, value) for label, value in context.identifiers),
        Row("Outcome", None),
        Row("Highest stage reached", context.highest_stage),
        Row("Outcome", context.outcome),
        Row("Agreed outcome", excerpt(context.agreed_outcome) or "Not recorded"),
        Row("Actions agreed", excerpt(context.agreed_actions) or "None recorded"),
        Row("Closed by", context.closed_by),
        Row("Closed", context.closed_at),
    ]
    if context.attachments:
        rows.append(Row("Evidence on the notice", excerpt("; ".join(context.attachments), 300)))
    story += [Spacer(1, 8), label_value_table(rows), Spacer(1, 8)]
    stage_rows = [(s.name, [s.opened, s.answered or "Not answered", s.ended, s.outcome]) for s in context.stages]
    story.append(
        grid_table(["Stage", "Opened", "Answered", "Ended", "How it ended"], stage_rows, (0.3, 0.16, 0.16, 0.16, 0.22))
    )
    story += [
        Spacer(1, 8),
        para(
            f"To check this summary is genuine and unaltered, upload it at {context.verify_url}: it is portal "
            f"reference {context.reference}, version {context.record_version}, the summary for the child's file.",
            STYLES.hint,
        ),
    ]
    # One page, always: anything still too tall after the excerpts is shrunk to the frame, never split.
    frame_height = PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    return [KeepInFrame(FRAME_WIDTH, frame_height, story, mode="shrink")]


def render_child_file(context: ChildFileContext) -> bytes:
    """Return the unsigned one-page summary. The /Info title holds the reference only, never child data."""
    return render_story(
        build_story(context),
        reference=context.reference,
        title=f"{TITLE} {context.reference}",
        issued_at=context.issued_at,
    )
