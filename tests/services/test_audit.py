"""The audit log: tamper-evident, anchored outside the database, append-only, fork-free, complete and clean.

docs/threats.md#properties 22 (tamper-evident and verifiable) and 23 (every read of case data is
audited). Runs on SQLite and, with PORTAL_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from portal.domain.models import AuditEvent, Role
from portal.infrastructure.db import make_engine
from portal.infrastructure.migrate import downgrade, upgrade
from portal.services import audit
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import (
    CANARY_DOB,
    CANARY_NAME,
    CANARY_NARRATIVE,
    CANARY_NHS,
    appendix1_answers,
    contact_id,
    csrf_from,
    raise_notice,
    sign_in,
)

CSC = "Rochdale Children's Social Care"
OTHER_AGENCY = "Pennine Care Foundation Trust"
TABLE = AuditEvent.__table__
ACTIONS = ("sign_in.password", "sign_in.code", "notice.read", "notice.download", "notice.submit", "route.denied")


def _key(app: Flask) -> bytes:
    return portal_services(app).keyring.audit_key


def _fill(app: Flask, count: int, *, start: int = 0) -> None:
    """Append count varied events through record(), in one transaction."""
    with session_factory(app)() as db:
        for i in range(start, start + count):
            audit.record(
                db,
                _key(app),
                action=ACTIONS[i % len(ACTIONS)],
                outcome=("allowed", "denied", "ok", "failed")[i % 4],
                actor_id=(i % 37) or None,
                object_type="notice",
                object_id=f"00000000-0000-4000-8000-{i:012d}",
                remote_addr=f"192.0.2.{i % 250}",
            )
        db.commit()


def _verify(app: Flask, **kwargs: Any) -> audit.ChainCheck:
    with session_factory(app)() as db:
        return audit.verify(db, _key(app), **kwargs)


def _export(app: Flask) -> dict[str, Any]:
    with session_factory(app)() as db:
        return audit.export_head(db)


@contextmanager
def _as_dba(app: Flask, *, commit: bool = False) -> Iterator[Connection]:
    """A connection with the append-only triggers out of the way, as a database administrator could.

    SQLite: the triggers are dropped (and recreated before a commit); PostgreSQL: DISABLE TRIGGER ALL.
    Both are transactional: unless commit=True, the tampering and the trigger change are rolled back.
    """
    engine = app.extensions["portal.engine"]
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # pysqlite would otherwise run the DDL outside the transaction
            triggers = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")
            ).all()
            assert len(triggers) == 2
            for name, _sql in triggers:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            triggers = []
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER ALL"))
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        if not commit:
            conn.rollback()
            return
        for _name, sql in triggers:
            conn.exec_driver_sql(sql)
        if conn.dialect.name != "sqlite":
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER ALL"))
        conn.commit()


def _verify_on(app: Flask, conn: Connection, **kwargs: Any) -> audit.ChainCheck:
    """Verify through the DBA's connection, so uncommitted tampering is what gets checked."""
    with Session(bind=conn) as db:
        return audit.verify(db, _key(app), **kwargs)


def _row(conn: Connection, seq: int) -> dict[str, Any]:
    return dict(conn.execute(select(TABLE).where(TABLE.c.seq == seq)).mappings().one())


