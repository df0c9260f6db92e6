"""Invitations: how a directory contact with no account, sent a notice by e-mail, gets in (issue 9).

When a notice, an escalation or a chaser is e-mailed to a directory contact at an address no account has, the
e-mail carries an invitation link instead of the sign-in link. The link's token is 256 bits from ``secrets``;
only its SHA-256 is stored (a database reader cannot use a pending invitation). An invitation is bound to the
address, partnership and agency it was sent for (and the tier, where the procedure routes by tier): the
account it makes is a SPOC of that agency at that address, whatever the browser sends. It expires after
``services.invitation_days`` and is used once: a conditional UPDATE moves ``used_at`` from NULL, so of any
number of requests with one token exactly one creates the account.

A used, expired, revoked or mistyped link gets a page that offers a fresh link to the address the invitation
was sent to; the answer is the same whatever the token was, so the page tells nobody which addresses are known.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.domain.models import (
    DirectoryContact,
    Invitation,
    Notice,
    Partnership,
    Role,
    User,
    new_id,
    normalise_email,
    utcnow,
)
from portal.domain.procedure import AudienceKind
from portal.infrastructure.db import begin_write, rows_matched
from portal.infrastructure.mail import queue_mail
from portal.infrastructure.passwords import password_problem
from portal.partnerships import procedure_for
from portal.services import accounts, audit, limits
from portal.services.errors import NotFoundError, RuleBrokenError, ServiceError
from portal.services.runtime import PortalServices

# 32 random bytes: 256 bits, twice the 128 the issue asks for; URL-safe base64, 43 characters.
TOKEN_BYTES = 32
# A fresh link may be asked for this often per invitation address, and from one client address.
FRESH_LINK_SCOPE = "invite_link"
FRESH_LINK_LIMIT = 3
FRESH_LINK_ADDR_LIMIT = 20
FRESH_LINK_WINDOW = timedelta(hours=1)

INVITATION_SUBJECT = "OFFICIAL-SENSITIVE: set up your Escalation Portal account"


class State(enum.StrEnum):
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    # No longer needed: someone already has an account at the invitation's address.
    ACCOUNT_EXISTS = "account_exists"


class InvitationUnusableError(ServiceError):
    """The invitation cannot make an account (used, expired, revoked, unknown, or the address has one)."""

    def __init__(self, state: State) -> None:
        super().__init__(f"the invitation cannot be used: {state.value}")
        self.state = state


@dataclass(frozen=True)
class Issued:
    invitation: Invitation
    token: str
    link: str


@dataclass(frozen=True)
class Checked:
    state: State
    invitation: Invitation | None


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256 (a 256-bit random token needs no salt or slow hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link(services: PortalServices, token: str) -> str:
    return f"{services.base_url}/invitation/{token}"


def issue(
    session: Session,
    services: PortalServices,
    *,
    email: str,
    partnership_id: int,
    agency_id: int,
    contact_id: int | None = None,
    tier: str | None = None,
    notice_id: str | None = None,
    invited_by_id: int | None = None,
    remote_addr: str = "",
) -> Issued:
    """Make an invitation and return its token (which exists nowhere else). Audited; the caller commits."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    # The id is made here, not by a flush: a submit issues invitations while it builds the notice, before
    # anything of it is written (issue 11), and the audit entry needs the id.
    invitation = Invitation(
        id=new_id(),
        token_hash=hash_token(token),
        email=normalise_email(email),
        partnership_id=partnership_id,
        agency_id=agency_id,
        contact_id=contact_id,
        tier=tier,
        notice_id=notice_id,
        created_at=now,
        expires_at=now + timedelta(days=services.invitation_days),
        invited_by_id=invited_by_id,
    )
    session.add(invitation)
    audit.record(
        session,
        services.keyring.audit_key,
        action="invitation.issued",
        outcome="ok",
        actor_id=invited_by_id,
        object_type="invitation",
        object_id=invitation.id,
        remote_addr=remote_addr,
    )
    return Issued(invitation, token, link(services, token))


def issue_again(
    session: Session,
    services: PortalServices,
    old: Invitation,
    *,
    invited_by_id: int | None = None,
    remote_addr: str = "",
) -> Issued:
    """A fresh invitation with everything the old one was bound to (a new link asked for, or an administrator's
    resend); the old token is not revived. Audited like any issue; the caller commits."""
    return issue(
        session,
        services,
        email=old.email,
        partnership_id=old.partnership_id,
        agency_id=old.agency_id,
        contact_id=old.contact_id,
        tier=old.tier,
        notice_id=old.notice_id,
        invited_by_id=invited_by_id,
        remote_addr=remote_addr,
    )


