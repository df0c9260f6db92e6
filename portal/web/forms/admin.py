"""The administration pages' forms: a user's role and agency, confirmed actions, directory contacts and imports."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, SubmitField
from wtforms.validators import DataRequired, Regexp

from portal.domain.models import Role
from portal.web.forms.base import DirectorySelectField, PortalForm, radio_choice, short_text
from portal.web.forms.fields import GovukDateField
from portal.web.forms.stencils import FileInput, Select, SubmitButton

ROLE_CHOICES = [(role.value, role.label) for role in Role]


class RoleForm(PortalForm):
    role = radio_choice("Role", ROLE_CHOICES, required="Select a role")
    agency = SelectField(
        "Agency",
        choices=[],
        description="Practitioners and SPOCs must belong to an agency.",
        widget=Select(),
        invalid_choice_message="Choose an agency from the list",  # type: ignore[call-arg]  # WTForms 3.3 argument
    )
    submit = SubmitField("Save role and agency", widget=SubmitButton())

    FIELD_ORDER = ("role", "agency")

    def add_error(self, name: str, message: str) -> None:
        field = self[name] if name in self else self.role
        field.errors = [*field.errors, message]


class ConfirmForm(PortalForm):
    """A confirmed action (deactivate, reactivate, reset two-factor authentication): the token and a button."""

    submit = SubmitField("Confirm", widget=SubmitButton())


class ContactForm(PortalForm):
    """A directory contact as the business unit or an administrator enters it."""

    agency = DirectorySelectField(
        "Agency",
        choices=[],
        validators=[DataRequired("Select the agency")],
        widget=Select(),
        invalid_choice_message="Choose an agency from the list",  # type: ignore[call-arg]  # WTForms 3.3 argument
    )
    role_title = short_text(
        "Role or post",
        required="Enter the role or post, for example Safeguarding Lead",
        max_length=300,
        hint="As senders will see it, for example Head of Service – First Response Team",
    )
    email = short_text(
        "Secure email address",
        required=None,
        max_length=254,
        hint="Notices are announced to this address. Leave blank only for a contact reached by telephone.",
    )
    telephone = short_text("Telephone (optional)", required=None, max_length=60)
    review_by = GovukDateField(
        "Review by (optional)",
        subject="Review date",
        required=False,
        description="When someone should next check this entry is right. For example, 31 3 2027",
    )
    submit = SubmitField("Save contact", widget=SubmitButton())

    FIELD_ORDER = ("agency", "role_title", "email", "telephone", "review_by")

    def add_error(self, name: str, message: str) -> None:
        field = self[name] if name in self else self.role_title
        field.errors = [*field.errors, message]


class ImportForm(FlaskForm):
    """A directory CSV to preview (FlaskForm, not PortalForm: this form's one question is a file)."""

    file = FileField(
        "Upload a directory CSV file",
        validators=[FileRequired("Select a CSV file")],
        description="In the same format as the directory download: the first line names the columns.",
        widget=FileInput(),
    )
    submit = SubmitField("Preview the changes", widget=SubmitButton())


class ApplyImportForm(PortalForm):
    # The fingerprint of the previewed changes (ImportPlan.digest): what is applied must be what was shown.
    digest = HiddenField(
        validators=[
            DataRequired("Upload the file again to preview it"),
            Regexp(r"[0-9a-f]{64}\Z", message="Upload the file again to preview it"),
        ]
    )
    submit = SubmitField("Apply these changes", widget=SubmitButton())


class InviteForm(PortalForm):
    """Invite someone to set up an account as a SPOC of an agency."""

    email = short_text(
        "Email address",
        required="Enter the email address to send the invitation to",
        max_length=254,
        hint="Their secure work address. The invitation works once and expires.",
    )
    agency = DirectorySelectField(
        "Agency",
        choices=[],
        validators=[DataRequired("Select the agency they will answer notices for")],
        widget=Select(),
        invalid_choice_message="Choose an agency from the list",  # type: ignore[call-arg]  # WTForms 3.3 argument
    )
    submit = SubmitField("Send invitation", widget=SubmitButton())

    FIELD_ORDER = ("email", "agency")

    def add_error(self, name: str, message: str) -> None:
        field = self[name] if name in self else self.email
        field.errors = [*field.errors, message]
