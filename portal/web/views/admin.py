"""The partnership's administration in the browser: users, the audit trail and the state of the keys.

Thin views: each parses its form or query, calls one function of portal.services.administration and renders
or redirects. The services keep everything to the administrator's own partnership and audit every change.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.domain.models import Role
from portal.services import administration, directory, invitations, keys
from portal.services.errors import RuleBrokenError
from portal.web.access import rule
from portal.web.database import get_session
from portal.web.forms.admin import ConfirmForm, InviteForm, RoleForm
from portal.web.runtime import portal_services

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _addr() -> str:
    return request.remote_addr or ""


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _choice_arg(name: str, allowed: set[str]) -> str:
    value = request.args.get(name, "")
    return value if value in allowed else ""


def _agency_choices() -> list[tuple[str, str]]:
    return [(str(a.id), a.name) for a in directory.agencies_for(get_session(), current_user.partnership_id)]


# -- users ----------------------------------------------------------------------------------------------


@bp.get("/users")
@rule("admin")
def users() -> str:
    filters = administration.UserFilters(
        search=request.args.get("search", "")[:100],
        role=_choice_arg("role", {r.value for r in Role}),
        agency_id=_int_arg("agency"),
        active=_choice_arg("active", {"yes", "no"}),
        two_factor=_choice_arg("two_factor", {"yes", "no"}),
        signed_in=_choice_arg("signed_in", {value for value, _ in administration.SIGNED_IN_CHOICES}),
        page=_int_arg("page") or 1,
    )
    page = administration.list_users(get_session(), current_user, filters)
    return render_template(
        "admin/users.html",
        page=page,
        invitations=administration.pending_invitations(get_session(), current_user),
        filters=filters,
        agencies=_agency_choices(),
        roles=[(r.value, r.label) for r in Role],
        signed_in_choices=administration.SIGNED_IN_CHOICES,
    )


def _user_page(user_id: int, form: RoleForm | None = None) -> str:
    db = get_session()
    user = administration.get_user(db, current_user, user_id)
    if form is None:
        form = RoleForm(formdata=None, data={"role": user.role, "agency": str(user.agency_id or "")})
    form.agency.choices = [("", "No agency"), *_agency_choices()]
    history = administration.user_history(db, current_user, user, page=_int_arg("page") or 1)
    return render_template(
        "admin/user.html",
        user=user,
        last_sign_in=administration.last_sign_in(db, user),
        form=form,
        history=history,
        errors=form.error_list(RoleForm.FIELD_ORDER) if form.errors else [],
    )


@bp.get("/users/<int:user_id>")
@rule("admin")
def user(user_id: int) -> str:
    return _user_page(user_id)


@bp.post("/users/<int:user_id>/role")
@rule("admin")
def change_role(user_id: int) -> str | Response:
    form = RoleForm()
    form.agency.choices = [("", "No agency"), *_agency_choices()]
    if form.validate_on_submit():
        try:
            done = administration.change_role(
                get_session(),
                portal_services(),
                current_user,
                user_id,
                role=form.role.data or "",
                agency_id=int(form.agency.data) if form.agency.data else None,
                remote_addr=_addr(),
            )
        except RuleBrokenError as problem:
            get_session().rollback()
            form.add_error(problem.field, problem.message)
        else:
            flash("Role and agency saved" if done else "Nothing changed")
            return redirect(url_for("admin.user", user_id=user_id))
    return _user_page(user_id, form)


# Each action: the confirmation question, the service function, and what the page says after.
_ACTIONS: dict[str, tuple[str, str, Any, str]] = {
    "deactivate": (
        "Deactivate {name}'s account?",
        "They will be signed out everywhere now and will not be able to sign in. Notices they raised or "
        "answered stay as they are. You can reactivate the account later.",
        administration.deactivate_user,
        "{name}'s account is deactivated and every session they had has ended",
    ),
    "reactivate": (
        "Reactivate {name}'s account?",
        "They will be able to sign in again with their password and authenticator app.",
        administration.reactivate_user,
        "{name}'s account is active again",
    ),
    "reset-2fa": (
        "Reset {name}'s two-factor authentication?",
        "They will be signed out everywhere now. The next time they sign in with their password they will "
        "set up their authenticator app again. Check who is asking before you do this.",
        administration.reset_two_factor,
        "{name}'s two-factor authentication is reset: they will set up their authenticator app when they next sign in",
    ),
    "send-password-reset": (
        "Send {name} a password reset link?",
        "We will e-mail them a link to choose a new password. It works once and soon expires; they will still "
        "need their authenticator app to sign in, and every session they have ends when they use it.",
        administration.send_password_reset,
        "A password reset link is on its way to {name}",
    ),
}


def _confirm(user_id: int, action: str) -> str | Response:
    db = get_session()
    target = administration.get_user(db, current_user, user_id)
    question, explanation, perform, done = _ACTIONS[action]
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit():
        try:
            perform(db, portal_services(), current_user, user_id, remote_addr=_addr())
        except RuleBrokenError as refused:
            db.rollback()
            problem = refused.message
        else:
            flash(done.format(name=target.name))
            return redirect(url_for("admin.user", user_id=user_id))
    return render_template(
        "admin/confirm.html",
        title=question.format(name=target.name),
        explanation=explanation,
        form=form,
        action_url=request.path,
        back_url=url_for("admin.user", user_id=user_id),
        errors=[{"text": problem, "href": "#submit"}] if problem else [],
    )


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@rule("admin")
def deactivate(user_id: int) -> str | Response:
    return _confirm(user_id, "deactivate")


@bp.route("/users/<int:user_id>/reactivate", methods=["GET", "POST"])
@rule("admin")
def reactivate(user_id: int) -> str | Response:
    return _confirm(user_id, "reactivate")


@bp.route("/users/<int:user_id>/reset-2fa", methods=["GET", "POST"])
@rule("admin")
def reset_2fa(user_id: int) -> str | Response:
    return _confirm(user_id, "reset-2fa")


@bp.route("/users/<int:user_id>/send-password-reset", methods=["GET", "POST"])
@rule("admin")
def send_password_reset(user_id: int) -> str | Response:
    return _confirm(user_id, "send-password-reset")


# -- invitations ------------------------------------------------------------------------------------
# Invitations are issued from notice e-mails (portal.services.invitations); the users page lists those still
# waiting, and an administrator resends (a fresh link; the old one stops working) or revokes one.


@bp.route("/users/invite", methods=["GET", "POST"])
@rule("admin")
def invite() -> str | Response:
    form = InviteForm()
    agencies = directory.agencies_for(get_session(), current_user.partnership_id)
    form.agency.choices = [("", "Select an agency"), *[(str(a.id), a.name) for a in agencies]]
    if form.validate_on_submit():
        names = {str(a.id): a.name for a in agencies}
        try:
            issued = administration.invite(
                get_session(),
                portal_services(),
                partnership_slug=current_user.partnership.slug,
                agency_name=names.get(form.agency.data or "", ""),
                email=form.email.data or "",
                invited_by_id=current_user.id,
                remote_addr=_addr(),
            )
        except RuleBrokenError as problem:
            get_session().rollback()
            form.add_error(problem.field, problem.message)
        else:
            flash(f"An invitation is on its way to {issued.invitation.email}")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/invite.html",
        form=form,
        errors=form.error_list(InviteForm.FIELD_ORDER) if request.method == "POST" else [],
    )


@bp.post("/invitations/<invitation_id>/resend")
@rule("admin")
def resend_invitation(invitation_id: str) -> Response:
    if ConfirmForm().validate_on_submit():
        try:
            issued = invitations.resend(
                get_session(), portal_services(), current_user.id, invitation_id, remote_addr=_addr()
            )
        except RuleBrokenError as refused:
            get_session().rollback()
            flash(refused.message)
        else:
            flash(f"A new invitation is on its way to {issued.invitation.email}; the old link no longer works")
    return redirect(url_for("admin.users"))


@bp.post("/invitations/<invitation_id>/revoke")
@rule("admin")
def revoke_invitation(invitation_id: str) -> Response:
    if ConfirmForm().validate_on_submit():
        invitations.revoke(get_session(), portal_services(), current_user.id, invitation_id, remote_addr=_addr())
        flash("The invitation is revoked: its link no longer works")
    return redirect(url_for("admin.users"))


# -- the audit trail ------------------------------------------------------------------------------------


def _date_arg(name: str) -> tuple[date | None, str | None]:
    """A date typed as YYYY-MM-DD (a native date input); an error message for anything else."""
    value = request.args.get(name, "").strip()
    if not value:
        return None, None
    try:
        return date.fromisoformat(value) if len(value) == 10 else None, None
    except ValueError:
        return None, "Enter a real date, like 2026-11-23"


def _audit_filters() -> tuple[administration.AuditFilters, list[dict[str, str]]]:
    errors = []
    date_from, problem = _date_arg("from")
    if problem:
        errors.append({"text": f"From: {problem}", "href": "#from"})
    date_to, problem = _date_arg("to")
    if problem:
        errors.append({"text": f"To: {problem}", "href": "#to"})
    if date_from and date_to and date_to < date_from:
        errors.append({"text": "To must be the same as or after From", "href": "#to"})
        date_to = None
    filters = administration.AuditFilters(
        user_id=_int_arg("user"),
        reference=request.args.get("reference", "")[:30],
        action=request.args.get("action", "")[:60],
        date_from=date_from,
        date_to=date_to,
        page=_int_arg("page") or 1,
    )
    return filters, errors


def _audit_args(filters: administration.AuditFilters) -> dict[str, str]:
    return {
        "user": str(filters.user_id or ""),
        "reference": filters.reference,
        "action": filters.action,
        "from": filters.date_from.isoformat() if filters.date_from else "",
        "to": filters.date_to.isoformat() if filters.date_to else "",
    }


@bp.get("/audit")
@rule("admin")
def audit_trail() -> str:
    db = get_session()
    filters, errors = _audit_filters()
    return render_template(
        "admin/audit.html",
        page=administration.audit_entries(db, current_user, filters),
        filters=filters,
        args=_audit_args(filters),
        users=administration.audit_users(db, current_user),
        actions=administration.audit_actions(db),
        raw_from=request.args.get("from", "")[:20],
        raw_to=request.args.get("to", "")[:20],
        check=None,
        button=ConfirmForm(),
        errors=errors,
    )


@bp.post("/audit/verify")
@rule("admin")
def verify_audit() -> str | Response:
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.audit_trail"))
    db = get_session()
    check = administration.verify_chain(db, portal_services(), current_user, remote_addr=_addr())
    filters = administration.AuditFilters()
    return render_template(
        "admin/audit.html",
        page=administration.audit_entries(db, current_user, filters),
        filters=filters,
        args=_audit_args(filters),
        users=administration.audit_users(db, current_user),
        actions=administration.audit_actions(db),
        raw_from="",
        raw_to="",
        check=check,
        button=ConfirmForm(formdata=None),
        errors=[],
    )


@bp.get("/audit.csv")
@rule("admin")
def export_audit() -> Response:
    filters, _errors = _audit_filters()
    filename, data = administration.export_audit(
        get_session(), portal_services(), current_user, filters, remote_addr=_addr()
    )
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# -- keys ---------------------------------------------------------------------------------------------


@bp.get("/keys")
@rule("admin")
def key_status() -> str:
    try:
        rotation = keys.read_rotation_state(Path(current_app.config["KEY_DIR"]))
    except keys.RotationError:
        rotation = None
    status = administration.key_status(get_session(), portal_services(), current_user, rotation)
    return render_template("admin/keys.html", status=status)
