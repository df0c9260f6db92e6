"""Who a notice goes to: the directory read through each stage's notification rules.

A stage names its audiences (portal.domain.procedure): the recipient SPOCs chosen on the form (or, at a later
stage with no new choice, those of the stage before), an agency's tier (Halton), the business unit, the raising
practitioner. This module turns them into directory contacts and addresses. Only active contacts are ever
offered or routed to; a notice already routed keeps the recipients it was sent to.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, selectinload

from portal.domain.dates import long_date
from portal.domain.models import Agency, DirectoryContact, Notice, Partnership, Role, User
from portal.domain.notice_definition import NoticeDefinition
from portal.domain.policy import directory_id
from portal.domain.procedure import AudienceKind, Stage, When
from portal.services.directory import agencies_for
from portal.services.errors import RuleBrokenError
from portal.services.runtime import FormDirectory, PortalServices


def business_unit_addresses(session: Session, notice: Notice) -> list[str]:
    """The partnership's business unit: its business managers' addresses, else the directory owner's mailbox."""
    found = list(
        session.execute(
            select(User.email).where(
                User.partnership_id == notice.partnership_id,
                User.role == Role.BUSINESS_MANAGER.value,
                User.is_active.is_(True),
            )
        ).scalars()
    )
    if not found and "@" in notice.partnership.directory_owner:
        found = [notice.partnership.directory_owner]
    return found


def involved_agency_ids(notice: Notice, answers: dict[str, str], agency_fields: Iterable[str]) -> list[int]:
    """The raising agency and every agency the notice names or has gone to."""
    ids: list[int] = []
    if notice.raising_agency_id is not None:
        ids.append(notice.raising_agency_id)
    ids += [i for i in (directory_id(answers.get(f)) for f in agency_fields) if i is not None]
    ids += [r.agency_id for r in notice.recipients]
    return list(dict.fromkeys(ids))


def tier_contacts(session: Session, agency_ids: list[int], tier: str) -> list[DirectoryContact]:
    """Active contacts of these agencies at a directory tier (a role title starting with the tier's name)."""
    if not agency_ids:
        return []
    return list(
        session.execute(
            select(DirectoryContact)
            .join(Agency)
            .where(
                DirectoryContact.agency_id.in_(agency_ids),
                DirectoryContact.active.is_(True),
                DirectoryContact.email.is_not(None),
                DirectoryContact.role_title.startswith(tier, autoescape=True),
            )
            .options(selectinload(DirectoryContact.agency))
            .order_by(Agency.position, DirectoryContact.position)
        ).scalars()
    )


def stage_recipients(
    session: Session,
    notice: Notice,
    stage: Stage,
    *,
    chosen: list[DirectoryContact],
    agency_ids: list[int],
) -> list[DirectoryContact]:
    """Return who the stage is sent to, from its notification rules over the directory."""
    found: list[DirectoryContact] = []
    for rule in stage.notify:
        if rule.when is not When.ON_ENTER:
            continue
        if rule.audience.kind is AudienceKind.RECIPIENT_SPOCS:
            found += chosen or _previous_contacts(notice)
        elif rule.audience.kind is AudienceKind.TIER and rule.audience.tier:
            found += tier_contacts(session, agency_ids, rule.audience.tier)
    return list({c.id: c for c in found}.values())


def _previous_contacts(notice: Notice) -> list[DirectoryContact]:
    """The contacts of the last stage that was sent to anyone (a stage with no new choice keeps them)."""
    for record in reversed(notice.stages[:-1] if notice.stages else []):
        contacts = [r.contact for r in notice.recipients if r.stage == record.stage]
        if contacts:
            return contacts
    return [r.contact for r in notice.recipients]


def chosen_contacts(session: Session, notice: Notice, ids: Iterable[str | None]) -> list[DirectoryContact]:
    """The partnership's active contacts with these ids (a form has already checked they are choices)."""
    wanted = [i for i in map(directory_id, ids) if i is not None]
    if not wanted:
        return []
    found = session.execute(
        select(DirectoryContact)
        .join(Agency)
        .where(
            DirectoryContact.id.in_(wanted),
            Agency.partnership_id == notice.partnership_id,
            DirectoryContact.active.is_(True),
        )
        .options(selectinload(DirectoryContact.agency))
    ).scalars()
    by_id = {c.id: c for c in found}
    return [by_id[i] for i in wanted if i in by_id]


