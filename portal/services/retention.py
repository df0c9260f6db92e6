"""Crypto-shredding at the end of retention, and legal holds (docs/threats.md#property-10).

``shred_due`` finds every closed notice past its retention date (portal/retention.py) and not on legal hold,
and, one notice per transaction: destroys its data key (``wrapped`` NULL, ``destroyed_at`` set), deletes its
encrypted answers, its signed PDFs and its blind-index rows, sets ``shredded_at``, adds a timeline event and
audits "notice.shred". What is left is the de-identified record: reference, partnership, agencies, stages
and their dates and outcomes, the timeline (which never holds child data) and the audit trail.

The portal keeps no cache of unwrapped data keys: every read unwraps the key from its row, so a destroyed
key is gone for every process the moment the transaction commits.

The limit, said plainly: the data key is wrapped by the KEK *inside the database*. A database backup taken
before shredding, together with the KEK, still opens the notice. Old backups become unreadable only when the
KEK that wrapped their data keys is destroyed too: rotate the KEK after shredding (`keys rotate-kek`,
restart the workers, `keys rewrap`, `keys retire-kek OLD`), and keep key-directory backups for a shorter
time than database backups. SECURITY.md (property 10) describes the schedule.
"""

from __future__ import annotations

import functools
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from portal.domain import retention_rules
from portal.domain.dates import LONDON
from portal.domain.models import (
    DataKey,
    Notice,
    NoticeAnswer,
    NoticeAttachment,
    NoticeDocument,
    NoticeEvent,
    NoticeStatus,
    Partnership,
    utcnow,
)
from portal.infrastructure.crypto import DecryptionError, KeyRing, KeyringError
from portal.infrastructure.db import begin_write, with_retries
from portal.partnerships import PARTNERSHIPS, retention_rule
from portal.services import audit, search, vault

Progress = Callable[[str], None]
DOB_FIELD = search.DOB_FIELD


class RetentionError(RuntimeError):
    """A retention step was refused; the message says why."""


@dataclass(frozen=True)
class Due:
    """A notice past its retention date."""

    notice_id: str
    reference: str
    retain_until: date


@dataclass
class ShredReport:
    today: date
    dry_run: bool
    due: list[Due] = field(default_factory=list)
    shredded: list[str] = field(default_factory=list)
    # Closed notices past their retention date that a legal hold keeps.
    held: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _closed_on(notice: Notice) -> date:
    moment = notice.closed_at or notice.updated_at
    return moment.astimezone(LONDON).date()


def _date_of_birth(session: Session, keyring: KeyRing, notice: Notice) -> date | None:
    """The child's date of birth from the notice's encrypted answers, or None if the notice has none."""
    row = session.execute(
        select(NoticeAnswer.value_ct).where(NoticeAnswer.notice_id == notice.id, NoticeAnswer.field_name == DOB_FIELD)
    ).scalar_one_or_none()
    if row is None:
        return None
    dek = vault.data_key(session, keyring, notice.data_key_id)
    value = vault.open_text(dek, row, table="notice_answer", field=DOB_FIELD, row_id=notice.id)
    return date.fromisoformat(value) if value else None


def retain_until(session: Session, keyring: KeyRing, notice: Notice) -> date | None:
    """The first day a notice may be shredded; None while it is open."""
    if notice.is_open:
        return None
    rule = retention_rule(notice.partnership.slug)
    dob = _date_of_birth(session, keyring, notice) if rule.until_age is not None else None
    return rule.retain_until(closed_on=_closed_on(notice), dob=dob)


def review(session: Session, keyring: KeyRing, today: date, report: ShredReport) -> None:
    """Fill the report with the notices due for shredding on `today`, and those a legal hold keeps."""
    # No rule keeps a notice less than its years after closure: only notices closed that long ago can be due,
    # so only their dates of birth are decrypted.
    rules = [retention_rules.DEFAULT, *(spec.retention for spec in PARTNERSHIPS.values())]
    shortest = min(rules, key=lambda r: r.years_after_closure)
    closed_by = datetime.combine(
        retention_rules.add_years(today, -shortest.years_after_closure) + timedelta(days=1), datetime.min.time(), LONDON
    )
    candidates = session.execute(
        select(Notice)
        .join(Partnership)
        .where(
            Notice.status.in_((NoticeStatus.CLOSED, NoticeStatus.WITHDRAWN)),
            Notice.shredded_at.is_(None),
            # closed_at is set on closing; a notice closed before that column existed falls back to updated_at.
            (Notice.closed_at < closed_by) | (Notice.closed_at.is_(None) & (Notice.updated_at < closed_by)),
        )
        .order_by(Notice.closed_at, Notice.id)
    ).scalars()
    for notice in candidates:
        try:
            until = retain_until(session, keyring, notice)
        except (DecryptionError, KeyringError, LookupError, ValueError) as exc:
            report.failed[notice.reference] = f"retention date unknown: {exc.__class__.__name__}"
            continue
        if until is None or until > today:
            continue
        if notice.legal_hold:
            report.held.append(notice.reference)
        else:
            report.due.append(Due(notice.id, notice.reference, until))


