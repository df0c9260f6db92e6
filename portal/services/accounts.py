"""Staff accounts: Argon2id passwords, TOTP second factor (secret stored encrypted), sign-in checks.

Changing a password, resetting 2FA and disabling an account each end every session of that user
(ASVS 5.0 V7.4.2/7.4.3; docs/threats.md#property-18), and each is audited.
"""

from __future__ import annotations

import base64
import secrets
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import pyotp
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from portal.domain.models import Agency, Partnership, Role, User, normalise_email, utcnow
from portal.infrastructure.crypto import DecryptionError, KeyRing
from portal.infrastructure.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Passwords, is_common_password
from portal.services import audit, throttle, vault
from portal.services.runtime import PortalServices
from portal.services.sessions import end_all_sessions

TOTP_ISSUER = "Escalation Portal"
TOTP_STEP_SECONDS = 30


class AccountError(Exception):
    """An account could not be created or changed as asked."""


class PasswordChangeError(AccountError):
    """A password change was refused; `field` names the form field the message belongs beside."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class NewAccount:
    """What an administrator hands over once: the password and the TOTP secret and provisioning URI."""

    user: User
    password: str
    totp_secret: str
    provisioning_uri: str


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()


def addresses_with_accounts(session: Session, emails: Iterable[str]) -> set[str]:
    """Which of these addresses (normalised) an account has, in one statement."""
    wanted = sorted({normalise_email(e) for e in emails})
    if not wanted:
        return set()
    return set(session.scalars(select(User.email).where(User.email.in_(wanted))))


def create_user(
    session: Session,
    keyring: KeyRing,
    passwords: Passwords,
    *,
    email: str,
    name: str,
    role: Role,
    partnership_slug: str,
    agency_name: str | None = None,
    job_title: str = "",
    telephone: str = "",
    password: str | None = None,
    is_demo: bool = False,
) -> NewAccount:
    """Create a staff user with a TOTP secret; flush but leave the commit to the caller."""
    email = normalise_email(email)
    if find_user_by_email(session, email) is not None:
        raise AccountError(f"a user with e-mail {email} already exists")
    partnership = session.execute(select(Partnership).where(Partnership.slug == partnership_slug)).scalar_one_or_none()
    if partnership is None:
        raise AccountError(f"no partnership {partnership_slug!r}")
    agency = None
    if role in (Role.PRACTITIONER, Role.SPOC):
        if not agency_name:
            raise AccountError("practitioners and SPOCs must belong to an agency")
        agency = session.execute(
            select(Agency).where(
                Agency.partnership_id == partnership.id, func.lower(Agency.name) == agency_name.strip().lower()
            )
        ).scalar_one_or_none()
        if agency is None:
            raise AccountError(f"no agency {agency_name!r} in {partnership.name}")
    password = password or secrets.token_urlsafe(15)
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AccountError(f"passwords must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")
    key_row, dek = vault.create_data_key(session, keyring, purpose="user")
    user = User(
        email=email,
        name=name.strip(),
        job_title=job_title.strip(),
        telephone=telephone.strip(),
        role=role.value,
        partnership_id=partnership.id,
        agency_id=agency.id if agency else None,
        password_hash=passwords.hash(password),
        data_key_id=key_row.id,
        is_demo=is_demo,
    )
    session.add(user)
    session.flush()
    secret = new_totp_secret()
    set_totp_secret(user, key_row.id, dek, secret)
    uri = provisioning_uri(secret, email)
    return NewAccount(user=user, password=password, totp_secret=secret, provisioning_uri=uri)


def set_totp_secret(user: User, dek_id: str, dek: bytes, secret: str) -> None:
    user.totp_secret_ct = vault.seal_text(
        dek_id, dek, secret, table="staff_user", field="totp_secret", row_id=str(user.id)
    )
    user.totp_confirmed_at = None
    user.last_totp_step = None


def totp_secret(session: Session, keyring: KeyRing, user: User) -> str | None:
    def read() -> str | None:
        if user.totp_secret_ct is None:
            return None
        dek = vault.data_key(session, keyring, user.data_key_id)
        return vault.open_text(dek, user.totp_secret_ct, table="staff_user", field="totp_secret", row_id=str(user.id))

    # The user's data key may rotate between loading the user and decrypting: read again once.
    return vault.open_with_retry(session, read)


def new_totp_secret() -> str:
    """A fresh 160-bit TOTP secret in base32 (32 characters)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def grouped_secret(secret: str) -> str:
    """The secret as people type it into an authenticator app: groups of 4 characters."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_totp_step(secret: str, code: str, last_step: int | None, *, now: float | None = None) -> int | None:
    """The time step a code belongs to: the current step or one either side, never one at or before last_step."""
    # Digits typed in any script (Arabic-Indic, full-width…) count as the digits they are; spaces do not.
    code = "".join(str(unicodedata.decimal(ch)) for ch in code if ch.isdecimal())
    if len(code) != 6:
        return None
    now = time.time() if now is None else now
    totp = pyotp.TOTP(secret)
    current = int(now // TOTP_STEP_SECONDS)
    found = None
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        # Compare against every candidate step (no early exit), so timing does not tell which step matched.
        if secrets.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code) and found is None:
            found = step
    return found


def check_totp(session: Session, keyring: KeyRing, user: User, code: str, *, now: float | None = None) -> bool:
    """Accept a code once: from the current step or one either side, and only from a step not yet used."""
    secret = totp_secret(session, keyring, user)
    if secret is None:
        return False
    step = matching_totp_step(secret, code, user.last_totp_step, now=now)
    if step is None:
        return False
    if not consume_totp_step(session, user, step):
        return False
    if user.totp_confirmed_at is None:
        user.totp_confirmed_at = utcnow()
    return True


def consume_totp_step(session: Session, user: User, step: int) -> bool:
    """Use a TOTP time step once: a conditional UPDATE, so of two requests with the same code (two workers,
    two tabs) exactly one moves ``last_totp_step`` forward and the other is refused."""
    used = session.execute(
        update(User)
        .where(User.id == user.id, or_(User.last_totp_step.is_(None), User.last_totp_step < step))
        .values(last_totp_step=step)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(used, "rowcount", 0) or 0) != 1:
        return False
    user.last_totp_step = step
    # The row now says so; keep the loaded object from writing its older value back at flush.
    set_committed_value(user, "last_totp_step", step)
    return True


# -- enrolment after an administrator has reset 2FA ---------------------------------------------------
#
# The new secret is not written to the account until the user proves, with a valid code, that their
# authenticator app holds it. Until then it travels in the server-side session, sealed under the user's
# data key (bound to a field of its own), so no plaintext seed is ever stored, not even in web_session.


def seal_pending_totp(session: Session, keyring: KeyRing, user: User, secret: str) -> str:
    dek = vault.data_key(session, keyring, user.data_key_id)
    sealed = vault.seal_text(
        user.data_key_id, dek, secret, table="staff_user", field="totp_secret_pending", row_id=str(user.id)
    )
    return base64.b64encode(sealed).decode("ascii")


def open_pending_totp(session: Session, keyring: KeyRing, user: User, sealed: str) -> str:
    def read() -> str:
        dek = vault.data_key(session, keyring, user.data_key_id)
        return vault.open_text(
            dek, base64.b64decode(sealed), table="staff_user", field="totp_secret_pending", row_id=str(user.id)
        )

    return vault.open_with_retry(session, read)


def pending_totp_readable(session: Session, keyring: KeyRing, user: User, sealed: str) -> bool:
    """Whether a set-up secret held in the session still opens (it cannot follow a key rotation)."""
    try:
        open_pending_totp(session, keyring, user, sealed)
    except (DecryptionError, ValueError):
        return False
    return True


def confirm_totp_enrolment(
    session: Session, keyring: KeyRing, user: User, sealed: str, code: str, *, now: float | None = None
) -> bool:
    """Store the pending secret as the user's, confirmed, only if the code is right for it."""
    secret = open_pending_totp(session, keyring, user, sealed)
    step = matching_totp_step(secret, code, None, now=now)
    if step is None:
        return False
    if not consume_totp_step(session, user, step):
        return False
    dek = vault.data_key(session, keyring, user.data_key_id)
    set_totp_secret(user, user.data_key_id, dek, secret)
    user.totp_confirmed_at = utcnow()
    user.last_totp_step = step  # set_totp_secret cleared it; the step just used stays used
    return True


