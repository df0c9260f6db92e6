"""portal.services.raising, called directly: the draft, the safety gate and submission."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from portal.domain.models import (
    AuditEvent,
    DirectoryContact,
    Notice,
    NoticeAnswer,
    NoticeDocument,
    NoticeDraft,
    NoticeStatus,
    OutboxMessage,
    Role,
    SafetyCheck,
    User,
)
from portal.services import raising, record
from portal.services.errors import DraftNotFoundError, DraftSubmittedError, RuleBrokenError
from tests.helpers import CANARY_NAME, CANARY_NARRATIVE, CANARY_NHS, Accounts, contact_id, statements
from tests.services.builders import RAISING, TARGET, World, rochdale_answers


def test_submit_stores_a_sealed_signed_notice_and_queues_its_mail(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    notice = world.raise_rochdale(raiser)

    assert re.fullmatch(r"ROC-\d{4}-\d{4}", notice.reference)
    assert notice.status == NoticeStatus.OPEN and notice.stage == "stage-3" and notice.version == 1
    with world.session() as db:
        stored = db.execute(select(NoticeAnswer).where(NoticeAnswer.notice_id == notice.id)).scalars().all()
        names = {a.field_name for a in stored}
        assert {"child_name", "nhs_number", "summary_of_disagreement", "sent_to_1"} <= names
        assert "sent_to_2" not in names  # empty answers are not stored
        for row in stored:
            for secret in (CANARY_NAME, CANARY_NHS, CANARY_NARRATIVE):
                assert secret.encode() not in row.value_ct
        # The draft became the notice: it is gone, and its safety check points at the notice.
        assert db.get(NoticeDraft, notice.id) is None
        assert db.execute(select(SafetyCheck.notice_id).where(SafetyCheck.id == notice.safety_check_id)).scalar() == (
            notice.id
        )
        # Version 1 is recorded, sealed, and still to draw: the submit neither rendered nor signed it.
        [document] = db.execute(select(NoticeDocument).where(NoticeDocument.notice_id == notice.id)).scalars().all()
        assert document.version == 1 and document.pdf_ct is None and document.sha256 is None
        assert document.context_ct is not None and notice.reference.encode() not in document.context_ct
        assert all(secret.encode() not in document.context_ct for secret in (CANARY_NAME, CANARY_NHS))
        mail = db.execute(select(OutboxMessage).where(OutboxMessage.notice_id == notice.id)).scalars().all()
        target = db.get(DirectoryContact, contact_id(app, TARGET))
        # The recipient, then the raiser told that it went.
        raiser = db.get(User, notice.raised_by_id)
        assert target is not None and [m.to_address for m in mail] == [target.email, raiser.email]
        assert notice.reference in mail[0].body_text
        assert all(secret not in mail[0].body_text + mail[0].subject for secret in (CANARY_NAME, CANARY_NHS))
        assert db.execute(
            select(AuditEvent.outcome).where(AuditEvent.action == "notice.submit", AuditEvent.object_id == notice.id)
        ).scalar_one() == ("ok")
        # The answers read back as they were given.
        assert record.answers(db, world.services, db.get(Notice, notice.id))["child_name"] == CANARY_NAME


def test_submitting_a_draft_twice_names_the_first_notice(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    draft_id = world.draft(raiser)
    answers = rochdale_answers(contact_id(app, TARGET))
    with world.session() as db:
        first = raising.submit_notice(db, world.services, world.user(db, raiser), draft_id, answers)
    with world.session() as db, pytest.raises(DraftSubmittedError) as raised:
        raising.submit_notice(db, world.services, world.user(db, raiser), draft_id, answers)
    assert raised.value.notice_id == first.id
    with world.session() as db:
        assert db.execute(select(func.count()).select_from(Notice)).scalar() == 1


def test_a_recipient_who_left_the_directory_is_refused_and_nothing_is_saved(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    draft_id = world.draft(raiser)
    target = contact_id(app, TARGET)
    with world.session() as db:
        contact = db.get(DirectoryContact, target)
        assert contact is not None
        contact.active = False
        db.commit()
    with world.session() as db, pytest.raises(RuleBrokenError) as raised:
        raising.submit_notice(db, world.services, world.user(db, raiser), draft_id, rochdale_answers(target))
    assert raised.value.field == "sent_to_1"
    with world.session() as db:
        assert db.execute(select(func.count()).select_from(Notice)).scalar() == 0
        assert db.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 0
        assert db.get(NoticeDraft, draft_id) is not None  # the writer's work is kept


def test_someone_elses_draft_is_not_found_and_the_attempt_audited(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    owner = accounts.make(Role.PRACTITIONER, agency=RAISING)
    other = accounts.make(Role.PRACTITIONER, agency=RAISING)
    draft_id = world.draft(owner)
    with world.session() as db, pytest.raises(DraftNotFoundError):
        raising.get_draft(db, world.services, world.user(db, other), draft_id)
    with world.session() as db:
        denied = db.execute(
            select(AuditEvent).where(AuditEvent.action == "draft.read", AuditEvent.object_id == draft_id)
        ).scalar_one()
        assert denied.outcome == "denied" and denied.actor_id == other.id


def test_a_draft_needs_a_no_immediate_risk_answer_of_ones_own(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    other = accounts.make(Role.PRACTITIONER, agency=RAISING)
    with world.session() as db:
        user = world.user(db, raiser)
        risk = raising.record_safety_check(db, world.services, user, immediate_risk=True)
        assert risk.referral_advice_shown_at is not None
        with pytest.raises(DraftNotFoundError):
            raising.start_draft(db, world.services, user, risk.id)
        safe = raising.record_safety_check(db, world.services, user, immediate_risk=False)
        with pytest.raises(DraftNotFoundError):
            raising.start_draft(db, world.services, world.user(db, other), safe.id)
        draft = raising.start_draft(db, world.services, user, safe.id)
        # A new draft is prefilled with today's date of notification.
        _row, answers = raising.get_draft(db, world.services, user, draft.id)
        assert answers["date_of_notification"] == world.services.today().isoformat()


def _submit_watched(
    app: Flask, world: World, raiser: object, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[int], list[str]]:
    """Submit a Rochdale draft, noting each flush (how many new rows) and, in order, every statement that writes
    or locks, every commit, and the signing of the PDF."""
    draft_id = world.draft(raiser)
    flushes: list[int] = []
    steps: list[str] = []
    engine = app.extensions["portal.engine"]
    signer = world.services.signer
    sign = signer.sign

    def noted_sign(pdf: bytes) -> bytes:
        steps.append("sign")
        return sign(pdf)

    def noted_statement(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        words = statement.split()
        if words[0] in {"INSERT", "UPDATE", "DELETE"}:
            steps.append(f"{words[0]} {words[2] if words[0] != 'UPDATE' else words[1]}")
        elif "FOR UPDATE" in statement or "BEGIN IMMEDIATE" in statement or "pg_advisory" in statement:
            steps.append("lock")

    monkeypatch.setattr(signer, "sign", noted_sign)
    event.listen(engine, "before_cursor_execute", noted_statement)
    try:
        with world.session() as db:
            event.listen(db, "before_flush", lambda session, _ctx, _i: flushes.append(len(session.new)))
            event.listen(db, "after_commit", lambda _session: steps.append("commit"))
            raising.submit_notice(
                db, world.services, world.user(db, raiser), draft_id, rochdale_answers(contact_id(app, TARGET))
            )
    finally:
        event.remove(engine, "before_cursor_execute", noted_statement)
    return flushes, steps


def test_a_submit_signs_nothing_and_writes_its_rows_in_one_round(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No autoflush in the middle, and no lock that serialises submits (issue 11): the reference is taken and
    committed first; every row is written after, in one flush. The PDF is neither rendered nor signed in the submit:
    what it will print is kept, and it is drawn after the submit commits."""
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    flushes, steps = _submit_watched(app, world, raiser, monkeypatch)
    assert "sign" not in steps, steps
    first_commit = steps.index("commit") + 1
    before, after = steps[:first_commit], steps[first_commit:]
    # First: the draft locked, the partnership's counter moved on, the draft given the reference: committed.
    assert before.count("commit") == 1, before
    assert {s for s in before if s.startswith(("INSERT", "UPDATE", "DELETE"))} == {
        "INSERT reference_counter",
        "UPDATE reference_counter",
        "UPDATE notice_draft",
    }, before
    # Then: the draft's lock, one flush of every row (the notice, answers, indexes, stage, recipients, events, the
    # PDF version to draw, mail, and the audit entry chained under the append lock), and the commit.
    assert after[-1] == "commit" and after.count("commit") == 1, after
    assert len(flushes) == 1 and flushes[0] > 15, flushes
    written = [s for s in after if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert {"INSERT notice", "INSERT notice_answer", "INSERT audit_event", "DELETE notice_draft"} <= set(written)
    assert written.index("INSERT notice") < min(written.index(s) for s in written if s.startswith("INSERT notice_"))


def test_a_submit_reads_nothing_twice_and_nothing_a_new_notice_cannot_have(app: Flask, accounts: Accounts) -> None:
    """The submit's reads (issue 11): the notice's data key once, though several steps unwrap it; the form's
    recipients in one statement whatever the number of recipient fields, labelled from the contacts in hand;
    and none of the new notice's own PDF versions or chases, which it cannot have yet (its first version is 1)."""
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    draft_id = world.draft(raiser)
    with world.session() as db, statements(app) as seen:
        notice = raising.submit_notice(
            db, world.services, world.user(db, raiser), draft_id, rochdale_answers(contact_id(app, TARGET))
        )
        reference = notice.reference
    reads = [s for s in seen if s.lstrip().startswith("SELECT")]
    # (read with the draft, in the same statement)
    key_reads = [s for s in reads if ("FROM data_key" in s or "JOIN data_key" in s) and " IN " not in s]
    assert len(key_reads) == 1, key_reads
    # One for the form's recipient fields, one for the stage's own routing (its tier's contacts); none to label them.
    assert len([s for s in reads if "FROM directory_contact" in s]) <= 2, reads
    assert not [s for s in reads if "max(notice_document.version)" in s or "FROM notice_event" in s], reads
    with world.session() as db:
        held = db.execute(select(Notice).where(Notice.reference == reference)).scalar_one()
        assert [d.version for d in held.documents] == [1] and len(held.recipients) >= 1


def test_a_submit_to_two_agencies_asks_once_which_have_accounts_and_lists_no_evidence_it_has_not(
    app: Flask, accounts: Accounts
) -> None:
    """Sent to two agencies, a submit looks up whether their addresses have accounts in one statement (it was one
    per address), and a notice raised without evidence does not query for the evidence its first version lists;
    the counter of a year that has one is moved on without trying to make it again."""
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    answers = rochdale_answers(contact_id(app, TARGET), sent_to_2=str(contact_id(app, "Greater Manchester Police")))
    with world.session() as db:
        raising.submit_notice(db, world.services, world.user(db, raiser), world.draft(raiser), answers)
    draft_id = world.draft(raiser)
    with world.session() as db, statements(app) as seen:
        notice = raising.submit_notice(db, world.services, world.user(db, raiser), draft_id, answers)
        reference, recipients = notice.reference, {r.email for r in notice.recipients}
    assert len(recipients) == 2
    account_reads = [s for s in seen if "FROM staff_user" in s and "staff_user.email" in s.split("WHERE")[-1]]
    assert len(account_reads) == 1, account_reads
    evidence_reads = [s for s in seen if "FROM notice_attachment" in s]
    assert len(evidence_reads) == 1, evidence_reads  # the draft's, to move: none
    assert not [s for s in seen if "INSERT INTO reference_counter" in s]
    assert reference.endswith("-0002")


def test_a_submit_that_invites_a_contact_still_writes_in_one_round(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recipient with no account is sent an invitation (issue 9), audited: written in the same one flush."""
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    with world.session() as db:
        contact = db.get(DirectoryContact, contact_id(app, TARGET))
        assert contact is not None and contact.email
        address = contact.email
        assert accounts_for(db, address) == 0
    flushes, steps = _submit_watched(app, world, raiser, monkeypatch)
    after = steps[steps.index("commit") + 1 :]
    assert len(flushes) == 1, flushes
    assert "INSERT invitation" in after and after.count("commit") == 1
    with world.session() as db:
        issued = db.execute(
            select(AuditEvent.action).where(AuditEvent.action.in_(["invitation.issued", "notice.submit"]))
        ).scalars()
        assert sorted(issued) == ["invitation.issued", "notice.submit"]


def accounts_for(db: object, address: str) -> int:
    return db.execute(select(func.count()).select_from(User).where(User.email == address)).scalar_one()  # type: ignore[attr-defined]