def shred_notice(session: Session, keyring: KeyRing, notice_id: str, *, today: date, actor: str = "cli") -> bool:
    """Shred one notice in the caller's transaction, after checking again under a row lock that it is still
    closed, past retention, not held and not already shredded; return whether it was shredded."""
    notice = session.execute(select(Notice).where(Notice.id == notice_id).with_for_update()).scalar_one_or_none()
    if notice is None or notice.shredded_at is not None or notice.legal_hold:
        return False
    until = retain_until(session, keyring, notice)
    if until is None or until > today:
        return False
    now = utcnow()
    key = session.execute(select(DataKey).where(DataKey.id == notice.data_key_id).with_for_update()).scalar_one()
    key.wrapped = None
    key.destroyed_at = now
    # The ciphertexts are unreadable without the key; deleting them too leaves nothing for a later key leak.
    session.execute(delete(NoticeAnswer).where(NoticeAnswer.notice_id == notice.id))
    session.execute(delete(NoticeDocument).where(NoticeDocument.notice_id == notice.id))
    session.execute(delete(NoticeAttachment).where(NoticeAttachment.notice_id == notice.id))
    search.delete_index_rows(session, [notice.id])
    notice.shredded_at = now
    session.add(
        NoticeEvent(
            notice_id=notice.id,
            at=now,
            kind="shredded",
            detail="Content destroyed at the end of its retention period",
        )
    )
    audit.record(
        session,
        keyring.audit_key,
        action="notice.shred",
        outcome="ok",
        object_type="notice",
        object_id=notice.id,
        remote_addr=actor,
    )
    return True


def shred_due(
    sessions: sessionmaker[Session],
    keyring: KeyRing,
    *,
    today: date,
    dry_run: bool = False,
    progress: Progress = lambda _m: None,
) -> ShredReport:
    """Shred every notice past its retention date and not on legal hold (or, dry run, only list them)."""
    started = time.monotonic()
    report = ShredReport(today=today, dry_run=dry_run)
    with sessions() as session:
        review(session, keyring, today, report)
        # The review decrypted dates of birth: a system read of case data, recorded once per run.
        audit.record(
            session,
            keyring.audit_key,
            action="retention.review",
            outcome="dry-run" if dry_run else "ok",
            object_type="retention",
            object_id=f"{today.isoformat()}: {len(report.due)} due, {len(report.held)} held",
            remote_addr="cli",
        )
        session.commit()
    if dry_run:
        report.seconds = time.monotonic() - started
        return report

    def one(notice_id: str) -> bool:
        with sessions() as session:
            begin_write(session)
            done = shred_notice(session, keyring, notice_id, today=today)
            session.commit()
            return done

    for due in report.due:
        try:
            if with_retries(functools.partial(one, due.notice_id)):
                report.shredded.append(due.reference)
                progress(f"shredded {due.reference} (retention ended {due.retain_until.isoformat()})")
        except (DecryptionError, KeyringError) as exc:
            report.failed[due.reference] = exc.__class__.__name__
    report.seconds = time.monotonic() - started
    return report


# -- legal holds ------------------------------------------------------------------------------------------


def _clean(text: str, label: str, limit: int) -> str:
    value = (text or "").strip()
    if not value:
        raise RetentionError(f"give the {label}")
    if len(value) > limit or any(unicodedata.category(ch) in {"Cc", "Cs", "Co"} for ch in value):
        raise RetentionError(f"the {label} must be plain text of {limit} characters or fewer")
    return value


def set_legal_hold(session: Session, keyring: KeyRing, reference: str, *, reason: str, by: str) -> Notice:
    """Put a notice on legal hold (it is never shredded while held), recording why, who and when; audited.

    The reason names the inquiry or proceedings, never the child: it is stored in plain text.
    """
    reason, by = _clean(reason, "reason", 300), _clean(by, "name of who authorised the hold", 200)
    notice = session.execute(select(Notice).where(Notice.reference == reference).with_for_update()).scalar_one_or_none()
    if notice is None:
        raise RetentionError(f"no notice has the reference {reference}")
    if notice.shredded_at is not None:
        raise RetentionError(f"{reference} was already shredded; there is nothing left to hold")
    notice.legal_hold, notice.legal_hold_reason, notice.legal_hold_by = True, reason, by
    notice.legal_hold_at = utcnow()
    audit.record(
        session,
        keyring.audit_key,
        action="notice.legal_hold",
        outcome="set",
        object_type="notice",
        object_id=notice.id,
        remote_addr="cli",
    )
    session.add(NoticeEvent(notice_id=notice.id, kind="legal_hold", detail=f"Legal hold set by {by}"))
    session.commit()
    return notice


def clear_legal_hold(session: Session, keyring: KeyRing, reference: str, *, by: str) -> Notice:
    """Release a notice's legal hold; its retention rule applies again from the next shredding run. Audited."""
    by = _clean(by, "name of who released the hold", 200)
    notice = session.execute(select(Notice).where(Notice.reference == reference).with_for_update()).scalar_one_or_none()
    if notice is None:
        raise RetentionError(f"no notice has the reference {reference}")
    if not notice.legal_hold:
        raise RetentionError(f"{reference} is not on legal hold")
    notice.legal_hold, notice.legal_hold_reason = False, None
    notice.legal_hold_by, notice.legal_hold_at = by, utcnow()
    audit.record(
        session,
        keyring.audit_key,
        action="notice.legal_hold",
        outcome="released",
        object_type="notice",
        object_id=notice.id,
        remote_addr="cli",
    )
    session.add(NoticeEvent(notice_id=notice.id, kind="legal_hold_released", detail=f"Legal hold released by {by}"))
    session.commit()
    return notice
