"""Trafford (TSSP): "Resolving Professional Disagreements/Escalation Notice" (seed 002).

Every field the seed prints is here, in its order and wording. Fields the seed does not print, proposed here
and open to the partnership's adjustment (✱ in docs/procedures.md#trafford-notice):
- the child's name, date of birth and NHS number, all optional: the seed form has no child identifiers, but
  the parties need to know which child they disagree about. The TSSP Business Manager's copy withholds them
  (``pseudonymous_copy``);
- which informal stages have taken place, the stage the notice is raised at, and why, for a notice that goes
  "straight to stage 3-4 if resolution requires this level of response" [002:29].

"Escalation with which team/agency" is the seed's; answering it with a directory contact, so the portal can
route the notice, is the portal's reading (the seed has no contact list).

Not asked when the notice is raised: "What were the outcomes of stage 3 and any outstanding issues", "Has an
outcome been agreed and debrief taken place" and "Were any general issues identified…". They print from the
stage records and closure (``portal.pdf.notices.trafford_resolution_notice``).
"""

from __future__ import annotations

import re
from typing import Any

from wtforms import ValidationError

from portal.forms.base import (
    CompletedByMixin,
    Entry,
    NoticeFormDefinition,
    PortalForm,
    Section,
    SubmitMixin,
    contact_choice,
    long_text,
    nhs_number_field,
    radio_choice,
    short_text,
)
from portal.forms.fields import GovukDateField

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

INFORMAL_STAGES: tuple[tuple[str, str], ...] = (
    ("both", "Stages 1 and 2 have taken place"),
    ("stage-1", "Only stage 1 has taken place"),
    ("none", "Neither: going straight to formal escalation"),
)

RAISE_AT_STAGES: tuple[tuple[str, str], ...] = (
    ("stage-3", "Stage 3: formal escalation to the next level of management"),
    ("stage-4", "Stage 4: referral to the Trafford Strategic Safeguarding Partnership"),
)

STRAIGHT_TO = "Go straight to stage 3-4 if resolution requires this level of response."  # [002:29]
STRAIGHT_TO_REASON_MESSAGE = "Enter why resolution requires going straight to this stage"
INFORMAL_EVIDENCE_MESSAGE = "Enter the evidence of the informal challenge at stages 1 and 2 and its outcome"