def test_audit_log_is_tamper_evident_and_verifiable(app: Flask) -> None:
    _fill(app, 1000)
    intact = _verify(app)
    assert intact == audit.ChainCheck(True, 1000, None, _export(app)["hash"])
    anchor = _export(app)
    assert anchor["seq"] == 1000

    # An edit of any column names that entry, however small the edit.
    at_300 = None
    edits: list[tuple[str, int, object]] = [
        ("outcome", 500, "tampered"),
        ("actor_id", 250, 999_999),
        ("actor_id", 251, None),
        ("action", 10, "sign_out"),
        ("object_type", 20, "staff_user"),
        ("object_id", 30, "00000000-0000-4000-8000-999999999999"),
        ("remote_addr", 40, "198.51.100.7"),
        ("prev_hash", 600, "f" * 64),
        ("hash", 700, "e" * 64),
        ("outcome", 1, "ok"),  # the very first entry
        ("hash", 1000, "d" * 64),  # the head itself
    ]
    for column, seq, value in edits:
        with _as_dba(app) as conn:
            # Raw SQL that bypasses the application and the (dropped or disabled) trigger.
            tamper = text(f"UPDATE audit_event SET {column} = :value WHERE seq = :seq")  # noqa: S608 - fixed names
            conn.execute(tamper, {"value": value, "seq": seq})
            check = _verify_on(app, conn)
        assert (check.ok, check.first_bad_seq, check.checked) == (False, seq, seq - 1), (column, check)
    with _as_dba(app) as conn:
        at_300 = _row(conn, 300)["at"]
        conn.execute(update(TABLE).where(TABLE.c.seq == 300).values(at=at_300 + timedelta(microseconds=1)))
        assert _verify_on(app, conn).first_bad_seq == 300
    with _as_dba(app) as conn:  # renumbering an entry leaves a gap where it was
        conn.execute(text("UPDATE audit_event SET seq = 5000 WHERE seq = 800"))
        check = _verify_on(app, conn)
        assert (check.ok, check.first_bad_seq) == (False, 800) and "missing" in check.reason

    # A deletion is a gap: the missing seq is named.
    for seq in (700, 1, 2):
        with _as_dba(app) as conn:
            conn.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": seq})
            check = _verify_on(app, conn)
        assert (check.ok, check.first_bad_seq, check.checked) == (False, seq, seq - 1), check

    # Reordering: two rows swap everything but their seq; the earlier of the two is named.
    for first, second in ((300, 700), (401, 402)):
        with _as_dba(app) as conn:
            rows = {seq: _row(conn, seq) for seq in (first, second)}
            conn.execute(delete(TABLE).where(TABLE.c.seq.in_([first, second])))
            conn.execute(insert(TABLE).values({**rows[second], "seq": first}))
            conn.execute(insert(TABLE).values({**rows[first], "seq": second}))
            check = _verify_on(app, conn)
        assert (check.ok, check.first_bad_seq) == (False, first), check

    # Truncation: the chain that is left is consistent, so only the exported head can show the cut.
    with _as_dba(app) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq > 900"))
        alone = _verify_on(app, conn)
        anchored = _verify_on(app, conn, anchor=anchor)
    assert (alone.ok, alone.checked) == (True, 900)
    assert (anchored.ok, anchored.first_bad_seq, anchored.checked) == (False, 901, 900)

    # Every tampering above was rolled back, triggers included: the log verifies again.
    assert _verify(app, anchor=anchor) == intact


def test_truncation_is_caught_against_the_exported_head(app: Flask, tmp_path: Path) -> None:
    assert _export(app) == {"seq": 0, "hash": audit.GENESIS, "at": None}
    assert _verify(app, anchor=_export(app)).ok  # an empty log matches an anchor taken when empty
    _fill(app, 50)
    head = _export(app)
    assert head["seq"] == 50 and head["at"].endswith("+00:00")
    # Kept outside the database (here a file; in production mailed or written to append-only storage).
    anchor_file = tmp_path / "audit-head.json"
    anchor_file.write_text(json.dumps(head))
    anchor = json.loads(anchor_file.read_text())

    # The log grows after the export: still fine.
    _fill(app, 5, start=50)
    assert _verify(app, anchor=anchor).ok

    # A DBA cuts the tail (entries 41 onwards) and commits.
    with _as_dba(app, commit=True) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq > 40"))
    alone = _verify(app)
    assert (alone.ok, alone.checked) == (True, 40)  # undetectable from inside the database
    check = _verify(app, anchor=anchor)
    assert (check.ok, check.first_bad_seq, check.checked) == (False, 41, 40)
    assert "exported head" in check.reason
    assert _verify(app, expected_head=anchor["hash"]).first_bad_seq == 41

    # The application keeps appending, so the log is long again: the entry at the anchored seq is not
    # the anchored one, and that seq is named (the replacement started there or earlier).
    _fill(app, 20, start=100)
    assert _verify(app).ok
    check = _verify(app, anchor=anchor)
    assert (check.ok, check.first_bad_seq) == (False, 50)

    with pytest.raises(ValueError, match="seq"):
        _verify(app, anchor={"seq": -1, "hash": audit.GENESIS})
    with pytest.raises(ValueError, match="hash"):
        _verify(app, anchor={"seq": 3, "hash": "not a hash"})


