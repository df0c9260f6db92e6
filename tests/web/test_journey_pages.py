"""What the pages say and how they are put together: captions, labels, error summaries, the confirmation, the
due-date page, prompts shown only to whoever must act on them, and ids unique on every partnership's form."""

from __future__ import annotations

from collections import Counter

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient

from portal.domain.models import Role
from portal.web.runtime import portal_services
from tests.helpers import appendix1_answers, contact_id, csrf_from, errors_on, raise_notice, sign_in
from tests.lifecycle.driver import Life
from tests.lifecycle.test_trafford import CSC as TRAFFORD_CSC
from tests.lifecycle.test_trafford import HEALTH, START, add_spoc_contact, notice_answers

CAPTIONS = {
    "rochdale": "Appendix 1",
    "pan-cheshire": "Appendix A",
    "trafford": "Appendix 1",
    "bolton": "RPDE form",
    "halton": "Escalation record",
}


def _open_form(app: Flask, client: FlaskClient, accounts, slug: str) -> str:
    sign_in(client, app, accounts.make(Role.PRACTITIONER, partnership=slug))
    page = client.get("/notices/new")
    response = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)})
    return response.headers["Location"]


def _duplicate_ids(html: str) -> list[str]:
    ids = Counter(tag["id"] for tag in BeautifulSoup(html, "html.parser").select("[id]"))
    return [i for i, n in ids.items() if n > 1]


@pytest.mark.parametrize("slug", sorted(CAPTIONS))
def test_form_caption_names_the_partnerships_own_form_and_ids_are_unique(
    app: Flask, client: FlaskClient, accounts, slug: str
) -> None:
    url = _open_form(app, client, accounts, slug)
    page = client.get(url)
    caption = BeautifulSoup(page.text, "html.parser").select_one(".govuk-caption-l").get_text(strip=True)
    assert caption.endswith(f": {CAPTIONS[slug]}")
    assert "(please check box)" not in page.text
    assert _duplicate_ids(page.text) == []
    # With every error shown, each summary link still leads to exactly one element: the input to correct.
    failed = client.post(url, data={"csrf_token": csrf_from(page.text)})
    assert failed.status_code == 200 and _duplicate_ids(failed.text) == []
    soup = BeautifulSoup(failed.text, "html.parser")
    for link in soup.select(".govuk-error-summary__list a"):
        target = soup.select(link["href"])
        assert len(target) == 1 and target[0].name in ("input", "textarea", "select"), link["href"]


def test_sign_in_error_summary_says_a_failed_sign_in_once(app: Flask, client: FlaskClient, accounts) -> None:
    account = accounts.make(Role.PRACTITIONER)
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in", data={"email": account.email, "password": "not the password", "csrf_token": csrf_from(page.text)}
    )
    listed = errors_on(response.text)
    assert len(listed) == 1 and len(set(listed)) == 1


def test_confirmation_shows_directory_notes_as_information_not_a_task(
    app: Flask, client: FlaskClient, accounts
) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    gmp = contact_id(app, "Greater Manchester Police")
    notice_id, _ = raise_notice(client, appendix1_answers(gmp))
    page = client.get(f"/notices/{notice_id}/confirmation").text
    assert "You need to do this now" not in page
    assert "About the agencies it was sent to" in page and "must include a telephone call" in page


def test_due_date_page_states_the_rule_once_and_prompts_go_only_to_whoever_must_act(app: Flask, accounts) -> None:
    portal_services(app).clock.fixed = START
    contact = add_spoc_contact(app)
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="trafford", agency=HEALTH)
    life.party(accounts, "spoc", Role.SPOC, partnership="trafford", agency=TRAFFORD_CSC)
    life.notice_id, life.reference = raise_notice(raiser.client, notice_answers(contact))

    page = life.client("raiser").get(f"/notices/{life.notice_id}/due-date").text
    text = BeautifulSoup(page, "html.parser").select_one("main").get_text(" ", strip=True)
    sentences = [s.strip() for s in text.split(".") if len(s.strip()) > 20]
    assert [s for s, n in Counter(sentences).items() if n > 1] == []

    # "Inform the lead professional/chair" is the raiser's task: the SPOC is not told to do it.
    def warnings(who: str) -> str:
        return " ".join(
            w.get_text(" ") for w in BeautifulSoup(life.page(who), "html.parser").select(".govuk-warning-text")
        )

    assert "Inform the lead professional/ chair." in warnings("raiser")
    assert "Inform the lead professional" not in warnings("spoc")
