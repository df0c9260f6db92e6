"""Raising a notice (immediate-risk gate, form, check answers, confirmation) and reading one back."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.access import rule
from portal.db import get_session
from portal.forms.actions import ButtonForm, CloseForm, DueDateForm, EscalateForm, RespondForm
from portal.forms.raise_notice import ImmediateRiskForm, SubmitNoticeForm
from portal.services import casework, notices, stages
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


@bp.post("/drafts/<draft_id>/autosave")
@rule("practitioner")
def autosave(draft_id: str) -> tuple[str, int]:
    # The page's script posts the form every few seconds while the writer types; CSRF-checked like any POST.
    notices.autosave_draft(get_session(), portal_services(), current_user, draft_id, request.form)
    return "", 204


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
    shown = definition.display(answers, notices.directory_labels(db, definition, answers))
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
    return render_template("notices/show.html", view=view, labels=view.definition.field_labels(), button=ButtonForm())


# -- the response loop: each view loads the notice through the engine (audited 404 if not allowed now) --


def _action_page(notice_id: str, action: str, form: object, title: str, **extra: object) -> str:
    notice = stages.load(get_session(), portal_services(), current_user, notice_id, action, _addr())
    return render_template(
        "notices/action.html",
        notice=notice,
        stage=stages.procedure_of(notice).stage(notice.stage),
        record=notice.current_stage,
        form=form,
        action=action,
        title=title,
        errors=form.error_list() if request.method == "POST" else [],  # type: ignore[attr-defined]
        **extra,
    )


def _rule_error(form: object, problem: stages.StageRuleError) -> None:
    field = form[problem.field] if problem.field in form else None  # type: ignore[index,operator]
    if field is not None:
        field.errors = [*field.errors, problem.message]


@bp.post("/<notice_id>/acknowledge")
@rule("notice")
def acknowledge(notice_id: str) -> Response:
    if ButtonForm().validate_on_submit():
        stages.acknowledge(get_session(), portal_services(), current_user, notice_id, remote_addr=_addr())
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.post("/<notice_id>/chase")
@rule("notice")
def chase(notice_id: str) -> Response:
    if ButtonForm().validate_on_submit():
        try:
            stages.chase_now(get_session(), portal_services(), current_user, notice_id, remote_addr=_addr())
        except stages.StageRuleError:
            pass
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.route("/<notice_id>/respond", methods=["GET", "POST"])
@rule("notice")
def respond(notice_id: str) -> str | Response:
    form = RespondForm()
    if form.validate_on_submit():
        stages.respond(
            get_session(),
            portal_services(),
            current_user,
            notice_id,
            response=form.response.data,
            agreed_actions=form.agreed_actions.data or "",
            remote_addr=_addr(),
        )
        return redirect(url_for("notices.show", notice_id=notice_id))
    return _action_page(notice_id, "respond", form, "Record your response")


@bp.route("/<notice_id>/due-date", methods=["GET", "POST"])
@rule("notice")
def due_date(notice_id: str) -> str | Response:
    form = DueDateForm()
    if form.validate_on_submit():
        try:
            stages.agree_due_date(
                get_session(),
                portal_services(),
                current_user,
                notice_id,
                agreed=form.agreed_due.data,
                remote_addr=_addr(),
            )
            return redirect(url_for("notices.show", notice_id=notice_id))
        except stages.StageRuleError as problem:
            _rule_error(form, problem)
    return _action_page(notice_id, "agree_due", form, "Agree the date this stage concludes by")


@bp.route("/<notice_id>/escalate", methods=["GET", "POST"])
@rule("notice")
def escalate(notice_id: str) -> str | Response:
    db = get_session()
    form = EscalateForm()
    notice = stages.load(db, portal_services(), current_user, notice_id, "escalate", _addr())
    stages.fill_escalation_choices(db, form, notice)
    if form.validate_on_submit():
        try:
            entered = stages.escalate(
                db,
                portal_services(),
                current_user,
                notice_id,
                to_stage=form.to_stage.data,
                reason=form.reason.data,
                immediate_risk=form.immediate_risk.data == "yes",
                referral=form.referral.data or "",
                skip_reason=form.skip_reason.data or "",
                chosen=stages.chosen_contacts(db, notice, [form.send_to_1.data, form.send_to_2.data]),
                remote_addr=_addr(),
            )
            return redirect(url_for("notices.show", notice_id=notice_id, escalated=1 if entered.prompts else None))
        except stages.StageRuleError as problem:
            _rule_error(form, problem)
    return _action_page(
        notice_id,
        "escalate",
        form,
        "Escalate the notice",
        front_door=notice.partnership.front_door,
        immediate_risk_advice=stages.procedure_of(notice).immediate_risk,
        targets=stages.escalation_targets(notice),
    )


@bp.route("/<notice_id>/close", methods=["GET", "POST"])
@rule("notice")
def close(notice_id: str) -> str | Response:
    form = CloseForm()
    if form.validate_on_submit():
        try:
            stages.close(
                get_session(), portal_services(), current_user, notice_id, closure=form.closure(), remote_addr=_addr()
            )
            return redirect(url_for("notices.show", notice_id=notice_id))
        except stages.StageRuleError as problem:
            _rule_error(form, problem)
    return _action_page(notice_id, "close", form, "Close the notice with an agreed outcome")


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