def test_application_cannot_update_or_delete_audit_rows(app: Flask) -> None:
    _fill(app, 3)
    before = _verify(app)
    attempts = [
        lambda db: setattr(db.get(AuditEvent, 2), "outcome", "allowed"),
        lambda db: db.delete(db.get(AuditEvent, 2)),
        lambda db: db.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor_id=None)),
        lambda db: db.execute(update(AuditEvent).values(remote_addr="")),
        lambda db: db.execute(delete(AuditEvent).where(AuditEvent.seq >= 2)),
        lambda db: db.execute(delete(AuditEvent)),
        lambda db: db.execute(text("DELETE FROM audit_event WHERE seq = 3")),
    ]
    for attempt in attempts:
        with session_factory(app)() as db:
            with pytest.raises(DBAPIError, match="append-only") as refused:
                attempt(db)
                db.commit()
            db.rollback()
        if app.extensions["portal.engine"].dialect.name == "postgresql":
            assert refused.value.orig.sqlstate == "42501"  # insufficient_privilege: "permission denied"

    # A second entry extending the same predecessor (a fork) is refused by the unique prev_hash.
    with session_factory(app)() as db:
        second = db.get(AuditEvent, 2)
        db.add(AuditEvent(**{c.key: getattr(second, c.key) for c in TABLE.c} | {"seq": 4, "outcome": "forked"}))
        with pytest.raises(IntegrityError):
            db.commit()
        db.rollback()
    assert _verify(app) == before


def test_concurrent_writers_never_fork_the_chain(app: Flask) -> None:
    threads_n, per_thread = 20, 10
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []
    factory = session_factory(app)
    key = _key(app)

    def writer(n: int) -> None:
        try:
            start.wait(timeout=30)
            for i in range(per_thread):
                with factory() as db:
                    audit.record(db, key, action="test.write", outcome="ok", actor_id=n, object_id=f"w{n}-{i}")
                    db.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads_n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors[:3]
    with factory() as db:
        rows = db.execute(select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash, AuditEvent.object_id)).all()
    rows.sort()
    total = threads_n * per_thread
    assert [r.seq for r in rows] == list(range(1, total + 1))  # no gaps, no duplicates
    assert len({r.prev_hash for r in rows}) == total  # no two entries share a predecessor: no fork
    assert all(r.prev_hash == p.hash for p, r in zip(rows, rows[1:], strict=False))
    assert {r.object_id for r in rows} == {f"w{n}-{i}" for n in range(threads_n) for i in range(per_thread)}
    assert _verify(app) == audit.ChainCheck(True, total, None, rows[-1].hash)


def _head_seq(app: Flask) -> int:
    with session_factory(app)() as db:
        return db.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()


def _notice_events_since(app: Flask, seq: int) -> list[tuple[str, str, int | None, str]]:
    with session_factory(app)() as db:
        events = db.execute(
            select(AuditEvent).where(AuditEvent.seq > seq, AuditEvent.action.like("notice.%")).order_by(AuditEvent.seq)
        ).scalars()
        return [(e.action, e.outcome, e.actor_id, e.object_id.split("/")[0]) for e in events]


