"""Lists and reads of notices for signed-in staff. Lists carry no child identifiers; reads are audited."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from portal.domain.categories import COMMON_THEMES, THEME_PREFIX, outcome_label
from portal.domain.counting import Count
from portal.domain.models import (
    Agency,
    DirectoryContact,
    Notice,
    NoticeAnswer,
    NoticeCategory,
    NoticeDocument,
    NoticeEvent,
    NoticeRecipient,
    NoticeStage,
    NoticeStatus,
    Role,
    User,
)
from portal.domain.notice_definition import NoticeDefinition
from portal.domain.policy import Actions
from portal.domain.procedure import Procedure
from portal.infrastructure.db import count_to
from portal.infrastructure.pdf import WITHHELD, AttachmentRecord, StageRecord
from portal.partnerships import current_procedure, procedure_for
from portal.services import audit, conversation, documents, raising, record, repeats, routing, vault
from portal.services.errors import NotFoundError, PageCursorError
from portal.services.runtime import PortalServices


@dataclass(frozen=True)
class NoticeRow:
    """One line of a list: the reference, dates, agencies, stage and clock, nothing that identifies a child."""

    id: str
    reference: str
    date_of_notification: date
    submitted_at: datetime
    raising_agency: str
    receiving_agencies: str
    stage: str
    status: str
    due_on: date | None
    overdue: bool
    due_this_week: bool
    # Repeat escalations kept at submit (portal.services.repeats): set on the business unit's list only.
    repeats: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoticeView:
    """A notice as its reader sees it: answers, stages, closure, what they may do now, timeline, PDF versions."""

    notice: Notice
    definition: NoticeDefinition
    procedure: Procedure
    answers: dict[str, str]
    recipients: list[NoticeRecipient]
    events: list[NoticeEvent]
    pdf_versions: list[int]
    sender_notes: list[tuple[str, str]]
    stages: tuple[StageRecord, ...]
    closure: dict[str, str]
    actions: Actions
    # True when this reader gets the partnership's pseudonymous copy (Trafford's business unit).
    withheld: bool
    # The raiser's label for the notice ("" if none).
    label: str = ""
    # Why the notice was withdrawn ("" unless it was).
    withdrawal: str = ""
    # Messages between the parties, oldest first.
    thread: tuple[conversation.Message, ...] = ()
    # Evidence attached, oldest first (names and hashes; the content is downloaded on its own, audited).
    attachments: tuple[AttachmentRecord, ...] = ()
    # Repeat escalations, for the business unit only (portal.services.repeats).
    repeats: tuple[str, ...] = ()
    # The closing version whose summary for the child's file this reader may download (None: none to offer).
    child_file_version: int | None = None

    @property
    def outcome(self) -> str:
        """The coded outcome recorded at closure ("Not recorded" for a notice closed before codes were)."""
        return outcome_label(self.notice.outcome_code)

    @property
    def current(self) -> StageRecord | None:
        return self.stages[-1] if self.stages else None


# Rows a list page shows: a page is a screenful a person reads, and no request's work grows with the table.
PAGE_SIZE = 50
# A list's counts (its size, the overdue, the due this week) stop here and then say "more than"
# (portal.domain.counting): each reads at most this many rows, about a millisecond at 100,000 notices, where counting
# a partnership's every notice took tens. A list this long is read through its filters, and counted exactly by the
# reports.
COUNT_CAP = 1_000
DUE_FILTERS = ("overdue", "this-week")
# The orders the business unit's list offers: each pages by keyset on (its key, id), from an index that begins
# with the partnership (ix_notice_partnership_submitted, ix_notice_partnership_reference).
SORTS: dict[str, str] = {
    "newest": "Newest raised first",
    "oldest": "Oldest raised first",
    "due": "Due soonest",
    "reference": "Reference",
}
# "Due soonest" puts the notices with no date due (closed, or at a stage without a limit) after the rest: in
# SQL as a day no stage is due on, so that (key, id) stays a total order for the keyset.
NOT_DUE = date(9999, 12, 31)


@dataclass(frozen=True)
class ListFilters:
    """What narrows a list, every one applied in SQL. ``due``: "" (all), "overdue" or "this-week"; the rest
    narrow the business unit's list (an empty value or None: not narrowed)."""

    due: str = ""
    status: str = ""
    stage: str = ""
    raising_agency: int | None = None
    receiving_agency: int | None = None
    opened_from: date | None = None
    opened_to: date | None = None
    # A common theme (docs/categories.md#common).
    category: str = ""
    # A reference, exactly (case does not matter).
    reference: str = ""
    # One of SORTS: not a filter, but carried with them from page to page.
    sort: str = "newest"

    def narrowing(self) -> list[ColumnElement[bool]]:
        """The conditions beyond the due-date clocks."""
        found: list[ColumnElement[bool]] = []
        if self.status:
            found.append(Notice.status == self.status)
        if self.stage:
            found.append(Notice.stage == self.stage)
        if self.raising_agency is not None:
            found.append(Notice.raising_agency_id == self.raising_agency)
        if self.receiving_agency is not None:
            sent = select(NoticeRecipient.id).where(
                NoticeRecipient.notice_id == Notice.id, NoticeRecipient.agency_id == self.receiving_agency
            )
            found.append(sent.exists())
        if self.opened_from is not None:
            found.append(Notice.opened_on >= self.opened_from)
        if self.opened_to is not None:
            found.append(Notice.opened_on <= self.opened_to)
        if self.category:
            themed = select(NoticeCategory.id).where(
                NoticeCategory.notice_id == Notice.id, NoticeCategory.list_field == THEME_PREFIX + self.category
            )
            found.append(themed.exists())
        if self.reference:
            found.append(Notice.reference == self.reference.strip().upper())
        return found


