"""Rendering of Trafford's escalation notice: wording, order, boxes, stage records, the TSSP's copy, hostile input."""

from __future__ import annotations

from dataclasses import replace

import pytest

from portal.infrastructure.pdf import WITHHELD, NoticeContext, StageRecord
from portal.partnerships.trafford.layout import FIELD_KEYS
from portal.partnerships.trafford.notice import NOTICE
from portal.services.documents import layout_for, render_notice
from tests.infrastructure.pdf.helpers import (
    CANARIES,
    CANARY_DOB,
    CANARY_NAME,
    CANARY_NHS,
    HANDLING,
    HOSTILE,
    assert_furniture,
    assert_hostile_literal,
    assert_in_order,
    assert_metadata_clean,
    assert_renders_without_files,
    between,
    blank_body,
    body,
    flat,
    notice_context,
    page_texts,
)

FORM = "trafford-resolution-notice"
REFERENCE = "TRA-2026-0001"

LEVELS = (
    "At Referral/Enquiry Stage, (for example, the level of need, disagreement about whether to accept a referral "
    "into any partner agency or progress to strategy meeting)",
    "Children supported under a Child in Need Plan (progress / agreement / dissent)",
    "Children supported under a Child Protection Plan (progress / agreement / dissent)",
    "Children supported who cared for or care experienced (progress / agreement / dissent)",
    "Initial Child Protection Conference (agreement / dissent)",
)

# Copied from the partnership's published notice (seed 002), in print order.
SEED_LABELS = (
    "Resolving Professional Disagreements/Escalation Notice",
    "A copy of this escalation notice should be shared with the TSSP Business Manager tssp@trafford.gov.uk.",
    HANDLING,
    "A clear record should be kept by everyone at all stages",
    "Outcome Resolution Notice Completed by:",
    "Name:",
    "Role:",
    "Agency/Team:",
    "Email:",
    "Date of notification:",
    "Escalation with which team/agency:",
    "Disagreement and / or lack of progress in respect to children at different level of needs (please check box)",
    *LEVELS,
    "Explicitly identify the problem and clarify the nature of the disagreement",
    "Evidence of the informal challenge that has taken place at stages 1-2 and the outcome of this challenge",
    "Desired outcome for the child and / or family. Please include details of what it is you are requesting "
    "happens because of this challenge",
    "What were the outcomes of stage 3 and any outstanding issues",
    "Has an outcome been agreed and debrief taken place",
    "Yes",
    "No",
    "Were any general issues identified, do these need to be considered within the TSSP to inform learning and "
    "improvement.",
)

# As the service passes them: display strings (choice labels, long dates, the contact's label).
FIELDS = {
    "completed_by_name": "Jo Practitioner",
    "completed_by_role": "School Nurse",
    "completed_by_agency_team": "Manchester University NHS FT / 0-19 Service",
    "completed_by_email": "jo.practitioner@nhs.net",
    "date_of_notification": "23 November 2026",
    "escalation_with": "Trafford Children's Services: Head of Service",
    "child_name": CANARY_NAME,
    "child_dob": CANARY_DOB,
    "nhs_number": CANARY_NHS,
    "level_of_need": LEVELS[2],
    "informal_stages_held": "Stages 1 and 2 have taken place",
    "raise_at_stage": "Stage 3: formal escalation to the next level of management",
    "straight_to_reason": "",
    "problem": "The core group has not met since the conference.",
    "informal_challenge_evidence": "Practitioners spoke on 3 November.\nManagers met on 10 November.",
    "desired_outcome": "A core group meeting is held within 5 working days.",
}

STAGE_3 = StageRecord(
    code="stage-3",
    name="Stage 3: Formal escalation",
    started="23 November 2026",
    due="7 December 2026",
    status="Escalated",
    response="Head of Service agreed to convene the core group.",
    agreed_actions="Core group on 1 December.",
    ended="4 December 2026",
    escalation_reason="The core group was cancelled again.",
)
STAGE_4 = StageRecord(
    code="stage-4",
    name="Stage 4: Trafford Strategic Safeguarding Partnership",
    started="4 December 2026",
    due="18 December 2026",
    status="Resolved",
    response="The independent advisor brokered a core group date both agencies accept.",
)
CLOSURE = {
    "agreed_outcome": "Core group held on 10 December.",
    "written_confirmation": "Email from the Head of Service, 11 December.",
    "impact_on_child": "The plan is being reviewed on time.",
    "debrief": "Yes",
    "learning": "Core group cancellations should be reported to the TSSP.",
    "closed_on": "12 December 2026",
}


