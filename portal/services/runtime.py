"""The long-lived objects a request needs, built once per app from its configuration (never module globals)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cryptography import x509

from portal.domain.dates import Clock
from portal.infrastructure.crypto import KeyRing, load_keys
from portal.infrastructure.passwords import Passwords
from portal.infrastructure.pdf.signing import PdfSigner
from portal.services.errors import ConfigurationError

HONEYTOKEN_FILE = "honeytokens.json"
# (contacts, agencies) a notice form offers, each a list of (value, label).
Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FormDirectory:
    """What a notice form shows from the directory: the contacts and agencies it offers (value, label), and the
    (agency, note) for each offered contact whose entry is overdue for review."""

    contacts: Pairs
    agencies: Pairs
    review_notes: Pairs


@dataclass
class PortalServices:
    """Keys, the PDF signer and the password hasher, shared by every request of one app."""

    keyring: KeyRing
    signer: PdfSigner
    passwords: Passwords
    base_url: str
    # Ids of the bait notices (portal.services.honeytoken), kept beside the keys and not in the database,
    # so someone reading the database cannot tell the bait from a real notice.
    honeytokens: frozenset[str] = frozenset()
    # Where a touched bait notice is reported (PORTAL_SECURITY_ALERT_EMAIL); the audit and log always are.
    security_alert_email: str | None = None
    # Chasers: an overdue stage is chased again after this many working days (one chase per overdue period).
    chase_every_working_days: int = 5
    # How long an invitation and a password reset link stay usable.
    invitation_days: int = 7
    password_reset_minutes: int = 60
    # Today in England, for every clock (tests fix it to a day).
    clock: Clock = field(default_factory=Clock)
    # The form's directory by (partnership, directory version, with agencies, today): read once per worker and
    # again only when the directory changes or the day turns (portal.services.routing.form_directory).
    directory_choices: dict[tuple[int, int, bool, date], FormDirectory] = field(default_factory=dict)

    def today(self) -> date:
        return self.clock.today()


def build_services(config: Mapping[str, Any]) -> PortalServices:
    """Load the keyring and signing certificate from the key directory and build the services."""
    key_dir = Path(config["KEY_DIR"])
    keys = load_keys(key_dir)
    production = config["ENV"] == "production"
    if production and keys.development:
        raise ConfigurationError("the keyring is a development keyring; generate production keys")
    key_pem = (key_dir / "signing-key.pem").read_bytes()
    cert_pem = (key_dir / "signing-cert.pem").read_bytes()
    if production and _is_dev_cert(cert_pem):
        raise ConfigurationError("the signing certificate is the development certificate")
    return PortalServices(
        keyring=KeyRing(keys),
        signer=PdfSigner(key_pem, cert_pem),
        passwords=Passwords(
            time_cost=config["ARGON2_TIME_COST"],
            memory_kib=config["ARGON2_MEMORY_KIB"],
            parallelism=config["ARGON2_PARALLELISM"],
        ),
        base_url=str(config["BASE_URL"]).rstrip("/"),
        honeytokens=load_honeytokens(key_dir),
        security_alert_email=config.get("SECURITY_ALERT_EMAIL") or None,
        chase_every_working_days=int(config.get("CHASE_EVERY_WORKING_DAYS", 5)),
        invitation_days=int(config.get("INVITATION_DAYS", 7)),
        password_reset_minutes=int(config.get("PASSWORD_RESET_MINUTES", 60)),
    )


def load_honeytokens(key_dir: Path | str) -> frozenset[str]:
    """Read the bait notices' ids from the key directory (an absent file means none are planted)."""
    path = Path(key_dir) / HONEYTOKEN_FILE
    if not path.exists():
        return frozenset()
    return frozenset(json.loads(path.read_text(encoding="utf-8")))


def _is_dev_cert(cert_pem: bytes) -> bool:
    cert = x509.load_pem_x509_certificate(cert_pem)
    return "development" in cert.subject.rfc4514_string().lower()
