"""Pan Cheshire Appendix A as the browser shows it (what it asks and means: ``notice.py``)."""

from __future__ import annotations

from typing import Any

from portal.domain.notice_definition import YES_NO
from portal.web.forms.base import (
    PortalForm,
    SubmitMixin,
    contact_choice,
    long_text,
    nhs_number_field,
    radio_choice,
    short_text,
)
from portal.web.forms.fields import CHILD_MAX_AGE, GovukDateField, add_error

FRONT_DOOR_FIRST = (
    "Contact the local authority children's social care front door now: a child at significant risk must be "
    "referred there first, because this form is not a referral"
)


class PanCheshireAppendixAForm(SubmitMixin, PortalForm):
    submitted_by_name = short_text("Name", required="Enter your name")
    submitted_by_role = short_text(
        "Role",
        required="Enter your role, for example Head of Service",
        hint="A senior manager or, for schools, the Chair of Governors alongside the Head Teacher.",
    )
    submitted_by_agency = short_text("Agency", required="Enter your agency")
    submitted_by_contact = short_text(
        "Contact details",
        required="Enter a telephone number or secure email address the Safeguarding Partnership can reach you on",
        max_length=300,
    )
    representative_1 = contact_choice(
        "The other agency's Safeguarding Partnership representative",
        required="Choose the other agency's Safeguarding Partnership representative",
        hint="Your local Safeguarding Partnership manager can tell you who this is.",
    )
    representative_2 = contact_choice(
        "Second Safeguarding Partnership representative",
        required=None,
        hint="Optional: the representative of another agency involved.",
    )
    child_name = short_text("Name of child or young person", required="Enter the child or young person's name")
    child_dob = GovukDateField(
        "Date of birth",
        subject="Date of birth",
        not_future=True,
        max_age_years=CHILD_MAX_AGE,
        description="For example, 27 3 2016",
    )
    nhs_number = nhs_number_field()
    lead_professional = short_text(
        "Allocated lead professional or social worker",
        required=None,
        max_length=300,
        hint="Optional: their name, role and agency.",
    )
    problem = long_text(
        "Identify explicitly what the problem is",
        required="Enter what the problem is",
    )
    challenge_nature = long_text(
        "The nature of the professional challenge",
        required="Enter the nature of the professional challenge",
    )
    challenge_aim = long_text(
        "What the challenge aims to achieve",
        required="Enter what the challenge aims to achieve",
        hint="What the practitioners want to happen for the child or young person.",
    )
    step1_date = GovukDateField(
        "Step 1: date the issue was raised with the other agency",
        subject="Step 1 date",
        not_future=True,
        description="Day 1 of this procedure. For example, 27 3 2026",
    )
    step1_summary = long_text("Step 1: what happened", required="Enter what happened at Step 1")
    step2_summary = long_text(
        "Step 2: who took part, when, and the outcome",
        required="Enter who took part in Step 2, when, and the outcome",
        hint="The line managers or named or designated safeguarding leads who discussed the concerns.",
    )
    step3_participants = long_text(
        "Step 3: who is taking part",
        required="Enter who is taking part in Step 3",
        hint="The senior manager escalating the challenge and the Safeguarding Partnership representatives.",
        max_length=2_000,
    )
    # The date of this notice: the form is started when Step 3 starts.
    date_of_notification = GovukDateField(
        "Step 3: date started", subject="Step 3 start date", not_future=True, description="For example, 27 3 2026"
    )
    significant_risk = radio_choice(
        "Is the child considered at significant risk?",
        YES_NO,
        required="Select yes if the child is considered at significant risk",
    )
    front_door_contacted = radio_choice(
        "Has the local authority children's social care front door been contacted?",
        YES_NO,
        required=None,
        hint="Answer this if the child is considered at significant risk.",
    )
    meeting_requested = radio_choice(
        "Is a meeting of the involved parties requested?",
        YES_NO,
        required="Select yes if a meeting of the involved parties is requested",
    )

    def validate(self, extra_validators: Any = None) -> bool:
        ok: bool = super().validate(extra_validators)
        if self.representative_1.data and self.representative_1.data == self.representative_2.data:
            add_error(self.representative_2, "Choose a different second representative, or leave it blank")
            ok = False
        step1, step3 = self.step1_date.data, self.date_of_notification.data
        if step1 and step3 and step3 < step1:
            add_error(self.date_of_notification, "Step 3 start date must be the same as or after the Step 1 date")
            ok = False
        if self.significant_risk.data == "yes":
            if not self.front_door_contacted.data:
                add_error(
                    self.front_door_contacted,
                    "Select yes if the local authority children's social care front door has been contacted",
                )
                ok = False
            elif self.front_door_contacted.data == "no":
                add_error(self.front_door_contacted, FRONT_DOOR_FIRST)
                ok = False
        elif self.significant_risk.data == "no":
            # The question only applies at significant risk; a stale answer would read as a statement of fact.
            self.front_door_contacted.data = ""
        return ok


FORM = PanCheshireAppendixAForm
