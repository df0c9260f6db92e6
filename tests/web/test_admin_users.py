"""Administrators manage their partnership's users in the browser: list, filter, change, deactivate, reset 2FA."""

from __future__ import annotations

from bs4 import BeautifulSoup
from flask import Flask
from sqlalchemy import select

from portal.domain.models import AuditEvent, DirectoryContact, Invitation, OutboxMessage, Role, User, WebSession
from portal.web.database import session_factory
from tests.helpers import Accounts, appendix1_answers, contact_id, csrf_from, errors_on, raise_notice, sign_in


def _admin_client(app: Flask, accounts: Accounts, partnership: str = "rochdale"):  # type: ignore[no-untyped-def]
    client = app.test_client()
    admin = accounts.make(Role.ADMIN, partnership=partnership, name="Ada Admin")
    sign_in(client, app, admin)
    return client, admin


def _names(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [row.select("td")[0].get_text(strip=True) for row in soup.select("#users tbody tr")]


def test_the_admin_home_page_links_to_the_users_page(app: Flask, accounts: Accounts) -> None:
    client, _admin = _admin_client(app, accounts)
    page = client.get("/")
    assert "use the command-line tools" not in page.text
    for href in ("/admin/users", "/directory/", "/admin/audit", "/admin/keys"):
        assert f'href="{href}"' in page.text


def test_the_list_shows_only_the_partnership_and_filters_narrow_it(app: Flask, accounts: Accounts) -> None:
    client, _admin = _admin_client(app, accounts)
    accounts.make(Role.PRACTITIONER, name="Pat Practitioner", email="pat@rochdale.test")
    accounts.make(Role.SPOC, name="Sam Spoc", email="sam@rochdale.test")
    accounts.make(Role.BUSINESS_MANAGER, partnership="bolton", name="Bo Bolton")
    page = client.get("/admin/users")
    assert _names(page.text) == ["Ada Admin", "Pat Practitioner", "Sam Spoc"]
    assert _names(client.get("/admin/users?search=PAT@").text) == ["Pat Practitioner"]
    assert _names(client.get("/admin/users?role=spoc").text) == ["Sam Spoc"]
    # Only the admin has signed in; the others have not set up an authenticator either.
    assert _names(client.get("/admin/users?signed_in=7").text) == ["Ada Admin"]
    assert _names(client.get("/admin/users?signed_in=never").text) == ["Pat Practitioner", "Sam Spoc"]
    assert _names(client.get("/admin/users?two_factor=no").text) == ["Pat Practitioner", "Sam Spoc"]
    # A search term with LIKE wildcards matches them literally.
    assert _names(client.get("/admin/users?search=%25").text) == []


def test_the_list_is_paginated_fifty_a_page(app: Flask, accounts: Accounts) -> None:
    client, _admin = _admin_client(app, accounts)
    for n in range(55):
        accounts.make(Role.BUSINESS_MANAGER, name=f"User {n:02d}")
    first = client.get("/admin/users")
    assert len(_names(first.text)) == 50
    assert "Showing 1 to 50 of 56 users" in first.text
    second = client.get("/admin/users?page=2")
    assert len(_names(second.text)) == 6
    assert "Showing 51 to 56 of 56 users" in second.text


def test_another_partnerships_user_is_not_found(app: Flask, accounts: Accounts) -> None:
    client, _admin = _admin_client(app, accounts)
    other = accounts.make(Role.PRACTITIONER, partnership="bolton")
    assert client.get(f"/admin/users/{other.id}").status_code == 404
    page = client.get("/admin/users")
    response = client.post(f"/admin/users/{other.id}/deactivate", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 404
    with session_factory(app)() as db:
        assert db.get(User, other.id).is_active


def test_changing_role_and_agency_is_saved_and_audited(app: Flask, accounts: Accounts) -> None:
    client, admin = _admin_client(app, accounts)
    target = accounts.make(Role.PRACTITIONER, agency="Rochdale Children's Social Care")
    page = client.get(f"/admin/users/{target.id}")
    with session_factory(app)() as db:
        gmp = db.execute(select(User.agency_id).where(User.id == target.id)).scalar_one()
    # SPOC without an agency: refused beside the agency question, nothing changed.
    refused = client.post(
        f"/admin/users/{target.id}/role", data={"role": "spoc", "agency": "", "csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 200
    assert errors_on(refused.text) == ["Select the agency this single point of contact works for"]
    with session_factory(app)() as db:
        assert db.get(User, target.id).role == "practitioner"
    done = client.post(
        f"/admin/users/{target.id}/role", data={"role": "spoc", "agency": str(gmp), "csrf_token": csrf_from(page.text)}
    )
    assert done.status_code == 302
    with session_factory(app)() as db:
        assert db.get(User, target.id).role == "spoc"
        events = db.execute(select(AuditEvent).where(AuditEvent.object_id == str(target.id))).scalars().all()
        assert [(e.action, e.actor_id) for e in events] == [("admin.user_role_changed", admin.id)]
    assert "Role changed" in client.get(f"/admin/users/{target.id}").text


def test_an_admin_cannot_demote_or_deactivate_themself(app: Flask, accounts: Accounts) -> None:
    client, admin = _admin_client(app, accounts)
    page = client.get(f"/admin/users/{admin.id}")
    refused = client.post(
        f"/admin/users/{admin.id}/role", data={"role": "practitioner", "agency": "", "csrf_token": csrf_from(page.text)}
    )
    assert "You cannot change your own role" in refused.text
    refused = client.post(f"/admin/users/{admin.id}/deactivate", data={"csrf_token": csrf_from(page.text)})
    assert refused.status_code == 200 and "You cannot deactivate your own account" in refused.text
    with session_factory(app)() as db:
        assert db.get(User, admin.id).is_active and db.get(User, admin.id).role == "admin"


def test_deactivating_ends_the_users_sessions_and_reactivating_lets_them_back(app: Flask, accounts: Accounts) -> None:
    client, admin = _admin_client(app, accounts)
    target = accounts.make(Role.PRACTITIONER)
    theirs = app.test_client()
    sign_in(theirs, app, target)
    assert theirs.get("/").status_code == 200
    page = client.get(f"/admin/users/{target.id}/deactivate")
    assert "Deactivate Test Practitioner" in page.text
    response = client.post(f"/admin/users/{target.id}/deactivate", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    assert "deactivated" in client.get(response.headers["Location"]).text
    assert theirs.get("/").status_code == 302  # signed out
    with session_factory(app)() as db:
        assert not db.get(User, target.id).is_active
        assert db.execute(select(WebSession).where(WebSession.user_id == target.id)).first() is None
    assert _names(client.get("/admin/users?active=no").text) == ["Test Practitioner"]
    page = client.get(f"/admin/users/{target.id}/reactivate")
    client.post(f"/admin/users/{target.id}/reactivate", data={"csrf_token": csrf_from(page.text)})
    with session_factory(app)() as db:
        assert db.get(User, target.id).is_active
        actions = [
            (e.action, e.actor_id)
            for e in db.execute(
                select(AuditEvent).where(AuditEvent.object_type == "staff_user", AuditEvent.object_id == str(target.id))
            ).scalars()
        ]
    assert actions == [("admin.user_disabled", admin.id), ("admin.user_reactivated", admin.id)]
    sign_in(theirs, app, target)
    assert theirs.get("/").status_code == 200


def test_resetting_two_factor_clears_the_secret_and_ends_sessions(app: Flask, accounts: Accounts) -> None:
    client, admin = _admin_client(app, accounts)
    target = accounts.make(Role.SPOC)
    theirs = app.test_client()
    sign_in(theirs, app, target)
    page = client.get(f"/admin/users/{target.id}/reset-2fa")
    client.post(f"/admin/users/{target.id}/reset-2fa", data={"csrf_token": csrf_from(page.text)})
    with session_factory(app)() as db:
        user = db.get(User, target.id)
        assert user.totp_secret_ct is None and user.totp_confirmed_at is None
    assert theirs.get("/").status_code == 302
    assert "Two-factor authentication reset" in client.get(f"/admin/users/{target.id}").text


def test_sending_a_password_reset_mails_a_link_and_is_audited(app: Flask, accounts: Accounts) -> None:
    client, admin = _admin_client(app, accounts)
    target = accounts.make(Role.PRACTITIONER, email="forgetful@rochdale.test")
    page = client.get(f"/admin/users/{target.id}/send-password-reset")
    assert "Send Test Practitioner a password reset link?" in page.text
    response = client.post(f"/admin/users/{target.id}/send-password-reset", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    with session_factory(app)() as db:
        mails = db.execute(select(OutboxMessage).where(OutboxMessage.to_address == "forgetful@rochdale.test")).scalars()
        assert any("/sign-in/reset/" in m.body_text for m in mails)
        sent = db.execute(select(AuditEvent).where(AuditEvent.action == "admin.password_reset_sent")).scalar_one()
        assert (sent.actor_id, sent.object_id) == (admin.id, str(target.id))
    assert "Password reset link sent" in client.get(f"/admin/users/{target.id}").text


def test_pending_invitations_are_listed_resent_and_revoked(app: Flask, accounts: Accounts) -> None:
    # A notice to a contact with no account carries an invitation to the contact's address.
    raiser = app.test_client()
    sign_in(raiser, app, accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub"))
    target = contact_id(app, "Rochdale Children's Social Care")
    raise_notice(raiser, appendix1_answers(target))
    client, admin = _admin_client(app, accounts)
    with session_factory(app)() as db:
        address = db.get(DirectoryContact, target).email.lower()
        first = db.execute(select(Invitation).where(Invitation.email == address)).scalar_one()
    page = client.get("/admin/users")
    listed = BeautifulSoup(page.text, "html.parser").select_one("#invitation-list")
    assert address in listed.get_text()

    client.post(f"/admin/invitations/{first.id}/resend", data={"csrf_token": csrf_from(page.text)})
    with session_factory(app)() as db:
        found = db.execute(
            select(Invitation).where(Invitation.email == address).order_by(Invitation.created_at)
        ).scalars()
        old, new = list(found)
        assert old.revoked_at is not None and new.revoked_at is None and new.invited_by_id == admin.id
    assert "A new invitation is on its way" in client.get("/admin/users").text

    page = client.get("/admin/users")
    client.post(f"/admin/invitations/{new.id}/revoke", data={"csrf_token": csrf_from(page.text)})
    soup = BeautifulSoup(client.get("/admin/users").text, "html.parser")
    assert soup.select_one("#invitation-list") is None
    # Another partnership's administrator is told there is no such invitation.
    other = app.test_client()
    sign_in(other, app, accounts.make(Role.ADMIN, partnership="bolton"))
    token = csrf_from(other.get("/admin/users").text)
    assert other.post(f"/admin/invitations/{new.id}/resend", data={"csrf_token": token}).status_code == 404


def test_inviting_someone_sends_a_bound_invitation(app: Flask, accounts: Accounts) -> None:
    client, admin = _admin_client(app, accounts)
    accounts.make(Role.PRACTITIONER, email="taken@rochdale.test")
    page = client.get("/admin/users/invite")
    options = {o.get_text(): o["value"] for o in BeautifulSoup(page.text, "html.parser").select("#agency option")}
    gmp = options["Greater Manchester Police"]
    refused = client.post("/admin/users/invite", data={"csrf_token": csrf_from(page.text), "email": "", "agency": ""})
    assert errors_on(refused.text) == [
        "Enter the email address to send the invitation to",
        "Select the agency they will answer notices for",
    ]
    refused = client.post(
        "/admin/users/invite", data={"csrf_token": csrf_from(page.text), "email": "taken@rochdale.test", "agency": gmp}
    )
    assert errors_on(refused.text) == ["An account already exists at this address"]
    done = client.post(
        "/admin/users/invite", data={"csrf_token": csrf_from(page.text), "email": "new@gmp.example", "agency": gmp}
    )
    assert done.status_code == 302
    with session_factory(app)() as db:
        invitation = db.execute(select(Invitation)).scalar_one()
        assert (invitation.email, str(invitation.agency_id), invitation.invited_by_id) == (
            "new@gmp.example",
            gmp,
            admin.id,
        )
        mail = db.execute(select(OutboxMessage).where(OutboxMessage.to_address == "new@gmp.example")).scalar_one()
        assert "/invitation/" in mail.body_text
    assert "new@gmp.example" in client.get("/admin/users").text
