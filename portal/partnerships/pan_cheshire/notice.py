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
Partnership's recommendation are not asked here: they fill in from the stage records and closure in the
portal (``portal.partnerships.pan_cheshire.layout``).
"""

from __future__ import annotations

from typing import Any

from portal.domain.notice_definition import YES_NO, NoticeDefinition, Section

FORM_CODE = "pan-cheshire-appendix-a"


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

NOTICE = NoticeDefinition(
    code=FORM_CODE,
    title=(
        "Form for submitting professional challenge cases for escalation and resolution to the Local "
        "Safeguarding Children's Partnership"
    ),
    sections=(
        Section("Submitted by", SUBMITTED_BY, "submitted-by"),
        Section("Agencies involved", REPRESENTATIVES, "agencies"),
        Section("The child or family", CHILD, "child"),
        Section("The problem", PROBLEM, "the-problem"),
        Section("Steps taken so far", STEPS, "steps"),
        Section("Current risk", RISK, "risk"),
        Section("Meeting", MEETING, "meeting"),
    ),
    recipient_fields=REPRESENTATIVES,
    initial_stage="step-3",
    date_of_notification_field="date_of_notification",
    date_fields=("child_dob", "step1_date", "date_of_notification"),
    identifier_fields=("child_name", "child_dob", "nhs_number"),
    prefill=prefill,
    concern_date_field="step1_date",
    proposed_fields=(*SUBMITTED_BY, *REPRESENTATIVES, *CHILD, *PROBLEM, *STEPS, *RISK, *MEETING),
    choice_labels={name: dict(YES_NO) for name in (*RISK, *MEETING)},
    caption="Appendix A",
)
