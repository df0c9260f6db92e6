"""Testshire's notice form as the browser shows it: the form module a sixth partnership writes."""

from __future__ import annotations

from portal.web.forms.base import CompletedByMixin, PortalForm, SubmitMixin, contact_choice, long_text, short_text
from portal.web.forms.fields import GovukDateField


class TestshireNoticeForm(CompletedByMixin, SubmitMixin, PortalForm):
    date_of_notification = GovukDateField("Date of notice", subject="Date of notice", not_future=True)
    child_name = short_text("Child's name", required="Enter the child's name")
    send_to = contact_choice("Send to", required="Choose who the notice is sent to")
    disagreement = long_text("The disagreement", required="Enter the disagreement")


FORM = TestshireNoticeForm
