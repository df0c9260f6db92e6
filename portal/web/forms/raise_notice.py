"""The immediate-risk question asked before any notice is written."""

from __future__ import annotations

from wtforms import RadioField, SubmitField
from wtforms.validators import InputRequired

from portal.web.forms.base import PortalForm, RadioInput
from portal.web.forms.fields import SelectChoice
from portal.web.forms.stencils import SubmitButton


class ImmediateRiskForm(PortalForm):
    immediate_risk = RadioField(
        "Is the child at immediate risk of significant harm?",
        choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
        validators=[InputRequired("Select yes if the child is at immediate risk of significant harm")],
        widget=RadioInput(),
    )
    submit = SubmitField("Continue", widget=SubmitButton())


class SubmitNoticeForm(PortalForm):
    submit = SubmitField("Submit notice", widget=SubmitButton())
