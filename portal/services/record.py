"""A notice's record: loading it for someone who may act on it, its encrypted answers and narrative, its timeline.

Every route that takes a notice loads it here (``load_for``), so every refusal is audited and answered the same
way (NoticeNotFoundError: a URL never confirms that a notice exists), a bait notice raises its alarm
(portal.services.alarms), and a shredded notice answers ShreddedError whatever the route.

Answers and narrative are stored encrypted per field under the notice's data key, in ``notice_answer``, each
bound (as associated data) to the table, the row and the field name. The names are: a form field's own name
for the notice's answers, ``stage_field(stage, name)`` for what was recorded at a stage, and
``closure_field(name)`` for the closure record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, bindparam, inspect, select
from sqlalchemy.orm import Session, joinedload

from portal.domain.models import Notice, NoticeAnswer, NoticeEvent, NoticeStage, User, utcnow
from portal.domain.notice_definition import NoticeDefinition
from portal.domain.policy import Actions, allowed_actions, may, printable_id, well_formed_id
from portal.domain.procedure import Procedure, Stage
from portal.infrastructure.db import begin_write
from portal.partnerships import notice_definition, procedure_for
from portal.services import alarms, audit, vault
from portal.services.errors import (
    ActionNotAllowedError,
    FormNotAvailableError,
    NoticeChangedError,
    NoticeNotFoundError,
    ShreddedError,
)
from portal.services.runtime import PortalServices

# Stage narrative kept per stage, encrypted like the notice's answers.
STAGE_FIELDS = ("response", "agreed_actions", "escalation_reason", "skip_reason", "referral")


def stage_field(stage: str, name: str) -> str:
    """Return the notice_answer name of a stage's narrative field (at most 60 characters)."""
    if name not in STAGE_FIELDS:
        raise KeyError(name)
    return f"s.{stage}.{name}"


# The reason a notice was withdrawn, encrypted like the narrative.
WITHDRAWAL_FIELD = "withdraw.reason"


def closure_field(name: str) -> str:
    """Return the notice_answer name of a closure answer."""
    return f"close.{name}"


def procedure_of(notice: Notice) -> Procedure:
    """Return the procedure version the notice was opened under."""
    return procedure_for(notice.partnership.slug, notice.procedure_version)


def definition_of(notice: Notice) -> NoticeDefinition:
    """Return what the notice's form asks."""
    definition = notice_definition(notice.form_code)
    if definition is None:
        raise FormNotAvailableError(notice.form_code)
    return definition


def concern_date(notice: Notice) -> date:
    """Day 1 of the notice's clocks (Pan Cheshire counts from the concern; the others from the notice)."""
    return notice.concern_date or notice.date_of_notification


def actions_for(user: User, notice: Notice) -> Actions:
    """What the user may do to the notice now, under its procedure."""
    return allowed_actions(user, notice, procedure_of(notice))


# -- loading ----------------------------------------------------------------------------------------------


def load_for(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    action: str,
    *,
    remote_addr: str = "",
    lock: bool = False,
    shown: Select[Notice] | None = None,
) -> Notice:
    """Load a notice the user's relationship lets them ``action``; audit and refuse anything else.

    With ``lock`` the notice's row is locked for the rest of the transaction (SELECT ... FOR UPDATE), so a
    state change decides what is allowed on the notice as it stands, not as another request left it.
    ``shown`` is a select of the notice by ``:notice_id`` with eager loads, so a page loads with the notice, in a
    fixed number of statements, what it shows; built once by its caller, as SQLAlchemy keeps a statement's cache
    key on the statement (building it, loader options and all, on every request cost more than running it).
    """
    notice = None
    if well_formed_id(notice_id):
        if lock:
            lock_notice(session, notice_id)
        if shown is None:
            notice = session.get(Notice, notice_id)
        else:
            notice = session.execute(shown, {"notice_id": notice_id}).unique().scalar_one_or_none()
    if notice is not None and alarms.is_bait(services, notice.id):
        # Nobody has a reason to reach the bait notice: alarm, then answer as for a notice that is not there.
        alarms.alarm(session, services, notice.id, user=user, route=f"notice.{action}", addr=remote_addr)
        raise NoticeNotFoundError(notice_id)
    if notice is None or not may(user, action, notice):
        _refuse(session, services, user, printable_id(notice_id), action, "denied", remote_addr)
        raise NoticeNotFoundError(notice_id)
    if notice.shredded_at is not None:
        # Every route that takes a notice comes here, so none can reach the (destroyed) content.
        _refuse(session, services, user, notice.id, action, "shredded", remote_addr)
        raise ShreddedError(notice.reference, notice.shredded_at)
    return notice


