"""The one place failures become HTTP answers: plain GOV.UK pages that never echo the request, the form or any
case data. Services raise named errors (portal.services.errors); this module chooses the status and page."""

from __future__ import annotations

import traceback
from contextlib import suppress
from pathlib import Path

from flask import Flask, current_app, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from portal.domain.policy import printable_id
from portal.infrastructure.crypto import DecryptionError
from portal.services import audit
from portal.services.errors import (
    DraftSubmittedError,
    LimitReachedError,
    NotFoundError,
    NoticeChangedError,
    RuleBrokenError,
    ShreddedError,
)
from portal.services.vault import DataKeyDestroyedError
from portal.web.database import get_session
from portal.web.runtime import portal_services

TITLES = {
    400: "There was a problem with your request",
    404: "Page not found",
    405: "Page not found",
    410: "This notice's content was destroyed",
    413: "What you sent is too large",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is unavailable",
}


# The last resort when even the error page cannot be drawn (its template needs the database for who is signed
# in): plain, but still the portal's answer, so the security headers are set on it like any other.
FALLBACK = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>Try again in a few minutes.</p></body></html>"""


def error_page(code: int, template: str = "errors/error.html") -> tuple[str, int]:
    title = TITLES.get(code, "Sorry, there is a problem")
    try:
        return render_template(template, code=code, title=title), code
    except Exception as error:  # noqa: BLE001 - whatever broke the page, the answer must still be given
        current_app.logger.error("error page not drawn: %s", error.__class__.__name__)
        return FALLBACK.format(title=title), code


def _without_the_database() -> None:
    """Draw the next page as for someone signed out, so it needs no database (which has just failed)."""
    login_manager = getattr(current_app, "login_manager", None)
    if login_manager is not None:
        g._login_user = login_manager.anonymous_user()


def init_app(app: Flask) -> None:
    def refuse_while_the_database_is_down() -> None:
        # The session store could not be read (portal.web.sessions): nothing can be served but this page.
        if getattr(session, "unavailable", False):
            raise DatabaseUnavailableError

    # First of all the request hooks: CSRF, sign-in and the access rules would all need the database.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_while_the_database_is_down)

    @app.errorhandler(DatabaseUnavailableError)
    @app.errorhandler(SQLAlchemyError)
    def database_unavailable(error: Exception) -> tuple[str, int]:
        # A restart, a failover, a timeout: one terse line (never the statement or its parameters) and a 503.
        app.logger.error("database unavailable: %s at %s", error.__class__.__name__, where(error))
        with suppress(SQLAlchemyError):
            get_session().rollback()
        _without_the_database()
        return error_page(503)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[str, int]:
        return render_template("errors/form-expired.html"), 400

    @app.errorhandler(DraftSubmittedError)
    def draft_submitted(error: DraftSubmittedError) -> Response:
        # A second click on "Send", a second tab or the back button: show the notice the draft became.
        return redirect(url_for("notices.confirmation", notice_id=error.notice_id))

    @app.errorhandler(NoticeChangedError)
    def notice_changed(error: NoticeChangedError) -> tuple[str, int]:
        # Someone else acted first; only a party to the notice gets this far, so it may be told where it stands.
        return render_template("errors/changed.html", notice_id=error.notice_id, reference=error.reference), 409

    @app.errorhandler(NotFoundError)
    def not_found(_error: NotFoundError) -> tuple[str, int]:
        # Someone else's notice or draft, an action not open now, a form not built: as for any missing page.
        return error_page(404)

    @app.errorhandler(RuleBrokenError)
    def rule_broken(_error: RuleBrokenError) -> tuple[str, int]:
        # Views show a broken rule beside its field; one that reaches here came from a request no page sends.
        return error_page(400)

    @app.errorhandler(LimitReachedError)
    def limit_reached(_error: LimitReachedError) -> tuple[str, int]:
        return error_page(429)

    @app.errorhandler(ShreddedError)
    def shredded(error: ShreddedError) -> tuple[str, int]:
        # Only someone who may read the notice gets here (others get 404): say plainly what happened.
        return render_template("errors/shredded.html", reference=error.reference, at=error.shredded_at), 410

    @app.errorhandler(DecryptionError)
    def integrity_failure(error: DecryptionError) -> tuple[str, int]:
        # A stored field did not decrypt under its own key, table, field and row: it was altered or moved
        # (a swapped ciphertext). Nothing is shown; the failure is audited for whoever investigates.
        app.logger.error("integrity failure %s at %s", error.__class__.__name__, where(error))
        db = get_session()
        db.rollback()
        audit.record(
            db,
            portal_services().keyring.audit_key,
            action="notice.integrity",
            outcome="failed",
            actor_id=current_user.id if current_user.is_authenticated else None,
            object_type="notice",
            object_id=printable_id(str((request.view_args or {}).get("notice_id", ""))),
            remote_addr=request.remote_addr or "",
        )
        db.commit()
        return render_template("errors/integrity.html"), 500

    @app.errorhandler(DataKeyDestroyedError)
    def key_rotated(_error: Exception) -> tuple[str, int]:
        # A write raced a key rotation and was refused whole: nothing was saved, so asking again is safe.
        return render_template("errors/try-again.html"), 409

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        # 405 answers like 404: a wrong method should not confirm that a route exists.
        return error_page(404 if code == 405 else code)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        # Log the class and where it was raised, never the message: messages can carry values from the request.
        app.logger.error("unhandled %s at %s", error.__class__.__name__, where(error))
        return error_page(500)


class DatabaseUnavailableError(Exception):
    """The session store could not be read: the database is down or restarting."""


def where(error: BaseException) -> str:
    """The traceback as file:line in function, without the exception's message or any local values."""
    frames = traceback.extract_tb(error.__traceback__)
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in reversed(frames[-8:]))
