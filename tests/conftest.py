"""Fixtures: a fresh app per test on a database built by the real migrations (SQLite, or PostgreSQL when
PORTAL_TEST_DATABASE_URL is set), real keys, real SMTP on loopback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.commands.setup import ensure_keys
from portal.domain.models import Base
from portal.infrastructure import migrate
from portal.infrastructure.db import make_engine
from portal.services.directory import import_partnerships
from portal.web.database import session_factory
from tests.helpers import Accounts
from tests.smtp_server import SmtpCapture

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")


def pytest_report_header() -> str:
    return f"portal database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite'}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test of what only PostgreSQL does (its server ending connections) is skipped, and says so, on SQLite.
    if not PG_URL:
        skip = pytest.mark.skip(reason="needs PostgreSQL: set PORTAL_TEST_DATABASE_URL")
        for item in items:
            if item.get_closest_marker("postgres_only"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def worker_id_suffix(request: pytest.FixtureRequest) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One keyring and signing certificate for the session: generating an RSA key takes ~50 ms."""
    directory = tmp_path_factory.mktemp("keys")
    app = Flask("keys")
    app.config["KEY_DIR"] = str(directory)
    ensure_keys(app, development=True)
    return directory


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory, worker_id_suffix: str) -> Iterator[str]:
    """Migrate once per session: a SQLite file to copy per test, or a PostgreSQL database to truncate."""
    if PG_URL:
        url = make_url(PG_URL)
        # One database per test process, so concurrent runs (xdist workers, several checkouts) never collide.
        name = f"{url.database}_{worker_id_suffix}_{os.getpid()}"
        admin = url.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        test_url = url.set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(test_url)
        yield test_url
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    path = tmp_path_factory.mktemp("template") / "portal.sqlite"
    migrate.upgrade(f"sqlite:///{path}")
    yield str(path)


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> str:
    if PG_URL:
        engine = make_engine(database_template)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return database_template
    target = tmp_path / "portal.sqlite"
    shutil.copyfile(database_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def smtp() -> Iterator[SmtpCapture]:
    server = SmtpCapture()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_config(database_url: str, key_dir: Path, tmp_path: Path) -> dict[str, object]:
    return {
        "TESTING": True,
        "ENV": "development",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
        "DATABASE_URL": database_url,
        "KEY_DIR": str(key_dir),
        "LOG_FILE": str(tmp_path / "portal.log"),
        "BASE_URL": "http://portal.test",
        # Cheap Argon2 in tests only; production uses the library defaults (t=3, 64 MiB).
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 1024,
        "ARGON2_PARALLELISM": 1,
        "MAILER": "dev",
    }


@pytest.fixture
def app(app_config: dict[str, object]) -> Iterator[Flask]:
    app = create_app(app_config)
    with session_factory(app)() as db:
        import_partnerships(db, today=date(2026, 11, 23))
        db.commit()
    yield app
    app.extensions["portal.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def accounts(app: Flask) -> Accounts:
    return Accounts(app)