# Deliberately loose: a typo is the sender's to spot on check-your-answers, but a phone number here is not.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class TraffordResolutionNoticeForm(SubmitMixin, PortalForm):
    # The shared completed-by questions, except that Trafford asks for an e-mail address, not contact details.
    completed_by_name = CompletedByMixin.completed_by_name
    completed_by_role = CompletedByMixin.completed_by_role
    completed_by_agency_team = CompletedByMixin.completed_by_agency_team
    completed_by_email = short_text("Email", required="Enter your email address", max_length=254)
    date_of_notification = GovukDateField(
        "Date of notification", subject="Date of notification", not_future=True, description="For example, 27 3 2026"
    )
    escalation_with = contact_choice(
        "Escalation with which team/agency",
        required="Choose the team or agency you are escalating with",
        hint="The contact in the team or agency you disagree with. A copy also goes to the TSSP Business Manager.",
    )
    child_name = short_text(
        "Name of child/young person",
        required=None,
        hint="Optional. The TSSP Business Manager's copy of the notice does not show it.",
    )
    child_dob = GovukDateField(
        "Date of birth",
        subject="Date of birth",
        required=False,
        not_future=True,
        description="Optional. For example, 27 3 2016",
    )
    nhs_number = nhs_number_field(hint="Optional. 10 digits, for example 943 476 5919.")
    level_of_need = radio_choice(
        "Disagreement and / or lack of progress in respect to children at different level of needs (please check box)",
        LEVELS_OF_NEED,
        required="Select the level of need the disagreement is about",
    )
    informal_stages_held = radio_choice(
        "Which informal stages have taken place?",
        INFORMAL_STAGES,
        required="Select which informal stages have taken place",
        hint="Stage 1: practitioner to practitioner. Stage 2: line manager to line manager.",
    )
    raise_at_stage = radio_choice(
        "Which stage are you raising this notice at?",
        RAISE_AT_STAGES,
        required="Select the stage you are raising this notice at",
        hint=STRAIGHT_TO,
    )
    straight_to_reason = long_text(
        "Why does resolution require this level of response?",
        required=None,
        hint="Needed if you are going straight to stage 3 or 4 without completing the stages before it.",
    )
    problem = long_text(
        "Explicitly identify the problem and clarify the nature of the disagreement",
        required="Enter the problem and the nature of the disagreement",
    )
    informal_challenge_evidence = long_text(
        "Evidence of the informal challenge that has taken place at stages 1-2 and the outcome of this challenge",
        required=None,
        hint="Not needed if neither stage 1 nor stage 2 has taken place.",
    )
    desired_outcome = long_text(
        "Desired outcome for the child and / or family. Please include details of what it is you are requesting "
        "happens because of this challenge",
        required="Enter the outcome you want for the child or family",
    )

    def validate_completed_by_email(self, field: Any) -> None:
        if field.data and not _EMAIL.fullmatch(field.data):
            raise ValidationError("Enter an email address in the correct format, like name@example.com")

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        held, stage = self.informal_stages_held.data, self.raise_at_stage.data
        if held != "none" and not self.informal_challenge_evidence.data:
            self.informal_challenge_evidence.errors.append(INFORMAL_EVIDENCE_MESSAGE)
            ok = False
        if held in dict(INFORMAL_STAGES) and stage in dict(RAISE_AT_STAGES):
            if _skips_a_stage(held, stage):
                if not self.straight_to_reason.data:
                    self.straight_to_reason.errors.append(STRAIGHT_TO_REASON_MESSAGE)
                    ok = False
            else:
                # A reason for a skip that is not happening would print on the notice as if it were.
                self.straight_to_reason.data = ""
        return ok


def _skips_a_stage(held: str, stage: str) -> bool:
    return not (held == "both" and stage == "stage-3")


def entry(answers: dict[str, str]) -> Entry:
    """Return where a notice starts: stage 3 after stages 1-2, otherwise straight to stage 3-4 [002:29].

    A stage skipped is skipped from the last stage held; with no informal stage held that is still stage 1,
    the first stage the procedure lets a notice skip from.
    """
    held = answers.get("informal_stages_held") or "both"
    stage = answers.get("raise_at_stage") or "stage-3"
    if not _skips_a_stage(held, stage):
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


DEFINITION = NoticeFormDefinition(
    code=FORM_CODE,
    title="Resolving Professional Disagreements/Escalation Notice",
    form_class=TraffordResolutionNoticeForm,
    sections=(
        Section(
            "Outcome Resolution Notice Completed by",
            ("completed_by_name", "completed_by_role", "completed_by_agency_team", "completed_by_email"),
            "completed-by",
        ),
        Section("The notice", ("date_of_notification", "escalation_with"), "notification"),
        Section("The child or young person", ("child_name", "child_dob", "nhs_number"), "child"),
        Section("Level of need", ("level_of_need",), "level-of-need"),
        Section("Stages 1 and 2", ("informal_stages_held", "raise_at_stage", "straight_to_reason"), "informal-stages"),
        Section("The disagreement", ("problem", "informal_challenge_evidence", "desired_outcome"), "disagreement"),
    ),
    recipient_fields=("escalation_with",),
    initial_stage="stage-3",
    date_of_notification_field="date_of_notification",
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
    ),
    choice_labels={
        "level_of_need": dict(LEVELS_OF_NEED),
        "informal_stages_held": dict(INFORMAL_STAGES),
        "raise_at_stage": dict(RAISE_AT_STAGES),
    },
)
