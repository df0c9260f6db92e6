"""Is this a genuine portal PDF? Anyone holding one may ask, without signing in, by the file or its SHA-256.

Every signed version's SHA-256 is kept beside its (encrypted) bytes when it is issued, so the answer is one
indexed look-up, never a decryption. A match says which reference, version and copy the file is, and nothing
else: the holder already has the file, which prints both. A file is also checked against the portal's signing
certificate, so an altered copy of a genuine version is told apart from a file the portal never issued.
Each question is audited (the hash asked about, never the file).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain.models import Notice, NoticeDocument
from portal.services import audit
from portal.services.runtime import PortalServices

_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Verdict:
    sha256: str
    genuine: bool
    reference: str = ""
    version: int = 0
    copy: str = ""
    # For an uploaded file: whether the portal's signature on it is intact (None when only a hash was given).
    signature_valid: bool | None = None


def normalise_hash(text: str) -> str | None:
    """A SHA-256 as typed (any case, spaces or colons between groups), or None if it is not one."""
    cleaned = re.sub(r"[\s:]", "", text or "").lower()
    return cleaned if _HEX.fullmatch(cleaned) else None


def verify(
    session: Session,
    services: PortalServices,
    *,
    sha256: str | None = None,
    pdf: bytes | None = None,
    remote_addr: str = "",
) -> Verdict:
    """Look the file (or its hash) up among every signed version the portal has issued and not shredded."""
    signature_valid = None
    if pdf is not None:
        sha256 = hashlib.sha256(pdf).hexdigest()
        signature_valid = services.signer.verify(pdf)
    if sha256 is None:
        raise ValueError("verify needs a file or a SHA-256")
    found = session.execute(
        select(NoticeDocument.version, NoticeDocument.copy, Notice.reference)
        .join(Notice, Notice.id == NoticeDocument.notice_id)
        .where(NoticeDocument.sha256 == sha256, Notice.shredded_at.is_(None))
    ).first()
    audit.record(
        session,
        services.keyring.audit_key,
        action="document.verify",
        outcome="genuine" if found else "unknown",
        object_type="sha256",
        object_id=sha256,
        remote_addr=remote_addr,
    )
    session.commit()
    if found is None:
        return Verdict(sha256, False, signature_valid=signature_valid)
    return Verdict(sha256, True, found.reference, found.version, found.copy, signature_valid=signature_valid)
