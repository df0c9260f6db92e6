"""Faults answered like everything else: the database failing, a poisoned return path, sessions nobody comes
back to. Each test fails on the code before issue 10's fixes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from portal.domain.models import Role, WebSession, utcnow
from portal.infrastructure import db as engine_settings
from portal.services import sessions
from portal.web.database import session_factory
from tests.helpers import Accounts, csrf_from, fresh_code, sign_in

SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


@contextmanager
def database_down(app: Flask) -> Iterator[None]:
    """Every statement fails as it would while the database restarts."""
    engine = app.extensions["portal.engine"]

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("the database is restarting"))

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", refuse)


def log_lines(app: Flask) -> list[str]:
    path = Path(app.config["LOG_FILE"])
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


@pytest.mark.parametrize("path", ["/", "/notices/new", "/sign-in"])
def test_while_the_database_is_down_pages_answer_503_with_every_header(
    app: Flask, accounts: Accounts, path: str
) -> None:
    client = app.test_client()
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    before = len(log_lines(app))
    with database_down(app):
        response = client.get(path)
        posted = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": "x"})
    for answer in (response, posted):
        assert answer.status_code == 503
        assert "Sorry, the service is unavailable" in answer.text
        for header in SECURITY_HEADERS:
            assert answer.headers.get(header), header
        assert "no-store" in answer.headers["Cache-Control"]
    new = log_lines(app)[before:]
    # One terse line per failure: the error's class, never a traceback, statement or parameter.
    assert new and all(
        "OperationalError" in line or "DatabaseUnavailableError" in line for line in new if "unavailable" in line
    )
    assert not any("Traceback" in line or "SELECT" in line or "restarting" in line for line in new)
    # The database back, the same session is served again without a restart.
    assert client.get("/").status_code == 200


@pytest.mark.postgres_only
def test_connections_killed_by_a_database_restart_are_replaced_without_an_error(app: Flask, accounts: Accounts) -> None:
    client = app.test_client()
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    assert client.get("/").status_code == 200  # the pool now holds a connection
    engine = app.extensions["portal.engine"]
    with engine.connect() as connection:
        # What a restart does to every pooled connection: the server ends them.
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        # A restart is over when the old backends are gone (pg_terminate_backend only signals them).
        for _ in range(200):
            others = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            if not others:
                break
            time.sleep(0.01)
    for _ in range(3):
        assert client.get("/").status_code == 200


@pytest.mark.postgres_only
def test_a_connection_idle_in_the_pool_for_a_while_is_pinged_before_use(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh connection is checked by its socket alone; one idle past PING_AFTER_IDLE_SECONDS is asked a query too,
    for the failures that end a connection without a word (a firewall that forgot it)."""
    client = app.test_client()
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    engine = app.extensions["portal.engine"]
    pings: list[object] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(connection) or real_ping(connection))
    assert client.get("/").status_code == 200
    assert pings == []
    monkeypatch.setattr(engine_settings, "PING_AFTER_IDLE_SECONDS", -1.0)
    assert client.get("/").status_code == 200
    assert pings

    # A connection that fails its ping is replaced, and the request is served.
    def dead(connection: object) -> bool:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(engine.dialect, "do_ping", dead)
    before = engine.pool.checkedin() + engine.pool.checkedout()
    assert before >= 1
    monkeypatch.setattr(engine_settings, "PING_AFTER_IDLE_SECONDS", 1e9)
    with engine.connect() as connection:
        kept = connection.connection.dbapi_connection
    monkeypatch.setattr(engine_settings, "PING_AFTER_IDLE_SECONDS", -1.0)
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection is not kept


def test_a_return_path_with_a_line_break_is_ignored_at_sign_in(app: Flask, accounts: Accounts) -> None:
    account = accounts.make(Role.PRACTITIONER)
    client = app.test_client()
    # A link to a protected page whose path carries CR/LF: remembered only if printable.
    first = client.get("/notices/x%0D%0ALocation:%20evil.test")
    assert first.status_code == 302 and first.headers["Location"].endswith("/sign-in")
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in", data={"email": account.email, "password": account.password, "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 302
    page = client.get("/sign-in/code")
    done = client.post("/sign-in/code", data={"code": fresh_code(app, account), "csrf_token": csrf_from(page.text)})
    assert done.status_code == 302
    assert done.headers["Location"] == "/" and "evil" not in done.headers["Location"]
    assert client.get("/").status_code == 200


def test_a_protected_page_asked_for_before_sign_in_is_where_sign_in_ends(app: Flask, accounts: Accounts) -> None:
    account = accounts.make(Role.PRACTITIONER)
    client = app.test_client()
    client.get("/notices/new")
    assert sign_in(client, app, account) == "/notices/new"


def test_sessions_nobody_comes_back_to_are_purged(app: Flask, accounts: Accounts) -> None:
    anonymous = [app.test_client() for _ in range(5)]
    for client in anonymous:
        client.get("/sign-in")  # each visit keeps a session for its CSRF token
    signed_in = app.test_client()
    sign_in(signed_in, app, accounts.make(Role.PRACTITIONER))
    with session_factory(app)() as db:
        assert db.execute(select(func.count()).select_from(WebSession)).scalar() == 6
        later = utcnow() + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
        # Nothing is idle yet: nothing goes.
        assert sessions.purge_expired(db, idle=timedelta(minutes=30), absolute=timedelta(hours=10), now=utcnow()) == 0
        assert signed_in.get("/").status_code == 200
        # Past the idle timeout every visit's row goes, signed in or not.
        assert sessions.purge_expired(db, idle=timedelta(minutes=30), absolute=timedelta(hours=10), now=later) == 6
        assert db.execute(select(func.count()).select_from(WebSession)).scalar() == 0
    # The purged session is signed out, not broken.
    assert signed_in.get("/").status_code == 302


def test_the_purge_command_reports_what_it_deleted(app: Flask) -> None:
    for _ in range(3):
        app.test_client().get("/sign-in")
    with session_factory(app)() as db:
        db.execute(WebSession.__table__.update().values(last_active_at=utcnow() - timedelta(days=1)))
        db.commit()
    with app.app_context():  # as `flask` itself provides
        result = app.test_cli_runner().invoke(args=["purge-sessions"])
    assert result.exit_code == 0 and "Deleted 3 expired session(s)." in result.output
