"""Time a year's report and the dashboard at 1,000, 10,000 and 100,000 notices on PostgreSQL; print medians.

Run: .venv/bin/python bench/bench_reports.py [postgresql+psycopg://postgres@127.0.0.1:5432] [sizes...]

Builds a scratch database (portal_bench_reports) by the real migrations and fills it by bulk insert with
Trafford notices, every one of them raised in the financial year reported (the worst case: a year holding
all the notices), with stages, recipients, two category codes each, outcomes and learning items. The reference
figures are in docs/reports.md#performance.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import psycopg
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from portal.domain.categories import THEME_PREFIX
from portal.domain.models import (
    Agency,
    DataKey,
    LearningItem,
    Notice,
    NoticeCategory,
    NoticeRecipient,
    NoticeStage,
    Partnership,
    SafetyCheck,
    User,
)
from portal.domain.working_days import ENGLAND_AND_WALES_CALENDAR
from portal.infrastructure import migrate
from portal.infrastructure.db import make_engine
from portal.partnerships.trafford.notice import CONCERN_LIST, LEVEL_OF_NEED_LIST
from portal.services import reports
from portal.services.directory import import_partnerships
from portal.services.runtime import PortalServices

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
# A second bench on the same server (another worktree) can name its own scratch database.
NAME = os.environ.get("PORTAL_BENCH_DATABASE", "portal_bench_reports")
YEAR = reports.financial_year(2025)
OUTCOMES = [code for code, _ in reports.OUTCOMES]
BATCH = 5000


def fresh_database(server: str) -> str:
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {NAME}")
        conn.execute(f"CREATE DATABASE {NAME}")
    url = f"{server}/{NAME}"
    migrate.upgrade(url)
    return url


def fill(session: Session, count: int, rng: random.Random) -> None:
    import_partnerships(session, today=date(2026, 4, 9))
    session.commit()
    partnership = session.execute(select(Partnership).where(Partnership.slug == "trafford")).scalar_one()
    agencies = list(session.execute(select(Agency.id).where(Agency.partnership_id == partnership.id)).scalars())
    key = DataKey(kek_id="bench", wrapped=b"x", purpose="notice")
    session.add(key)
    session.flush()
    user = User(
        email="bench@trafford.test",
        name="Bench",
        role="practitioner",
        partnership_id=partnership.id,
        password_hash="-",  # noqa: S106 - no one signs in to the scratch database
        data_key_id=key.id,
    )
    session.add(user)
    session.flush()
    check = SafetyCheck(user_id=user.id, partnership_id=partnership.id, immediate_risk=False)
    session.add(check)
    session.flush()
    days = (YEAR.end - YEAR.start).days
    levels, concerns = [c for c, _ in LEVEL_OF_NEED_LIST.codes], [c for c, _ in CONCERN_LIST.codes]
    notices: list[dict[str, Any]] = []
    stages: list[dict[str, Any]] = []
    recipients: list[dict[str, Any]] = []
    categories: list[dict[str, Any]] = []
    learning: list[dict[str, Any]] = []

    def flush() -> None:
        for model, rows in (
            (Notice, notices),
            (NoticeStage, stages),
            (NoticeRecipient, recipients),
            (NoticeCategory, categories),
            (LearningItem, learning),
        ):
            if rows:
                session.execute(insert(model), rows)
                rows.clear()

    contact = session.execute(text("SELECT min(id) FROM directory_contact")).scalar_one()
    for number in range(count):
        notice_id = str(uuid.UUID(int=rng.getrandbits(128)))
        opened = YEAR.start + timedelta(days=rng.randrange(days))
        straight = rng.random() < 0.1
        escalated = not straight and rng.random() < 0.3
        closed = rng.random() < 0.8
        stamp = datetime(opened.year, opened.month, opened.day, 12, tzinfo=UTC)
        first_end = ENGLAND_AND_WALES_CALENDAR.add_working_days(opened, rng.randrange(3, 16))
        second_end = ENGLAND_AND_WALES_CALENDAR.add_working_days(first_end, rng.randrange(2, 12))
        ends = [first_end, second_end] if escalated else [first_end]
        closed_on = ends[-1] if closed else None
        flagged = closed and rng.random() < 0.2
        notices.append(
            {
                "id": notice_id,
                "reference": f"TRA-B-{number}",
                "partnership_id": partnership.id,
                "form_code": "trafford-resolution-notice",
                "procedure_version": partnership.procedure_version,
                "stage": "stage-4" if straight or escalated else "stage-3",
                "status": "closed" if closed else "open",
                "raised_by_id": user.id,
                "raising_agency_id": rng.choice(agencies[:4]),
                "data_key_id": key.id,
                "safety_check_id": check.id,
                "date_of_notification": opened,
                "submitted_at": stamp,
                "updated_at": stamp,
                "opened_on": opened,
                "closed_on": closed_on,
                "closed_at": stamp if closed else None,
                "outcome_code": rng.choice(OUTCOMES) if closed else None,
                "debrief_held": (rng.random() < 0.6) if closed else None,
                "learning_flagged": flagged if closed else None,
            }
        )
        codes = ["stage-4"] if straight else (["stage-3", "stage-4"] if escalated else ["stage-3"])
        start = opened
        for position, code in enumerate(codes):
            ended = ends[position] if (position < len(codes) - 1 or closed) else None
            stages.append(
                {
                    "notice_id": notice_id,
                    "stage": code,
                    "position": position,
                    "entered_at": stamp,
                    "started_on": start,
                    "due_on": ENGLAND_AND_WALES_CALENDAR.add_working_days(start, 10),
                    "skipped_from": "stage-1" if straight else None,
                    "ended_on": ended,
                    "working_days": None
                    if ended is None
                    else ENGLAND_AND_WALES_CALENDAR.working_days_between(start, ended),
                    "ended_at": stamp if ended else None,
                    "outcome": None if ended is None else ("resolved" if position == len(codes) - 1 else "escalated"),
                    "chase_count": rng.choice((0, 0, 0, 1, 2)),
                }
            )
            if ended:
                start = ended
        recipients.append(
            {
                "notice_id": notice_id,
                "position": 0,
                "agency_id": agencies[0],
                "contact_id": contact,
                "email": "b@x.test",
                "stage": codes[0],
            }
        )
        level, concern = rng.choice(levels), rng.choice(concerns)
        categories.append(
            {
                "notice_id": notice_id,
                "list_field": "level_of_need",
                "code": level,
                "common_code": LEVEL_OF_NEED_LIST.common_for(level),
            }
        )
        categories.append(
            {
                "notice_id": notice_id,
                "list_field": "concern",
                "code": concern,
                "common_code": CONCERN_LIST.common_for(concern),
            }
        )
        for theme in dict.fromkeys((LEVEL_OF_NEED_LIST.common_for(level), CONCERN_LIST.common_for(concern))):
            categories.append(
                {"notice_id": notice_id, "list_field": THEME_PREFIX + str(theme), "code": theme, "common_code": theme}
            )
        if flagged:
            learning.append(
                {
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "notice_id": notice_id,
                    "partnership_id": partnership.id,
                    "created_at": stamp,
                    "status": "new",
                    "assigned_to": "",
                    "action": "",
                }
            )
        if len(notices) >= BATCH:
            flush()
    flush()
    session.commit()


def backend_cpu_seconds(session: Session) -> float:
    """CPU time the session's PostgreSQL backend has used (from /proc: the server runs on this machine)."""
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_ms(session: Session, fn: Any, runs: int = 5) -> float:
    """Median CPU time of ``fn`` in this process and its database backend: what the wall time would be on an
    idle machine (no parallel query here), whatever else the shared cores are doing."""
    fn()
    times = []
    for _ in range(runs):
        before = time.process_time() + backend_cpu_seconds(session)
        fn()
        times.append((time.process_time() + backend_cpu_seconds(session) - before) * 1000)
    return statistics.median(times)


