"""PDF versions drawn after the change that issues them (issue 11): what a version prints is fixed when it is
issued, and the PDF is rendered and signed later, by the mail worker's turn or by the first reader.

A version drawn late must be the version as issued, byte for byte what every later reader gets, checkable at
/verify, and never drawn twice."""

from __future__ import annotations

import hashlib
import subprocess
import threading
import time

from flask import Flask
from sqlalchemy import select

from portal.domain.models import Notice, NoticeDocument, Role, utcnow
from portal.infrastructure.mail import run_worker
from portal.services import casework, documents, keys, transitions, verification
from portal.web.database import session_factory
from tests.helpers import CANARY_NAME, Accounts, smtp_transport
from tests.services.builders import RAISING, TARGET, World


def text_of(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def rows(world: World, notice_id: str) -> list[NoticeDocument]:
    with world.session() as db:
        return list(
            db.execute(
                select(NoticeDocument).where(NoticeDocument.notice_id == notice_id).order_by(NoticeDocument.id)
            ).scalars()
        )


def test_the_first_reader_draws_the_version_once_and_every_later_reader_gets_the_same_file(
    app: Flask, accounts: Accounts
) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    notice = world.raise_rochdale(raiser)
    [pending] = rows(world, notice.id)
    assert pending.pdf_ct is None and pending.context_ct is not None

    with world.session() as db:
        name, first = casework.download_pdf(db, world.services, world.user(db, raiser), notice.id)
    assert name == f"{notice.reference}-v1.pdf"
    assert world.services.signer.verify(first)
    assert notice.reference in text_of(first) and CANARY_NAME in text_of(first)
    [drawn] = rows(world, notice.id)
    assert drawn.pdf_ct is not None and drawn.context_ct is None
    assert drawn.sha256 == hashlib.sha256(first).hexdigest()
    # Anyone holding the file can check it.
    with world.session() as db:
        verdict = verification.verify(db, world.services, pdf=first)
    assert verdict.signature_valid and (verdict.reference, verdict.version) == (notice.reference, 1)

    # Drawn once: a later read, and the worker's turn, change nothing.
    with world.session() as db:
        assert documents.issue_pending(db, world.services) == 0
        _name, again = casework.download_pdf(db, world.services, world.user(db, raiser), notice.id)
    assert again == first


def test_a_version_drawn_after_later_changes_prints_the_notice_as_it_was_issued(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    spoc = accounts.make(Role.SPOC, agency=TARGET)
    notice = world.raise_rochdale(raiser)
    with world.session() as db:
        transitions.respond(
            db,
            world.services,
            world.user(db, spoc),
            notice.id,
            response="Threshold not met in our view",
            agreed_actions="",
        )
    with world.session() as db:
        transitions.escalate(
            db,
            world.services,
            world.user(db, raiser),
            notice.id,
            to_stage="stage-4",
            reason="No strategy discussion was held",
            immediate_risk=False,
            referral="",
            skip_reason="",
            chosen=[],
        )
    assert [(r.version, r.pdf_ct) for r in rows(world, notice.id)] == [(1, None), (2, None), (3, None)]

    # The worker draws all three, oldest first, in one turn, well after the changes.
    with world.session() as db:
        assert documents.issue_pending(db, world.services) == 3
        assert documents.issue_pending(db, world.services) == 0
    with world.session() as db:
        held = db.get(Notice, notice.id)
        printed = [text_of(documents.open_version(db, world.services, held, v)[1]) for v in (1, 2, 3)]
    for version, text in enumerate(printed, start=1):
        assert f"Version {version}, issued" in text
    # Rochdale prints a stage's response when the stage ends: only the version issued at the escalation has it.
    assert ["Escalated because: No strategy discussion was held" in " ".join(t.split()) for t in printed] == [
        False,
        False,
        True,
    ]
    assert all(r.pdf_ct is not None and r.context_ct is None for r in rows(world, notice.id))


def test_a_version_waiting_to_be_drawn_is_re_keyed_with_its_notice(app: Flask, accounts: Accounts) -> None:
    """A data-key rotation seals the kept context again under the new key; the version is then drawn under it."""
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    notice = world.raise_rochdale(raiser)
    [before] = rows(world, notice.id)
    report = keys.rotate_data_keys(
        app.extensions["portal.sessionmaker"], world.services.keyring, cutoff=utcnow(), purposes=("notice",)
    )
    assert report.rotated >= 1
    [after] = rows(world, notice.id)
    assert after.pdf_ct is None and after.context_ct not in (None, before.context_ct)
    with world.session() as db:
        _name, pdf = casework.download_pdf(db, world.services, world.user(db, raiser), notice.id)
    assert notice.reference in text_of(pdf)
    with world.session() as db:
        assert db.get(Notice, notice.id).data_key_id != notice.data_key_id


def test_the_mail_worker_draws_what_waits_while_it_delivers_the_mail(app: Flask, accounts: Accounts, smtp) -> None:
    world = World(app)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    raised = [world.raise_rochdale(raiser) for _ in range(3)]

    def draw() -> int:
        with world.session() as db:
            return documents.issue_pending(db, world.services, limit=2)

    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker,
        args=(session_factory(app), smtp_transport(smtp.port)),
        kwargs={"stop": stop, "poll_seconds": 0.05, "worker_id": "w", "each_turn": draw, "each_turn_batch": 2},
        daemon=True,
    )
    worker.start()
    try:
        # Each submit e-mails the recipient and the raiser.
        smtp.wait_for(2 * len(raised), timeout=15)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(r.pdf_ct is None for n in raised for r in rows(world, n.id)):
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    for notice in raised:
        [drawn] = rows(world, notice.id)
        assert drawn.pdf_ct is not None and drawn.sha256 is not None and drawn.context_ct is None


def test_issue_pdfs_draws_every_version_waiting(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    notice = world.raise_rochdale(accounts.make(Role.PRACTITIONER, agency=RAISING))
    result = app.test_cli_runner().invoke(args=["notices", "issue-pdfs"])
    assert result.exit_code == 0 and "Drew 1 PDF version(s)." in result.output
    [drawn] = rows(world, notice.id)
    assert drawn.pdf_ct is not None and drawn.context_ct is None
    assert "Drew 0 PDF version(s)." in app.test_cli_runner().invoke(args=["notices", "issue-pdfs"]).output
