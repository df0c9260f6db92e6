"""Staff accounts: Argon2id passwords, TOTP second factor (secret stored encrypted), sign-in checks."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.crypto import KeyRing
from portal.models import Agency, Partnership, Role, User, utcnow
from portal.services import vault

# Longer passwords are refused before hashing: hashing megabytes would be a denial of service.
MAX_PASSWORD_LENGTH = 256
MIN_PASSWORD_LENGTH = 12
TOTP_ISSUER = "Escalation Portal"
TOTP_STEP_SECONDS = 30


class AccountError(Exception):
    """An account could not be created or changed as asked."""


@dataclass(frozen=True)
class NewAccount:
    """What an administrator hands over once: the password and the TOTP secret and provisioning URI."""

    user: User
    password: str
    totp_secret: str
    provisioning_uri: str


class Passwords:
    """Argon2id hashing with the app's parameters."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # A real hash to verify against for unknown e-mail addresses, so they cost the same time.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password; an unknown user (None) still pays for one verification."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()


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
    secret = pyotp.random_base32()
    set_totp_secret(user, key_row.id, dek, secret)
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)
    return NewAccount(user=user, password=password, totp_secret=secret, provisioning_uri=uri)


def set_totp_secret(user: User, dek_id: str, dek: bytes, secret: str) -> None:
    user.totp_secret_ct = vault.seal_text(
        dek_id, dek, secret, table="staff_user", field="totp_secret", row_id=str(user.id)
    )
    user.totp_confirmed_at = None
    user.last_totp_step = None


def totp_secret(session: Session, keyring: KeyRing, user: User) -> str | None:
    if user.totp_secret_ct is None:
        return None
    dek = vault.data_key(session, keyring, user.data_key_id)
    return vault.open_text(dek, user.totp_secret_ct, table="staff_user", field="totp_secret", row_id=str(user.id))


def check_totp(session: Session, keyring: KeyRing, user: User, code: str, *, now: float | None = None) -> bool:
    """Accept a code once: from the current step or one either side, and only from a step not yet used."""
    secret = totp_secret(session, keyring, user)
    code = "".join(ch for ch in code if ch.isdigit())
    if secret is None or len(code) != 6:
        return False
    now = time.time() if now is None else now
    totp = pyotp.TOTP(secret)
    current = int(now // TOTP_STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if user.last_totp_step is not None and step <= user.last_totp_step:
            continue
        if secrets.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            user.last_totp_step = step
            if user.totp_confirmed_at is None:
                user.totp_confirmed_at = utcnow()
            return True
    return False
