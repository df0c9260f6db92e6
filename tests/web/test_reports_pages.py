"""The business manager's dashboard and report pages over HTTP, on the known notices of
tests/services/report_seed.py: exact counts on the page, charts with their tables, downloads and refusals."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from flask import Flask

from portal.domain.models import Role
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
