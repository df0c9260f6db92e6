"""Key rotation, online and resumable (docs/threats.md#tink, #envelope-encryption and #properties 6 and 7).

KEK rotation (the MongoDB ``rewrapManyDataKey`` / AWS KMS pattern): a new key-encryption key is added to the
keyring and made active (``portal.infrastructure.crypto.add_kek``), then every live data key is unwrapped with its
old KEK and wrapped again under the new one, in batches with one commit each. No field ciphertext changes. A rerun
continues with the data keys not yet under the active KEK. The old KEK stays in the keyring until
``retire_kek`` removes it, which it refuses while any live data key is still wrapped by it.

Data-key (DEK) rotation (Tink's staged rotation, CipherSweet's RowRotator): every notice, draft and user
whose data key was created before a cutoff gets a new data key; each ciphertext bound to it (every answer,
every signed PDF version, the draft, the TOTP secret) is decrypted with the old key and encrypted under the
new one with the same binding (table, field, row); the owner is pointed at the new key; and the old key is
destroyed (``wrapped`` NULL, ``destroyed_at`` set), which also proves that nothing needs it any more. Each
batch is one transaction. On PostgreSQL the owner rows, then the data-key rows, are locked (``FOR UPDATE``,
``FOR NO KEY UPDATE``) before the ciphertexts are read; on SQLite the batch takes the write lock first
(``BEGIN IMMEDIATE``). Writers cannot slip a ciphertext under a key the batch destroys: see the flush guard
in ``portal.services.vault``. Readers retry once through ``vault.open_with_retry``.

The cutoff of a DEK rotation is kept in ``rotation-state.json`` beside the keyring (written atomically and
removed when a run finishes cleanly), so a run that was killed resumes with the same cutoff: keys created
by the first attempt's own batches are not rotated a second time, and "rotated" means "created after the
rotation began". A stateless ``--before`` would have to be retyped exactly on every resume; "now" on a
resume would redo the new keys the interrupted run already made.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, MetaData, Row, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from portal.domain.models import (
    Base,
    DataKey,
    Notice,
    NoticeAnswer,
    NoticeAttachment,
    NoticeDocument,
    NoticeDraft,
    User,
    new_id,
    utcnow,
)
from portal.infrastructure.crypto import (
    DecryptionError,
    FieldBinding,
    KeyRing,
    KeyringError,
    add_kek,
    load_keys,
    remove_kek,
    write_private_json,
)
from portal.infrastructure.db import begin_write, with_retries
from portal.services import audit
from portal.services.documents import context_field, document_field

ROTATION_STATE_FILE = "rotation-state.json"
PURPOSES = ("notice", "user")

Progress = Callable[[str], None]


def _table_of(model: type[Base]) -> Table:
    """A model's Table. Declarative types ``__table__`` as any FromClause (a class may map a join); every
    portal model maps one table."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} does not map a single table")
    return table


_dk = _table_of(DataKey)
_notice = _table_of(Notice)
_draft = _table_of(NoticeDraft)
_answer = _table_of(NoticeAnswer)
_document = _table_of(NoticeDocument)
_user = _table_of(User)
_attachment = _table_of(NoticeAttachment)

# Every ciphertext column the rotation re-encrypts, and every table whose rows own a data key. A schema
# with a ciphertext column or key owner not listed here makes DEK rotation refuse to run: destroying the
# old keys would otherwise make that column unreadable for ever.
_ROTATED_CIPHERTEXTS = frozenset(
    {
        ("notice_answer", "value_ct"),
        ("notice_document", "pdf_ct"),
        ("notice_document", "context_ct"),
        ("notice_attachment", "name_ct"),
        ("notice_attachment", "content_ct"),
        ("notice_draft", "answers_ct"),
        ("staff_user", "totp_secret_ct"),
    }
)
_KEY_OWNERS = frozenset({"notice", "notice_draft", "staff_user"})


