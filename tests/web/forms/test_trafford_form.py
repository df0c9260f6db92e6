"""Trafford's "Resolving Professional Disagreements/Escalation Notice" form (seed 002): fields, rules, entry."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from portal.domain.notice_definition import Entry
from portal.partnerships import current_procedure, notice_definition
from portal.partnerships.trafford.form import FORM, INFORMAL_EVIDENCE_MESSAGE, STRAIGHT_TO_REASON_MESSAGE
from portal.partnerships.trafford.notice import NOTICE, entry, prefill
from portal.web.forms.base import PortalForm, answers_from, field_labels, unbound_fields
from tests.web.forms.helpers import validated_form

CANARY_NAME = "Zyxqoria Canarytest"
CANARY_NHS = "999 000 0018"
CONTACT = "7"

SEED_LABELS = (
    "Name",
    "Role",
    "Agency/Team",
    "Email",
    "Date of notification",
    "Escalation with which team/agency",
    # The seed's "(please check box)" is dropped: on the page the answer is a radio button.
    "Disagreement and / or lack of progress in respect to children at different level of needs",
    "Explicitly identify the problem and clarify the nature of the disagreement",
    "Evidence of the informal challenge that has taken place at stages 1-2 and the outcome of this challenge",
    "Desired outcome for the child and / or family. Please include details of what it is you are requesting "
    "happens because of this challenge",
)

# The five boxes of the seed form, in its wording [002:76-80].
SEED_LEVELS_OF_NEED = (
    "At Referral/Enquiry Stage, (for example, the level of need, disagreement about whether to accept a referral "
    "into any partner agency or progress to strategy meeting)",
    "Children supported under a Child in Need Plan (progress / agreement / dissent)",
    "Children supported under a Child Protection Plan (progress / agreement / dissent)",
    "Children supported who cared for or care experienced (progress / agreement / dissent)",
    "Initial Child Protection Conference (agreement / dissent)",
)


def answers(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "completed_by_name": "Jo Practitioner",
        "completed_by_role": "School Nurse",
        "completed_by_agency_team": "Manchester University NHS FT / 0-19 Service",
        "completed_by_email": "jo.practitioner@nhs.net",
        "date_of_notification": ["20", "11", "2026"],
        "escalation_with": CONTACT,
        "child_name": CANARY_NAME,
        "child_dob": ["29", "2", "2016"],
        "nhs_number": CANARY_NHS,
        "level_of_need": "child-protection",
        "concern": "not-attending",
        "informal_stages_held": "both",
        "raise_at_stage": "stage-3",
        "straight_to_reason": "",
        "problem": "The core group has not met since the conference.",
        "informal_challenge_evidence": "Practitioners spoke on 3 November; managers met on 10 November.",
        "desired_outcome": "A core group meeting is held within 5 working days.",
    }
    data.update(overrides)
    return data


def build(app: Flask, data: dict[str, Any]) -> PortalForm:
    """Validate ``data`` as the service does: the directory's choices filled in, CSRF handled elsewhere."""
    form, _valid = validated_form(app, NOTICE, data, contacts=[(CONTACT, "Agency: role")])
    return form


def errors(form: PortalForm) -> dict[str, list[str]]:
    return {f.name: list(f.errors) for f in form if f.errors}


def test_the_form_is_registered_under_its_code() -> None:
    assert notice_definition("trafford-resolution-notice") is NOTICE
    assert NOTICE.title == "Resolving Professional Disagreements/Escalation Notice"
    assert NOTICE.initial_stage == "stage-3"
    assert NOTICE.date_of_notification_field == "date_of_notification"
    assert NOTICE.recipient_fields == ("escalation_with",)


def test_labels_are_the_seeds_in_the_seeds_order() -> None:
    labels = field_labels(FORM)
    seed_fields = [name for name in NOTICE.field_order if name not in NOTICE.proposed_fields]
    assert [labels[name] for name in seed_fields] == list(SEED_LABELS)
    assert list(NOTICE.choice_labels["level_of_need"].values()) == list(SEED_LEVELS_OF_NEED)


