"""The SPOC directory in the browser, for the partnership's business unit and administrators.

Thin views over portal.services.directory_admin. An import is two steps: the uploaded file is previewed
(and kept in the server-side session, never in a URL), then applied exactly as previewed.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.domain.dates import long_date
from portal.services import directory, directory_admin
from portal.services.errors import RuleBrokenError
from portal.web.access import rule
from portal.web.database import get_session
from portal.web.forms.admin import ApplyImportForm, ConfirmForm, ContactForm, ImportForm
from portal.web.runtime import portal_services

bp = Blueprint("directory", __name__, url_prefix="/directory")

# Where the file being imported waits between its preview and its application (server-side session).
_PENDING = "directory_import"


def _addr() -> str:
    return request.remote_addr or ""


def _today() -> date:
    return portal_services().today()


@bp.get("/")
@rule("directory")
def index() -> str:
    db = get_session()
    return render_template(
        "directory/index.html",
        agencies=directory_admin.overview(db, current_user, _today()),
        overdue=directory_admin.overdue_contacts(db, current_user.partnership_id, _today()),
    )


def _contact_form(form: ContactForm) -> ContactForm:
    form.agency.choices = [
        ("", "Select an agency"),
        *[(str(a.id), a.name) for a in directory.agencies_for(get_session(), current_user.partnership_id)],
    ]
    return form


def _details(form: ContactForm) -> directory_admin.ContactDetails:
    return directory_admin.ContactDetails(
        agency_id=int(form.agency.data) if (form.agency.data or "").isdigit() else None,
        role_title=form.role_title.data or "",
        email=form.email.data or "",
        telephone=form.telephone.data or "",
        review_by=form.review_by.data,
    )


def _contact_page(form: ContactForm, title: str, action_url: str, contact=None) -> str:  # type: ignore[no-untyped-def]
    return render_template(
        "directory/contact.html",
        form=form,
        title=title,
        action_url=action_url,
        contact=contact,
        errors=form.error_list(ContactForm.FIELD_ORDER) if request.method == "POST" else [],
    )


@bp.route("/contacts/new", methods=["GET", "POST"])
@rule("directory")
def add() -> str | Response:
    form = _contact_form(ContactForm())
    if form.validate_on_submit():
        try:
            directory_admin.add_contact(
                get_session(), portal_services(), current_user, _details(form), remote_addr=_addr()
            )
        except RuleBrokenError as problem:
            get_session().rollback()
            form.add_error(problem.field, problem.message)
        else:
            flash(f"Contact added: {form.role_title.data}")
            return redirect(url_for("directory.index"))
    return _contact_page(form, "Add a contact", url_for("directory.add"))


@bp.route("/contacts/<int:contact_id>", methods=["GET", "POST"])
@rule("directory")
def edit(contact_id: int) -> str | Response:
    db = get_session()
    contact = directory_admin.get_contact(db, current_user, contact_id)
    if request.method == "POST":
        form = _contact_form(ContactForm())
        if form.validate():
            try:
                changed = directory_admin.edit_contact(
                    db, portal_services(), current_user, contact_id, _details(form), remote_addr=_addr()
                )
            except RuleBrokenError as problem:
                db.rollback()
                form.add_error(problem.field, problem.message)
            else:
                flash("Contact saved" if changed else "Nothing changed")
                return redirect(url_for("directory.index"))
    else:
        form = _contact_form(
            ContactForm(
                formdata=None,
                data={
                    "agency": str(contact.agency_id),
                    "role_title": contact.role_title,
                    "email": contact.email or "",
                    "telephone": contact.telephone or "",
                    "review_by": contact.review_by,
                },
            )
        )
    return _contact_page(form, "Change a contact", url_for("directory.edit", contact_id=contact_id), contact)


@bp.post("/contacts/<int:contact_id>/reviewed")
@rule("directory")
def reviewed(contact_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        db = get_session()
        label = directory_admin.get_contact(db, current_user, contact_id).label
        until = directory_admin.mark_reviewed(
            db, portal_services(), current_user, contact_id, _today(), remote_addr=_addr()
        )
        flash(f"{label} is marked as reviewed: next review by {long_date(until)}")
    return redirect(url_for("directory.index"))


def _set_active(contact_id: int, active: bool) -> str | Response:
    db = get_session()
    contact = directory_admin.get_contact(db, current_user, contact_id)
    label = contact.label
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit():
        try:
            directory_admin.set_contact_active(
                db, portal_services(), current_user, contact_id, active, remote_addr=_addr()
            )
        except RuleBrokenError as refused:
            db.rollback()
            problem = refused.message
        else:
            flash(f"{label} is {'active again' if active else 'deactivated'}")
            return redirect(url_for("directory.index"))
    if active:
        title = f"Reactivate {label}?"
        explanation = "New notices can be sent to this contact again."
    else:
        title = f"Deactivate {label}?"
        explanation = (
            "New notices can no longer be sent to this contact. Notices already sent to it keep it as a "
            "recipient. You can reactivate it later."
        )
    return render_template(
        "admin/confirm.html",
        title=title,
        explanation=explanation,
        form=form,
        action_url=request.path,
        back_url=url_for("directory.index"),
        errors=[{"text": problem, "href": "#submit"}] if problem else [],
    )


@bp.route("/contacts/<int:contact_id>/deactivate", methods=["GET", "POST"])
@rule("directory")
def deactivate(contact_id: int) -> str | Response:
    return _set_active(contact_id, False)


@bp.route("/contacts/<int:contact_id>/reactivate", methods=["GET", "POST"])
@rule("directory")
def reactivate(contact_id: int) -> str | Response:
    return _set_active(contact_id, True)


@bp.get("/directory.csv")
@rule("directory")
def export() -> Response:
    filename, data = directory_admin.export_csv(
        get_session(), portal_services(), current_user, _today(), remote_addr=_addr()
    )
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/import", methods=["GET", "POST"])
@rule("directory")
def import_file() -> str:
    form = ImportForm()
    plan = None
    if request.method == "GET":
        # A fresh start: nothing previewed earlier can be applied from here.
        session.pop(_PENDING, None)
    if form.validate_on_submit():
        data = form.file.data.read()
        plan = directory_admin.plan_import(get_session(), current_user, data, _today())
        if plan.ok and plan.has_changes:
            session[_PENDING] = {"data": data.decode("utf-8-sig"), "digest": plan.digest()}
        else:
            session.pop(_PENDING, None)
    errors = [{"text": e, "href": "#file"} for e in form.file.errors]
    if plan is not None and not plan.ok:
        errors = [
            {
                "text": "The file has errors: nothing has been changed. Correct them and upload it again",
                "href": "#row-errors",
            }
        ]
    return render_template(
        "directory/import.html",
        form=form,
        plan=plan,
        apply_form=ApplyImportForm(formdata=None, data={"digest": plan.digest() if plan else ""}),
        errors=errors,
    )


@bp.post("/import/apply")
@rule("directory")
def apply_import() -> str | Response:
    form = ApplyImportForm()
    pending = session.get(_PENDING)
    if not form.validate_on_submit() or not isinstance(pending, dict):
        flash("Upload the file again to preview it")
        return redirect(url_for("directory.import_file"))
    db = get_session()
    data = str(pending.get("data", "")).encode("utf-8")
    try:
        plan = directory_admin.apply_import(
            db, portal_services(), current_user, data, form.digest.data or "", _today(), remote_addr=_addr()
        )
    except RuleBrokenError as problem:
        db.rollback()
        plan = directory_admin.plan_import(db, current_user, data, _today())
        if plan.ok and plan.has_changes:
            session[_PENDING] = {"data": data.decode("utf-8"), "digest": plan.digest()}
        return render_template(
            "directory/import.html",
            form=ImportForm(formdata=None),
            plan=plan,
            apply_form=ApplyImportForm(formdata=None, data={"digest": plan.digest()}),
            errors=[{"text": problem.message, "href": "#preview"}],
        )
    session.pop(_PENDING, None)
    flash(
        f"Directory imported: {len(plan.added)} added, {len(plan.changed)} changed, {len(plan.deactivated)} deactivated"
    )
    return redirect(url_for("directory.index"))
