"""The audit trail and the keys page, for a partnership's administrators."""

from __future__ import annotations

import csv
import io

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from sqlalchemy import select, text

from portal.domain.models import AuditEvent, Role
from portal.services import administration
from portal.web.database import session_factory
from tests.helpers import (
    CANARY_NAME,
    CANARY_NARRATIVE,
    Accounts,
    appendix1_answers,
    contact_id,
    csrf_from,
    raise_notice,
    sign_in,
)


def _admin(app: Flask, accounts: Accounts):  # type: ignore[no-untyped-def]
    client = app.test_client()
    admin = accounts.make(Role.ADMIN, name="Ada Admin")
    sign_in(client, app, admin)
    return client, admin


def _whats(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [tr.select("td")[2].get_text(strip=True) for tr in soup.select("#audit-entries tbody tr")]


def test_the_audit_is_filtered_by_user_reference_action_and_date(app: Flask, accounts: Accounts) -> None:
    raiser = app.test_client()
    practitioner = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub", name="Pat")
    sign_in(raiser, app, practitioner)
    notice_id, reference = raise_notice(raiser, appendix1_answers(contact_id(app, "Rochdale Children's Social Care")))
    bolton = app.test_client()
    sign_in(bolton, app, accounts.make(Role.PRACTITIONER, partnership="bolton", name="Bolt"))
    client, admin = _admin(app, accounts)

    everything = client.get("/admin/audit")
    assert everything.status_code == 200
    # Bolton's sign-ins are not Rochdale's business; no child's details anywhere.
    assert "Bolt" not in everything.text
    assert CANARY_NAME not in everything.text and CANARY_NARRATIVE not in everything.text

    by_reference = client.get(f"/admin/audit?reference={reference.lower()}")
    assert set(_whats(by_reference.text)) >= {"Notice sent", "Notice read"}
    assert reference in by_reference.text
    assert _whats(client.get("/admin/audit?reference=ROC-1999-0001").text) == []
    by_user = client.get(f"/admin/audit?user={practitioner.id}&action=sign_in.code")
    assert _whats(by_user.text) == ["Security code entered"]
    assert _whats(client.get("/admin/audit?from=2001-01-01&to=2001-01-02").text) == []
    bad = client.get("/admin/audit?from=2026-13-45")
    assert "Enter a real date" in bad.text

    exported = client.get(f"/admin/audit.csv?reference={reference}")
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert rows and all(r["object_id"] == notice_id for r in rows)
    with session_factory(app)() as db:
        assert (
            db.execute(select(AuditEvent).where(AuditEvent.action == "audit.exported")).scalar_one().actor_id
            == admin.id
        )


def test_a_long_trail_is_counted_only_up_to_a_cap(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _admin_account = _admin(app, accounts)
    monkeypatch.setattr(administration, "COUNT_CAP", 1)  # the admin's own sign-in made two
    page = client.get("/admin/audit")
    assert "of more than 1 entries: narrow the filters" in BeautifulSoup(page.text, "html.parser").select_one(
        "#result-count"
    ).get_text(" ", strip=True), page.text[page.text.find("result-count") :][:300]
    monkeypatch.setattr(administration, "COUNT_CAP", 10_000)
    assert "more than" not in client.get("/admin/audit").text


def test_the_chain_check_says_intact_then_names_a_broken_entry(app: Flask, accounts: Accounts) -> None:
    client, _admin_account = _admin(app, accounts)
    page = client.get("/admin/audit")
    checked = client.post("/admin/audit/verify", data={"csrf_token": csrf_from(page.text)})
    assert "Intact" in BeautifulSoup(checked.text, "html.parser").select_one("#chain-status").get_text()
    # Tamper with an entry behind the application's back (SQLite has no triggers to drop; PostgreSQL does).
    with session_factory(app)() as db:
        if db.bind.dialect.name == "postgresql":
            db.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        else:
            db.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
        db.execute(text("UPDATE audit_event SET outcome = 'tampered' WHERE seq = 2"))
        db.commit()
    checked = client.post("/admin/audit/verify", data={"csrf_token": csrf_from(page.text)})
    assert "Broken at entry 2" in checked.text


def test_the_keys_page_shows_the_active_kek_and_its_data_keys(app: Flask, accounts: Accounts) -> None:
    client, _admin_account = _admin(app, accounts)
    page = client.get("/admin/keys")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    rows = [[td.get_text(strip=True) for td in tr.select("td")] for tr in soup.select("#keks tbody tr")]
    active = [r for r in rows if r[2] == "Active"]
    assert len(active) == 1 and int(active[0][1]) >= 1  # the admin's own data key at least
    assert "Blind-index key version" in page.text
    assert "No key has been rotated" in page.text
