"""Content of Bolton's "Resolving Professional Differences and Escalation (RPDE) form" (seed 003).

The seed links to the RPDE form without reproducing it, so this layout is a proposal (✱,
docs/procedures.md#bolton-rpde-form) in the seed's words: Part A is Agency A's answers; Part B (Agency B's
response), the BSCP Business Unit's log and Part C (Partnership Resolution) print from the stage records, and
the outcome from the closure.
"""

from __future__ import annotations

from typing import Final

from reportlab.platypus import Flowable, Spacer

from portal.domain.notice_definition import YES_NO
from portal.infrastructure.pdf.context import NoticeContext, StageRecord
from portal.infrastructure.pdf.layout import (
    STYLES,
    Row,
    free_text_section,
    label_value_table,
    notice_heading,
    para,
    section_heading,
)
from portal.partnerships.bolton.notice import REASONS

FORM_CODE: Final = "bolton-rpde"

FIELD_KEYS: Final = (
    "date_of_notification",
    "child_name",
    "child_dob",
    "nhs_number",
    "local_identifier",
    "agency_a",
    "practitioner_name",
    "practitioner_role",
    "practitioner_contact",
    "manager_name",
    "manager_contact",
    "agency_b_spoc",
    "reason",
    "framework_level",
    "issue",
    "desired_outcome",
    "earlier_attempts",
    "informal_timescale",
    "multi_agency_meeting",
    "lead_professional_informed",
)

PARTNERSHIP: Final = "BOLTON SAFEGUARDING CHILDREN PARTNERSHIP"  # [003:3]
TITLE: Final = "Resolving Professional Differences and Escalation (RPDE) form"  # [003:70]
SENT_TO: Final = "Agency A sends this form to Agency B's 'Resolution SPOC' and BSCP."  # [003:70]

PART_A: Final = "Part A: Agency A (Formal Resolution)"
DATE: Final = "Date"
CHILD_NAME: Final = "Child's name"
CHILD_DOB: Final = "Child's date of birth"
NHS_NUMBER: Final = "NHS number"
CASE_NUMBER: Final = "Agency case number"
AGENCY_A: Final = "Agency A"
PRACTITIONER: Final = "Practitioner A"
MANAGER: Final = "Practitioner A's manager"
SPOC: Final = "Agency B's 'Resolution SPOC'"
REASON: Final = "Reason for the difference"
FRAMEWORK_LEVEL: Final = "Level in the Framework for Action"
ISSUE: Final = "The issue that needs to be resolved"
DESIRED_OUTCOME: Final = "The desired outcome for the child/ren"
EARLIER_ATTEMPTS: Final = (
    "Prevention/Early Resolution and Informal Resolution: who tried to resolve the difference, and when"
)
TIMESCALE: Final = "Timescale agreed at Informal Resolution for a response from practitioner B's manager"
MEETING: Final = "Multi-agency meeting proposed"
INFORMED: Final = "Lead Professional, IRO or relevant others informed"

PART_B: Final = "Part B: Agency B's response (within 10 working days)"
RESPONSE_DUE: Final = "Response due"
RESPONDED: Final = "Date of response"
RESPONSE: Final = "Outcome and rationale"
AGREED_ACTIONS: Final = "Agreed actions"

BSCP_LOG: Final = "BSCP Business Unit log"
RECEIVED: Final = "Date received"
ACKNOWLEDGED: Final = "Receipt acknowledged"
DUE: Final = "Response due (10 working days)"
CHASED: Final = "Followed up"
STATUS: Final = "Status"

PART_C: Final = "Part C: Partnership Resolution"
FINAL: Final = "Once a resolution is made, there is no further option to escalate."  # [003:79]
REQUESTED_ON: Final = "Date requested"
WHY_REQUESTED: Final = "Why the difference could not be resolved at the formal stage"
PANEL_RESOLUTION: Final = "Resolution of the independent panel"

OUTCOME: Final = "Outcome and learning"
AGREED_OUTCOME: Final = "Agreed outcome"
WRITTEN_CONFIRMATION: Final = "Written confirmation"
IMPACT: Final = "Impact on the child"
DEBRIEF: Final = "Debrief"
LEARNING: Final = "Learning for the BSCP Safeguarding Effectiveness Group (SEG)"  # [003:104]
CLOSED_ON: Final = "Date closed"

# Helvetica has no ballot-box glyphs, so a ticked box prints as text.
TICKED: Final = "[X]"
UNTICKED: Final = "[ ]"


def _boxes(value: str, options: tuple[tuple[str, str], ...], sep: str) -> str:
    """Return every option with a box, ticked for the answer (given as its code or its label)."""
    value = value.strip()
    return sep.join(f"{TICKED if value in (code, label) else UNTICKED} {label}" for code, label in options)


def _person(context: NoticeContext, *keys: str) -> str:
    return "\n".join(text for key in keys if (text := context.value(key)))


