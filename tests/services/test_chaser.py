"""portal.services.chaser, called directly: when a stage is overdue, and how often it is chased."""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy import select

from portal.domain.models import NoticeStage, OutboxMessage, Role
from portal.services import chaser, routing
from tests.helpers import Accounts
from tests.services.builders import RAISING, World


def test_the_first_overdue_period_starts_on_the_next_working_day() -> None:
    friday = date(2026, 12, 4)
    assert chaser.overdue_period(friday, date(2026, 12, 5)) is None  # Saturday: nobody could have answered
    assert chaser.overdue_period(friday, date(2026, 12, 6)) is None  # Sunday
    assert chaser.overdue_period(friday, date(2026, 12, 7)) == date(2026, 12, 7)
    assert chaser.overdue_period(friday, date(2026, 12, 11), every=5) == date(2026, 12, 7)
    assert chaser.overdue_period(friday, date(2026, 12, 14), every=5) == date(2026, 12, 14)
    # Due on Christmas Eve: Christmas, Boxing Day (a Saturday) and its substitute Monday are not overdue.
    christmas_eve = date(2026, 12, 24)
    for day in (25, 26, 27, 28):
        assert chaser.overdue_period(christmas_eve, date(2026, 12, day)) is None
    assert chaser.overdue_period(christmas_eve, date(2026, 12, 29)) == date(2026, 12, 29)


def test_an_overdue_stage_is_chased_once_per_period_of_the_configured_length(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    notice = world.raise_rochdale(accounts.make(Role.PRACTITIONER, agency=RAISING))
    bm = accounts.make(Role.BUSINESS_MANAGER)
    world.services.chase_every_working_days = 2
    with world.session() as db:
        stage = db.execute(select(NoticeStage).where(NoticeStage.notice_id == notice.id)).scalar_one()
        stage.due_on = date(2026, 12, 4)  # a Friday (Rochdale sets no timescale of its own)
        db.commit()
        business_unit = routing.business_unit_addresses(db, stage.notice)
    assert business_unit == [bm.email]

    chased = {}
    for day in (5, 7, 7, 8, 9, 10, 11):
        with world.session() as db:
            chased[day] = chased.get(day, 0) + chaser.chase_overdue(db, world.services, today=date(2026, 12, day))
    # Saturday: not yet; Monday: the first chase, once however often the worker looks; then every 2 working days.
    assert chased == {5: 0, 7: 1, 8: 0, 9: 1, 10: 0, 11: 1}
    with world.session() as db:
        stage = db.execute(select(NoticeStage).where(NoticeStage.notice_id == notice.id)).scalar_one()
        assert stage.chase_count == 3 and stage.last_chased_period == date(2026, 12, 11)
        chase_mail = db.execute(
            select(OutboxMessage.to_address).where(
                OutboxMessage.notice_id == notice.id, OutboxMessage.subject.contains("overdue")
            )
        ).scalars()
        assert bm.email in set(chase_mail)


def test_without_business_managers_the_directory_owner_is_the_business_unit(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    notice = world.raise_rochdale(accounts.make(Role.PRACTITIONER, agency=RAISING))
    with world.session() as db:
        stage = db.execute(select(NoticeStage).where(NoticeStage.notice_id == notice.id)).scalar_one()
        owner = stage.notice.partnership.directory_owner
        assert routing.business_unit_addresses(db, stage.notice) == ([owner] if "@" in owner else [])
        stage.notice.partnership.directory_owner = "rscp@rochdale.example"
        assert routing.business_unit_addresses(db, stage.notice) == ["rscp@rochdale.example"]
        stage.notice.partnership.directory_owner = "the partnership's business unit"
        assert routing.business_unit_addresses(db, stage.notice) == []
        db.rollback()
