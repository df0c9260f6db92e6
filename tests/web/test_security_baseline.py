"""The security baseline: headers on every response, CSRF on every POST, sessions, route rules."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.domain.models import Role
from portal.web.access import ROLE_RULES
from tests.helpers import appendix1_answers, contact_id, csrf_from, raise_notice, sign_in


def assert_security_headers(response, *, cacheable: bool = False) -> None:  # type: ignore[no-untyped-def]
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{20,}'", csp)
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    if not cacheable:
        assert response.headers["Cache-Control"] == "no-store"


def test_every_route_has_an_access_rule(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "access_rule", None) in ROLE_RULES, f"{rule.rule} ({rule.endpoint}) has no access rule"


def test_no_route_takes_child_data_in_its_url(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        assert not (rule.arguments & {"name", "dob", "nhs_number", "child", "child_name"}), rule.rule


def test_headers_on_pages_errors_pdfs_and_static(app: Flask, client: FlaskClient, accounts) -> None:
    for path in ("/sign-in", "/no-such-page", "/health", "/accessibility"):
        assert_security_headers(client.get(path))
    with client.get("/static/js/init.mjs") as static:
        assert static.status_code == 200
        assert_security_headers(static, cacheable=True)
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    notice_id, _ = raise_notice(client, appendix1_answers(contact_id(app, "Rochdale Children's Social Care")))
    for path in ("/", f"/notices/{notice_id}", f"/notices/{notice_id}/pdf", "/notices/new"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response)


def test_scripts_carry_the_nonce_and_none_are_inline_without_it(client: FlaskClient) -> None:
    response = client.get("/sign-in")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script([^>]*)>", response.text)
    assert scripts
    assert all(f'nonce="{nonce}"' in attrs for attrs in scripts)


def test_post_without_csrf_token_is_refused_with_a_friendly_page(client: FlaskClient) -> None:
    response = client.post("/sign-in", data={"email": "a@b.test", "password": "x" * 12})
    assert response.status_code == 400
    assert "The page you were using has expired" in response.text


def test_session_cookie_is_httponly_samesite_and_rotates_at_sign_in(app: Flask, client: FlaskClient, accounts) -> None:
    client.get("/sign-in")
    before = client.get_cookie("portal_session")
    assert before is not None and before.http_only and before.same_site == "Lax"
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    after = client.get_cookie("portal_session")
    assert after.value != before.value
    # The old token is dead: replaying it is anonymous.
    replay = app.test_client()
    replay.set_cookie("portal_session", before.value)
    assert replay.get("/").status_code == 302


def test_idle_timeout_signs_out(app: Flask, client: FlaskClient, accounts, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    assert client.get("/").status_code == 200
    import portal.web.sessions as web_sessions
    from portal.domain.models import utcnow

    later = utcnow() + app.session_interface.idle + app.session_interface.idle / 10  # type: ignore[attr-defined]
    monkeypatch.setattr(web_sessions, "utcnow", lambda: later)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    assert "You were signed out because you had not used the portal" in client.get("/sign-in").text


def test_sign_out_ends_the_session(app: Flask, client: FlaskClient, accounts) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    token = client.get_cookie("portal_session").value
    page = client.get("/")
    response = client.post("/sign-out", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"]
    replay = app.test_client()
    replay.set_cookie("portal_session", token)
    assert replay.get("/").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(app: Flask, client: FlaskClient, accounts) -> None:
    account = accounts.make(Role.PRACTITIONER)
    answers = []
    for email, password in ((account.email, "wrong-password-123"), ("nobody@rochdale.test", "wrong-password-123")):
        page = client.get("/sign-in")
        started = time.perf_counter()
        response = client.post(
            "/sign-in", data={"email": email, "password": password, "csrf_token": csrf_from(page.text)}
        )
        answers.append(
            (response.status_code, re.sub(r'(value|nonce)="[^"]*"', "", response.text), time.perf_counter() - started)
        )
    assert answers[0][0] == answers[1][0] == 200
    assert answers[0][1] == answers[1][1]


def test_a_totp_code_works_once(app: Flask, client: FlaskClient, accounts) -> None:
    import pyotp

    account = accounts.make(Role.PRACTITIONER)
    sign_in(client, app, account)
    code = pyotp.TOTP(account.totp_secret).now()
    other = app.test_client()
    page = other.get("/sign-in")
    other.post(
        "/sign-in", data={"email": account.email, "password": account.password, "csrf_token": csrf_from(page.text)}
    )
    page = other.get("/sign-in/code")
    # Either this code's step was used by the first sign-in, or it is new and works once; never twice.
    first = other.post("/sign-in/code", data={"code": code, "csrf_token": csrf_from(page.text)})
    if first.status_code == 302:
        third = app.test_client()
        page = third.get("/sign-in")
        third.post(
            "/sign-in", data={"email": account.email, "password": account.password, "csrf_token": csrf_from(page.text)}
        )
        page = third.get("/sign-in/code")
        first = third.post("/sign-in/code", data={"code": code, "csrf_token": csrf_from(page.text)})
    assert first.status_code == 200
    assert "has been used" in first.text
