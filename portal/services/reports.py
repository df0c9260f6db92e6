"""The business unit's reports: one partnership's notices over a period, as aggregates only (docs/reports.md).

Every figure is counted by SQL over plain columns (stages, agencies, dates, category and outcome codes): nothing
is decrypted, and no reference, child identifier or narrative reaches a report. The working-day medians and
90th percentiles are read in Python from SQL's count of stages per (stage, working days taken): the days are
kept on each stage when it ends (notice_stage.working_days), so the cost follows the few distinct numbers of
days, not the number of notices.

A report is a list of ``Figure``s (a title, a text summary, a table and whether it is drawn as a chart), so the
page, the CSV and the PDF show the same figures. Counts of 1 to 4 are shown as "fewer than 5" wherever a report
leaves the business unit (the PDF and the CSV): ``shown``.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, distinct, func, or_, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from portal.domain.categories import (
    COMMON_LABELS,
    NOT_RECORDED_LABEL,
    OUTCOMES,
    THEME_PREFIX,
    CodeList,
)
from portal.domain.dates import long_date
from portal.domain.models import (
    Agency,
    LearningItem,
    Notice,
    NoticeCategory,
    NoticeRecipient,
    NoticeStage,
    NoticeStatus,
    Partnership,
    User,
    utcnow,
)
from portal.domain.procedure import Procedure
from portal.infrastructure.pdf.report import ReportSection, render_report
from portal.partnerships import current_procedure, spec_for
from portal.services import audit
from portal.services.errors import RuleBrokenError
from portal.services.runtime import PortalServices

MARKING = "OFFICIAL-SENSITIVE"
# docs/reports.md#small-counts: outside the business unit a count from 1 to SMALL - 1 is not shown exactly.
SMALL = 5
FEWER_THAN = f"fewer than {SMALL}"
LONGEST_PERIOD_DAYS = 366 * 3
TREND_QUARTERS = 8

Value = int | float | None


@dataclass(frozen=True)
class Period:
    """A range of days in England, both ends included."""

    start: date
    end: date
    label: str

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise RuleBrokenError("end", "The end date must be on or after the start date")
        if (self.end - self.start).days > LONGEST_PERIOD_DAYS:
            raise RuleBrokenError("end", "Choose a period of at most three years")


def quarter_of(day: date) -> tuple[int, int]:
    """The calendar year and quarter (1-4) a day falls in."""
    return day.year, (day.month - 1) // 3 + 1


def quarter(year: int, number: int) -> Period:
    """A calendar quarter, labelled also as the financial quarter partnerships report by (April to March)."""
    if number not in (1, 2, 3, 4):
        raise RuleBrokenError("quarter", "Choose a quarter from 1 to 4")
    start = date(year, 3 * number - 2, 1)
    end = _next_quarter(start) - timedelta(days=1)
    fy = year if number > 1 else year - 1
    fq = number - 1 if number > 1 else 4
    return Period(start, end, f"Q{fq} {fy}/{str(fy + 1)[2:]}: {long_date(start)} to {long_date(end)}")


def financial_year(first_year: int) -> Period:
    """1 April to 31 March."""
    start, end = date(first_year, 4, 1), date(first_year + 1, 3, 31)
    return Period(start, end, f"Year {first_year}/{str(first_year + 1)[2:]}: {long_date(start)} to {long_date(end)}")


def between(start: date, end: date) -> Period:
    return Period(start, end, f"{long_date(start)} to {long_date(end)}")


def _next_quarter(start: date) -> date:
    return date(start.year + (start.month > 9), (start.month + 2) % 12 + 1, 1)


# The named presets: Trafford reports to the TSSP quarterly [seed 002]; Bolton's Business Unit reviews themes,
# outcomes and learning annually for the SEG [seed 003]. Each gives the last complete period before ``today``.
def last_complete_quarter(today: date) -> Period:
    year, number = quarter_of(today)
    return quarter(year, number - 1) if number > 1 else quarter(year - 1, 4)


def last_complete_financial_year(today: date) -> Period:
    return financial_year(today.year - 1 if today.month >= 4 else today.year - 2)


# name -> (label, "quarter" or "year", the partnership it is named for or None for every partnership)
PRESETS: dict[str, tuple[str, str, str | None]] = {
    "trafford-quarterly": ("Quarterly report to the TSSP (Trafford)", "quarter", "trafford"),
    "bolton-annual": ("Annual review of themes, outcomes and learning for Bolton's SEG", "year", "bolton"),
    "last-quarter": ("The last complete quarter", "quarter", None),
    "last-year": ("The last complete financial year", "year", None),
}


def presets_for(slug: str) -> list[tuple[str, str]]:
    """The presets a partnership's business unit is offered: its own named ones first."""
    own = [(name, label) for name, (label, _, owner) in PRESETS.items() if owner == slug]
    return own + [(name, label) for name, (label, _, owner) in PRESETS.items() if owner is None]


