"""Build what service tests need by calling the services themselves: no HTTP, no forms, no test client.

The web layer turns posted forms into a dict of strings (dates as ISO dates) and hands it to the services;
these builders hand the services the same dict directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Flask
from sqlalchemy.orm import Session

from portal.domain.models import Notice, User
from portal.services import raising
from portal.services.runtime import PortalServices
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import CANARY_DOB, CANARY_NAME, CANARY_NARRATIVE, CANARY_NHS, Account, contact_id

TARGET = "Rochdale Children's Social Care"
RAISING = "Rochdale Early Help and Safeguarding Hub"


def rochdale_answers(recipient: int, **overrides: str) -> dict[str, str]:
    """A complete Rochdale Appendix 1, as the form hands it to the services."""
    day, month, year = (int(p) for p in CANARY_DOB)
    answers = {
        "date_of_notification": "2026-11-20",
        "child_name": CANARY_NAME,
        "child_dob": date(year, month, day).isoformat(),
        "nhs_number": CANARY_NHS,
        "p_number": "P778899",
        "completed_by_name": "Test Practitioner",
        "completed_by_role": "Health Visitor",
        "completed_by_agency_team": "Early Help, North Team",
        "completed_by_contact": "01706 000000",
        "sent_to_1": str(recipient),
        "sent_to_2": "",
        "summary_of_disagreement": f"{CANARY_NARRATIVE}: the referral was declined although the threshold is met.",
        "informal_challenge_evidence": "Stage 1 call on 3 Nov; stage 2 managers met on 10 Nov; no agreement.",
        "desired_outcome": "A strategy discussion is held this week.",
    }
    answers.update(overrides)
    return answers


@dataclass
class World:
    """The app's services and a way to open sessions on its database."""

    app: Flask

    @property
    def services(self) -> PortalServices:
        return portal_services(self.app)

    def session(self) -> Session:
        return session_factory(self.app)()

    def user(self, db: Session, account: Account) -> User:
        user = db.get(User, account.id)
        assert user is not None
        return user

    def draft(self, account: Account) -> str:
        """A draft opened after a "no immediate risk" answer; return its id."""
        with self.session() as db:
            user = self.user(db, account)
            check = raising.record_safety_check(db, self.services, user, immediate_risk=False)
            return raising.start_draft(db, self.services, user, check.id).id

    def raise_rochdale(self, account: Account, **overrides: str) -> Notice:
        """Raise a Rochdale notice through the services; return it (detached, attributes loaded)."""
        draft_id = self.draft(account)
        answers = rochdale_answers(contact_id(self.app, TARGET), **overrides)
        with self.session() as db:
            notice = raising.submit_notice(db, self.services, self.user(db, account), draft_id, answers)
            db.refresh(notice)
            db.expunge(notice)
            return notice
