"""The outbox worker: claim due messages one at a time, send them, record the outcome.

Guarantees, on SQLite and PostgreSQL, with any number of workers:

* Claiming is one conditional UPDATE, committed before sending: of several workers racing for a row,
  exactly one sees it change. On PostgreSQL the row is picked with FOR UPDATE SKIP LOCKED, so workers
  take different rows instead of queueing on the same one.
* A claim is a lease (claimed_until). A worker killed mid-send leaves a lease that expires, and then
  another worker takes the message over.
* A message is claimed, sent and recorded one at a time, so the lease only has to outlast one send.
* What cannot be guaranteed without the SMTP server's help: if a worker dies (or the database stays
  down for the whole lease) after the server accepted a message but before "sent" is recorded, the
  message is sent again after the lease. It carries the same Message-ID, so receivers can de-duplicate.

Logs name message ids, counts and error classes only: never addresses, subjects or bodies.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, or_, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from portal.domain.models import OutboxMessage, utcnow
from portal.infrastructure.mail.transport import PermanentDeliveryError, Sender, TransientDeliveryError, Transport

logger = logging.getLogger(__name__)

# Retry delays are scaled by a factor in [1 - JITTER, 1], so messages deferred together by an outage
# do not all come due in the same instant when it ends; scaling down keeps every delay within the maximum.
JITTER = 0.1
MAX_LAST_ERROR = 300


@dataclass
class DeliveryReport:
    """What one deliver_due call did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.failed


