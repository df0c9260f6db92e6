"""Evidence attached to a notice: documents the parties add at any stage while it is open.

The content and the name are sealed under the notice's data key, bound to the notice and the attachment
(associated data ``notice_attachment``/``content``/``<notice id>/<attachment id>``), so a ciphertext moved to
another row or notice does not open. The type is read from the content (portal.domain.file_types). Each
attachment is listed on the notice and in the next signed PDF version by name, size and SHA-256; it is never
e-mailed; a download is allowed to whoever may read the notice, and audited; shredding the notice deletes it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.domain import file_types
from portal.domain.models import NoticeAttachment, User
from portal.services import attachments, audit, conversation, messages, record, transitions
from portal.services.runtime import PortalServices

clean_name = attachments.clean_name


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
    kind = file_types.KINDS[attachments.checked_kind(session, data, notice_id=notice.id)]
    dek = record.data_key(session, services, notice)
    attachment = attachments.seal(
        session,
        key_id=notice.data_key_id,
        dek=dek,
        owner_id=notice.id,
        user=user,
        stage=stage.code,
        filename=filename,
        data=data,
        kind=kind.code,
    )
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
    return attachments.download(
        session, services, user, notice, attachment_id, action="notice.attachment.download", remote_addr=remote_addr
    )


_size = attachments.size_label
size_label = attachments.size_label
