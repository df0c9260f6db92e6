"""Content of Pan Cheshire's "Appendix A - Form for submitting professional challenge cases for escalation and
resolution to the Local Safeguarding Children's Partnership" (seed 001).

The seed prints only the title, so the labels are the proposals of ``portal.partnerships.pan_cheshire.notice`` (✱ in
docs/procedures.md#pan-cheshire-appendix-a). The form is started at Step 3; the Step 3 block, the written
representations and the Partnership's part fill in from the stage records and closure as the notice moves on.
"""

from __future__ import annotations

from typing import Final

from reportlab.platypus import Flowable, Spacer

from portal.infrastructure.pdf.context import NoticeContext, StageRecord
from portal.infrastructure.pdf.layout import Row, free_text_section, label_value_table, notice_heading

FORM_CODE: Final = "pan-cheshire-appendix-a"

FIELD_KEYS: Final = (
    "submitted_by_name",
    "submitted_by_role",
    "submitted_by_agency",
    "submitted_by_contact",
    "representative_1",
    "representative_2",
    "child_name",
    "child_dob",
    "nhs_number",
    "lead_professional",
    "problem",
    "challenge_nature",
    "challenge_aim",
    "step1_date",
    "step1_summary",
    "step2_summary",
    "step3_participants",
    "date_of_notification",
    "significant_risk",
    "front_door_contacted",
    "meeting_requested",
)

APPENDIX: Final = "Appendix A"
TITLE: Final = (
    "Form for submitting professional challenge cases for escalation and resolution to the Local Safeguarding "
    "Children's Partnership"
)

SUBMITTED_BY: Final = "Submitted by"
NAME: Final = "Name"
ROLE: Final = "Role"
AGENCY: Final = "Agency"
CONTACT: Final = "Contact details"
AGENCIES: Final = "Agencies involved"
REPRESENTATIVE_1: Final = "The other agency's Safeguarding Partnership representative"
REPRESENTATIVE_2: Final = "Second Safeguarding Partnership representative"
CHILD: Final = "The child or family"
CHILD_NAME: Final = "Name of child or young person"
CHILD_DOB: Final = "Date of birth"
NHS_NUMBER: Final = "NHS number"
LEAD_PROFESSIONAL: Final = "Allocated lead professional or social worker"
PROBLEM: Final = "Identify explicitly what the problem is"
NATURE: Final = "The nature of the professional challenge"
AIM: Final = "What the challenge aims to achieve"
STEP_1_DATE: Final = "Step 1 (Day 1): date the issue was raised with the other agency"
STEP_1_SUMMARY: Final = "Step 1: what happened"
STEP_2_SUMMARY: Final = "Step 2: who took part, when, and the outcome"
STEPS_TAKEN: Final = "Steps taken"
STEP_3_PARTICIPANTS: Final = "Step 3: who is taking part"
RISK: Final = "Current risk"
SIGNIFICANT_RISK: Final = "Is the child considered at significant risk?"
FRONT_DOOR: Final = "Has the local authority children's social care front door been contacted?"
MEETING: Final = "Is a meeting of the involved parties requested?"

STEP_3: Final = "Step 3: Safeguarding Partnership representative"
STEP_3_STARTED: Final = "Date Step 3 started"
STEP_3_DUE: Final = "To conclude by (Day 14)"
STEP_3_SENT_TO: Final = "Sent to"
STEP_3_OUTCOME: Final = "Outcome of Step 3"
STEP_3_ACTIONS: Final = "Actions agreed"
REPRESENTATIONS: Final = "Written representations"
OTHER_PARTY: Final = "The other agency's representation (its response at Step 3)"
SUBMITTING_PARTY: Final = "The submitting agency's representation (why it was escalated to Step 4)"

PARTNERSHIP_USE: Final = "For Safeguarding Partnership use"
RECEIVED: Final = "Date received by the Safeguarding Partnership Manager"
STEP_4_DUE: Final = "To conclude by (Day 21)"
RECOMMENDATION: Final = "Recommendation of the Statutory Partners"
AGREED_OUTCOME: Final = "Agreed outcome"
FEEDBACK: Final = "Written confirmation of the outcome, fed back to the practitioner who raised the concern"
CONCLUDED: Final = "Date concluded"
LEARNING: Final = "Learning for the Safeguarding Partnership"
# PROPOSAL (✱, docs/procedures.md#rule-17): the closure's impact on the child and the debrief, recorded by the portal.
IMPACT: Final = "How the resolution improved the outcome for the child or family"
DEBRIEF: Final = "Has a debrief taken place?"


