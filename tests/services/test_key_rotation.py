"""Key rotation (docs/threats.md#properties: 6, 7, 10 and 11): rewrapping the KEK touches no data; data keys
rotate online, resumably, with readers and writers running; destroyed keys stay destroyed."""

from __future__ import annotations

import functools
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, func, insert, select

from portal import create_app
from portal.domain.models import (
    DataKey,
    Notice,
    NoticeAnswer,
    NoticeDocument,
    NoticeDraft,
    Role,
    SafetyCheck,
    User,
    new_id,
    utcnow,
)
from portal.infrastructure.crypto import KEYRING_FILE, DecryptionError, KeyRing, add_kek, generate_keyring, load_keys
from portal.services import accounts as account_service
from portal.services import documents, raising, record, vault
from portal.services import keys as key_service
from portal.services.errors import ConfigurationError
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import CANARY_NAME

ROOT = Path(__file__).resolve().parents[2]
NOTICES = 10_000


@pytest.fixture
def key_dir(key_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session's keys: these tests rewrite the keyring."""
    target = tmp_path / "keys"
    shutil.copytree(key_dir, target)
    return target


# -- building notices fast ----------------------------------------------------------------------------


def expected_answers(i: int) -> dict[str, str]:
    return {
        "child_name": f"Child {i:07d} {CANARY_NAME}",
        "nhs_number": f"999{i:07d}",
        "summary_of_disagreement": f"Disagreement narrative number {i}",
    }


def expected_pdf(i: int) -> bytes:
    return b"%PDF-1.7\n%rotation test\n" + f"notice {i}\n".encode() * 8


def _notice_rows(keyring: KeyRing, user: User, check_id: str, i: int, now: Any) -> tuple[str, dict, dict, list, dict]:
    notice_id, key_id = new_id(), new_id()
    dek, wrapped = keyring.new_data_key(key_id)
    key = {"id": key_id, "kek_id": keyring.active_kek_id, "wrapped": wrapped, "purpose": "notice", "created_at": now}
    notice = {
        "id": notice_id,
        "reference": f"ROT-{i:07d}",
        "partnership_id": user.partnership_id,
        "form_code": "rochdale-appendix-1",
        "procedure_version": "test",
        "stage": "stage-3",
        "status": "open",
        "raised_by_id": user.id,
        "raising_agency_id": user.agency_id,
        "data_key_id": key_id,
        "safety_check_id": check_id,
        "date_of_notification": date(2026, 11, 20),
        "submitted_at": now,
        "updated_at": now,
    }
    answers = [
        {
            "notice_id": notice_id,
            "field_name": name,
            "value_ct": vault.seal_text(key_id, dek, value, table="notice_answer", field=name, row_id=notice_id),
        }
        for name, value in expected_answers(i).items()
    ]
    document = {
        "notice_id": notice_id,
        "version": 1,
        "pdf_ct": vault.seal_bytes(
            key_id, dek, expected_pdf(i), table="notice_document", field="pdf/v1", row_id=notice_id
        ),
        "created_at": now,
    }
    return notice_id, key, notice, answers, document


def seed_notices(app: Flask, count: int, *, first: int = 0) -> dict[str, int]:
    """Insert notices straight into the tables (bulk, one commit): {notice id: its number i}."""
    keyring = portal_services(app).keyring
    with session_factory(app)() as db:
        user = db.execute(select(User).where(User.role == Role.PRACTITIONER.value).order_by(User.id)).scalars().first()
        check = SafetyCheck(user_id=user.id, partnership_id=user.partnership_id, immediate_risk=False)
        db.add(check)
        db.flush()
        now = utcnow()
        index, keys, rows, answers, documents = {}, [], [], [], []
        for i in range(first, first + count):
            notice_id, key, notice, notice_answers, document = _notice_rows(keyring, user, check.id, i, now)
            index[notice_id] = i
            keys.append(key)
            rows.append(notice)
            answers.extend(notice_answers)
            documents.append(document)
        db.execute(insert(DataKey), keys)
        db.execute(insert(Notice), rows)
        db.execute(insert(NoticeAnswer), answers)
        db.execute(insert(NoticeDocument), documents)
        db.commit()
    return index


def start_real_draft(app: Flask, account_id: int, answers: dict[str, str]) -> str:
    """A draft through the real service: its own data key, answers sealed as one ciphertext."""
    services = portal_services(app)
    with session_factory(app)() as db:
        user = db.get(User, account_id)
        check = raising.record_safety_check(db, services, user, immediate_risk=False)
        draft = raising.start_draft(db, services, user, check.id)
        raising.save_draft(db, services, user, draft.id, answers)
        return draft.id


def add_pdf_version(app: Flask, notice_id: str, version: int, content: bytes) -> None:
    services = portal_services(app)
    with session_factory(app)() as db:
        notice = db.get(Notice, notice_id)
        dek = vault.data_key(db, services.keyring, notice.data_key_id)
        ct = vault.seal_bytes(
            notice.data_key_id, dek, content, table="notice_document", field=f"pdf/v{version}", row_id=notice_id
        )
        db.add(NoticeDocument(notice_id=notice_id, version=version, pdf_ct=ct))
        db.commit()


def read_everything(app: Flask, keyring: KeyRing) -> tuple[dict[str, dict[str, str]], dict[tuple[str, int], bytes]]:
    """Decrypt every answer and every PDF version of every notice with the given keyring (bulk)."""
    with session_factory(app)() as db:
        keys = {row.id: row for row in db.execute(select(DataKey.id, DataKey.kek_id, DataKey.wrapped))}
        owner_key = dict(db.execute(select(Notice.id, Notice.data_key_id)).all())
        answer_rows = db.execute(select(NoticeAnswer.notice_id, NoticeAnswer.field_name, NoticeAnswer.value_ct)).all()
        document_rows = db.execute(
            select(NoticeDocument.notice_id, NoticeDocument.version, NoticeDocument.pdf_ct)
        ).all()
    deks: dict[str, bytes] = {}

    def dek_of(notice_id: str) -> bytes:
        key_id = owner_key[notice_id]
        if key_id not in deks:
            key = keys[key_id]
            deks[key_id] = keyring.unwrap(key.id, key.kek_id, key.wrapped)
        return deks[key_id]

    answers: dict[str, dict[str, str]] = {nid: {} for nid in owner_key}
    for row in answer_rows:
        assert KeyRing.dek_id_of(row.value_ct) == owner_key[row.notice_id]
        answers[row.notice_id][row.field_name] = vault.open_text(
            dek_of(row.notice_id), row.value_ct, table="notice_answer", field=row.field_name, row_id=row.notice_id
        )
    pdfs = {}
    for row in document_rows:
        assert KeyRing.dek_id_of(row.pdf_ct) == owner_key[row.notice_id]
        pdfs[(row.notice_id, row.version)] = vault.open_bytes(
            dek_of(row.notice_id),
            row.pdf_ct,
            table="notice_document",
            field=f"pdf/v{row.version}",
            row_id=row.notice_id,
        )
    return answers, pdfs


def assert_all_read_back(app: Flask, keyring: KeyRing, index: dict[str, int]) -> None:
    answers, pdfs = read_everything(app, keyring)
    for notice_id, i in index.items():
        assert answers[notice_id] == expected_answers(i), notice_id
        assert pdfs[(notice_id, 1)] == expected_pdf(i), notice_id


def ciphertext_snapshot(app: Flask) -> dict[tuple[str, Any], bytes]:
    with session_factory(app)() as db:
        snapshot: dict[tuple[str, Any], bytes] = {}
        for model, column in (
            (NoticeAnswer, NoticeAnswer.value_ct),
            (NoticeDocument, NoticeDocument.pdf_ct),
            (NoticeDraft, NoticeDraft.answers_ct),
            (User, User.totp_secret_ct),
        ):
            for pk, value in db.execute(select(model.id, column)):
                snapshot[(model.__tablename__, pk)] = value
    return snapshot


def live_keys(app: Flask) -> dict[str, tuple[str, bytes]]:
    with session_factory(app)() as db:
        rows = db.execute(select(DataKey.id, DataKey.kek_id, DataKey.wrapped).where(DataKey.wrapped.is_not(None)))
        return {row.id: (row.kek_id, row.wrapped) for row in rows}


def read_notice(app: Flask, notice_id: str) -> tuple[dict[str, str], bytes]:
    """Read a notice through the portal's own read functions, with the read retry."""
    services = portal_services(app)
    with session_factory(app)() as db:
        notice = db.get(Notice, notice_id)
        answers = vault.open_with_retry(db, functools.partial(record.answers, db, services, notice))
        _version, pdf = vault.open_with_retry(db, functools.partial(documents.open_version, db, services, notice, 1))
    return answers, pdf


# -- property 7: KEK rotation ---------------------------------------------------------------------------


def test_rewrapping_the_kek_touches_no_data(app: Flask, accounts, key_dir: Path) -> None:
    practitioner = accounts.make(Role.PRACTITIONER)
    spoc = accounts.make(Role.SPOC)
    index = seed_notices(app, 40)
    draft_id = start_real_draft(app, practitioner.id, {"child_name": CANARY_NAME})
    sessions = session_factory(app)
    ciphertexts = ciphertext_snapshot(app)
    wrapped_before = live_keys(app)
    old_kek = load_keys(key_dir).active_kek_id
    assert {kek for kek, _ in wrapped_before.values()} == {old_kek}

    # A rotation interrupted after one batch: a new active KEK, 5 data keys rewrapped, the rest not yet.
    report = key_service.rotate_kek(sessions, key_dir, batch_size=5, stop_after_batches=1)
    assert report.added_kek and not report.finished and report.rewrapped == 5
    new_kek = load_keys(key_dir).active_kek_id
    assert new_kek != old_kek and set(load_keys(key_dir).keks) == {old_kek, new_kek}
    with pytest.raises(key_service.RotationError, match="still wrapped"):
        key_service.retire_kek(sessions, key_dir, old_kek)
    # The running app loaded only the old KEK; it reads keys rewrapped under the new one meanwhile.
    assert portal_services(app).keyring.active_kek_id == old_kek
    assert_all_read_back(app, portal_services(app).keyring, index)

    # Rerunning the command resumes (no third KEK) and finishes.
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "rotate-kek", "--batch-size", "7"])
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and re.search(r"rewrapped \d+/\d+ data keys", result.output)
    assert load_keys(key_dir).active_kek_id == new_kek and len(load_keys(key_dir).keks) == 2

    assert ciphertext_snapshot(app) == ciphertexts, "a KEK rotation must not touch any field ciphertext"
    wrapped_after = live_keys(app)
    assert wrapped_after.keys() == wrapped_before.keys()
    for key_id, (kek, wrapped) in wrapped_after.items():
        assert kek == new_kek and wrapped != wrapped_before[key_id][1]

    result = runner.invoke(args=["keys", "retire-kek", new_kek])
    assert result.exit_code != 0 and "active" in result.output
    # A web worker not yet restarted still wraps new data keys with the old KEK: retiring it is refused
    # until `keys rewrap` (which never adds a KEK) has rewrapped them.
    with sessions() as db:
        straggler, _dek = vault.create_data_key(db, portal_services(app).keyring, purpose="notice")
        db.commit()
        assert straggler.kek_id == old_kek
    result = runner.invoke(args=["keys", "retire-kek", old_kek])
    assert result.exit_code != 0 and "1 data keys are still wrapped" in result.output and "keys rewrap" in result.output
    result = runner.invoke(args=["keys", "rewrap"])
    assert result.exit_code == 0 and "rewrapped 1/1 data keys" in result.output, result.output
    result = runner.invoke(args=["keys", "rewrap"])
    assert result.exit_code == 0 and "already wrapped by the active KEK" in result.output, result.output
    assert len(load_keys(key_dir).keks) == 2
    result = runner.invoke(args=["keys", "retire-kek", old_kek])
    assert result.exit_code == 0, result.output
    keys_now = load_keys(key_dir)
    assert set(keys_now.keks) == {new_kek} and keys_now.development is True
    assert stat.S_IMODE((key_dir / KEYRING_FILE).stat().st_mode) == 0o600
    assert not [p.name for p in key_dir.iterdir() if p.name.endswith(".tmp")]
    assert old_kek.encode() not in (key_dir / KEYRING_FILE).read_bytes()

    # Everything still decrypts: with a keyring that never held the old KEK, and through the running app.
    fresh = KeyRing(keys_now)
    assert_all_read_back(app, fresh, index)
    for notice_id in list(index)[:3]:
        answers, pdf = read_notice(app, notice_id)
        assert answers == expected_answers(index[notice_id]) and pdf == expected_pdf(index[notice_id])
    services = portal_services(app)
    with sessions() as db:
        assert account_service.totp_secret(db, fresh, db.get(User, spoc.id)) == spoc.totp_secret
        _draft, draft_answers = raising.get_draft(db, services, db.get(User, practitioner.id), draft_id)
        assert draft_answers["child_name"] == CANARY_NAME

    status = runner.invoke(args=["keys", "status"])
    assert status.exit_code == 0 and f"Active KEK: {new_kek}" in status.output


