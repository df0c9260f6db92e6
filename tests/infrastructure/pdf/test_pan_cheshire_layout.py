"""Rendering of Pan Cheshire's Appendix A: labels and order, stage records, closure, hostile input, metadata."""

from __future__ import annotations

import io
from dataclasses import replace

import pypdf
import pytest

from portal.infrastructure.pdf import NoticeContext, StageRecord
from portal.partnerships.pan_cheshire import layout
from portal.partnerships.pan_cheshire.notice import NOTICE
from portal.services.documents import layout_for, render_notice
from tests.infrastructure.pdf.helpers import (
    CANARY_DOB,
    CANARY_NAME,
    CANARY_NHS,
    HANDLING,
    HOSTILE,
    assert_hostile_literal,
    assert_in_order,
    assert_metadata_clean,
    between,
    blank_body,
    body,
    flat,
    notice_context,
    text_of,
)

FORM = "pan-cheshire-appendix-a"
REFERENCE = "PCH-2026-0001"

LABELS = (
    "Appendix A",
    "Form for submitting professional challenge cases for escalation and resolution to the Local Safeguarding "
    "Children's Partnership",
    HANDLING,
    "Submitted by",
    "Name",
    "Role",
    "Agency",
    "Contact details",
    "Agencies involved",
    "The other agency's Safeguarding Partnership representative",
    "Second Safeguarding Partnership representative",
    "The child or family",
    "Name of child or young person",
    "Date of birth",
    "NHS number",
    "Allocated lead professional or social worker",
    "Identify explicitly what the problem is",
    "The nature of the professional challenge",
    "What the challenge aims to achieve",
    "Steps taken",
    "Step 1 (Day 1): date the issue was raised with the other agency",
    "Step 1: what happened",
    "Step 2: who took part, when, and the outcome",
    "Step 3: who is taking part",
    "Current risk",
    "Is the child considered at significant risk?",
    "Has the local authority children's social care front door been contacted?",
    "Is a meeting of the involved parties requested?",
    "Step 3: Safeguarding Partnership representative",
    "Date Step 3 started",
    "To conclude by (Day 14)",
    "Sent to",
    "Outcome of Step 3",
    "Actions agreed",
    "Written representations",
    "The other agency's representation (its response at Step 3)",
    "The submitting agency's representation (why it was escalated to Step 4)",
    "For Safeguarding Partnership use",
    "Date received by the Safeguarding Partnership Manager",
    "To conclude by (Day 21)",
    "Recommendation of the Statutory Partners",
    "Agreed outcome",
    "How the resolution improved the outcome for the child or family",
    "Has a debrief taken place?",
    "Written confirmation of the outcome, fed back to the practitioner who raised the concern",
    "Date concluded",
    "Learning for the Safeguarding Partnership",
)

FIELDS = {
    "submitted_by_name": "Sam Senior",
    "submitted_by_role": "Head of Service",
    "submitted_by_agency": "Cheshire East Children's Social Care",
    "submitted_by_contact": "sam.senior@cheshireeast.test\n01270 000000",
    "representative_1": "Cheshire Police: Safeguarding Partnership representative",
    "representative_2": "",
    "child_name": CANARY_NAME,
    "child_dob": CANARY_DOB,
    "nhs_number": CANARY_NHS,
    "lead_professional": "Alex Worker, Social Worker",
    "problem": "The referral was declined although the threshold is met.",
    "challenge_nature": "Disagreement about the threshold for a strategy discussion.",
    "challenge_aim": "A strategy discussion is held this week.",
    "step1_date": "2 November 2026",
    "step1_summary": "Health visitor called the duty social worker.",
    "step2_summary": "Line managers met on 5 November; no agreement.",
    "step3_participants": "Sam Senior and both Partnership representatives.",
    "date_of_notification": "12 November 2026",
    "significant_risk": "No",
    "front_door_contacted": "",
    "meeting_requested": "Yes",
}

STEP_3 = StageRecord(
    code="step-3",
    name="Step 3: Safeguarding Partnership representative",
    started="12 November 2026",
    due="19 November 2026",
    status="Escalated",
    sent_to="Cheshire Police: Safeguarding Partnership representative",
    response="PoliceRepresentation: the threshold was applied correctly.",
    agreed_actions="StepThreeActions: share the chronology.",
    ended="20 November 2026",
    escalation_reason="SubmitterRepresentation: the risk is not reflected in the decision.",
)
STEP_4 = StageRecord(
    code="step-4",
    name="Step 4: Statutory Partners",
    started="20 November 2026",
    due="1 December 2026",
    status="Closed",
    response="PartnersRecommendation: hold a strategy discussion.",
    ended="27 November 2026",
)
CLOSURE = {
    "agreed_outcome": "AgreedOutcomeText",
    "written_confirmation": "FeedbackGivenText",
    "debrief": "Yes",
    "closed_on": "27 November 2026",
    "learning": "LearningText",
}


def make_context(**fields: str) -> NoticeContext:
    return notice_context(
        REFERENCE,
        NOTICE.title,
        "Cheshire East Safeguarding Children's Partnership",
        {**FIELDS, **fields},
    )


def test_layout_is_registered_and_prints_every_answer_of_the_form() -> None:
    assert layout_for(FORM).form_code == FORM
    assert set(layout.FIELD_KEYS) == set(NOTICE.field_order)


def test_labels_are_present_in_order() -> None:
    assert_in_order(body(FORM, make_context()), LABELS)