def preset_period(name: str, today: date) -> Period:
    if name not in PRESETS:
        raise RuleBrokenError("preset", "Choose a report")
    return last_complete_quarter(today) if PRESETS[name][1] == "quarter" else last_complete_financial_year(today)


# -- the report's shape ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One table of a report: its rows are (label, values), one value per column after the first."""

    key: str
    title: str
    summary: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Value, ...]], ...]
    chart: bool = True
    # Columns holding a count (suppressed when small outside the unit); the others are days or percentages.
    count_columns: frozenset[int] = frozenset({0})


@dataclass(frozen=True)
class Report:
    partnership: str
    period: Period
    generated_at: datetime
    figures: tuple[Figure, ...]
    notices_counted: int
    title: str = "Escalation report"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def shown(value: Value, *, count: bool, shared: bool) -> str:
    """A value as a report prints it; inside the unit exact, outside it "fewer than 5" for counts 1-4."""
    if value is None:
        return "not available"
    if isinstance(value, float):
        return f"{value:.1f}"
    if count and shared and 0 < value < SMALL:
        return FEWER_THAN
    return str(value)


# -- counting ----------------------------------------------------------------------------------------------


def _scope(partnership_id: int, services: PortalServices) -> ColumnElement[bool]:
    # The bait notices are never counted: no legitimate path leads to them (portal.services.honeytoken).
    return and_(Notice.partnership_id == partnership_id, Notice.id.not_in(sorted(services.honeytokens)))


def _opened_in(period: Period) -> ColumnElement[bool]:
    return Notice.opened_on.between(period.start, period.end)


def _closed_in(period: Period) -> ColumnElement[bool]:
    return Notice.closed_on.between(period.start, period.end)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _nearest_rank(distribution: Counter[int], share: float) -> int | None:
    """The smallest value with at least ``share`` of the weighted distribution at or below it (nearest rank)."""
    total = sum(distribution.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(share * total)), 0
    for value in sorted(distribution):
        seen += distribution[value]
        if seen >= rank:
            return value
    return None  # pragma: no cover - rank never exceeds the total


@dataclass
class _Tally:
    """What one scan of the partnership's notices gives: the counts of six sections."""

    opened: int = 0
    closed: int = 0
    open_at_end: int = 0
    stages: Counter[str] = field(default_factory=Counter)
    raised_by: Counter[int | None] = field(default_factory=Counter)
    outcomes: Counter[str | None] = field(default_factory=Counter)
    debriefs: Counter[bool | None] = field(default_factory=Counter)
    flagged: int = 0
    # Raised and closed in each of the trend's quarters, oldest first.
    trend_opened: list[int] = field(default_factory=list)
    trend_closed: list[int] = field(default_factory=list)
    # From the notices' stages: chasers per stage, and how many notices skipped a stage.
    chases: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    # Stages ended in the period: (stage, working days taken, had a limit, kept to it, how many).
    ended: list[tuple[str, int, bool, bool, int]] = field(default_factory=list)
    # Learning log items of the notices closed in the period, by status.
    learning: Counter[str] = field(default_factory=Counter)