def test_field_order_covers_every_field_once() -> None:
    form_fields = [name for name, _ in unbound_fields(FORM) if name != "submit"]
    assert sorted(NOTICE.field_order) == sorted(form_fields)
    assert len(NOTICE.field_order) == len(set(NOTICE.field_order))
    assert set(NOTICE.proposed_fields) <= set(NOTICE.field_order)
    assert set(NOTICE.identifier_fields) <= set(NOTICE.proposed_fields)
    assert set(NOTICE.recipient_fields) <= set(NOTICE.field_order)


def test_child_identifiers_are_optional_proposals_withheld_from_the_partnerships_copy(app: Flask) -> None:
    # The seed form has no child identifiers: they are proposals, optional, and pseudonymised for the TSSP.
    assert NOTICE.pseudonymous_copy is True
    assert set(NOTICE.identifier_fields) == {"child_name", "child_dob", "nhs_number"}
    form = build(app, answers(child_name="", child_dob=["", "", ""], nhs_number=""))
    assert errors(form) == {}


def test_a_complete_answer_set_is_stored_as_codes(app: Flask) -> None:
    form = build(app, answers())
    assert errors(form) == {}
    stored = answers_from(form)
    assert stored == {
        "completed_by_name": "Jo Practitioner",
        "completed_by_role": "School Nurse",
        "completed_by_agency_team": "Manchester University NHS FT / 0-19 Service",
        "completed_by_email": "jo.practitioner@nhs.net",
        "date_of_notification": "2026-11-20",
        "escalation_with": CONTACT,
        "child_name": CANARY_NAME,
        "child_dob": "2016-02-29",
        "nhs_number": CANARY_NHS,
        "level_of_need": "child-protection",
        "concern": "not-attending",
        "informal_stages_held": "both",
        "raise_at_stage": "stage-3",
        "straight_to_reason": "",
        "problem": "The core group has not met since the conference.",
        "informal_challenge_evidence": "Practitioners spoke on 3 November; managers met on 10 November.",
        "desired_outcome": "A core group meeting is held within 5 working days.",
    }
    shown = NOTICE.display(stored, {"escalation_with": "Trafford Children's Services: Head of Service"})
    assert shown["level_of_need"] == SEED_LEVELS_OF_NEED[2]
    assert shown["escalation_with"] == "Trafford Children's Services: Head of Service"
    assert shown["raise_at_stage"] == "Stage 3: formal escalation to the next level of management"


REQUIRED = {
    "completed_by_name": "Enter your name",
    "completed_by_role": "Enter your role, for example Social Worker",
    "completed_by_agency_team": "Enter your agency and team",
    "completed_by_email": "Enter your email address",
    "date_of_notification": "Enter the date of notification",
    "escalation_with": "Choose the team or agency you are escalating with",
    "level_of_need": "Select the level of need the disagreement is about",
    "concern": "Select the concern that comes closest",
    "informal_stages_held": "Select which informal stages have taken place",
    "raise_at_stage": "Select the stage you are raising this notice at",
    "problem": "Enter the problem and the nature of the disagreement",
    "informal_challenge_evidence": INFORMAL_EVIDENCE_MESSAGE,
    "desired_outcome": "Enter the outcome you want for the child or family",
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
        ("level_of_need", "child-in-care"),
        ("level_of_need", SEED_LEVELS_OF_NEED[0]),  # the label, not the code
        ("informal_stages_held", "stage-2"),
        ("raise_at_stage", "stage-5"),
    ],
)
def test_an_unknown_choice_is_refused(app: Flask, name: str, value: str) -> None:
    form = build(app, answers(**{name: value}))
    assert form[name].errors == ["Select one of the options"]


def test_a_contact_outside_the_directory_is_refused(app: Flask) -> None:
    form = build(app, answers(escalation_with="8"))
    assert form.escalation_with.errors == ["Choose a contact from the list"]


def test_an_email_that_is_not_one_is_refused(app: Flask) -> None:
    form = build(app, answers(completed_by_email="0161 912 0000"))
    assert form.completed_by_email.errors == ["Enter an email address in the correct format, like name@example.com"]


