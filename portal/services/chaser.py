"""Chasers: an overdue stage is chased once per overdue period, by the mail worker or by the business unit.

The first overdue period starts on the first working day after the due date, and each later one a set number of
working days after the one before (PORTAL_CHASE_EVERY_WORKING_DAYS). Until the stage is answered, whoever owes
the response is chased; once it is answered, the raising side is asked to close or escalate.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from portal.domain.dates import format_date
from portal.domain.models import Notice, NoticeStage, NoticeStatus, User
from portal.domain.policy import responder
from portal.domain.procedure import When
from portal.domain.working_days import ENGLAND_AND_WALES_CALENDAR
from portal.infrastructure.db import rows_matched
from portal.services import audit, messages, record, routing
from portal.services.errors import RuleBrokenError
from portal.services.runtime import PortalServices

# A stage still overdue is chased again after this many more working days: once per overdue period.
CHASE_EVERY_WORKING_DAYS = 5


def overdue_period(due_on: date, today: date, every: int = CHASE_EVERY_WORKING_DAYS) -> date | None:
    """Return the first working day of the overdue period ``today`` falls in, or None before the first one.

    The first period starts on the first working day after the due date; each later one ``every`` working days
    after the one before. A new due date (Trafford's agreed dates) starts the periods again. A weekend or bank
    holiday straight after the due date is not yet overdue: nobody could have answered on it.
    """
    late = ENGLAND_AND_WALES_CALENDAR.working_days_between(due_on, today)
    if late < 1:
        return None
    return ENGLAND_AND_WALES_CALENDAR.add_working_days(due_on, (late - 1) // every * every + 1)


def chase_stage(
    session: Session,
    services: PortalServices,
    stage_row: NoticeStage,
    *,
    actor: User | None,
    today: date,
    every: int | None = None,
) -> bool:
    """Chase the responder and the business unit for one overdue stage, once per overdue period; the caller
    commits.

    The claim is a conditional UPDATE, so two workers (or a worker and a business manager) never both
    chase the same overdue period.
    """
    if stage_row.due_on is None or stage_row.due_on >= today:
        return False
    period = overdue_period(stage_row.due_on, today, every or services.chase_every_working_days)
    if period is None:
        return False
    claimed = rows_matched(
        session.execute(
            update(NoticeStage)
            .where(
                NoticeStage.id == stage_row.id,
                NoticeStage.ended_at.is_(None),
                or_(NoticeStage.last_chased_period.is_(None), NoticeStage.last_chased_period != period),
            )
            .values(last_chased_period=period, chase_count=NoticeStage.chase_count + 1)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed != 1:
        return False
    session.refresh(stage_row)
    notice = stage_row.notice
    stage = record.procedure_of(notice).stage(stage_row.stage)
    if stage_row.responded_at is None:
        # Nobody has answered: chase whoever must (the agencies the stage went to, or the business unit).
        owed = (
            [r.email for r in notice.recipients if r.stage == stage_row.stage]
            if responder(stage) == "recipient"
            else []
        )
        body = messages.body(notice, stage, When.ON_OVERDUE, "")
        detail = f"Chased: the response at {stage.name} was due by {format_date(stage_row.due_on)}"
    else:
        # Answered, but the stage has neither closed nor moved on: the raising side must conclude it.
        owed = [notice.raised_by.email]
        body = (
            f"{stage.name} on this notice was due to conclude by {format_date(stage_row.due_on)}. The response is in: "
            "agree the outcome and close the notice, or escalate it."
        )
        detail = f"Chased: {stage.name} was due to conclude by {format_date(stage_row.due_on)}"
    # The stage's own ON_OVERDUE rules, and always whoever owes the next move and the business unit; each
    # address once.
    addresses = [
        *messages.rule_addresses(session, notice, stage, When.ON_OVERDUE),
        *owed,
        *routing.business_unit_addresses(session, notice),
    ]
    messages.send(session, services, notice, addresses, messages.subject(notice, When.ON_OVERDUE, False), body)
    record.add_event(session, notice, actor, "chased", detail, stage=stage_row.stage)
    audit.record(
        session,
        services.keyring.audit_key,
        action="notice.chase",
        outcome="ok",
        actor_id=actor.id if actor else None,
        object_type="notice",
        object_id=notice.id,
    )
    return True


def chase_overdue(
    session: Session, services: PortalServices, *, today: date | None = None, every: int | None = None
) -> int:
    """Chase every open stage past its due date not yet chased in its current overdue period; return how many."""
    today = today or services.today()
    overdue = (
        session.execute(
            select(NoticeStage)
            .join(Notice)
            .where(NoticeStage.ended_at.is_(None), NoticeStage.due_on < today, Notice.status == NoticeStatus.OPEN)
            .order_by(NoticeStage.due_on)
        )
        .scalars()
        .all()
    )
    chased = 0
    for stage_row in overdue:
        if chase_stage(session, services, stage_row, actor=None, today=today, every=every):
            chased += 1
        session.commit()
    return chased


def chase_now(session: Session, services: PortalServices, user: User, notice_id: str, *, remote_addr: str = "") -> bool:
    """A business manager chases the current stage's responder by hand (once per overdue period, as the worker)."""
    _notice, stage_row, _stage = record.load_current(
        session, services, user, notice_id, "chase", remote_addr=remote_addr
    )
    today = services.today()
    if stage_row.due_on is None or stage_row.due_on >= today:
        raise RuleBrokenError("chase", "This stage is not overdue yet")
    done = chase_stage(session, services, stage_row, actor=user, today=today)
    session.commit()
    return done
