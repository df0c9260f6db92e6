"""The partnership business unit's view: every notice of the partnership, without child identifiers."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from portal.access import rule
from portal.db import get_session
from portal.services import casework

bp = Blueprint("business", __name__, url_prefix="/business")


@bp.get("/notices")
@rule("business_manager")
def notices() -> str:
    return render_template("business/notices.html", rows=casework.notices_for_partnership(get_session(), current_user))
