"""The administration pages' forms: a user's role and agency, and confirmed actions."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput
from wtforms import SelectField, SubmitField

from portal.domain.models import Role
from portal.web.forms.base import PortalForm, radio_choice

ROLE_CHOICES = [(role.value, role.label) for role in Role]


class RoleForm(PortalForm):
    role = radio_choice("Role", ROLE_CHOICES, required="Select a role")
    agency = SelectField(
        "Agency",
        choices=[],
        description="Practitioners and SPOCs must belong to an agency.",
        widget=GovSelect(),
        invalid_choice_message="Choose an agency from the list",
    )
    submit = SubmitField("Save role and agency", widget=GovSubmitInput())

    FIELD_ORDER = ("role", "agency")

    def add_error(self, name: str, message: str) -> None:
        field = self[name] if name in self else self.role
        field.errors = [*field.errors, message]


class ConfirmForm(PortalForm):
    """A confirmed action (deactivate, reactivate, reset two-factor authentication): the token and a button."""

    submit = SubmitField("Confirm", widget=GovSubmitInput())
