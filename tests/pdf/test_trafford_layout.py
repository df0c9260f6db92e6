"""Rendering of Trafford's escalation notice: wording, order, boxes, stage records, the TSSP's copy, hostile input."""

from __future__ import annotations

import builtins
import io
import re
import tempfile
from dataclasses import replace
from datetime import UTC, datetime

import pypdf
import pytest

from portal.forms.trafford import DEFINITION
from portal.pdf import NOTICE_LAYOUTS, WITHHELD, NoticeContext, StageRecord, render_notice
from portal.pdf.notices.trafford_resolution_notice import FIELD_KEYS

FORM = "trafford-resolution-notice"
REFERENCE = "TRA-2026-0001"
HANDLING = "THIS DOCUMENT MUST BE SENT/STORED SECURELY"
MARKING = "OFFICIAL-SENSITIVE"

CANARY_NAME = "Zyxqoria Canarytest"
CANARY_DOB = "29 February 2016"
CANARY_NHS = "999 000 0018"

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
    return NoticeContext(
        reference=REFERENCE,
        form_title="Resolving Professional Disagreements/Escalation Notice",
        version=1,
        issued_at=datetime(2026, 11, 23, 14, 5, tzinfo=UTC),
        partnership_name="Trafford Strategic Safeguarding Partnership",
        fields={**FIELDS, **fields},
    )


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def flat(text: str) -> str:
    """Collapse all whitespace so wrapped lines compare equal to the source wording."""
    return re.sub(r"\s+", " ", text).strip()


def body(context: NoticeContext) -> str:
    """Return the notice's text without the page furniture, flattened."""
    text = flat("\n".join(page_texts(render_notice(FORM, context))))
    return flat(re.sub(rf"{MARKING} {HANDLING} {REFERENCE} Page \d+ of \d+ {MARKING}", " ", text))


def assert_furniture(pdf: bytes) -> int:
    texts = page_texts(pdf)
    for number, text in enumerate(texts, start=1):
        assert text.count(MARKING) >= 2, f"page {number}"
        assert HANDLING in text and REFERENCE in text, f"page {number}"
        assert f"Page {number} of {len(texts)}" in text, f"page {number}"
    return len(texts)


def between(text: str, start: str, end: str) -> str:
    """Return what prints between two labels."""
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def test_the_layout_is_registered_and_prints_every_answer_of_the_form() -> None:
    assert FORM in NOTICE_LAYOUTS
    # The service passes every stored answer; a form field the layout did not declare would refuse to render.
    assert set(FIELD_KEYS) == set(DEFINITION.field_order)


def test_labels_follow_the_seed_wording_and_order() -> None:
    text = body(make_context())
    position = -1
    for label in SEED_LABELS:
        found = text.find(label, position + 1)
        assert found > position, f"{label!r} missing or out of order"
        position = found


def test_blank_notice_still_shows_every_label() -> None:
    text = body(replace(make_context(), fields={}))
    for label in SEED_LABELS:
        assert label in text
    assert CANARY_NAME not in text
    assert "[X]" not in text


def test_answers_are_printed_beside_their_labels() -> None:
    text = body(make_context())
    assert between(text, "Name:", "Role:") == "Jo Practitioner"
    assert between(text, "Email:", "Date of notification:") == "jo.practitioner@nhs.net"
    assert between(text, "Escalation with which team/agency:", "Child or young person") == FIELDS["escalation_with"]
    assert f"Name of child/young person {CANARY_NAME} Date of birth {CANARY_DOB} NHS number {CANARY_NHS}" in text
    for key in ("problem", "desired_outcome", "informal_challenge_evidence"):
        assert flat(FIELDS[key]) in text, key
    assert "Version 1, issued 23 November 2026 14:05" in text


@pytest.mark.parametrize("chosen", range(5))
def test_only_the_chosen_level_of_need_is_ticked(chosen: int) -> None:
    text = body(make_context(level_of_need=LEVELS[chosen]))
    for index, label in enumerate(LEVELS):
        box = "[X]" if index == chosen else "[ ]"
        assert f"{box} {label}" in text, label
    assert text.count("[X]") == 1


