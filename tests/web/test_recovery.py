"""Problems signing in over HTTP: a forgotten password is reset by an e-mailed single-use link (the authenticator
code is still asked for, every session ends), a lost authenticator reaches the partnership's administrators;
both throttled, audited, and answered the same for known and unknown addresses."""

from __future__ import annotations

import re
from datetime import timedelta

from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from portal.domain.models import AuditEvent, OutboxMessage, PasswordReset, Role, WebSession, utcnow
from portal.services import recovery
from portal.web.database import session_factory
from tests.helpers import Account, csrf_from, errors_on, fresh_code, sign_in

LINK = re.compile(r"http://portal\.test/sign-in/reset/([A-Za-z0-9_-]+)")
NEW_PASSWORD = "harbour thistle copper moon"


def _main(html: str) -> str:
    main = BeautifulSoup(html, "html.parser").find("main")
    assert main is not None
    return main.get_text(" ", strip=True)


def _ask(client: FlaskClient, path: str, email: str):
    page = client.get(path)
    return client.post(path, data={"email": email, "csrf_token": csrf_from(page.text)})


def _mails(app: Flask, address: str) -> list[OutboxMessage]:
    with session_factory(app)() as db:
        return list(
            db.scalars(
                select(OutboxMessage)
                .where(func.lower(OutboxMessage.to_address) == address.lower())
                .order_by(OutboxMessage.created_at)
            )
        )


def _set(client: FlaskClient, token: str, password: str):
    page = client.get(f"/sign-in/reset/{token}")
    assert page.status_code == 200, page.status_code
    return client.post(
        f"/sign-in/reset/{token}",
        data={"password": password, "confirm_password": password, "csrf_token": csrf_from(page.text)},
    )


def test_a_forgotten_password_is_reset_by_a_single_use_link_and_the_code_is_still_asked(app: Flask, accounts) -> None:
    user = accounts.make(Role.SPOC)
    signed_in = app.test_client()
    sign_in(signed_in, app, user)
    assert signed_in.get("/").status_code == 200

    answer = _ask(app.test_client(), "/sign-in/forgotten-password", user.email)
    assert answer.status_code == 200 and "Check your email" in answer.text
    (mail,) = _mails(app, user.email)
    token = LINK.search(mail.body_text).group(1)
    assert len(token) >= 43
    with session_factory(app)() as db:
        stored = db.scalars(select(PasswordReset)).one()
        # Only the hash is kept; the link lasts the configured time.
        assert stored.token_hash == recovery.hash_token(token) and token not in stored.token_hash
        assert stored.expires_at - stored.created_at == timedelta(minutes=60)

    browser = app.test_client()
    assert any("too common" in e for e in errors_on(_set(browser, token, "qwertyuiop123").text))
    done = _set(browser, token, NEW_PASSWORD)
    assert done.status_code == 302 and done.headers["Location"].endswith("/sign-in")
    # Every session of the user has ended.
    assert signed_in.get("/").headers["Location"].endswith("/sign-in")
    with session_factory(app)() as db:
        assert db.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == user.id)) == 0

    # The same link again: refused with a clear page.
    again = app.test_client().get(f"/sign-in/reset/{token}")
    assert again.status_code == 410 and "This password reset link cannot be used" in again.text
    # The old password no longer works; the new one leads to the code step, not into the portal.
    page = browser.get("/sign-in")
    step = browser.post(
        "/sign-in", data={"email": user.email, "password": NEW_PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert step.headers["Location"].endswith("/sign-in/code")
    assert browser.get("/").headers["Location"].endswith("/sign-in")
    renewed = Account(user.id, user.email, NEW_PASSWORD, user.totp_secret)
    page = browser.get("/sign-in/code")
    entered = browser.post("/sign-in/code", data={"code": fresh_code(app, renewed), "csrf_token": csrf_from(page.text)})
    assert entered.status_code == 302 and browser.get("/").status_code == 200
    with session_factory(app)() as db:
        outcomes = list(db.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "account.password_reset")))
        assert outcomes == ["ok"]


def test_an_expired_reset_link_is_refused(app: Flask, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER)
    _ask(app.test_client(), "/sign-in/forgotten-password", user.email)
    token = LINK.search(_mails(app, user.email)[0].body_text).group(1)
    with session_factory(app)() as db:
        db.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    page = app.test_client().get(f"/sign-in/reset/{token}")
    assert page.status_code == 410 and "Ask for a new link" in page.text


def test_reset_requests_answer_the_same_for_known_and_unknown_addresses_and_are_throttled(app: Flask, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER)
    client = app.test_client()
    known = _ask(client, "/sign-in/forgotten-password", user.email)
    unknown = _ask(client, "/sign-in/forgotten-password", "nobody@rochdale.test")
    assert (known.status_code, _main(known.text)) == (unknown.status_code, _main(unknown.text))
    assert _mails(app, "nobody@rochdale.test") == []
    for _ in range(recovery.PER_ACCOUNT + 2):
        throttled = _ask(app.test_client(), "/sign-in/forgotten-password", user.email)
        assert _main(throttled.text) == _main(known.text)
    # Three links an hour at most, whoever asks.
    assert len(_mails(app, user.email)) == recovery.PER_ACCOUNT
    with session_factory(app)() as db:
        outcomes = list(db.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "account.reset_requested")))
    assert outcomes.count("sent") == recovery.PER_ACCOUNT and "unknown" in outcomes and "throttled" in outcomes
    # No table holds the address asked about.
    with session_factory(app)() as db:
        ids = list(db.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "account.reset_requested")))
    assert all("@" not in i for i in ids)


def test_a_lost_authenticator_reaches_the_partnership_administrators(app: Flask, accounts) -> None:
    user = accounts.make(Role.SPOC)
    admin = accounts.make(Role.ADMIN)
    other_admin = accounts.make(Role.ADMIN, partnership="bolton")
    client = app.test_client()
    known = _ask(client, "/sign-in/lost-authenticator", user.email)
    unknown = _ask(client, "/sign-in/lost-authenticator", "nobody@rochdale.test")
    assert known.status_code == 200 and "Your request has been sent" in known.text
    assert _main(known.text) == _main(unknown.text)
    (mail,) = _mails(app, admin.email)
    assert user.email in mail.body_text and "accounts reset-2fa" in mail.body_text
    assert _mails(app, other_admin.email) == []
    for _ in range(recovery.PER_ACCOUNT + 1):
        _ask(app.test_client(), "/sign-in/lost-authenticator", user.email)
    assert len(_mails(app, admin.email)) == recovery.PER_ACCOUNT
    with session_factory(app)() as db:
        outcomes = list(db.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "account.lost_authenticator")))
    assert outcomes.count("sent") == recovery.PER_ACCOUNT and "unknown" in outcomes and "throttled" in outcomes
