"""The schema comes only from migrations, and the migrations match the models."""

from __future__ import annotations

import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.domain.models import Base
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
