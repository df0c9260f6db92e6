"""Reading a notice's answers: plain rows for a read, the session's own collection when a change is pending."""

from __future__ import annotations

from flask import Flask

from portal.domain.models import Notice, NoticeAnswer, Role
from portal.services import record
from tests.helpers import CANARY_NAME, Accounts
from tests.services.builders import RAISING, World


def test_a_read_decrypts_the_stored_answers_without_building_an_object_for_each(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    notice_id = world.raise_rochdale(accounts.make(Role.PRACTITIONER, agency=RAISING)).id
    with world.session() as db:
        expected = record.answers(db, world.services, db.get(Notice, notice_id))  # through the collection
    with world.session() as db:
        notice = db.get(Notice, notice_id)
        assert notice is not None
        answers = record.read_answers(db, notice, record.data_key(db, world.services, notice))
        assert answers == expected and answers["child_name"] == CANARY_NAME
        assert not any(isinstance(held, NoticeAnswer) for held in db.identity_map.values())


def test_an_answer_changed_in_this_session_is_read_as_changed(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    notice_id = world.raise_rochdale(accounts.make(Role.PRACTITIONER, agency=RAISING)).id
    with world.session() as db, db.no_autoflush:
        notice = db.get(Notice, notice_id)
        assert notice is not None
        dek = record.data_key(db, world.services, notice)
        record.seal_answer(db, notice, dek, "child_name", "Janet Doe")  # pending: not flushed
        assert record.read_answers(db, notice, dek)["child_name"] == "Janet Doe"
