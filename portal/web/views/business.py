"""The partnership business unit's view: every notice of the partnership, without child identifiers."""

from __future__ import annotations

from flask import Blueprint, render_template, request, stream_with_context
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.services import casework, exports
from portal.web.access import rule
from portal.web.database import get_session
from portal.web.runtime import portal_services

bp = Blueprint("business", __name__, url_prefix="/business")


@bp.get("/notices")
@rule("business_manager")
def notices() -> str:
    due = request.args.get("due", "")
    filters = casework.ListFilters(due=due if due in casework.DUE_FILTERS else "")
    page = casework.notices_for_partnership(
        get_session(),
        portal_services(),
        current_user,
        filters,
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    return render_template("business/notices.html", page=page, filters=filters)


@bp.get("/notices.csv")
@rule("business_manager")
def export() -> Response:
    filename, chunks = exports.export_register(
        get_session(), portal_services(), current_user, remote_addr=request.remote_addr or ""
    )
    # Streamed: the request's session (and its server-side cursor) stays open until the last chunk is sent.
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