def test_a_level_of_need_given_as_its_code_is_ticked_too() -> None:
    text = body(make_context(level_of_need="icpc"))
    assert f"[X] {LEVELS[4]}" in text


def test_stage_boxes_are_blank_before_the_stages_happen() -> None:
    text = body(make_context())
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
    text = body(context)
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
    assert "[ ] Yes [X] No" in body(context)


def test_a_notice_that_skipped_a_stage_says_why() -> None:
    reason = "The child is at risk of significant harm and managers are unavailable."
    skipped = replace(STAGE_4, skip_reason=reason, response="", status="Open")
    text = body(replace(make_context(), stages=(skipped,)))
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
    assert f"Went straight to stage 3: {reason}" in body(context)


def test_the_business_unit_copy_withholds_the_childs_identifiers() -> None:
    context = replace(make_context(), copy="business-unit")
    text = body(context)
    for label in ("Name of child/young person", "Date of birth", "NHS number"):
        assert f"{label} {WITHHELD}" in text
    for canary in (CANARY_NAME, *CANARY_NAME.split(), CANARY_DOB, CANARY_NHS, CANARY_NHS.replace(" ", "")):
        assert canary not in text
    # Even when the service has already blanked them.
    blanked = replace(make_context(child_name="", child_dob="", nhs_number=""), copy="business-unit")
    assert body(blanked).count(WITHHELD) == 3
    # The parties' copy shows them.
    assert WITHHELD not in body(make_context())


def test_metadata_holds_no_child_data() -> None:
    pdf = render_notice(FORM, make_context())
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    info = {key: str(value) for key, value in (reader.metadata or {}).items()}
    assert info["/Title"] == f"Resolving Professional Disagreements/Escalation Notice {REFERENCE}"
    assert info["/Subject"] == "" and info["/Keywords"] == ""
    metadata_text = " ".join(info.values())
    if reader.xmp_metadata is not None:
        metadata_text += reader.xmp_metadata.stream.get_data().decode("utf-8", "replace")
    for canary in (CANARY_NAME, *CANARY_NAME.split(), CANARY_DOB, CANARY_NHS, CANARY_NHS.replace(" ", "")):
        assert canary.lower() not in metadata_text.lower()
    assert CANARY_NAME in page_texts(pdf)[0]


HOSTILE = (
    "<b>not bold</b> a & b &amp; &lt;x&gt; </para> <br/> <font size=40>big</font>\n"
    "col1\tcol2\x01\x1b[31m\u200b end\n"
    "emoji \U0001f600 and Zoë and Łukasz ]]> %%EOF \\ ( )"
)


def test_hostile_text_renders_literally() -> None:
    hostile_stage = replace(STAGE_3, response=HOSTILE, skip_reason=HOSTILE)
    context = replace(
        make_context(),
        fields=dict.fromkeys(FIELDS, HOSTILE),
        stages=(hostile_stage,),
        closure=dict.fromkeys(CLOSURE, HOSTILE),
    )
    text = body(context)
    assert "<b>not bold</b> a & b &amp; &lt;x&gt; </para> <br/> <font size=40>big</font>" in text
    assert "col1 col2[31m end" in text
    assert "Zoë" in text
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
    assert assert_furniture(pdf) > 20
    text = "".join(page_texts(pdf)).replace("\n", "")
    for end in ("ENDLINES", "ENDWORD", "ENDSTAGE", "ENDSKIP", "ENDCONTACT", "ENDLEARNING"):
        assert end in text, end


def test_rendering_writes_no_files(monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = builtins.open

    def guarded_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"render opened {file!r} for writing")
        return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    def no_temp(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("render used a temporary file")

    monkeypatch.setattr(builtins, "open", guarded_open)
    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile"):
        monkeypatch.setattr(tempfile, name, no_temp)
    context = replace(make_context(), stages=(STAGE_3, STAGE_4), closure=CLOSURE)
    assert render_notice(FORM, context).startswith(b"%PDF-")


def test_rendering_is_deterministic() -> None:
    assert render_notice(FORM, make_context()) == render_notice(FORM, make_context())


def test_an_answer_outside_the_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown notice field"):
        render_notice(FORM, make_context(summary_of_disagreement="Rochdale's key, not Trafford's"))
