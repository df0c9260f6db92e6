"""Ending a user's server-side sessions (the web layer keeps them: portal.web.sessions)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from portal.domain.models import WebSession


def end_all_sessions(db: Session, user_id: int) -> int:
    """Delete every session of a user (password change, 2FA reset, account disabled); return how many."""
    result = db.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)
