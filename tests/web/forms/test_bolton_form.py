"""Bolton's RPDE form, Part A (seed 003): fields, required answers, choices, NHS number."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from portal.partnerships import current_procedure, notice_definition
from portal.partnerships.bolton.form import FORM
from portal.partnerships.bolton.notice import NOTICE, prefill
from portal.web.forms.base import PortalForm, answers_from, unbound_fields
from tests.web.forms.helpers import validated_form

CANARY_NAME = "Zyxqoria Canarytest"
CANARY_NHS = "999 000 0018"
CONTACT = "7"

# "likely to include, but not limited to" [003:34-44], in the seed's order and wording.
SEED_REASONS = (
    "Quality and outcomes of assessments",
    "Application of thresholds and processes in the Framework for Action",
    "Service referral criteria",
    "Quality and/or timeliness of interventions",
    "Information sharing and communication",
    "Decisions about the need for child protection conferences or decisions made at conferences",
    "Care planning for looked after children",
    "Decisions made within strategy discussions",
    "The child's plan and/or interventions within the plan are not effective in keeping them safe",
)


def answers(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "date_of_notification": ["20", "11", "2026"],
        "child_name": CANARY_NAME,
        "child_dob": ["29", "2", "2016"],
        "nhs_number": CANARY_NHS,
        "local_identifier": "LCS-1234/5",
        "agency_a": "Bolton NHS Foundation Trust",
        "practitioner_name": "Jo Practitioner",
        "practitioner_role": "Health Visitor",
        "practitioner_contact": "01204 390000 / jo.practitioner@nhs.net",
        "manager_name": "Sam Manager",
        "manager_contact": "sam.manager@nhs.net",
        "agency_b_spoc": CONTACT,
        "reason": "referral-criteria",
        "framework_level": "level-3",
        "issue": "The referral to Early Help was declined although the Framework for Action level is met.",
        "desired_outcome": "An Early Help assessment starts this month.",
        "earlier_attempts": "Practitioners spoke on 3 November; managers met on 10 November.",
        "informal_timescale": ["17", "11", "2026"],
        "multi_agency_meeting": "yes",
        "lead_professional_informed": "no",
    }
    data.update(overrides)
    return data


def build(app: Flask, data: dict[str, Any]) -> PortalForm:
    """Validate ``data`` as the service does: the directory's choices filled in, CSRF handled elsewhere."""
    form, _valid = validated_form(app, NOTICE, data, contacts=[(CONTACT, "Agency: role")])
    return form


def errors(form: PortalForm) -> dict[str, list[str]]:
    return {f.name: list(f.errors) for f in form if f.errors}


def test_the_form_is_registered_and_raised_at_formal_resolution() -> None:
    assert notice_definition("bolton-rpde") is NOTICE
    assert NOTICE.initial_stage == "formal-resolution" == current_procedure("bolton").entry_stage
    assert NOTICE.recipient_fields == ("agency_b_spoc",)
    assert NOTICE.date_of_notification_field == "date_of_notification"
    assert NOTICE.pseudonymous_copy is False
    assert NOTICE.entry_for({}).stage == "formal-resolution"


def test_field_order_covers_every_field_once_and_all_are_proposals() -> None:
    form_fields = [name for name, _ in unbound_fields(FORM) if name != "submit"]
    assert sorted(NOTICE.field_order) == sorted(form_fields)
    assert len(NOTICE.field_order) == len(set(NOTICE.field_order))
    # The seed does not reproduce the RPDE form, so nothing on it is the seed's own.
    assert set(NOTICE.proposed_fields) == set(NOTICE.field_order)
    assert set(NOTICE.identifier_fields) == {"child_name", "child_dob", "nhs_number", "local_identifier"}


def test_the_reasons_are_bolton_s_nine_in_the_seed_s_words() -> None:
    assert list(NOTICE.choice_labels["reason"].values()) == list(SEED_REASONS)
    assert list(NOTICE.choice_labels["framework_level"].values()) == [
        "Level 1",
        "Level 2",
        "Level 3",
        "Level 4",
        "Not known",
    ]


def test_a_complete_answer_set_is_stored_as_codes(app: Flask) -> None:
    form = build(app, answers())
    assert errors(form) == {}
    stored = answers_from(form)
    assert stored == {
        "date_of_notification": "2026-11-20",
        "child_name": CANARY_NAME,
        "child_dob": "2016-02-29",
        "nhs_number": CANARY_NHS,
        "local_identifier": "LCS-1234/5",
        "agency_a": "Bolton NHS Foundation Trust",
        "practitioner_name": "Jo Practitioner",
        "practitioner_role": "Health Visitor",
        "practitioner_contact": "01204 390000 / jo.practitioner@nhs.net",
        "manager_name": "Sam Manager",
        "manager_contact": "sam.manager@nhs.net",
        "agency_b_spoc": CONTACT,
        "reason": "referral-criteria",
        "framework_level": "level-3",
        "issue": "The referral to Early Help was declined although the Framework for Action level is met.",
        "desired_outcome": "An Early Help assessment starts this month.",
        "earlier_attempts": "Practitioners spoke on 3 November; managers met on 10 November.",
        "informal_timescale": "2026-11-17",
        "multi_agency_meeting": "yes",
        "lead_professional_informed": "no",
    }
    shown = NOTICE.display(stored, {"agency_b_spoc": "Bolton Council: Head of Conference"})
    assert shown["reason"] == "Service referral criteria"
    assert shown["framework_level"] == "Level 3"
    assert shown["multi_agency_meeting"] == "Yes"
    assert shown["lead_professional_informed"] == "No"
    assert shown["agency_b_spoc"] == "Bolton Council: Head of Conference"