def test_the_keyring_refuses_development_keys_in_production_after_a_kek_rotation(
    app_config: dict, tmp_path: Path
) -> None:
    # tests/test_config.py covers a fresh keyring; here the flag must survive the rewrite of keyring.json.
    development = Path(app_config["KEY_DIR"])
    add_kek(development)
    assert load_keys(development).development is True
    with pytest.raises(ConfigurationError, match="development keyring"):
        create_app(
            {
                **app_config,
                "ENV": "production",
                "MAILER": "smtp",
                "BASE_URL": "https://portal.example",
                "SECRET_KEY": "p" * 40,
            }
        )
    production = tmp_path / "prodkeys"
    generate_keyring(production, development=False)
    first = load_keys(production).active_kek_id
    second = add_kek(production)
    keys = load_keys(production)
    assert keys.development is False and keys.active_kek_id == second and set(keys.keks) == {first, second}
    assert stat.S_IMODE((production / KEYRING_FILE).stat().st_mode) == 0o600


# -- property 6: DEK rotation, online and resumable ---------------------------------------------------


def test_ciphertext_cannot_be_read_after_its_data_key_is_destroyed(app: Flask, accounts, key_dir: Path) -> None:
    practitioner = accounts.make(Role.PRACTITIONER)
    index = seed_notices(app, 5)
    first = next(iter(index))
    add_pdf_version(app, first, 2, b"%PDF-1.7 second version")
    draft_id = start_real_draft(app, practitioner.id, {"child_name": CANARY_NAME, "p_number": "P778899"})
    services = portal_services(app)
    sessions = session_factory(app)
    with sessions() as db:
        old_key = {nid: db.get(Notice, nid).data_key_id for nid in index}
        old_draft_key = db.get(NoticeDraft, draft_id).data_key_id
        old_user_key = db.get(User, practitioner.id).data_key_id
    before = ciphertext_snapshot(app)

    report = key_service.rotate_data_keys(sessions, services.keyring, cutoff=utcnow(), batch_size=2)
    assert report.finished and not report.failed
    assert report.rotated == report.total == len(index) + 1 + 1  # notices, the draft, the user

    with sessions() as db:
        user = db.get(User, practitioner.id)
        assert user.data_key_id != old_user_key
        assert account_service.totp_secret(db, services.keyring, user) == practitioner.totp_secret
        _draft, draft_answers = raising.get_draft(db, services, user, draft_id)
        assert draft_answers == {"child_name": CANARY_NAME, "p_number": "P778899"}
        assert db.get(NoticeDraft, draft_id).data_key_id != old_draft_key
        for old in [*old_key.values(), old_draft_key, old_user_key]:
            row = db.get(DataKey, old)
            assert row.wrapped is None and row.destroyed_at is not None
            with pytest.raises(DecryptionError, match="destroyed"):
                vault.data_key(db, services.keyring, old)
        notice = db.get(Notice, first)
        assert notice.data_key_id != old_key[first]
        assert documents.open_version(db, services, notice, 2) == (2, b"%PDF-1.7 second version")
        new_dek = vault.data_key(db, services.keyring, notice.data_key_id)
        old_answer = next(a for a in notice.answers if a.field_name == "child_name")
        old_ct = before[("notice_answer", old_answer.id)]
        assert KeyRing.dek_id_of(old_ct) == old_key[first]
        # The old ciphertext (from a backup, say) is unreadable: its key is gone, and the new key is not it.
        with pytest.raises(DecryptionError):
            vault.open_text(new_dek, old_ct, table="notice_answer", field="child_name", row_id=first)
        # Read through the retry, it still fails (the retry is for rotation races, not for lost keys).
        with pytest.raises(DecryptionError):
            vault.open_with_retry(
                db, lambda: vault.open_text(new_dek, old_ct, table="notice_answer", field="child_name", row_id=first)
            )
        # Putting the old ciphertext back (restoring a row from a backup) is refused: its key is destroyed.
        old_answer.value_ct = old_ct
        with pytest.raises(vault.DataKeyDestroyedError):
            db.flush()
        db.rollback()
    for notice_id, i in index.items():
        answers, pdf = read_notice(app, notice_id)
        assert answers == expected_answers(i) and pdf == expected_pdf(i)
    after = ciphertext_snapshot(app)
    assert all(after[k] != v for k, v in before.items()), "every ciphertext is re-encrypted"


