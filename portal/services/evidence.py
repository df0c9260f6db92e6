"""Evidence attached to a notice: documents the parties add at any stage while it is open.

The content and the name are sealed under the notice's data key, bound to the notice and the attachment
(associated data ``notice_attachment``/``content``/``<notice id>/<attachment id>``), so a ciphertext moved to
another row or notice does not open. The type is read from the content (portal.domain.file_types). Each
attachment is listed on the notice and in the next signed PDF version by name, size and SHA-256; it is never
e-mailed; a download is allowed to whoever may read the notice, and audited; shredding the notice deletes it.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.domain import file_types
from portal.domain.models import NoticeAttachment, User, new_id, utcnow
from portal.domain.policy import well_formed_id
from portal.services import audit, conversation, messages, record, transitions, vault
from portal.services.errors import NotFoundError, RuleBrokenError
from portal.services.runtime import PortalServices

TABLE = "notice_attachment"


def _binding(notice_id: str, attachment_id: str) -> str:
    return f"{notice_id}/{attachment_id}"


def clean_name(name: str) -> str:
    """A file name as shown and offered back: its last path part, printable, at most 150 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|*?:')
    return text.strip()[:150] or "evidence"


def attach(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    *,
    filename: str,
    data: bytes,
    seen_version: int | None = None,
    seen_stage: str | None = None,
    remote_addr: str = "",
) -> NoticeAttachment:
    """Attach a document to an open notice at its current stage, under the notice's row lock."""
    notice, current, stage = record.load_current(
        session,
        services,
        user,
        notice_id,
        "attach",
        remote_addr=remote_addr,
        seen_version=seen_version,
        seen_stage=seen_stage,
    )
    if not data:
        raise RuleBrokenError("file", "The selected file is empty")
    if len(data) > file_types.MAX_BYTES:
        raise RuleBrokenError("file", f"The selected file must be smaller than {file_types.limit_label()}")
    kind = file_types.sniff(data)
    if kind is None:
        raise RuleBrokenError("file", "The selected file must be a PDF, Word, Excel, image or e-mail file")
    count = session.execute(
        select(func.count()).select_from(NoticeAttachment).where(NoticeAttachment.notice_id == notice.id)
    ).scalar_one()
    if count >= file_types.MAX_FILES:
        raise RuleBrokenError("file", f"A notice can have at most {file_types.MAX_FILES} files attached")
    dek = record.data_key(session, services, notice)
    attachment = NoticeAttachment(
        id=new_id(),
        notice_id=notice.id,
        stage=stage.code,
        uploaded_by_id=user.id,
        uploaded_at=utcnow(),
        kind=kind.code,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    binding = _binding(notice.id, attachment.id)
    attachment.name_ct = vault.seal_text(
        notice.data_key_id, dek, clean_name(filename), table=TABLE, field="name", row_id=binding
    )
    attachment.content_ct = vault.seal_bytes(
        notice.data_key_id, dek, data, table=TABLE, field="content", row_id=binding
    )
    session.add(attachment)
    record.add_event(
        session,
        notice,
        user,
        "evidence",
        f"Evidence attached at {stage.name}: {kind.label}, {_size(len(data))}",
        stage=stage.code,
    )
    # The other sides learn there is something new to read; the file itself is never e-mailed.
    messages.send(
        session,
        services,
        notice,
        conversation.other_sides(session, notice, user, stage.code),
        f"OFFICIAL-SENSITIVE: escalation notice {notice.reference}: evidence added",
        f"Evidence has been attached to this notice at {stage.name} ({notice.partnership.name}). "
        "Documents are never sent by e-mail: sign in to read it.",
    )
    record.touch(notice)
    transitions.new_version(session, services, notice, dek)
    audit.record(
        session,
        services.keyring.audit_key,
        action="notice.attach",
        outcome="ok",
        actor_id=user.id,
        object_type="notice_attachment",
        object_id=attachment.id,
        remote_addr=remote_addr,
    )
    session.commit()
    return attachment


def download(
    session: Session, services: PortalServices, user: User, notice_id: str, attachment_id: str, *, remote_addr: str = ""
) -> tuple[str, str, bytes]:
    """(file name, MIME type, content) for someone allowed to read the notice; audited."""
    notice = record.load_for(session, services, user, notice_id, "download", remote_addr=remote_addr)
    row = session.get(NoticeAttachment, attachment_id) if well_formed_id(attachment_id) else None
    if row is None or row.notice_id != notice.id:
        raise NotFoundError("no such attachment")
    binding = _binding(notice.id, row.id)

    def read() -> tuple[str, bytes]:
        dek = record.data_key(session, services, notice)
        name = vault.open_text(dek, row.name_ct, table=TABLE, field="name", row_id=binding)
        return name, vault.open_bytes(dek, row.content_ct, table=TABLE, field="content", row_id=binding)

    name, data = vault.open_with_retry(session, read)
    audit.record(
        session,
        services.keyring.audit_key,
        action="notice.attachment.download",
        outcome="allowed",
        actor_id=user.id,
        object_type="notice_attachment",
        object_id=row.id,
        remote_addr=remote_addr,
    )
    session.commit()
    kind = file_types.KINDS[row.kind]
    if not name.lower().endswith(kind.extension):
        name += kind.extension
    return name, kind.mimetype, data


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def size_label(n: int) -> str:
    """A size as people read it: 812 bytes, 120 KB, 3.4 MB."""
    return _size(n)
