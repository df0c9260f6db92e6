"""Bolton (BSCP): Part A of the "Resolving Professional Differences and Escalation (RPDE) form" (seed 003).

The seed links to the RPDE form but does not reproduce it, so every field here is a proposal (✱ in
docs/procedures.md#bolton-rpde-form), worded from the seed where the seed has words for it, and open to the
partnership's adjustment:
- the date, and the child: name, date of birth, NHS number and the agency's case number;
- Agency A, practitioner A (name, role, contact details) and practitioner A's manager (name, contact details);
- Agency B's 'Resolution SPOC' [003:70], chosen from the directory so the portal can route the form;
- the reason, from the seed's list [003:34-44];
- the level in the Framework for Action [003:22]. The seed names the framework but not its levels: "Level 1"
  to "Level 4" are a guess for the partnership to correct;
- the issue that needs to be resolved and the desired outcome for the child/ren [003:67];
- who tried Prevention/Early and Informal Resolution, and when [003:65-67], and the timescale agreed at
  Informal Resolution for a response from practitioner B's manager [003:68];
- whether a multi-agency meeting is proposed [003:72], and whether the Lead Professional, IRO or relevant
  others have been informed [003:50].

Part B (Agency B's response within 10 working days [003:73]), the BSCP Business Unit's log [003:91-97] and
Part C (Partnership Resolution [003:77-79]) are not asked when the form is raised: they print from the stage
records and closure (``portal.partnerships.bolton.layout``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from portal.domain.categories import CodeList
from portal.domain.notice_definition import YES_NO, NoticeDefinition, Section

FORM_CODE = "bolton-rpde"

# [003:34-44] "Differences may arise ... for a range of reasons and are likely to include, but not limited to".
REASONS: tuple[tuple[str, str], ...] = (
    ("assessments", "Quality and outcomes of assessments"),
    ("thresholds", "Application of thresholds and processes in the Framework for Action"),
    ("referral-criteria", "Service referral criteria"),
    ("interventions", "Quality and/or timeliness of interventions"),
    ("information-sharing", "Information sharing and communication"),
    (
        "cp-conferences",
        "Decisions about the need for child protection conferences or decisions made at conferences",
    ),
    ("care-planning", "Care planning for looked after children"),
    ("strategy-discussions", "Decisions made within strategy discussions"),
    (
        "plan-not-effective",
        "The child's plan and/or interventions within the plan are not effective in keeping them safe",
    ),
)

FRAMEWORK_LEVELS: tuple[tuple[str, str], ...] = (
    ("level-1", "Level 1"),
    ("level-2", "Level 2"),
    ("level-3", "Level 3"),
    ("level-4", "Level 4"),
    ("not-known", "Not known"),
)


# Each reason mapped to the common taxonomy (docs/categories.md#bolton).
REASON_LIST = CodeList(
    "reason",
    "Reason for the difference",
    REASONS,
    common={
        "assessments": "assessment-quality",
        "thresholds": "thresholds",
        "referral-criteria": "referral-not-accepted",
        "interventions": "plan-progress",
        "information-sharing": "information-sharing",
        "cp-conferences": "cp-conference",
        "care-planning": "looked-after-care-planning",
        "strategy-discussions": "strategy-s47",
        "plan-not-effective": "plan-progress",
    },
)
# A level on the continuum of need, not a theme: reported on its own codes.
FRAMEWORK_LIST = CodeList("framework_level", "Level in the Framework for Action", FRAMEWORK_LEVELS)


def prefill(user: Any) -> dict[str, str]:
    """Answer what the portal already knows about the person writing (WCAG 2.2 redundant entry)."""
    return {
        "agency_a": user.agency.name if user.agency else "",
        "practitioner_name": user.name,
        "practitioner_role": user.job_title,
        "practitioner_contact": " / ".join(part for part in (user.telephone, user.email) if part),
    }


# The seed does not reproduce the RPDE form: every question on it is a proposal.


NOTICE = NoticeDefinition(
    code=FORM_CODE,
    title="Resolving Professional Differences and Escalation (RPDE) form",
    sections=(
        Section("Part A: Formal Resolution", ("date_of_notification",), "part-a"),
        Section("The child", ("child_name", "child_dob", "nhs_number", "local_identifier"), "child"),
        Section(
            "Agency A",
            (
                "agency_a",
                "practitioner_name",
                "practitioner_role",
                "practitioner_contact",
                "manager_name",
                "manager_contact",
            ),
            "agency-a",
        ),
        Section("Agency B", ("agency_b_spoc",), "agency-b"),
        Section("The difference", ("reason", "framework_level", "issue", "desired_outcome"), "difference"),
        Section(
            "Resolution so far",
            ("earlier_attempts", "informal_timescale", "multi_agency_meeting", "lead_professional_informed"),
            "resolution-so-far",
        ),
    ),
    recipient_fields=("agency_b_spoc",),
    initial_stage="formal-resolution",
    date_of_notification_field="date_of_notification",
    date_fields=("date_of_notification", "child_dob", "informal_timescale"),
    identifier_fields=("child_name", "child_dob", "nhs_number", "local_identifier"),
    prefill=prefill,
    choice_labels={
        "reason": dict(REASONS),
        "framework_level": dict(FRAMEWORK_LEVELS),
        "multi_agency_meeting": dict(YES_NO),
        "lead_professional_informed": dict(YES_NO),
    },
    code_lists=(REASON_LIST, FRAMEWORK_LIST),
    caption="RPDE form",
)

# The seed does not reproduce the RPDE form: every question on it is a proposal.
NOTICE = replace(NOTICE, proposed_fields=tuple(NOTICE.field_order))
