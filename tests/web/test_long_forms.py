"""Property 19: long forms do not lose work (docs/threats.md#property-19)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

import portal.web.sessions as web_sessions
from portal.domain.models import NoticeDraft, Role, utcnow
from portal.web.database import session_factory
from tests.helpers import (
    CANARY_NAME,
    CANARY_NARRATIVE,
    Accounts,
    contact_id,
    csrf_from,
    database_bytes,
    sign_in,
)


def test_long_forms_do_not_lose_work(app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch) -> None:
    account = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    client = app.test_client()
    sign_in(client, app, account)
    page = client.get("/notices/new")
    draft_url = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    form_page = client.get(draft_url).text
    assert 'data-autosave-url="' in form_page
    token = csrf_from(form_page)

    # The page's script saves what has been typed so far: unchecked (no recipient chosen yet), encrypted.
    typed = {
        "child_name": CANARY_NAME,
        "child_dob": ["29", "2", "2016"],
        "summary_of_disagreement": f"{CANARY_NARRATIVE}: an hour of careful writing",
        "sent_to_1": "",
        "not_a_question": "ignored",
    }
    response = client.post(f"{draft_url}/autosave", data={**typed, "csrf_token": token})
    assert response.status_code == 204
    # Without the page's CSRF token nothing is saved.
    assert client.post(f"{draft_url}/autosave", data={"child_name": "Overwritten"}).status_code == 400

    # The writer walks away; the session times out; the next "Continue" meets the sign-in page.
    later = utcnow() + app.session_interface.idle * 2  # type: ignore[attr-defined]
    monkeypatch.setattr(web_sessions, "utcnow", lambda: later)
    response = client.post(draft_url, data={**typed, "csrf_token": token})
    assert response.status_code in (302, 400)
    monkeypatch.undo()

    # Signed in again, the home page offers the unfinished notice, and the form holds what was typed.
    sign_in(client, app, account)
    home = client.get("/").text
    assert "Unfinished notices" in home and draft_url in home and CANARY_NAME not in home
    resumed = client.get(draft_url).text
    assert CANARY_NAME in resumed and CANARY_NARRATIVE in resumed and 'value="2016"' in resumed
    assert "ignored" not in resumed

    # What was saved is encrypted: neither the child's name nor the narrative is in the database.
    with session_factory(app)() as db:
        assert db.execute(select(NoticeDraft)).scalar_one().answers_ct is not None
    stored = database_bytes(app)
    assert CANARY_NAME.encode() not in stored and CANARY_NARRATIVE.encode() not in stored

    # And the draft still goes through every check at "Continue": a recipient must be chosen.
    token = csrf_from(resumed)
    response = client.post(draft_url, data={**typed, "csrf_token": token})
    assert response.status_code == 200 and "Choose who the notification is sent to" in response.text
    assert contact_id(app, "Rochdale Children's Social Care")
