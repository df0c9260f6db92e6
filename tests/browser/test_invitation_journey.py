"""Issue 9 in a real browser: a notice is routed to a directory contact without an account; the invitation
arrives at a real SMTP server; the recipient sets a password, scans the QR code (read back from a screenshot of
the page with zxing-cpp, as a phone's camera would) and reads the notice. The same link again, an expired link
and a link opened by another signed-in user get clear pages. axe-core finds no WCAG 2.2 A/AA violation on any
new page, empty and with errors (the sign-in recovery pages included)."""

from __future__ import annotations

import io
import re
import urllib.parse
from datetime import timedelta

import pyotp
import pytest
import zxingcpp
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select, update

from portal.domain.models import DirectoryContact, Invitation, OutboxMessage, Role, utcnow
from portal.infrastructure.mail import deliver_due
from portal.services import invitations
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import (
    CANARY_NAME,
    Account,
    appendix1_answers,
    contact_id,
    fresh_code,
    raise_notice,
    sign_in,
    smtp_transport,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

AXE = Axe()
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RAISING = "Rochdale Early Help and Safeguarding Hub"
TARGET = "Rochdale Children's Social Care"
OTHER = "Greater Manchester Police"
PASSWORD = "marble kettle autumn ferry"


def assert_accessible(page: Page, state: str) -> None:
    results = AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, f"{state}: {results.generate_report()}"


def scan_qr(page: Page) -> str:
    """What a phone's camera reads from the QR code as drawn on the page."""
    png = page.locator("#totp-qr svg").screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1, "no QR code could be read from the page"
    return found[0].text


def _issue(app: Flask, agency: str, *, expired: bool = False) -> str:
    """A further invitation for a contact of ``agency`` (as a notice's e-mail would make); return its link."""
    with session_factory(app)() as db:
        contact = db.get(DirectoryContact, contact_id(app, agency))
        issued = invitations.issue(
            db,
            portal_services(app),
            email=contact.email,
            partnership_id=contact.agency.partnership_id,
            agency_id=contact.agency_id,
            contact_id=contact.id,
        )
        if expired:
            db.execute(
                update(Invitation)
                .where(Invitation.id == issued.invitation.id)
                .values(expires_at=utcnow() - timedelta(minutes=1))
            )
        db.commit()
        return issued.link


def test_a_contact_without_an_account_is_invited_by_mail_scans_the_qr_code_and_reads_the_notice(
    app: Flask, live_server: str, browser: Browser, accounts, smtp
) -> None:
    base = live_server
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING, name="Pat Practitioner")
    raiser_client = app.test_client()
    sign_in(raiser_client, app, raiser)
    notice_id, reference = raise_notice(raiser_client, appendix1_answers(contact_id(app, TARGET)))

    # The invitation arrives at a real SMTP server.
    deliver_due(session_factory(app), smtp_transport(smtp.port), worker_id="browser")
    (message,) = smtp.wait_for(1)
    body = message.get_content()
    assert reference in message["Subject"] and CANARY_NAME not in body
    link = re.search(rf"{re.escape(base)}/invitation/[A-Za-z0-9_-]+", body).group(0)

    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    assert_accessible(page, "invitation: name and password")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    assert_accessible(page, "invitation: name and password with errors")
    page.get_by_label("Your full name").fill("Robin Newcomer")
    page.get_by_label("Create a password").fill("password1234")
    page.get_by_label("Confirm your password").fill("password1234")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("too common")
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_label("Confirm your password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    assert_accessible(page, "authenticator set-up")
    uri = scan_qr(page)
    parsed = urllib.parse.urlparse(uri)
    query = urllib.parse.parse_qs(parsed.query)
    assert parsed.scheme == "otpauth" and query["issuer"] == ["Escalation Portal"]
    secret = query["secret"][0]
    # The key shown as text is the one in the QR code.
    assert page.locator("#totp-secret code").inner_text().replace(" ", "") == secret
    page.get_by_role("button", name="Confirm and sign in").click()
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    assert_accessible(page, "authenticator set-up with errors")
    page.get_by_label("Enter the code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm and sign in").click()

    # Landed on the notice, signed in as the new SPOC.
    expect(page).to_have_url(f"{base}/notices/{notice_id}")
    expect(page.get_by_text(CANARY_NAME).first).to_be_visible()
    expect(page.get_by_text(reference).first).to_be_visible()
    context.close()

    # The same link again.
    other = browser.new_context()
    other.set_default_timeout(10_000)
    page = other.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="This invitation link has already been used")).to_be_visible()
    assert_accessible(page, "used invitation")
    page.get_by_role("button", name="Send me a new link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert_accessible(page, "fresh link asked for")

    # An expired link, and a mistyped one.
    page.goto(_issue(app, OTHER, expired=True))
    expect(page.get_by_role("heading", name="This invitation link has expired")).to_be_visible()
    assert_accessible(page, "expired invitation")
    page.goto(f"{base}/invitation/not-the-whole-link")
    expect(page.get_by_role("heading", name="This invitation link is not right")).to_be_visible()
    assert_accessible(page, "mistyped invitation")
    other.close()

    # A valid link opened by someone else who is signed in.
    valid = _issue(app, OTHER)
    signed_in = browser.new_context()
    signed_in.set_default_timeout(10_000)
    page = signed_in.new_page()
    _sign_in(page, app, base, raiser)
    page.goto(valid)
    expect(page.get_by_role("heading", name="You are signed in as someone else")).to_be_visible()
    assert_accessible(page, "invitation opened by another signed-in user")
    signed_in.close()
    # Nothing was used up: the invitation still works for the person it was sent to.
    with session_factory(app)() as db:
        token = valid.rsplit("/", 1)[1]
        assert invitations.check(db, token).state is invitations.State.VALID


def _sign_in(page: Page, app: Flask, base: str, account: Account) -> None:
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email address").fill(account.email)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Enter your security code").fill(fresh_code(app, account))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your notices")).to_be_visible()


def test_the_sign_in_recovery_pages_are_accessible_empty_and_with_errors(
    app: Flask, live_server: str, browser: Browser, accounts
) -> None:
    base = live_server
    user = accounts.make(Role.SPOC, agency=TARGET)
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{base}/sign-in")
    page.get_by_role("link", name="I have forgotten my password").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    assert_accessible(page, "forgotten password")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    assert_accessible(page, "forgotten password with errors")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert_accessible(page, "reset link sent")

    with session_factory(app)() as db:
        body = db.scalars(select(OutboxMessage.body_text)).one()
    reset = re.search(rf"{re.escape(base)}/sign-in/reset/[A-Za-z0-9_-]+", body).group(0)
    page.goto(reset)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert_accessible(page, "choose a new password")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    assert_accessible(page, "choose a new password with errors")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm new password").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password has been changed")).to_be_visible()
    page.goto(reset)
    expect(page.get_by_role("heading", name="This password reset link cannot be used")).to_be_visible()
    assert_accessible(page, "used reset link")

    page.goto(f"{base}/sign-in")
    page.get_by_role("link", name="I have lost my authenticator app").click()
    assert_accessible(page, "lost authenticator")
    page.get_by_role("button", name="Tell the administrators").click()
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    assert_accessible(page, "lost authenticator with errors")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_role("button", name="Tell the administrators").click()
    expect(page.get_by_role("heading", name="Your request has been sent")).to_be_visible()
    assert_accessible(page, "lost authenticator sent")
    context.close()
