"""Test builders and page helpers: accounts, signing in through the real forms, filling in Appendix 1."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyotp
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from portal.domain.models import Agency, DirectoryContact, Partnership, Role, User
from portal.infrastructure.mail.transport import SmtpTransport
from portal.services import accounts as account_service
from portal.web.database import session_factory
from portal.web.runtime import portal_services

# A fixed fake child used everywhere: unusual enough that finding it anywhere is a leak.
CANARY_NAME = "Zyxqoria Canarytest"
CANARY_DOB = ("29", "2", "2016")
CANARY_NHS = "999 000 0018"  # the 999 range passes the check but is never issued
CANARY_NARRATIVE = "Quillfeather-Oblongata disagreement narrative"


@dataclass
class Account:
    id: int
    email: str
    password: str
    totp_secret: str


class Accounts:
    """Create users straight into the database, with cheap hashing."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def make(
        self,
        role: Role,
        *,
        partnership: str = "rochdale",
        agency: str | None = None,
        name: str | None = None,
        email: str | None = None,
    ) -> Account:
        services = portal_services(self.app)
        with session_factory(self.app)() as db:
            if agency is None and role in (Role.PRACTITIONER, Role.SPOC):
                agency = (
                    db.execute(
                        select(Agency.name)
                        .join(Partnership)
                        .where(Partnership.slug == partnership)
                        .order_by(Agency.position)
                    )
                    .scalars()
                    .first()
                )
            count = db.execute(select(User.id)).all()
            email = email or f"{role.value}{len(count) + 1}@{partnership}.test"
            new = account_service.create_user(
                db,
                services.keyring,
                services.passwords,
                email=email,
                name=name or f"Test {role.label}",
                role=role,
                partnership_slug=partnership,
                agency_name=agency,
                job_title=f"Test {role.label}",
                telephone="01234 567890",
            )
            db.commit()
            return Account(new.user.id, new.user.email, new.password, new.totp_secret)


def smtp_transport(port: int) -> SmtpTransport:
    """A transport to the test's loopback SMTP server."""
    return SmtpTransport(
        host="127.0.0.1", port=port, starttls=False, username=None, password=None, timeout=5, mail_from="portal@test"
    )


def contact_id(app: Flask, agency: str, partnership: str = "rochdale") -> int:
    """The first directory contact of an agency."""
    with session_factory(app)() as db:
        return (
            db.execute(
                select(DirectoryContact.id)
                .join(Agency)
                .join(Partnership)
                .where(Partnership.slug == partnership, Agency.name == agency)
                .order_by(DirectoryContact.position)
            )
            .scalars()
            .first()
        )


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def fresh_code(app: Flask, account: Account) -> str:
    """A TOTP code from a time step this user has not used yet (tests sign in more than once a step)."""
    with session_factory(app)() as db:
        last = db.get(User, account.id).last_totp_step
    if 30 - time.time() % 30 < 5:
        # Never hand out the previous step just before a boundary: it would leave the window mid-request.
        time.sleep(30 - time.time() % 30 + 0.05)
    current = int(time.time() // 30)
    step = current - 1 if last is None or last < current - 1 else last + 1
    assert step <= current + 1, "no unused TOTP step left in the window"
    return pyotp.TOTP(account.totp_secret).at(step * 30)


def sign_in(client: FlaskClient, app: Flask, account: Account) -> str:
    """Sign in through the real pages; return where the portal sends the user next."""
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in", data={"email": account.email, "password": account.password, "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in/code"), response.text[:500]
    page = client.get("/sign-in/code")
    response = client.post("/sign-in/code", data={"code": fresh_code(app, account), "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"]


def appendix1_answers(recipient_1: int, recipient_2: int | None = None, **overrides: Any) -> dict[str, Any]:
    """Form data for a complete Rochdale Appendix 1 about the canary child."""
    data: dict[str, Any] = {
        "date_of_notification": ["20", "11", "2026"],
        "child_name": CANARY_NAME,
        "child_dob": list(CANARY_DOB),
        "nhs_number": CANARY_NHS,
        "p_number": "P778899",
        "completed_by_name": "Test Practitioner",
        "completed_by_role": "Health Visitor",
        "completed_by_agency_team": "Early Help, North Team",
        "completed_by_contact": "01706 000000",
        "sent_to_1": str(recipient_1),
        "sent_to_2": str(recipient_2) if recipient_2 else "",
        "summary_of_disagreement": f"{CANARY_NARRATIVE}: the referral was declined although the threshold is met.",
        "informal_challenge_evidence": "Stage 1 call on 3 Nov; stage 2 managers met on 10 Nov; no agreement.",
        "desired_outcome": "A strategy discussion is held this week.",
    }
    data.update(overrides)
    return data


def raise_notice(client: FlaskClient, answers: dict[str, Any]) -> tuple[str, str]:
    """Walk the raise journey over HTTP; return (notice id, reference)."""
    page = client.get("/notices/new")
    response = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302, response.text[:300]
    draft_url = response.headers["Location"]
    page = client.get(draft_url)
    response = client.post(draft_url, data={**answers, "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302, errors_on(response.text)
    check_url = response.headers["Location"]
    page = client.get(check_url)
    response = client.post(check_url, data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302, response.text[:300]
    notice_id = response.headers["Location"].split("/notices/")[1].split("/")[0]
    confirmation = client.get(response.headers["Location"])
    reference = BeautifulSoup(confirmation.text, "html.parser").select_one(".govuk-panel__body strong").text
    return notice_id, reference


def errors_on(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [a.get_text(strip=True) for a in soup.select(".govuk-error-summary__list a")]


def database_bytes(app: Flask) -> bytes:
    """Everything the database holds as bytes: the SQLite file and its WAL, or a plain pg_dump."""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    from sqlalchemy.engine import make_url

    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        database = Path(url.database or "")
        dumped = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert len(dumped) > 10_000 and Path(str(database) + "-wal").exists()
        return dumped
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed for this test (Debian postgresql-client)"
    command = [pg_dump, "--format=plain", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
    command += ["-U", url.username or "postgres", url.database or ""]
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    return subprocess.run(command, check=True, capture_output=True, env=env, timeout=60).stdout


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    engine = app.extensions["portal.engine"]
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)
