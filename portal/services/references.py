"""Notice references: partnership code, year and a counter, e.g. ROC-2026-0001.

A submit takes its reference in a short transaction of its own (``claim_reference``), committed before the PDF
that prints it is rendered and signed, so the partnership's counter row (PostgreSQL) or the database's write lock
(SQLite) is held for a few statements, not for the whole submit: two workers submit at once (issue 11).

The numbers can therefore have gaps, and that is accepted. The reference is kept on the draft, so a second click,
a retry after a fault, or many submits of one draft at once all use the one number; a gap is left only when a
draft that was given a reference never becomes a notice (the writer deletes it after a submit failed, or it is
submitted in a later year and takes that year's next number). A reference is a name for a notice, not a count
of them: reports count notices, and nothing reads meaning into a missing number. An unbroken sequence would need
the counter held until the notice commits, which is what made submits queue behind each other's render and sign.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.domain.models import NoticeDraft, Partnership, ReferenceCounter
from portal.infrastructure.db import begin_write


def next_reference(session: Session, partnership: Partnership, year: int) -> str:
    """Allocate the next reference in the caller's transaction (the counter row lock serialises callers until
    the caller commits: commit at once)."""
    bump = (
        update(ReferenceCounter)
        .where(ReferenceCounter.partnership_id == partnership.id, ReferenceCounter.year == year)
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
    )
    value = session.execute(bump).scalar_one_or_none()
    if value is None:
        # The year's first notice: make its counter (of two at once, one makes it and both then count on it).
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(ReferenceCounter)
            .values(partnership_id=partnership.id, year=year, last_value=0)
            .on_conflict_do_nothing()
        )
        value = session.execute(bump).scalar_one()
    return f"{partnership.code}-{year}-{value:04d}"


def claim_reference(session: Session, draft_id: str, partnership: Partnership, year: int) -> str | None:
    """The reference the draft's notice will have: the one the draft was given before, or the next one, kept on
    the draft. Commits at once (the caller's session must hold nothing it has not committed). None when the
    draft is no longer there (it was submitted or deleted meanwhile)."""
    begin_write(session)
    # The draft's row lock makes two submits of one draft take one number between them.
    given = session.execute(
        select(NoticeDraft.reference).where(NoticeDraft.id == draft_id).with_for_update()
    ).one_or_none()
    if given is None:
        session.rollback()
        return None
    reference: str | None = given.reference
    if reference is None or not reference.startswith(f"{partnership.code}-{year}-"):
        reference = next_reference(session, partnership, year)
        session.execute(update(NoticeDraft).where(NoticeDraft.id == draft_id).values(reference=reference))
    session.commit()
    return reference
