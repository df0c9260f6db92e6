"""The alarm a bait (honey-token) notice raises when anyone reaches it: see portal.services.honeytoken."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from portal.domain.models import User, utcnow
from portal.infrastructure.mail import queue_mail
from portal.services import audit
from portal.services.runtime import PortalServices

logger = logging.getLogger("portal.security")


def is_bait(services: PortalServices, notice_id: str) -> bool:
    return notice_id in services.honeytokens


def alarm(
    session: Session, services: PortalServices, notice_id: str, *, user: User | None, route: str, addr: str
) -> None:
    """Record and report a touch of a bait notice; the caller commits (or the alarm is committed here)."""
    who = f"user {user.id}" if user is not None else "an anonymous request"
    audit.record(
        session,
        services.keyring.audit_key,
        action="honeytoken.touched",
        outcome="alert",
        actor_id=user.id if user is not None else None,
        object_type="notice",
        object_id=notice_id,
        remote_addr=addr,
    )
    logger.critical("honey-token notice touched by %s from %s via %s", who, addr or "unknown address", route)
    if services.security_alert_email:
        queue_mail(
            session,
            to=services.security_alert_email,
            subject="SECURITY ALERT: a honey-token notice was touched",
            body=(
                f"A bait notice that no member of staff has any reason to open was reached by {who} "
                f"from {addr or 'an unknown address'} ({route}) at {utcnow():%Y-%m-%d %H:%M:%S} UTC.\n\n"
                "Check the audit trail (action honeytoken.touched) and the account's recent activity.\n"
            ),
        )
    session.commit()
