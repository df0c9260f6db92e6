"""The public verify page: is this PDF a genuine, unaltered notice version? No sign-in, nothing else learnt."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.services import verification
from portal.web.access import rule
from portal.web.database import get_session
from portal.web.forms.verify import VerifyForm
from portal.web.runtime import portal_services

bp = Blueprint("verify", __name__)


@bp.route("/verify", methods=["GET", "POST"])
@rule("public")
def verify() -> str:
    form = VerifyForm()
    verdict = None
    if form.validate_on_submit():
        upload = form.upload
        verdict = verification.verify(
            get_session(),
            portal_services(),
            pdf=upload.read() if upload is not None else None,
            sha256=form.digest,
            remote_addr=request.remote_addr or "",
        )
    errors = form.error_list() if request.method == "POST" else []
    return render_template("verify/verify.html", form=form, verdict=verdict, errors=errors)
