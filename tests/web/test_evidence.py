"""Evidence attached to a notice: type read from the content, stated limits, sealed under the notice's key and bound
to notice and attachment, listed on the notice and in the signed PDF by name, size and SHA-256, downloaded only by
those who may read the notice (audited), re-encrypted by key rotation, deleted by shredding, never e-mailed."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import date

import pypdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.domain import file_types
from portal.domain.models import AuditEvent, Notice, NoticeAttachment, OutboxMessage, Role, utcnow
from portal.services import keys as key_service
from portal.services import retention
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import appendix1_answers, contact_id, csrf_from, database_bytes, errors_on, raise_notice, sign_in

CSC = "Rochdale Children's Social Care"
NAME = "Marrowgate meeting minutes.pdf"
CONTENT = b"%PDF-1.7\n% Snodgrass-Pellucid minutes of the strategy meeting\n"


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


EML = (
    b"From: a@example.org\r\nTo: b@example.org\r\nSubject: Agreed\r\nDate: Fri, 4 Dec 2026 10:00:00 +0000\r\n\r\nHi\r\n"
)
MSG = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + "__substg1.0_0037001F".encode("utf-16-le")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.4 ...", "pdf"),
        (_zip("[Content_Types].xml", "word/document.xml"), "docx"),
        (_zip("[Content_Types].xml", "xl/workbook.xml"), "xlsx"),
        (b"\x89PNG\r\n\x1a\n....", "png"),
        (b"\xff\xd8\xff\xe0....", "jpeg"),
        (b"GIF89a....", "gif"),
        (EML, "eml"),
        (MSG, "msg"),
        (b"MZ\x90\x00 a Windows program", None),
        (_zip("evil.exe"), None),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old Word file", None),
        (b"just some text, not an e-mail", None),
        (b"<html><script>alert(1)</script>", None),
    ],
)
def test_type_is_read_from_the_content(data: bytes, kind: str | None) -> None:
    found = file_types.sniff(data)
    assert (found.code if found else None) == kind


def _upload(client: FlaskClient, notice_id: str, name: str, data: bytes):
    page = client.get(f"/notices/{notice_id}/evidence")
    return client.post(
        f"/notices/{notice_id}/evidence",
        data={"file": (io.BytesIO(data), name), "csrf_token": csrf_from(page.text)},
        content_type="multipart/form-data",
    )


def test_evidence_is_sealed_listed_downloadable_by_readers_rotated_and_shredded(
    app: Flask, client: FlaskClient, accounts
) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    notice_id, _reference = raise_notice(client, appendix1_answers(contact_id(app, CSC)))
    spoc = app.test_client()
    sign_in(spoc, app, accounts.make(Role.SPOC, agency=CSC))
    outsider = app.test_client()
    sign_in(outsider, app, accounts.make(Role.SPOC, agency="Greater Manchester Police"))

    # By content, not by name: a text file called .pdf is refused; an empty choice is asked again.
    assert errors_on(_upload(client, notice_id, "notes.pdf", b"plain text").text) == [
        "The selected file must be a PDF, Word, Excel, image or e-mail file"
    ]
    page = client.get(f"/notices/{notice_id}/evidence")
    assert "smaller than 10 MB" in page.text and "at most 20 files" in page.text
    assert _upload(client, notice_id, NAME, CONTENT).status_code == 302

    digest = hashlib.sha256(CONTENT).hexdigest()
    shown = spoc.get(f"/notices/{notice_id}").text
    assert NAME in shown and digest in shown
    link = re.search(rf'href="(/notices/{notice_id}/evidence/[0-9a-f-]{{36}})"', shown).group(1)
    got = spoc.get(link)
    assert got.data == CONTENT and got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith('attachment; filename="Marrowgate meeting minutes.pdf"')
    assert outsider.get(link).status_code == 404
    # The new signed version lists it by name, size and SHA-256 (in groups of 16, to wrap).
    pdf = spoc.get(f"/notices/{notice_id}/pdf").data
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages))
    assert NAME in text and " ".join(digest[i : i + 16] for i in range(0, 64, 16)) in text

    with session_factory(app)() as db:
        downloads = db.execute(
            select(AuditEvent.outcome).where(AuditEvent.action == "notice.attachment.download")
        ).all()
        mail = " ".join(m.body_text + m.subject for m in db.execute(select(OutboxMessage)).scalars())
    assert [d.outcome for d in downloads] == ["allowed"]
    assert "Marrowgate" not in mail and "Snodgrass" not in mail
    dumped = database_bytes(app)
    assert b"Marrowgate" not in dumped and b"Snodgrass" not in dumped

    # Rotating the notice's data key re-encrypts it; it still opens.
    services = portal_services(app)
    key_service.rotate_data_keys(session_factory(app), services.keyring, cutoff=utcnow(), purposes=("notice",))
    assert spoc.get(link).data == CONTENT

    # Shredding the (closed, expired) notice deletes it with everything else.
    with session_factory(app)() as db:
        notice = db.get(Notice, notice_id)
        notice.status, notice.closed_at = "closed", utcnow()
        db.commit()
        assert retention.shred_notice(db, services.keyring, notice_id, today=date(2060, 1, 1))
        db.commit()
        assert db.execute(select(NoticeAttachment)).scalars().all() == []


def test_stated_limits(app: Flask, client: FlaskClient, accounts, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    notice_id, _ = raise_notice(client, appendix1_answers(contact_id(app, CSC)))
    monkeypatch.setattr(file_types, "MAX_FILES", 2)
    monkeypatch.setattr(file_types, "MAX_BYTES", 64)
    [too_big] = errors_on(_upload(client, notice_id, "big.pdf", b"%PDF-" + b"x" * 100).text)
    assert too_big.startswith("The selected file must be smaller than")
    for n in range(2):
        assert _upload(client, notice_id, f"{n}.png", b"\x89PNG\r\n\x1a\n" + bytes([n])).status_code == 302
    assert errors_on(_upload(client, notice_id, "3.png", b"\x89PNG\r\n\x1a\n3").text) == [
        "A notice can have at most 2 files attached"
    ]