def contact_tier(partnership_slug: str, procedure_version: str, contact: DirectoryContact) -> str | None:
    """The procedure's tier this contact belongs to (Halton routes by tier), or None."""
    procedure = procedure_for(partnership_slug, procedure_version)
    for stage in procedure.stages:
        for rule in stage.notify:
            tier = rule.audience.tier
            if rule.audience.kind is AudienceKind.TIER and tier and contact.role_title.startswith(tier):
                return tier
    return None


def links_for_notice_mail(
    session: Session, services: PortalServices, notice: Notice, addresses: Sequence[str]
) -> dict[str, str]:
    """Invitation links for a notice's e-mail to ``addresses``, by address; an address left out gets the plain
    sign-in link.

    Only a directory contact the notice was routed to, at an address no account has, is invited.
    """
    # Whether an address is one the notice was routed to is known without a query (the raiser's own mail, the
    # business unit's copies are not): only recipients' addresses are looked up among the accounts, together.
    routed: dict[str, DirectoryContact] = {}
    for address in addresses:
        wanted = normalise_email(address)
        contact = next(
            (r.contact for r in notice.recipients if r.contact is not None and normalise_email(r.email) == wanted),
            None,
        )
        if contact is not None:
            routed[address] = contact
    if not routed:
        return {}
    have_accounts = accounts.addresses_with_accounts(session, routed)
    links = {}
    for address, contact in routed.items():
        if normalise_email(address) in have_accounts:
            continue
        links[address] = issue(
            session,
            services,
            email=normalise_email(address),
            partnership_id=notice.partnership_id,
            agency_id=contact.agency_id,
            contact_id=contact.id,
            tier=contact_tier(notice.partnership.slug, notice.procedure_version, contact),
            notice_id=notice.id,
        ).link
    return links


def check(session: Session, token: str, *, now: datetime | None = None) -> Checked:
    """Where an invitation token stands, without using it."""
    now = now or utcnow()
    invitation = _find(session, token)
    return Checked(_state(session, invitation, now), invitation)


def _find(session: Session, token: str) -> Invitation | None:
    if not token or len(token) > 200:
        return None
    return session.execute(select(Invitation).where(Invitation.token_hash == hash_token(token))).scalar_one_or_none()


def _state(session: Session, invitation: Invitation | None, now: datetime) -> State:
    if invitation is None:
        return State.UNKNOWN
    if invitation.used_at is not None:
        return State.USED
    if invitation.revoked_at is not None:
        return State.REVOKED
    if invitation.expires_at <= now:
        return State.EXPIRED
    if accounts.find_user_by_email(session, invitation.email) is not None:
        return State.ACCOUNT_EXISTS
    return State.VALID


