"""Repeat escalations the business unit should see: the same child again within 12 months, or the same pair of
agencies for the third time within 6 months (docs/reports.md#repeats).

Shown on the notice page to the partnership's business unit only: a practitioner or SPOC never learns from a
flag that other notices exist. The child is matched by the blind index (no plaintext), then confirmed by
decrypting the candidate's own identifiers, since truncated index values collide by design
(portal.services.search); each confirmed notice named to the business unit is an audited read.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import distinct, func, select, tuple_
from sqlalchemy.orm import Session

from portal.domain.dates import long_date
from portal.domain.models import Agency, Notice, NoticeBlindIndex, NoticeRecipient, Role, User
from portal.services import audit, record, search
from portal.services.runtime import PortalServices

CHILD_WINDOW = timedelta(days=365)
PAIR_WINDOW = timedelta(days=183)
PAIR_REPEATS = 3
# The answers a candidate's identifiers are read from (portal.services.search.identifiers); nothing else is opened.
IDENTIFIERS = (search.NHS_FIELD, search.NAME_FIELD, search.DOB_FIELD)


def repeat_flags(
    session: Session, services: PortalServices, user: User, notice: Notice, answers: dict[str, str]
) -> list[str]:
    """What the business unit should know about repeats of this notice; nothing for anyone else."""
    if user.role_enum is not Role.BUSINESS_MANAGER or notice.opened_on is None:
        return []
    return [*_same_child(session, services, user, notice, answers), *_same_pair(session, services, notice)]


def flag_on_submit(session: Session, services: PortalServices, notice: Notice, answers: dict[str, str]) -> None:
    """Keep on a notice just submitted whether it repeats a child or a pair of agencies, so that the business
    unit's list shows the flags from plain columns without decrypting a notice per row. The submit holds the
    plaintext; the match is confirmed by decrypting the candidates, as on the notice page, but names no notice
    to anyone, so it is not a read to audit. Nothing is committed here: the submit's own transaction does it."""
    # One confirmed notice settles the flag: stop there, so a child already in many notices does not make each new
    # submit decrypt all of them.
    notice.repeat_child = bool(_confirmed_same_child(session, services, notice, answers, first_only=True))
    # Called before the submit's rows are flushed: this one is the third if two others exist for any receiver.
    notice.repeat_pair = _pair_repeated(session, services, notice)


def _same_child(
    session: Session, services: PortalServices, user: User, notice: Notice, answers: dict[str, str]
) -> list[str]:
    confirmed = _confirmed_same_child(session, services, notice, answers)
    for other in confirmed:
        audit.record(
            session,
            services.keyring.audit_key,
            action="notice.repeat_found",
            outcome="allowed",
            actor_id=user.id,
            object_type="notice",
            object_id=other.id,
        )
    if not confirmed:
        return []
    # Kept for the list, for a notice raised before flags were kept at submit (docs/reports.md#repeats).
    notice.repeat_child = True
    session.commit()
    named = ", ".join(f"{o.reference} ({long_date(o.opened_on)})" for o in confirmed)
    return [f"The same child is in {len(confirmed)} other notice(s) raised in the 12 months before this one: {named}."]


def _confirmed_same_child(
    session: Session, services: PortalServices, notice: Notice, answers: dict[str, str], *, first_only: bool = False
) -> list[Notice]:
    """The partnership's other notices raised in the 12 months before this one about the same child."""
    mine = search.identifiers(notice.form_code, answers)
    keys = search.index_keys(services.keyring, notice.form_code, answers)
    if not mine or not keys or notice.opened_on is None:
        return []
    bait = sorted(services.honeytokens)
    candidates = session.scalars(
        select(Notice)
        .join(NoticeBlindIndex, NoticeBlindIndex.notice_id == Notice.id)
        .where(
            tuple_(NoticeBlindIndex.kind, NoticeBlindIndex.key_version, NoticeBlindIndex.value).in_(
                [tuple(k) for k in keys]
            ),
            Notice.id != notice.id,
            Notice.id.not_in(bait),
            Notice.partnership_id == notice.partnership_id,
            Notice.shredded_at.is_(None),
            Notice.opened_on.between(notice.opened_on - CHILD_WINDOW, notice.opened_on),
        )
        .distinct()
        .order_by(Notice.opened_on)
        # Read a few at a time: a submit stops at the first confirmed, so a child already in many notices does
        # not load them all.
        .execution_options(yield_per=8)
    )
    confirmed = []
    try:
        for other in candidates:
            held = search.identifiers(other.form_code, record.named_answers(session, services, other, IDENTIFIERS))
            if any(held.get(kind) == value for kind, value in mine.items()):
                confirmed.append(other)
                if first_only:
                    break
    finally:
        candidates.close()
    return confirmed


def _pair_counts(session: Session, services: PortalServices, notice: Notice) -> list[tuple[int, int]]:
    """(receiving agency, notices) raised by this notice's agency with each of its receivers in six months."""
    if notice.raising_agency_id is None or notice.opened_on is None:
        return []
    receivers = {r.agency_id for r in notice.recipients}
    counted = session.execute(
        select(NoticeRecipient.agency_id, func.count(distinct(Notice.id)))
        .join(Notice, Notice.id == NoticeRecipient.notice_id)
        .where(
            Notice.partnership_id == notice.partnership_id,
            Notice.raising_agency_id == notice.raising_agency_id,
            Notice.id.not_in(sorted(services.honeytokens)),
            NoticeRecipient.agency_id.in_(receivers),
            Notice.opened_on.between(notice.opened_on - PAIR_WINDOW, notice.opened_on),
        )
        .group_by(NoticeRecipient.agency_id)
    ).all()
    return [(int(agency), int(n)) for agency, n in counted]


def _pair_repeated(session: Session, services: PortalServices, notice: Notice) -> bool:
    """Whether this notice's agency raised at least PAIR_REPEATS - 1 others with one of its receivers in six
    months. Asks for that many and no more, so a busy pair of agencies costs a submit no more than a quiet one
    (index ix_notice_raising_agency_opened)."""
    if notice.raising_agency_id is None or notice.opened_on is None:
        return False
    for agency_id in sorted({r.agency_id for r in notice.recipients if r.agency_id is not None}):
        others = (
            select(Notice.id)
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .where(
                Notice.raising_agency_id == notice.raising_agency_id,
                Notice.partnership_id == notice.partnership_id,
                Notice.opened_on.between(notice.opened_on - PAIR_WINDOW, notice.opened_on),
                Notice.id != notice.id,
                Notice.id.not_in(sorted(services.honeytokens)),
                NoticeRecipient.agency_id == agency_id,
            )
            .distinct()
            .limit(PAIR_REPEATS - 1)
        )
        if session.execute(select(func.count()).select_from(others.subquery())).scalar_one() + 1 >= PAIR_REPEATS:
            return True
    return False


def _same_pair(session: Session, services: PortalServices, notice: Notice) -> list[str]:
    counted = _pair_counts(session, services, notice)
    if not counted or notice.opened_on is None:
        return []
    receivers = {agency for agency, _ in counted}
    names = dict(session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(receivers))).all())
    raiser = notice.raising_agency.name if notice.raising_agency else ""
    return [
        f"{raiser} has raised {n} notices with {names.get(agency, 'this agency')} in the six months to "
        f"{long_date(notice.opened_on)}."
        for agency, n in counted
        if n >= PAIR_REPEATS
    ]
