"""Halton (seed 004, 2013, legacy): the record goes up Appendix A's tiers, each tier's contacts in both agencies
taken from the directory, to the Multi-Agency Safeguarding Children's Unit manager, who closes it."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from portal.domain.models import Agency, DirectoryContact, Partnership, Role
from portal.web.database import session_factory
from tests.helpers import CANARY_DOB, CANARY_NAME, CANARY_NARRATIVE, Accounts, raise_notice
from tests.lifecycle.driver import Life, addresses

BRIDGEWATER = "Bridgewater Community NHS Trust"
RUNCORN = "Children's Social Care - Runcorn"


def tier_addresses(app: Flask, tier: str) -> set[str]:
    with session_factory(app)() as db:
        return set(
            db.execute(
                select(DirectoryContact.email)
                .join(Agency)
                .join(Partnership)
                .where(
                    Partnership.slug == "halton",
                    Agency.name.in_([BRIDGEWATER, RUNCORN]),
                    DirectoryContact.role_title.startswith(tier),
                )
            ).scalars()
        )


def agency_id(app: Flask, name: str) -> int:
    with session_factory(app)() as db:
        return db.execute(
            select(Agency.id).join(Partnership).where(Partnership.slug == "halton", Agency.name == name)
        ).scalar_one()


def test_halton_record_up_the_tiers_to_the_mascu_manager(app: Flask, accounts: Accounts) -> None:
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="halton", agency=BRIDGEWATER)
    life.party(accounts, "spoc", Role.SPOC, partnership="halton", agency=RUNCORN)
    bm = life.party(accounts, "bm", Role.BUSINESS_MANAGER, partnership="halton")
    answers = {
        "date_of_notification": ["2", "11", "2026"],
        "child_name": CANARY_NAME,
        "child_dob": list(CANARY_DOB),
        "nhs_number": "",
        "completed_by_name": "Robin Nurse",
        "completed_by_role": "Named Nurse",
        "completed_by_agency_team": BRIDGEWATER,
        "completed_by_contact": "01928 000000",
        "other_agency": str(agency_id(app, RUNCORN)),
        "disagreement_area": "levels-of-need",
        "problem": f"{CANARY_NARRATIVE}: level of need",
        "workers_aims": "Health: a CIN plan; Social care: early help",
        "practitioner_level": "Workers spoke on 28 October; no agreement",
    }
    life.notice_id, life.reference = raise_notice(raiser.client, answers)
    manager_tier = "Manager/Named Professional Safeguarding"
    # The first tier's contacts in both agencies, from Appendix A; no timers in the 2013 policy.
    assert set(life.recipients("manager-named-professional")) == tier_addresses(app, manager_tier)
    assert addresses(life.new_mail()) == tier_addresses(app, manager_tier) | {raiser.account.email}
    assert life.stages()[0].due_on is None
    assert "(legacy policy)" in life.page("raiser")

    life.respond("spoc", "Managers could not agree the level of need")
    life.new_mail()
    # 3.1: from the managers straight to the HSCB representatives (Next Level Management may be passed over).
    life.escalate("spoc", "hscb-representative", "Managers could not agree")
    hscb = "HSCB Representative for Agency"
    assert set(life.recipients("hscb-representative")) == tier_addresses(app, hscb)
    # ... and whoever raised it learns the other side moved it on.
    assert addresses(life.new_mail()) == tier_addresses(app, hscb) | {raiser.account.email}
    life.escalate("raiser", "mascu-manager", "The HSCB representatives could not agree")
    # The MASCU manager's business unit, and the HSCB representatives who were answering learn it moved past them.
    assert addresses(life.new_mail()) == {bm.account.email} | tier_addresses(app, hscb)
    assert [s.stage for s in life.stages()] == ["manager-named-professional", "hscb-representative", "mascu-manager"]

    life.respond("bm", "Mediation held; course of action decided and reported to the HSCB Chair")
    life.close("bm")
    final = life.pdf_text("raiser", 6)
    assert "Mediation held; course of action decided and reported to the HSCB Chair" in final
    assert "Both managers confirmed the agreed outcome by secure e-mail" in final
    assert "Not reached" in final  # Next Level Management was passed over
    assert life.notice().status == "closed"
