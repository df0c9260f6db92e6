"""Content of Halton's escalation record under the 2013 "Escalation Policy Resolution Pathways" (seed 004, legacy).

The policy has no form: the labels are the proposals of ``portal.partnerships.halton.notice`` (✱ in
docs/procedures.md#halton-record), except the Appendix A tier names and the closing sentences, which are the
seed's. Each tier's row fills in from its stage record; the closing part from the closure.
"""

from __future__ import annotations

from typing import Final

from reportlab.platypus import Flowable, Spacer

from portal.infrastructure.pdf.context import NoticeContext, StageRecord
from portal.infrastructure.pdf.layout import (
    STYLES,
    Row,
    free_text_section,
    grid_table,
    label_value_table,
    notice_heading,
    para,
    section_heading,
)

FORM_CODE: Final = "halton-2013-record"

FIELD_KEYS: Final = (
    "date_of_notification",
    "child_name",
    "child_dob",
    "nhs_number",
    "completed_by_name",
    "completed_by_role",
    "completed_by_agency_team",
    "completed_by_contact",
    "other_agency",
    "disagreement_area",
    "problem",
    "workers_aims",
    "practitioner_level",
)

TITLE: Final = "Escalation record"
LEGACY_CAPTION: Final = (
    "Halton Safeguarding Children Board, Escalation Policy Resolution Pathways, revised September 2013 (legacy policy)"
)

DATE_RAISED: Final = "Date raised"
CHILD_NAME: Final = "Name of child or young person"
CHILD_DOB: Final = "Date of birth"
NHS_NUMBER: Final = "NHS number"
RAISED_BY: Final = "Raised by"
NAME: Final = "Name"
ROLE: Final = "Role"
AGENCY_TEAM: Final = "Agency/Team"
CONTACT_DETAILS: Final = "Contact Details"
OTHER_AGENCY: Final = "The other agency involved"
AREA: Final = "What the disagreement is about"
PROBLEM: Final = "Identify explicitly what the problem is"
AIMS: Final = "What the respective workers aim to achieve"
PRACTITIONER_LEVEL: Final = "What was tried at practitioner/case worker level, and the outcome"

TIERS_HEADING: Final = "Escalation through the Appendix A tiers"
# Stage codes of ``portal.partnerships.halton.procedure`` and the seed's Appendix A headings, in escalation order.
TIERS: Final = (
    ("manager-named-professional", "Manager/Named Professional Safeguarding"),
    ("next-level-management", "Next Level Management"),
    ("hscb-representative", "HSCB Representative for Agency"),
    ("mascu-manager", "Multi-Agency Safeguarding Children's Unit Manager"),
)
TIER: Final = "Tier"
DATE_REACHED: Final = "Date reached"
SENT_TO: Final = "Sent to"
OUTCOME: Final = "Outcome"
ENDED: Final = "Ended / reason escalated"
NOT_REACHED: Final = "Not reached"

WRITTEN_CONFIRMATION: Final = "Written confirmation of the agreed outcome and how outstanding issues will be pursued"
AGREED_OUTCOME: Final = "Outcome"
IMPACT: Final = "Impact on the child"
DEBRIEF: Final = "Debrief held"
LEARNING: Final = "General issues referred to the Multi Agency Safeguarding Children's Unit"
DATE_CLOSED: Final = "Date closed"
# Seed 004, the flow chart page.
MASCU_REPORTS: Final = (
    "Where HSCB representatives are unable to resolve the matter the issue should be referred to the "
    "Multi-Agency Safeguarding Children's Unit Manager, who will determine a course of action; this will include "
    "reporting to the HSCB Chair."
)


def _joined(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


def _tier_row(record: StageRecord | None) -> list[str]:
    """Return (date reached, sent to, outcome, ended / reason escalated) for one tier."""
    if record is None:
        return [NOT_REACHED, "", "", ""]
    outcome = _joined(
        f"Earlier tiers passed over: {record.skip_reason}" if record.skip_reason else "",
        record.response,
        f"Agreed actions: {record.agreed_actions}" if record.agreed_actions else "",
    )
    escalated = f"Escalated: {record.escalation_reason}" if record.escalation_reason else ""
    return [record.started, record.sent_to, outcome, _joined(record.ended, escalated)]


def build_story(context: NoticeContext) -> list[Flowable]:
    """Return the flowables for one Halton escalation record."""
    details = label_value_table(
        [
            Row(DATE_RAISED, context.value("date_of_notification")),
            Row(CHILD_NAME, context.value("child_name")),
            Row(CHILD_DOB, context.value("child_dob")),
            Row(NHS_NUMBER, context.value("nhs_number")),
            Row(RAISED_BY, None),
            Row(NAME, context.value("completed_by_name")),
            Row(ROLE, context.value("completed_by_role")),
            Row(AGENCY_TEAM, context.value("completed_by_agency_team")),
            Row(CONTACT_DETAILS, context.value("completed_by_contact")),
            Row(OTHER_AGENCY, context.value("other_agency")),
            Row(AREA, context.value("disagreement_area")),
        ]
    )
    tiers = grid_table(
        [TIER, DATE_REACHED, SENT_TO, OUTCOME, ENDED],
        [(name, _tier_row(context.stage(code))) for code, name in TIERS],
        fractions=(0.2, 0.14, 0.2, 0.28, 0.18),
    )
    closure = label_value_table(
        [
            Row(AGREED_OUTCOME, context.closed("agreed_outcome")),
            Row(IMPACT, context.closed("impact_on_child")),
            Row(DEBRIEF, context.closed("debrief")),
            Row(LEARNING, context.closed("learning")),
            Row(DATE_CLOSED, context.closed("closed_on")),
        ]
    )
    return [
        *notice_heading(
            TITLE,
            captions=(LEGACY_CAPTION,),
            partnership_name=context.partnership_name,
            version_line=f"Version {context.version}, issued {context.issued_display}",
        ),
        Spacer(1, 10),
        details,
        Spacer(1, 12),
        *free_text_section(PROBLEM, context.value("problem")),
        *free_text_section(AIMS, context.value("workers_aims")),
        *free_text_section(PRACTITIONER_LEVEL, context.value("practitioner_level")),
        section_heading(TIERS_HEADING),
        tiers,
        Spacer(1, 12),
        *free_text_section(WRITTEN_CONFIRMATION, context.closed("written_confirmation")),
        closure,
        Spacer(1, 8),
        para(MASCU_REPORTS, STYLES.hint),
    ]
