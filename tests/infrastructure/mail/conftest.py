"""Fixtures for the mail tests: an outbox database built by the real migrations and a real SMTP server.

SQLite by default; PostgreSQL when PORTAL_TEST_DATABASE_URL is set (a database of its own, named after
that one with a "_mail_<xdist worker>" suffix, created and dropped here).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from portal.domain.models import OutboxMessage
from portal.infrastructure import migrate
from portal.infrastructure.db import make_engine
from tests.smtp_server import SmtpCapture

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")


def _admin_dsn(url: URL) -> str:
    """Return a libpq DSN for the maintenance database on the same server."""
    return url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def mail_db_template(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[str]:
    """Migrate once per session: a SQLite file copied per test, or a PostgreSQL database cleared per test."""
    if not PG_URL:
        path = tmp_path_factory.mktemp("mail-db") / "template.sqlite"
        migrate.upgrade(f"sqlite:///{path}")
        yield str(path)
        return
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    url = make_url(PG_URL)
    url = url.set(database=f"{url.database}_mail_{worker}")
    name = url.database
    with psycopg.connect(_admin_dsn(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    test_url = url.render_as_string(hide_password=False)
    migrate.upgrade(test_url)
    yield test_url
    with psycopg.connect(_admin_dsn(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mail_db_url(mail_db_template: str, tmp_path: Path) -> str:
    """Return the URL of an empty, migrated database for this test."""
    if PG_URL:
        engine = make_engine(mail_db_template)
        with engine.begin() as conn:
            conn.execute(delete(OutboxMessage))
        engine.dispose()
        return mail_db_template
    target = tmp_path / "portal.sqlite"
    shutil.copyfile(mail_db_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def engine(mail_db_url: str) -> Iterator[Engine]:
    engine = make_engine(mail_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """The session factory the worker is given, configured as portal.web.database configures the app's."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@pytest.fixture
def smtp_capture() -> Iterator[SmtpCapture]:
    server = SmtpCapture()
    server.start()
    yield server
    server.stop()
