"""Halton's 2013 escalation record as the browser shows it (what it asks and means: ``notice.py``)."""

from __future__ import annotations

from portal.partnerships.halton.notice import DISAGREEMENT_AREAS
from portal.web.forms.base import (
    CompletedByMixin,
    PortalForm,
    SubmitMixin,
    agency_choice,
    long_text,
    nhs_number_field,
    radio_choice,
    short_text,
)
from portal.web.forms.fields import CHILD_MAX_AGE, GovukDateField


class HaltonRecordForm(CompletedByMixin, SubmitMixin, PortalForm):
    date_of_notification = GovukDateField(
        "Date raised", subject="Date raised", not_future=True, description="For example, 27 3 2026"
    )
    child_name = short_text("Name of child or young person", required="Enter the child or young person's name")
    child_dob = GovukDateField(
        "Date of birth",
        subject="Date of birth",
        not_future=True,
        max_age_years=CHILD_MAX_AGE,
        description="For example, 27 3 2016",
    )
    nhs_number = nhs_number_field()
    other_agency = agency_choice(
        "The other agency involved",
        required="Choose the other agency involved",
        hint="The record goes to this agency's contacts in Appendix A of the policy, tier by tier.",
    )
    disagreement_area = radio_choice(
        "What is the disagreement about?",
        DISAGREEMENT_AREAS,
        required="Select what the disagreement is about",
    )
    problem = long_text(
        "Identify explicitly what the problem is",
        required="Enter what the problem is",
        hint="Be clear about the nature of the disagreement.",
    )
    workers_aims = long_text(
        "What the respective workers aim to achieve",
        required="Enter what each worker aims to achieve",
    )
    practitioner_level = long_text(
        "What was tried at practitioner/case worker level, and the outcome",
        required="Enter what was tried at practitioner or case worker level, and the outcome",
    )


FORM = HaltonRecordForm
