"""Property 19 in a real browser: the session timeout warning (WCAG 2.2.1 Timing Adjustable).

With a 10-second idle timeout the dialog opens 8 seconds before expiry; "Stay signed in" (or Escape)
POSTs to /session/keep-alive and restarts the timeout; left alone, the page goes to the sign-in page,
which says why. The open dialog must be axe-clean, modal, and take and give back focus.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from portal.domain.models import Role
from portal.web.views import account as account_module
from tests.browser.test_journey import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

IDLE_SECONDS = 10
WARNING_SECONDS = 8


@pytest.fixture
def app(app: Flask) -> Flask:
    if "account.password" not in app.view_functions:
        app.register_blueprint(account_module.bp)
    app.session_interface.idle = timedelta(seconds=IDLE_SECONDS)  # type: ignore[attr-defined]
    app.config["SESSION_WARNING_SECONDS"] = WARNING_SECONDS
    return app


def test_timeout_warning_before_expiry(app: Flask, live_server: str, browser: Browser, accounts) -> None:
    user = accounts.make(Role.PRACTITIONER, name="Pat Practitioner")
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server}/sign-in")
    sign_in(page, app, live_server, user)
    expect(page.get_by_role("heading", name="Your notices")).to_be_visible()

    dialog = page.get_by_role("dialog", name="You will be signed out soon")
    expect(dialog).to_be_hidden()
    trigger = page.get_by_role("link", name="Change password")
    trigger.focus()

    # 1. The warning opens about 2 seconds after the page loaded; it is modal, focused and accessible.
    expect(dialog).to_be_visible(timeout=6_000)
    expect(dialog).to_have_attribute("aria-modal", "true")
    expect(dialog).to_be_focused()
    expect(dialog).to_contain_text(re.compile(r"sign you out in \d+ seconds"))
    assert page.evaluate("document.querySelector('dialog').matches(':modal')")
    assert_accessible(page, "timeout warning open")

    # 2. "Stay signed in" posts to the keep-alive URL, closes the dialog and gives focus back.
    with page.expect_response(re.compile(r"/session/keep-alive$")) as keep_alive:
        dialog.get_by_role("button", name="Stay signed in").click()
    assert keep_alive.value.status == 204
    expect(dialog).to_be_hidden()
    expect(trigger).to_be_focused()

    # 3. Escape also means "stay signed in".
    expect(dialog).to_be_visible(timeout=6_000)
    with page.expect_response(re.compile(r"/session/keep-alive$")) as keep_alive:
        page.keyboard.press("Escape")
    assert keep_alive.value.status == 204
    expect(dialog).to_be_hidden()

    # 4. Left alone, the page signs out to the sign-in page, which explains why.
    expect(dialog).to_be_visible(timeout=6_000)
    expect(page).to_have_url(re.compile(r"/sign-in$"), timeout=15_000)
    expect(page.locator("main")).to_contain_text("You were signed out because you had not used the portal")
    assert page.goto(f"{live_server}/").url.endswith("/sign-in")
    assert_accessible(page, "signed out after the timeout")
    context.close()


def test_new_account_pages_are_accessible(app: Flask, live_server: str, browser: Browser, accounts) -> None:
    """The change-password page (empty and with errors) and the 2FA set-up page, in a real browser."""
    from portal.domain.models import User
    from portal.services import accounts as account_service
    from portal.web.database import session_factory
    from portal.web.runtime import portal_services

    app.session_interface.idle = timedelta(minutes=30)  # type: ignore[attr-defined]
    user = accounts.make(Role.SPOC)
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, app, live_server, user)
    page.get_by_role("link", name="Change password").click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    assert_accessible(page, "change password")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    assert_accessible(page, "change password with errors")
    context.close()

    with session_factory(app)() as db:
        account_service.reset_totp(db, portal_services(app), None, db.get(User, user.id), remote_addr="cli")
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server}/sign-in")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(user.password)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    assert_accessible(page, "set up 2FA")
    page.get_by_text("My app asks for a setup link instead").click()
    assert_accessible(page, "set up 2FA with the link shown")
    page.get_by_role("button", name="Confirm and sign in").click()
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    assert_accessible(page, "set up 2FA with errors")
    context.close()
