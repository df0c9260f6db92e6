"""A notice accepted is a notice delivered: with the SMTP server down at submission, the worker keeps
trying and, once the server is back, each recipient gets exactly one message."""

from __future__ import annotations

import threading
import time
from collections import Counter

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.domain.models import OutboxMessage, Role
from portal.infrastructure.mail import run_worker
from portal.web.database import session_factory
from tests.helpers import appendix1_answers, contact_id, raise_notice, sign_in, smtp_transport


def test_smtp_down_at_submit_then_exactly_one_message_per_recipient(
    app: Flask, client: FlaskClient, accounts, smtp
) -> None:
    smtp.stop()
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    notice_id, reference = raise_notice(
        client,
        appendix1_answers(
            contact_id(app, "Rochdale Children's Social Care"), contact_id(app, "Greater Manchester Police")
        ),
    )
    transport = smtp_transport(smtp.port)
    stop = threading.Event()
    # Two workers, as in a deployment with several: they must not both deliver a message.
    workers = [
        threading.Thread(
            target=run_worker,
            args=(session_factory(app), transport),
            kwargs={
                "stop": stop,
                "poll_seconds": 0.05,
                "worker_id": f"w{i}",
                "retry_base_seconds": 0.1,
                "retry_max_seconds": 0.4,
            },
            daemon=True,
        )
        for i in range(2)
    ]
    for w in workers:
        w.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with session_factory(app)() as db:
                attempts = [m.attempts for m in db.execute(select(OutboxMessage)).scalars()]
            if attempts and min(attempts) >= 2:
                break
            time.sleep(0.05)
        assert attempts and min(attempts) >= 2, "the worker did not keep retrying while SMTP was down"
        assert smtp.messages == []

        smtp.start()
        smtp.wait_for(2, timeout=15)
        time.sleep(1.0)  # let the workers run on: nothing more may arrive
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=5)

    recipients = Counter(m["To"].lower() for m in smtp.messages)
    with session_factory(app)() as db:
        rows = db.execute(select(OutboxMessage).where(OutboxMessage.notice_id == notice_id)).scalars().all()
    assert sorted(recipients) == sorted(r.to_address.lower() for r in rows)
    assert set(recipients.values()) == {1}
    assert all(r.status == "sent" and r.sent_at is not None for r in rows)
    assert all(reference in m["Subject"] for m in smtp.messages)
