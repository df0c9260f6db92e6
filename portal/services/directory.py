"""The SPOC directory: load partnerships and their contacts from the directory CSVs, and read them back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from portal.domain.models import Agency, DirectoryContact, Partnership
from portal.domain.partnership import AgencySpec, PartnershipSpec
from portal.partnerships import PARTNERSHIPS
from portal.partnerships.directory_data import read_directory

# An agency without a review date in its CSV whose details are good is looked at again after a year.
REVIEW_INTERVAL = timedelta(days=365)


@dataclass
class ImportReport:
    """Rows (partnerships, agencies and contacts together) the import added, changed or left alone."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    # Contacts no longer in their directory CSV; kept, because sent notices refer to them.
    deactivated: int = 0


def import_partnerships(session: Session, *, today: date) -> ImportReport:
    """Create or update every partnership and its directory from the CSVs; flush but do not commit.

    Idempotent: a second run with the same data changes nothing. Review dates are set only on new
    agencies (from the CSV's review_by), and contacts that have left a CSV are deactivated rather than
    deleted; contacts added by hand are left alone.
    """
    # Read and check every CSV first, so a bad file fails before anything is written.
    loaded = [(spec, read_directory(spec.directory)) for spec in PARTNERSHIPS.values()]
    report = ImportReport()
    for spec, agencies in loaded:
        _import_loaded(session, spec, agencies, today, report)
    session.flush()
    return report


def import_partnership(session: Session, spec: PartnershipSpec, *, today: date) -> ImportReport:
    """Create or update one partnership and its directory from its CSV; flush but do not commit."""
    report = ImportReport()
    _import_loaded(session, spec, read_directory(spec.directory), today, report)
    session.flush()
    return report


def _import_loaded(
    session: Session, spec: PartnershipSpec, agencies: list[AgencySpec], today: date, report: ImportReport
) -> None:
    partnership = _upsert_partnership(session, spec, report)
    if partnership.directory_managed_at is not None:
        # The partnership keeps its directory in the portal now (portal.services.directory_admin): a
        # deployment's seed import must not undo what it has added, changed or deactivated.
        return
    _import_directory(session, partnership, agencies, today, report)


def agencies_for(session: Session, partnership_id: int) -> list[Agency]:
    """Return a partnership's agencies in directory order."""
    return list(
        session.scalars(
            select(Agency).where(Agency.partnership_id == partnership_id).order_by(Agency.position, Agency.id)
        )
    )


def active_contacts(session: Session, partnership_id: int) -> list[DirectoryContact]:
    """Return a partnership's active contacts in directory order, each with its agency loaded."""
    return list(
        session.scalars(
            select(DirectoryContact)
            .join(DirectoryContact.agency)
            .where(Agency.partnership_id == partnership_id, DirectoryContact.active.is_(True))
            .options(contains_eager(DirectoryContact.agency))
            .order_by(Agency.position, DirectoryContact.position, DirectoryContact.id)
        )
    )


class DirectoryError(ValueError):
    """A directory change that cannot be made (unknown partnership or agency)."""


def add_contact(
    session: Session,
    *,
    partnership_slug: str,
    agency_name: str,
    role_title: str,
    email: str,
    telephone: str | None = None,
) -> DirectoryContact:
    """Add (or reactivate) a contact for an agency; flush but do not commit.

    Trafford and Pan Cheshire publish no SPOC list, so their partnership adds its agencies' contacts here
    (``flask --app portal directory add-contact``) before notices can be routed to them.
    """
    agency = session.scalars(
        select(Agency).join(Partnership).where(Partnership.slug == partnership_slug, Agency.name == agency_name)
    ).one_or_none()
    if agency is None:
        raise DirectoryError(f"no agency {agency_name!r} in partnership {partnership_slug!r}")
    existing = session.scalars(
        select(DirectoryContact).where(
            DirectoryContact.agency_id == agency.id, DirectoryContact.role_title == role_title
        )
    ).first()
    if existing is not None:
        existing.email, existing.telephone, existing.active = email, telephone, True
        session.flush()
        return existing
    position = len(agency.contacts)
    contact = DirectoryContact(
        agency_id=agency.id,
        role_title=role_title,
        email=email,
        telephone=telephone,
        position=position,
        active=True,
        from_seed=False,
    )
    session.add(contact)
    session.flush()
    return contact


