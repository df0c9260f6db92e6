"""The walking skeleton in a real browser: raise a Rochdale Appendix 1 notice, the SPOC reads it, the business
manager lists it; axe-core finds no WCAG 2.2 A/AA violation on any page, in empty and error states."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from portal.domain.models import Role
from portal.infrastructure.mail import deliver_due
from portal.infrastructure.pdf.signing import verify_signed_pdf
from portal.web.database import session_factory
from tests.helpers import CANARY_NAME, CANARY_NARRATIVE, Account, fresh_code, smtp_transport

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

AXE = Axe()
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CSC = "Rochdale Children's Social Care"


def assert_accessible(page: Page, state: str) -> None:
    results = AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, f"{state}: {results.generate_report()}"


def choose_option(page: Page, select: str, text: str) -> None:
    value = page.locator(f"{select} option", has_text=text).first.get_attribute("value")
    page.locator(select).select_option(value=value)


def sign_in(page: Page, app: Flask, base: str, account: Account, *, check_a11y: bool = False) -> None:
    if not page.url.endswith("/sign-in"):
        page.goto(f"{base}/sign-in")
    if check_a11y:
        assert_accessible(page, "sign-in")
        page.get_by_role("button", name="Continue").click()
        expect(page).to_have_title(re.compile("^Error: "))
        expect(page.locator(".govuk-error-summary")).to_be_focused()
        assert_accessible(page, "sign-in with errors")
    page.get_by_label("Email address").fill(account.email)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Enter your security code")).to_be_visible()
    if check_a11y:
        assert_accessible(page, "security code")
    page.get_by_label("Enter your security code").fill(fresh_code(app, account))
    page.get_by_role("button", name="Sign in").click()


def test_walking_skeleton_journey(app: Flask, live_server: str, browser: Browser, accounts, smtp) -> None:
    base = live_server
    practitioner = accounts.make(
        Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub", name="Pat Practitioner"
    )
    # The SPOC has an account at the directory's address, so their e-mail carries the notice's own link (a
    # contact without an account is sent an invitation instead: browser/test_invitation_journey.py).
    spoc = accounts.make(Role.SPOC, agency=CSC, name="Sam Spoc", email="tracy.chatterton@rochdale.gov.uk")
    other_agency_spoc = accounts.make(Role.SPOC, agency="Pennine Care Foundation Trust")
    manager = accounts.make(Role.BUSINESS_MANAGER, name="Bea Manager")
    bolton_manager = accounts.make(Role.BUSINESS_MANAGER, partnership="bolton")

    # 1. The practitioner signs in and meets the immediate-risk question first.
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, app, base, practitioner, check_a11y=True)
    expect(page.get_by_role("heading", name="Your notices")).to_be_visible()
    assert_accessible(page, "practitioner home")
    page.get_by_role("button", name="Raise a notice").click()
    expect(page.get_by_role("heading", name="Is the child at immediate risk of significant harm?")).to_be_visible()
    assert_accessible(page, "immediate-risk question")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    assert_accessible(page, "immediate-risk question with error")

    # "Yes" shows where to refer today; the portal is never the channel for it.
    page.get_by_label("Yes").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Make a child protection referral now")).to_be_visible()
    assert_accessible(page, "immediate risk advice")

    # "No" continues to Appendix 1.
    page.goto(f"{base}/notices/new")
    page.get_by_label("No").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Professional Challenge / Outcome Resolution Notice")).to_be_visible()
    assert_accessible(page, "Appendix 1 form")

    # 2. A first try with the child's name missing and an impossible date of birth.
    page.locator("#child_dob-day").fill("31")
    page.locator("#child_dob-month").fill("2")
    page.locator("#child_dob-year").fill("2016")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the child or young person's name")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Date of birth must be a real date")
    assert_accessible(page, "Appendix 1 form with errors")

    page.get_by_label("Name of Child/Young Person").fill(CANARY_NAME)
    page.locator("#child_dob-day").fill("29")
    page.get_by_label("NHS Number").fill("999 000 0018")
    page.get_by_label("P Number").fill("P778899")
    choose_option(page, "#sent_to_1", "Head of Service – First Response Team")
    choose_option(page, "#sent_to_2", "Greater Manchester Police:")
    page.get_by_label("Summary of disagreement").fill(f"{CANARY_NARRATIVE}. The referral was declined.")
    page.get_by_label(re.compile("Evidence of the informal challenge")).fill(
        "Stage 1 call on 3 Nov; stage 2 meeting 10 Nov."
    )
    page.get_by_label(re.compile("Desired outcome for the child")).fill("A strategy discussion this week.")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Check your answers before sending the notice")).to_be_visible()
    expect(page.locator("main")).to_contain_text(CANARY_NAME)
    expect(page.locator("main")).to_contain_text("All escalations to GMP must include a telephone call")
    assert_accessible(page, "check your answers")
    page.get_by_role("button", name="Submit notice").click()

    expect(page.locator(".govuk-panel__title")).to_have_text("Notice sent")
    reference = page.locator(".govuk-panel__body strong").inner_text()
    assert re.fullmatch(r"ROC-\d{4}-0001", reference)
    expect(page.locator("main")).to_contain_text("must include a telephone call")
    assert_accessible(page, "confirmation")
    context.close()

    # 3. The mail worker delivers one e-mail per recipient, and one to the raiser that it went: a reference and a
    # link, nothing else.
    transport = smtp_transport(smtp.port)
    assert deliver_due(session_factory(app), transport, worker_id="browser-test").sent == 3
    messages = smtp.wait_for(3)
    # The two chosen contacts, and the raiser told that the notice went.
    assert sorted(m["To"].lower() for m in messages) == sorted(
        ["rochdale.publicprotection@gmp.pnn.police.uk", "tracy.chatterton@rochdale.gov.uk", practitioner.email.lower()]
    )
    to_spoc = next(m for m in messages if m["To"].lower() == spoc.email)
    body = to_spoc.get_content()
    assert reference in to_spoc["Subject"] and CANARY_NAME not in body
    link = re.search(r"http://127\.0\.0\.1:\d+/notices/[0-9a-f-]{36}", body).group(0)

    # 4. The SPOC follows the link, signs in, reads the notice and downloads the signed PDF.
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    sign_in(page, app, base, spoc)
    expect(page).to_have_url(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    expect(page.locator("main")).to_contain_text(CANARY_NAME)
    assert_accessible(page, "SPOC reads the notice")
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(f"Download version 1 of {reference}")).click()
    download = download_info.value
    assert download.suggested_filename == f"{reference}-v1.pdf"
    pdf = Path(download.path()).read_bytes()
    cert = (Path(app.config["KEY_DIR"]) / "signing-cert.pem").read_bytes()
    assert verify_signed_pdf(pdf, cert)
    context.close()

    # Another agency's SPOC and another partnership's business manager get "Page not found".
    for outsider in (other_agency_spoc, bolton_manager):
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/sign-in")
        sign_in(page, app, base, outsider)
        response = page.goto(link)
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text(CANARY_NAME)
        assert_accessible(page, "404 for an outsider")
        context.close()

    # 5. The Rochdale business manager sees it in the list, without the child's details, and downloads it.
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    sign_in(page, app, base, manager)
    expect(page.get_by_role("heading", level=1)).to_contain_text("All notices")
    row = page.locator("tr", has_text=reference)
    expect(row).to_contain_text(CSC)
    expect(row).to_contain_text("Greater Manchester Police")
    expect(page.locator("main")).not_to_contain_text(CANARY_NAME)
    expect(page.locator("main")).not_to_contain_text("999 000 0018")
    assert_accessible(page, "business manager list")
    row.get_by_role("link", name=reference).click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(f"Download version 1 of {reference}")).click()
    assert download_info.value.suggested_filename == f"{reference}-v1.pdf"
    context.close()
