"""The business manager's dashboard and report pages over HTTP, on the known notices of
tests/services/report_seed.py: exact counts on the page, charts with their tables, downloads and refusals."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from portal.domain.models import Agency, AuditEvent, Notice, Role
from portal.infrastructure.pdf.signing import verify_signed_pdf
from portal.web.database import session_factory
from tests.helpers import Accounts, csrf_from, errors_on, sign_in
from tests.services.report_seed import seed_trafford

Q4 = "/business/reports?choose=quarter&quarter=2026-1"


def test_the_dashboard_and_a_quarter_report_show_the_figures(app: Flask, accounts: Accounts) -> None:
    seeded = seed_trafford(app, accounts)
    seeded.world.services.clock.fixed = date(2026, 4, 9)
    client = app.test_client()
    sign_in(client, app, seeded.bm)

    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"] == "/business/"
    board = client.get("/business/").get_data(as_text=True)
    # On Thu 9 April N3 and N4 are open, due on 16 and 17 April (Easter skipped): after the week ends on Sunday
    # 12 April, so neither is due this week nor overdue.
    assert re.search(r'id="count-open">\s*2<', board)
    assert re.search(r'id="count-overdue">\s*0<', board)
    assert re.search(r'id="count-due-this-week">\s*0<', board)
    assert re.search(r'id="count-opened-this-quarter">\s*1<', board)
    assert re.search(r'id="count-closed-this-quarter">\s*1<', board)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img"' in board
    assert 'id="table-trend"' in board

    page = client.get(Q4).get_data(as_text=True)
    assert "Q4 2025/26" in page
    # Inside the business unit the counts are exact: 4 raised, no "fewer than 5".
    volume = page[page.index('id="table-volume"') :]
    assert re.search(r"Raised in the period</th>\s*<td[^>]*>4</td>", volume)
    charts = re.findall(r'<svg [^>]*id="chart-([a-z_-]+)"', page)
    assert charts == [
        "trend",
        "agencies",
        "stages",
        "category-level_of_need",
        "category-concern",
        "category-common",
        "outcomes",
    ]
    # Every chart has its text summary (its description) and its table.
    assert all(f'id="table-{key}"' in page and f'id="chart-{key}-desc"' in page for key in charts)
    assert "Narrative that must never reach a report" not in page
    assert "TRA-2026" not in page

    csv_response = client.get("/business/reports/report.csv?choose=quarter&quarter=2026-1")
    assert csv_response.status_code == 200
    assert "OFFICIAL-SENSITIVE" in csv_response.headers["Content-Disposition"]
    first = next(csv.reader(io.StringIO(csv_response.data.decode("utf-8-sig"))))
    assert first == ["Section", "Row", "Measure", "Value"]
    pdf = client.get("/business/reports/report.pdf?choose=trafford-quarterly")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_malformed_period_is_asked_again_with_an_error(app: Flask, accounts: Accounts) -> None:
    seeded = seed_trafford(app, accounts)
    client = app.test_client()
    sign_in(client, app, seeded.bm)
    page = client.get("/business/reports?choose=dates&from-day=31&from-month=2&from-year=2026")
    assert page.status_code == 200
    assert "Enter the start date as a real date" in page.get_data(as_text=True)
    reversed_dates = "choose=dates&from-day=2&from-month=3&from-year=2026&to-day=1&to-month=3&to-year=2026"
    assert "The end date must be on or after the start date" in client.get(f"/business/reports?{reversed_dates}").text


def test_the_learning_log_assigns_an_item_and_the_report_counts_it(app: Flask, accounts: Accounts) -> None:
    seeded = seed_trafford(app, accounts)
    client = app.test_client()
    sign_in(client, app, seeded.bm)
    log = client.get("/business/learning").get_data(as_text=True)
    [item_url] = re.findall(r'href="(/business/learning/[0-9a-f-]{36})"', log)
    page = client.get(item_url).get_data(as_text=True)
    # The words, decrypted for the business unit on the item's own page only.
    assert "Core group attendance needs a reminder" in page
    assert "Core group attendance needs a reminder" not in log

    token = csrf_from(page)
    refused = client.post(item_url, data={"csrf_token": token, "assigned_to": "SEG", "action": "", "status": "done"})
    assert refused.status_code == 200 and "Enter the action the group is taking" in errors_on(refused.text)
    saved = client.post(
        item_url,
        data={
            "csrf_token": token,
            "assigned_to": "Safeguarding Effectiveness Group",
            "action": "Reminder to all",
            "status": "in-progress",
        },
    )
    assert saved.status_code == 302
    log = client.get("/business/learning").get_data(as_text=True)
    assert "Safeguarding Effectiveness Group" in log and "Action in progress" in log
    report = client.get(Q4).get_data(as_text=True)
    learning = report[report.index('id="table-learning"') :]
    assert re.search(r"Action in progress</th>\s*<td[^>]*>1</td>", learning)

    # Another partnership's business unit cannot open it.
    other = app.test_client()
    sign_in(other, app, accounts.make(Role.BUSINESS_MANAGER, partnership="bolton"))
    assert other.get(item_url).status_code == 404
    assert "Trafford" not in other.get("/business/learning").text.split("<main")[1]


def test_the_register_carries_the_codes_outcome_debrief_and_learning(app: Flask, accounts: Accounts) -> None:
    seeded = seed_trafford(app, accounts)
    client = app.test_client()
    sign_in(client, app, seeded.bm)
    response = client.get("/business/notices.csv")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    marking = rows.pop()
    assert marking["Reference"].startswith("OFFICIAL-SENSITIVE")
    by_reference = {row["Reference"]: row for row in rows}
    first, second = by_reference["TRA-2026-0001"], by_reference["TRA-2026-0002"]
    # N0 stands for the notices from before codes were recorded.
    assert (first["Categories"], first["Outcome"], first["Debrief taken place"]) == ("Not recorded",) * 3
    assert second["Categories"].startswith("Level of need: Children supported under a Child in Need Plan")
    assert "Example of concern: Not attending Core Groups or TAC meetings" in second["Categories"]
    assert second["Common themes"] == "Plan progress or drift; Attendance and engagement of professionals"
    assert (second["Outcome"], second["Debrief taken place"]) == ("Resolved by agreement", "Yes")
    assert second["General issues flagged for learning"] == "Yes"


def test_the_signed_pdfs_of_a_period_download_as_one_zip(app: Flask, accounts: Accounts) -> None:
    seeded = seed_trafford(app, accounts)
    client = app.test_client()
    sign_in(client, app, seeded.bm)
    page = client.get(Q4).text
    assert "Download the signed PDFs of the 4 notices raised in the period" in page
    response = client.get("/business/reports/notices.zip?choose=quarter&quarter=2026-1")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].endswith(
        'TRA-notices-2026-01-01-to-2026-03-31-OFFICIAL-SENSITIVE.zip"'
    )
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert [n.split("-v")[0] for n in names] == [f"TRA-2026-000{i}" for i in range(1, 5)]
    cert = (Path(app.config["KEY_DIR"]) / "signing-cert.pem").read_bytes()
    assert all(verify_signed_pdf(archive.read(name), cert) for name in names)
    with session_factory(app)() as db:
        [entry] = db.execute(select(AuditEvent).where(AuditEvent.action == "notice.bulk_download")).scalars()
        each = db.execute(
            select(AuditEvent.object_id, AuditEvent.actor_id).where(AuditEvent.action == "notice.download")
        ).all()
        ids = dict(db.execute(select(Notice.reference, Notice.id)).all())
    assert entry.object_id == "20260101-20260331 n=4" and entry.actor_id == seeded.bm.id
    # Every PDF in the ZIP is in its own notice's audit trail, as the version that was sent.
    assert sorted(each) == sorted(
        (f"{ids[name.split('-v')[0]]}/v{name.split('-v')[1][:-4]}", seeded.bm.id) for name in names
    )


def test_the_list_finds_notices_by_every_filter(app: Flask, accounts: Accounts) -> None:
    seeded = seed_trafford(app, accounts)
    seeded.world.services.clock.fixed = date(2026, 4, 9)
    client = app.test_client()
    sign_in(client, app, seeded.bm)
    with session_factory(app)() as db:
        ids = dict(db.execute(select(Agency.name, Agency.id)).all())

    def found(**args: str) -> list[str]:
        page = client.get("/business/notices", query_string=args).text
        assert "Narrative that must never reach a report" not in page
        return sorted(re.findall(r">(TRA-2026-\d{4})</a>", page))

    assert len(found()) == 5
    assert found(status="closed") == ["TRA-2026-0001", "TRA-2026-0002", "TRA-2026-0003"]
    assert found(stage="stage-4") == ["TRA-2026-0003", "TRA-2026-0004"]
    assert found(raising=str(ids["Education"])) == ["TRA-2026-0004"]
    assert len(found(receiving=str(ids["Local authority children's social care"]))) == 5
    assert found(receiving=str(ids["Police"])) == []
    assert found(category="thresholds") == ["TRA-2026-0004"]
    assert found(**{"from": "2026-03-16", "to": "2026-03-31"}) == ["TRA-2026-0003", "TRA-2026-0004"]
    assert found(reference="tra-2026-0005") == ["TRA-2026-0005"]
    # Filters combine, and a value that is not a choice is ignored rather than refused.
    assert found(status="open", raising=str(ids["Health"])) == ["TRA-2026-0005"]
    assert len(found(status="nonsense", stage="<script>")) == 5
    page = client.get("/business/notices", query_string={"status": "closed"}).text
    assert "Notices (3)" in page
