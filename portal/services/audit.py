"""The audit trail: an append-only, hash-chained log of who did what to which record.

Each entry's hash is HMAC-SHA256 (key held outside the database) over a canonical encoding of the entry
and the previous entry's hash, so an edit, deletion, reordering or truncation breaks the chain from that
point. Entries hold identifiers and actions only: never a child's details or any narrative.

Four layers, each covering what the one before cannot:

1. The database refuses UPDATE and DELETE on audit_event (migration 0002 triggers), so the application,
   or an attacker holding only its connection, can only append.
2. Appends are serialised (an advisory lock on PostgreSQL, the write lock taken *before* the head is read
   on SQLite), and seq is the primary key and prev_hash is unique, so the chain can never fork. The lock is
   taken when the entries are flushed, not when they are recorded, so it is held only from the flush that
   writes them to the commit (issue 11: a read or a submit no longer holds it while it works).
3. ``verify`` recomputes every HMAC and names the first entry that does not follow from the one before:
   an edited column, a missing seq (deletion), or swapped contents. A database administrator who
   disables the triggers cannot forge an entry without the key, which is not in the database.
4. A chain cut short is still internally consistent. ``export_head`` gives the head (seq, hash, time) to
   store *outside* the database (mailed to the business manager, append-only storage); ``verify`` with
   that anchor names the first missing seq. This is the SQL Server Ledger lesson: a chain held only in
   the database it protects can be shortened without trace.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from portal.domain.models import AuditEvent, utcnow

GENESIS = "0" * 64
# Arbitrary but fixed: every process appending to the chain must take the same PostgreSQL advisory lock.
_PG_LOCK_KEY = 727274
_HASH_RE = re.compile(r"[0-9a-f]{64}")
_COLUMNS = (
    AuditEvent.seq,
    AuditEvent.at,
    AuditEvent.actor_id,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.outcome,
    AuditEvent.remote_addr,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


def _digest(
    key: bytes,
    seq: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    outcome: str,
    remote_addr: str,
    prev_hash: str,
) -> str:
    # Canonical JSON of a fixed-order list (never str(dict)): strings are escaped, so no two different
    # entries can encode the same. The time is normalised to UTC, as the database stores it.
    body = json.dumps(
        [
            seq,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor_id,
            action,
            object_type,
            object_id,
            outcome,
            remote_addr,
            prev_hash,
        ],
        separators=(",", ":"),
    )
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def _entry_hash(key: bytes, event: AuditEvent) -> str:
    return _digest(
        key,
        event.seq,
        event.at,
        event.actor_id,
        event.action,
        event.object_type,
        event.object_id,
        event.outcome,
        event.remote_addr,
        event.prev_hash,
    )


def _take_append_lock(session: Session) -> None:
    """Make sure no other transaction can append between our read of the head and our insert."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Held to the end of the transaction; READ COMMITTED then reads the latest committed head.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        # pysqlite opens its transaction lazily, at the first INSERT/UPDATE/DELETE. If none has run yet,
        # the head would be read outside any write lock and two writers could both extend it: take the
        # write lock first (waiting up to busy_timeout). If a write has run, this transaction already
        # holds SQLite's single write lock, and nobody else can append until it ends.
        driver = connection.connection.driver_connection
        if driver is not None and not driver.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


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
    """Add an entry to the caller's transaction; it is chained, and durable, when the caller's changes are flushed.

    Nothing is locked or read here: the entry waits in the session, and the flush that writes it (the caller's
    commit, or an earlier flush) takes the append lock, reads the head and links every waiting entry in the order
    they were recorded (``_chain_pending``). So the lock that serialises appends is held from that flush to the
    commit, not across whatever the caller does after recording (a submit renders and signs a PDF after the
    entry's action is known). On PostgreSQL the transaction must be READ COMMITTED (the default): a REPEATABLE
    READ snapshot could miss the newest head, and the insert would then fail on the seq primary key rather than
    fork the chain.
    """
    entry = AuditEvent(
        at=(at or utcnow()).astimezone(UTC),
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        remote_addr=remote_addr[:64],
        prev_hash="",
        hash="",
    )
    session.add(entry)
    session.info.setdefault(_PENDING, []).append((entry, key))
    return entry


# The session.info entry listing the entries recorded but not yet chained, in the order they were recorded.
_PENDING = "portal.audit.pending"


