"""Raising a notice: the immediate-risk gate, encrypted drafts, submission, routing and reading back.

submit_notice is the whole path: validate -> reference -> encrypt -> render -> sign -> queue -> store. Either all
of the notice is committed in one write transaction (the notice, its signed PDF, its recipients, its e-mails,
its timeline and audit entries) or none of it is; only its reference is taken before, in a transaction of its own.
"""

from __future__ import annotations

import json
from datetime import date
from typing import NoReturn

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from portal.domain.categories import THEME_PREFIX
from portal.domain.models import (
    DataKey,
    Notice,
    NoticeCategory,
    NoticeDraft,
    NoticeStatus,
    Partnership,
    SafetyCheck,
    User,
    utcnow,
)
from portal.domain.notice_definition import Entry, NoticeDefinition
from portal.domain.policy import printable_id, responder, well_formed_id
from portal.infrastructure.db import begin_write
from portal.partnerships import notice_definition, procedure_for
from portal.services import attachments, audit, messages, record, repeats, routing, search, transitions, vault
from portal.services.documents import issue_version
from portal.services.errors import DraftNotFoundError, DraftSubmittedError, FormNotAvailableError
from portal.services.references import claim_reference
from portal.services.runtime import PortalServices

DRAFT_FIELD = "answers"
# The raiser's own label for a draft and its notice, so someone with several can tell them apart in lists. It is
# stored sealed like the narrative (in the draft's answers, then as the notice's answer of this name): the page
# asks for no child's details in it, but a label is free text and may hold them anyway.
LABEL_FIELD = "notice_label"
LABEL_MAX = 60


def clean_label(value: str | None) -> str:
    """A label as stored: one line of printable characters, at most LABEL_MAX long."""
    text = " ".join("".join(ch for ch in (value or "") if ch.isprintable()).split())
    return text[:LABEL_MAX]


class NoticeError(Exception):
    """A notice could not be raised as asked (a programming error: the form module and procedure disagree)."""


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


def definition_for(partnership: Partnership) -> NoticeDefinition:
    """Return what the partnership's notice form asks."""
    definition = notice_definition(partnership.form_code)
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
    prefill.setdefault(definition.date_of_notification_field, services.today().isoformat())
    _seal_draft(draft, dek, prefill)
    session.commit()
    return draft


def get_draft(
    session: Session, services: PortalServices, user: User, draft_id: str, *, lock: bool = False
) -> tuple[NoticeDraft, dict[str, str]]:
    """Return a draft of this user's and its decrypted answers; audit and refuse anyone else's.

    With ``lock`` the draft's row stays locked to the end of the transaction, so of two submissions of one draft
    (a double click, two tabs) one raises the notice and the other finds it raised: DraftSubmittedError.
    """
    draft = own_draft(session, services, user, draft_id, lock=lock)

    def read() -> dict[str, str]:
        if not draft.answers_ct:
            return {}
        dek = vault.data_key(session, services.keyring, draft.data_key_id)
        answers: dict[str, str] = json.loads(
            vault.open_text(dek, draft.answers_ct, table="notice_draft", field=DRAFT_FIELD, row_id=draft.id)
        )
        return answers

    # A data-key rotation may commit between loading the draft and decrypting it: read again once.
    return draft, vault.open_with_retry(session, read)


# Built once: every page of a draft runs it (see portal.web.sessions on reusing a statement).
_DRAFT_AND_KEY = (
    select(NoticeDraft, DataKey)
    .join(DataKey, DataKey.id == NoticeDraft.data_key_id)
    .where(NoticeDraft.id == bindparam("draft_id"))
)


