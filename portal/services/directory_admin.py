"""The SPOC directory kept in the browser by the partnership's business unit and administrators.

Contacts are listed by agency with their review status; a contact is added, edited, deactivated or
reactivated one at a time, or a whole directory is imported from a CSV in the seed format
(portal.partnerships.directory_data). An import is previewed first: what would be added, changed and
deactivated, and every row's errors; nothing is applied while any row is in error, and what is applied is
what was previewed (the plan's digest must match). Every change is audited.

Contacts are never deleted: notices already routed point at them and keep the address they were sent to
(notice_recipient.email). Routing offers only active contacts (portal.services.routing).

Once a partnership's directory has been changed here, `init`'s seed import leaves that directory alone
(partnership.directory_managed_at), so a deployment never undoes what the partnership has done.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.domain.models import Agency, DirectoryContact, Partnership, Role, User, utcnow
from portal.partnerships.directory_data import COLUMNS, EMAIL_RE, role_title
from portal.services import audit
from portal.services.directory import REVIEW_INTERVAL
from portal.services.errors import ContactNotFoundError, NotPermittedError, RuleBrokenError
from portal.services.runtime import PortalServices

# A contact whose review falls within this many days is "due soon".
DUE_SOON = timedelta(days=30)
MAX_IMPORT_ROWS = 2000
# A directory of MAX_IMPORT_ROWS rows is well under this; the file waits in the server-side session between
# preview and apply, so it is kept small.
MAX_IMPORT_BYTES = 512 * 1024
ENTERED_HERE = "entered in the portal"
_TELEPHONE_CHARS = set("0123456789 ")
_BOOLEANS = {"true": True, "false": False}
_CONTACT_COLUMNS = ("tier", "role", "name", "email", "telephone", "stages")


def require_keeper(actor: User) -> None:
    """The partnership's business managers and administrators keep its directory."""
    if not actor.is_active or actor.role_enum not in (Role.ADMIN, Role.BUSINESS_MANAGER):
        raise NotPermittedError("only the business unit or an administrator may change the directory")


@dataclass(frozen=True)
class Keeper:
    """Whoever keeps a partnership's directory: a signed-in user, or the command-line operator (actor_id None)."""

    partnership_id: int
    actor_id: int | None


def as_keeper(actor: User | Keeper) -> Keeper:
    if isinstance(actor, Keeper):
        return actor
    require_keeper(actor)
    return Keeper(actor.partnership_id, actor.id)


def operator_for(db: Session, partnership_slug: str) -> Keeper:
    """The command-line operator, keeping the directory of the partnership with this slug."""
    partnership = db.execute(select(Partnership).where(Partnership.slug == partnership_slug)).scalar_one_or_none()
    if partnership is None:
        raise RuleBrokenError("partnership", f"no partnership {partnership_slug!r}")
    return Keeper(partnership.id, None)


def review_status(review_by: date | None, today: date) -> str:
    """ "overdue", "due-soon", "current" or "none" (no date set)."""
    if review_by is None:
        return "none"
    if review_by < today:
        return "overdue"
    if review_by <= today + DUE_SOON:
        return "due-soon"
    return "current"


REVIEW_LABELS = {
    "overdue": "Review overdue",
    "due-soon": "Review due soon",
    "current": "Reviewed",
    "none": "No review date",
}


@dataclass(frozen=True)
class ContactView:
    contact: DirectoryContact
    status: str

    @property
    def status_label(self) -> str:
        return REVIEW_LABELS[self.status]


@dataclass(frozen=True)
class AgencyView:
    agency: Agency
    contacts: list[ContactView]


def overview(db: Session, actor: User | Keeper, today: date) -> list[AgencyView]:
    """Every agency of the partnership with all its contacts (deactivated ones too) and their review status."""
    keeper = as_keeper(actor)
    agencies = db.execute(
        select(Agency)
        .where(Agency.partnership_id == keeper.partnership_id)
        .options(selectinload(Agency.contacts))
        .order_by(Agency.position, Agency.id)
    ).scalars()
    return [
        AgencyView(
            agency,
            [ContactView(c, review_status(c.review_by, today) if c.active else "none") for c in agency.contacts],
        )
        for agency in agencies
    ]


