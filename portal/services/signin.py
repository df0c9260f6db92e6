"""Sign-in checks, each attempt audited. Unknown users cost the same time as known ones."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.models import User
from portal.services import accounts, audit
from portal.services.runtime import PortalServices


def check_password(
    db: Session, services: PortalServices, email: str, password: str, *, remote_addr: str = ""
) -> int | None:
    """Return the user id if the password is right for an active account; audit either way."""
    user = accounts.find_user_by_email(db, email)
    ok = services.passwords.verify(user.password_hash if user else None, password)
    ok = ok and user is not None and user.is_active
    audit.record(
        db,
        services.keyring.audit_key,
        action="sign_in.password",
        outcome="ok" if ok else "failed",
        actor_id=user.id if user else None,
        remote_addr=remote_addr,
    )
    db.commit()
    return user.id if ok and user else None


def check_code(db: Session, services: PortalServices, user_id: int, code: str, *, remote_addr: str = "") -> User | None:
    """Return the user if the TOTP code is right and unused; audit either way."""
    user = db.get(User, user_id)
    ok = user is not None and user.is_active and accounts.check_totp(db, services.keyring, user, code)
    audit.record(
        db,
        services.keyring.audit_key,
        action="sign_in.code",
        outcome="ok" if ok else "failed",
        actor_id=user_id,
        remote_addr=remote_addr,
    )
    db.commit()
    return user if ok else None


def record_sign_out(db: Session, services: PortalServices, user_id: int, *, remote_addr: str = "") -> None:
    audit.record(
        db, services.keyring.audit_key, action="sign_out", outcome="ok", actor_id=user_id, remote_addr=remote_addr
    )
    db.commit()
