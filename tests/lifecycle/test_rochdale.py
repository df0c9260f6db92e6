"""Rochdale (seed 000): Appendix 1 raised at Stage 3, escalated to Stage 4, closed; the stage rows fill in."""

from __future__ import annotations

from flask import Flask

from portal.domain.models import Role
from tests.helpers import (
    CANARY_NAME,
    CANARY_NARRATIVE,
    CANARY_NHS,
    Accounts,
    appendix1_answers,
    contact_id,
    raise_notice,
)
from tests.lifecycle.driver import Life, addresses, assert_no_case_details

RAISING = "Rochdale Early Help and Safeguarding Hub"
TARGET = "Rochdale Children's Social Care"


def test_rochdale_notice_from_stage_3_to_closure(app: Flask, accounts: Accounts) -> None:
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="rochdale", agency=RAISING)
    life.party(accounts, "spoc", Role.SPOC, partnership="rochdale", agency=TARGET)
    bm = life.party(accounts, "bm", Role.BUSINESS_MANAGER, partnership="rochdale")
    target = contact_id(app, TARGET)

    # Raised at Stage 3 (the Appendix 1 stage) and sent to the chosen SPOC only.
    life.notice_id, life.reference = raise_notice(raiser.client, appendix1_answers(target))
    stages = life.stages()
    assert [s.stage for s in stages] == ["stage-3"] and stages[0].due_on is None  # Rochdale sets no timescale
    sent = life.new_mail()
    # ... and the raiser is told it went.
    assert addresses(sent) == {*life.recipients("stage-3"), life.parties["raiser"].account.email} and len(sent) == 2
    assert_no_case_details(sent, CANARY_NAME, CANARY_NHS, CANARY_NARRATIVE)
    v1 = life.pdf_text("spoc", 1)
    assert CANARY_NAME in v1 and "Stage 3 Stage 4" in v1.replace(
        "Supporting Evidence Embed written confirmation between parties about the agreed outcome ", ""
    )

    # The SPOC acknowledges and responds; whoever raised it is told, and version 2 carries the response.
    life.act("spoc", "acknowledge")
    assert life.stages()[0].acknowledged_at is not None
    life.respond("spoc", "We do not agree the threshold is met", "Team manager to review by Friday")
    assert addresses(life.new_mail()) == {raiser.account.email}
    assert "Record your response" not in life.page("spoc")  # one response per stage

    # Only the challenging agency may escalate at Rochdale; the SPOC has no Escalate button.
    assert "/escalate" not in life.page("spoc")
    life.escalate("raiser", "stage-4", "Still no strategy discussion after the review")
    stages = life.stages()
    assert [(s.stage, s.outcome) for s in stages] == [("stage-3", "escalated"), ("stage-4", None)]
    # Stage 4 goes to the same SPOC (no new choice) and to the partnership's business unit.
    assert life.recipients("stage-4") == life.recipients("stage-3")
    assert addresses(life.new_mail()) == {*life.recipients("stage-3"), bm.account.email}
    v3 = life.pdf_text("raiser", 3)
    assert "Escalated because: Still no strategy discussion after the review" in v3
    # Stage 3 was escalated, not resolved: its "Date Outcome Resolved" stays blank.
    assert "Stage 3 Not resolved: escalated on " in v3
    assert "Response: We do not agree the threshold is met" in v3

    # Stage 4 is the partnership's: its business unit records the resolution; nobody may escalate further.
    assert "/escalate" not in life.page("raiser")
    assert "Record your response" not in life.page("spoc")
    life.respond("bm", "Strategy discussion will be held on Monday")
    life.new_mail()
    life.close("bm")
    notice = life.notice()
    assert notice.status == "closed" and notice.closed_at is not None
    assert [s.outcome for s in life.stages()] == ["escalated", "resolved"]
    closing = life.new_mail()
    assert addresses(closing) == {*life.recipients("stage-3"), raiser.account.email}
    assert_no_case_details(closing, CANARY_NAME, CANARY_NHS, CANARY_NARRATIVE)

    # Every version is kept, signed and downloadable; the last fills the Stage 4 row with the written confirmation.
    final = life.pdf_text("bm", 5)
    assert "Both managers confirmed the agreed outcome by secure e-mail" in final
    assert "Agreed outcome: Strategy discussion held; plan agreed" in final
    for version in range(1, 6):
        life.pdf_text("spoc", version)
    assert life.timeline() == [
        "raised",
        "stage-entered",
        "acknowledged",
        "responded",
        "escalated",
        "stage-entered",
        "responded",
        "closed",
    ]
    # A closed notice offers no further actions to anyone.
    for who in ("raiser", "spoc", "bm"):
        assert "What you can do" not in life.page(who)
