"""Signed PDF versions of a notice: content from the answers and stage records, layout per form, signing.

Every version is kept. A new version is issued when the notice is raised and whenever its record changes
in a way the partnership's form prints (a response, an escalation, the closure). Where the partnership's
copy must not identify the child (Trafford's form carries no identifiers), each version is issued twice:
the parties' full copy and the business unit's copy with the identifiers withheld.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, bindparam, func, inspect, or_, select, update
from sqlalchemy.orm import Session, defer, joinedload

from portal.domain import file_types
from portal.domain.dates import LONDON, local_day, long_date, long_datetime
from portal.domain.models import (
    Agency,
    DirectoryContact,
    Notice,
    NoticeAttachment,
    NoticeDocument,
    NoticeEvent,
    NoticeStatus,
    User,
)
from portal.domain.nhs_number import format_nhs_number
from portal.domain.notice_definition import NoticeDefinition
from portal.domain.policy import directory_id
from portal.infrastructure import pdf
from portal.infrastructure.crypto import DecryptionError
from portal.infrastructure.pdf import (
    CLOSURE_KEYS,
    WITHHELD,
    AttachmentRecord,
    NoticeContext,
    NoticeLayout,
    StageRecord,
)
from portal.partnerships import part
from portal.services import record, vault
from portal.services.runtime import PortalServices

FULL_COPY = "full"
BUSINESS_UNIT_COPY = "business-unit"
# The one-page summary for the child's file, written at closure (portal.services.child_file).
CHILD_FILE_COPY = "child-file"
_STATUS = {None: "Open", "escalated": "Escalated", "resolved": "Resolved", "withdrawn": "Withdrawn"}


def directory_labels(
    session: Session,
    definition: NoticeDefinition,
    answers: dict[str, str],
    known: Iterable[DirectoryContact] = (),
) -> dict[str, str]:
    """Return, per directory field, the name to show for its stored id ("Agency: role" or the agency).

    ``known``: contacts (with their agencies) the caller has loaded already, the notice's recipients on the notice
    page; only the ids not among them are read."""
    labels: dict[str, str] = {}
    contacts = {c.id: c for c in known}
    agencies = {c.agency.id: c.agency for c in contacts.values()}
    contact_ids = {n: answers.get(n, "") for n in definition.recipient_fields}
    wanted = [i for i in map(directory_id, contact_ids.values()) if i is not None]
    missing = [i for i in wanted if i not in contacts]
    if missing:
        # A contact's label names its agency: loaded in the same statement, not one query per contact.
        contacts |= {
            c.id: c
            for c in session.execute(
                select(DirectoryContact)
                .where(DirectoryContact.id.in_(missing))
                .options(joinedload(DirectoryContact.agency))
            ).scalars()
        }
    if wanted:
        rows = {str(i): c.label for i, c in contacts.items()}
        labels |= {n: rows.get(v, "") for n, v in contact_ids.items()}
    agency_ids = {n: answers.get(n, "") for n in definition.agency_fields}
    wanted = [i for i in map(directory_id, agency_ids.values()) if i is not None]
    missing = [i for i in wanted if i not in agencies]
    if missing:
        agencies |= {a.id: a for a in session.execute(select(Agency).where(Agency.id.in_(missing))).scalars()}
    if wanted:
        rows = {str(i): a.name for i, a in agencies.items()}
        labels |= {n: rows.get(v, "") for n, v in agency_ids.items()}
    return labels


def shown_answers(
    session: Session,
    definition: NoticeDefinition,
    notice: Notice,
    answers: dict[str, str],
    known: Iterable[DirectoryContact] = (),
) -> dict[str, str]:
    """The form's answers formatted for people (dates, labels, the NHS number in 3-3-4 groups). ``known``: as for
    directory_labels."""
    own = definition.own_answers(answers)
    shown = definition.display(own, directory_labels(session, definition, own, known))
    if shown.get("nhs_number"):
        shown["nhs_number"] = format_nhs_number(shown["nhs_number"])
    shown[definition.date_of_notification_field] = long_date(notice.date_of_notification)
    return shown


def stage_records(
    session: Session, notice: Notice, answers: dict[str, str], events: Iterable[NoticeEvent] | None = None
) -> tuple[StageRecord, ...]:
    """Every stage the notice has been at, with what happened there, formatted for print.

    ``events``: the notice's timeline, oldest first, when the caller has already loaded it (the notice page);
    the chases are picked from it rather than read again."""
    procedure = record.procedure_of(notice)
    if events is None:
        events = session.execute(
            select(NoticeEvent)
            .where(NoticeEvent.notice_id == notice.id, NoticeEvent.kind == "chased")
            .order_by(NoticeEvent.at, NoticeEvent.id)
        ).scalars()
    chases: dict[str, list[str]] = {}
    for event in events:
        if event.kind == "chased":
            chases.setdefault(event.stage or "", []).append(long_date(event.at.astimezone(LONDON).date()))
    records = []
    for row in notice.stages:
        stage = procedure.stage(row.stage)
        sent_to = ", ".join(dict.fromkeys(r.contact.label for r in notice.recipients if r.stage == row.stage))
        records.append(
            StageRecord(
                code=row.stage,
                name=stage.name,
                started=long_date(row.started_on),
                due=long_date(row.due_on),
                status=_STATUS.get(row.outcome, row.outcome or "Open"),
                sent_to=sent_to,
                acknowledged=local_day(row.acknowledged_at),
                responded=local_day(row.responded_at),
                response=answers.get(record.stage_field(row.stage, "response"), ""),
                agreed_actions=answers.get(record.stage_field(row.stage, "agreed_actions"), ""),
                ended=local_day(row.ended_at),
                escalation_reason=answers.get(record.stage_field(row.stage, "escalation_reason"), ""),
                skip_reason=answers.get(record.stage_field(row.stage, "skip_reason"), ""),
                chases=tuple(chases.get(row.stage, ())),
            )
        )
    return tuple(records)


# Built once, as every notice page lists the evidence (see portal.web.sessions on reusing a statement).
_ATTACHMENTS = (
    # The uploader's name in the same statement (not one query per attachment); the content is not loaded.
    select(NoticeAttachment, User.name)
    .outerjoin(User, User.id == NoticeAttachment.uploaded_by_id)
    # Or still the draft's in the database: at submit, the first version lists the evidence the draft carried
    # before the one flush writes its new owner (a notice keeps its draft's id).
    .where(
        or_(NoticeAttachment.notice_id == bindparam("notice_id"), NoticeAttachment.draft_id == bindparam("notice_id"))
    )
    .options(defer(NoticeAttachment.content_ct))
    .order_by(NoticeAttachment.uploaded_at, NoticeAttachment.id)
)


def attachment_records(session: Session, notice: Notice, dek: bytes) -> list[AttachmentRecord]:
    """The notice's evidence as listed on it and in its PDF, names opened (never the content)."""
    rows = session.execute(_ATTACHMENTS, {"notice_id": notice.id})
    found = []
    procedure = record.procedure_of(notice)
    for row, author in rows:
        bound = f"{notice.id}/{row.id}"
        name = vault.open_text(dek, row.name_ct, table="notice_attachment", field="name", row_id=bound)
        try:
            stage_name = procedure.stage(row.stage).name
        except LookupError:
            stage_name = "At closure" if row.stage == "closure" else row.stage
        found.append(
            AttachmentRecord(
                id=row.id,
                name=name,
                kind=file_types.KINDS[row.kind].label,
                size=row.size,
                sha256=row.sha256,
                stage=stage_name,
                added=long_datetime(row.uploaded_at),
                added_by=author or "",
            )
        )
    return found


