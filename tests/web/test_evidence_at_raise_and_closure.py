"""Evidence before the notice is sent (from the check-answers page) and with the closure: the same rules as on an
open notice (type by content, size and count caps, sealed under the notice's data key, never e-mailed), carried
into the notice on submit and listed in its first signed PDF; deleted with a deleted draft; rotated with it."""

from __future__ import annotations

import hashlib
import io
import re

import pypdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.domain import file_types
from portal.domain.models import (
    AuditEvent,
    DataKey,
    Notice,
    NoticeAttachment,
    NoticeEvent,
    OutboxMessage,
    Role,
    User,
    utcnow,
)
from portal.services import draft_evidence, evidence, raising, vault
from portal.services import keys as key_service
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import appendix1_answers, contact_id, csrf_from, database_bytes, errors_on, sign_in
from tests.lifecycle.driver import Life

CSC = "Rochdale Children's Social Care"
NAME = "Thistlewick stage 2 record.pdf"
CONTENT = b"%PDF-1.7\n% Brackenbury-Quoll notes of the stage 2 managers' meeting\n"


def _draft(client: FlaskClient, app: Flask) -> str:
    """A complete draft, left at check-answers; return its id."""
    page = client.get("/notices/new")
    url = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    page = client.get(url)
    saved = client.post(url, data={**appendix1_answers(contact_id(app, CSC)), "csrf_token": csrf_from(page.text)})
    assert saved.status_code == 302
    return url.rstrip("/").split("/")[-1]


def _attach(client: FlaskClient, draft_id: str, name: str, data: bytes):
    page = client.get(f"/notices/drafts/{draft_id}/evidence")
    assert page.status_code == 200
    return client.post(
        f"/notices/drafts/{draft_id}/evidence",
        data={"file": (io.BytesIO(data), name), "csrf_token": csrf_from(page.text)},
        content_type="multipart/form-data",
    )


def _pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages))


def test_evidence_attached_before_sending_goes_with_the_notice(app: Flask, client: FlaskClient, accounts) -> None:
    raiser = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    sign_in(client, app, raiser)
    draft_id = _draft(client, app)
    check = client.get(f"/notices/drafts/{draft_id}/check")
    assert "No files attached" in check.text and f"/notices/drafts/{draft_id}/evidence" in check.text

    # By content, not by name; an empty choice is asked again.
    assert errors_on(_attach(client, draft_id, "notes.pdf", b"plain text").text) == [
        "The selected file must be a PDF, Word, Excel, image or e-mail file"
    ]
    assert _attach(client, draft_id, NAME, CONTENT).status_code == 302
    assert _attach(client, draft_id, "wrong.png", b"\x89PNG\r\n\x1a\nwrong").status_code == 302
    check = client.get(f"/notices/drafts/{draft_id}/check")
    assert NAME in check.text and "wrong.png" in check.text
    # The writer opens what they attached to check it before sending: the file as given, always as a download.
    link = re.search(rf'href="(/notices/drafts/{draft_id}/evidence/[0-9a-f-]{{36}})">{re.escape(NAME)}<', check.text)
    opened = client.get(link.group(1))
    assert opened.data == CONTENT and opened.mimetype == "application/pdf"
    assert opened.headers["Content-Disposition"].startswith('attachment; filename="Thistlewick stage 2 record.pdf"')
    with session_factory(app)() as db:
        audited = db.execute(select(AuditEvent).where(AuditEvent.action == "draft.attachment.download")).scalar_one()
    assert audited.actor_id == raiser.id and audited.object_id == link.group(1).rsplit("/", 1)[1]
    # The wrong one is removed before sending.
    with session_factory(app)() as db:
        wrong = db.execute(select(NoticeAttachment.id).where(NoticeAttachment.kind == "png")).scalar_one()
    removed = client.post(
        f"/notices/drafts/{draft_id}/evidence/{wrong}/remove",
        data={"csrf_token": csrf_from(check.text)},
        follow_redirects=True,
    )
    assert "File removed" in removed.text and "wrong.png" not in removed.text and NAME in removed.text
    # Nobody else's: another practitioner cannot add to, open, or remove from, this draft.
    other = app.test_client()
    sign_in(other, app, accounts.make(Role.PRACTITIONER))
    assert other.get(f"/notices/drafts/{draft_id}/evidence").status_code == 404
    assert other.get(link.group(1)).status_code == 404

    sent = client.post(f"/notices/drafts/{draft_id}/check", data={"csrf_token": csrf_from(check.text)})
    assert sent.status_code == 302
    notice_id = draft_id  # a notice keeps its draft's id

    # The notice carries it: listed, downloadable by the recipient, in the first signed PDF by name and SHA-256.
    spoc = app.test_client()
    sign_in(spoc, app, accounts.make(Role.SPOC, agency=CSC))
    digest = hashlib.sha256(CONTENT).hexdigest()
    shown = spoc.get(f"/notices/{notice_id}").text
    assert NAME in shown and digest in shown
    link = re.search(rf'href="(/notices/{notice_id}/evidence/[0-9a-f-]{{36}})"', shown).group(1)
    assert spoc.get(link).data == CONTENT
    first = _pdf_text(spoc.get(f"/notices/{notice_id}/pdf?version=1").data)
    assert NAME in first and " ".join(digest[i : i + 16] for i in range(0, 64, 16)) in first and "Stage 3" in first
    with session_factory(app)() as db:
        rows = db.execute(select(NoticeAttachment)).scalars().all()
        assert [(r.notice_id, r.draft_id, r.stage) for r in rows] == [(notice_id, None, "stage-3")]
        events = db.execute(select(NoticeEvent.detail).where(NoticeEvent.kind == "evidence")).scalars().all()
        mail = " ".join(m.body_text + m.subject for m in db.execute(select(OutboxMessage)).scalars())
    assert events == ["Evidence sent with the notice: 1 file"]
    assert "Thistlewick" not in mail and "Brackenbury" not in mail
    dumped = database_bytes(app)
    assert b"Thistlewick" not in dumped and b"Brackenbury" not in dumped


