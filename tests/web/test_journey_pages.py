"""What the pages say and how they are put together: captions, labels, error summaries, the confirmation, the
due-date page, prompts shown only to whoever must act on them, and ids unique on every partnership's form."""

from __future__ import annotations

from collections import Counter
from datetime import date

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


def test_a_childs_date_of_birth_decades_ago_is_questioned(app: Flask, client: FlaskClient, accounts) -> None:
    url = _open_form(app, client, accounts, "rochdale")
    page = client.get(url)
    today = date.today()
    contact = str(contact_id(app, "Rochdale Children's Social Care"))
    old = appendix1_answers(int(contact), child_dob=[str(today.day), str(today.month), str(today.year - 36)])
    refused = client.post(url, data={**old, "csrf_token": csrf_from(page.text)})
    assert refused.status_code == 200
    assert any("makes the child 36 years old" in e for e in errors_on(refused.text))
    # A care leaver of 20 is a young person the procedure covers.
    young = appendix1_answers(int(contact), child_dob=["1", "1", str(today.year - 20)])
    assert client.post(url, data={**young, "csrf_token": csrf_from(page.text)}).status_code == 302


def test_escalate_page_asks_only_what_the_next_move_needs(app: Flask, client: FlaskClient, accounts) -> None:
    from tests.lifecycle.test_halton import BRIDGEWATER, RUNCORN, agency_id

    # Rochdale at Stage 3: one way on, stated rather than offered as a lone radio; nothing to skip.
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    notice_id, _ = raise_notice(client, appendix1_answers(contact_id(app, "Rochdale Children's Social Care")))
    soup = BeautifulSoup(client.get(f"/notices/{notice_id}/escalate").text, "html.parser")
    assert soup.select('input[type="radio"][name="to_stage"]') == []
    assert soup.select_one('input[type="hidden"][name="to_stage"]')["value"] == "stage-4"
    assert soup.select("#skip_reason") == []
    # The referral box belongs to "Yes" (hidden by the page's script until it is chosen).
    box = soup.select_one("#referral").find_parent(attrs={"data-reveal-name": True})
    assert (box["data-reveal-name"], box["data-reveal-value"]) == ("immediate_risk", "yes")
    # Stage 4 is the partnership's: the page says it goes to the business unit too.
    assert "business unit" in soup.select_one("main").get_text()

    # Halton from its first tier: three ways on, one of them skipping tiers with a reason.
    halton = app.test_client()
    sign_in(halton, app, accounts.make(Role.PRACTITIONER, partnership="halton", agency=BRIDGEWATER))
    notice_id, _ = raise_notice(
        halton,
        {
            "date_of_notification": ["2", "11", "2026"],
            "child_name": "A Child",
            "child_dob": ["1", "1", "2016"],
            "nhs_number": "",
            "completed_by_name": "Robin Nurse",
            "completed_by_role": "Named Nurse",
            "completed_by_agency_team": BRIDGEWATER,
            "completed_by_contact": "01928 000000",
            "other_agency": str(agency_id(app, RUNCORN)),
            "disagreement_area": "levels-of-need",
            "problem": "Level of need",
            "workers_aims": "A CIN plan",
            "practitioner_level": "Workers spoke; no agreement",
        },
    )
    soup = BeautifulSoup(halton.get(f"/notices/{notice_id}/escalate").text, "html.parser")
    offered = [i["value"] for i in soup.select('input[type="radio"][name="to_stage"]')]
    assert len(offered) > 1
    skip_box = soup.select_one("#skip_reason").find_parent(attrs={"data-reveal-name": True})
    assert skip_box["data-reveal-name"] == "to_stage"
    assert set(skip_box["data-reveal-value"].split()) < set(offered)


LABEL = "Plumtree strategy question, North team"


def test_a_label_the_raiser_chooses_tells_drafts_and_notices_apart_and_is_stored_sealed(
    app: Flask, client: FlaskClient, accounts
) -> None:
    from tests.helpers import database_bytes

    practitioner = accounts.make(Role.PRACTITIONER)
    sign_in(client, app, practitioner)
    page = client.get("/notices/new")
    response = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)})
    url = response.headers["Location"]
    page = client.get(url)
    csc = contact_id(app, "Rochdale Children's Social Care")
    answers = appendix1_answers(csc)
    assert (
        client.post(url, data={**answers, "notice_label": LABEL, "csrf_token": csrf_from(page.text)}).status_code == 302
    )
    home = BeautifulSoup(client.get("/").text, "html.parser")
    assert LABEL in home.select_one("main ul.govuk-list").get_text()
    assert LABEL in client.get(url).text  # the form shows it again

    check = client.get(f"{url}/check")
    response = client.post(f"{url}/check", data={"csrf_token": csrf_from(check.text)})
    notice_id = response.headers["Location"].split("/notices/")[1].split("/")[0]
    rows = BeautifulSoup(client.get("/").text, "html.parser").select("main table tbody tr")
    assert len(rows) == 1 and LABEL in rows[0].get_text()
    assert LABEL in client.get(f"/notices/{notice_id}").text

    # The SPOC it went to tells it apart by the same label.
    spoc = app.test_client()
    sign_in(spoc, app, accounts.make(Role.SPOC, agency="Rochdale Children's Social Care"))
    assert LABEL in BeautifulSoup(spoc.get("/").text, "html.parser").select_one("main table").get_text()
    # Sealed like the narrative: not in the database in plain text.
    assert LABEL.encode() not in database_bytes(app)


def test_raiser_is_emailed_a_link_when_the_notice_is_sent_and_actions_are_confirmed(app: Flask, accounts) -> None:
    from sqlalchemy import select

    from portal.domain.models import OutboxMessage
    from portal.web.database import session_factory

    portal_services(app).clock.fixed = START
    contact = add_spoc_contact(app)
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="trafford", agency=HEALTH)
    life.party(accounts, "spoc", Role.SPOC, partnership="trafford", agency=TRAFFORD_CSC)
    life.notice_id, life.reference = raise_notice(raiser.client, notice_answers(contact))
    with session_factory(app)() as db:
        mine = db.execute(select(OutboxMessage).where(OutboxMessage.to_address == raiser.account.email)).scalars().all()
    assert len(mine) == 1 and mine[0].subject.endswith(": sent")
    assert f"/notices/{life.notice_id}" in mine[0].body_text and "contains no case details" in mine[0].body_text
    assert "Zyxqoria" not in mine[0].body_text

    # Each action's page is followed by a success banner saying what was done.
    def banner(html: str) -> str:
        found = BeautifulSoup(html, "html.parser").select_one(".govuk-notification-banner--success")
        return found.get_text(" ", strip=True) if found else ""

    client = life.client("spoc")
    page = client.get(f"/notices/{life.notice_id}")
    response = client.post(
        f"/notices/{life.notice_id}/acknowledge", data={"csrf_token": csrf_from(page.text)}, follow_redirects=True
    )
    assert "Receipt acknowledged" in banner(response.text)
    assert banner(client.get(f"/notices/{life.notice_id}").text) == ""  # said once
    page = client.get(f"/notices/{life.notice_id}/due-date")
    response = client.post(
        f"/notices/{life.notice_id}/due-date",
        data={"agreed_due": ["10", "4", "2026"], "csrf_token": csrf_from(page.text)},
        follow_redirects=True,
    )
    assert "Date agreed: this stage is now due by" in banner(response.text)
