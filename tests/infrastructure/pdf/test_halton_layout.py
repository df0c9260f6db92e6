"""Rendering of Halton's 2013 escalation record: legacy marking, labels, tier rows, closure, hostile input, metadata."""

from __future__ import annotations

import io
from dataclasses import replace

import pypdf
import pytest

from portal.infrastructure.pdf import NoticeContext, StageRecord
from portal.partnerships.halton import layout
from portal.partnerships.halton.notice import LEGACY_CAPTION, NOTICE
from portal.partnerships.halton.procedure import PROCEDURE
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

FORM = "halton-2013-record"
REFERENCE = "HAL-2026-0001"
LEGACY = (
    "Halton Safeguarding Children Board, Escalation Policy Resolution Pathways, revised September 2013 (legacy policy)"
)
MASCU_LINE = (
    "Where HSCB representatives are unable to resolve the matter the issue should be referred to the "
    "Multi-Agency Safeguarding Children's Unit Manager, who will determine a course of action; this will include "
    "reporting to the HSCB Chair."
)
TIERS = (
    "Manager/Named Professional Safeguarding",
    "Next Level Management",
    "HSCB Representative for Agency",
    "Multi-Agency Safeguarding Children's Unit Manager",
)

LABELS = (
    "Escalation record",
    LEGACY,
    HANDLING,
    "Date raised",
    "Name of child or young person",
    "Date of birth",
    "NHS number",
    "Raised by",
    "Name",
    "Role",
    "Agency/Team",
    "Contact Details",
    "The other agency involved",
    "What the disagreement is about",
    "Identify explicitly what the problem is",
    "What the respective workers aim to achieve",
    "What was tried at practitioner/case worker level, and the outcome",
    "Escalation through the Appendix A tiers",
    "Tier Date reached Sent to Outcome Ended / reason escalated",
    *TIERS,
    "Written confirmation of the agreed outcome and how outstanding issues will be pursued",
    "Outcome",
    "Impact on the child",
    "Debrief held",
    "General issues referred to the Multi Agency Safeguarding Children's Unit",
    "Date closed",
    MASCU_LINE,
)

FIELDS = {
    "date_of_notification": "20 November 2026",
    "child_name": CANARY_NAME,
    "child_dob": CANARY_DOB,
    "nhs_number": CANARY_NHS,
    "completed_by_name": "Pat Visitor",
    "completed_by_role": "Health Visitor",
    "completed_by_agency_team": "Bridgewater Community NHS Trust, Runcorn",
    "completed_by_contact": "pat.visitor@bridgewater.test\n0151 000 0000",
    "other_agency": "Children's Social Care - Runcorn",
    "disagreement_area": "Determining levels of need",
    "problem": "The family was assessed as below the threshold.",
    "workers_aims": "Health: a child in need assessment. Social care: early help first.",
    "practitioner_level": "Two calls with the duty social worker; no agreement.",
}

MANAGER = StageRecord(
    code="manager-named-professional",
    name=TIERS[0],
    started="20 November 2026",
    due="",
    status="Escalated",
    sent_to="Joy Hughes, Principal Manager",
    response="ManagerResponse",
    agreed_actions="ManagerActions",
    ended="24 November 2026",
    escalation_reason="Still unresolved",
)
MASCU = StageRecord(
    code="mascu-manager",
    name=TIERS[3],
    started="24 November 2026",
    due="",
    status="Closed",
    sent_to="Halton MASCU",
    response="MascuCourse",
    ended="30 November 2026",
    skip_reason="policy issue",
)
CLOSURE = {
    "written_confirmation": "WrittenConfirmationText",
    "agreed_outcome": "AgreedOutcomeText",
    "impact_on_child": "ImpactText",
    "debrief": "DebriefText",
    "learning": "LearningText",
    "closed_on": "30 November 2026",
}


def make_context(**fields: str) -> NoticeContext:
    return notice_context(
        REFERENCE,
        NOTICE.title,
        "Halton Safeguarding Children Board",
        {**FIELDS, **fields},
    )


def tier_cells(text: str, tier: str) -> str:
    """Return what the tier's row prints: the text after its name, up to the next tier or the closing part."""
    later = [name for name in TIERS[TIERS.index(tier) + 1 :]]
    head = text.index(tier) + len(tier)
    ends = [text.index(name, head) for name in later[:1]] or [text.index("Written confirmation of", head)]
    return text[head : ends[0]].strip()


def test_layout_is_registered_and_prints_every_answer_of_the_form() -> None:
    assert layout_for(FORM).form_code == FORM
    assert set(layout.FIELD_KEYS) == set(NOTICE.field_order)


def test_tiers_match_the_procedure() -> None:
    stages = {stage.code: stage.name for stage in PROCEDURE.stages}
    assert [(code, stages[code]) for code, _name in layout.TIERS] == list(layout.TIERS)
    assert [name for _code, name in layout.TIERS] == list(TIERS)


