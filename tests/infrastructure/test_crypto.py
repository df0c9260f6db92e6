"""Field encryption: AES-256-GCM bound to table, field and row; keys wrapped by a KEK outside the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domain.models import new_id
from portal.infrastructure.crypto import (
    DecryptionError,
    FieldBinding,
    KeyRing,
    KeyringError,
    generate_keyring,
    load_keys,
)


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    directory = tmp_path_factory.mktemp("kr")
    generate_keyring(directory, development=True)
    return KeyRing(load_keys(directory))


def test_round_trip_and_fresh_nonce_each_time(keyring: KeyRing) -> None:
    dek_id = new_id()
    dek, _wrapped = keyring.new_data_key(dek_id)
    binding = FieldBinding("notice_answer", "child_name", "row-1")
    first = KeyRing.encrypt(dek_id, dek, b"Zyxqoria", binding)
    second = KeyRing.encrypt(dek_id, dek, b"Zyxqoria", binding)
    assert first != second
    assert KeyRing.decrypt(dek, first, binding) == b"Zyxqoria"
    assert KeyRing.dek_id_of(first) == dek_id


def test_ciphertext_cannot_move_to_another_row_or_field(keyring: KeyRing) -> None:
    dek_id = new_id()
    dek, _ = keyring.new_data_key(dek_id)
    ct = KeyRing.encrypt(dek_id, dek, b"2016-02-29", FieldBinding("notice_answer", "child_dob", "row-a"))
    with pytest.raises(DecryptionError):
        KeyRing.decrypt(dek, ct, FieldBinding("notice_answer", "child_dob", "row-b"))
    with pytest.raises(DecryptionError):
        KeyRing.decrypt(dek, ct, FieldBinding("notice_answer", "child_name", "row-a"))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_every_byte_is_protected(keyring: KeyRing, data: st.DataObject) -> None:
    dek_id = new_id()
    dek, _ = keyring.new_data_key(dek_id)
    binding = FieldBinding("notice_answer", "summary", "row")
    ct = bytearray(KeyRing.encrypt(dek_id, dek, b"some narrative", binding))
    index = data.draw(st.integers(min_value=0, max_value=len(ct) - 1))
    ct[index] ^= data.draw(st.integers(min_value=1, max_value=255))
    with pytest.raises(DecryptionError):
        KeyRing.decrypt(dek, bytes(ct), binding)


def test_truncated_ciphertext_fails_cleanly(keyring: KeyRing) -> None:
    dek_id = new_id()
    dek, _ = keyring.new_data_key(dek_id)
    ct = KeyRing.encrypt(dek_id, dek, b"x", FieldBinding("t", "f", "r"))
    for cut in (0, 5, 17, 29, len(ct) - 1):
        with pytest.raises(DecryptionError):
            KeyRing.decrypt(dek, ct[:cut], FieldBinding("t", "f", "r"))


def test_data_keys_unwrap_only_for_their_own_id(keyring: KeyRing) -> None:
    dek_id = new_id()
    dek, wrapped = keyring.new_data_key(dek_id)
    assert keyring.unwrap(dek_id, keyring.active_kek_id, wrapped) == dek
    with pytest.raises(DecryptionError):
        keyring.unwrap(new_id(), keyring.active_kek_id, wrapped)
    with pytest.raises(DecryptionError, match="destroyed"):
        keyring.unwrap(dek_id, keyring.active_kek_id, None)


def test_keyring_refuses_missing_or_reused_keys(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="no keyring"):
        load_keys(tmp_path)
    path = generate_keyring(tmp_path, development=False)
    assert path.stat().st_mode & 0o077 == 0
    document = json.loads(path.read_text())
    document["blind_index_key"] = document["audit_key"]
    path.write_text(json.dumps(document))
    with pytest.raises(KeyringError, match="reuses"):
        load_keys(tmp_path)
    with pytest.raises(KeyringError, match="already exists"):
        generate_keyring(tmp_path, development=False)


def test_binding_needs_a_row() -> None:
    with pytest.raises(ValueError):
        FieldBinding("t", "f", "").encode()