def overdue_contacts(db: Session, partnership_id: int, today: date) -> list[DirectoryContact]:
    """Active contacts whose review-by date has passed, oldest first."""
    return list(
        db.execute(
            select(DirectoryContact)
            .join(Agency)
            .where(
                Agency.partnership_id == partnership_id,
                DirectoryContact.active.is_(True),
                DirectoryContact.review_by < today,
            )
            .options(selectinload(DirectoryContact.agency))
            .order_by(DirectoryContact.review_by, Agency.position, DirectoryContact.position)
        ).scalars()
    )


def get_contact(db: Session, actor: User, contact_id: int) -> DirectoryContact:
    require_keeper(actor)
    contact = db.get(DirectoryContact, contact_id)
    if contact is None or contact.agency.partnership_id != actor.partnership_id:
        raise ContactNotFoundError("no such contact in this partnership")
    return contact


# -- one contact at a time ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactDetails:
    """What a keeper types for a contact."""

    agency_id: int | None
    role_title: str
    email: str
    telephone: str
    review_by: date | None


def _check_details(db: Session, actor: User, details: ContactDetails) -> Agency:
    agency = db.get(Agency, details.agency_id) if details.agency_id else None
    if agency is None or agency.partnership_id != actor.partnership_id:
        raise RuleBrokenError("agency", "Select the agency")
    if not details.role_title.strip():
        raise RuleBrokenError("role_title", "Enter the role or post, for example Safeguarding Lead")
    if len(details.role_title) > 300:
        raise RuleBrokenError("role_title", "Role or post must be 300 characters or fewer")
    if not details.email and not details.telephone:
        raise RuleBrokenError("email", "Enter the secure email address notices are sent to, or a telephone number")
    if details.email and (len(details.email) > 254 or not EMAIL_RE.fullmatch(details.email)):
        raise RuleBrokenError("email", "Enter an email address in the correct format, like name@example.com")
    if details.telephone and not _is_telephone(details.telephone):
        raise RuleBrokenError("telephone", "Enter a UK telephone number, like 01706 925 897")
    return agency


def _is_telephone(value: str) -> bool:
    digits = value.replace(" ", "")
    return set(value) <= _TELEPHONE_CHARS and digits.startswith("0") and 10 <= len(digits) <= 11


def _mark_managed(db: Session, partnership_id: int) -> None:
    partnership = db.get(Partnership, partnership_id)
    if partnership is not None and partnership.directory_managed_at is None:
        partnership.directory_managed_at = utcnow()


def _record(
    db: Session,
    services: PortalServices,
    actor: User | Keeper,
    action: str,
    object_type: str,
    object_id: str,
    addr: str,
) -> None:
    audit.record(
        db,
        services.keyring.audit_key,
        action=action,
        outcome="ok",
        actor_id=actor.id if isinstance(actor, User) else actor.actor_id,
        object_type=object_type,
        object_id=object_id,
        remote_addr=addr,
    )


def add_contact(
    db: Session, services: PortalServices, actor: User, details: ContactDetails, *, remote_addr: str = ""
) -> DirectoryContact:
    """Add a contact to an agency of the partnership; audited; commits."""
    require_keeper(actor)
    agency = _check_details(db, actor, details)
    clash = db.execute(
        select(DirectoryContact).where(
            DirectoryContact.agency_id == agency.id,
            DirectoryContact.role_title == details.role_title,
            DirectoryContact.active.is_(True),
        )
    ).first()
    if clash is not None:
        raise RuleBrokenError("role_title", "This agency already has an active contact with this role: edit that one")
    contact = DirectoryContact(
        agency_id=agency.id,
        role_title=details.role_title,
        email=details.email or None,
        telephone=details.telephone or None,
        position=len(agency.contacts),
        active=True,
        from_seed=False,
        review_by=details.review_by,
        source=f"{ENTERED_HERE} by {actor.name}"[:300],
    )
    db.add(contact)
    db.flush()
    _mark_managed(db, actor.partnership_id)
    _record(db, services, actor, "directory.contact_added", "directory_contact", str(contact.id), remote_addr)
    db.commit()
    return contact


