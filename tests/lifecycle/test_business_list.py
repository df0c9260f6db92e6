"""The business unit's list shows what is overdue and what is due this week, by the procedure's clocks."""

from __future__ import annotations

from datetime import date

import pytest
from bs4 import BeautifulSoup
from flask import Flask

from portal.domain.models import Role
from portal.web.runtime import portal_services
from tests.helpers import CANARY_NAME, Accounts, contact_id, raise_notice
from tests.lifecycle.driver import Life
from tests.lifecycle.test_bolton import AGENCY_A, AGENCY_B, SENT, rpde_answers


def counts(html: str) -> tuple[str, str]:
    soup = BeautifulSoup(html, "html.parser")
    return soup.select_one("#overdue-count").text, soup.select_one("#due-count").text


def test_business_list_shows_overdue_and_due_this_week(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal_services(app).clock.fixed = SENT
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="bolton", agency=AGENCY_A)
    life.party(accounts, "bm", Role.BUSINESS_MANAGER, partnership="bolton")
    life.notice_id, life.reference = raise_notice(raiser.client, rpde_answers(contact_id(app, AGENCY_B, "bolton")))

    def business_page(today: date, due: str = "") -> str:
        portal_services(app).clock.fixed = today
        page = life.client("bm").get("/business/notices" + (f"?due={due}" if due else ""))
        assert page.status_code == 200
        assert CANARY_NAME not in page.text  # lists never identify the child
        return page.text

    # Due Tue 6 Jan 2026: not this week on Thu 18 Dec; due this week on Mon 5 Jan; overdue from Wed 7 Jan.
    assert counts(business_page(date(2025, 12, 18))) == ("0", "0")
    this_week = business_page(date(2026, 1, 5), "this-week")
    assert counts(this_week) == ("0", "1") and "Due this week (1)" in this_week and life.reference in this_week
    assert "No notices match." in business_page(date(2026, 1, 5), "overdue")
    late = business_page(date(2026, 1, 7), "overdue")
    assert counts(late) == ("1", "0") and "Overdue (1)" in late and "6 January 2026" in late
    assert life.reference in late
    # The full list shows each notice once, however many clocks it is on.
    everything = business_page(date(2026, 1, 7))
    assert "All notices (1)" in everything and everything.count(life.reference) == 1

    # The business unit can chase by hand from the notice page; like the worker, once per overdue period.
    life.new_mail()
    assert "Chase the response now" in life.page("bm")
    life.act("bm", "chase")
    assert life.stages()[0].chase_count == 1 and "chased" in life.timeline()
    assert {to for to, _s, _b in life.new_mail()} >= set(life.recipients("formal-resolution"))
    life.act("bm", "chase")
    assert life.stages()[0].chase_count == 1 and life.new_mail() == []
