"""Search for a child's notices by NHS number, or by surname with date of birth (blind indexes).

POST only carries the terms: they never appear in a URL, a redirect or a log line. The results list shows
references, stages and agencies, never the child's details.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from portal.services import search as search_service
from portal.web.access import rule
from portal.web.database import get_session
from portal.web.forms.search import SearchForm
from portal.web.runtime import portal_services

bp = Blueprint("search", __name__)


@bp.route("/search", methods=["GET", "POST"])
@rule("notice")
def search() -> str:
    form = SearchForm()
    outcome = None
    if form.validate_on_submit():
        try:
            outcome = search_service.find_notices(
                get_session(),
                portal_services(),
                current_user,
                nhs_number=form.nhs_number.data,
                surname=form.surname.data,
                dob=form.dob.data,
                remote_addr=request.remote_addr or "",
            )
        except search_service.SearchError as problem:
            form.add_error(problem.field, problem.message)
    errors = form.error_list(SearchForm.FIELD_ORDER) if request.method == "POST" else []
    return render_template("search/search.html", form=form, outcome=outcome, errors=errors)
