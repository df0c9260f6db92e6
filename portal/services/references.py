"""Notice references: partnership code, year and a counter, e.g. ROC-2026-0001."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.domain.models import Partnership, ReferenceCounter


def next_reference(session: Session, partnership: Partnership, year: int) -> str:
    """Allocate the next reference in the caller's transaction (the counter row lock serialises callers)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(ReferenceCounter).values(partnership_id=partnership.id, year=year, last_value=0).on_conflict_do_nothing()
    )
    value = session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.partnership_id == partnership.id, ReferenceCounter.year == year)
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
    ).scalar_one()
    return f"{partnership.code}-{year}-{value:04d}"
