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
import io
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from portal.domain.categories import COMMON_LABELS, NOT_RECORDED_LABEL, THEME_PREFIX, label_of, outcome_label
from portal.domain.dates import LONDON
from portal.domain.models import Notice, NoticeCategory, NoticeEvent, NoticeRecipient, NoticeStatus, User, utcnow
from portal.domain.working_days import ENGLAND_AND_WALES_CALENDAR
from portal.services import audit, limits, record
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


class ExportLimitError(LimitReachedError):
    """The user has exported too often in the last hour."""


def neutralise(value: object) -> str:
    """Return a cell value a spreadsheet shows as text, never runs: a leading quote disarms a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_register(
    session: Session, services: PortalServices, user: User, *, remote_addr: str = ""
) -> tuple[str, bytes]:
    """Return (file name, CSV bytes) of every notice of the user's partnership; refuse past the hourly cap."""
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
    notices = (
        session.execute(
            select(Notice)
            # The bait notice is never exported: no legitimate path leads to it (portal.services.honeytoken).
            .where(Notice.partnership_id == user.partnership_id, Notice.id.not_in(sorted(services.honeytokens)))
            .options(
                selectinload(Notice.stages),
                selectinload(Notice.recipients).selectinload(NoticeRecipient.agency),
                selectinload(Notice.raising_agency),
                selectinload(Notice.partnership),
            )
            .order_by(Notice.submitted_at)
        )
        .scalars()
        .all()
    )
    chases = dict(
        session.execute(
            select(NoticeEvent.notice_id, func.count())
            .where(NoticeEvent.kind == "chased", NoticeEvent.notice_id.in_([n.id for n in notices]))
            .group_by(NoticeEvent.notice_id)
        ).all()
    )
    today = services.today()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    coded: dict[str, list[NoticeCategory]] = {}
    for category in session.execute(
        select(NoticeCategory).where(NoticeCategory.notice_id.in_([n.id for n in notices])).order_by(NoticeCategory.id)
    ).scalars():
        coded.setdefault(category.notice_id, []).append(category)
    # The header is the first row, so the file imports as it is; the marking is in the file name and the last row.
    writer.writerow(COLUMNS)
    for notice in notices:
        cells = _row(notice, chases.get(notice.id, 0), today) + _codes(notice, coded.get(notice.id, []))
        writer.writerow([neutralise(cell) for cell in cells])
    writer.writerow([MARKING] + [""] * (len(COLUMNS) - 1))
    limits.finish(session, attempt, limits.OK)
    audit.record(
        session,
        services.keyring.audit_key,
        action="notice.export",
        outcome="ok",
        actor_id=user.id,
        object_type="partnership",
        object_id=f"rows={len(notices)}",
        remote_addr=remote_addr,
    )
    session.commit()
    # The byte-order mark makes spreadsheet programs read the UTF-8 (agency names with accents) correctly.
    filename = f"{user.partnership.code}-notices-{today.isoformat()}-OFFICIAL-SENSITIVE.csv"
    return filename, ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _row(notice: Notice, chase_count: int, today: object) -> list[object]:
    procedure = record.procedure_of(notice)
    current = notice.current_stage
    open_now = notice.is_open and current is not None and current.ended_at is None
    due = current.due_on if open_now and current is not None else None
    raised_on = notice.submitted_at.astimezone(LONDON).date()
    ended = notice.closed_at.astimezone(LONDON).date() if notice.closed_at else today
    return [
        notice.reference,
        notice.partnership.name,
        notice.procedure_version,
        notice.date_of_notification.isoformat(),
        raised_on.isoformat(),
        notice.raising_agency.name if notice.raising_agency else "",
        "; ".join(dict.fromkeys(r.agency.name for r in notice.recipients)),
        "; ".join(procedure.stage(s.stage).name for s in notice.stages),
        procedure.stage(notice.stage).name,
        "Yes" if any(s.skipped_from for s in notice.stages) else "No",
        NoticeStatus(notice.status).label,
        due.isoformat() if due else "",
        "Yes" if due is not None and due < today else "No",  # type: ignore[operator]
        chase_count,
        notice.closed_at.astimezone(LONDON).date().isoformat() if notice.closed_at else "",
        ENGLAND_AND_WALES_CALENDAR.working_days_between(raised_on, ended),  # type: ignore[arg-type]
    ]


def _codes(notice: Notice, categories: list[NoticeCategory]) -> list[object]:
    """The notice's category codes, common themes, outcome, debrief and learning flag, as labels."""
    lists = {code_list.field: code_list for code_list in record.definition_of(notice).code_lists}
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
