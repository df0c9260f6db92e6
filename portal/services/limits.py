"""Caps that hold when requests arrive together: count and claim in one locked step.

An attempt at something capped (a sign-in step, an export) first claims a slot: under a lock per key, count
the attempts in the window that failed or are still in flight, and, if under the cap, record this one as in
flight and commit. Only then is the attempt worked on (and the Argon2 hash paid for); its outcome is written
afterwards. Twenty-four guesses sent at once therefore meet an exact cap of ten, where a count taken before any
of them was recorded would let them all through.

The lock is a transaction-scoped advisory lock per key on PostgreSQL; SQLite serialises writers anyway, and the
claim begins its write transaction before it counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from portal.domain.models import AttemptClaim
from portal.infrastructure.db import begin_write

IN_FLIGHT = None
OK = "ok"
FAILED = "failed"


@dataclass(frozen=True)
class Claim:
    """The slots an attempt holds (one per key), to be finished with its outcome."""

    ids: tuple[int, ...]


def claim(
    session: Session,
    scope: str,
    keys: Iterable[str],
    *,
    limit: int,
    window: timedelta,
    now: datetime,
    counted: Sequence[str] = (FAILED,),
) -> Claim | None:
    """Claim a slot under every key, or return None (and claim nothing) if any key is at its cap.

    Attempts in the window whose outcome is in ``counted``, or still in flight, count against the cap.
    Commits: the claim must be visible to the next attempt before this one is worked on.
    """
    wanted = sorted({key for key in keys if key})
    session.commit()  # end whatever the caller read; the claim is its own short transaction
    _lock(session, scope, wanted)
    since = now - window
    for key in wanted:
        used = session.execute(
            select(func.count())
            .select_from(AttemptClaim)
            .where(
                AttemptClaim.scope == scope,
                AttemptClaim.key == key,
                AttemptClaim.at >= since,
                or_(AttemptClaim.outcome.is_(None), AttemptClaim.outcome.in_(list(counted))),
            )
        ).scalar_one()
        if used >= limit:
            session.rollback()
            return None
    rows = [AttemptClaim(scope=scope, key=key, at=now, outcome=IN_FLIGHT) for key in wanted]
    session.add_all(rows)
    session.flush()
    ids = tuple(row.id for row in rows)
    session.commit()
    return Claim(ids)


def finish(session: Session, attempt: Claim, outcome: str) -> None:
    """Record the attempt's outcome ("ok" stops it counting against a failures-only cap). The caller commits."""
    if attempt.ids:
        session.execute(
            update(AttemptClaim)
            .where(AttemptClaim.id.in_(attempt.ids))
            .values(outcome=outcome)
            .execution_options(synchronize_session=False)
        )


def count(
    session: Session, scope: str, key: str, *, window: timedelta, now: datetime, counted: Sequence[str] = (FAILED,)
) -> int:
    """Attempts under ``key`` in the window that count against its cap (failed, or still in flight)."""
    return int(
        session.execute(
            select(func.count())
            .select_from(AttemptClaim)
            .where(
                AttemptClaim.scope == scope,
                AttemptClaim.key == key,
                AttemptClaim.at >= now - window,
                or_(AttemptClaim.outcome.is_(None), AttemptClaim.outcome.in_(list(counted))),
            )
        ).scalar_one()
    )


def _lock(session: Session, scope: str, keys: list[str]) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # In a fixed order, so two attempts locking the same two keys cannot deadlock.
        for key in keys:
            digest = hashlib.sha256(f"{scope}\0{key}".encode()).digest()
            session.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest[:8], "big", signed=True)}
            )
    else:
        begin_write(session)