@dataclass(frozen=True)
class NoticePage:
    """One page of a list, newest first, with counts taken by SQL aggregates over the whole list."""

    rows: list[NoticeRow]
    # Notices matching the filters (every page), and over the unfiltered list the two clocks a unit plans by: each
    # counted up to COUNT_CAP.
    total: Count
    overdue: Count
    due_this_week: Count
    # Opaque keyset cursors for the neighbouring pages (None at either end).
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(submitted_at: datetime, notice_id: str) -> str:
    """A cursor is the (submitted_at, id) of a row on the page edge: a time and a random id, nothing about a child."""
    stamp = submitted_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")
    return base64.urlsafe_b64encode(f"{stamp}~{notice_id}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        stamp, notice_id = raw.split("~", 1)
        at = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PageCursorError("not a page cursor") from exc
    if len(notice_id) > 36:
        raise PageCursorError("not a page cursor")
    return at, notice_id


def _week_end(today: date) -> date:
    # "This week" runs to the end of Sunday: what a business unit plans its chasing around.
    return today + timedelta(days=6 - today.weekday())


def _clock_conditions(today: date) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(overdue, due this week) over the notice joined to its current stage: the chaser's own definition."""
    open_stage = and_(
        Notice.status == NoticeStatus.OPEN, NoticeStage.ended_at.is_(None), NoticeStage.due_on.isnot(None)
    )
    overdue = and_(open_stage, NoticeStage.due_on < today)
    due_soon = and_(open_stage, NoticeStage.due_on >= today, NoticeStage.due_on <= _week_end(today))
    return overdue, due_soon


# The stage a notice is at: notice.stage names it, and (notice_id, stage) is unique, so one join finds it.
_CURRENT_STAGE = and_(NoticeStage.notice_id == Notice.id, NoticeStage.stage == Notice.stage)


def _page(
    db: Session,
    scope: list[ColumnElement[bool]],
    filters: ListFilters,
    *,
    slug: str,
    today: date,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PAGE_SIZE,
    show_repeats: bool = False,
    counted: Select[Any] | None = None,
) -> NoticePage:
    """A constant number of statements whatever the size of the list: the counts, the page, its recipients.
    Every notice in ``scope`` is of one partnership, whose ``slug`` names its procedures. ``counted``: the notices
    in ``scope`` found by a cheaper statement, to count them (by default they are counted through ``scope``)."""
    overdue_if, due_if = _clock_conditions(today)
    wanted = list(scope)
    # The clocks from the open stages due by Sunday (the chaser's index), so neither reads a notice's stage unless
    # that stage is on a clock; the list's size from the scope's own index, or through every filter when narrowed.
    overdue_rows, due_rows = (
        select(NoticeStage.id).join(Notice, _CURRENT_STAGE).where(NoticeStage.ended_at.is_(None), clock, *scope)
        for clock in (overdue_if, due_if)
    )
    listed = counted if counted is not None else select(Notice.id).where(*scope)
    if filters.due == "overdue":
        wanted.append(overdue_if)
        listed = overdue_rows
    elif filters.due == "this-week":
        wanted.append(due_if)
        listed = due_rows
    narrowing = filters.narrowing()
    if narrowing:
        wanted += narrowing
        listed = select(Notice.id).outerjoin(NoticeStage, _CURRENT_STAGE).where(*wanted)
    # One statement for the three counts, each stopping at COUNT_CAP (portal.domain.counting): counted to the end,
    # the list's size was a read of every notice of the partnership on every page.
    found = db.execute(
        select(count_to(listed, COUNT_CAP), count_to(overdue_rows, COUNT_CAP), count_to(due_rows, COUNT_CAP))
    ).one()
    total, overdue_total, due_total = (Count.of(n, COUNT_CAP) for n in found)

    raising = aliased(Agency)
    query = (
        select(
            Notice.id,
            Notice.reference,
            Notice.date_of_notification,
            Notice.submitted_at,
            Notice.status,
            Notice.stage,
            Notice.procedure_version,
            Notice.repeat_child,
            Notice.repeat_pair,
            raising.name.label("raising_agency"),
            NoticeStage.id.label("stage_row"),
            NoticeStage.ended_at,
            NoticeStage.due_on,
            NoticeStage.acknowledged_at,
            NoticeStage.responded_at,
        )
        .outerjoin(raising, raising.id == Notice.raising_agency_id)
        .outerjoin(NoticeStage, _CURRENT_STAGE)
        .where(*wanted)
    )
    sort = filters.sort if filters.sort in SORTS else "newest"
    column: ColumnElement[Any] = (Notice.reference if sort == "reference" else Notice.submitted_at).expression
    if sort == "due":
        # The current stage's due date, as the row shows it (_row); no index serves a key across two tables,
        # so this order sorts the matching notices, still in the same few statements.
        open_stage = and_(Notice.status == NoticeStatus.OPEN, NoticeStage.ended_at.is_(None))
        column = func.coalesce(case((open_stage, NoticeStage.due_on)), literal(NOT_DUE, type_=Date))
    # Keyset on (the sort's key, id): a page starts strictly after the last row of the one before, in the
    # list's own order, so following the pages meets every notice once whatever the order.
    ascending = sort != "newest"
    key = tuple_(column, Notice.id)
    backwards = before is not None and after is None
    if after is not None:
        edge = tuple_(*_bind_cursor(after, sort))
        query = query.where(key > edge if ascending else key < edge)
    elif before is not None:
        edge = tuple_(*_bind_cursor(before, sort))
        query = query.where(key < edge if ascending else key > edge)
    if ascending != backwards:
        query = query.order_by(column.asc(), Notice.id.asc())
    else:
        query = query.order_by(column.desc(), Notice.id.desc())
    fetched = list(db.execute(query.limit(per_page + 1)).all())
    more = len(fetched) > per_page
    fetched = fetched[:per_page]
    if backwards:
        fetched.reverse()

    names: dict[str, list[str]] = {r.id: [] for r in fetched}
    if fetched:
        for notice_id, name in db.execute(
            select(NoticeRecipient.notice_id, Agency.name)
            .join(Agency, Agency.id == NoticeRecipient.agency_id)
            .where(NoticeRecipient.notice_id.in_(list(names)))
            .order_by(NoticeRecipient.notice_id, NoticeRecipient.position)
        ):
            names[notice_id].append(name)

    rows = [_row(r, slug, names[r.id], today, repeats_shown=show_repeats) for r in fetched]
    first, last = (fetched[0], fetched[-1]) if fetched else (None, None)
    if backwards:
        has_previous, has_next = more, True
    else:
        has_previous, has_next = after is not None, more
    return NoticePage(
        rows=rows,
        total=total,
        overdue=overdue_total,
        due_this_week=due_total,
        next_cursor=_encode_for(sort, last) if has_next and last is not None else None,
        previous_cursor=_encode_for(sort, first) if has_previous and first is not None else None,
    )


def _bind_cursor(token: str, sort: str = "newest") -> tuple[object, str]:
    if sort == "reference":
        return _decode_reference_cursor(token)
    if sort == "due":
        day, notice_id = _decode_reference_cursor(token)
        try:
            return literal(date.fromisoformat(day), type_=Date), notice_id
        except ValueError as exc:
            raise PageCursorError("not a page cursor") from exc
    at, notice_id = decode_cursor(token)
    # Bound through the column's own type, so the comparison is with what the database stores.
    return literal(at, type_=Notice.__table__.c.submitted_at.type), notice_id


def _encode_for(sort: str, row: Any) -> str:
    if sort == "due":
        open_stage = row.stage_row is not None and row.ended_at is None and row.status == NoticeStatus.OPEN
        due = (row.due_on if open_stage else None) or NOT_DUE
        return base64.urlsafe_b64encode(f"{due.isoformat()}~{row.id}".encode()).decode().rstrip("=")
    if sort == "reference":
        # A reference is the partnership's code, the year and a number: nothing about a child.
        return base64.urlsafe_b64encode(f"{row.reference}~{row.id}".encode()).decode().rstrip("=")
    return encode_cursor(row.submitted_at, row.id)


def _decode_reference_cursor(token: str) -> tuple[str, str]:
    try:
        reference, notice_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().rsplit("~", 1)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PageCursorError("not a page cursor") from exc
    if len(notice_id) > 36 or len(reference) > 30:
        raise PageCursorError("not a page cursor")
    return reference, notice_id


def _row(r: Any, slug: str, agencies: list[str], today: date, *, repeats_shown: bool = False) -> NoticeRow:
    open_stage = r.stage_row is not None and r.ended_at is None and r.status == NoticeStatus.OPEN
    due = r.due_on if open_stage else None
    overdue = due is not None and due < today
    try:
        stage_name = procedure_for(slug, r.procedure_version).stage(r.stage).name
    except LookupError:
        stage_name = r.stage
    status = NoticeStatus(r.status).label
    if overdue:
        status = "Overdue"
    elif open_stage and r.responded_at is not None:
        status = "Responded"
    elif open_stage and r.acknowledged_at is not None:
        status = "Acknowledged"
    return NoticeRow(
        id=r.id,
        reference=r.reference,
        date_of_notification=r.date_of_notification,
        submitted_at=r.submitted_at,
        raising_agency=r.raising_agency or "",
        receiving_agencies=", ".join(dict.fromkeys(agencies)),
        stage=stage_name,
        status=status,
        due_on=due,
        overdue=overdue,
        due_this_week=due is not None and not overdue and due <= _week_end(today),
        repeats=tuple(
            tag for tag, flagged in (("Same child", r.repeat_child), ("Same agencies", r.repeat_pair)) if flagged
        )
        if repeats_shown
        else (),
    )


def notices_for_user(
    db: Session,
    services: PortalServices,
    user: User,
    *,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PAGE_SIZE,
) -> NoticePage:
    """A page of the notices a practitioner raised, or that were sent to a SPOC's agency."""
    scope: list[ColumnElement[bool]] = [Notice.partnership_id == user.partnership_id]
    counted = None
    if user.role_enum is Role.PRACTITIONER:
        scope.append(Notice.raised_by_id == user.id)
    elif user.role_enum is Role.SPOC:
        scope.append(
            exists().where(NoticeRecipient.notice_id == Notice.id, NoticeRecipient.agency_id == user.agency_id)
        )
        # Counted from the recipient index alone (ix_notice_recipient_agency_notice, an index-only scan): through
        # the scope, PostgreSQL read every notice of the partnership to find the agency's (100,000 notices, an
        # eighth of them the agency's: 30-59 ms, now 3 ms). The same notices: a notice is only ever sent to
        # agencies of its own partnership (routing.form_recipients, chosen_contacts, tier_contacts), and the SPOC's
        # agency is of theirs; the page's rows are still read through the whole scope.
        counted = select(NoticeRecipient.notice_id).where(NoticeRecipient.agency_id == user.agency_id).distinct()
    else:
        none = Count(0)
        return NoticePage(rows=[], total=none, overdue=none, due_this_week=none, next_cursor=None, previous_cursor=None)
    return _page(
        db,
        scope,
        ListFilters(),
        slug=user.partnership.slug,
        today=services.today(),
        after=after,
        before=before,
        per_page=per_page,
        counted=counted,
    )


def notices_for_partnership(
    db: Session,
    services: PortalServices,
    user: User,
    filters: ListFilters | None = None,
    *,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PAGE_SIZE,
) -> NoticePage:
    """A page of every notice of the business manager's partnership (but the bait: see
    portal.services.honeytoken)."""
    scope: list[ColumnElement[bool]] = [Notice.partnership_id == user.partnership_id]
    bait = sorted(services.honeytokens)
    if bait:
        scope.append(Notice.id.not_in(bait))
    return _page(
        db,
        scope,
        filters or ListFilters(),
        slug=user.partnership.slug,
        today=services.today(),
        after=after,
        before=before,
        per_page=per_page,
        # Only the business unit sees repeat flags: a practitioner or SPOC would learn that other notices exist.
        show_repeats=user.role_enum is Role.BUSINESS_MANAGER,
    )


def labels_for(db: Session, services: PortalServices, rows: list[NoticeRow]) -> dict[str, str]:
    """The raisers' labels of the listed notices (which the reader may already see), decrypted one answer each."""
    ids = [row.id for row in rows]
    if not ids:
        return {}
    found = db.execute(
        select(NoticeAnswer.notice_id, NoticeAnswer.value_ct, Notice.data_key_id)
        .join(Notice, Notice.id == NoticeAnswer.notice_id)
        .where(
            NoticeAnswer.notice_id.in_(ids),
            NoticeAnswer.field_name == raising.LABEL_FIELD,
            Notice.shredded_at.is_(None),
        )
    ).all()
    # Every notice has its own data key: all of them in one statement, not one per labelled row.
    keys = vault.data_keys(db, services.keyring, [key_id for _n, _c, key_id in found])
    labels = {}
    for notice_id, ciphertext, key_id in found:
        if key_id not in keys:
            raise LookupError("unknown data key")
        labels[notice_id] = vault.open_text(
            keys[key_id], ciphertext, table="notice_answer", field=raising.LABEL_FIELD, row_id=notice_id
        )
    return labels


def copy_for(user: User, definition: NoticeDefinition) -> str:
    """The PDF copy a reader gets: the business unit's pseudonymous copy where the form requires one."""
    if definition.pseudonymous_copy and user.role_enum is Role.BUSINESS_MANAGER:
        return documents.BUSINESS_UNIT_COPY
    return documents.FULL_COPY


# What the notice page shows of the notice, and the wrapped key it is decrypted with, loaded with it in a fixed
# number of statements however many stages, recipients and answers it has: never one lazy load per row (issue 11);
# the answers are read as plain rows when they are decrypted (record.read_answers).
# The PDFs are listed by a query of their numbers alone (_pdf_versions), so no version's ciphertext is read to draw
# a link.
_SHOWN = (
    select(Notice)
    .options(
        joinedload(Notice.partnership),
        joinedload(Notice.data_key),
        joinedload(Notice.raised_by),
        joinedload(Notice.raising_agency),
        joinedload(Notice.stages),
        selectinload(Notice.recipients).joinedload(NoticeRecipient.contact).joinedload(DirectoryContact.agency),
    )
    .where(Notice.id == bindparam("notice_id"))
)


def read_notice(
    db: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    *,
    remote_addr: str = "",
    with_sender_notes: bool = False,
) -> NoticeView:
    """Decrypt a notice for someone allowed to read it, and audit the read.

    ``with_sender_notes``: also read the directory's notes on the agencies it was sent to (the confirmation
    page shows them; the notice page does not)."""
    notice = record.load_for(db, services, user, notice_id, "read", remote_addr=remote_addr, shown=_SHOWN)
    definition = record.definition_of(notice)

    def read() -> tuple[dict[str, str], list[AttachmentRecord]]:
        # The data key is unwrapped once, for the answers and the evidence's names alike.
        dek = record.data_key(db, services, notice)
        return record.read_answers(db, notice, dek), documents.attachment_records(db, notice, dek)

    # A data-key rotation may commit between loading the notice and decrypting it: read again once.
    answers, attachments = vault.open_with_retry(db, read)
    # The recipients' contacts came with the notice: the answers' directory fields mostly name them.
    shown = documents.shown_answers(db, definition, notice, answers, [r.contact for r in notice.recipients])
    copy = copy_for(user, definition)
    if copy == documents.BUSINESS_UNIT_COPY:
        shown = {k: (WITHHELD if k in definition.identifier_fields and v else v) for k, v in shown.items()}
    events = record.timeline(db, notice)
    repeated = tuple(repeats.repeat_flags(db, services, user, notice, answers))
    documents_held = _pdf_versions(db, notice)
    # The audit of the read is the last thing the page asks of the database: the append lock it takes at the flush
    # is held only to the commit, and nothing after the commit opens a second transaction (two round trips fewer).
    # (A business unit's read that confirms a repeat child commits that finding, and its audit, just before.)
    audit.record(
        db,
        services.keyring.audit_key,
        action="notice.read",
        outcome="allowed",
        actor_id=user.id,
        object_type="notice",
        object_id=notice.id,
        remote_addr=remote_addr,
    )
    db.commit()
    return NoticeView(
        repeats=repeated,
        notice=notice,
        definition=definition,
        procedure=record.procedure_of(notice),
        answers=shown,
        recipients=list(notice.recipients),
        events=events,
        pdf_versions=sorted({version for version, held in documents_held if held == copy}),
        sender_notes=(
            routing.sender_notes(db, [str(r.contact_id) for r in notice.recipients]) if with_sender_notes else []
        ),
        stages=documents.stage_records(db, notice, answers, events),
        closure=documents.closure_record(notice, answers),
        actions=record.actions_for(user, notice),
        withheld=copy == documents.BUSINESS_UNIT_COPY,
        # Only the full copy's readers: the summary carries the child's identifiers.
        child_file_version=next(
            (
                version
                for version, held in documents_held
                if held == documents.CHILD_FILE_COPY and copy == documents.FULL_COPY
            ),
            None,
        ),
        label=answers.get(raising.LABEL_FIELD, ""),
        withdrawal=answers.get(record.WITHDRAWAL_FIELD, ""),
        thread=tuple(conversation.thread(answers)),
        attachments=tuple(attachments),
    )


_PDF_VERSIONS = (
    select(NoticeDocument.version, NoticeDocument.copy)
    .where(NoticeDocument.notice_id == bindparam("notice_id"))
    .order_by(NoticeDocument.version, NoticeDocument.id)
)


def _pdf_versions(db: Session, notice: Notice) -> list[tuple[int, str]]:
    """(version, copy) of every PDF the notice has, oldest first: the numbers only, never the ciphertexts."""
    return [(version, copy) for version, copy in db.execute(_PDF_VERSIONS, {"notice_id": notice.id})]


def download_pdf(
    db: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    version: int | None = None,
    *,
    remote_addr: str = "",
) -> tuple[str, bytes]:
    """Return (file name, signed PDF) for someone allowed to download it, and audit the download."""
    notice = record.load_for(db, services, user, notice_id, "download", remote_addr=remote_addr)
    copy = copy_for(user, record.definition_of(notice))
    try:
        chosen, pdf = documents.open_version(db, services, notice, version, copy)
    except LookupError:
        raise NotFoundError(f"no PDF version {version}") from None
    audit.record(
        db,
        services.keyring.audit_key,
        action="notice.download",
        outcome="allowed",
        actor_id=user.id,
        object_type="notice_document",
        object_id=f"{notice.id}/v{chosen}",
        remote_addr=remote_addr,
    )
    db.commit()
    # The file name is the reference and version only: never a child's name or date of birth.
    return f"{notice.reference}-v{chosen}.pdf", pdf


@dataclass(frozen=True)
class FilterChoices:
    """What the business unit's list can be narrowed by: its partnership's agencies, stages and themes."""

    agencies: list[tuple[int, str]]
    stages: list[tuple[str, str]]
    themes: list[tuple[str, str]]
    statuses: list[tuple[str, str]]


def filter_choices(db: Session, user: User) -> FilterChoices:
    agencies = [
        (agency_id, name)
        for agency_id, name in db.execute(
            select(Agency.id, Agency.name).where(Agency.partnership_id == user.partnership_id).order_by(Agency.position)
        )
    ]
    procedure = current_procedure(user.partnership.slug)
    return FilterChoices(
        agencies=agencies,
        stages=[(stage.code, stage.name) for stage in procedure.stages],
        themes=list(COMMON_THEMES),
        statuses=[(status.value, status.label) for status in NoticeStatus],
    )
