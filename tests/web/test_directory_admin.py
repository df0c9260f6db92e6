"""The business unit and administrators keep the SPOC directory in the browser: contacts, reviews, CSV import."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.domain.models import Agency, AuditEvent, DirectoryContact, Notice, NoticeRecipient, Partnership, Role
from portal.services.directory import import_partnerships
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import Accounts, appendix1_answers, contact_id, csrf_from, errors_on, raise_notice, sign_in

CSC = "Rochdale Children's Social Care"
GMP = "Greater Manchester Police"


@pytest.fixture(autouse=True)
def _fixed_day(app: Flask) -> None:
    # The seeds' review dates are fixed, so "overdue" must be judged on a fixed day too.
    portal_services(app).clock.fixed = date(2026, 11, 23)


def _keeper(app: Flask, accounts: Accounts, role: Role = Role.BUSINESS_MANAGER) -> FlaskClient:
    client = app.test_client()
    sign_in(client, app, accounts.make(role))
    return client


def _export(client: FlaskClient) -> list[dict[str, str]]:
    response = client.get("/directory/directory.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _upload(client: FlaskClient, data: bytes):  # type: ignore[no-untyped-def]
    page = client.get("/directory/import")
    return client.post(
        "/directory/import",
        data={"csrf_token": csrf_from(page.text), "file": (io.BytesIO(data), "directory.csv")},
        content_type="multipart/form-data",
    )


def _active(app: Flask) -> set[tuple[str, str]]:
    with session_factory(app)() as db:
        return {
            (agency, role)
            for agency, role in db.execute(
                select(Agency.name, DirectoryContact.role_title)
                .join(Agency)
                .join(Partnership)
                .where(Partnership.slug == "rochdale", DirectoryContact.active.is_(True))
            ).all()
        }


def test_the_directory_lists_contacts_by_agency_with_review_status(app: Flask, accounts: Accounts) -> None:
    client = _keeper(app, accounts)
    page = client.get("/directory/")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    headings = [h.get_text(strip=True) for h in soup.select("h2.govuk-heading-m")]
    assert CSC in headings and GMP in headings
    # Rochdale's seed is reviewed by 2027-12-03: nothing overdue on the fixture's day.
    assert soup.select_one("#overdue-list") is None
    assert "Reviewed" in page.text


def test_an_overdue_review_is_listed_and_flagged_to_senders(app: Flask, accounts: Accounts) -> None:
    target = contact_id(app, CSC)
    with session_factory(app)() as db:
        db.get(DirectoryContact, target).review_by = date(2020, 1, 31)
        db.commit()
    client = _keeper(app, accounts)
    soup = BeautifulSoup(client.get("/directory/").text, "html.parser")
    assert "31 January 2020" in soup.select_one("#overdue-list").get_text()
    # The sender sees the warning beside the notes before sending.
    sender = app.test_client()
    sign_in(sender, app, accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub"))
    page = sender.get("/notices/new")
    draft_url = sender.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    form_page = sender.get(draft_url)
    assert "due for review on 31 January 2020" in form_page.text
    sender.post(draft_url, data={**appendix1_answers(target), "csrf_token": csrf_from(form_page.text)})
    check = sender.get(f"{draft_url}/check")
    assert "due for review on 31 January 2020" in check.text

    # Checked with the agency and still right: the next review is a year away, and senders are no longer told.
    page = client.get("/directory/")
    client.post(f"/directory/contacts/{target}/reviewed", data={"csrf_token": csrf_from(page.text)})
    with session_factory(app)() as db:
        assert db.get(DirectoryContact, target).review_by == date(2027, 11, 23)
    assert BeautifulSoup(client.get("/directory/").text, "html.parser").select_one("#overdue-list") is None
    assert "due for review" not in sender.get(f"{draft_url}/check").text


def test_adding_editing_and_deactivating_a_contact(app: Flask, accounts: Accounts) -> None:
    client = _keeper(app, accounts, Role.ADMIN)
    with session_factory(app)() as db:
        gmp = db.execute(
            select(Agency.id).join(Partnership).where(Partnership.slug == "rochdale", Agency.name == GMP)
        ).scalar_one()
    page = client.get("/directory/contacts/new")
    refused = client.post(
        "/directory/contacts/new",
        data={"csrf_token": csrf_from(page.text), "agency": str(gmp), "role_title": "", "email": "not-an-address"},
    )
    assert errors_on(refused.text) == [
        "Enter the role or post, for example Safeguarding Lead",
    ]
    refused = client.post(
        "/directory/contacts/new",
        data={"csrf_token": csrf_from(page.text), "agency": str(gmp), "role_title": "Duty Inspector", "email": "nope"},
    )
    assert errors_on(refused.text) == ["Enter an email address in the correct format, like name@example.com"]
    done = client.post(
        "/directory/contacts/new",
        data={
            "csrf_token": csrf_from(page.text),
            "agency": str(gmp),
            "role_title": "Duty Inspector",
            "email": "duty.inspector@gmp.example",
            "review_by": ["31", "3", "2027"],
        },
    )
    assert done.status_code == 302
    with session_factory(app)() as db:
        added = db.execute(select(DirectoryContact).where(DirectoryContact.role_title == "Duty Inspector")).scalar_one()
        assert (added.email, added.review_by, added.from_seed) == (
            "duty.inspector@gmp.example",
            date(2027, 3, 31),
            False,
        )
        assert db.get(Partnership, added.agency.partnership_id).directory_managed_at is not None
    page = client.get(f"/directory/contacts/{added.id}")
    client.post(
        f"/directory/contacts/{added.id}",
        data={
            "csrf_token": csrf_from(page.text),
            "agency": str(gmp),
            "role_title": "Duty Inspector",
            "email": "duty@gmp.example",
            "review_by": ["31", "3", "2027"],
        },
    )
    page = client.get(f"/directory/contacts/{added.id}/deactivate")
    client.post(f"/directory/contacts/{added.id}/deactivate", data={"csrf_token": csrf_from(page.text)})
    with session_factory(app)() as db:
        contact = db.get(DirectoryContact, added.id)
        assert (contact.email, contact.active) == ("duty@gmp.example", False)
        actions = [
            e.action
            for e in db.execute(
                select(AuditEvent).where(
                    AuditEvent.object_type == "directory_contact", AuditEvent.object_id == str(added.id)
                )
            ).scalars()
        ]
    assert actions == ["directory.contact_added", "directory.contact_changed", "directory.contact_deactivated"]


def test_a_deactivated_contact_is_not_offered_but_a_routed_notice_keeps_it(app: Flask, accounts: Accounts) -> None:
    target = contact_id(app, CSC)
    sender = app.test_client()
    sign_in(sender, app, accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub"))
    notice_id, _reference = raise_notice(sender, appendix1_answers(target))
    client = _keeper(app, accounts)
    page = client.get(f"/directory/contacts/{target}/deactivate")
    client.post(f"/directory/contacts/{target}/deactivate", data={"csrf_token": csrf_from(page.text)})
    page = sender.get("/notices/new")
    draft_url = sender.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    options = [o["value"] for o in BeautifulSoup(sender.get(draft_url).text, "html.parser").select("#sent_to_1 option")]
    assert str(target) not in options and len(options) > 1
    with session_factory(app)() as db:
        recipients = db.execute(select(NoticeRecipient).where(NoticeRecipient.notice_id == notice_id)).scalars().all()
        assert [r.contact_id for r in recipients] == [target]
        assert db.get(Notice, notice_id) is not None
    # The notice still names its recipient to whoever may read it.
    with session_factory(app)() as db:
        role = db.get(DirectoryContact, target).role_title
    assert role in sender.get(f"/notices/{notice_id}").text


def test_export_then_import_changes_nothing(app: Flask, accounts: Accounts) -> None:
    client = _keeper(app, accounts)
    rows = _export(client)
    assert {(r["agency"], r["role"]) for r in rows if r["role"]} == _active(app)
    preview = _upload(client, _csv(rows))
    assert "nothing would change" in preview.text
    assert 'action="/directory/import/apply"' not in preview.text


def test_an_import_with_a_bad_row_applies_nothing_and_a_corrected_one_applies(app: Flask, accounts: Accounts) -> None:
    client = _keeper(app, accounts)
    before = _active(app)
    rows = _export(client)
    gone = next(r for r in rows if r["agency"] == GMP)
    rows.remove(gone)
    new = {**rows[0], "role": "New Safeguarding Lead", "email": "new.lead@rochdale.example", "telephone": ""}
    bad = {**rows[0], "role": "Broken Lead", "email": "broken-at-example"}
    rows[1:1] = [new, bad]
    preview = _upload(client, _csv(rows))
    soup = BeautifulSoup(preview.text, "html.parser")
    assert "broken-at-example" in soup.select_one("#row-error-table").get_text()
    assert "line 4" in preview.text.lower() or "4" in [td.get_text() for td in soup.select("#row-error-table td")]
    assert 'action="/directory/import/apply"' not in preview.text
    # Forcing the apply with no valid preview changes nothing either.
    client.post("/directory/import/apply", data={"csrf_token": csrf_from(preview.text), "digest": "x"})
    assert _active(app) == before

    rows.remove(bad)
    preview = _upload(client, _csv(rows))
    soup = BeautifulSoup(preview.text, "html.parser")
    assert "New Safeguarding Lead" in soup.select_one("#added").get_text()
    assert gone["role"] in soup.select_one("#deactivated").get_text()
    assert _active(app) == before  # a preview changes nothing
    digest = soup.select_one("input[name=digest]")["value"]
    applied = client.post("/directory/import/apply", data={"csrf_token": csrf_from(preview.text), "digest": digest})
    assert applied.status_code == 302
    assert _active(app) == (before - {(GMP, gone["role"])}) | {(rows[0]["agency"], "New Safeguarding Lead")}
    with session_factory(app)() as db:
        assert db.execute(select(AuditEvent).where(AuditEvent.action == "directory.imported")).scalar_one()
        # The next deployment's seed import leaves the partnership's own directory alone.
        import_partnerships(db, today=date(2026, 12, 1))
        db.commit()
    assert (GMP, gone["role"]) not in _active(app)


def test_a_stale_preview_is_not_applied(app: Flask, accounts: Accounts) -> None:
    client = _keeper(app, accounts)
    rows = _export(client)
    rows.insert(1, {**rows[0], "role": "Another Lead", "email": "another@rochdale.example"})
    preview = _upload(client, _csv(rows))
    digest = BeautifulSoup(preview.text, "html.parser").select_one("input[name=digest]")["value"]
    # Someone else deactivates a contact meanwhile: the plan is no longer the one previewed.
    with session_factory(app)() as db:
        db.get(DirectoryContact, contact_id(app, GMP)).active = False
        db.commit()
    response = client.post("/directory/import/apply", data={"csrf_token": csrf_from(preview.text), "digest": digest})
    assert response.status_code == 200
    assert "The directory changed since your preview" in response.text
    assert ("Rochdale Children's Social Care", "Another Lead") not in _active(app)


def test_another_partnerships_contact_is_not_found(app: Flask, accounts: Accounts) -> None:
    client = _keeper(app, accounts)
    bolton = contact_id(app, "Bolton NHS Foundation Trust", partnership="bolton")
    assert client.get(f"/directory/contacts/{bolton}").status_code == 404
    page = client.get("/directory/")
    response = client.post(f"/directory/contacts/{bolton}/deactivate", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 404
