"""Testshire's PDF: the layout a sixth partnership writes, from the shared page furniture."""

from __future__ import annotations

from reportlab.platypus import Flowable

from portal.infrastructure.pdf.context import NoticeContext
from portal.infrastructure.pdf.layout import HANDLING, STYLES, Row, banner, free_text_section, label_value_table, para

FORM_CODE = "testshire-notice"
FIELD_KEYS = (
    "date_of_notification",
    "child_name",
    "completed_by_name",
    "completed_by_role",
    "completed_by_agency_team",
    "completed_by_contact",
    "send_to",
    "disagreement",
)


def build_story(context: NoticeContext) -> list[Flowable]:
    rows = [Row("Date of notice", context.value("date_of_notification")), Row("Child", context.value("child_name"))]
    rows += [Row("Sent to", context.value("send_to"))]
    story: list[Flowable] = [
        para("Testshire Escalation Notice", STYLES.title),
        banner(HANDLING),
        label_value_table(rows),
    ]
    story += free_text_section("The disagreement", context.value("disagreement"))
    for record in context.stages:
        story += free_text_section(f"{record.name} ({record.status})", record.response)
    story += free_text_section("Agreed outcome", context.closed("agreed_outcome"))
    return story
