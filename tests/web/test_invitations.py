"""Invitations over HTTP: a notice e-mailed to a directory contact with no account carries a single-use link
that makes a SPOC account for that contact's agency, sets up an authenticator and lands on the notice."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from portal import create_app
from portal.domain.models import (
    AuditEvent,
    DirectoryContact,
    Invitation,
    NoticeRecipient,
    OutboxMessage,
    Role,
    User,
    utcnow,
)
from portal.services import invitations
from portal.web.database import session_factory
from tests.helpers import (
    CANARY_NAME,
    CANARY_NARRATIVE,
    CANARY_NHS,
    appendix1_answers,
    contact_id,
    csrf_from,
    errors_on,
    raise_notice,
    sign_in,
)

RAISING = "Rochdale Early Help and Safeguarding Hub"
TARGET = "Rochdale Children's Social Care"
LINK = re.compile(r"http://portal\.test/invitation/([A-Za-z0-9_-]+)")
PASSWORD = "violet lantern orchard tide"


def _raise_to_target(app: Flask, client: FlaskClient, accounts) -> tuple[str, str]:
    sign_in(client, app, accounts.make(Role.PRACTITIONER, agency=RAISING))
    notice_id, _reference = raise_notice(client, appendix1_answers(contact_id(app, TARGET)))
    with session_factory(app)() as db:
        recipient = db.execute(select(NoticeRecipient)).scalars().first()
        return notice_id, recipient.email


def _mail_to(app: Flask, address: str) -> list[OutboxMessage]:
    with session_factory(app)() as db:
        return list(
            db.execute(
                select(OutboxMessage)
                .where(func.lower(OutboxMessage.to_address) == address.lower())
                .order_by(OutboxMessage.created_at)
            )
            .scalars()
            .all()
        )


def _token_from(message: OutboxMessage) -> str:
    found = LINK.search(message.body_text)
    assert found, message.body_text
    return found.group(1)


def _accept(client: FlaskClient, token: str, *, name: str = "Robin Newcomer", password: str = PASSWORD):
    page = client.get(f"/invitation/{token}")
    assert page.status_code == 200, page.text[:400]
    return client.post(
        f"/invitation/{token}",
        data={"name": name, "password": password, "confirm_password": password, "csrf_token": csrf_from(page.text)},
    )


def _main(html: str) -> str:
    main = BeautifulSoup(html, "html.parser").find("main")
    assert main is not None
    return main.get_text(" ", strip=True)


def _enrol(client: FlaskClient) -> str:
    page = client.get("/sign-in/set-up-2fa")
    assert page.status_code == 200
    secret = re.search(r"<code>([A-Z2-7 ]+)</code>", page.text).group(1).replace(" ", "")
    response = client.post(
        "/sign-in/set-up-2fa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 302, errors_on(response.text)
    return response.headers["Location"]


def test_a_contact_without_an_account_is_invited_and_lands_on_the_notice(
    app: Flask, client: FlaskClient, accounts
) -> None:
    notice_id, address = _raise_to_target(app, client, accounts)
    (mail,) = _mail_to(app, address)
    # The invitation link replaces the sign-in link; nothing about the child travels.
    assert "Set one up to read it" in mail.body_text and "Sign in to read it" not in mail.body_text
    for secret in (CANARY_NAME, CANARY_NHS, CANARY_NARRATIVE, "Zyxqoria"):
        assert secret not in mail.body_text and secret not in mail.subject
    token = _token_from(mail)
    assert len(token) >= 43  # 256 bits in URL-safe base64

    with session_factory(app)() as db:
        invitation = db.execute(select(Invitation)).scalar_one()
        # Only the hash is stored, bound to the address, partnership, agency and contact.
        assert invitation.token_hash == invitations.hash_token(token) and token not in invitation.token_hash
        assert invitation.email == address.lower() and invitation.agency.name == TARGET
        assert invitation.notice_id == notice_id
        assert timedelta(days=6, hours=23) < invitation.expires_at - invitation.created_at <= timedelta(days=7)

    newcomer = app.test_client()
    response = _accept(newcomer, token)
    assert response.status_code == 303 and response.headers["Location"].endswith("/sign-in/set-up-2fa")
    qr_page = newcomer.get("/sign-in/set-up-2fa")
    assert "<svg" in qr_page.text and "QR code to scan with your authenticator app" in qr_page.text
    assert "Step 2 of 2" in qr_page.text
    landing = _enrol(newcomer)
    assert landing == f"/notices/{notice_id}"
    page = newcomer.get(landing)
    assert page.status_code == 200 and CANARY_NAME in page.text

    with session_factory(app)() as db:
        user = db.execute(select(User).where(User.email == address.lower())).scalar_one()
        assert user.role == Role.SPOC.value and user.agency.name == TARGET and user.name == "Robin Newcomer"
        assert user.totp_confirmed_at is not None
        actions = set(db.execute(select(AuditEvent.action)).scalars())
        assert {"invitation.issued", "invitation.accepted", "sign_in.enrol"} <= actions


def test_a_used_link_an_expired_link_and_a_mistyped_link_get_clear_pages(
    app: Flask, client: FlaskClient, accounts
) -> None:
    _notice_id, address = _raise_to_target(app, client, accounts)
    token = _token_from(_mail_to(app, address)[0])

    mistyped = app.test_client().get(f"/invitation/{token[:-1]}")
    assert mistyped.status_code == 404 and "This invitation link is not right" in mistyped.text

    with session_factory(app)() as db:
        db.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    expired = app.test_client().get(f"/invitation/{token}")
    assert expired.status_code == 410 and "This invitation link has expired" in expired.text
    # A fresh link goes to the same address; the page says the same as for a mistyped link.
    stranger = app.test_client()
    page = stranger.get(f"/invitation/{token}")
    sent = stranger.post(f"/invitation/{token}/new-link", data={"csrf_token": csrf_from(page.text)})
    assert sent.status_code == 200 and "Check your email" in sent.text
    mails = _mail_to(app, address)
    assert len(mails) == 2
    fresh = _token_from(mails[1])
    assert fresh != token

    page = stranger.get(f"/invitation/{token[:-1]}")
    unknown = stranger.post(f"/invitation/{token[:-1]}/new-link", data={"csrf_token": csrf_from(page.text)})
    assert _main(unknown.text) == _main(sent.text) and unknown.status_code == sent.status_code

    assert _accept(app.test_client(), fresh).status_code == 303
    again = app.test_client().get(f"/invitation/{fresh}")
    assert again.status_code == 410 and "This invitation link has already been used" in again.text
    # Only one account, at the invited address.
    with session_factory(app)() as db:
        assert db.execute(select(User).where(User.email == address.lower())).scalar_one()


def test_the_link_opened_by_another_signed_in_user_is_refused(app: Flask, client: FlaskClient, accounts) -> None:
    _notice_id, address = _raise_to_target(app, client, accounts)
    token = _token_from(_mail_to(app, address)[0])
    # `client` is the raising practitioner, still signed in.
    page = client.get(f"/invitation/{token}")
    assert page.status_code == 409 and "You are signed in as someone else" in page.text
    posted = client.post(
        f"/invitation/{token}",
        data={"name": "X", "password": PASSWORD, "confirm_password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert posted.status_code == 409
    with session_factory(app)() as db:
        assert db.execute(select(User).where(User.email == address.lower())).scalar_one_or_none() is None


def test_passwords_are_long_and_not_common_with_no_composition_rules(app: Flask, client: FlaskClient, accounts) -> None:
    _notice_id, address = _raise_to_target(app, client, accounts)
    token = _token_from(_mail_to(app, address)[0])
    newcomer = app.test_client()
    short = _accept(newcomer, token, password="short pass")
    assert "Your password must be 12 characters or more" in errors_on(short.text)
    common = _accept(newcomer, token, password="password1234")
    assert any("too common" in e for e in errors_on(common.text))
    # Lower-case words only: no digit, capital or symbol is demanded.
    assert _accept(newcomer, token, password="orchard lantern violet").status_code == 303


def test_an_existing_account_at_the_address_gets_the_plain_sign_in_link(
    app: Flask, client: FlaskClient, accounts
) -> None:
    with session_factory(app)() as db:
        address = db.get(DirectoryContact, contact_id(app, TARGET)).email
    accounts.make(Role.SPOC, agency=TARGET, email=address)
    _notice_id, _address = _raise_to_target(app, client, accounts)
    (mail,) = _mail_to(app, address)
    assert "Sign in to read it" in mail.body_text and "/invitation/" not in mail.body_text
    with session_factory(app)() as db:
        assert db.execute(select(Invitation)).first() is None


def test_an_invitation_binds_the_account_whatever_the_form_says(app: Flask, client: FlaskClient, accounts) -> None:
    _notice_id, address = _raise_to_target(app, client, accounts)
    token = _token_from(_mail_to(app, address)[0])
    newcomer = app.test_client()
    page = newcomer.get(f"/invitation/{token}")
    newcomer.post(
        f"/invitation/{token}",
        data={
            "name": "Robin",
            "password": PASSWORD,
            "confirm_password": PASSWORD,
            "email": "someone.else@example.org",
            "role": "admin",
            "agency": "Greater Manchester Police",
            "csrf_token": csrf_from(page.text),
        },
    )
    with session_factory(app)() as db:
        (user,) = db.execute(select(User).where(User.name == "Robin")).scalars()
        assert (user.email, user.role, user.agency.name) == (address.lower(), "spoc", TARGET)


def test_invitation_expiry_is_configurable(app_config: dict) -> None:
    configured = create_app({**app_config, "INVITATION_DAYS": 2})
    try:
        assert configured.extensions["portal.services"].invitation_days == 2
    finally:
        configured.extensions["portal.engine"].dispose()
