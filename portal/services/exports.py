"""The business unit's export of its partnership's notices: minimal, pseudonymous, capped and audited.

What leaves the portal in a spreadsheet is the register a business unit reports from (docs/threats.md#property-21):
references, agencies, stages, dates and clocks. No child identifier or narrative is in it, so it
decrypts nothing. Every cell is neutralised against spreadsheet formula injection (ASVS 1.2.10), the file
is marked OFFICIAL-SENSITIVE in its name and its last line (the first is the header, so it imports as it
is), each export is audited with its row count, and a user may
export only a few times an hour (the NCSC's bulk-data measures).
"""

from __future__ import annotations

import csv
import functools
import io
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased

from portal.domain.categories import (
    COMMON_LABELS,
    NOT_RECORDED_LABEL,
    THEME_PREFIX,
    CodeList,
    label_of,
    outcome_label,
)
from portal.domain.dates import LONDON
from portal.domain.models import (
    Agency,
    Notice,
    NoticeCategory,
    NoticeEvent,
    NoticeRecipient,
    NoticeStage,
    NoticeStatus,
    Partnership,
    User,
    utcnow,
)
from portal.domain.procedure import Procedure
from portal.domain.working_days import ENGLAND_AND_WALES_CALENDAR
from portal.infrastructure.db import one_of
from portal.partnerships import notice_definition, procedure_for
from portal.services import audit, limits
from portal.services.errors import LimitReachedError
from portal.services.runtime import PortalServices

EXPORTS_PER_HOUR = 10
MARKING = "OFFICIAL-SENSITIVE: escalation notices register. Contains no child identifiers. Store securely."
COLUMNS = (
    "Reference",
    "Partnership",
    "Procedure version",
    "Date of notification",
    "Raised on",
    "Raising agency",
    "Receiving agencies",
    "Stages reached",
    "Current stage",
    "Went straight to a later stage",
    "Status",
    "Due by",
    "Overdue",
    "Chases",
    "Closed on",
    "Working days open",
    # Codes that reports count (docs/categories.md); "Not recorded" for notices from before they were asked.
    "Categories",
    "Common themes",
    "Outcome",
    "Debrief taken place",
    "General issues flagged for learning",
)
# A cell starting with one of these is read as a formula (or a DDE command) by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
_FORMULA_FIRST = frozenset(_FORMULA_START)


class ExportLimitError(LimitReachedError):
    """The user has exported too often in the last hour."""


def neutralise(value: object) -> str:
    """Return a cell value a spreadsheet shows as text, never runs: a leading quote disarms a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _disarmed(cells: list[object]) -> list[str | int]:
    """A register row with every text cell neutralised; numbers stay numbers.

    The same rule as ``neutralise``, written out for the register's cells (text or whole numbers): about twenty
    cells a row, so a function call per cell was a fifth of a large export's time."""
    return [
        ("'" + c if c[:1] in _FORMULA_FIRST else c)
        if isinstance(c, str)
        else c
        if isinstance(c, int)
        else neutralise(c)
        for c in cells
    ]


# Rows fetched from the server-side cursor at a time, and rows written per chunk of the response: memory
# stays at one batch whatever the size of the register. Below 65,535 / 1 so a batch's IN list always binds.
BATCH_SIZE = 1000


def export_register(
    session: Session, services: PortalServices, user: User, *, remote_addr: str = ""
) -> tuple[str, Iterator[bytes]]:
    """Return (file name, CSV chunks) of every notice of the user's partnership; refuse past the hourly cap.

    The export is claimed, counted and audited before the first byte is sent; the chunks then stream from a
    server-side cursor one batch at a time (iterate them while the session is open), so neither the rows nor
    the file are ever held whole in memory.
    """
    scope, count, today = _claim(session, services, user, remote_addr=remote_addr, kind="")
    filename = f"{user.partnership.code}-notices-{today.isoformat()}-OFFICIAL-SENSITIVE.csv"
    return filename, _chunks(session, scope, count, today)


def export_register_xlsx(
    session: Session, services: PortalServices, user: User, *, remote_addr: str = ""
) -> tuple[str, Iterator[bytes]]:
    """Return (file name, XLSX chunks) of the same register, under the same cap and audit as the CSV.

    The workbook is written in openpyxl's write-only mode, which keeps one row in memory and spills the sheet
    to a temporary file; the finished file is then sent from disk in chunks.
    """
    scope, count, today = _claim(session, services, user, remote_addr=remote_addr, kind=" format=xlsx")
    filename = f"{user.partnership.code}-notices-{today.isoformat()}-OFFICIAL-SENSITIVE.xlsx"
    return filename, _xlsx_chunks(session, scope, count, today)