def lock_notice(session: Session, notice_id: str) -> None:
    """Lock the notice's row until the transaction ends, then forget what the session had loaded, so the
    decision that follows reads the notice as the last change left it.

    PostgreSQL takes the row lock (SELECT ... FOR UPDATE); SQLite takes its database write lock (BEGIN
    IMMEDIATE), which serialises every writer anyway.
    """
    begin_write(session)
    session.execute(select(Notice.id).where(Notice.id == notice_id).with_for_update())
    session.expire_all()


def load_for_action(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    action: str,
    *,
    remote_addr: str = "",
    seen_version: int | None = None,
    seen_stage: str | None = None,
    lock: bool = True,
) -> Notice:
    """Load and lock a notice the user may take ``action`` on now, under its procedure; audit any refusal.

    A page that only shows the action's form passes ``lock=False``: nothing is changed, so nothing is held.

    ``seen_version`` and ``seen_stage`` are the version and stage of the notice the page showed. If the notice
    has since moved to another stage or closed, or the action is no longer open because it changed, the answer
    is NoticeChangedError (someone else got there first, and what was written was for a notice that no longer
    stands), not a 404; a change that leaves the stage as it was (an acknowledgement) does not stop the action.
    """
    notice = load_for(session, services, user, notice_id, action, remote_addr=remote_addr, lock=lock)
    moved = seen_stage is not None and (seen_stage != notice.stage or not notice.is_open)
    if moved or not actions_for(user, notice).allows(action):
        changed = moved or (seen_version is not None and seen_version != notice.version)
        _refuse(session, services, user, notice.id, action, "changed" if changed else "denied", remote_addr)
        if changed:
            raise NoticeChangedError(notice.id, notice.reference)
        raise ActionNotAllowedError(action)
    return notice


def touch(notice: Notice) -> None:
    """Mark the notice changed: its version moves on, and its updated_at is now."""
    notice.version = (notice.version or 1) + 1
    notice.updated_at = utcnow()


def load_current(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    action: str,
    *,
    remote_addr: str = "",
    seen_version: int | None = None,
    seen_stage: str | None = None,
) -> tuple[Notice, NoticeStage, Stage]:
    """``load_for_action``, with the record of the stage the notice is at and that stage's definition."""
    notice = load_for_action(
        session,
        services,
        user,
        notice_id,
        action,
        remote_addr=remote_addr,
        seen_version=seen_version,
        seen_stage=seen_stage,
    )
    current = notice.current_stage
    if current is None:  # every notice enters a stage when it is raised
        raise ActionNotAllowedError(action)
    return notice, current, procedure_of(notice).stage(current.stage)


def _refuse(
    session: Session, services: PortalServices, user: User, object_id: str, action: str, outcome: str, addr: str
) -> None:
    audit.record(
        session,
        services.keyring.audit_key,
        action=f"notice.{action}",
        outcome=outcome,
        actor_id=user.id,
        object_type="notice",
        object_id=object_id,
        remote_addr=addr,
    )
    session.commit()


def audit_action(
    session: Session, services: PortalServices, user: User | None, notice: Notice, action: str, addr: str
) -> None:
    """Audit an action taken on the notice (the caller commits)."""
    audit.record(
        session,
        services.keyring.audit_key,
        action=f"notice.{action}",
        outcome="ok",
        actor_id=user.id if user else None,
        object_type="notice",
        object_id=notice.id,
        remote_addr=addr,
    )


# -- answers and narrative --------------------------------------------------------------------------------