def closure_record(notice: Notice, answers: dict[str, str]) -> dict[str, str]:
    found = {key: answers.get(record.closure_field(key), "") for key in CLOSURE_KEYS if key != "closed_on"}
    if found.get("debrief"):
        found["debrief"] = {"yes": "Yes", "no": "No"}.get(found["debrief"], found["debrief"])
    # A withdrawn notice ended without an agreed outcome: it has no closure record.
    found["closed_on"] = local_day(notice.closed_at) if notice.status == NoticeStatus.CLOSED else ""
    return {k: v for k, v in found.items() if v}


def issue_version(
    session: Session,
    services: PortalServices,
    notice: Notice,
    *,
    dek: bytes,
    answers: dict[str, str] | None = None,
    has_evidence: bool = True,
) -> int:
    """Record the next PDF version of the notice (each copy) and return its number.

    What the version prints is fixed now, in the caller's transaction: its context, sealed under the notice's
    data key. The PDF itself is rendered and signed after the change commits (issue_pending, or draw_now for the
    first reader), because drawing it was half of every change's time and needs no lock. Either way it prints
    exactly this context, so a version says what the notice said when it was issued, whenever it is drawn."""
    definition = record.definition_of(notice)
    if answers is None:
        answers = record.answers_with_key(notice, dek)
    # A notice being raised (not yet written: its rows are all in this session) has no versions, events or
    # chases in the database to read; its first version is 1.
    new = inspect(notice).pending
    version = (
        1
        if new
        else (
            session.execute(
                select(func.max(NoticeDocument.version)).where(NoticeDocument.notice_id == notice.id)
            ).scalar()
            or 0
        )
        + 1
    )
    # The stages print each recipient's label, so their contacts are loaded: the form's own recipient answers
    # are labelled from them rather than read again.
    known = [r.contact for r in notice.recipients]
    context = NoticeContext(
        reference=notice.reference,
        form_title=definition.title,
        version=version,
        issued_at=notice.updated_at,
        partnership_name=notice.partnership.name,
        fields=shown_answers(session, definition, notice, answers, known),
        stages=stage_records(session, notice, answers, () if new else None),
        closure=closure_record(notice, answers),
        # A notice raised without evidence is known to have none: no query for it.
        attachments=tuple(attachment_records(session, notice, dek)) if has_evidence else (),
    )
    # A typo in a field key is refused here, when the change is made, not later in the worker.
    pdf.check_fields(layout_for(definition.code), context)
    copies = [(FULL_COPY, context)]
    if definition.pseudonymous_copy:
        withheld = {k: (WITHHELD if k in definition.identifier_fields and v else v) for k, v in context.fields.items()}
        copies.append((BUSINESS_UNIT_COPY, replace(context, fields=withheld, copy=BUSINESS_UNIT_COPY)))
    for copy, ctx in copies:
        session.add(
            NoticeDocument(
                notice_id=notice.id,
                version=version,
                copy=copy,
                context_ct=vault.seal_bytes(
                    notice.data_key_id,
                    dek,
                    pdf.context_to_json(ctx),
                    table="notice_document",
                    field=context_field(version, copy),
                    row_id=notice.id,
                ),
            )
        )
    return version


