"""The child's file: what each involved agency places on the child's record when a notice closes.

At closure the portal writes, in the closing transaction, a one-page signed PDF summary and a structured JSON
record of the same facts (schema: portal/domain/child_record.schema.json, explained in docs/child-record.md).
Both are stored sealed under the notice's data key like every other document: the PDF as a ``notice_document``
row of copy ``child-file`` with the closing version's number and its SHA-256 (so /verify recognises it with no
new mechanism), the JSON as the notice answer ``childfile.json``. Written once, at closure, rather than on
demand: a signature carries its signing time, so a summary signed at each download would have a new hash each
time and /verify could not recognise it; and what was true at closure (the closer's name, the directory's
agency names) stays as it was, whatever is renamed later.

Either is downloaded by whoever may read the notice, once it is closed, each download audited. A reader who gets
the partnership's pseudonymous copy (Trafford's business unit) gets neither: both carry the child's identifiers.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.domain.categories import outcome_label
from portal.domain.dates import LONDON, long_date, long_datetime
from portal.domain.models import Notice, NoticeDocument, NoticeStatus, Role, User
from portal.domain.nhs_number import format_nhs_number
from portal.infrastructure.pdf.child_file import ChildFileContext, ChildFileStage, render_child_file
from portal.services import audit, documents, record, vault
from portal.services.errors import NotFoundError
from portal.services.runtime import PortalServices

SCHEMA_ID = "https://escalation-portal.example/schema/child-record/1"
JSON_FIELD = "childfile.json"
COPY = documents.CHILD_FILE_COPY

# The child's identifiers in the words the summary prints; a field not named here prints its own name.
IDENTIFIER_LABELS = {
    "child_name": "Name",
    "child_dob": "Date of birth",
    "nhs_number": "NHS number",
    "local_identifier": "Local case number",
    "p_number": "P Number",
    "lead_professional": "Lead professional",
}
_ENDED = {"escalated": "Escalated", "resolved": "Resolved", "withdrawn": "Withdrawn"}


def _day(value: datetime | None) -> str | None:
    return value.astimezone(LONDON).date().isoformat() if value is not None else None


def facts(
    services: PortalServices, notice: Notice, answers: dict[str, str], closer: User, version: int
) -> dict[str, Any]:
    """The child's-file record of a closed notice, as the JSON schema describes it (without the PDF's hash)."""
    procedure = record.procedure_of(notice)
    definition = record.definition_of(notice)
    receiving = list(dict.fromkeys(r.agency.name for r in notice.recipients if r.agency is not None))
    stages = []
    for row in notice.stages:
        stage = procedure.stage(row.stage)
        stages.append(
            {
                "code": row.stage,
                "name": stage.name,
                "opened_on": row.started_on.isoformat(),
                "due_on": row.due_on.isoformat() if row.due_on else None,
                "acknowledged_on": _day(row.acknowledged_at),
                "answered_on": _day(row.responded_at),
                "ended_on": _day(row.ended_at),
                "ended_by": row.outcome,
                "agreed_actions": answers.get(record.stage_field(row.stage, "agreed_actions"), ""),
            }
        )
    highest = max(notice.stages, key=lambda s: procedure.index(s.stage))
    child = [
        {"field": name, "label": IDENTIFIER_LABELS.get(name, name.replace("_", " ").capitalize()), "value": value}
        for name in definition.identifier_fields
        if (value := answers.get(name, "")) and name not in definition.directory_fields
    ]
    closed_at = notice.closed_at or notice.updated_at
    return {
        "$schema": SCHEMA_ID,
        "schema_version": 1,
        "reference": notice.reference,
        "partnership": {"code": notice.partnership.slug, "name": notice.partnership.name},
        "procedure_version": notice.procedure_version,
        "agencies": {
            "raising": notice.raising_agency.name if notice.raising_agency else None,
            "receiving": receiving,
        },
        "child": child,
        "raised_on": notice.date_of_notification.isoformat(),
        "stages": stages,
        "highest_stage": {"code": highest.stage, "name": procedure.stage(highest.stage).name},
        "outcome": {
            "code": notice.outcome_code,
            "label": outcome_label(notice.outcome_code),
            "agreed_outcome": answers.get(record.closure_field("agreed_outcome"), ""),
        },
        "closed": {
            "by": {
                "name": closer.name,
                "role": closer.role_enum.label,
                "agency": closer.agency.name if closer.agency else None,
            },
            "at": closed_at.isoformat(),
        },
        "verify": {"url": f"{services.base_url}/verify", "reference": notice.reference, "version": version},
    }


def _context(found: dict[str, Any], definition_dates: set[str], attachments: list[str]) -> ChildFileContext:
    """The summary's display strings, from the same facts as the JSON record."""

    def shown(item: dict[str, str]) -> str:
        if item["field"] in definition_dates:
            return long_date(datetime.fromisoformat(item["value"]).date())
        if item["field"] == "nhs_number":
            return format_nhs_number(item["value"])
        return item["value"]

    def day(value: str | None) -> str:
        return long_date(datetime.fromisoformat(value).date()) if value else ""

    actions = "\n".join(f"{s['name']}: {s['agreed_actions']}" for s in found["stages"] if s["agreed_actions"])
    closed_by = found["closed"]["by"]
    return ChildFileContext(
        reference=found["reference"],
        record_version=found["verify"]["version"],
        partnership_name=found["partnership"]["name"],
        issued_at=datetime.fromisoformat(found["closed"]["at"]),
        raising_agency=found["agencies"]["raising"] or "Not recorded",
        receiving_agencies=", ".join(found["agencies"]["receiving"]) or "The partnership business unit",
        identifiers=tuple((item["label"], shown(item)) for item in found["child"]),
        stages=tuple(
            ChildFileStage(
                name=s["name"],
                opened=day(s["opened_on"]),
                answered=day(s["answered_on"]),
                ended=day(s["ended_on"]),
                outcome=_ENDED.get(s["ended_by"] or "", "Open"),
            )
            for s in found["stages"]
        ),
        highest_stage=found["highest_stage"]["name"],
        outcome=f"{found['outcome']['label']} ({found['outcome']['code']})",
        agreed_outcome=found["outcome"]["agreed_outcome"],
        agreed_actions=actions,
        closed_by=", ".join(p for p in (closed_by["name"], closed_by["role"], closed_by["agency"]) if p),
        closed_at=long_datetime(datetime.fromisoformat(found["closed"]["at"])),
        verify_url=found["verify"]["url"],
        attachments=tuple(attachments),
    )


