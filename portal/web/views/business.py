"""The partnership business unit's view: every notice of the partnership, without child identifiers."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request, stream_with_context
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from portal.services import casework, exports
from portal.web.access import rule
from portal.web.database import get_session
from portal.web.runtime import portal_services

bp = Blueprint("business", __name__, url_prefix="/business")


@bp.get("/notices")
@rule("business_manager")
def notices() -> str:
    db = get_session()
    choices = casework.filter_choices(db, current_user)
    filters = _filters(request.args, choices)
    page = casework.notices_for_partnership(
        get_session(),
        portal_services(),
        current_user,
        filters,
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    # Only the filters applied (a value that is not a choice was ignored), carried from page to page.
    applied = {
        "due": filters.due,
        "status": filters.status,
        "stage": filters.stage,
        "raising": filters.raising_agency,
        "receiving": filters.receiving_agency,
        "from": filters.opened_from,
        "to": filters.opened_to,
        "category": filters.category,
        "reference": filters.reference,
    }
    kept = {name: str(value) for name, value in applied.items() if value not in ("", None)}
    # The order is carried from page to page with the filters, but does not narrow the list.
    carried = {**kept, "sort": filters.sort} if filters.sort != "newest" else kept
    return render_template(
        "business/notices.html",
        page=page,
        filters=filters,
        choices=choices,
        kept=kept,
        carried=carried,
        sorts=casework.SORTS,
    )


def _id_in(value: str, allowed: list[tuple[int, str]]) -> int | None:
    return int(value) if value.isdigit() and int(value) in {a for a, _ in allowed} else None


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def _filters(args: MultiDict[str, str], choices: casework.FilterChoices) -> casework.ListFilters:
    """The filters asked for; a value that is not one of the choices is ignored, never an error."""
    due = args.get("due", "")
    status = args.get("status", "")
    stage = args.get("stage", "")
    category = args.get("category", "")
    reference = args.get("reference", "").strip()
    sort = args.get("sort", "")
    return casework.ListFilters(
        due=due if due in casework.DUE_FILTERS else "",
        status=status if status in dict(choices.statuses) else "",
        stage=stage if stage in dict(choices.stages) else "",
        raising_agency=_id_in(args.get("raising", ""), choices.agencies),
        receiving_agency=_id_in(args.get("receiving", ""), choices.agencies),
        opened_from=_day(args.get("from", "")),
        opened_to=_day(args.get("to", "")),
        category=category if category in dict(choices.themes) else "",
        reference=reference if len(reference) <= 30 else "",
        sort=sort if sort in casework.SORTS else "newest",
    )


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


@bp.get("/notices.xlsx")
@rule("business_manager")
def export_xlsx() -> Response:
    filename, chunks = exports.export_register_xlsx(
        get_session(), portal_services(), current_user, remote_addr=request.remote_addr or ""
    )
    response = Response(
        stream_with_context(chunks), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
