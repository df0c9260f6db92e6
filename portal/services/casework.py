"""Lists and reads of notices for signed-in staff. Lists carry no child identifiers; reads are audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from portal.domain.models import Notice, NoticeAnswer, NoticeEvent, NoticeRecipient, NoticeStatus, Role, User
from portal.domain.notice_definition import NoticeDefinition
from portal.domain.policy import Actions
from portal.domain.procedure import Procedure
from portal.infrastructure.pdf import WITHHELD, AttachmentRecord, StageRecord
from portal.services import audit, conversation, documents, raising, record, routing, vault
from portal.services.errors import NotFoundError
from portal.services.runtime import PortalServices


@dataclass(frozen=True)
class NoticeRow:
    """One line of a list: the reference, dates, agencies, stage and clock, nothing that identifies a child."""

    id: str
    reference: str
    date_of_notification: date
    submitted_at: datetime
    raising_agency: str
    receiving_agencies: str
    stage: str
    status: str
    due_on: date | None
    overdue: bool
    due_this_week: bool


@dataclass(frozen=True)
class NoticeView:
    """A notice as its reader sees it: answers, stages, closure, what they may do now, timeline, PDF versions."""

    notice: Notice
    definition: NoticeDefinition
    procedure: Procedure
    answers: dict[str, str]
    recipients: list[NoticeRecipient]
    events: list[NoticeEvent]
    pdf_versions: list[int]
    sender_notes: list[tuple[str, str]]
    stages: tuple[StageRecord, ...]
    closure: dict[str, str]
    actions: Actions
    # True when this reader gets the partnership's pseudonymous copy (Trafford's business unit).
    withheld: bool
    # The raiser's label for the notice ("" if none).
    label: str = ""
    # Why the notice was withdrawn ("" unless it was).
    withdrawal: str = ""
    # Messages between the parties, oldest first.
    thread: tuple[conversation.Message, ...] = ()
    # Evidence attached, oldest first (names and hashes; the content is downloaded on its own, audited).
    attachments: tuple[AttachmentRecord, ...] = ()

    @property
    def current(self) -> StageRecord | None:
        return self.stages[-1] if self.stages else None


def _rows(db: Session, query: Select[tuple[Notice]], *, today: date) -> list[NoticeRow]:
    # "This week" runs to the end of Sunday: what a business unit plans its chasing around.
    week_end = today + timedelta(days=6 - today.weekday())
    result = db.execute(
        query.options(
            selectinload(Notice.recipients).selectinload(NoticeRecipient.agency),
            selectinload(Notice.raising_agency),
            selectinload(Notice.stages),
            selectinload(Notice.partnership),
        ).order_by(Notice.submitted_at.desc())
    ).scalars()
    rows = []
    for n in result:
        current = n.current_stage
        open_stage = current is not None and current.ended_at is None and n.is_open
        due = current.due_on if current is not None and open_stage else None
        overdue = due is not None and due < today
        try:
            stage_name = record.procedure_of(n).stage(n.stage).name
        except LookupError:
            stage_name = n.stage
        status = NoticeStatus(n.status).label
        if overdue:
            status = "Overdue"
        elif open_stage and current is not None and current.responded_at is not None:
            status = "Responded"
        elif open_stage and current is not None and current.acknowledged_at is not None:
            status = "Acknowledged"
        rows.append(
            NoticeRow(
                id=n.id,
                reference=n.reference,
                date_of_notification=n.date_of_notification,
                submitted_at=n.submitted_at,
                raising_agency=n.raising_agency.name if n.raising_agency else "",
                receiving_agencies=", ".join(dict.fromkeys(r.agency.name for r in n.recipients)),
                stage=stage_name,
                status=status,
                due_on=due,
                overdue=overdue,
                due_this_week=due is not None and not overdue and due <= week_end,
            )
        )
    return rows


def notices_for_user(db: Session, services: PortalServices, user: User) -> list[NoticeRow]:
    """Notices a practitioner raised, or that were sent to a SPOC's agency."""
    query = select(Notice).where(Notice.partnership_id == user.partnership_id)
    if user.role_enum is Role.PRACTITIONER:
        query = query.where(Notice.raised_by_id == user.id)
    elif user.role_enum is Role.SPOC:
        query = query.where(
            Notice.id.in_(select(NoticeRecipient.notice_id).where(NoticeRecipient.agency_id == user.agency_id))
        )
    else:
        return []
    return _rows(db, query, today=services.today())


