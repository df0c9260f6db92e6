"""The signed-in home page for each role, and a health check."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.domain.models import Role
from portal.services import casework, raising
from portal.web.access import rule
from portal.web.database import get_session
from portal.web.runtime import portal_services

bp = Blueprint("home", __name__)


@bp.get("/")
@rule("signed_in")
def index() -> str | Response:
    role = current_user.role_enum
    if role is Role.BUSINESS_MANAGER:
        return redirect(url_for("reports.dashboard"))
    if role is Role.ADMIN:
        return render_template("home/admin.html")
    db = get_session()
    services = portal_services()
    page = casework.notices_for_user(
        db, services, current_user, after=request.args.get("after"), before=request.args.get("before")
    )
    drafts = raising.drafts_of(db, current_user) if role is Role.PRACTITIONER else []
    return render_template(
        "home/index.html",
        page=page,
        drafts=drafts,
        labels=casework.labels_for(db, services, page.rows),
        draft_labels=raising.draft_labels(db, services, drafts),
    )


@bp.get("/health")
@rule("public")
def health() -> tuple[str, int, dict[str, str]]:
    return "ok", 200, {"Content-Type": "text/plain"}


@bp.get("/accessibility")
@rule("public")
def accessibility() -> str:
    return render_template("home/accessibility.html")