def data_key(session: Session, services: PortalServices, notice: Notice) -> bytes:
    """Unwrap the notice's data key (inside a write transaction, to seal or open with it)."""
    return vault.data_key(session, services.keyring, notice.data_key_id)


def seal_answer(session: Session, notice: Notice, dek: bytes, name: str, value: str) -> None:
    """Store (or replace) one encrypted answer of the notice."""
    ciphertext = vault.seal_text(notice.data_key_id, dek, value, table="notice_answer", field=name, row_id=notice.id)
    existing = next((a for a in notice.answers if a.field_name == name), None)
    if existing is not None:
        existing.value_ct = ciphertext
    else:
        notice.answers.append(NoticeAnswer(notice_id=notice.id, field_name=name, value_ct=ciphertext))


def answers_with_key(notice: Notice, dek: bytes) -> dict[str, str]:
    """Decrypt every answer of the notice with an already-unwrapped key (inside a write transaction)."""
    return {
        a.field_name: vault.open_text(dek, a.value_ct, table="notice_answer", field=a.field_name, row_id=notice.id)
        for a in notice.answers
    }


# A notice's stored answers as plain rows; built once (see portal.web.sessions on reusing a statement).
_STORED_ANSWERS = select(NoticeAnswer.field_name, NoticeAnswer.value_ct).where(
    NoticeAnswer.notice_id == bindparam("notice_id")
)


def read_answers(session: Session, notice: Notice, dek: bytes) -> dict[str, str]:
    """Decrypt every answer of a notice that is being read, not changed.

    The answers come as plain rows, not as the notice's ``answers`` collection: some thirty ORM objects a notice
    page built, tracked and threw away. A collection already loaded in this session (a change may be pending
    in it) is what is decrypted instead."""
    if "answers" not in inspect(notice).unloaded:
        return answers_with_key(notice, dek)
    return {
        name: vault.open_text(dek, ciphertext, table="notice_answer", field=name, row_id=notice.id)
        for name, ciphertext in session.execute(_STORED_ANSWERS, {"notice_id": notice.id})
    }


def answers(session: Session, services: PortalServices, notice: Notice) -> dict[str, str]:
    """Decrypt a notice's answers. The caller has already checked access and writes the audit entry."""
    # A data-key rotation may commit between loading the notice and decrypting it: read again once.
    return vault.open_with_retry(session, lambda: answers_with_key(notice, data_key(session, services, notice)))


def named_answers(session: Session, services: PortalServices, notice: Notice, names: Sequence[str]) -> dict[str, str]:
    """Decrypt only the named answers: a check that needs the child's identifiers opens nothing else."""

    def read() -> dict[str, str]:
        dek = data_key(session, services, notice)
        rows = session.execute(
            select(NoticeAnswer.field_name, NoticeAnswer.value_ct).where(
                NoticeAnswer.notice_id == notice.id, NoticeAnswer.field_name.in_(sorted(names))
            )
        )
        return {
            name: vault.open_text(dek, ct, table="notice_answer", field=name, row_id=notice.id) for name, ct in rows
        }

    return vault.open_with_retry(session, read)


# -- the timeline -----------------------------------------------------------------------------------------


def add_event(
    session: Session, notice: Notice, actor: User | None, kind: str, detail: str, *, stage: str | None = None
) -> NoticeEvent:
    """Add a timeline entry. ``detail`` must never hold child identifiers or narrative."""
    event = NoticeEvent(
        notice_id=notice.id, at=utcnow(), actor_id=actor.id if actor else None, kind=kind, detail=detail, stage=stage
    )
    session.add(event)
    return event


_TIMELINE = (
    select(NoticeEvent)
    .where(NoticeEvent.notice_id == bindparam("notice_id"))
    .options(joinedload(NoticeEvent.actor))
    .order_by(NoticeEvent.at, NoticeEvent.id)
)


def timeline(session: Session, notice: Notice) -> list[NoticeEvent]:
    """The notice's timeline, oldest first, with who took each step (the page names them) in the same statement."""
    return list(session.execute(_TIMELINE, {"notice_id": notice.id}).scalars())
