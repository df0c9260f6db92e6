"""The Trafford resolution notice as the browser shows it (what it asks and means: ``notice.py``)."""

from __future__ import annotations

import re
from typing import Any

from wtforms import ValidationError

from portal.partnerships.trafford.notice import (
    CONCERNS,
    INFORMAL_STAGES,
    LEVELS_OF_NEED,
    RAISE_AT_STAGES,
    skips_a_stage,
)
from portal.web.forms.base import (
    CompletedByMixin,
    PortalForm,
    SubmitMixin,
    contact_choice,
    long_text,
    nhs_number_field,
    radio_choice,
    short_text,
)
from portal.web.forms.fields import CHILD_MAX_AGE, GovukDateField, add_error

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
        max_age_years=CHILD_MAX_AGE,
        description="Optional. For example, 27 3 2016",
    )
    nhs_number = nhs_number_field(hint="Optional. 10 digits, for example 943 476 5919.")
    # The seed's "(please check box)" is an instruction for its paper boxes; here a radio button is chosen.
    level_of_need = radio_choice(
        "Disagreement and / or lack of progress in respect to children at different level of needs",
        LEVELS_OF_NEED,
        required="Select the level of need the disagreement is about",
    )
    concern = radio_choice(
        "Which of these comes closest to your concern? The other practitioner or agency is:",
        CONCERNS,
        required="Select the concern that comes closest",
        hint="The TSSP counts these to report on the issues in escalations.",
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
        ok: bool = super().validate(extra_validators)
        held, stage = self.informal_stages_held.data, self.raise_at_stage.data
        if held != "none" and not self.informal_challenge_evidence.data:
            add_error(self.informal_challenge_evidence, INFORMAL_EVIDENCE_MESSAGE)
            ok = False
        if held in dict(INFORMAL_STAGES) and stage in dict(RAISE_AT_STAGES):
            if skips_a_stage(held, stage):
                if not self.straight_to_reason.data:
                    add_error(self.straight_to_reason, STRAIGHT_TO_REASON_MESSAGE)
                    ok = False
            else:
                # A reason for a skip that is not happening would print on the notice as if it were.
                self.straight_to_reason.data = ""
        return ok


FORM = TraffordResolutionNoticeForm
