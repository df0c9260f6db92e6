"""Who may do what: the portal's one table of access rules, enforced in one place.

Every view declares a rule with @rule(...). A before-request hook enforces the role part for every
endpoint (an endpoint without a rule is refused, so a new route cannot be left open by accident), and
notice_for() enforces the object part for every route that takes a notice. Denials are 404, never 403,
so a URL does not confirm that a notice exists, and every denial is audited. A notice shredded at the end
of its retention answers its parties with one page saying so (NoticeShreddedError), whatever the route.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from portal.models import Notice, Role, User
from portal.services import audit

F = TypeVar("F", bound=Callable[..., Any])
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# rule name -> roles allowed (None: no sign-in needed).
ROLE_RULES: dict[str, frozenset[Role] | None] = {
    "public": None,
    "dev_only": None,
    "signing_in": None,
    "signed_in": frozenset(Role),
    "practitioner": frozenset({Role.PRACTITIONER}),
    "business_manager": frozenset({Role.BUSINESS_MANAGER}),
    # Object-level: the route must load its notice through notice_for().
    "notice": frozenset({Role.PRACTITIONER, Role.SPOC, Role.BUSINESS_MANAGER}),
}

# action on a notice -> the relationships to the notice that allow it.
# The procedure then narrows each action further (portal.services.stages.allowed_actions): who may escalate
# from this stage, whether the stage takes an agreed date, whether the notice is still open.
_PARTIES = frozenset({"raised_it", "recipient_spoc", "partnership_business_manager"})
NOTICE_RULES: dict[str, frozenset[str]] = {
    "read": _PARTIES,
    "download": _PARTIES,
    "acknowledge": frozenset({"recipient_spoc", "partnership_business_manager"}),
    "respond": frozenset({"recipient_spoc", "partnership_business_manager"}),
    "agree_due": frozenset({"raised_it", "recipient_spoc"}),
    "escalate": _PARTIES,
    "close": _PARTIES,
    "chase": frozenset({"partnership_business_manager"}),
}


class NoticeShreddedError(Exception):
    """The notice's content was destroyed at the end of its retention period (crypto-shredding): only its
    de-identified record is left. Raised to someone who may otherwise act on it; answered 410 Gone."""

    def __init__(self, notice: Notice) -> None:
        super().__init__("the notice's content was destroyed at the end of its retention period")
        self.reference = notice.reference
        self.shredded_at = notice.shredded_at


def rule(name: str) -> Callable[[F], F]:
    """Declare the access rule of a view."""
    if name not in ROLE_RULES:
        raise ValueError(f"unknown access rule {name!r}")

    def decorate(view: F) -> F:
        view.access_rule = name  # type: ignore[attr-defined]
        return view

    return decorate


def relationships(user: User, notice: Notice) -> set[str]:
    """How a user stands to a notice."""
    found: set[str] = set()
    if user.partnership_id != notice.partnership_id or not user.is_active:
        return found
    role = user.role_enum
    if role is Role.PRACTITIONER and notice.raised_by_id == user.id:
        found.add("raised_it")
    if (
        role is Role.SPOC
        and user.agency_id is not None
        and any(r.agency_id == user.agency_id for r in notice.recipients)
    ):
        found.add("recipient_spoc")
    if role is Role.BUSINESS_MANAGER:
        found.add("partnership_business_manager")
    return found


def may(user: User, action: str, notice: Notice) -> bool:
    return bool(relationships(user, notice) & NOTICE_RULES[action])


def well_formed_id(value: str) -> bool:
    """Whether a URL's id could be one of ours (a UUID); anything else is not found, before any query."""
    return bool(_UUID.fullmatch(value))


def printable_id(value: str) -> str:
    """An id as it may be written to the audit trail: printable ASCII, at most 36 characters."""
    return "".join(ch for ch in value[:36] if 32 < ord(ch) < 127)


def notice_for(
    db: Session, audit_key: bytes, user: User, notice_id: str, action: str, *, remote_addr: str = ""
) -> Notice:
    """Load a notice the user may act on, or audit the denial and answer 404."""
    notice = db.get(Notice, notice_id) if well_formed_id(notice_id) else None
    if notice is not None:
        from portal.services import honeytoken
        from portal.services.runtime import portal_services

        services = portal_services()
        if honeytoken.is_bait(services, notice.id):
            # Nobody has a reason to reach the bait notice: alarm, then answer as for a notice that is not there.
            honeytoken.alarm(db, services, notice.id, user=user, route=f"notice.{action}", addr=remote_addr)
            abort(404)
    if notice is None or not may(user, action, notice):
        audit.record(
            db,
            audit_key,
            action=f"notice.{action}",
            outcome="denied",
            actor_id=user.id,
            object_type="notice",
            object_id=printable_id(notice_id),
            remote_addr=remote_addr,
        )
        db.commit()
        abort(404)
    if notice.shredded_at is not None:
        # Every route that takes a notice comes here, so none can reach the (destroyed) content: one clear page.
        audit.record(
            db,
            audit_key,
            action=f"notice.{action}",
            outcome="shredded",
            actor_id=user.id,
            object_type="notice",
            object_id=notice.id,
            remote_addr=remote_addr,
        )
        db.commit()
        raise NoticeShreddedError(notice)
    return notice


def enforce_role_rule() -> Response | None:
    """Before each request: apply the endpoint's role rule; redirect anonymous users to sign in."""
    if request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    name = getattr(view, "access_rule", None)
    if name is None:
        current_app.logger.error("endpoint %s has no access rule; refusing", request.endpoint)
        abort(404)
    roles = ROLE_RULES[name]
    if roles is None:
        return None
    if not current_user.is_authenticated:
        if getattr(session, "timed_out", False):
            session["signed_out_idle"] = True
        if request.method == "GET":
            session["next"] = request.path
        return redirect(url_for("auth.sign_in"))
    if current_user.role_enum not in roles:
        from portal.db import get_session
        from portal.services.runtime import portal_services

        db = get_session()
        audit.record(
            db,
            portal_services().keyring.audit_key,
            action="route.denied",
            outcome="denied",
            actor_id=current_user.id,
            object_type="endpoint",
            object_id=request.endpoint[:64],
            remote_addr=request.remote_addr or "",
        )
        db.commit()
        abort(404)
    return None
