"""docs/threats.md#properties 5, 11 and 24, each tested over the real stores."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url

from portal.domain.models import NoticeDraft, Role, new_id
from portal.infrastructure.crypto import KEYRING_FILE, FieldBinding, KeyRing
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import (
    Accounts,
    appendix1_answers,
    contact_id,
    csrf_from,
    database_bytes,
    raise_notice,
    sign_in,
)

_HEADER = 17  # version byte and the data key's id
_NONCE = 12


def test_encryption_is_non_deterministic_and_nonces_never_repeat(app: Flask) -> None:
    """Property 5: 10,000 encryptions of one value under one key give 10,000 different nonces and ciphertexts."""
    keyring = portal_services(app).keyring
    dek_id = new_id()
    dek, _wrapped = keyring.new_data_key(dek_id)
    binding = FieldBinding("notice_answer", "child_name", new_id())
    sealed = [KeyRing.encrypt(dek_id, dek, b"Zyxqoria Canarytest", binding) for _ in range(10_000)]
    nonces = {c[_HEADER : _HEADER + _NONCE] for c in sealed}
    assert len(nonces) == 10_000 and len(set(sealed)) == 10_000
    assert all(KeyRing.decrypt(dek, c, binding) == b"Zyxqoria Canarytest" for c in sealed[:100])


def _key_material(value: object) -> list[bytes]:
    """Every 32-byte key in the keyring document, as raw bytes."""
    found: list[bytes] = []
    if isinstance(value, dict):
        for item in value.values():
            found += _key_material(item)
    elif isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            return found
        if len(raw) == 32:
            found.append(raw)
    return found


def test_keys_and_totp_seeds_are_never_in_the_database(app: Flask, accounts: Accounts) -> None:
    """Property 11: no key-encryption, audit or blind-index key, signing key or TOTP seed is in the database."""
    account = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    client = app.test_client()
    sign_in(client, app, account)
    _notice_id, reference = raise_notice(client, appendix1_answers(contact_id(app, "Rochdale Children's Social Care")))
    dumped = database_bytes(app)
    assert reference.encode() in dumped

    key_dir = Path(app.config["KEY_DIR"])
    keys = _key_material(json.loads((key_dir / KEYRING_FILE).read_text()))
    assert len(keys) >= 3  # at least a KEK, the audit key and the blind-index key
    for raw in keys:
        for form in (raw, base64.b64encode(raw), raw.hex().encode(), base64.b32encode(raw)):
            assert form not in dumped, "a key from the keyring is in the database"
    signing_key = (key_dir / "signing-key.pem").read_text().splitlines()
    assert all(line.encode() not in dumped for line in signing_key[1:-1] if len(line) > 20)
    seed = account.totp_secret
    for form in (seed.encode(), seed.lower().encode(), base64.b32decode(seed + "=" * (-len(seed) % 8))):
        assert form not in dumped, "a TOTP seed is in the database"


def test_a_deleted_draft_leaves_no_residue_in_the_database_file(app: Flask, accounts: Accounts) -> None:
    """Property 24 (SQLite): with secure_delete, a submitted (deleted) draft's bytes are gone from the file."""
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL leaves dead tuples until VACUUM; crypto-shredding (property 10) answers it there")
    client = app.test_client()
    sign_in(client, app, accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub"))
    page = client.get("/notices/new")
    draft_url = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    page = client.get(draft_url)
    answers = appendix1_answers(contact_id(app, "Rochdale Children's Social Care"))
    assert client.post(draft_url, data={**answers, "csrf_token": csrf_from(page.text)}).status_code == 302
    with session_factory(app)() as db:
        residue = db.execute(select(NoticeDraft.answers_ct)).scalar_one()
    assert residue is not None and len(residue) > 200
    check_url = f"{draft_url}/check"
    page = client.get(check_url)
    assert client.post(check_url, data={"csrf_token": csrf_from(page.text)}).status_code == 302
    with session_factory(app)() as db:
        assert db.execute(select(NoticeDraft)).first() is None
    # Move the WAL's pages into the file, as SQLite does on its own at a checkpoint.
    with sqlite3.connect(url.database or "") as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    database = Path(url.database or "")
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    # Any 64-byte stretch of the deleted draft's ciphertext would be residue.
    assert all(residue[i : i + 64] not in stored for i in range(0, len(residue) - 64, 64))


def test_error_pages_and_logs_hold_no_identifiers(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Property 2: a fault while case data is in hand shows and logs nothing of the child."""
    from portal.services import documents
    from tests.helpers import CANARY_NAME, CANARY_NARRATIVE, CANARY_NHS

    caplog.set_level(logging.DEBUG)
    raiser = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    client = app.test_client()
    sign_in(client, app, raiser)
    notice_id, _reference = raise_notice(client, appendix1_answers(contact_id(app, "Rochdale Children's Social Care")))

    def fault(*_args: object, **_kwargs: object) -> None:
        # The worst case: an exception whose message carries the child's details.
        raise ValueError(f"cannot format {CANARY_NAME} {CANARY_NHS} {CANARY_NARRATIVE}")

    monkeypatch.setattr(documents, "shown_answers", fault)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error handler answers
    response = client.get(f"/notices/{notice_id}")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Sorry, there is a problem with the service" in page
    logged = Path(app.config["LOG_FILE"]).read_text(encoding="utf-8", errors="replace")
    logged += "\n".join(record.getMessage() for record in caplog.records)
    assert "unhandled ValueError" in logged  # the fault itself is logged: class and place
    for secret in (CANARY_NAME, "Canarytest", CANARY_NHS, CANARY_NHS.replace(" ", ""), CANARY_NARRATIVE):
        assert secret not in page and secret not in logged
    assert notice_id not in response.headers.get("Location", "")


def test_swapped_ciphertexts_give_a_controlled_and_audited_failure(app: Flask, accounts: Accounts) -> None:
    """Property 3 at the application: a child's name moved onto another notice is refused, not shown."""
    from portal.domain.models import AuditEvent, NoticeAnswer
    from tests.helpers import CANARY_NAME

    raiser = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    client = app.test_client()
    sign_in(client, app, raiser)
    target = contact_id(app, "Rochdale Children's Social Care")
    first, _ = raise_notice(client, appendix1_answers(target))
    second, _ = raise_notice(client, appendix1_answers(target, child_name="Another Child"))
    with session_factory(app)() as db:
        moved = db.execute(
            select(NoticeAnswer).where(NoticeAnswer.notice_id == first, NoticeAnswer.field_name == "child_name")
        ).scalar_one()
        victim = db.execute(
            select(NoticeAnswer).where(NoticeAnswer.notice_id == second, NoticeAnswer.field_name == "child_name")
        ).scalar_one()
        victim.value_ct = moved.value_ct  # what a DBA or an injected UPDATE could do
        db.commit()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get(f"/notices/{second}")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "This notice cannot be shown" in page
    assert CANARY_NAME not in page and "Another Child" not in page
    assert client.get(f"/notices/{first}").status_code == 200  # the untouched notice still reads
    with session_factory(app)() as db:
        failures = db.execute(select(AuditEvent).where(AuditEvent.action == "notice.integrity")).scalars().all()
        assert [(f.outcome, f.object_id, f.actor_id) for f in failures] == [("failed", second, raiser.id)]
