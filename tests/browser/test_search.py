"""The search for a child's notices in a real browser: axe-clean empty, with errors and with results; the terms
never appear in the address bar."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, expect

from portal.domain.models import Role
from tests.browser.test_journey import CSC, assert_accessible, sign_in
from tests.helpers import CANARY_NHS, Accounts, appendix1_answers, contact_id, raise_notice
from tests.helpers import sign_in as sign_in_client

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_search_is_accessible_and_keeps_terms_out_of_the_address(
    app: Flask, live_server: str, browser: Browser, accounts: Accounts, client: FlaskClient
) -> None:
    raiser = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    sign_in_client(client, app, raiser)
    _notice_id, reference = raise_notice(client, appendix1_answers(contact_id(app, CSC)))

    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server}/sign-in")
    sign_in(page, app, live_server, raiser)
    page.goto(f"{live_server}/search")
    assert_accessible(page, "search, empty")
    # A date of birth alone is refused beside the surname.
    page.get_by_label("Day").fill("29")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("2016")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_accessible(page, "search, date of birth alone")
    page.get_by_label("NHS number").fill(CANARY_NHS)
    page.get_by_label("Day").fill("")
    page.get_by_label("Month").fill("")
    page.get_by_label("Year").fill("")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    assert_accessible(page, "search results")
    assert CANARY_NHS.replace(" ", "") not in page.url and "2016" not in page.url
    context.close()