def test_optional_answers_may_be_left_blank(app: Flask) -> None:
    form = build(app, answers(nhs_number="", local_identifier="", informal_timescale=["", "", ""]))
    assert errors(form) == {}
    stored = answers_from(form)
    assert stored["nhs_number"] == stored["local_identifier"] == stored["informal_timescale"] == ""


REQUIRED = {
    "date_of_notification": "Enter the date",
    "child_name": "Enter the child's name",
    "child_dob": "Enter the date of birth",
    "agency_a": "Enter your agency",
    "practitioner_name": "Enter your name",
    "practitioner_role": "Enter your role, for example Social Worker",
    "practitioner_contact": "Enter a telephone number or secure e-mail address Agency B can reach you on",
    "manager_name": "Enter your manager's name",
    "manager_contact": "Enter a telephone number or secure e-mail address for your manager",
    "agency_b_spoc": "Choose Agency B's Resolution SPOC",
    "reason": "Select the reason for the difference",
    "framework_level": "Select the level in the Framework for Action, or Not known",
    "issue": "Enter the issue that needs to be resolved",
    "desired_outcome": "Enter the desired outcome for the child or children",
    "earlier_attempts": (
        "Enter who tried to resolve the difference at Prevention/Early and Informal Resolution, and when"
    ),
    "multi_agency_meeting": "Select yes if you propose a multi-agency meeting",
    "lead_professional_informed": "Select yes if the Lead Professional, IRO or relevant others have been informed",
}


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_a_required_answer_left_empty_says_what_to_enter(app: Flask, name: str) -> None:
    blank: Any = ["", "", ""] if name in NOTICE.date_fields else "  "
    form = build(app, answers(**{name: blank}))
    assert form[name].errors[0] == REQUIRED[name]
    assert errors(form).keys() == {name}


def test_nothing_answered_gives_every_required_message_in_page_order(app: Flask) -> None:
    form = build(app, {})
    summary = [item["text"] for item in form.error_list(NOTICE.field_order)]
    assert summary == [REQUIRED[name] for name in NOTICE.field_order if name in REQUIRED]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("reason", "other"),
        ("reason", "Service referral criteria"),  # the label, not the code
        ("framework_level", "level-5"),
        ("multi_agency_meeting", "maybe"),
        ("lead_professional_informed", "Yes"),
    ],
)
def test_an_unknown_choice_is_refused(app: Flask, name: str, value: str) -> None:
    form = build(app, answers(**{name: value}))
    assert form[name].errors == ["Select one of the options"]


def test_a_contact_outside_the_directory_is_refused(app: Flask) -> None:
    form = build(app, answers(agency_b_spoc="8"))
    assert form.agency_b_spoc.errors == ["Choose a contact from the list"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("999 000 0019", "Enter a valid NHS number: check the 10 digits against the child's record"),
        ("999 000 001", "NHS number must be 10 digits, like 943 476 5919"),
        ("999-OOO-0018", "NHS number must only include numbers, spaces and hyphens"),
    ],
)
def test_a_wrong_nhs_number_is_refused_with_how_to_fix_it(app: Flask, value: str, message: str) -> None:
    form = build(app, answers(nhs_number=value))
    assert form.nhs_number.errors == [message]


def test_an_nhs_number_typed_with_hyphens_is_accepted(app: Flask) -> None:
    form = build(app, answers(nhs_number="999-000-0018"))
    assert errors(form) == {}


def test_a_case_number_with_other_characters_is_refused(app: Flask) -> None:
    form = build(app, answers(local_identifier="LCS<1234>"))
    assert form.local_identifier.errors[0].startswith("Agency case number must be 30 characters or fewer")


def test_a_date_of_birth_in_the_future_is_refused(app: Flask) -> None:
    form = build(app, answers(child_dob=["1", "1", "2999"]))
    assert form.child_dob.errors == ["Date of birth must be today or in the past"]


class _Agency:
    name = "Bolton NHS Foundation Trust"


class _User:
    name = "Jo Practitioner"
    job_title = "Health Visitor"
    agency = _Agency()
    email = "jo.practitioner@nhs.net"
    telephone = "01204 390000"


def test_prefill_answers_agency_a_and_practitioner_a_from_the_profile() -> None:
    assert prefill(_User()) == {
        "agency_a": "Bolton NHS Foundation Trust",
        "practitioner_name": "Jo Practitioner",
        "practitioner_role": "Health Visitor",
        "practitioner_contact": "01204 390000 / jo.practitioner@nhs.net",
    }
    assert set(prefill(_User())) <= set(NOTICE.field_order)
