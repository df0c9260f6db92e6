"""Administration in a real browser (issue 9): an administrator deactivates a user and resets a 2FA; the business
manager imports a directory CSV with one bad row (the preview shows the error; nothing is applied), fixes it,
applies it, and the deactivated contact is no longer offered on the notice form. axe-core finds no WCAG 2.2
A/AA violation on any new page, empty and with errors."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.domain.models import Agency, DirectoryContact, Partnership, Role, User, WebSession
from portal.web.database import session_factory
from tests.browser.test_journey import assert_accessible, sign_in
from tests.helpers import Accounts, appendix1_answers, contact_id, raise_notice
from tests.helpers import sign_in as sign_in_client

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

GMP = "Greater Manchester Police"


def _new_page(browser: Browser) -> Page:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    return context.new_page()


def _expect_errors(page: Page, state: str) -> None:
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_accessible(page, state)


def test_an_administrator_deactivates_a_user_and_resets_a_2fa(
    app: Flask, live_server: str, browser: Browser, accounts: Accounts
) -> None:
    admin = accounts.make(Role.ADMIN, name="Ada Admin")
    leaver = accounts.make(Role.PRACTITIONER, name="Lee Leaver", email="lee.leaver@rochdale.test")
    phone_lost = accounts.make(Role.SPOC, agency=GMP, name="Pip Lostphone", email="pip@rochdale.test")
    # The leaver is signed in somewhere: deactivating them must end that session.
    theirs = app.test_client()
    sign_in_client(theirs, app, leaver)
    # A notice to a contact with no account: its invitation waits on the users page.
    raiser = app.test_client()
    sign_in_client(raiser, app, accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub"))
    raise_notice(raiser, appendix1_answers(contact_id(app, "Rochdale Children's Social Care")))

    page = _new_page(browser)
    sign_in(page, app, live_server, admin)
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    assert_accessible(page, "admin home")

    page.get_by_role("link", name="Users", exact=True).first.click()
    expect(page.get_by_role("heading", name=re.compile("^Users"))).to_be_visible()
    expect(page.locator("#invitation-list")).to_be_visible()
    assert_accessible(page, "users list, with an invitation waiting")
    page.get_by_role("link", name="Invite someone").click()
    assert_accessible(page, "invite someone")
    page.get_by_role("button", name="Send invitation").click()
    _expect_errors(page, "invite someone, with errors")
    page.goto(f"{live_server}/admin/users")
    page.get_by_label("Name or email address").fill("nobody-matches")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#result-count")).to_have_text("No users match")
    assert_accessible(page, "users list, no match")
    page.get_by_label("Name or email address").fill("leaver")
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_role("link", name="Lee Leaver").click()
    expect(page.get_by_role("heading", name="Lee Leaver")).to_be_visible()
    assert_accessible(page, "user page")

    # A SPOC without an agency is refused beside the question.
    page.get_by_label("Single Point of Contact (SPOC)").check()
    page.get_by_label("Agency").select_option(value="")
    page.get_by_role("button", name="Save role and agency").click()
    _expect_errors(page, "user page, role with errors")

    page.get_by_role("link", name="Deactivate account").click()
    expect(page.get_by_role("heading", name="Deactivate Lee Leaver's account?")).to_be_visible()
    assert_accessible(page, "deactivate confirmation")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("deactivated")
    expect(page.get_by_role("link", name="Reactivate account")).to_be_visible()
    expect(page.locator("#audit-entries")).to_contain_text("Account deactivated")
    assert theirs.get("/").status_code == 302
    with session_factory(app)() as db:
        assert not db.get(User, leaver.id).is_active
        assert db.execute(select(WebSession).where(WebSession.user_id == leaver.id)).first() is None

    page.goto(f"{live_server}/admin/users?two_factor=no")
    page.get_by_role("link", name="Pip Lostphone").click()
    page.get_by_role("link", name="Reset two-factor authentication").click()
    expect(page.get_by_role("heading", name="Reset Pip Lostphone's two-factor authentication?")).to_be_visible()
    assert_accessible(page, "reset 2FA confirmation")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("two-factor authentication is reset")
    with session_factory(app)() as db:
        assert db.get(User, phone_lost.id).totp_secret_ct is None

    # The audit and keys pages, empty of filters and with an error.
    page.get_by_role("link", name="Audit", exact=True).click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    assert_accessible(page, "audit trail")
    page.get_by_role("button", name="Check the trail now").click()
    expect(page.locator("#chain-status")).to_contain_text("Intact")
    assert_accessible(page, "audit trail, checked")
    page.goto(f"{live_server}/admin/audit?from=2026-02-31")
    _expect_errors(page, "audit trail, bad date")
    page.get_by_role("link", name="Keys", exact=True).click()
    expect(page.get_by_role("heading", name="Keys")).to_be_visible()
    assert_accessible(page, "keys")
    page.context.close()


def _exported(page: Page, live_server: str) -> list[dict[str, str]]:
    response = page.request.get(f"{live_server}/directory/directory.csv")
    assert response.ok
    return list(csv.DictReader(io.StringIO(response.text())))


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _upload(page: Page, data: bytes) -> None:
    page.locator("#file").set_input_files(files=[{"name": "directory.csv", "mimeType": "text/csv", "buffer": data}])
    page.get_by_role("button", name="Preview the changes").click()


def test_the_business_manager_imports_a_directory_with_a_bad_row_then_fixed(
    app: Flask, live_server: str, browser: Browser, accounts: Accounts
) -> None:
    bm = accounts.make(Role.BUSINESS_MANAGER, name="Bea Manager")
    practitioner = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    page = _new_page(browser)
    sign_in(page, app, live_server, bm)
    page.get_by_role("link", name="Directory", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Directory"))).to_be_visible()
    assert_accessible(page, "directory")

    # Adding a contact: empty and with errors.
    page.get_by_role("link", name="Add a contact").click()
    assert_accessible(page, "add a contact")
    page.get_by_role("button", name="Save contact").click()
    _expect_errors(page, "add a contact, with errors")
    page.goto(f"{live_server}/directory/")
    page.locator("tr", has_text="Rochdale.publicprotection").first.get_by_role(
        "link", name=re.compile("^Change")
    ).click()
    assert_accessible(page, "change a contact")
    page.go_back()
    page.locator("tr", has_text="Rochdale.publicprotection").first.get_by_role(
        "link", name=re.compile("^Deactivate")
    ).click()
    assert_accessible(page, "deactivate a contact")
    page.go_back()

    page.get_by_role("link", name="Import a CSV file").click()
    expect(page.get_by_role("heading", name="Import the directory")).to_be_visible()
    assert_accessible(page, "import, empty")
    page.get_by_role("button", name="Preview the changes").click()
    _expect_errors(page, "import, no file")

    rows = _exported(page, live_server)
    gone = next(r for r in rows if r["agency"] == GMP)
    rows.remove(gone)
    bad = {**rows[0], "role": "Duty Manager", "email": "duty-manager-at-rochdale"}
    rows.insert(1, bad)
    _upload(page, _csv(rows))
    _expect_errors(page, "import preview with a bad row")
    expect(page.locator("#row-error-table")).to_contain_text("duty-manager-at-rochdale")
    expect(page.get_by_role("button", name="Apply these changes")).to_have_count(0)
    with session_factory(app)() as db:
        assert db.get(DirectoryContact, _contact_id(db, gone["agency"], gone["role"])).active

    bad["email"] = "duty.manager@rochdale.example"
    _upload(page, _csv(rows))
    expect(page.locator("#added")).to_contain_text("Duty Manager")
    expect(page.locator("#deactivated")).to_contain_text(gone["role"])
    assert_accessible(page, "import preview")
    page.get_by_role("button", name="Apply these changes").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("1 added, 0 changed, 1 deactivated")
    with session_factory(app)() as db:
        gone_id = _contact_id(db, gone["agency"], gone["role"])
        assert not db.get(DirectoryContact, gone_id).active
    page.context.close()

    # The practitioner's notice form no longer offers the deactivated contact, and offers the new one.
    page = _new_page(browser)
    sign_in(page, app, live_server, practitioner)
    page.goto(f"{live_server}/notices/new")
    page.get_by_label("No").check()
    page.get_by_role("button", name="Continue").click()
    options = page.locator("#sent_to_1 option")
    expect(options.first).to_be_attached()
    values = options.evaluate_all("nodes => nodes.map(n => n.value)")
    labels = options.evaluate_all("nodes => nodes.map(n => n.textContent)")
    assert str(gone_id) not in values
    assert any("Duty Manager" in label for label in labels)
    page.context.close()


def _contact_id(db, agency: str, role_title: str) -> int:  # type: ignore[no-untyped-def]
    return db.execute(
        select(DirectoryContact.id)
        .join(Agency)
        .join(Partnership)
        .where(Partnership.slug == "rochdale", Agency.name == agency, DirectoryContact.role_title == role_title)
    ).scalar_one()