def _trend_quarters(last_day: date) -> list[Period]:
    """The eight quarters ending with the one ``last_day`` falls in, oldest first."""
    year, number = quarter_of(last_day)
    quarters = []
    for _ in range(TREND_QUARTERS):
        quarters.append(quarter(year, number))
        year, number = (year, number - 1) if number > 1 else (year - 1, 4)
    quarters.reverse()
    return quarters


def _quarter_index(
    day: ColumnElement[date | None] | InstrumentedAttribute[date | None], quarters: list[Period]
) -> ColumnElement[int]:
    """Which of ``quarters`` a day falls in (0 the oldest), NULL outside them: counted by FILTER."""
    return case(*((day.between(q.start, q.end), i) for i, q in enumerate(quarters)))


def _tally(session: Session, scope: ColumnElement[bool], period: Period) -> _Tally:
    """One scan of the notices raised, closed or open in the period, or raised or closed in the trend's eight
    quarters, grouped by what the sections count; then one of their stages."""
    opened, closed = _opened_in(period), _closed_in(period)
    open_at_end = and_(Notice.opened_on <= period.end, or_(Notice.closed_on.is_(None), Notice.closed_on > period.end))
    quarters = _trend_quarters(period.end)
    first, last = quarters[0].start, quarters[-1].end
    in_trend = or_(Notice.opened_on.between(first, last), Notice.closed_on.between(first, last))
    flags = (
        select(
            Notice.stage,
            Notice.raising_agency_id,
            Notice.outcome_code,
            Notice.debrief_held,
            Notice.learning_flagged,
            case((opened, 1), else_=0).label("o"),
            case((closed, 1), else_=0).label("c"),
            case((open_at_end, 1), else_=0).label("e"),
            LearningItem.status.label("learning"),
            _quarter_index(Notice.opened_on, quarters).label("oq"),
            _quarter_index(Notice.closed_on, quarters).label("cq"),
        )
        .outerjoin(LearningItem, LearningItem.notice_id == Notice.id)
        .where(scope, or_(opened, closed, open_at_end, in_trend))
        .subquery()
    )
    keys = [flags.c.stage, flags.c.raising_agency_id, flags.c.outcome_code, flags.c.debrief_held]
    keys += [flags.c.learning_flagged, flags.c.o, flags.c.c, flags.c.e, flags.c.learning]
    # The trend as sixteen filtered counts per group rather than two more grouping columns: the groups stay as
    # few as the sections need.
    per_quarter = [func.count().filter(flags.c.oq == i) for i in range(len(quarters))]
    per_quarter += [func.count().filter(flags.c.cq == i) for i in range(len(quarters))]
    tally = _Tally(trend_opened=[0] * len(quarters), trend_closed=[0] * len(quarters))
    for row in session.execute(select(*keys, func.count(), *per_quarter).group_by(*keys)):
        stage, raiser, outcome, debrief, flagged, o, c, e, learning, n, *trend = tuple(row)
        for i in range(len(quarters)):
            tally.trend_opened[i] += int(trend[i] or 0)
            tally.trend_closed[i] += int(trend[len(quarters) + i] or 0)
        if o:
            tally.opened += n
            tally.stages[stage] += n
            tally.raised_by[raiser] += n
        if c:
            tally.closed += n
            tally.outcomes[outcome] += n
            tally.debriefs[debrief] += n
            tally.flagged += n if flagged else 0
            if learning is not None:
                tally.learning[learning] += n
        if e:
            tally.open_at_end += n
    # One scan of the stages of notices raised in the period (chasers, skips) or ending in it (timeliness). The
    # stages ending in it group by the working days each took (kept when it ended): few distinct values. Whether
    # each had a limit, and kept to it, ride along as grouping columns.
    limit = func.coalesce(NoticeStage.agreed_due_on, NoticeStage.due_on)
    ended_in = NoticeStage.ended_on.between(period.start, period.end)
    columns = (
        select(
            NoticeStage.stage,
            case((ended_in, 1), else_=0).label("ended"),
            case((ended_in, NoticeStage.working_days)).label("days"),
            case((and_(ended_in, limit.is_not(None)), 1), else_=0).label("limited"),
            case((and_(ended_in, NoticeStage.ended_on <= limit), 1), else_=0).label("kept"),
            case((opened, NoticeStage.chase_count), else_=0).label("chased"),
            case((and_(opened, NoticeStage.skipped_from.is_not(None)), 1), else_=0).label("skipped"),
        )
        .join(Notice, Notice.id == NoticeStage.notice_id)
        .where(scope, or_(opened, ended_in))
        .subquery()
    )
    keys = [columns.c.stage, columns.c.ended, columns.c.days, columns.c.limited, columns.c.kept]
    for row in session.execute(
        select(*keys, func.sum(columns.c.chased), func.sum(columns.c.skipped), func.count()).group_by(*keys)
    ):
        stage, ended, days, limited, kept, chased, skipped, n = tuple(row)
        tally.chases[stage] += int(chased or 0)
        # A notice skips on entering a stage: one stage row per notice that skipped.
        tally.skipped += int(skipped or 0)
        if ended:
            tally.ended.append((stage, int(days), bool(limited), bool(kept), int(n)))
    return tally


