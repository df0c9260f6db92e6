"""Property 25: a honey-token (bait) notice raises an alarm through every route that reaches it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from portal.domain.models import AuditEvent, Notice, OutboxMessage, Role
from portal.services import honeytoken
from portal.services.runtime import HONEYTOKEN_FILE, load_honeytokens
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import Accounts, appendix1_answers, contact_id, raise_notice, sign_in

SECURITY = "security.team@partnership.test"


def test_honey_token_record_alarm(
    app: Flask, accounts: Accounts, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    services = portal_services(app)
    with session_factory(app)() as db:
        bait_id = honeytoken.plant(db, services, tmp_path, "rochdale")
    # The id is kept beside the keys, not in the database; the web workers load it at start.
    assert (tmp_path / HONEYTOKEN_FILE).exists() and load_honeytokens(tmp_path) == {bait_id}
    services.honeytokens = load_honeytokens(tmp_path)
    services.security_alert_email = SECURITY
    with session_factory(app)() as db:
        bait = db.get(Notice, bait_id)
        assert bait is not None and bait.reference.startswith("ROC-") and not bait.raised_by.is_active
        bait_reference = bait.reference

    raiser = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    bm, spoc = accounts.make(Role.BUSINESS_MANAGER), accounts.make(Role.SPOC, agency="Rochdale Children's Social Care")
    clients = {name: app.test_client() for name in ("raiser", "bm", "spoc")}
    for name, account in (("raiser", raiser), ("bm", bm), ("spoc", spoc)):
        sign_in(clients[name], app, account)
    real_id, real_reference = raise_notice(
        clients["raiser"], appendix1_answers(contact_id(app, "Rochdale Children's Social Care"))
    )

    # No legitimate path leads to it: not in the business unit's list, not in its export.
    listing = clients["bm"].get("/business/notices").get_data(as_text=True)
    assert real_reference in listing and bait_reference not in listing
    export = clients["bm"].get("/business/notices.csv").get_data(as_text=True)
    assert real_reference in export and bait_reference not in export
    # Reading a real notice raises nothing.
    assert clients["bm"].get(f"/notices/{real_id}").status_code == 200

    routes = [
        ("bm", "get", f"/notices/{bait_id}"),
        ("bm", "get", f"/notices/{bait_id}/pdf?version=1"),
        ("spoc", "get", f"/notices/{bait_id}"),
        ("raiser", "get", f"/notices/{bait_id}/escalate"),
        ("bm", "get", f"/notices/{bait_id}/close"),
    ]
    caplog.set_level(logging.CRITICAL, logger="portal.security")
    for who, method, url in routes:
        response = getattr(clients[who], method)(url)
        assert response.status_code == 404, url  # answered as for a notice that is not there
    with session_factory(app)() as db:
        alerts = (
            db.execute(select(AuditEvent).where(AuditEvent.action == "honeytoken.touched").order_by(AuditEvent.seq))
            .scalars()
            .all()
        )
        assert [(a.outcome, a.object_id) for a in alerts] == [("alert", bait_id)] * len(routes)
        assert [a.actor_id for a in alerts] == [bm.id, bm.id, spoc.id, raiser.id, bm.id]
        mail = db.execute(select(OutboxMessage).where(OutboxMessage.to_address == SECURITY)).scalars().all()
        assert len(mail) == len(routes) and all("honey-token" in m.subject for m in mail)
        # The alarm names who and where, never what the bait holds.
        assert all(bait_reference not in m.body_text for m in mail)
    critical = [r for r in caplog.records if r.name == "portal.security" and r.levelno == logging.CRITICAL]
    assert len(critical) == len(routes)
