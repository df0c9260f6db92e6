"""Withdrawing an open notice (with a reason, everyone told by a link-only e-mail, on the timeline) and deleting
an unsent draft (nothing left behind: its row and answers go and its data key is destroyed)."""

from __future__ import annotations

from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.domain.models import AuditEvent, DataKey, Notice, NoticeDraft, NoticeEvent, OutboxMessage, Role
from portal.web.database import session_factory
from tests.helpers import (
    CANARY_NARRATIVE,
    appendix1_answers,
    contact_id,
    csrf_from,
    database_bytes,
    errors_on,
    raise_notice,
    sign_in,
)

CSC = "Rochdale Children's Social Care"
REASON = "Withdrawn: Marrowbright family moved out of the area"


def test_raiser_withdraws_an_open_notice_and_everyone_is_told(app: Flask, client: FlaskClient, accounts) -> None:
    raiser = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    bm = accounts.make(Role.BUSINESS_MANAGER)
    sign_in(client, app, raiser)
    notice_id, reference = raise_notice(client, appendix1_answers(contact_id(app, CSC)))
    spoc = app.test_client()
    spoc_account = accounts.make(Role.SPOC, agency=CSC)
    sign_in(spoc, app, spoc_account)
    # The other side may not withdraw it.
    assert spoc.get(f"/notices/{notice_id}/withdraw").status_code == 404
    assert "Withdraw the notice" not in spoc.get(f"/notices/{notice_id}").text

    page = client.get(f"/notices/{notice_id}")
    assert "Withdraw the notice" in page.text
    page = client.get(f"/notices/{notice_id}/withdraw")
    assert page.status_code == 200
    empty = client.post(f"/notices/{notice_id}/withdraw", data={"csrf_token": csrf_from(page.text)})
    assert errors_on(empty.text) == ["Enter why the notice is being withdrawn"]
    with session_factory(app)() as db:
        before = {m.id for m in db.execute(select(OutboxMessage)).scalars()}

    done = client.post(
        f"/notices/{notice_id}/withdraw",
        data={"reason": REASON, "version": "2", "stage": "stage-3", "csrf_token": csrf_from(page.text)},
        follow_redirects=True,
    )
    soup = BeautifulSoup(done.text, "html.parser")
    assert "Notice withdrawn" in soup.select_one(".govuk-notification-banner--success").get_text()
    assert REASON in soup.select_one("main").get_text()
    assert "Withdraw the notice" not in done.text

    with session_factory(app)() as db:
        notice = db.get(Notice, notice_id)
        assert notice.status == "withdrawn" and notice.closed_at is not None
        assert [s.outcome for s in notice.stages] == ["withdrawn"]
        recipient = notice.recipients[0].email
        kinds = [e.kind for e in db.execute(select(NoticeEvent).where(NoticeEvent.notice_id == notice_id)).scalars()]
        assert kinds[-1] == "withdrawn"
        new = [m for m in db.execute(select(OutboxMessage)).scalars() if m.id not in before]
        audited = db.execute(select(AuditEvent).where(AuditEvent.action == "notice.withdraw")).scalars().all()
    assert {m.to_address for m in new} == {recipient, raiser.email, bm.email}
    for m in new:
        # A link only: the notice's own, or for a contact with no account yet, an invitation that lands on it.
        assert reference in m.subject and (f"/notices/{notice_id}" in m.body_text or "/invitation/" in m.body_text)
        assert REASON not in m.body_text and "Marrowbright" not in m.body_text
    # The SPOC's attempt was refused and audited; the raiser's withdrawal audited once.
    assert [(a.actor_id, a.outcome) for a in audited] == [(spoc_account.id, "denied"), (raiser.id, "ok")]
    # The reason is sealed like the narrative; the SPOC sees it on the notice, and nothing is open to act on.
    assert b"Marrowbright" not in database_bytes(app)
    assert REASON in spoc.get(f"/notices/{notice_id}").text
    assert spoc.get(f"/notices/{notice_id}/respond").status_code == 404
    rows = BeautifulSoup(client.get("/").text, "html.parser").select("main table tbody tr")
    assert "Withdrawn" in rows[0].get_text()


def test_deleting_a_draft_leaves_nothing_behind(app: Flask, client: FlaskClient, accounts) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    page = client.get("/notices/new")
    url = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    draft_id = url.rstrip("/").split("/")[-1]
    page = client.get(url)
    saved = client.post(url, data={**appendix1_answers(contact_id(app, CSC)), "csrf_token": csrf_from(page.text)})
    assert saved.status_code == 302
    with session_factory(app)() as db:
        key_id = db.get(NoticeDraft, draft_id).data_key_id

    confirm = client.get(f"{url}/delete")
    assert confirm.status_code == 200
    # "No" keeps it; no answer asks again.
    assert errors_on(client.post(f"{url}/delete", data={"csrf_token": csrf_from(confirm.text)}).text) == [
        "Select yes to delete the unfinished notice"
    ]
    kept = client.post(f"{url}/delete", data={"confirm": "no", "csrf_token": csrf_from(confirm.text)})
    assert kept.headers["Location"].endswith(url)
    gone = client.post(
        f"{url}/delete", data={"confirm": "yes", "csrf_token": csrf_from(confirm.text)}, follow_redirects=True
    )
    assert "Unfinished notice deleted" in gone.text and "Unfinished notices" not in gone.text
    assert client.get(url).status_code == 404
    with session_factory(app)() as db:
        assert db.get(NoticeDraft, draft_id) is None
        key = db.get(DataKey, key_id)
        assert key.wrapped is None and key.destroyed_at is not None
        assert db.execute(select(AuditEvent).where(AuditEvent.action == "draft.delete")).scalar_one().object_id == (
            draft_id
        )
    assert CANARY_NARRATIVE.encode() not in database_bytes(app)
