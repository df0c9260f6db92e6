"""Directory choices: an optional one left out of the POST is "not answered", never an invalid choice."""

from __future__ import annotations

from flask import Flask
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from portal.web.forms.actions import EscalateForm

CONTACTS = [SelectChoice("", "Choose a contact"), SelectChoice("7", "Agency: role")]


def escalate_form(app: Flask, data: dict[str, str]) -> EscalateForm:
    with app.test_request_context(method="POST"):
        form = EscalateForm(formdata=MultiDict(data), meta={"csrf": False})
        form.to_stage.choices = [SelectChoice("stage-4", "Stage 4")]
        form.send_to_1.choices = form.send_to_2.choices = CONTACTS
        form.validate()
        return form


def test_optional_contacts_left_out_of_the_post_are_not_answered(app: Flask) -> None:
    # A client that leaves out empty selects (a script, an older browser) is not told to choose from the list.
    form = escalate_form(app, {"immediate_risk": "no", "to_stage": "stage-4", "reason": "Unresolved"})
    assert form.errors == {}


def test_a_contact_outside_the_directory_is_refused(app: Flask) -> None:
    form = escalate_form(app, {"immediate_risk": "no", "to_stage": "stage-4", "reason": "x", "send_to_1": "99"})
    assert form.send_to_1.errors == ["Choose a contact from the list"]


def test_a_character_count_states_the_fields_own_limit(app: Flask, accounts: object) -> None:
    """The escalation's referral is limited to 2,000 characters; its character count must say 2,000, not 10,000."""
    from flask import render_template_string

    with app.test_request_context():
        form = EscalateForm(meta={"csrf": False})
        html = render_template_string(
            '{% from "partials/notice-fields.html" import render_field %}{{ render_field(form.referral) }}', form=form
        )
    assert 'data-maxlength="2000"' in html and "10000" not in html


def test_radios_without_a_hint_render_no_empty_hint(app: Flask) -> None:
    from flask import render_template_string

    from portal.web.forms.actions import CloseForm

    with app.test_request_context():
        form = CloseForm(meta={"csrf": False})
        html = render_template_string(
            '{% from "partials/notice-fields.html" import render_field %}{{ render_field(form.debrief) }}', form=form
        )
    assert "govuk-hint" not in html and "debrief-hint" not in html