def test_a_reader_that_loaded_a_notice_before_its_key_rotated_still_reads_it(app: Flask, accounts) -> None:
    accounts.make(Role.PRACTITIONER)
    index = seed_notices(app, 2)
    first, second = index
    services = portal_services(app)
    sessions = session_factory(app)
    with sessions() as reader_a, sessions() as reader_b:
        # Loaded just before the swap: one notice row alone; another with its (old) data key too.
        stale_row = reader_a.get(Notice, first)
        stale_key = reader_b.get(Notice, second)
        vault.data_key(reader_b, services.keyring, stale_key.data_key_id)
        key_service.rotate_data_keys(sessions, services.keyring, cutoff=utcnow(), purposes=("notice",))

        # The portal's reads retry once on a DecryptionError, after reloading the key material.
        assert record.answers(reader_a, services, stale_row) == expected_answers(index[first])
        assert documents.open_version(reader_b, services, stale_key) == (1, expected_pdf(index[second]))


def test_a_write_racing_a_data_key_rotation_is_kept_or_refused_never_lost(app: Flask, accounts) -> None:
    accounts.make(Role.PRACTITIONER)
    index = seed_notices(app, 2)
    first, second = index
    services = portal_services(app)
    sessions = session_factory(app)

    def stage_pdf_v2(db: Any, notice_id: str) -> None:
        notice = db.get(Notice, notice_id)
        dek = vault.data_key(db, services.keyring, notice.data_key_id)
        ct = vault.seal_bytes(notice.data_key_id, dek, b"v2", table="notice_document", field="pdf/v2", row_id=notice_id)
        db.add(NoticeDocument(notice_id=notice_id, version=2, pdf_ct=ct))

    # The rotation commits between the writer sealing under the old key and the writer saving: refused.
    with sessions() as writer:
        stage_pdf_v2(writer, first)
        key_service.rotate_data_keys(sessions, services.keyring, cutoff=utcnow(), purposes=("notice",))
        with pytest.raises(vault.DataKeyDestroyedError):
            writer.commit()
    assert read_notice(app, first) == (expected_answers(index[first]), expected_pdf(index[first]))
    with sessions() as db:
        assert db.execute(select(func.count()).where(NoticeDocument.notice_id == first)).scalar_one() == 1

    # The writer has flushed (holding its lock) when the rotation starts: the rotation waits, then includes it.
    cutoff = utcnow()
    with sessions() as writer:
        stage_pdf_v2(writer, second)
        writer.flush()
        done = threading.Event()

        def rotate() -> None:
            key_service.rotate_data_keys(sessions, services.keyring, cutoff=cutoff, purposes=("notice",))
            done.set()

        rotation = threading.Thread(target=rotate)
        rotation.start()
        time.sleep(0.5)
        assert not done.is_set(), "the rotation must wait for the writer's transaction"
        writer.commit()
    rotation.join(timeout=30)
    assert done.is_set()
    with sessions() as db:
        notice = db.get(Notice, second)
        assert db.get(DataKey, notice.data_key_id).created_at > cutoff
        assert documents.open_version(db, services, notice, 2) == (2, b"v2")


