"""Accounts and sessions, named after docs/threats.md#properties 16 (brute-force controls that do not
enumerate users), 17 (MFA mandatory and replay-proof), 18 (session lifecycle) and 19 (timeout warning)."""

from __future__ import annotations

import hashlib
import hmac
import re
import statistics
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pyotp
import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import portal.web.sessions as web_sessions
from portal.domain.models import AuditEvent, Role, User, WebSession, utcnow
from portal.services import accounts as account_service
from portal.services import audit, throttle
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from portal.web.views import account as account_module
from portal.web.views.auth import CODE_FAILED, ENROL_FAILED, FAILED
from tests.helpers import Account, csrf_from, fresh_code, sign_in, statements

STEP = 30


@pytest.fixture
def app(app: Flask) -> Flask:
    """The conftest app, with the account blueprint registered until portal/__init__.py does it."""
    if "account.password" not in app.view_functions:
        app.register_blueprint(account_module.bp)
    return app


# -- helpers ---------------------------------------------------------------------------------------------


def client_from(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(client: FlaskClient, email: str, password: str):  # type: ignore[no-untyped-def]
    page = client.get("/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": csrf_from(page.text)})


def enter_code(client: FlaskClient, code: str, path: str = "/sign-in/code"):  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200, page.headers.get("Location")
    return client.post(path, data={"code": code, "csrf_token": csrf_from(page.text)})


def comparable(html: str) -> str:
    """A page with its per-request values (CSRF tokens, nonces, the echoed e-mail address) blanked."""
    return re.sub(r'(value|nonce)="[^"]*"', "", html)


def wrong_code(secret: str) -> str:
    """A 6-digit code that is not valid for any step in the current window."""
    current = int(time.time() // STEP)
    valid = {pyotp.TOTP(secret).at(s * STEP) for s in range(current - 2, current + 4)}
    return next(c for c in (f"{n:06d}" for n in range(123456, 999999, 7919)) if c not in valid)


def audit_rows(app: Flask, *actions: str) -> list[AuditEvent]:
    with session_factory(app)() as db:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if actions:
            query = query.where(AuditEvent.action.in_(actions))
        return list(db.execute(query).scalars())


def user_row(app: Flask, user_id: int) -> User:
    with session_factory(app)() as db:
        return db.get(User, user_id)


def session_count(app: Flask, user_id: int) -> int:
    with session_factory(app)() as db:
        return db.execute(select(func.count()).select_from(WebSession).where(WebSession.user_id == user_id)).scalar()


def identifier(app: Flask, email: str) -> str:
    key = portal_services(app).keyring.audit_key
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, datetime]]:
    """Move the throttle's idea of now, and the time audit rows are stamped with, together."""
    state = {"now": utcnow()}
    monkeypatch.setattr(throttle, "utcnow", lambda: state["now"])
    monkeypatch.setattr(audit, "utcnow", lambda: state["now"])
    yield state


# -- property 16: brute-force controls that do not enumerate users ----------------------------------------


def test_brute_force_controls_do_not_enumerate_users(app: Flask, accounts) -> None:
    known = accounts.make(Role.PRACTITIONER)
    unknown = "nobody.here@rochdale.test"
    throttled_pages = []
    for n, email in enumerate((known.email, unknown)):
        client = client_from(app, f"198.51.100.{n + 1}")
        for _ in range(throttle.MAX_FAILURES):
            response = attempt(client, email, "wrong-password-123")
            assert response.status_code == 200
            assert FAILED in response.text and "Wait 5 minutes" not in response.text
        # The 11th attempt is refused, with the right password as with a wrong one.
        for password in ([known.password] if email == known.email else []) + ["wrong-password-456"]:
            response = attempt(client, email, password)
            assert response.status_code == 200
            assert "Wait 5 minutes and try again" in response.text
            throttled_pages.append(comparable(response.text))
    # Known (right password), known (wrong password) and unknown: the same page.
    assert len(throttled_pages) == 3 and len(set(throttled_pages)) == 1
    # The throttle is on the account, not the address: a fresh address does not help.
    response = attempt(client_from(app, "198.51.100.9"), known.email, known.password)
    assert "Wait 5 minutes and try again" in response.text
    # No global lockout: someone else, from another address, signs in as normal.
    assert sign_in(client_from(app, "192.0.2.50"), app, accounts.make(Role.SPOC)) == "/"


