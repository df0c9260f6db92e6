"""Content of Trafford's "Resolving Professional Disagreements/Escalation Notice" (seed 002).

Labels, their wording and their order follow the partnership's published form; styling and page furniture
come from ``portal.infrastructure.pdf.layout``. The last three boxes of the seed form are filled from the stage
records and closure, not from the answers. Blocks marked PROPOSAL print what the seed form does not have (✱).
"""

from __future__ import annotations

from typing import Final

from reportlab.platypus import Flowable, Spacer

from portal.infrastructure.pdf.context import WITHHELD, NoticeContext
from portal.infrastructure.pdf.layout import (
    STYLES,
    Row,
    free_text,
    free_text_section,
    label_value_table,
    notice_heading,
    para,
    section_heading,
)
from portal.partnerships.trafford.notice import INFORMAL_STAGES, LEVELS_OF_NEED, RAISE_AT_STAGES

FORM_CODE: Final = "trafford-resolution-notice"

FIELD_KEYS: Final = (
    "completed_by_name",
    "completed_by_role",
    "completed_by_agency_team",
    "completed_by_email",
    "date_of_notification",
    "escalation_with",
    "child_name",
    "child_dob",
    "nhs_number",
    "level_of_need",
    "concern",
    "informal_stages_held",
    "raise_at_stage",
    "straight_to_reason",
    "problem",
    "informal_challenge_evidence",
    "desired_outcome",
)
IDENTIFIER_KEYS: Final = ("child_name", "child_dob", "nhs_number")

TITLE: Final = "Resolving Professional Disagreements/Escalation Notice"
COPY_TO_BUSINESS_MANAGER: Final = (
    "A copy of this escalation notice should be shared with the TSSP Business Manager tssp@trafford.gov.uk."
)
RECORD_KEPT: Final = "A clear record should be kept by everyone at all stages"
COMPLETED_BY: Final = "Outcome Resolution Notice Completed by:"
NAME: Final = "Name:"
ROLE: Final = "Role:"
AGENCY_TEAM: Final = "Agency/Team:"
EMAIL: Final = "Email:"
DATE_OF_NOTIFICATION: Final = "Date of notification:"
ESCALATION_WITH: Final = "Escalation with which team/agency:"
LEVEL_OF_NEED: Final = (
    "Disagreement and / or lack of progress in respect to children at different level of needs (please check box)"
)
PROBLEM: Final = "Explicitly identify the problem and clarify the nature of the disagreement"
INFORMAL_EVIDENCE: Final = (
    "Evidence of the informal challenge that has taken place at stages 1-2 and the outcome of this challenge"
)
DESIRED_OUTCOME: Final = (
    "Desired outcome for the child and / or family. Please include details of what it is you are requesting "
    "happens because of this challenge"
)
STAGE_3_OUTCOMES: Final = "What were the outcomes of stage 3 and any outstanding issues"
OUTCOME_AND_DEBRIEF: Final = "Has an outcome been agreed and debrief taken place"
GENERAL_ISSUES: Final = (
    "Were any general issues identified, do these need to be considered within the TSSP to inform learning and "
    "improvement."
)

# PROPOSAL labels (✱): the seed form has no child identifiers, no stage choice and no stage 4 block.
CHILD: Final = "Child or young person (not on the TSSP form)"
CHILD_NAME: Final = "Name of child/young person"
CHILD_DOB: Final = "Date of birth"
NHS_NUMBER: Final = "NHS number"
STAGES_HELD: Final = "Informal stages that have taken place"
RAISED_AT: Final = "Stage this notice was raised at"
STAGE_4: Final = "Stage 4: Trafford Strategic Safeguarding Partnership"
STAGE_4_REFERRED: Final = "Date formally referred to the TSSP"
STAGE_4_OUTCOME: Final = "Outcome from the TSSP's independent advisor"

# Helvetica has no ballot-box glyphs, so a ticked box prints as text.
TICKED: Final = "[X]"
UNTICKED: Final = "[ ]"


def _box(ticked: bool, label: str) -> str:
    return f"{TICKED if ticked else UNTICKED} {label}"


def _chosen(context: NoticeContext, key: str, options: tuple[tuple[str, str], ...]) -> str:
    """Return the code of the option answered, whether the answer arrives as its code or its label."""
    value = context.value(key).strip()
    for code, label in options:
        if value in (code, label):
            return code
    return ""


def _identifier(context: NoticeContext, key: str) -> str:
    # The TSSP Business Manager's copy never carries the child's identifiers [002:3] (✱).
    return WITHHELD if context.copy == "business-unit" else context.value(key)


def _level_of_need(context: NoticeContext) -> list[Flowable]:
    chosen = _chosen(context, "level_of_need", LEVELS_OF_NEED)
    boxes = [para(_box(code == chosen, label), STYLES.section_body) for code, label in LEVELS_OF_NEED]
    # PROPOSAL (✱): the closest of the seed's examples of concern [002:6-13]; absent on notices raised before.
    concern = context.value("concern")
    closest = [para(f"Closest example of concern: {concern}", STYLES.section_body)] if concern else []
    return [section_heading(LEVEL_OF_NEED), Spacer(1, 5), *boxes, *closest, Spacer(1, 10)]