def make_context(**fields: str) -> NoticeContext:
    return notice_context(
        REFERENCE,
        "Resolving Professional Disagreements/Escalation Notice",
        "Trafford Strategic Safeguarding Partnership",
        {**FIELDS, **fields},
    )


def test_the_layout_is_registered_and_prints_every_answer_of_the_form() -> None:
    assert layout_for(FORM).form_code == FORM
    # The service passes every stored answer; a form field the layout did not declare would refuse to render.
    assert set(FIELD_KEYS) == set(NOTICE.field_order)


def test_labels_follow_the_seed_wording_and_order() -> None:
    assert_in_order(body(FORM, make_context()), SEED_LABELS)


def test_blank_notice_still_shows_every_label() -> None:
    text = blank_body(FORM, make_context(), SEED_LABELS)
    assert "[X]" not in text


def test_answers_are_printed_beside_their_labels() -> None:
    text = body(FORM, make_context())
    assert between(text, "Name:", "Role:") == "Jo Practitioner"
    assert between(text, "Email:", "Date of notification:") == "jo.practitioner@nhs.net"
    assert between(text, "Escalation with which team/agency:", "Child or young person") == FIELDS["escalation_with"]
    assert f"Name of child/young person {CANARY_NAME} Date of birth {CANARY_DOB} NHS number {CANARY_NHS}" in text
    for key in ("problem", "desired_outcome", "informal_challenge_evidence"):
        assert flat(FIELDS[key]) in text, key
    assert "Version 1, issued 23 November 2026 14:05" in text


@pytest.mark.parametrize("chosen", range(5))
def test_only_the_chosen_level_of_need_is_ticked(chosen: int) -> None:
    text = body(FORM, make_context(level_of_need=LEVELS[chosen]))
    for index, label in enumerate(LEVELS):
        box = "[X]" if index == chosen else "[ ]"
        assert f"{box} {label}" in text, label
    assert text.count("[X]") == 1


def test_a_level_of_need_given_as_its_code_is_ticked_too() -> None:
    text = body(FORM, make_context(level_of_need="icpc"))
    assert f"[X] {LEVELS[4]}" in text


def test_stage_boxes_are_blank_before_the_stages_happen() -> None:
    text = body(FORM, make_context())
    outcomes = between(
        text, "What were the outcomes of stage 3 and any outstanding issues", "Has an outcome been agreed"
    )
    assert outcomes == ""
    assert "[ ] Yes [ ] No" in text
    assert text.endswith("to inform learning and improvement.")
    assert "Stage 4: Trafford Strategic Safeguarding Partnership" not in text
    assert "Went straight to stage" not in text


def test_stage_records_and_closure_fill_the_last_boxes() -> None:
    context = replace(make_context(), stages=(STAGE_3, STAGE_4), closure=CLOSURE)
    text = body(FORM, context)
    outcomes = between(
        text, "What were the outcomes of stage 3 and any outstanding issues", "Stage 4: Trafford Strategic"
    )
    assert outcomes == (
        "Outcome: Head of Service agreed to convene the core group. Agreed actions: Core group on 1 December. "
        "Outstanding issues: The core group was cancelled again."
    )
    stage_4 = between(text, "Stage 4: Trafford Strategic Safeguarding Partnership", "Has an outcome been agreed")
    assert stage_4 == (
        "Date formally referred to the TSSP 4 December 2026 Outcome from the TSSP's independent advisor "
        "The independent advisor brokered a core group date both agencies accept."
    )
    assert "[X] Yes [ ] No" in text
    assert "Agreed outcome: Core group held on 10 December." in text
    assert "Written confirmation: Email from the Head of Service, 11 December." in text
    assert text.endswith("improvement. Core group cancellations should be reported to the TSSP.")