class RotationError(RuntimeError):
    """A rotation step was refused; the message says why and what to do."""


def _noop(_message: str) -> None:
    return None


# -- shared plumbing -----------------------------------------------------------------------------------


def _record(
    sessions: sessionmaker[Session], keyring: KeyRing, action: str, outcome: str, object_type: str, object_id: str
) -> None:
    with sessions() as session:
        audit.record(
            session,
            keyring.audit_key,
            action=action,
            outcome=outcome,
            object_type=object_type,
            object_id=object_id[:64],
            remote_addr="cli",
        )
        session.commit()


def kek_usage(session: Session) -> dict[str, int]:
    """Live (not destroyed) data keys per KEK id."""
    rows = session.execute(
        select(_dk.c.kek_id, func.count()).where(_dk.c.wrapped.is_not(None)).group_by(_dk.c.kek_id)
    ).all()
    return {kek_id: count for kek_id, count in rows}


# -- KEK rotation ----------------------------------------------------------------------------------------


@dataclass
class RewrapReport:
    """What a rewrap run did: data keys rewrapped of those found at the start, failures by data key id."""

    kek_id: str
    rewrapped: int
    total: int
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    finished: bool = True
    added_kek: bool = False


def keys_awaiting_rewrap(session: Session, active_kek_id: str) -> int:
    """Live data keys not yet wrapped by the active KEK."""
    return session.execute(
        select(func.count()).select_from(_dk).where(_dk.c.wrapped.is_not(None), _dk.c.kek_id != active_kek_id)
    ).scalar_one()


def _rewrap_batch(
    sessions: sessionmaker[Session], keyring: KeyRing, after: str, limit: int, failed: dict[str, str]
) -> tuple[str, int] | None:
    active = keyring.active_kek_id
    with sessions() as session:
        begin_write(session)
        rows = session.execute(
            select(_dk.c.id, _dk.c.kek_id, _dk.c.wrapped)
            .where(_dk.c.wrapped.is_not(None), _dk.c.kek_id != active, _dk.c.id > after)
            .order_by(_dk.c.id)
            .limit(limit)
            .with_for_update(key_share=True)
        ).all()
        if not rows:
            return None
        params = []
        for row in rows:
            try:
                kek_id, wrapped = keyring.rewrap(row.id, row.kek_id, row.wrapped)
            except (DecryptionError, KeyringError) as exc:
                failed[row.id] = str(exc)
                continue
            params.append({"_id": row.id, "_kek": kek_id, "_wrapped": wrapped})
        if params:
            session.execute(
                update(_dk)
                .where(_dk.c.id == bindparam("_id"))
                .values(kek_id=bindparam("_kek"), wrapped=bindparam("_wrapped")),
                params,
            )
        session.commit()
        return rows[-1].id, len(params)


def rewrap_data_keys(
    sessions: sessionmaker[Session],
    keyring: KeyRing,
    *,
    batch_size: int = 1000,
    progress: Progress = _noop,
    stop_after_batches: int | None = None,
) -> RewrapReport:
    """Rewrap every live data key not under the keyring's active KEK, one transaction per batch.

    Field ciphertexts are not touched. Passes repeat until one finds nothing left to rewrap (keys wrapped
    meanwhile by a web worker that still has the old KEK active are picked up). ``stop_after_batches``
    interrupts the run, as a kill would (for tests).
    """
    started = time.monotonic()
    with sessions() as session:
        total = keys_awaiting_rewrap(session, keyring.active_kek_id)
    report = RewrapReport(kek_id=keyring.active_kek_id, rewrapped=0, total=total)
    batches = 0
    while True:
        progressed = 0
        after = ""
        while True:
            outcome = with_retries(
                functools.partial(_rewrap_batch, sessions, keyring, after, batch_size, report.failed)
            )
            if outcome is None:
                break
            after, count = outcome
            report.rewrapped += count
            progressed += count
            batches += 1
            progress(f"rewrapped {report.rewrapped}/{max(total, report.rewrapped)} data keys")
            if stop_after_batches is not None and batches >= stop_after_batches:
                report.finished = False
                report.seconds = time.monotonic() - started
                return report
        if progressed == 0:
            break
    report.seconds = time.monotonic() - started
    return report


