"""A sixth partnership added as the README says: a procedure definition, a form module (form and PDF layout)
and a directory import, all in this test package, registered through the public hooks; no portal code changes.
It then lives a whole life over HTTP: raise, respond, escalate, close."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from flask import Flask

from portal import forms, partnerships, pdf, procedures
from portal.db import session_factory
from portal.models import Role
from portal.services.directory import import_partnership
from tests.helpers import CANARY_NAME, Accounts, contact_id, raise_notice
from tests.lifecycle.driver import Life, addresses
from tests.sixth_partnership import directory, form, layout, procedure


@pytest.fixture
def testshire(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The four registrations a plug-in makes; monkeypatch puts every registry back after the test.
    monkeypatch.setitem(procedures.PROCEDURES, procedure.PROCEDURE.key, procedure.PROCEDURE)
    monkeypatch.setitem(procedures.CURRENT_VERSIONS, "testshire", procedure.PROCEDURE.version)
    monkeypatch.setitem(forms.FORMS, form.FORM_CODE, form.DEFINITION)
    monkeypatch.setitem(
        pdf.NOTICE_LAYOUTS,
        layout.FORM_CODE,
        pdf.NoticeLayout(layout.FORM_CODE, frozenset(layout.FIELD_KEYS), layout.build_story),
    )
    monkeypatch.setitem(partnerships.PARTNERSHIPS, "testshire", directory.SPEC)
    with session_factory(app)() as db:
        report = import_partnership(db, directory.SPEC, today=date.today())
        db.commit()
    assert report.added == 5  # the partnership, two agencies, two contacts
    yield


@pytest.mark.usefixtures("testshire")
def test_a_sixth_partnership_defined_only_in_tests_lives_a_whole_life(app: Flask, accounts: Accounts) -> None:
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="testshire", agency="Testshire Health")
    life.party(accounts, "spoc", Role.SPOC, partnership="testshire", agency="Testshire Children's Services")
    bm = life.party(accounts, "bm", Role.BUSINESS_MANAGER, partnership="testshire")
    target = contact_id(app, "Testshire Children's Services", "testshire")
    answers = {
        "date_of_notification": ["2", "11", "2026"],
        "child_name": CANARY_NAME,
        "completed_by_name": "Kit Nurse",
        "completed_by_role": "Nurse",
        "completed_by_agency_team": "Testshire Health",
        "completed_by_contact": "01234 111111",
        "send_to": str(target),
        "disagreement": "Threshold not agreed",
    }
    life.notice_id, life.reference = raise_notice(raiser.client, answers)
    assert life.reference.startswith("TST-")
    [managers] = life.stages()
    assert managers.stage == "managers" and managers.due_on is not None  # 5 working days
    assert addresses(life.new_mail()) == {"head.service@cs.testshire.test"}
    assert "Testshire Escalation Notice" in life.pdf_text("spoc", 1)

    life.respond("spoc", "We disagree; see the assessment")
    life.escalate("spoc", "panel", "No agreement between managers")  # either party may escalate
    assert [s.stage for s in life.stages()] == ["managers", "panel"]
    assert bm.account.email in addresses(life.new_mail())
    life.respond("bm", "Panel: assessment to be repeated jointly")
    life.close("bm")
    final = life.pdf_text("raiser", 5)
    assert "Panel: assessment to be repeated jointly" in final and "Strategy discussion held; plan agreed" in final
    assert life.notice().status == "closed"


def test_the_sixth_partnership_is_gone_after_its_test() -> None:
    assert "testshire" not in partnerships.PARTNERSHIPS
    assert "testshire-notice" not in forms.FORMS and "testshire-notice" not in pdf.NOTICE_LAYOUTS
    assert "testshire" not in procedures.CURRENT_VERSIONS


@pytest.mark.usefixtures("testshire")
def test_a_notice_keeps_the_procedure_version_it_was_opened_under(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from sqlalchemy import update

    from portal.models import Partnership

    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="testshire", agency="Testshire Health")
    target = contact_id(app, "Testshire Children's Services", "testshire")
    answers = {
        "date_of_notification": ["2", "11", "2026"],
        "child_name": CANARY_NAME,
        "completed_by_name": "Kit Nurse",
        "completed_by_role": "Nurse",
        "completed_by_agency_team": "Testshire Health",
        "completed_by_contact": "01234 111111",
        "send_to": str(target),
        "disagreement": "Threshold not agreed",
    }
    old_notice, _ = raise_notice(raiser.client, answers)

    # The partnership revises its procedure: a new version, and the partnership opens new notices under it.
    final = replace(procedure.PROCEDURE.stages[-1], name="Independent panel")
    revised = replace(procedure.PROCEDURE, version="testshire-2027", stages=(procedure.PROCEDURE.stages[0], final))
    monkeypatch.setitem(procedures.PROCEDURES, revised.key, revised)
    monkeypatch.setitem(procedures.CURRENT_VERSIONS, "testshire", revised.version)
    with session_factory(app)() as db:
        db.execute(update(Partnership).where(Partnership.slug == "testshire").values(procedure_version=revised.version))
        db.commit()
    new_notice, _ = raise_notice(raiser.client, answers)

    for notice_id, version, final_name in (
        (old_notice, "testshire-2026", "Partnership panel"),
        (new_notice, "testshire-2027", "Independent panel"),
    ):
        life.notice_id = notice_id
        assert life.notice().procedure_version == version
        life.escalate("raiser", "panel", "No agreement")
        assert final_name in life.page("raiser")
