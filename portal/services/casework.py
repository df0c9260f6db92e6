"""Lists and reads of notices for signed-in staff. Lists carry no child identifiers; reads are audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.access import notice_for
from portal.forms import form_definition
from portal.forms.base import NoticeFormDefinition
from portal.models import Notice, NoticeEvent, NoticeRecipient, Role, User
from portal.services import audit, notices
from portal.services.runtime import PortalServices

STATUS_LABELS = {"sent": "Sent", "acknowledged": "Acknowledged", "closed": "Closed"}


@dataclass(frozen=True)
class NoticeRow:
    """One line of a list: the reference, dates, agencies and status, nothing that identifies a child."""

    id: str
    reference: str
    date_of_notification: date
    submitted_at: datetime
    raising_agency: str
    receiving_agencies: str
    stage: str
    status: str


@dataclass(frozen=True)
class NoticeView:
    """A notice as its reader sees it: answers for display, sections, recipients, timeline, PDF versions."""

    notice: Notice
    definition: NoticeFormDefinition
    answers: dict[str, str]
    recipients: list[NoticeRecipient]
    events: list[NoticeEvent]
    pdf_versions: list[int]
    sender_notes: list[tuple[str, str]]


def _rows(db: Session, query: object) -> list[NoticeRow]:
    result = db.execute(
        query.options(  # type: ignore[attr-defined]
            selectinload(Notice.recipients).selectinload(NoticeRecipient.agency), selectinload(Notice.raising_agency)
        ).order_by(Notice.submitted_at.desc())
    ).scalars()
    return [
        NoticeRow(
            id=n.id,
            reference=n.reference,
            date_of_notification=n.date_of_notification,
            submitted_at=n.submitted_at,
            raising_agency=n.raising_agency.name if n.raising_agency else "",
            receiving_agencies=", ".join(dict.fromkeys(r.agency.name for r in n.recipients)),
            stage=n.stage.replace("-", " ").capitalize(),
            status=STATUS_LABELS.get(n.status, n.status.capitalize()),
        )
        for n in result
    ]


def notices_for_user(db: Session, user: User) -> list[NoticeRow]:
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
    return _rows(db, query)


def notices_for_partnership(db: Session, user: User) -> list[NoticeRow]:
    """Every notice of the business manager's partnership."""
    return _rows(db, select(Notice).where(Notice.partnership_id == user.partnership_id))


def read_notice(
    db: Session, services: PortalServices, user: User, notice_id: str, *, remote_addr: str = ""
) -> NoticeView:
    """Decrypt a notice for someone allowed to read it, and audit the read."""
    notice = notice_for(db, services.keyring.audit_key, user, notice_id, "read", remote_addr=remote_addr)
    definition = form_definition(notice.form_code)
    if definition is None:
        raise notices.FormNotAvailableError(notice.form_code)
    answers = notices.notice_answers(db, services, notice)
    labels = notices.contact_labels(db, [answers.get(n, "") for n in definition.recipient_fields])
    shown = definition.display(answers, labels)
    events = list(
        db.execute(select(NoticeEvent).where(NoticeEvent.notice_id == notice.id).order_by(NoticeEvent.at)).scalars()
    )
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
        answers=shown,
        recipients=list(notice.recipients),
        events=events,
        pdf_versions=[d.version for d in notice.documents],
        sender_notes=notices.sender_notes(db, [answers.get(n, "") for n in definition.recipient_fields]),
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
    notice = notice_for(db, services.keyring.audit_key, user, notice_id, "download", remote_addr=remote_addr)
    try:
        chosen, pdf = notices.notice_pdf(db, services, notice, version)
    except LookupError:
        abort(404)
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
