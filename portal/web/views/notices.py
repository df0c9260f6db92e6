"""Raising a notice (immediate-risk gate, form, check answers, confirmation) and reading one back."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.domain import file_types
from portal.domain.dates import long_date
from portal.domain.notice_definition import NoticeDefinition
from portal.services import (
    casework,
    chaser,
    child_file,
    conversation,
    documents,
    draft_evidence,
    evidence,
    raising,
    record,
    routing,
    transitions,
)
from portal.services.errors import RuleBrokenError
from portal.web.access import rule
from portal.web.database import get_session
from portal.web.forms import notice_form
from portal.web.forms.actions import (
    ButtonForm,
    CloseForm,
    DeleteDraftForm,
    DueDateForm,
    EscalateForm,
    EvidenceForm,
    MessageForm,
    RespondForm,
    WithdrawForm,
)
from portal.web.forms.base import PortalForm, answers_from, field_labels
from portal.web.forms.fields import answer
from portal.web.forms.notice import answers_as_formdata, build_notice_form, typed_answers
from portal.web.forms.raise_notice import ImmediateRiskForm, SubmitNoticeForm
from portal.web.runtime import portal_services

bp = Blueprint("notices", __name__, url_prefix="/notices")


def _addr() -> str:
    return request.remote_addr or ""


def _seen() -> dict[str, Any]:
    """The version and stage of the notice the page showed (posted back with every action)."""
    return {"seen_version": request.form.get("version", type=int), "seen_stage": request.form.get("stage") or None}


@bp.route("/new", methods=["GET", "POST"])
@rule("practitioner")
def new() -> str | Response:
    form = ImmediateRiskForm()
    if form.validate_on_submit():
        at_risk = form.immediate_risk.data == "yes"
        check = raising.record_safety_check(
            get_session(), portal_services(), current_user, immediate_risk=at_risk, remote_addr=_addr()
        )
        if at_risk:
            return redirect(url_for("notices.immediate_risk"))
        draft = raising.start_draft(get_session(), portal_services(), current_user, check.id)
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
    _draft, answers = raising.get_draft(db, services, current_user, draft_id)
    definition = raising.definition_for(current_user.partnership)
    shown = routing.form_directory(db, services, current_user.partnership, with_agencies=bool(definition.agency_fields))
    contacts, agencies = list(shown.contacts), list(shown.agencies)
    if request.method == "POST":
        form = build_notice_form(definition, contacts, agencies, formdata=request.form)
        label = raising.clean_label(request.form.get(raising.LABEL_FIELD))
        if form.validate():
            raising.save_draft(db, services, current_user, draft_id, answers_from(form), label=label)
            return redirect(url_for("notices.check", draft_id=draft_id))
    else:
        form = build_notice_form(definition, contacts, agencies, formdata=answers_as_formdata(definition, answers))
        label = answers.get(raising.LABEL_FIELD, "")
    return render_template(
        "notices/form.html",
        form=form,
        definition=definition,
        draft_id=draft_id,
        label=label,
        errors=form.error_list(definition.field_order) if request.method == "POST" else [],
        review_notes=shown.review_notes,
    )


@bp.post("/drafts/<draft_id>/autosave")
@rule("practitioner")
def autosave(draft_id: str) -> tuple[str, int]:
    # The page's script posts the form every few seconds while the writer types; CSRF-checked like any POST.
    definition = raising.definition_for(current_user.partnership)
    typed = typed_answers(definition, request.form)
    if raising.LABEL_FIELD in request.form:
        typed[raising.LABEL_FIELD] = request.form[raising.LABEL_FIELD]
    raising.autosave_draft(get_session(), portal_services(), current_user, draft_id, typed)
    return "", 204


@bp.route("/drafts/<draft_id>/check", methods=["GET", "POST"])
@rule("practitioner")
def check(draft_id: str) -> str | Response:
    db, services = get_session(), portal_services()
    # A second click finds the draft raised (and is shown it): submit_notice decides under the draft's lock,
    # taken only for its short write, so checking the answers here holds nothing (issue 11).
    _draft, answers = raising.get_draft(db, services, current_user, draft_id)
    definition = raising.definition_for(current_user.partnership)
    form = SubmitNoticeForm()
    if form.validate_on_submit():
        # The saved answers are checked again as the form checks them: a contact may have left the directory.
        contacts, agencies = _directory(definition)
        answered = build_notice_form(
            definition, contacts, agencies, formdata=answers_as_formdata(definition, answers), meta={"csrf": False}
        )
        if answered.validate():
            try:
                notice = raising.submit_notice(
                    db, services, current_user, draft_id, answers_from(answered), remote_addr=_addr()
                )
                return redirect(url_for("notices.confirmation", notice_id=notice.id))
            except RuleBrokenError as problem:
                _rule_error(answered, problem)
        # Saved answers that no longer pass: show what to correct.
        return render_template(
            "notices/form.html",
            form=answered,
            definition=definition,
            draft_id=draft_id,
            label=answers.get(raising.LABEL_FIELD, ""),
            errors=answered.error_list(definition.field_order),
        )
    recipient_ids = [answers.get(n, "") for n in definition.recipient_fields]
    shown = definition.display(answers, documents.directory_labels(db, definition, answers))
    return render_template(
        "notices/check.html",
        form=form,
        definition=definition,
        answers=shown,
        draft_id=draft_id,
        files=draft_evidence.files(db, services, current_user, draft_id),
        remove=ButtonForm(),
        labels=field_labels(notice_form(definition.code)),
        sender_notes=routing.sender_notes(db, recipient_ids, today=services.today()),
    )


@bp.get("/<notice_id>/confirmation")
@rule("notice")
def confirmation(notice_id: str) -> str:
    view = casework.read_notice(
        get_session(), portal_services(), current_user, notice_id, remote_addr=_addr(), with_sender_notes=True
    )
    return render_template("notices/confirmation.html", view=view)


@bp.get("/<notice_id>")
@rule("notice")
def show(notice_id: str) -> str:
    view = casework.read_notice(get_session(), portal_services(), current_user, notice_id, remote_addr=_addr())
    labels = field_labels(notice_form(view.definition.code))
    # The page's forms write their CSRF token with csrf_token(): no form object is built for it.
    return render_template("notices/show.html", view=view, labels=labels)


def _directory(definition: NoticeDefinition) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The partnership's active contacts, and its agencies when the form routes by agency."""
    return routing.form_choices(
        get_session(), portal_services(), current_user.partnership, with_agencies=bool(definition.agency_fields)
    )


