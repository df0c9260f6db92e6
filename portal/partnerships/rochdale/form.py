"""Rochdale Appendix 1 as the browser shows it (what it asks and means: ``notice.py``)."""

from __future__ import annotations

from typing import Any

from portal.web.forms.base import (
    CompletedByMixin,
    PortalForm,
    SubmitMixin,
    contact_choice,
    long_text,
    nhs_number_field,
    short_text,
)
from portal.web.forms.fields import CHILD_MAX_AGE, GovukDateField, add_error
from portal.web.forms.validators import LocalIdentifier


class RochdaleAppendix1Form(CompletedByMixin, SubmitMixin, PortalForm):
    date_of_notification = GovukDateField(
        "Date of Notification", subject="Date of notification", not_future=True, description="For example, 27 3 2026"
    )
    child_name = short_text("Name of Child/Young Person", required="Enter the child or young person's name")
    child_dob = GovukDateField(
        "D.O.B",
        subject="Date of birth",
        not_future=True,
        max_age_years=CHILD_MAX_AGE,
        description="For example, 27 3 2016",
    )
    nhs_number = nhs_number_field("NHS Number")
    p_number = short_text(
        "P Number",
        required=None,
        max_length=30,
        hint="The local case-system number, if there is one.",
        checks=(LocalIdentifier("P Number"),),
    )
    sent_to_1 = contact_choice(
        "1.",
        required="Choose who the notification is sent to",
        hint="The Single Point of Contact in the agency you are challenging.",
    )
    sent_to_2 = contact_choice("2.", required=None, hint="Optional: a second recipient.")
    summary_of_disagreement = long_text("Summary of disagreement", required="Enter a summary of the disagreement")
    informal_challenge_evidence = long_text(
        "Evidence of the informal challenge that has taken place at stages 1-2 and the outcome of this challenge",
        required="Enter the evidence of the informal challenge at stages 1 and 2 and its outcome",
    )
    desired_outcome = long_text(
        "Desired outcome for the child and / or family. Please include details of what it is you are requesting "
        "happens as a result of this challenge",
        required="Enter the outcome you want for the child or family",
    )

    def validate(self, extra_validators: Any = None) -> bool:
        ok: bool = super().validate(extra_validators)
        if self.sent_to_1.data and self.sent_to_1.data == self.sent_to_2.data:
            add_error(self.sent_to_2, "Choose a different second recipient, or leave it blank")
            ok = False
        return ok


FORM = RochdaleAppendix1Form
