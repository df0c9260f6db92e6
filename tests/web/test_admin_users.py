"""Administrators manage their partnership's users in the browser: list, filter, change, deactivate, reset 2FA."""

from __future__ import annotations

from bs4 import BeautifulSoup
from flask import Flask
from sqlalchemy import select

from portal.domain.models import AuditEvent, Role, User, WebSession
from portal.web.database import session_factory
from tests.helpers import Accounts, csrf_from, errors_on, sign_in


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