def test_every_read_of_case_data_is_audited_once(app: Flask, client: FlaskClient, accounts) -> None:
    practitioner = accounts.make(Role.PRACTITIONER)
    sign_in(client, app, practitioner)
    notice_id, _reference = raise_notice(client, appendix1_answers(contact_id(app, CSC)))
    spoc = accounts.make(Role.SPOC, agency=CSC)
    outsider = accounts.make(Role.SPOC, agency=OTHER_AGENCY)

    reader = app.test_client()
    sign_in(reader, app, spoc)
    mark = _head_seq(app)
    assert reader.get(f"/notices/{notice_id}").status_code == 200
    assert _notice_events_since(app, mark) == [("notice.read", "allowed", spoc.id, notice_id)]
    mark = _head_seq(app)
    assert reader.get(f"/notices/{notice_id}/pdf").status_code == 200
    assert _notice_events_since(app, mark) == [("notice.download", "allowed", spoc.id, notice_id)]

    # Another agency's SPOC in the same partnership: 404, and the denial is recorded once per attempt.
    other = app.test_client()
    sign_in(other, app, outsider)
    mark = _head_seq(app)
    assert other.get(f"/notices/{notice_id}").status_code == 404
    assert _notice_events_since(app, mark) == [("notice.read", "denied", outsider.id, notice_id)]
    mark = _head_seq(app)
    assert other.get(f"/notices/{notice_id}/pdf").status_code == 404
    assert _notice_events_since(app, mark) == [("notice.download", "denied", outsider.id, notice_id)]
    unknown = "00000000-0000-4000-8000-000000000000"
    mark = _head_seq(app)
    assert other.get(f"/notices/{unknown}").status_code == 404
    assert _notice_events_since(app, mark) == [("notice.read", "denied", outsider.id, unknown)]
    assert _verify(app).ok


def _canary_forms() -> list[str]:
    day, month, year = CANARY_DOB
    nhs = CANARY_NHS.replace(" ", "")
    texts = [
        CANARY_NAME,
        *CANARY_NAME.split(),
        CANARY_NARRATIVE.split(":")[0],
        nhs,
        CANARY_NHS,
        f"{year}-{int(month):02d}-{int(day):02d}",
        f"{int(day):02d}/{int(month):02d}/{year}",
        f"{day}/{month}/{year}",
    ]
    forms: list[str] = []
    for value in texts:
        raw = value.encode()
        forms += [value, raw.hex(), value.encode("utf-16-le").hex(), base64.b64encode(raw).decode()]
    return [f.casefold() for f in forms]


def test_audit_rows_hold_no_child_data(app: Flask, client: FlaskClient, accounts) -> None:
    practitioner = accounts.make(Role.PRACTITIONER)
    sign_in(client, app, practitioner)
    notice_id, _reference = raise_notice(client, appendix1_answers(contact_id(app, CSC)))
    for account in (accounts.make(Role.SPOC, agency=CSC), accounts.make(Role.SPOC, agency=OTHER_AGENCY)):
        visitor = app.test_client()
        sign_in(visitor, app, account)
        visitor.get(f"/notices/{notice_id}")
        visitor.get(f"/notices/{notice_id}/pdf")
    # Someone types the child's name into the sign-in box: the attempt is audited, the name is not.
    stranger = app.test_client()
    page = stranger.get("/sign-in")
    stranger.post("/sign-in", data={"email": CANARY_NAME, "password": "x", "csrf_token": csrf_from(page.text)})

    forms = _canary_forms()
    with session_factory(app)() as db:
        rows = db.execute(select(TABLE)).mappings().all()
    assert len(rows) > 10
    assert {r["action"] for r in rows} >= {"notice.submit", "notice.read", "notice.download", "sign_in.password"}
    for row in rows:
        for column, value in row.items():
            cell = str(value).casefold()
            assert not any(form in cell for form in forms), (row["seq"], column)


def test_append_only_migration_downgrades_and_upgrades(database_url: str) -> None:
    engine = make_engine(database_url)
    row = {"seq": 1, "action": "x", "outcome": "ok", "object_type": "", "object_id": "", "remote_addr": ""}
    row |= {"prev_hash": audit.GENESIS, "hash": "a" * 64}
    try:
        downgrade(database_url, "0001")
        with engine.begin() as conn:  # without 0002, rows can be changed and removed
            conn.execute(insert(TABLE).values({**row, "at": func.now()}))
            conn.execute(update(TABLE).values(outcome="denied"))
            conn.execute(delete(TABLE))
        upgrade(database_url)
        with engine.begin() as conn:
            conn.execute(insert(TABLE).values({**row, "at": func.now()}))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(update(TABLE).values(outcome="denied"))
        with engine.begin() as conn:
            assert conn.execute(select(TABLE.c.outcome)).scalar_one() == "ok"
    finally:
        engine.dispose()


