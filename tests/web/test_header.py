"""The page header is rendered once per shape and reused (portal.web.header): each person still sees their own
partnership and their own role's navigation, with the open administration section marked, in any order of
requests through one process."""

from __future__ import annotations

from bs4 import BeautifulSoup
from flask import Flask

from portal.domain.models import Role
from portal.web import header
from tests.helpers import Accounts, sign_in


def _header(html: str) -> tuple[str, list[tuple[str, str, str | None]]]:
    page = BeautifulSoup(html, "html.parser")
    top = page.select_one("header.govuk-template__header")
    assert top is not None
    logo = top.select_one(".govuk-generic-header__homepage-link")
    assert logo is not None
    links = [
        (str(a["href"]), a.get_text(strip=True), a.get("aria-current"))  # type: ignore[misc]
        for a in top.select("li.govuk-service-navigation__item a")
    ]
    return logo.get_text(strip=True), links


def test_each_person_sees_their_own_partnership_and_navigation_whatever_was_drawn_before(
    app: Flask, accounts: Accounts
) -> None:
    seen = {}
    people = {
        "practitioner": (accounts.make(Role.PRACTITIONER), "/"),
        "spoc in Halton": (accounts.make(Role.SPOC, partnership="halton"), "/"),
        "business manager": (accounts.make(Role.BUSINESS_MANAGER), "/directory/"),
        "admin on users": (accounts.make(Role.ADMIN), "/admin/users"),
        "admin on keys": (accounts.make(Role.ADMIN), "/admin/keys"),
    }
    # Twice round, interleaved: the second round is served from the cache the first filled.
    for _round in range(2):
        for who, (account, path) in people.items():
            client = app.test_client()
            sign_in(client, app, account)
            response = client.get(path)
            assert response.status_code == 200, who
            shown = _header(response.text)
            assert seen.setdefault(who, shown) == shown, who
    rochdale = "Rochdale Borough Safeguarding Children Partnership"
    assert seen["practitioner"] == (
        rochdale,
        [("/notices/new", "Raise a notice", None), ("/search", "Find a child's notices", None)],
    )
    logo, links = seen["spoc in Halton"]
    assert "Halton" in logo and links == [("/search", "Find a child's notices", None)]
    assert seen["business manager"][1] == [
        ("/business/notices", "All notices", None),
        ("/business/", "Dashboard", None),
        ("/business/reports", "Reports", None),
        ("/search", "Find a child's notices", None),
        ("/directory/", "Directory", "true"),
    ]
    assert [(text, current) for _h, text, current in seen["admin on users"][1]] == [
        ("Users", "true"),
        ("Audit", None),
        ("Keys", None),
        ("Directory", None),
    ]
    assert [current for _h, _t, current in seen["admin on keys"][1]] == [None, None, "true", None]
    # Signed out: the portal's own name, no navigation.
    assert _header(app.test_client().get("/sign-in").text) == (header.SIGNED_OUT_LOGO, [])
