"""A signed-in user's own account: change password (ends every session), and keeping a session alive.

The timeout warning (WCAG 2.2.1 Timing Adjustable) is static JavaScript (static/js/timeout-warning.mjs)
configured from data attributes in base.html; this module supplies those settings to every template
and the keep-alive endpoint the warning's "Stay signed in" button posts to.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from portal.domain.models import utcnow
from portal.services import accounts
from portal.web.access import rule
from portal.web.database import get_session
from portal.web.forms.auth import ChangePasswordForm
from portal.web.forms.fields import add_error, answer
from portal.web.runtime import portal_services
from portal.web.sessions import TOUCH_AFTER, server_session, session_interface

bp = Blueprint("account", __name__)

# Show the warning this long before the idle timeout (GOV.UK and HMRC use 2 minutes).
DEFAULT_WARNING_SECONDS = 120


@bp.route("/account/password", methods=["GET", "POST"])
@rule("signed_in")
def password() -> str | Response:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                get_session(),
                portal_services(),
                current_user._get_current_object(),
                answer(form.current_password),
                answer(form.new_password),
                remote_addr=request.remote_addr or "",
            )
        except accounts.PasswordChangeError as error:
            add_error(form[error.field], error.message)
        else:
            # Every session of this user, this one included, has already been deleted: start a clean one.
            logout_user()
            session.clear()
            server_session().regenerate()
            flash(
                "Your password has been changed and you have been signed out everywhere. Sign in with your new password"
            )
            response = redirect(url_for("auth.sign_in"))
            response.headers["Clear-Site-Data"] = '"cache", "storage"'
            return response
    return render_template("account/password.html", form=form)


@bp.post("/session/keep-alive")
@rule("signed_in")
def keep_alive() -> Response:
    """Restart the idle timeout ("Stay signed in"); CSRF-protected like every POST."""
    session.modified = True
    return Response(status=204)


def seconds_until_idle_timeout() -> int:
    """Seconds from now until this session's idle timeout, as the server will enforce it.

    The session row's last_active_at is only rewritten when this response saves it (a change, or older
    than TOUCH_AFTER); otherwise the timeout still runs from the earlier write. Called at the end of the
    page so that changes made while rendering (flash messages read, CSRF token made) are counted.
    """
    idle = session_interface(current_app).idle
    current = server_session()
    last = current.last_active_at
    now = utcnow()
    if current.token is None or current.modified or last is None or now - last > TOUCH_AFTER:
        left = idle  # this response saves the session, restarting the timeout
    else:
        left = idle - (now - last)
    return max(0, int(left.total_seconds()))


@bp.app_context_processor
def timeout_warning_settings() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {}
    return {
        "session_seconds_left": seconds_until_idle_timeout,
        "session_idle_seconds": int(session_interface(current_app).idle.total_seconds()),
        "session_warning_seconds": int(current_app.config.get("SESSION_WARNING_SECONDS", DEFAULT_WARNING_SECONDS)),
    }
