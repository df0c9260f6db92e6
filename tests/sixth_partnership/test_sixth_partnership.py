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
        report = import_partnership(db, directory.SPEC, directory.SEED, today=date.today())
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
