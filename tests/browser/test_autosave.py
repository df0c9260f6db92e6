"""Property 19 in a real browser: what a practitioner types is saved by the page's script, so leaving the page
(or being signed out) loses seconds, not the notice; the unfinished notice is offered on the home page."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from portal.domain.models import Role
from tests.browser.test_journey import assert_accessible, sign_in
from tests.helpers import CANARY_NAME, Accounts

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_typed_answers_are_saved_without_pressing_continue(
    app: Flask, live_server: str, browser: Browser, accounts: Accounts
) -> None:
    account = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server}/sign-in")
    sign_in(page, app, live_server, account)
    page.goto(f"{live_server}/notices/new")
    page.get_by_label("No").check()
    page.get_by_role("button", name="Continue").click()
    form_url = page.url
    page.get_by_label("Name of Child/Young Person").fill(CANARY_NAME)
    # The script saves after a few quiet seconds: wait for its request rather than for a fixed time.
    with page.expect_response(lambda r: r.url.endswith("/autosave") and r.status == 204, timeout=10_000):
        page.get_by_label("Summary of disagreement").fill("Typed, never continued")
    # Leave without pressing Continue, then come back through the home page.
    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", name="Unfinished notices")).to_be_visible()
    assert_accessible(page, "home page with an unfinished notice")
    page.get_by_role("link", name="Continue the notice, started").first.click()
    assert page.url == form_url
    expect(page.get_by_label("Name of Child/Young Person")).to_have_value(CANARY_NAME)
    expect(page.get_by_label("Summary of disagreement")).to_have_value("Typed, never continued")
    context.close()
