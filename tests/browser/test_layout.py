"""Layout a reader relies on, in a real browser: answers beside their labels, no sideways scrolling at 390 px,
a printed page without the controls, and every part of the page inside a landmark."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page

from portal.domain.models import Role
from tests.browser.test_journey import CSC, assert_accessible, sign_in
from tests.helpers import appendix1_answers, contact_id, raise_notice
from tests.helpers import sign_in as sign_in_client

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RAISING = "Rochdale Early Help and Safeguarding Hub"


FIRST_CHARACTER_GAP = """dd => {
    // The first visible character of the answer, wherever the markup puts it.
    const walker = document.createTreeWalker(dd, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const at = node.textContent.search(/\\S/);
        if (at < 0) continue;
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + 1);
        const top = dd.getBoundingClientRect().top + parseFloat(getComputedStyle(dd).paddingTop);
        return range.getBoundingClientRect().top - top;
    }
    return 0;
}"""


def _first_rows_aligned(page: Page) -> None:
    """Each answer's first line sits level with its label, not one line below it."""
    values = page.locator("main .govuk-summary-list__value")
    assert values.count() > 5
    for i in range(values.count()):
        gap = values.nth(i).evaluate(FIRST_CHARACTER_GAP)
        assert gap < 6, f"answer {i} starts {gap} px below the top of its cell"


def test_answers_beside_labels_narrow_screen_print_and_landmarks(
    app: Flask, live_server: str, browser: Browser, accounts, client: FlaskClient
) -> None:
    base = live_server
    practitioner = accounts.make(Role.PRACTITIONER, agency=RAISING, name="Pat Practitioner")
    sign_in_client(client, app, practitioner)
    notice_id, _reference = raise_notice(client, appendix1_answers(contact_id(app, CSC)))

    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, app, base, practitioner)

    # 390 px (an iPhone held upright): the home page's table scrolls in its own box, the page does not.
    page.goto(f"{base}/")
    assert page.locator("main table").count() == 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"home page is {width} px wide at 390 px"
    assert_accessible(page, "home at 390 px")
    # Everything is inside a landmark (axe best practice "region"): the signed-in strip included.
    region = Axe().run(page, options={"runOnly": {"type": "rule", "values": ["region"]}})
    assert region.violations_count == 0, region.generate_report()

    # The notice page: each answer level with its label.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/notices/{notice_id}")
    _first_rows_aligned(page)
    region = Axe().run(page, options={"runOnly": {"type": "rule", "values": ["region"]}})
    assert region.violations_count == 0, region.generate_report()

    # Printed, the page is the record: no navigation, no buttons, no sign-out strip.
    page.emulate_media(media="print")
    for selector in (".govuk-service-navigation", ".govuk-button", ".app-signed-in-bar", ".govuk-footer"):
        locator = page.locator(selector)
        for i in range(locator.count()):
            assert not locator.nth(i).is_visible(), f"{selector} is printed"
    assert page.locator("main h1").is_visible()
    page.emulate_media(media="screen")
    assert page.locator(".app-signed-in-bar").is_visible()
    context.close()
