"""Messages between the parties on a notice: sealed like the narrative, on the timeline, the other sides told by
a link-only e-mail, readable by whoever may read the notice and by no one else."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.domain.models import AuditEvent, NoticeEvent, OutboxMessage, Role
from portal.web.database import session_factory
from tests.helpers import appendix1_answers, contact_id, csrf_from, database_bytes, errors_on, raise_notice, sign_in

CSC = "Rochdale Children's Social Care"
QUESTION = "Could the strategy discussion be on Tuesday? (Quibblethorn)"
ANSWER = "Tuesday at 10:00 works for us. (Mossgrave)"


def _new_mail(app: Flask, seen: set[str]) -> list[OutboxMessage]:
    with session_factory(app)() as db:
        found = [m for m in db.execute(select(OutboxMessage)).scalars() if m.id not in seen]
    seen.update(m.id for m in found)
    return found


def _send(client: FlaskClient, notice_id: str, text: str):
    page = client.get(f"/notices/{notice_id}/message")
    assert page.status_code == 200
    return client.post(
        f"/notices/{notice_id}/message", data={"text": text, "csrf_token": csrf_from(page.text)}, follow_redirects=True
    )


def test_parties_exchange_messages_and_each_other_side_is_told(app: Flask, client: FlaskClient, accounts) -> None:
    raiser = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub", name="Pat Raiser")
    bm = accounts.make(Role.BUSINESS_MANAGER)
    sign_in(client, app, raiser)
    notice_id, reference = raise_notice(client, appendix1_answers(contact_id(app, CSC)))
    spoc = app.test_client()
    sign_in(spoc, app, accounts.make(Role.SPOC, agency=CSC, name="Sam Spoc"))
    outsider = app.test_client()
    sign_in(outsider, app, accounts.make(Role.SPOC, agency="Greater Manchester Police"))
    seen: set[str] = set()
    _new_mail(app, seen)

    empty = client.post(
        f"/notices/{notice_id}/message", data={"csrf_token": csrf_from(client.get(f"/notices/{notice_id}").text)}
    )
    assert errors_on(empty.text) == ["Enter your message"]

    shown = _send(client, notice_id, QUESTION)
    assert "Message sent" in shown.text and QUESTION in shown.text
    told = _new_mail(app, seen)
    with session_factory(app)() as db:
        recipient = db.execute(select(OutboxMessage.to_address).where(OutboxMessage.subject.like("%: sent"))).all()
    assert raiser.email not in {m.to_address for m in told} and bm.email in {m.to_address for m in told}
    assert len(told) == 2 and recipient  # the Stage 3 contact and the business unit
    for m in told:
        assert m.subject.endswith(": new message") and reference in m.subject
        # A link only: the notice's own, or for a contact with no account yet, an invitation that lands on it.
        assert f"/notices/{notice_id}" in m.body_text or "/invitation/" in m.body_text
        assert "Quibblethorn" not in m.body_text

    page = spoc.get(f"/notices/{notice_id}")
    assert QUESTION in page.text and "Pat Raiser, for the raising practitioner" in page.text
    _send(spoc, notice_id, ANSWER)
    assert {m.to_address for m in _new_mail(app, seen)} == {raiser.email, bm.email}
    assert ANSWER in client.get(f"/notices/{notice_id}").text

    # Nobody else reads or writes them; they are sealed, on the timeline without their words, and audited.
    assert outsider.get(f"/notices/{notice_id}/message").status_code == 404
    dumped = database_bytes(app)
    assert b"Quibblethorn" not in dumped and b"Mossgrave" not in dumped
    with session_factory(app)() as db:
        details = [
            e.detail
            for e in db.execute(select(NoticeEvent).where(NoticeEvent.kind == "message").order_by(NoticeEvent.id))
            .scalars()
            .all()
        ]
        audited = db.execute(
            select(AuditEvent.outcome).where(AuditEvent.action == "notice.message", AuditEvent.outcome == "ok")
        ).all()
    assert details == ["Message from the raising practitioner", "Message from the recipient agency"]
    assert len(audited) == 2
