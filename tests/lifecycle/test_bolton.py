"""Bolton (seed 003): the RPDE at Formal Resolution, Agency B's response due in 10 working days, the BSCP's
log (acknowledgement with the timescale, chases), then Partnership Resolution, after which nothing escalates."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from portal.domain.models import Role
from portal.services import chaser
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import CANARY_DOB, CANARY_NAME, CANARY_NARRATIVE, CANARY_NHS, Accounts, contact_id, raise_notice
from tests.lifecycle.driver import Life, addresses, assert_no_case_details

AGENCY_A = "Bolton NHS Foundation Trust"
AGENCY_B = "Children's Social Care and Early Help"
# docs/working-days.md#worked-examples: an RPDE sent Thu 18 Dec 2025 is due Tue 6 Jan 2026 (Christmas, Boxing
# Day, New Year skipped).
SENT = date(2025, 12, 18)
DUE = date(2026, 1, 6)


def rpde_answers(spoc: int, **overrides: object) -> dict[str, object]:
    answers: dict[str, object] = {
        "date_of_notification": ["18", "12", "2025"],
        "child_name": CANARY_NAME,
        "child_dob": list(CANARY_DOB),
        "nhs_number": CANARY_NHS,
        "local_identifier": "",
        "agency_a": AGENCY_A,
        "practitioner_name": "Alex Nurse",
        "practitioner_role": "Health Visitor",
        "practitioner_contact": "01204 000000",
        "manager_name": "Morgan Manager",
        "manager_contact": "01204 000001",
        "agency_b_spoc": str(spoc),
        "reason": "thresholds",
        "framework_level": "level-3",
        "issue": f"{CANARY_NARRATIVE}: referral not accepted",
        "desired_outcome": "A child and family assessment",
        "earlier_attempts": "Practitioners spoke on 1 Dec; managers on 8 Dec",
        "informal_timescale": ["", "", ""],
        "multi_agency_meeting": "no",
        "lead_professional_informed": "yes",
    }
    answers.update(overrides)
    return answers


def test_bolton_rpde_from_formal_to_partnership_resolution(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal_services(app).clock.fixed = SENT
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="bolton", agency=AGENCY_A)
    life.party(accounts, "spoc", Role.SPOC, partnership="bolton", agency=AGENCY_B)
    bm = life.party(accounts, "bm", Role.BUSINESS_MANAGER, partnership="bolton")
    spoc_contact = contact_id(app, AGENCY_B, "bolton")

    life.notice_id, life.reference = raise_notice(raiser.client, rpde_answers(spoc_contact))
    [formal] = life.stages()
    assert (formal.stage, formal.started_on, formal.due_on) == ("formal-resolution", SENT, DUE)
    # Sent to Agency B's Resolution SPOC and the BSCP.
    sent = life.new_mail()
    # ... and the raiser is told it went.
    assert addresses(sent) == {*life.recipients("formal-resolution"), bm.account.email, raiser.account.email}
    assert_no_case_details(sent, CANARY_NAME, CANARY_NHS, CANARY_NARRATIVE)
    page = life.page("raiser")
    assert "Due by" in page and "6 January 2026" in page
    assert "Where needed, inform the Lead Professional, IRO or relevant others of the escalation." in page

    # The BSCP logs and acknowledges with a reminder of the timescale.
    life.act("bm", "acknowledge")
    reminder = life.new_mail()
    assert addresses(reminder) == {*life.recipients("formal-resolution"), raiser.account.email}
    assert all("due by Tue 6 January 2026" in body for _to, _s, body in reminder)

    # No response by the due date: the worker chases the SPOC and the BSCP once for that due date.
    with session_factory(app)() as db:
        assert chaser.chase_overdue(db, portal_services(app), today=DUE) == 0  # due today is not overdue
        assert chaser.chase_overdue(db, portal_services(app), today=date(2026, 1, 7)) == 1
        assert chaser.chase_overdue(db, portal_services(app), today=date(2026, 1, 8)) == 0  # once per period
        assert chaser.chase_overdue(db, portal_services(app), today=date(2026, 1, 13)) == 0
        # Still unanswered five working days later: a new overdue period, chased again.
        assert chaser.chase_overdue(db, portal_services(app), today=date(2026, 1, 14)) == 1
    chased = life.new_mail()
    assert addresses(chased) == {*life.recipients("formal-resolution"), bm.account.email}
    assert len(chased) == 2 * len(addresses(chased))
    assert all("overdue" in subject for _to, subject, _b in chased)
    assert life.stages()[0].chase_count == 2 and life.timeline().count("chased") == 2

    # Agency B responds (Part B); Agency A and the BSCP are told.
    life.respond("spoc", "Assessment will start; rationale attached", "Allocate a social worker by 9 Jan")
    assert addresses(life.new_mail()) == {raiser.account.email, bm.account.email}
    v2 = life.pdf_text("raiser", 2)
    assert "Assessment will start; rationale attached" in v2 and "6 January 2026" in v2

    # Either agency may ask for Partnership Resolution: here Agency B (the SPOC), asked about risk again.
    portal_services(app).clock.fixed = date(2026, 1, 12)
    life.escalate(
        "spoc",
        "partnership-resolution",
        "Agency A does not accept the plan",
        immediate_risk="yes",
        referral="Phoned the front door at 10:05 on 12 Jan",
    )
    formal, partnership = life.stages()
    assert (formal.outcome, partnership.stage, partnership.due_on) == ("escalated", "partnership-resolution", None)
    # The BSCP refers it to the statutory partners; Agency A, whose notice the other side moved on, is told too.
    assert addresses(life.new_mail()) == {bm.account.email, raiser.account.email}
    v3 = life.pdf_text("bm", 3)
    assert "Agency A does not accept the plan" in v3
    assert "Once a resolution is made, there is no further option to escalate." in v3

    # The panel's resolution is recorded by the BSCP, which closes; nobody may escalate from here.
    assert "/escalate" not in life.page("raiser") and "/escalate" not in life.page("spoc")
    life.respond("bm", "Panel resolution: assessment proceeds with a joint visit")
    life.new_mail()
    life.close("bm", learning="Thresholds training for both agencies (to the SEG)")
    closing = life.new_mail()
    # Both agencies are told the panel's resolution (ON_CLOSE rules) and everyone it went to learns it closed.
    assert addresses(closing) >= {*life.recipients("formal-resolution"), raiser.account.email}
    final = life.pdf_text("raiser", 5)
    assert "Panel resolution: assessment proceeds with a joint visit" in final
    assert "Thresholds training for both agencies (to the SEG)" in final
    assert life.timeline() == [
        "raised",
        "stage-entered",
        "prompt",
        "acknowledged",
        "chased",
        "chased",
        "responded",
        "escalated",
        "stage-entered",
        "responded",
        "closed",
    ]
    # A closed notice is never chased.
    with session_factory(app)() as db:
        assert chaser.chase_overdue(db, portal_services(app), today=date(2026, 6, 1)) == 0
