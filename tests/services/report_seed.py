"""A known set of Trafford notices across the 31 March / 1 April 2026 quarter boundary and the Easter bank
holidays (Good Friday 3 April, Easter Monday 6 April), built through the services with the clock moved day by day.

Figures for Q4 2025/26 (1 January to 31 March 2026), worked by hand in tests/services/test_reports.py:
- N0 raised Mon 5 Jan by Health, closed Tue 20 Jan (stage 3: 11 working days, past its 19 Jan limit, chased
  once on the 20th); then made to look like a notice from before codes were recorded.
- N1 raised Mon 2 Mar by Health (child in need; not attending), closed Fri 13 Mar (9 working days): resolved by
  agreement, debrief, learning flagged.
- N2 raised Mon 16 Mar by Health (child protection; not attending), escalated to stage 4 on Mon 30 Mar (10
  working days), closed Thu 9 Apr: stage 4 took 6 working days across Easter. Decision changed, no debrief.
- N3 raised Tue 31 Mar by Education (referral/enquiry; not accepting referrals) straight to stage 4; open.
- N4 raised Wed 1 Apr by Health: the next quarter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Flask
from sqlalchemy import delete, select

from portal.domain.models import LearningItem, Notice, NoticeCategory, Role
from portal.services import chaser, directory, raising, transitions
from tests.helpers import Account, Accounts
from tests.services.builders import World

CSC = "Local authority children's social care"
CLOSURE = {
    "agreed_outcome": "Agreed",
    "written_confirmation": "Confirmed by e-mail",
    "impact_on_child": "Better",
    "debrief": "yes",
    "learning": "Core group attendance needs a reminder",
}


@dataclass
class Seeded:
    world: World
    bm: Account
    ids: dict[str, str]


def _answers(contact: int, day: date, **overrides: str) -> dict[str, str]:
    answers = {
        "completed_by_name": "Sam",
        "completed_by_role": "Nurse",
        "completed_by_agency_team": "Health",
        "completed_by_email": "sam@nhs.test",
        "date_of_notification": day.isoformat(),
        "escalation_with": str(contact),
        "level_of_need": "child-in-need",
        "concern": "not-attending",
        "informal_stages_held": "both",
        "raise_at_stage": "stage-3",
        "problem": "Narrative that must never reach a report",
        "informal_challenge_evidence": "Met",
        "desired_outcome": "A review",
    }
    answers.update(overrides)
    return answers


def seed_trafford(app: Flask, accounts: Accounts) -> Seeded:
    world = World(app)
    clock = world.services.clock
    with world.session() as db:
        contact = directory.add_contact(
            db, partnership_slug="trafford", agency_name=CSC, role_title="Team Manager", email="spoc@trafford.test"
        )
        db.commit()
        contact_id = contact.id
    health = accounts.make(Role.PRACTITIONER, partnership="trafford", agency="Health")
    education = accounts.make(Role.PRACTITIONER, partnership="trafford", agency="Education")
    bm = accounts.make(Role.BUSINESS_MANAGER, partnership="trafford")
    ids: dict[str, str] = {}

    def raise_on(name: str, day: date, who: Account, **overrides: str) -> None:
        clock.fixed = day
        draft = world.draft(who)
        with world.session() as db:
            notice = raising.submit_notice(
                db, world.services, world.user(db, who), draft, _answers(contact_id, day, **overrides)
            )
            ids[name] = notice.id

    def close_on(name: str, day: date, outcome: str, **closure: str) -> None:
        clock.fixed = day
        with world.session() as db:
            transitions.close(
                db, world.services, world.user(db, bm), ids[name], closure={**CLOSURE, **closure}, outcome=outcome
            )

    raise_on("N0", date(2026, 1, 5), health)
    with world.session() as db:
        assert chaser.chase_overdue(db, world.services, today=date(2026, 1, 20)) == 1
    close_on("N0", date(2026, 1, 20), "resolved-by-agreement")
    with world.session() as db:
        # As if raised and closed before categories and outcomes were recorded.
        db.execute(delete(NoticeCategory).where(NoticeCategory.notice_id == ids["N0"]))
        db.execute(delete(LearningItem).where(LearningItem.notice_id == ids["N0"]))
        notice = db.get(Notice, ids["N0"])
        assert notice is not None
        notice.outcome_code = notice.debrief_held = notice.learning_flagged = None
        db.commit()

    raise_on("N1", date(2026, 3, 2), health)
    close_on("N1", date(2026, 3, 13), "resolved-by-agreement")

    raise_on("N2", date(2026, 3, 16), health, level_of_need="child-protection")
    clock.fixed = date(2026, 3, 30)
    with world.session() as db:
        transitions.escalate(
            db,
            world.services,
            world.user(db, health),
            ids["N2"],
            to_stage="stage-4",
            reason="Still unresolved",
            immediate_risk=False,
            referral="",
            skip_reason="",
            chosen=[],
        )

    raise_on(
        "N3",
        date(2026, 3, 31),
        education,
        level_of_need="referral-enquiry",
        concern="not-accepting-referrals",
        informal_stages_held="stage-1",
        raise_at_stage="stage-4",
        straight_to_reason="The referral was refused twice",
    )
    raise_on("N4", date(2026, 4, 1), health)
    close_on("N2", date(2026, 4, 9), "decision-changed", debrief="no", learning="No general issues identified")
    with world.session() as db:
        assert db.execute(select(Notice.id)).scalars().all()
    return Seeded(world, bm, ids)
