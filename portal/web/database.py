"""One SQLAlchemy session per request, and the app's session factory (flaskr's db.py, in SQLAlchemy 2 form)."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from portal.infrastructure.db import make_engine


def init_app(app: Flask) -> None:
    """Bind an engine and session factory to the app and close the request's session at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["portal.engine"] = engine
    app.extensions["portal.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(close_session)


def session_factory(app: Flask | None = None) -> sessionmaker[Session]:
    """Return the app's session factory (for workers and CLI commands that outlive a request)."""
    factory: sessionmaker[Session] = (app or current_app).extensions["portal.sessionmaker"]
    return factory


def get_session() -> Session:
    """Return the session for this request, opening it on first use."""
    if "db_session" not in g:
        g.db_session = session_factory()()
    session: Session = g.db_session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session; anything uncommitted is rolled back."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()
    except SQLAlchemyError as error:
        # The database went away after the answer was made (a restart): closing rolls back, which fails on the
        # dead connection. Raised here it would replace a good page with the server's bare 500 (make faults
        # found this); nothing was left uncommitted that matters, so drop the connection and keep the answer.
        current_app.logger.warning("database connection lost after the request: %s", error.__class__.__name__)
        session.invalidate()


def discard_session() -> None:
    """Drop the request's session and its connection after a database error (a restart): the connection may be
    dead, so it is not handed back to the pool for the next request."""
    session = g.pop("db_session", None)
    if session is not None:
        session.invalidate()