def issue_pending(session: Session, services: PortalServices, *, limit: int = 20) -> int:
    """Draw versions still to draw, oldest first, at most ``limit``; return how many this call drew.

    Run by the mail worker on every turn (and `flask notices issue-pdfs`). Several workers share the work: on
    PostgreSQL each takes a version no one else holds (SKIP LOCKED); on SQLite two may draw one version and
    the second's write finds it drawn (compare-and-set), which costs time but never a second PDF."""
    drawn, after = 0, 0
    for _ in range(limit):
        row = session.execute(
            _to_draw()
            .where(NoticeDocument.id > after)
            .order_by(NoticeDocument.id)
            .limit(1)
            .with_for_update(of=NoticeDocument, skip_locked=True)
        ).first()
        if row is None:
            session.rollback()
            break
        # Onwards from this one, so a version that cannot be drawn now is not tried again in this call.
        after = row.id
        if _draw_and_store(session, services, row) is not None:
            drawn += 1
    return drawn


def draw_now(session: Session, services: PortalServices, document_id: int) -> bytes:
    """The signed PDF of one version, drawn now if no one has yet (the reader who comes before the worker).

    On PostgreSQL the version's row is locked while it is drawn, so a second reader or the worker waits and
    then finds it drawn; the caller's transaction is committed first, so no other lock is held meanwhile."""
    session.commit()
    for _ in range(3):
        row = session.execute(
            _to_draw(pending_only=False).where(NoticeDocument.id == document_id).with_for_update(of=NoticeDocument)
        ).first()
        if row is None:
            session.rollback()
            raise LookupError("no such PDF version")
        if row.pdf_ct is not None:
            session.rollback()
            return _open_pdf(session, services, row)
        if (signed := _draw_and_store(session, services, row)) is not None:
            return signed
    raise LookupError("the PDF version could not be drawn")


