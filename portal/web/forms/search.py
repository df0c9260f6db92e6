"""The search for a child's notices: an NHS number, or a surname with a date of birth."""

from __future__ import annotations

from wtforms import SubmitField

from portal.web.forms.base import PortalForm, nhs_number_field, short_text
from portal.web.forms.fields import GovukDateField
from portal.web.forms.stencils import SubmitButton


class SearchForm(PortalForm):
    nhs_number = nhs_number_field(hint="10 digits, for example 943 476 5919")
    surname = short_text(
        "Surname", required=None, max_length=100, hint="Search with the child's date of birth: not on its own"
    )
    dob = GovukDateField(
        "Date of birth",
        subject="Date of birth",
        required=False,
        not_future=True,
        description="Search with the child's surname: not on its own. For example, 27 3 2016",
    )
    submit = SubmitField("Search", widget=SubmitButton())

    FIELD_ORDER = ("nhs_number", "surname", "dob")

    def add_error(self, name: str, message: str) -> None:
        """Show a message beside a field (one the service raised about the terms as a whole)."""
        field = self[name]
        field.errors = [*field.errors, message]