def test_data_key_rotation_refuses_a_ciphertext_column_it_does_not_know() -> None:
    key_service.check_schema_is_covered()
    metadata = MetaData()
    Table("notice_comment", metadata, Column("id", Integer, primary_key=True), Column("body_ct", LargeBinary))
    with pytest.raises(key_service.RotationError, match="notice_comment.body_ct"):
        key_service.check_schema_is_covered(metadata)


def test_a_resumed_rotation_keeps_its_cutoff(key_dir: Path) -> None:
    cutoff = utcnow() - timedelta(hours=1)
    state, resumed = key_service.plan_data_key_rotation(key_dir, purposes=("notice", "user"), before=cutoff)
    assert not resumed and state.cutoff == cutoff
    saved = json.loads((key_dir / key_service.ROTATION_STATE_FILE).read_text())
    assert saved["cutoff"] == cutoff.isoformat()
    assert stat.S_IMODE((key_dir / key_service.ROTATION_STATE_FILE).stat().st_mode) == 0o600
    again, resumed = key_service.plan_data_key_rotation(key_dir, purposes=("user", "notice"))
    assert resumed and again.cutoff == cutoff
    with pytest.raises(key_service.RotationError, match="--purpose all"):
        key_service.plan_data_key_rotation(key_dir, purposes=("notice",))
    with pytest.raises(key_service.RotationError, match="unfinished"):
        key_service.plan_data_key_rotation(key_dir, purposes=("notice", "user"), before=utcnow())
    with pytest.raises(key_service.RotationError, match="future"):
        key_service.plan_data_key_rotation(
            key_dir, purposes=("notice",), before=utcnow() + timedelta(minutes=5), restart=True
        )
    key_service.clear_rotation_state(key_dir)
    assert key_service.read_rotation_state(key_dir) is None