def build_report(
    session: Session, services: PortalServices, partnership: Partnership, period: Period, *, title: str = ""
) -> Report:
    """Every figure of one partnership's report for ``period`` (reads only; the caller audits)."""
    scope = _scope(partnership.id, services)
    procedure = current_procedure(partnership.slug)
    if session.get_bind().dialect.name == "postgresql":
        # A year's distinct pairs hash in memory rather than spill to disk; for this transaction only.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    tally = _tally(session, scope, period)
    figures = [
        *_volume(session, scope, period, tally),
        _matrix(session, scope, period, partnership, tally),
        *_stages(procedure, tally),
        *_categories(session, scope, period, partnership.slug, opened=tally.opened),
        _timeliness(procedure, tally),
        *_outcomes(tally),
        _learning(tally),
    ]
    opened = figures[0].rows[0][1][0]
    return Report(
        partnership=partnership.name,
        period=period,
        generated_at=utcnow(),
        figures=tuple(figures),
        notices_counted=int(opened or 0),
        title=title or "Escalation report",
    )


def _trend(session: Session, scope: ColumnElement[bool], last_day: date) -> Figure:
    """Raised and closed per quarter over the eight quarters ending with the one ``last_day`` falls in (the
    dashboard's; a report counts its trend in its one scan of the notices)."""
    quarters = _trend_quarters(last_day)
    first, last = quarters[0].start, quarters[-1].end
    counts = session.execute(
        select(
            *(func.count().filter(Notice.opened_on.between(q.start, q.end)) for q in quarters),
            *(func.count().filter(Notice.closed_on.between(q.start, q.end)) for q in quarters),
        ).where(scope, or_(Notice.opened_on.between(first, last), Notice.closed_on.between(first, last)))
    ).one()
    return _trend_figure(
        quarters, [int(n or 0) for n in counts[: len(quarters)]], [int(n or 0) for n in counts[len(quarters) :]]
    )


def _trend_figure(quarters: list[Period], raised: list[int], closed: list[int]) -> Figure:
    rows: list[tuple[str, tuple[Value, ...]]] = [
        (q.label.split(":")[0], (r, c)) for q, r, c in zip(quarters, raised, closed, strict=True)
    ]
    peak = max(rows, key=lambda r: r[1][0] or 0)
    return Figure(
        "trend",
        "Trend over the last eight quarters",
        f"Notices raised and closed per quarter over the eight quarters to {long_date(quarters[-1].end)}; the most "
        f"raised in one quarter was {peak[1][0]}, in {peak[0]}.",
        ("Raised", "Closed"),
        tuple(rows),
        count_columns=frozenset({0, 1}),
    )


