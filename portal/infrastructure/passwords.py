"""Argon2id password hashing with the app's parameters."""

from __future__ import annotations

import gzip
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Longer passwords are refused before hashing: hashing megabytes would be a denial of service.
MAX_PASSWORD_LENGTH = 256
MIN_PASSWORD_LENGTH = 12

# The 20,000 most common passwords (Royce Williams' list, as shipped by Django 5.2, BSD licence), lower case.
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")


@cache
def _common_passwords() -> frozenset[str]:
    # Read once per process from a file committed with the code: constant data, not state.
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


def is_common_password(password: str) -> bool:
    """True when the password is on the list of common passwords (compared in lower case, trimmed)."""
    return password.strip().lower() in _common_passwords()


def password_problem(password: str) -> str | None:
    """Why a new password is refused, in words for the page; None when it is fine.

    Length and the common-password list only: composition rules (a digit, a symbol…) make passwords harder to
    remember and no harder to guess (NCSC password guidance; NIST SP 800-63B 5.1.1.2).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Your password must be {MIN_PASSWORD_LENGTH} characters or more"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Your password must be {MAX_PASSWORD_LENGTH} characters or fewer"
    if is_common_password(password):
        return "This password is too common and easy to guess. Choose another, such as a few unrelated words"
    return None


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

    def needs_rehash(self, password_hash: str) -> bool:
        """True when a stored hash was made with weaker parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
