"""The business manager's dashboard and report pages over HTTP, on the known notices of
tests/services/report_seed.py: exact counts on the page, charts with their tables, downloads and refusals."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from flask import Flask

from tests.helpers import Accounts, sign_in
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
    assert page.status_code == 400
    assert "Enter the start date as a real date" in page.get_data(as_text=True)
    reversed_dates = "choose=dates&from-day=2&from-month=3&from-year=2026&to-day=1&to-month=3&to-year=2026"
    assert "The end date must be on or after the start date" in client.get(f"/business/reports?{reversed_dates}").text
