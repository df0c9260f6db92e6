"""Sign in with a password, then a TOTP code; sign out. Both factors before any case data is reachable."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from portal.access import rule
from portal.db import get_session
from portal.forms.auth import CodeForm, SignInForm
from portal.services import signin
from portal.services.runtime import portal_services

bp = Blueprint("auth", __name__)

# One message for every failure so the page never tells an unknown address from a wrong password.
FAILED = "The email address or password is not right"


@bp.route("/sign-in", methods=["GET", "POST"])
@rule("signing_in")
def sign_in() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SignInForm()
    timed_out = session.pop("signed_out_idle", False)
    if form.validate_on_submit():
        user_id = signin.check_password(
            get_session(), portal_services(), form.email.data, form.password.data, remote_addr=request.remote_addr or ""
        )
        if user_id is not None:
            next_path = session.get("next")
            session.clear()
            session.regenerate()  # type: ignore[attr-defined]
            session["pending_user_id"] = user_id
            if next_path:
                session["next"] = next_path
            return redirect(url_for("auth.code"))
        form.password.errors.append(FAILED)
        form.email.errors.append(FAILED)
    return render_template("auth/sign-in.html", form=form, timed_out=timed_out)


@bp.route("/sign-in/code", methods=["GET", "POST"])
@rule("signing_in")
def code() -> str | Response:
    user_id = session.get("pending_user_id")
    if user_id is None:
        return redirect(url_for("auth.sign_in"))
    form = CodeForm()
    if form.validate_on_submit():
        user = signin.check_code(
            get_session(), portal_services(), int(user_id), form.code.data, remote_addr=request.remote_addr or ""
        )
        if user is not None:
            next_path = session.get("next")
            session.clear()
            session.regenerate()  # type: ignore[attr-defined]
            login_user(user)
            return redirect(next_path if _safe_path(next_path) else url_for("home.index"))
        form.code.errors.append("The security code is not right, or has been used. Wait for a new code and try again")
    return render_template("auth/code.html", form=form)


@bp.post("/sign-out")
@rule("signed_in")
def sign_out() -> Response:
    signin.record_sign_out(get_session(), portal_services(), current_user.id, remote_addr=request.remote_addr or "")
    logout_user()
    session.clear()
    flash("You have signed out")
    response = redirect(url_for("auth.sign_in"))
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


def _safe_path(path: str | None) -> bool:
    """Only follow same-site absolute paths after sign-in (no open redirect)."""
    return bool(path) and path.startswith("/") and not path.startswith("//") and "\\" not in path
