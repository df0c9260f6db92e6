"""The business unit's learning log: each general issue flagged at closure, assigned to a group with an action.

An item opens when a notice closes with general issues for the partnership (portal.services.transitions.close).
The issue's words stay encrypted in the notice's closure and are decrypted only on the item's own page (an
audited read); the list and the reports show references, groups, actions and statuses only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.domain.models import LearningItem, Notice, User, utcnow
from portal.services import audit, record
from portal.services.errors import NotFoundError, RuleBrokenError, ShreddedError
from portal.services.reports import LEARNING_STATUSES
from portal.services.runtime import PortalServices

STATUS_LABELS = dict(LEARNING_STATUSES)
MAX_GROUP = 200
MAX_ACTION = 2000


@dataclass(frozen=True)
class LearningRow:
    id: str
    reference: str
    closed_on: str
    status: str
    assigned_to: str
    action: str


@dataclass(frozen=True)
class LearningView:
    item: LearningItem
    reference: str
    issue: str


def log_for(session: Session, services: PortalServices, user: User) -> tuple[list[LearningRow], dict[str, int]]:
    """Every item of the user's partnership, newest first, and how many stand at each status."""
    rows = session.execute(
        select(LearningItem, Notice.reference, Notice.closed_on)
        .join(Notice, Notice.id == LearningItem.notice_id)
        .where(LearningItem.partnership_id == user.partnership_id, Notice.id.not_in(sorted(services.honeytokens)))
        .order_by(LearningItem.created_at.desc())
    ).all()
    counts = dict(
        session.execute(
            select(LearningItem.status, func.count())
            .where(LearningItem.partnership_id == user.partnership_id)
            .group_by(LearningItem.status)
        ).all()
    )
    listed = [
        LearningRow(
            item.id,
            reference,
            closed_on.isoformat() if closed_on else "",
            STATUS_LABELS.get(item.status, item.status),
            item.assigned_to,
            item.action,
        )
        for item, reference, closed_on in rows
    ]
    return listed, {code: counts.get(code, 0) for code, _ in LEARNING_STATUSES}


def _load(session: Session, services: PortalServices, user: User, item_id: str, remote_addr: str) -> LearningItem:
    item = session.get(LearningItem, item_id) if len(item_id) <= 36 else None
    if item is None:
        raise NotFoundError("no such learning item")
    return item


def read_item(
    session: Session, services: PortalServices, user: User, item_id: str, *, remote_addr: str = ""
) -> LearningView:
    """The item with the issue's words, for the business unit of the notice's partnership; audited."""
    item = _load(session, services, user, item_id, remote_addr)
    # The notice's own rule decides: another partnership's business unit is refused and audited there.
    try:
        notice = record.load_for(session, services, user, item.notice_id, "read", remote_addr=remote_addr)
        issue = record.answers(session, services, notice).get(record.closure_field("learning"), "")
        reference = notice.reference
    except ShreddedError:
        session.commit()
        issue, reference = "", session.get(Notice, item.notice_id).reference  # type: ignore[union-attr]
    audit.record(
        session,
        services.keyring.audit_key,
        action="learning.read",
        outcome="allowed",
        actor_id=user.id,
        object_type="learning_item",
        object_id=item.id,
        remote_addr=remote_addr,
    )
    session.commit()
    return LearningView(item, reference, issue)


def update_item(
    session: Session,
    services: PortalServices,
    user: User,
    item_id: str,
    *,
    assigned_to: str,
    action: str,
    status: str,
    remote_addr: str = "",
) -> LearningItem:
    """Assign the item to a group, record the action and move its status on; audited."""
    item = _load(session, services, user, item_id, remote_addr)
    record.load_for(session, services, user, item.notice_id, "read", remote_addr=remote_addr, lock=True)
    locked = session.get(LearningItem, item_id)  # read again under the lock
    if locked is None:
        raise NotFoundError("no such learning item")
    item = locked
    assigned_to, action = assigned_to.strip(), action.strip()
    if status not in STATUS_LABELS:
        raise RuleBrokenError("status", "Select a status")
    if status in ("assigned", "in-progress", "done") and not assigned_to:
        raise RuleBrokenError("assigned_to", "Enter the group the issue is assigned to, for example the SEG")
    if status in ("in-progress", "done") and not action:
        raise RuleBrokenError("action", "Enter the action the group is taking")
    if len(assigned_to) > MAX_GROUP:
        raise RuleBrokenError("assigned_to", f"Enter a group name of {MAX_GROUP} characters or fewer")
    if len(action) > MAX_ACTION:
        raise RuleBrokenError("action", f"Enter an action of {MAX_ACTION} characters or fewer")
    item.assigned_to, item.action, item.status = assigned_to, action, status
    item.updated_at = utcnow()
    item.updated_by_id = user.id
    audit.record(
        session,
        services.keyring.audit_key,
        action="learning.update",
        outcome="ok",
        actor_id=user.id,
        object_type="learning_item",
        object_id=item.id,
        remote_addr=remote_addr,
    )
    session.commit()
    return item