def test_no_debrief_ticks_no() -> None:
    context = replace(make_context(), stages=(STAGE_3,), closure={**CLOSURE, "debrief": "No"})
    assert "[ ] Yes [X] No" in body(FORM, context)


def test_a_notice_that_skipped_a_stage_says_why() -> None:
    reason = "The child is at risk of significant harm and managers are unavailable."
    skipped = replace(STAGE_4, skip_reason=reason, response="", status="Open")
    text = body(FORM, replace(make_context(), stages=(skipped,)))
    assert f"Went straight to stage 4: {reason}" in text
    # Stage 3 never happened, so its box stays blank.
    assert between(text, "any outstanding issues", "Stage 4: Trafford") == ""


def test_before_stage_records_exist_the_answers_say_why_it_skipped() -> None:
    reason = "A conference is tomorrow."
    context = make_context(
        informal_stages_held="Only stage 1 has taken place",
        raise_at_stage="Stage 3: formal escalation to the next level of management",
        straight_to_reason=reason,
    )
    assert f"Went straight to stage 3: {reason}" in body(FORM, context)


def test_the_business_unit_copy_withholds_the_childs_identifiers() -> None:
    context = replace(make_context(), copy="business-unit")
    text = body(FORM, context)
    for label in ("Name of child/young person", "Date of birth", "NHS number"):
        assert f"{label} {WITHHELD}" in text
    for canary in CANARIES:
        assert canary not in text
    # Even when the service has already blanked them.
    blanked = replace(make_context(child_name="", child_dob="", nhs_number=""), copy="business-unit")
    assert body(FORM, blanked).count(WITHHELD) == 3
    # The parties' copy shows them.
    assert WITHHELD not in body(FORM, make_context())


def test_metadata_holds_no_child_data() -> None:
    pdf = render_notice(FORM, make_context())
    assert_metadata_clean(pdf, f"Resolving Professional Disagreements/Escalation Notice {REFERENCE}")


def test_hostile_text_renders_literally() -> None:
    hostile_stage = replace(STAGE_3, response=HOSTILE, skip_reason=HOSTILE)
    context = replace(
        make_context(),
        fields=dict.fromkeys(FIELDS, HOSTILE),
        stages=(hostile_stage,),
        closure=dict.fromkeys(CLOSURE, HOSTILE),
    )
    text = body(FORM, context)
    assert_hostile_literal(text)
    assert "[X]" not in text.split("Explicitly identify")[0]


def test_long_text_breaks_across_pages_without_loss() -> None:
    lines = "\n".join(f"line {i} of the problem" for i in range(5000)) + "\nENDLINES"
    unbroken = "x" * 5_000 + "ENDWORD"
    long_stage = replace(STAGE_3, response="word " * 3000 + "ENDSTAGE", skip_reason="y" * 5000 + "ENDSKIP")
    context = replace(
        make_context(problem=lines, completed_by_email=unbroken, escalation_with="z" * 3000 + "ENDCONTACT"),
        stages=(long_stage,),
        closure={"learning": "learning " * 2000 + "ENDLEARNING"},
    )
    pdf = render_notice(FORM, context)
    assert assert_furniture(pdf, REFERENCE) > 20
    text = "".join(page_texts(pdf)).replace("\n", "")
    for end in ("ENDLINES", "ENDWORD", "ENDSTAGE", "ENDSKIP", "ENDCONTACT", "ENDLEARNING"):
        assert end in text, end


def test_rendering_writes_no_files(monkeypatch: pytest.MonkeyPatch) -> None:
    context = replace(make_context(), stages=(STAGE_3, STAGE_4), closure=CLOSURE)
    assert_renders_without_files(monkeypatch, FORM, context)


def test_rendering_is_deterministic() -> None:
    assert render_notice(FORM, make_context()) == render_notice(FORM, make_context())


def test_an_answer_outside_the_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown notice field"):
        render_notice(FORM, make_context(summary_of_disagreement="Rochdale's key, not Trafford's"))
