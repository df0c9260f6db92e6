"""Repeat escalations: the same child within 12 months, the same pair of agencies a third time in 6 months; seen
by the business unit only."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from portal.domain.models import AuditEvent, Notice, Role
from portal.services import casework
from tests.helpers import Accounts, sign_in
from tests.services.builders import RAISING, World
from tests.services.report_seed import seed_trafford


def test_the_same_child_again_is_flagged_to_the_business_unit_only(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    bm = accounts.make(Role.BUSINESS_MANAGER)
    first = world.raise_rochdale(raiser)
    other_child = world.raise_rochdale(raiser, child_name="Another Child", nhs_number="", child_dob="2015-01-01")
    second = world.raise_rochdale(raiser)
    with world.session() as db:
        seen = casework.read_notice(db, world.services, world.user(db, bm), second.id)
        # (All three are between the same two agencies too: that flag is the next test's.)
        [child] = [flag for flag in seen.repeats if "same child" in flag]
        assert first.reference in child and other_child.reference not in child
        # Learning that another notice concerns this child is a read of it, audited.
        found = db.execute(select(AuditEvent.object_id).where(AuditEvent.action == "notice.repeat_found")).scalars()
        assert list(found) == [first.id]
        # The practitioner who raised both is told nothing by a flag.
        assert casework.read_notice(db, world.services, world.user(db, raiser), second.id).repeats == ()
        other = casework.read_notice(db, world.services, world.user(db, bm), other_child.id).repeats
        assert not [flag for flag in other if "same child" in flag]


def test_a_third_notice_between_the_same_agencies_in_six_months_is_flagged(app: Flask, accounts: Accounts) -> None:
    seeded = seed_trafford(app, accounts)
    world = seeded.world
    with world.session() as db:
        bm = world.user(db, seeded.bm)
        # Health raised N0 (5 Jan), N1 (2 Mar) and N2 (16 Mar), all with children's social care.
        flags = casework.read_notice(db, world.services, bm, seeded.ids["N2"]).repeats
        assert flags == (
            "Health has raised 3 notices with Local authority children's social care in the six months "
            "to 16 March 2026.",
        )
        assert casework.read_notice(db, world.services, bm, seeded.ids["N1"]).repeats == ()
        assert casework.read_notice(db, world.services, bm, seeded.ids["N3"]).repeats == ()


def test_repeat_flags_kept_at_submit_show_on_the_business_units_list_only(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    bm = accounts.make(Role.BUSINESS_MANAGER)
    first = world.raise_rochdale(raiser)
    other_child = world.raise_rochdale(raiser, child_name="Another Child", nhs_number="", child_dob="2015-01-01")
    second = world.raise_rochdale(raiser)
    with world.session() as db:
        kept = {
            n.id: (n.repeat_child, n.repeat_pair)
            for n in db.execute(select(Notice).where(Notice.id.in_([first.id, other_child.id, second.id]))).scalars()
        }
        # The first of the child's notices repeats nothing; the third is the same child, and the third notice
        # between the same two agencies in six months.
        assert kept == {first.id: (False, False), other_child.id: (False, False), second.id: (True, True)}
        rows = {
            r.reference: r.repeats
            for r in casework.notices_for_partnership(db, world.services, world.user(db, bm)).rows
        }
        assert rows == {
            first.reference: (),
            other_child.reference: (),
            second.reference: ("Same child", "Same agencies"),
        }
        # The raiser's own list shows no flag: it would tell them of notices they may not read.
        assert all(r.repeats == () for r in casework.notices_for_user(db, world.services, world.user(db, raiser)).rows)
    client = app.test_client()
    sign_in(client, app, bm)
    assert client.get("/business/notices").text.count("Repeat: Same child") == 1
