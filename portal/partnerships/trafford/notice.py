"""Trafford (TSSP): "Resolving Professional Disagreements/Escalation Notice" (seed 002).

Every field the seed prints is here, in its order and wording. Fields the seed does not print, proposed here
and open to the partnership's adjustment (✱ in docs/procedures.md#trafford-notice):
- the child's name, date of birth and NHS number, all optional: the seed form has no child identifiers, but
  the parties need to know which child they disagree about. The TSSP Business Manager's copy withholds them
  (``pseudonymous_copy``);
- which of the seed's "examples of concern" [002:6-13] comes closest, so the TSSP can count them;
- which informal stages have taken place, the stage the notice is raised at, and why, for a notice that goes
  "straight to stage 3-4 if resolution requires this level of response" [002:29].

"Escalation with which team/agency" is the seed's; answering it with a directory contact, so the portal can
route the notice, is the portal's reading (the seed has no contact list).

Not asked when the notice is raised: "What were the outcomes of stage 3 and any outstanding issues", "Has an
outcome been agreed and debrief taken place" and "Were any general issues identified…". They print from the
stage records and closure (``portal.partnerships.trafford.layout``).
"""

from __future__ import annotations

from typing import Any

from portal.domain.categories import CodeList
from portal.domain.notice_definition import Entry, NoticeDefinition, Section

FORM_CODE = "trafford-resolution-notice"

# [002:75-80] "(please check box)": one box.
LEVELS_OF_NEED: tuple[tuple[str, str], ...] = (
    (
        "referral-enquiry",
        "At Referral/Enquiry Stage, (for example, the level of need, disagreement about whether to accept a "
        "referral into any partner agency or progress to strategy meeting)",
    ),
    ("child-in-need", "Children supported under a Child in Need Plan (progress / agreement / dissent)"),
    ("child-protection", "Children supported under a Child Protection Plan (progress / agreement / dissent)"),
    ("cared-for", "Children supported who cared for or care experienced (progress / agreement / dissent)"),
    ("icpc", "Initial Child Protection Conference (agreement / dissent)"),
)

# [002:6-13] "Examples where practitioners have concerns ... they perceive other practitioners are": the seed
# lists them as examples, not boxes; asking for the closest one (or "other") is a proposal (✱).
CONCERNS: tuple[tuple[str, str], ...] = (
    ("not-recognising-need", "Not recognising need or the signs of harm"),
    ("not-sharing-information", "Not sharing information about a child's welfare"),
    ("not-accepting-referrals", "Not accepting referrals for services"),
    ("not-delivering-to-threshold", "Not delivering services according to the threshold of need"),
    ("not-co-operating", "Not co-operating in delivering planned interventions"),
    ("not-attending", "Not attending Core Groups or TAC meetings"),
    ("plans-minutes-late", "Not producing Plans or minutes quickly enough"),
    (
        "not-fulfilling-roles",
        "Not fulfilling their roles and responsibilities as defined in Working Together to Safeguard Children",
    ),
    ("other", "Something else"),
)

# Both lists mapped to the common taxonomy (docs/categories.md#trafford).
LEVEL_OF_NEED_LIST = CodeList(
    "level_of_need",
    "Level of need",
    LEVELS_OF_NEED,
    common={
        "referral-enquiry": "thresholds",
        "child-in-need": "plan-progress",
        "child-protection": "plan-progress",
        "cared-for": "looked-after-care-planning",
        "icpc": "cp-conference",
    },
)
CONCERN_LIST = CodeList(
    "concern",
    "Example of concern",
    CONCERNS,
    common={
        "not-recognising-need": "thresholds",
        "not-sharing-information": "information-sharing",
        "not-accepting-referrals": "referral-not-accepted",
        "not-delivering-to-threshold": "thresholds",
        "not-co-operating": "plan-progress",
        "not-attending": "attendance-engagement",
        "plans-minutes-late": "timeliness",
        "not-fulfilling-roles": "roles-responsibilities",
        "other": "other",
    },
)

INFORMAL_STAGES: tuple[tuple[str, str], ...] = (
    ("both", "Stages 1 and 2 have taken place"),
    ("stage-1", "Only stage 1 has taken place"),
    ("none", "Neither: going straight to formal escalation"),
)

RAISE_AT_STAGES: tuple[tuple[str, str], ...] = (
    ("stage-3", "Stage 3: formal escalation to the next level of management"),
    ("stage-4", "Stage 4: referral to the Trafford Strategic Safeguarding Partnership"),
)


def skips_a_stage(held: str, stage: str) -> bool:
    """Whether raising at ``stage`` after the informal stages ``held`` goes straight past a stage."""
    return not (held == "both" and stage == "stage-3")


def entry(answers: dict[str, str]) -> Entry:
    """Return where a notice starts: stage 3 after stages 1-2, otherwise straight to stage 3-4 [002:29].

    A stage skipped is skipped from the last stage held; with no informal stage held that is still stage 1,
    the first stage the procedure lets a notice skip from.
    """
    held = answers.get("informal_stages_held") or "both"
    stage = answers.get("raise_at_stage") or "stage-3"
    if not skips_a_stage(held, stage):
        return Entry("stage-3")
    skipped_from = "stage-2" if held == "both" else "stage-1"
    return Entry(stage, skipped_from, answers.get("straight_to_reason", ""))


def prefill(user: Any) -> dict[str, str]:
    """Answer what the portal already knows about the person writing (WCAG 2.2 redundant entry)."""
    return {
        "completed_by_name": user.name,
        "completed_by_role": user.job_title,
        "completed_by_agency_team": user.agency.name if user.agency else "",
        "completed_by_email": user.email,
    }


NOTICE = NoticeDefinition(
    code=FORM_CODE,
    title="Resolving Professional Disagreements/Escalation Notice",
    sections=(
        Section(
            "Outcome Resolution Notice Completed by",
            ("completed_by_name", "completed_by_role", "completed_by_agency_team", "completed_by_email"),
            "completed-by",
        ),
        Section("The notice", ("date_of_notification", "escalation_with"), "notification"),
        Section("The child or young person", ("child_name", "child_dob", "nhs_number"), "child"),
        Section("Level of need", ("level_of_need", "concern"), "level-of-need"),
        Section("Stages 1 and 2", ("informal_stages_held", "raise_at_stage", "straight_to_reason"), "informal-stages"),
        Section("The disagreement", ("problem", "informal_challenge_evidence", "desired_outcome"), "disagreement"),
    ),
    recipient_fields=("escalation_with",),
    initial_stage="stage-3",
    date_of_notification_field="date_of_notification",
    date_fields=("date_of_notification", "child_dob"),
    identifier_fields=("child_name", "child_dob", "nhs_number"),
    prefill=prefill,
    entry=entry,
    pseudonymous_copy=True,
    proposed_fields=(
        "child_name",
        "child_dob",
        "nhs_number",
        "informal_stages_held",
        "raise_at_stage",
        "straight_to_reason",
        "concern",
    ),
    choice_labels={
        "level_of_need": dict(LEVELS_OF_NEED),
        "concern": dict(CONCERNS),
        "informal_stages_held": dict(INFORMAL_STAGES),
        "raise_at_stage": dict(RAISE_AT_STAGES),
    },
    code_lists=(LEVEL_OF_NEED_LIST, CONCERN_LIST),
    caption="Appendix 1",
)