_ToDraw = Select[int, str, int, str, bytes | None, bytes | None, str, str]


def _to_draw(*, pending_only: bool = True) -> _ToDraw:
    query = select(
        NoticeDocument.id,
        NoticeDocument.notice_id,
        NoticeDocument.version,
        NoticeDocument.copy,
        NoticeDocument.context_ct,
        NoticeDocument.pdf_ct,
        Notice.form_code,
        Notice.data_key_id,
    ).join(Notice, Notice.id == NoticeDocument.notice_id)
    return query.where(NoticeDocument.pdf_ct.is_(None)) if pending_only else query


def _draw_and_store(session: Session, services: PortalServices, row: Any) -> bytes | None:
    """Render and sign one version from its sealed context; store it if the context is still the one read.

    The compare-and-set on the context's ciphertext holds against another drawer (it set the context to NULL)
    and against a data-key rotation (it sealed the context again under a new key). Returns None when the write
    lost, with the transaction ended either way."""
    try:
        dek = vault.data_key(session, services.keyring, row.data_key_id)
        context = pdf.context_from_json(
            vault.open_bytes(
                dek,
                row.context_ct,
                table="notice_document",
                field=context_field(row.version, row.copy),
                row_id=row.notice_id,
            )
        )
    except (LookupError, DecryptionError):
        session.rollback()  # shredded or re-keyed since it was read: the next turn reads it again
        return None
    signed = services.signer.sign(pdf.render(layout_for(row.form_code), context))
    sealed = vault.seal_bytes(
        row.data_key_id,
        dek,
        signed,
        table="notice_document",
        field=document_field(row.version, row.copy),
        row_id=row.notice_id,
    )
    stored = session.execute(
        update(NoticeDocument)
        .where(NoticeDocument.id == row.id, NoticeDocument.context_ct == row.context_ct)
        .values(pdf_ct=sealed, sha256=hashlib.sha256(signed).hexdigest(), context_ct=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return signed if int(getattr(stored, "rowcount", 0) or 0) == 1 else None


def _open_pdf(session: Session, services: PortalServices, row: Any) -> bytes:
    dek = vault.data_key(session, services.keyring, row.data_key_id)
    return vault.open_bytes(
        dek, row.pdf_ct, table="notice_document", field=document_field(row.version, row.copy), row_id=row.notice_id
    )


def layout_for(form_code: str) -> NoticeLayout:
    """The PDF layout of the partnership whose notice form this is."""
    return pdf.layout_of(part(form_code, "layout"))


def render_notice(form_code: str, context: NoticeContext) -> bytes:
    """Render (unsigned) a notice version in its partnership's layout."""
    return pdf.render(layout_for(form_code), context)


def document_field(version: int, copy: str) -> str:
    # The full copy keeps the associated data it has always had, so earlier versions still open.
    return f"pdf/v{version}" if copy == FULL_COPY else f"pdf/v{version}/{copy}"


def context_field(version: int, copy: str) -> str:
    """What a version still to draw is bound to: not a PDF's binding, so one can never open as the other."""
    return f"context/v{version}/{copy}"


def open_version(
    session: Session, services: PortalServices, notice: Notice, version: int | None = None, copy: str = FULL_COPY
) -> tuple[int, bytes]:
    """Decrypt one PDF version (the newest by default) of the given copy."""

    def read() -> tuple[int, bytes]:
        documents = {d.version: d for d in notice.documents if d.copy == copy}
        if not documents:
            raise LookupError("the notice has no PDF")
        chosen = documents.get(version or max(documents))
        if chosen is None:
            raise LookupError("no such PDF version")
        if chosen.pdf_ct is None:
            return chosen.version, draw_now(session, services, chosen.id)
        dek = vault.data_key(session, services.keyring, notice.data_key_id)
        pdf = vault.open_bytes(
            dek, chosen.pdf_ct, table="notice_document", field=document_field(chosen.version, copy), row_id=notice.id
        )
        return chosen.version, pdf

    return vault.open_with_retry(session, read)
