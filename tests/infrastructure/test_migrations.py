"""The schema comes only from migrations, and the migrations match the models."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.domain.models import Base
from portal.domain.working_days import ENGLAND_AND_WALES_CALENDAR
from portal.infrastructure.db import make_engine
from portal.infrastructure.migrate import MIGRATIONS_DIR, downgrade, upgrade

# The newest migration: the one every upgrade must end at.
HEAD = max(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))[:4]


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_migration_files_are_numbered_in_sequence() -> None:
    names = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert names and all(re.fullmatch(r"\d{4}_[a-z0-9_]+\.py", n) for n in names)
    numbers = [int(n[:4]) for n in names]
    assert numbers == list(range(1, len(numbers) + 1))


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.sqlite'}"
    upgrade(url)
    downgrade(url, "base")
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select version_num from alembic_version").scalar() == HEAD
    engine.dispose()


def test_0013_keeps_the_working_days_of_the_stages_already_ended(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'backfill.sqlite'}"
    upgrade(url, "0012")
    engine = make_engine(url)
    with engine.begin() as conn:
        # Foreign keys off for this fixture: only the stage rows matter to the backfill.
        conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        for stage_id, started, ended in ((1, "2025-12-19", "2026-01-02"), (2, "2026-01-05", None)):
            conn.exec_driver_sql(
                "INSERT INTO notice_stage (id, notice_id, stage, position, entered_at, started_on, ended_on,"
                " chase_count) VALUES (?, 'n', ?, 0, '2026-01-05 12:00:00', ?, ?, 0)",
                (stage_id, f"stage-{stage_id}", started, ended),
            )
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        kept = dict(conn.exec_driver_sql("SELECT id, working_days FROM notice_stage").all())
    engine.dispose()
    # 19 December 2025 to 2 January 2026: the working days after the start up to the end, without Christmas
    # Day, Boxing Day, New Year's Day and the weekends, as the report counted them; an open stage keeps none.
    assert kept == {1: ENGLAND_AND_WALES_CALENDAR.working_days_between(date(2025, 12, 19), date(2026, 1, 2)), 2: None}
    assert kept[1] == 7  # 22, 23, 24, 29, 30, 31 December and 2 January
