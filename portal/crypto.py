"""Field-level encryption behind one small object.

Envelope scheme: each notice (and each user) has its own 256-bit data key (DEK). The DEK is stored only
wrapped by a key-encryption key (KEK) that lives in the key directory, outside the database, so a copy of
the database alone reads nothing. Field ciphertexts are AES-256-GCM and carry a header naming the DEK,
so keys can rotate and a DEK can be destroyed to shred one notice. Associated data binds every ciphertext
to its table, field and row: a ciphertext copied to another row or field fails to decrypt.

Ciphertext layout: version (1 byte) | DEK id (16 bytes, UUID) | nonce (12 bytes) | AES-GCM ciphertext+tag.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
_HEADER_LEN = 1 + 16
_NONCE_LEN = 12
KEYRING_FILE = "keyring.json"


class KeyringError(RuntimeError):
    """A key is missing, malformed or not allowed here."""


class DecryptionError(RuntimeError):
    """A ciphertext failed authentication: wrong row or field, tampered bytes, or a destroyed key."""


@dataclass(frozen=True)
class FieldBinding:
    """What a ciphertext is bound to: table, field and the row's identifier."""

    table: str
    field: str
    row_id: str

    def encode(self) -> bytes:
        # Length-prefixed so ("ab", "c") and ("a", "bc") can never encode the same.
        parts = [b"escalation-portal/field/v1", *(s.encode() for s in (self.table, self.field, self.row_id))]
        if not self.row_id:
            raise ValueError("a ciphertext must be bound to a row id")
        return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


@dataclass
class Keys:
    """The key material read from the key directory."""

    active_kek_id: str
    keks: dict[str, bytes]
    audit_key: bytes
    blind_index_key: bytes
    development: bool


def generate_keyring(key_dir: Path, *, development: bool) -> Path:
    """Write a new keyring (KEK, audit and blind-index keys) to key_dir, readable by the owner only."""
    key_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(key_dir, 0o700)
    path = key_dir / KEYRING_FILE
    if path.exists():
        raise KeyringError(f"{path} already exists; refusing to overwrite keys")
    kek_id = f"kek-{uuid.uuid4().hex[:12]}"
    document = {
        "development": development,
        "active_kek": kek_id,
        "keks": {kek_id: _b64(secrets.token_bytes(32))},
        "audit_key": _b64(secrets.token_bytes(32)),
        "blind_index_key": _b64(secrets.token_bytes(32)),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=2)
    return path


def load_keys(key_dir: Path) -> Keys:
    """Read and check the keyring; raise KeyringError naming what is wrong."""
    path = key_dir / KEYRING_FILE
    if not path.exists():
        raise KeyringError(f"no keyring at {path} (run `flask --app portal init` or `generate-keys`)")
    try:
        document = json.loads(path.read_text())
        keks = {kid: _unb64(value) for kid, value in document["keks"].items()}
        keys = Keys(
            active_kek_id=document["active_kek"],
            keks=keks,
            audit_key=_unb64(document["audit_key"]),
            blind_index_key=_unb64(document["blind_index_key"]),
            development=bool(document.get("development", True)),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyringError(f"the keyring at {path} is malformed") from exc
    if keys.active_kek_id not in keys.keks:
        raise KeyringError("the active key-encryption key is missing from the keyring")
    if any(len(k) != 32 for k in [*keys.keks.values(), keys.audit_key, keys.blind_index_key]):
        raise KeyringError("every key in the keyring must be 32 bytes")
    if len({*keys.keks.values(), keys.audit_key, keys.blind_index_key}) != len(keys.keks) + 2:
        raise KeyringError("the keyring reuses one key for two purposes")
    return keys


class KeyRing:
    """Wraps and unwraps data keys and encrypts and decrypts fields. Built once per app."""

    def __init__(self, keys: Keys) -> None:
        self._keys = keys
        self._keks = {kid: AESGCM(k) for kid, k in keys.keks.items()}

    @property
    def development(self) -> bool:
        return self._keys.development

    @property
    def audit_key(self) -> bytes:
        return self._keys.audit_key

    @property
    def active_kek_id(self) -> str:
        return self._keys.active_kek_id

    # -- data keys -----------------------------------------------------------------------------------

    def new_data_key(self, dek_id: str) -> tuple[bytes, bytes]:
        """Return (plaintext DEK, wrapped DEK) for a new data key with the given id."""
        dek = AESGCM.generate_key(bit_length=256)
        return dek, self.wrap(dek_id, dek)

    def wrap(self, dek_id: str, dek: bytes, kek_id: str | None = None) -> bytes:
        """Encrypt a DEK under a KEK (the active one by default), bound to the DEK's id."""
        kek_id = kek_id or self._keys.active_kek_id
        nonce = os.urandom(_NONCE_LEN)
        aad = _wrap_aad(dek_id, kek_id)
        return nonce + self._keks[kek_id].encrypt(nonce, dek, aad)

    def unwrap(self, dek_id: str, kek_id: str, wrapped: bytes | None) -> bytes:
        """Decrypt a wrapped DEK; raise DecryptionError if it was destroyed or does not authenticate."""
        if wrapped is None:
            raise DecryptionError("the data key has been destroyed")
        kek = self._keks.get(kek_id)
        if kek is None:
            raise KeyringError(f"key-encryption key {kek_id} is not in the keyring")
        try:
            return kek.decrypt(wrapped[:_NONCE_LEN], wrapped[_NONCE_LEN:], _wrap_aad(dek_id, kek_id))
        except InvalidTag as exc:
            raise DecryptionError("a data key failed to unwrap") from exc

    # -- fields --------------------------------------------------------------------------------------

    @staticmethod
    def encrypt(dek_id: str, dek: bytes, plaintext: bytes, binding: FieldBinding) -> bytes:
        """Encrypt bytes under a DEK, bound to table, field and row."""
        header = bytes([FORMAT_VERSION]) + uuid.UUID(dek_id).bytes
        nonce = os.urandom(_NONCE_LEN)
        return header + nonce + AESGCM(dek).encrypt(nonce, plaintext, header + binding.encode())

    @staticmethod
    def dek_id_of(ciphertext: bytes) -> str:
        """Return the id of the DEK a ciphertext was made with."""
        if len(ciphertext) < _HEADER_LEN + _NONCE_LEN + 16 or ciphertext[0] != FORMAT_VERSION:
            raise DecryptionError("not a portal ciphertext")
        return str(uuid.UUID(bytes=ciphertext[1:_HEADER_LEN]))

    @staticmethod
    def decrypt(dek: bytes, ciphertext: bytes, binding: FieldBinding) -> bytes:
        """Decrypt bytes made by encrypt(); raise DecryptionError on any mismatch or tampering."""
        KeyRing.dek_id_of(ciphertext)
        header = ciphertext[:_HEADER_LEN]
        nonce = ciphertext[_HEADER_LEN : _HEADER_LEN + _NONCE_LEN]
        try:
            return AESGCM(dek).decrypt(nonce, ciphertext[_HEADER_LEN + _NONCE_LEN :], header + binding.encode())
        except InvalidTag as exc:
            raise DecryptionError("a field failed to decrypt") from exc


def _wrap_aad(dek_id: str, kek_id: str) -> bytes:
    return b"escalation-portal/dek/v1|" + dek_id.encode() + b"|" + kek_id.encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
