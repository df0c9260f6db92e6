"""Rendering of Bolton's RPDE form: Part A, Part B and the BSCP log, Part C, the outcome, hostile input."""

from __future__ import annotations

from dataclasses import replace

import pytest

from portal.infrastructure.pdf import NoticeContext, StageRecord
from portal.partnerships.bolton.layout import FIELD_KEYS
from portal.partnerships.bolton.notice import NOTICE
from portal.services.documents import layout_for, render_notice
from tests.infrastructure.pdf.helpers import (
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

FORM = "bolton-rpde"
REFERENCE = "BOL-2026-0001"

REASONS = (
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

# The seed's words (003) where it has them; the rest is the layout's proposal, in print order.
LABELS = (
    "BOLTON SAFEGUARDING CHILDREN PARTNERSHIP",
    "Resolving Professional Differences and Escalation (RPDE) form",
    "Agency A sends this form to Agency B's 'Resolution SPOC' and BSCP.",
    HANDLING,
    "Part A: Agency A (Formal Resolution)",
    "Date",
    "Child's name",
    "Child's date of birth",
    "NHS number",
    "Agency case number",
    "Agency A",
    "Practitioner A",
    "Practitioner A's manager",
    "Agency B's 'Resolution SPOC'",
    "Reason for the difference",
    *REASONS,
    "Level in the Framework for Action",
    "Timescale agreed at Informal Resolution for a response from practitioner B's manager",
    "Multi-agency meeting proposed",
    "Lead Professional, IRO or relevant others informed",
    "The issue that needs to be resolved",
    "The desired outcome for the child/ren",
    "Prevention/Early Resolution and Informal Resolution: who tried to resolve the difference, and when",
    "Part B: Agency B's response (within 10 working days)",
    "Response due",
    "Date of response",
    "Outcome and rationale",
    "Agreed actions",
    "BSCP Business Unit log",
    "Date received",
    "Receipt acknowledged",
    "Response due (10 working days)",
    "Followed up",
    "Status",
    "Part C: Partnership Resolution",
    "Once a resolution is made, there is no further option to escalate.",
    "Date requested",
    "Why the difference could not be resolved at the formal stage",
    "Resolution of the independent panel",
    "Outcome and learning",
    "Agreed outcome",
    "Written confirmation",
    "Impact on the child",
    "Debrief",
    "Learning for the BSCP Safeguarding Effectiveness Group (SEG)",
    "Date closed",
)

FIELDS = {
    "date_of_notification": "23 November 2026",
    "child_name": CANARY_NAME,
    "child_dob": CANARY_DOB,
    "nhs_number": CANARY_NHS,
    "local_identifier": "LCS-1234/5",
    "agency_a": "Bolton NHS Foundation Trust",
    "practitioner_name": "Jo Practitioner",
    "practitioner_role": "Health Visitor",
    "practitioner_contact": "jo.practitioner@nhs.net",
    "manager_name": "Sam Manager",
    "manager_contact": "sam.manager@nhs.net",
    "agency_b_spoc": "Children's Social Care and Early Help: Head of Conference, Reviewing and Partnerships",
    "reason": "Service referral criteria",
    "framework_level": "Level 3",
    "issue": "The referral to Early Help was declined.",
    "desired_outcome": "An Early Help assessment starts this month.",
    "earlier_attempts": "Practitioners spoke on 3 November.\nManagers met on 10 November.",
    "informal_timescale": "17 November 2026",
    "multi_agency_meeting": "Yes",
    "lead_professional_informed": "No",
}

FORMAL = StageRecord(
    code="formal-resolution",
    name="Formal Resolution",
    started="23 November 2026",
    due="7 December 2026",
    status="Escalated",
    acknowledged="24 November 2026",
    responded="9 December 2026",
    response="Early Help declined: the family did not consent.",
    agreed_actions="Re-approach the family with the health visitor.",
    ended="10 December 2026",
    escalation_reason="Agency A does not accept that consent was sought properly.",
    chases=("8 December 2026", "9 December 2026"),
)
PARTNERSHIP = StageRecord(
    code="partnership-resolution",
    name="Partnership Resolution",
    started="10 December 2026",
    due="",
    status="Resolved",
    response="The panel asked Early Help to hold a joint visit with the health visitor.",
)
CLOSURE = {
    "agreed_outcome": "Joint visit held on 15 December.",
    "written_confirmation": "Panel letter of 12 December.",
    "impact_on_child": "The family accepted Early Help.",
    "debrief": "Held on 18 December.",
    "learning": "Consent conversations need a script.",
    "closed_on": "18 December 2026",
}


def make_context(**fields: str) -> NoticeContext:
    return notice_context(
        REFERENCE,
        "Resolving Professional Differences and Escalation (RPDE) form",
        "Bolton Safeguarding Children Partnership",
        {**FIELDS, **fields},
    )


def test_the_layout_is_registered_and_prints_every_answer_of_the_form() -> None:
    assert layout_for(FORM).form_code == FORM
    assert set(FIELD_KEYS) == set(NOTICE.field_order)


def test_labels_are_printed_in_order() -> None:
    assert_in_order(body(FORM, make_context()), LABELS)


def test_blank_form_still_shows_every_label() -> None:
    text = blank_body(FORM, make_context(), LABELS)
    assert "[X]" not in text


def test_part_a_prints_the_answers() -> None:
    text = body(FORM, make_context())
    assert between(text, "Child's name", "Child's date of birth") == CANARY_NAME
    assert between(text, "NHS number", "Agency case number") == CANARY_NHS
    assert between(text, "Practitioner A", "Practitioner A's manager") == (
        "Jo Practitioner Health Visitor jo.practitioner@nhs.net"
    )
    assert between(text, "Practitioner A's manager", "Agency B's") == "Sam Manager sam.manager@nhs.net"
    assert FIELDS["agency_b_spoc"] in text
    assert between(text, "Level in the Framework for Action", "Timescale agreed") == "Level 3"
    assert "practitioner B's manager 17 November 2026" in text
    assert "Multi-agency meeting proposed [X] Yes [ ] No" in text
    assert "Lead Professional, IRO or relevant others informed [ ] Yes [X] No" in text
    for key in ("issue", "desired_outcome", "earlier_attempts"):
        assert flat(FIELDS[key]) in text


@pytest.mark.parametrize("chosen", range(9))
def test_only_the_chosen_reason_is_ticked(chosen: int) -> None:
    text = body(FORM, make_context(reason=REASONS[chosen]))
    reasons = between(text, "Reason for the difference", "Level in the Framework for Action")
    for index, label in enumerate(REASONS):
        box = "[X]" if index == chosen else "[ ]"
        assert f"{box} {label}" in reasons, label
    assert reasons.count("[X]") == 1


def test_choices_given_as_codes_are_ticked_too() -> None:
    text = body(FORM, make_context(reason="plan-not-effective", multi_agency_meeting="no"))
    assert f"[X] {REASONS[8]}" in text
    assert "Multi-agency meeting proposed [ ] Yes [X] No" in text


def test_parts_b_and_c_are_blank_before_the_stages_happen() -> None:
    text = body(FORM, make_context())
    part_b = between(text, "Part B: Agency B's response (within 10 working days)", "BSCP Business Unit log")
    assert part_b == "Response due Date of response Outcome and rationale Agreed actions"
    log = between(text, "BSCP Business Unit log", "Part C")
    assert log == "Date received Receipt acknowledged Response due (10 working days) Followed up Status"
    part_c = between(text, "no further option to escalate.", "Outcome and learning")
    assert part_c == (
        "Date requested Why the difference could not be resolved at the formal stage "
        "Resolution of the independent panel"
    )
    assert text.endswith("Debrief Learning for the BSCP Safeguarding Effectiveness Group (SEG) Date closed")


def test_an_open_formal_resolution_fills_part_b_and_the_log_but_not_part_c() -> None:
    open_formal = replace(FORMAL, status="Open", responded="", response="", agreed_actions="", ended="", chases=())
    assert open_formal.escalation_reason
    text = body(FORM, replace(make_context(), stages=(open_formal,)))
    assert "Response due due within 10 working days: 7 December 2026 Date of response" in text
    log = between(text, "BSCP Business Unit log", "Part C")
    assert log == (
        "Date received 23 November 2026 Receipt acknowledged 24 November 2026 "
        "Response due (10 working days) 7 December 2026 Followed up Status Open"
    )
    # An escalation reason recorded before Part C opens is not yet a request for Partnership Resolution.
    assert between(text, "no further option to escalate.", "Outcome and learning") == (
        "Date requested Why the difference could not be resolved at the formal stage "
        "Resolution of the independent panel"
    )


def test_stage_records_and_closure_fill_parts_b_and_c_and_the_outcome() -> None:
    text = body(FORM, replace(make_context(), stages=(FORMAL, PARTNERSHIP), closure=CLOSURE))
    part_b = between(text, "Part B: Agency B's response (within 10 working days)", "BSCP Business Unit log")
    assert part_b == (
        "Response due due within 10 working days: 7 December 2026 Date of response 9 December 2026 "
        "Outcome and rationale Early Help declined: the family did not consent. "
        "Agreed actions Re-approach the family with the health visitor."
    )
    log = between(text, "BSCP Business Unit log", "Part C")
    assert log == (
        "Date received 23 November 2026 Receipt acknowledged 24 November 2026 "
        "Response due (10 working days) 7 December 2026 Followed up 8 December 2026 9 December 2026 "
        "Status Escalated"
    )
    part_c = between(text, "no further option to escalate.", "Outcome and learning")
    assert part_c == (
        "Date requested 10 December 2026 Why the difference could not be resolved at the formal stage "
        "Agency A does not accept that consent was sought properly. Resolution of the independent panel "
        "The panel asked Early Help to hold a joint visit with the health visitor."
    )
    outcome = text.split("Outcome and learning", 1)[1].strip()
    assert outcome == (
        "Agreed outcome Joint visit held on 15 December. Written confirmation Panel letter of 12 December. "
        "Impact on the child The family accepted Early Help. Debrief Held on 18 December. "
        "Learning for the BSCP Safeguarding Effectiveness Group (SEG) Consent conversations need a script. "
        "Date closed 18 December 2026"
    )


def test_a_difference_resolved_at_formal_resolution_prints_its_outcome_without_a_part_c() -> None:
    resolved = replace(FORMAL, status="Resolved", escalation_reason="")
    text = body(FORM, replace(make_context(), stages=(resolved,), closure=CLOSURE))
    assert "Date requested Why the difference could not be resolved at the formal stage Resolution" in text
    assert "Agreed outcome Joint visit held on 15 December." in text


def test_metadata_holds_no_child_data() -> None:
    pdf = render_notice(FORM, make_context())
    title = f"Resolving Professional Differences and Escalation (RPDE) form {REFERENCE}"
    assert_metadata_clean(pdf, title, ["LCS-1234"])


def test_hostile_text_renders_literally() -> None:
    hostile_formal = replace(FORMAL, response=HOSTILE, chases=(HOSTILE,))
    context = replace(
        make_context(),
        partnership_name="Partnership <i>& Co</i>",
        fields=dict.fromkeys(FIELDS, HOSTILE),
        stages=(hostile_formal, replace(PARTNERSHIP, response=HOSTILE)),
        closure=dict.fromkeys(CLOSURE, HOSTILE),
    )
    text = body(FORM, context)
    assert_hostile_literal(text)
    assert "Partnership <i>& Co</i>" in text
    assert "[X]" not in text


def test_long_text_breaks_across_pages_without_loss() -> None:
    lines = "\n".join(f"line {i} of the issue" for i in range(5000)) + "\nENDLINES"
    context = replace(
        make_context(issue=lines, manager_contact="x" * 5_000 + "ENDWORD"),
        stages=(replace(FORMAL, response="word " * 3000 + "ENDRESPONSE", chases=("8 December 2026",) * 500),),
        closure={"learning": "learning " * 2000 + "ENDLEARNING"},
    )
    pdf = render_notice(FORM, context)
    assert assert_furniture(pdf, REFERENCE) > 20
    text = "".join(page_texts(pdf)).replace("\n", "")
    for end in ("ENDLINES", "ENDWORD", "ENDRESPONSE", "ENDLEARNING"):
        assert end in text, end


def test_rendering_writes_no_files(monkeypatch: pytest.MonkeyPatch) -> None:
    context = replace(make_context(), stages=(FORMAL, PARTNERSHIP), closure=CLOSURE)
    assert_renders_without_files(monkeypatch, FORM, context)


def test_rendering_is_deterministic() -> None:
    assert render_notice(FORM, make_context()) == render_notice(FORM, make_context())
