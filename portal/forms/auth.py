"""Sign-in forms."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovSubmitInput, GovTextInput
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from portal.forms.base import PortalForm


class SignInForm(PortalForm):
    email = StringField(
        "Email address",
        validators=[
            InputRequired("Enter your email address"),
            Length(max=254, message="Enter a shorter email address"),
        ],
        widget=GovTextInput(),
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired("Enter your password"), Length(max=256, message="Enter a shorter password")],
        widget=GovPasswordInput(),
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class CodeForm(PortalForm):
    code = StringField(
        "Security code",
        validators=[
            InputRequired("Enter the 6-digit code from your authenticator app"),
            Length(max=12, message="Enter the 6-digit code"),
        ],
        description="The 6-digit code shown in your authenticator app",
        widget=GovTextInput(),
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())
