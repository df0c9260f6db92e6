"""Rochdale: Appendix 1 "Professional Challenge / Outcome Resolution Notice" (seed 000).

Every field is the seed's, in its order and wording. Fields the seed does not print, proposed here and
open to the partnership's adjustment (✱ in docs/procedures.md#rochdale-appendix-1):
- the NHS number and the P Number are two typed inputs (the seed has one box "NHS Number/ P Number");
- "Notification has been sent to: 1. 2." is chosen from the SPOC directory, so the portal can route it.

The Stage 3 and Stage 4 rows (Date Outcome Resolved; Supporting Evidence) are not asked when the notice is
raised: they fill in as those stages resolve, from the response and closure recorded in the portal
(``portal.pdf.notices.rochdale_appendix1``).
"""

from __future__ import annotations

from typing import Any

from portal.forms.base import (
    CompletedByMixin,
    NoticeFormDefinition,
    PortalForm,
    Section,
    SubmitMixin,
    contact_choice,
    long_text,
    nhs_number_field,
    short_text,
)
from portal.forms.fields import GovukDateField
from portal.forms.validators import LocalIdentifier

FORM_CODE = "rochdale-appendix-1"


class RochdaleAppendix1Form(CompletedByMixin, SubmitMixin, PortalForm):
    date_of_notification = GovukDateField(
        "Date of Notification", subject="Date of notification", not_future=True, description="For example, 27 3 2026"
    )
    child_name = short_text("Name of Child/Young Person", required="Enter the child or young person's name")
    child_dob = GovukDateField("D.O.B", subject="Date of birth", not_future=True, description="For example, 27 3 2016")
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
        ok = super().validate(extra_validators)
        if self.sent_to_1.data and self.sent_to_1.data == self.sent_to_2.data:
            self.sent_to_2.errors.append("Choose a different second recipient, or leave it blank")
            ok = False
        return ok


def prefill(user: Any) -> dict[str, str]:
    """Answer what the portal already knows about the person writing (WCAG 2.2 redundant entry)."""
    agency = user.agency.name if user.agency else ""
    contact = " / ".join(part for part in (user.telephone, user.email) if part)
    return {
        "completed_by_name": user.name,
        "completed_by_role": user.job_title,
        "completed_by_agency_team": agency,
        "completed_by_contact": contact,
    }


DEFINITION = NoticeFormDefinition(
    code=FORM_CODE,
    title="Professional Challenge / Outcome Resolution Notice",
    form_class=RochdaleAppendix1Form,
    sections=(
        Section("The notice", ("date_of_notification",), "notification"),
        Section("The child or young person", ("child_name", "child_dob", "nhs_number", "p_number"), "child"),
        Section(
            "Outcome Resolution Notice Completed by",
            ("completed_by_name", "completed_by_role", "completed_by_agency_team", "completed_by_contact"),
            "completed-by",
        ),
        Section("Notification has been sent to", ("sent_to_1", "sent_to_2"), "sent-to"),
        Section(
            "The disagreement",
            ("summary_of_disagreement", "informal_challenge_evidence", "desired_outcome"),
            "disagreement",
        ),
    ),
    recipient_fields=("sent_to_1", "sent_to_2"),
    initial_stage="stage-3",
    date_of_notification_field="date_of_notification",
    identifier_fields=("child_name", "child_dob", "nhs_number", "p_number"),
    prefill=prefill,
    proposed_fields=("nhs_number", "p_number", "sent_to_1", "sent_to_2"),
)
