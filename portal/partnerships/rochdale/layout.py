"""Content of Rochdale's "APPENDIX 1 Professional Challenge / Outcome Resolution Notice".

Labels, their wording and their order follow the partnership's published form
exactly; styling and page furniture come from ``portal.infrastructure.pdf.layout``.
"""

from __future__ import annotations

from typing import Final

from reportlab.platypus import Flowable, Spacer

from portal.infrastructure.pdf.context import NoticeContext, StageRecord
from portal.infrastructure.pdf.layout import Row, free_text_section, grid_table, label_value_table, notice_heading

FORM_CODE: Final = "rochdale-appendix-1"

# The answers this layout prints. The Stage 3 / Stage 4 rows come from the stage records and closure.
FIELD_KEYS: Final = (
    "date_of_notification",
    "child_name",
    "child_dob",
    "nhs_number",
    "p_number",
    "completed_by_name",
    "completed_by_role",
    "completed_by_agency_team",
    "completed_by_contact",
    "sent_to_1",
    "sent_to_2",
    "summary_of_disagreement",
    "informal_challenge_evidence",
    "desired_outcome",
)

APPENDIX: Final = "APPENDIX 1"
TITLE: Final = "Professional Challenge / Outcome Resolution Notice"

DATE_OF_NOTIFICATION: Final = "Date of Notification"
CHILD_NAME: Final = "Name of Child/Young Person"
CHILD_DOB: Final = "D.O.B"
NHS_OR_P_NUMBER: Final = "NHS Number/ P Number"
COMPLETED_BY: Final = "Outcome Resolution Notice Completed by:"
NAME: Final = "Name"
ROLE: Final = "Role"
AGENCY_TEAM: Final = "Agency/Team"
CONTACT_DETAILS: Final = "Contact Details"
SENT_TO: Final = "Notification has been sent to:"
SUMMARY: Final = "Summary of disagreement"
INFORMAL_EVIDENCE: Final = (
    "Evidence of the informal challenge that has taken place at stages 1-2 and the outcome of this challenge"
)
DESIRED_OUTCOME: Final = (
    "Desired outcome for the child and / or family. Please include details of what it is you are "
    "requesting happens as a result of this challenge"
)
STAGE: Final = "Stage"
DATE_RESOLVED: Final = "Date Outcome Resolved"
SUPPORTING_EVIDENCE: Final = "Supporting Evidence"
SUPPORTING_EVIDENCE_HINT: Final = "Embed written confirmation between parties about the agreed outcome"
# PROPOSAL (✱, docs/procedures.md#rule-17): the closure record the seed asks to be kept [000:15], printed below the
# stage rows in the portal's words.
CLOSURE: Final = "Closure"
IMPACT: Final = "How the resolution improved the outcome for the child or family"
DEBRIEF: Final = "Has a debrief taken place?"
LEARNING: Final = "General issues identified for the partnership, to inform learning and improvement"


def _identifier_lines(context: NoticeContext) -> str:
    """Return the NHS and/or P number, one per line, labelled."""
    lines = []
    if nhs := context.value("nhs_number").strip():
        lines.append(f"NHS number: {nhs}")
    if p_number := context.value("p_number").strip():
        lines.append(f"P Number: {p_number}")
    return "\n".join(lines)


def _recipients(context: NoticeContext) -> str:
    # The paper form always shows both numbered slots, even when one is unused.
    return f"1. {context.value('sent_to_1')}\n2. {context.value('sent_to_2')}"


def _stage_row(context: NoticeContext, code: str) -> list[str]:
    """Return (Date Outcome Resolved, Supporting Evidence) for a stage row, filled as the stage resolves.

    A stage resolved by agreement (the notice closed there) prints the closure date and the written
    confirmation between the parties; a stage that ended by escalation was not resolved, so its "Date
    Outcome Resolved" stays blank and the evidence column says when and why it was escalated, with the
    response and actions agreed there. An open stage prints blank, as on paper, until it is answered: the
    version issued at the response is the record of that response, so it prints it (dated, and marked as not
    yet resolved) rather than waiting for the stage to end.
    """
    record: StageRecord | None = context.stage(code)
    if record is None:
        return ["", ""]
    actions = f"Actions agreed: {record.agreed_actions}" if record.agreed_actions else ""
    if not record.ended:
        if not record.response:
            return ["", ""]
        answered = f"Open: response recorded on {record.responded}." if record.responded else "Open."
        return ["", "\n".join(p for p in (answered, f"Response: {record.response}", actions) if p)]
    if record.status == "Escalated":
        parts = [
            f"Not resolved: escalated on {record.ended}.",
            f"Response: {record.response}" if record.response else "",
            actions,
            f"Escalated because: {record.escalation_reason}",
        ]
        return ["", "\n".join(p for p in parts if p)]
    evidence = context.closed("written_confirmation") or record.response
    outcome = context.closed("agreed_outcome")
    parts = [f"Agreed outcome: {outcome}" if outcome else "", evidence, actions]
    return [record.ended, "\n".join(p for p in parts if p)]


def build_story(context: NoticeContext) -> list[Flowable]:
    """Return the flowables for one Appendix 1 notice."""
    details = label_value_table(
        [
            Row(DATE_OF_NOTIFICATION, context.value("date_of_notification")),
            Row(CHILD_NAME, context.value("child_name")),
            Row(CHILD_DOB, context.value("child_dob")),
            Row(NHS_OR_P_NUMBER, _identifier_lines(context)),
            Row(COMPLETED_BY, None),
            Row(NAME, context.value("completed_by_name")),
            Row(ROLE, context.value("completed_by_role")),
            Row(AGENCY_TEAM, context.value("completed_by_agency_team")),
            Row(CONTACT_DETAILS, context.value("completed_by_contact")),
            Row(SENT_TO, _recipients(context)),
        ]
    )
    stages = grid_table(
        [STAGE, DATE_RESOLVED, f"{SUPPORTING_EVIDENCE}\n{SUPPORTING_EVIDENCE_HINT}"],
        [
            ("Stage 3", _stage_row(context, "stage-3")),
            ("Stage 4", _stage_row(context, "stage-4")),
        ],
        fractions=(0.16, 0.24, 0.60),
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
        *free_text_section(SUMMARY, context.value("summary_of_disagreement")),
        *free_text_section(INFORMAL_EVIDENCE, context.value("informal_challenge_evidence")),
        *free_text_section(DESIRED_OUTCOME, context.value("desired_outcome")),
        stages,
        *_closure(context),
    ]


def _closure(context: NoticeContext) -> list[Flowable]:
    """The rest of the closure record, once the notice is closed: impact, debrief and learning."""
    if not context.closed("closed_on"):
        return []
    return [
        Spacer(1, 12),
        label_value_table(
            [
                Row(CLOSURE, None),
                Row(IMPACT, context.closed("impact_on_child")),
                Row(DEBRIEF, context.closed("debrief")),
                Row(LEARNING, context.closed("learning")),
            ]
        ),
    ]
