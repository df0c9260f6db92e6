"""Raising a notice (immediate-risk gate, form, check answers, confirmation) and reading one back."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.access import rule
from portal.db import get_session
from portal.forms.raise_notice import ImmediateRiskForm, SubmitNoticeForm
from portal.services import casework, notices
from portal.services.runtime import portal_services

bp = Blueprint("notices", __name__, url_prefix="/notices")


def _addr() -> str:
    return request.remote_addr or ""


@bp.route("/new", methods=["GET", "POST"])
@rule("practitioner")
def new() -> str | Response:
    form = ImmediateRiskForm()
    if form.validate_on_submit():
        at_risk = form.immediate_risk.data == "yes"
        check = notices.record_safety_check(
            get_session(), portal_services(), current_user, immediate_risk=at_risk, remote_addr=_addr()
        )
        if at_risk:
            return redirect(url_for("notices.immediate_risk"))
        draft = notices.start_draft(get_session(), portal_services(), current_user, check.id)
        return redirect(url_for("notices.draft", draft_id=draft.id))
    return render_template("notices/immediate-risk-question.html", form=form)


@bp.get("/new/immediate-risk")
@rule("practitioner")
def immediate_risk() -> str:
    return render_template("notices/immediate-risk.html", front_door=current_user.partnership.front_door)


@bp.route("/drafts/<draft_id>", methods=["GET", "POST"])
@rule("practitioner")
def draft(draft_id: str) -> str | Response:
    db, services = get_session(), portal_services()
    _draft, answers = notices.get_draft(db, services, current_user, draft_id)
    definition = notices.definition_for(current_user.partnership)
    if request.method == "POST":
        form = notices.build_form(db, definition, current_user.partnership_id, formdata=request.form)
        if form.validate():
            notices.save_draft(db, services, current_user, draft_id, definition.answers_from(form))
            return redirect(url_for("notices.check", draft_id=draft_id))
    else:
        form = notices.build_form(
            db, definition, current_user.partnership_id, formdata=notices.answers_as_formdata(definition, answers)
        )
    return render_template(
        "notices/form.html",
        form=form,
        definition=definition,
        draft_id=draft_id,
        errors=form.error_list(definition.field_order) if request.method == "POST" else [],
    )


@bp.route("/drafts/<draft_id>/check", methods=["GET", "POST"])
@rule("practitioner")
def check(draft_id: str) -> str | Response:
    db, services = get_session(), portal_services()
    _draft, answers = notices.get_draft(db, services, current_user, draft_id)
    definition = notices.definition_for(current_user.partnership)
    form = SubmitNoticeForm()
    if form.validate_on_submit():
        try:
            notice = notices.submit_notice(db, services, current_user, draft_id, remote_addr=_addr())
        except notices.InvalidAnswersError as problem:
            # Saved answers that no longer pass (a contact left the directory): show what to correct.
            return render_template(
                "notices/form.html",
                form=problem.form,
                definition=definition,
                draft_id=draft_id,
                errors=problem.form.error_list(definition.field_order),
            )
        return redirect(url_for("notices.confirmation", notice_id=notice.id))
    recipient_ids = [answers.get(n, "") for n in definition.recipient_fields]
    shown = definition.display(answers, notices.contact_labels(db, recipient_ids))
    return render_template(
        "notices/check.html",
        form=form,
        definition=definition,
        answers=shown,
        draft_id=draft_id,
        labels=definition.field_labels(),
        sender_notes=notices.sender_notes(db, recipient_ids),
    )


@bp.get("/<notice_id>/confirmation")
@rule("notice")
def confirmation(notice_id: str) -> str:
    view = casework.read_notice(get_session(), portal_services(), current_user, notice_id, remote_addr=_addr())
    return render_template("notices/confirmation.html", view=view)


@bp.get("/<notice_id>")
@rule("notice")
def show(notice_id: str) -> str:
    view = casework.read_notice(get_session(), portal_services(), current_user, notice_id, remote_addr=_addr())
    return render_template("notices/show.html", view=view, labels=view.definition.field_labels())


@bp.get("/<notice_id>/pdf")
@rule("notice")
def pdf(notice_id: str) -> Response:
    version = request.args.get("version", type=int)
    filename, data = casework.download_pdf(
        get_session(), portal_services(), current_user, notice_id, version, remote_addr=_addr()
    )
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
