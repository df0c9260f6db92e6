"""The notice page loads what it shows in a fixed number of statements: not one more per stage, PDF version,
message, piece of evidence or recipient the notice has (issue 11)."""

from __future__ import annotations

from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from portal.domain.models import Notice, NoticeRecipient, Role
from portal.services import conversation, evidence, transitions
from tests.helpers import Accounts, contact_id, csrf_from, sign_in, statements
from tests.services.builders import RAISING, TARGET, World

SECOND = "Greater Manchester Police"
# The most a reader's notice page may send: the session with its user, the notice with its data key and stages,
# its recipients, answers, evidence and PDF numbers, the timeline, and the audit of the read (10), and for the
# business unit its repeat checks (13).
MOST = 13


def page(app: Flask, client: FlaskClient, notice_id: str) -> tuple[int, str]:
    client.get(f"/notices/{notice_id}")  # the first request after signing in may refresh the session
    engine = app.extensions["portal.engine"]
    transactions: list[object] = []

    def began(connection: object) -> None:
        transactions.append(connection)

    event.listen(engine, "begin", began)
    try:
        with statements(app) as seen:
            response = client.get(f"/notices/{notice_id}")
    finally:
        event.remove(engine, "begin", began)
    assert response.status_code == 200
    # One transaction: the audit of the read is its last write and nothing reads after the commit (each extra
    # transaction is a BEGIN and a ROLLBACK more on PostgreSQL). These notices are of two children, so the business
    # unit's repeat check confirms nothing and commits nothing of its own.
    assert len(transactions) == 1
    return len(seen), response.text


def test_the_notice_page_sends_as_many_statements_for_a_long_history_as_for_a_new_notice(
    app: Flask, accounts: Accounts
) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    spoc = accounts.make(Role.SPOC, agency=TARGET)
    manager = accounts.make(Role.BUSINESS_MANAGER)
    # Two children, so that the business unit's repeat check finds neither notice from the other.
    new = world.raise_rochdale(raiser)
    busy = world.raise_rochdale(
        raiser,
        child_name="Olwen Marchbank",
        child_dob="2015-06-01",
        nhs_number="943 476 5919",
        sent_to_2=str(contact_id(app, SECOND)),
    )

    # The busy notice: responded to (a second PDF version), escalated (a second stage, more recipients and a third
    # version), messages from each side and evidence from each side at both stages.
    def grow(stage: int) -> None:
        for number, account in enumerate((raiser, spoc, manager)):
            with world.session() as db:
                user = world.user(db, account)
                conversation.post(db, world.services, user, busy.id, text=f"Message {number} at stage {stage}")
            with world.session() as db:
                user = world.user(db, account)
                evidence.attach(
                    db, world.services, user, busy.id, filename=f"minutes-{stage}-{number}.pdf", data=b"%PDF-1.7\n%x\n"
                )

    grow(3)
    with world.session() as db:
        transitions.respond(
            db, world.services, world.user(db, spoc), busy.id, response="Threshold not met", agreed_actions="Review"
        )
    with world.session() as db:
        transitions.escalate(
            db,
            world.services,
            world.user(db, raiser),
            busy.id,
            to_stage="stage-4",
            reason="No strategy discussion",
            immediate_risk=False,
            referral="",
            skip_reason="",
            chosen=[],
        )
    grow(4)
    with world.session() as db:
        held = db.get(Notice, busy.id)
        assert held is not None
        assert len(held.stages) == 2 and len({d.version for d in held.documents}) >= 3
        recipients = db.query(NoticeRecipient).filter_by(notice_id=busy.id).count()
    assert recipients > 2

    for reader, account in (("raiser", raiser), ("spoc", spoc), ("business unit", manager)):
        client = app.test_client()
        sign_in(client, app, account)
        at_new, _ = page(app, client, new.id)
        at_busy, html = page(app, client, busy.id)
        assert at_busy == at_new <= MOST, (reader, at_new)
        # Everything the busy notice holds is on its page.
        soup = BeautifulSoup(html, "html.parser")
        assert len(soup.select("#messages ~ .app-message")) == 6
        assert sum("minutes-" in a.text for a in soup.select("a.govuk-link")) == 6
        assert sum("Download version" in a.text for a in soup.select("a.govuk-link")) >= 3
        assert [h.text for h in soup.select("h3.govuk-heading-s") if h.text.startswith("Stage")] == [
            "Stage 3",
            "Stage 4",
        ]


def test_a_draft_form_page_sends_two_statements(app: Flask, accounts: Accounts) -> None:
    # The session with its user and their partnership (whose directory version says whether the choices cached per
    # process still stand), and the draft with its data key: the form page is nearly half of what is asked for.
    client = app.test_client()
    sign_in(client, app, accounts.make(Role.PRACTITIONER, agency=RAISING))
    start = client.get("/notices/new")
    draft = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(start.text)})
    url = draft.headers["Location"]
    client.get(url)
    with statements(app) as seen:
        assert client.get(url).status_code == 200
    assert len(seen) == 2, seen
    assert "JOIN data_key" in next(s for s in seen if "FROM notice_draft" in s)
