"""Sign-in throttling, counted from the audit trail (see portal.services.signin for the whole policy).

After MAX_FAILURES failed attempts within WINDOW, per account identifier or per remote address, further
attempts are refused until older failures leave the window.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from portal.domain.models import AuditEvent, normalise_email, utcnow
from portal.infrastructure.crypto import KeyRing

WINDOW = timedelta(minutes=5)
MAX_FAILURES = 10
# Failed attempts at any of these count towards the throttle.
COUNTED_ACTIONS = ("sign_in.password", "sign_in.code", "sign_in.enrol", "account.change_password")
THROTTLED = "There have been too many attempts to sign in. Wait 5 minutes and try again"


def sign_in_identifier(keyring: KeyRing, email: str) -> str:
    """The throttling key for an e-mail address: keyed, so the audit trail never holds the address itself."""
    normalised = normalise_email(email)
    return hmac.new(keyring.audit_key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def failures(db: Session, identifier: str, remote_addr: str) -> tuple[int, int]:
    """Failed attempts in the window: (for this identifier, from this address)."""
    since = utcnow() - WINDOW
    addr = remote_addr[:64]
    by_identifier = (AuditEvent.object_type == "sign_in") & (AuditEvent.object_id == identifier)
    # An empty address (no peer known) is never a throttling key: it would lump unrelated people together.
    by_addr = (AuditEvent.remote_addr == addr) & (AuditEvent.remote_addr != "")
    row = db.execute(
        select(
            func.coalesce(func.sum(case((by_identifier, 1), else_=0)), 0),
            func.coalesce(func.sum(case((by_addr, 1), else_=0)), 0),
        ).where(
            AuditEvent.action.in_(COUNTED_ACTIONS),
            AuditEvent.outcome == "failed",
            AuditEvent.at >= since,
            or_(by_identifier, by_addr),
        )
    ).one()
    return int(row[0]), int(row[1])


def is_throttled(db: Session, identifier: str, remote_addr: str) -> bool:
    by_identifier, by_addr = failures(db, identifier, remote_addr)
    return by_identifier >= MAX_FAILURES or by_addr >= MAX_FAILURES
