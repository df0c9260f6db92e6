"""Requests that collide keep the record true (issue: "safe when requests collide").

Each test sends real requests at once, through sockets, to the app served by a threaded server on loopback, on
SQLite or PostgreSQL as the suite runs. Every state change of a notice decides under the notice's lock; a
single-use code and every cap are claimed in one step; so exactly one request wins, the others get a clear
answer (never a 500), and nothing is recorded or sent twice.
"""

from __future__ import annotations

from collections import Counter

import pyotp
import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.domain.models import AuditEvent, Notice, NoticeEvent, NoticeStage, OutboxMessage, Role, User
from portal.web.database import session_factory
from tests.concurrency.live import Browser, at_once, browser_for, serving
from tests.helpers import Accounts, appendix1_answers, contact_id, csrf_from, raise_notice, sign_in

RAISING = "Rochdale Early Help and Safeguarding Hub"
TARGET = "Rochdale Children's Social Care"
CLOSURE = {
    "outcome_code": "resolved-by-agreement",
    "agreed_outcome": "Strategy discussion agreed",
    "written_confirmation": "Confirmed by e-mail between the managers",
    "impact_on_child": "The child is seen by the right service",
    "debrief": "yes",
    "learning_identified": "no",
}


def raised(app: Flask, accounts: Accounts) -> tuple[str, object, object]:
    """A Rochdale notice at Stage 3, with its raiser's and its SPOC's test clients signed in."""
    raiser, spoc = accounts.make(Role.PRACTITIONER, agency=RAISING), accounts.make(Role.SPOC, agency=TARGET)
    raiser_client, spoc_client = app.test_client(), app.test_client()
    sign_in(raiser_client, app, raiser)
    sign_in(spoc_client, app, spoc)
    notice_id, _ = raise_notice(raiser_client, appendix1_answers(contact_id(app, TARGET)))
    return notice_id, raiser_client, spoc_client


def notice_state(app: Flask, notice_id: str) -> tuple[str, list[tuple[str, str | None]], Counter[str]]:
    with session_factory(app)() as db:
        notice = db.get(Notice, notice_id)
        stages = [
            (s.stage, s.outcome)
            for s in db.scalars(
                select(NoticeStage).where(NoticeStage.notice_id == notice_id).order_by(NoticeStage.position)
            )
        ]
        kinds = Counter(db.scalars(select(NoticeEvent.kind).where(NoticeEvent.notice_id == notice_id)))
        return notice.status, stages, kinds


def mail_for(app: Flask, notice_id: str) -> list[tuple[str, str]]:
    with session_factory(app)() as db:
        rows = db.execute(
            select(OutboxMessage.to_address, OutboxMessage.subject).where(OutboxMessage.notice_id == notice_id)
        ).all()
    return [(row.to_address, row.subject) for row in rows]


def version_of(app: Flask, notice_id: str) -> int:
    with session_factory(app)() as db:
        return db.get(Notice, notice_id).version


def test_escalate_racing_close_leaves_one_true_record(app: Flask, accounts: Accounts) -> None:
    notice_id, raiser_client, spoc_client = raised(app, accounts)
    version = version_of(app, notice_id)
    with serving(app) as base:
        raiser, spoc = browser_for(app, base, None, raiser_client), browser_for(app, base, None, spoc_client)  # type: ignore[arg-type]
        escalate_token = raiser.csrf(f"/notices/{notice_id}/escalate")
        close_token = spoc.csrf(f"/notices/{notice_id}/close")
        before = len(mail_for(app, notice_id))
        escalate = {
            "csrf_token": escalate_token,
            "version": version,
            "stage": "stage-3",
            "immediate_risk": "no",
            "to_stage": "stage-4",
            "reason": "Still no strategy discussion",
        }
        close = {"csrf_token": close_token, "version": version, "stage": "stage-3", **CLOSURE}
        answers = at_once(
            [
                lambda: raiser.post(f"/notices/{notice_id}/escalate", escalate),
                lambda: spoc.post(f"/notices/{notice_id}/close", close),
            ]
        )
    assert sorted(a.status for a in answers) == [302, 409], [(a.status, a.body[:200]) for a in answers]
    loser = next(a for a in answers if a.status == 409)
    assert "This notice changed while you were working" in loser.body
    status, stages, kinds = notice_state(app, notice_id)
    if answers[0].status == 302:  # the escalation won
        assert status == "open" and stages == [("stage-3", "escalated"), ("stage-4", None)]
        assert kinds["escalated"] == 1 and kinds["closed"] == 0
    else:  # the closure won
        assert status == "closed" and stages == [("stage-3", "resolved")]
        assert kinds["closed"] == 1 and kinds["escalated"] == 0
    sent = mail_for(app, notice_id)[before:]
    assert sent and len(sent) == len(set(sent)), "an e-mail was queued twice"


def test_six_acknowledgements_at_once_record_one(app: Flask, accounts: Accounts) -> None:
    notice_id, _raiser_client, spoc_client = raised(app, accounts)
    with serving(app) as base:
        spoc = browser_for(app, base, None, spoc_client)  # type: ignore[arg-type]
        token = spoc.csrf(f"/notices/{notice_id}")
        data = {"csrf_token": token, "version": version_of(app, notice_id), "stage": "stage-3"}
        answers = at_once([lambda: spoc.post(f"/notices/{notice_id}/acknowledge", data)] * 6)
    assert [a.status for a in answers] == [302] * 6
    _status, _stages, kinds = notice_state(app, notice_id)
    assert kinds["acknowledged"] == 1


