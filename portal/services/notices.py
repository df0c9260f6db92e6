"""Raising a notice: the immediate-risk gate, encrypted drafts, submission, routing and reading back.

submit_notice is the whole path in one transaction: validate -> encrypt -> store -> render -> sign -> queue.
Either all of it is committed (the notice, its signed PDF, its recipients, its e-mails, its timeline and
audit entries) or none of it is.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from portal.access import printable_id, well_formed_id
from portal.forms import form_definition
from portal.forms.base import Entry, NoticeFormDefinition, PortalForm, unbound_fields
from portal.models import (
    Agency,
    DirectoryContact,
    Notice,
    NoticeDraft,
    Partnership,
    SafetyCheck,
    User,
    utcnow,
)
from portal.procedures import procedure_for
from portal.services import audit, search, stages, vault
from portal.services.directory import agencies_for
from portal.services.documents import issue_version, open_version
from portal.services.references import next_reference
from portal.services.runtime import PortalServices
from portal.timeutil import london_today

DRAFT_FIELD = "answers"


class NoticeError(Exception):
    """A notice could not be raised as asked."""


class DraftNotFoundError(NoticeError):
    """No draft with that id belongs to this user (or it was already submitted)."""


class FormNotAvailableError(NoticeError):
    """The partnership's form is not built in the portal yet."""


class InvalidAnswersError(NoticeError):
    """Stored answers no longer pass the form's checks (for example a contact left the directory)."""

    def __init__(self, form: PortalForm) -> None:
        super().__init__("the answers need correcting")
        self.form = form


# -- the immediate-risk gate ---------------------------------------------------------------------------


def record_safety_check(
    session: Session, services: PortalServices, user: User, *, immediate_risk: bool, remote_addr: str = ""
) -> SafetyCheck:
    """Record the answer to the immediate-risk question; "yes" also records that referral advice was shown."""
    check = SafetyCheck(user_id=user.id, partnership_id=user.partnership_id, immediate_risk=immediate_risk)
    if immediate_risk:
        check.referral_advice_shown_at = utcnow()
    session.add(check)
    session.flush()
    audit.record(
        session,
        services.keyring.audit_key,
        action="safety_check.answered",
        outcome="risk" if immediate_risk else "no-risk",
        actor_id=user.id,
        object_type="safety_check",
        object_id=check.id,
        remote_addr=remote_addr,
    )
    session.commit()
    return check


# -- drafts ----------------------------------------------------------------------------------------------


def definition_for(partnership: Partnership) -> NoticeFormDefinition:
    definition = form_definition(partnership.form_code)
    if definition is None:
        raise FormNotAvailableError(partnership.form_code)
    return definition


def start_draft(session: Session, services: PortalServices, user: User, safety_check_id: str) -> NoticeDraft:
    """Open a draft after a "no immediate risk" answer, with its own data key."""
    check = session.get(SafetyCheck, safety_check_id)
    if check is None or check.user_id != user.id or check.immediate_risk or check.notice_id is not None:
        raise DraftNotFoundError(safety_check_id)
    definition = definition_for(user.partnership)
    key_row, dek = vault.create_data_key(session, services.keyring, purpose="notice")
    draft = NoticeDraft(
        user_id=user.id,
        partnership_id=user.partnership_id,
        form_code=definition.code,
        data_key_id=key_row.id,
        safety_check_id=check.id,
    )
    session.add(draft)
    session.flush()
    prefill = definition.prefill(user) if definition.prefill else {}
    prefill.setdefault(definition.date_of_notification_field, london_today().isoformat())
    _seal_draft(draft, dek, prefill)
    session.commit()
    return draft