def own_draft(
    session: Session, services: PortalServices, user: User, draft_id: str, *, lock: bool = False
) -> NoticeDraft:
    """Return a draft of this user's without decrypting its answers (for what needs only to know it is theirs:
    its evidence); audit and refuse anyone else's. ``lock`` as for get_draft."""
    if lock and well_formed_id(draft_id):
        begin_write(session)
        session.execute(select(NoticeDraft.id).where(NoticeDraft.id == draft_id).with_for_update())
        session.expire_all()
    draft = None
    if well_formed_id(draft_id) and not lock:
        # Already read in this request (a page that lists its evidence as well as its answers): no statement.
        held = session.identity_map.get(Session.identity_key(NoticeDraft, draft_id))
        draft = held if isinstance(held, NoticeDraft) else None
    if well_formed_id(draft_id) and draft is None:
        # The draft with its data key, in one statement: every page of the draft decrypts its answers.
        found = session.execute(_DRAFT_AND_KEY, {"draft_id": draft_id}).first()
        if found is not None:
            draft, key = found
            vault.hold(session, key)
    if draft is None and (submitted := submitted_notice(session, user, draft_id)) is not None:
        raise DraftSubmittedError(submitted)
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
    return draft


def submitted_notice(session: Session, user: User, draft_id: str) -> str | None:
    """The id of the notice this user's draft became (a notice keeps its draft's id), or None."""
    if not well_formed_id(draft_id):
        return None
    raised_by = session.execute(select(Notice.raised_by_id).where(Notice.id == draft_id)).scalar_one_or_none()
    return draft_id if raised_by == user.id else None


def save_draft(
    session: Session,
    services: PortalServices,
    user: User,
    draft_id: str,
    answers: dict[str, str],
    *,
    label: str | None = None,
) -> None:
    """Replace a draft's answers (encrypted), and its label when one is given."""
    draft, stored = get_draft(session, services, user, draft_id)
    kept = clean_label(label if label is not None else stored.get(LABEL_FIELD))
    dek = vault.data_key(session, services.keyring, draft.data_key_id)
    _seal_draft(draft, dek, {**answers, LABEL_FIELD: kept} if kept else answers)
    session.commit()


def autosave_draft(
    session: Session, services: PortalServices, user: User, draft_id: str, typed: dict[str, str]
) -> None:
    """Keep what the writer has typed so far, unchecked but encrypted, so a timeout or a closed tab loses
    seconds, not an hour (docs/threats.md, property 19).

    ``typed`` holds the form's own questions as far as they are answered (the web layer keeps each within its
    limit and a date only once its three boxes make a real date); anything else is ignored. Nothing is
    validated here: "Continue" still checks every answer.
    """
    draft, answers = get_draft(session, services, user, draft_id)
    definition = definition_for(user.partnership)
    for name in definition.field_order:
        if name in typed:
            answers[name] = typed[name]
    if LABEL_FIELD in typed:
        answers[LABEL_FIELD] = clean_label(typed[LABEL_FIELD])
    dek = vault.data_key(session, services.keyring, draft.data_key_id)
    _seal_draft(draft, dek, answers)
    session.commit()


def delete_draft(
    session: Session, services: PortalServices, user: User, draft_id: str, *, remote_addr: str = ""
) -> None:
    """Delete one of the user's unsent drafts, leaving nothing behind: the row and its sealed answers go, and its
    data key is destroyed (its wrapped copy erased), so no backup taken later can open what was typed either."""
    draft, _ = get_draft(session, services, user, draft_id, lock=True)
    key = session.execute(select(DataKey).where(DataKey.id == draft.data_key_id).with_for_update()).scalar_one()
    attachments.delete_draft_evidence(session, draft.id)
    session.delete(draft)
    session.flush()
    key.wrapped = None
    key.destroyed_at = utcnow()
    audit.record(
        session,
        services.keyring.audit_key,
        action="draft.delete",
        outcome="ok",
        actor_id=user.id,
        object_type="notice_draft",
        object_id=draft_id,
        remote_addr=remote_addr,
    )
    session.commit()


def drafts_of(session: Session, user: User) -> list[NoticeDraft]:
    """The user's unfinished notices, newest first (their answers stay encrypted: only dates are shown)."""
    return list(
        session.execute(
            select(NoticeDraft).where(NoticeDraft.user_id == user.id).order_by(NoticeDraft.updated_at.desc())
        ).scalars()
    )


