"""The response loop in a real browser, on a Rochdale Appendix 1 notice raised at Stage 3: the SPOC acknowledges
and responds, the practitioner escalates to Stage 4 (asked about immediate risk again), the business manager closes
it with an agreed outcome. Every page, and every action page empty and with errors, is axe-clean (WCAG 2.2 A/AA).

The notice is raised over HTTP with a Flask test client on the same app (and so the same database) as the live
server: the browser raise journey is covered by ``test_journey``, and this keeps the test quick.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, BrowserContext, Page, expect

from portal.domain.models import Role
from portal.infrastructure.pdf.signing import verify_signed_pdf
from tests.browser.test_journey import CSC, assert_accessible, sign_in
from tests.helpers import Account, appendix1_answers, contact_id, raise_notice
from tests.helpers import sign_in as sign_in_client

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RAISING = "Rochdale Early Help and Safeguarding Hub"
RESPONSE = "We do not agree the threshold is met: the family are engaging with Early Help."
AGREED_ACTIONS = "Team manager to review the referral by Friday."
REFERRAL = "Telephoned the Rochdale front door at 09:15 today and spoke to the duty social worker."
REASON = "Still no strategy discussion after the review; the child remains at risk."


def signed_in_page(
    browser: Browser, app: Flask, base: str, account: Account, notice_url: str
) -> tuple[BrowserContext, Page]:
    """A fresh browser as ``account``, on the notice page."""
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, app, base, account)
    page.goto(notice_url)
    return context, page


def expect_banner(page: Page, text: str) -> None:
    """The GOV.UK success banner confirms what the last action did, once: it is gone on the next page."""
    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(text)
    expect(banner).to_have_attribute("role", "alert")


def submit_with_errors(page: Page, button: str, state: str, *messages: str) -> None:
    """Submit the form, expect the error summary (focused, "Error: " title) and axe-clean error state."""
    page.get_by_role("button", name=button).click()
    expect(page).to_have_title(re.compile("^Error: "))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    for message in messages:
        expect(summary).to_contain_text(message)
    assert_accessible(page, f"{state} with errors")


def test_acknowledge_respond_escalate_close(
    app: Flask, live_server: str, browser: Browser, accounts, client: FlaskClient
) -> None:
    base = live_server
    practitioner = accounts.make(Role.PRACTITIONER, agency=RAISING, name="Pat Practitioner")
    spoc = accounts.make(Role.SPOC, agency=CSC, name="Sam Spoc")
    manager = accounts.make(Role.BUSINESS_MANAGER, name="Bea Manager")

    sign_in_client(client, app, practitioner)
    notice_id, reference = raise_notice(client, appendix1_answers(contact_id(app, CSC)))
    notice_url = f"{base}/notices/{notice_id}"
    summary_list = "main .govuk-summary-list >> nth=0"

    # 1. The SPOC acknowledges receipt, then records a response (empty first).
    context, page = signed_in_page(browser, app, base, spoc, notice_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    expect(page.locator(summary_list)).to_contain_text("Open")
    assert_accessible(page, "SPOC: open notice")
    page.get_by_role("button", name="Acknowledge receipt").click()
    expect(page).to_have_url(notice_url)
    expect(page.locator(summary_list)).to_contain_text("Acknowledged")
    expect(page.get_by_role("button", name="Acknowledge receipt")).to_have_count(0)
    expect_banner(page, "Receipt acknowledged")
    assert_accessible(page, "SPOC: acknowledged notice")

    page.get_by_role("link", name="Record your response").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record your response")
    assert_accessible(page, "record your response")
    submit_with_errors(
        page, "Record response", "record your response", "Enter your response, including the outcome and the reasons"
    )
    page.get_by_label(re.compile("Your response")).fill(RESPONSE)
    page.get_by_label(re.compile("Actions agreed")).fill(AGREED_ACTIONS)
    page.get_by_role("button", name="Record response").click()
    expect(page).to_have_url(notice_url)
    expect(page.locator(summary_list)).to_contain_text("Responded")
    stages = page.locator("main h2:has-text('Stages') ~ .govuk-summary-list").first
    expect(stages).to_contain_text(RESPONSE)
    expect(stages).to_contain_text(AGREED_ACTIONS)
    expect(page.get_by_role("link", name="Record your response")).to_have_count(0)
    # Only the challenging agency may escalate at Rochdale.
    expect(page.get_by_role("link", name="Escalate", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile(f"Download version 2 of {reference}"))).to_be_visible()
    expect_banner(page, "Response recorded")
    assert_accessible(page, "SPOC: responded notice")
    context.close()

    # 2. The practitioner escalates to Stage 4 and is asked about immediate risk again.
    context, page = signed_in_page(browser, app, base, practitioner, notice_url)
    expect(page.locator("main")).to_contain_text(RESPONSE)
    assert_accessible(page, "practitioner: responded notice")
    page.get_by_role("link", name="Escalate", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Escalate the notice")
    expect(page.get_by_role("group", name="Is the child at immediate risk of significant harm?")).to_be_visible()
    # The referral box opens only under "Yes"; Stage 4 is the only way on, so it is stated, not a lone radio;
    # nothing is skipped, so no skip reason is asked; the page says who Stage 4 goes to by default.
    referral_box = page.get_by_label(re.compile("how and when was the child protection referral made"))
    expect(referral_box).to_be_hidden()
    expect(page.get_by_role("group", name="Escalate to")).to_have_count(0)
    expect(page.get_by_label(re.compile("Why must the notice go straight"))).to_have_count(0)
    expect(page.locator("main")).to_contain_text("business unit")
    assert_accessible(page, "escalate")
    submit_with_errors(
        page,
        "Escalate notice",
        "escalate",
        "Select yes if the child is at immediate risk of significant harm",
        "Enter what remains unresolved and why it needs the next stage",
    )
    # Each summary link takes the user to its field (the first radio of a group).
    page.locator(".govuk-error-summary").get_by_role(
        "link", name="Select yes if the child is at immediate risk of significant harm"
    ).click()
    expect(page.locator("#immediate_risk")).to_be_focused()
    risk = page.get_by_role("group", name="Is the child at immediate risk of significant harm?")
    risk.get_by_label("Yes", exact=True).check()
    expect(referral_box).to_be_visible()
    assert_accessible(page, "escalate with the referral box open")
    submit_with_errors(
        page, "Escalate notice", "escalate (referral missing)", "Enter how and when the child protection referral"
    )
    expect(page.locator("#referral-error")).to_contain_text("Enter how and when the child protection referral was made")
    expect(risk.get_by_label("Yes", exact=True)).to_be_checked()
    referral = page.get_by_label(re.compile("how and when was the child protection referral made"))
    expect(referral).to_have_attribute("aria-describedby", re.compile("referral-error"))
    referral.fill(REFERRAL)
    page.get_by_label(re.compile("What remains unresolved")).fill(REASON)
    page.get_by_role("button", name="Escalate notice").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(notice_url)}(\?.*)?$"))
    expect(page.locator(summary_list).locator("dt:text-is('Stage') + dd")).to_have_text("Stage 4")
    expect(page.locator("main h3", has_text="Stage 4")).to_be_visible()
    expect(page.locator("main")).to_contain_text(REASON)
    timeline = page.locator("main h2:has-text('Timeline') + ol")
    expect(timeline).to_contain_text(re.compile(r"Escalated from Stage 3\S* to Stage 4"))
    expect(timeline).to_contain_text("the child was reported at immediate risk and a referral recorded")
    # One signed PDF per change: v1 raised, v2 the response, v3 the escalation (newest first).
    versions = page.get_by_role("link", name=re.compile(rf"Download version \d+ of {reference}"))
    expect(versions).to_have_count(3)
    expect(versions.first).to_contain_text(f"Download version 3 of {reference}")
    expect_banner(page, "Notice escalated to Stage 4")
    assert_accessible(page, "practitioner: escalated notice")
    with page.expect_download() as download_info:
        versions.first.click()
    download = download_info.value
    assert download.suggested_filename == f"{reference}-v3.pdf"
    cert = (Path(app.config["KEY_DIR"]) / "signing-cert.pem").read_bytes()
    assert verify_signed_pdf(Path(download.path()).read_bytes(), cert)
    context.close()

    # 3. The business manager closes it with the agreed outcome (empty first).
    context, page = signed_in_page(browser, app, base, manager, notice_url)
    expect(page.locator(summary_list).locator("dt:text-is('Stage') + dd")).to_have_text("Stage 4")
    assert_accessible(page, "business manager: escalated notice")
    page.get_by_role("link", name="Close with an agreed outcome").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Close the notice with an agreed outcome")
    assert_accessible(page, "close")
    submit_with_errors(
        page,
        "Close notice",
        "close",
        "Select the outcome of the escalation",
        "Enter the outcome that was agreed",
        "Enter the written confirmation between the parties",
        "Enter how the resolution improved the outcome for the child or family",
        "Select yes if a debrief has taken place",
        "Select yes if any general issues were identified for the partnership",
    )
    page.get_by_role("group", name="What was the outcome of the escalation?").get_by_label(
        "Decision changed", exact=True
    ).check()
    page.get_by_label("What outcome was agreed?").fill("Strategy discussion held; plan agreed")
    page.get_by_label(re.compile("Written confirmation between the parties")).fill(
        "Both managers confirmed the agreed outcome by secure e-mail"
    )
    page.get_by_label(re.compile("How has the resolution improved")).fill("The child now has a protection plan")
    page.get_by_role("group", name="Has a debrief taken place?").get_by_label("No", exact=True).check()
    page.get_by_role("group", name=re.compile("Were any general issues identified")).get_by_label(
        "Yes", exact=True
    ).check()
    page.get_by_label("If yes: what are they?").fill("Threshold guidance needs a worked example")
    page.get_by_role("button", name="Close notice").click()
    expect(page).to_have_url(notice_url)
    expect(page.locator(summary_list)).to_contain_text("Closed")
    expect(page.get_by_role("heading", name="Closure")).to_be_visible()
    closure = page.locator("main h2:has-text('Closure') + .govuk-summary-list")
    expect(closure.locator("dt:text-is('Outcome') + dd")).to_have_text("Decision changed")
    expect(closure).to_contain_text("Strategy discussion held; plan agreed")
    expect(closure).to_contain_text("Both managers confirmed the agreed outcome by secure e-mail")
    expect(closure).to_contain_text("The child now has a protection plan")
    expect(closure.locator("dt:text-is('Debrief taken place') + dd")).to_have_text("No")
    expect(closure).to_contain_text("Threshold guidance needs a worked example")
    expect(page.get_by_role("heading", name="What you can do")).to_have_count(0)
    expect(page.get_by_role("link", name="Close with an agreed outcome")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile(rf"Download version \d+ of {reference}"))).to_have_count(4)
    expect_banner(page, "Notice closed")
    assert_accessible(page, "business manager: closed notice")
    context.close()
