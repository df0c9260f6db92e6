"""Retention and crypto-shredding (docs/threats.md#property-10; docs/retention.md): a notice past its retention
date and not on legal hold loses its data key, answers, PDFs and index rows; every path then says so plainly; and
a database backup from before the shredding stays readable only until the KEK that wrapped its keys is
retired."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import create_app
from portal.domain.models import (
    AuditEvent,
    DataKey,
    Notice,
    NoticeAnswer,
    NoticeBlindIndex,
    NoticeDocument,
    NoticeEvent,
    NoticeStage,
    Role,
    User,
)
from portal.domain.retention_rules import DEFAULT, RetentionRule, add_years
from portal.infrastructure.crypto import DecryptionError, KeyRing, KeyringError, load_keys
from portal.infrastructure.db import make_engine
from portal.partnerships import PARTNERSHIPS, retention_rule
from portal.services import casework, search, vault
from portal.services import keys as key_service
from portal.services import retention as retention_service
from portal.services.errors import ShreddedError
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import (
    CANARY_NAME,
    CANARY_NARRATIVE,
    CANARY_NHS,
    Accounts,
    appendix1_answers,
    contact_id,
    raise_notice,
    sign_in,
)

CSC = "Rochdale Children's Social Care"
HUB = "Rochdale Early Help and Safeguarding Hub"
GMP = "Greater Manchester Police"
CLOSED_AT = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
# The canary was born on 29 February 2016: the 25th birthday is 1 March 2041, later than closure + 6 years.
TWENTY_FIFTH_BIRTHDAY = date(2041, 3, 1)


@pytest.fixture
def key_dir(key_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session's keys: the backup test rotates and retires the KEK."""
    target = tmp_path / "keys"
    shutil.copytree(key_dir, target)
    return target


def test_retention_rules_keep_the_later_of_the_25th_birthday_and_six_years_after_closure() -> None:
    closed = date(2026, 11, 23)
    assert DEFAULT == RetentionRule(years_after_closure=6, until_age=25)
    assert DEFAULT.retain_until(closed_on=closed, dob=date(2016, 2, 29)) == TWENTY_FIFTH_BIRTHDAY
    # Over 19 at closure (care leavers' cases run to 25): six years after closure is later than the 25th birthday.
    assert DEFAULT.retain_until(closed_on=closed, dob=date(2005, 6, 1)) == date(2032, 11, 23)
    assert DEFAULT.retain_until(closed_on=closed, dob=date(2009, 6, 1)) == date(2034, 6, 1)
    # No known date of birth: six years after closure.
    assert DEFAULT.retain_until(closed_on=closed, dob=None) == date(2032, 11, 23)
    assert add_years(date(2024, 2, 29), 1) == date(2025, 3, 1) and add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    # Each partnership's package sets its rule; until its IG leads sign another off, it is the default.
    assert {slug for slug in PARTNERSHIPS} == {"rochdale", "pan-cheshire", "trafford", "bolton", "halton"}
    assert all(retention_rule(slug) is DEFAULT for slug in PARTNERSHIPS)


def _close(app: Flask, notice_id: str, at: datetime = CLOSED_AT) -> None:
    """Close a notice as the procedure's close step leaves it (the lifecycle tests cover the step itself)."""
    with session_factory(app)() as db:
        notice = db.get(Notice, notice_id)
        notice.status, notice.closed_at = "closed", at
        stage = notice.current_stage
        stage.ended_at, stage.outcome = at, "resolved"
        db.commit()