def issue(session: Session, services: PortalServices, notice: Notice, dek: bytes, closer: User, version: int) -> None:
    """Write the signed summary and the JSON record of a notice closing now (the caller commits)."""
    answers = record.answers_with_key(notice, dek)
    found = facts(services, notice, answers, closer, version)
    definition = record.definition_of(notice)
    names = [a.name for a in documents.attachment_records(session, notice, dek)]
    signed = services.signer.sign(render_child_file(_context(found, set(definition.date_fields), names)))
    digest = hashlib.sha256(signed).hexdigest()
    session.add(
        NoticeDocument(
            notice_id=notice.id,
            version=version,
            copy=COPY,
            pdf_ct=vault.seal_bytes(
                notice.data_key_id,
                dek,
                signed,
                table="notice_document",
                field=documents.document_field(version, COPY),
                row_id=notice.id,
            ),
            sha256=digest,
        )
    )
    found["summary_pdf_sha256"] = digest
    record.seal_answer(session, notice, dek, JSON_FIELD, json.dumps(found, ensure_ascii=False, indent=2))


def _load(
    session: Session, services: PortalServices, user: User, notice_id: str, what: str, remote_addr: str
) -> tuple[Notice, NoticeDocument]:
    notice = record.load_for(session, services, user, notice_id, "download", remote_addr=remote_addr)
    kept = next((d for d in notice.documents if d.copy == COPY), None)
    if (
        kept is None
        or notice.status != NoticeStatus.CLOSED
        # As portal.services.casework.copy_for decides (not imported: casework imports the raising services).
        or (record.definition_of(notice).pseudonymous_copy and user.role_enum is Role.BUSINESS_MANAGER)
    ):
        # Not closed yet (or closed before summaries were written), or a reader of the pseudonymous copy.
        raise NotFoundError("no child's file summary")
    audit.record(
        session,
        services.keyring.audit_key,
        action=f"notice.child_file.{what}",
        outcome="allowed",
        actor_id=user.id,
        object_type="notice_document",
        object_id=f"{notice.id}/v{kept.version}/{COPY}",
        remote_addr=remote_addr,
    )
    return notice, kept


def download_pdf(
    session: Session, services: PortalServices, user: User, notice_id: str, *, remote_addr: str = ""
) -> tuple[str, bytes]:
    """(file name, signed one-page summary) for someone who may read the closed notice; audited."""
    notice, kept = _load(session, services, user, notice_id, "pdf", remote_addr)

    def read() -> bytes:
        dek = record.data_key(session, services, notice)
        field = documents.document_field(kept.version, COPY)
        if kept.pdf_ct is None:  # the child's file is drawn and signed at closure, never left to draw later
            raise LookupError("the child's file has no PDF")
        return vault.open_bytes(dek, kept.pdf_ct, table="notice_document", field=field, row_id=notice.id)

    data = vault.open_with_retry(session, read)
    session.commit()
    # The reference only, never a child's name.
    return f"{notice.reference}-child-file.pdf", data


def download_json(
    session: Session, services: PortalServices, user: User, notice_id: str, *, remote_addr: str = ""
) -> tuple[str, bytes]:
    """(file name, JSON record) for someone who may read the closed notice; audited."""
    notice, _kept = _load(session, services, user, notice_id, "json", remote_addr)
    text = record.answers(session, services, notice).get(JSON_FIELD)
    if text is None:
        raise NotFoundError("no child's file record")
    session.commit()
    return f"{notice.reference}-child-file.json", text.encode("utf-8")