def _claim(
    session: Session, services: PortalServices, user: User, *, remote_addr: str, kind: str
) -> tuple[list[ColumnElement[bool]], int, date]:
    """Claim an export against the hourly cap (both formats count), count its rows and audit it."""
    # Claimed before the work, so exports asked for at once meet an exact cap (portal.services.limits).
    attempt = limits.claim(
        session,
        "export",
        [f"user:{user.id}"],
        limit=EXPORTS_PER_HOUR,
        window=timedelta(hours=1),
        now=utcnow(),
        counted=(limits.OK,),
    )
    if attempt is None:
        audit.record(
            session,
            services.keyring.audit_key,
            action="notice.export",
            outcome="denied",
            actor_id=user.id,
            object_type="partnership",
            object_id=f"limit={EXPORTS_PER_HOUR}/h",
            remote_addr=remote_addr,
        )
        session.commit()
        raise ExportLimitError
    # The bait notice is never exported: no legitimate path leads to it (portal.services.honeytoken).
    scope = [Notice.partnership_id == user.partnership_id]
    bait = sorted(services.honeytokens)
    if bait:
        scope.append(Notice.id.not_in(bait))
    count = session.execute(select(func.count()).select_from(Notice).where(*scope)).scalar_one()
    limits.finish(session, attempt, limits.OK)
    audit.record(
        session,
        services.keyring.audit_key,
        action="notice.export",
        outcome="ok",
        actor_id=user.id,
        object_type="partnership",
        object_id=f"rows={count}{kind}",
        remote_addr=remote_addr,
    )
    session.commit()
    return scope, count, services.today()


def _chunks(session: Session, scope: list[ColumnElement[bool]], count: int, today: date) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode("utf-8")

    # The byte-order mark makes spreadsheet programs read the UTF-8 (agency names with accents) correctly.
    buffer.write("\ufeff")
    # The header is the first row, so the file imports as it is; the marking is in the file name and the last row.
    writer.writerow(COLUMNS)
    yield flush()
    for batch in _batches(session, scope, count, today):
        writer.writerows(_disarmed(cells) for cells in batch)
        yield flush()
    writer.writerow([MARKING] + [""] * (len(COLUMNS) - 1))
    yield flush()


# Bytes of the finished workbook sent per chunk.
XLSX_CHUNK = 64 * 1024


def _xlsx_chunks(session: Session, scope: list[ColumnElement[bool]], count: int, today: date) -> Iterator[bytes]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Register")
    # The marking a printed page carries at its head and foot, besides the file name and the last row.
    for part in (sheet.oddHeader.center, sheet.oddFooter.center):
        part.text = "OFFICIAL-SENSITIVE"
    sheet.oddFooter.right.text = "Page &P of &N"
    sheet.append(list(COLUMNS))
    for batch in _batches(session, scope, count, today):
        for cells in map(_disarmed, batch):
            # Numbers stay numbers; text is disarmed as in the CSV (openpyxl reads "=..." as a formula) and
            # cleared of the control characters a workbook may not hold.
            sheet.append([cell if isinstance(cell, int) else ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in cells])
    sheet.append([MARKING])
    with tempfile.TemporaryFile() as spooled:
        workbook.save(spooled)
        spooled.seek(0)
        while chunk := spooled.read(XLSX_CHUNK):
            yield chunk