def edit_contact(
    db: Session,
    services: PortalServices,
    actor: User,
    contact_id: int,
    details: ContactDetails,
    *,
    remote_addr: str = "",
) -> bool:
    """Change a contact's agency, role, address, telephone or review date; audited; commits; False if unchanged.

    Notices already sent keep the address they were sent to.
    """
    contact = get_contact(db, actor, contact_id)
    agency = _check_details(db, actor, details)
    values = {
        "agency_id": agency.id,
        "role_title": details.role_title,
        "email": details.email or None,
        "telephone": details.telephone or None,
        "review_by": details.review_by,
    }
    changed = False
    for name, value in values.items():
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed = True
    if not changed:
        return False
    _mark_managed(db, actor.partnership_id)
    _record(db, services, actor, "directory.contact_changed", "directory_contact", str(contact.id), remote_addr)
    db.commit()
    return True


def mark_reviewed(
    db: Session, services: PortalServices, actor: User, contact_id: int, today: date, *, remote_addr: str = ""
) -> date:
    """Record that someone checked the entry is still right: its next review is a year from today. Audited;
    commits; returns the new review-by date."""
    contact = get_contact(db, actor, contact_id)
    contact.review_by = today + REVIEW_INTERVAL
    _mark_managed(db, actor.partnership_id)
    _record(db, services, actor, "directory.contact_reviewed", "directory_contact", str(contact.id), remote_addr)
    db.commit()
    return contact.review_by


def set_contact_active(
    db: Session, services: PortalServices, actor: User, contact_id: int, active: bool, *, remote_addr: str = ""
) -> bool:
    """Deactivate (or reactivate) a contact: new notices can no longer (or can again) be sent to it. Notices
    already routed keep it as a recipient. Audited; commits; False if it was so already."""
    contact = get_contact(db, actor, contact_id)
    if contact.active is active:
        return False
    if active and not contact.email:
        raise RuleBrokenError("email", "Add the contact's email address before you reactivate it")
    contact.active = active
    _mark_managed(db, actor.partnership_id)
    action = "directory.contact_reactivated" if active else "directory.contact_deactivated"
    _record(db, services, actor, action, "directory_contact", str(contact.id), remote_addr)
    db.commit()
    return True


# -- CSV export and import --------------------------------------------------------------------------------


def export_csv(
    db: Session, services: PortalServices, actor: User | Keeper, today: date, *, remote_addr: str = ""
) -> tuple[str, bytes]:
    """The partnership's active directory in the seed CSV format (portal.partnerships.directory_data); audited.

    The portal keeps a contact's whole role title (tier, name and post together), so it is exported in the
    role column with tier and name empty: importing the file back changes nothing.
    """
    keeper = as_keeper(actor)
    partnership = db.get(Partnership, keeper.partnership_id)
    assert partnership is not None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for view in overview(db, keeper, today):
        agency = view.agency
        active = [c.contact for c in view.contacts if c.contact.active]
        if not active:
            review = agency.review_due
            writer.writerow(
                [
                    agency.name,
                    agency.sender_note,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    _iso(review),
                    _flag(review, today),
                    ENTERED_HERE,
                ]
            )
        for contact in active:
            writer.writerow(
                [
                    agency.name,
                    agency.sender_note,
                    "",
                    contact.role_title,
                    "",
                    contact.email or "",
                    contact.telephone or "",
                    "",
                    _iso(contact.review_by),
                    _flag(contact.review_by, today),
                    contact.source or ENTERED_HERE,
                ]
            )
    _record(db, services, keeper, "directory.exported", "partnership", partnership.slug, remote_addr)
    db.commit()
    return f"directory-{partnership.slug}-{today.isoformat()}.csv", out.getvalue().encode("utf-8")


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def _flag(review: date | None, today: date) -> str:
    return "true" if review is not None and review < today else "false"


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass(frozen=True)
class ImportedContact:
    line: int
    agency: str
    role_title: str
    email: str | None
    telephone: str | None
    review_by: date | None
    source: str


