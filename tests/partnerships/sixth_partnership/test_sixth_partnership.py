"""A sixth partnership added as the README says: one package (spec, procedure, notice, form, PDF layout and
directory), here in the tests, registered through the registry's public hook; no portal code changes.
It then lives a whole life over HTTP: raise, respond, escalate, close."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from flask import Flask

from portal import partnerships
from portal.domain.models import Role
from portal.services.directory import import_partnership
from portal.web.database import session_factory
from tests.helpers import CANARY_NAME, Accounts, contact_id, raise_notice
from tests.lifecycle.driver import Life, addresses
from tests.partnerships.sixth_partnership import testshire
from tests.partnerships.sixth_partnership.testshire import procedure

REGISTRIES = (partnerships.PARTNERSHIPS, partnerships.PROCEDURES, partnerships.CURRENT_VERSIONS, partnerships.NOTICES)


@pytest.fixture
def registered(app: Flask) -> Iterator[None]:
    # The one registration a partnership's package makes; every registry is put back after the test.
    saved = [dict(registry) for registry in REGISTRIES]
    partnerships.register(testshire.SPEC)
    with session_factory(app)() as db:
        report = import_partnership(db, testshire.SPEC, today=date.today())
        db.commit()
    assert report.added == 5  # the partnership, two agencies, two contacts
    try:
        yield
    finally:
        for registry, before in zip(REGISTRIES, saved, strict=True):
            registry.clear()
            registry.update(before)


@pytest.mark.usefixtures("registered")
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
    # The chosen contact, and the raiser told that the notice went.
    assert addresses(life.new_mail()) == {"head.service@cs.testshire.test", raiser.account.email}
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
    assert "testshire-notice" not in partnerships.NOTICES
    assert "testshire" not in partnerships.CURRENT_VERSIONS


@pytest.mark.usefixtures("registered")
def test_a_notice_keeps_the_procedure_version_it_was_opened_under(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from sqlalchemy import update

    from portal.domain.models import Partnership

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
    partnerships.register_procedure(revised)
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