def notices_for_partnership(db: Session, services: PortalServices, user: User) -> list[NoticeRow]:
    """Every notice of the business manager's partnership (but the bait: see portal.services.honeytoken)."""
    bait = sorted(services.honeytokens)
    query = select(Notice).where(Notice.partnership_id == user.partnership_id, Notice.id.not_in(bait))
    return _rows(db, query, today=services.today())


def labels_for(db: Session, services: PortalServices, rows: list[NoticeRow]) -> dict[str, str]:
    """The raisers' labels of the listed notices (which the reader may already see), decrypted one answer each."""
    ids = [row.id for row in rows]
    if not ids:
        return {}
    found = db.execute(
        select(NoticeAnswer.notice_id, NoticeAnswer.value_ct, Notice.data_key_id)
        .join(Notice, Notice.id == NoticeAnswer.notice_id)
        .where(
            NoticeAnswer.notice_id.in_(ids),
            NoticeAnswer.field_name == raising.LABEL_FIELD,
            Notice.shredded_at.is_(None),
        )
    ).all()
    labels = {}
    for notice_id, ciphertext, key_id in found:
        dek = vault.data_key(db, services.keyring, key_id)
        labels[notice_id] = vault.open_text(
            dek, ciphertext, table="notice_answer", field=raising.LABEL_FIELD, row_id=notice_id
        )
    return labels


def copy_for(user: User, definition: NoticeDefinition) -> str:
    """The PDF copy a reader gets: the business unit's pseudonymous copy where the form requires one."""
    if definition.pseudonymous_copy and user.role_enum is Role.BUSINESS_MANAGER:
        return documents.BUSINESS_UNIT_COPY
    return documents.FULL_COPY


def read_notice(
    db: Session, services: PortalServices, user: User, notice_id: str, *, remote_addr: str = ""
) -> NoticeView:
    """Decrypt a notice for someone allowed to read it, and audit the read."""
    notice = record.load_for(db, services, user, notice_id, "read", remote_addr=remote_addr)
    definition = record.definition_of(notice)
    answers = record.answers(db, services, notice)
    shown = documents.shown_answers(db, definition, notice, answers)
    copy = copy_for(user, definition)
    if copy == documents.BUSINESS_UNIT_COPY:
        shown = {k: (WITHHELD if k in definition.identifier_fields and v else v) for k, v in shown.items()}
    events = record.timeline(db, notice)
    audit.record(
        db,
        services.keyring.audit_key,
        action="notice.read",
        outcome="allowed",
        actor_id=user.id,
        object_type="notice",
        object_id=notice.id,
        remote_addr=remote_addr,
    )
    db.commit()
    return NoticeView(
        notice=notice,
        definition=definition,
        procedure=record.procedure_of(notice),
        answers=shown,
        recipients=list(notice.recipients),
        events=events,
        pdf_versions=sorted({d.version for d in notice.documents if d.copy == copy}),
        sender_notes=routing.sender_notes(db, [str(r.contact_id) for r in notice.recipients]),
        stages=documents.stage_records(db, notice, answers),
        closure=documents.closure_record(notice, answers),
        actions=record.actions_for(user, notice),
        withheld=copy == documents.BUSINESS_UNIT_COPY,
        label=answers.get(raising.LABEL_FIELD, ""),
        withdrawal=answers.get(record.WITHDRAWAL_FIELD, ""),
        thread=tuple(conversation.thread(answers)),
        attachments=tuple(
            vault.open_with_retry(
                db, lambda: documents.attachment_records(db, notice, record.data_key(db, services, notice))
            )
        ),
    )


def download_pdf(
    db: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    version: int | None = None,
    *,
    remote_addr: str = "",
) -> tuple[str, bytes]:
    """Return (file name, signed PDF) for someone allowed to download it, and audit the download."""
    notice = record.load_for(db, services, user, notice_id, "download", remote_addr=remote_addr)
    copy = copy_for(user, record.definition_of(notice))
    try:
        chosen, pdf = documents.open_version(db, services, notice, version, copy)
    except LookupError:
        raise NotFoundError(f"no PDF version {version}") from None
    audit.record(
        db,
        services.keyring.audit_key,
        action="notice.download",
        outcome="allowed",
        actor_id=user.id,
        object_type="notice_document",
        object_id=f"{notice.id}/v{chosen}",
        remote_addr=remote_addr,
    )
    db.commit()
    # The file name is the reference and version only: never a child's name or date of birth.
    return f"{notice.reference}-v{chosen}.pdf", pdf
