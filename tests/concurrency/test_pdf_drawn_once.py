"""A PDF version still to draw, asked for by several readers and the mail worker at once, is drawn once
(issue 11): every reader gets the same signed file, the one stored, whose SHA-256 /verify knows."""

from __future__ import annotations

import hashlib
import threading

from flask import Flask
from sqlalchemy import select

from portal.domain.models import NoticeDocument
from portal.services import documents
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.concurrency.live import Answer, at_once, browser_for, serving
from tests.concurrency.test_races import raised
from tests.helpers import Accounts


def test_readers_and_the_worker_at_once_draw_one_version_once(app: Flask, accounts: Accounts) -> None:
    notice_id, raiser_client, spoc_client = raised(app, accounts)
    with session_factory(app)() as db:
        [pending] = db.execute(select(NoticeDocument).where(NoticeDocument.notice_id == notice_id)).scalars().all()
        assert pending.pdf_ct is None
    files: list[bytes] = []
    drawn_by_worker: list[int] = []
    lock = threading.Lock()
    with serving(app) as base:
        raiser = browser_for(app, base, None, raiser_client)  # type: ignore[arg-type]
        spoc = browser_for(app, base, None, spoc_client)  # type: ignore[arg-type]

        def read(browser: object) -> Answer:
            status, body = browser.get_bytes(f"/notices/{notice_id}/pdf")  # type: ignore[attr-defined]
            with lock:
                files.append(body)
            return Answer(status, "", "")

        def worker_turn() -> Answer:
            with session_factory(app)() as db:
                drawn_by_worker.append(documents.issue_pending(db, portal_services(app)))
            return Answer(200, "", "")

        answers = at_once([lambda: read(raiser), lambda: read(spoc), lambda: read(raiser), worker_turn])
    assert [a.status for a in answers] == [200] * 4
    # One file, whoever drew it: the readers who lost the race were given the stored one.
    assert len(files) == 3 and len(set(files)) == 1 and files[0].startswith(b"%PDF")
    assert drawn_by_worker[0] in (0, 1)
    with session_factory(app)() as db:
        [stored] = db.execute(select(NoticeDocument).where(NoticeDocument.notice_id == notice_id)).scalars().all()
        assert stored.context_ct is None and stored.sha256 == hashlib.sha256(files[0]).hexdigest()
