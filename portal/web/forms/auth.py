"""Sign-in, 2FA set-up and change-password forms."""

from __future__ import annotations

import unicodedata

from wtforms import Field, Form, PasswordField, StringField, SubmitField, ValidationError
from wtforms.validators import EqualTo, InputRequired, Length

from portal.infrastructure.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from portal.web.forms.base import PortalForm
from portal.web.forms.stencils import PasswordInput, SubmitButton, TextInput


def no_control_characters(form: Form, field: Field) -> None:
    """An e-mail address never holds control characters (and PostgreSQL text cannot hold NUL)."""
    if any(unicodedata.category(ch) in {"Cc", "Cs", "Co"} for ch in field.data or ""):
        raise ValidationError("Enter an email address in the correct format, like name@example.com")


class SignInForm(PortalForm):
    one_message_for_several = True
    email = StringField(
        "Email address",
        validators=[
            InputRequired("Enter your email address"),
            Length(max=254, message="Enter a shorter email address"),
            no_control_characters,
        ],
        widget=TextInput(),
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired("Enter your password"), Length(max=256, message="Enter a shorter password")],
        widget=PasswordInput(),
    )
    submit = SubmitField("Continue", widget=SubmitButton())


class CodeForm(PortalForm):
    code = StringField(
        "Security code",
        validators=[
            InputRequired("Enter the 6-digit code from your authenticator app"),
            Length(max=12, message="Enter the 6-digit code"),
        ],
        description="The 6-digit code shown in your authenticator app",
        widget=TextInput(),
    )
    submit = SubmitField("Sign in", widget=SubmitButton())


class ChangePasswordForm(PortalForm):
    """A signed-in user's own password change (passwords are never stripped: see PortalForm)."""

    current_password = PasswordField(
        "Current password",
        validators=[
            InputRequired("Enter your current password"),
            Length(max=MAX_PASSWORD_LENGTH, message="Enter a shorter password"),
        ],
        widget=PasswordInput(),
    )
    new_password = PasswordField(
        "New password",
        validators=[
            InputRequired("Enter a new password"),
            Length(min=MIN_PASSWORD_LENGTH, message=f"New password must be {MIN_PASSWORD_LENGTH} characters or more"),
            Length(max=MAX_PASSWORD_LENGTH, message=f"New password must be {MAX_PASSWORD_LENGTH} characters or fewer"),
        ],
        description=(
            f"Must be {MIN_PASSWORD_LENGTH} characters or more. A few unrelated words together make a password "
            "that is long and easy to remember. Do not use a password you use anywhere else."
        ),
        widget=PasswordInput(),
    )
    confirm_password = PasswordField(
        "Confirm new password",
        validators=[
            InputRequired("Enter your new password again"),
            EqualTo("new_password", message="The passwords do not match – enter your new password again"),
        ],
        widget=PasswordInput(),
    )
    submit = SubmitField("Change password", widget=SubmitButton())


def _new_password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            InputRequired("Enter a password"),
            Length(min=MIN_PASSWORD_LENGTH, message=f"Your password must be {MIN_PASSWORD_LENGTH} characters or more"),
            Length(max=MAX_PASSWORD_LENGTH, message=f"Your password must be {MAX_PASSWORD_LENGTH} characters or fewer"),
        ],
        description=(
            f"Must be {MIN_PASSWORD_LENGTH} characters or more. A few unrelated words together make a password "
            "that is long and easy to remember. Do not use a password you use anywhere else."
        ),
        widget=PasswordInput(),
    )


class AcceptInvitationForm(PortalForm):
    """Set up an account from an invitation: confirm your name and choose a password."""

    name = StringField(
        "Your full name",
        validators=[InputRequired("Enter your full name"), Length(max=200, message="Enter a shorter name")],
        description="As your colleagues will see it on notices",
        widget=TextInput(),
    )
    password = _new_password_field("Create a password")
    confirm_password = PasswordField(
        "Confirm your password",
        validators=[
            InputRequired("Enter your password again"),
            EqualTo("password", message="The passwords do not match – enter your password again"),
        ],
        widget=PasswordInput(),
    )
    submit = SubmitField("Continue", widget=SubmitButton())


class FreshLinkForm(PortalForm):
    """Ask for a fresh link to be sent to the address an invitation or reset link was sent to."""

    submit = SubmitField("Send me a new link", widget=SubmitButton())


class EmailOnlyForm(PortalForm):
    """An e-mail address, to be sent a link or to tell administrators (forgotten password, lost authenticator)."""

    email = StringField(
        "Email address",
        validators=[
            InputRequired("Enter your email address"),
            Length(max=254, message="Enter a shorter email address"),
            no_control_characters,
        ],
        description="The address you sign in with",
        widget=TextInput(),
    )
    submit = SubmitField("Continue", widget=SubmitButton())


class ResetPasswordForm(PortalForm):
    """Choose a new password from a reset link."""

    password = _new_password_field("New password")
    confirm_password = PasswordField(
        "Confirm new password",
        validators=[
            InputRequired("Enter your new password again"),
            EqualTo("password", message="The passwords do not match – enter your new password again"),
        ],
        widget=PasswordInput(),
    )
    submit = SubmitField("Change password", widget=SubmitButton())
