"""The long-lived objects a request needs, built once per app (never module globals)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from portal.crypto import KeyRing
from portal.pdf.signing import PdfSigner
from portal.services.accounts import Passwords


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


def portal_services(app: Flask | None = None) -> PortalServices:
    """Return the app's services."""
    return (app or current_app).extensions["portal.services"]


def build_services(app: Flask) -> PortalServices:
    """Load the keyring and signing certificate from the key directory and build the services."""
    from pathlib import Path

    from portal.config import ConfigurationError
    from portal.crypto import load_keys

    key_dir = Path(app.config["KEY_DIR"])
    keys = load_keys(key_dir)
    production = app.config["ENV"] == "production"
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
            time_cost=app.config["ARGON2_TIME_COST"],
            memory_kib=app.config["ARGON2_MEMORY_KIB"],
            parallelism=app.config["ARGON2_PARALLELISM"],
        ),
        base_url=str(app.config["BASE_URL"]).rstrip("/"),
        honeytokens=load_honeytokens(key_dir),
        security_alert_email=app.config.get("SECURITY_ALERT_EMAIL") or None,
    )


HONEYTOKEN_FILE = "honeytokens.json"


def load_honeytokens(key_dir: object) -> frozenset[str]:
    """Read the bait notices' ids from the key directory (an absent file means none are planted)."""
    import json
    from pathlib import Path

    path = Path(str(key_dir)) / HONEYTOKEN_FILE
    if not path.exists():
        return frozenset()
    return frozenset(json.loads(path.read_text(encoding="utf-8")))


def _is_dev_cert(cert_pem: bytes) -> bool:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_pem)
    return "development" in cert.subject.rfc4514_string().lower()
