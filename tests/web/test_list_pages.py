"""Lists are paginated on the server: a page's work does not grow with the number of notices (issue 11)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.domain.models import Agency, DirectoryContact, NoticeStage, Role
from portal.services import casework, raising
from portal.web.runtime import portal_services
from tests.helpers import Accounts, contact_id, sign_in, statements
from tests.services.builders import TARGET, World


def queries_for(app: Flask, client: FlaskClient, url: str) -> int:
    client.get(url)  # the first request after signing in may refresh the session: not the list's work
    with statements(app) as seen:
        response = client.get(url)
    assert response.status_code == 200
    return len(seen)


def references(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [a.text for a in soup.select("table.govuk-table tbody a.govuk-link")]


def link(html: str, rel: str) -> str | None:
    soup = BeautifulSoup(html, "html.parser")
    found = soup.select_one(f"nav.govuk-pagination a[rel={rel}]")
    return str(found["href"]) if found else None


def test_list_pages_issue_the_same_statements_at_5_and_at_60_notices(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER)
    spoc = accounts.make(Role.SPOC, agency=TARGET)
    manager = accounts.make(Role.BUSINESS_MANAGER)
    clients = {}
    for name, account in (("practitioner", raiser), ("spoc", spoc), ("business", manager)):
        clients[name] = app.test_client()
        sign_in(clients[name], app, account)
    pages = {
        "practitioner": "/",
        "spoc": "/",
        "business": "/business/notices",
        "business overdue": "/business/notices?due=overdue",
        **{f"business sort {sort}": f"/business/notices?sort={sort}" for sort in casework.SORTS},
    }

    def measure() -> dict[str, int]:
        return {page: queries_for(app, clients[page.split()[0]], url) for page, url in pages.items()}

    # Labelled, as raisers label them: each label is decrypted under its own notice's key.
    made = [world.raise_rochdale(raiser, notice_label=f"Label {i}") for i in range(5)]
    at_5 = measure()
    made += [world.raise_rochdale(raiser, notice_label=f"Label {i}") for i in range(5, 60)]
    at_60 = measure()
    assert at_60 == at_5

    # Only a page of rows is rendered, and every notice is reached once by following the pages.
    first = clients["business"].get("/business/notices").text
    assert "All notices (60)" in first
    assert len(references(first)) == casework.PAGE_SIZE
    after = link(first, "next")
    assert after is not None and link(first, "prev") is None
    second = clients["business"].get(after).text
    assert len(references(second)) == 60 - casework.PAGE_SIZE and link(second, "next") is None
    newest_first = [n.reference for n in sorted(made, key=lambda n: (n.submitted_at, n.id), reverse=True)]
    assert references(first) + references(second) == newest_first
    back = link(second, "prev")
    assert back is not None and references(clients["business"].get(back).text) == references(first)

    # The SPOC's and the practitioner's home pages are paginated the same way, and show the raisers' labels.
    for name in ("spoc", "practitioner"):
        home = clients[name].get("/").text
        assert len(references(home)) == casework.PAGE_SIZE and link(home, "next") is not None
        assert "Label 59" in home


def test_each_order_pages_through_every_notice_once(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER)
    client = app.test_client()
    sign_in(client, app, accounts.make(Role.BUSINESS_MANAGER))
    made = [world.raise_rochdale(raiser) for _ in range(casework.PAGE_SIZE + 7)]
    # Rochdale sets no timescale of its own: give some open stages a due date, two on one day, so "due soonest"
    # orders by the day, then the notices without one.
    due = {n.id: date(2026, 5, 1) + timedelta(days=i % 9) for i, n in enumerate(made[::3])}
    with world.session() as db:
        for stage in db.execute(select(NoticeStage).where(NoticeStage.notice_id.in_(list(due)))).scalars():
            stage.due_on = due[stage.notice_id]
        db.commit()
    expected = {
        "newest": [n.reference for n in sorted(made, key=lambda n: (n.submitted_at, n.id), reverse=True)],
        "oldest": [n.reference for n in sorted(made, key=lambda n: (n.submitted_at, n.id))],
        "due": [n.reference for n in sorted(made, key=lambda n: (due.get(n.id, casework.NOT_DUE), n.id))],
        "reference": sorted(n.reference for n in made),
    }
    for sort, wanted in expected.items():
        first = client.get(f"/business/notices?sort={sort}").text
        after = link(first, "next")
        # The order is carried to the next page (the default needs no parameter).
        assert after is not None and (f"sort={sort}" in after) == (sort != "newest")
        second = client.get(after).text
        # Forward: every notice once, in the order chosen; back again: the first page as it was.
        assert references(first) + references(second) == wanted, sort
        back = link(second, "prev")
        assert back is not None and references(client.get(back).text) == references(first), sort
    # The order chosen is shown as chosen; an order that is not offered is the default.
    assert 'value="reference" selected' in client.get("/business/notices?sort=reference").text
    assert references(client.get("/business/notices?sort=nonsense").text) == expected["newest"][: casework.PAGE_SIZE]


def test_a_page_cursor_the_portal_did_not_make_is_not_found(app: Flask, accounts: Accounts) -> None:
    client = app.test_client()
    sign_in(client, app, accounts.make(Role.BUSINESS_MANAGER))
    for forged in ("not-a-cursor", "%%%", "QUFB"):
        assert client.get(f"/business/notices?after={forged}").status_code == 404
        assert client.get(f"/business/notices?sort=reference&after={forged}").status_code == 404
        assert client.get(f"/business/notices?sort=due&after={forged}").status_code == 404
    assert "There are no notices yet." in client.get("/business/notices?due=nonsense").text


def test_the_spocs_home_counts_each_notice_sent_to_its_agency_once(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER)
    client = app.test_client()
    sign_in(client, app, accounts.make(Role.SPOC, agency=TARGET))
    with world.session() as db:
        two = list(
            db.execute(
                select(DirectoryContact.id)
                .join(Agency)
                .where(Agency.name == TARGET, DirectoryContact.active.is_(True))
                .order_by(DirectoryContact.position)
                .limit(2)
            ).scalars()
        )
    assert len(two) == 2
    # Sent to the agency once, to two of its contacts, and to another agency only.
    once = world.raise_rochdale(raiser)
    twice = world.raise_rochdale(raiser, sent_to_1=str(two[0]), sent_to_2=str(two[1]))
    world.raise_rochdale(raiser, sent_to_1=str(contact_id(app, "Greater Manchester Police")))
    home = client.get("/").text
    assert "Notices (2)" in home
    assert sorted(references(home)) == sorted([once.reference, twice.reference])


def test_the_practitioners_home_shows_each_drafts_label_in_the_same_statements_however_many(
    app: Flask, accounts: Accounts
) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER)
    client = app.test_client()
    sign_in(client, app, raiser)

    def labelled_draft(number: int) -> None:
        draft_id = world.draft(raiser)
        with world.session() as db:
            raising.save_draft(db, world.services, world.user(db, raiser), draft_id, {}, label=f"Draft {number}")

    labelled_draft(0)
    with_one = queries_for(app, client, "/")
    for number in range(1, 4):
        labelled_draft(number)
    assert queries_for(app, client, "/") == with_one
    home = client.get("/").text
    assert all(f"Continue “Draft {number}”" in home for number in range(4))


def test_a_list_counts_only_up_to_the_cap_and_then_says_more_than(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A count stops at COUNT_CAP (portal.domain.counting): past it the page says "more than", and every row is
    still listed and paged. Below it, each count is exact."""
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER)
    clients = {name: app.test_client() for name in ("business", "spoc", "practitioner")}
    sign_in(clients["business"], app, accounts.make(Role.BUSINESS_MANAGER))
    sign_in(clients["spoc"], app, accounts.make(Role.SPOC, agency=TARGET))
    sign_in(clients["practitioner"], app, raiser)
    made = [world.raise_rochdale(raiser) for _ in range(5)]
    today = portal_services(app).today()
    # Four notices' stages are overdue, and one is due today (this week, whatever the day).
    with world.session() as db:
        stages = {s.notice_id: s for s in db.execute(select(NoticeStage)).scalars()}
        for notice in made[:4]:
            stages[notice.id].due_on = today - timedelta(days=3)
        stages[made[4].id].due_on = today
        db.commit()

    def shown(client: str, url: str) -> tuple[str, str, list[str]]:
        page = clients[client].get(url)
        assert page.status_code == 200
        soup = BeautifulSoup(page.text, "html.parser")
        caption = soup.select_one("table.govuk-table caption")
        overdue = soup.select_one("#overdue-count")
        return caption.text.strip() if caption else "", overdue.text if overdue else "", references(page.text)

    monkeypatch.setattr(casework, "COUNT_CAP", 3)
    caption, overdue, rows = shown("business", "/business/notices")
    assert (caption, overdue, len(rows)) == ("All notices (more than 3)", "more than 3", 5)
    assert shown("business", "/business/notices?due=overdue")[0] == "Overdue (more than 3)"
    assert shown("business", "/business/notices?due=this-week")[0] == "Due this week (1)"
    assert shown("spoc", "/")[0] == "Notices (more than 3)"
    assert shown("practitioner", "/")[0] == "Notices (more than 3)"

    monkeypatch.setattr(casework, "COUNT_CAP", 5)
    assert shown("business", "/business/notices")[:2] == ("All notices (5)", "4")
    assert shown("business", "/business/notices?due=overdue")[0] == "Overdue (4)"
    assert shown("spoc", "/")[0] == "Notices (5)"
