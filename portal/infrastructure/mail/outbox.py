"""Queue e-mail in the caller's transaction: the notice and its messages are committed together or not at all."""

from __future__ import annotations

import unicodedata
from email.utils import parseaddr

from sqlalchemy.orm import Session

from portal.domain.models import OutboxMessage, new_id, utcnow

# Column widths in the outbox_message table; PostgreSQL would refuse longer values at commit time,
# SQLite would store them, so refuse them here on both.
MAX_ADDRESS_LENGTH = 254
MAX_SUBJECT_LENGTH = 300


def _has_line_break(value: str) -> bool:
    # CR or LF would start a new header (ASVS 1.3.11). Python's email package also splits headers at the
    # other str.splitlines() boundaries (VT, FF, FS..RS, NEL, U+2028/9), so refuse every control character
    # and line or paragraph separator.
    return any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in value)


def queue_mail(session: Session, *, to: str, subject: str, body: str, notice_id: str | None = None) -> OutboxMessage:
    """Add an e-mail to the outbox in the session's transaction; the caller commits (or rolls back)."""
    # Error messages never quote the values: callers may log them.
    if _has_line_break(to) or _has_line_break(subject):
        raise ValueError("mail recipient and subject must not contain line breaks or control characters")
    if len(to) > MAX_ADDRESS_LENGTH or len(subject) > MAX_SUBJECT_LENGTH:
        raise ValueError("mail recipient or subject is too long")
    # One bare address only: a list or a display name would reach other mailboxes or garble the envelope.
    if parseaddr(to)[1] != to or to.count("@") != 1 or "," in to or any(ch.isspace() for ch in to):
        raise ValueError("mail recipient must be a single e-mail address")
    now = utcnow()
    message = OutboxMessage(
        id=new_id(),
        notice_id=notice_id,
        to_address=to,
        subject=subject,
        body_text=body,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    return message