def rotate_kek(
    sessions: sessionmaker[Session],
    key_dir: Path,
    *,
    batch_size: int = 1000,
    progress: Progress = _noop,
    stop_after_batches: int | None = None,
    new_kek: bool = True,
) -> RewrapReport:
    """Add a new active KEK and rewrap every live data key under it; or, if live data keys are still
    wrapped by an older KEK (an interrupted run, or keys made since by workers not yet restarted), finish
    rewrapping them under the current active KEK without adding another. With ``new_kek=False`` a KEK is
    never added (``keys rewrap``)."""
    keys = load_keys(key_dir)
    with sessions() as session:
        pending = keys_awaiting_rewrap(session, keys.active_kek_id)
    added = False
    if pending:
        progress(f"resuming: {pending} data keys are not yet wrapped by the active KEK {keys.active_kek_id}")
    elif not new_kek:
        progress(f"every live data key is already wrapped by the active KEK {keys.active_kek_id}")
    else:
        kek_id = add_kek(key_dir)
        added = True
        progress(f"added KEK {kek_id} to {key_dir} and made it active")
    keyring = KeyRing(load_keys(key_dir))
    if added:
        _record(sessions, keyring, "keys.kek_added", "ok", "kek", keyring.active_kek_id)
    report = rewrap_data_keys(
        sessions, keyring, batch_size=batch_size, progress=progress, stop_after_batches=stop_after_batches
    )
    report.added_kek = added
    if report.finished:
        _record(
            sessions, keyring, "keys.data_keys_rewrapped", "ok" if not report.failed else "failed", "kek", report.kek_id
        )
    return report


def retire_kek(sessions: sessionmaker[Session], key_dir: Path, kek_id: str) -> None:
    """Remove an old KEK from the keyring; refuse the active one, or one that still wraps a live data key."""
    keys = load_keys(key_dir)
    if kek_id not in keys.keks:
        raise RotationError(f"{kek_id} is not in the keyring")
    if kek_id == keys.active_kek_id:
        raise RotationError(f"{kek_id} is the active KEK; run `keys rotate-kek` first")
    with sessions() as session:
        still = kek_usage(session).get(kek_id, 0)
    if still:
        raise RotationError(
            f"{still} data keys are still wrapped by {kek_id}: restart every web worker (they wrap new data keys "
            "with the KEK they started with), run `flask --app portal keys rewrap` to rewrap them, then retire it"
        )
    remove_kek(key_dir, kek_id)
    _record(sessions, KeyRing(load_keys(key_dir)), "keys.kek_retired", "ok", "kek", kek_id)


# -- DEK rotation ----------------------------------------------------------------------------------------


def check_schema_is_covered(metadata: MetaData = Base.metadata) -> None:
    """Refuse to rotate if the schema holds a ciphertext column or a key owner this module does not handle."""
    for table in metadata.tables.values():
        for column in table.columns:
            if (
                column.name.endswith("_ct")
                and isinstance(column.type, LargeBinary)
                and (table.name, column.name) not in _ROTATED_CIPHERTEXTS
            ):
                raise RotationError(f"{table.name}.{column.name} holds ciphertexts that key rotation does not handle")
            owns_key = column.name == "data_key_id" or any(fk.column.table is _dk for fk in column.foreign_keys)
            if owns_key and table.name not in _KEY_OWNERS:
                raise RotationError(f"{table.name}.{column.name} names data keys that key rotation does not handle")