def test_cli_verify_prints_ok_or_broken_with_exit_status(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert (result.exit_code, result.output) == (0, f"ok: 0 entries, head {audit.GENESIS}\n")
    _fill(app, 25)
    result = runner.invoke(args=["audit", "verify"])
    assert (result.exit_code, result.output) == (0, f"ok: 25 entries, head {_export(app)['hash']}\n")
    with _as_dba(app, commit=True) as conn:
        conn.execute(text("UPDATE audit_event SET actor_id = 1 WHERE seq = 7"))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and result.output.startswith("BROKEN at seq 7"), result.output
    # A broken log is never anchored.
    result = runner.invoke(args=["audit", "export-head"])
    assert result.exit_code == 1 and "BROKEN at seq 7" in result.output and '"hash"' not in result.output


def test_cli_export_head_anchors_verify_against_truncation(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    _fill(app, 30)
    out = tmp_path / "head.json"
    result = runner.invoke(args=["audit", "export-head", "--out", str(out)])
    assert result.exit_code == 0, result.output
    head = json.loads(out.read_text())
    assert head == _export(app) and set(head) == {"seq", "hash", "at"}
    assert json.loads(runner.invoke(args=["audit", "export-head"]).stdout) == head  # default: standard output
    result = runner.invoke(args=["audit", "verify", "--anchor", str(out)])
    assert result.exit_code == 0 and result.output.startswith("ok: 30 entries"), result.output

    with _as_dba(app, commit=True) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq > 20"))
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # the cut is invisible without the anchor
    result = runner.invoke(args=["audit", "verify", "--anchor", str(out)])
    assert result.exit_code == 1 and result.output.startswith("BROKEN at seq 21"), result.output

    bad = tmp_path / "bad.json"
    bad.write_text('{"seq": "twenty"}')
    result = runner.invoke(args=["audit", "verify", "--anchor", str(bad)])
    assert result.exit_code == 1 and "bad anchor" in result.output
    result = runner.invoke(args=["audit", "--help"])
    assert "OUTSIDE the database" in result.output


def test_an_entry_recorded_and_not_yet_written_holds_up_no_other_append(app: Flask) -> None:
    """A transaction that has recorded an entry but is still working (a submit signing its PDF, a read rendering
    its page) does not hold the append lock: another transaction appends and commits at once, and the first
    entry is chained after it when its own transaction commits (issue 11)."""
    factory, key = session_factory(app), _key(app)
    with factory() as slow:
        audit.record(slow, key, action="notice.read", outcome="allowed", object_id="slow")
        done = threading.Event()

        def other() -> None:
            with factory() as fast:
                audit.record(fast, key, action="notice.read", outcome="allowed", object_id="fast")
                fast.commit()
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        # Before, recording took the lock (PostgreSQL) or the write lock (SQLite) until this commit: a deadlock
        # here, as the other append waited for it.
        assert done.wait(timeout=5), "the other append waited for a transaction that had only recorded"
        thread.join()
        slow.commit()
    with factory() as db:
        rows = db.execute(select(AuditEvent.object_id).order_by(AuditEvent.seq)).scalars().all()
    assert rows[-2:] == ["fast", "slow"]
    assert _verify(app).ok


def test_entries_recorded_in_a_transaction_that_rolls_back_are_never_chained(app: Flask) -> None:
    factory, key = session_factory(app), _key(app)
    with factory() as db:
        audit.record(db, key, action="notice.read", outcome="allowed", object_id="dropped")
        db.rollback()
        audit.record(db, key, action="notice.read", outcome="allowed", object_id="kept")
        db.commit()
    with factory() as db:
        ids = db.execute(select(AuditEvent.object_id)).scalars().all()
    assert "dropped" not in ids and "kept" in ids
    assert _verify(app).ok