def _straight_to(context: NoticeContext) -> list[Flowable]:
    """Return "Went straight to stage N: reason" for a notice that skipped a stage, from its entry record."""
    for record in context.stages:
        if record.skip_reason:
            number, reason = record.code.removeprefix("stage-"), record.skip_reason
            break
    else:
        # Before the stage records exist (the first issue of the notice) the answers say the same.
        reason = context.value("straight_to_reason")
        stage = _chosen(context, "raise_at_stage", RAISE_AT_STAGES)
        if not (reason and stage):
            return []
        number = stage.removeprefix("stage-")
    return [*free_text(f"Went straight to stage {number}: {reason}", STYLES.section_body), Spacer(1, 10)]


def _stage_3_outcomes(context: NoticeContext) -> str:
    record = context.stage("stage-3")
    if record is None:
        return ""
    parts = (
        ("Outcome", record.response),
        ("Agreed actions", record.agreed_actions),
        ("Outstanding issues", record.escalation_reason),
    )
    return "\n".join(f"{label}: {text}" for label, text in parts if text)


def _outcome_and_debrief(context: NoticeContext) -> list[Flowable]:
    """Return the Yes/No boxes: Yes once an outcome is agreed and a debrief held; blank while undecided."""
    agreed, debrief = context.closed("agreed_outcome"), context.closed("debrief")
    decided = bool(agreed or debrief or context.closed("closed_on"))
    held = bool(agreed) and bool(debrief) and debrief.strip().lower() not in ("no", "none", "not held")
    boxes = f"{_box(decided and held, 'Yes')}    {_box(decided and not held, 'No')}"
    details = [
        f"{label}: {text}"
        for label, text in (
            ("Agreed outcome", agreed),
            ("Written confirmation", context.closed("written_confirmation")),
            ("Impact on the child", context.closed("impact_on_child")),
            ("Debrief", debrief if debrief.strip().lower() not in ("yes", "no") else ""),
            ("Closed on", context.closed("closed_on")),
        )
        if text
    ]
    return [
        section_heading(OUTCOME_AND_DEBRIEF),
        Spacer(1, 5),
        para(boxes, STYLES.section_body),
        *free_text("\n".join(details), STYLES.section_body),
        Spacer(1, 10),
    ]


def _stage_4(context: NoticeContext) -> list[Flowable]:
    # PROPOSAL (✱): the seed's stage 4 is the TSSP's independent advisor [002:40-42]; the form has no box for it.
    record = context.stage("stage-4")
    if record is None:
        return []
    rows = [Row(STAGE_4, None), Row(STAGE_4_REFERRED, record.started), Row(STAGE_4_OUTCOME, record.response)]
    if record.agreed_actions:
        rows.append(Row("Agreed actions", record.agreed_actions))
    return [label_value_table(rows), Spacer(1, 12)]


def build_story(context: NoticeContext) -> list[Flowable]:
    """Return the flowables for one Trafford escalation notice."""
    details = label_value_table(
        [
            Row(COMPLETED_BY, None),
            Row(NAME, context.value("completed_by_name")),
            Row(ROLE, context.value("completed_by_role")),
            Row(AGENCY_TEAM, context.value("completed_by_agency_team")),
            Row(EMAIL, context.value("completed_by_email")),
            Row(DATE_OF_NOTIFICATION, context.value("date_of_notification")),
            Row(ESCALATION_WITH, context.value("escalation_with")),
            Row(CHILD, None),
            Row(CHILD_NAME, _identifier(context, "child_name")),
            Row(CHILD_DOB, _identifier(context, "child_dob")),
            Row(NHS_NUMBER, _identifier(context, "nhs_number")),
        ]
    )
    stages = label_value_table(
        [
            Row(STAGES_HELD, dict(INFORMAL_STAGES).get(_chosen(context, "informal_stages_held", INFORMAL_STAGES), "")),
            Row(RAISED_AT, dict(RAISE_AT_STAGES).get(_chosen(context, "raise_at_stage", RAISE_AT_STAGES), "")),
        ]
    )
    return [
        *notice_heading(
            TITLE,
            note=COPY_TO_BUSINESS_MANAGER,
            partnership_name=context.partnership_name,
            version_line=f"Version {context.version}, issued {context.issued_display}",
        ),
        Spacer(1, 4),
        para(RECORD_KEPT, STYLES.hint),
        Spacer(1, 8),
        details,
        Spacer(1, 12),
        *_level_of_need(context),
        *free_text_section(PROBLEM, context.value("problem")),
        stages,
        Spacer(1, 8),
        *_straight_to(context),
        *free_text_section(INFORMAL_EVIDENCE, context.value("informal_challenge_evidence")),
        *free_text_section(DESIRED_OUTCOME, context.value("desired_outcome")),
        *free_text_section(STAGE_3_OUTCOMES, _stage_3_outcomes(context)),
        *_stage_4(context),
        *_outcome_and_debrief(context),
        *free_text_section(GENERAL_ISSUES, context.closed("learning")),
    ]