def _part_a(context: NoticeContext) -> list[Flowable]:
    table = label_value_table(
        [
            Row(DATE, context.value("date_of_notification")),
            Row(CHILD_NAME, context.value("child_name")),
            Row(CHILD_DOB, context.value("child_dob")),
            Row(NHS_NUMBER, context.value("nhs_number")),
            Row(CASE_NUMBER, context.value("local_identifier")),
            Row(AGENCY_A, context.value("agency_a")),
            Row(PRACTITIONER, _person(context, "practitioner_name", "practitioner_role", "practitioner_contact")),
            Row(MANAGER, _person(context, "manager_name", "manager_contact")),
            Row(SPOC, context.value("agency_b_spoc")),
            Row(REASON, _boxes(context.value("reason"), REASONS, "\n")),
            Row(FRAMEWORK_LEVEL, context.value("framework_level")),
            Row(TIMESCALE, context.value("informal_timescale")),
            Row(MEETING, _boxes(context.value("multi_agency_meeting"), YES_NO, "    ")),
            Row(INFORMED, _boxes(context.value("lead_professional_informed"), YES_NO, "    ")),
        ]
    )
    return [
        section_heading(PART_A),
        Spacer(1, 6),
        table,
        Spacer(1, 12),
        *free_text_section(ISSUE, context.value("issue")),
        *free_text_section(DESIRED_OUTCOME, context.value("desired_outcome")),
        *free_text_section(EARLIER_ATTEMPTS, context.value("earlier_attempts")),
    ]


def _part_b_and_log(context: NoticeContext) -> list[Flowable]:
    record = context.stage("formal-resolution")
    # [003:73] Agency B responds "within 10 working days"; the due date is counted from the form being sent.
    due = f"due within 10 working days: {record.due}" if record and record.due else ""
    part_b = label_value_table(
        [
            Row(RESPONSE_DUE, due),
            Row(RESPONDED, record.responded if record else ""),
            Row(RESPONSE, record.response if record else ""),
            Row(AGREED_ACTIONS, record.agreed_actions if record else ""),
        ]
    )
    # [003:91-97] The Business Unit logs, acknowledges, tracks and follows up late responses.
    log = label_value_table(
        [
            Row(RECEIVED, record.started if record else ""),
            Row(ACKNOWLEDGED, record.acknowledged if record else ""),
            Row(DUE, record.due if record else ""),
            Row(CHASED, "\n".join(record.chases) if record else ""),
            Row(STATUS, record.status if record else ""),
        ]
    )
    return [
        section_heading(PART_B),
        Spacer(1, 6),
        part_b,
        Spacer(1, 12),
        section_heading(BSCP_LOG),
        Spacer(1, 6),
        log,
        Spacer(1, 12),
    ]


def _part_c(context: NoticeContext) -> list[Flowable]:
    formal, partnership = context.stage("formal-resolution"), context.stage("partnership-resolution")
    table = label_value_table(
        [
            Row(REQUESTED_ON, partnership.started if partnership else ""),
            Row(WHY_REQUESTED, formal.escalation_reason if formal and partnership else ""),
            Row(PANEL_RESOLUTION, _panel(partnership)),
        ]
    )
    return [section_heading(PART_C), Spacer(1, 4), para(FINAL, STYLES.hint), Spacer(1, 4), table, Spacer(1, 12)]


def _panel(record: StageRecord | None) -> str:
    """The panel's resolution and the actions it agreed."""
    if record is None:
        return ""
    actions = f"Actions agreed: {record.agreed_actions}" if record.agreed_actions else ""
    return "\n".join(part for part in (record.response, actions) if part)


def _outcome(context: NoticeContext) -> list[Flowable]:
    # The closure is printed on its own: a difference may close at Formal Resolution, without a Part C.
    table = label_value_table(
        [
            Row(AGREED_OUTCOME, context.closed("agreed_outcome")),
            Row(WRITTEN_CONFIRMATION, context.closed("written_confirmation")),
            Row(IMPACT, context.closed("impact_on_child")),
            Row(DEBRIEF, context.closed("debrief")),
            Row(LEARNING, context.closed("learning")),
            Row(CLOSED_ON, context.closed("closed_on")),
        ]
    )
    return [section_heading(OUTCOME), Spacer(1, 6), table]


def build_story(context: NoticeContext) -> list[Flowable]:
    """Return the flowables for one Bolton RPDE form."""
    return [
        *notice_heading(
            TITLE,
            above=PARTNERSHIP,
            note=SENT_TO,
            partnership_name=context.partnership_name,
            version_line=f"Version {context.version}, issued {context.issued_display}",
        ),
        Spacer(1, 10),
        *_part_a(context),
        *_part_b_and_log(context),
        *_part_c(context),
        *_outcome(context),
    ]
