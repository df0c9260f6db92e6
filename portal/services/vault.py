"""Data keys and encrypted values, on top of the KeyRing: the only code that turns ciphertext into text."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.crypto import FieldBinding, KeyRing
from portal.models import DataKey, new_id


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
    return keyring.unwrap(row.id, row.kek_id, row.wrapped)


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