def _volume(session: Session, scope: ColumnElement[bool], period: Period, tally: _Tally) -> list[Figure]:
    opened, closed, still_open = tally.opened, tally.closed, tally.open_at_end
    volume = Figure(
        "volume",
        "Volume",
        f"{opened} notices were raised and {closed} closed in the period; {still_open} were open at its end.",
        ("Notices",),
        (("Raised in the period", (opened,)), ("Closed in the period", (closed,)), ("Open at the end", (still_open,))),
        chart=False,
    )
    trend = _trend_figure(_trend_quarters(period.end), tally.trend_opened, tally.trend_closed)
    return [volume, trend]


def _matrix(
    session: Session, scope: ColumnElement[bool], period: Period, partnership: Partnership, tally: _Tally
) -> Figure:
    # Each notice once per receiving agency (it may have been sent to one at several stages): distinct pairs,
    # hashed, then counted.
    sent = (
        select(Notice.id, Notice.raising_agency_id, NoticeRecipient.agency_id)
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .where(scope, _opened_in(period))
        .distinct()
        .subquery()
    )
    pairs = session.execute(
        select(sent.c.raising_agency_id, sent.c.agency_id, func.count()).group_by(
            sent.c.raising_agency_id, sent.c.agency_id
        )
    ).all()
    raised = {agency: n for agency, n in tally.raised_by.items() if n}
    agencies = session.execute(
        select(Agency.id, Agency.name).where(Agency.partnership_id == partnership.id).order_by(Agency.position)
    ).all()
    names = {agency_id: name for agency_id, name in agencies}
    receivers = sorted({to for _, to, _ in pairs}, key=lambda a: [i for i, _ in agencies].index(a) if a in names else 0)
    cells = {(frm, to): n for frm, to, n in pairs}
    rows = []
    for agency_id, name in agencies:
        if agency_id in raised:
            rows.append((name, (raised[agency_id], *(cells.get((agency_id, to), 0) for to in receivers))))
    if None in raised:
        rows.append(("No agency recorded", (raised[None], *(cells.get((None, to), 0) for to in receivers))))
    none_raised = [name for agency_id, name in agencies if agency_id not in raised]
    summary = f"{len(rows)} agencies raised notices in the period. " + (
        f"Agencies that raised none: {', '.join(none_raised)}." if none_raised else "Every agency raised one."
    )
    return Figure(
        "agencies",
        "Raising agency by receiving agency",
        summary,
        ("Raised", *(f"To {names.get(to, 'unknown')}" for to in receivers)),
        tuple(rows),
        count_columns=frozenset(range(len(receivers) + 1)),
    )


def _stages(procedure: Procedure, tally: _Tally) -> list[Figure]:
    counts, skipped = dict(tally.stages), tally.skipped
    rows = tuple((stage.name, (counts.pop(stage.code, 0),)) for stage in procedure.stages)
    if counts:  # a stage of a superseded procedure version
        rows += (("A stage of an earlier procedure version", (sum(counts.values()),)),)
    total = sum(r[1][0] or 0 for r in rows)
    highest = Figure(
        "stages",
        "Highest stage reached",
        f"Of {total} notices raised in the period, {skipped} went straight to a later stage, skipping one.",
        ("Notices",),
        rows,
    )
    straight = Figure(
        "straight",
        "Went straight to a later stage",
        f"{skipped} of {total} notices skipped a stage (Trafford: straight to stage 3-4).",
        ("Notices",),
        (("Skipped a stage", (int(skipped),)), ("Followed every stage", (total - int(skipped),))),
        chart=False,
    )
    return [highest, straight]


