"""Ending a user's server-side sessions (the web layer keeps them: portal.web.sessions)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from portal.domain.models import WebSession


def end_all_sessions(db: Session, user_id: int) -> int:
    """Delete every session of a user (password change, 2FA reset, account disabled); return how many."""
    result = db.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired(db: Session, *, idle: timedelta, absolute: timedelta, now: datetime) -> int:
    """Delete every session past its idle or absolute timeout, signed in or not; commit; return how many.

    A visit to the sign-in page leaves a session (its CSRF token lives there) that nobody comes back to:
    without this the table would grow by a row per anonymous visit.
    """
    result = db.execute(
        delete(WebSession).where(or_(WebSession.last_active_at < now - idle, WebSession.created_at < now - absolute))
    )
    db.commit()
    return int(getattr(result, "rowcount", 0) or 0)
