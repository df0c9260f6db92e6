"""Testshire's notice form: the form module a sixth partnership writes, on the shared base."""

from __future__ import annotations

from portal.forms.base import (
    CompletedByMixin,
    NoticeFormDefinition,
    PortalForm,
    Section,
    SubmitMixin,
    contact_choice,
    long_text,
    short_text,
)
from portal.forms.fields import GovukDateField

FORM_CODE = "testshire-notice"


class TestshireNoticeForm(CompletedByMixin, SubmitMixin, PortalForm):
    date_of_notification = GovukDateField("Date of notice", subject="Date of notice", not_future=True)
    child_name = short_text("Child's name", required="Enter the child's name")
    send_to = contact_choice("Send to", required="Choose who the notice is sent to")
    disagreement = long_text("The disagreement", required="Enter the disagreement")


DEFINITION = NoticeFormDefinition(
    code=FORM_CODE,
    title="Testshire Escalation Notice",
    form_class=TestshireNoticeForm,
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
    identifier_fields=("child_name",),
)
