"""Every answer the portal collects at a stage and at closure is printed in each partnership's PDF, a stage that
was escalated is never printed as resolved, and the PDF's dates are the version's issue time."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pypdf
import pytest

from portal.infrastructure.pdf import NoticeContext, StageRecord
from portal.partnerships import PARTNERSHIPS
from portal.services.documents import render_notice

ISSUED = datetime(2026, 12, 4, 15, 30, 12, tzinfo=UTC)
CLOSURE = {
    "agreed_outcome": "OUTCOMEQX agreed",
    "written_confirmation": "CONFIRMQX in writing",
    "impact_on_child": "IMPACTQX the child now has a plan",
    "debrief": "Yes",
    "learning": "LEARNINGQX thresholds",
    "closed_on": "4 December 2026",
}


def _stages(slug: str) -> tuple[StageRecord, ...]:
    """A record at every formal stage of the procedure: each escalated but the last, which is resolved."""
    formal = [s for s in PARTNERSHIPS[slug].procedure.stages if s.formal]
    records = []
    for i, stage in enumerate(formal):
        last = i == len(formal) - 1
        records.append(
            StageRecord(
                code=stage.code,
                name=stage.name,
                started=f"{i + 1} December 2026",
                due="",
                status="Resolved" if last else "Escalated",
                sent_to="An agency",
                response=f"RESPONSEQX{i}",
                agreed_actions=f"ACTIONSQX{i}",
                ended=f"{i + 2} December 2026",
                escalation_reason="" if last else f"REASONQX{i}",
            )
        )
    return tuple(records)


def _text(
    slug: str, stages: tuple[StageRecord, ...] | None = None, closure: dict[str, str] | None = None, version: int = 3
) -> tuple[str, bytes]:
    """The PDF's text (whitespace folded) and bytes: by default every stage escalated but the last, and closed."""
    spec = PARTNERSHIPS[slug]
    context = NoticeContext(
        reference="TST-2026-0001",
        form_title=spec.notice.title,
        version=version,
        issued_at=ISSUED,
        partnership_name=spec.name,
        stages=_stages(slug) if stages is None else stages,
        closure=CLOSURE if closure is None else closure,
    )
    pdf = render_notice(spec.notice.code, context)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages)), pdf


@pytest.mark.parametrize("slug", sorted(PARTNERSHIPS))
def test_stage_actions_and_the_whole_closure_are_printed(slug: str) -> None:
    text, _ = _text(slug)
    for key in ("agreed_outcome", "written_confirmation", "impact_on_child", "learning"):
        assert CLOSURE[key] in text, f"{slug}: closure {key} not printed"
    # Whatever stage's response the layout prints, the actions agreed there are printed too.
    for i, _stage in enumerate(_stages(slug)):
        if f"RESPONSEQX{i}" in text:
            assert f"ACTIONSQX{i}" in text, f"{slug}: actions agreed at stage {i} not printed"
    assert re.search(r"[Dd]ebrief", text), f"{slug}: debrief not printed"


def test_rochdale_never_prints_an_escalated_stage_as_resolved() -> None:
    text, _ = _text("rochdale")
    stage3 = text[text.index("Stage 3 ") : text.index("Stage 4 ", text.index("Stage 3 "))]
    # "Date Outcome Resolved" is blank for Stage 3, which ended by escalation on 2 December.
    assert stage3.startswith("Stage 3 Not resolved: escalated on 2 December 2026")
    assert "REASONQX0" in stage3 and "ACTIONSQX0" in stage3


@pytest.mark.parametrize("slug", sorted(PARTNERSHIPS))
def test_pdf_dates_are_the_versions_issue_time_and_metadata_names_no_one(slug: str) -> None:
    _, pdf = _text(slug)
    info = pypdf.PdfReader(io.BytesIO(pdf)).metadata
    assert info["/CreationDate"] == info["/ModDate"] == "D:20261204153012+00'00'"
    assert not any("QX" in str(v) for v in info.values())


@pytest.mark.parametrize("slug", sorted(PARTNERSHIPS))
def test_a_response_at_a_stage_still_open_is_printed_in_the_version_issued_for_it(slug: str) -> None:
    # The version issued when a recipient responds is the record of that response, before anyone escalates or
    # closes: every layout prints the response and the actions agreed.
    first = next(s for s in PARTNERSHIPS[slug].procedure.stages if s.formal)
    record = StageRecord(
        code=first.code,
        name=first.name,
        started="1 December 2026",
        due="",
        status="Open",
        sent_to="An agency",
        acknowledged="2 December 2026",
        responded="3 December 2026",
        response="RESPONSEQXOPEN",
        agreed_actions="ACTIONSQXOPEN",
    )
    text, _ = _text(slug, stages=(record,), closure={}, version=2)
    assert "RESPONSEQXOPEN" in text, f"{slug}: a response at an open stage is not printed"
    assert "ACTIONSQXOPEN" in text, f"{slug}: actions agreed at an open stage are not printed"
    if slug == "rochdale":
        # Not printed as resolved: "Date Outcome Resolved" stays blank while the stage is open.
        assert "Stage 3 Open: response recorded on 3 December 2026." in text