# -- the acceptance test ----------------------------------------------------------------------------------


def _flask_keys(app: Flask, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """`flask --app portal keys …` in a separate process, on this test's database and keys."""
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
        "PORTAL_KEY_DIR": app.config["KEY_DIR"],
        "PORTAL_SECRET_KEY": app.config["SECRET_KEY"],
        "PORTAL_LOG_FILE": str(tmp_path / "cli.log"),
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "portal", "keys", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


class Traffic:
    """A reader decrypting random notices and a writer raising new ones, until stopped."""

    def __init__(self, app: Flask, index: dict[str, int]) -> None:
        self.app = app
        self.services = portal_services(app)
        self.sessions = session_factory(app)
        self.index = index
        self.ids = list(index)
        self.stop = threading.Event()
        self.reads = 0
        self.attempts = 0
        self.read_failures: list[str] = []
        self.written: dict[str, int] = {}
        self.written_keys: dict[str, str] = {}
        self.write_failures: list[str] = []
        self.threads = [threading.Thread(target=self._read_loop), threading.Thread(target=self._write_loop)]

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _read_once(self, rng: random.Random) -> None:
        notice_id = rng.choice(self.ids)
        with self.sessions() as db:
            notice = db.get(Notice, notice_id)
            time.sleep(0.001)  # widen the window in which a rotation can commit under this reader

            def read() -> dict[str, str]:
                self.attempts += 1
                return record.answers(db, self.services, notice)

            answers = vault.open_with_retry(db, read)
            if answers != expected_answers(self.index[notice_id]):
                self.read_failures.append(f"{notice_id}: wrong answers")
            if self.reads % 10 == 0:
                pdf = vault.open_with_retry(db, functools.partial(documents.open_version, db, self.services, notice))
                if pdf != (1, expected_pdf(self.index[notice_id])):
                    self.read_failures.append(f"{notice_id}: wrong PDF")
        self.reads += 1

    def _read_loop(self) -> None:
        rng = random.Random(6)
        while not self.stop.is_set():
            try:
                self._read_once(rng)
            except Exception as exc:  # every failure is the finding
                self.read_failures.append(repr(exc))

    def _write_once(self, i: int) -> None:
        with self.sessions() as db:
            user = db.execute(select(User).order_by(User.id)).scalars().first()
            check = db.execute(select(SafetyCheck.id)).scalars().first()
            key, dek = vault.create_data_key(db, self.services.keyring, purpose="notice")
            notice_id = new_id()
            db.add(
                Notice(
                    id=notice_id,
                    reference=f"WRT-{i:07d}",
                    partnership_id=user.partnership_id,
                    form_code="rochdale-appendix-1",
                    procedure_version="test",
                    stage="stage-3",
                    status="open",
                    raised_by_id=user.id,
                    data_key_id=key.id,
                    safety_check_id=check,
                    date_of_notification=date(2026, 11, 21),
                )
            )
            db.flush()
            for name, value in expected_answers(i).items():
                ct = vault.seal_text(key.id, dek, value, table="notice_answer", field=name, row_id=notice_id)
                db.add(NoticeAnswer(notice_id=notice_id, field_name=name, value_ct=ct))
            ct = vault.seal_bytes(
                key.id, dek, expected_pdf(i), table="notice_document", field="pdf/v1", row_id=notice_id
            )
            db.add(NoticeDocument(notice_id=notice_id, version=1, pdf_ct=ct))
            db.commit()
        self.written[notice_id] = i
        self.written_keys[notice_id] = key.id

    def _write_loop(self) -> None:
        i = 1_000_000
        while not self.stop.is_set():
            try:
                self._write_once(i)
            except Exception as exc:  # every failure is the finding
                self.write_failures.append(repr(exc))
            i += 1
            time.sleep(0.02)


@pytest.mark.xdist_group("rotation")
def test_key_rotation_runs_online_and_is_resumable(
    app: Flask, accounts, key_dir: Path, tmp_path: Path, record_property: Any
) -> None:
    practitioner = accounts.make(Role.PRACTITIONER)
    spoc = accounts.make(Role.SPOC)
    seeding = time.monotonic()
    index = seed_notices(app, NOTICES)
    seeded_in = time.monotonic() - seeding
    with session_factory(app)() as db:
        original_key = dict(db.execute(select(Notice.id, Notice.data_key_id)).all())
        original_user_key = dict(db.execute(select(User.id, User.data_key_id)).all())

    with Traffic(app, index) as traffic:
        time.sleep(0.3)  # the reader and the writer are running before the rotation starts
        # Run the real command and SIGKILL it once about half the keys are rotated.
        first = _flask_keys(app, tmp_path, "rotate-data-keys", "--batch-size", "200")
        watchdog = threading.Timer(120, first.kill)
        watchdog.start()
        output, began, cutoff, progress = [], None, None, (0, 0)
        assert first.stdout is not None
        for line in first.stdout:
            output.append(line)
            if line.startswith("starting the rotation"):
                began = time.monotonic()
                cutoff = datetime.fromisoformat(line.split("created before")[1].strip())
            match = re.search(r"rotated (\d+)/(\d+)", line)
            if match:
                progress = (int(match[1]), int(match[2]))
                if progress[0] * 2 >= progress[1]:
                    first.send_signal(signal.SIGKILL)
                    break
        killed_at = time.monotonic()
        first.wait(timeout=30)
        watchdog.cancel()
        first.stdout.close()
        assert first.returncode == -signal.SIGKILL, "".join(output)
        assert began is not None and cutoff is not None and progress[0] < progress[1], "".join(output)
        assert (key_dir / key_service.ROTATION_STATE_FILE).exists()
        with session_factory(app)() as db:
            destroyed = db.execute(
                select(func.count()).where(DataKey.id.in_(original_key.values()), DataKey.wrapped.is_(None))
            ).scalar_one()
        assert NOTICES // 4 < destroyed < NOTICES, "the run was killed part way through"

        # Resume: the same command again, continuing with the saved cutoff.
        second = _flask_keys(app, tmp_path, "rotate-data-keys", "--batch-size", "200")
        resumed_output, _ = second.communicate(timeout=120)
        assert second.returncode == 0, resumed_output
        assert "resuming the rotation" in resumed_output
        time.sleep(0.3)  # the writer adds a few notices after the rotation, too

    resumed_seconds = float(re.search(r"Rotated \d+ data keys in ([\d.]+) s", resumed_output)[1])
    rotation_seconds = (killed_at - began) + resumed_seconds
    figure = (
        f"{app.config['DATABASE_URL'].split(':')[0]}: rotated {NOTICES} notices in {rotation_seconds:.1f} s "
        f"({killed_at - began:.1f} s until the kill + {resumed_seconds:.1f} s resumed) under a concurrent reader "
        f"({traffic.reads} reads, {traffic.attempts - traffic.reads} retried) and writer "
        f"({len(traffic.written)} notices); seeding took {seeded_in:.1f} s"
    )
    record_property("rotation_seconds", round(rotation_seconds, 2))
    sys.stdout.write(figure + "\n")  # shown with -rP; the lead needs the figure

    assert traffic.read_failures == [] and traffic.reads > 0
    assert traffic.write_failures == [] and traffic.written
    assert not (key_dir / key_service.ROTATION_STATE_FILE).exists()
    with session_factory(app)() as db:
        now_key = dict(db.execute(select(Notice.id, Notice.data_key_id)).all())
        keys = {row.id: row for row in db.execute(select(DataKey)).scalars()}
        users = dict(db.execute(select(User.id, User.data_key_id)).all())
        for notice_id in index:
            assert now_key[notice_id] != original_key[notice_id]
            old = keys[original_key[notice_id]]
            assert old.wrapped is None and old.destroyed_at is not None
            assert keys[now_key[notice_id]].wrapped is not None
        for user_id, old_key in original_user_key.items():
            assert users[user_id] != old_key and keys[old_key].wrapped is None
        for account in (practitioner, spoc):
            secret = account_service.totp_secret(db, portal_services(app).keyring, db.get(User, account.id))
            assert secret == account.totp_secret
        written_before_cutoff = 0
        for notice_id, written_key in traffic.written_keys.items():
            assert keys[now_key[notice_id]].wrapped is not None
            if keys[written_key].created_at < cutoff:  # existed when the rotation began: rotated like the rest
                written_before_cutoff += 1
                assert now_key[notice_id] != written_key and keys[written_key].wrapped is None
            else:  # written during the rotation under a new key: left alone
                assert now_key[notice_id] == written_key
        assert written_before_cutoff < len(traffic.written)
    assert_all_read_back(app, portal_services(app).keyring, {**index, **traffic.written})