def _batches(
    session: Session, scope: list[ColumnElement[bool]], count: int, today: date
) -> Iterator[list[list[object]]]:
    """The register's rows (cells before neutralising), BATCH_SIZE at a time, oldest notice first."""
    if count == 0:
        session.rollback()
        return
    # Chase counts aggregated in SQL and joined: no list of ids bound as parameters, however many notices.
    chases = (
        select(NoticeEvent.notice_id, func.count().label("chases"))
        .where(NoticeEvent.kind == "chased")
        .group_by(NoticeEvent.notice_id)
        .subquery()
    )
    raising = aliased(Agency)
    query = (
        select(
            Notice.id,
            Notice.reference,
            Notice.procedure_version,
            Notice.date_of_notification,
            Notice.submitted_at,
            Notice.closed_at,
            Notice.status,
            Notice.stage,
            Notice.form_code,
            Notice.outcome_code,
            Notice.debrief_held,
            Notice.learning_flagged,
            Partnership.slug,
            Partnership.name.label("partnership"),
            raising.name.label("raising_agency"),
            func.coalesce(chases.c.chases, 0).label("chases"),
        )
        .join(Partnership, Partnership.id == Notice.partnership_id)
        .outerjoin(raising, raising.id == Notice.raising_agency_id)
        .outerjoin(chases, chases.c.notice_id == Notice.id)
        .where(*scope)
        .order_by(Notice.submitted_at, Notice.id)
        # The notices counted and audited: any submitted since come after them in this order.
        .limit(count)
        # A server-side cursor (PostgreSQL) read BATCH_SIZE rows at a time.
        .execution_options(yield_per=BATCH_SIZE)
    )
    # Many notices share a procedure, a form and a day raised: look each up once per export (bounded by the
    # procedures, forms and days, not by the rows).
    stage_names = functools.cache(lambda slug, version: _StageNames(procedure_for(slug, version)))
    code_lists = functools.cache(_code_lists)
    working_days = functools.cache(ENGLAND_AND_WALES_CALENDAR.working_days_between)
    # Core rows, not the ORM's: nothing here is an entity, and the ORM's per-row step was a tenth of the time.
    # Each batch's stages, agencies and codes are fetched whole (one fetchall, not a fetch a row).
    connection = session.connection()
    try:
        for batch in connection.execute(query).partitions():
            ids = [r.id for r in batch]
            stages: dict[str, list[Any]] = {i: [] for i in ids}
            for stage in connection.execute(
                select(
                    NoticeStage.notice_id,
                    NoticeStage.stage,
                    NoticeStage.skipped_from,
                    NoticeStage.ended_at,
                    NoticeStage.due_on,
                )
                .where(one_of(session, NoticeStage.notice_id, ids))
                .order_by(NoticeStage.notice_id, NoticeStage.position)
            ).all():
                stages[stage.notice_id].append(stage)
            agencies: dict[str, list[str]] = {i: [] for i in ids}
            for notice_id, name in connection.execute(
                select(NoticeRecipient.notice_id, Agency.name)
                .join(Agency, Agency.id == NoticeRecipient.agency_id)
                .where(one_of(session, NoticeRecipient.notice_id, ids))
                .order_by(NoticeRecipient.notice_id, NoticeRecipient.position)
            ).all():
                agencies[notice_id].append(name)
            coded: dict[str, list[Any]] = {i: [] for i in ids}
            for category in connection.execute(
                select(NoticeCategory.notice_id, NoticeCategory.list_field, NoticeCategory.code)
                .where(one_of(session, NoticeCategory.notice_id, ids))
                .order_by(NoticeCategory.notice_id, NoticeCategory.id)
            ).all():
                coded[category.notice_id].append(category)
            yield [
                _row(r, stages[r.id], agencies[r.id], today, stage_names, working_days)
                + _codes(r, coded[r.id], code_lists(r.form_code))
                for r in batch
            ]
    finally:
        # End the read (and close its server-side cursor) when the last chunk is sent or the client goes: the
        # request's own teardown ran when the view returned, before the first chunk, and will not do it.
        session.rollback()


def _row(
    notice: Any,
    stages: list[Any],
    agencies: list[str],
    today: date,
    stage_names: Callable[[str, str], dict[str, str]],
    working_days: Callable[[date, date], int],
) -> list[object]:
    names = stage_names(notice.slug, notice.procedure_version)
    current = stages[-1] if stages else None
    open_now = notice.status == NoticeStatus.OPEN and current is not None and current.ended_at is None
    due = current.due_on if open_now and current is not None else None
    raised_on = _local_day(notice.submitted_at)
    closed_on = _local_day(notice.closed_at) if notice.closed_at else None
    ended = closed_on or today
    return [
        notice.reference,
        notice.partnership,
        notice.procedure_version,
        notice.date_of_notification.isoformat(),
        raised_on.isoformat(),
        notice.raising_agency or "",
        "; ".join(dict.fromkeys(agencies)),
        "; ".join([names[s.stage] for s in stages]),
        names[notice.stage],
        "Yes" if any(s.skipped_from for s in stages) else "No",
        _STATUS_LABELS[notice.status],
        due.isoformat() if due else "",
        "Yes" if due is not None and due < today else "No",
        notice.chases,
        closed_on.isoformat() if closed_on else "",
        working_days(raised_on, ended),
    ]


class _StageNames(dict[str, str]):
    """A procedure's stage names by code; a code it does not have raises the procedure's own error."""

    def __init__(self, procedure: Procedure) -> None:
        super().__init__((stage.code, stage.name) for stage in procedure.stages)
        self.procedure = procedure

    def __missing__(self, code: str) -> str:
        return self.procedure.stage(code).name


_STATUS_LABELS = {status.value: status.label for status in NoticeStatus}


def _code_lists(form_code: str) -> dict[str, CodeList]:
    """The code lists a form asks, by the field that holds each."""
    definition = notice_definition(form_code)
    return {code_list.field: code_list for code_list in (definition.code_lists if definition else ())}


def _codes(notice: Any, categories: list[Any], lists: dict[str, CodeList]) -> list[object]:
    """The notice's category codes, common themes, outcome, debrief and learning flag, as labels."""
    own = [
        f"{lists[c.list_field].title}: {label_of(lists[c.list_field], c.code)}"
        for c in categories
        if c.list_field in lists
    ]
    themes = [COMMON_LABELS.get(c.code, c.code) for c in categories if c.list_field.startswith(THEME_PREFIX)]
    closed = notice.closed_at is not None

    def yes_no(value: bool | None) -> str:
        return "" if not closed else NOT_RECORDED_LABEL if value is None else ("Yes" if value else "No")

    return [
        "; ".join(own) or (NOT_RECORDED_LABEL if lists else ""),
        "; ".join(themes),
        outcome_label(notice.outcome_code) if closed else "",
        yes_no(notice.debrief_held),
        yes_no(notice.learning_flagged),
    ]


def _local_day(at: datetime) -> date:
    return at.astimezone(LONDON).date()