# -- changes that end every session of the user -------------------------------------------------------


def change_password(
    db: Session, services: PortalServices, user: User, current: str, new: str, *, remote_addr: str = ""
) -> int:
    """Change a user's own password after checking the current one; end all their sessions; return how many.

    A wrong current password counts as a failed sign-in for the account (and the address), so this page
    cannot be used to guess passwords faster than the sign-in page allows. Commits.
    """
    identifier = throttle.sign_in_identifier(services.keyring, user.email)

    def refuse(outcome: str, field: str, message: str) -> PasswordChangeError:
        audit.record(
            db,
            services.keyring.audit_key,
            action="account.change_password",
            outcome=outcome,
            actor_id=user.id,
            object_type="sign_in",
            object_id=identifier,
            remote_addr=remote_addr,
        )
        db.commit()
        return PasswordChangeError(field, message)

    attempt = throttle.claim_attempt(db, identifier, remote_addr)
    if attempt is None:
        raise refuse("throttled", "current_password", throttle.THROTTLED)
    right = services.passwords.verify(user.password_hash, current)
    throttle.finish_attempt(db, attempt, right)
    if not right:
        raise refuse("failed", "current_password", "Your current password is not right")
    if not MIN_PASSWORD_LENGTH <= len(new) <= MAX_PASSWORD_LENGTH:
        raise refuse(
            "refused",
            "new_password",
            f"Your new password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long",
        )
    if is_common_password(new):
        raise refuse(
            "refused",
            "new_password",
            "This password is too common and easy to guess. Choose another, such as a few unrelated words",
        )
    if secrets.compare_digest(new.encode(), current.encode()):
        raise refuse("refused", "new_password", "Your new password must be different from your current password")
    user.password_hash = services.passwords.hash(new)
    return _end_sessions_and_record(
        db, services, user, "account.password_changed", actor_id=user.id, remote_addr=remote_addr
    )


