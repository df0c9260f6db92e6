"""Halton's 2013 escalation record: required answers, the seed's disagreement areas, dates and the definition."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from portal.domain.dates import london_today
from portal.partnerships import notice_definition
from portal.partnerships.halton.form import FORM, HaltonRecordForm
from portal.partnerships.halton.notice import DISAGREEMENT_AREAS, NOTICE, prefill
from portal.partnerships.halton.procedure import PROCEDURE
from portal.web.forms.base import answers_from, field_labels
from tests.web.forms.helpers import validated_form

# The policy's paragraph 1.8 (seed 004), as published.
PARAGRAPH_1_8 = (
    "1.8 Disagreements could arise in a number of areas, but are most likely to arise around determining "
    "levels of need, roles and responsibilities, and the need for action and communication."
)
TODAY = london_today()
RAISED = TODAY - timedelta(days=3)
DOB = date(2016, 2, 29)


def parts(value: date) -> list[str]:
    return [str(value.day), str(value.month), str(value.year)]


def answers(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "date_of_notification": parts(RAISED),
        "child_name": "Zyxqoria Canarytest",
        "child_dob": parts(DOB),
        "nhs_number": "943 476 5919",
        "completed_by_name": "Pat Visitor",
        "completed_by_role": "Health Visitor",
        "completed_by_agency_team": "Bridgewater Community NHS Trust, Runcorn",
        "completed_by_contact": "pat.visitor@bridgewater.test",
        "other_agency": "3",
        "disagreement_area": "levels-of-need",
        "problem": "The family was assessed as below the threshold for a child in need assessment.",
        "workers_aims": "Health: a child in need assessment. Social care: early help first.",
        "practitioner_level": "Two calls with the duty social worker; no agreement.",
    }
    data.update(overrides)
    return data


def build(app: Flask, data: dict[str, Any]) -> tuple[HaltonRecordForm, bool]:
    """Validate ``data`` as the service would: agency choices filled per request, CSRF off."""
    agencies = [("3", "Children's Social Care - Runcorn"), ("4", "Police PPU")]
    return validated_form(app, NOTICE, data, agencies=agencies)  # type: ignore[return-value]


def first_error(form: HaltonRecordForm, name: str) -> str:
    return form[name].errors[0] if form[name].errors else ""


def test_a_complete_answer_set_validates_and_stores_codes(app: Flask) -> None:
    form, ok = build(app, answers(disagreement_area="action-and-communication"))
    assert ok, form.errors
    stored = answers_from(form)
    assert stored["other_agency"] == "3"
    assert stored["disagreement_area"] == "action-and-communication"
    assert stored["date_of_notification"] == RAISED.isoformat()
    assert stored["child_dob"] == DOB.isoformat()
    assert set(stored) == set(NOTICE.field_order)


REQUIRED = {
    "date_of_notification": "Enter the date raised",
    "child_name": "Enter the child or young person's name",
    "child_dob": "Enter the date of birth",
    "completed_by_name": "Enter your name",
    "completed_by_role": "Enter your role, for example Social Worker",
    "completed_by_agency_team": "Enter your agency and team",
    "completed_by_contact": "Enter a telephone number or secure e-mail address the recipient can reach you on",
    "other_agency": "Choose the other agency involved",
    "disagreement_area": "Select what the disagreement is about",
    "problem": "Enter what the problem is",
    "workers_aims": "Enter what each worker aims to achieve",
    "practitioner_level": "Enter what was tried at practitioner or case worker level, and the outcome",
}


@pytest.mark.parametrize(("name", "message"), REQUIRED.items())
def test_each_required_answer_left_empty_gives_its_message(app: Flask, name: str, message: str) -> None:
    blank: Any = ["", "", ""] if name in NOTICE.date_fields else "  "
    form, ok = build(app, answers(**{name: blank}))
    assert not ok
    assert first_error(form, name) == message
    assert [item["text"] for item in form.error_list(NOTICE.field_order)] == [message]


def test_every_required_field_is_checked() -> None:
    optional = {"nhs_number"}
    assert set(REQUIRED) == set(NOTICE.field_order) - optional


def test_nhs_number_is_optional_but_checked(app: Flask) -> None:
    assert build(app, answers(nhs_number=""))[1]
    form, ok = build(app, answers(nhs_number="943 476 5918"))
    assert not ok
    assert first_error(form, "nhs_number") == "Enter a valid NHS number: check the 10 digits against the child's record"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("disagreement_area", "Determining levels of need", "Select one of the options"),
        ("disagreement_area", "other", "Select one of the options"),
        ("other_agency", "999", "Choose an agency from the list"),
    ],
)
def test_a_value_outside_the_choices_is_refused(app: Flask, name: str, value: str, message: str) -> None:
    form, ok = build(app, answers(**{name: value}))
    assert not ok
    assert first_error(form, name) == message


def test_a_date_raised_in_the_future_is_refused(app: Flask) -> None:
    form, ok = build(app, answers(date_of_notification=parts(TODAY + timedelta(days=2))))
    assert not ok
    assert first_error(form, "date_of_notification") == "Date raised must be today or in the past"


def test_a_future_date_of_birth_is_refused(app: Flask) -> None:
    form, ok = build(app, answers(child_dob=parts(TODAY + timedelta(days=2))))
    assert not ok
    assert first_error(form, "child_dob") == "Date of birth must be today or in the past"


def test_the_disagreement_areas_are_the_seeds_paragraph_1_8() -> None:
    text = PARAGRAPH_1_8
    labels = [label for _code, label in DISAGREEMENT_AREAS]
    assert labels == [
        "Determining levels of need",
        "Roles and responsibilities",
        "The need for action and communication",
    ]
    for label in labels:
        assert label.lower() in text.lower()
    assert NOTICE.choice_labels["disagreement_area"] == dict(DISAGREEMENT_AREAS)


def test_concern_date_is_the_date_raised(app: Flask) -> None:
    form, ok = build(app, answers())
    assert ok, form.errors
    assert NOTICE.concern_date(answers_from(form)) == RAISED


def test_field_order_covers_every_field_once() -> None:
    order = NOTICE.field_order
    assert len(order) == len(set(order))
    assert set(order) == set(field_labels(FORM)) - {"csrf_token", "submit"}
    assert set(NOTICE.proposed_fields) <= set(order)
    # The policy has no form: every field is a proposal.
    assert set(NOTICE.proposed_fields) == set(order)


def test_definition_wiring() -> None:
    assert notice_definition("halton-2013-record") is NOTICE
    assert NOTICE.initial_stage == "manager-named-professional" == PROCEDURE.entry_stage
    # Each tier is routed to the agency's Appendix A contacts: no contact is chosen on the form.
    assert NOTICE.recipient_fields == ()
    assert NOTICE.agency_fields == ("other_agency",)
    assert NOTICE.identifier_fields == ("child_name", "child_dob", "nhs_number")
    assert "legacy" in NOTICE.title and "2013" in NOTICE.title
    # The portal asks about immediate risk before the form; the record does not ask again.
    assert not any("risk" in name for name in NOTICE.field_order)


def test_display_shows_area_labels_and_agency_names() -> None:
    shown = NOTICE.display(
        {"disagreement_area": "roles-and-responsibilities", "other_agency": "3", "date_of_notification": "2026-11-20"},
        {"other_agency": "Children's Social Care - Runcorn"},
    )
    assert shown == {
        "disagreement_area": "Roles and responsibilities",
        "other_agency": "Children's Social Care - Runcorn",
        "date_of_notification": "20 November 2026",
    }


def test_prefill_answers_the_writer_from_the_profile() -> None:
    class User:
        name, job_title, telephone, email, agency = "Pat Visitor", "Health Visitor", "", "pat@b.test", None

    assert prefill(User) == {
        "completed_by_name": "Pat Visitor",
        "completed_by_role": "Health Visitor",
        "completed_by_agency_team": "",
        "completed_by_contact": "pat@b.test",
    }
