"""Rendering of Rochdale's Appendix 1 notice: furniture, wording, order, hostile input, metadata."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import pypdf
import pytest

from portal.infrastructure.pdf import NoticeContext, StageRecord
from portal.services.documents import layout_for, render_notice
from tests.infrastructure.pdf.helpers import (
    CANARY_DOB,
    CANARY_NAME,
    CANARY_NHS,
    HANDLING,
    HOSTILE,
    MARKING,
    assert_furniture,
    assert_hostile_literal,
    assert_in_order,
    assert_metadata_clean,
    assert_renders_without_files,
    blank_body,
    flat,
    notice_context,
    page_texts,
)

FORM = "rochdale-appendix-1"
REFERENCE = "ROC-2026-0001"

# Copied from the partnership's published Appendix 1 (seed 000), in print order.
SEED_LABELS = (
    "APPENDIX 1",
    "Professional Challenge / Outcome Resolution Notice",
    HANDLING,
    "Date of Notification",
    "Name of Child/Young Person",
    "D.O.B",
    "NHS Number/ P Number",
    "Outcome Resolution Notice Completed by:",
    "Name",
    "Role",
    "Agency/Team",
    "Contact Details",
    "Notification has been sent to:",
    "1.",
    "2.",
    "Summary of disagreement",
    "Evidence of the informal challenge that has taken place at stages 1-2 and the outcome of this challenge",
    "Desired outcome for the child and / or family. Please include details of what it is you are "
    "requesting happens as a result of this challenge",
    "Stage Date Outcome Resolved Supporting Evidence Embed written confirmation between parties about the "
    "agreed outcome",
    "Stage 3",
    "Stage 4",
)

FIELDS = {
    "date_of_notification": "23 November 2026",
    "child_name": CANARY_NAME,
    "child_dob": CANARY_DOB,
    "nhs_number": CANARY_NHS,
    "p_number": "P12345",
    "completed_by_name": "Jo Practitioner",
    "completed_by_role": "Named Nurse for Safeguarding Children",
    "completed_by_agency_team": "Pennine Care Foundation Trust / Health Visiting",
    "completed_by_contact": "jo.practitioner@nhs.net\n0161 716 0000",
    "sent_to_1": "Head of Service - First Response Team",
    "sent_to_2": "Rochdale Safeguarding Children Unit",
    "summary_of_disagreement": "Agencies disagree about the threshold for a strategy discussion.",
    "informal_challenge_evidence": "Practitioners spoke on 3 November.\nManagers met on 9 November.",
    "desired_outcome": "A multi-agency strategy discussion is convened within 2 working days.",
}

# Stage 3 resolved by agreement: its row fills from the stage record and the closure; Stage 4 stays blank.
STAGES = (
    StageRecord(
        code="stage-3",
        name="Stage 3",
        started="12 November 2026",
        due="",
        status="Resolved",
        response="Strategy discussion agreed.",
        ended="20 November 2026",
    ),
)
CLOSURE = {
    "agreed_outcome": "Strategy discussion convened.",
    "written_confirmation": "Email from Head of Service confirming the strategy discussion.",
}


def make_context(**fields: str) -> NoticeContext:
    return notice_context(
        REFERENCE,
        "Professional Challenge / Outcome Resolution Notice",
        "Rochdale Borough Safeguarding Children Partnership",
        {**FIELDS, **fields},
        stages=STAGES,
        closure=CLOSURE,
    )


def marking_heights(page: pypdf.PageObject) -> list[float]:
    """Return the baseline height of every text run on ``page`` that holds the marking."""
    heights: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: object, _size: object) -> None:
        if MARKING in text:
            heights.append(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])

    page.extract_text(visitor_text=visit)
    return heights


def test_registry_has_the_rochdale_form() -> None:
    assert layout_for(FORM).form_code == FORM


def test_unknown_form_code_is_refused() -> None:
    with pytest.raises(LookupError):
        render_notice("no-such-form", make_context())


def test_single_page_notice_has_furniture() -> None:
    pdf = render_notice(FORM, make_context())
    assert pdf.startswith(b"%PDF-")
    assert assert_furniture(pdf, REFERENCE) == 1


def test_marking_sits_at_top_and_bottom_of_every_page() -> None:
    reader = pypdf.PdfReader(io.BytesIO(render_notice(FORM, make_context(summary_of_disagreement="word " * 4000))))
    assert len(reader.pages) > 2
    for page in reader.pages:
        height = float(page.mediabox.height)
        heights = marking_heights(page)
        assert max(heights) > height * 0.9
        assert min(heights) < height * 0.1


def test_labels_follow_the_seed_wording_and_order() -> None:
    text = flat("\n".join(page_texts(render_notice(FORM, make_context()))))
    assert_in_order(text, SEED_LABELS)


def test_field_values_are_printed() -> None:
    text = flat("\n".join(page_texts(render_notice(FORM, make_context()))))
    for key, value in FIELDS.items():
        if key in {"nhs_number", "p_number", "sent_to_1", "sent_to_2"}:
            continue
        assert flat(value) in text, key
    assert f"NHS number: {CANARY_NHS} P Number: P12345" in text
    assert "1. Head of Service - First Response Team 2. Rochdale Safeguarding Children Unit" in text
    assert "Rochdale Borough Safeguarding Children Partnership" in text
    assert "Version 1, issued 23 November 2026 14:05" in text


def test_line_breaks_in_values_are_kept() -> None:
    text = page_texts(render_notice(FORM, make_context()))[0]
    assert "jo.practitioner@nhs.net\n0161 716 0000" in text
    assert "Practitioners spoke on 3 November.\nManagers met on 9 November." in text


def test_issue_time_prints_in_uk_summer_time() -> None:
    context = replace(make_context(), version=3, issued_at=datetime(2026, 7, 1, 13, 5, tzinfo=UTC))
    assert "Version 3, issued 1 July 2026 14:05" in page_texts(render_notice(FORM, context))[0]


def test_only_the_identifiers_given_are_printed() -> None:
    only_p = flat(page_texts(render_notice(FORM, make_context(nhs_number="")))[0])
    assert "P Number: P12345" in only_p
    assert "NHS number:" not in only_p
    only_nhs = flat(page_texts(render_notice(FORM, make_context(p_number="")))[0])
    assert f"NHS number: {CANARY_NHS}" in only_nhs
    assert "P Number:" not in only_nhs


def test_blank_notice_still_shows_every_label() -> None:
    blank_body(FORM, make_context(), SEED_LABELS)


def test_canary_is_valid_nhs_number() -> None:
    # Guards the canary itself: a 999-prefixed number that passes the modulus 11 check.
    digits = [int(d) for d in CANARY_NHS.replace(" ", "")]
    check = 11 - sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    assert check != 10
    assert digits[9] == (0 if check == 11 else check)


def test_metadata_holds_no_child_data() -> None:
    pdf = render_notice(FORM, make_context())
    assert_metadata_clean(pdf, f"Professional Challenge / Outcome Resolution Notice {REFERENCE}", ["P12345"])


def test_hostile_text_renders_literally() -> None:
    context = replace(make_context(), partnership_name="Partnership <i>& Co</i>", fields=dict.fromkeys(FIELDS, HOSTILE))
    text = flat("\n".join(page_texts(render_notice(FORM, context))))
    assert_hostile_literal(text)
    assert "Partnership <i>& Co</i>" in text


def test_long_text_breaks_across_pages_without_loss() -> None:
    long_words = " ".join(f"w{i}" for i in range(4000))[:20_000] + " ENDFLOW"
    lines = "\n".join(f"line {i} of the evidence" for i in range(900))[:20_000] + "\nENDTABLE"
    unbroken = "x" * 5_000 + "ENDWORD"
    context = replace(
        make_context(summary_of_disagreement=long_words, completed_by_contact=unbroken),
        closure={**CLOSURE, "written_confirmation": lines},
    )
    pdf = render_notice(FORM, context)
    total = assert_furniture(pdf, REFERENCE)
    assert total > 10
    text = "".join(page_texts(pdf))
    assert "ENDFLOW" in text
    assert "ENDTABLE" in text
    assert "ENDWORD" in text.replace("\n", "")


def test_rendering_is_deterministic() -> None:
    assert render_notice(FORM, make_context()) == render_notice(FORM, make_context())


def test_rendering_writes_no_files(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    assert_renders_without_files(monkeypatch, FORM, make_context())


def test_context_rejects_naive_times_and_unknown_fields() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        replace(make_context(), issued_at=datetime(2026, 11, 23, 14, 5))  # noqa: DTZ001
    with pytest.raises(ValueError, match="unknown notice field"):
        render_notice(FORM, make_context(child_nmae="typo"))


def test_context_fields_are_copied_and_read_only() -> None:
    source = dict(FIELDS)
    context = replace(make_context(), fields=source)
    source["child_name"] = "Changed"
    assert context.value("child_name") == CANARY_NAME
    with pytest.raises(TypeError):
        context.fields["child_name"] = "Changed"  # type: ignore[index]
