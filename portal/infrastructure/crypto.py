"""Field-level encryption behind one small object.

Envelope scheme: each notice (and each user) has its own 256-bit data key (DEK). The DEK is stored only
wrapped by a key-encryption key (KEK) that lives in the key directory, outside the database, so a copy of
the database alone reads nothing. Field ciphertexts are AES-256-GCM and carry a header naming the DEK,
so keys can rotate and a DEK can be destroyed to shred one notice. Associated data binds every ciphertext
to its table, field and row: a ciphertext copied to another row or field fails to decrypt.

Ciphertext layout: version (1 byte) | DEK id (16 bytes, UUID) | nonce (12 bytes) | AES-GCM ciphertext+tag.

Rotation (portal/services/keys.py): a KEK is rotated by adding a new one to the keyring (add_kek) and
rewrapping every live DEK, which touches no field ciphertext; the old KEK is removed (remove_kek) once no
DEK uses it. A running KeyRing can unwrap with every KEK it holds and, when it meets a KEK id it does not
know, re-reads the keyring file once to pick up KEKs added since start-up (it never changes its active KEK:
that happens when the process restarts).

Blind-index keys (portal/services/search.py) are versioned so they can rotate: the keyring holds one or two
of them (two only while a rotation is under way) and names the active one. A keyring written before versions
existed holds a single `blind_index_key`, read as version 1. A running KeyRing re-reads the file when it
changes, so every worker indexes and searches under the versions the file holds now.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
_HEADER_LEN = 1 + 16
_NONCE_LEN = 12
KEYRING_FILE = "keyring.json"
# Serialises read-modify-write of the keyring between `keys` commands (never taken by web workers).
_KEYRING_LOCK_FILE = ".keyring.lock"


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
    # The active blind-index key (the only one in a keyring that predates versions).
    blind_index_key: bytes
    development: bool
    # The key directory the keys were read from (None when built by hand): lets a KeyRing re-read the
    # file to pick up a KEK added by a rotation after the process started.
    source: Path | None = None
    # Every blind-index key by version (two only during a rotation); empty means {1: blind_index_key}.
    blind_index_keys: dict[int, bytes] = field(default_factory=dict)
    active_blind_index_version: int = 1
    # How many bits each version's index values keep, chosen when the version was added from the number of
    # notices (portal.services.search.bits_for). A version without an entry predates sizing: the search
    # service's default applies to it.
    blind_index_bits: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.blind_index_keys:
            self.blind_index_keys = {self.active_blind_index_version: self.blind_index_key}


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
        active_index = int(document.get("blind_index_active", 1))
        index_keys = {int(v): _unb64(k) for v, k in document.get("blind_index_keys", {}).items()}
        index_bits = {int(v): int(b) for v, b in document.get("blind_index_bits", {}).items()}
        keys = Keys(
            active_kek_id=document["active_kek"],
            keks=keks,
            audit_key=_unb64(document["audit_key"]),
            blind_index_key=_unb64(document["blind_index_key"]),
            development=bool(document.get("development", True)),
            source=key_dir,
            blind_index_keys=index_keys,
            active_blind_index_version=active_index,
            blind_index_bits=index_bits,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyringError(f"the keyring at {path} is malformed") from exc
    if keys.active_kek_id not in keys.keks:
        raise KeyringError("the active key-encryption key is missing from the keyring")
    if keys.blind_index_keys.get(keys.active_blind_index_version) != keys.blind_index_key:
        raise KeyringError("the active blind-index key is missing from the keyring")
    if any(not 1 <= b <= 31 for b in keys.blind_index_bits.values()):
        raise KeyringError("a blind-index size must be between 1 and 31 bits")
    index_key_values = list(keys.blind_index_keys.values())
    if any(len(k) != 32 for k in [*keys.keks.values(), keys.audit_key, *index_key_values]):
        raise KeyringError("every key in the keyring must be 32 bytes")
    # Index keys must differ from the encryption keys (docs/threats.md#property-8) and from each other.
    if len({*keys.keks.values(), keys.audit_key, *index_key_values}) != len(keys.keks) + 1 + len(index_key_values):
        raise KeyringError("the keyring reuses one key for two purposes")
    return keys


def write_private_json(path: Path, document: dict[str, Any]) -> None:
    """Replace path with a JSON document atomically, readable by the owner only.

    A temporary file in the same directory is written, fsynced and renamed over the target (os.replace), and
    the directory is fsynced, so a crash leaves either the old file or the new one, never a torn one.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def keyring_lock(key_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the key directory's keyring while changing it."""
    fd = os.open(key_dir / _KEYRING_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read_document(key_dir: Path) -> dict[str, Any]:
    load_keys(key_dir)  # refuse to rewrite a keyring that does not load
    document: dict[str, Any] = json.loads((key_dir / KEYRING_FILE).read_text())
    return document


def add_kek(key_dir: Path) -> str:
    """Add a new key-encryption key to the keyring and make it the active one; return its id.

    Every other key, the `development` flag and the old KEKs are kept: data keys wrapped by an old KEK still
    unwrap until they are rewrapped (portal.services.keys.rewrap_data_keys) and the old KEK is removed.
    """
    with keyring_lock(key_dir):
        document = _read_document(key_dir)
        kek_id = f"kek-{uuid.uuid4().hex[:12]}"
        document["keks"][kek_id] = _b64(secrets.token_bytes(32))
        document["active_kek"] = kek_id
        document["development"] = bool(document.get("development", True))
        write_private_json(key_dir / KEYRING_FILE, document)
        load_keys(key_dir)  # the written keyring must load (e.g. the new KEK does not collide with a key)
    return kek_id


def remove_kek(key_dir: Path, kek_id: str) -> None:
    """Remove a retired key-encryption key from the keyring. Refuses the active KEK.

    The caller checks that no data key is still wrapped by it (portal.services.keys.retire_kek).
    """
    with keyring_lock(key_dir):
        document = _read_document(key_dir)
        if kek_id not in document["keks"]:
            raise KeyringError(f"key-encryption key {kek_id} is not in the keyring")
        if document["active_kek"] == kek_id:
            raise KeyringError(f"key-encryption key {kek_id} is the active one; rotate to a new KEK first")
        del document["keks"][kek_id]
        write_private_json(key_dir / KEYRING_FILE, document)


def add_blind_index_key(key_dir: Path, bits: int | None = None) -> int:
    """Add a new blind-index key version and make it the active one; return its version.

    ``bits``: how many bits the new version's index values keep (recorded beside the key, so every worker
    indexes and searches each version at its own size); None leaves the search service's default.

    The old version stays until ``retire_blind_index_keys``: search keeps using it while the new version's
    index rows are backfilled. Refuses while two versions are already present (finish that rotation first).
    """
    with keyring_lock(key_dir):
        document = _read_document(key_dir)
        keys = load_keys(key_dir)
        if len(keys.blind_index_keys) > 1:
            raise KeyringError("a blind-index key rotation is already under way; finish it first")
        version = max(keys.blind_index_keys) + 1
        index_keys = {str(v): _b64(k) for v, k in keys.blind_index_keys.items()}
        new_key = _b64(secrets.token_bytes(32))
        index_keys[str(version)] = new_key
        document["blind_index_keys"] = index_keys
        document["blind_index_active"] = version
        if bits is not None:
            document["blind_index_bits"] = {**document.get("blind_index_bits", {}), str(version): bits}
        # The legacy slot always holds the active key, so the document stays readable as before.
        document["blind_index_key"] = new_key
        write_private_json(key_dir / KEYRING_FILE, document)
        load_keys(key_dir)
    return version


def retire_blind_index_keys(key_dir: Path) -> list[int]:
    """Remove every blind-index key version but the active one; return the versions removed.

    The caller first deletes the index rows made with them (portal.services.search.finish_rotation).
    """
    with keyring_lock(key_dir):
        document = _read_document(key_dir)
        keys = load_keys(key_dir)
        active = keys.active_blind_index_version
        removed = sorted(v for v in keys.blind_index_keys if v != active)
        document["blind_index_keys"] = {str(active): _b64(keys.blind_index_keys[active])}
        document["blind_index_active"] = active
        if active in keys.blind_index_bits:
            document["blind_index_bits"] = {str(active): keys.blind_index_bits[active]}
        else:
            document.pop("blind_index_bits", None)
        write_private_json(key_dir / KEYRING_FILE, document)
        load_keys(key_dir)
    return removed


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class KeyRing:
    """Wraps and unwraps data keys and encrypts and decrypts fields. Built once per app."""

    def __init__(self, keys: Keys) -> None:
        self._keys = keys
        # Replaced as a whole (never mutated) so readers on other threads always see a consistent dict.
        self._keks = {kid: AESGCM(k) for kid, k in keys.keks.items()}
        # (active version, {version: key}, {version: bits}), replaced as a whole like _keks.
        self._index: tuple[int, dict[int, bytes], dict[int, int]] = (
            keys.active_blind_index_version,
            dict(keys.blind_index_keys),
            dict(keys.blind_index_bits),
        )
        self._reload_lock = threading.Lock()
        self._stamp = _file_stamp(keys.source / KEYRING_FILE) if keys.source else None

    @property
    def development(self) -> bool:
        return self._keys.development

    @property
    def audit_key(self) -> bytes:
        return self._keys.audit_key

    @property
    def active_kek_id(self) -> str:
        return self._keys.active_kek_id

    def blind_index_keys(self) -> tuple[int, dict[int, bytes]]:
        """Return (active version, {version: key}) for blind indexes, as the keyring file holds them now.

        Re-reads the file if it changed (one stat otherwise), so a worker started before `keys
        rotate-blind-index` indexes and searches under the new version too, and stops using a retired one.
        """
        self._reload()
        active, keys, _bits = self._index
        return active, dict(keys)

    def blind_index_versions(self) -> tuple[int, dict[int, bytes], dict[int, int]]:
        """Return (active version, {version: key}, {version: bits}) from one reading of the keyring, so a
        version's key is never used with another reading's size. Bits are only those recorded."""
        self._reload()
        active, keys, bits = self._index
        return active, dict(keys), dict(bits)

    @property
    def kek_ids(self) -> frozenset[str]:
        """Every KEK this keyring can unwrap with (the active one and any older ones)."""
        return frozenset(self._keks)

    def _pick_up_new_keks(self) -> None:
        """Re-read the keyring file, if it changed, and add KEKs it holds that this keyring lacks.

        A web worker started before `keys rotate-kek` meets data keys rewrapped under the new KEK: it can
        read them without a restart. The active KEK is left alone (new data keys are wrapped by the KEK the
        process started with until it restarts), and KEKs removed from the file are kept in memory.
        """
        self._reload()

    def _reload(self) -> None:
        """Re-read the keyring file if it changed: merge in new KEKs, take its blind-index keys as they are."""
        source = self._keys.source
        if source is None:
            return
        with self._reload_lock:
            stamp = _file_stamp(source / KEYRING_FILE)
            if stamp is None or stamp == self._stamp:
                return
            self._stamp = stamp
            try:
                fresh = load_keys(source)
            except (KeyringError, OSError):
                return  # unreadable now: carry on with the keys loaded at start-up
            known = self._index[1]
            shared = fresh.blind_index_keys.keys() & known.keys()
            if fresh.audit_key != self._keys.audit_key or any(fresh.blind_index_keys[v] != known[v] for v in shared):
                return  # a different keyring altogether: not ours to merge
            added = {kid: AESGCM(k) for kid, k in fresh.keks.items() if kid not in self._keks}
            if added:
                self._keks = {**self._keks, **added}
            # Replaced whole: a version retired from the file (rotation finished) is no longer used.
            self._index = (
                fresh.active_blind_index_version,
                dict(fresh.blind_index_keys),
                dict(fresh.blind_index_bits),
            )

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
        """Decrypt a wrapped DEK with whichever KEK wrapped it; raise DecryptionError if it was destroyed
        or does not authenticate, KeyringError if that KEK is in neither this keyring nor the key file."""
        if wrapped is None:
            raise DecryptionError("the data key has been destroyed")
        kek = self._keks.get(kek_id)
        if kek is None:
            self._pick_up_new_keks()
            kek = self._keks.get(kek_id)
        if kek is None:
            raise KeyringError(f"key-encryption key {kek_id} is not in the keyring")
        try:
            return kek.decrypt(wrapped[:_NONCE_LEN], wrapped[_NONCE_LEN:], _wrap_aad(dek_id, kek_id))
        except InvalidTag as exc:
            raise DecryptionError("a data key failed to unwrap") from exc

    def rewrap(self, dek_id: str, kek_id: str, wrapped: bytes | None) -> tuple[str, bytes]:
        """Unwrap a DEK with its KEK and wrap it again under the active KEK; return (new kek id, wrapped)."""
        active = self._keys.active_kek_id
        return active, self.wrap(dek_id, self.unwrap(dek_id, kek_id, wrapped), active)

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
