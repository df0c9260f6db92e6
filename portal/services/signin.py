"""Sign-in checks, each attempt audited and throttled. Unknown users cost the same time as known ones.

Throttling (Cyber Essentials: no more than 10 guesses in 5 minutes; ASVS 5.0 6.3.1 and 6.3.8): after
MAX_FAILURES failed attempts within WINDOW, counted from the audit trail, further attempts are refused
until older failures leave the window. Failures are counted two ways, separately:

- per account identifier: HMAC-SHA256(audit key, normalised e-mail)[:32], recorded as the audit row's
  object_id (object_type "sign_in") for every password attempt, whether or not the address belongs to an
  account, so unknown addresses are throttled exactly like known ones without being stored;
- per remote address.

There is no global throttle, so one account's (or one address's) throttling never blocks another user
signing in from another address (SecureDrop #3563). Refused attempts are audited as "throttled" and do not
extend the refusal, so someone whose account is under attack is locked out for at most WINDOW at a time.
A throttled attempt is answered the same whether the password was right or not, and the real password is
not even tried: the dummy hash is verified instead, so the work done is the same for every account.

The counts read audit_event without a dedicated index (no migration may be added here): each query is
bounded by the `at >= now - WINDOW` condition on a table that grows by a few rows per sign-in, which is
fine at a partnership's scale; an index on (action, at) would be the first to add if it is not.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portal.domain.models import User
from portal.services import accounts, audit, throttle
from portal.services.runtime import PortalServices
from portal.services.throttle import sign_in_identifier


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of the password step: who (if the password was right) and whether it was refused as throttled."""

    user_id: int | None
    throttled: bool = False
    # The user must set up an authenticator app (2FA was reset) before entering a code.
    needs_enrolment: bool = False
    # Ties the half-signed-in session to this password: a password change in between voids it.
    stamp: str = ""


@dataclass(frozen=True)
class CodeCheck:
    user: User | None
    throttled: bool = False


def password_stamp(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()[:32]


def check_password(
    db: Session, services: PortalServices, email: str, password: str, *, remote_addr: str = ""
) -> PasswordCheck:
    """Check the password step; audit either way. Known and unknown addresses take the same path and work."""
    identifier = sign_in_identifier(services.keyring, email)
    user = accounts.find_user_by_email(db, email)
    attempt = throttle.claim_attempt(db, identifier, remote_addr)
    throttled = attempt is None
    ok = False
    if attempt is not None:
        # Refused attempts stop above, before any Argon2 work; the answer cannot depend on the password.
        ok = services.passwords.verify(user.password_hash if user else None, password)
        ok = ok and user is not None and user.is_active
        throttle.finish_attempt(db, attempt, ok)
    audit.record(
        db,
        services.keyring.audit_key,
        action="sign_in.password",
        outcome="throttled" if throttled else ("ok" if ok else "failed"),
        actor_id=user.id if user else None,
        object_type="sign_in",
        object_id=identifier,
        remote_addr=remote_addr,
    )
    if ok and user is not None and services.passwords.needs_rehash(user.password_hash):
        user.password_hash = services.passwords.hash(password)
    db.commit()
    if not ok or user is None:
        return PasswordCheck(None, throttled=throttled)
    return PasswordCheck(user.id, needs_enrolment=user.totp_secret_ct is None, stamp=password_stamp(user))


def pending_user(db: Session, user_id: int, stamp: str) -> User | None:
    """The half-signed-in user, unless the account was disabled or its password changed since the password step."""
    user = db.get(User, user_id)
    if user is None or not user.is_active or not hmac.compare_digest(stamp, password_stamp(user)):
        return None
    return user


def _second_factor(
    db: Session,
    services: PortalServices,
    user: User,
    action: str,
    check: Callable[[], bool],
    *,
    remote_addr: str,
) -> CodeCheck:
    identifier = sign_in_identifier(services.keyring, user.email)
    attempt = throttle.claim_attempt(db, identifier, remote_addr)
    throttled = attempt is None
    ok = False
    if attempt is not None:
        ok = user.is_active and check()
        throttle.finish_attempt(db, attempt, ok)
    audit.record(
        db,
        services.keyring.audit_key,
        action=action,
        outcome="throttled" if throttled else ("ok" if ok else "failed"),
        actor_id=user.id,
        object_type="sign_in",
        object_id=identifier,
        remote_addr=remote_addr,
    )
    db.commit()
    return CodeCheck(user if ok else None, throttled=throttled)


def check_code(db: Session, services: PortalServices, user: User, code: str, *, remote_addr: str = "") -> CodeCheck:
    """Check the TOTP code of the half-signed-in user; audit either way; a throttled code is not even checked."""
    return _second_factor(
        db,
        services,
        user,
        "sign_in.code",
        lambda: accounts.check_totp(db, services.keyring, user, code),
        remote_addr=remote_addr,
    )


def confirm_enrolment(
    db: Session, services: PortalServices, user: User, sealed_secret: str, code: str, *, remote_addr: str = ""
) -> CodeCheck:
    """Check the first code from a newly set-up authenticator; only then store its secret. Audited."""
    return _second_factor(
        db,
        services,
        user,
        "sign_in.enrol",
        lambda: accounts.confirm_totp_enrolment(db, services.keyring, user, sealed_secret, code),
        remote_addr=remote_addr,
    )


def record_sign_out(db: Session, services: PortalServices, user_id: int, *, remote_addr: str = "") -> None:
    audit.record(
        db, services.keyring.audit_key, action="sign_out", outcome="ok", actor_id=user_id, remote_addr=remote_addr
    )
    db.commit()
