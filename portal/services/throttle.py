"""Sign-in throttling (see portal.services.signin for the whole policy).

After MAX_FAILURES failed attempts within WINDOW, per account identifier or per remote address, further
attempts are refused until older failures leave the window. Each attempt claims its slot first
(portal.services.limits), so attempts sent at once meet an exact cap, and a refused attempt costs no Argon2 work.
Password steps, codes, enrolment codes and a password change's current password all count together.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy.orm import Session

from portal.domain.models import normalise_email, utcnow
from portal.infrastructure.crypto import KeyRing
from portal.services import limits

WINDOW = timedelta(minutes=5)
MAX_FAILURES = 10
SCOPE = "sign_in"
THROTTLED = "There have been too many attempts to sign in. Wait 5 minutes and try again"


def sign_in_identifier(keyring: KeyRing, email: str) -> str:
    """The throttling key for an e-mail address: keyed, so no table ever holds the address itself."""
    normalised = normalise_email(email)
    return hmac.new(keyring.audit_key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _keys(identifier: str, remote_addr: str) -> list[str]:
    # An empty address (no peer known) is never a throttling key: it would lump unrelated people together.
    return [f"id:{identifier}", *([f"addr:{remote_addr[:56]}"] if remote_addr else [])]


def claim_attempt(db: Session, identifier: str, remote_addr: str) -> limits.Claim | None:
    """Claim a slot for one attempt, or None when the account or the address is throttled. Commits."""
    return limits.claim(db, SCOPE, _keys(identifier, remote_addr), limit=MAX_FAILURES, window=WINDOW, now=utcnow())


def finish_attempt(db: Session, attempt: limits.Claim, ok: bool) -> None:
    """Record whether the attempt succeeded (a success stops counting against the cap). The caller commits."""
    limits.finish(db, attempt, limits.OK if ok else limits.FAILED)


def failures(db: Session, identifier: str, remote_addr: str) -> tuple[int, int]:
    """Attempts counting against the cap in the window: (for this identifier, from this address)."""
    now = utcnow()
    by_identifier = limits.count(db, SCOPE, f"id:{identifier}", window=WINDOW, now=now)
    by_addr = limits.count(db, SCOPE, f"addr:{remote_addr[:56]}", window=WINDOW, now=now) if remote_addr else 0
    return by_identifier, by_addr


def is_throttled(db: Session, identifier: str, remote_addr: str) -> bool:
    by_identifier, by_addr = failures(db, identifier, remote_addr)
    return by_identifier >= MAX_FAILURES or by_addr >= MAX_FAILURES
