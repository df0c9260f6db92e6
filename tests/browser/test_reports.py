"""Trafford's quarterly report in a real browser: built from its preset, charts and their tables opened, the
PDF (signed, verified by pdfsig), the CSV and the ZIP of the notices' signed PDFs downloaded, axe-clean."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from portal.infrastructure.pdf.signing import verify_signed_pdf
from portal.services import exports
from tests.browser.test_journey import assert_accessible, sign_in
from tests.helpers import Accounts
from tests.services.report_seed import seed_trafford

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_business_manager_builds_traffords_quarterly_report(
    app: Flask, live_server: str, browser: Browser, accounts: Accounts
) -> None:
    seeded = seed_trafford(app, accounts)
    seeded.world.services.clock.fixed = date(2026, 4, 9)
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, app, live_server, seeded.bm)

    # Home is the dashboard.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    expect(page.locator("#count-open")).to_have_text("2")
    assert_accessible(page, "dashboard")

    page.get_by_role("link", name="Reports", exact=True).first.click()
    assert_accessible(page, "reports, choosing")
    expect(page.get_by_label("Quarterly report to the TSSP (Trafford)")).to_be_checked()
    page.get_by_role("button", name="Show report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quarterly report to the TSSP (Trafford)")
    expect(page.locator("#report-period")).to_contain_text("Q4 2025/26")

    # A chart, its text summary, and its table behind "Table of the figures in the chart".
    chart = page.locator("svg#chart-agencies")
    expect(chart).to_be_visible()
    assert chart.get_attribute("role") == "img"
    expect(page.locator("#figure-agencies-summary")).to_contain_text("raised none")
    table = page.locator("#table-agencies")
    expect(table).to_be_hidden()
    page.get_by_text("Table of the figures in the chart: raising agency by receiving agency").click()
    expect(table).to_be_visible()
    expect(table.locator("tr", has_text="Health")).to_contain_text("3")
    page.get_by_text("Table of the figures in the chart: outcomes of the notices closed").click()
    expect(page.locator("#table-outcomes")).to_be_visible()
    expect(page.locator("#table-timeliness")).to_contain_text("66.7")
    assert_accessible(page, "quarterly report, tables open")

    with page.expect_download() as pdf_info:
        page.locator("#download-pdf").click()
    pdf_download = pdf_info.value
    assert pdf_download.suggested_filename == "TRA-report-2026-01-01-to-2026-03-31-OFFICIAL-SENSITIVE.pdf"
    pdf = Path(pdf_download.path()).read_bytes()
    cert = (Path(app.config["KEY_DIR"]) / "signing-cert.pem").read_bytes()
    assert verify_signed_pdf(pdf, cert)
    pdfsig = shutil.which("pdfsig")
    if pdfsig:
        checked = subprocess.run([pdfsig, pdf_download.path()], capture_output=True, text=True, check=False)  # noqa: S603
        assert "Signature is Valid" in checked.stdout, checked.stdout

    with page.expect_download() as csv_info:
        page.locator("#download-csv").click()
    rows = list(csv.reader(io.StringIO(Path(csv_info.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Section", "Row", "Measure", "Value"]
    assert rows[-1][0].startswith("OFFICIAL-SENSITIVE")

    with page.expect_download() as zip_info:
        page.locator("#download-zip").click()
    archive = zipfile.ZipFile(zip_info.value.path())
    assert len(archive.namelist()) == 4
    assert all(verify_signed_pdf(archive.read(name), cert) for name in archive.namelist())

    # The list finds the notices at stage 4 through its filters.
    page.get_by_role("link", name="All notices", exact=True).first.click()
    page.get_by_text("Find notices: filter by status").click()
    page.get_by_label("Stage now").select_option("stage-4")
    assert_accessible(page, "list, filters open")
    page.get_by_role("button", name="Find notices").click()
    expect(page.get_by_role("table").locator("caption")).to_contain_text("Notices (2)")
    assert_accessible(page, "list, filtered")

    # The same two in order of reference, the order kept in the form.
    page.get_by_label("Order").select_option("reference")
    page.get_by_role("button", name="Find notices").click()
    shown = page.locator("table.govuk-table tbody a.govuk-link").all_inner_texts()
    assert len(shown) == 2 and shown == sorted(shown)
    expect(page.get_by_label("Order")).to_have_value("reference")

    # The register as an XLSX workbook: the header first, the marking in its page header and last row.
    with page.expect_download() as xlsx_info:
        page.get_by_role("link", name="as an Excel workbook (XLSX)").click()
    assert xlsx_info.value.suggested_filename.endswith("-OFFICIAL-SENSITIVE.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(xlsx_info.value.path()).read_bytes())).active
    assert sheet is not None and sheet.oddHeader.center.text == "OFFICIAL-SENSITIVE"
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(exports.COLUMNS) and str(rows[-1][0]).startswith("OFFICIAL-SENSITIVE")
    assert len(rows) > 2 and all(row[0] for row in rows[1:-1])
    context.close()