def backoff_seconds(attempts: int, base: float, maximum: float, *, jitter: float | None = None) -> float:
    """Return the delay after the given number of failed attempts: base doubling up to maximum, less jitter.

    jitter is a fraction in [0, 1) (random when None); the result lies in [(1 - JITTER) * d, d] where
    d = min(maximum, base * 2 ** (attempts - 1)).
    """
    exponent = min(max(attempts - 1, 0), 62)  # a large exponent would overflow the float
    nominal = min(maximum, base * 2.0**exponent)
    if jitter is None:
        jitter = secrets.randbelow(1_000_000) / 1_000_000
    return nominal * (1 - JITTER * jitter)


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def _claim_next(
    session_factory: Callable[[], Session], *, worker_id: str, now: datetime, lease_seconds: float
) -> OutboxMessage | None:
    """Claim the next due message for this worker and commit the claim; return it, or None if none is due."""
    candidate = (
        select(OutboxMessage.id)
        .where(*_due(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.created_at, OutboxMessage.id)
        .limit(1)
        # PostgreSQL: skip rows another worker is claiming right now. SQLite ignores this and needs
        # nothing of the kind: it runs one write transaction at a time.
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    # The due conditions are repeated on the row itself: whichever way the candidate was chosen, the
    # UPDATE only changes a row that is still unclaimed when it runs, so two workers cannot both win.
    claim = (
        update(OutboxMessage)
        .where(OutboxMessage.id == candidate, *_due(now))
        .values(claimed_by=worker_id, claimed_until=now + timedelta(seconds=lease_seconds))
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    with session_factory() as session:
        claimed = session.execute(claim).scalars().all()
        if len(claimed) != 1:  # the equivalent of rowcount == 1, which SQLite does not report with RETURNING
            session.rollback()
            return None
        message = session.get(OutboxMessage, claimed[0])
        assert message is not None
        # Detached before commit, so its attributes stay loaded whatever the factory's expire_on_commit.
        session.expunge(message)
        session.commit()
    return message


def _write(session_factory: Callable[[], Session], statement: Update, *, message_id: str, deadline: float) -> int:
    """Execute an outcome UPDATE in its own transaction; while the database is unreachable, retry until deadline.

    Retrying here (rather than leaving it to run_worker) matters for "sent": once the SMTP server has the
    message, failing to record it would have it sent again when the lease expires.
    """
    delay = 0.2
    while True:
        try:
            with session_factory() as session:
                result = session.execute(statement)
                session.commit()
                return int(getattr(result, "rowcount", 0))
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + delay > deadline:
                raise
            logger.warning(
                "mail %s: recording the outcome failed (%s); retrying in %.1f s", message_id, _db_error_name(exc), delay
            )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _db_error_name(exc: DBAPIError) -> str:
    # str(exc) carries the SQL and its parameters: name the classes only.
    return f"{type(exc).__name__}/{type(exc.orig).__name__}"


def _transport_name(transport: Any) -> str:
    return str(getattr(transport, "name", type(transport).__name__.lower()))[:20]


def deliver_due(
    session_factory: Callable[[], Session],
    transport: Transport,
    *,
    worker_id: str,
    now: datetime | None = None,
    batch_size: int = 20,
    retry_base_seconds: float = 5,
    retry_max_seconds: float = 900,
    lease_seconds: int = 120,
    max_attempts: int = 200,
) -> DeliveryReport:
    """Deliver up to batch_size due messages and report what happened.

    now fixes the clock for the whole call (tests); otherwise each claim reads the current time.
    lease_seconds must comfortably exceed one send (for SMTP, a few times its timeout).
    Database errors propagate to the caller (run_worker logs them and carries on).
    """
    report = DeliveryReport()
    name = _transport_name(transport)
    batch: Callable[[], AbstractContextManager[Sender]] = getattr(transport, "batch", lambda: nullcontext(transport))
    with batch() as sender:
        for _ in range(batch_size):
            current = now if now is not None else utcnow()
            message = _claim_next(session_factory, worker_id=worker_id, now=current, lease_seconds=lease_seconds)
            if message is None:
                break
            _deliver_one(
                session_factory,
                sender,
                message,
                report,
                worker_id=worker_id,
                transport_name=name,
                now=now,
                retry_base_seconds=retry_base_seconds,
                retry_max_seconds=retry_max_seconds,
                lease_seconds=lease_seconds,
                max_attempts=max_attempts,
            )
    if report.attempted:
        logger.info(
            "mail worker %s: sent %d, retrying %d, failed %d", worker_id, report.sent, report.retried, report.failed
        )
    return report


def _deliver_one(
    session_factory: Callable[[], Session],
    sender: Sender,
    message: OutboxMessage,
    report: DeliveryReport,
    *,
    worker_id: str,
    transport_name: str,
    now: datetime | None,
    retry_base_seconds: float,
    retry_max_seconds: float,
    lease_seconds: float,
    max_attempts: int,
) -> None:
    """Send one claimed message and record the outcome."""
    deadline = time.monotonic() + lease_seconds
    error: Exception | None = None
    try:
        sender.send(message)
    except (TransientDeliveryError, PermanentDeliveryError) as exc:
        error = exc
    except Exception as exc:
        # A bug or an unforeseen library error: keep the message and retry it rather than lose it.
        # The exception text may quote the message, so only its class and stack are logged.
        logger.error(
            "mail %s: unexpected %s while sending\n%s",
            message.id,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        error = TransientDeliveryError(type(exc).__name__)

    finished = now if now is not None else utcnow()
    row = OutboxMessage.id == message.id
    if error is None:
        # Conditional on status only, not on the claim: even after our lease ran out, recording "sent"
        # stops anyone else claiming the message again.
        statement = (
            update(OutboxMessage)
            .where(row, OutboxMessage.status == "pending")
            .values(
                status="sent",
                sent_at=finished,
                transport=transport_name,
                claimed_by=None,
                claimed_until=None,
                attempts=OutboxMessage.attempts + 1,
                last_error=None,
            )
        )
        outcome = "sent"
    else:
        attempts = message.attempts + 1
        give_up = isinstance(error, PermanentDeliveryError) or attempts >= max_attempts
        delay = backoff_seconds(attempts, retry_base_seconds, retry_max_seconds)
        statement = (
            update(OutboxMessage)
            # Only while we still hold the claim: after our lease, another worker's outcome wins.
            .where(row, OutboxMessage.status == "pending", OutboxMessage.claimed_by == worker_id)
            .values(
                status="failed" if give_up else "pending",
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=finished + timedelta(seconds=delay),
                claimed_by=None,
                claimed_until=None,
                last_error=str(error)[:MAX_LAST_ERROR],
            )
        )
        outcome = "failed" if give_up else "retried"
    if (
        _write(
            session_factory,
            statement.execution_options(synchronize_session=False),
            message_id=message.id,
            deadline=deadline,
        )
        != 1
    ):
        logger.warning("mail %s: outcome %s not recorded; another worker took the message over", message.id, outcome)
    if outcome == "sent":
        report.sent += 1
        logger.info("mail %s sent (attempt %d)", message.id, message.attempts + 1)
    elif outcome == "retried":
        report.retried += 1
        logger.warning(
            "mail %s deferred after attempt %d (%s); next attempt in %.1f s",
            message.id,
            message.attempts + 1,
            error,
            delay,
        )
    else:
        report.failed += 1
        logger.error("mail %s failed after attempt %d (%s); not retrying", message.id, message.attempts + 1, error)


def run_worker(
    session_factory: Callable[[], Session],
    transport: Transport,
    *,
    stop: threading.Event,
    poll_seconds: float,
    worker_id: str,
    periodic: Callable[[], object] | None = None,
    periodic_seconds: float = 300.0,
    each_turn: Callable[[], int] | None = None,
    each_turn_batch: int = 0,
    **kwargs: Any,
) -> None:
    """Deliver due messages until stop is set; survive database and SMTP outages.

    ``periodic`` (the procedure clocks' chaser) runs at most every ``periodic_seconds``; what it queues is
    delivered by the same loop. ``each_turn`` (the PDF versions still to draw) runs on every turn and returns how
    much it did; a full batch (``each_turn_batch``) means more may wait, so the loop goes round at once. kwargs go
    to deliver_due (batch_size, retry_base_seconds, retry_max_seconds, lease_seconds, max_attempts).
    """
    batch_size = int(kwargs.get("batch_size", 20))
    failures = 0
    next_periodic = 0.0
    logger.info("mail worker %s started", worker_id)
    while not stop.is_set():
        try:
            if periodic is not None and time.monotonic() >= next_periodic:
                periodic()
                next_periodic = time.monotonic() + periodic_seconds
            done = each_turn() if each_turn is not None else 0
            report = deliver_due(session_factory, transport, worker_id=worker_id, **kwargs)
        except DBAPIError as exc:
            # The database is restarting or unreachable: pooled connections are replaced on the next
            # checkout (portal.infrastructure.db.make_engine), so waiting and trying again is all there is to do.
            failures += 1
            logger.warning("mail worker %s: database unavailable (%s); retrying", worker_id, _db_error_name(exc))
        except Exception as exc:
            # Never let one bad turn stop the delivery of notices; the text may quote a message, so only
            # the class and stack are logged.
            failures += 1
            logger.error(
                "mail worker %s: unexpected %s\n%s",
                worker_id,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
        else:
            failures = 0
            if report.attempted >= batch_size or (each_turn_batch and done >= each_turn_batch):
                continue  # more may be due: carry on at once
        # Back off while something is broken, so a long outage does not fill the log.
        stop.wait(min(poll_seconds * 2 ** min(failures, 10), max(poll_seconds, 60.0)))
    logger.info("mail worker %s stopped", worker_id)
