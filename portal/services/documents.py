"""Signed PDF versions of a notice: content from the answers and stage records, layout per form, signing.

Every version is kept. A new version is issued when the notice is raised and whenever its record changes
in a way the partnership's form prints (a response, an escalation, the closure). Where the partnership's
copy must not identify the child (Trafford's form carries no identifiers), each version is issued twice:
the parties' full copy and the business unit's copy with the identifiers withheld.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.forms import form_definition
from portal.forms.base import NoticeFormDefinition
from portal.forms.validators import format_nhs_number
from portal.models import DirectoryContact, Notice, NoticeDocument, NoticeEvent
from portal.pdf import CLOSURE_KEYS, WITHHELD, NoticeContext, StageRecord, render_notice
from portal.services import vault
from portal.services.runtime import PortalServices
from portal.timeutil import LONDON, long_date

FULL_COPY = "full"
BUSINESS_UNIT_COPY = "business-unit"
_STATUS = {None: "Open", "escalated": "Escalated", "resolved": "Resolved"}


def directory_labels(session: Session, definition: NoticeFormDefinition, answers: dict[str, str]) -> dict[str, str]:
    """Return, per directory field, the name to show for its stored id ("Agency: role" or the agency)."""
    from portal.models import Agency

    labels: dict[str, str] = {}
    contact_ids = {n: answers.get(n, "") for n in definition.recipient_fields}
    wanted = [int(v) for v in contact_ids.values() if v.isdigit()]
    if wanted:
        rows = {
            str(c.id): c.label
            for c in session.execute(select(DirectoryContact).where(DirectoryContact.id.in_(wanted))).scalars()
        }
        labels |= {n: rows.get(v, "") for n, v in contact_ids.items()}
    agency_ids = {n: answers.get(n, "") for n in definition.agency_fields}
    wanted = [int(v) for v in agency_ids.values() if v.isdigit()]
    if wanted:
        rows = {str(a.id): a.name for a in session.execute(select(Agency).where(Agency.id.in_(wanted))).scalars()}
        labels |= {n: rows.get(v, "") for n, v in agency_ids.items()}
    return labels


def form_answers(definition: NoticeFormDefinition, answers: dict[str, str]) -> dict[str, str]:
    """Only the form's own answers (not stage narrative or closure), in the form's order."""
    return {name: answers[name] for name in definition.field_order if name in answers}


def shown_answers(
    session: Session, definition: NoticeFormDefinition, notice: Notice, answers: dict[str, str]
) -> dict[str, str]:
    """The form's answers formatted for people (dates, labels, the NHS number in 3-3-4 groups)."""
    own = form_answers(definition, answers)
    shown = definition.display(own, directory_labels(session, definition, own))
    if shown.get("nhs_number"):
        shown["nhs_number"] = format_nhs_number(shown["nhs_number"])
    shown[definition.date_of_notification_field] = long_date(notice.date_of_notification)
    return shown


def stage_records(session: Session, notice: Notice, answers: dict[str, str]) -> tuple[StageRecord, ...]:
    """Every stage the notice has been at, with what happened there, formatted for print."""
    from portal.services.stages import procedure_of, stage_field

    procedure = procedure_of(notice)
    chases: dict[str, list[str]] = {}
    for event in session.execute(
        select(NoticeEvent)
        .where(NoticeEvent.notice_id == notice.id, NoticeEvent.kind == "chased")
        .order_by(NoticeEvent.at)
    ).scalars():
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
                acknowledged=_day(row.acknowledged_at),
                responded=_day(row.responded_at),
                response=answers.get(stage_field(row.stage, "response"), ""),
                agreed_actions=answers.get(stage_field(row.stage, "agreed_actions"), ""),
                ended=_day(row.ended_at),
                escalation_reason=answers.get(stage_field(row.stage, "escalation_reason"), ""),
                skip_reason=answers.get(stage_field(row.stage, "skip_reason"), ""),
                chases=tuple(chases.get(row.stage, ())),
            )
        )
    return tuple(records)


def closure_record(notice: Notice, answers: dict[str, str]) -> dict[str, str]:
    from portal.services.stages import closure_field

    found = {key: answers.get(closure_field(key), "") for key in CLOSURE_KEYS if key != "closed_on"}
    if found.get("debrief"):
        found["debrief"] = {"yes": "Yes", "no": "No"}.get(found["debrief"], found["debrief"])
    found["closed_on"] = _day(notice.closed_at)
    return {k: v for k, v in found.items() if v}


def _day(value) -> str:  # type: ignore[no-untyped-def]
    return long_date(value.astimezone(LONDON).date()) if value else ""


def issue_version(
    session: Session,
    services: PortalServices,
    notice: Notice,
    *,
    dek: bytes,
    answers: dict[str, str] | None = None,
) -> int:
    """Render, sign, encrypt and store the next PDF version of the notice (each copy); return its number."""
    from portal.services.stages import notice_answers_plain

    definition = form_definition(notice.form_code)
    if definition is None:
        raise LookupError(notice.form_code)
    if answers is None:
        answers = notice_answers_plain(session, services, notice, dek)
    version = (
        session.execute(select(func.max(NoticeDocument.version)).where(NoticeDocument.notice_id == notice.id)).scalar()
        or 0
    ) + 1
    context = NoticeContext(
        reference=notice.reference,
        form_title=definition.title,
        version=version,
        issued_at=notice.updated_at,
        partnership_name=notice.partnership.name,
        fields=shown_answers(session, definition, notice, answers),
        stages=stage_records(session, notice, answers),
        closure=closure_record(notice, answers),
    )
    copies = [(FULL_COPY, context)]
    if definition.pseudonymous_copy:
        withheld = {k: (WITHHELD if k in definition.identifier_fields and v else v) for k, v in context.fields.items()}
        copies.append((BUSINESS_UNIT_COPY, _replace(context, fields=withheld, copy=BUSINESS_UNIT_COPY)))
    for copy, ctx in copies:
        signed = services.signer.sign(render_notice(definition.code, ctx))
        ciphertext = vault.seal_bytes(
            notice.data_key_id,
            dek,
            signed,
            table="notice_document",
            field=document_field(version, copy),
            row_id=notice.id,
        )
        session.add(NoticeDocument(notice_id=notice.id, version=version, copy=copy, pdf_ct=ciphertext))
    return version


def _replace(context: NoticeContext, **changes: object) -> NoticeContext:
    from dataclasses import replace

    return replace(context, **changes)  # type: ignore[arg-type]


def document_field(version: int, copy: str) -> str:
    # The full copy keeps the associated data it has always had, so earlier versions still open.
    return f"pdf/v{version}" if copy == FULL_COPY else f"pdf/v{version}/{copy}"


def open_version(
    session: Session, services: PortalServices, notice: Notice, version: int | None, copy: str
) -> tuple[int, bytes]:
    """Decrypt one PDF version (the newest by default) of the given copy."""

    def read() -> tuple[int, bytes]:
        documents = {d.version: d for d in notice.documents if d.copy == copy}
        if not documents:
            raise LookupError("the notice has no PDF")
        chosen = documents.get(version or max(documents))
        if chosen is None:
            raise LookupError("no such PDF version")
        dek = vault.data_key(session, services.keyring, notice.data_key_id)
        pdf = vault.open_bytes(
            dek, chosen.pdf_ct, table="notice_document", field=document_field(chosen.version, copy), row_id=notice.id
        )
        return chosen.version, pdf

    return vault.open_with_retry(session, read)
