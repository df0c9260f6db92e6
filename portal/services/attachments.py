"""Sealing a piece of evidence, wherever it is attached: to a draft, to an open notice, or with the closure.

One set of rules for all three (portal.services.evidence, portal.services.draft_evidence, the close step in
portal.services.transitions): the type read from the content, the size and count caps, the name and content
sealed under the notice's data key and bound to ``<notice id>/<attachment id>``. A draft's id becomes its
notice's id and its data key the notice's, so evidence attached to a draft is sealed exactly as the notice's
will be, and moving it to the notice on submit changes only who owns the row.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, defer

from portal.domain import file_types
from portal.domain.models import Notice, NoticeAttachment, NoticeDraft, User, new_id, utcnow
from portal.domain.policy import well_formed_id
from portal.services import audit, vault
from portal.services.errors import NotFoundError, RuleBrokenError
from portal.services.runtime import PortalServices

TABLE = "notice_attachment"
# The stage recorded for evidence given with the closure record (not one of the procedure's stages).
CLOSURE_STAGE = "closure"


def binding(owner_id: str, attachment_id: str) -> str:
    """The associated data of an attachment's ciphertexts: its notice (or draft, the same id) and itself."""
    return f"{owner_id}/{attachment_id}"


def clean_name(name: str) -> str:
    """A file name as shown and offered back: its last path part, printable, at most 150 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|*?:')
    return text.strip()[:150] or "evidence"


def size_label(n: int) -> str:
    """A size as people read it: 812 bytes, 120 KB, 3.4 MB."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def checked_kind(session: Session, data: bytes, *, notice_id: str | None = None, draft_id: str | None = None) -> str:
    """The file's type code, read from its content; refused when empty, too big, of another type, or one too many
    for its notice or draft (RuleBrokenError on the ``file`` field)."""
    if not data:
        raise RuleBrokenError("file", "The selected file is empty")
    if len(data) > file_types.MAX_BYTES:
        raise RuleBrokenError("file", f"The selected file must be smaller than {file_types.limit_label()}")
    kind = file_types.sniff(data)
    if kind is None:
        raise RuleBrokenError("file", "The selected file must be a PDF, Word, Excel, image or e-mail file")
    owner = NoticeAttachment.notice_id == notice_id if notice_id else NoticeAttachment.draft_id == draft_id
    count = session.execute(select(func.count()).select_from(NoticeAttachment).where(owner)).scalar_one()
    if count >= file_types.MAX_FILES:
        raise RuleBrokenError("file", f"A notice can have at most {file_types.MAX_FILES} files attached")
    return kind.code


def seal(
    session: Session,
    *,
    key_id: str,
    dek: bytes,
    owner_id: str,
    user: User,
    stage: str,
    filename: str,
    data: bytes,
    kind: str,
    draft: bool = False,
) -> NoticeAttachment:
    """Add the attachment row, name and content sealed under the notice's (or its draft's) data key."""
    attachment = NoticeAttachment(
        id=new_id(),
        notice_id=None if draft else owner_id,
        draft_id=owner_id if draft else None,
        stage=stage,
        uploaded_by_id=user.id,
        uploaded_at=utcnow(),
        kind=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    bound = binding(owner_id, attachment.id)
    attachment.name_ct = vault.seal_text(key_id, dek, clean_name(filename), table=TABLE, field="name", row_id=bound)
    attachment.content_ct = vault.seal_bytes(key_id, dek, data, table=TABLE, field="content", row_id=bound)
    session.add(attachment)
    return attachment


def download(
    session: Session,
    services: PortalServices,
    user: User,
    owner: Notice | NoticeDraft,
    attachment_id: str,
    *,
    action: str,
    remote_addr: str = "",
) -> tuple[str, str, bytes]:
    """(file name, MIME type, content) of a file attached to ``owner`` (a notice, or a draft), for a ``user`` the
    caller has already let see it; audited as ``action`` and committed before the file is handed over.

    The name is the file's own, with its kind's extension added when it lacks one (the type was read from the
    content, not the name). A file of another notice or draft is not found, as one that is not there."""
    row = session.get(NoticeAttachment, attachment_id) if well_formed_id(attachment_id) else None
    held_by = None if row is None else row.notice_id if isinstance(owner, Notice) else row.draft_id
    if row is None or held_by != owner.id:
        raise NotFoundError("no such file")
    bound = binding(owner.id, row.id)

    def read() -> tuple[str, bytes]:
        # The owner's key is looked up inside the read: when a data-key rotation commits between loading the
        # owner and decrypting, the retry sees the owner's new key, not the destroyed one.
        dek = vault.data_key(session, services.keyring, owner.data_key_id)
        name = vault.open_text(dek, row.name_ct, table=TABLE, field="name", row_id=bound)
        return name, vault.open_bytes(dek, row.content_ct, table=TABLE, field="content", row_id=bound)

    name, data = vault.open_with_retry(session, read)
    audit.record(
        session,
        services.keyring.audit_key,
        action=action,
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


def adopt_draft_evidence(session: Session, draft_id: str, stage: str) -> int:
    """On submit: the draft's evidence becomes the notice's (same id, so the same binding), at its first stage.
    Return how many files moved. The rows change in the session only: a submit writes nothing until its one
    flush under the draft's lock (portal.services.raising.submit_notice), which writes the notice first."""
    # The files' content is not needed to move them: only their rows change.
    rows = session.scalars(
        select(NoticeAttachment)
        .where(NoticeAttachment.draft_id == draft_id)
        .options(defer(NoticeAttachment.content_ct))
    ).all()
    for row in rows:
        row.notice_id, row.draft_id, row.stage = draft_id, None, stage
    return len(rows)


def delete_draft_evidence(session: Session, draft_id: str) -> None:
    """With a deleted draft its evidence goes too (its data key is destroyed as well, so no copy opens)."""
    session.execute(delete(NoticeAttachment).where(NoticeAttachment.draft_id == draft_id))
