"""Testshire's notice: what its form asks and what each answer means to the procedure."""

from __future__ import annotations

from portal.domain.notice_definition import NoticeDefinition, Section

FORM_CODE = "testshire-notice"

NOTICE = NoticeDefinition(
    code=FORM_CODE,
    title="Testshire Escalation Notice",
    sections=(
        Section("The notice", ("date_of_notification", "child_name"), "notice"),
        Section(
            "Completed by",
            ("completed_by_name", "completed_by_role", "completed_by_agency_team", "completed_by_contact"),
            "completed-by",
        ),
        Section("Sent to", ("send_to",), "sent-to"),
        Section("The disagreement", ("disagreement",), "disagreement"),
    ),
    recipient_fields=("send_to",),
    initial_stage="managers",
    date_of_notification_field="date_of_notification",
    date_fields=("date_of_notification",),
    identifier_fields=("child_name",),
)
