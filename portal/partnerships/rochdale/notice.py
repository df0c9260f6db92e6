"""Rochdale: Appendix 1 "Professional Challenge / Outcome Resolution Notice" (seed 000).

Every field is the seed's, in its order and wording. Fields the seed does not print, proposed here and
open to the partnership's adjustment (✱ in docs/procedures.md#rochdale-appendix-1):
- the NHS number and the P Number are two typed inputs (the seed has one box "NHS Number/ P Number");
- "Notification has been sent to: 1. 2." is chosen from the SPOC directory, so the portal can route it.

The Stage 3 and Stage 4 rows (Date Outcome Resolved; Supporting Evidence) are not asked when the notice is
raised: they fill in as those stages resolve, from the response and closure recorded in the portal
(``portal.partnerships.rochdale.layout``).
"""

from __future__ import annotations

from typing import Any

from portal.domain.notice_definition import NoticeDefinition, Section

FORM_CODE = "rochdale-appendix-1"


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


NOTICE = NoticeDefinition(
    code=FORM_CODE,
    title="Professional Challenge / Outcome Resolution Notice",
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
    date_fields=("date_of_notification", "child_dob"),
    identifier_fields=("child_name", "child_dob", "nhs_number", "p_number"),
    prefill=prefill,
    proposed_fields=("nhs_number", "p_number", "sent_to_1", "sent_to_2"),
    caption="Appendix 1",
)