def test_an_invalid_nhs_number_is_refused(app: Flask) -> None:
    form = build(app, answers(nhs_number="999 000 0019"))
    assert form.nhs_number.errors == ["Enter a valid NHS number: check the 10 digits against the child's record"]


SKIPS = [
    ("both", "stage-4"),
    ("stage-1", "stage-3"),
    ("stage-1", "stage-4"),
    ("none", "stage-3"),
    ("none", "stage-4"),
]


@pytest.mark.parametrize(("held", "stage"), SKIPS)
def test_a_reason_is_required_when_the_notice_skips_a_stage(app: Flask, held: str, stage: str) -> None:
    form = build(app, answers(informal_stages_held=held, raise_at_stage=stage, straight_to_reason=""))
    assert form.straight_to_reason.errors == [STRAIGHT_TO_REASON_MESSAGE]
    assert errors(form).keys() == {"straight_to_reason"}
    reason = "The child is at risk of significant harm and stage 2 managers are unavailable for a fortnight."
    form = build(app, answers(informal_stages_held=held, raise_at_stage=stage, straight_to_reason=reason))
    assert errors(form) == {}
    assert answers_from(form)["straight_to_reason"] == reason


def test_no_reason_is_needed_after_stages_1_and_2_and_a_stray_one_is_not_kept(app: Flask) -> None:
    form = build(app, answers(straight_to_reason=""))
    assert errors(form) == {}
    form = build(app, answers(straight_to_reason="Left over from an earlier answer"))
    assert errors(form) == {}
    assert answers_from(form)["straight_to_reason"] == ""


def test_evidence_of_the_informal_challenge_is_optional_only_when_neither_stage_took_place(app: Flask) -> None:
    reason = "A child protection conference is tomorrow."
    form = build(app, answers(informal_stages_held="none", straight_to_reason=reason, informal_challenge_evidence=""))
    assert errors(form) == {}
    form = build(
        app, answers(informal_stages_held="stage-1", straight_to_reason=reason, informal_challenge_evidence="")
    )
    assert form.informal_challenge_evidence.errors == [INFORMAL_EVIDENCE_MESSAGE]


@pytest.mark.parametrize(
    ("held", "stage", "expected"),
    [
        ("both", "stage-3", Entry("stage-3")),
        ("both", "stage-4", Entry("stage-4", "stage-2", "why")),
        ("stage-1", "stage-3", Entry("stage-3", "stage-1", "why")),
        ("stage-1", "stage-4", Entry("stage-4", "stage-1", "why")),
        ("none", "stage-3", Entry("stage-3", "stage-1", "why")),
        ("none", "stage-4", Entry("stage-4", "stage-1", "why")),
    ],
)
def test_entry_follows_the_stages_held_and_the_stage_chosen(held: str, stage: str, expected: Entry) -> None:
    stored = {"informal_stages_held": held, "raise_at_stage": stage, "straight_to_reason": "why"}
    assert entry(stored) == expected
    assert NOTICE.entry_for(stored) == expected


def test_skips_the_notice_can_make_are_the_procedures() -> None:
    procedure = current_procedure("trafford")
    allowed = {(skip.from_stage, skip.to_stage) for skip in procedure.skips}
    for held, stage in SKIPS:
        found = entry({"informal_stages_held": held, "raise_at_stage": stage, "straight_to_reason": "why"})
        assert (found.skipped_from, found.stage) in allowed


class _Agency:
    name = "Trafford Council / Children's Social Care"


class _User:
    name = "Jo Practitioner"
    job_title = "Social Worker"
    agency = _Agency()
    email = "jo@trafford.gov.uk"
    telephone = "0161 912 0000"


def test_prefill_answers_the_completed_by_questions_from_the_profile() -> None:
    assert prefill(_User()) == {
        "completed_by_name": "Jo Practitioner",
        "completed_by_role": "Social Worker",
        "completed_by_agency_team": "Trafford Council / Children's Social Care",
        "completed_by_email": "jo@trafford.gov.uk",
    }
    assert set(prefill(_User())) <= set(NOTICE.field_order)