# -- the response loop: each view loads the notice through the engine (audited 404 if not allowed now) --


def _action_page(notice_id: str, action: str, form: PortalForm, title: str, **extra: object) -> str:
    notice = record.load_for_action(
        get_session(), portal_services(), current_user, notice_id, action, remote_addr=_addr(), lock=False
    )
    return render_template(
        "notices/action.html",
        notice=notice,
        stage=record.procedure_of(notice).stage(notice.stage),
        record=notice.current_stage,
        form=form,
        action=action,
        title=title,
        errors=form.error_list() if request.method == "POST" else [],
        **extra,
    )


def _rule_error(form: PortalForm, problem: RuleBrokenError) -> None:
    """Show a broken procedure rule beside the field it is about."""
    if problem.field in form:
        field = form[problem.field]
        field.errors = [*field.errors, problem.message]


@bp.post("/<notice_id>/acknowledge")
@rule("notice")
def acknowledge(notice_id: str) -> Response:
    if ButtonForm().validate_on_submit():
        transitions.acknowledge(
            get_session(), portal_services(), current_user, notice_id, **_seen(), remote_addr=_addr()
        )
        flash("Receipt acknowledged", "success")
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.post("/<notice_id>/chase")
@rule("notice")
def chase(notice_id: str) -> Response:
    if ButtonForm().validate_on_submit():
        try:
            chaser.chase_now(get_session(), portal_services(), current_user, notice_id, remote_addr=_addr())
        except RuleBrokenError:
            pass
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.route("/<notice_id>/respond", methods=["GET", "POST"])
@rule("notice")
def respond(notice_id: str) -> str | Response:
    form = RespondForm()
    if form.validate_on_submit():
        transitions.respond(
            get_session(),
            portal_services(),
            current_user,
            notice_id,
            response=answer(form.response),
            agreed_actions=form.agreed_actions.data or "",
            **_seen(),
            remote_addr=_addr(),
        )
        flash("Response recorded: the other side has been told by e-mail", "success")
        return redirect(url_for("notices.show", notice_id=notice_id))
    return _action_page(notice_id, "respond", form, "Record your response")


@bp.route("/<notice_id>/due-date", methods=["GET", "POST"])
@rule("notice")
def due_date(notice_id: str) -> str | Response:
    form = DueDateForm()
    if form.validate_on_submit():
        try:
            transitions.agree_due_date(
                get_session(),
                portal_services(),
                current_user,
                notice_id,
                agreed=answer(form.agreed_due),
                **_seen(),
                remote_addr=_addr(),
            )
            flash(f"Date agreed: this stage is now due by {long_date(form.agreed_due.data)}", "success")
            return redirect(url_for("notices.show", notice_id=notice_id))
        except RuleBrokenError as problem:
            _rule_error(form, problem)
    return _action_page(notice_id, "agree_due", form, "Agree the date this stage concludes by")


