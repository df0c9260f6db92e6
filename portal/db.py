"""Database engine per app and one SQLAlchemy session per request (flaskr's db.py, in SQLAlchemy 2 form)."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """Create an engine with the pragmas and pool settings the portal relies on."""
    kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        # Survive a database restart: a dead pooled connection is replaced, not handed to a request.
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the mail worker and the web process read while the other writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Overwrite deleted content (drafts, sessions) instead of leaving it in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def init_app(app: Flask) -> None:
    """Bind an engine and session factory to the app and close the request's session at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["portal.engine"] = engine
    app.extensions["portal.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(close_session)


def session_factory(app: Flask | None = None) -> sessionmaker[Session]:
    """Return the app's session factory (for workers and CLI commands that outlive a request)."""
    return (app or current_app).extensions["portal.sessionmaker"]


def get_session() -> Session:
    """Return the session for this request, opening it on first use."""
    if "db_session" not in g:
        g.db_session = session_factory()()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session; anything uncommitted is rolled back."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