def get_draft(
    session: Session, services: PortalServices, user: User, draft_id: str
) -> tuple[NoticeDraft, dict[str, str]]:
    """Return a draft of this user's and its decrypted answers; audit and refuse anyone else's."""
    draft = session.get(NoticeDraft, draft_id) if well_formed_id(draft_id) else None
    if draft is None or draft.user_id != user.id:
        audit.record(
            session,
            services.keyring.audit_key,
            action="draft.read",
            outcome="denied",
            actor_id=user.id,
            object_type="notice_draft",
            object_id=printable_id(draft_id),
        )
        session.commit()
        raise DraftNotFoundError(draft_id)

    def read() -> dict[str, str]:
        if not draft.answers_ct:
            return {}
        dek = vault.data_key(session, services.keyring, draft.data_key_id)
        return json.loads(
            vault.open_text(dek, draft.answers_ct, table="notice_draft", field=DRAFT_FIELD, row_id=draft.id)
        )

    # A data-key rotation may commit between loading the draft and decrypting it: read again once.
    return draft, vault.open_with_retry(session, read)


def save_draft(session: Session, services: PortalServices, user: User, draft_id: str, answers: dict[str, str]) -> None:
    """Replace a draft's answers (encrypted)."""
    draft, _ = get_draft(session, services, user, draft_id)
    dek = vault.data_key(session, services.keyring, draft.data_key_id)
    _seal_draft(draft, dek, answers)
    session.commit()


def autosave_draft(
    session: Session, services: PortalServices, user: User, draft_id: str, posted: MultiDict[str, str]
) -> None:
    """Keep what the writer has typed so far, unchecked but encrypted, so a timeout or a closed tab loses
    seconds, not an hour (docs/threats.md#property-19).

    Only the form's own questions are kept, each as plain text within its limit; a date is kept only once
    its three boxes make a real date. Nothing is validated here: "Continue" still checks every answer.
    """
    draft, answers = get_draft(session, services, user, draft_id)
    definition = definition_for(user.partnership)
    dates = definition.date_fields()
    limits = {name: _limit(f) for name, f in unbound_fields(definition.form_class)}
    for name in definition.field_order:
        if name not in posted:
            continue
        if name in dates:
            parts = [p.strip() for p in posted.getlist(name)]
            try:
                answers[name] = date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat()
            except (ValueError, IndexError):
                continue
        else:
            value = "".join(ch for ch in posted.get(name, "") if ch in "\n\t" or ch.isprintable())
            answers[name] = value.strip()[: limits.get(name) or 10_000]
    dek = vault.data_key(session, services.keyring, draft.data_key_id)
    _seal_draft(draft, dek, answers)
    session.commit()


def _limit(unbound: Any) -> int | None:
    for validator in unbound.kwargs.get("validators") or ():
        if hasattr(validator, "max_length"):
            return int(validator.max_length)
    return None


def drafts_of(session: Session, user: User) -> list[NoticeDraft]:
    """The user's unfinished notices, newest first (their answers stay encrypted: only dates are shown)."""
    return list(
        session.execute(
            select(NoticeDraft).where(NoticeDraft.user_id == user.id).order_by(NoticeDraft.updated_at.desc())
        ).scalars()
    )


def _seal_draft(draft: NoticeDraft, dek: bytes, answers: dict[str, str]) -> None:
    draft.answers_ct = vault.seal_text(
        draft.data_key_id, dek, json.dumps(answers), table="notice_draft", field=DRAFT_FIELD, row_id=draft.id
    )
    draft.updated_at = utcnow()


# -- the form and the directory ------------------------------------------------------------------------


def contact_choices(session: Session, partnership_id: int) -> list[tuple[str, str]]:
    """Directory contacts a notice can be sent to, labelled "Agency: role"."""
    contacts = session.execute(
        select(DirectoryContact)
        .join(Agency)
        .where(
            Agency.partnership_id == partnership_id,
            DirectoryContact.active.is_(True),
            DirectoryContact.email.is_not(None),
        )
        .options(selectinload(DirectoryContact.agency))
        .order_by(Agency.position, DirectoryContact.position)
    ).scalars()
    return [(str(c.id), c.label) for c in contacts]


