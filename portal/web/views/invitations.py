"""Following an invitation from a notice's e-mail: confirm your name, choose a password, then set up an
authenticator app (auth.set_up_2fa, with a QR code) and land on the notice.

The token stays in the path of these two pages only (never in a query string, and every page sends
Referrer-Policy: no-referrer). A link that cannot be used gets a page saying why, with a button that sends a
fresh link to the address it was sent to; what that button does is never shown, so it tells nobody whether an
address is known.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.services import invitations, signin
from portal.services.errors import RuleBrokenError
from portal.web.access import rule
from portal.web.database import get_session
from portal.web.forms.auth import AcceptInvitationForm, FreshLinkForm
from portal.web.forms.fields import add_error, answer
from portal.web.runtime import portal_services

bp = Blueprint("invitations", __name__)

# The status of each page a link that cannot be used gets: gone for a link that was real, not found otherwise.
UNUSABLE_STATUS = {
    invitations.State.USED: 410,
    invitations.State.EXPIRED: 410,
    invitations.State.REVOKED: 410,
    invitations.State.UNKNOWN: 404,
}


def _signed_in_elsewhere(token: str) -> tuple[str, int] | None:
    """A signed-in user never takes over someone else's invitation: sign out first."""
    if not current_user.is_authenticated:
        return None
    return render_template("invitations/signed-in.html", token=token), 409


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@rule("signing_in")
def accept(token: str) -> str | Response | tuple[str, int]:
    refused = _signed_in_elsewhere(token)
    if refused is not None:
        return refused
    db, services = get_session(), portal_services()
    checked = invitations.check(db, token)
    if checked.state is invitations.State.ACCOUNT_EXISTS:
        return render_template("invitations/has-account.html"), 200
    if checked.state is not invitations.State.VALID:
        return _unusable(token, checked.state)
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = invitations.accept(
                db,
                services,
                token,
                name=answer(form.name),
                password=answer(form.password),
                remote_addr=request.remote_addr or "",
            )
        except invitations.InvitationUnusableError as error:
            if error.state is invitations.State.ACCOUNT_EXISTS:
                return render_template("invitations/has-account.html"), 200
            return _unusable(token, error.state)
        except RuleBrokenError as error:
            add_error(form[error.field], error.message)
        else:
            # The password step is done: what is left of signing in is setting up the authenticator app.
            notice_id = checked.invitation.notice_id if checked.invitation else None
            session.clear()
            session.regenerate()  # type: ignore[attr-defined]
            session["pending_user_id"] = user.id
            session["pending_stamp"] = signin.password_stamp(user)
            if notice_id:
                session["next"] = url_for("notices.show", notice_id=notice_id)
            return redirect(url_for("auth.set_up_2fa"), 303)
    agency = checked.invitation.agency.name if checked.invitation else ""
    partnership = checked.invitation.partnership.name if checked.invitation else ""
    return render_template("invitations/accept.html", form=form, token=token, agency=agency, partnership=partnership)


def _unusable(token: str, state: invitations.State) -> tuple[str, int]:
    return render_template(
        "invitations/unusable.html", form=FreshLinkForm(), token=token, state=state.value
    ), UNUSABLE_STATUS.get(state, 404)


@bp.post("/invitation/<token>/new-link")
@rule("signing_in")
def new_link(token: str) -> str | tuple[str, int]:
    form = FreshLinkForm()
    if form.validate_on_submit():
        invitations.request_fresh_link(get_session(), portal_services(), token, remote_addr=request.remote_addr or "")
    # The same page whatever the token was and whatever was sent (or not sent, when throttled).
    return render_template("invitations/link-sent.html")