def _categories(
    session: Session, scope: ColumnElement[bool], period: Period, slug: str, *, opened: int
) -> list[Figure]:
    lists: Sequence[CodeList] = spec_for(slug).notice.code_lists
    if not lists:
        return []
    total = opened
    counted = session.execute(
        select(NoticeCategory.list_field, NoticeCategory.code, func.count())
        .join(Notice, Notice.id == NoticeCategory.notice_id)
        .where(scope, _opened_in(period))
        .group_by(NoticeCategory.list_field, NoticeCategory.code)
    ).all()
    by_list: dict[str, dict[str, int]] = defaultdict(dict)
    for list_field, code, n in counted:
        by_list[list_field][code] = n
    by_theme = {field: sum(codes.values()) for field, codes in by_list.items() if field.startswith(THEME_PREFIX)}
    figures = []
    for code_list in lists:
        got = by_list.get(code_list.field, {})
        rows = [(label, (got.get(code, 0),)) for code, label in code_list.codes]
        rows.append((NOT_RECORDED_LABEL, (total - sum(got.values()),)))
        most = max(r[1][0] for r in rows[:-1])
        top = [label for label, (n,) in rows[:-1] if n == most]
        figures.append(
            Figure(
                f"category-{code_list.field}",
                f"By {code_list.title.lower()}",
                (
                    f"The most common was \u201c{top[0]}\u201d ({most} of {total})."
                    if len(top) == 1
                    else f"{len(top)} were equally the most common ({most} of {total} each)."
                )
                if most
                else f"No notice in the period recorded a {code_list.title.lower()}.",
                ("Notices",),
                tuple(rows),
            )
        )
    # Each notice once per theme: its theme rows (portal.domain.categories.THEME_PREFIX) came in the same query.
    themes = {field.removeprefix(THEME_PREFIX): n for field, n in by_theme.items()}
    figures.append(
        Figure(
            "category-common",
            "By common theme (for regional comparison)",
            "Each notice counted once under each common theme its codes map to (docs/categories.md).",
            ("Notices",),
            tuple((label, (themes.get(code, 0),)) for code, label in COMMON_LABELS.items()),
        )
    )
    return figures


def _timeliness(procedure: Procedure, tally: _Tally) -> Figure:
    within: Counter[str] = Counter()
    on_time: Counter[str] = Counter()
    days: dict[str, Counter[int]] = defaultdict(Counter)
    for code, taken, limited, in_time, n in tally.ended:
        within[code] += n if limited else 0
        on_time[code] += n if in_time else 0
        days[code][taken] += n
    chases = tally.chases
    rows: list[tuple[str, tuple[Value, ...]]] = []
    for stage in procedure.stages:
        dist = days.get(stage.code, Counter())
        ended = sum(dist.values())
        rows.append(
            (
                stage.name,
                (
                    ended,
                    _nearest_rank(dist, 0.5),
                    _nearest_rank(dist, 0.9),
                    _pct(on_time.get(stage.code, 0), within.get(stage.code, 0)),
                    int(chases.get(stage.code, 0)),
                ),
            )
        )
    all_ended = sum(int(r[1][0] or 0) for r in rows)
    all_within = sum(within.values())
    share = _pct(sum(on_time.values()), all_within)
    return Figure(
        "timeliness",
        "Timeliness: working days per stage",
        f"{all_ended} stages ended in the period"
        + (f"; {share}% of those with a time limit ended within it." if share is not None else ".")
        + f" {sum(int(v) for v in chases.values())} chasers were sent for the notices raised in it.",
        ("Stages ended", "Median working days", "90th percentile working days", "% within the limit", "Chasers"),
        tuple(rows),
        chart=False,
        count_columns=frozenset({0, 4}),
    )


