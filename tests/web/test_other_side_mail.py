"""Whenever the other side acts on a notice, whoever raised it learns by a link-only e-mail, once; and when the
raiser's side acts, the agencies answering learn it. Checked on what reaches a real SMTP server."""

from __future__ import annotations

import io
from collections import Counter

from flask import Flask

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
    raise_notice,
    smtp_transport,
)
from tests.lifecycle.driver import Life
from tests.smtp_server import SmtpCapture

RAISING = "Rochdale Early Help and Safeguarding Hub"
TARGET = "Rochdale Children's Social Care"


class Inbox:
    """Deliver what the portal queued to the test SMTP server and read what arrived since the last look."""

    def __init__(self, app: Flask, smtp: SmtpCapture) -> None:
        self.app, self.smtp, self.seen = app, smtp, 0

    def arrived(self) -> list[tuple[str, str, str]]:
        report = deliver_due(session_factory(self.app), smtp_transport(self.smtp.port), worker_id="t")
        received = self.smtp.wait_for(self.seen + report.sent) if report.sent else self.smtp.messages
        fresh = received[self.seen :]
        self.seen = len(received)
        return [(m["To"], m["Subject"], m.get_content()) for m in fresh]


def _once_each(mail: list[tuple[str, str, str]], reference: str, notice_id: str) -> Counter[str]:
    """Who got this step's mail; every message link-only, with no case details, and nobody told twice."""
    for to, subject, body in mail:
        assert reference in subject and (f"/notices/{notice_id}" in body or "/invitation/" in body), to
        for secret in (CANARY_NAME, CANARY_NHS, CANARY_NARRATIVE, "P778899", "minutes-of-the-meeting"):
            assert secret not in subject + body, f"mail to {to} leaks {secret!r}"
    told = Counter(to for to, _subject, _body in mail)
    assert all(n == 1 for n in told.values()), f"told twice: {told}"
    return told


def test_the_raiser_is_told_whenever_the_other_side_acts(app: Flask, accounts, smtp: SmtpCapture) -> None:
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="rochdale", agency=RAISING)
    spoc = life.party(accounts, "spoc", Role.SPOC, partnership="rochdale", agency=TARGET)
    bm = life.party(accounts, "bm", Role.BUSINESS_MANAGER, partnership="rochdale")
    inbox = Inbox(app, smtp)
    life.notice_id, life.reference = raise_notice(raiser.client, appendix1_answers(contact_id(app, TARGET)))
    (contact,) = life.recipients("stage-3")
    inbox.arrived()

    def step() -> tuple[Counter[str], set[str]]:
        mail = inbox.arrived()
        return _once_each(mail, life.reference, life.notice_id), {s.rsplit(": ", 1)[-1] for _t, s, _b in mail}

    # Rochdale sets no timescale, so acknowledging used to tell nobody: now the raiser learns it was received.
    life.act("spoc", "acknowledge")
    assert step() == (Counter({raiser.account.email: 1}), {"received"})

    # Evidence added by the recipient's side: the raiser and the business unit are told, the file is never sent.
    page = spoc.client.get(f"/notices/{life.notice_id}/evidence")
    added = spoc.client.post(
        f"/notices/{life.notice_id}/evidence",
        data={
            "file": (io.BytesIO(b"%PDF-1.7 minutes"), "minutes-of-the-meeting.pdf"),
            "csrf_token": csrf_from(page.text),
        },
        content_type="multipart/form-data",
    )
    assert added.status_code == 302
    assert step() == (Counter({raiser.account.email: 1, bm.account.email: 1}), {"evidence added"})
    assert all(not m.is_multipart() for m in smtp.messages)  # nothing attached to any mail

    life.act("spoc", "message", {"text": "Can we meet on Tuesday?"})
    assert step() == (Counter({raiser.account.email: 1, bm.account.email: 1}), {"new message"})

    life.respond("spoc", "We will hold a strategy discussion", "Strategy discussion on Monday")
    told, subjects = step()
    assert told[raiser.account.email] == 1 and subjects == {"response recorded"}

    # The business unit moves it on for the parties: the raiser learns it was escalated, the agency answering too
    # (here by the Stage 4 mail itself), each once.
    life.escalate("bm", "stage-4", "The strategy discussion did not take place")
    told, subjects = step()
    assert told[raiser.account.email] == 1 and told[contact] == 1

    life.respond("bm", "Strategy discussion now booked")
    told, _subjects = step()
    assert told[raiser.account.email] == 1

    life.close("bm")
    told, subjects = step()
    assert told[raiser.account.email] == 1 and told[contact] == 1 and subjects == {"outcome"}


def test_the_agency_answering_learns_when_the_raiser_escalates(app: Flask, accounts, smtp: SmtpCapture) -> None:
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="rochdale", agency=RAISING)
    life.party(accounts, "spoc", Role.SPOC, partnership="rochdale", agency=TARGET)
    bm = life.party(accounts, "bm", Role.BUSINESS_MANAGER, partnership="rochdale")
    inbox = Inbox(app, smtp)
    life.notice_id, life.reference = raise_notice(raiser.client, appendix1_answers(contact_id(app, TARGET)))
    (contact,) = life.recipients("stage-3")
    inbox.arrived()

    # The raiser's own message tells the other sides, never the raiser.
    life.act("raiser", "message", {"text": "Any news?"})
    told = _once_each(inbox.arrived(), life.reference, life.notice_id)
    assert set(told) == {contact, bm.account.email}

    life.escalate("raiser", "stage-4", "No answer at Stage 3")
    told = _once_each(inbox.arrived(), life.reference, life.notice_id)
    assert set(told) == {contact, bm.account.email}
