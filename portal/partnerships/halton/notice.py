"""Halton Safeguarding Children Board: escalation record for the "Escalation Policy Resolution Pathways", revised
September 2013 (seed 004, a legacy policy).

The policy has no form; this record is derived from its paragraphs 1.4 to 4.2 and Appendix A
(docs/procedures.md#halton-record). Only the Appendix A tier names and the three disagreement areas' wording
are the seed's; every field is a proposal (✱), open to the partnership's adjustment:
- date raised (the date of this notice);
- the child: name, date of birth, NHS number;
- raised by: name, role, agency/team, contact details;
- the other agency involved, chosen from the directory: each tier's contacts are that agency's Appendix A
  contacts, so the portal routes every tier without a contact choice here;
- the area of disagreement, from 1.8 ("determining levels of need, roles and responsibilities, and the need for
  action and communication");
- explicitly what the problem is and what the respective workers aim to achieve (2.2);
- what was tried at practitioner/case worker level and its outcome (2.1).

Immediate risk of significant harm (1.5) is asked by the portal before any form, so it is not asked again here.
The outcome at each tier, the written confirmation (2.5), the debrief (4.1) and the general issues referred to the
MASCU (4.2) fill in from the stage records and closure (``portal.partnerships.halton.layout``).
"""

from __future__ import annotations

from typing import Any

from portal.domain.categories import CodeList
from portal.domain.notice_definition import NoticeDefinition, Section

FORM_CODE = "halton-2013-record"

LEGACY_CAPTION = (
    "Halton Safeguarding Children Board, Escalation Policy Resolution Pathways, revised September 2013 (legacy policy)"
)

# Seed 004 paragraph 1.8, in its order and words.
DISAGREEMENT_AREAS: tuple[tuple[str, str], ...] = (
    ("levels-of-need", "Determining levels of need"),
    ("roles-and-responsibilities", "Roles and responsibilities"),
    ("action-and-communication", "The need for action and communication"),
)


# Mapped to the common taxonomy (docs/categories.md#halton).
AREA_LIST = CodeList(
    "disagreement_area",
    "Area of disagreement",
    DISAGREEMENT_AREAS,
    common={
        "levels-of-need": "thresholds",
        "roles-and-responsibilities": "roles-responsibilities",
        "action-and-communication": "information-sharing",
    },
)


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


RAISED = ("date_of_notification",)
CHILD = ("child_name", "child_dob", "nhs_number")
RAISED_BY = ("completed_by_name", "completed_by_role", "completed_by_agency_team", "completed_by_contact")
DISAGREEMENT = ("other_agency", "disagreement_area", "problem", "workers_aims", "practitioner_level")

NOTICE = NoticeDefinition(
    code=FORM_CODE,
    # No caption slot on the form page: the title carries the legacy marking, the PDF the full caption.
    title="Escalation record: Halton Escalation Policy Resolution Pathways, September 2013 (legacy policy)",
    sections=(
        Section("The record", RAISED, "raised"),
        Section("The child or young person", CHILD, "child"),
        Section("Raised by", RAISED_BY, "raised-by"),
        Section("The disagreement", DISAGREEMENT, "disagreement"),
    ),
    recipient_fields=(),
    agency_fields=("other_agency",),
    initial_stage="manager-named-professional",
    date_of_notification_field="date_of_notification",
    date_fields=("date_of_notification", "child_dob"),
    identifier_fields=CHILD,
    prefill=prefill,
    proposed_fields=(*RAISED, *CHILD, *RAISED_BY, *DISAGREEMENT),
    choice_labels={"disagreement_area": dict(DISAGREEMENT_AREAS)},
    code_lists=(AREA_LIST,),
    caption="Escalation record",
)