def _outcomes(tally: _Tally) -> list[Figure]:
    counts, debriefs = tally.outcomes, tally.debriefs
    closed = sum(counts.values())
    rows = [(label, (counts.get(code, 0),)) for code, label in OUTCOMES]
    rows.append((NOT_RECORDED_LABEL, (counts.get(None, 0),)))
    debrief = (debriefs[True], debriefs[False], debriefs[None])
    held, not_held, unknown = (int(v or 0) for v in debrief)
    return [
        Figure(
            "outcomes",
            "Outcomes of the notices closed",
            f"{closed} notices closed in the period; {counts.get('resolved-by-agreement', 0)} were resolved by "
            "agreement.",
            ("Notices",),
            tuple(rows),
        ),
        Figure(
            "debrief",
            "Debrief taken place",
            f"A debrief took place after {held} of the {closed} notices closed in the period.",
            ("Notices",),
            (("Yes", (held,)), ("No", (not_held,)), (NOT_RECORDED_LABEL, (unknown,))),
            chart=False,
        ),
    ]


LEARNING_STATUSES: tuple[tuple[str, str], ...] = (
    ("new", "New: not yet assigned"),
    ("assigned", "Assigned to a group"),
    ("in-progress", "Action in progress"),
    ("done", "Action complete"),
    ("no-action", "No action needed"),
)


def _learning(tally: _Tally) -> Figure:
    statuses = tally.learning
    flagged = tally.flagged
    rows = [(label, (statuses.get(code, 0),)) for code, label in LEARNING_STATUSES]
    return Figure(
        "learning",
        "General issues flagged for learning",
        f"{flagged} of the notices closed in the period flagged general issues for the partnership; their "
        "learning log items now stand as shown (counts only).",
        ("Items",),
        (("Flagged at closure", (int(flagged),)), *rows),
        chart=False,
    )


# -- what leaves the page ------------------------------------------------------------------------------


def to_csv(report: Report) -> bytes:
    """Every figure as rows of (section, row, column, value), marked; counts 1-4 shown as "fewer than 5"."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Section", "Row", "Measure", "Value"])
    for figure in report.figures:
        for label, values in figure.rows:
            for index, (column, value) in enumerate(zip(figure.columns, values, strict=True)):
                writer.writerow(
                    [
                        _cell(figure.title),
                        _cell(label),
                        _cell(column),
                        shown(value, count=index in figure.count_columns, shared=True),
                    ]
                )
    writer.writerow([f"{MARKING}: {report.partnership}, {report.period.label}. Aggregates only.", "", "", ""])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _cell(text: str) -> str:
    # Agency names come from the directory: neutralise a formula start as the register export does.
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def file_stem(partnership: Partnership, period: Period) -> str:
    return f"{partnership.code}-report-{period.start.isoformat()}-to-{period.end.isoformat()}-{MARKING}"


def audit_report(
    session: Session,
    services: PortalServices,
    user: User,
    report: Report,
    action: str,
    *,
    remote_addr: str = "",
) -> None:
    """Record who saw or took which report, with the period and how many notices it counted."""
    audit.record(
        session,
        services.keyring.audit_key,
        action=action,
        outcome="ok",
        actor_id=user.id,
        object_type="report",
        object_id=f"{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d} n={report.notices_counted}"[:64],
        remote_addr=remote_addr,
    )


def report_for(
    session: Session,
    services: PortalServices,
    user: User,
    period: Period,
    *,
    title: str = "",
    action: str = "report.view",
    remote_addr: str = "",
) -> Report:
    """Build the user's partnership report for ``period`` and audit the view or download with its count."""
    report = build_report(session, services, user.partnership, period, title=title)
    audit_report(session, services, user, report, action, remote_addr=remote_addr)
    session.commit()
    return report


def report_csv(
    session: Session, services: PortalServices, user: User, period: Period, *, title: str = "", remote_addr: str = ""
) -> tuple[str, bytes]:
    """(file name, CSV of every figure), audited; the marking is in the file name and the last row."""
    report = report_for(session, services, user, period, title=title, action="report.csv", remote_addr=remote_addr)
    return f"{file_stem(user.partnership, period)}.csv", to_csv(report)


