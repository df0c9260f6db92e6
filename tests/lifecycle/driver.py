"""Drive a notice through its procedure over HTTP, as the parties would, and read back what happened.

Each partnership's lifecycle test uses these steps: the parties sign in through the real pages, every action
is a GET of its page (for the CSRF token) and a POST of the form, and the checks read what a user sees, what
the database stores, what the outbox holds and what the signed PDFs say.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdf
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.domain.models import Notice, NoticeEvent, NoticeRecipient, NoticeStage, OutboxMessage, Role
from portal.infrastructure.pdf.signing import verify_signed_pdf
from portal.web.database import session_factory
from tests.helpers import Account, Accounts, csrf_from, errors_on, sign_in


@dataclass
class Party:
    name: str
    account: Account
    client: FlaskClient


@dataclass
class Life:
    """One notice's life: the app, the parties and what has been seen so far."""

    app: Flask
    parties: dict[str, Party] = field(default_factory=dict)
    notice_id: str = ""
    reference: str = ""
    seen_mail: set[str] = field(default_factory=set)

    def party(self, accounts: Accounts, name: str, role: Role, *, partnership: str, agency: str | None = None) -> Party:
        account = accounts.make(role, partnership=partnership, agency=agency, name=f"{name.title()} Person")
        client = self.app.test_client()
        sign_in(client, self.app, account)
        self.parties[name] = Party(name, account, client)
        return self.parties[name]

    def client(self, name: str) -> FlaskClient:
        return self.parties[name].client

    # -- actions -------------------------------------------------------------------------------------------

    def act(self, who: str, action: str, data: dict[str, Any] | None = None, *, expect: int = 302) -> str:
        """GET an action's page and POST its form; return the response body (or the page shown after a redirect)."""
        client = self.client(who)
        url = f"/notices/{self.notice_id}/{action}"
        if action in ("acknowledge", "chase"):
            page = client.get(f"/notices/{self.notice_id}")
        else:
            page = client.get(url)
            assert page.status_code == 200, f"{who} cannot open {action}: {page.status_code}"
        response = client.post(url, data={**(data or {}), "csrf_token": csrf_from(page.text)})
        assert response.status_code == expect, f"{who} {action}: {response.status_code} {errors_on(response.text)}"
        return response.get_data(as_text=True)

    def respond(self, who: str, response: str, actions: str = "") -> None:
        self.act(who, "respond", {"response": response, "agreed_actions": actions})

    def escalate(
        self,
        who: str,
        to_stage: str,
        reason: str,
        *,
        send_to: int | None = None,
        skip_reason: str = "",
        immediate_risk: str = "no",
        referral: str = "",
    ) -> None:
        self.act(
            who,
            "escalate",
            {
                "immediate_risk": immediate_risk,
                "referral": referral,
                "to_stage": to_stage,
                "reason": reason,
                "skip_reason": skip_reason,
                "send_to_1": str(send_to) if send_to else "",
                "send_to_2": "",
            },
        )

    def close(self, who: str, **overrides: str) -> None:
        data = {
            "outcome_code": "meeting-convened",
            "agreed_outcome": "Strategy discussion held; plan agreed",
            "written_confirmation": "Both managers confirmed the agreed outcome by secure e-mail",
            "impact_on_child": "The child now has a protection plan",
            "debrief": "yes",
            "learning_identified": "yes",
            "learning": "Threshold guidance needs a worked example",
        }
        self.act(who, "close", {**data, **overrides})

    # -- what happened -------------------------------------------------------------------------------------

    def notice(self) -> Notice:
        with session_factory(self.app)() as db:
            notice = db.get(Notice, self.notice_id)
            assert notice is not None
            db.expunge(notice)
            return notice

    def stages(self) -> list[NoticeStage]:
        with session_factory(self.app)() as db:
            rows = list(
                db.execute(
                    select(NoticeStage).where(NoticeStage.notice_id == self.notice_id).order_by(NoticeStage.position)
                ).scalars()
            )
            for row in rows:
                db.expunge(row)
            return rows

    def recipients(self, stage: str) -> list[str]:
        with session_factory(self.app)() as db:
            return list(
                db.execute(
                    select(NoticeRecipient.email).where(
                        NoticeRecipient.notice_id == self.notice_id, NoticeRecipient.stage == stage
                    )
                ).scalars()
            )

    def new_mail(self) -> list[tuple[str, str, str]]:
        """(to, subject, body) of the messages queued since the last call."""
        with session_factory(self.app)() as db:
            rows = db.execute(
                select(OutboxMessage)
                .where(OutboxMessage.notice_id == self.notice_id)
                .order_by(OutboxMessage.created_at)
            ).scalars()
            fresh = [(m.id, m.to_address, m.subject, m.body_text) for m in rows if m.id not in self.seen_mail]
        self.seen_mail |= {m[0] for m in fresh}
        return [m[1:] for m in fresh]

    def timeline(self) -> list[str]:
        with session_factory(self.app)() as db:
            return list(
                db.execute(
                    select(NoticeEvent.kind)
                    .where(NoticeEvent.notice_id == self.notice_id)
                    .order_by(NoticeEvent.at, NoticeEvent.id)
                ).scalars()
            )

    def pdf_text(self, who: str, version: int) -> str:
        """Download a PDF version as ``who``, check its signature, and return its text with spaces collapsed."""
        response = self.client(who).get(f"/notices/{self.notice_id}/pdf?version={version}")
        assert response.status_code == 200, f"{who} cannot download version {version}"
        cert = (Path(self.app.config["KEY_DIR"]) / "signing-cert.pem").read_bytes()
        assert verify_signed_pdf(response.data, cert), f"version {version} is not validly signed"
        pages = pypdf.PdfReader(io.BytesIO(response.data)).pages
        return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))

    def page(self, who: str) -> str:
        response = self.client(who).get(f"/notices/{self.notice_id}")
        assert response.status_code == 200
        return response.get_data(as_text=True)


def addresses(mail: list[tuple[str, str, str]]) -> set[str]:
    return {to for to, _subject, _body in mail}


def assert_no_case_details(mail: list[tuple[str, str, str]], *secrets: str) -> None:
    """Every message holds the reference and a link (to the notice, or an invitation for a directory contact
    without an account), never the child or the narrative."""
    for to, subject, body in mail:
        for secret in secrets:
            assert secret not in subject and secret not in body, f"mail to {to} leaks {secret!r}"
        assert ("/notices/" in body or "/invitation/" in body) and "contains no case details" in body
