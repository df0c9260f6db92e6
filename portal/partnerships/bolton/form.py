"""Bolton's RPDE form, Part A, as the browser shows it (what it asks and means: ``notice.py``)."""

from __future__ import annotations

from portal.domain.notice_definition import YES_NO
from portal.partnerships.bolton.notice import FRAMEWORK_LEVELS, REASONS
from portal.web.forms.base import (
    PortalForm,
    SubmitMixin,
    contact_choice,
    long_text,
    nhs_number_field,
    radio_choice,
    short_text,
)
from portal.web.forms.fields import CHILD_MAX_AGE, GovukDateField
from portal.web.forms.validators import LocalIdentifier


class BoltonRpdeForm(SubmitMixin, PortalForm):
    date_of_notification = GovukDateField(
        "Date",
        subject="Date",
        not_future=True,
        description="The date you send this form to Agency B's Resolution SPOC and BSCP. For example, 27 3 2026",
    )
    child_name = short_text("Child's name", required="Enter the child's name")
    child_dob = GovukDateField(
        "Child's date of birth",
        subject="Date of birth",
        not_future=True,
        max_age_years=CHILD_MAX_AGE,
        description="For example, 27 3 2016",
    )
    nhs_number = nhs_number_field()
    local_identifier = short_text(
        "Agency case number",
        required=None,
        max_length=30,
        hint="Your agency's case-system number for the child, if there is one.",
        checks=(LocalIdentifier("Agency case number"),),
    )
    agency_a = short_text("Agency A", required="Enter your agency", hint="The agency completing this form.")
    practitioner_name = short_text("Practitioner A: name", required="Enter your name")
    practitioner_role = short_text("Practitioner A: role", required="Enter your role, for example Social Worker")
    practitioner_contact = short_text(
        "Practitioner A: contact details",
        required="Enter a telephone number or secure e-mail address Agency B can reach you on",
        max_length=300,
    )
    manager_name = short_text("Practitioner A's manager: name", required="Enter your manager's name")
    manager_contact = short_text(
        "Practitioner A's manager: contact details",
        required="Enter a telephone number or secure e-mail address for your manager",
        max_length=300,
    )
    agency_b_spoc = contact_choice(
        "Agency B's 'Resolution SPOC'",
        required="Choose Agency B's Resolution SPOC",
        hint="The Resolution Single Point of Contact in the agency you differ with. BSCP also receives the form.",
    )
    reason = radio_choice(
        "Reason for the difference",
        REASONS,
        required="Select the reason for the difference",
        hint="Choose the closest.",
    )
    framework_level = radio_choice(
        "Level in the Framework for Action",
        FRAMEWORK_LEVELS,
        required="Select the level in the Framework for Action, or Not known",
        hint="Bolton's continuum of need and thresholds document.",
    )
    issue = long_text("The issue that needs to be resolved", required="Enter the issue that needs to be resolved")
    desired_outcome = long_text(
        "The desired outcome for the child/ren", required="Enter the desired outcome for the child or children"
    )
    earlier_attempts = long_text(
        "Prevention/Early Resolution and Informal Resolution: who tried to resolve the difference, and when",
        required="Enter who tried to resolve the difference at Prevention/Early and Informal Resolution, and when",
    )
    informal_timescale = GovukDateField(
        "Timescale agreed at Informal Resolution for a response from practitioner B's manager",
        subject="Agreed response date",
        required=False,
        description="Optional. The date practitioner B's manager agreed to respond by. For example, 27 3 2026",
    )
    multi_agency_meeting = radio_choice(
        "Do you propose a multi-agency meeting to discuss the differences and seek resolution through collaboration?",
        YES_NO,
        required="Select yes if you propose a multi-agency meeting",
    )
    lead_professional_informed = radio_choice(
        "Have the Lead Professional, IRO or relevant others been informed of the escalation?",
        YES_NO,
        required="Select yes if the Lead Professional, IRO or relevant others have been informed",
    )


FORM = BoltonRpdeForm