@bp.route("/<notice_id>/escalate", methods=["GET", "POST"])
@rule("notice")
def escalate(notice_id: str) -> str | Response:
    db = get_session()
    form = EscalateForm()
    posting = request.method == "POST"
    notice = record.load_for_action(
        db,
        portal_services(),
        current_user,
        notice_id,
        "escalate",
        remote_addr=_addr(),
        **_seen(),
        lock=posting,
    )
    targets = transitions.escalation_targets(notice)
    form.offer(targets, routing.contact_choices(db, notice.partnership_id))
    if form.validate_on_submit():
        try:
            entered = transitions.escalate(
                db,
                portal_services(),
                current_user,
                notice_id,
                to_stage=form.to_stage.data,
                reason=answer(form.reason),
                immediate_risk=form.immediate_risk.data == "yes",
                referral=form.referral.data or "",
                skip_reason=form.skip_reason.data or "",
                chosen=routing.chosen_contacts(db, notice, [form.send_to_1.data, form.send_to_2.data]),
                **_seen(),
                remote_addr=_addr(),
            )
            stage_name = record.procedure_of(notice).stage(entered.stage_row.stage).name
            flash(f"Notice escalated to {stage_name}: the people it now goes to have been told by e-mail", "success")
            return redirect(url_for("notices.show", notice_id=notice_id, escalated=1 if entered.prompts else None))
        except RuleBrokenError as problem:
            _rule_error(form, problem)
    return _action_page(
        notice_id,
        "escalate",
        form,
        "Escalate the notice",
        front_door=notice.partnership.front_door,
        immediate_risk_advice=record.procedure_of(notice).immediate_risk,
        targets=targets,
        defaults={stage.code: transitions.default_recipients(db, notice, stage) for stage, _ in targets},
    )


@bp.route("/<notice_id>/close", methods=["GET", "POST"])
@rule("notice")
def close(notice_id: str) -> str | Response:
    form = CloseForm()
    if form.validate_on_submit():
        upload = form.upload
        try:
            transitions.close(
                get_session(),
                portal_services(),
                current_user,
                notice_id,
                closure=form.closure(),
                outcome=form.outcome_code.data,
                evidence=(upload.filename or "", upload.read(file_types.MAX_BYTES + 1)) if upload else None,
                **_seen(),
                remote_addr=_addr(),
            )
            flash("Notice closed: everyone it was sent to has been told by e-mail", "success")
            return redirect(url_for("notices.show", notice_id=notice_id))
        except RuleBrokenError as problem:
            _rule_error(form, problem)
    return _action_page(notice_id, "close", form, "Close the notice with an agreed outcome")


@bp.route("/<notice_id>/withdraw", methods=["GET", "POST"])
@rule("notice")
def withdraw(notice_id: str) -> str | Response:
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            transitions.withdraw(
                get_session(),
                portal_services(),
                current_user,
                notice_id,
                reason=form.reason.data or "",
                **_seen(),
                remote_addr=_addr(),
            )
            flash("Notice withdrawn: both sides and the business unit have been told by e-mail", "success")
            return redirect(url_for("notices.show", notice_id=notice_id))
        except RuleBrokenError as problem:
            _rule_error(form, problem)
    return _action_page(notice_id, "withdraw", form, "Withdraw the notice")


@bp.route("/<notice_id>/message", methods=["GET", "POST"])
@rule("notice")
def message(notice_id: str) -> str | Response:
    form = MessageForm()
    if form.validate_on_submit():
        try:
            conversation.post(
                get_session(),
                portal_services(),
                current_user,
                notice_id,
                text=form.text.data or "",
                **_seen(),
                remote_addr=_addr(),
            )
            flash("Message sent: the other sides have been told by e-mail", "success")
            return redirect(url_for("notices.show", notice_id=notice_id, _anchor="messages"))
        except RuleBrokenError as problem:
            _rule_error(form, problem)
    return _action_page(notice_id, "message", form, "Send a message")


