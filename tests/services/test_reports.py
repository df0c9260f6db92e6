"""portal.services.reports: every section's figures for a known set of notices (tests/services/report_seed.py),
the small-count rule, the CSV and the signed PDF, and the audit of each."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pypdf
import pytest
from flask import Flask
from sqlalchemy import select

from portal.domain.models import AuditEvent
from portal.infrastructure.pdf.signing import verify_signed_pdf
from portal.services import reports
from portal.services.errors import RuleBrokenError
from tests.helpers import Accounts
from tests.services.report_seed import Seeded, seed_trafford

Q4 = reports.quarter(2026, 1)  # Q4 2025/26: January to March 2026
Q1 = reports.quarter(2026, 2)
STAGE_3, STAGE_4 = "Stage 3: Formal escalation", "Stage 4: Trafford Strategic Safeguarding Partnership"


@pytest.fixture
def seeded(app: Flask, accounts: Accounts) -> Seeded:
    return seed_trafford(app, accounts)


def build(seeded: Seeded, period: reports.Period) -> reports.Report:
    world = seeded.world
    with world.session() as db:
        return reports.report_for(db, world.services, world.user(db, seeded.bm), period)


def rows(report: reports.Report, key: str) -> dict[str, tuple[object, ...]]:
    return dict(report.figure(key).rows)


def test_periods_and_presets() -> None:
    assert (Q4.start, Q4.end) == (date(2026, 1, 1), date(2026, 3, 31))
    assert Q4.label.startswith("Q4 2025/26")
    assert reports.preset_period("trafford-quarterly", date(2026, 4, 9)) == Q4
    year = reports.preset_period("bolton-annual", date(2026, 4, 9))
    assert (year.start, year.end) == (date(2025, 4, 1), date(2026, 3, 31))
    assert reports.preset_period("bolton-annual", date(2026, 3, 31)).start == date(2024, 4, 1)
    with pytest.raises(RuleBrokenError):
        reports.between(date(2026, 3, 2), date(2026, 3, 1))


def test_a_quarter_report_has_known_figures_in_every_section(seeded: Seeded) -> None:
    report = build(seeded, Q4)
    assert report.notices_counted == 4
    assert rows(report, "volume") == {
        "Raised in the period": (4,),
        "Closed in the period": (2,),
        "Open at the end": (2,),
    }
    trend = rows(report, "trend")
    assert list(trend)[-1] == "Q4 2025/26" and len(trend) == 8
    assert trend["Q4 2025/26"] == (4, 2) and trend["Q3 2025/26"] == (0, 0)

    agencies = report.figure("agencies")
    assert agencies.columns == ("Raised", "To Local authority children's social care")
    assert rows(report, "agencies") == {"Health": (3, 3), "Education": (1, 1)}
    assert "raised none: Local authority children's social care, Police" in agencies.summary

    stages = rows(report, "stages")
    assert (stages[STAGE_3], stages[STAGE_4]) == ((2,), (2,))
    assert rows(report, "straight")["Skipped a stage"] == (1,)

    level = rows(report, "category-level_of_need")
    assert level["Not recorded"] == (1,)
    assert sum(v[0] for v in level.values()) == 4  # type: ignore[misc]
    concern = rows(report, "category-concern")
    assert concern["Not attending Core Groups or TAC meetings"] == (2,)
    assert concern["Not accepting referrals for services"] == (1,)
    common = rows(report, "category-common")
    assert common["Plan progress or drift"] == (2,)
    assert common["Attendance and engagement of professionals"] == (2,)
    assert common["Thresholds and level of need"] == (1,)

    # Stage 3 ended after 11 (N0), 9 (N1) and 10 (N2) working days; N0 overran its 19 January limit and was
    # chased once. Nearest rank: median the 2nd of 3 (10), 90th percentile the 3rd (11).
    assert rows(report, "timeliness")[STAGE_3] == (3, 10, 11, 66.7, 1)
    assert rows(report, "timeliness")[STAGE_4] == (0, None, None, None, 0)

    outcomes = rows(report, "outcomes")
    assert outcomes["Resolved by agreement"] == (1,) and outcomes["Not recorded"] == (1,)
    assert rows(report, "debrief") == {"Yes": (1,), "No": (0,), "Not recorded": (1,)}
    learning = rows(report, "learning")
    assert learning["Flagged at closure"] == (1,) and learning["New: not yet assigned"] == (1,)


def test_the_next_quarter_counts_stage_4_across_easter(seeded: Seeded) -> None:
    report = build(seeded, Q1)
    assert rows(report, "volume")["Raised in the period"] == (1,)  # N4, raised on 1 April
    assert rows(report, "volume")["Closed in the period"] == (1,)  # N2, on 9 April
    # 30 March to 9 April: 31 Mar, 1, 2, 7, 8, 9 April; Good Friday and Easter Monday are not working days.
    assert rows(report, "timeliness")[STAGE_4] == (1, 6, 6, 100.0, 0)
    assert rows(report, "outcomes")["Decision changed"] == (1,)
    assert rows(report, "debrief")["No"] == (1,)
    assert rows(report, "learning")["Flagged at closure"] == (0,)


def test_a_year_holds_every_notice_and_no_narrative(seeded: Seeded) -> None:
    report = build(seeded, reports.between(date(2026, 1, 1), date(2026, 12, 31)))
    assert rows(report, "volume")["Raised in the period"] == (5,)
    text = repr(report)
    assert "Narrative that must never reach a report" not in text
    assert not any(ref in text for ref in ("TRA-2026",))


def test_the_csv_has_every_figure_with_small_counts_withheld_and_the_marking(seeded: Seeded) -> None:
    world = seeded.world
    with world.session() as db:
        name, data = reports.report_csv(db, world.services, world.user(db, seeded.bm), Q4)
    assert name == "TRA-report-2026-01-01-to-2026-03-31-OFFICIAL-SENSITIVE.csv"
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == ["Section", "Row", "Measure", "Value"]
    assert lines[-1][0].startswith("OFFICIAL-SENSITIVE: Trafford")
    cells = {(s, r, m): v for s, r, m, v in lines[1:-1]}
    report = build(seeded, Q4)
    assert len(cells) == sum(len(f.rows) * len(f.columns) for f in report.figures)
    # Counts 1-4 leave the unit as "fewer than 5"; zeros, days and percentages are exact.
    assert cells[("Volume", "Raised in the period", "Notices")] == "fewer than 5"
    assert cells[("Volume", "Raised in the period", "Notices")] == "fewer than 5"
    assert cells[("Trend over the last eight quarters", "Q3 2025/26", "Raised")] == "0"
    assert cells[("Timeliness: working days per stage", STAGE_3, "Median working days")] == "10"
    assert cells[("Timeliness: working days per stage", STAGE_3, "% within the limit")] == "66.7"


def test_shown_applies_the_small_count_rule_only_outside_the_unit() -> None:
    assert [reports.shown(n, count=True, shared=True) for n in (0, 1, 4, 5)] == ["0", *["fewer than 5"] * 2, "5"]
    assert reports.shown(3, count=True, shared=False) == "3"
    assert reports.shown(3, count=False, shared=True) == "3"
    assert reports.shown(None, count=True, shared=True) == "not available"


def test_the_pdf_is_signed_marked_and_withholds_small_counts(seeded: Seeded, app: Flask) -> None:
    world = seeded.world
    with world.session() as db:
        name, pdf = reports.report_pdf(db, world.services, world.user(db, seeded.bm), Q4, title="Quarterly report")
    assert name.endswith("-OFFICIAL-SENSITIVE.pdf")
    cert = (Path(app.config["KEY_DIR"]) / "signing-cert.pem").read_bytes()
    assert verify_signed_pdf(pdf, cert)
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "OFFICIAL-SENSITIVE" in text and "Quarterly report" in text
    assert "fewer than 5" in text and "Raising agency by receiving agency" in text
    assert "Narrative that must never reach a report" not in text


def test_every_view_and_download_is_audited_with_its_count(seeded: Seeded) -> None:
    world = seeded.world
    with world.session() as db:
        user = world.user(db, seeded.bm)
        reports.report_for(db, world.services, user, Q4)
        reports.report_csv(db, world.services, user, Q4)
        reports.report_pdf(db, world.services, user, Q4)
        entries = db.execute(
            select(AuditEvent.action, AuditEvent.object_id, AuditEvent.actor_id).where(
                AuditEvent.object_type == "report"
            )
        ).all()
    assert [e.action for e in entries] == ["report.view", "report.csv", "report.pdf"]
    assert {e.object_id for e in entries} == {"20260101-20260331 n=4"}
    assert {e.actor_id for e in entries} == {seeded.bm.id}