def _run(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_crypto_shredding_at_the_end_of_retention(app: Flask, accounts: Accounts) -> None:
    raiser = accounts.make(Role.PRACTITIONER, agency=HUB)
    spoc, spoc2 = accounts.make(Role.SPOC, agency=CSC), accounts.make(Role.SPOC, agency=GMP)
    client = app.test_client()
    sign_in(client, app, raiser)
    csc = contact_id(app, CSC)
    due_id, due_ref = raise_notice(client, appendix1_answers(csc))
    held_id, held_ref = raise_notice(client, appendix1_answers(csc))  # the same child, under a legal hold
    open_id, _open_ref = raise_notice(client, appendix1_answers(csc))  # the same child, never closed
    young_id, _young_ref = raise_notice(
        client, appendix1_answers(csc, child_name="Pat Younger", child_dob=["1", "6", "2020"], nhs_number="")
    )
    for notice_id in (due_id, held_id, young_id):
        _close(app, notice_id)
    # A worker that read the notice before it was shredded: there is no data-key cache to outlive the key.
    worker = create_app(dict(app.config))
    with worker.app_context(), session_factory(worker)() as db:
        view = casework.read_notice(db, portal_services(worker), db.get(User, raiser.id), due_id)
        assert view.answers["child_name"] == CANARY_NAME

    # Legal hold through the CLI, audited; a reason and who authorised it are required.
    assert app.test_cli_runner().invoke(args=["retention", "hold", held_ref, "--by", "IG lead"]).exit_code != 0
    assert held_ref in _run(app, "retention", "hold", held_ref, "--reason", "Inquiry into X", "--by", "Jo IG Lead")
    with session_factory(app)() as db:
        held = db.get(Notice, held_id)
        assert held.legal_hold and held.legal_hold_reason == "Inquiry into X" and held.legal_hold_by == "Jo IG Lead"
        assert held.legal_hold_at is not None

    # The day before the 25th birthday nothing is due; a dry run changes nothing.
    output = _run(app, "retention", "shred", "--dry-run", "--today", "2041-02-28")
    assert "0 notices due" in output
    output = _run(app, "retention", "shred", "--dry-run", "--today", TWENTY_FIFTH_BIRTHDAY.isoformat())
    assert f"due: {due_ref}" in output and "1 notices due" in output and held_ref in output  # (held, not due)
    with session_factory(app)() as db:
        assert db.get(Notice, due_id).shredded_at is None

    output = _run(app, "retention", "shred", "--today", TWENTY_FIFTH_BIRTHDAY.isoformat())
    assert "Shredded 1 notices" in output and "keys rotate-kek" in output
    with session_factory(app)() as db:
        notice = db.get(Notice, due_id)
        key = db.get(DataKey, notice.data_key_id)
        assert notice.shredded_at is not None and key.wrapped is None and key.destroyed_at is not None
        for model in (NoticeAnswer, NoticeDocument, NoticeBlindIndex):
            count = db.execute(select(func.count()).select_from(model).where(model.notice_id == due_id)).scalar_one()
            assert count == 0, model.__name__
        # The de-identified record stays: reference, partnership, agencies, stages with dates and outcome.
        assert notice.reference == due_ref and notice.recipients and notice.closed_at is not None
        stages = db.execute(select(NoticeStage).where(NoticeStage.notice_id == due_id)).scalars().all()
        assert stages and stages[-1].outcome == "resolved"
        assert db.execute(
            select(NoticeEvent.kind).where(NoticeEvent.notice_id == due_id, NoticeEvent.kind == "shredded")
        ).scalar_one()
        shred_events = db.execute(select(AuditEvent).where(AuditEvent.action == "notice.shred")).scalars().all()
        assert [(e.object_id, e.outcome, e.remote_addr) for e in shred_events] == [(due_id, "ok", "cli")]
        with pytest.raises(DecryptionError, match="destroyed"):
            vault.data_key(db, portal_services(app).keyring, notice.data_key_id)
        # The others are untouched: on hold, still open, or a younger child.
        for other in (held_id, open_id, young_id):
            assert db.get(Notice, other).shredded_at is None
            assert db.get(DataKey, db.get(Notice, other).data_key_id).wrapped is not None

    # Every path says so plainly (410), to the notice's parties; others still get the usual 404.
    for path in (f"/notices/{due_id}", f"/notices/{due_id}/confirmation", f"/notices/{due_id}/pdf?version=1"):
        response = client.get(path)
        assert response.status_code == 410, path
        assert "content was destroyed at the end of its retention period" in response.text, path
        assert due_ref in response.text
        for secret in (CANARY_NAME, CANARY_NHS, CANARY_NARRATIVE):
            assert secret not in response.text
    outsider = app.test_client()
    sign_in(outsider, app, spoc2)
    assert outsider.get(f"/notices/{due_id}").status_code == 404
    # The worker that read it before: the key is gone for it too.
    with worker.app_context(), session_factory(worker)() as db, pytest.raises(ShreddedError):
        casework.read_notice(db, portal_services(worker), db.get(User, raiser.id), due_id)
    worker.extensions["portal.engine"].dispose()
    # The lists still show the reference (no child data); search no longer finds it.
    assert due_ref in client.get("/").text
    with session_factory(app)() as db:
        for user_id in (raiser.id, spoc.id):
            found = search.find_notices(db, portal_services(app), db.get(User, user_id), nhs_number=CANARY_NHS)
            assert due_id not in {r.id for r in found.results}
            assert {r.id for r in found.results} == {held_id, open_id}
    with session_factory(app)() as db:
        shredded_reads = db.execute(
            select(AuditEvent.action).where(AuditEvent.outcome == "shredded", AuditEvent.object_id == due_id)
        ).scalars()
        assert set(shredded_reads) == {"notice.read", "notice.download"}

    # Released from hold, the held notice goes at the next run; a second run finds nothing more.
    _run(app, "retention", "release", held_ref, "--by", "Jo IG Lead")
    assert "Shredded 1 notices" in _run(app, "retention", "shred", "--today", TWENTY_FIFTH_BIRTHDAY.isoformat())
    assert "Shredded 0 notices" in _run(app, "retention", "shred", "--today", TWENTY_FIFTH_BIRTHDAY.isoformat())
    with session_factory(app)() as db:
        assert db.get(Notice, held_id).shredded_at is not None
        assert db.get(Notice, young_id).shredded_at is None  # born 2020: kept to 2045
        holds = db.execute(select(AuditEvent.outcome).where(AuditEvent.action == "notice.legal_hold")).scalars()
        assert list(holds) == ["set", "released"]
    result = app.test_cli_runner().invoke(args=["retention", "hold", held_ref, "--reason", "x", "--by", "y"])
    assert result.exit_code != 0 and "already shredded" in result.output


def test_a_backup_from_before_shredding_is_unreadable_once_the_kek_is_retired(
    app: Flask, accounts: Accounts, key_dir: Path, database_url: str, tmp_path: Path
) -> None:
    """The honest limit of crypto-shredding with data keys wrapped in the database: a pre-shredding backup
    plus the KEK still opens the notice. Rotating the KEK, rewrapping and retiring the old one closes it."""
    client = app.test_client()
    sign_in(client, app, accounts.make(Role.PRACTITIONER, agency=HUB))
    csc = contact_id(app, CSC)
    shred_id, _ = raise_notice(client, appendix1_answers(csc))
    keep_id, _ = raise_notice(client, appendix1_answers(csc))
    _close(app, shred_id)

    # The backup: the notice's data key row and its ciphertexts as they stood (and, on SQLite, the file).
    with session_factory(app)() as db:
        notice = db.get(Notice, shred_id)
        key = db.get(DataKey, notice.data_key_id)
        backup_key = (key.id, key.kek_id, key.wrapped)
        backup_answer = db.execute(
            select(NoticeAnswer.value_ct).where(
                NoticeAnswer.notice_id == shred_id, NoticeAnswer.field_name == "child_name"
            )
        ).scalar_one()
    backup_file = None
    if database_url.startswith("sqlite:///"):
        # SQLite's online backup (the database runs in WAL mode: a plain file copy could miss recent commits).
        backup_file = tmp_path / "backup.sqlite"
        source, copy = sqlite3.connect(database_url.removeprefix("sqlite:///")), sqlite3.connect(backup_file)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()

    def open_backup(keyring: KeyRing) -> str:
        dek = keyring.unwrap(*backup_key)
        return vault.open_text(dek, backup_answer, table="notice_answer", field="child_name", row_id=shred_id)

    def open_backup_file(keyring: KeyRing) -> str:
        assert backup_file is not None
        engine = make_engine(f"sqlite:///{backup_file}")
        try:
            with engine.connect() as conn:
                row = conn.execute(
                    select(DataKey.id, DataKey.kek_id, DataKey.wrapped).where(DataKey.id == key.id)
                ).one()
                ct = conn.execute(
                    select(NoticeAnswer.value_ct).where(
                        NoticeAnswer.notice_id == shred_id, NoticeAnswer.field_name == "child_name"
                    )
                ).scalar_one()
        finally:
            engine.dispose()
        dek = keyring.unwrap(row.id, row.kek_id, row.wrapped)
        return vault.open_text(dek, ct, table="notice_answer", field="child_name", row_id=shred_id)

    report = retention_service.shred_due(session_factory(app), portal_services(app).keyring, today=date(2041, 3, 1))
    assert [due.notice_id for due in report.due] == [shred_id] and len(report.shredded) == 1

    # The live database cannot read it; the old backup still can, with the KEK as it is now.
    old_kek = load_keys(key_dir).active_kek_id
    keyring = KeyRing(load_keys(key_dir))
    with session_factory(app)() as db:
        with pytest.raises(DecryptionError):
            vault.data_key(db, keyring, db.get(Notice, shred_id).data_key_id)
    assert open_backup(keyring) == CANARY_NAME
    if backup_file is not None:
        assert open_backup_file(keyring) == CANARY_NAME

    # The mitigation: rotate the KEK, rewrap every live data key, retire the old KEK.
    sessions = session_factory(app)
    rotated = key_service.rotate_kek(sessions, key_dir)
    assert rotated.added_kek and not rotated.failed
    key_service.retire_kek(sessions, key_dir, old_kek)
    remaining = KeyRing(load_keys(key_dir))
    assert old_kek not in remaining.kek_ids
    with pytest.raises(KeyringError, match="not in the keyring"):
        open_backup(remaining)
    if backup_file is not None:
        with pytest.raises(KeyringError, match="not in the keyring"):
            open_backup_file(remaining)
    # Everything kept is still readable under the new KEK.
    with app.app_context(), session_factory(app)() as db:
        user = db.execute(select(User).where(User.role == Role.PRACTITIONER.value)).scalars().first()
        view = casework.read_notice(db, portal_services(app), user, keep_id)
        assert view.answers["child_name"] == CANARY_NAME