def accept(
    session: Session,
    services: PortalServices,
    token: str,
    *,
    name: str,
    password: str,
    remote_addr: str = "",
) -> User:
    """Use the invitation once: create the SPOC account it is bound to, with this name and password.

    The account has no authenticator yet: the new user sets one up (QR code) before anything is shown.
    Raises InvitationUnusableError, or RuleBrokenError for the name or password. Commits.
    """
    now = utcnow()
    invitation = _find(session, token)
    state = _state(session, invitation, now)
    if state is not State.VALID or invitation is None:
        _audit_refusal(session, services, invitation, state, remote_addr)
        raise InvitationUnusableError(state)
    name = " ".join(name.split())
    if not name:
        raise RuleBrokenError("name", "Enter your full name")
    if len(name) > 200:
        raise RuleBrokenError("name", "Your name must be 200 characters or fewer")
    problem = password_problem(password)
    if problem:
        raise RuleBrokenError("password", problem)
    invitation_id = invitation.id
    session.commit()  # end the reads; the use below is one short write transaction
    begin_write(session)
    # Compare-and-set: only the request that moves used_at from NULL goes on to create the account.
    claimed = rows_matched(
        session.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation_id,
                Invitation.used_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed != 1:
        session.rollback()
        fresh = session.get(Invitation, invitation_id)
        _audit_refusal(session, services, fresh, State.USED, remote_addr)
        raise InvitationUnusableError(State.USED)
    invitation = session.get(Invitation, invitation_id)
    assert invitation is not None
    session.refresh(invitation)
    partnership = session.get(Partnership, invitation.partnership_id)
    assert partnership is not None
    try:
        account = accounts.create_user(
            session,
            services.keyring,
            services.passwords,
            email=invitation.email,
            name=name,
            role=Role.SPOC,
            partnership_slug=partnership.slug,
            agency_name=invitation.agency.name,
            job_title=(invitation.tier or "")[:200],
            password=password,
        )
    except accounts.AccountError:
        session.rollback()
        raise InvitationUnusableError(State.ACCOUNT_EXISTS) from None
    user = account.user
    # No authenticator yet: the user makes their own secret at set-up, confirmed by a code from their app.
    user.totp_secret_ct = None
    invitation.user_id = user.id
    # Every other pending invitation to this address is spent too: the address now has an account.
    session.execute(
        update(Invitation)
        .where(Invitation.email == invitation.email, Invitation.used_at.is_(None), Invitation.id != invitation.id)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        session,
        services.keyring.audit_key,
        action="invitation.accepted",
        outcome="ok",
        actor_id=user.id,
        object_type="invitation",
        object_id=invitation.id,
        remote_addr=remote_addr,
    )
    session.commit()
    return user


def _audit_refusal(
    session: Session, services: PortalServices, invitation: Invitation | None, state: State, remote_addr: str
) -> None:
    audit.record(
        session,
        services.keyring.audit_key,
        action="invitation.accept",
        outcome=state.value,
        object_type="invitation",
        object_id=invitation.id if invitation else "",
        remote_addr=remote_addr,
    )
    session.commit()


def request_fresh_link(session: Session, services: PortalServices, token: str, *, remote_addr: str = "") -> None:
    """Send a fresh link to the address a used, expired or revoked invitation was sent to.

    The caller shows the same answer whatever happens here: a mistyped token, an address that now has an
    account (it gets a plain sign-in link instead), a throttled request. Throttled per invitation address and
    per client address; audited. Commits.
    """
    now = utcnow()
    invitation = _find(session, token)
    keys = [f"addr:{remote_addr[:56]}"] if remote_addr else []
    if invitation is not None:
        keys.append(f"inv:{invitation.email}"[:64])
    attempt = limits.claim(
        session,
        FRESH_LINK_SCOPE,
        keys,
        limit=FRESH_LINK_LIMIT if invitation is not None else FRESH_LINK_ADDR_LIMIT,
        window=FRESH_LINK_WINDOW,
        now=now,
        counted=(limits.OK, limits.FAILED),
    )
    outcome = "throttled"
    if attempt is not None:
        outcome = _send_fresh(session, services, invitation, now, remote_addr)
        limits.finish(session, attempt, limits.OK)
    audit.record(
        session,
        services.keyring.audit_key,
        action="invitation.fresh_link",
        outcome=outcome,
        object_type="invitation",
        object_id=invitation.id if invitation else "",
        remote_addr=remote_addr,
    )
    session.commit()


def _send_fresh(
    session: Session, services: PortalServices, invitation: Invitation | None, now: datetime, remote_addr: str
) -> str:
    if invitation is None:
        return "unknown"
    if invitation.revoked_at is not None:
        # An administrator withdrew it: only an administrator sends another.
        return "revoked"
    if accounts.find_user_by_email(session, invitation.email) is not None:
        queue_mail(
            session,
            to=invitation.email,
            subject="OFFICIAL-SENSITIVE: sign in to the Escalation Portal",
            body=sign_in_body(services, invitation.notice_id),
        )
        return "has_account"
    issued = issue_again(session, services, invitation, remote_addr=remote_addr)
    queue_mail(session, to=invitation.email, subject=INVITATION_SUBJECT, body=invitation_body(issued, services))
    return "sent"


def invitation_body(issued: Issued, services: PortalServices) -> str:
    days = services.invitation_days
    return (
        "You have been invited to the Escalation Portal, where escalation notices for your agency are read and "
        "answered.\n\n"
        f"Set up your account (the link works once, for {days} days):\n{issued.link}\n\n"
        "You will choose a password and set up an authenticator app. If you did not expect this, ignore it.\n\n"
        "This e-mail contains no case details. Do not reply to it with case details.\n"
    )


def sign_in_body(services: PortalServices, notice_id: str | None) -> str:
    target = f"{services.base_url}/notices/{notice_id}" if notice_id else f"{services.base_url}/sign-in"
    return (
        "An account already exists at this address. Sign in to the Escalation Portal:\n"
        f"{target}\n\n"
        "If you have forgotten your password, choose 'I have forgotten my password' on the sign-in page.\n\n"
        "This e-mail contains no case details. Do not reply to it with case details.\n"
    )


def made_account(session: Session, user_id: int) -> bool:
    """Whether this account was made from an invitation (its owner has never set up an authenticator)."""
    found = session.execute(select(Invitation.id).where(Invitation.user_id == user_id).limit(1)).first()
    return found is not None


# -- administrators: invite, resend and revoke -----------------------------------------------------------------


def _for_admin(session: Session, services: PortalServices, admin_id: int | None, invitation_id: str) -> Invitation:
    """The invitation, if the actor is an administrator of its partnership (admin_id None: the CLI)."""
    invitation = session.get(Invitation, invitation_id) if len(invitation_id) <= 36 else None
    if invitation is None:
        raise NotFoundError("no such invitation")
    if admin_id is not None:
        admin = session.get(User, admin_id)
        if (
            admin is None
            or not admin.is_active
            or admin.role_enum is not Role.ADMIN
            or admin.partnership_id != invitation.partnership_id
        ):
            raise NotFoundError("no such invitation")
    return invitation


def invite(
    session: Session,
    services: PortalServices,
    admin_id: int | None,
    *,
    email: str,
    partnership_slug: str,
    agency_name: str,
    remote_addr: str = "",
) -> Issued:
    """Invite someone to be a SPOC of an agency (an administrator's invitation, not tied to a notice). Commits.

    admin_id None means the CLI operator; otherwise it must be an administrator of that partnership.
    """
    partnership = session.execute(select(Partnership).where(Partnership.slug == partnership_slug)).scalar_one_or_none()
    if partnership is None:
        raise RuleBrokenError("partnership", f"There is no partnership {partnership_slug!r}")
    if admin_id is not None:
        admin = session.get(User, admin_id)
        if admin is None or not admin.is_active or admin.role_enum is not Role.ADMIN:
            raise NotFoundError("no such partnership")
        if admin.partnership_id != partnership.id:
            raise NotFoundError("no such partnership")
    agency = next((a for a in partnership.agencies if a.name.lower() == agency_name.strip().lower()), None)
    if agency is None:
        raise RuleBrokenError("agency", f"There is no agency {agency_name!r} in {partnership.name}")
    address = normalise_email(email)
    if "@" not in address or any(ch.isspace() for ch in address) or len(address) > 254:
        raise RuleBrokenError("email", "Enter an email address in the correct format, like name@example.com")
    if accounts.find_user_by_email(session, address) is not None:
        raise RuleBrokenError("email", "An account already exists at this address")
    issued = issue(
        session,
        services,
        email=address,
        partnership_id=partnership.id,
        agency_id=agency.id,
        invited_by_id=admin_id,
        remote_addr=remote_addr,
    )
    queue_mail(session, to=address, subject=INVITATION_SUBJECT, body=invitation_body(issued, services))
    session.commit()
    return issued


def resend(
    session: Session, services: PortalServices, admin_id: int | None, invitation_id: str, *, remote_addr: str = ""
) -> Issued:
    """Revoke a pending invitation and send a new one, with the same binding, to the same address. Commits."""
    old = _for_admin(session, services, admin_id, invitation_id)
    if accounts.find_user_by_email(session, old.email) is not None:
        raise RuleBrokenError("invitation", "An account already exists at this address")
    now = utcnow()
    if old.used_at is None and old.revoked_at is None:
        old.revoked_at = now
    issued = issue_again(session, services, old, invited_by_id=admin_id, remote_addr=remote_addr)
    queue_mail(session, to=old.email, subject=INVITATION_SUBJECT, body=invitation_body(issued, services))
    session.commit()
    return issued


def revoke(
    session: Session, services: PortalServices, admin_id: int | None, invitation_id: str, *, remote_addr: str = ""
) -> None:
    """Withdraw an invitation: its link stops working at once. Audited. Commits."""
    invitation = _for_admin(session, services, admin_id, invitation_id)
    if invitation.revoked_at is None and invitation.used_at is None:
        invitation.revoked_at = utcnow()
    audit.record(
        session,
        services.keyring.audit_key,
        action="invitation.revoked",
        outcome="ok",
        actor_id=admin_id,
        object_type="invitation",
        object_id=invitation.id,
        remote_addr=remote_addr,
    )
    session.commit()


def pending(session: Session, partnership_id: int, *, now: datetime | None = None) -> list[Invitation]:
    """The partnership's invitations not yet used, revoked or expired, newest first (for administrators)."""
    now = now or utcnow()
    return list(
        session.execute(
            select(Invitation)
            .where(
                Invitation.partnership_id == partnership_id,
                Invitation.used_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at.desc())
        ).scalars()
    )