def test_brute_force_controls_count_unknown_addresses_by_keyed_hash_and_audit_every_attempt(
    app: Flask, accounts
) -> None:
    known = accounts.make(Role.PRACTITIONER)
    client = client_from(app, "198.51.100.7")
    # Case and spaces do not make a new identifier.
    for email in ("Nobody@Rochdale.test", " nobody@rochdale.test ", known.email):
        attempt(client, email, "wrong-password-123")
    rows = audit_rows(app, "sign_in.password")
    assert [r.object_type for r in rows] == ["sign_in"] * 3
    assert [r.object_id for r in rows] == [identifier(app, "nobody@rochdale.test")] * 2 + [identifier(app, known.email)]
    assert all(r.outcome == "failed" and r.remote_addr == "198.51.100.7" for r in rows)
    assert rows[2].actor_id == known.id and rows[0].actor_id is None
    # The unknown address itself is stored nowhere in the audit trail.
    for row in audit_rows(app):
        assert "nobody" not in f"{row.object_id}{row.object_type}{row.action}{row.remote_addr}".lower()


def test_brute_force_controls_throttle_an_address_without_a_global_lockout(app: Flask, accounts) -> None:
    victim = accounts.make(Role.PRACTITIONER)
    sprayer = client_from(app, "203.0.113.9")
    for n in range(throttle.MAX_FAILURES):
        response = attempt(sprayer, f"guess{n}@rochdale.test", "Summer2026!!")
        assert FAILED in response.text
    # The address is throttled, even for a real account with its right password.
    response = attempt(sprayer, victim.email, victim.password)
    assert response.status_code == 200 and "Wait 5 minutes and try again" in response.text
    # The same account from another address is not: no account was guessed at ten times.
    response = attempt(client_from(app, "203.0.113.10"), victim.email, victim.password)
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in/code")
    outcomes = [r.outcome for r in audit_rows(app, "sign_in.password")]
    assert outcomes == ["failed"] * throttle.MAX_FAILURES + ["throttled", "ok"]


def test_brute_force_controls_count_wrong_codes_too(app: Flask, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER)
    client = client_from(app, "198.51.100.20")
    response = attempt(client, user.email, user.password)
    assert response.headers["Location"].endswith("/sign-in/code")
    for _ in range(throttle.MAX_FAILURES - 1):
        response = enter_code(client, wrong_code(user.totp_secret))
        assert CODE_FAILED in response.text
    response = attempt(client_from(app, "198.51.100.21"), user.email, "wrong-password-123")
    assert FAILED in response.text  # 9 codes + 1 password = 10 failures for the account
    # Now even the right code is refused, and not consumed.
    response = enter_code(client, fresh_code(app, user))
    assert response.status_code == 200 and "Wait 5 minutes and try again" in response.text
    assert user_row(app, user.id).last_totp_step is None
    assert client.get("/").status_code == 302
    assert [r.outcome for r in audit_rows(app, "sign_in.code")][-1] == "throttled"


def test_brute_force_throttle_lasts_five_minutes_and_refusals_do_not_extend_it(
    app: Flask, accounts, clock: dict[str, datetime]
) -> None:
    user = accounts.make(Role.PRACTITIONER)
    client = client_from(app, "198.51.100.30")
    start = clock["now"]
    for _ in range(throttle.MAX_FAILURES):
        attempt(client, user.email, "wrong-password-123")
    # Four minutes on, ten more tries are all refused (and recorded as throttled, not failed).
    clock["now"] = start + timedelta(minutes=4)
    for _ in range(throttle.MAX_FAILURES):
        assert "Wait 5 minutes" in attempt(client, user.email, user.password).text
    # Once the first failures are five minutes old the right password works again.
    clock["now"] = start + throttle.WINDOW + timedelta(seconds=1)
    response = attempt(client, user.email, user.password)
    assert response.status_code == 302, response.text[:300]


