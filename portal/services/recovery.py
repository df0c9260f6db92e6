"""Problems signing in: a forgotten password (self-service reset by e-mailed link) and a lost authenticator
(a request that reaches the partnership's administrators, who reset 2FA).

A reset link's token is 256 bits from ``secrets``; only its SHA-256 is stored. It works once (a conditional
UPDATE moves ``used_at`` from NULL) and for ``services.password_reset_minutes``. Setting the new password ends
every session of the user, and does not sign them in: they sign in with it and their authenticator code, so
a reset link alone (someone else reading the mailbox) never opens an account.

Both requests are throttled per account identifier (the keyed hash of the address, as sign-in uses, so no table
holds the address) and per client address, audited either way, and answered with the same page whether or not
the address has an account.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.domain.models import PasswordReset, Role, User, utcnow
from portal.infrastructure.db import begin_write, rows_matched
from portal.infrastructure.mail import queue_mail
from portal.infrastructure.passwords import password_problem
from portal.services import accounts, audit, limits
from portal.services.errors import RuleBrokenError, ServiceError
from portal.services.runtime import PortalServices
from portal.services.sessions import end_all_sessions
from portal.services.throttle import sign_in_identifier

TOKEN_BYTES = 32
SCOPE = "recovery"
# Per account identifier and kind of request, and per client address, in WINDOW (every request counts).
PER_ACCOUNT = 3
PER_ADDRESS = 10
WINDOW = timedelta(hours=1)

NO_CASE_DETAILS = "This e-mail contains no case details. Do not reply to it with case details.\n"


class ResetLinkUnusableError(ServiceError):
    """The reset link is used, expired or not one of ours."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _claim(db: Session, kind: str, identifier: str, remote_addr: str) -> limits.Claim | None:
    now = utcnow()
    keys = [f"{kind}:{identifier}"]
    attempt = limits.claim(
        db, SCOPE, keys, limit=PER_ACCOUNT, window=WINDOW, now=now, counted=(limits.OK, limits.FAILED)
    )
    if attempt is None or not remote_addr:
        return attempt
    by_addr = limits.claim(
        db,
        SCOPE,
        [f"addr:{remote_addr[:56]}"],
        limit=PER_ADDRESS,
        window=WINDOW,
        now=now,
        counted=(limits.OK, limits.FAILED),
    )
    if by_addr is None:
        limits.finish(db, attempt, limits.FAILED)
        db.commit()
        return None
    return limits.Claim(attempt.ids + by_addr.ids)


def _active_user(db: Session, email: str) -> User | None:
    user = accounts.find_user_by_email(db, email)
    return user if user is not None and user.is_active else None


def request_password_reset(db: Session, services: PortalServices, email: str, *, remote_addr: str = "") -> None:
    """E-mail a reset link if the address has an active account. The caller answers the same either way. Commits."""
    identifier = sign_in_identifier(services.keyring, email)
    attempt = _claim(db, "reset", identifier, remote_addr)
    user = _active_user(db, email) if attempt is not None else None
    outcome = "throttled" if attempt is None else ("sent" if user is not None else "unknown")
    if user is not None:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = utcnow()
        db.add(
            PasswordReset(
                token_hash=hash_token(token),
                user_id=user.id,
                created_at=now,
                expires_at=now + timedelta(minutes=services.password_reset_minutes),
            )
        )
        queue_mail(
            db,
            to=user.email,
            subject="OFFICIAL-SENSITIVE: reset your Escalation Portal password",
            body=(
                "Someone asked to reset the password of your Escalation Portal account.\n\n"
                f"Choose a new password (the link works once, for {services.password_reset_minutes} minutes):\n"
                f"{services.base_url}/sign-in/reset/{token}\n\n"
                "You will still need a code from your authenticator app to sign in. If you did not ask for this, "
                "ignore this e-mail: your password stays as it is.\n\n" + NO_CASE_DETAILS
            ),
        )
    if attempt is not None:
        limits.finish(db, attempt, limits.OK)
    audit.record(
        db,
        services.keyring.audit_key,
        action="account.reset_requested",
        outcome=outcome,
        actor_id=user.id if user else None,
        object_type="sign_in",
        object_id=identifier,
        remote_addr=remote_addr,
    )
    db.commit()


