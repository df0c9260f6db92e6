"""portal.services.directory_admin on its own: every row's errors at once, and nothing applied while any."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import partnerships
from portal.domain.models import DirectoryContact, Role, User
from portal.partnerships.directory_data import COLUMNS
from portal.services import directory_admin, routing
from portal.services.errors import NotPermittedError, RuleBrokenError
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import Accounts, contact_id

HEADER = ",".join(COLUMNS)
TODAY = date(2026, 11, 23)


def test_every_rows_errors_are_reported_not_just_the_first() -> None:
    text = "\n".join(
        [
            HEADER,
            "Health,,,Nurse,,nurse@health.test,,,2027-01-31,false,List",
            "Health,,,Manager,,not-an-address,,,2027-01-31,false,List",
            "Police,,,Inspector,,,123,,someday,maybe,",
            "Health,,,Doctor,,doctor@health.test,,,,false,List",
        ]
    )
    contacts, _agencies, errors = directory_admin.parse_import(text)
    by_line: dict[int, list[str]] = {}
    for error in errors:
        by_line.setdefault(error.line, []).append(error.message)
    assert sorted(by_line) == [3, 4, 5]
    assert "not in the correct format" in by_line[3][0]
    assert len(by_line[4]) == 4  # source, review_by, needs_review and telephone
    assert "must be together" in by_line[5][0]
    assert [c.role_title for c in contacts] == ["Nurse"]


def test_a_wrong_header_is_one_clear_error() -> None:
    _contacts, _agencies, errors = directory_admin.parse_import("agency,email\nHealth,a@b.test\n")
    assert len(errors) == 1 and errors[0].line == 1 and "missing" in errors[0].message


def test_a_file_in_error_is_never_applied(app: Flask, accounts: Accounts) -> None:
    bm = accounts.make(Role.BUSINESS_MANAGER)
    data = f"{HEADER}\nHealth,,,Nurse,,bad,,,,false,List\n".encode()
    with session_factory(app)() as db:
        before = db.execute(select(func.count()).select_from(DirectoryContact)).scalar_one()
        actor = db.get(User, bm.id)
        plan = directory_admin.plan_import(db, actor, data, TODAY)
        assert not plan.ok
        with pytest.raises(RuleBrokenError):
            directory_admin.apply_import(db, portal_services(app), actor, data, plan.digest(), TODAY)
        db.rollback()
        assert db.execute(select(func.count()).select_from(DirectoryContact)).scalar_one() == before


def test_a_file_that_is_not_utf8_is_refused(app: Flask, accounts: Accounts) -> None:
    bm = accounts.make(Role.BUSINESS_MANAGER)
    with session_factory(app)() as db:
        plan = directory_admin.plan_import(db, db.get(User, bm.id), HEADER.encode() + b"\n\xff\xfe", TODAY)
    assert [e.message for e in plan.errors] == ["The file must be a CSV saved as UTF-8"]


def test_practitioners_and_spocs_cannot_keep_the_directory(app: Flask, accounts: Accounts) -> None:
    spoc = accounts.make(Role.SPOC)
    with session_factory(app)() as db, pytest.raises(NotPermittedError):
        directory_admin.overview(db, db.get(User, spoc.id), TODAY)


def test_review_status() -> None:
    assert directory_admin.review_status(None, TODAY) == "none"
    assert directory_admin.review_status(date(2026, 11, 22), TODAY) == "overdue"
    assert directory_admin.review_status(TODAY, TODAY) == "due-soon"
    assert directory_admin.review_status(date(2027, 6, 1), TODAY) == "current"


def test_a_cell_a_spreadsheet_would_run_is_refused() -> None:
    text = f'{HEADER}\nHealth,,,=HYPERLINK("http://evil.test"),,a@health.test,,,,false,List\n'
    _contacts, _agencies, errors = directory_admin.parse_import(text)
    assert [e.message for e in errors] == ["role must not start with =, + or @"]


def test_a_deactivated_contact_is_neither_offered_nor_accepted_by_routing(app: Flask, accounts: Accounts) -> None:
    bm = accounts.make(Role.BUSINESS_MANAGER)
    target = contact_id(app, "Greater Manchester Police")
    with session_factory(app)() as db:
        actor = db.get(User, bm.id)
        assert (str(target), db.get(DirectoryContact, target).label) in routing.contact_choices(
            db, actor.partnership_id
        )
        assert directory_admin.set_contact_active(db, portal_services(app), actor, target, False) is True
        assert str(target) not in dict(routing.contact_choices(db, actor.partnership_id))
        definition = partnerships.NOTICES[actor.partnership.form_code]
        with pytest.raises(RuleBrokenError):
            routing.form_recipients(db, actor.partnership_id, definition, {"sent_to_1": str(target)})