def _upsert_partnership(session: Session, spec: PartnershipSpec, report: ImportReport) -> Partnership:
    values = {
        "code": spec.code,
        "name": spec.name,
        "form_code": spec.form_code,
        "procedure_version": spec.procedure_version,
        "is_legacy": spec.is_legacy,
        "front_door": spec.front_door,
        "directory_owner": spec.directory_owner,
    }
    partnership = session.scalars(select(Partnership).where(Partnership.slug == spec.slug)).one_or_none()
    if partnership is None:
        partnership = Partnership(slug=spec.slug, **values)
        session.add(partnership)
        # The agencies below need its id.
        session.flush()
        report.added += 1
    else:
        _count(report, _apply(partnership, values))
    return partnership


def _import_directory(
    session: Session,
    partnership: Partnership,
    agencies: list[AgencySpec],
    today: date,
    report: ImportReport,
) -> None:
    existing_agencies = {
        agency.name: agency for agency in session.scalars(select(Agency).where(Agency.partnership_id == partnership.id))
    }
    agency_names = {agency.id: agency.name for agency in existing_agencies.values()}
    existing_contacts: dict[tuple[str, str, str | None], DirectoryContact] = {}
    for row in session.scalars(
        select(DirectoryContact)
        .join(DirectoryContact.agency)
        .where(Agency.partnership_id == partnership.id)
        .order_by(DirectoryContact.id)
    ):
        key = _contact_key(agency_names[row.agency_id], row.role_title, row.email)
        existing_contacts.setdefault(key, row)

    seen: set[tuple[str, str, str | None]] = set()
    for position, spec in enumerate(agencies):
        agency = _upsert_agency(session, partnership, existing_agencies.get(spec.name), spec, position, today, report)
        existing_agencies[spec.name] = agency
        source = spec.source
        for contact_position, contact_spec in enumerate(spec.contacts):
            key = _contact_key(spec.name, contact_spec.role_title, contact_spec.email)
            if key in seen:
                # The same entry twice in one directory is one directory row.
                continue
            seen.add(key)
            values: dict[str, Any] = {
                "email": contact_spec.email,
                "telephone": contact_spec.telephone,
                "position": contact_position,
                "active": True,
            }
            contact = existing_contacts.get(key)
            if contact is None:
                session.add(
                    DirectoryContact(
                        agency_id=agency.id,
                        role_title=contact_spec.role_title,
                        review_by=agency.review_due,
                        source=source[:300],
                        **values,
                    )
                )
                report.added += 1
            else:
                if contact.review_by is None:
                    # Fill a missing date, but never move one a reviewer has set.
                    values["review_by"] = agency.review_due
                if not contact.source:
                    values["source"] = source[:300]
                _count(report, _apply(contact, values))

    for key, stale in existing_contacts.items():
        # Only what the directory data itself listed can leave it; contacts added by hand stay as they are.
        if key not in seen and stale.active and stale.from_seed:
            stale.active = False
            report.deactivated += 1


def _upsert_agency(
    session: Session,
    partnership: Partnership,
    agency: Agency | None,
    spec: AgencySpec,
    position: int,
    today: date,
    report: ImportReport,
) -> Agency:
    if spec.review_by is not None:
        review_due = spec.review_by
    else:
        review_due = today if spec.needs_review else today + REVIEW_INTERVAL
    if agency is None:
        agency = Agency(
            partnership_id=partnership.id,
            name=spec.name,
            sender_note=spec.sender_note,
            position=position,
            review_due=review_due,
        )
        session.add(agency)
        # Its contacts need its id.
        session.flush()
        report.added += 1
        return agency
    values: dict[str, Any] = {"sender_note": spec.sender_note, "position": position}
    if agency.review_due is None:
        # Fill a missing date, but never move one a reviewer (or an earlier import) has set.
        values["review_due"] = review_due
    _count(report, _apply(agency, values))
    return agency


def _contact_key(agency_name: str, role_title: str, email: str | None) -> tuple[str, str, str | None]:
    # Mailbox names are case-insensitive in practice, and the published lists vary the case ("Rochdale.Gov.UK").
    return agency_name, role_title, email.casefold() if email else None


def _apply(row: object, values: dict[str, Any]) -> bool:
    """Set the attributes that differ and say whether any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _count(report: ImportReport, changed: bool) -> None:
    if changed:
        report.updated += 1
    else:
        report.unchanged += 1
