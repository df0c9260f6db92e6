"""The public verify page in a real browser, signed out: empty, with an error, and with a genuine PDF; axe-clean."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, expect

from portal.domain.models import Role
from tests.browser.test_journey import CSC, assert_accessible
from tests.browser.test_response_loop import submit_with_errors
from tests.helpers import appendix1_answers, contact_id, raise_notice
from tests.helpers import sign_in as sign_in_client

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_verify_a_pdf_without_signing_in(
    app: Flask, live_server: str, browser: Browser, accounts, client: FlaskClient
) -> None:
    sign_in_client(client, app, accounts.make(Role.PRACTITIONER))
    notice_id, reference = raise_notice(client, appendix1_answers(contact_id(app, CSC)))
    pdf = client.get(f"/notices/{notice_id}/pdf?version=1").data

    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Check a notice PDF").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check a notice PDF")
    assert_accessible(page, "verify")
    submit_with_errors(page, "Check", "verify", "Upload the PDF, or enter its SHA-256 fingerprint")
    page.get_by_label("Upload the PDF").set_input_files(
        files=[{"name": "notice.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    page.get_by_role("button", name="Check").click()
    expect(page.locator(".govuk-panel")).to_contain_text(reference)
    assert_accessible(page, "verify: genuine")
    context.close()