def test_a_deleted_draft_leaves_no_evidence_and_a_draft_key_rotation_keeps_it(
    app: Flask, client: FlaskClient, accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    draft_id = _draft(client, app)
    monkeypatch.setattr(file_types, "MAX_FILES", 1)
    assert _attach(client, draft_id, NAME, CONTENT).status_code == 302
    assert errors_on(_attach(client, draft_id, "more.pdf", b"%PDF-1.7 more").text) == [
        "A notice can have at most 1 files attached"
    ]
    # Rotating the draft's data key re-encrypts its evidence, which still opens.
    services = portal_services(app)
    key_service.rotate_data_keys(session_factory(app), services.keyring, cutoff=utcnow(), purposes=("notice",))
    assert NAME in client.get(f"/notices/drafts/{draft_id}/check").text

    page = client.get(f"/notices/drafts/{draft_id}/delete")
    deleted = client.post(
        f"/notices/drafts/{draft_id}/delete", data={"confirm": "yes", "csrf_token": csrf_from(page.text)}
    )
    assert deleted.status_code == 302
    with session_factory(app)() as db:
        assert db.execute(select(NoticeAttachment)).scalars().all() == []
        keys = db.execute(select(DataKey).where(DataKey.purpose == "notice")).scalars().all()
        assert keys and all(k.wrapped is None for k in keys)


def test_evidence_given_with_the_closure_is_in_the_closing_version(app: Flask, accounts) -> None:
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="rochdale")
    life.party(accounts, "spoc", Role.SPOC, partnership="rochdale", agency=CSC)
    life.notice_id = _draft(raiser.client, app)
    check = raiser.client.get(f"/notices/drafts/{life.notice_id}/check")
    raiser.client.post(f"/notices/drafts/{life.notice_id}/check", data={"csrf_token": csrf_from(check.text)})
    life.respond("spoc", "Agreed", "Strategy discussion on Monday")
    close = {
        "outcome_code": "resolved-by-agreement",
        "agreed_outcome": "Strategy discussion held",
        "written_confirmation": "Attached",
        "impact_on_child": "A plan is in place",
        "debrief": "no",
        "learning_identified": "no",
    }
    url = f"/notices/{life.notice_id}/close"

    def post(name: str, data: bytes):
        page = raiser.client.get(url)
        return raiser.client.post(
            url,
            data={**close, "file": (io.BytesIO(data), name), "csrf_token": csrf_from(page.text)},
            content_type="multipart/form-data",
        )

    # A file of the wrong kind stops the closure with the error beside the file; nothing is closed.
    refused = post("confirmation.pdf", b"just text")
    assert refused.status_code == 200
    assert errors_on(refused.text) == ["The selected file must be a PDF, Word, Excel, image or e-mail file"]
    assert life.notice().status == "open"

    assert post(NAME, CONTENT).status_code == 302
    assert life.notice().status == "closed"
    versions = [int(v) for v in re.findall(r"version=(\d+)", life.page("spoc"))]
    closing = _pdf_text(life.client("spoc").get(f"{url[:-6]}/pdf?version={max(versions)}").data)
    assert NAME in closing and "At closure" in closing
    summary = _pdf_text(life.client("spoc").get(f"/notices/{life.notice_id}/child-file.pdf").data)
    assert NAME in summary
    with session_factory(app)() as db:
        row = db.execute(select(NoticeAttachment)).scalar_one()
        assert row.stage == "closure" and row.sha256 == hashlib.sha256(CONTENT).hexdigest()


def test_evidence_loaded_before_its_key_rotated_still_downloads(app: Flask, client: FlaskClient, accounts) -> None:
    """A data-key rotation that commits between loading the notice (or draft) and opening its file: the one retry
    reads the owner's new key, not the destroyed one, on both downloads."""
    raiser = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    sign_in(client, app, raiser)
    sent_id = _draft(client, app)
    assert _attach(client, sent_id, NAME, CONTENT).status_code == 302
    check = client.get(f"/notices/drafts/{sent_id}/check")
    assert (
        client.post(f"/notices/drafts/{sent_id}/check", data={"csrf_token": csrf_from(check.text)}).status_code == 302
    )
    draft_id = _draft(client, app)
    assert _attach(client, draft_id, "draft.png", b"\x89PNG\r\n\x1a\ndraft").status_code == 302
    services = portal_services(app)
    sessions = session_factory(app)
    with sessions() as db:
        on_notice = db.execute(select(NoticeAttachment.id).where(NoticeAttachment.notice_id == sent_id)).scalar_one()
        on_draft = db.execute(select(NoticeAttachment.id).where(NoticeAttachment.draft_id == draft_id)).scalar_one()
    with sessions() as reader:
        user = reader.get(User, raiser.id)
        # Loaded, with their (old) keys, just before the rotation commits.
        notice = reader.get(Notice, sent_id)
        vault.data_key(reader, services.keyring, notice.data_key_id)
        raising.own_draft(reader, services, user, draft_id)
        key_service.rotate_data_keys(sessions, services.keyring, cutoff=utcnow(), purposes=("notice",))
        assert evidence.download(reader, services, user, sent_id, on_notice) == (NAME, "application/pdf", CONTENT)
        assert draft_evidence.download(reader, services, user, draft_id, on_draft) == (
            "draft.png",
            "image/png",
            b"\x89PNG\r\n\x1a\ndraft",
        )