def _find_reset(db: Session, token: str) -> PasswordReset | None:
    if not token or len(token) > 200:
        return None
    return db.execute(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token))).scalar_one_or_none()


def reset_link_usable(db: Session, token: str) -> bool:
    found = _find_reset(db, token)
    return found is not None and found.used_at is None and found.expires_at > utcnow()


def reset_password(
    db: Session, services: PortalServices, token: str, new_password: str, *, remote_addr: str = ""
) -> User:
    """Use the link once: set the new password and end every session of the user. Does not sign in. Commits."""
    now = utcnow()
    found = _find_reset(db, token)
    if found is None or found.used_at is not None or found.expires_at <= now:
        _audit_reset(db, services, None, "refused", remote_addr)
        raise ResetLinkUnusableError("the reset link cannot be used")
    problem = password_problem(new_password)
    if problem:
        raise RuleBrokenError("password", problem)
    reset_id, user_id = found.id, found.user_id
    db.commit()
    begin_write(db)
    claimed = rows_matched(
        db.execute(
            update(PasswordReset)
            .where(PasswordReset.id == reset_id, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    user = db.get(User, user_id)
    if claimed != 1 or user is None or not user.is_active:
        db.rollback()
        _audit_reset(db, services, None, "refused", remote_addr)
        raise ResetLinkUnusableError("the reset link cannot be used")
    user.password_hash = services.passwords.hash(new_password)
    # Any other link sent to this user stops working too.
    db.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    end_all_sessions(db, user.id)
    _audit_reset(db, services, user, "ok", remote_addr)
    return user


def _audit_reset(db: Session, services: PortalServices, user: User | None, outcome: str, remote_addr: str) -> None:
    audit.record(
        db,
        services.keyring.audit_key,
        action="account.password_reset",
        outcome=outcome,
        actor_id=user.id if user else None,
        object_type="staff_user" if user else "",
        object_id=str(user.id) if user else "",
        remote_addr=remote_addr,
    )
    db.commit()


def report_lost_authenticator(db: Session, services: PortalServices, email: str, *, remote_addr: str = "") -> None:
    """Tell the partnership's administrators that this account's owner has lost their authenticator.

    They check with the person (by telephone, not by replying to e-mail) and reset 2FA
    (`flask --app portal accounts reset-2fa EMAIL`); the user then sets up a new app at their next sign-in.
    The caller answers the same whether or not the address has an account. Commits.
    """
    identifier = sign_in_identifier(services.keyring, email)
    attempt = _claim(db, "totp", identifier, remote_addr)
    user = _active_user(db, email) if attempt is not None else None
    admins: list[str] = []
    if user is not None:
        admins = list(
            db.execute(
                select(User.email).where(
                    User.partnership_id == user.partnership_id,
                    User.role == Role.ADMIN.value,
                    User.is_active.is_(True),
                    User.id != user.id,
                )
            ).scalars()
        )
        for admin in admins:
            queue_mail(
                db,
                to=admin,
                subject="Escalation Portal: a user has lost their authenticator app",
                body=(
                    f"{user.name} ({user.email}) says they have lost the authenticator app they use to sign in "
                    "to the Escalation Portal.\n\n"
                    "Check with them by telephone that the request is theirs. Then reset their two-factor "
                    f"authentication:\n\n    flask --app portal accounts reset-2fa {user.email}\n\n"
                    "They will set up a new app the next time they sign in.\n\n" + NO_CASE_DETAILS
                ),
            )
    if attempt is not None:
        limits.finish(db, attempt, limits.OK)
    outcome = "throttled" if attempt is None else ("sent" if admins else ("no_admin" if user else "unknown"))
    audit.record(
        db,
        services.keyring.audit_key,
        action="account.lost_authenticator",
        outcome=outcome,
        actor_id=user.id if user else None,
        object_type="sign_in",
        object_id=identifier,
        remote_addr=remote_addr,
    )
    db.commit()
