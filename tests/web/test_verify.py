"""The public verify page: anyone holding a portal PDF learns whether it is a genuine, unaltered version, and which
reference and version it is, without signing in and without learning anything else."""

from __future__ import annotations

import hashlib
import io

from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.domain.models import AuditEvent, Role
from portal.web.database import session_factory
from tests.helpers import CANARY_NAME, appendix1_answers, contact_id, csrf_from, errors_on, raise_notice, sign_in


def _check(client: FlaskClient, **data: object) -> str:
    page = client.get("/verify")
    assert page.status_code == 200
    response = client.post(
        "/verify", data={**data, "csrf_token": csrf_from(page.text)}, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    return response.text


def test_anyone_can_check_a_pdf_or_its_hash(app: Flask, client: FlaskClient, accounts) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    notice_id, reference = raise_notice(client, appendix1_answers(contact_id(app, "Rochdale Children's Social Care")))
    pdf = client.get(f"/notices/{notice_id}/pdf?version=1").data
    anyone = app.test_client()

    genuine = _check(anyone, file=(io.BytesIO(pdf), "notice.pdf"))
    panel = BeautifulSoup(genuine, "html.parser").select_one(".govuk-panel").get_text(" ", strip=True)
    assert "genuine" in panel and reference in panel and "version 1" in panel
    assert CANARY_NAME not in genuine and notice_id not in genuine

    digest = hashlib.sha256(pdf).hexdigest()
    typed = " ".join(digest[i : i + 8] for i in range(0, 64, 8)).upper()
    assert reference in _check(anyone, sha256=typed)

    # One byte added: not genuine, and the broken signature says so.
    altered = _check(anyone, file=(io.BytesIO(pdf + b"%"), "notice.pdf"))
    assert "was not issued by the portal" in altered and reference not in altered
    assert "not issued by the portal" in _check(anyone, sha256="0" * 64)
    assert errors_on(_check(anyone, sha256="not a hash")) == [
        "Enter a SHA-256 fingerprint of 64 letters (a to f) and numbers"
    ]
    assert errors_on(_check(anyone)) == ["Upload the PDF, or enter its SHA-256 fingerprint"]

    with session_factory(app)() as db:
        asked = db.execute(select(AuditEvent).where(AuditEvent.action == "document.verify")).scalars().all()
    assert [a.outcome for a in asked] == ["genuine", "genuine", "unknown", "unknown"]
    assert asked[0].object_id == digest and asked[0].actor_id is None
