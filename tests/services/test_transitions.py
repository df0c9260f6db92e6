"""portal.services.transitions, called directly: each change of a notice's state, and what it refuses."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from portal.domain.models import AuditEvent, NoticeDocument, NoticeEvent, NoticeStatus, OutboxMessage, Role
from portal.services import record, transitions
from portal.services.errors import NoticeChangedError, NoticeNotFoundError, RuleBrokenError, ServiceError
from tests.helpers import Account, Accounts
from tests.services.builders import RAISING, TARGET, World

CLOSURE = {
    "agreed_outcome": "Strategy discussion held; plan agreed",
    "written_confirmation": "Both managers confirmed the agreed outcome by secure e-mail",
    "impact_on_child": "The child now has a protection plan",
    "debrief": "yes",
    "learning_identified": "yes",
    "learning": "Threshold guidance needs a worked example",
}


def events(world: World, notice_id: str) -> list[str]:
    with world.session() as db:
        return list(
            db.execute(select(NoticeEvent.kind).where(NoticeEvent.notice_id == notice_id).order_by(NoticeEvent.id))
            .scalars()
            .all()
        )


def mail_to(world: World, notice_id: str) -> list[str]:
    with world.session() as db:
        return list(
            db.execute(
                select(OutboxMessage.to_address)
                .where(OutboxMessage.notice_id == notice_id)
                .order_by(OutboxMessage.created_at)
            )
            .scalars()
            .all()
        )


def test_acknowledging_twice_records_one_acknowledgement(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    notice = world.raise_rochdale(accounts.make(Role.PRACTITIONER, agency=RAISING))
    spoc = accounts.make(Role.SPOC, agency=TARGET)
    for _ in range(2):
        with world.session() as db:
            transitions.acknowledge(db, world.services, world.user(db, spoc), notice.id)
    assert events(world, notice.id) == ["raised", "stage-entered", "acknowledged"]
    with world.session() as db:
        stage = record.load_for(db, world.services, world.user(db, spoc), notice.id, "read").current_stage
        assert stage is not None and stage.acknowledged_by_id == spoc.id


def test_a_response_is_sealed_versioned_and_announced_to_the_raiser(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    notice = world.raise_rochdale(raiser)
    spoc = accounts.make(Role.SPOC, agency=TARGET)
    before = mail_to(world, notice.id)
    with world.session() as db:
        answered = transitions.respond(
            db, world.services, world.user(db, spoc), notice.id, response="Threshold not met", agreed_actions="Review"
        )
        assert answered.version == notice.version + 1
    with world.session() as db:
        loaded = record.load_for(db, world.services, world.user(db, spoc), notice.id, "read")
        answers = record.answers(db, world.services, loaded)
        assert answers[record.stage_field("stage-3", "response")] == "Threshold not met"
        assert answers[record.stage_field("stage-3", "agreed_actions")] == "Review"
        # Responding counts as receipt when nobody acknowledged first.
        assert loaded.current_stage is not None and loaded.current_stage.acknowledged_by_id == spoc.id
        versions = db.execute(select(NoticeDocument.version).where(NoticeDocument.notice_id == notice.id)).scalars()
        assert sorted(versions) == [1, 2]
    assert mail_to(world, notice.id)[len(before) :] == [raiser.email]


def test_a_change_made_on_a_stale_page_is_refused(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    notice = world.raise_rochdale(raiser)
    spoc = accounts.make(Role.SPOC, agency=TARGET)
    # An acknowledgement leaves the stage as it was: a response written meanwhile still stands.
    with world.session() as db:
        transitions.acknowledge(db, world.services, world.user(db, spoc), notice.id, seen_version=notice.version)
    # The raiser escalates while the SPOC writes a Stage 3 response on the page read before.
    with world.session() as db:
        transitions.escalate(
            db,
            world.services,
            world.user(db, raiser),
            notice.id,
            to_stage="stage-4",
            reason="No strategy discussion",
            immediate_risk=False,
            referral="",
            skip_reason="",
            chosen=[],
            seen_stage="stage-3",
        )
    with world.session() as db, pytest.raises(NoticeChangedError) as raised:
        transitions.respond(
            db,
            world.services,
            world.user(db, spoc),
            notice.id,
            response="Late answer",
            agreed_actions="",
            seen_version=notice.version,
            seen_stage="stage-3",
        )
    assert raised.value.reference == notice.reference
    assert "responded" not in events(world, notice.id)
    with world.session() as db:
        assert db.execute(
            select(AuditEvent.outcome).where(AuditEvent.action == "notice.respond", AuditEvent.actor_id == spoc.id)
        ).scalar_one() == ("changed")


def test_escalation_follows_the_procedure_and_closure_needs_its_record(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    notice = world.raise_rochdale(raiser)
    spoc = accounts.make(Role.SPOC, agency=TARGET)
    bm = accounts.make(Role.BUSINESS_MANAGER)

    def escalate(account: Account, to_stage: str) -> transitions.Entered:
        with world.session() as db:
            return transitions.escalate(
                db,
                world.services,
                world.user(db, account),
                notice.id,
                to_stage=to_stage,
                reason="No strategy discussion after the review",
                immediate_risk=False,
                referral="",
                skip_reason="",
                chosen=[],
            )

    with pytest.raises(RuleBrokenError) as raised:
        escalate(raiser, "stage-9")
    assert raised.value.field == "to_stage"
    # At Rochdale only the challenging agency escalates: to the SPOC the action does not exist.
    with pytest.raises(ServiceError):
        escalate(spoc, "stage-4")
    escalate(raiser, "stage-4")
    with world.session() as db:
        loaded = record.load_for(db, world.services, world.user(db, bm), notice.id, "read")
        assert [(s.stage, s.outcome) for s in loaded.stages] == [("stage-3", "escalated"), ("stage-4", None)]

    with world.session() as db, pytest.raises(RuleBrokenError):
        transitions.close(
            db,
            world.services,
            world.user(db, bm),
            notice.id,
            closure={**CLOSURE, "agreed_outcome": ""},
            outcome="resolved-by-agreement",
        )
    with world.session() as db:
        closed = transitions.close(
            db, world.services, world.user(db, bm), notice.id, closure=CLOSURE, outcome="resolved-by-agreement"
        )
        assert closed.status == NoticeStatus.CLOSED and closed.closed_at is not None
    assert events(world, notice.id)[-1] == "closed"
    # A closed notice takes no further change.
    with world.session() as db, pytest.raises(ServiceError):
        transitions.respond(db, world.services, world.user(db, bm), notice.id, response="More", agreed_actions="")


def test_a_notice_of_another_partnership_is_not_found_and_the_attempt_audited(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    notice = world.raise_rochdale(accounts.make(Role.PRACTITIONER, agency=RAISING))
    outsider = accounts.make(Role.BUSINESS_MANAGER, partnership="bolton")
    with world.session() as db, pytest.raises(NoticeNotFoundError):
        record.load_for(db, world.services, world.user(db, outsider), notice.id, "read")
    with world.session() as db:
        refused = db.execute(
            select(AuditEvent).where(AuditEvent.object_id == notice.id, AuditEvent.actor_id == outsider.id)
        ).scalar_one()
        assert (refused.action, refused.outcome) == ("notice.read", "denied")
