"""The partnership business unit's view: every notice of the partnership, without child identifiers."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.access import rule
from portal.db import get_session
from portal.services import casework, exports
from portal.services.runtime import portal_services

bp = Blueprint("business", __name__, url_prefix="/business")


@bp.get("/notices")
@rule("business_manager")
def notices() -> str:
    return render_template("business/notices.html", rows=casework.notices_for_partnership(get_session(), current_user))


@bp.get("/notices.csv")
@rule("business_manager")
def export() -> Response:
    try:
        filename, data = exports.export_register(
            get_session(), portal_services(), current_user, remote_addr=request.remote_addr or ""
        )
    except exports.ExportLimitError:
        abort(429)
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
