"""Sign in with a password, then a TOTP code; sign out. Both factors before any case data is reachable.

A user whose 2FA an administrator has reset sets up a new authenticator app at /sign-in/set-up-2fa after
the password step; only a valid code from it stores the new secret and signs them in.
"""

from __future__ import annotations

from typing import TypeGuard

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from portal.domain.models import User
from portal.services import accounts, invitations, recovery, signin, throttle
from portal.services.errors import RuleBrokenError
from portal.web.access import rule
from portal.web.database import get_session
from portal.web.forms.auth import CodeForm, EmailOnlyForm, ResetPasswordForm, SignInForm
from portal.web.forms.fields import add_error, answer
from portal.web.qr import qr_svg
from portal.web.runtime import portal_services
from portal.web.sessions import server_session

bp = Blueprint("auth", __name__)

# One message for every failure so the page never tells an unknown address from a wrong password.
FAILED = "The email address or password is not right"
CODE_FAILED = "The security code is not right, or has been used. Wait for a new code and try again"
ENROL_FAILED = "The security code is not right. Check the key you entered in your app and try the newest code"


def _remote_addr() -> str:
    return request.remote_addr or ""


@bp.route("/sign-in", methods=["GET", "POST"])
@rule("signing_in")
def sign_in() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SignInForm()
    # Either a protected page found the session expired, or the timeout warning sent the browser here.
    timed_out = session.pop("signed_out_idle", False) or getattr(session, "timed_out", False)
    if form.validate_on_submit():
        result = signin.check_password(
            get_session(), portal_services(), answer(form.email), answer(form.password), remote_addr=_remote_addr()
        )
        if result.user_id is not None:
            next_path = session.get("next")
            session.clear()
            server_session().regenerate()
            session["pending_user_id"] = result.user_id
            session["pending_stamp"] = result.stamp
            if next_path:
                session["next"] = next_path
            if result.needs_enrolment:
                return redirect(url_for("auth.set_up_2fa"))
            return redirect(url_for("auth.code"))
        if result.throttled:
            # Shown whether or not the password was right, for known and unknown addresses alike.
            add_error(form.email, throttle.THROTTLED)
        else:
            add_error(form.password, FAILED)
            add_error(form.email, FAILED)
    return render_template("auth/sign-in.html", form=form, timed_out=timed_out)


def _pending_user() -> User | None:
    """The user who passed the password step in this session, if that step still stands."""
    user_id, stamp = session.get("pending_user_id"), session.get("pending_stamp")
    if user_id is None or not stamp:
        return None
    return signin.pending_user(get_session(), int(user_id), str(stamp))


def _complete_sign_in(user: User, message: str | None = None) -> Response:
    next_path = session.get("next")
    session.clear()
    server_session().regenerate()
    login_user(user)
    if message:
        flash(message)
    return redirect(next_path if _safe_path(next_path) else url_for("home.index"))


def _restart() -> Response:
    """Back to the password step. Only the sign-in progress is dropped: a GET never ends a signed-in session
    (/sign-in then sends a signed-in user home)."""
    for key in ("pending_user_id", "pending_stamp", "pending_totp"):
        session.pop(key, None)
    return redirect(url_for("auth.sign_in"))


@bp.route("/sign-in/code", methods=["GET", "POST"])
@rule("signing_in")
def code() -> str | Response:
    user = _pending_user()
    if user is None:
        return _restart()
    if user.totp_secret_ct is None:
        return redirect(url_for("auth.set_up_2fa"))
    form = CodeForm()
    if form.validate_on_submit():
        result = signin.check_code(
            get_session(), portal_services(), user, answer(form.code), remote_addr=_remote_addr()
        )
        if result.user is not None:
            return _complete_sign_in(result.user)
        add_error(form.code, throttle.THROTTLED if result.throttled else CODE_FAILED)
    return render_template("auth/code.html", form=form)


