"""Data keys and encrypted values, on top of the KeyRing: the only code that turns ciphertext into text.

Two guards make online data-key rotation (portal.services.keys) safe for the rest of the portal:

* Readers: a rotation may commit between a reader loading a notice (with its old data_key_id) and the
  reader unwrapping that key or loading the ciphertexts. ``open_with_retry`` runs the read again, once,
  after reloading the session's key material, so such a reader never fails.
* Writers: a writer that sealed a value under a data key which a rotation destroyed before the writer
  committed would store a ciphertext nobody can ever read. Every flush that writes a ciphertext column
  (a LargeBinary column named ``*_ct``) re-reads the data keys named in the new ciphertexts' headers with a
  shared row lock (FOR SHARE on PostgreSQL; on SQLite the flush already holds the write lock) and raises
  DataKeyDestroyedError if one is destroyed, so the transaction rolls back instead of losing data. The
  lock also makes a rotation that starts later wait for this commit, so it re-encrypts what was written.

Values sealed under a data key but kept outside a ``*_ct`` column (accounts.seal_pending_totp keeps one in
the server-side session) are neither guarded nor re-encrypted: a user-key rotation makes them unreadable,
so their readers must treat DecryptionError as "start that step again".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import LargeBinary, event, inspect, select
from sqlalchemy.orm import Mapper, Session, UOWTransaction

from portal.domain.models import DataKey, new_id
from portal.infrastructure.crypto import DecryptionError, FieldBinding, KeyRing

T = TypeVar("T")
R = TypeVar("R")


_KEPT_KEYS = "portal.vault.kept_keys"


class DataKeyDestroyedError(RuntimeError):
    """A value was sealed under a data key that was destroyed (rotated or shredded) before the write was
    committed. Nothing was saved: load the record again and repeat the change."""


def create_data_key(session: Session, keyring: KeyRing, *, purpose: str) -> tuple[DataKey, bytes]:
    """Create and add a new wrapped data key; return the row and the plaintext key for immediate use."""
    dek_id = new_id()
    dek, wrapped = keyring.new_data_key(dek_id)
    row = DataKey(id=dek_id, kek_id=keyring.active_kek_id, wrapped=wrapped, purpose=purpose)
    session.add(row)
    return row, dek


def data_key(session: Session, keyring: KeyRing, data_key_id: str) -> bytes:
    """Unwrap the data key with the given id."""
    row = session.get(DataKey, data_key_id)
    if row is None:
        raise LookupError("unknown data key")
    hold(session, row)
    return keyring.unwrap(row.id, row.kek_id, row.wrapped)


def hold(session: Session, row: DataKey) -> None:
    """Keep a data-key row for the rest of the session, so that ``data_key`` finds it without asking again (a key
    read in the same statement as what it seals, as a draft is, costs no statement of its own).

    The session's identity map holds rows weakly: without a reference the row is collected as soon as the caller
    returns and the next call reads it again (a submit read its notice's key three times). forget_key_material
    still expires it, so a rotation is seen.
    """
    kept = session.info.setdefault(_KEPT_KEYS, {})
    if len(kept) >= 64:
        kept.clear()  # a batch over many notices (a rotation, an export) must not hold every key it touched
    kept[row.id] = row


def data_keys(session: Session, keyring: KeyRing, data_key_ids: Iterable[str]) -> dict[str, bytes]:
    """Unwrap several data keys, read in one statement (a list decrypting one value per row), by id."""
    wanted = sorted(set(data_key_ids))
    if not wanted:
        return {}
    rows = session.execute(select(DataKey).where(DataKey.id.in_(wanted))).scalars()
    return {row.id: keyring.unwrap(row.id, row.kek_id, row.wrapped) for row in rows}


def seal_text(dek_id: str, dek: bytes, value: str, *, table: str, field: str, row_id: str) -> bytes:
    """Encrypt a text value bound to a table, field and row."""
    return KeyRing.encrypt(dek_id, dek, value.encode("utf-8"), FieldBinding(table, field, row_id))


def open_text(dek: bytes, ciphertext: bytes, *, table: str, field: str, row_id: str) -> str:
    """Decrypt a value made by seal_text."""
    return KeyRing.decrypt(dek, ciphertext, FieldBinding(table, field, row_id)).decode("utf-8")


def seal_bytes(dek_id: str, dek: bytes, value: bytes, *, table: str, field: str, row_id: str) -> bytes:
    """Encrypt bytes (a signed PDF) bound to a table, field and row."""
    return KeyRing.encrypt(dek_id, dek, value, FieldBinding(table, field, row_id))


def open_bytes(dek: bytes, ciphertext: bytes, *, table: str, field: str, row_id: str) -> bytes:
    """Decrypt bytes made by seal_bytes."""
    return KeyRing.decrypt(dek, ciphertext, FieldBinding(table, field, row_id))


# -- reading while keys rotate ----------------------------------------------------------------------------


def open_with_retry(session: Session, read: Callable[[], T]) -> T:
    """Run ``read`` (which decrypts with keys and ciphertexts loaded through ``session``); if it raises
    DecryptionError, reload the session's key material and run it once more.

    A data-key rotation commits a new key, new ciphertexts and the old key's destruction together, so the
    second attempt reads a consistent state; a value that is really unreadable (tampered, shredded) fails
    again and the DecryptionError propagates. Use it around every read of an encrypted value, e.g.::

        answers = vault.open_with_retry(db, lambda: notices.notice_answers(db, services, notice))
    """
    try:
        return read()
    except DecryptionError:
        forget_key_material(session)
        return read()


def forget_key_material(session: Session) -> None:
    """Expire, in ``session``, every loaded data key, every row that names a data key and every row that
    holds a ciphertext, so the next access reads them afresh. Rows with unsaved changes keep those
    changes (only their unchanged attributes are expired)."""
    deleted = set(map(id, session.deleted))
    for obj in list(session.identity_map.values()):
        if id(obj) in deleted or not _holds_key_material(type(obj)):
            continue
        state = inspect(obj)
        if state.modified:
            unchanged = [a.key for a in state.attrs if not a.history.has_changes()]
            if unchanged:
                session.expire(obj, unchanged)
        else:
            session.expire(obj)


def _per_class(compute: Callable[[type], R]) -> Callable[[type], R]:
    """functools.cache for a function of a class. Typed as a function of ``type`` because mypy does not
    see ``type(obj)`` as Hashable, which functools.cache's wrapper asks of every argument."""
    return functools.cache(compute)


@_per_class
def _ciphertext_columns(cls: type) -> tuple[str, ...]:
    """The mapped attributes of a class that hold field ciphertexts: LargeBinary columns named *_ct."""
    mapper: Mapper[Any] | None = inspect(cls, raiseerr=False)
    if mapper is None:
        return ()
    return tuple(
        attr.key
        for attr in mapper.column_attrs
        if attr.key.endswith("_ct") and all(isinstance(c.type, LargeBinary) for c in attr.columns)
    )


@_per_class
def _holds_key_material(cls: type) -> bool:
    if issubclass(cls, DataKey):
        return True
    mapper = inspect(cls, raiseerr=False)
    return mapper is not None and ("data_key_id" in mapper.column_attrs or bool(_ciphertext_columns(cls)))


# -- writing while keys rotate ----------------------------------------------------------------------------


def _sealed_dek_ids(session: Session) -> set[str]:
    """DEK ids named by ciphertexts this flush wrote (new rows, or changed ciphertext columns)."""
    found: set[str] = set()
    new = list(session.new)
    for is_new, obj in chain(((True, o) for o in new), ((False, o) for o in session.dirty)):
        columns = _ciphertext_columns(type(obj))
        if not columns:
            continue
        state = inspect(obj)
        for key in columns:
            value = state.dict.get(key)
            if not isinstance(value, bytes | bytearray | memoryview):
                continue
            if not is_new and not state.attrs[key].history.has_changes():
                continue
            try:
                found.add(KeyRing.dek_id_of(bytes(value)))
            except DecryptionError:
                continue  # not a portal ciphertext: nothing this guard can check
    return found


@event.listens_for(Session, "after_flush")
def _refuse_ciphertexts_under_destroyed_keys(session: Session, _flush_context: UOWTransaction) -> None:
    dek_ids = _sealed_dek_ids(session)
    if not dek_ids:
        return
    rows = session.connection().execute(
        select(DataKey.id, DataKey.wrapped).where(DataKey.id.in_(sorted(dek_ids))).with_for_update(read=True)
    )
    destroyed = sorted(row.id for row in rows if row.wrapped is None)
    if destroyed:
        raise DataKeyDestroyedError(
            f"data key {destroyed[0]} was destroyed (rotated or shredded) before this change was saved"
        )
