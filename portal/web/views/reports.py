"""The business unit's desk: the dashboard on its home page, reports for a period, and their downloads.

Periods travel in the query string (dates and preset names only: a report has no child detail to leak).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from portal.services import learning, reports
from portal.services.errors import RuleBrokenError
from portal.web.access import rule
from portal.web.charts import bar_chart
from portal.web.database import get_session
from portal.web.runtime import portal_services

bp = Blueprint("reports", __name__, url_prefix="/business")

QUARTERS_OFFERED = 12
YEARS_OFFERED = 5


def _addr() -> str:
    return request.remote_addr or ""


def chart_for(figure: reports.Figure) -> Markup:
    """The figure's SVG chart: both series for the trend, otherwise its first column."""
    series = figure.columns if figure.key == "trend" else figure.columns[:1]
    rows = [(label, [float(values[i] or 0) for i in range(len(series))]) for label, values in figure.rows]
    return bar_chart(f"chart-{figure.key}", figure.title, figure.summary, series, rows)


def _quarters(today: date) -> list[tuple[str, str]]:
    year, number = reports.quarter_of(today)
    offered = []
    for _ in range(QUARTERS_OFFERED):
        offered.append((f"{year}-{number}", reports.quarter(year, number).label))
        year, number = (year, number - 1) if number > 1 else (year - 1, 4)
    return offered


def _years(today: date) -> list[tuple[str, str]]:
    first = today.year if today.month >= 4 else today.year - 1
    return [(str(y), reports.financial_year(y).label) for y in range(first, first - YEARS_OFFERED, -1)]


def _date_from(args: MultiDict[str, str], prefix: str, name: str) -> date:
    try:
        return date(
            int(args.get(f"{prefix}-year", "")),
            int(args.get(f"{prefix}-month", "")),
            int(args.get(f"{prefix}-day", "")),
        )
    except ValueError:
        raise RuleBrokenError(prefix, f"Enter the {name} as a real date, for example 1 4 2026") from None


def period_from(args: MultiDict[str, str], today: date) -> reports.Period | None:
    """The period the query string asks for, None when it asks for none yet; RuleBrokenError when malformed."""
    choose = args.get("choose", "")
    if not choose:
        return None
    if choose in reports.PRESETS:
        return reports.preset_period(choose, today)
    if choose == "quarter":
        try:
            year, number = (int(part) for part in args.get("quarter", "").split("-"))
        except ValueError:
            raise RuleBrokenError("quarter", "Choose a quarter") from None
        return reports.quarter(year, number)
    if choose == "year":
        try:
            return reports.financial_year(int(args.get("year", "")))
        except ValueError:
            raise RuleBrokenError("year", "Choose a financial year") from None
    if choose == "dates":
        return reports.between(_date_from(args, "from", "start date"), _date_from(args, "to", "end date"))
    raise RuleBrokenError("choose", "Choose a report")


def _title(args: MultiDict[str, str]) -> str:
    choose = args.get("choose", "")
    return reports.PRESETS[choose][0] if choose in reports.PRESETS else "Escalation report"


@bp.get("/")
@rule("business_manager")
def dashboard() -> str:
    board = reports.dashboard(get_session(), portal_services(), current_user, remote_addr=_addr())
    return render_template("reports/dashboard.html", board=board, chart=chart_for(board.trend), shown=_shown_in_unit)


@bp.get("/reports")
@rule("business_manager")
def report() -> str:
    today = portal_services().today()
    error: RuleBrokenError | None = None
    result = None
    try:
        period = period_from(request.args, today)
        if period is not None:
            result = reports.report_for(
                get_session(), portal_services(), current_user, period, title=_title(request.args), remote_addr=_addr()
            )
    except RuleBrokenError as problem:
        error = problem
    # A period asked wrongly is asked again with the error beside the choice, like every form here (200).
    return render_template(
        "reports/report.html",
        report=result,
        error=error,
        presets=reports.presets_for(current_user.partnership.slug),
        quarters=_quarters(today),
        years=_years(today),
        args=request.args,
        charts={f.key: chart_for(f) for f in result.figures if f.chart} if result else {},
        shown=_shown_in_unit,
        query=request.query_string.decode("ascii", "replace"),
        small=reports.SMALL,
    )


def _shown_in_unit(value: Any, index: int, figure: reports.Figure) -> str:
    return reports.shown(value, count=index in figure.count_columns, shared=False)


def _download(kind: str) -> Response:
    period = period_from(request.args, portal_services().today())
    if period is None:
        raise RuleBrokenError("choose", "Choose a report")
    make = reports.report_csv if kind == "csv" else reports.report_pdf
    filename, data = make(
        get_session(), portal_services(), current_user, period, title=_title(request.args), remote_addr=_addr()
    )
    response = Response(data, mimetype="text/csv" if kind == "csv" else "application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/reports/report.csv")
@rule("business_manager")
def report_csv() -> Response:
    return _download("csv")


@bp.get("/reports/report.pdf")
@rule("business_manager")
def report_pdf() -> Response:
    return _download("pdf")


@bp.get("/learning")
@rule("business_manager")
def learning_log() -> str:
    rows, counts = learning.log_for(get_session(), portal_services(), current_user)
    return render_template("reports/learning.html", rows=rows, counts=counts, statuses=reports.LEARNING_STATUSES)


@bp.route("/learning/<item_id>", methods=["GET", "POST"])
@rule("business_manager")
def learning_item(item_id: str) -> str | Response:
    db, services = get_session(), portal_services()
    error: RuleBrokenError | None = None
    if request.method == "POST":
        try:
            learning.update_item(
                db,
                services,
                current_user,
                item_id,
                assigned_to=request.form.get("assigned_to", ""),
                action=request.form.get("action", ""),
                status=request.form.get("status", ""),
                remote_addr=_addr(),
            )
            return redirect(url_for("reports.learning_log"))
        except RuleBrokenError as problem:
            db.rollback()
            error = problem
    view = learning.read_item(db, services, current_user, item_id, remote_addr=_addr())
    return render_template(
        "reports/learning-item.html",
        view=view,
        error=error,
        form=request.form if error else None,
        statuses=reports.LEARNING_STATUSES,
    )