def build_form(
    session: Session, definition: NoticeFormDefinition, partnership_id: int, formdata: Any = None, **kwargs: Any
) -> PortalForm:
    """Build the partnership's form with its directory choices filled in."""
    form = definition.form_class(formdata=formdata, **kwargs)
    choices = [
        SelectChoice("", "Choose a contact"),
        *(SelectChoice(v, label) for v, label in contact_choices(session, partnership_id)),
    ]
    for name in definition.recipient_fields:
        form[name].choices = choices
    if definition.agency_fields:
        agencies = [
            SelectChoice("", "Choose an agency"),
            *(SelectChoice(str(a.id), a.name) for a in agencies_for(session, partnership_id)),
        ]
        for name in definition.agency_fields:
            form[name].choices = agencies
    return form


def answers_as_formdata(definition: NoticeFormDefinition, answers: dict[str, str]) -> MultiDict[str, str]:
    """Turn stored answers into what the browser would post, so they pass through the same validation."""
    data: MultiDict[str, str] = MultiDict()
    dates = definition.date_fields()
    for name, value in answers.items():
        if name in dates:
            parsed = date.fromisoformat(value) if value else None
            parts = [str(parsed.day), str(parsed.month), f"{parsed.year:04d}"] if parsed else ["", "", ""]
            for part in parts:
                data.add(name, part)
        else:
            data.add(name, value)
    return data


def directory_labels(session: Session, definition: NoticeFormDefinition, answers: dict[str, str]) -> dict[str, str]:
    """Names to show for the directory ids in a draft's answers, by field."""
    from portal.services.documents import directory_labels as labels

    return labels(session, definition, answers)


def contact_labels(session: Session, ids: list[str]) -> dict[str, str]:
    wanted = [int(i) for i in ids if i and i.isdigit()]
    if not wanted:
        return {}
    rows = session.execute(
        select(DirectoryContact).where(DirectoryContact.id.in_(wanted)).options(selectinload(DirectoryContact.agency))
    ).scalars()
    return {str(c.id): c.label for c in rows}


def sender_notes(session: Session, contact_ids: list[str]) -> list[tuple[str, str]]:
    """Directory notes for the chosen recipients' agencies that the sender must act on."""
    wanted = [int(i) for i in contact_ids if i and i.isdigit()]
    if not wanted:
        return []
    agencies = session.execute(
        select(Agency).join(DirectoryContact).where(DirectoryContact.id.in_(wanted)).distinct()
    ).scalars()
    return [(a.name, a.sender_note) for a in agencies if a.sender_note]


# -- submission ------------------------------------------------------------------------------------------


