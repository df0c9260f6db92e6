"""Messages, evidence, withdrawing a notice and deleting a draft in a real browser: each page, its error state and the
confirmation banner are axe-clean (WCAG 2.2 A/AA)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, expect

from portal.domain.models import Role
from tests.browser.test_journey import CSC, assert_accessible, sign_in
from tests.browser.test_response_loop import expect_banner, submit_with_errors
from tests.helpers import appendix1_answers, contact_id, csrf_from, raise_notice
from tests.helpers import sign_in as sign_in_client

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_message_withdraw_a_notice_and_delete_a_draft(
    app: Flask, live_server: str, browser: Browser, accounts, client: FlaskClient
) -> None:
    base = live_server
    practitioner = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    sign_in_client(client, app, practitioner)
    notice_id, _ = raise_notice(client, appendix1_answers(contact_id(app, CSC)))
    page = client.get("/notices/new")
    client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)})

    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, app, base, practitioner)

    page.goto(f"{base}/notices/{notice_id}")
    page.get_by_role("link", name="Send a message about this notice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send a message")
    assert_accessible(page, "send a message")
    submit_with_errors(page, "Send message", "send a message", "Enter your message")
    page.get_by_label("Your message").fill("Can we meet on Tuesday?\nI can do any time after 10.")
    page.get_by_role("button", name="Send message").click()
    expect_banner(page, "Message sent")
    expect(page.locator("#messages ~ .app-message")).to_contain_text("Can we meet on Tuesday?")
    assert_accessible(page, "notice with a message")

    # Evidence: the upload page, its error state, and the notice listing the file.
    page.get_by_role("link", name="Attach evidence").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Attach evidence")
    assert_accessible(page, "attach evidence")
    submit_with_errors(page, "Attach file", "attach evidence", "Select a file")
    page.get_by_label("Upload a file").set_input_files(
        files=[{"name": "minutes.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7 minutes"}]
    )
    page.get_by_role("button", name="Attach file").click()
    expect_banner(page, "File attached")
    expect(page.get_by_role("link", name="minutes.pdf")).to_be_visible()
    assert_accessible(page, "notice with evidence")

    page.get_by_role("link", name="Withdraw the notice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Withdraw the notice")
    assert_accessible(page, "withdraw")
    submit_with_errors(page, "Withdraw notice", "withdraw", "Enter why the notice is being withdrawn")
    page.get_by_label("Why are you withdrawing the notice?").fill("The family has moved away.")
    page.get_by_role("button", name="Withdraw notice").click()
    expect(page).to_have_url(re.compile(rf"/notices/{notice_id}$"))
    expect_banner(page, "Notice withdrawn")
    expect(page.locator("main")).to_contain_text("The family has moved away.")
    assert_accessible(page, "withdrawn notice")

    page.goto(f"{base}/")
    page.get_by_role("link", name=re.compile("^Delete")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete an unfinished notice")
    assert_accessible(page, "delete a draft")
    submit_with_errors(page, "Continue", "delete a draft", "Select yes to delete the unfinished notice")
    page.get_by_label("Yes, delete it").check()
    page.get_by_role("button", name="Continue").click()
    expect_banner(page, "Unfinished notice deleted")
    expect(page.get_by_role("heading", name="Unfinished notices")).to_have_count(0)
    assert_accessible(page, "home after deleting a draft")
    context.close()
