"""Evidence attached before the notice is sent, from the check-answers page.

The same rules as evidence on an open notice (portal.services.attachments): type by content, size and count caps,
sealed under the draft's data key, which becomes the notice's. Only the draft's writer attaches, lists, downloads
(to check what they attached) or removes it. On submit it moves to the notice and is listed in the first signed
PDF (portal.services.raising); deleting the draft deletes it. Nobody is e-mailed: the notice has not gone
anywhere yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain import file_types
from portal.domain.models import NoticeAttachment, User
from portal.domain.policy import well_formed_id
from portal.services import attachments, audit, raising, vault
from portal.services.errors import NotFoundError
from portal.services.runtime import PortalServices

# Recorded as the stage until the notice is sent; replaced by the stage the notice is raised at.
DRAFT_STAGE = "draft"


@dataclass(frozen=True)
class DraftFile:
    id: str
    name: str
    kind: str
    size: str
    sha256: str


def attach(
    session: Session,
    services: PortalServices,
    user: User,
    draft_id: str,
    *,
    filename: str,
    data: bytes,
    remote_addr: str = "",
) -> DraftFile:
    """Attach a document to the user's own draft, under the draft's row lock (so the count cap holds)."""
    draft = raising.own_draft(session, services, user, draft_id, lock=True)
    kind = file_types.KINDS[attachments.checked_kind(session, data, draft_id=draft.id)]
    dek = vault.data_key(session, services.keyring, draft.data_key_id)
    row = attachments.seal(
        session,
        key_id=draft.data_key_id,
        dek=dek,
        owner_id=draft.id,
        user=user,
        stage=DRAFT_STAGE,
        filename=filename,
        data=data,
        kind=kind.code,
        draft=True,
    )
    audit.record(
        session,
        services.keyring.audit_key,
        action="draft.attach",
        outcome="ok",
        actor_id=user.id,
        object_type="notice_attachment",
        object_id=row.id,
        remote_addr=remote_addr,
    )
    session.commit()
    return DraftFile(row.id, attachments.clean_name(filename), kind.label, attachments.size_label(row.size), row.sha256)


def files(session: Session, services: PortalServices, user: User, draft_id: str) -> list[DraftFile]:
    """The evidence on the user's own draft, oldest first, names opened (never the content)."""
    draft = raising.own_draft(session, services, user, draft_id)
    rows = list(
        session.execute(
            select(NoticeAttachment)
            .where(NoticeAttachment.draft_id == draft.id)
            .order_by(NoticeAttachment.uploaded_at, NoticeAttachment.id)
        ).scalars()
    )
    if not rows:
        return []

    def read() -> list[DraftFile]:
        dek = vault.data_key(session, services.keyring, draft.data_key_id)
        return [
            DraftFile(
                row.id,
                vault.open_text(
                    dek,
                    row.name_ct,
                    table=attachments.TABLE,
                    field="name",
                    row_id=attachments.binding(draft.id, row.id),
                ),
                file_types.KINDS[row.kind].label,
                attachments.size_label(row.size),
                row.sha256,
            )
            for row in rows
        ]

    return vault.open_with_retry(session, read)


def download(
    session: Session, services: PortalServices, user: User, draft_id: str, attachment_id: str, *, remote_addr: str = ""
) -> tuple[str, str, bytes]:
    """(file name, MIME type, content) of a file on the user's own draft, so they can check what they attached
    before it is sent; audited like any read of a notice's evidence."""
    draft = raising.own_draft(session, services, user, draft_id)
    return attachments.download(
        session, services, user, draft, attachment_id, action="draft.attachment.download", remote_addr=remote_addr
    )


def remove(
    session: Session, services: PortalServices, user: User, draft_id: str, attachment_id: str, *, remote_addr: str = ""
) -> None:
    """Remove one file from the user's own draft (it was never sent anywhere, so nothing else changes)."""
    draft = raising.own_draft(session, services, user, draft_id, lock=True)
    row = session.get(NoticeAttachment, attachment_id) if well_formed_id(attachment_id) else None
    if row is None or row.draft_id != draft.id:
        raise NotFoundError("no such file on this draft")
    session.delete(row)
    audit.record(
        session,
        services.keyring.audit_key,
        action="draft.attachment.remove",
        outcome="ok",
        actor_id=user.id,
        object_type="notice_attachment",
        object_id=attachment_id,
        remote_addr=remote_addr,
    )
    session.commit()