@bp.route("/<notice_id>/evidence", methods=["GET", "POST"])
@rule("notice")
def evidence_upload(notice_id: str) -> str | Response:
    form = EvidenceForm()
    if form.validate_on_submit():
        upload = form.upload
        try:
            if upload is None:  # validate() has already asked for one
                raise RuleBrokenError("file", "Select a file")
            evidence.attach(
                get_session(),
                portal_services(),
                current_user,
                notice_id,
                filename=upload.filename or "",
                data=upload.read(file_types.MAX_BYTES + 1),
                **_seen(),
                remote_addr=_addr(),
            )
            flash("File attached: it is listed on the notice and in a new signed version", "success")
            return redirect(url_for("notices.show", notice_id=notice_id, _anchor="evidence"))
        except RuleBrokenError as problem:
            _rule_error(form, problem)
    notice = record.load_for_action(
        get_session(), portal_services(), current_user, notice_id, "attach", remote_addr=_addr(), lock=False
    )
    return render_template(
        "notices/evidence.html",
        notice=notice,
        form=form,
        limits=file_types,
        errors=form.error_list() if request.method == "POST" else [],
    )


@bp.get("/<notice_id>/evidence/<attachment_id>")
@rule("notice")
def evidence_download(notice_id: str, attachment_id: str) -> Response:
    return evidence_file(
        *evidence.download(
            get_session(), portal_services(), current_user, notice_id, attachment_id, remote_addr=_addr()
        )
    )


def evidence_file(name: str, mimetype: str, data: bytes) -> Response:
    """A piece of evidence as a response: always a download, never shown inline, as the content is whatever
    somebody uploaded."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(name)
    return response


def content_disposition(name: str) -> str:
    """An attachment header that carries any name safely (RFC 6266: an ASCII fallback and the UTF-8 name)."""
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


@bp.route("/drafts/<draft_id>/delete", methods=["GET", "POST"])
@rule("practitioner")
def delete_draft(draft_id: str) -> str | Response:
    db, services = get_session(), portal_services()
    draft, _answers = raising.get_draft(db, services, current_user, draft_id)
    form = DeleteDraftForm()
    if form.validate_on_submit():
        if form.confirm.data == "yes":
            raising.delete_draft(db, services, current_user, draft_id, remote_addr=_addr())
            flash("Unfinished notice deleted", "success")
            return redirect(url_for("home.index"))
        return redirect(url_for("notices.draft", draft_id=draft_id))
    return render_template(
        "notices/delete-draft.html",
        form=form,
        draft=draft,
        errors=form.error_list() if request.method == "POST" else [],
    )


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


@bp.get("/<notice_id>/child-file.pdf")
@rule("notice")
def child_file_pdf(notice_id: str) -> Response:
    filename, data = child_file.download_pdf(
        get_session(), portal_services(), current_user, notice_id, remote_addr=_addr()
    )
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/<notice_id>/child-file.json")
@rule("notice")
def child_file_json(notice_id: str) -> Response:
    filename, data = child_file.download_json(
        get_session(), portal_services(), current_user, notice_id, remote_addr=_addr()
    )
    response = Response(data, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/drafts/<draft_id>/evidence", methods=["GET", "POST"])
@rule("practitioner")
def draft_evidence_upload(draft_id: str) -> str | Response:
    db, services = get_session(), portal_services()
    form = EvidenceForm()
    if form.validate_on_submit():
        upload = form.upload
        try:
            if upload is None:  # validate() has already asked for one
                raise RuleBrokenError("file", "Select a file")
            draft_evidence.attach(
                db,
                services,
                current_user,
                draft_id,
                filename=upload.filename or "",
                data=upload.read(file_types.MAX_BYTES + 1),
                remote_addr=_addr(),
            )
            flash("File attached: it will be sent with the notice and listed in its signed PDF", "success")
            return redirect(url_for("notices.check", draft_id=draft_id, _anchor="evidence"))
        except RuleBrokenError as problem:
            _rule_error(form, problem)
    files = draft_evidence.files(db, services, current_user, draft_id)
    return render_template(
        "notices/draft-evidence.html",
        draft_id=draft_id,
        files=files,
        form=form,
        limits=file_types,
        errors=form.error_list() if request.method == "POST" else [],
    )


@bp.get("/drafts/<draft_id>/evidence/<attachment_id>")
@rule("practitioner")
def draft_evidence_download(draft_id: str, attachment_id: str) -> Response:
    return evidence_file(
        *draft_evidence.download(
            get_session(), portal_services(), current_user, draft_id, attachment_id, remote_addr=_addr()
        )
    )


@bp.post("/drafts/<draft_id>/evidence/<attachment_id>/remove")
@rule("practitioner")
def draft_evidence_remove(draft_id: str, attachment_id: str) -> Response:
    draft_evidence.remove(get_session(), portal_services(), current_user, draft_id, attachment_id, remote_addr=_addr())
    flash("File removed from the notice", "success")
    return redirect(url_for("notices.check", draft_id=draft_id, _anchor="evidence"))