def report_pdf(
    session: Session, services: PortalServices, user: User, period: Period, *, title: str = "", remote_addr: str = ""
) -> tuple[str, bytes]:
    """(file name, signed PDF marked OFFICIAL-SENSITIVE), audited."""
    report = report_for(session, services, user, period, title=title, action="report.pdf", remote_addr=remote_addr)
    return f"{file_stem(user.partnership, period)}.pdf", services.signer.sign(to_pdf(report), reason=report.title)


def chart_values(figure: Figure, *, shared: bool) -> list[tuple[str, float]]:
    """The first column as bars; outside the unit a small count is drawn as nothing (its table says why)."""
    bars = []
    for label, values in figure.rows:
        value = values[0] or 0
        bars.append((label, 0.0 if shared and 0 < value < SMALL else float(value)))
    return bars


def to_pdf(report: Report) -> bytes:
    """The unsigned PDF: every figure with its summary, its chart and its table; small counts withheld."""
    sections = [
        ReportSection(
            figure.title,
            figure.summary,
            figure.columns,
            [
                (label, [shown(v, count=i in figure.count_columns, shared=True) for i, v in enumerate(values)])
                for label, values in figure.rows
            ],
            chart_values(figure, shared=True) if figure.chart and figure.rows else None,
        )
        for figure in report.figures
    ]
    lines = [
        report.partnership,
        report.period.label,
        f"Aggregates only: no child identifier, no narrative. Counts from 1 to {SMALL - 1} are shown as "
        f"\u201c{FEWER_THAN}\u201d and drawn as empty bars (docs/reports.md#small-counts).",
    ]
    return render_report(report.title, lines, sections, footer=f"{report.title}: {report.period.label.split(':')[0]}")


@dataclass(frozen=True)
class Dashboard:
    """The business manager's home: where the partnership's notices stand today."""

    today: date
    quarter: Period
    open: int
    overdue: int
    due_this_week: int
    opened_this_quarter: int
    closed_this_quarter: int
    trend: Figure


def dashboard(session: Session, services: PortalServices, user: User, *, remote_addr: str = "") -> Dashboard:
    """Today's counts for the user's partnership and the eight-quarter trend (counts only; audited)."""
    today = services.today()
    scope = _scope(user.partnership_id, services)
    # "This week" runs to the end of Sunday, as on the list of notices (portal.services.casework).
    week_end = today + timedelta(days=6 - today.weekday())
    this_quarter = quarter(*quarter_of(today))
    open_stage = and_(Notice.status == NoticeStatus.OPEN, NoticeStage.ended_at.is_(None))
    due = func.coalesce(NoticeStage.agreed_due_on, NoticeStage.due_on)
    overdue, due_soon = session.execute(
        select(
            func.count(distinct(Notice.id)).filter(due < today),
            func.count(distinct(Notice.id)).filter(due.between(today, week_end)),
        )
        .join(NoticeStage, NoticeStage.notice_id == Notice.id)
        .where(scope, open_stage)
    ).one()
    still_open, opened, closed = session.execute(
        select(
            func.count().filter(Notice.status == NoticeStatus.OPEN),
            func.count().filter(Notice.opened_on.between(this_quarter.start, today)),
            func.count().filter(Notice.closed_on.between(this_quarter.start, today)),
        ).where(scope)
    ).one()
    result = Dashboard(
        today=today,
        quarter=this_quarter,
        open=int(still_open or 0),
        overdue=int(overdue or 0),
        due_this_week=int(due_soon or 0),
        opened_this_quarter=int(opened or 0),
        closed_this_quarter=int(closed or 0),
        trend=_trend(session, scope, today),
    )
    audit.record(
        session,
        services.keyring.audit_key,
        action="report.dashboard",
        outcome="ok",
        actor_id=user.id,
        object_type="report",
        object_id=f"open={result.open} overdue={result.overdue}",
        remote_addr=remote_addr,
    )
    session.commit()
    return result