def test_legacy_marking_is_on_the_form_and_the_pdf() -> None:
    assert LEGACY_CAPTION == layout.LEGACY_CAPTION == LEGACY
    text = body(FORM, make_context())
    assert text.startswith(f"Escalation record {LEGACY}")
    assert "(legacy policy)" in NOTICE.title


def test_labels_are_present_in_order() -> None:
    assert_in_order(body(FORM, make_context()), LABELS)


def test_answers_are_printed_under_their_labels() -> None:
    text = body(FORM, make_context())
    for key, value in FIELDS.items():
        assert flat(value) in text, key
    assert between(text, "The other agency involved", "What the disagreement") == "Children's Social Care - Runcorn"
    assert between(text, "What the disagreement is about", "Identify explicitly") == "Determining levels of need"
    assert "Version 1, issued 23 November 2026 14:05" in text


def test_tiers_not_reached_print_as_such() -> None:
    text = body(FORM, make_context())
    for tier in TIERS:
        assert tier_cells(text, tier) == "Not reached", tier
    assert between(text, "will be pursued", "Outcome") == ""
    assert between(text, "Debrief held", "General issues") == ""
    assert between(text, "Date closed", "Where HSCB representatives") == ""


def test_reached_tiers_fill_from_their_stage_records() -> None:
    text = body(FORM, replace(make_context(), stages=(MANAGER, MASCU)))
    manager = tier_cells(text, TIERS[0])
    assert_in_order(
        manager,
        [
            "20 November 2026",
            "Joy Hughes, Principal Manager",
            "ManagerResponse",
            "Agreed actions: ManagerActions",
            "24 November 2026",
            "Escalated: Still unresolved",
        ],
    )
    assert "Not reached" not in manager
    assert tier_cells(text, TIERS[1]) == "Not reached"
    assert tier_cells(text, TIERS[2]) == "Not reached"
    mascu = tier_cells(text, TIERS[3])
    # Cells wrap in short rows side by side, so check each cell's text rather than their interleaving.
    for item in ("24 November 2026", "Halton MASCU", "Earlier tiers passed over: policy issue", "30 November 2026"):
        assert item in mascu, item
    assert_in_order(mascu, ["Earlier tiers passed over: policy issue", "MascuCourse"])
    assert "Escalated:" not in mascu


def test_the_closure_prints_under_its_labels() -> None:
    context = replace(make_context(), stages=(MANAGER, MASCU), closure=CLOSURE)
    text = body(FORM, context)
    assert between(text, "how outstanding issues will be pursued", "Outcome") == "WrittenConfirmationText"
    assert between(text, "WrittenConfirmationText Outcome", "Impact on the child") == "AgreedOutcomeText"
    assert between(text, "Impact on the child", "Debrief held") == "ImpactText"
    assert between(text, "Debrief held", "General issues") == "DebriefText"
    assert between(text, "Safeguarding Children's Unit", "Date closed").endswith("LearningText")
    assert between(text, "Date closed", "Where HSCB") == "30 November 2026"
    assert text.endswith(MASCU_LINE)


def test_blank_record_still_shows_every_label() -> None:
    blank_body(FORM, make_context(), LABELS)


def test_hostile_text_renders_literally() -> None:
    tier = replace(MANAGER, response=HOSTILE, sent_to=HOSTILE, escalation_reason=HOSTILE)
    context = replace(
        make_context(),
        fields=dict.fromkeys(FIELDS, HOSTILE),
        stages=(tier,),
        closure=dict.fromkeys(CLOSURE, HOSTILE),
    )
    text = body(FORM, context)
    assert_hostile_literal(text)


def test_long_input_breaks_across_pages_without_loss() -> None:
    lines = "\n".join(f"line {i} of the outcome" for i in range(5000))
    unbroken = "x" * 5000 + "ENDWORD"
    tier = replace(MANAGER, response=lines + "\nENDTIER", escalation_reason=unbroken)
    context = replace(
        make_context(problem=lines + "\nENDPROBLEM", completed_by_contact=unbroken),
        stages=(tier,),
        closure={"written_confirmation": lines + "\nENDCONFIRMATION"},
    )
    pdf = render_notice(FORM, context)
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) > 30
    text = text_of(pdf, REFERENCE)
    assert_in_order(text, ["ENDPROBLEM", "ENDTIER", "ENDCONFIRMATION", MASCU_LINE])
    assert text.replace(" ", "").count("ENDWORD") == 2


def test_a_field_the_layout_does_not_print_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown notice field"):
        render_notice(FORM, make_context(significant_risk="yes"))


def test_metadata_holds_no_child_data() -> None:
    pdf = render_notice(FORM, make_context())
    assert_metadata_clean(pdf, f"{NOTICE.title} {REFERENCE}")
    assert CANARY_NAME in text_of(pdf, REFERENCE)
