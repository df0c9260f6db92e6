"""Pan Cheshire's Appendix A form: required answers, choices, the front-door rule, dates and the definition."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from portal.domain.dates import london_today
from portal.domain.nhs_number import nhs_number_is_valid
from portal.partnerships import notice_definition
from portal.partnerships.pan_cheshire.form import FORM, FRONT_DOOR_FIRST, PanCheshireAppendixAForm
from portal.partnerships.pan_cheshire.notice import NOTICE, prefill
from portal.partnerships.pan_cheshire.procedure import PROCEDURE
from portal.web.forms.base import answers_from, field_labels
from tests.web.forms.helpers import validated_form

TODAY = london_today()
STEP1 = TODAY - timedelta(days=20)
STEP3 = TODAY - timedelta(days=5)
DOB = date(2016, 2, 29)


def parts(value: date) -> list[str]:
    return [str(value.day), str(value.month), str(value.year)]


def answers(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "submitted_by_name": "Sam Senior",
        "submitted_by_role": "Head of Service",
        "submitted_by_agency": "Cheshire East Children's Social Care",
        "submitted_by_contact": "sam.senior@cheshireeast.test",
        "representative_1": "7",
        "representative_2": "",
        "child_name": "Zyxqoria Canarytest",
        "child_dob": parts(DOB),
        "nhs_number": "943 476 5919",
        "lead_professional": "Alex Worker, Social Worker",
        "problem": "The referral was declined although the threshold is met.",
        "challenge_nature": "Disagreement about the threshold for a strategy discussion.",
        "challenge_aim": "A strategy discussion is held.",
        "step1_date": parts(STEP1),
        "step1_summary": "Health visitor called the duty social worker.",
        "step2_summary": "Line managers met; no agreement.",
        "step3_participants": "Sam Senior; the Partnership representatives of both agencies.",
        "date_of_notification": parts(STEP3),
        "significant_risk": "no",
        "front_door_contacted": "",
        "meeting_requested": "yes",
    }
    data.update(overrides)
    return data


def build(app: Flask, data: dict[str, Any]) -> tuple[PanCheshireAppendixAForm, bool]:
    """Validate ``data`` as the service would: directory choices filled per request, CSRF off."""
    contacts = [
        ("7", "Cheshire Police: Safeguarding Partnership representative"),
        ("8", "Cheshire East Council: Safeguarding Partnership representative"),
    ]
    return validated_form(app, NOTICE, data, contacts=contacts)  # type: ignore[return-value]


def first_error(form: PanCheshireAppendixAForm, name: str) -> str:
    return form[name].errors[0] if form[name].errors else ""


def test_a_complete_answer_set_validates_and_stores_codes(app: Flask) -> None:
    form, ok = build(app, answers(representative_2="8"))
    assert ok, form.errors
    stored = answers_from(form)
    assert stored["representative_1"] == "7"
    assert stored["representative_2"] == "8"
    assert stored["significant_risk"] == "no"
    assert stored["meeting_requested"] == "yes"
    assert stored["step1_date"] == STEP1.isoformat()
    assert stored["date_of_notification"] == STEP3.isoformat()
    assert stored["child_dob"] == DOB.isoformat()
    assert set(stored) == set(NOTICE.field_order)


def test_whitespace_around_answers_is_stripped(app: Flask) -> None:
    form, ok = build(app, answers(submitted_by_name="  Sam Senior \n"))
    assert ok, form.errors
    assert answers_from(form)["submitted_by_name"] == "Sam Senior"


REQUIRED = {
    "submitted_by_name": "Enter your name",
    "submitted_by_role": "Enter your role, for example Head of Service",
    "submitted_by_agency": "Enter your agency",
    "submitted_by_contact": (
        "Enter a telephone number or secure email address the Safeguarding Partnership can reach you on"
    ),
    "representative_1": "Choose the other agency's Safeguarding Partnership representative",
    "child_name": "Enter the child or young person's name",
    "child_dob": "Enter the date of birth",
    "problem": "Enter what the problem is",
    "challenge_nature": "Enter the nature of the professional challenge",
    "challenge_aim": "Enter what the challenge aims to achieve",
    "step1_date": "Enter the step 1 date",
    "step1_summary": "Enter what happened at Step 1",
    "step2_summary": "Enter who took part in Step 2, when, and the outcome",
    "step3_participants": "Enter who is taking part in Step 3",
    "date_of_notification": "Enter the step 3 start date",
    "significant_risk": "Select yes if the child is considered at significant risk",
    "meeting_requested": "Select yes if a meeting of the involved parties is requested",
}


@pytest.mark.parametrize(("name", "message"), REQUIRED.items())
def test_each_required_answer_left_empty_gives_its_message(app: Flask, name: str, message: str) -> None:
    blank: Any = ["", "", ""] if name in NOTICE.date_fields else "   "
    form, ok = build(app, answers(**{name: blank}))
    assert not ok
    assert first_error(form, name) == message
    assert [item["text"] for item in form.error_list(NOTICE.field_order)] == [message]


@pytest.mark.parametrize("name", ["representative_2", "nhs_number", "lead_professional"])
def test_optional_answers_may_be_left_empty(app: Flask, name: str) -> None:
    form, ok = build(app, answers(**{name: ""}))
    assert ok, form.errors


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("significant_risk", "maybe", "Select one of the options"),
        ("meeting_requested", "Yes", "Select one of the options"),
        ("front_door_contacted", "perhaps", "Select one of the options"),
        ("representative_1", "999", "Choose a contact from the list"),
        ("representative_2", "not-a-contact", "Choose a contact from the list"),
    ],
)
def test_a_value_outside_the_choices_is_refused(app: Flask, name: str, value: str, message: str) -> None:
    form, ok = build(app, answers(**{name: value}))
    assert not ok
    assert first_error(form, name) == message


def test_the_same_representative_twice_is_refused(app: Flask) -> None:
    form, ok = build(app, answers(representative_2="7"))
    assert not ok
    assert first_error(form, "representative_2") == "Choose a different second representative, or leave it blank"


def test_significant_risk_without_the_front_door_answer_is_refused(app: Flask) -> None:
    form, ok = build(app, answers(significant_risk="yes", front_door_contacted=""))
    assert not ok
    assert first_error(form, "front_door_contacted") == (
        "Select yes if the local authority children's social care front door has been contacted"
    )


def test_significant_risk_with_the_front_door_not_contacted_sends_them_there_first(app: Flask) -> None:
    form, ok = build(app, answers(significant_risk="yes", front_door_contacted="no"))
    assert not ok
    message = first_error(form, "front_door_contacted")
    assert message == FRONT_DOOR_FIRST
    assert "front door" in message and "not a referral" in message


def test_significant_risk_with_the_front_door_contacted_validates(app: Flask) -> None:
    form, ok = build(app, answers(significant_risk="yes", front_door_contacted="yes"))
    assert ok, form.errors
    stored = answers_from(form)
    assert (stored["significant_risk"], stored["front_door_contacted"]) == ("yes", "yes")


def test_a_front_door_answer_without_significant_risk_is_not_stored(app: Flask) -> None:
    form, ok = build(app, answers(significant_risk="no", front_door_contacted="no"))
    assert ok, form.errors
    assert answers_from(form)["front_door_contacted"] == ""


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("943 476 5918", "Enter a valid NHS number: check the 10 digits against the child's record"),
        ("943 476 591", "NHS number must be 10 digits, like 943 476 5919"),
        ("943x476x5919", "NHS number must only include numbers, spaces and hyphens"),
    ],
)
def test_nhs_number_is_checked(app: Flask, value: str, message: str) -> None:
    form, ok = build(app, answers(nhs_number=value))
    assert not ok
    assert first_error(form, "nhs_number") == message


def test_nhs_number_with_hyphens_is_accepted() -> None:
    assert nhs_number_is_valid("943-476-5919")


def test_a_step_1_date_in_the_future_is_refused(app: Flask) -> None:
    form, ok = build(app, answers(step1_date=parts(TODAY + timedelta(days=2))))
    assert not ok
    assert first_error(form, "step1_date") == "Step 1 date must be today or in the past"


def test_step_3_cannot_start_before_step_1(app: Flask) -> None:
    form, ok = build(app, answers(step1_date=parts(STEP3), date_of_notification=parts(STEP1)))
    assert not ok
    assert first_error(form, "date_of_notification") == "Step 3 start date must be the same as or after the Step 1 date"


def test_an_impossible_date_is_refused(app: Flask) -> None:
    form, ok = build(app, answers(step1_date=["31", "2", str(TODAY.year)]))
    assert not ok
    assert first_error(form, "step1_date") == "Step 1 date must be a real date, like 27 3 2016"


def test_control_characters_are_refused(app: Flask) -> None:
    form, ok = build(app, answers(problem="line one\x1b[31m"))
    assert not ok
    assert "control characters" in first_error(form, "problem")


def test_concern_date_is_the_step_1_date(app: Flask) -> None:
    form, ok = build(app, answers())
    assert ok, form.errors
    stored = answers_from(form)
    assert NOTICE.concern_date(stored) == STEP1
    assert NOTICE.concern_date(stored) != date.fromisoformat(stored[NOTICE.date_of_notification_field])


def test_field_order_covers_every_field_once() -> None:
    order = NOTICE.field_order
    assert len(order) == len(set(order))
    assert set(order) == set(field_labels(FORM)) - {"csrf_token", "submit"}
    assert set(NOTICE.proposed_fields) <= set(order)
    # The seed prints only the title: every field is a proposal.
    assert set(NOTICE.proposed_fields) == set(order)


def test_definition_wiring() -> None:
    assert notice_definition("pan-cheshire-appendix-a") is NOTICE
    assert NOTICE.initial_stage == "step-3" == PROCEDURE.entry_stage
    assert NOTICE.initial_stage in {stage.code for stage in PROCEDURE.stages}
    assert NOTICE.recipient_fields == ("representative_1", "representative_2")
    assert NOTICE.concern_date_field == "step1_date"
    assert NOTICE.date_of_notification_field in NOTICE.date_fields
    assert {"child_name", "child_dob", "nhs_number"} <= set(NOTICE.identifier_fields)
    for name, labels in NOTICE.choice_labels.items():
        assert name in NOTICE.field_order
        assert labels == {"yes": "Yes", "no": "No"}


def test_display_shows_labels_for_codes() -> None:
    shown = NOTICE.display(
        {"significant_risk": "yes", "step1_date": "2026-11-02", "representative_1": "7"},
        {"representative_1": "Cheshire Police: Safeguarding Partnership representative"},
    )
    assert shown == {
        "significant_risk": "Yes",
        "step1_date": "2 November 2026",
        "representative_1": "Cheshire Police: Safeguarding Partnership representative",
    }


def test_prefill_answers_the_submitter_from_the_profile() -> None:
    class Agency:
        name = "Cheshire Police"

    class User:
        name, job_title, telephone, email, agency = "Sam Senior", "Superintendent", "01606 000000", "s@p.test", Agency

    assert prefill(User) == {
        "submitted_by_name": "Sam Senior",
        "submitted_by_role": "Superintendent",
        "submitted_by_agency": "Cheshire Police",
        "submitted_by_contact": "01606 000000 / s@p.test",
    }
    assert set(prefill(User)) <= set(NOTICE.field_order)