@event.listens_for(Session, "before_flush")
def _chain_pending(session: Session, _context: object, _instances: object) -> None:
    """Link the entries recorded since the last flush to the head, under the append lock, just before they are
    written. An entry that left the session (a rollback expunged it) is dropped from the list."""
    waiting = [(e, k) for e, k in session.info.pop(_PENDING, []) if e in session.new]
    if not waiting:
        return
    _take_append_lock(session)
    # Read through the connection: the session is flushing, and the head is a committed (or flushed) row.
    head = (
        session.connection()
        .execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))
        .first()
    )
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    for entry, key in waiting:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = prev = _entry_hash(key, entry)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, _previous: object) -> None:
    # Entries recorded in a transaction that rolled back were never written; they must not be chained later.
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class ChainCheck:
    """The result of verifying the chain: ok, entries checked, and the first bad sequence number.

    checked counts the entries that verified before the first bad one; head_hash is the hash of the last
    good entry (GENESIS for none); reason says what was wrong ("" when ok).
    """

    ok: bool
    checked: int
    first_bad_seq: int | None
    head_hash: str
    reason: str = ""


def export_head(session: Session) -> dict[str, Any]:
    """Return the chain head to keep OUTSIDE the database: {"seq", "hash", "at"} (seq 0 for an empty log).

    Stored elsewhere (mailed to the partnership business manager, append-only or object-locked storage),
    it lets ``verify(..., anchor=...)`` catch a tail cut off the log, which the chain alone cannot show.
    """
    head = session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one_or_none()
    if head is None:
        return {"seq": 0, "hash": GENESIS, "at": None}
    return {"seq": head.seq, "hash": head.hash, "at": head.at.astimezone(UTC).isoformat(timespec="microseconds")}


def _parse_anchor(anchor: dict[str, Any]) -> tuple[int, str]:
    seq, head_hash = anchor.get("seq"), anchor.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("anchor seq must be a non-negative integer")
    if not isinstance(head_hash, str) or not _HASH_RE.fullmatch(head_hash):
        raise ValueError("anchor hash must be 64 lower-case hex digits")
    if seq == 0 and head_hash != GENESIS:
        raise ValueError("an anchor at seq 0 must carry the genesis hash")
    return seq, head_hash


def verify(
    session: Session,
    key: bytes,
    *,
    expected_head: str | None = None,
    anchor: dict[str, Any] | None = None,
) -> ChainCheck:
    """Recompute the chain from the start; report the first entry that does not follow from the last.

    - an edited column, or swapped contents, fails the HMAC (or the link to prev_hash) at that entry;
    - a deleted entry shows as a gap: the missing seq is named;
    - a cut-off tail is caught only against an anchor from ``export_head``: if the log now ends before
      the anchor's seq, the first missing seq is named; if the entry at the anchor's seq is not the
      anchored one, that seq is named (the tail was replaced from there or earlier).

    expected_head (a bare head hash) is the older form of anchor: a mismatch names the seq after the end.
    """
    anchor_seq, anchor_hash = _parse_anchor(anchor) if anchor is not None else (None, None)
    prev, expected_seq, checked = GENESIS, 1, 0
    rows = session.execute(select(*_COLUMNS).order_by(AuditEvent.seq).execution_options(yield_per=2000))
    try:
        for seq, at, actor_id, action, object_type, object_id, outcome, remote_addr, prev_hash, stored in rows:
            if seq != expected_seq:
                if seq > expected_seq:
                    return ChainCheck(False, checked, expected_seq, prev, f"seq {expected_seq} is missing")
                return ChainCheck(False, checked, seq, prev, f"unexpected seq {seq}")
            if prev_hash != prev:
                return ChainCheck(False, checked, seq, prev, "does not link to the previous entry")
            fields = (seq, at, actor_id, action, object_type, object_id, outcome, remote_addr, prev_hash)
            if not hmac.compare_digest(stored.encode(), _digest(key, *fields).encode()):
                return ChainCheck(False, checked, seq, prev, "hash does not match the entry")
            if seq == anchor_seq and stored != anchor_hash:
                return ChainCheck(False, checked, seq, prev, "entry differs from the exported head")
            prev, expected_seq, checked = stored, expected_seq + 1, checked + 1
    finally:
        rows.close()
    if anchor_seq is not None and anchor_seq >= expected_seq:
        # The chain is internally consistent but ends before the head exported outside the database.
        return ChainCheck(False, checked, expected_seq, prev, f"log ends before the exported head (seq {anchor_seq})")
    if expected_head is not None and expected_head != prev:
        return ChainCheck(False, checked, expected_seq, prev, "head differs from the expected head")
    return ChainCheck(True, checked, None, prev)