@dataclass(frozen=True)
class RotationState:
    """A DEK rotation in progress: keys created before ``cutoff`` are rotated."""

    cutoff: datetime
    purposes: tuple[str, ...]
    started_at: datetime


def read_rotation_state(key_dir: Path) -> RotationState | None:
    path = key_dir / ROTATION_STATE_FILE
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text())
        return RotationState(
            cutoff=datetime.fromisoformat(document["cutoff"]).astimezone(UTC),
            purposes=tuple(document["purposes"]),
            started_at=datetime.fromisoformat(document["started_at"]).astimezone(UTC),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise RotationError(f"{path} is malformed; remove it (or pass --restart) to start a new rotation") from exc


def clear_rotation_state(key_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (key_dir / ROTATION_STATE_FILE).unlink()


def plan_data_key_rotation(
    key_dir: Path,
    *,
    purposes: Sequence[str],
    before: datetime | None = None,
    restart: bool = False,
    now: datetime | None = None,
) -> tuple[RotationState, bool]:
    """Return the rotation to run and whether it resumes one: the saved state if a run is unfinished, else a
    new state with cutoff ``before`` (default: now), saved atomically before any key is touched."""
    purposes = tuple(p for p in PURPOSES if p in purposes)
    if not purposes:
        raise RotationError(f"choose a purpose: {', '.join(PURPOSES)}")
    saved = None if restart else read_rotation_state(key_dir)
    if saved is not None:
        if before is not None and before.astimezone(UTC) != saved.cutoff:
            raise RotationError(
                f"a rotation with cutoff {saved.cutoff.isoformat()} is unfinished; resume it without --before, "
                "or pass --restart to start a new one"
            )
        if purposes != saved.purposes:
            raise RotationError(
                f"an unfinished rotation covers {'+'.join(saved.purposes)}; resume it with --purpose "
                f"{'all' if len(saved.purposes) > 1 else saved.purposes[0]}, or pass --restart"
            )
        return saved, True
    now = now or utcnow()
    cutoff = (before or now).astimezone(UTC)
    if cutoff > now:
        raise RotationError("the cutoff cannot be in the future: keys the rotation makes would be rotated again")
    state = RotationState(cutoff=cutoff, purposes=purposes, started_at=now)
    write_private_json(
        key_dir / ROTATION_STATE_FILE,
        {"cutoff": cutoff.isoformat(), "purposes": list(purposes), "started_at": now.isoformat()},
    )
    return state, False


@dataclass
class RotationReport:
    """What a DEK rotation run did. ``failed`` maps an owner (e.g. "notice <id>") to why it was skipped;
    its old key was left in place."""

    cutoff: datetime
    rotated: int
    total: int
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    finished: bool = True
    resumed: bool = False


@dataclass
class _Unit:
    """One data key and everything sealed under it, locked for this batch."""

    key_id: str
    label: str
    repoint: list[tuple[Table, Any]] = field(default_factory=list)
    sealed: list[tuple[Table, Any, str, FieldBinding, bytes]] = field(default_factory=list)


@dataclass(frozen=True)
class _Kind:
    """A kind of key owner: where candidates come from and how to lock and collect a batch of them."""

    name: str
    purpose: str
    table: Table
    first: Any
    collect: Callable[[Session, list[Any]], list[_Unit]]


def _lock(session: Session, table: Table, ids: Iterable[Any], *columns: Any) -> Sequence[Row[*tuple[Any, ...]]]:
    return session.execute(
        select(table.c.id, table.c.data_key_id, *columns)
        .where(table.c.id.in_(sorted(ids)))
        .order_by(table.c.id)
        .with_for_update()
    ).all()


def _notice_units(session: Session, ids: list[Any]) -> list[_Unit]:
    """A notice's key also seals its draft while the draft exists: the draft's id becomes the notice's id."""
    units: dict[str, _Unit] = {}
    by_notice: dict[str, _Unit] = {}
    for row in _lock(session, _notice, ids):
        unit = units.setdefault(row.data_key_id, _Unit(row.data_key_id, f"notice {row.id}"))
        unit.repoint.append((_notice, row.id))
        by_notice[row.id] = unit
    by_draft: dict[str, _Unit] = {}
    for row in _lock(session, _draft, ids, _draft.c.answers_ct):
        unit = units.setdefault(row.data_key_id, _Unit(row.data_key_id, f"draft {row.id}"))
        unit.repoint.append((_draft, row.id))
        by_draft[row.id] = unit
        if row.answers_ct is not None:
            unit.sealed.append(
                (_draft, row.id, "answers_ct", FieldBinding("notice_draft", "answers", row.id), row.answers_ct)
            )
    if by_draft:
        # Evidence attached before sending: bound as the notice's will be (the draft's id is the notice's).
        for row in session.execute(
            select(_attachment.c.id, _attachment.c.draft_id, _attachment.c.name_ct, _attachment.c.content_ct).where(
                _attachment.c.draft_id.in_(sorted(by_draft))
            )
        ):
            bound = f"{row.draft_id}/{row.id}"
            unit = by_draft[row.draft_id]
            unit.sealed.append(
                (_attachment, row.id, "name_ct", FieldBinding("notice_attachment", "name", bound), row.name_ct)
            )
            unit.sealed.append(
                (_attachment, row.id, "content_ct", FieldBinding("notice_attachment", "content", bound), row.content_ct)
            )
    if by_notice:
        notice_ids = sorted(by_notice)
        for row in session.execute(
            select(_answer.c.id, _answer.c.notice_id, _answer.c.field_name, _answer.c.value_ct).where(
                _answer.c.notice_id.in_(notice_ids)
            )
        ):
            by_notice[row.notice_id].sealed.append(
                (
                    _answer,
                    row.id,
                    "value_ct",
                    FieldBinding("notice_answer", row.field_name, row.notice_id),
                    row.value_ct,
                )
            )
        for row in session.execute(
            select(
                _document.c.id,
                _document.c.notice_id,
                _document.c.version,
                _document.c.copy,
                _document.c.pdf_ct,
                _document.c.context_ct,
            )
            .where(_document.c.notice_id.in_(notice_ids))
            .order_by(_document.c.id)
            # Locked: a version being drawn (portal.services.documents) is finished first, then read as drawn.
            .with_for_update()
        ):
            unit = by_notice[row.notice_id]
            if row.pdf_ct is not None:
                binding = FieldBinding("notice_document", document_field(row.version, row.copy), row.notice_id)
                unit.sealed.append((_document, row.id, "pdf_ct", binding, row.pdf_ct))
            if row.context_ct is not None:
                binding = FieldBinding("notice_document", context_field(row.version, row.copy), row.notice_id)
                unit.sealed.append((_document, row.id, "context_ct", binding, row.context_ct))
        for row in session.execute(
            select(_attachment.c.id, _attachment.c.notice_id, _attachment.c.name_ct, _attachment.c.content_ct).where(
                _attachment.c.notice_id.in_(notice_ids)
            )
        ):
            # Bound to the notice and the attachment (portal.services.evidence).
            bound = f"{row.notice_id}/{row.id}"
            unit = by_notice[row.notice_id]
            unit.sealed.append(
                (_attachment, row.id, "name_ct", FieldBinding("notice_attachment", "name", bound), row.name_ct)
            )
            unit.sealed.append(
                (_attachment, row.id, "content_ct", FieldBinding("notice_attachment", "content", bound), row.content_ct)
            )
    return list(units.values())


def _user_units(session: Session, ids: list[Any]) -> list[_Unit]:
    units = []
    for row in _lock(session, _user, ids, _user.c.totp_secret_ct):
        unit = _Unit(row.data_key_id, f"user {row.id}", repoint=[(_user, row.id)])
        if row.totp_secret_ct is not None:
            binding = FieldBinding("staff_user", "totp_secret", str(row.id))
            unit.sealed.append((_user, row.id, "totp_secret_ct", binding, row.totp_secret_ct))
        units.append(unit)
    return units


_KINDS = (
    _Kind("notice", "notice", _notice, "", _notice_units),
    # Drafts not yet submitted (a submitted draft's key belongs to its notice, handled above).
    _Kind("draft", "notice", _draft, "", _notice_units),
    _Kind("user", "user", _user, 0, _user_units),
)


def _candidates(session: Session, kind: _Kind, cutoff: datetime, after: Any, limit: int) -> list[Any]:
    table = kind.table
    return list(
        session.execute(
            select(table.c.id)
            .join(_dk, _dk.c.id == table.c.data_key_id)
            .where(_dk.c.wrapped.is_not(None), _dk.c.created_at < cutoff, table.c.id > after)
            .order_by(table.c.id)
            .limit(limit)
        ).scalars()
    )


def _rotate_batch(
    sessions: sessionmaker[Session],
    keyring: KeyRing,
    kind: _Kind,
    cutoff: datetime,
    after: Any,
    limit: int,
    failed: dict[str, str],
) -> tuple[Any, int] | None:
    with sessions() as session:
        begin_write(session)
        ids = _candidates(session, kind, cutoff, after, limit)
        if not ids:
            return None
        # Owners first (the order writers take their locks in), then their keys, then the ciphertexts.
        units = kind.collect(session, ids)
        keys = {
            row.id: row
            for row in session.execute(
                select(_dk.c.id, _dk.c.kek_id, _dk.c.wrapped, _dk.c.purpose)
                .where(
                    _dk.c.id.in_(sorted({u.key_id for u in units})),
                    _dk.c.wrapped.is_not(None),
                    _dk.c.created_at < cutoff,
                )
                .order_by(_dk.c.id)
                .with_for_update(key_share=True)
            )
        }
        now = utcnow()
        new_keys: list[dict[str, Any]] = []
        repoint: dict[Table, list[dict[str, Any]]] = defaultdict(list)
        resealed: dict[tuple[Table, str], list[dict[str, Any]]] = defaultdict(list)
        destroyed: list[str] = []
        for unit in units:
            old = keys.get(unit.key_id)
            if old is None:
                continue  # rotated, shredded or re-pointed since the candidates were listed
            new_key_id = new_id()
            try:
                old_dek = keyring.unwrap(old.id, old.kek_id, old.wrapped)
                new_dek, new_wrapped = keyring.new_data_key(new_key_id)
                fresh = [
                    (
                        table,
                        pk,
                        column,
                        KeyRing.encrypt(new_key_id, new_dek, KeyRing.decrypt(old_dek, ct, binding), binding),
                    )
                    for table, pk, column, binding, ct in unit.sealed
                ]
            except (DecryptionError, KeyringError) as exc:
                failed[unit.label] = str(exc)
                continue
            failed.pop(unit.label, None)
            new_keys.append(
                {
                    "id": new_key_id,
                    "kek_id": keyring.active_kek_id,
                    "wrapped": new_wrapped,
                    "purpose": old.purpose,
                    "created_at": now,
                    "destroyed_at": None,
                }
            )
            for table, pk in unit.repoint:
                repoint[table].append({"_id": pk, "_key": new_key_id})
            for table, pk, column, ct in fresh:
                resealed[(table, column)].append({"_id": pk, "_ct": ct})
            destroyed.append(old.id)
        if new_keys:
            session.execute(insert(_dk), new_keys)
            for table, params in repoint.items():
                session.execute(
                    update(table).where(table.c.id == bindparam("_id")).values(data_key_id=bindparam("_key")), params
                )
            for (table, column), params in resealed.items():
                session.execute(
                    update(table).where(table.c.id == bindparam("_id")).values({column: bindparam("_ct")}), params
                )
            session.execute(update(_dk).where(_dk.c.id.in_(destroyed)).values(wrapped=None, destroyed_at=now))
        session.commit()
        return ids[-1], len(new_keys)


def keys_awaiting_rotation(session: Session, cutoff: datetime, purposes: Sequence[str]) -> int:
    """Owners (notices, drafts, users) whose live data key was created before the cutoff."""
    total = 0
    for kind in _KINDS:
        if kind.purpose not in purposes:
            continue
        table = kind.table
        total += session.execute(
            select(func.count())
            .select_from(table)
            .join(_dk, _dk.c.id == table.c.data_key_id)
            .where(_dk.c.wrapped.is_not(None), _dk.c.created_at < cutoff)
        ).scalar_one()
    return total


def rotate_data_keys(
    sessions: sessionmaker[Session],
    keyring: KeyRing,
    *,
    cutoff: datetime,
    purposes: Sequence[str] = PURPOSES,
    batch_size: int = 200,
    progress: Progress = _noop,
    stop_after_batches: int | None = None,
) -> RotationReport:
    """Give every owner whose live data key predates ``cutoff`` a new key, re-encrypting what it sealed,
    and destroy the old key. One transaction per batch; safe to kill at any point and run again.

    Passes repeat until one rotates nothing, so keys committed late (a draft started just before the cutoff)
    are not missed. ``stop_after_batches`` interrupts the run, as a kill would (for tests).
    """
    check_schema_is_covered()
    started = time.monotonic()
    with sessions() as session:
        total = keys_awaiting_rotation(session, cutoff, purposes)
    report = RotationReport(cutoff=cutoff, rotated=0, total=total)
    batches = 0
    kinds = [k for k in _KINDS if k.purpose in purposes]
    while True:
        progressed = 0
        for kind in kinds:
            after = kind.first
            while True:
                outcome = with_retries(
                    functools.partial(_rotate_batch, sessions, keyring, kind, cutoff, after, batch_size, report.failed)
                )
                if outcome is None:
                    break
                after, count = outcome
                report.rotated += count
                progressed += count
                batches += 1
                elapsed = time.monotonic() - started
                progress(
                    f"rotated {report.rotated}/{max(total, report.rotated)} data keys "
                    f"({report.rotated / elapsed if elapsed else 0:.0f}/s)"
                )
                if stop_after_batches is not None and batches >= stop_after_batches:
                    report.finished = False
                    report.seconds = time.monotonic() - started
                    return report
        if progressed == 0:
            break
    report.seconds = time.monotonic() - started
    return report


def run_data_key_rotation(
    sessions: sessionmaker[Session],
    keyring: KeyRing,
    key_dir: Path,
    *,
    purposes: Sequence[str] = PURPOSES,
    batch_size: int = 200,
    before: datetime | None = None,
    restart: bool = False,
    progress: Progress = _noop,
) -> RotationReport:
    """Start or resume a DEK rotation (see the module docstring); clear the saved state once it finishes
    with nothing failed."""
    check_schema_is_covered()
    state, resumed = plan_data_key_rotation(key_dir, purposes=purposes, before=before, restart=restart)
    cutoff = state.cutoff.isoformat()
    progress(
        f"{'resuming' if resumed else 'starting'} the rotation of {'+'.join(state.purposes)} data keys "
        f"created before {cutoff}"
    )
    if not resumed:
        _record(sessions, keyring, "keys.data_key_rotation_started", "ok", "rotation", cutoff)
    report = rotate_data_keys(
        sessions, keyring, cutoff=state.cutoff, purposes=state.purposes, batch_size=batch_size, progress=progress
    )
    report.resumed = resumed
    if not report.failed:
        clear_rotation_state(key_dir)
    _record(
        sessions,
        keyring,
        "keys.data_key_rotation_finished",
        "ok" if not report.failed else "failed",
        "rotation",
        cutoff,
    )
    return report
