"""Pan Cheshire (seed 001): Appendix A started at Step 3 and submitted at Step 4, clocks counted as "Day N" from
the concern date, feedback to the practitioner who raised it after Step 3 and at the end."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from portal.domain.models import Role
from portal.services import directory
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import CANARY_DOB, CANARY_NAME, CANARY_NARRATIVE, CANARY_NHS, Accounts, raise_notice
from tests.lifecycle.driver import Life, addresses, assert_no_case_details

HEALTH = "Health"
CSC = "Local authority children's social care"


def appendix_a(contact: int) -> dict[str, object]:
    return {
        "submitted_by_name": "Jordan Senior",
        "submitted_by_role": "Head of Safeguarding",
        "submitted_by_agency": HEALTH,
        "submitted_by_contact": "01244 000000",
        "representative_1": str(contact),
        "representative_2": "",
        "child_name": CANARY_NAME,
        "child_dob": list(CANARY_DOB),
        "nhs_number": CANARY_NHS,
        "lead_professional": "",
        "problem": f"{CANARY_NARRATIVE}: no strategy meeting",
        "challenge_nature": "Threshold for a section 47 enquiry",
        "challenge_aim": "A strategy meeting",
        # docs/working-days.md#day-n: a concern raised Mon 1 Dec 2025 is Day 1.
        "step1_date": ["1", "12", "2025"],
        "step1_summary": "Raised with the social worker the same day",
        "step2_summary": "Managers met on 5 Dec; no agreement",
        "step3_participants": "Head of Safeguarding and the partnership representative",
        "date_of_notification": ["10", "12", "2025"],
        "significant_risk": "no",
        "front_door_contacted": "",
        "meeting_requested": "yes",
    }


def test_pan_cheshire_appendix_a_from_step_3_to_the_statutory_partners(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal_services(app).clock.fixed = date(2025, 12, 10)
    with session_factory(app)() as db:
        contact = directory.add_contact(
            db,
            partnership_slug="pan-cheshire",
            agency_name=CSC,
            role_title="Partnership representative",
            email="csc.rep@cheshire.test",
        ).id
        db.commit()
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="pan-cheshire", agency=HEALTH)
    life.party(accounts, "spoc", Role.SPOC, partnership="pan-cheshire", agency=CSC)
    bm = life.party(accounts, "bm", Role.BUSINESS_MANAGER, partnership="pan-cheshire")

    life.notice_id, life.reference = raise_notice(raiser.client, appendix_a(contact))
    notice = life.notice()
    assert notice.concern_date == date(2025, 12, 1)
    [step3] = life.stages()
    # Step 3 starts by Day 9 (Thu 11 Dec) and concludes by Day 14 (Thu 18 Dec), in working days.
    assert (step3.stage, step3.start_by, step3.due_on) == ("step-3", date(2025, 12, 11), date(2025, 12, 18))
    sent = life.new_mail()
    assert addresses(sent) == {"csc.rep@cheshire.test", life.parties["raiser"].account.email}
    assert_no_case_details(sent, CANARY_NAME, CANARY_NHS, CANARY_NARRATIVE)

    life.respond("spoc", "Our representation: threshold not met on current information")
    life.new_mail()
    # Either side may bring it to the Safeguarding Partnership Manager; here the raising side, on Day 14.
    portal_services(app).clock.fixed = date(2025, 12, 18)
    life.escalate("raiser", "step-4", "Our representation: the threshold is met; see the chronology")
    step3, step4 = life.stages()
    assert step3.outcome == "escalated"
    # Step 4 starts by Day 16 (Mon 22 Dec) and concludes by Day 21 (Wed 31 Dec).
    assert (step4.start_by, step4.due_on) == (date(2025, 12, 22), date(2025, 12, 31))
    mail = life.new_mail()
    # Feedback to the practitioner who raised it after Step 3, and the Safeguarding Partnership Manager told; the
    # agency that was answering at Step 3 learns it moved on.
    assert addresses(mail) == {raiser.account.email, bm.account.email, *life.recipients("step-3")}
    v3 = life.pdf_text("bm", 3)
    assert "Our representation: threshold not met on current information" in v3
    assert "Our representation: the threshold is met; see the chronology" in v3

    # The statutory partners' recommendation is recorded by the partnership, which closes the notice.
    assert "Record your response" not in life.page("spoc")
    life.respond("bm", "Recommendation: hold a strategy meeting within 2 working days")
    life.new_mail()
    life.close("bm")
    closing = life.new_mail()
    assert addresses(closing) == {"csc.rep@cheshire.test", raiser.account.email}
    final = life.pdf_text("raiser", 5)
    assert "Recommendation: hold a strategy meeting within 2 working days" in final
    assert "31 December 2025" in final
    assert life.timeline() == [
        "raised",
        "stage-entered",
        "responded",
        "escalated",
        "stage-entered",
        "responded",
        "closed",
    ]
