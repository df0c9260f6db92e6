"""A partnership's administrators at work in the browser: users, the audit trail and the state of the keys.

Every function takes the session and the signed-in administrator and works only inside the administrator's
partnership: a user of another partnership is answered as one that does not exist (UserNotFoundError). None
of these reads a notice's content; the audit trail holds identifiers and actions, never a child's details.
Each change is one transaction, audited (who: the administrator; what: the action; when: the entry's time;
which: the user's id).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.selectable import ScalarSelect

from portal.domain.counting import Count
from portal.domain.dates import LONDON
from portal.domain.models import Agency, AuditEvent, DataKey, Invitation, Notice, Partnership, Role, User, utcnow
from portal.infrastructure.db import count_to
from portal.infrastructure.mail import queue_mail
from portal.partnerships.directory_data import EMAIL_RE
from portal.services import accounts, audit, invitations, keys, recovery
from portal.services.errors import NotPermittedError, RuleBrokenError, UserNotFoundError
from portal.services.runtime import PortalServices

PAGE_SIZE = 50
T = TypeVar("T")
# The audit actions that mean "signed in": the second step, or the first code from a new authenticator.
SIGN_IN_ACTIONS = ("sign_in.code", "sign_in.enrol")

# The "last signed in" filter: value -> label.
SIGNED_IN_CHOICES = (
    ("", "Any time"),
    ("7", "In the last 7 days"),
    ("30", "In the last 30 days"),
    ("not-90", "Not in the last 90 days"),
    ("never", "Never"),
)


def require_admin(actor: User) -> None:
    """Only an active administrator uses these functions (the route's rule has said so already)."""
    if not actor.is_active or actor.role_enum is not Role.ADMIN:
        raise NotPermittedError("only an administrator may do this")


def _latest(action: str) -> ScalarSelect[datetime]:
    # Newest first, one row: a backward walk of ix_audit_event_actor_action_at that stops at the first match,
    # not an aggregate over every sign-in the user ever made.
    return (
        select(AuditEvent.at)
        .where(AuditEvent.actor_id == User.id, AuditEvent.action == action, AuditEvent.outcome == "ok")
        .order_by(AuditEvent.at.desc())
        .limit(1)
        .correlate(User)
        .scalar_subquery()
    )


def _last_sign_in() -> ColumnElement[datetime | None]:
    """When the user last signed in: the later of their last code and their last authenticator set-up."""
    code, enrol = (_latest(action) for action in SIGN_IN_ACTIONS)
    # Written out rather than GREATEST, which SQLite lacks and whose NULL handling differs between databases.
    return case(
        (code.is_(None), enrol),
        (enrol.is_(None), code),
        (code > enrol, code),
        else_=enrol,
    )


@dataclass(frozen=True)
class UserFilters:
    """What the users list is narrowed by (all optional) and which page of it is shown."""

    search: str = ""
    role: str = ""
    agency_id: int | None = None
    active: str = ""  # "yes", "no" or "" (either)
    two_factor: str = ""  # "yes" (set up), "no" (not set up) or ""
    signed_in: str = ""  # one of SIGNED_IN_CHOICES
    page: int = 1

    @property
    def any(self) -> bool:
        return bool(self.search or self.role or self.agency_id or self.active or self.two_factor or self.signed_in)


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    email: str
    role: Role
    agency: str
    active: bool
    two_factor: bool
    last_sign_in: datetime | None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows, how many there are in all, and which page this is."""

    rows: list[T]
    total: int
    page: int
    page_size: int = PAGE_SIZE
    # True when there are more than ``total`` (an audit count stops at COUNT_CAP: narrow the filters).
    more: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.page_size + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.page_size)


# An audit list counts at most this many entries: past it the page says "more than" and offers no later pages.
COUNT_CAP = 10_000


def _capped_count(db: Session, condition: ColumnElement[bool] | list[ColumnElement[bool]]) -> tuple[int, bool]:
    """So a long trail never makes the page count every entry (narrow it by date, user or action instead)."""
    conditions = condition if isinstance(condition, list) else [condition]
    rows = select(AuditEvent.seq).where(*conditions)
    found = Count.of(db.execute(select(count_to(rows, COUNT_CAP))).scalar_one(), COUNT_CAP)
    return found.value, found.more


def _page_number(page: int, total: int) -> int:
    return min(max(1, page), max(1, math.ceil(total / PAGE_SIZE)))


def _like(term: str) -> str:
    return term.strip().lower()


def list_users(db: Session, actor: User, filters: UserFilters, *, now: datetime | None = None) -> Page[UserRow]:
    """The administrator's partnership's users, narrowed by the filters, PAGE_SIZE a page, by name."""
    require_admin(actor)
    return _users(db, actor.partnership_id, filters, now=now or utcnow(), page_size=PAGE_SIZE)


def all_users(db: Session, partnership_slug: str | None, filters: UserFilters) -> list[UserRow]:
    """Every user matching the filters, of one partnership or of all: for the command-line operator."""
    partnership_id = None
    if partnership_slug is not None:
        partnership_id = db.execute(select(Partnership.id).where(Partnership.slug == partnership_slug)).scalar()
        if partnership_id is None:
            raise RuleBrokenError("partnership", f"no partnership {partnership_slug!r}")
    return _users(db, partnership_id, filters, now=utcnow(), page_size=None).rows


def _users(
    db: Session, partnership_id: int | None, filters: UserFilters, *, now: datetime, page_size: int | None
) -> Page[UserRow]:
    last = _last_sign_in().label("last_sign_in")
    conditions: list[ColumnElement[bool]] = []
    if partnership_id is not None:
        conditions.append(User.partnership_id == partnership_id)
    if filters.search.strip():
        term = _like(filters.search)
        conditions.append(
            or_(
                func.lower(User.name).contains(term, autoescape=True),
                func.lower(User.email).contains(term, autoescape=True),
            )
        )
    if filters.role:
        conditions.append(User.role == filters.role)
    if filters.agency_id:
        conditions.append(User.agency_id == filters.agency_id)
    if filters.active in ("yes", "no"):
        conditions.append(User.is_active.is_(filters.active == "yes"))
    if filters.two_factor == "yes":
        conditions.append(User.totp_confirmed_at.is_not(None))
    elif filters.two_factor == "no":
        conditions.append(User.totp_confirmed_at.is_(None))
    inner = _last_sign_in()
    if filters.signed_in in ("7", "30"):
        conditions.append(inner >= now - timedelta(days=int(filters.signed_in)))
    elif filters.signed_in == "not-90":
        conditions.append(or_(inner.is_(None), inner < now - timedelta(days=90)))
    elif filters.signed_in == "never":
        conditions.append(inner.is_(None))

    query = (
        select(User, last)
        .where(*conditions)
        .options(selectinload(User.agency))
        .order_by(func.lower(User.name), User.id)
    )
    if page_size is None:
        total, page = 0, 1
    else:
        total = db.execute(select(func.count()).select_from(User).where(*conditions)).scalar_one()
        page = _page_number(filters.page, total)
        query = query.limit(page_size).offset((page - 1) * page_size)
    rows = [
        UserRow(
            id=user.id,
            name=user.name,
            email=user.email,
            role=user.role_enum,
            agency=user.agency.name if user.agency else "",
            active=user.is_active,
            two_factor=user.totp_confirmed_at is not None,
            last_sign_in=last_at,
        )
        for user, last_at in db.execute(query).all()
    ]
    return Page(rows, total if page_size is not None else len(rows), page)


def get_user(db: Session, actor: User, user_id: int) -> User:
    """A user of the administrator's partnership; UserNotFoundError for any other id."""
    require_admin(actor)
    user = db.get(User, user_id)
    if user is None or user.partnership_id != actor.partnership_id:
        raise UserNotFoundError("no such user in this partnership")
    return user


def last_sign_in(db: Session, user: User) -> datetime | None:
    return db.execute(select(_last_sign_in()).where(User.id == user.id)).scalar_one()


# -- the audit trail, as pages show it ----------------------------------------------------------------

# What each action means, in words (an action not listed is shown as it is stored).
ACTION_LABELS = {
    "sign_in.password": "Password entered",
    "sign_in.code": "Security code entered",
    "sign_in.enrol": "Authenticator app set up",
    "sign_out": "Signed out",
    "account.change_password": "Tried to change password",
    "account.password_changed": "Changed password",
    "admin.totp_reset": "Two-factor authentication reset",
    "admin.user_disabled": "Account deactivated",
    "admin.user_reactivated": "Account reactivated",
    "admin.user_role_changed": "Role changed",
    "admin.user_agency_changed": "Agency changed",
    "admin.password_reset_sent": "Password reset link sent",
    "invitation.issued": "Invitation sent",
    "invitation.revoked": "Invitation revoked",
    "account.reset_requested": "Password reset asked for",
    "directory.contact_added": "Directory contact added",
    "directory.contact_changed": "Directory contact changed",
    "directory.contact_deactivated": "Directory contact deactivated",
    "directory.contact_reactivated": "Directory contact reactivated",
    "directory.contact_reviewed": "Directory contact reviewed",
    "directory.imported": "Directory imported",
    "directory.exported": "Directory exported",
    "audit.exported": "Audit trail exported",
    "route.denied": "Page refused",
    "notice.read": "Notice read",
    "notice.download": "Notice PDF downloaded",
    "notice.submit": "Notice sent",
    "notice.export": "Register exported",
    "notice.search": "Searched for a child's notices",
    "notice.chase": "Notice chased",
    "draft.read": "Draft read",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: datetime
    actor: str
    actor_id: int | None
    action: str
    label: str
    object_type: str
    object_id: str
    # A notice's reference in place of its id, a user's name in place of theirs: never a notice's content.
    object_label: str
    outcome: str
    remote_addr: str


@dataclass(frozen=True)
class AuditFilters:
    user_id: int | None = None
    reference: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    @property
    def any(self) -> bool:
        return bool(self.user_id or self.reference or self.action or self.date_from or self.date_to)


def _partnership_users(db: Session, partnership_id: int) -> dict[int, str]:
    return {
        uid: name
        for uid, name in db.execute(select(User.id, User.name).where(User.partnership_id == partnership_id)).all()
    }


def _in_partnership(partnership_id: int) -> ColumnElement[bool]:
    """Entries about the partnership: by one of its users, about one of its users or notices."""
    users = select(User.id).where(User.partnership_id == partnership_id)
    notices = select(Notice.id).where(Notice.partnership_id == partnership_id)
    return or_(
        AuditEvent.actor_id.in_(users),
        and_(
            AuditEvent.object_type == "staff_user",
            AuditEvent.object_id.in_(select(cast(User.id, String)).where(User.partnership_id == partnership_id)),
        ),
        and_(AuditEvent.object_type == "notice", AuditEvent.object_id.in_(notices)),
    )


def _audit_rows(db: Session, events: Iterable[AuditEvent], partnership_id: int) -> list[AuditRow]:
    events = list(events)
    names = _partnership_users(db, partnership_id)
    notice_ids = {e.object_id for e in events if e.object_type == "notice"}
    references = (
        dict(db.execute(select(Notice.id, Notice.reference).where(Notice.id.in_(notice_ids))).all())
        if notice_ids
        else {}
    )
    rows = []
    for event in events:
        if event.object_type == "notice":
            label = references.get(event.object_id, "")
        elif event.object_type == "staff_user" and event.object_id.isdigit():
            label = names.get(int(event.object_id), "")
        else:
            label = ""
        rows.append(
            AuditRow(
                seq=event.seq,
                at=event.at,
                actor=names.get(event.actor_id, "") if event.actor_id else "",
                actor_id=event.actor_id,
                action=event.action,
                label=action_label(event.action),
                object_type=event.object_type,
                object_id=event.object_id,
                object_label=label,
                outcome=event.outcome,
                remote_addr=event.remote_addr,
            )
        )
    return rows


def user_history(db: Session, actor: User, user: User, *, page: int = 1) -> Page[AuditRow]:
    """What the user did, and what was done to their account, newest first."""
    require_admin(actor)
    if user.partnership_id != actor.partnership_id:
        raise UserNotFoundError("no such user in this partnership")
    condition = or_(
        AuditEvent.actor_id == user.id,
        and_(AuditEvent.object_type == "staff_user", AuditEvent.object_id == str(user.id)),
    )
    total, more = _capped_count(db, condition)
    page = _page_number(page, total)
    events = db.execute(
        select(AuditEvent)
        .where(condition)
        .order_by(AuditEvent.seq.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).scalars()
    return Page(_audit_rows(db, events, actor.partnership_id), total, page, more=more)


# -- changes to a user ------------------------------------------------------------------------------------


def _record(db: Session, services: PortalServices, actor: User, action: str, user: User, remote_addr: str) -> None:
    audit.record(
        db,
        services.keyring.audit_key,
        action=action,
        outcome="ok",
        actor_id=actor.id,
        object_type="staff_user",
        object_id=str(user.id),
        remote_addr=remote_addr,
    )


def agency_of(db: Session, actor: User, agency_id: int | None) -> Agency | None:
    """An agency of the administrator's partnership (None for none); RuleBrokenError for any other id."""
    if agency_id is None:
        return None
    agency = db.get(Agency, agency_id)
    if agency is None or agency.partnership_id != actor.partnership_id:
        raise RuleBrokenError("agency", "Choose an agency from the list")
    return agency


def change_role(
    db: Session,
    services: PortalServices,
    actor: User,
    user_id: int,
    *,
    role: str,
    agency_id: int | None,
    remote_addr: str = "",
) -> list[str]:
    """Set a user's role and agency; audit each that changed; commit; return the actions recorded.

    Practitioners and SPOCs belong to an agency (their notices are routed by it); business managers and
    administrators may have one or none. An administrator cannot change their own role, so a partnership
    never loses its last administrator by a slip.
    """
    user = get_user(db, actor, user_id)
    try:
        new_role = Role(role)
    except ValueError:
        raise RuleBrokenError("role", "Select a role") from None
    if user.id == actor.id and new_role is not Role.ADMIN:
        raise RuleBrokenError("role", "You cannot change your own role: ask another administrator")
    agency = agency_of(db, actor, agency_id)
    if new_role in (Role.PRACTITIONER, Role.SPOC) and agency is None:
        raise RuleBrokenError("agency", f"Select the agency this {new_role.label.split(' (')[0].lower()} works for")
    done = []
    if user.role != new_role.value:
        user.role = new_role.value
        _record(db, services, actor, "admin.user_role_changed", user, remote_addr)
        done.append("admin.user_role_changed")
    new_agency_id = agency.id if agency else None
    if user.agency_id != new_agency_id:
        user.agency_id = new_agency_id
        _record(db, services, actor, "admin.user_agency_changed", user, remote_addr)
        done.append("admin.user_agency_changed")
    db.commit()
    return done


def deactivate_user(db: Session, services: PortalServices, actor: User, user_id: int, *, remote_addr: str = "") -> int:
    """Deactivate a user of the partnership and end every session they have; return how many. Commits."""
    user = get_user(db, actor, user_id)
    if user.id == actor.id:
        raise RuleBrokenError("user", "You cannot deactivate your own account: ask another administrator")
    return accounts.disable_user(db, services, actor.id, user, remote_addr=remote_addr)


def reactivate_user(db: Session, services: PortalServices, actor: User, user_id: int, *, remote_addr: str = "") -> bool:
    """Let a deactivated user sign in again (with the password and authenticator they had); commit.

    Returns False, recording nothing, if the account was active already.
    """
    user = get_user(db, actor, user_id)
    return accounts.reactivate_user(db, services, actor.id, user, remote_addr=remote_addr)


def send_password_reset(
    db: Session, services: PortalServices, actor: User, user_id: int, *, remote_addr: str = ""
) -> None:
    """E-mail the user a single-use link to choose a new password (portal.services.recovery: the same link,
    expiry and throttle as when they ask for it themselves; their authenticator is still asked for). Audited
    with the administrator as actor. Commits."""
    user = get_user(db, actor, user_id)
    if not user.is_active:
        raise RuleBrokenError("user", "Reactivate the account before you send a password reset")
    _record(db, services, actor, "admin.password_reset_sent", user, remote_addr)
    recovery.request_password_reset(db, services, user.email, remote_addr=remote_addr)


def pending_invitations(db: Session, actor: User) -> list[Invitation]:
    """The partnership's invitations not yet accepted, revoked or expired, newest first."""
    require_admin(actor)
    return invitations.pending(db, actor.partnership_id)


def invite(
    db: Session,
    services: PortalServices,
    *,
    partnership_slug: str,
    agency_name: str,
    email: str,
    invited_by_id: int | None = None,
    remote_addr: str = "",
) -> invitations.Issued:
    """Invite someone to set up an account as a SPOC of an agency (as a notice's e-mail would): the invitation
    is bound to the address, partnership and agency and e-mailed now. invited_by_id None: the CLI operator.
    Audited (invitation.issued); commits."""
    if not EMAIL_RE.fullmatch(email.strip()):
        raise RuleBrokenError("email", "Enter an email address in the correct format, like name@example.com")
    if accounts.find_user_by_email(db, email) is not None:
        raise RuleBrokenError("email", "An account already exists at this address")
    agency = db.execute(
        select(Agency)
        .join(Partnership)
        .where(Partnership.slug == partnership_slug, func.lower(Agency.name) == agency_name.strip().lower())
    ).scalar_one_or_none()
    if agency is None:
        raise RuleBrokenError("agency", f"no agency {agency_name!r} in partnership {partnership_slug!r}")
    issued = invitations.issue(
        db,
        services,
        email=email,
        partnership_id=agency.partnership_id,
        agency_id=agency.id,
        invited_by_id=invited_by_id,
        remote_addr=remote_addr,
    )
    queue_mail(
        db,
        to=issued.invitation.email,
        subject=invitations.INVITATION_SUBJECT,
        body=invitations.invitation_body(issued, services),
    )
    db.commit()
    return issued


def reset_two_factor(db: Session, services: PortalServices, actor: User, user_id: int, *, remote_addr: str = "") -> int:
    """Clear a user's authenticator: they set up a new one at their next sign-in; their sessions end. Commits."""
    user = get_user(db, actor, user_id)
    return accounts.reset_totp(db, services, actor.id, user, remote_addr=remote_addr)


# -- the audit trail page -----------------------------------------------------------------------------------

# The most entries one export holds: a bigger period is exported in parts (by date).
EXPORT_LIMIT = 100_000


def _audit_conditions(db: Session, actor: User, filters: AuditFilters) -> list[ColumnElement[bool]] | None:
    """The filters as SQL, inside the partnership; None when they cannot match anything (an unknown reference)."""
    conditions: list[ColumnElement[bool]] = [_in_partnership(actor.partnership_id)]
    if filters.user_id:
        conditions.append(
            or_(
                AuditEvent.actor_id == filters.user_id,
                and_(AuditEvent.object_type == "staff_user", AuditEvent.object_id == str(filters.user_id)),
            )
        )
    if filters.reference.strip():
        notice_id = db.execute(
            select(Notice.id).where(
                Notice.partnership_id == actor.partnership_id,
                func.upper(Notice.reference) == filters.reference.strip().upper(),
            )
        ).scalar_one_or_none()
        if notice_id is None:
            return None
        conditions.append(and_(AuditEvent.object_type == "notice", AuditEvent.object_id == notice_id))
    if filters.action:
        conditions.append(AuditEvent.action == filters.action)
    if filters.date_from:
        conditions.append(AuditEvent.at >= _start_of(filters.date_from))
    if filters.date_to:
        conditions.append(AuditEvent.at < _start_of(filters.date_to + timedelta(days=1)))
    return conditions


def _start_of(day: date) -> datetime:
    """Midnight at the start of a day in England, as an aware datetime (the log stores UTC)."""
    return datetime.combine(day, time(0), tzinfo=LONDON)


def audit_entries(db: Session, actor: User, filters: AuditFilters) -> Page[AuditRow]:
    """The partnership's audit entries matching the filters, newest first, PAGE_SIZE a page."""
    require_admin(actor)
    conditions = _audit_conditions(db, actor, filters)
    if conditions is None:
        return Page([], 0, 1)
    total, more = _capped_count(db, conditions)
    page = _page_number(filters.page, total)
    events = db.execute(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.seq.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).scalars()
    return Page(_audit_rows(db, events, actor.partnership_id), total, page, more=more)


def audit_actions(db: Session) -> list[tuple[str, str]]:
    """Every action the log holds, for the filter: (action, label), by label."""
    found = set(db.execute(select(AuditEvent.action).distinct()).scalars()) | set(ACTION_LABELS)
    return sorted(((a, action_label(a)) for a in found), key=lambda pair: pair[1].lower())


def audit_users(db: Session, actor: User) -> list[tuple[str, str]]:
    require_admin(actor)
    return [
        (str(uid), f"{name} ({email})")
        for uid, name, email in db.execute(
            select(User.id, User.name, User.email)
            .where(User.partnership_id == actor.partnership_id)
            .order_by(func.lower(User.name), User.id)
        ).all()
    ]


def export_audit(
    db: Session, services: PortalServices, actor: User, filters: AuditFilters, *, remote_addr: str = ""
) -> tuple[str, bytes]:
    """The filtered entries as CSV (at most EXPORT_LIMIT, newest first); the export is itself audited. Commits."""
    require_admin(actor)
    conditions = _audit_conditions(db, actor, filters)
    events: list[AuditEvent] = (
        []
        if conditions is None
        else list(
            db.execute(
                select(AuditEvent).where(*conditions).order_by(AuditEvent.seq.desc()).limit(EXPORT_LIMIT)
            ).scalars()
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "seq",
            "at_utc",
            "actor_id",
            "actor",
            "action",
            "what",
            "object_type",
            "object_id",
            "about",
            "outcome",
            "remote_addr",
            "hash",
        ]
    )
    hashes = {event.seq: event.hash for event in events}
    rows = _audit_rows(db, events, actor.partnership_id)
    for row in rows:
        writer.writerow(
            [
                row.seq,
                row.at.isoformat(timespec="seconds"),
                row.actor_id or "",
                _cell(row.actor),
                row.action,
                row.label,
                row.object_type,
                row.object_id,
                _cell(row.object_label),
                row.outcome,
                row.remote_addr,
                hashes.get(row.seq, ""),
            ]
        )
    audit.record(
        db,
        services.keyring.audit_key,
        action="audit.exported",
        outcome="ok",
        actor_id=actor.id,
        object_type="partnership",
        object_id=str(actor.partnership_id),
        remote_addr=remote_addr,
    )
    db.commit()
    return f"audit-{utcnow():%Y%m%d-%H%M%S}.csv", out.getvalue().encode("utf-8")


def _cell(value: str) -> str:
    """A spreadsheet never runs a name as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def verify_chain(db: Session, services: PortalServices, actor: User, *, remote_addr: str = "") -> audit.ChainCheck:
    """Recompute the whole audit chain now; the check is itself recorded. Commits."""
    require_admin(actor)
    check = audit.verify(db, services.keyring.audit_key)
    audit.record(
        db,
        services.keyring.audit_key,
        action="audit.verified",
        outcome="ok" if check.ok else "failed",
        actor_id=actor.id,
        object_type="audit_event",
        object_id=str(check.first_bad_seq or ""),
        remote_addr=remote_addr,
    )
    db.commit()
    return check


# -- the keys page --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KekStatus:
    kek_id: str
    active: bool
    live_data_keys: int


@dataclass(frozen=True)
class KeyStatus:
    """What the keys page shows: no key material, only ids, counts and dates."""

    active_kek_id: str
    keks: list[KekStatus]
    destroyed_data_keys: int
    awaiting_rewrap: int
    blind_index_version: int
    blind_index_versions: list[int]
    last_rotations: list[tuple[str, datetime]]
    rotation_in_progress: keys.RotationState | None
    development_keys: bool


ROTATION_ACTIONS = {
    "keys.kek_added": "New key-encryption key added",
    "keys.data_keys_rewrapped": "Data keys rewrapped under the active key-encryption key",
    "keys.kek_retired": "Old key-encryption key retired",
    "keys.data_key_rotation_started": "Data-key rotation started",
    "keys.data_key_rotation_finished": "Data-key rotation finished",
    "keys.blind_index_key_added": "New blind-index key added",
    "keys.blind_index_key_retired": "Old blind-index key retired",
}


def key_status(db: Session, services: PortalServices, actor: User, rotation: keys.RotationState | None) -> KeyStatus:
    """The state of the keys, read-only: the active KEK, live data keys per KEK, the last rotation of each kind,
    the blind-index key version. ``rotation`` is a data-key rotation still in progress (read by the caller from
    the key directory)."""
    require_admin(actor)
    keyring = services.keyring
    usage = keys.kek_usage(db)
    kek_ids = sorted(set(keyring.kek_ids) | set(usage))
    active = keyring.active_kek_id
    destroyed = db.execute(select(func.count()).select_from(DataKey).where(DataKey.wrapped.is_(None))).scalar_one()
    latest = db.execute(
        select(AuditEvent.action, func.max(AuditEvent.at))
        .where(AuditEvent.action.in_(ROTATION_ACTIONS), AuditEvent.outcome == "ok")
        .group_by(AuditEvent.action)
    ).all()
    index_version, index_keys = keyring.blind_index_keys()
    return KeyStatus(
        active_kek_id=active,
        keks=[KekStatus(k, k == active, usage.get(k, 0)) for k in kek_ids],
        destroyed_data_keys=destroyed,
        awaiting_rewrap=keys.keys_awaiting_rewrap(db, active),
        blind_index_version=index_version,
        blind_index_versions=sorted(index_keys),
        last_rotations=sorted(((ROTATION_ACTIONS[a], at) for a, at in latest), key=lambda p: p[1], reverse=True),
        rotation_in_progress=rotation,
        development_keys=keyring.development,
    )