def form_recipients(
    session: Session, partnership_id: int, definition: NoticeDefinition, answers: dict[str, str]
) -> list[DirectoryContact]:
    """The active contacts the form's recipient answers name; RuleBrokenError for one no longer there."""
    named = {name: answers.get(name) for name in definition.recipient_fields if answers.get(name)}
    ids = {name: directory_id(value) for name, value in named.items()}
    wanted = {i for i in ids.values() if i is not None}
    # Every field's contact in one statement, with its agency, not a statement (and its agency's) per field.
    by_id = (
        {
            c.id: c
            for c in session.execute(
                select(DirectoryContact)
                .join(Agency)
                .where(
                    DirectoryContact.id.in_(wanted),
                    Agency.partnership_id == partnership_id,
                    DirectoryContact.active.is_(True),
                )
                .options(contains_eager(DirectoryContact.agency))
            ).scalars()
        }
        if wanted
        else {}
    )
    found = []
    for name, contact_id in ids.items():
        contact = by_id.get(contact_id) if contact_id is not None else None
        if contact is None:
            raise RuleBrokenError(name, "Choose a contact who is still in the directory")
        found.append(contact)
    return found


def contact_choices(session: Session, partnership_id: int) -> list[tuple[str, str]]:
    """Directory contacts a notice can be sent to, labelled "Agency: role"."""
    contacts = session.execute(
        select(DirectoryContact)
        .join(Agency)
        .where(
            Agency.partnership_id == partnership_id,
            DirectoryContact.active.is_(True),
            DirectoryContact.email.is_not(None),
        )
        .options(selectinload(DirectoryContact.agency))
        .order_by(Agency.position, DirectoryContact.position)
    ).scalars()
    return [(str(c.id), c.label) for c in contacts]


def form_choices(
    session: Session, services: PortalServices, partnership: Partnership, *, with_agencies: bool
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The contacts (and, for a form that routes by agency, the agencies) a notice form offers."""
    shown = form_directory(session, services, partnership, with_agencies=with_agencies)
    return list(shown.contacts), list(shown.agencies)


def form_directory(
    session: Session, services: PortalServices, partnership: Partnership, *, with_agencies: bool
) -> FormDirectory:
    """What a notice form shows from the directory: its choices and the review notes for overdue entries.

    Kept per worker and read again only when the partnership's directory_version has moved (triggers move
    it on every change to its agencies or contacts, however made) or the day has turned (an entry becomes
    overdue at midnight), instead of loading the directory through the ORM on every form page.

    ``partnership`` is its row as read in this request: the signed-in user's, read with their session, so the
    version costs no statement of its own. A row read long before (a session kept open) would offer choices as
    they stood then.
    """
    partnership_id, version = partnership.id, partnership.directory_version
    today = services.today()
    key = (partnership_id, version, with_agencies, today)
    cached = services.directory_choices.get(key)
    if cached is None:
        cached = FormDirectory(
            contacts=tuple(contact_choices(session, partnership_id)),
            agencies=tuple(agency_choices(session, partnership_id)) if with_agencies else (),
            review_notes=tuple(overdue_contact_notes(session, partnership_id, today)),
        )
        # Older versions of this partnership's directory are never asked for again.
        for stale in [k for k in services.directory_choices if k[0] == partnership_id]:
            services.directory_choices.pop(stale, None)
        services.directory_choices[key] = cached
    return cached


def agency_choices(session: Session, partnership_id: int) -> list[tuple[str, str]]:
    """The partnership's agencies, for a form that routes by agency (Halton's tiers)."""
    return [(str(a.id), a.name) for a in agencies_for(session, partnership_id)]


def sender_notes(session: Session, contact_ids: list[str], *, today: date | None = None) -> list[tuple[str, str]]:
    """Directory notes for the chosen recipients' agencies that the sender must act on; with ``today``, also a
    warning for each chosen contact whose directory entry is overdue for review."""
    wanted = [i for i in map(directory_id, contact_ids) if i is not None]
    if not wanted:
        return []
    agencies = session.execute(
        select(Agency).join(DirectoryContact).where(DirectoryContact.id.in_(wanted)).distinct()
    ).scalars()
    notes = [(a.name, a.sender_note) for a in agencies if a.sender_note]
    if today is not None:
        overdue = session.execute(
            select(DirectoryContact)
            .where(DirectoryContact.id.in_(wanted), DirectoryContact.review_by < today)
            .options(selectinload(DirectoryContact.agency))
        ).scalars()
        notes += [(c.agency.name, overdue_note(c)) for c in overdue]
    return notes


def overdue_note(contact: DirectoryContact) -> str:
    return (
        f"the directory entry for {contact.role_title} was due for review on {long_date(contact.review_by)}: "
        "check with your partnership's business unit that it is still right"
    )


def overdue_contact_notes(session: Session, partnership_id: int, today: date) -> list[tuple[str, str]]:
    """The contacts a sender may choose whose entries are overdue for review, as (agency, note)."""
    contacts = session.execute(
        select(DirectoryContact)
        .join(Agency)
        .where(
            Agency.partnership_id == partnership_id,
            DirectoryContact.active.is_(True),
            DirectoryContact.email.is_not(None),
            DirectoryContact.review_by < today,
        )
        .options(selectinload(DirectoryContact.agency))
        .order_by(Agency.position, DirectoryContact.position)
    ).scalars()
    return [(c.agency.name, overdue_note(c)) for c in contacts]