def submit_notice(
    session: Session, services: PortalServices, user: User, draft_id: str, *, remote_addr: str = ""
) -> Notice:
    """Turn a checked draft into a notice: encrypt, store, enter its first stage, sign the PDF, queue e-mail."""
    draft, answers = get_draft(session, services, user, draft_id)
    definition = definition_for(user.partnership)
    form = build_form(
        session,
        definition,
        user.partnership_id,
        formdata=answers_as_formdata(definition, answers),
        meta={"csrf": False},
    )
    if not form.validate():
        raise InvalidAnswersError(form)
    answers = definition.answers_from(form)
    partnership = user.partnership
    procedure = procedure_for(partnership.slug, partnership.procedure_version)
    entry = definition.entry_for(answers)
    stage = procedure.stage(entry.stage)
    if entry.skipped_from is not None:
        skip = procedure.allowed_skip(entry.skipped_from, entry.stage)
        if skip is None or (skip.reason_required and not entry.skip_reason.strip()):
            # The form module maps answers to skips the procedure allows; anything else is a programming error.
            raise NoticeError(f"the procedure does not allow {entry.skipped_from} to {entry.stage} like this")
    chosen = _recipients(session, user.partnership_id, definition, answers)
    dek = vault.data_key(session, services.keyring, draft.data_key_id)
    submitted_at = utcnow()
    today = stages.current_date()

    notice = Notice(
        id=draft.id,
        reference=next_reference(session, partnership, today.year),
        partnership_id=partnership.id,
        form_code=definition.code,
        procedure_version=partnership.procedure_version,
        stage=stage.code,
        status=stages.STATUS_OPEN,
        raised_by_id=user.id,
        raising_agency_id=user.agency_id,
        data_key_id=draft.data_key_id,
        safety_check_id=draft.safety_check_id,
        date_of_notification=date.fromisoformat(answers[definition.date_of_notification_field]),
        concern_date=definition.concern_date(answers),
        submitted_at=submitted_at,
        updated_at=submitted_at,
    )
    # A new notice has no rows yet: say so, rather than let the first append query for them.
    notice.answers, notice.recipients, notice.stages, notice.documents = [], [], [], []
    session.add(notice)
    session.flush()
    # Everything below is new rows for this notice: one flush at the end, not one before every query.
    with session.no_autoflush:
        for name, value in answers.items():
            if value:
                stages.seal_answer(session, notice, dek, name, value)
        # Blind indexes of the child's NHS number and surname with date of birth, for search (no plaintext kept).
        search.index_notice(session, services.keyring, notice, answers)
        agency_ids = stages.involved_agency_ids(notice, answers, definition.agency_fields)
        recipients = stages.stage_recipients(session, notice, stage, chosen=chosen, agency_ids=agency_ids)
        if not recipients and stages.responder(stage) == "recipient":
            raise NoticeError("a notice needs at least one recipient")
        stages.add_event(session, notice, user, "raised", f"Raised under {procedure.title}", stage=stage.code)
        stages.enter_stage(
            session,
            services,
            notice,
            stage,
            actor=user,
            recipients=recipients,
            today=today,
            skipped_from=entry.skipped_from,
            skip_reason=entry.skip_reason.strip(),
            dek=dek,
        )
        issue_version(
            session, services, notice, dek=dek, answers={k: v for k, v in answers.items() if v} | _entry_answers(entry)
        )

    check = session.get(SafetyCheck, draft.safety_check_id)
    if check is not None:
        check.notice_id = notice.id
    session.delete(draft)
    audit.record(
        session,
        services.keyring.audit_key,
        action="notice.submit",
        outcome="ok",
        actor_id=user.id,
        object_type="notice",
        object_id=notice.id,
        remote_addr=remote_addr,
    )
    session.commit()
    return notice


def _entry_answers(entry: Entry) -> dict[str, str]:
    """The narrative entering the first stage adds to the answers (a stated reason for skipping stages)."""
    reason = entry.skip_reason.strip()
    return {stages.stage_field(entry.stage, "skip_reason"): reason} if entry.skipped_from and reason else {}


def _recipients(
    session: Session, partnership_id: int, definition: NoticeFormDefinition, answers: dict[str, str]
) -> list[DirectoryContact]:
    found = []
    for name in definition.recipient_fields:
        value = answers.get(name)
        if not value:
            continue
        contact = session.execute(
            select(DirectoryContact)
            .join(Agency)
            .where(
                DirectoryContact.id == int(value),
                Agency.partnership_id == partnership_id,
                DirectoryContact.active.is_(True),
            )
            .options(selectinload(DirectoryContact.agency))
        ).scalar_one_or_none()
        if contact is None:
            raise NoticeError("a recipient is no longer in the directory")
        found.append(contact)
    return found


# -- reading back -------------------------------------------------------------------------------------


def notice_answers(session: Session, services: PortalServices, notice: Notice) -> dict[str, str]:
    """Decrypt a notice's answers. The caller has already checked access and writes the audit entry."""

    def read() -> dict[str, str]:
        dek = vault.data_key(session, services.keyring, notice.data_key_id)
        return {
            a.field_name: vault.open_text(dek, a.value_ct, table="notice_answer", field=a.field_name, row_id=notice.id)
            for a in notice.answers
        }

    return vault.open_with_retry(session, read)


def notice_pdf(
    session: Session, services: PortalServices, notice: Notice, version: int | None = None, copy: str = "full"
) -> tuple[int, bytes]:
    """Decrypt a signed PDF version of a notice (the newest by default)."""
    return open_version(session, services, notice, version, copy)