def test_brute_force_controls_take_the_same_time_for_unknown_users(
    app: Flask, accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wrong password for a real account vs an unknown address: the same work (one Argon2 verification)."""
    monkeypatch.setattr(throttle, "MAX_FAILURES", 10**9)  # measure the unthrottled path throughout
    known = accounts.make(Role.PRACTITIONER)
    client = client_from(app, "198.51.100.40")
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for n in range(25):
        for kind, email in (("known", known.email), ("unknown", f"nobody{n}@rochdale.test")):
            page = client.get("/sign-in")
            data = {"email": email, "password": "wrong-password-123", "csrf_token": csrf_from(page.text)}
            started = time.perf_counter()
            response = client.post("/sign-in", data=data)
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 200
    known_median, unknown_median = (statistics.median(timings[k]) for k in ("known", "unknown"))
    # Loose bound: the run shares the machine with other tests; the report gives a quieter measurement.
    assert abs(known_median - unknown_median) < max(0.35 * known_median, 0.004), timings


# -- property 17: MFA is mandatory and replay-proof -----------------------------------------------------


def test_mfa_is_mandatory_and_replay_proof(app: Flask, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER)
    # The password alone reaches no page that needs a signed-in user.
    half = app.test_client()
    assert attempt(half, user.email, user.password).status_code == 302
    assert half.get("/").status_code == 302
    assert half.post("/session/keep-alive").status_code in (302, 400)

    current = int(time.time() // STEP)
    used = pyotp.TOTP(user.totp_secret).at((current + 1) * STEP)
    first = app.test_client()
    attempt(first, user.email, user.password)
    assert enter_code(first, used).status_code == 302
    assert first.get("/").status_code == 200

    # The same code again is refused...
    again = app.test_client()
    attempt(again, user.email, user.password)
    response = enter_code(again, used)
    assert response.status_code == 200 and CODE_FAILED in response.text
    # ...and so is an unused code from an earlier step that is still inside the window.
    earlier = pyotp.TOTP(user.totp_secret).at(current * STEP)
    assert earlier != used
    response = enter_code(again, earlier)
    assert response.status_code == 200 and CODE_FAILED in response.text
    assert again.get("/").status_code == 302
    assert user_row(app, user.id).last_totp_step == current + 1


def test_mfa_replay_rules_at_the_service(app: Flask, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER)
    keyring = portal_services(app).keyring
    now = time.time()
    step = int(now // STEP)
    totp = pyotp.TOTP(user.totp_secret)
    with session_factory(app)() as db:
        row = db.get(User, user.id)
        assert account_service.check_totp(db, keyring, row, totp.at(step * STEP), now=now)
        assert not account_service.check_totp(db, keyring, row, totp.at(step * STEP), now=now)  # replay
        assert not account_service.check_totp(db, keyring, row, totp.at((step - 1) * STEP), now=now)  # earlier step
        assert not account_service.check_totp(db, keyring, row, totp.at((step + 2) * STEP), now=now)  # outside window
        assert account_service.check_totp(
            db, keyring, row, f" {totp.at((step + 1) * STEP)[:3]} {totp.at((step + 1) * STEP)[3:]}", now=now
        )  # spaces are ignored
        assert row.last_totp_step == step + 1


def test_mfa_enrolment_after_an_admin_reset_needs_a_valid_code(app: Flask, accounts) -> None:
    user = accounts.make(Role.SPOC)
    admin = accounts.make(Role.ADMIN)
    signed_in = app.test_client()
    sign_in(signed_in, app, user)
    with session_factory(app)() as db:
        ended = account_service.reset_totp(db, portal_services(app), admin.id, db.get(User, user.id))
    assert ended == 1
    assert signed_in.get("/").status_code == 302
    row = user_row(app, user.id)
    assert row.totp_secret_ct is None and row.totp_confirmed_at is None
    reset = audit_rows(app, "admin.totp_reset")[-1]
    assert (reset.actor_id, reset.object_id, reset.outcome) == (admin.id, str(user.id), "ok")

    # Not reachable without the password step; the old secret is useless.
    client = app.test_client()
    assert client.get("/sign-in/set-up-2fa").status_code == 302
    response = attempt(client, user.email, user.password)
    assert response.headers["Location"].endswith("/sign-in/set-up-2fa")
    assert client.get("/sign-in/code").headers["Location"].endswith("/sign-in/set-up-2fa")

    page = client.get("/sign-in/set-up-2fa")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    grouped = soup.select_one(".app-totp-secret code").get_text()
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", grouped)
    secret = grouped.replace(" ", "")
    assert secret != user.totp_secret
    uri = soup.select_one(".app-totp-uri code").get_text()
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    # The same secret is shown again until it is confirmed; it is not stored in plaintext anywhere.
    assert grouped in client.get("/sign-in/set-up-2fa").text
    with session_factory(app)() as db:
        for data in db.execute(select(WebSession.data)).scalars():
            assert secret not in str(data)

    # A wrong code (or the old authenticator's code) does not confirm it.
    for code in (wrong_code(secret), pyotp.TOTP(user.totp_secret).now()):
        response = enter_code(client, code, "/sign-in/set-up-2fa")
        assert response.status_code == 200 and ENROL_FAILED in response.text
    assert user_row(app, user.id).totp_secret_ct is None
    assert client.get("/").status_code == 302

    response = enter_code(client, pyotp.TOTP(secret).now(), "/sign-in/set-up-2fa")
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200 and "Your authenticator app is set up" in home.text
    row = user_row(app, user.id)
    assert row.totp_confirmed_at is not None and secret.encode() not in row.totp_secret_ct
    assert [r.outcome for r in audit_rows(app, "sign_in.enrol")] == ["failed", "failed", "ok"]
    # From now on the new authenticator is the one that works.
    new = Account(user.id, user.email, user.password, secret)
    assert sign_in(app.test_client(), app, new) == "/"


def test_mfa_reset_and_disable_need_an_admin_of_the_same_partnership(app: Flask, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER)
    colleague = accounts.make(Role.BUSINESS_MANAGER)
    other_admin = accounts.make(Role.ADMIN, partnership="bolton")
    services = portal_services(app)
    for actor in (colleague.id, other_admin.id, user.id):
        for change in (account_service.reset_totp, account_service.disable_user):
            with session_factory(app)() as db:
                with pytest.raises(account_service.AccountError):
                    change(db, services, actor, db.get(User, user.id))
    row = user_row(app, user.id)
    assert row.is_active and row.totp_secret_ct is not None
    denied = audit_rows(app, "admin.totp_reset", "admin.user_disabled")
    assert len(denied) == 6 and {r.outcome for r in denied} == {"denied"}


# -- property 18: session lifecycle -----------------------------------------------------------------------


def test_session_lifecycle_new_token_at_each_sign_in_step(app: Flask, client: FlaskClient, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER)
    client.get("/sign-in")
    anonymous = client.get_cookie("portal_session").value
    attempt(client, user.email, user.password)
    half = client.get_cookie("portal_session").value
    enter_code(client, fresh_code(app, user))
    full = client.get_cookie("portal_session").value
    assert len({anonymous, half, full}) == 3
    assert len(full) >= 43  # token_urlsafe(32): 256 bits
    for old in (anonymous, half):
        replay = app.test_client()
        replay.set_cookie("portal_session", old)
        assert replay.get("/").status_code == 302
    with session_factory(app)() as db:
        ids = set(db.execute(select(WebSession.id)).scalars())
    # The table holds SHA-256 of the token, never the token.
    assert full not in ids and hashlib.sha256(full.encode()).hexdigest() in ids


def test_session_lifecycle_absolute_timeout(
    app: Flask, client: FlaskClient, accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    interface = app.session_interface
    interface.idle = timedelta(hours=24)  # type: ignore[attr-defined]  # keep the idle timeout out of the way
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    start = utcnow()
    monkeypatch.setattr(web_sessions, "utcnow", lambda: start + interface.absolute - timedelta(minutes=1))  # type: ignore[attr-defined]
    assert client.get("/").status_code == 200  # in use all along: still signed in
    monkeypatch.setattr(web_sessions, "utcnow", lambda: start + interface.absolute + timedelta(minutes=1))  # type: ignore[attr-defined]
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    assert "You were signed out because" in client.get("/sign-in").text


def change_password(client: FlaskClient, current: str, new: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get("/account/password")
    assert page.status_code == 200
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
            "csrf_token": csrf_from(page.text),
        },
    )


def test_session_lifecycle_password_change_ends_every_session(app: Flask, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER)
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, app, user)
    sign_in(elsewhere, app, user)
    # Someone half way through signing in with the old password (they would still need a code).
    half = app.test_client()
    attempt(half, user.email, user.password)
    half_page = half.get("/sign-in/code")
    here_token = here.get_cookie("portal_session").value
    assert session_count(app, user.id) == 2

    new_password = "correct horse battery staple 2026"
    response = change_password(here, user.password, new_password)
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    assert response.headers["Clear-Site-Data"]
    page = here.get("/sign-in")
    assert "Your password has been changed and you have been signed out everywhere" in page.text
    assert session_count(app, user.id) == 0
    for client in (here, elsewhere):
        assert client.get("/").status_code == 302
    replay = app.test_client()
    replay.set_cookie("portal_session", here_token)
    assert replay.get("/").status_code == 302
    # The half-signed-in session is void too: a right code now sends it back to the start.
    assert half.get("/sign-in/code").headers["Location"].endswith("/sign-in")
    response = half.post("/sign-in/code", data={"code": fresh_code(app, user), "csrf_token": csrf_from(half_page.text)})
    assert response.status_code in (302, 400) and response.headers.get("Location", "/sign-in").endswith("/sign-in")
    assert half.get("/").status_code == 302

    assert FAILED in attempt(app.test_client(), user.email, user.password).text
    assert attempt(app.test_client(), user.email, new_password).status_code == 302
    changed = audit_rows(app, "account.password_changed")
    assert [(r.actor_id, r.outcome) for r in changed] == [(user.id, "ok")]


def test_session_lifecycle_password_change_explains_each_problem_beside_its_field(app: Flask, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER)
    client = app.test_client()
    sign_in(client, app, user)
    cases = [
        (("", "", ""), {"current_password": "Enter your current password", "new_password": "Enter a new password"}),
        ((user.password, "too short", "too short"), {"new_password": "must be 12 characters or more"}),
        ((user.password, "x" * 257, "x" * 257), {"new_password": "must be 256 characters or fewer"}),
        ((user.password, "a long new password", "a different one"), {"confirm_password": "do not match"}),
        (("not my password", "a long new password", None), {"current_password": "current password is not right"}),
        ((user.password, user.password, None), {"new_password": "must be different from your current password"}),
        # On the list of common passwords (issue 9): long enough, still refused.
        ((user.password, "password1234", None), {"new_password": "too common and easy to guess"}),
    ]
    for (current, new, confirm), expected in cases:
        response = change_password(client, current, new, confirm)
        assert response.status_code == 200
        soup = BeautifulSoup(response.text, "html.parser")
        assert response.text.count("There is a problem") == 1
        for field, message in expected.items():
            error = soup.select_one(f"#{field}-error")
            assert error is not None and message in error.get_text(), (field, response.text[:2000])
    # Nothing changed and the user is still signed in.
    assert client.get("/").status_code == 200
    assert FAILED not in attempt(app.test_client(), user.email, user.password).text


def test_session_lifecycle_wrong_current_password_counts_towards_the_throttle(app: Flask, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER)
    client = app.test_client()
    sign_in(client, app, user)
    for _ in range(throttle.MAX_FAILURES):
        response = change_password(client, "not my password!", "a long new password")
        assert "current password is not right" in response.text
    response = change_password(client, user.password, "a long new password")
    assert "Wait 5 minutes and try again" in response.text
    assert "Wait 5 minutes and try again" in attempt(app.test_client(), user.email, user.password).text


def test_session_lifecycle_disabling_a_user_ends_their_sessions_and_sign_in(app: Flask, accounts) -> None:
    user = accounts.make(Role.SPOC)
    admin = accounts.make(Role.ADMIN)
    client = app.test_client()
    sign_in(client, app, user)
    with session_factory(app)() as db:
        assert account_service.disable_user(db, portal_services(app), admin.id, db.get(User, user.id)) == 1
    assert client.get("/").status_code == 302
    # A disabled account answers exactly like a wrong password.
    right = attempt(client_from(app, "198.51.100.60"), user.email, user.password)
    wrong = attempt(client_from(app, "198.51.100.61"), user.email, "wrong-password-123")
    assert right.status_code == wrong.status_code == 200
    assert comparable(right.text) == comparable(wrong.text)
    assert [(r.actor_id, r.outcome) for r in audit_rows(app, "admin.user_disabled")] == [(admin.id, "ok")]


def test_a_request_reads_its_session_and_who_signed_in_together_and_still_checks_them(app: Flask, accounts) -> None:
    user = accounts.make(Role.SPOC)
    client = app.test_client()
    sign_in(client, app, user)
    client.get("/")  # the first request after signing in may refresh the session
    with statements(app) as seen:
        assert client.get("/").status_code == 200
    # One statement reads the session with its user, their partnership and agency; none reads the user again.
    touching = [s for s in seen if "staff_user" in s]
    assert len(touching) == 1 and "web_session" in touching[0] and "partnership" in touching[0], touching
    # Read with the session or not, an account switched off behind a live session is signed out at once.
    with session_factory(app)() as db:
        db.get(User, user.id).is_active = False  # type: ignore[union-attr]
        db.commit()
    answer = client.get("/")
    assert answer.status_code == 302 and "/sign-in" in answer.headers["Location"]


def test_session_lifecycle_cli_reset_2fa_and_disable(app: Flask, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER)
    client = app.test_client()
    sign_in(client, app, user)
    runner = app.test_cli_runner()

    result = runner.invoke(args=["accounts", "reset-2fa", user.email.upper()])
    assert result.exit_code == 0, result.output
    assert f"Reset 2FA for {user.email}: ended 1 session(s)" in result.output
    assert client.get("/").status_code == 302
    assert user_row(app, user.id).totp_secret_ct is None

    sign_in_again = app.test_client()
    assert attempt(sign_in_again, user.email, user.password).headers["Location"].endswith("/sign-in/set-up-2fa")
    result = runner.invoke(args=["accounts", "disable", user.email])
    assert result.exit_code == 0, result.output
    assert f"{user.email} is now disabled: ended 0 session(s)." in result.output
    assert not user_row(app, user.id).is_active
    # The half-signed-in session dies with the account.
    assert sign_in_again.get("/sign-in/set-up-2fa").headers["Location"].endswith("/sign-in")
    result = runner.invoke(args=["accounts", "disable", user.email])
    assert "was already disabled" in result.output

    result = runner.invoke(args=["accounts", "disable", "nobody@rochdale.test"])
    assert result.exit_code != 0 and "no user with e-mail nobody@rochdale.test" in result.output
    rows = audit_rows(app, "admin.totp_reset", "admin.user_disabled")
    assert [(r.action, r.actor_id, r.remote_addr, r.object_id) for r in rows] == [
        ("admin.totp_reset", None, "cli", str(user.id)),
        ("admin.user_disabled", None, "cli", str(user.id)),
        ("admin.user_disabled", None, "cli", str(user.id)),
    ]
    with session_factory(app)() as db:
        assert audit.verify(db, portal_services(app).keyring.audit_key).ok


# -- property 19: a timeout warning before expiry (the browser half is tests/browser/test_timeout_warning.py)


def test_timeout_warning_is_configured_on_signed_in_pages_only(app: Flask, client: FlaskClient, accounts) -> None:
    assert "app-timeout-warning" not in client.get("/sign-in").text
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    page = client.get("/")
    dialog = BeautifulSoup(page.text, "html.parser").select_one('dialog[data-module="app-timeout-warning"]')
    assert dialog is not None and dialog["aria-modal"] == "true"
    idle = int(app.session_interface.idle.total_seconds())  # type: ignore[attr-defined]
    assert int(dialog["data-idle-seconds"]) == idle
    assert idle - 2 <= int(dialog["data-seconds-left"]) <= idle
    assert dialog["data-warning-seconds"] == "120"
    assert dialog["data-keep-alive-url"] == "/session/keep-alive"
    assert dialog["data-sign-in-url"] == "/sign-in"
    assert dialog["data-csrf-token"] == csrf_from(page.text)
    assert "You will be signed out soon" in dialog.get_text()
    assert "Change password" in page.text


def test_timeout_warning_keep_alive_restarts_the_idle_timeout(
    app: Flask, client: FlaskClient, accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.post("/session/keep-alive").status_code in (302, 400)  # anonymous
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    page = client.get("/")
    token = BeautifulSoup(page.text, "html.parser").select_one("dialog")["data-csrf-token"]
    assert client.post("/session/keep-alive").status_code == 400  # no CSRF token
    idle = app.session_interface.idle  # type: ignore[attr-defined]
    start = utcnow()
    monkeypatch.setattr(web_sessions, "utcnow", lambda: start + idle - timedelta(minutes=1))
    response = client.post("/session/keep-alive", headers={"X-CSRFToken": token})
    assert response.status_code == 204 and response.data == b""
    # Without the keep-alive this would be past the idle timeout.
    monkeypatch.setattr(web_sessions, "utcnow", lambda: start + 2 * idle - timedelta(minutes=2))
    assert client.get("/").status_code == 200
    # Once expired, keep-alive cannot revive it: the CSRF check fails with the session (the page then signs out).
    monkeypatch.setattr(web_sessions, "utcnow", lambda: start + 4 * idle)
    assert client.post("/session/keep-alive", headers={"X-CSRFToken": token}).status_code in (302, 400)
    assert client.get("/").status_code == 302
