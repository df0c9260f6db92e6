"""Pan Cheshire: Appendix A "Form for submitting professional challenge cases for escalation and resolution to
the Local Safeguarding Children's Partnership" (seed 001).

The seed prints only the form's title, so every field is a proposal (✱ in docs/procedures.md#pan-cheshire-appendix-a),
open to the partnership's adjustment:
- submitted by: name, role, agency, contact details (a senior manager or, for schools, the Chair of Governors
  alongside the Head Teacher [001:75]);
- the other agency's Safeguarding Partnership representative and an optional second one, chosen from the
  directory so the portal can route the notice;
- the child or family: name, date of birth, NHS number, allocated lead professional or social worker;
- explicitly what the problem is, the nature of the professional challenge and what it aims to achieve [001:65];
- the step history: Step 1 date (Day 1 of the procedure's clocks) and what happened, Step 2 participants, dates
  and outcome, Step 3 participants and the date Step 3 started (the date of this notice);
- current risk: significant risk, and whether the children's social care front door has been contacted [001:43];
- whether a meeting of the involved parties is requested [001:95].

The form is started at Step 3 and submitted to the Safeguarding Partnership at Step 4 [001:83] (our reading,
docs/procedures.md#pan-cheshire-appendix-a). The Step 3 outcome, the written representations and the
Partnership's recommendation are not asked here: they fill in from the stage records and closure in the portal
(``portal.pdf.notices.pan_cheshire_appendix_a``).
"""

from __future__ import annotations

from typing import Any

from portal.forms.base import (
    YES_NO,
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

FORM_CODE = "pan-cheshire-appendix-a"

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
        "Date of birth", subject="Date of birth", not_future=True, description="For example, 27 3 2016"
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
        ok = super().validate(extra_validators)
        if self.representative_1.data and self.representative_1.data == self.representative_2.data:
            self.representative_2.errors.append("Choose a different second representative, or leave it blank")
            ok = False
        step1, step3 = self.step1_date.data, self.date_of_notification.data
        if step1 and step3 and step3 < step1:
            self.date_of_notification.errors.append("Step 3 start date must be the same as or after the Step 1 date")
            ok = False
        if self.significant_risk.data == "yes":
            if not self.front_door_contacted.data:
                self.front_door_contacted.errors.append(
                    "Select yes if the local authority children's social care front door has been contacted"
                )
                ok = False
            elif self.front_door_contacted.data == "no":
                self.front_door_contacted.errors.append(FRONT_DOOR_FIRST)
                ok = False
        elif self.significant_risk.data == "no":
            # The question only applies at significant risk; a stale answer would read as a statement of fact.
            self.front_door_contacted.data = ""
        return ok


def prefill(user: Any) -> dict[str, str]:
    """Answer what the portal already knows about the person writing (WCAG 2.2 redundant entry)."""
    contact = " / ".join(part for part in (user.telephone, user.email) if part)
    return {
        "submitted_by_name": user.name,
        "submitted_by_role": user.job_title,
        "submitted_by_agency": user.agency.name if user.agency else "",
        "submitted_by_contact": contact,
    }


SUBMITTED_BY = ("submitted_by_name", "submitted_by_role", "submitted_by_agency", "submitted_by_contact")
REPRESENTATIVES = ("representative_1", "representative_2")
CHILD = ("child_name", "child_dob", "nhs_number", "lead_professional")
PROBLEM = ("problem", "challenge_nature", "challenge_aim")
STEPS = ("step1_date", "step1_summary", "step2_summary", "step3_participants", "date_of_notification")
RISK = ("significant_risk", "front_door_contacted")
MEETING = ("meeting_requested",)

DEFINITION = NoticeFormDefinition(
    code=FORM_CODE,
    title=(
        "Form for submitting professional challenge cases for escalation and resolution to the Local "
        "Safeguarding Children's Partnership"
    ),
    form_class=PanCheshireAppendixAForm,
    sections=(
        Section("Submitted by", SUBMITTED_BY, "submitted-by"),
        Section("Agencies involved", REPRESENTATIVES, "agencies"),
        Section("The child or family", CHILD, "child"),
        Section("The problem", PROBLEM, "problem"),
        Section("Steps taken so far", STEPS, "steps"),
        Section("Current risk", RISK, "risk"),
        Section("Meeting", MEETING, "meeting"),
    ),
    recipient_fields=REPRESENTATIVES,
    initial_stage="step-3",
    date_of_notification_field="date_of_notification",
    identifier_fields=("child_name", "child_dob", "nhs_number"),
    prefill=prefill,
    concern_date_field="step1_date",
    proposed_fields=(*SUBMITTED_BY, *REPRESENTATIVES, *CHILD, *PROBLEM, *STEPS, *RISK, *MEETING),
    choice_labels={name: dict(YES_NO) for name in (*RISK, *MEETING)},
)