def _end_sessions_and_record(
    db: Session, services: PortalServices, user: User, action: str, *, actor_id: int | None, remote_addr: str
) -> int:
    """End every session of a user whose credentials or standing changed, audit it, commit; return how many."""
    ended = end_all_sessions(db, user.id)
    audit.record(
        db,
        services.keyring.audit_key,
        action=action,
        outcome="ok",
        actor_id=actor_id,
        object_type="staff_user",
        object_id=str(user.id),
        remote_addr=remote_addr,
    )
    db.commit()
    return ended


def _require_admin(
    db: Session, services: PortalServices, admin_actor_id: int | None, user: User, action: str, remote_addr: str
) -> None:
    """An administrator of the user's own partnership, or the CLI operator (admin_actor_id None)."""
    if admin_actor_id is None:
        return
    admin = db.get(User, admin_actor_id)
    if (
        admin is not None
        and admin.is_active
        and admin.role_enum is Role.ADMIN
        and admin.partnership_id == user.partnership_id
    ):
        return
    audit.record(
        db,
        services.keyring.audit_key,
        action=action,
        outcome="denied",
        actor_id=admin_actor_id,
        object_type="staff_user",
        object_id=str(user.id),
        remote_addr=remote_addr,
    )
    db.commit()
    raise AccountError("only an administrator of the user's partnership can do this")


def reset_totp(
    db: Session, services: PortalServices, admin_actor_id: int | None, user: User, *, remote_addr: str = ""
) -> int:
    """Clear a user's TOTP secret so they must set up an authenticator again at their next sign-in.

    The new secret is made by the user at /sign-in/set-up-2fa, so no administrator ever sees it.
    admin_actor_id None means the CLI operator. Ends all the user's sessions; returns how many. Commits.
    """
    _require_admin(db, services, admin_actor_id, user, "admin.totp_reset", remote_addr)
    user.totp_secret_ct = None
    user.totp_confirmed_at = None
    user.last_totp_step = None
    return _end_sessions_and_record(
        db, services, user, "admin.totp_reset", actor_id=admin_actor_id, remote_addr=remote_addr
    )


def disable_user(
    db: Session, services: PortalServices, admin_actor_id: int | None, user: User, *, remote_addr: str = ""
) -> int:
    """Disable an account and end all its sessions; return how many. admin_actor_id None: the CLI. Commits."""
    _require_admin(db, services, admin_actor_id, user, "admin.user_disabled", remote_addr)
    user.is_active = False
    return _end_sessions_and_record(
        db, services, user, "admin.user_disabled", actor_id=admin_actor_id, remote_addr=remote_addr
    )


def reactivate_user(
    db: Session, services: PortalServices, admin_actor_id: int | None, user: User, *, remote_addr: str = ""
) -> bool:
    """Let a deactivated user sign in again (with the password and authenticator they had). admin_actor_id
    None: the CLI. Audited; commits; False, recording nothing, if the account was active already."""
    _require_admin(db, services, admin_actor_id, user, "admin.user_reactivated", remote_addr)
    if user.is_active:
        return False
    user.is_active = True
    audit.record(
        db,
        services.keyring.audit_key,
        action="admin.user_reactivated",
        outcome="ok",
        actor_id=admin_actor_id,
        object_type="staff_user",
        object_id=str(user.id),
        remote_addr=remote_addr,
    )
    db.commit()
    return True
