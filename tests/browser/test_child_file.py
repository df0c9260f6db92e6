"""Evidence attached before sending and at closure, and the child's file from a closed notice, in a real browser:
each new page and state axe-clean (WCAG 2.2 A/AA); the summary downloads as one signed page, the record as JSON."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pypdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, expect

from portal.domain.models import Role
from portal.infrastructure.pdf.signing import verify_signed_pdf
from tests.browser.test_journey import CSC, assert_accessible, sign_in
from tests.browser.test_response_loop import expect_banner, submit_with_errors
from tests.helpers import CANARY_NAME, appendix1_answers, contact_id, csrf_from
from tests.helpers import sign_in as sign_in_client

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RAISING = "Rochdale Early Help and Safeguarding Hub"


def test_evidence_before_sending_and_at_closure_then_the_childs_file(
    app: Flask, live_server: str, browser: Browser, accounts, client: FlaskClient
) -> None:
    base = live_server
    practitioner = accounts.make(Role.PRACTITIONER, agency=RAISING, name="Pat Practitioner")
    # A complete draft, written over HTTP on the same app (the browser raise journey is test_journey's).
    sign_in_client(client, app, practitioner)
    page = client.get("/notices/new")
    draft_url = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    page = client.get(draft_url)
    client.post(draft_url, data={**appendix1_answers(contact_id(app, CSC)), "csrf_token": csrf_from(page.text)})
    draft_id = draft_url.rstrip("/").split("/")[-1]

    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, app, base, practitioner)

    # Before sending: the check-answers page offers evidence; the upload page, its error state, the listed file.
    page.goto(f"{base}/notices/drafts/{draft_id}/check")
    expect(page.locator("main")).to_contain_text("No files attached")
    page.get_by_role("link", name="Attach evidence to send with the notice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Attach evidence to send with the notice")
    assert_accessible(page, "attach evidence to a draft")
    submit_with_errors(page, "Attach file", "attach evidence to a draft", "Select a file")
    page.get_by_label("Upload a file").set_input_files(
        files=[{"name": "stage-2-record.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7 stage 2 record"}]
    )
    page.get_by_role("button", name="Attach file").click()
    expect_banner(page, "File attached")
    expect(page.get_by_role("table", name="Files to send with the notice")).to_contain_text("stage-2-record.pdf")
    expect(page.get_by_role("button", name="Remove stage-2-record.pdf")).to_be_visible()
    assert_accessible(page, "check answers with evidence")
    # The file can be opened to check it before it is sent: the link downloads what was attached.
    with page.expect_download() as opened:
        page.get_by_role("link", name="stage-2-record.pdf (download to check it)").click()
    assert Path(opened.value.path()).read_bytes() == b"%PDF-1.7 stage 2 record"
    page.get_by_role("button", name="Submit notice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Notice sent")
    notice_url = f"{base}/notices/{draft_id}"

    # Closing with the written confirmation attached.
    page.goto(notice_url)
    expect(page.get_by_role("link", name="stage-2-record.pdf")).to_be_visible()
    page.get_by_role("link", name="Close with an agreed outcome").click()
    assert_accessible(page, "close with a file field")
    page.get_by_role("group", name="What was the outcome of the escalation?").get_by_label(
        "Resolved by agreement", exact=True
    ).check()
    page.get_by_label("What outcome was agreed?").fill("Strategy discussion held; plan agreed")
    page.get_by_label(re.compile("Written confirmation between the parties")).fill("Attached: signed by both managers")
    page.get_by_label(re.compile("How has the resolution improved")).fill("The child now has a protection plan")
    page.get_by_role("group", name="Has a debrief taken place?").get_by_label("No", exact=True).check()
    page.get_by_role("group", name=re.compile("Were any general issues identified")).get_by_label(
        "No", exact=True
    ).check()
    page.get_by_label(re.compile("Attach the written confirmation or other evidence")).set_input_files(
        files=[{"name": "confirmation.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7 confirmation"}]
    )
    page.get_by_role("button", name="Close notice").click()
    expect(page).to_have_url(notice_url)
    expect_banner(page, "Notice closed")
    expect(page.get_by_role("link", name="confirmation.pdf")).to_be_visible()

    # The child's file: the section, axe-clean on the closed notice, both downloads.
    section = page.get_by_role("heading", name="For the child's file")
    expect(section).to_be_visible()
    assert_accessible(page, "closed notice with the child's file")
    with page.expect_download() as got:
        page.get_by_role("link", name=re.compile("Download the summary for the child's file")).click()
    summary = Path(got.value.path()).read_bytes()
    assert got.value.suggested_filename.endswith("-child-file.pdf")
    cert = (Path(app.config["KEY_DIR"]) / "signing-cert.pem").read_bytes()
    assert verify_signed_pdf(summary, cert)
    reader = pypdf.PdfReader(io.BytesIO(summary))
    assert len(reader.pages) == 1 and CANARY_NAME in reader.pages[0].extract_text()
    with page.expect_download() as got:
        page.get_by_role("link", name=re.compile("Download the structured record for the child's file")).click()
    record = json.loads(Path(got.value.path()).read_text())
    assert got.value.suggested_filename.endswith("-child-file.json")
    assert record["outcome"]["code"] == "resolved-by-agreement" and record["child"][0]["value"] == CANARY_NAME
    assert record["closed"]["by"]["name"] == "Pat Practitioner"
    context.close()
