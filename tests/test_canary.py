"""A canary child's details appear nowhere but behind the keys: database file and WAL, pg_dump, mail, log."""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.domain.models import Role
from portal.infrastructure.mail import deliver_due
from portal.web.database import session_factory
from tests.helpers import (
    CANARY_NAME,
    CANARY_NARRATIVE,
    CANARY_NHS,
    appendix1_answers,
    contact_id,
    csrf_from,
    database_bytes,
    raise_notice,
    sign_in,
    smtp_transport,
)

# A message between the parties naming the child: sealed like the narrative.
CANARY_MESSAGE = "Vellichor-Quandary message about the child"

# Evidence: its file name, and a line of its content.
CANARY_FILE = "Brindlewick case conference"
CANARY_ATTACHMENT = b"%PDF-1.7\n% Thistlemere-Oakapple evidence content\n"

NEEDLES = {
    "name": CANARY_NAME,
    "surname": "Canarytest",
    "nhs spaced": CANARY_NHS,
    "nhs digits": CANARY_NHS.replace(" ", ""),
    "dob iso": "2016-02-29",
    "dob long": "29 February 2016",
    "narrative": CANARY_NARRATIVE,
    "p number": "P778899",
    "message": CANARY_MESSAGE,
    "attachment name": CANARY_FILE,
    "attachment content": "Thistlemere-Oakapple evidence content",
}


def _forms(value: str) -> list[bytes]:
    raw = value.encode()
    return [raw, value.encode("utf-16-le"), base64.b64encode(raw), raw.hex().encode(), value.lower().encode()]


def assert_no_canary(blob: bytes, where: str) -> None:
    for label, value in NEEDLES.items():
        for form in _forms(value):
            assert form not in blob, f"canary {label} found in {where}"


def test_canary_is_nowhere_in_plaintext(app: Flask, client: FlaskClient, accounts, smtp, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    notice_id, reference = raise_notice(
        client,
        appendix1_answers(
            contact_id(app, "Rochdale Children's Social Care"), contact_id(app, "Greater Manchester Police")
        ),
    )
    # Read it back and download it, so every read path has run and logged.
    spoc = app.test_client()
    sign_in(spoc, app, accounts.make(Role.SPOC, agency="Rochdale Children's Social Care"))
    assert CANARY_NAME in spoc.get(f"/notices/{notice_id}").text
    assert spoc.get(f"/notices/{notice_id}/pdf").status_code == 200
    # The SPOC writes to the raiser about the child on the notice: the raiser is told by e-mail.
    page = spoc.get(f"/notices/{notice_id}/message")
    sent = spoc.post(
        f"/notices/{notice_id}/message",
        data={"text": f"{CANARY_MESSAGE}: {CANARY_NAME}", "csrf_token": csrf_from(page.text)},
    )
    assert sent.status_code == 302
    assert CANARY_MESSAGE in client.get(f"/notices/{notice_id}").text
    # Evidence named after the child, holding the narrative: its name and content are sealed, never e-mailed.
    page = client.get(f"/notices/{notice_id}/evidence")
    attached = client.post(
        f"/notices/{notice_id}/evidence",
        data={
            "file": (io.BytesIO(CANARY_ATTACHMENT), f"{CANARY_NAME} {CANARY_FILE}.pdf"),
            "csrf_token": csrf_from(page.text),
        },
        content_type="multipart/form-data",
    )
    assert attached.status_code == 302
    shown = spoc.get(f"/notices/{notice_id}").text
    assert CANARY_FILE in shown
    link = shown.split(f'href="/notices/{notice_id}/evidence/')[1].split('"')[0]
    assert spoc.get(f"/notices/{notice_id}/evidence/{link}").data == CANARY_ATTACHMENT
    # Error pages too.
    assert client.get("/notices/not-a-notice").status_code == 404
    transport = smtp_transport(smtp.port)
    # Two recipients and the raiser when it was sent; the raiser and the business unit's mailbox of the message;
    # the two recipients and the business unit of the evidence (link-only: no name, no content).
    assert deliver_due(session_factory(app), transport, worker_id="canary").sent == 8

    dumped = database_bytes(app)
    assert reference.encode() in dumped  # the dump is real
    assert_no_canary(dumped, "the database (SQLite file and WAL, or pg_dump)")

    mail = b"".join(m.as_bytes() for m in smtp.messages)
    assert reference.encode() in mail
    assert_no_canary(mail, "the e-mails sent")

    log_text = Path(app.config["LOG_FILE"]).read_bytes() + "\n".join(r.getMessage() for r in caplog.records).encode()
    assert_no_canary(log_text, "the application log")


@pytest.mark.parametrize("blob", [b"plain " + CANARY_NAME.encode(), base64.b64encode(CANARY_NAME.encode())])
def test_the_canary_check_itself_finds_a_leak(blob: bytes) -> None:
    with pytest.raises(AssertionError):
        assert_no_canary(blob, "a planted leak")