def _joined(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


def _step3_outcome(record: StageRecord | None) -> str:
    """Say how Step 3 ended; blank while it is open, as on paper."""
    if record is None or not record.ended:
        return ""
    if record.status == "Escalated":
        return f"Escalated to Step 4 on {record.ended}"
    return f"{record.status} on {record.ended}"


def build_story(context: NoticeContext) -> list[Flowable]:
    """Return the flowables for one Appendix A notice."""
    step3 = context.stage("step-3")
    step4 = context.stage("step-4")
    details = label_value_table(
        [
            Row(SUBMITTED_BY, None),
            Row(NAME, context.value("submitted_by_name")),
            Row(ROLE, context.value("submitted_by_role")),
            Row(AGENCY, context.value("submitted_by_agency")),
            Row(CONTACT, context.value("submitted_by_contact")),
            Row(AGENCIES, None),
            Row(REPRESENTATIVE_1, context.value("representative_1")),
            Row(REPRESENTATIVE_2, context.value("representative_2")),
            Row(CHILD, None),
            Row(CHILD_NAME, context.value("child_name")),
            Row(CHILD_DOB, context.value("child_dob")),
            Row(NHS_NUMBER, context.value("nhs_number")),
            Row(LEAD_PROFESSIONAL, context.value("lead_professional")),
        ]
    )
    steps = label_value_table(
        [
            Row(STEPS_TAKEN, None),
            Row(STEP_1_DATE, context.value("step1_date")),
            Row(STEP_1_SUMMARY, context.value("step1_summary")),
            Row(STEP_2_SUMMARY, context.value("step2_summary")),
            Row(STEP_3_PARTICIPANTS, context.value("step3_participants")),
        ]
    )
    risk = label_value_table(
        [
            Row(RISK, None),
            Row(SIGNIFICANT_RISK, context.value("significant_risk")),
            Row(FRONT_DOOR, context.value("front_door_contacted")),
            Row(MEETING, context.value("meeting_requested")),
        ]
    )
    step3_block = label_value_table(
        [
            Row(STEP_3, None),
            # The notice's own date is when Step 3 started; the stage record agrees once the notice is raised.
            Row(STEP_3_STARTED, step3.started if step3 else context.value("date_of_notification")),
            Row(STEP_3_DUE, step3.due if step3 else ""),
            Row(STEP_3_SENT_TO, step3.sent_to if step3 else ""),
            Row(STEP_3_OUTCOME, _step3_outcome(step3)),
            Row(STEP_3_ACTIONS, step3.agreed_actions if step3 else ""),
        ]
    )
    # PROPOSAL (✱): the Statutory Partners' request for written representation is answered from the Step 3
    # record: the other agency's response there, and the submitting agency's reason for escalating.
    representations = label_value_table(
        [
            Row(REPRESENTATIONS, None),
            Row(OTHER_PARTY, step3.response if step3 else ""),
            Row(SUBMITTING_PARTY, step3.escalation_reason if step3 else ""),
        ]
    )
    partnership = label_value_table(
        [
            Row(PARTNERSHIP_USE, None),
            Row(RECEIVED, step4.started if step4 else ""),
            Row(STEP_4_DUE, step4.due if step4 else ""),
            Row(RECOMMENDATION, _joined(step4.response, step4.agreed_actions) if step4 else ""),
            Row(AGREED_OUTCOME, context.closed("agreed_outcome")),
            Row(IMPACT, context.closed("impact_on_child")),
            Row(DEBRIEF, context.closed("debrief")),
            # PROPOSAL: the written confirmation of the outcome is what the portal sends the practitioner on close.
            Row(FEEDBACK, context.closed("written_confirmation")),
            Row(CONCLUDED, context.closed("closed_on")),
            Row(LEARNING, context.closed("learning")),
        ]
    )
    return [
        *notice_heading(
            TITLE,
            above=APPENDIX,
            partnership_name=context.partnership_name,
            version_line=f"Version {context.version}, issued {context.issued_display}",
        ),
        Spacer(1, 10),
        details,
        Spacer(1, 12),
        *free_text_section(PROBLEM, context.value("problem")),
        *free_text_section(NATURE, context.value("challenge_nature")),
        *free_text_section(AIM, context.value("challenge_aim")),
        steps,
        Spacer(1, 12),
        risk,
        Spacer(1, 12),
        step3_block,
        Spacer(1, 12),
        representations,
        Spacer(1, 12),
        partnership,
    ]