@dataclass(frozen=True)
class Change:
    """One line of the preview: what happens to which contact (or agency), and why."""

    kind: str  # "added", "changed", "deactivated"
    agency: str
    contact: str
    detail: str = ""
    line: int | None = None


@dataclass
class ImportPlan:
    """What importing a file would do, and every row's errors. Nothing is applied while ``errors`` has any."""

    errors: list[RowError] = field(default_factory=list)
    added: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    deactivated: list[Change] = field(default_factory=list)
    unchanged: int = 0
    rows: list[ImportedContact] = field(default_factory=list)
    agencies: list[tuple[str, str, bool, date | None]] = field(default_factory=list)  # name, note, new, review

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.deactivated)

    def digest(self) -> str:
        """A fingerprint of the changes, so what is applied is what was previewed."""
        body = json.dumps(
            [[c.kind, c.agency, c.contact, c.detail] for c in (*self.added, *self.changed, *self.deactivated)]
        )
        return hashlib.sha256(body.encode()).hexdigest()


def _decode(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return text


def parse_import(text: str) -> tuple[list[ImportedContact], list[tuple[str, str, int, date | None]], list[RowError]]:
    """Read every row of a directory CSV, collecting every row's errors rather than stopping at the first.

    Returns the contacts, the agencies in file order (name, sender note, first line, review date of an agency
    row without contacts), and the errors by line.
    """
    errors: list[RowError] = []
    contacts: list[ImportedContact] = []
    agencies: list[tuple[str, str, int, date | None]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as problem:
        return [], [], [RowError(1, f"The file is not a readable CSV ({problem})")]
    if not header:
        return [], [], [RowError(1, "The file is empty: the first line must name the columns")]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        message = "The first line must name the columns " + ", ".join(COLUMNS)
        if missing:
            message += f" (missing: {', '.join(missing)})"
        if unknown:
            message += f" (not known: {', '.join(unknown[:5])})"
        return [], [], [RowError(1, message)]
    seen_agencies: dict[str, int] = {}
    notes: dict[str, str] = {}
    contact_rows: dict[str, int] = {}
    empty_rows: dict[str, int] = {}
    seen_keys: dict[tuple[str, str, str | None], int] = {}
    last_name = ""
    line = reader.line_num + 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(contacts) + len(agencies) > MAX_IMPORT_ROWS:
                errors.append(RowError(start, f"The file has more than {MAX_IMPORT_ROWS} rows"))
                break
            if len(cells) != len(header):
                errors.append(
                    RowError(start, f"The row has {len(cells)} fields but the first line names {len(header)}")
                )
                continue
            row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
            problems: list[str] = []
            # A cell a spreadsheet would run as a formula has no place in a directory (CSV injection).
            formulas = [c for c in COLUMNS if row[c][:1] in ("=", "@", "+")]
            if formulas:
                problems.append(f"{', '.join(formulas)} must not start with =, + or @")
            name = row["agency"]
            if not name:
                problems.append("Enter the agency")
            elif len(name) > 200:
                problems.append("The agency must be 200 characters or fewer")
            if not row["source"]:
                problems.append("Enter the source: the document the row comes from")
            review_by = None
            if row["review_by"]:
                try:
                    review_by = date.fromisoformat(row["review_by"]) if len(row["review_by"]) == 10 else None
                except ValueError:
                    review_by = None
                if review_by is None:
                    problems.append(f"review_by {row['review_by']!r} is not a date like 2027-03-31")
            if row["needs_review"].casefold() not in _BOOLEANS:
                problems.append("needs_review must be true or false")
            if name and name in seen_agencies and last_name != name:
                problems.append(
                    f"The rows of agency {name!r} must be together (it first appears on line {seen_agencies[name]})"
                )
            if name and name in notes and notes[name] != row["sender_note"]:
                problems.append(f"sender_note differs from line {seen_agencies[name]} for the same agency")
            has_contact = any(row[c] for c in _CONTACT_COLUMNS)
            contact = None
            if has_contact:
                tier, role, person, email, telephone = (row[c] for c in ("tier", "role", "name", "email", "telephone"))
                title = role_title(tier, role, person)
                if not (tier or role):
                    problems.append("Enter a tier or a role")
                elif len(title) > 300:
                    problems.append("The role must be 300 characters or fewer")
                if not (email or telephone):
                    problems.append("Enter an email address or a telephone number")
                if email and (len(email) > 254 or not EMAIL_RE.fullmatch(email)):
                    problems.append(f"Email address {email!r} is not in the correct format, like name@example.com")
                if telephone and not _is_telephone(telephone):
                    problems.append(f"Telephone {telephone!r} is not a UK number (10 or 11 digits, starting 0)")
                if len(row["source"]) > 300:
                    problems.append("The source must be 300 characters or fewer")
                key = (name, title, email.casefold() if email else None)
                if key in seen_keys:
                    problems.append(f"The same contact is on line {seen_keys[key]}")
                if name in empty_rows:
                    problems.append(f"Agency {name!r} has a row without a contact on line {empty_rows[name]}")
                contact = ImportedContact(
                    start, name, title, email or None, telephone or None, review_by, row["source"]
                )
                seen_keys.setdefault(key, start)
            elif name in contact_rows or name in empty_rows:
                problems.append("A row without a contact must be its agency's only row")
            errors += [RowError(start, p) for p in problems]
            last_name = name
            if problems or not name:
                continue
            if name not in seen_agencies:
                seen_agencies[name] = start
                notes[name] = row["sender_note"]
                agencies.append((name, row["sender_note"], start, None if has_contact else review_by))
            if contact is not None:
                contact_rows.setdefault(name, start)
                contacts.append(contact)
            else:
                empty_rows[name] = start
    except csv.Error as problem:
        errors.append(RowError(line, f"The file is not a readable CSV from here ({problem})"))
    if not agencies and not errors:
        errors.append(RowError(2, "The file has no rows below the first line"))
    return contacts, agencies, errors


def plan_import(db: Session, actor: User | Keeper, data: bytes, today: date) -> ImportPlan:
    """What importing ``data`` (a directory CSV) would add, change and deactivate, and every row's errors."""
    keeper = as_keeper(actor)
    plan = ImportPlan()
    if len(data) > MAX_IMPORT_BYTES:
        plan.errors.append(RowError(1, f"The file must be smaller than {MAX_IMPORT_BYTES // 1024} KB"))
        return plan
    text = _decode(data)
    if text is None:
        plan.errors.append(RowError(1, "The file must be a CSV saved as UTF-8"))
        return plan
    contacts, agencies, errors = parse_import(text)
    plan.errors = errors
    plan.rows = contacts
    existing_agencies = {
        a.name: a
        for a in db.execute(
            select(Agency).where(Agency.partnership_id == keeper.partnership_id).options(selectinload(Agency.contacts))
        ).scalars()
    }
    for name, note, _line, review in agencies:
        agency = existing_agencies.get(name)
        plan.agencies.append((name, note, agency is None, review))
        if agency is None:
            plan.added.append(Change("added", name, "(new agency)"))
        elif agency.sender_note != note:
            plan.changed.append(Change("changed", name, "(agency)", "sender note"))
    existing: dict[tuple[str, str, str | None], DirectoryContact] = {}
    for agency in existing_agencies.values():
        for known in sorted(agency.contacts, key=lambda c: (not c.active, c.id)):
            existing.setdefault(_key(agency.name, known.role_title, known.email), known)
    matched: set[int] = set()
    for row in contacts:
        contact = existing.get(_key(row.agency, row.role_title, row.email))
        if contact is None:
            plan.added.append(Change("added", row.agency, row.role_title, row.email or row.telephone or "", row.line))
            continue
        matched.add(contact.id)
        differences = []
        if not contact.active:
            differences.append("reactivated")
        if (contact.telephone or None) != row.telephone:
            differences.append("telephone")
        if (contact.email or None) != row.email:
            differences.append("email address case")
        if row.review_by is not None and contact.review_by != row.review_by:
            differences.append("review date")
        if row.source != contact.source and not (row.source == ENTERED_HERE and not contact.source):
            differences.append("source")
        if differences:
            plan.changed.append(Change("changed", row.agency, row.role_title, ", ".join(differences), row.line))
        else:
            plan.unchanged += 1
    for agency in existing_agencies.values():
        for contact in agency.contacts:
            if contact.active and contact.id not in matched:
                plan.deactivated.append(Change("deactivated", agency.name, contact.role_title, contact.email or ""))
    return plan


def _key(agency: str, title: str, email: str | None) -> tuple[str, str, str | None]:
    return agency, title, email.casefold() if email else None


class ImportChangedError(RuleBrokenError):
    """The directory changed between the preview and the apply: the new preview must be looked at."""


def apply_import(
    db: Session,
    services: PortalServices,
    actor: User | Keeper,
    data: bytes,
    previewed_digest: str,
    today: date,
    *,
    remote_addr: str = "",
) -> ImportPlan:
    """Apply an import exactly as previewed: refused while any row is in error, or if the plan has changed
    since the preview (someone else changed the directory). Each contact's change is audited, and the
    import as a whole. Commits."""
    keeper = as_keeper(actor)
    plan = plan_import(db, keeper, data, today)
    if not plan.ok:
        raise RuleBrokenError("file", "The file has errors: correct them and upload it again")
    if plan.digest() != previewed_digest:
        raise ImportChangedError("file", "The directory changed since your preview: check the new preview")
    partnership = db.get(Partnership, keeper.partnership_id)
    assert partnership is not None
    agencies = {
        a.name: a
        for a in db.execute(
            select(Agency).where(Agency.partnership_id == keeper.partnership_id).options(selectinload(Agency.contacts))
        ).scalars()
    }
    next_position = max((a.position for a in agencies.values()), default=-1) + 1
    for position, (name, note, _new, review) in enumerate(plan.agencies):
        agency = agencies.get(name)
        if agency is None:
            agency = Agency(
                partnership_id=keeper.partnership_id,
                name=name,
                sender_note=note,
                position=next_position + position,
                review_due=review or today + REVIEW_INTERVAL,
            )
            db.add(agency)
            db.flush()
            agencies[name] = agency
        else:
            agency.sender_note = note
            if review is not None:
                agency.review_due = review
    existing: dict[tuple[str, str, str | None], DirectoryContact] = {}
    for agency in agencies.values():
        for known in sorted(agency.contacts, key=lambda c: (not c.active, c.id)):
            existing.setdefault(_key(agency.name, known.role_title, known.email), known)
    matched: set[int] = set()
    positions: dict[str, int] = {}
    for row in plan.rows:
        agency = agencies[row.agency]
        position = positions.get(row.agency, 0)
        positions[row.agency] = position + 1
        contact = existing.get(_key(row.agency, row.role_title, row.email))
        if contact is None:
            contact = DirectoryContact(
                agency_id=agency.id,
                role_title=row.role_title,
                email=row.email,
                telephone=row.telephone,
                position=position,
                active=True,
                from_seed=False,
                review_by=row.review_by or today + REVIEW_INTERVAL,
                source=row.source[:300],
            )
            db.add(contact)
            db.flush()
            _record(db, services, keeper, "directory.contact_added", "directory_contact", str(contact.id), remote_addr)
        else:
            values: dict[str, Any] = {
                "active": True,
                "email": row.email,
                "telephone": row.telephone,
                "position": position,
                "source": contact.source if row.source == ENTERED_HERE and not contact.source else row.source[:300],
            }
            if row.review_by is not None:
                values["review_by"] = row.review_by
            changed = any(getattr(contact, k) != v for k, v in values.items() if k != "position")
            for name, value in values.items():
                setattr(contact, name, value)
            if changed:
                action = "directory.contact_changed"
                _record(db, services, keeper, action, "directory_contact", str(contact.id), remote_addr)
        matched.add(contact.id)
    for agency in agencies.values():
        for contact in agency.contacts:
            if contact.active and contact.id not in matched:
                contact.active = False
                _record(
                    db,
                    services,
                    keeper,
                    "directory.contact_deactivated",
                    "directory_contact",
                    str(contact.id),
                    remote_addr,
                )
    _mark_managed(db, keeper.partnership_id)
    _record(db, services, keeper, "directory.imported", "partnership", partnership.slug, remote_addr)
    db.commit()
    return plan