def draft_labels(session: Session, services: PortalServices, drafts: list[NoticeDraft]) -> dict[str, str]:
    """The raiser's label of each of their drafts (decrypted for the raiser's own home page only)."""
    found = {}
    # Each draft has its own data key: all of them in one statement, not one per draft.
    keys = vault.data_keys(session, services.keyring, [d.data_key_id for d in drafts if d.answers_ct])
    for draft in drafts:
        if draft.answers_ct:
            if draft.data_key_id not in keys:
                raise LookupError("unknown data key")
            dek = keys[draft.data_key_id]
            text = vault.open_text(dek, draft.answers_ct, table="notice_draft", field=DRAFT_FIELD, row_id=draft.id)
            found[draft.id] = clean_label(json.loads(text).get(LABEL_FIELD))
    return found


def _seal_draft(draft: NoticeDraft, dek: bytes, answers: dict[str, str]) -> None:
    draft.answers_ct = vault.seal_text(
        draft.data_key_id, dek, json.dumps(answers), table="notice_draft", field=DRAFT_FIELD, row_id=draft.id
    )
    draft.updated_at = utcnow()


# -- the form and the directory ------------------------------------------------------------------------


# -- submission ------------------------------------------------------------------------------------------


def submit_notice(
    session: Session,
    services: PortalServices,
    user: User,
    draft_id: str,
    answers: dict[str, str],
    *,
    remote_addr: str = "",
) -> Notice:
    """Turn a checked draft into a notice: encrypt, store, enter its first stage, sign the PDF, queue e-mail.

    ``answers`` are the draft's answers as the form has just checked them; a recipient who has left the
    directory since is refused (RuleBrokenError on that field) and nothing is saved.

    Three steps, so that nothing that serialises submits is held while the PDF is made (issue 11):
    1. the reference, in a short transaction of its own (portal.services.references: gaps are possible);
    2. every row of the notice built in the session and its PDF rendered and signed, writing nothing and
       holding no lock (the session does not flush: no_autoflush);
    3. one short write transaction: the draft's row locked and found still a draft, then every row written
       in one flush (the audit entry chained in it) and committed. Of several submits of one draft, the first
       to get here raises the notice and the others find it raised (DraftSubmittedError); a fault anywhere
       leaves no part of the notice saved, and the draft keeps its reference for the next try.
    """
    draft, stored = get_draft(session, services, user, draft_id)
    definition = definition_for(user.partnership)
    partnership = user.partnership
    procedure = procedure_for(partnership.slug, partnership.procedure_version)
    entry = definition.entry_for(answers)
    stage = procedure.stage(entry.stage)
    if entry.skipped_from is not None:
        skip = procedure.allowed_skip(entry.skipped_from, entry.stage)
        if skip is None or (skip.reason_required and not entry.skip_reason.strip()):
            # The form module maps answers to skips the procedure allows; anything else is a programming error.
            raise NoticeError(f"the procedure does not allow {entry.skipped_from} to {entry.stage} like this")
    chosen = routing.form_recipients(session, user.partnership_id, definition, answers)
    today = services.today()
    reference = claim_reference(session, draft.id, partnership, today.year)
    if reference is None:
        _draft_gone(session, user, draft_id)
    dek = vault.data_key(session, services.keyring, draft.data_key_id)
    check = session.get(SafetyCheck, draft.safety_check_id)
    submitted_at = utcnow()

    # Step 2: nothing below flushes, so nothing is written and no lock is taken until step 3.
    with session.no_autoflush:
        notice = Notice(
            id=draft.id,
            reference=reference,
            partnership_id=partnership.id,
            form_code=definition.code,
            procedure_version=partnership.procedure_version,
            stage=stage.code,
            status=NoticeStatus.OPEN,
            raised_by_id=user.id,
            raising_agency_id=user.agency_id,
            data_key_id=draft.data_key_id,
            safety_check_id=draft.safety_check_id,
            date_of_notification=date.fromisoformat(answers[definition.date_of_notification_field]),
            concern_date=definition.concern_date(answers),
            submitted_at=submitted_at,
            updated_at=submitted_at,
            opened_on=today,
            # The objects as well as their ids: nothing is flushed, so a pending notice could not load them.
            partnership=partnership,
            raised_by=user,
            raising_agency=user.agency,
        )
        # A new notice has no rows yet: say so, rather than let the first append query for them.
        notice.answers, notice.recipients, notice.stages, notice.documents = [], [], [], []
        session.add(notice)
        for name, value in answers.items():
            if value:
                record.seal_answer(session, notice, dek, name, value)
        session.add_all(categories_of(notice, definition, answers))
        if label := clean_label(stored.get(LABEL_FIELD)):
            record.seal_answer(session, notice, dek, LABEL_FIELD, label)
        # Blind indexes of the child's NHS number and surname with date of birth, for search (no plaintext kept).
        search.index_notice(session, services.keyring, notice, answers)
        agency_ids = routing.involved_agency_ids(notice, answers, definition.agency_fields)
        recipients = routing.stage_recipients(session, notice, stage, chosen=chosen, agency_ids=agency_ids)
        if not recipients and responder(stage) == "recipient":
            raise NoticeError("a notice needs at least one recipient")
        record.add_event(session, notice, user, "raised", f"Raised under {procedure.title}", stage=stage.code)
        transitions.enter_stage(
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
        evidence = _adopt_evidence(session, notice, user, stage.code)
        issue_version(
            session,
            services,
            notice,
            dek=dek,
            answers={k: v for k, v in answers.items() if v} | _entry_answers(entry),
            has_evidence=evidence > 0,
        )
        # The raiser learns by e-mail that the notice went, and to whom (agencies only, never the child).
        agencies = (
            ", ".join(dict.fromkeys(c.agency.name for c in recipients)) or f"the {partnership.name} business unit"
        )
        messages.send(
            session,
            services,
            notice,
            [user.email],
            f"OFFICIAL-SENSITIVE: escalation notice {notice.reference}: sent",
            f"Your notice has been sent under the {partnership.name} procedure to {agencies}. It is at {stage.name}.",
        )
        repeats.flag_on_submit(session, services, notice, answers)
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

        # Step 3: the draft's row lock (SQLite: the write lock) decides which of several submits raises it.
        begin_write(session)
        still_a_draft = session.execute(
            select(NoticeDraft.id).where(NoticeDraft.id == draft.id).with_for_update()
        ).scalar_one_or_none()
    if still_a_draft is None:
        session.rollback()
        _draft_gone(session, user, draft_id)
    if check is not None:
        check.notice_id = notice.id
    session.delete(draft)
    session.commit()
    return notice


def _adopt_evidence(session: Session, notice: Notice, user: User, stage: str) -> int:
    """Evidence attached to the draft becomes the notice's, at its first stage, before the first PDF lists it.
    Return how many files moved."""
    if moved := attachments.adopt_draft_evidence(session, notice.id, stage):
        files = "1 file" if moved == 1 else f"{moved} files"
        record.add_event(session, notice, user, "evidence", f"Evidence sent with the notice: {files}", stage=stage)
    return moved


def _draft_gone(session: Session, user: User, draft_id: str) -> NoReturn:
    """A draft that went while it was being submitted: raised by another submit of it, or deleted."""
    if (submitted := submitted_notice(session, user, draft_id)) is not None:
        raise DraftSubmittedError(submitted)
    raise DraftNotFoundError(draft_id)


def categories_of(notice: Notice, definition: NoticeDefinition, answers: dict[str, str]) -> list[NoticeCategory]:
    """The plain coded rows reports count (docs/categories.md): one per code list answered with a listed code, and
    one per common theme those codes map to (two codes mapping to one theme make one row)."""
    rows, themes = [], []
    for code_list in definition.code_lists:
        code = answers.get(code_list.field, "")
        if code in code_list.labels:
            theme = code_list.common_for(code)
            rows.append(NoticeCategory(notice_id=notice.id, list_field=code_list.field, code=code, common_code=theme))
            if theme is not None and theme not in themes:
                themes.append(theme)
    rows += [
        NoticeCategory(notice_id=notice.id, list_field=THEME_PREFIX + theme, code=theme, common_code=theme)
        for theme in themes
    ]
    return rows


def _entry_answers(entry: Entry) -> dict[str, str]:
    """The narrative entering the first stage adds to the answers (a stated reason for skipping stages)."""
    reason = entry.skip_reason.strip()
    return {record.stage_field(entry.stage, "skip_reason"): reason} if entry.skipped_from and reason else {}


# -- reading back -------------------------------------------------------------------------------------