def test_four_responses_at_once_record_one_and_tell_the_rest(app: Flask, accounts: Accounts) -> None:
    notice_id, _raiser_client, spoc_client = raised(app, accounts)
    with serving(app) as base:
        spoc = browser_for(app, base, None, spoc_client)  # type: ignore[arg-type]
        data = {
            "csrf_token": spoc.csrf(f"/notices/{notice_id}/respond"),
            "version": version_of(app, notice_id),
            "stage": "stage-3",
            "response": "We do not agree",
            "agreed_actions": "",
        }
        before = len(mail_for(app, notice_id))
        answers = at_once([lambda: spoc.post(f"/notices/{notice_id}/respond", data)] * 4)
    assert sorted(a.status for a in answers) == [302, 409, 409, 409]
    _status, _stages, kinds = notice_state(app, notice_id)
    assert kinds["responded"] == 1
    sent = mail_for(app, notice_id)[before:]
    assert len(sent) == len(set(sent)) == 1  # the raiser is told once


def test_a_draft_sent_twenty_times_at_once_raises_one_notice(app: Flask, accounts: Accounts) -> None:
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    client = app.test_client()
    sign_in(client, app, raiser)
    page = client.get("/notices/new")
    draft_url = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    page = client.get(draft_url)
    answers = appendix1_answers(contact_id(app, TARGET))
    check_url = client.post(draft_url, data={**answers, "csrf_token": csrf_from(page.text)}).headers["Location"]
    with serving(app) as base:
        browser = browser_for(app, base, raiser, client)
        data = {"csrf_token": browser.csrf(check_url)}
        replies = at_once([lambda: browser.post(check_url, data)] * 20)
    assert {r.status for r in replies} == {302}, Counter(r.status for r in replies)
    assert len({r.location for r in replies}) == 1 and "/confirmation" in replies[0].location
    with session_factory(app)() as db:
        assert db.scalar(select(func.count()).select_from(Notice).where(Notice.raised_by_id == raiser.id)) == 1
        notice_id = db.scalar(select(Notice.id).where(Notice.raised_by_id == raiser.id))
    sent = mail_for(app, notice_id)
    # One to the chosen SPOC and one telling the raiser it went: each once.
    assert len(sent) == len(set(sent)) == 2
    assert raiser.email in {to for to, _subject in sent}


def half_signed_in(app: Flask, account: object, base: str) -> Browser:
    """A browser past the password step, waiting for its code."""
    client = app.test_client()
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": account.email, "password": account.password, "csrf_token": csrf_from(page.text)},  # type: ignore[attr-defined]
    )
    assert response.status_code == 302
    return browser_for(app, base, account, client)  # type: ignore[arg-type]


def test_one_totp_code_signs_in_one_session(app: Flask, accounts: Accounts) -> None:
    account = accounts.make(Role.PRACTITIONER, agency=RAISING)
    code = pyotp.TOTP(account.totp_secret).now()
    with serving(app) as base:
        browsers = [half_signed_in(app, account, base) for _ in range(6)]
        tokens = [b.csrf("/sign-in/code") for b in browsers]
        replies = at_once(
            [
                lambda b=b, t=t: b.post("/sign-in/code", {"code": code, "csrf_token": t})
                for b, t in zip(browsers, tokens, strict=True)
            ]
        )
    assert sorted(r.status for r in replies) == [200] * 5 + [302]
    with session_factory(app)() as db:
        outcomes = Counter(
            db.scalars(
                select(AuditEvent.outcome).where(AuditEvent.action == "sign_in.code", AuditEvent.actor_id == account.id)
            )
        )
    assert outcomes["ok"] == 1


def test_guesses_sent_at_once_meet_an_exact_cap(app: Flask, accounts: Accounts) -> None:
    account = accounts.make(Role.PRACTITIONER, agency=RAISING)
    with serving(app) as base:
        anonymous = app.test_client()
        page = anonymous.get("/sign-in")
        browser = browser_for(app, base, account, anonymous)
        token = csrf_from(page.text)
        guess = {"email": account.email, "password": "not the password", "csrf_token": token}
        replies = at_once([lambda: browser.post("/sign-in", guess)] * 24)
    assert {r.status for r in replies} == {200}
    with session_factory(app)() as db:
        outcomes = Counter(db.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "sign_in.password")))
        assert db.get(User, account.id).last_totp_step is None
    assert outcomes == Counter({"failed": 10, "throttled": 14})


def test_exports_asked_for_at_once_meet_an_exact_cap(app: Flask, accounts: Accounts) -> None:
    manager = accounts.make(Role.BUSINESS_MANAGER)
    with serving(app) as base:
        browser = browser_for(app, base, manager)
        replies = at_once([lambda: browser.get("/business/notices.csv")] * 14)
    assert Counter(r.status for r in replies) == Counter({200: 10, 429: 4})
    with session_factory(app)() as db:
        outcomes = Counter(db.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "notice.export")))
    assert outcomes == Counter({"ok": 10, "denied": 4})


@pytest.mark.parametrize("path", ["/notices/new", "/search"])
def test_a_file_sent_as_an_answer_is_refused_with_a_message(app: Flask, accounts: Accounts, path: str) -> None:
    client = app.test_client()
    sign_in(client, app, accounts.make(Role.PRACTITIONER, agency=RAISING))
    token = csrf_from(client.get(path).text)
    import io

    response = client.post(
        path,
        data={
            "csrf_token": token,
            "immediate_risk": (io.BytesIO(b"yes"), "risk.txt"),
            "nhs_number": (io.BytesIO(b"1"), "n.txt"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "There is a problem" in response.text