def median_ms(fn: Any, runs: int = 5) -> float:
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    server = sys.argv[1] if len(sys.argv) > 1 else SERVER
    sizes = [int(s) for s in sys.argv[2:]] or [1_000, 10_000, 100_000]
    # Only what build_report reads from the services: the bait notices to leave out (none here).
    services = cast(PortalServices, SimpleNamespace(honeytokens=frozenset(), today=lambda: date(2026, 4, 9)))
    # The machine is shared: a bare scan of the notice table, timed beside the report, shows how loaded it was.
    print(
        f"{'notices':>8} {'fill s':>7} {'year report ms':>15} {'quarter ms':>11} {'bare scan ms':>13} "
        f"{'year report cpu ms':>19} {'load average':>13}"
    )
    for size in sizes:
        url = fresh_database(server)
        engine = make_engine(url)
        started = time.perf_counter()
        with Session(engine) as session:
            fill(session, size, random.Random(size))
            session.execute(text("ANALYZE"))
            session.commit()
        filled = time.perf_counter() - started
        with Session(engine) as session:
            trafford = session.execute(select(Partnership).where(Partnership.slug == "trafford")).scalar_one()

            def report_for(period: reports.Period, p: Partnership = trafford, s: Session = session) -> reports.Report:
                return reports.build_report(s, services, p, period)

            year = median_ms(lambda: report_for(YEAR))
            quarter = median_ms(lambda: report_for(reports.quarter(2026, 1)))
            scan = median_ms(lambda: session.execute(text("SELECT count(*) FROM notice")).scalar_one())
            assert report_for(YEAR).notices_counted == size
            cpu = cpu_ms(session, lambda: report_for(YEAR))
        engine.dispose()
        load = os.getloadavg()[0]
        print(f"{size:>8} {filled:>7.1f} {year:>15.0f} {quarter:>11.0f} {scan:>13.1f} {cpu:>19.0f} {load:>13.1f}")


if __name__ == "__main__":
    main()
