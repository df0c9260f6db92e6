"""One invitation token used many times at once makes one account (the compare-and-set in
portal.services.invitations.accept), and every other request gets the clear "already used" page, never a 500."""

from __future__ import annotations

import re
from collections import Counter

from flask import Flask
from sqlalchemy import func, select

from portal.domain.models import AuditEvent, Invitation, OutboxMessage, Role, User
from portal.web.database import session_factory
from tests.concurrency.live import at_once, browser_for, serving
from tests.helpers import Accounts, appendix1_answers, contact_id, csrf_from, raise_notice, sign_in

RAISING = "Rochdale Early Help and Safeguarding Hub"
TARGET = "Rochdale Children's Social Care"
PASSWORD = "violet lantern orchard tide"
AT_ONCE = 12


def test_one_invitation_used_twelve_times_at_once_makes_one_account(app: Flask, accounts: Accounts) -> None:
    raiser_client = app.test_client()
    sign_in(raiser_client, app, accounts.make(Role.PRACTITIONER, agency=RAISING))
    raise_notice(raiser_client, appendix1_answers(contact_id(app, TARGET)))
    with session_factory(app)() as db:
        # The raiser is told too, with a plain link: the invitation is in the recipient's message.
        body = db.scalars(select(OutboxMessage.body_text).where(OutboxMessage.body_text.contains("/invitation/"))).one()
    token = re.search(r"/invitation/([A-Za-z0-9_-]+)", body).group(1)
    path = f"/invitation/{token}"

    with serving(app) as base:
        browsers = []
        for _ in range(AT_ONCE):
            # Each an anonymous visitor with a session of their own, the form open.
            client = app.test_client()
            page = client.get(path)
            assert page.status_code == 200
            browsers.append((browser_for(app, base, None, client), csrf_from(page.text)))  # type: ignore[arg-type]
        replies = at_once(
            [
                lambda b=b, t=t, i=i: b.post(
                    path,
                    {"name": f"Person {i}", "password": PASSWORD, "confirm_password": PASSWORD, "csrf_token": t},
                )
                for i, (b, t) in enumerate(browsers)
            ]
        )
    statuses = Counter(r.status for r in replies)
    assert statuses[303] == 1, statuses
    # Every other request is told plainly: the link was used, or (read just as the winner committed) the
    # address now has an account. Never a 500, never a second account.
    for reply in replies:
        if reply.status != 303:
            assert (reply.status, "This invitation link has already been used" in reply.body) == (410, True) or (
                reply.status,
                "You already have an account" in reply.body,
            ) == (200, True), reply.status
    with session_factory(app)() as db:
        invited = db.scalars(select(Invitation.email)).one()
        assert db.scalar(select(func.count()).select_from(User).where(User.email == invited)) == 1
        accepted = db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "invitation.accepted")
        )
        assert accepted == 1
