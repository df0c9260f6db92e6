"""Server-side sessions in the database.

The cookie carries only a random 256-bit token; the row is keyed by its SHA-256, so a copy of the table
cannot be replayed as cookies. Because sessions live on the server they can be ended for real: at sign-out,
after the idle or absolute timeout, and for every session of a user whose password, 2FA or account changes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Request, Response, session
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import CallbackDict

from portal.domain.models import User, WebSession, utcnow
from portal.web.database import discard_session, get_session, session_factory

# last_active_at is only rewritten when it is this stale, sparing a write on every request.
TOUCH_AFTER = timedelta(seconds=30)
_SIGNED_IN = "portal.signed_in_user"
# Built once: every request runs it, and SQLAlchemy keeps a statement's cache key on the statement object, so
# reusing it spares building the select, its joins and loader options and their cache key on each request
# (about a quarter of reading the session, under load).
_SESSION_AND_USER = (
    # The session's own columns as plain values (the row is only read here; an entity would be built, tracked
    # and expunged for nothing), and its user as an entity with what every page names.
    select(WebSession.user_id, WebSession.data, WebSession.created_at, WebSession.last_active_at, User)
    .outerjoin(User, User.id == WebSession.user_id)
    .options(joinedload(User.partnership), joinedload(User.agency))
    .where(WebSession.id == bindparam("session_id"))
)


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """Session data plus the bookkeeping needed to save it."""

    def __init__(
        self,
        initial: dict[str, Any] | None = None,
        token: str | None = None,
        created_at: datetime | None = None,
        last_active_at: datetime | None = None,
    ) -> None:
        def on_update(_self: Any) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.token = token
        self.created_at = created_at
        self.last_active_at = last_active_at
        self.modified = False
        self.regenerate_requested = False
        # Set when the previous session had timed out, so the sign-in page can say why.
        self.timed_out = False
        # Set when the session store could not be read (the database is down): nothing is saved back.
        self.unavailable = False

    def regenerate(self) -> None:
        """Issue a new token at the next save (at sign-in: no session fixation)."""
        self.regenerate_requested = True
        self.modified = True


def server_session() -> ServerSession:
    """This request's session as the portal's own class (``flask.session`` is typed as any SessionMixin)."""
    current = session
    if not isinstance(current, ServerSession):
        raise RuntimeError("the app's sessions do not come from DatabaseSessionInterface")
    return current


def session_interface(app: Flask) -> DatabaseSessionInterface:
    """The app's session interface as the portal's own class, for its timeouts."""
    interface = app.session_interface
    if not isinstance(interface, DatabaseSessionInterface):
        raise RuntimeError("the app's session interface is not DatabaseSessionInterface")
    return interface


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DatabaseSessionInterface(SessionInterface):
    """Store sessions in the web_session table; enforce idle and absolute timeouts on every request."""

    def __init__(self, app: Flask) -> None:
        self.idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
        self.absolute = timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        try:
            return self._open(app, request)
        except SQLAlchemyError as error:
            # The database is restarting or unreachable: answer with the portal's own error page (the view never
            # runs; see portal.web.errors), not a bare server error without the security headers. The request's
            # database session is dropped with its connection, so nothing later in the request reuses it.
            app.logger.error("session store unavailable: %s", error.__class__.__name__)
            discard_session()
            unavailable = ServerSession()
            unavailable.unavailable = True
            return unavailable

    def _open(self, app: Flask, request: Request) -> ServerSession:
        token = request.cookies.get(self.get_cookie_name(app))
        if not token or len(token) > 100:
            return ServerSession()
        now = utcnow()
        # Read through the request's own database session: the user, the view and this share one pooled
        # connection, so a request checks out (and pings, on PostgreSQL) one connection, not two. The session's row
        # comes as plain values, so nothing the view changes can write it back.
        db = get_session()
        session_id = token_id(token)
        found = db.execute(_SESSION_AND_USER, {"session_id": session_id}).first()
        if found is None:
            return ServerSession()
        if found.User is not None:
            # Whoever the session belongs to is read with it, with what every page names (their partnership and
            # agency): Flask-Login's user loader then finds them in this database session's identity map instead
            # of asking again. Held here because the identity map keeps rows only weakly.
            db.info[_SIGNED_IN] = found.User
        if now - found.last_active_at > self.idle or now - found.created_at > self.absolute:
            db.execute(delete(WebSession).where(WebSession.id == session_id))
            db.commit()
            expired = ServerSession()
            expired.timed_out = found.user_id is not None
            return expired
        return ServerSession(
            dict(found.data), token=token, created_at=found.created_at, last_active_at=found.last_active_at
        )

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        if session.unavailable:
            return
        try:
            self._save(app, session, response)
        except SQLAlchemyError as error:
            # The response is already made; losing this request's session change is better than a bare 500.
            app.logger.error("session store unavailable: %s", error.__class__.__name__)

    def _save(self, app: Flask, session: ServerSession, response: Response) -> None:
        name, domain, path = self.get_cookie_name(app), self.get_cookie_domain(app), self.get_cookie_path(app)
        now = utcnow()
        with session_factory(app)() as db:
            if session.token and (session.regenerate_requested or not session):
                db.execute(delete(WebSession).where(WebSession.id == token_id(session.token)))
                db.commit()
                if not session:
                    response.delete_cookie(name, domain=domain, path=path)
                    return
                session.token = None
            if not session:
                return
            stale = session.last_active_at is None or now - session.last_active_at > TOUCH_AFTER
            if session.token and not session.modified and not stale:
                return
            user_id = session.get("_user_id")
            if session.token is None:
                session.token = secrets.token_urlsafe(32)
                db.add(
                    WebSession(
                        id=token_id(session.token),
                        user_id=int(user_id) if user_id else None,
                        data=dict(session),
                        created_at=now,
                        last_active_at=now,
                    )
                )
            else:
                row = db.get(WebSession, token_id(session.token))
                if row is None:
                    # Ended elsewhere (sign-out everywhere) while this request ran: do not resurrect it.
                    response.delete_cookie(name, domain=domain, path=path)
                    return
                row.data = dict(session)
                row.user_id = int(user_id) if user_id else None
                row.last_active_at = now
            db.commit()
        response.set_cookie(
            name,
            session.token,
            httponly=True,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            domain=domain,
            path=path,
        )
