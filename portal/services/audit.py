"""The audit trail: an append-only, hash-chained log of who did what to which record.

Each entry's hash is HMAC-SHA256 (key held outside the database) over a canonical encoding of the entry
and the previous entry's hash, so an edit, deletion, reordering or truncation breaks the chain from that
point. Entries hold identifiers and actions only: never a child's details or any narrative.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from portal.models import AuditEvent, utcnow

GENESIS = "0" * 64


def _entry_hash(key: bytes, event: AuditEvent) -> str:
    body = json.dumps(
        [
            event.seq,
            event.at.isoformat(timespec="microseconds"),
            event.actor_id,
            event.action,
            event.object_type,
            event.object_id,
            event.outcome,
            event.remote_addr,
            event.prev_hash,
        ],
        separators=(",", ":"),
    )
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def record(
    session: Session,
    key: bytes,
    *,
    action: str,
    outcome: str,
    actor_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
    remote_addr: str = "",
    at: datetime | None = None,
) -> AuditEvent:
    """Append an entry in the caller's transaction (it becomes durable when the caller commits)."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends so two transactions can never both extend the same head (a fork).
        session.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    head = session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one_or_none()
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
        at=at or utcnow(),
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        remote_addr=remote_addr[:64],
        prev_hash=head.hash if head else GENESIS,
        hash="",
    )
    event.hash = _entry_hash(key, event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainCheck:
    """The result of verifying the chain: ok, entries checked, and the first bad sequence number."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    head_hash: str


def verify(session: Session, key: bytes, *, expected_head: str | None = None) -> ChainCheck:
    """Recompute the chain from the start; report the first entry that does not follow from the last."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars():
        if event.seq != expected_seq or event.prev_hash != prev or event.hash != _entry_hash(key, event):
            return ChainCheck(False, checked, event.seq if event.seq == expected_seq else expected_seq, prev)
        prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    if expected_head is not None and expected_head != prev:
        # The chain is internally consistent but ends before the head recorded outside the database.
        return ChainCheck(False, checked, expected_seq, prev)
    return ChainCheck(True, checked, None, prev)
