"""The e-mails a notice sends: one per address per event, holding only the reference, the stage and a link.

No child's details ever travel by e-mail, and e-mail is not an authentication factor (ASVS 6.3.6): the notice
itself is read after signing in. Messages are written to the outbox in the transaction of the change they report
and delivered by the mail worker.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from portal.domain.dates import format_date
from portal.domain.models import DirectoryContact, Notice
from portal.domain.procedure import AudienceKind, Stage, When
from portal.infrastructure.mail import queue_mail
from portal.services import invitations
from portal.services.routing import business_unit_addresses
from portal.services.runtime import PortalServices


def notify(
    session: Session,
    services: PortalServices,
    notice: Notice,
    stage: Stage,
    when: When,
    *,
    recipients: list[DirectoryContact] | None = None,
    first: bool = False,
    extra: str = "",
) -> list[str]:
    """Queue the stage's e-mails for moment ``when``; return the addresses written to."""
    addresses = rule_addresses(session, notice, stage, when, recipients=recipients)
    return send(session, services, notice, addresses, subject(notice, when, first), body(notice, stage, when, extra))


def rule_addresses(
    session: Session, notice: Notice, stage: Stage, when: When, *, recipients: list[DirectoryContact] | None = None
) -> list[str]:
    """The addresses the stage's notification rules name for moment ``when``, from the directory."""
    if recipients is None:
        recipients = [r.contact for r in notice.recipients if r.stage == stage.code]
    addresses: list[str] = []
    for rule in stage.notify:
        if rule.when is not when or rule.audience.is_prompt:
            continue
        kind = rule.audience.kind
        if kind in (AudienceKind.RECIPIENT_SPOCS, AudienceKind.TIER):
            addresses += [c.email for c in recipients if c.email]
        elif kind is AudienceKind.BUSINESS_UNIT:
            addresses += business_unit_addresses(session, notice)
        elif kind is AudienceKind.RAISING_PRACTITIONER:
            addresses.append(notice.raised_by.email)
    return addresses


def send(
    session: Session, services: PortalServices, notice: Notice, addresses: Iterable[str], subject: str, body: str
) -> list[str]:
    """Queue one message per distinct address, holding only the reference, the stage and a link.

    A directory contact the notice was routed to, at an address no account has, gets a single-use invitation
    link instead of the sign-in link (portal.services.invitations): otherwise they could not read it.
    """
    unique = list(dict.fromkeys(a for a in addresses if a))
    link = f"{services.base_url}/notices/{notice.id}"
    invited = invitations.links_for_notice_mail(session, services, notice, unique)
    for address in unique:
        invitation = invited.get(address)
        if invitation is None:
            how = f"Sign in to read it:\n{link}"
        else:
            how = (
                "You do not have an account on the Escalation Portal yet. Set one up to read it (this link works "
                f"once, for {services.invitation_days} days; you will choose a password and set up an "
                f"authenticator app):\n{invitation}"
            )
        queue_mail(
            session,
            to=address,
            subject=subject,
            body=f"{body}\n\nReference: {notice.reference}\n\n{how}\n\n{NO_CASE_DETAILS}",
            notice_id=notice.id,
        )
    return unique


# Only the reference, the stage and a link: the notice itself is read after signing in (ASVS 6.3.6: e-mail
# is not an authentication factor, and no child's details ever travel by e-mail).


# Only the reference, the stage and a link: the notice itself is read after signing in (ASVS 6.3.6: e-mail
# is not an authentication factor, and no child's details ever travel by e-mail).
NO_CASE_DETAILS = "This e-mail contains no case details. Do not reply to it with case details.\n"


def subject(notice: Notice, when: When, first: bool) -> str:
    base = f"OFFICIAL-SENSITIVE: escalation notice {notice.reference}"
    if first:
        return base
    return {
        When.ON_ENTER: f"{base}: escalated",
        When.ON_RESPONSE: f"{base}: response recorded",
        When.ON_OVERDUE: f"{base}: response overdue",
        When.ON_CLOSE: f"{base}: outcome",
    }[when]


def body(notice: Notice, stage: Stage, when: When, extra: str) -> str:
    partnership = notice.partnership.name
    current = notice.current_stage
    due = f" It is due by {format_date(current.due_on)}." if current is not None and current.due_on else ""
    text = {
        When.ON_ENTER: (
            f"A formal escalation notice has been raised with you under the {partnership} procedure. "
            f"It is at {stage.name}.{due}"
        ),
        When.ON_RESPONSE: f"A response has been recorded at {stage.name} on this notice ({partnership}).",
        When.ON_OVERDUE: f"The response at {stage.name} on this notice is overdue.{due}",
        When.ON_CLOSE: f"{stage.name} has ended on this notice ({partnership}).",
    }[when]
    return f"{text} {extra}".strip()