@bp.route("/sign-in/set-up-2fa", methods=["GET", "POST"])
@rule("signing_in")
def set_up_2fa() -> str | Response:
    user = _pending_user()
    if user is None:
        return _restart()
    if user.totp_secret_ct is not None:
        return redirect(url_for("auth.code"))
    db, services = get_session(), portal_services()
    sealed = session.get("pending_totp")
    if sealed and not accounts.pending_totp_readable(db, services.keyring, user, sealed):
        # The user's data key was rotated since set-up began: the sealed secret in the session can no
        # longer be opened, so start set-up again with a new one.
        sealed = None
    if not sealed:
        # Made once per set-up and kept (sealed under the user's data key) until a code confirms it.
        sealed = accounts.seal_pending_totp(db, services.keyring, user, accounts.new_totp_secret())
        session["pending_totp"] = sealed
    form = CodeForm()
    if form.validate_on_submit():
        result = signin.confirm_enrolment(db, services, user, sealed, answer(form.code), remote_addr=_remote_addr())
        if result.user is not None:
            return _complete_sign_in(
                result.user, "Your authenticator app is set up. Use it for a new security code each time you sign in"
            )
        add_error(form.code, throttle.THROTTLED if result.throttled else ENROL_FAILED)
    secret = accounts.open_pending_totp(db, services.keyring, user, sealed)
    uri = accounts.provisioning_uri(secret, user.email)
    return render_template(
        "auth/set-up-2fa.html",
        form=form,
        secret=accounts.grouped_secret(secret),
        uri=uri,
        qr=qr_svg(uri, title="QR code to scan with your authenticator app"),
        # A new account (from an invitation) has never signed in; otherwise an administrator reset 2FA.
        first_time=invitations.made_account(db, user.id),
    )


# -- problems signing in ------------------------------------------------------------------------------
# Each answer is the same page whether or not the address has an account, and whether or not it was throttled.


@bp.route("/sign-in/forgotten-password", methods=["GET", "POST"])
@rule("signing_in")
def forgotten_password() -> str:
    form = EmailOnlyForm()
    if form.validate_on_submit():
        recovery.request_password_reset(
            get_session(), portal_services(), answer(form.email), remote_addr=_remote_addr()
        )
        return render_template("auth/check-email.html")
    return render_template("auth/forgotten-password.html", form=form)


@bp.route("/sign-in/reset/<token>", methods=["GET", "POST"])
@rule("signing_in")
def reset_password(token: str) -> str | Response | tuple[str, int]:
    db = get_session()
    if not recovery.reset_link_usable(db, token):
        return render_template("auth/reset-unusable.html"), 410
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            recovery.reset_password(db, portal_services(), token, answer(form.password), remote_addr=_remote_addr())
        except recovery.ResetLinkUnusableError:
            return render_template("auth/reset-unusable.html"), 410
        except RuleBrokenError as error:
            add_error(form[error.field], error.message)
        else:
            # Every session of the user has ended, this browser's too if it had one: sign in afresh, code and all.
            logout_user()
            session.clear()
            flash("Your password has been changed. Sign in with it and a code from your authenticator app")
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset-password.html", form=form, token=token)


@bp.route("/sign-in/lost-authenticator", methods=["GET", "POST"])
@rule("signing_in")
def lost_authenticator() -> str:
    form = EmailOnlyForm()
    if form.validate_on_submit():
        recovery.report_lost_authenticator(
            get_session(), portal_services(), answer(form.email), remote_addr=_remote_addr()
        )
        return render_template("auth/lost-authenticator-sent.html")
    return render_template("auth/lost-authenticator.html", form=form)


@bp.post("/sign-out")
@rule("signed_in")
def sign_out() -> Response:
    signin.record_sign_out(get_session(), portal_services(), current_user.id, remote_addr=_remote_addr())
    logout_user()
    session.clear()
    flash("You have signed out")
    response = redirect(url_for("auth.sign_in"))
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


def _safe_path(path: str | None) -> TypeGuard[str]:
    """Only follow same-site absolute paths after sign-in (no open redirect, nothing that is not printable)."""
    return (
        path is not None
        and path.startswith("/")
        and not path.startswith("//")
        and "\\" not in path
        and path.isprintable()
        and len(path) <= 2000
    )