def test_answers_are_printed_under_their_labels() -> None:
    text = body(FORM, make_context())
    for key, value in FIELDS.items():
        if value:
            assert flat(value) in text, key
    assert between(text, "Is the child considered at significant risk?", "Has the local") == "No"
    assert between(text, "Is a meeting of the involved parties requested?", "Step 3:") == "Yes"
    assert "Cheshire East Safeguarding Children's Partnership" in text
    assert "Version 1, issued 23 November 2026 14:05" in text


def test_before_step_3_is_recorded_only_the_notice_date_prints() -> None:
    text = body(FORM, make_context())
    assert between(text, "Date Step 3 started", "To conclude by (Day 14)") == "12 November 2026"
    assert between(text, "To conclude by (Day 14)", "Sent to") == ""
    assert between(text, "Outcome of Step 3", "Actions agreed") == ""
    assert between(text, "(its response at Step 3)", "The submitting agency's") == ""
    assert between(text, "(why it was escalated to Step 4)", "For Safeguarding Partnership use") == ""
    assert between(text, "Date received by the Safeguarding Partnership Manager", "To conclude by (Day 21)") == ""
    assert between(text, "Recommendation of the Statutory Partners", "Agreed outcome") == ""
    assert text.endswith("Learning for the Safeguarding Partnership")


def test_step_3_and_the_representations_fill_from_the_stage_record() -> None:
    text = body(FORM, replace(make_context(), stages=(STEP_3,)))
    assert between(text, "Date Step 3 started", "To conclude by (Day 14)") == "12 November 2026"
    assert between(text, "To conclude by (Day 14)", "Sent to") == "19 November 2026"
    assert between(text, "Sent to", "Outcome of Step 3") == STEP_3.sent_to
    assert between(text, "Outcome of Step 3", "Actions agreed") == "Escalated to Step 4 on 20 November 2026"
    assert between(text, "Actions agreed", "Written representations") == STEP_3.agreed_actions
    assert between(text, "(its response at Step 3)", "The submitting agency's") == STEP_3.response
    assert between(text, "(why it was escalated to Step 4)", "For Safeguarding") == STEP_3.escalation_reason
    # Step 4 has not started: the Partnership's part stays blank.
    assert between(text, "Date received by the Safeguarding Partnership Manager", "To conclude by (Day 21)") == ""


def test_a_step_3_resolved_by_agreement_says_so() -> None:
    resolved = replace(STEP_3, status="Resolved", escalation_reason="")
    text = body(FORM, replace(make_context(), stages=(resolved,)))
    assert between(text, "Outcome of Step 3", "Actions agreed") == "Resolved on 20 November 2026"
    assert between(text, "(why it was escalated to Step 4)", "For Safeguarding") == ""


def test_the_partnership_part_fills_from_step_4_and_the_closure() -> None:
    context = replace(make_context(), stages=(STEP_3, STEP_4), closure=CLOSURE)
    text = body(FORM, context)
    assert (
        between(text, "Date received by the Safeguarding Partnership Manager", "To conclude by") == "20 November 2026"
    )
    assert between(text, "To conclude by (Day 21)", "Recommendation") == "1 December 2026"
    assert between(text, "Recommendation of the Statutory Partners", "Agreed outcome") == STEP_4.response
    assert between(text, "Agreed outcome", "How the resolution improved") == "AgreedOutcomeText"
    assert between(text, "Has a debrief taken place?", "Written confirmation of the outcome") == "Yes"
    assert between(text, "fed back to the practitioner who raised the concern", "Date concluded") == "FeedbackGivenText"
    assert between(text, "Date concluded", "Learning for the") == "27 November 2026"
    assert text.endswith("Learning for the Safeguarding Partnership LearningText")
    assert_in_order(text, [STEP_3.response, STEP_3.escalation_reason, STEP_4.response, "AgreedOutcomeText"])


def test_blank_notice_still_shows_every_label() -> None:
    blank_body(FORM, make_context(), LABELS)


def test_hostile_text_renders_literally() -> None:
    stage = replace(STEP_3, response=HOSTILE, escalation_reason=HOSTILE)
    context = replace(
        make_context(), fields=dict.fromkeys(FIELDS, HOSTILE), stages=(stage,), closure=dict.fromkeys(CLOSURE, HOSTILE)
    )
    text = body(FORM, context)
    assert_hostile_literal(text)


def test_long_input_breaks_across_pages_without_loss() -> None:
    lines = "\n".join(f"line {i} of the problem" for i in range(5000)) + "\nENDLINES"
    unbroken = "x" * 5000 + "ENDWORD"
    stage = replace(STEP_3, response=lines.replace("ENDLINES", "ENDRESPONSE"))
    context = replace(make_context(problem=lines, submitted_by_contact=unbroken), stages=(stage,))
    pdf = render_notice(FORM, context)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 20
    text = text_of(pdf, REFERENCE)
    for marker in ("ENDLINES", "ENDRESPONSE"):
        assert marker in text
    assert "ENDWORD" in text.replace(" ", "")


def test_a_field_the_layout_does_not_print_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown notice field"):
        render_notice(FORM, make_context(sent_to_1="Rochdale's field"))


def test_metadata_holds_no_child_data() -> None:
    pdf = render_notice(FORM, make_context())
    assert_metadata_clean(pdf, f"{NOTICE.title} {REFERENCE}")
    assert CANARY_NAME in text_of(pdf, REFERENCE)


def test_rendering_is_deterministic() -> None:
    context = replace(make_context(), stages=(STEP_3, STEP_4), closure=CLOSURE)
    assert render_notice(FORM, context) == render_notice(FORM, context)
