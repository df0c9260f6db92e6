"""Trafford (seed 002): the resolution notice at stage 3 with an agreed date capped at 10 working days, a copy
to the TSSP Business Manager that does not identify the child, stage 4, closure; and going straight to stage 4."""

from __future__ import annotations

import html
from datetime import date

import pytest
from flask import Flask

from portal.domain.models import Role
from portal.infrastructure.pdf import WITHHELD
from portal.services import chaser, directory
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import CANARY_DOB, CANARY_NAME, CANARY_NARRATIVE, CANARY_NHS, Accounts, errors_on, raise_notice
from tests.lifecycle.driver import Life, addresses, assert_no_case_details

HEALTH = "Health"
CSC = "Local authority children's social care"
# docs/working-days.md#worked-examples: a Trafford stage starting Fri 27 Mar 2026 is due by Tue 14 Apr 2026
# (Good Friday and Easter Monday skipped).
START = date(2026, 3, 27)
CAP = date(2026, 4, 14)


def add_spoc_contact(app: Flask) -> int:
    """Trafford publishes no SPOC list: the partnership adds its agencies' contacts."""
    with session_factory(app)() as db:
        contact = directory.add_contact(
            db, partnership_slug="trafford", agency_name=CSC, role_title="Team Manager", email="csc.spoc@trafford.test"
        )
        db.commit()
        return contact.id


def notice_answers(contact: int, **overrides: object) -> dict[str, object]:
    answers: dict[str, object] = {
        "completed_by_name": "Sam Nurse",
        "completed_by_role": "School Nurse",
        "completed_by_agency_team": "Health, School Nursing",
        "completed_by_email": "sam.nurse@nhs.test",
        "date_of_notification": ["27", "3", "2026"],
        "escalation_with": str(contact),
        "child_name": CANARY_NAME,
        "child_dob": list(CANARY_DOB),
        "nhs_number": CANARY_NHS,
        "level_of_need": "child-in-need",
        "concern": "not-co-operating",
        "informal_stages_held": "both",
        "raise_at_stage": "stage-3",
        "straight_to_reason": "",
        "problem": f"{CANARY_NARRATIVE}: the CIN plan has drifted",
        "informal_challenge_evidence": "Practitioners met on 10 March; managers on 17 March",
        "desired_outcome": "A review of the plan within two weeks",
    }
    answers.update(overrides)
    return answers


def test_trafford_notice_with_agreed_dates_and_a_pseudonymous_partnership_copy(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal_services(app).clock.fixed = START
    contact = add_spoc_contact(app)
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="trafford", agency=HEALTH)
    life.party(accounts, "spoc", Role.SPOC, partnership="trafford", agency=CSC)
    bm = life.party(accounts, "bm", Role.BUSINESS_MANAGER, partnership="trafford")

    life.notice_id, life.reference = raise_notice(raiser.client, notice_answers(contact))
    [stage3] = life.stages()
    # Until a date is agreed the cap is the due date: the stage "should not exceed" 10 working days.
    assert (stage3.stage, stage3.due_on) == ("stage-3", CAP)
    sent = life.new_mail()
    assert addresses(sent) == {"csc.spoc@trafford.test", bm.account.email, raiser.account.email}
    assert_no_case_details(sent, CANARY_NAME, CANARY_NHS, CANARY_NARRATIVE)
    assert "Inform the lead professional/ chair." in life.page("raiser")

    # An agreed date beyond 10 working days is refused beside the field; one within it is kept.
    refused = life.act("raiser", "due-date", {"agreed_due": ["15", "4", "2026"]}, expect=200)
    assert "on or before Tue 14 April 2026" in refused and errors_on(refused)
    assert life.stages()[0].due_on == CAP
    life.act("spoc", "due-date", {"agreed_due": ["10", "4", "2026"]})
    assert life.stages()[0].due_on == date(2026, 4, 10)

    # The TSSP copy withholds the child's identifiers, on the page and in the PDF; the parties' copy has them.
    bm_page = life.page("bm")
    assert CANARY_NAME not in bm_page and WITHHELD in html.unescape(bm_page)
    bm_pdf = life.pdf_text("bm", 1)
    assert CANARY_NAME not in bm_pdf and CANARY_NHS not in bm_pdf and WITHHELD in bm_pdf
    assert CANARY_NAME in life.pdf_text("spoc", 1)

    life.respond("spoc", "We will review the plan but not within two weeks")
    life.new_mail()
    # Answered but not concluded by the agreed date: the chaser asks the raising side (and the TSSP) to
    # close or escalate, not the SPOC who has already responded.
    with session_factory(app)() as db:
        assert chaser.chase_overdue(db, portal_services(app), today=date(2026, 4, 13)) == 1
    reminder = life.new_mail()
    assert addresses(reminder) == {raiser.account.email, bm.account.email}
    assert all("close the notice, or escalate it" in body for _to, _s, body in reminder)
    portal_services(app).clock.fixed = date(2026, 4, 13)
    life.escalate("raiser", "stage-4", "The plan review date is still not agreed")
    stage3, stage4 = life.stages()
    assert stage3.outcome == "escalated"
    assert (stage4.stage, stage4.started_on, stage4.due_on) == ("stage-4", date(2026, 4, 13), date(2026, 4, 27))
    assert addresses(life.new_mail()) == {"csc.spoc@trafford.test", bm.account.email}
    v3 = life.pdf_text("raiser", 3)
    assert "We will review the plan but not within two weeks" in v3  # the outcomes of stage 3

    life.respond("bm", "Independent advisor: review within 5 working days")
    life.close("bm", debrief="yes")
    final = life.pdf_text("raiser", 5)
    assert "Threshold guidance needs a worked example" in final  # general issues for the TSSP
    assert "[X] Yes" in final
    bm_final = life.pdf_text("bm", 5)
    assert CANARY_NAME not in bm_final and "Independent advisor: review within 5 working days" in bm_final
    assert life.notice().status == "closed"
    # The child's file carries the identifiers: the parties download it; the TSSP, which gets the pseudonymous
    # copy, is neither offered nor given it.
    assert life.client("raiser").get(f"/notices/{life.notice_id}/child-file.pdf").status_code == 200
    assert "For the child's file" not in life.page("bm")
    for suffix in ("pdf", "json"):
        assert life.client("bm").get(f"/notices/{life.notice_id}/child-file.{suffix}").status_code == 404


def test_trafford_may_go_straight_to_stage_4_with_a_stated_reason(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal_services(app).clock.fixed = START
    contact = add_spoc_contact(app)
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="trafford", agency=HEALTH)
    life.party(accounts, "bm", Role.BUSINESS_MANAGER, partnership="trafford")
    answers = notice_answers(
        contact,
        informal_stages_held="none",
        raise_at_stage="stage-4",
        straight_to_reason="The child was injured; the partnership must decide now",
        informal_challenge_evidence="",
    )
    life.notice_id, _ = raise_notice(raiser.client, answers)
    [stage4] = life.stages()
    assert (stage4.stage, stage4.skipped_from) == ("stage-4", "stage-1")
    assert "went straight here from Stage 1" in life.page("raiser")
    assert "The child was injured; the partnership must decide now" in life.pdf_text("bm", 1)
    assert "/escalate" not in life.page("raiser")  # stage 4 is final
